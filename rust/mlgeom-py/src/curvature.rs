//! `ollivier_ricci_csr`: Ollivier–Ricci curvature of a weighted graph (numpy CSR in, GIL released).

use mlgeom_core::curvature::{
    CsrGraph, Measures, OllivierOptions, TransportMethod, exponential_measures, ollivier_ricci,
};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::errors::{catch_panic, raise};
use crate::partition::run_interruptible;

type Vector<'py, T> = Bound<'py, PyArray1<T>>;

/// Ollivier–Ricci curvature of every stored entry of a symmetric CSR matrix of edge lengths.
///
/// `indptr`, `indices` (int64) and `lengths` (float64) describe an undirected graph: sorted rows,
/// every edge stored both ways with the same length, no diagonal. The neighbour measures are
/// GraphRicciCurvature's (`alpha`, `base`, `exp_power`) unless `self_mass` (per node) and `nbr_mass`
/// (per stored entry) are given. `method` is "exact" or "sinkhorn" (with `reg`). Returns the
/// curvature of each stored entry and of each node (mean over its edges; NaN when isolated).
/// `owners=(start, stop)` computes only the edges owned by those nodes (NaN elsewhere, and NaN node
/// curvatures): disjoint ranges split the work across machines with identical values.
///
/// Ctrl-C stops the work (`KeyboardInterrupt`); `progress`, if given, is called as `progress(n)` with
/// the number of edges done (each undirected edge once) about every 50 ms, and once at the end.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, lengths, /, *, alpha = 0.5, base = std::f64::consts::E, exp_power = 2.0,
    self_mass = None, nbr_mass = None, method = "exact", reg = 0.1, n_threads = None, owners = None,
    progress = None
))]
pub fn ollivier_ricci_csr<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i64>,
    lengths: PyReadonlyArray1<'py, f64>,
    alpha: f64,
    base: f64,
    exp_power: f64,
    self_mass: Option<PyReadonlyArray1<'py, f64>>,
    nbr_mass: Option<PyReadonlyArray1<'py, f64>>,
    method: &str,
    reg: f64,
    n_threads: Option<usize>,
    owners: Option<(usize, usize)>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vector<'py, f64>, Vector<'py, f64>)> {
    if n_threads == Some(0) {
        return Err(raise("InvalidInputError", "n_threads must be at least 1".to_string()));
    }
    let method = match method {
        "exact" => TransportMethod::Exact,
        "sinkhorn" => TransportMethod::Sinkhorn { reg },
        other => {
            return Err(raise(
                "InvalidInputError",
                format!("method must be 'exact' or 'sinkhorn'; got {other:?}"),
            ));
        }
    };
    let to_usize = |v: i64, what: &str| {
        usize::try_from(v).map_err(|_| raise("InvalidInputError", format!("{what} has a negative entry {v}")))
    };
    let indptr: Vec<usize> = indptr
        .as_array()
        .iter()
        .map(|&v| to_usize(v, "indptr"))
        .collect::<PyResult<_>>()?;
    let indices: Vec<u32> = indices
        .as_array()
        .iter()
        .map(|&v| {
            u32::try_from(v).map_err(|_| raise("InvalidInputError", format!("indices has an out-of-range entry {v}")))
        })
        .collect::<PyResult<_>>()?;
    let lengths = lengths.as_array().to_vec();
    let measures = match (self_mass, nbr_mass) {
        (Some(s), Some(m)) => Some(Measures {
            self_mass: s.as_array().to_vec(),
            nbr_mass: m.as_array().to_vec(),
        }),
        (None, None) => None,
        _ => {
            return Err(raise(
                "InvalidInputError",
                "give both self_mass and nbr_mass, or neither".to_string(),
            ));
        }
    };
    let result = run_interruptible(py, progress, |cancel, done| {
        let opts = OllivierOptions {
            n_threads,
            method,
            owners,
            cancel: Some(cancel),
            progress: Some(done),
        };
        catch_panic(|| {
            let graph = CsrGraph::new(indptr, indices, lengths)?;
            let measures = match measures {
                Some(m) => m,
                None => exponential_measures(&graph, alpha, base, exp_power)?,
            };
            ollivier_ricci(&graph, &measures, opts)
        })
    })?;
    Ok((result.edge.into_pyarray(py), result.node.into_pyarray(py)))
}
