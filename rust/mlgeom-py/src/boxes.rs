//! `partition_forest`: the partition of a box by a forest of axis-aligned trees (numpy in, GIL released).

use mlgeom_core::{AxisTree, ForestOptions, Partition};
use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors::{catch_panic, raise};
use crate::partition::{NativePartition, run_interruptible};

/// Partition the box [lo, hi] into the common refinement of the leaves of axis-aligned trees
/// (see `mlgeom_rs.partition_tree`).
///
/// Tree `t` is given by node arrays `lefts[t]`, `rights[t]`, `features[t]` (int64) and
/// `thresholds[t]` (float64) in scikit-learn's `tree_` layout: node 0 is the root, a leaf has
/// left = right = -1, and a point goes left iff `x[feature] <= threshold`. The result's payload
/// holds per cell its box lo (d), hi (d) and the leaf of every tree (node index, as float);
/// see `mlgeom_core::boxes` for the plane, carrier and pattern conventions.
///
/// Ctrl-C and `progress` (cells done) as in `partition_hyperplanes`.
#[pyfunction]
#[pyo3(signature = (lefts, rights, features, thresholds, lo, hi, /, *, n_threads = None, max_cells = 10_000_000, vertices = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn partition_forest(
    py: Python<'_>,
    lefts: Vec<PyReadonlyArray1<'_, i64>>,
    rights: Vec<PyReadonlyArray1<'_, i64>>,
    features: Vec<PyReadonlyArray1<'_, i64>>,
    thresholds: Vec<PyReadonlyArray1<'_, f64>>,
    lo: PyReadonlyArray1<'_, f64>,
    hi: PyReadonlyArray1<'_, f64>,
    n_threads: Option<usize>,
    max_cells: usize,
    vertices: Option<bool>,
    progress: Option<Py<PyAny>>,
) -> PyResult<NativePartition> {
    let n = lefts.len();
    if rights.len() != n || features.len() != n || thresholds.len() != n {
        return Err(raise(
            "InvalidInputError",
            format!(
                "give one array per tree in each list; got {n} lefts, {} rights, {} features, {} thresholds",
                rights.len(),
                features.len(),
                thresholds.len()
            ),
        ));
    }
    if n_threads == Some(0) {
        return Err(raise("InvalidInputError", "n_threads must be at least 1".to_string()));
    }
    if lo.len() != hi.len() {
        return Err(raise(
            "InvalidInputError",
            format!("lo has {} entries but hi has {}", lo.len(), hi.len()),
        ));
    }
    // Copies (the trees are small next to the partition), so the work needs no Python objects.
    let trees: Vec<AxisTree> = (0..n)
        .map(|t| AxisTree {
            left: lefts[t].as_array().to_vec(),
            right: rights[t].as_array().to_vec(),
            feature: features[t].as_array().to_vec(),
            threshold: thresholds[t].as_array().to_vec(),
        })
        .collect();
    let (lo, hi) = (lo.as_array().to_vec(), hi.as_array().to_vec());
    let result = run_interruptible(py, progress, |cancel, done| {
        let opts = ForestOptions {
            n_threads,
            max_cells,
            vertices,
            cancel: Some(cancel),
            progress: Some(done),
        };
        catch_panic(|| Partition::from_forest(&trees, &lo, &hi, opts))
    })?;
    Ok(NativePartition::from_partition(result))
}
