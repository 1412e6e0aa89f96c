//! `partition_hyperplanes` and the `NativePartition` handle: numpy in, numpy out, GIL released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use mlgeom_core::{Arrangement, Partition, PartitionOptions, RefineOptions, ReluNet};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::{PyGeomError, catch_panic, raise};

/// How often the waiting caller looks for Ctrl-C and reports progress.
const POLL: Duration = Duration::from_millis(50);

/// Runs `work` on a worker thread with the GIL released, while the calling thread polls every
/// [`POLL`]: it re-attaches to run `py.check_signals()` (Ctrl-C raises `KeyboardInterrupt` there,
/// which sets the cancel flag the core checks between splits) and to call `progress(n)` with the
/// number of finished cells (an exception in the callback also cancels the work and is re-raised).
/// `progress` is called once more with the final count when the work succeeded. Every long native call
/// (partitions, forests, Ollivier curvature) goes through it.
pub(crate) fn run_interruptible<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(&AtomicBool, &AtomicUsize) -> Result<T, PyGeomError> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let mut pending: Option<PyErr> = None;
    let outcome = py.detach(|| {
        std::thread::scope(|scope| {
            let (finished, wait) = mpsc::channel::<()>();
            let (cancel, done) = (&cancel, &done);
            let worker = scope.spawn(move || {
                let result = work(cancel, done);
                let _ = finished.send(());
                result
            });
            let mut last = usize::MAX;
            while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(POLL) {
                if pending.is_some() {
                    continue;
                }
                Python::attach(|py| {
                    let mut outcome = py.check_signals();
                    if let (Ok(()), Some(callback)) = (&outcome, &progress) {
                        let n = done.load(Ordering::Relaxed);
                        if n != last {
                            last = n;
                            outcome = callback.call1(py, (n,)).map(drop);
                        }
                    }
                    if let Err(err) = outcome {
                        cancel.store(true, Ordering::Relaxed);
                        pending = Some(err);
                    }
                });
            }
            worker.join()
        })
    });
    if let Some(err) = pending {
        return Err(err);
    }
    let result = match outcome {
        Ok(result) => result.map_err(PyErr::from)?,
        Err(_) => {
            return Err(raise(
                "NumericalError",
                "internal error: the worker thread of the Rust core panicked".to_string(),
            ));
        }
    };
    if let Some(callback) = &progress {
        callback.call1(py, (done.load(Ordering::Relaxed),))?;
    }
    Ok(result)
}

/// Partition the box [lo, hi] by the hyperplanes normals @ x + offsets = 0 (see `mlgeom_rs.partition_hyperplanes`).
///
/// Ctrl-C stops the work (`KeyboardInterrupt`); `progress`, if given, is called as `progress(n)` with
/// the number of finished cells about every 50 ms, and once at the end.
#[pyfunction]
#[pyo3(signature = (normals, offsets, lo, hi, /, *, n_threads = None, max_cells = 10_000_000, ridges = true, vertices = true, progress = None, shard = None, exact = false))]
#[allow(clippy::too_many_arguments)]
pub fn partition_hyperplanes(
    py: Python<'_>,
    normals: PyReadonlyArray2<'_, f64>,
    offsets: PyReadonlyArray1<'_, f64>,
    lo: PyReadonlyArray1<'_, f64>,
    hi: PyReadonlyArray1<'_, f64>,
    n_threads: Option<usize>,
    max_cells: usize,
    ridges: bool,
    vertices: bool,
    progress: Option<Py<PyAny>>,
    shard: Option<Vec<(usize, bool)>>,
    exact: bool,
) -> PyResult<NativePartition> {
    let d = normals.as_array().ncols();
    let box_dim = lo.as_array().len();
    if box_dim != d {
        return Err(raise(
            "InvalidInputError",
            format!("normals have {d} columns but the box has dimension {box_dim}"),
        ));
    }
    // The inputs are small (m × d): copy them so the work needs no Python objects.
    let normals = normals.as_array().iter().copied().collect::<Vec<f64>>();
    let offsets = offsets.as_array().to_vec();
    let lo = lo.as_array().to_vec();
    let hi = hi.as_array().to_vec();
    if n_threads == Some(0) {
        return Err(raise("InvalidInputError", "n_threads must be at least 1".to_string()));
    }
    let result = run_interruptible(py, progress, |cancel, done| {
        let opts = PartitionOptions {
            n_threads,
            refine: RefineOptions {
                max_cells,
                ridges,
                vertices,
                cancel: Some(cancel),
                progress: Some(done),
                shard: shard.as_deref(),
            },
        };
        catch_panic(|| {
            let arrangement = if exact {
                Arrangement::new_exact(&normals, &offsets, &lo, &hi)?
            } else {
                Arrangement::new(&normals, &offsets, &lo, &hi)?
            };
            Partition::new(&arrangement, opts)
        })
    })?;
    Ok(NativePartition {
        inner: Arc::new(result),
    })
}

