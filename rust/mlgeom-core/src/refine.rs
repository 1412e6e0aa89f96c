//! Binary-space-partition refinement of the box (DESIGN §4).
//!
//! A cell carries the list of hyperplane classes that still cross it (its conflict list). On creation
//! it tests that list against its own vertices: classes that miss it fix their bits of the cell's
//! pattern (and mark the vertices they touch); the first class that crosses splits it by the
//! double-description step, and both halves recurse with the remaining crossing classes. Inserting the
//! classes in a random (fixed-seed) order keeps the expected work near the size of the arrangement
//! (randomised incremental construction). Independent subtrees run in parallel with `rayon::join`;
//! every subtree's result is laid out in preorder, so the output does not depend on the thread count.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arrangement::Arrangement;
use crate::bits::{set_pattern_bit, words_for};
use crate::error::{GeomError, Result};
use crate::measure::measure_cell;
use crate::polytope::Polytope;

/// Approximate memory per cell of a 3-D partition (used in error messages and estimates).
pub const BYTES_PER_CELL_ESTIMATE: usize = 600;

/// Subtrees with at most this many classes left run sequentially.
const PARALLEL_MIN_PENDING: usize = 4;
/// Spawn parallel tasks only near the root.
const PARALLEL_MAX_DEPTH: usize = 16;

/// Knobs of one refinement.
#[derive(Clone, Copy, Debug)]
pub struct RefineOptions<'a> {
    pub max_cells: usize,
    pub ridges: bool,
    /// Set from another thread to stop early with `GeomError::Interrupted`.
    pub cancel: Option<&'a AtomicBool>,
    /// Incremented once per finished cell (for progress bars).
    pub progress: Option<&'a AtomicUsize>,
}

impl Default for RefineOptions<'_> {
    fn default() -> Self {
        Self {
            max_cells: 10_000_000,
            ridges: true,
            cancel: None,
            progress: None,
        }
    }
}

/// A node of the refinement tree in preorder: a split by a class (its negative subtree follows
/// immediately, the positive one after `neg_len` nodes) or a leaf (a cell, by leaf ordinal).
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub class: u32,
    pub value: u32,
}

impl Node {
    pub const LEAF: u32 = u32::MAX;
    pub fn is_leaf(&self) -> bool {
        self.class == Self::LEAF
    }
}

/// Per-cell results in leaf order, stored flat (CSR for the variable-length parts).
#[derive(Clone, Debug, Default)]
pub struct CellBuffer {
    pub patterns: Vec<u64>,
    pub volumes: Vec<f64>,
    pub centroids: Vec<f64>,
    pub interior_points: Vec<f64>,
    pub vertex_start: Vec<usize>,
    pub vertices: Vec<f64>,
    /// Facets of cell i: `facet_start[i]..facet_start[i + 1]`.
    pub facet_start: Vec<usize>,
    pub facet_areas: Vec<f64>,
    pub facet_normals: Vec<f64>,
    /// Planes containing facet f: `facet_planes[facet_plane_start[f]..facet_plane_start[f + 1]]`.
    pub facet_plane_start: Vec<usize>,
    pub facet_planes: Vec<u32>,
    /// Ridges of cell i: `ridge_start[i]..ridge_start[i + 1]`, facets as cell-local indices.
    pub ridge_start: Vec<usize>,
    pub ridge_facets: Vec<[u32; 2]>,
    pub ridge_angles: Vec<f64>,
    pub ridge_volumes: Vec<f64>,
    /// 128-bit key of the global (d−2)-face: the cell pattern with the bits of the classes through
    /// the ridge cleared, and the list of planes through it.
    pub ridge_keys: Vec<u128>,
}

