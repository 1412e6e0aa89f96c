//! Volumes, centroids, facet areas, ridge volumes and dihedral angles of one cell, by the recursive
//! facet decomposition of Lasserre: vol_k(F) = (1/k) Σ_G h_G · vol_{k-1}(G) over the facets G of a
//! k-face F, with h_G the distance from a point r inside F to G within aff(F). With r the mean of F's
//! vertices every term is a pyramid with apex r, so centroids come out too: the pyramid over G has its
//! centroid at c_G + (r − c_G)/(k+1).
//!
//! Faces are found combinatorially from the incidence sets: the (k−1)-faces of a k-face F are the
//! maximal proper subsets F ∩ V(q) over planes q, where V(q) is the set of vertices on q.

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::bits::VertexSet;
use crate::planes::PlaneTable;
use crate::polytope::Polytope;

/// A cutting plane whose normal keeps at least this much length after projecting out the face's normal
/// space gives the height within the face directly; below it, heights come from the vertices.
const WELL_CONDITIONED: f64 = 1e-3;

/// A point or vector (inline up to 6 coordinates).
pub type Vector = SmallVec<[f64; 6]>;
/// A short list of plane ids.
pub type Planes = SmallVec<[u32; 4]>;

/// A facet of a cell: the planes that contain it, its (d−1)-volume and outward unit normal.
#[derive(Clone, Debug)]
pub struct FacetPiece {
    /// Every plane containing the facet (box faces and classes), ascending.
    pub planes: Planes,
    pub area: f64,
    pub normal: Vector,
    /// Centre of mass of the facet.
    pub centroid: Vector,
}

/// A ridge of a cell: the (d−2)-face where two of its facets meet.
#[derive(Clone, Debug)]
pub struct RidgePiece {
    /// Indices into the cell's facet list, first < second.
    pub facets: (usize, usize),
    /// Every plane containing the ridge, ascending.
    pub planes: Planes,
    /// Interior dihedral angle θ = arccos(−n_a·n_b) of the cell (outward normals n_a, n_b).
    pub angle: f64,
    /// (d−2)-volume; 1 for d = 2 (a polygon vertex).
    pub volume: f64,
}

/// Relative closure residual accepted on any cell, however well conditioned: float64 rounding of the
/// Lasserre sums over a few facets stays far below it.
pub const CLOSURE_TOLERANCE: f64 = 1e-7;
/// Rounding of a vertex placed by float64 arithmetic, in units in the last place of the box's largest
/// coordinate (the bound the adversarial invariants use too: `tests/adversarial.py::check_invariants`).
const ROUNDING_ULPS: f64 = 64.0;
/// Factor on the relative deformation δ / t in the closure allowance (first order: δ · L / S ≤ δ / t, see
/// [`CellGeometry::closure_allowance`]; 4 leaves room for the gap between two facets' projections of one
/// vertex, ≤ 2δ, and for dihedral angles away from π/2).
const DEFECT_FACTOR: f64 = 4.0;

/// Everything measured on one cell.
#[derive(Clone, Debug)]
pub struct CellGeometry {
    /// |Σ_F area_F · n_F| / Σ_F area_F over the facets (outward normals): 0 for a closed polytope, so
    /// a larger value reveals facets that the tolerance decided inconsistently.
    pub closure_residual: f64,
    /// Σ_F area_F over the facets.
    pub total_area: f64,
    /// Largest distance |n_q·v + b_q| from a vertex v to a plane q of its incidence set: float64 rounding
    /// (~1e-16 of the box) for vertices the planes define, up to the tolerance for a vertex that a plane was
    /// snapped through (float mode: a fourth plane passing within `tol` of the point where three meet).
    pub incidence_defect: f64,
    pub volume: f64,
    pub centroid: Vector,
    pub facets: Vec<FacetPiece>,
    pub ridges: Vec<RidgePiece>,
}

