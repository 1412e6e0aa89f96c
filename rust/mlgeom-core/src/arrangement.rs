//! Validated input: the box, the hyperplanes normalised to unit normals, and their coincidence classes.
//!
//! Plane ids used throughout the core: `0..2d` are the box faces (`2k`: x_k = lo_k, `2k+1`: x_k = hi_k,
//! both with outward unit normals), `2d + g` is coincidence class `g` of the input hyperplanes.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, Zero};

use crate::centred::Frame;
use crate::error::{Result, invalid};

/// Relative tolerance of every geometric predicate. A point lies on a plane when its distance to the
/// plane is at most `TOLERANCE_REL × (diagonal of the box)`.
///
/// float64 places a vertex to a few ulp of its largest coordinate; in the box's local coordinates
/// ([`crate::centred`]) every axis reaches at most two widths from 0, so that is below 1e-15 of the diagonal
/// wherever the box lies (in input coordinates a box at 1e8 of width 1 would need 16 ulp(1e8) ≈ 2.4e-7).
pub const TOLERANCE_REL: f64 = 1e-10;

/// A class of input hyperplanes that are one geometric plane inside the box (equal up to scale and
/// orientation, within [`MERGE_FACTOR`] tolerances).
#[derive(Clone, Debug)]
pub struct CoincidenceClass {
    /// Input hyperplane indices, ascending.
    pub members: Vec<usize>,
    /// `flipped[k]`: member k's normal points against the class normal.
    pub flipped: Vec<bool>,
}

/// An arrangement of hyperplanes W x + c = 0 inside the box [lo, hi], held in the box's local coordinates
/// y = x − origin ([`crate::centred`]): `frame.lo`, `frame.hi`, `normals`, `offsets`, `class_rows` and `tol` are local.
#[derive(Clone, Debug)]
pub struct Arrangement {
    pub dim: usize,
    /// The local coordinates and the local box (`frame.lo`, `frame.hi`).
    pub frame: Frame,
    pub n_hyperplanes: usize,
    /// Absolute tolerance (a distance).
    pub tol: f64,
    /// Unit normals of all planes (box faces then classes), row-major `n_planes × dim`.
    pub normals: Vec<f64>,
    /// Offsets: plane p is {x : normals[p]·x + offsets[p] = 0}.
    pub offsets: Vec<f64>,
    pub classes: Vec<CoincidenceClass>,
    /// Hyperplanes with a zero normal (or so far away that their offset overflows): (index, bit).
    pub constant_bits: Vec<(usize, bool)>,
    /// Exact mode (see [`Self::new_exact`]).
    pub exact: bool,
    /// Input coefficients of each class's plane (its first member, oriented as the class) in local coordinates,
    /// `d + 1` per class: the input row itself, or its exact translation rounded once.
    pub class_rows: Vec<f64>,
    /// The exact integer form of each class row when the frame moved it (empty when the frame is the identity:
    /// the input row is then its own exact form).
    pub class_exact: Vec<Vec<BigInt>>,
    /// Float mode: class members not exactly proportional to their class's first member (merged by the
    /// tolerance).
    pub snapped_members: usize,
}

impl Arrangement {
    /// Validates and normalises `normals` (row-major m × d), `offsets` (m) and the box `lo`, `hi` (d).
    pub fn new(normals: &[f64], offsets: &[f64], lo: &[f64], hi: &[f64]) -> Result<Self> {
        Self::build(normals, offsets, lo, hi, false)
    }

    /// [`Self::new`] for exact mode: coincidence classes are the exactly proportional hyperplanes (no
    /// tolerance), and the refinement certifies every predicate on the input coefficients.
    pub fn new_exact(normals: &[f64], offsets: &[f64], lo: &[f64], hi: &[f64]) -> Result<Self> {
        Self::build(normals, offsets, lo, hi, true)
    }

