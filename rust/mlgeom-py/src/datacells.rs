//! `data_cells` and the `NativeDataCells` handle: activation patterns of a data set, pullbacks,
//! output maps and LP-certified adjacency, all computed with the GIL released.

use std::sync::Arc;

use mlgeom_core::bits::{packed_bytes, words_from_bytes};
use mlgeom_core::datacells::{DataCells, adjacency, certify_facet};
use mlgeom_core::{Dense, Network};
use numpy::{PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::errors::{catch_panic, raise};

type Vector<'py, T> = Bound<'py, PyArray1<T>>;
type Matrix<'py, T> = Bound<'py, PyArray2<T>>;
type Tensor<'py, T> = Bound<'py, PyArray3<T>>;
/// (pairs, bits, witnesses, by_lp) of the adjacent data cells.
type Edges<'py> = (Matrix<'py, i64>, Vector<'py, i64>, Matrix<'py, f64>, Vector<'py, bool>);

/// Converts torch-layout layers (`weights[l]` is `(out, in)`) into a validated network.
pub fn network(
    weights: &[PyReadonlyArray2<'_, f64>],
    biases: &[PyReadonlyArray1<'_, f64>],
    dim: usize,
    output_layer: bool,
) -> PyResult<Network> {
    if weights.len() != biases.len() {
        return Err(raise(
            "InvalidInputError",
            format!(
                "{} weight matrices but {} bias vectors; give one of each per layer",
                weights.len(),
                biases.len()
            ),
        ));
    }
    let mut layers: Vec<Dense> = weights
        .iter()
        .zip(biases)
        .map(|(w, b)| {
            let w = w.as_array();
            Dense {
                weight: w.iter().copied().collect(),
                bias: b.as_array().to_vec(),
                n_in: w.ncols(),
                n_out: w.nrows(),
            }
        })
        .collect();
    let output = if output_layer { layers.pop() } else { None };
    Network::new(layers, output, dim).map_err(|e| crate::errors::PyGeomError(e).into())
}

/// Group the rows of `points` by the network's activation pattern (see `mlgeom_rs.data_cells`).
#[pyfunction]
#[pyo3(signature = (weights, biases, points, /, *, output_layer = true))]
pub fn data_cells(
    py: Python<'_>,
    weights: Vec<PyReadonlyArray2<'_, f64>>,
    biases: Vec<PyReadonlyArray1<'_, f64>>,
    points: PyReadonlyArray2<'_, f64>,
    output_layer: bool,
) -> PyResult<NativeDataCells> {
    let dim = points.as_array().ncols();
    let net = network(&weights, &biases, dim, output_layer)?;
    let flat: Vec<f64> = points.as_array().iter().copied().collect();
    let (cells, rep_points) = py.detach(|| {
        catch_panic(|| {
            let cells = net.data_cells(&flat)?;
            let rep_points = cells.representative_points(&flat, dim);
            Ok((cells, rep_points))
        })
    })?;
    Ok(NativeDataCells {
        net: Arc::new(net),
        cells: Arc::new(cells),
        rep_points: Arc::new(rep_points),
    })
}

/// Reassemble `NativeDataCells` from the parts its pickle stores (see `mlgeom_rs._pickling`): the
/// network, the packed patterns `(n_cells, ceil(n_bits/8))`, the cell of every point (any unsigned
/// dtype or int64) and the first point of every cell `(n_cells, d)`. Counts and first points follow
/// from the cell of every point; the parts are checked for consistency (O(N)); no pattern is recomputed.
#[pyfunction]
#[pyo3(signature = (weights, biases, packed_patterns, point_cell, representative_points, /, *, output_layer = true))]
pub fn data_cells_from_parts(
    py: Python<'_>,
    weights: Vec<PyReadonlyArray2<'_, f64>>,
    biases: Vec<PyReadonlyArray1<'_, f64>>,
    packed_patterns: PyReadonlyArray2<'_, u8>,
    point_cell: Bound<'_, PyAny>,
    representative_points: PyReadonlyArray2<'_, f64>,
    output_layer: bool,
) -> PyResult<NativeDataCells> {
    let reps = representative_points.as_array();
    let dim = reps.ncols();
    let net = network(&weights, &biases, dim, output_layer)?;
    let (n_bits, packed) = (net.n_bits(), packed_patterns.as_array());
    let point_cell = indices(&point_cell, "point_cell")?;
    if packed.ncols() != n_bits.div_ceil(8) || reps.nrows() != packed.nrows() {
        return Err(raise(
            "InvalidInputError",
            format!(
                "packed patterns {:?} and representative points {:?} do not fit one row per cell of {n_bits} bits",
                packed.dim(),
                reps.dim(),
            ),
        ));
    }
    let patterns = words_from_bytes(&packed.iter().copied().collect::<Vec<u8>>(), n_bits);
    let rep_points: Vec<f64> = reps.iter().copied().collect();
    let cells = py.detach(|| catch_panic(|| DataCells::from_parts(n_bits, patterns, point_cell)))?;
    Ok(NativeDataCells {
        net: Arc::new(net),
        cells: Arc::new(cells),
        rep_points: Arc::new(rep_points),
    })
}

/// Certify candidate facets of data cells (the LP step of `DataCells.edges`, for a batch of candidates
/// computed elsewhere, e.g. on a Dask worker): row k asks whether the cell with packed pattern
/// `patterns[k]` (containing `p[k]`) shares a facet on neuron `bits[k]` with the cell containing `q[k]`,
/// inside [lo, hi]. Returns (certified `(k,)`, witness points `(k, d)`, NaN where not certified, by_lp `(k,)`).
#[pyfunction]
#[pyo3(signature = (weights, biases, patterns, bits, p, q, lo, hi, /, *, output_layer = true, tol))]
#[allow(clippy::too_many_arguments)]
pub fn certify_facets<'py>(
    py: Python<'py>,
    weights: Vec<PyReadonlyArray2<'py, f64>>,
    biases: Vec<PyReadonlyArray1<'py, f64>>,
    patterns: PyReadonlyArray2<'py, u8>,
    bits: PyReadonlyArray1<'py, i64>,
    p: PyReadonlyArray2<'py, f64>,
    q: PyReadonlyArray2<'py, f64>,
    lo: PyReadonlyArray1<'py, f64>,
    hi: PyReadonlyArray1<'py, f64>,
    output_layer: bool,
    tol: f64,
) -> PyResult<(Vector<'py, bool>, Matrix<'py, f64>, Vector<'py, bool>)> {
    let dim = lo.as_array().len();
    let net = network(&weights, &biases, dim, output_layer)?;
    let (n_bits, words) = (net.n_bits(), net.n_bits().div_ceil(64));
    let k = bits.as_array().len();
    let shapes_ok = patterns.as_array().dim() == (k, n_bits.div_ceil(8))
        && p.as_array().dim() == (k, dim)
        && q.as_array().dim() == (k, dim)
        && hi.as_array().len() == dim;
    let bits: Vec<usize> = bits.as_array().iter().map(|&b| b as usize).collect();
    if !shapes_ok || bits.iter().any(|&b| b >= n_bits) {
        return Err(raise(
            "InvalidInputError",
            format!(
                "certify_facets needs patterns (k, {}), bits (k,) below {n_bits}, p and q (k, {dim})",
                n_bits.div_ceil(8)
            ),
        ));
    }
    let rows = words_from_bytes(&patterns.as_array().iter().copied().collect::<Vec<u8>>(), n_bits);
    let (p, q): (Vec<f64>, Vec<f64>) = (
        p.as_array().iter().copied().collect(),
        q.as_array().iter().copied().collect(),
    );
    let (lo, hi) = (lo.as_array().to_vec(), hi.as_array().to_vec());
    let results = py.detach(|| {
        catch_panic(|| {
            (0..k)
                .into_par_iter()
                .map(|r| {
                    let (a, b) = (&p[r * dim..(r + 1) * dim], &q[r * dim..(r + 1) * dim]);
                    certify_facet(&net, &rows[r * words..(r + 1) * words], bits[r], a, b, &lo, &hi, tol)
                })
                .collect::<mlgeom_core::Result<Vec<_>>>()
        })
    })?;
    let certified: Vec<bool> = results.iter().map(Option::is_some).collect();
    let by_lp: Vec<bool> = results.iter().map(|r| r.as_ref().is_some_and(|w| w.1)).collect();
    let witnesses: Vec<f64> = results
        .into_iter()
        .flat_map(|r| r.map_or_else(|| vec![f64::NAN; dim], |w| w.0))
        .collect();
    Ok((
        PyArray1::from_vec(py, certified),
        PyArray1::from_vec(py, witnesses).reshape([k, dim])?,
        PyArray1::from_vec(py, by_lp),
    ))
}

/// A 1-D array of nonnegative integers (any of numpy's unsigned dtypes or int64) as indices.
fn indices(array: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<usize>> {
    macro_rules! unsigned {
        ($($t:ty),*) => {$(
            if let Ok(a) = array.extract::<PyReadonlyArray1<'_, $t>>() {
                return Ok(a.as_array().iter().map(|&v| v as usize).collect());
            }
        )*};
    }
    unsigned!(u8, u16, u32, u64);
    let refused = || {
        raise(
            "InvalidInputError",
            format!("{name} must be a 1-D array of nonnegative integers (uint8/16/32/64 or int64)"),
        )
    };
    let signed = array.extract::<PyReadonlyArray1<'_, i64>>().map_err(|_| refused())?;
    signed
        .as_array()
        .iter()
        .map(|&v| usize::try_from(v).map_err(|_| refused()))
        .collect()
}

/// `values` as a numpy array of `T` (a narrowing the caller has checked to be exact).
fn narrowed<'py, T: numpy::Element>(py: Python<'py>, values: &[usize], cast: fn(usize) -> T) -> Bound<'py, PyAny> {
    PyArray1::from_vec(py, values.iter().map(|&v| cast(v)).collect()).into_any()
}