impl CellGeometry {
    /// The relative closure residual |Σ_F area_F n_F| / Σ_F area_F that this cell's measures may carry
    /// without any inconsistent decision, for a box whose largest coordinate is `reach`:
    ///
    /// ρ = CLOSURE_TOLERANCE + 64 ε · reach / t + 4 δ / t   (the last term only where δ / t ≤ √CLOSURE_TOLERANCE),
    ///
    /// where t = d · volume / Σ_F area_F is the cell's thickness (the inradius of a regular cell) and δ its
    /// [`Self::incidence_defect`]. Σ_F area_F n_F = 0 holds exactly when every vertex lies on the planes of its
    /// incidence set. Vertices off them by δ (rounding: ~ε · reach; a decision the tolerance snapped: up to
    /// `tol`) move each facet's measured boundary by about δ, which changes its area by δ times the measure of
    /// that boundary, so to first order the residual is at most of order δ · L / S (L: the cell's total ridge
    /// measure, S: its total facet area), and L / S ≤ 1 / t for cubes, simplices, slabs and needles alike.
    /// The first-order bound holds while its neglected second-order term (δ / t)² stays below
    /// CLOSURE_TOLERANCE; a cell that a snapped vertex deforms more than that (thinner than ~3000 δ) gets no
    /// snapping allowance, since its facets may be inconsistent, not just perturbed (the near-concurrent
    /// adversarial families: residuals of 2e-2 on cells thinner than the tolerance). The rounding term is
    /// the bound `tests/adversarial.py::check_invariants` holds cells to; a cell thinner than float64
    /// resolves (t below ε · reach) is held to nothing: its measures are rounding noise (exact mode's slivers).
    pub fn closure_allowance(&self, reach: f64) -> f64 {
        let d = self.centroid.len();
        closure_allowance(
            d,
            self.volume,
            self.total_area,
            (self.incidence_defect, self.incidence_defect),
            reach,
        )
    }

    /// A bound on the error of each facet area of the cell: ρ · Σ_F area_F with ρ the
    /// [`Self::closure_allowance`] (`allowance`); none (infinite) for a cell without measurable facet area
    /// (exact mode's slivers).
    pub fn area_error_bound(&self, allowance: f64) -> f64 {
        if self.total_area > 0.0 {
            allowance * self.total_area
        } else {
            f64::INFINITY
        }
    }
}

/// [`CellGeometry::closure_allowance`] from the numbers it depends on: the cell's dimension `d`, `volume`, facet
/// area Σ_F area_F (`total_area`) and the box's `reach`, for an incidence defect δ known to lie in
/// `defect = (δ_low, δ_high)`: the largest allowance over that range (the core knows δ, `(δ, δ)`; a checker that
/// recomputes δ from rounded outputs knows it only within their rounding). The one formula the core's consistency
/// check and the fuzzing oracle (`fuzz/harness.rs`) share.
pub fn closure_allowance(d: usize, volume: f64, total_area: f64, defect: (f64, f64), reach: f64) -> f64 {
    let resolution = f64::EPSILON * reach;
    let thickness = (d as f64 * volume / total_area).max(resolution); // NaN too becomes `resolution`
    let cap = CLOSURE_TOLERANCE.sqrt();
    // the snapping term grows with δ while δ / t ≤ cap and vanishes beyond: its largest value over the range
    let snapping = if defect.0 / thickness <= cap {
        DEFECT_FACTOR * (defect.1 / thickness).min(cap)
    } else {
        0.0
    };
    CLOSURE_TOLERANCE + ROUNDING_ULPS * resolution / thickness + snapping
}

/// Relative error of the cells' volume sum accepted on any partition, however well conditioned: the invariant the
/// adversarial tests hold every result to (1e-8 let a box moved to 1e8 through with volumes off by 8e-9; issue 9).
pub const VOLUME_SUM_TOLERANCE: f64 = 1e-9;

/// The relative error |Σ_i vol_i − V| / V that the cells' volumes may carry in a box of volume V = `box_volume`
/// whose largest local coordinate is `reach`, with Σ_i S_i = `facet_area_sum` the facet areas of all cells (each
/// interior facet counted from both sides):
///
/// ρ_V = VOLUME_SUM_TOLERANCE + 64 ε · reach · Σ_i S_i / V.
///
/// Every vertex carries rounding up to 64 ε · reach (the rounding term of [`closure_allowance`]), and moving a
/// cell's boundary by δ changes its volume by at most δ · S_i to first order; the cells are measured separately,
/// so their errors add. For a cube of n cells Σ_i S_i / V ~ n^{1/d} / width and the term is ~1e-14; it matters
/// where the box is thin relative to its reach (aspect ratio 1e6: reach / thin width = 1e6, Σ_i S_i / V ≥ 2 /
/// thin width, so at least 2.8e-8), where the vertices of cells cut by oblique planes carry rounding of the long axis
/// in the thin one (fuzz_like seed 100, issue 9: exact mode's certified cells of [0, 1.024e-5] × [0, 9.8e-12]
/// added up to 1.2e-9 off).
pub fn volume_sum_allowance(box_volume: f64, facet_area_sum: f64, reach: f64) -> f64 {
    VOLUME_SUM_TOLERANCE + ROUNDING_ULPS * f64::EPSILON * reach * facet_area_sum / box_volume
}