impl CellBuffer {
    fn new() -> Self {
        Self {
            vertex_start: vec![0],
            facet_start: vec![0],
            facet_plane_start: vec![0],
            ridge_start: vec![0],
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.volumes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty()
    }

    fn append(&mut self, other: CellBuffer) {
        fn shift(dst: &mut Vec<usize>, src: &[usize]) {
            let base = *dst.last().expect("starts with 0");
            dst.extend(src[1..].iter().map(|v| v + base));
        }
        shift(&mut self.vertex_start, &other.vertex_start);
        shift(&mut self.facet_start, &other.facet_start);
        shift(&mut self.facet_plane_start, &other.facet_plane_start);
        shift(&mut self.ridge_start, &other.ridge_start);
        self.patterns.extend(other.patterns);
        self.volumes.extend(other.volumes);
        self.centroids.extend(other.centroids);
        self.interior_points.extend(other.interior_points);
        self.vertices.extend(other.vertices);
        self.facet_areas.extend(other.facet_areas);
        self.facet_normals.extend(other.facet_normals);
        self.facet_planes.extend(other.facet_planes);
        self.ridge_facets.extend(other.ridge_facets);
        self.ridge_angles.extend(other.ridge_angles);
        self.ridge_volumes.extend(other.ridge_volumes);
        self.ridge_keys.extend(other.ridge_keys);
    }
}

/// The cells of a subtree and its part of the refinement tree.
#[derive(Debug, Default)]
pub struct Refinement {
    pub cells: CellBuffer,
    pub nodes: Vec<Node>,
}

impl Refinement {
    fn new() -> Self {
        Self {
            cells: CellBuffer::new(),
            nodes: Vec::new(),
        }
    }

    /// Appends a subtree refined elsewhere, renumbering its leaves.
    fn append(&mut self, other: Refinement) {
        let base = self.cells.len() as u32;
        self.nodes.extend(other.nodes.into_iter().map(|n| {
            if n.is_leaf() {
                Node {
                    class: n.class,
                    value: n.value + base,
                }
            } else {
                n
            }
        }));
        self.cells.append(other.cells);
    }
}

struct Context<'a> {
    arr: &'a Arrangement,
    opts: RefineOptions<'a>,
    words: usize,
    n_cells: AtomicUsize,
    stop: AtomicBool,
    too_many: AtomicBool,
}

