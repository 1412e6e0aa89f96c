//! Thin PyO3 bindings of `mlgeom-core`: convert numpy arrays, map errors, release the GIL.

mod boxes;
mod curvature;
mod datacells;
mod errors;
mod partition;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _core {
    #[pymodule_export]
    use crate::boxes::partition_forest;
    #[pymodule_export]
    use crate::curvature::ollivier_ricci_csr;
    #[pymodule_export]
    use crate::datacells::{NativeDataCells, certify_facets, data_cells, data_cells_from_parts};
    #[pymodule_export]
    use crate::partition::{
        NativePartition, closure_allowance, partition_hyperplanes, partition_relu, volume_sum_allowance,
    };

    #[allow(non_upper_case_globals)]
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    #[allow(non_upper_case_globals)]
    #[pymodule_export]
    const TOLERANCE_REL: f64 = mlgeom_core::TOLERANCE_REL;
}
