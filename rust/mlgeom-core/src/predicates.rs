//! The one place where the side of a vertex with respect to a plane is decided (STYLE C8).
//!
//! Float mode: the signed distance to the unit-normal plane, with a vertex within `tol` lying on it
//! (DESIGN §4). Exact mode: the sign of the input plane's function at the true vertex (the intersection of d
//! independent planes of its incidence set), certified by a float filter with a rigorous error bound (on the
//! vertex, and on the plane's float coefficients where they were composed in floats: a ReLU network's deeper
//! layers) and, where the float value lies inside that bound, decided with big integers ([`crate::exact`]),
//! whose exact rows the plane tables make on first use. "On" then means
//! exactly zero. New vertices get a verified error bound (and one Newton step towards the true vertex).
//!
//! Float mode never changes combinatorics silently: with `audit`, every decision that the tolerance snapped
//! ("on the plane" within `tol`) is re-decided exactly at the vertex its incidence set defines where the planes
//! are known exactly (arrangements); the ones exact arithmetic puts off the plane are counted
//! (`Partition::snapped`), and the Python layer warns that `exact=True` gives the input's own cells. Where the
//! planes are composed in floats (ReLU networks), a decision snapped at a nonzero float distance cannot be
//! certified and is counted as in doubt. Decisions beyond the tolerance are trusted: wrong only for a vertex whose
//! float position is off by more than `tol` (planes meeting at angles below ~1e-6 rad).

use std::sync::Arc;

use num_bigint::BigInt;

use crate::exact::{ExactPoint, RowError, certified_sign, float_basis, independent_rows, verified_error};
use crate::planes::PlaneTable;
use crate::polytope::{Certificate, Polytope, Side};

/// The predicate policy of one refinement.
#[derive(Clone, Copy, Debug)]
pub struct Predicates {
    pub tol: f64,
    pub exact: bool,
    /// Float mode: re-decide snapped decisions exactly and count the disagreements (see the module doc).
    pub audit: bool,
}

impl Predicates {
    /// The side of every vertex of `poly` with respect to plane `p` into `sides`, and a signed value per
    /// vertex into `dist` (proportional to the distance; used to place new vertices on cut edges). Returns the
    /// number of float decisions that exact arithmetic contradicts (only with `audit`; else 0).
    pub fn classify(
        &self,
        poly: &mut Polytope,
        planes: &PlaneTable,
        p: u32,
        dist: &mut Vec<f64>,
        sides: &mut Vec<Side>,
    ) -> usize {
        sides.clear();
        if !self.exact {
            poly.distances_into(planes.normal(p), planes.offset(p), dist);
            let tol = self.tol;
            sides.extend(dist.iter().map(|&v| {
                side_of(if v > tol {
                    1
                } else if v < -tol {
                    -1
                } else {
                    0
                })
            }));
            if !self.audit {
                return 0;
            }
            if !planes.has_raw(p) || poly.certificates.is_empty() {
                // No exact coefficients (a ReLU network's composed planes): a decision snapped at a nonzero
                // float distance cannot be certified, so it is reported as in doubt.
                return (0..sides.len())
                    .filter(|&i| sides[i] == Side::On && dist[i] != 0.0)
                    .count();
            }
            let mut snapped = 0;
            for i in 0..sides.len() {
                if sides[i] == Side::On {
                    let row = planes.exact_row(p);
                    snapped += usize::from(match exact_point(poly, planes, i, false) {
                        Some(x) => x.sign_of(row) != 0,
                        None => dist[i] != 0.0, // not certifiable (rank < d, or a composed plane through it)
                    });
                }
            }
            return snapped;
        }
        dist.clear();
        let (w, c, row_err) = planes.raw_row(p);
        for i in 0..poly.n_vertices() {
            let (sign, s) = certified_sign(w, c, row_err, poly.vertex(i), poly.certificates[i].err);
            dist.push(s);
            let sign = sign.unwrap_or_else(|| {
                exact_point(poly, planes, i, true)
                    .expect("a vertex lies on d independent planes of its incidence set")
                    .sign_of(planes.exact_row(p))
            });
            sides.push(side_of(sign));
        }
        0
    }

    /// Splits `poly` by plane `p` from its vertices' sides (see [`Polytope::split_by_sides`]).
    pub fn split(
        &self,
        poly: &Polytope,
        planes: &PlaneTable,
        p: u32,
        dist: &[f64],
        sides: &[Side],
    ) -> (Polytope, Polytope) {
        if self.exact {
            poly.split_by_sides(p, dist, sides, |x, incidence| {
                certify_vertex(planes, x, incidence, self.tol)
            })
        } else {
            poly.split_by_sides(p, dist, sides, |_, _| Certificate::default())
        }
    }