impl Context<'_> {
    fn stopped(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Sets the pattern bits of every member of class `g` for a cell on side `positive`.
    fn set_class_bits(&self, pattern: &mut [u64], g: usize, positive: bool) {
        let class = &self.arr.classes[g];
        for (&j, &flipped) in class.members.iter().zip(&class.flipped) {
            set_pattern_bit(pattern, j, positive != flipped);
        }
    }

    /// Refines `poly` by the classes in `pending`. Subtrees near the root run in parallel and come
    /// back as a list of chunks in preorder (concatenated once at the end, never copied per level).
    fn refine(
        &self,
        poly: Polytope,
        pending: &[u32],
        pattern: Vec<u64>,
        depth: usize,
    ) -> Vec<Refinement> {
        let mut out = Refinement::new();
        let Some((g, neg, pos, rest, neg_pattern, pos_pattern)) =
            self.split_or_leaf(poly, pending, pattern, &mut out)
        else {
            return vec![out];
        };
        out.nodes.push(Node { class: g, value: 0 });
        if depth < PARALLEL_MAX_DEPTH && rest.len() >= PARALLEL_MIN_PENDING {
            let (a, b) = rayon::join(
                || self.refine(neg, &rest, neg_pattern, depth + 1),
                || self.refine(pos, &rest, pos_pattern, depth + 1),
            );
            out.nodes[0].value = a.iter().map(|r| r.nodes.len()).sum::<usize>() as u32;
            let mut chunks = Vec::with_capacity(1 + a.len() + b.len());
            chunks.push(out);
            chunks.extend(a);
            chunks.extend(b);
            chunks
        } else {
            self.refine_sequential(neg, &rest, neg_pattern, &mut out);
            out.nodes[0].value = (out.nodes.len() - 1) as u32;
            self.refine_sequential(pos, &rest, pos_pattern, &mut out);
            vec![out]
        }
    }

    /// Depth-first refinement appending to `out`.
    fn refine_sequential(
        &self,
        poly: Polytope,
        pending: &[u32],
        pattern: Vec<u64>,
        out: &mut Refinement,
    ) {
        let Some((g, neg, pos, rest, neg_pattern, pos_pattern)) =
            self.split_or_leaf(poly, pending, pattern, out)
        else {
            return;
        };
        let at = out.nodes.len();
        out.nodes.push(Node { class: g, value: 0 });
        self.refine_sequential(neg, &rest, neg_pattern, out);
        out.nodes[at].value = (out.nodes.len() - at - 1) as u32;
        self.refine_sequential(pos, &rest, pos_pattern, out);
    }

    /// Tests the pending classes against `poly`. Classes that miss it fix their pattern bits; if none
    /// crosses, the cell is a leaf (emitted into `out`) and `None` is returned. Otherwise the first
    /// crossing class splits it: (class, negative part, positive part, remaining crossing classes,
    /// and the two patterns).
    #[allow(clippy::type_complexity)]
    fn split_or_leaf(
        &self,
        mut poly: Polytope,
        pending: &[u32],
        mut pattern: Vec<u64>,
        out: &mut Refinement,
    ) -> Option<(u32, Polytope, Polytope, Vec<u32>, Vec<u64>, Vec<u64>)> {
        if self.stopped() {
            return None;
        }
        let tol = self.arr.tol;
        let mut crossing: Vec<u32> = Vec::with_capacity(pending.len());
        let mut first_dist: Option<Vec<f64>> = None;
        let mut dist = Vec::with_capacity(poly.n_vertices());
        for &g in pending {
            let plane = self.arr.class_plane(g as usize);
            poly.distances_into(self.arr.normal(plane), self.arr.offsets[plane], &mut dist);
            let above = dist.iter().any(|&v| v > tol);
            let below = dist.iter().any(|&v| v < -tol);
            if above && below {
                if first_dist.is_none() {
                    first_dist = Some(dist.clone());
                }
                crossing.push(g);
            } else {
                self.set_class_bits(&mut pattern, g as usize, above);
                poly.mark_incident(plane as u32, &dist, tol);
            }
        }
        let Some(dist) = first_dist else {
            self.emit_leaf(&poly, &pattern, out);
            return None;
        };
        let g = crossing.remove(0);
        let (neg, pos) = poly.split(self.arr.class_plane(g as usize) as u32, &dist, tol);
        let mut neg_pattern = pattern.clone();
        self.set_class_bits(&mut neg_pattern, g as usize, false);
        let mut pos_pattern = pattern;
        self.set_class_bits(&mut pos_pattern, g as usize, true);
        Some((g, neg, pos, crossing, neg_pattern, pos_pattern))
    }

    fn emit_leaf(&self, poly: &Polytope, pattern: &[u64], out: &mut Refinement) {
        let count = self.n_cells.fetch_add(1, Ordering::Relaxed) + 1;
        if count > self.opts.max_cells {
            self.too_many.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
            return;
        }
        let geometry = measure_cell(poly, self.arr, self.opts.ridges);
        let cells = &mut out.cells;
        out.nodes.push(Node {
            class: Node::LEAF,
            value: cells.len() as u32,
        });
        cells.patterns.extend_from_slice(pattern);
        cells.volumes.push(geometry.volume);
        cells.centroids.extend_from_slice(&geometry.centroid);
        cells.interior_points.extend(poly.vertex_mean());
        cells.vertices.extend_from_slice(&poly.coords);
        cells.vertex_start.push(cells.vertices.len() / poly.dim);
        for f in &geometry.facets {
            cells.facet_areas.push(f.area);
            cells.facet_normals.extend_from_slice(&f.normal);
            cells.facet_planes.extend_from_slice(&f.planes);
            cells.facet_plane_start.push(cells.facet_planes.len());
        }
        cells.facet_start.push(cells.facet_areas.len());
        for r in &geometry.ridges {
            cells
                .ridge_facets
                .push([r.facets.0 as u32, r.facets.1 as u32]);
            cells.ridge_angles.push(r.angle);
            cells.ridge_volumes.push(r.volume);
            cells.ridge_keys.push(self.face_key(pattern, &r.planes));
        }
        cells.ridge_start.push(cells.ridge_angles.len());
        if let Some(p) = self.opts.progress {
            p.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Identifies a face of the arrangement: all cells around it agree on every class not through it.
    fn face_key(&self, pattern: &[u64], planes: &[u32]) -> u128 {
        let mut masked: smallvec::SmallVec<[u64; 8]> = pattern.iter().copied().collect();
        let first_class = 2 * self.arr.dim as u32;
        for &p in planes.iter().filter(|&&p| p >= first_class) {
            for &j in &self.arr.classes[(p - first_class) as usize].members {
                set_pattern_bit(&mut masked, j, false);
            }
        }
        let half = |seed: u64| {
            let words = masked
                .iter()
                .copied()
                .chain([u64::MAX])
                .chain(planes.iter().map(|&p| u64::from(p)));
            words.fold(seed, |h, w| splitmix(h ^ splitmix(w.wrapping_add(seed))))
        };
        (u128::from(half(0x243F_6A88_85A3_08D3)) << 64) | u128::from(half(0x1319_8A2E_0370_7344))
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fixed-seed permutation of 0..n (SplitMix64 + Fisher–Yates).
fn insertion_order(n: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        order.swap(i, (splitmix(i as u64) % (i as u64 + 1)) as usize);
    }
    order
}

/// Refines the box by every class of the arrangement (on the current rayon pool).
pub fn refine(arr: &Arrangement, opts: RefineOptions<'_>) -> Result<Refinement> {
    let words = words_for(arr.n_hyperplanes);
    let ctx = Context {
        arr,
        opts,
        words,
        n_cells: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        too_many: AtomicBool::new(false),
    };
    let mut pattern = vec![0u64; ctx.words];
    for &(j, bit) in &arr.constant_bits {
        set_pattern_bit(&mut pattern, j, bit);
    }
    let root = Polytope::cuboid(&arr.lo, &arr.hi);
    let order = insertion_order(arr.classes.len());
    let chunks = ctx.refine(root, &order, pattern, 0);
    if ctx.too_many.load(Ordering::Relaxed) {
        return Err(GeomError::TooManyCells {
            limit: opts.max_cells,
            suggested: opts.max_cells.saturating_mul(4).min(arr.max_cells_bound()),
            bytes_per_cell: BYTES_PER_CELL_ESTIMATE,
        });
    }
    if ctx.stop.load(Ordering::Relaxed) {
        return Err(GeomError::Interrupted);
    }
    let mut out = Refinement::new();
    out.nodes
        .reserve_exact(chunks.iter().map(|c| c.nodes.len()).sum());
    for chunk in chunks {
        out.append(chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_order_is_a_permutation() {
        let mut o = insertion_order(100);
        o.sort_unstable();
        assert_eq!(o, (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn two_lines_make_four_cells() {
        let a = Arrangement::new(
            &[1.0, 0.0, 0.0, 1.0],
            &[-0.3, -0.6],
            &[0.0, 0.0],
            &[1.0, 1.0],
        )
        .unwrap();
        let r = refine(&a, RefineOptions::default()).unwrap();
        assert_eq!(r.cells.len(), 4);
        assert_eq!(r.nodes.len(), 7);
        let total: f64 = r.cells.volumes.iter().sum();
        assert!((total - 1.0).abs() < 1e-14);
    }
}