/// A face found during the recursion: its vertices and the planes that cut it out of its parent face.
struct Face {
    vertices: VertexSet,
    cutting_planes: Planes,
}

/// (k−1)-faces found inside a k-face, reported as (vertices, planes through them, volume).
type SubfaceSink = Vec<(VertexSet, Planes, f64)>;

/// Measures of the faces met so far in one cell, by vertex set. Keys are bit sets, so the Fx hash (one
/// multiply per word) replaces SipHash, which cost ~6 % of a 4-D measure; no key comes from outside input.
type FaceMemo = FxHashMap<VertexSet, (f64, Vector)>;

/// Per-thread buffers that one cell's measure borrows and hands back cleared, so that consecutive cells reuse
/// their capacity instead of allocating and growing them again (malloc/free took ~10 % of a measure).
#[derive(Default)]
struct Scratch {
    memo: FaceMemo,
    /// (plane id, vertex) incidence pairs of the cell, sorted by plane.
    pairs: Vec<(u32, usize)>,
}

/// Largest face memo kept for the next cell (a 4-D cell of an arrangement has ~100 faces of dimension ≥ 2).
const MEMO_KEPT: usize = 1024;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

struct CellContext<'a> {
    poly: &'a Polytope,
    planes: &'a PlaneTable,
    /// (plane id, vertices on it) for every plane through some vertex.
    plane_sets: Vec<(u32, VertexSet)>,
    /// Measures of the faces met so far, by vertex set.
    memo: RefCell<FaceMemo>,
}

