//! Convex polytopes in vertex representation with incidence sets, and the double-description split
//! by one hyperplane (Fukuda & Prodon 1996).
//!
//! Every vertex carries its *incidence set*: the ids of all planes (box faces and hyperplane classes)
//! that pass through it and are valid for the polytope (the polytope lies on one side). Two vertices
//! u, v span an edge iff no third vertex's incidence set contains I(u) ∩ I(v) (the combinatorial
//! adjacency test; it holds for any valid set of inequalities, redundant ones included). A point strictly
//! inside the edge lies on exactly the planes of I(u) ∩ I(v), so new vertices get their incidence
//! without any floating-point test.

use std::sync::Arc;

use crate::exact::ExactPoint;

/// Which side of a plane a vertex lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Negative,
    On,
    Positive,
}

/// Exact mode's per-vertex data: a rigorous bound on the distance (‖·‖∞) from the float coordinates to the
/// true vertex, and the true vertex as a rational point once some predicate needed it.
#[derive(Clone, Debug, Default)]
pub struct Certificate {
    pub err: f64,
    pub point: Option<Arc<ExactPoint>>,
}

/// A full-dimensional convex polytope: vertex coordinates and sorted incidence sets.
#[derive(Clone, Debug, Default)]
pub struct Polytope {
    pub dim: usize,
    /// Row-major `n_vertices × dim`.
    pub coords: Vec<f64>,
    /// Incidence of vertex i is `incidence[inc_start[i]..inc_start[i + 1]]`, ascending plane ids.
    pub inc_start: Vec<u32>,
    pub incidence: Vec<u32>,
    /// One certificate per vertex in exact mode (see [`Self::certify`]); empty in float mode.
    pub certificates: Vec<Certificate>,
}

impl Polytope {
    /// The box [lo, hi] with plane ids 2k (x_k = lo_k) and 2k+1 (x_k = hi_k).
    pub fn cuboid(lo: &[f64], hi: &[f64]) -> Self {
        let dim = lo.len();
        let mut p = Self {
            dim,
            coords: Vec::with_capacity(dim << dim),
            inc_start: vec![0],
            incidence: Vec::with_capacity(dim << dim),
            certificates: Vec::new(),
        };
        for corner in 0..1usize << dim {
            for k in 0..dim {
                let upper = corner >> k & 1 == 1;
                p.coords.push(if upper { hi[k] } else { lo[k] });
                p.incidence.push((2 * k + usize::from(upper)) as u32);
            }
            p.inc_start.push(p.incidence.len() as u32);
        }
        p
    }

    /// Switches on exact mode's certificates: the box corners are exact (error 0).
    pub fn certify(&mut self) {
        self.certificates = vec![Certificate::default(); self.n_vertices()];
    }

    pub fn n_vertices(&self) -> usize {
        self.inc_start.len() - 1
    }

    #[inline]
    pub fn vertex(&self, i: usize) -> &[f64] {
        &self.coords[i * self.dim..(i + 1) * self.dim]
    }

    #[inline]
    pub fn incidence_of(&self, i: usize) -> &[u32] {
        &self.incidence[self.inc_start[i] as usize..self.inc_start[i + 1] as usize]
    }

    /// Mean of the vertices: a point in the interior of a full-dimensional polytope.
    pub fn vertex_mean(&self) -> Vec<f64> {
        let n = self.n_vertices() as f64;
        let mut c = vec![0.0; self.dim];
        for i in 0..self.n_vertices() {
            for (ck, vk) in c.iter_mut().zip(self.vertex(i)) {
                *ck += vk;
            }
        }
        c.iter_mut().for_each(|v| *v /= n);
        c
    }

    /// Signed distances of every vertex to the plane {n·x + b = 0}.
    pub fn distances(&self, normal: &[f64], offset: f64) -> Vec<f64> {
        let mut out = Vec::new();
        self.distances_into(normal, offset, &mut out);
        out
    }