/// The relative facet-closure residual |Σ_F area_F n_F| / Σ_F area_F that the core accepts on a cell of dimension
/// `d` with `volume` and facet area `total_area`, in a box whose largest local coordinate is `reach`, whose vertices
/// lie at most δ ∈ [`defect_low`, `defect_high`] off the planes they were decided to lie on (the largest over that
/// range): `mlgeom_core::measure::closure_allowance`, exposed so that tests check returned cells against the
/// core's own formula.
#[pyfunction]
#[pyo3(signature = (d, volume, total_area, defect_low, defect_high, reach, /))]
pub fn closure_allowance(d: usize, volume: f64, total_area: f64, defect_low: f64, defect_high: f64, reach: f64) -> f64 {
    mlgeom_core::measure::closure_allowance(d, volume, total_area, (defect_low, defect_high), reach)
}

/// The relative error of the volume sum that the core accepts for cells of the box of volume `box_volume` whose
/// facets (counted once per cell) have total area `facet_area_sum`, in a box whose largest local coordinate is
/// `reach`: `mlgeom_core::measure::volume_sum_allowance`, exposed so that the sharded join checks the sum over all
/// shards with the core's own formula.
#[pyfunction]
#[pyo3(signature = (box_volume, facet_area_sum, reach, /))]
pub fn volume_sum_allowance(box_volume: f64, facet_area_sum: f64, reach: f64) -> f64 {
    mlgeom_core::measure::volume_sum_allowance(box_volume, facet_area_sum, reach)
}

/// Partition the box [lo, hi] into the activation regions of a ReLU network (see `mlgeom_rs.partition_relu`).
///
/// `weights[l]` is `(out, in)` (torch layout) and `biases[l]` is `(out,)`. Every layer but the last is
/// followed by ReLU; the last is the linear output layer when `output_layer` is true, else a hidden layer too.
///
/// Ctrl-C and `progress` as in `partition_hyperplanes`.
#[pyfunction]
#[pyo3(signature = (weights, biases, lo, hi, /, *, output_layer = true, n_threads = None, max_cells = 10_000_000, ridges = true, vertices = true, progress = None, shard = None, exact = false))]
#[allow(clippy::too_many_arguments)]
pub fn partition_relu(
    py: Python<'_>,
    weights: Vec<PyReadonlyArray2<'_, f64>>,
    biases: Vec<PyReadonlyArray1<'_, f64>>,
    lo: PyReadonlyArray1<'_, f64>,
    hi: PyReadonlyArray1<'_, f64>,
    output_layer: bool,
    n_threads: Option<usize>,
    max_cells: usize,
    ridges: bool,
    vertices: bool,
    progress: Option<Py<PyAny>>,
    shard: Option<Vec<(usize, bool)>>,
    exact: bool,
) -> PyResult<NativePartition> {
    if n_threads == Some(0) {
        return Err(raise("InvalidInputError", "n_threads must be at least 1".to_string()));
    }
    let net = crate::datacells::network(&weights, &biases, lo.as_array().len(), output_layer)?;
    let (lo, hi) = (lo.as_array().to_vec(), hi.as_array().to_vec());
    let result = run_interruptible(py, progress, |cancel, done| {
        let opts = PartitionOptions {
            n_threads,
            refine: RefineOptions {
                max_cells,
                ridges,
                vertices,
                cancel: Some(cancel),
                progress: Some(done),
                shard: shard.as_deref(),
            },
        };
        catch_panic(|| {
            let net = ReluNet::from_network(net, &lo, &hi)?;
            let net = if exact { net.exact() } else { net };
            Partition::new(&net, opts)
        })
    })?;
    Ok(NativePartition {
        inner: Arc::new(result),
    })
}