    /// Adds the plane `p` (which does not cross `poly`) to the incidence of the vertices on it.
    pub fn mark(&self, poly: &mut Polytope, p: u32, sides: &[Side]) {
        if sides.contains(&Side::On) {
            poly.mark_on(p, |i| sides[i] == Side::On);
        }
    }
}

fn side_of(sign: i8) -> Side {
    match sign {
        1 => Side::Positive,
        -1 => Side::Negative,
        _ => Side::On,
    }
}

/// The exact position of vertex `i`: the intersection of the first d independent planes of its incidence set
/// (computed on first use and cached in its certificate); `None` if its incidence set has rank below d (float
/// mode's snapping can do that). With `place`, its float coordinates become the correctly rounded ones.
fn exact_point(poly: &mut Polytope, planes: &PlaneTable, i: usize, place: bool) -> Option<Arc<ExactPoint>> {
    if let Some(p) = &poly.certificates[i].point {
        return Some(p.clone());
    }
    let d = poly.dim;
    if !poly.incidence_of(i).iter().all(|&q| planes.has_raw(q)) {
        return None; // float mode: a plane composed in floats (a deeper ReLU layer) passes through it
    }
    let rows: Vec<&[BigInt]> = poly.incidence_of(i).iter().map(|&q| planes.exact_row(q)).collect();
    let basis = independent_rows(&rows, d)?;
    let chosen: Vec<&[BigInt]> = basis.iter().map(|&k| rows[k]).collect();
    let point = Arc::new(ExactPoint::solve(&chosen)?);
    if place {
        let x = point.to_f64();
        let err = x.iter().fold(0.0f64, |a, v| a.max(v.abs())) * f64::EPSILON * 4.0 + 1e-300;
        poly.coords[i * d..(i + 1) * d].copy_from_slice(&x);
        poly.certificates[i].err = err;
    }
    poly.certificates[i].point = Some(point.clone());
    Some(point)
}

/// The certificate of a new vertex at `x` on the planes `incidence`: one Newton step towards the
/// intersection of d of them and a rigorous bound on the remaining distance (infinite if unverifiable, in
/// which case every predicate on this vertex is decided exactly). It is placed exactly when the planes are
/// ill-conditioned, or when the bound their float coefficients' own error adds exceeds `tol` (the geometric
/// resolution float mode works at).
fn certify_vertex(planes: &PlaneTable, x: &mut [f64], incidence: &[u32], tol: f64) -> Certificate {
    let d = x.len();
    let (rows, errs): (Vec<Vec<f64>>, Vec<RowError>) = incidence
        .iter()
        .map(|&q| {
            let (w, c, e) = planes.raw_row(q);
            (w.iter().copied().chain([c]).collect(), e)
        })
        .unzip();
    let refs: Vec<&[f64]> = rows.iter().map(|r| &r[..]).collect();
    let (err, solve_err) = match float_basis(&refs, d) {
        Some(basis) => {
            let chosen: Vec<&[f64]> = basis.iter().map(|&k| refs[k]).collect();
            let chosen_errs: Vec<RowError> = basis.iter().map(|&k| errs[k]).collect();
            let mut y = x.to_vec();
            let (err, solve_err) = verified_error(&chosen, &chosen_errs, &mut y);
            if err.is_finite() {
                x.copy_from_slice(&y);
            }
            (err, solve_err)
        }
        None => (f64::INFINITY, f64::INFINITY),
    };
    let reach = x.iter().fold(f64::MIN_POSITIVE, |a, v| a.max(v.abs()));
    if solve_err <= ILL_CONDITIONED * f64::EPSILON * reach && err - solve_err <= tol {
        return Certificate { err, point: None };
    }
    // An ill-conditioned vertex (planes at a tiny angle): its float position is off by up to `err`, which
    // would show in the measures (facet closure off by 4e-8 next to planes 3e-10 rad apart). Place it exactly.
    let mut poly = Polytope {
        dim: d,
        coords: x.to_vec(),
        inc_start: vec![0, incidence.len() as u32],
        incidence: incidence.to_vec(),
        certificates: vec![Certificate::default()],
    };
    exact_point(&mut poly, planes, 0, true).expect("a new vertex lies on d independent planes");
    x.copy_from_slice(&poly.coords);
    poly.certificates.pop().expect("one vertex")
}

/// A vertex whose verified error exceeds this many units in the last place of its largest coordinate (20 bits
/// lost: planes meeting at angles below ~1e-6) is placed exactly (rounded from its rational coordinates)
/// rather than by a float solve. Generic vertices lose a few bits and never pay for big integers here.
const ILL_CONDITIONED: f64 = 1048576.0;
