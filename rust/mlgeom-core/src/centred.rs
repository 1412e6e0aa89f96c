//! Box-local coordinates for boxes far from the origin (issue 9).
//!
//! float64 places a point near x to ulp(|x|): a vertex of a cell in the box [10⁸, 10⁸ + 1]^d carries an absolute
//! error of ulp(10⁸) ≈ 1.5·10⁻⁸, a relative error of 1.5·10⁻⁸ of the box's width, which spoils the volume sum
//! and the facet closure the partition is checked against. The core therefore computes in local coordinates
//! y = x − c and translates its outputs back once ([`crate::partition::Partition::new`]).
//!
//! The origin c is chosen per axis so that the translation of the box is exact: c_k = lo_k when
//! lo_k ≥ hi_k − lo_k > 0 (then lo_k ≤ x_k ≤ hi_k ≤ 2 lo_k, so x_k − c_k is exact for every float x_k in the box,
//! Sterbenz's lemma), c_k = hi_k when hi_k ≤ −(hi_k − lo_k) < 0, and c_k = 0 otherwise (the box reaches within
//! one width of 0 along k, so local coordinates would gain at most one bit). Hence the local box faces, and every
//! point of the box moved into local coordinates, are exact floats; only the outputs carry one rounding, when
//! they are moved back.
//!
//! A plane a·x + b = 0 is a·y + (b + a·c) = 0 locally. Its local row is computed exactly (a dyadic rational, an
//! integer row up to a power of two) and rounded once ([`Frame::local_row`]): exact mode decides with the exact
//! row, so the certified combinatorics are those of the input planes, unchanged.

use num_bigint::BigInt;

use crate::exact::DyadicMatrix;

/// The translation x = y + `origin` between the input coordinates x and the local coordinates y of a box.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// c: zero on the axes along which the box is not far from the origin.
    pub origin: Vec<f64>,
    /// The box in local coordinates, lo − c and hi − c (exact).
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl Frame {
    /// The frame of the box [lo, hi] (finite, lo < hi on every axis).
    pub fn new(lo: &[f64], hi: &[f64]) -> Self {
        let origin: Vec<f64> = lo.iter().zip(hi).map(|(&l, &h)| axis_origin(l, h)).collect();
        let local = |bound: &[f64]| bound.iter().zip(&origin).map(|(v, c)| v - c).collect();
        Self {
            lo: local(lo),
            hi: local(hi),
            origin,
        }
    }

    /// The largest |coordinate| of the local box: the scale of the rounding its vertices carry.
    pub fn reach(&self) -> f64 {
        self.lo.iter().chain(&self.hi).fold(0.0f64, |a, v| a.max(v.abs()))
    }

    /// Whether local and input coordinates coincide (c = 0).
    pub fn is_identity(&self) -> bool {
        self.origin.iter().all(|&c| c == 0.0)
    }

    /// The plane `row` = (a, b) (d + 1 floats, a·x + b) in local coordinates, (a, b + a·c): its floats, each
    /// within one rounding of the exact value (a is unchanged), and the exact row as integers (a positive
    /// power-of-two multiple, the form [`crate::planes::PlaneTable::push_exact`] takes).
    pub fn local_row(&self, row: &[f64]) -> (Vec<f64>, Vec<BigInt>) {
        let d = self.origin.len();
        debug_assert_eq!(row.len(), d + 1);
        // (a, b) · [[I, c], [0, 1]] = (a, a·c + b), exactly.
        let shift: Vec<f64> = (0..=d)
            .flat_map(|k| {
                (0..=d).map(move |j| match (k == j, j == d && k < d) {
                    (true, _) => 1.0,
                    (false, true) => self.origin[k],
                    _ => 0.0,
                })
            })
            .collect();
        let exact = DyadicMatrix::from_f64(row, d + 1).mul(&DyadicMatrix::from_f64(&shift, d + 1));
        let floats = (0..=d).map(|j| exact.to_f64(0, j)).collect();
        (floats, exact.ints)
    }

    /// The input-space point of the local point `y`, rounded once per coordinate.
    pub fn to_input(&self, y: &mut [f64]) {
        y.iter_mut().zip(&self.origin).for_each(|(v, c)| *v += c);
    }

    /// [`Self::to_input`] for every row of `points` (row-major, d columns).
    pub fn rows_to_input(&self, points: &mut [f64]) {
        if self.is_identity() {
            return;
        }
        points
            .chunks_exact_mut(self.origin.len())
            .for_each(|y| self.to_input(y));
    }
}