impl CellContext<'_> {
    /// The (k−1)-faces of the k-face with vertex set `face`.
    fn subfaces(&self, face: &VertexSet, k: usize) -> SmallVec<[Face; 12]> {
        let mut cuts: SmallVec<[(VertexSet, u32); 32]> = self
            .plane_sets
            .iter()
            .filter_map(|(q, on_q)| {
                let t = face.intersection(on_q);
                (t.len() >= k && t != *face).then_some((t, *q))
            })
            .collect();
        cuts.sort_unstable();
        let mut faces: SmallVec<[Face; 12]> = SmallVec::new();
        for (t, q) in cuts {
            match faces.last_mut() {
                Some(f) if f.vertices == t => f.cutting_planes.push(q),
                _ => faces.push(Face {
                    vertices: t,
                    cutting_planes: smallvec::smallvec![q],
                }),
            }
        }
        let maximal: SmallVec<[bool; 12]> = (0..faces.len())
            .map(|i| {
                !faces
                    .iter()
                    .enumerate()
                    .any(|(j, g)| j != i && faces[i].vertices.is_subset(&g.vertices))
            })
            .collect();
        let mut keep = maximal.into_iter();
        faces.retain(|_| keep.next().expect("one flag per face"));
        faces
    }

    /// All planes that contain every vertex of `set`.
    fn planes_containing(&self, set: &VertexSet) -> Planes {
        self.plane_sets
            .iter()
            .filter(|(_, s)| set.is_subset(s))
            .map(|(q, _)| *q)
            .collect()
    }

    fn mean(&self, set: &VertexSet) -> Vector {
        let d = self.poly.dim;
        let mut c: Vector = smallvec::smallvec![0.0; d];
        let mut n = 0.0;
        for i in set.iter() {
            for (ck, vk) in c.iter_mut().zip(self.poly.vertex(i)) {
                *ck += vk;
            }
            n += 1.0;
        }
        c.iter_mut().for_each(|v| *v /= n);
        c
    }

    /// Picks the cutting plane of `sub` whose normal is best conditioned against the face's normal space
    /// `basis`; returns (new basis vector, distance from `r` to the subface within the face).
    /// `sub_mean` is the mean of the subface's vertices.
    fn height(&self, sub: &Face, basis: &[f64], r: &[f64], sub_mean: &[f64]) -> (Vector, f64) {
        let mut best: Option<(Vector, f64, u32)> = None;
        for &q in &sub.cutting_planes {
            let mut u: Vector = self.planes.normal(q).iter().copied().collect();
            for e in basis.chunks_exact(self.poly.dim) {
                let dot: f64 = u.iter().zip(e).map(|(a, b)| a * b).sum();
                u.iter_mut().zip(e).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = u.iter().map(|a| a * a).sum::<f64>().sqrt();
            if best.as_ref().is_none_or(|b| norm > b.1) {
                best = Some((u, norm, q));
            }
        }
        let (mut u, norm, q) = best.expect("a subface has a cutting plane");
        if norm < WELL_CONDITIONED {
            // Every plane through the subface is nearly parallel to the face (nearly coincident planes):
            // dividing a plane distance by `norm` would amplify its rounding by 1/norm, so measure the
            // height from the subface's own vertices instead (consistent with them, as a hull would be).
            if let Some(from_vertices) = self.height_from_vertices(sub, basis, r) {
                return from_vertices;
            }
            if norm.is_nan() || norm <= 0.0 {
                // A subface that float64 cannot resolve (exact mode's slivers: its vertices coincide in floats
                // and every cutting plane lies in the face's normal space): it adds nothing (was NaN, found by
                // fuzzing exact mode).
                return (u, 0.0);
            }
        }
        u.iter_mut().for_each(|a| *a /= norm);
        let h = self.offset_from(q, sub_mean, r).abs() / norm;
        (u, h)
    }

    /// The signed distance from `r` to plane `q` measured from the mean `on_mean` of vertices on it:
    /// n_q · (r − on_mean).
    /// Differences of nearby coordinates are exact in floats, so this keeps its relative accuracy in a box
    /// far from the origin, where n_q·r + b_q cancels catastrophically (issue 9: volumes of a box moved to
    /// 1e8 were off by 1e-8).
    fn offset_from(&self, q: u32, on_mean: &[f64], r: &[f64]) -> f64 {
        self.planes
            .normal(q)
            .iter()
            .zip(r.iter().zip(on_mean))
            .map(|(n, (a, b))| n * (a - b))
            .sum()
    }

    /// The unit normal of `sub` within its face (orthogonal to the face's normal space `basis` and to
    /// the subface's affine hull, spanned by its vertices) and the distance from `r` to that hull.
    fn height_from_vertices(&self, sub: &Face, basis: &[f64], r: &[f64]) -> Option<(Vector, f64)> {
        let d = self.poly.dim;
        let mut ids = sub.vertices.iter();
        let origin = self.poly.vertex(ids.next()?);
        let mut dirs: Vec<Vector> = ids
            .map(|i| self.poly.vertex(i).iter().zip(origin).map(|(a, b)| a - b).collect())
            .collect();
        // Orthonormal rows: the face's normal space, then the subface's directions (largest first).
        let mut frame: Vec<Vector> = basis.chunks_exact(d).map(|e| e.iter().copied().collect()).collect();
        let reject = |v: &mut Vector, frame: &[Vector]| {
            for _ in 0..2 {
                for e in frame {
                    let dot: f64 = v.iter().zip(e).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(e).for_each(|(a, b)| *a -= dot * b);
                }
            }
        };
        let sub_dim = d - frame.len() - 1;
        for _ in 0..sub_dim {
            dirs.iter_mut().for_each(|v| reject(v, &frame));
            let (at, len) = dirs
                .iter()
                .map(|v| v.iter().map(|a| a * a).sum::<f64>().sqrt())
                .enumerate()
                .fold((0, 0.0), |best, (k, len)| if len > best.1 { (k, len) } else { best });
            if len == 0.0 {
                return None;
            }
            let e: Vector = dirs.swap_remove(at).iter().map(|a| a / len).collect();
            frame.push(e);
        }
        // The frame's d − 1 rows leave one direction: the subface's normal within the face. It is taken from the
        // coordinate axis with the largest component along it (at least 1/√d), not from r − origin: rejecting r − origin
        // leaves only rounding noise when r lies on (or near) the subface's hull, and that noise, used as the basis
        // of the subface's own measure (memoized by vertex set, for every apex), gave wrong volumes (exact mode, a 4-D
        // box at 1e8 with a plane 1e-3 rad off a box face through its edge: volumes 1.1e-2 off, fuzz_like seed 100).
        let length = |v: &Vector| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let mut u = (0..d)
            .map(|k| {
                let mut e: Vector = smallvec::smallvec![0.0; d];
                e[k] = 1.0;
                reject(&mut e, &frame);
                e
            })
            .max_by(|a, b| length(a).total_cmp(&length(b)))?;
        let norm = length(&u);
        if norm.is_nan() || norm <= 0.0 {
            return None;
        }
        u.iter_mut().for_each(|a| *a /= norm);
        let h = r
            .iter()
            .zip(origin)
            .zip(&u)
            .map(|((a, b), n)| (a - b) * n)
            .sum::<f64>()
            .abs();
        Some((u, h))
    }

    /// (k-volume, centroid) of the k-face `face` whose normal space has the orthonormal basis
    /// `basis` (row-major, d − k rows) and vertex mean `mean` (which the parent face computed for its height
    /// already). When `ridges` is given, its (k−1)-faces are reported there.
    fn measure_face(
        &self,
        face: &VertexSet,
        mean: Vector,
        k: usize,
        basis: &mut Vec<f64>,
        mut ridges: Option<&mut SubfaceSink>,
    ) -> (f64, Vector) {
        if k == 0 {
            let v = face.iter().next().expect("a vertex");
            return (1.0, self.poly.vertex(v).iter().copied().collect());
        }
        if k == 1 && ridges.is_none() {
            // An edge: its two farthest vertices (near-degenerate input can leave a third one on it).
            let ends: SmallVec<[usize; 4]> = face.iter().collect();
            let dist = |i: usize, j: usize| {
                let (a, b) = (self.poly.vertex(i), self.poly.vertex(j));
                a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
            };
            let (mut len, mut pair) = (0.0, (ends[0], ends[ends.len() - 1]));
            for (n, &i) in ends.iter().enumerate() {
                for &j in &ends[n + 1..] {
                    if dist(i, j) > len {
                        (len, pair) = (dist(i, j), (i, j));
                    }
                }
            }
            let (a, b) = (self.poly.vertex(pair.0), self.poly.vertex(pair.1));
            return (len, a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect());
        }
        // Faces of dimension ≥ 2 are shared by several parent faces: measure each once.
        let memoize = ridges.is_none();
        if memoize && let Some(known) = self.memo.borrow().get(face) {
            return known.clone();
        }
        let r = mean;
        let mut volume = 0.0;
        let mut moment: Vector = smallvec::smallvec![0.0; r.len()];
        for sub in self.subfaces(face, k) {
            let sub_mean = self.mean(&sub.vertices);
            let (u, h) = self.height(&sub, basis, &r, &sub_mean);
            let depth = basis.len();
            basis.extend_from_slice(&u);
            let (sub_volume, sub_centroid) = self.measure_face(&sub.vertices, sub_mean, k - 1, basis, None);
            basis.truncate(depth);
            let pyramid = h * sub_volume / k as f64;
            volume += pyramid;
            for (m, (c, rr)) in moment.iter_mut().zip(sub_centroid.iter().zip(&r)) {
                *m += pyramid * (c + (rr - c) / (k as f64 + 1.0));
            }
            if let Some(out) = ridges.as_deref_mut() {
                let planes = self.planes_containing(&sub.vertices);
                out.push((sub.vertices, planes, sub_volume));
            }
        }
        let result = if volume > 0.0 {
            moment.iter_mut().for_each(|m| *m /= volume);
            (volume, moment)
        } else {
            (volume, r)
        };
        if memoize {
            self.memo.borrow_mut().insert(face.clone(), result.clone());
        }
        result
    }
}