    fn build(normals: &[f64], offsets: &[f64], lo: &[f64], hi: &[f64], exact: bool) -> Result<Self> {
        let dim = lo.len();
        if dim == 0 {
            return invalid("the box has dimension 0; give lo and hi with at least one coordinate");
        }
        if hi.len() != dim {
            return invalid(format!(
                "lo has {dim} coordinates but hi has {}; give both with the same length",
                hi.len()
            ));
        }
        for k in 0..dim {
            if !lo[k].is_finite() || !hi[k].is_finite() {
                return invalid(format!(
                    "the box has a non-finite bound on axis {k}; use finite numbers"
                ));
            }
            if lo[k] >= hi[k] {
                return invalid(format!(
                    "the box is empty or inverted on axis {k} (lo = {} >= hi = {}); need lo < hi",
                    lo[k], hi[k]
                ));
            }
        }
        let m = offsets.len();
        if normals.len() != m * dim {
            return invalid(format!(
                "normals must be an {m} × {dim} matrix (one row per offset, one column per box axis), got {} numbers",
                normals.len()
            ));
        }
        if let Some(i) = normals.iter().position(|v| !v.is_finite()) {
            return invalid(format!(
                "hyperplane {} has a non-finite normal (NaN or inf); remove or fix it",
                i / dim
            ));
        }
        if let Some(j) = offsets.iter().position(|v| !v.is_finite()) {
            return invalid(format!(
                "hyperplane {j} has a non-finite offset (NaN or inf); remove or fix it"
            ));
        }
        // From here on everything is in the box's local coordinates (exact translation of the box; the hyperplanes'
        // offsets b + a·c computed exactly and rounded once).
        let frame = Frame::new(lo, hi);
        let (lo, hi) = (&frame.lo[..], &frame.hi[..]);
        let local: Vec<(Vec<f64>, Vec<BigInt>)> = if frame.is_identity() {
            Vec::new()
        } else {
            (0..m)
                .map(|j| frame.local_row(&[&normals[j * dim..(j + 1) * dim], &offsets[j..=j]].concat()))
                .collect()
        };
        let local_offsets: Vec<f64> = match local.is_empty() {
            true => offsets.to_vec(),
            false => local.iter().map(|(row, _)| row[dim]).collect(),
        };
        let diagonal = (0..dim).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>().sqrt();
        if !diagonal.is_finite() {
            return invalid("the box is too large to measure in float64; rescale the input");
        }
        let tol = TOLERANCE_REL * diagonal;

        let mut plane_normals = Vec::with_capacity((2 * dim + m) * dim);
        let mut plane_offsets = Vec::with_capacity(2 * dim + m);
        for k in 0..dim {
            for (sign, bound) in [(-1.0, lo[k]), (1.0, hi[k])] {
                let mut n = vec![0.0; dim];
                n[k] = sign;
                plane_normals.extend_from_slice(&n);
                plane_offsets.push(-sign * bound);
            }
        }

        let mut constant_bits = Vec::new();
        let mut unit: Vec<(usize, Vec<f64>, f64)> = Vec::with_capacity(m);
        for j in 0..m {
            let w = &normals[j * dim..(j + 1) * dim];
            let scale = w.iter().fold(0.0f64, |a, &v| a.max(v.abs()));
            if scale == 0.0 {
                if offsets[j] == 0.0 {
                    return invalid(format!(
                        "hyperplane {j} has a zero normal and a zero offset, so it is all of space; remove it"
                    ));
                }
                constant_bits.push((j, offsets[j] > 0.0));
                continue;
            }
            let norm = scale * w.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt();
            let b = local_offsets[j] / norm;
            if !b.is_finite() {
                constant_bits.push((j, local_offsets[j] > 0.0));
                continue;
            }
            unit.push((j, w.iter().map(|v| v / norm).collect(), b));
        }
        let classes = if exact {
            proportional_classes(&unit, normals, offsets)
        } else {
            coincidence_classes(&unit, lo, hi, tol)
        };
        let mut class_rows = Vec::with_capacity(classes.len() * (dim + 1));
        let mut class_exact = Vec::with_capacity(if local.is_empty() { 0 } else { classes.len() });
        for class in &classes {
            let (j, n, b) = &unit.iter().find(|u| u.0 == class.members[0]).expect("member exists");
            let sign = if class.flipped[0] { -1.0 } else { 1.0 };
            plane_normals.extend(n.iter().map(|v| sign * v));
            plane_offsets.push(sign * b);
            class_rows.extend(normals[j * dim..(j + 1) * dim].iter().map(|v| sign * v));
            class_rows.push(sign * local_offsets[*j]);
            if let Some((_, ints)) = local.get(*j) {
                class_exact.push(ints.iter().map(|v| if sign < 0.0 { -v } else { v.clone() }).collect());
            }
        }
        let row = |j: usize| -> Vec<f64> {
            normals[j * dim..(j + 1) * dim]
                .iter()
                .copied()
                .chain([offsets[j]])
                .collect()
        };
        let snapped_members = classes
            .iter()
            .filter(|class| class.members.len() > 1)
            .map(|class| {
                let first = proportional_key(&row(class.members[0])).0;
                class.members[1..]
                    .iter()
                    .filter(|&&j| proportional_key(&row(j)).0 != first)
                    .count()
            })
            .sum();
        Ok(Self {
            dim,
            frame: frame.clone(),
            n_hyperplanes: m,
            tol,
            normals: plane_normals,
            offsets: plane_offsets,
            classes,
            constant_bits,
            exact,
            snapped_members,
            class_rows,
            class_exact,
        })
    }

