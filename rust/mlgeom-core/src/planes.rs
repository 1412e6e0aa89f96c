//! Plane tables: the coefficients of every plane a cell's vertices can lie on, by plane id.
//!
//! Ids `0..2d` are the box faces. Higher ids are the model's hyperplanes: coincidence classes of an
//! arrangement, or neurons of a ReLU network, whose plane inside a cell depends on the cell (a bent
//! hyperplane). Tables therefore form a chain: a cell refined by layer l holds a table of layer l's
//! planes whose parent holds the earlier layers'. Each plane also names the pattern bits it decides:
//! bit j is set to `positive != flipped` for a cell on the given side.

use std::sync::{Arc, OnceLock};

use num_bigint::BigInt;

use crate::exact::RowError;

/// Exact rows made on first use elsewhere (a ReLU layer's exact pre-activations on a cell, [`crate::relu`]):
/// row `k` is a positive integer multiple of the function of the `k`-th plane from the table's source start.
pub trait ExactRows: Send + Sync + std::fmt::Debug {
    fn exact_row(&self, k: usize) -> Vec<BigInt>;
}

/// Planes with ids `first..first + len`, and a parent table for smaller ids.
#[derive(Debug)]
pub struct PlaneTable {
    parent: Option<Arc<PlaneTable>>,
    first: u32,
    dim: usize,
    normals: Vec<f64>,
    offsets: Vec<f64>,
    bit_start: Vec<u32>,
    bits: Vec<(u32, bool)>,
    /// Exact mode only: the input coefficients of each plane (`d + 1` floats per plane, a positive multiple
    /// of the unit row), their bound on the distance to the exact row, and the exact integer row, made on
    /// first use (see [`crate::exact`]): from the floats when they are exact, else from `source`.
    raw: Vec<f64>,
    raw_err: Vec<RowError>,
    exact: Vec<OnceLock<Vec<BigInt>>>,
    tracks_raw: bool,
    /// Where the exact rows of planes `start..` come from (row `i − start` of the source), if not their floats.
    source: Option<(Arc<dyn ExactRows>, usize)>,
}

impl PlaneTable {
    /// An empty table for ids starting at `first` (0 for the root).
    pub fn new(parent: Option<Arc<PlaneTable>>, first: u32, dim: usize) -> Self {
        Self {
            parent,
            first,
            dim,
            normals: Vec::new(),
            offsets: Vec::new(),
            bit_start: vec![0],
            bits: Vec::new(),
            raw: Vec::new(),
            raw_err: Vec::new(),
            exact: Vec::new(),
            tracks_raw: false,
            source: None,
        }
    }

    /// From now on keeps the exact input coefficients of every plane (the rows pushed so far, box faces,
    /// are their own input: ±x_k ∓ bound).
    pub fn track_raw(&mut self) {
        self.tracks_raw = true;
        for i in 0..self.offsets.len() {
            let (normal, offset) = (&self.normals[i * self.dim..(i + 1) * self.dim], self.offsets[i]);
            self.raw.extend_from_slice(normal);
            self.raw.push(offset);
            self.record_raw_rest(RowError::default(), None);
        }
    }

    /// Completes the raw arrays for a plane whose coefficients were just appended to `raw`: their error bound
    /// and (if known) its exact row.
    fn record_raw_rest(&mut self, err: RowError, exact: Option<Vec<BigInt>>) {
        debug_assert!(self.tracks_raw && self.raw.len() == (self.raw_err.len() + 1) * (self.dim + 1));
        self.raw_err.push(err);
        self.exact.push(exact.map_or_else(OnceLock::new, OnceLock::from));
    }

    /// The exact rows of the planes pushed from now on come from `source` (the next plane is its row 0).
    pub fn set_exact_source(&mut self, source: Arc<dyn ExactRows>) {
        debug_assert!(self.tracks_raw);
        self.source = Some((source, self.offsets.len()));
    }

    /// [`Self::push`] for a table that tracks input coefficients: `raw` (d + 1 floats) is the plane as given.
    pub fn push_raw(&mut self, normal: &[f64], offset: f64, raw: &[f64], bits: &[(u32, bool)]) -> u32 {
        self.push_bounded(normal, offset, raw, RowError::default(), None, bits)
    }

    /// [`Self::push_raw`] for a plane known exactly as the integer row `exact` (a positive multiple of the
    /// plane's function), with `raw` its correctly rounded floats (each within one rounding of the true value).
    pub fn push_exact(
        &mut self,
        normal: &[f64],
        offset: f64,
        raw: &[f64],
        exact: Vec<BigInt>,
        bits: &[(u32, bool)],
    ) -> u32 {
        self.push_bounded(normal, offset, raw, RowError::default(), Some(exact), bits)
    }

    /// [`Self::push_raw`] for a plane whose floats `raw` are within `err` of its exact row, which is known
    /// already (`exact`: a positive integer multiple) or made on first use.
    pub fn push_bounded(
        &mut self,
        normal: &[f64],
        offset: f64,
        raw: &[f64],
        err: RowError,
        exact: Option<Vec<BigInt>>,
        bits: &[(u32, bool)],
    ) -> u32 {
        debug_assert_eq!(raw.len(), self.dim + 1);
        self.raw.extend_from_slice(raw);
        self.record_raw_rest(err, exact);
        self.push_unit(normal, offset, bits)
    }