/// Measures one cell: volume, centroid, facets and (if `with_ridges`) ridges with dihedral angles.
pub fn measure_cell(poly: &Polytope, planes: &PlaneTable, with_ridges: bool) -> CellGeometry {
    measure_oriented_cell(poly, planes, None, with_ridges)
}

/// [`measure_cell`] for a cell with the given pattern: the outward side of every facet is read from the
/// pattern (box faces: outward normals; a hyperplane: the cell lies on its positive side iff its bit says so)
/// instead of from the sign of a height, which rounding decides at random for a cell thinner than float64
/// resolves (exact mode's slivers; their dihedral angles came out as π − θ).
pub fn measure_oriented_cell(
    poly: &Polytope,
    planes: &PlaneTable,
    pattern: Option<&[u64]>,
    with_ridges: bool,
) -> CellGeometry {
    // Taken, not borrowed: a panic inside leaves the thread fresh buffers, never a borrowed cell.
    let Scratch { memo, mut pairs } = SCRATCH.with_borrow_mut(std::mem::take);
    let n = poly.n_vertices();
    pairs.extend((0..n).flat_map(|i| poly.incidence_of(i).iter().map(move |&q| (q, i))));
    pairs.sort_unstable();
    let mut plane_sets: Vec<(u32, VertexSet)> = Vec::new();
    for &(q, i) in &pairs {
        if plane_sets.last().is_none_or(|(p, _)| *p != q) {
            plane_sets.push((q, VertexSet::empty(n)));
        }
        plane_sets.last_mut().expect("just pushed").1.insert(i);
    }
    pairs.clear();
    let ctx = CellContext {
        poly,
        planes,
        plane_sets,
        memo: RefCell::new(memo),
    };
    let geometry = measure_in(&ctx, pattern, with_ridges);
    let mut memo = ctx.memo.into_inner();
    memo.clear();
    if memo.capacity() > MEMO_KEPT {
        // clearing costs its capacity: one huge cell must not slow every later small one
        memo = FaceMemo::default();
    }
    SCRATCH.with_borrow_mut(|s| *s = Scratch { memo, pairs });
    geometry
}