    pub fn n_planes(&self) -> usize {
        self.offsets.len()
    }

    /// Plane id of coincidence class `g`.
    #[inline]
    pub fn class_plane(&self, g: usize) -> usize {
        2 * self.dim + g
    }

    #[inline]
    pub fn normal(&self, p: usize) -> &[f64] {
        &self.normals[p * self.dim..(p + 1) * self.dim]
    }

    /// Signed distance of `x` to plane `p`.
    #[inline]
    pub fn distance(&self, p: usize, x: &[f64]) -> f64 {
        self.normal(p).iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + self.offsets[p]
    }

    pub fn box_volume(&self) -> f64 {
        (0..self.dim).map(|k| self.frame.hi[k] - self.frame.lo[k]).product()
    }

    /// Upper bound on the number of cells (Buck: Σ_{k≤d} C(#classes, k)), saturating.
    pub fn max_cells_bound(&self) -> usize {
        let n = self.classes.len() as u128;
        let mut total: u128 = 0;
        let mut binom: u128 = 1;
        for k in 0..=self.dim as u128 {
            if k > n {
                break;
            }
            total = total.saturating_add(binom);
            binom = binom.saturating_mul(n - k) / (k + 1);
        }
        usize::try_from(total).unwrap_or(usize::MAX)
    }
}

/// Two hyperplanes are one class when their signed distances differ by at most `MERGE_FACTOR × tol` across
/// the box. Twice the vertex tolerance, so that two parallel planes a tolerance apart are merged instead of
/// leaving a sliver whose vertices are "on" the other plane or not by rounding (found by fuzzing, issue 9):
/// planes kept apart are more than 2 tol apart somewhere, and parallel ones are then clear of each other's
/// vertices.
pub const MERGE_FACTOR: f64 = 2.0;