    /// [`Self::distances`] into a reused buffer.
    pub fn distances_into(&self, normal: &[f64], offset: f64, out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            self.coords
                .chunks_exact(self.dim)
                .map(|x| x.iter().zip(normal).map(|(a, b)| a * b).sum::<f64>() + offset),
        );
    }

    /// Adds `plane` to the incidence sets of the vertices with `|distance| <= tol` (a supporting plane).
    pub fn mark_incident(&mut self, plane: u32, dist: &[f64], tol: f64) {
        if dist.iter().all(|d| d.abs() > tol) {
            return;
        }
        self.mark_on(plane, |i| dist[i].abs() <= tol);
    }

    /// Adds `plane` to the incidence sets of the vertices `on(i)` says lie on it (a supporting plane).
    pub fn mark_on(&mut self, plane: u32, on: impl Fn(usize) -> bool) {
        let mut builder = Builder::new(self.dim);
        for i in 0..self.n_vertices() {
            builder.push_vertex(self.vertex(i), self.incidence_of(i), on(i).then_some(plane));
            builder.push_certificate(self, i);
        }
        *self = builder.finish();
    }

    /// Splits by the plane with signed vertex distances `dist`, which must have vertices strictly on
    /// both sides. Returns (negative part, positive part); both get `plane` as a facet.
    pub fn split(&self, plane: u32, dist: &[f64], tol: f64) -> (Polytope, Polytope) {
        let sides: Vec<Side> = dist
            .iter()
            .map(|&v| {
                if v > tol {
                    Side::Positive
                } else if v < -tol {
                    Side::Negative
                } else {
                    Side::On
                }
            })
            .collect();
        self.split_by_sides(plane, dist, &sides, |_, _| Certificate::default())
    }

    /// Splits by `plane` given every vertex's side (decided by the caller's predicate) and its signed value
    /// `dist` (used only to place the new vertices on the cut edges). `new_vertex` may move a new vertex
    /// (given its incidence set) and returns its certificate (exact mode; ignored in float mode).
    pub fn split_by_sides(
        &self,
        plane: u32,
        dist: &[f64],
        sides: &[Side],
        mut new_vertex: impl FnMut(&mut [f64], &[u32]) -> Certificate,
    ) -> (Polytope, Polytope) {
        let n = self.n_vertices();
        let mut neg = Builder::new(self.dim);
        let mut pos = Builder::new(self.dim);
        for i in 0..n {
            match sides[i] {
                Side::Negative => neg.push_vertex(self.vertex(i), self.incidence_of(i), None),
                Side::Positive => pos.push_vertex(self.vertex(i), self.incidence_of(i), None),
                Side::On => {
                    neg.push_vertex(self.vertex(i), self.incidence_of(i), Some(plane));
                    pos.push_vertex(self.vertex(i), self.incidence_of(i), Some(plane));
                }
            }
            if sides[i] != Side::Positive {
                neg.push_certificate(self, i);
            }
            if sides[i] != Side::Negative {
                pos.push_certificate(self, i);
            }
        }
        let negatives: Vec<usize> = (0..n).filter(|&i| sides[i] == Side::Negative).collect();
        let positives: Vec<usize> = (0..n).filter(|&i| sides[i] == Side::Positive).collect();
        let mut common: Vec<u32> = Vec::new();
        let mut point = vec![0.0; self.dim];
        let mut incidence: Vec<u32> = Vec::new();
        for &u in &negatives {
            for &v in &positives {
                intersect_sorted(self.incidence_of(u), self.incidence_of(v), &mut common);
                if common.len() + 1 < self.dim || !self.is_edge(u, v, &common) {
                    continue;
                }
                let t = dist[u] / (dist[u] - dist[v]);
                let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
                for (k, x) in point.iter_mut().enumerate() {
                    let (a, b) = (self.vertex(u)[k], self.vertex(v)[k]);
                    *x = a + t * (b - a);
                }
                if !self.certificates.is_empty() {
                    incidence.clear();
                    incidence.extend_from_slice(&common);
                    let at = incidence.partition_point(|&q| q < plane);
                    incidence.insert(at, plane);
                    let certificate = new_vertex(&mut point, &incidence);
                    neg.poly.certificates.push(certificate.clone());
                    pos.poly.certificates.push(certificate);
                }
                neg.push_vertex(&point, &common, Some(plane));
                pos.push_vertex(&point, &common, Some(plane));
            }
        }
        (neg.finish(), pos.finish())
    }

    /// Combinatorial adjacency test: `common` = I(u) ∩ I(v) is contained in no other vertex's set.
    fn is_edge(&self, u: usize, v: usize, common: &[u32]) -> bool {
        (0..self.n_vertices()).all(|w| w == u || w == v || !is_subset_sorted(common, self.incidence_of(w)))
    }
}