/// The data cells of a network; methods return fresh numpy arrays.
#[pyclass(frozen, module = "mlgeom_rs._core", name = "NativeDataCells")]
pub struct NativeDataCells {
    net: Arc<Network>,
    cells: Arc<DataCells>,
    /// The first point of every cell, `n_cells × d` (all that adjacency needs of the data).
    rep_points: Arc<Vec<f64>>,
}

fn check_cell(cells: &DataCells, i: usize) -> PyResult<()> {
    if i >= cells.n_cells() {
        return Err(raise(
            "InvalidInputError",
            format!("cell {i} out of range ({} cells)", cells.n_cells()),
        ));
    }
    Ok(())
}

#[pymethods]
impl NativeDataCells {
    #[getter]
    fn n_cells(&self) -> usize {
        self.cells.n_cells()
    }

    #[getter]
    fn n_bits(&self) -> usize {
        self.cells.n_bits
    }

    #[getter]
    fn n_outputs(&self) -> usize {
        self.net.n_outputs()
    }

    /// Patterns packed as by `np.packbits(patterns, axis=1)`, `(n_cells, ceil(n_bits/8))`.
    fn packed_patterns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let c = &self.cells;
        let packed = packed_bytes(&c.patterns, c.pattern_words, c.n_bits);
        PyArray1::from_vec(py, packed).reshape([c.n_cells(), c.n_bits.div_ceil(8)])
    }

    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, self.cells.counts.iter().map(|&v| v as i64).collect())
    }

    fn point_cell<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, self.cells.point_cell.iter().map(|&v| v as i64).collect())
    }

    /// `point_cell()` in the narrowest unsigned dtype that holds every cell number (uint8, 16, 32 or
    /// 64): what a pickle stores, 1 to 4 bytes a point instead of 8.
    fn point_cell_compact<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        let (pc, n) = (&self.cells.point_cell, self.cells.n_cells());
        if n <= 1 << 8 {
            narrowed(py, pc, |v| v as u8)
        } else if n <= 1 << 16 {
            narrowed(py, pc, |v| v as u16)
        } else if n as u64 <= 1 << 32 {
            narrowed(py, pc, |v| v as u32)
        } else {
            narrowed(py, pc, |v| v as u64)
        }
    }

    fn representative<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, self.cells.representative.iter().map(|&v| v as i64).collect())
    }

    /// The first point of every cell, `(n_cells, d)` (rows `representative()` of the data).
    fn representative_points<'py>(&self, py: Python<'py>) -> PyResult<Matrix<'py, f64>> {
        PyArray1::from_vec(py, self.rep_points.to_vec()).reshape([self.cells.n_cells(), self.net.dim])
    }

    /// The network in torch layout: weights `(out, in)` per layer, biases, and whether the last is a
    /// linear output layer (the inputs of `data_cells`, up to `output_layer=False` nets).
    #[allow(clippy::type_complexity)]
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<(Vec<Matrix<'py, f64>>, Vec<Vector<'py, f64>>, bool)> {
        let all = self.net.hidden.iter().chain(self.net.output.as_ref());
        let weights = all
            .clone()
            .map(|l| PyArray1::from_vec(py, l.weight.clone()).reshape([l.n_out, l.n_in]))
            .collect::<PyResult<Vec<_>>>()?;
        let biases = all.map(|l| PyArray1::from_vec(py, l.bias.clone())).collect();
        Ok((weights, biases, self.net.output.is_some()))
    }

    /// Pre-activation gradients `(n_bits, d)` and values at 0 `(n_bits,)` of every neuron on cell `i`.
    #[pyo3(signature = (i, /))]
    fn pullback<'py>(&self, py: Python<'py>, i: usize) -> PyResult<(Matrix<'py, f64>, Vector<'py, f64>)> {
        check_cell(&self.cells, i)?;
        let (net, cells) = (Arc::clone(&self.net), Arc::clone(&self.cells));
        let pb = py.detach(move || catch_panic(|| Ok(net.pullback(cells.pattern(i)))))?;
        let d = self.net.dim;
        Ok((
            PyArray1::from_vec(py, pb.normals).reshape([self.cells.n_bits, d])?,
            PyArray1::from_vec(py, pb.offsets),
        ))
    }

    /// The network output on every cell as an affine map: Jacobians `(n_cells, n_outputs, d)`, offsets.
    fn output_maps<'py>(&self, py: Python<'py>) -> PyResult<(Tensor<'py, f64>, Matrix<'py, f64>)> {
        let (net, cells) = (Arc::clone(&self.net), Arc::clone(&self.cells));
        let maps = py.detach(move || {
            catch_panic(|| {
                Ok((0..cells.n_cells())
                    .into_par_iter()
                    .map(|i| net.output_map(cells.pattern(i)))
                    .collect::<Vec<_>>())
            })
        })?;
        let (n, o, d) = (self.cells.n_cells(), self.net.n_outputs(), self.net.dim);
        let jac: Vec<f64> = maps.iter().flat_map(|m| m.0.iter().copied()).collect();
        let off: Vec<f64> = maps.iter().flat_map(|m| m.1.iter().copied()).collect();
        Ok((
            PyArray1::from_vec(py, jac).reshape([n, o, d])?,
            PyArray1::from_vec(py, off).reshape([n, o])?,
        ))
    }

    /// Adjacent data cells inside [lo, hi]: pairs `(E, 2)` (first < second), the flipped bit `(E,)`, a
    /// witness point on each shared facet `(E, d)`, and whether the LP was needed `(E,)`.
    #[pyo3(signature = (lo, hi, /, *, tol))]
    fn adjacency<'py>(
        &self,
        py: Python<'py>,
        lo: PyReadonlyArray1<'py, f64>,
        hi: PyReadonlyArray1<'py, f64>,
        tol: f64,
    ) -> PyResult<Edges<'py>> {
        let (lo, hi) = (lo.as_array().to_vec(), hi.as_array().to_vec());
        let d = self.net.dim;
        if lo.len() != d || hi.len() != d {
            return Err(raise("InvalidInputError", format!("the box must have dimension {d}")));
        }
        let (net, cells, reps) = (
            Arc::clone(&self.net),
            Arc::clone(&self.cells),
            Arc::clone(&self.rep_points),
        );
        let edges = py.detach(move || catch_panic(|| adjacency(&net, &cells, &reps, &lo, &hi, tol)))?;
        let pairs: Vec<i64> = edges
            .iter()
            .flat_map(|e| [e.cells.0 as i64, e.cells.1 as i64])
            .collect();
        let witnesses: Vec<f64> = edges.iter().flat_map(|e| e.witness.iter().copied()).collect();
        Ok((
            PyArray1::from_vec(py, pairs).reshape([edges.len(), 2])?,
            PyArray1::from_vec(py, edges.iter().map(|e| e.bit as i64).collect()),
            PyArray1::from_vec(py, witnesses).reshape([edges.len(), d])?,
            PyArray1::from_vec(py, edges.iter().map(|e| e.by_lp).collect()),
        ))
    }
}