/// The body of [`measure_oriented_cell`] on a cell's prepared context.
fn measure_in(ctx: &CellContext<'_>, pattern: Option<&[u64]>, with_ridges: bool) -> CellGeometry {
    let (poly, planes) = (ctx.poly, ctx.planes);
    let d = poly.dim;
    let n = poly.n_vertices();
    let all = VertexSet::full(n);
    let r = poly.vertex_mean();

    let mut volume = 0.0;
    let mut moment: Vector = smallvec::smallvec![0.0; d];
    let mut facets = Vec::new();
    let mut facet_sets = Vec::new();
    let mut ridge_candidates: Vec<(usize, VertexSet, Planes, f64)> = Vec::new();
    let mut basis = Vec::with_capacity(d * d);
    let mut found = Vec::new();
    for (index, facet) in ctx.subfaces(&all, d).into_iter().enumerate() {
        let q = facet.cutting_planes[0];
        let facet_mean = ctx.mean(&facet.vertices);
        let signed = ctx.offset_from(q, &facet_mean, &r);
        let inside_positive = match (pattern, planes.bits(q).first()) {
            (Some(pattern), Some(&(j, flipped))) => crate::bits::pattern_bit(pattern, j as usize) != flipped,
            _ => signed > 0.0,
        };
        let sign = if inside_positive { -1.0 } else { 1.0 };
        let normal: Vector = planes.normal(q).iter().map(|v| sign * v).collect();
        basis.clear();
        basis.extend_from_slice(&normal);
        let want_ridges = with_ridges && d >= 2;
        let (area, facet_centroid) = ctx.measure_face(
            &facet.vertices,
            facet_mean,
            d - 1,
            &mut basis,
            want_ridges.then_some(&mut found),
        );
        let pyramid = signed.abs() * area / d as f64;
        volume += pyramid;
        for (m, (c, rr)) in moment.iter_mut().zip(facet_centroid.iter().zip(&r)) {
            *m += pyramid * (c + (rr - c) / (d as f64 + 1.0));
        }
        ridge_candidates.extend(found.drain(..).map(|(set, planes, vol)| (index, set, planes, vol)));
        facets.push(FacetPiece {
            planes: ctx.planes_containing(&facet.vertices),
            area,
            normal,
            centroid: facet_centroid,
        });
        facet_sets.push(facet.vertices);
    }
    let mut ridges = Vec::new();
    for (a, set, planes, vol) in ridge_candidates {
        let Some(b) = (0..facet_sets.len()).find(|&b| b != a && set.is_subset(&facet_sets[b])) else {
            continue;
        };
        if a < b {
            // θ = angle(−n_a, n_b) = 2 atan2(|n_a + n_b|, |n_b − n_a|) (Kahan): accurate also near 0 and π,
            // where arccos(−n_a·n_b) loses half the digits (planes at 1e-15 rad gave angle sums off by 4e-8).
            let (na, nb) = (&facets[a].normal, &facets[b].normal);
            let sum = na.iter().zip(nb).map(|(x, y)| (x + y).powi(2)).sum::<f64>().sqrt();
            let diff = na.iter().zip(nb).map(|(x, y)| (y - x).powi(2)).sum::<f64>().sqrt();
            ridges.push(RidgePiece {
                facets: (a, b),
                planes,
                angle: 2.0 * sum.atan2(diff),
                volume: vol,
            });
        }
    }
    let mut flux: Vector = smallvec::smallvec![0.0; d];
    for f in &facets {
        flux.iter_mut().zip(&f.normal).for_each(|(s, n)| *s += f.area * n);
    }
    let total_area: f64 = facets.iter().map(|f| f.area).sum();
    let closure_residual = flux.iter().map(|v| v * v).sum::<f64>().sqrt() / total_area.max(f64::MIN_POSITIVE);
    let incidence_defect = (0..n)
        .flat_map(|i| {
            let x = poly.vertex(i);
            poly.incidence_of(i).iter().map(move |&q| planes.distance(q, x).abs())
        })
        .fold(0.0, f64::max);
    let centroid: Vector = if volume > 0.0 {
        moment.iter().map(|m| m / volume).collect()
    } else {
        r.into_iter().collect()
    };
    CellGeometry {
        closure_residual,
        total_area,
        incidence_defect,
        volume,
        centroid,
        facets,
        ridges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_cube(d: usize) -> (Polytope, PlaneTable) {
        let lo = vec![0.0; d];
        let hi: Vec<f64> = (1..=d).map(|k| k as f64).collect();
        (Polytope::cuboid(&lo, &hi), PlaneTable::with_box(&lo, &hi))
    }

    #[test]
    fn boxes_have_the_right_measures() {
        for d in 1..=5 {
            let (p, a) = unit_cube(d);
            let g = measure_cell(&p, &a, true);
            let factorial: f64 = (1..=d).map(|k| k as f64).product();
            assert!((g.volume - factorial).abs() < 1e-12, "d={d}: {}", g.volume);
            assert_eq!(g.facets.len(), 2 * d);
            for f in &g.facets {
                let axis = f.normal.iter().position(|v| v.abs() == 1.0).unwrap();
                assert!((f.area - factorial / (axis + 1) as f64).abs() < 1e-12);
            }
            for (k, c) in g.centroid.iter().enumerate() {
                assert!((c - 0.5 * (k + 1) as f64).abs() < 1e-12);
            }
            let expected_ridges = if d >= 2 { 2 * d * (d - 1) } else { 0 };
            assert_eq!(g.ridges.len(), expected_ridges);
            for r in &g.ridges {
                assert!((r.angle - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn facets_on_nearly_parallel_planes_are_measured_from_their_vertices() {
        // Two planes crossing inside the cube at an angle of 1e-9 (and a third one): the ridge where they meet
        // is ill-conditioned to place (1e-7), but the cells' volumes are not; measured from the vertices
        // they add up to the cube to rounding (they were off by 1.3e-9 with heights divided by the angle).
        let delta: f64 = 1e-9;
        let (s, co) = delta.sin_cos();
        let w = [1.0, 0.0, 0.0, co, s, 0.0, 0.0, 1.0, 1.0];
        let c = [-0.5, -0.5 * (co + s), -1.0];
        let p = crate::Partition::from_hyperplanes(&w, &c, &[0.0; 3], &[1.0; 3], Default::default()).unwrap();
        assert_eq!(p.n_cells, 8);
        let total: f64 = p.volumes.iter().sum();
        assert!((total - 1.0).abs() < 1e-14, "volumes add up to {total}");
        assert!(p.max_facet_area_mismatch < 1e-9, "{}", p.max_facet_area_mismatch);
    }

    /// The corner simplex {x ≥ 0, Σ x ≤ ℓ} of a cube with edge ℓ, with its vertex on the x axis moved by `shift`
    /// along it (still declared on the slanted plane: what a snapped decision leaves), measured.
    fn shifted_corner_simplex(edge: f64, shift: f64) -> CellGeometry {
        let lo = [0.0; 3];
        let mut planes = PlaneTable::with_box(&lo, &[edge; 3]);
        let r = 1.0 / 3f64.sqrt();
        let p = planes.push(&[r, r, r], -r * edge, &[(0, false)]);
        let cube = Polytope::cuboid(&lo, &[edge; 3]);
        let d = cube.distances(planes.normal(p), planes.offset(p));
        let (mut tet, _) = cube.split(p, &d, 1e-15 * edge);
        let on_axis = (0..tet.n_vertices()).find(|&i| tet.vertex(i)[0] > 0.5 * edge).unwrap();
        tet.coords[3 * on_axis] += shift;
        measure_cell(&tet, &planes, false)
    }

    #[test]
    fn closure_allowance_of_a_regular_cell_is_the_floor() {
        let (cube, planes) = unit_cube(3);
        let g = measure_cell(&cube, &planes, false);
        assert_eq!((g.closure_residual, g.incidence_defect), (0.0, 0.0));
        let allowed = g.closure_allowance(3.0);
        assert!(
            (CLOSURE_TOLERANCE..1.01 * CLOSURE_TOLERANCE).contains(&allowed),
            "{allowed}"
        );
    }

    #[test]
    fn a_snapped_vertex_is_allowed_its_first_order_effect_only() {
        // Edge 1e-3, vertex 3e-10 off a facet plane (a snap within the tolerance of the box [-1, 1]^3): the facets
        // close only to ~1e-7 (the fixed bound refused this, issue 9), inside the allowance 4 δ / t.
        let g = shifted_corner_simplex(1e-3, 3e-10);
        assert!(g.closure_residual > 5e-8, "{}", g.closure_residual);
        // Off the box face x = ℓ (which it only touches) by 3e-10, off the slanted facet by 3e-10 / √3.
        assert!((g.incidence_defect - 3e-10).abs() < 1e-15, "{}", g.incidence_defect);
        assert!(
            g.closure_residual < g.closure_allowance(1.0),
            "{} {}",
            g.closure_residual,
            g.closure_allowance(1.0)
        );
        // Rounding only (the same cell, exact): the floor.
        let exact = shifted_corner_simplex(1e-3, 0.0);
        assert!(exact.closure_residual < 1e-12 && exact.closure_allowance(1.0) < 1.01 * CLOSURE_TOLERANCE);
        // A vertex moved by 1e-3 of the cell is no first-order perturbation: the allowance falls back to rounding
        // and the residual (~1e-3) exceeds it.
        let deformed = shifted_corner_simplex(1e-3, 1e-6);
        assert!(deformed.closure_residual > 1e-4, "{}", deformed.closure_residual);
        assert!(deformed.closure_residual > deformed.closure_allowance(1.0));
    }

    #[test]
    fn closure_allowance_over_a_defect_range_is_its_largest_value() {
        // A slab of thickness t = 2 · 1e-3 · 1 / (2 · 1) = 1e-3 (d = 2, unit length): the snapping term 4 δ / t grows
        // up to δ / t = √CLOSURE_TOLERANCE and vanishes beyond it.
        let (d, volume, area, reach) = (2, 1e-3, 2.0, 1.0);
        let floor = closure_allowance(d, volume, area, (0.0, 0.0), reach);
        let at = |delta: f64| closure_allowance(d, volume, area, (delta, delta), reach);
        assert!((at(1e-8) - floor - 4e-5).abs() < 1e-12, "{}", at(1e-8) - floor);
        let cap = CLOSURE_TOLERANCE.sqrt() * 1e-3;
        assert_eq!(at(2.0 * cap), floor);
        // Over [δ_low, δ_high]: the largest value, reached at δ_high or at the cap; none if δ_low is beyond it.
        assert_eq!(closure_allowance(d, volume, area, (1e-9, 1e-8), reach), at(1e-8));
        assert_eq!(closure_allowance(d, volume, area, (1e-9, 2.0 * cap), reach), at(cap));
        assert_eq!(closure_allowance(d, volume, area, (2.0 * cap, 3.0 * cap), reach), floor);
    }

    #[test]
    fn volume_sum_allowance_grows_with_the_aspect_ratio_only() {
        // One cell, the box itself: Σ S / V = 4 for the unit square, ≈ 2e6 for [0, 1] x [0, 1e-6].
        let square = volume_sum_allowance(1.0, 4.0, 1.0);
        assert!(
            (square - VOLUME_SUM_TOLERANCE - 256.0 * f64::EPSILON).abs() < 1e-20,
            "{square}"
        );
        let slab = volume_sum_allowance(1e-6, 2.0 + 2e-6, 1.0);
        assert!((2.8e-8..2.9e-8).contains(&(slab - VOLUME_SUM_TOLERANCE)), "{slab}");
        // scaling the whole box changes nothing
        let scaled = volume_sum_allowance(1e-6 * 1e-16, (2.0 + 2e-6) * 1e-8, 1e-8);
        assert!((scaled - slab).abs() < 1e-20, "{scaled} {slab}");
    }

    #[test]
    fn simplex_corner_of_the_cube() {
        let (cube, mut planes) = unit_cube(3);
        let r = 1.0 / 3f64.sqrt();
        let p = planes.push(&[r, r, r], -r, &[(0, false)]);
        let d = cube.distances(planes.normal(p), planes.offset(p));
        let (tet, _) = cube.split(p, &d, 1e-12);
        let g = measure_cell(&tet, &planes, true);
        assert!((g.volume - 1.0 / 6.0).abs() < 1e-14);
        assert_eq!((g.facets.len(), g.ridges.len()), (4, 6));
        let slanted = g.facets.iter().find(|f| f.planes.as_slice() == [6]).unwrap();
        assert!((slanted.area - 3f64.sqrt() / 2.0).abs() < 1e-14);
        for c in &g.centroid {
            assert!((c - 0.25).abs() < 1e-14);
        }
    }
}