/// The Rust-owned result of a partition; methods return fresh numpy arrays.
#[pyclass(frozen, module = "mlgeom_rs._core", name = "NativePartition")]
pub struct NativePartition {
    inner: Arc<Partition>,
}

impl NativePartition {
    pub(crate) fn from_partition(p: Partition) -> Self {
        Self { inner: Arc::new(p) }
    }
}

fn matrix<'py, T: numpy::Element>(py: Python<'py>, data: Vec<T>, cols: usize) -> PyResult<Bound<'py, PyArray2<T>>> {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    PyArray1::from_vec(py, data).reshape([rows, cols])
}

fn split_keys(keys: &[u128]) -> Vec<u64> {
    keys.iter().flat_map(|&k| [(k >> 64) as u64, k as u64]).collect()
}

fn as_i64(v: impl IntoIterator<Item = usize>) -> Vec<i64> {
    v.into_iter().map(|x| x as i64).collect()
}

#[pymethods]
impl NativePartition {
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn n_cells(&self) -> usize {
        self.inner.n_cells
    }

    #[getter]
    fn n_hyperplanes(&self) -> usize {
        self.inner.n_bits
    }

    #[getter]
    fn tolerance(&self) -> f64 {
        self.inner.tol
    }

    /// Whether every combinatorial decision was certified with exact arithmetic (`exact=True`).
    #[getter]
    fn exact(&self) -> bool {
        self.inner.exact
    }

    /// The largest |coordinate| of the box in the local coordinates the cells were computed in.
    #[getter]
    fn local_reach(&self) -> f64 {
        self.inner.local_reach()
    }

    /// Σ over cells of their facets' areas (a facet between two cells counts twice).
    #[getter]
    fn cell_facet_area_sum(&self) -> f64 {
        self.inner.cell_facet_area_sum()
    }

    /// Float mode: decisions the tolerance snapped that exact arithmetic contradicts (see `Partition.snapped`).
    #[getter]
    fn snapped(&self) -> usize {
        self.inner.snapped
    }

    #[getter]
    fn has_ridges(&self) -> bool {
        self.inner.has_ridges
    }

    #[getter]
    fn max_facet_area_mismatch(&self) -> f64 {
        self.inner.max_facet_area_mismatch
    }

    /// Largest closure residual of a cell over its allowance (its conditioning and incidence defects); at most 1.
    #[getter]
    fn closure_excess(&self) -> f64 {
        self.inner.closure_excess
    }

    /// Largest difference of a facet's areas from its two cells over their error bounds; at most 1.
    #[getter]
    fn facet_area_excess(&self) -> f64 {
        self.inner.facet_area_excess
    }