/// Assembles a polytope vertex by vertex.
struct Builder {
    poly: Polytope,
}

impl Builder {
    fn new(dim: usize) -> Self {
        Self {
            poly: Polytope {
                dim,
                coords: Vec::new(),
                inc_start: vec![0],
                incidence: Vec::new(),
                certificates: Vec::new(),
            },
        }
    }

    /// Copies vertex `i`'s certificate from `src` (exact mode only).
    fn push_certificate(&mut self, src: &Polytope, i: usize) {
        if let Some(c) = src.certificates.get(i) {
            self.poly.certificates.push(c.clone());
        }
    }

    /// Appends a vertex whose incidence is `inc` (sorted) plus the optional `extra` plane.
    fn push_vertex(&mut self, x: &[f64], inc: &[u32], extra: Option<u32>) {
        let p = &mut self.poly;
        p.coords.extend_from_slice(x);
        match extra {
            None => p.incidence.extend_from_slice(inc),
            Some(e) => {
                let at = inc.partition_point(|&q| q < e);
                p.incidence.extend_from_slice(&inc[..at]);
                if inc.get(at) != Some(&e) {
                    p.incidence.push(e);
                }
                p.incidence.extend_from_slice(&inc[at..]);
            }
        }
        p.inc_start.push(p.incidence.len() as u32);
    }

    fn finish(self) -> Polytope {
        self.poly
    }
}

/// `out` = a ∩ b for ascending slices.
fn intersect_sorted(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// a ⊆ b for ascending slices.
fn is_subset_sorted(a: &[u32], b: &[u32]) -> bool {
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j == b.len() || b[j] != x {
            return false;
        }
        j += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_square_diagonally() {
        let sq = Polytope::cuboid(&[0.0, 0.0], &[1.0, 1.0]);
        assert_eq!(sq.n_vertices(), 4);
        // x + y - 1 = 0 passes through two corners: a triangle on each side.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let d = sq.distances(&[s, s], -s);
        let (a, b) = sq.split(9, &d, 1e-12);
        assert_eq!((a.n_vertices(), b.n_vertices()), (3, 3));
        // x = 0.25 cuts two edges: quadrilaterals.
        let d = sq.distances(&[1.0, 0.0], -0.25);
        let (a, b) = sq.split(9, &d, 1e-12);
        assert_eq!((a.n_vertices(), b.n_vertices()), (4, 4));
        assert!((0..4).all(|i| a.vertex(i)[0] <= 0.25 + 1e-15));
    }

    #[test]
    fn split_cube_through_a_corner() {
        let cube = Polytope::cuboid(&[0.0; 3], &[1.0; 3]);
        // x + y + z = 1: a tetrahedron (4 vertices) and the rest (7 vertices).
        let r = 1.0 / 3f64.sqrt();
        let d = cube.distances(&[r, r, r], -r);
        let (a, b) = cube.split(6, &d, 1e-12);
        assert_eq!(a.n_vertices(), 4);
        assert_eq!(b.n_vertices(), 7);
    }

    #[test]
    fn sorted_set_helpers() {
        let mut out = Vec::new();
        intersect_sorted(&[1, 3, 5, 7], &[3, 4, 5], &mut out);
        assert_eq!(out, vec![3, 5]);
        assert!(is_subset_sorted(&[3, 5], &[1, 3, 5]));
        assert!(!is_subset_sorted(&[2], &[1, 3]));
        assert!(is_subset_sorted(&[], &[1]));
    }
}