/// Groups unit hyperplanes (index, n, b) into classes that coincide inside the box: two planes coincide
/// when their signed-distance functions differ by at most `MERGE_FACTOR × tol` everywhere in the box (after
/// orienting both canonically). Classes are ordered by their smallest member; the class normal is that member's.
fn coincidence_classes(unit: &[(usize, Vec<f64>, f64)], lo: &[f64], hi: &[f64], tol: f64) -> Vec<CoincidenceClass> {
    let dim = lo.len();
    let centre: Vec<f64> = (0..dim).map(|k| 0.5 * (lo[k] + hi[k])).collect();
    let half: Vec<f64> = (0..dim).map(|k| 0.5 * (hi[k] - lo[k])).collect();
    let radius = half.iter().map(|h| h * h).sum::<f64>().sqrt();
    let threshold = 0.5 / (dim as f64).sqrt();
    // Canonical orientation: the first component of magnitude > 1/(2√d) is positive.
    let canon: Vec<(Vec<f64>, f64, bool)> = unit
        .iter()
        .map(|(_, n, b)| {
            let k = n
                .iter()
                .position(|v| v.abs() > threshold)
                .expect("a unit vector has a large component");
            if n[k] < 0.0 {
                (n.iter().map(|v| -v).collect(), -b, true)
            } else {
                (n.clone(), *b, false)
            }
        })
        .collect();
    // A generic direction: coincident planes have nearly equal keys, so only a window is compared.
    let dir: Vec<f64> = (0..dim).map(|k| ((k + 2) as f64).sqrt().fract() + 0.1).collect();
    let key = |(n, b, _): &(Vec<f64>, f64, bool)| {
        let bc = n.iter().zip(&centre).map(|(a, c)| a * c).sum::<f64>() + b;
        n.iter().zip(&dir).map(|(a, u)| a * u).sum::<f64>() + bc / radius
    };
    let keys: Vec<f64> = canon.iter().map(key).collect();
    let mut order: Vec<usize> = (0..unit.len()).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]).then(a.cmp(&b)));
    let min_half = half.iter().cloned().fold(f64::INFINITY, f64::min);
    let dir_l1: f64 = dir.iter().sum();
    let merge = MERGE_FACTOR * tol;
    let window = 4.0 * merge * (dir_l1 / min_half + 1.0 / radius) + 1e-15;

    let mut parent: Vec<usize> = (0..unit.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (pos, &a) in order.iter().enumerate() {
        for &b in &order[pos + 1..] {
            if keys[b] - keys[a] > window {
                break;
            }
            let (na, ba, _) = &canon[a];
            let (nb, bb, _) = &canon[b];
            // max over the box of |Δn·x + Δb| = |Δn·centre + Δb| + Σ |Δn_k| half_k
            let mut at_centre = ba - bb;
            let mut spread = 0.0;
            for k in 0..dim {
                let dn = na[k] - nb[k];
                at_centre += dn * centre[k];
                spread += dn.abs() * half[k];
            }
            if at_centre.abs() + spread <= merge {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for i in 0..unit.len() {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut classes: Vec<CoincidenceClass> = by_root
        .into_values()
        .map(|mut idx| {
            idx.sort_by_key(|&i| unit[i].0);
            let first_flip = canon[idx[0]].2;
            CoincidenceClass {
                members: idx.iter().map(|&i| unit[i].0).collect(),
                flipped: idx.iter().map(|&i| canon[i].2 != first_flip).collect(),
            }
        })
        .collect();
    classes.sort_by_key(|c| c.members[0]);
    classes
}

/// Groups hyperplanes (index, unit normal, offset) into classes of exactly proportional input rows (either
/// orientation): the integer row of (w, c) divided by the gcd of its entries, with its first nonzero entry made
/// positive, is the same for every member. Ordered by smallest member, oriented like [`coincidence_classes`].
/// The integer form of a row (w, c) divided by the gcd of its entries with its first nonzero entry positive
/// (equal for exactly proportional rows), and whether it was negated.
fn proportional_key(row: &[f64]) -> (Vec<num_bigint::BigInt>, bool) {
    let mut key = crate::exact::exact_row(row);
    let g = key.iter().fold(num_bigint::BigInt::zero(), |g, v| g.gcd(v));
    if !g.is_zero() {
        key.iter_mut().for_each(|v| *v /= &g);
    }
    let flipped = key.iter().find(|v| !v.is_zero()).is_some_and(|v| v.is_negative());
    if flipped {
        key.iter_mut().for_each(|v| *v = -&*v);
    }
    (key, flipped)
}

fn proportional_classes(unit: &[(usize, Vec<f64>, f64)], normals: &[f64], offsets: &[f64]) -> Vec<CoincidenceClass> {
    let dim = normals.len() / offsets.len().max(1);
    let mut groups: std::collections::HashMap<Vec<num_bigint::BigInt>, Vec<(usize, bool)>> =
        std::collections::HashMap::new();
    for (j, _, _) in unit {
        let row: Vec<f64> = normals[j * dim..(j + 1) * dim]
            .iter()
            .copied()
            .chain([offsets[*j]])
            .collect();
        let mut key = crate::exact::exact_row(&row);
        let g = key.iter().fold(num_bigint::BigInt::zero(), |g, v| g.gcd(v));
        key.iter_mut().for_each(|v| *v /= &g);
        let flipped = key.iter().find(|v| !v.is_zero()).is_some_and(|v| v.is_negative());
        if flipped {
            key.iter_mut().for_each(|v| *v = -&*v);
        }
        groups.entry(key).or_default().push((*j, flipped));
    }
    let mut classes: Vec<CoincidenceClass> = groups
        .into_values()
        .map(|mut members| {
            members.sort_unstable();
            let first = members[0].1;
            CoincidenceClass {
                members: members.iter().map(|m| m.0).collect(),
                flipped: members.iter().map(|m| m.1 != first).collect(),
            }
        })
        .collect();
    classes.sort_by_key(|c| c.members[0]);
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coincident_hyperplanes_form_one_class() {
        // x = 0.5 three ways (scaled, flipped), and y = 0.5.
        let w = [1.0, 0.0, -2.0, 0.0, 0.0, 1.0, 3.0, 0.0];
        let c = [-0.5, 1.0, -0.5, -1.5];
        let a = Arrangement::new(&w, &c, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
        assert_eq!(a.classes.len(), 2);
        assert_eq!(a.classes[0].members, vec![0, 1, 3]);
        assert_eq!(a.classes[0].flipped, vec![false, true, false]);
        assert_eq!(a.classes[1].members, vec![2]);
        assert_eq!(a.n_planes(), 4 + 2);
    }

    #[test]
    fn bad_input_is_rejected() {
        let b = |w: &[f64], c: &[f64], lo: &[f64], hi: &[f64]| Arrangement::new(w, c, lo, hi).is_err();
        assert!(b(&[f64::NAN, 0.0], &[0.0], &[0.0, 0.0], &[1.0, 1.0]));
        assert!(b(&[1.0, 0.0], &[f64::INFINITY], &[0.0, 0.0], &[1.0, 1.0]));
        assert!(b(&[0.0, 0.0], &[0.0], &[0.0, 0.0], &[1.0, 1.0]));
        assert!(b(&[1.0, 0.0], &[0.0], &[0.0, 1.0], &[1.0, 1.0]));
        assert!(b(&[1.0, 0.0, 1.0], &[0.0], &[0.0, 0.0], &[1.0, 1.0]));
        assert!(b(&[], &[], &[], &[]));
        let a = Arrangement::new(&[0.0, 0.0], &[2.0], &[0.0, 0.0], &[1.0, 1.0]).unwrap();
        assert_eq!(a.constant_bits, vec![(0, true)]);
    }

    #[test]
    fn tolerance_is_relative_to_the_box_wherever_it_lies() {
        let a = Arrangement::new(&[], &[], &[0.0, 0.0], &[3.0, 4.0]).unwrap();
        assert_eq!(a.tol, TOLERANCE_REL * 5.0);
        // far from the origin the box is measured in local coordinates: the same tolerance as at the origin
        let far = Arrangement::new(&[], &[], &[1e8, -1e8 - 4.0], &[1e8 + 3.0, -1e8]).unwrap();
        assert_eq!(far.frame.origin, vec![1e8, -1e8]);
        assert_eq!(far.tol, a.tol);
    }

    #[test]
    fn parallel_planes_merge_within_two_tolerances() {
        let lo = [0.0, 0.0];
        let hi = [1.0, 1.0];
        let tol = Arrangement::new(&[], &[], &lo, &hi).unwrap().tol;
        for (gap, classes) in [(0.5, 1), (1.0, 1), (1.5, 1), (1.99, 1), (2.01, 2), (3.0, 2)] {
            let a = Arrangement::new(&[0.0, 1.0, 0.0, 1.0], &[-0.5, -0.5 - gap * tol], &lo, &hi).unwrap();
            assert_eq!(a.classes.len(), classes, "gap {gap} tolerances");
        }
    }

    #[test]
    fn buck_bound() {
        let w: Vec<f64> = (0..10).flat_map(|i| [1.0, i as f64 * 0.1]).collect();
        let c: Vec<f64> = (0..10).map(|i| -(i as f64) * 0.05).collect();
        let a = Arrangement::new(&w, &c, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
        assert_eq!(a.max_cells_bound(), 1 + 10 + 45);
    }
}