/// c_k for the axis [lo, hi]: lo or hi when the box lies at least one width away from 0 (so that x − c is exact
/// for every x in [lo, hi]), else 0.
fn axis_origin(lo: f64, hi: f64) -> f64 {
    if lo > 0.0 && hi <= 2.0 * lo {
        lo
    } else if hi < 0.0 && lo >= 2.0 * hi {
        hi
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_traits::ToPrimitive;
    use proptest::prelude::*;

    #[test]
    fn far_axes_move_to_a_box_corner() {
        let f = Frame::new(&[1e8, -3.0, -1e12 - 1e-3, 0.5], &[1e8 + 1.0, 4.0, -1e12, 1.0]);
        assert_eq!(f.origin, vec![1e8, 0.0, -1e12, 0.5]);
        assert_eq!(f.lo, vec![0.0, -3.0, -1e12 - 1e-3 - -1e12, 0.0]);
        assert_eq!(f.hi, vec![1.0, 4.0, 0.0, 0.5]);
        assert!(!f.is_identity());
        assert!(Frame::new(&[0.0, 0.4], &[1.0, 1.0]).is_identity());
    }

    #[test]
    fn local_rows_are_exact() {
        // x + 2y − (1e8 + 2e8 + 0.75) = 0 on a box at (1e8, 1e8): y1 + 2 y2 − 0.75 = 0 locally.
        let f = Frame::new(&[1e8, 1e8], &[1e8 + 1.0, 1e8 + 1.0]);
        let (floats, ints) = f.local_row(&[1.0, 2.0, -3e8 - 0.75]);
        assert_eq!(floats, vec![1.0, 2.0, -0.75]);
        // the integers are (1, 2, −0.75) times a positive power of two
        let scale = ints[0].to_f64().unwrap();
        assert!(scale > 0.0 && scale.log2().fract() == 0.0);
        assert_eq!(ints[2].to_f64().unwrap() / scale, -0.75);
    }

    proptest! {
        #[test]
        fn box_points_translate_exactly(lo in -1e15f64..1e15, width in 1e-6f64..1e3, t in 0.0f64..=1.0) {
            let hi = lo + width;
            prop_assume!(lo < hi);
            let f = Frame::new(&[lo], &[hi]);
            let x = (lo + t * (hi - lo)).clamp(lo, hi);
            let y = x - f.origin[0];
            // exact: moving the local point back gives x itself
            prop_assert_eq!(y + f.origin[0], x);
            prop_assert!(f.lo[0] + f.origin[0] == lo && f.hi[0] + f.origin[0] == hi);
            prop_assert!(f.hi[0] - f.lo[0] <= 2.0 * (hi - lo));
        }

        #[test]
        fn local_row_rounds_the_exact_offset(a in -1e3f64..1e3, b in -1e12f64..1e12, lo in 1e6f64..1e12) {
            let f = Frame::new(&[lo], &[lo + 1.0]);
            let (floats, ints) = f.local_row(&[a, b]);
            prop_assert_eq!(floats[0], a);
            // b + a·c = s + (t + e) with a·c = p + e and b + p = s + t exactly (error-free transformations)
            let (p, e) = two_product(a, f.origin[0]);
            let (s, t) = two_sum(b, p);
            let exact = s + (t + e);
            prop_assert!((floats[1] - exact).abs() <= f64::EPSILON * exact.abs());
            // the integer row is the same plane: its ratio rounds like the floats'
            if a != 0.0 {
                let ratio = ints[1].to_f64().unwrap() / ints[0].to_f64().unwrap();
                prop_assert!((ratio - exact / a).abs() <= 4.0 * f64::EPSILON * (exact / a).abs());
            }
        }
    }

    /// a + b = s + t exactly (Knuth's two-sum).
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let v = s - a;
        (s, (a - (s - v)) + (b - v))
    }

    /// a·b = p + e exactly (Dekker's product through fused multiply-add).
    fn two_product(a: f64, b: f64) -> (f64, f64) {
        let p = a * b;
        (p, a.mul_add(b, -p))
    }
}