    /// Patterns packed as by `np.packbits(patterns, axis=1)` (big-endian bits), `(n_cells, ceil(m/8))`.
    fn packed_patterns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let p = &self.inner;
        let packed = mlgeom_core::bits::packed_bytes(&p.patterns, p.pattern_words, p.n_bits);
        PyArray1::from_vec(py, packed).reshape([p.n_cells, p.n_bits.div_ceil(8)])
    }

    /// Model-specific numbers per cell, `(n_cells, payload_len)`: for a ReLU network the output's
    /// Jacobian (row-major `out × d`) followed by its offset (`out`).
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        PyArray1::from_vec(py, self.inner.payload.clone()).reshape([self.inner.n_cells, self.inner.payload_len])
    }

    fn volumes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.volumes)
    }

    fn centroids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix(py, self.inner.centroids.clone(), self.inner.dim())
    }

    fn interior_points<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix(py, self.inner.interior_points.clone(), self.inner.dim())
    }

    fn vertex_offsets<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.vertex_start.iter().copied()))
    }

    #[getter]
    fn n_global_vertices(&self) -> usize {
        self.inner.n_global_vertices
    }

    /// Global vertex id of each row of `vertex_coords()` (rows of different cells at one point share it).
    fn vertex_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.vertex_ids.iter().copied()))
    }

    fn vertex_coords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix(py, self.inner.vertices.clone(), self.inner.dim())
    }

    fn class_offsets<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let mut offsets = vec![0i64];
        for c in &self.inner.carriers {
            offsets.push(offsets.last().expect("non-empty") + c.len() as i64);
        }
        PyArray1::from_vec(py, offsets)
    }

    fn class_members<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.carriers.iter().flat_map(|c| c.iter().copied())))
    }

    fn facet_cells<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<i64>>> {
        matrix(py, self.inner.facet_cells.iter().flatten().copied().collect(), 2)
    }

    fn facet_areas<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.facet_areas)
    }

    fn facet_centroids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix(py, self.inner.facet_centroids.clone(), self.inner.dim())
    }

    fn facet_normals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        matrix(py, self.inner.facet_normals.clone(), self.inner.dim())
    }

    /// Coincidence class carrying each facet, -1 on the box boundary.
    fn facet_class<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let first = 2 * self.inner.dim() as i64;
        let v = self
            .inner
            .facet_planes
            .iter()
            .map(|&p| if i64::from(p) < first { -1 } else { i64::from(p) - first });
        PyArray1::from_vec(py, v.collect())
    }

    /// Box face of each facet (2·axis + 0 for lo, + 1 for hi), -1 for interior facets.
    fn facet_box_face<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        let first = 2 * self.inner.dim() as i64;
        let v = self
            .inner
            .facet_planes
            .iter()
            .map(|&p| if i64::from(p) < first { i64::from(p) } else { -1 });
        PyArray1::from_vec(py, v.collect())
    }

    fn ridge_cell<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.ridge_cells.iter().copied()))
    }

    fn ridge_facets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<i64>>> {
        matrix(py, as_i64(self.inner.ridge_facets.iter().flatten().copied()), 2)
    }

    fn ridge_face<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.ridge_faces.iter().copied()))
    }

    fn ridge_angles<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.ridge_angles)
    }

    fn ridge_volumes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.ridge_volumes)
    }

    /// Facet ids of a shard's cut facets (on its boundary, other cell in another shard), ascending.
    fn cut_facets<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.inner.cut_facets.iter().copied()))
    }

    /// The 128-bit face key of each cut facet as two uint64 columns (high, low): equal from both sides.
    fn cut_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        matrix(py, split_keys(&self.inner.cut_keys), 2)
    }

    /// A bound on the error of each cut facet's area as measured from its cell here: the join requires
    /// the areas from the two shards to agree to the sum of the two bounds.
    fn cut_area_errors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.cut_area_errors)
    }

    /// The 128-bit key of each ridge's (d-2)-face as (high, low), global across shards (shards only).
    fn ridge_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        matrix(py, split_keys(&self.inner.ridge_keys), 2)
    }

    /// Cell index of each point (rows of an `(N, d)` array), -1 outside the box.
    #[pyo3(signature = (points, /))]
    fn locate<'py>(&self, py: Python<'py>, points: PyReadonlyArray2<'py, f64>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let d = self.inner.dim();
        let cols = points.as_array().ncols();
        if cols != d {
            return Err(raise(
                "InvalidInputError",
                format!("points must have {d} columns, got {cols}"),
            ));
        }
        let flat: Vec<f64> = points.as_array().iter().copied().collect();
        let inner = Arc::clone(&self.inner);
        let cells = py.detach(move || catch_panic(|| Ok(inner.locate_many(&flat))))?;
        Ok(PyArray1::from_vec(py, cells))
    }
}