    /// Whether plane `p` has exact input coefficients (exact mode).
    pub fn has_raw(&self, p: u32) -> bool {
        self.find(p).0.tracks_raw
    }

    /// The input coefficients (normal then offset) of plane `p` and their bound on the distance to the exact
    /// row; the unit row where none were kept.
    #[inline]
    pub fn raw_row(&self, p: u32) -> (&[f64], f64, RowError) {
        let (t, i) = self.find(p);
        if t.tracks_raw {
            let w = t.dim + 1;
            (&t.raw[i * w..i * w + t.dim], t.raw[i * w + t.dim], t.raw_err[i])
        } else {
            (
                &t.normals[i * t.dim..(i + 1) * t.dim],
                t.offsets[i],
                RowError::default(),
            )
        }
    }

    /// The input coefficients of plane `p` as integers (a positive multiple of the row; exact mode).
    pub fn exact_row(&self, p: u32) -> &[BigInt] {
        let (t, i) = self.find(p);
        debug_assert!(t.tracks_raw, "exact rows need raw coefficients");
        let w = t.dim + 1;
        t.exact[i].get_or_init(|| match &t.source {
            Some((source, start)) if i >= *start => source.exact_row(i - start),
            _ => crate::exact::exact_row(&t.raw[i * w..(i + 1) * w]),
        })
    }

    /// A root table holding the faces of the box [lo, hi] (outward unit normals).
    pub fn with_box(lo: &[f64], hi: &[f64]) -> Self {
        let dim = lo.len();
        let mut t = Self::new(None, 0, dim);
        for k in 0..dim {
            for (sign, bound) in [(-1.0, lo[k]), (1.0, hi[k])] {
                let mut n = vec![0.0; dim];
                n[k] = sign;
                t.push(&n, -sign * bound, &[]);
            }
        }
        t
    }

    /// Appends a plane {normal·x + offset = 0} (unit normal) deciding `bits`; returns its id.
    pub fn push(&mut self, normal: &[f64], offset: f64, bits: &[(u32, bool)]) -> u32 {
        if self.tracks_raw {
            self.raw.extend_from_slice(normal);
            self.raw.push(offset);
            self.record_raw_rest(RowError::default(), None);
        }
        self.push_unit(normal, offset, bits)
    }

    fn push_unit(&mut self, normal: &[f64], offset: f64, bits: &[(u32, bool)]) -> u32 {
        self.normals.extend_from_slice(normal);
        self.offsets.push(offset);
        self.bits.extend_from_slice(bits);
        self.bit_start.push(self.bits.len() as u32);
        self.end() - 1
    }

    /// Makes room for `n` more planes.
    pub fn reserve(&mut self, n: usize) {
        self.normals.reserve(n * self.dim);
        self.offsets.reserve(n);
        self.bit_start.reserve(n);
    }

    /// One past the largest id of this table.
    pub fn end(&self) -> u32 {
        self.first + self.offsets.len() as u32
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    #[inline]
    fn find(&self, p: u32) -> (&PlaneTable, usize) {
        let mut t = self;
        while p < t.first {
            t = t.parent.as_deref().expect("plane id below the root table");
        }
        (t, (p - t.first) as usize)
    }

    #[inline]
    pub fn normal(&self, p: u32) -> &[f64] {
        let (t, i) = self.find(p);
        &t.normals[i * t.dim..(i + 1) * t.dim]
    }

    #[inline]
    pub fn offset(&self, p: u32) -> f64 {
        let (t, i) = self.find(p);
        t.offsets[i]
    }

    /// Signed distance of `x` to plane `p`.
    #[inline]
    pub fn distance(&self, p: u32, x: &[f64]) -> f64 {
        let (t, i) = self.find(p);
        let n = &t.normals[i * t.dim..(i + 1) * t.dim];
        n.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + t.offsets[i]
    }

    /// The pattern bits that plane `p` decides, with their orientation.
    #[inline]
    pub fn bits(&self, p: u32) -> &[(u32, bool)] {
        let (t, i) = self.find(p);
        &t.bits[t.bit_start[i] as usize..t.bit_start[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_lookup() {
        let root = Arc::new(PlaneTable::with_box(&[0.0, 0.0], &[1.0, 2.0]));
        assert_eq!(root.end(), 4);
        assert_eq!(root.offset(3), -2.0);
        let mut child = PlaneTable::new(Some(root.clone()), 4, 2);
        let id = child.push(&[0.6, 0.8], -0.5, &[(7, true)]);
        assert_eq!(id, 4);
        assert_eq!(child.normal(4), &[0.6, 0.8]);
        assert_eq!(child.normal(0), &[-1.0, 0.0]);
        assert_eq!(child.bits(4), &[(7, true)]);
        assert!((child.distance(4, &[1.0, 1.0]) - 0.9).abs() < 1e-15);
    }
}
