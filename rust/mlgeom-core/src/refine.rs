//! Binary-space-partition refinement of the box (DESIGN §4).
//!
//! A cell carries the list of planes that may still cross it (its conflict list). On creation it
//! tests that list against its own vertices: planes that miss it fix their bits of the cell's pattern
//! (and mark the vertices they touch); the first plane that crosses splits it by the double-description
//! step, and both halves recurse with the remaining crossing planes. When a cell's list is empty the
//! model may open a next stage inside it (the next layer of a ReLU network, whose planes depend on the
//! cell). Planes are inserted in a random (fixed-seed) order, which keeps the expected work near the
//! size of the arrangement (randomised incremental construction). Independent subtrees run in parallel
//! with `rayon::join` and come back as chunks in preorder, so the output does not depend on the
//! thread count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::bits::{set_pattern_bit, words_for};
use crate::error::{GeomError, Result};
use crate::gather;
use crate::measure::measure_oriented_cell;
use crate::model::Model;
use crate::planes::PlaneTable;
use crate::polytope::{Polytope, Side};
use crate::predicates::Predicates;

/// Approximate memory per cell of a 3-D partition (used in error messages).
pub const BYTES_PER_CELL_ESTIMATE: usize = 600;

/// Subtrees with fewer pending planes than this run sequentially.
const PARALLEL_MIN_PENDING: usize = 4;
/// Near the root every split runs its halves in parallel (later stages may hide much work)...
const PARALLEL_ALWAYS_DEPTH: usize = 12;
/// ... and below, only where enough planes are pending.
const PARALLEL_MAX_DEPTH: usize = 16;

/// Knobs of one refinement.
#[derive(Clone, Copy, Debug)]
pub struct RefineOptions<'a> {
    pub max_cells: usize,
    pub ridges: bool,
    /// Keep every cell's vertices (with global vertex ids); skip to save memory on huge partitions.
    pub vertices: bool,
    /// Set from another thread to stop early with `GeomError::Interrupted`.
    pub cancel: Option<&'a AtomicBool>,
    /// Incremented once per finished cell (for progress bars).
    pub progress: Option<&'a AtomicUsize>,
    /// Refine only the shard where each listed pattern bit `(j, value)` has that value: an
    /// independent subtree of the refinement, so shards of one model hold disjoint cells that
    /// together make the partition. The bits must be decided by the model's first stage (hyperplanes
    /// of an arrangement, first-layer neurons of a network).
    pub shard: Option<&'a [(usize, bool)]>,
}

impl Default for RefineOptions<'_> {
    fn default() -> Self {
        Self {
            max_cells: 10_000_000,
            ridges: true,
            vertices: true,
            cancel: None,
            progress: None,
            shard: None,
        }
    }
}

/// A node of the refinement tree in preorder. A split node's negative subtree follows it
/// immediately and its positive subtree starts `value` nodes later; its plane is row `plane` of
/// [`Refinement::split_planes`]. A leaf has `plane == Node::LEAF` and `value` = leaf ordinal.
#[derive(Clone, Copy, Debug, Default)]
pub struct Node {
    pub plane: u32,
    pub value: u32,
}

impl Node {
    pub const LEAF: u32 = u32::MAX;
    pub fn is_leaf(&self) -> bool {
        self.plane == Self::LEAF
    }
}

/// Per-cell results in leaf order, stored flat (CSR for the variable-length parts).
#[derive(Clone, Debug, Default)]
pub struct CellBuffer {
    pub patterns: Vec<u64>,
    pub volumes: Vec<f64>,
    pub centroids: Vec<f64>,
    pub interior_points: Vec<f64>,
    pub payload: Vec<f64>,
    pub vertex_start: Vec<usize>,
    pub vertices: Vec<f64>,
    /// Key of each vertex as a 0-face of the partition (equal from every cell containing it).
    pub vertex_keys: Vec<u128>,
    /// Facets of cell i: `facet_start[i]..facet_start[i + 1]`.
    pub facet_start: Vec<usize>,
    pub facet_areas: Vec<f64>,
    pub facet_normals: Vec<f64>,
    pub facet_centroids: Vec<f64>,
    /// The plane carrying the facet: a box face (`< 2d`) if the facet lies on the box boundary.
    pub facet_planes: Vec<u32>,
    /// Key of the facet as a face of the partition (equal from both sides).
    pub facet_keys: Vec<u128>,
    /// Ridges of cell i: `ridge_start[i]..ridge_start[i + 1]`, facets as cell-local indices.
    pub ridge_start: Vec<usize>,
    pub ridge_facets: Vec<[u32; 2]>,
    pub ridge_angles: Vec<f64>,
    pub ridge_volumes: Vec<f64>,
    /// Key of the (d−2)-face the ridge lies on (shared by all cells around it).
    pub ridge_keys: Vec<u128>,
    /// The cell whose closure residual exceeds its allowance most (relative to it).
    pub worst_closure: ClosureReport,
    /// Per cell: a bound on the error of each of its facet areas, ρ · Σ_F area_F with ρ its closure
    /// allowance ([`crate::measure::CellGeometry::closure_allowance`]); the two sides of a facet must agree
    /// to the sum of their cells' bounds.
    pub area_errors: Vec<f64>,
    /// Float decisions within the tolerance that exact arithmetic contradicts (float-mode audit).
    pub snapped: usize,
}

/// A cell's facet closure against its allowance: `excess` = residual / allowed (> 1: inconsistent; NaN
/// counts as infinite), with a point inside the cell to say where.
#[derive(Clone, Debug, Default)]
pub struct ClosureReport {
    pub excess: f64,
    pub residual: f64,
    pub allowed: f64,
    pub point: Vec<f64>,
}

impl ClosureReport {
    fn keep_worse(&mut self, other: ClosureReport) {
        if other.excess > self.excess {
            *self = other;
        }
    }
}

impl CellBuffer {
    fn new() -> Self {
        Self {
            vertex_start: vec![0],
            facet_start: vec![0],
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

    /// The buffers concatenated in order (what appending them one by one gives), copied field by field
    /// in parallel ([`gather::concat`]).
    fn concat(mut parts: Vec<CellBuffer>) -> Self {
        macro_rules! join {
            ($field:ident) => {
                gather::concat(parts.iter_mut().map(|c| std::mem::take(&mut c.$field)).collect())
            };
        }
        macro_rules! join_starts {
            ($field:ident) => {
                gather::concat_starts(parts.iter_mut().map(|c| std::mem::take(&mut c.$field)).collect())
            };
        }
        let mut out = Self {
            vertex_start: join_starts!(vertex_start),
            facet_start: join_starts!(facet_start),
            ridge_start: join_starts!(ridge_start),
            patterns: join!(patterns),
            volumes: join!(volumes),
            centroids: join!(centroids),
            interior_points: join!(interior_points),
            payload: join!(payload),
            vertices: join!(vertices),
            vertex_keys: join!(vertex_keys),
            facet_areas: join!(facet_areas),
            facet_normals: join!(facet_normals),
            facet_centroids: join!(facet_centroids),
            facet_planes: join!(facet_planes),
            facet_keys: join!(facet_keys),
            ridge_facets: join!(ridge_facets),
            ridge_angles: join!(ridge_angles),
            ridge_volumes: join!(ridge_volumes),
            ridge_keys: join!(ridge_keys),
            area_errors: join!(area_errors),
            ..Self::default()
        };
        for part in parts {
            out.worst_closure.keep_worse(part.worst_closure);
            out.snapped += part.snapped;
        }
        out
    }
}

/// The cells of a subtree and its part of the refinement tree.
#[derive(Debug, Default)]
pub struct Refinement {
    pub cells: CellBuffer,
    pub nodes: Vec<Node>,
    /// Coefficients (unit normal, offset) of each split node's plane, `d + 1` per row.
    pub split_planes: Vec<f64>,
    /// Plane ids bounding the shard ([`RefineOptions::shard`]): facets on them may have their other
    /// cell in another shard.
    pub cut_planes: Vec<u32>,
}

impl Refinement {
    fn new() -> Self {
        Self {
            cells: CellBuffer::new(),
            nodes: Vec::new(),
            split_planes: Vec::new(),
            cut_planes: Vec::new(),
        }
    }

    fn push_split(&mut self, planes: &PlaneTable, p: u32) -> usize {
        let row = self.split_planes.len() / (planes.dim() + 1);
        self.split_planes.extend_from_slice(planes.normal(p));
        self.split_planes.push(planes.offset(p));
        self.nodes.push(Node {
            plane: row as u32,
            value: 0,
        });
        self.nodes.len() - 1
    }

    /// The subtrees' refinements joined in preorder (what appending them one by one gives), renumbering
    /// each one's leaves and split planes by the cells and planes before it; copied in parallel.
    fn concat(chunks: Vec<Refinement>, dim: usize) -> Self {
        let (mut leaf_base, mut row_base) = (0u32, 0u32);
        let mut bases = Vec::with_capacity(chunks.len());
        for c in &chunks {
            bases.push((leaf_base, row_base));
            leaf_base += c.cells.len() as u32;
            row_base += (c.split_planes.len() / (dim + 1)) as u32;
        }
        let mut cells = Vec::with_capacity(chunks.len());
        let mut nodes = Vec::with_capacity(chunks.len());
        let mut split_planes = Vec::with_capacity(chunks.len());
        for c in chunks {
            cells.push(c.cells);
            nodes.push(c.nodes);
            split_planes.push(c.split_planes);
        }
        nodes
            .par_iter_mut()
            .zip(&bases)
            .for_each(|(nodes, &(leaf_base, row_base))| {
                for n in nodes.iter_mut() {
                    if n.is_leaf() {
                        n.value += leaf_base;
                    } else {
                        n.plane += row_base;
                    }
                }
            });
        Self {
            nodes: gather::concat(nodes),
            split_planes: gather::concat(split_planes),
            cells: CellBuffer::concat(cells),
            cut_planes: Vec::new(),
        }
    }
}

/// A cell on its way down the tree.
struct Cell<S> {
    poly: Polytope,
    planes: Arc<PlaneTable>,
    stage: Arc<S>,
    pattern: Vec<u64>,
}

/// What happens to a cell after testing its pending planes (moved once per split, so its size is moot).
#[allow(clippy::large_enum_variant)]
enum Step<S> {
    /// Nothing more to do (a leaf was emitted, or the work was stopped).
    Done,
    /// Split by `plane` into two cells that continue with `rest`.
    Split {
        plane: u32,
        neg: Cell<S>,
        pos: Cell<S>,
        rest: Vec<u32>,
    },
}

struct Context<'a, M: Model> {
    model: &'a M,
    opts: RefineOptions<'a>,
    dim: usize,
    tol: f64,
    /// Largest |coordinate| of the box: the scale of float64 rounding in vertex positions.
    reach: f64,
    pred: Predicates,
    /// Float decisions that exact arithmetic contradicts (see [`crate::predicates`]).
    snapped: AtomicUsize,
    n_cells: AtomicUsize,
    stop: AtomicBool,
    too_many: AtomicBool,
    /// By first-stage plane id: the side (positive?) the shard keeps, `None` for free planes.
    shard_side: Vec<Option<bool>>,
}

impl<M: Model> Context<'_, M> {
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

    /// Refines `cell` by `pending`. Subtrees near the root run in parallel and come back as a list
    /// of chunks in preorder (concatenated once at the end, never copied per level).
    fn refine(&self, cell: Cell<M::Stage>, pending: Vec<u32>, depth: usize) -> Vec<Refinement> {
        let mut out = Refinement::new();
        let Step::Split { plane, neg, pos, rest } = self.step(cell, pending, &mut out) else {
            return vec![out];
        };
        let at = out.push_split(&neg.planes, plane);
        if depth < PARALLEL_ALWAYS_DEPTH || (depth < PARALLEL_MAX_DEPTH && rest.len() >= PARALLEL_MIN_PENDING) {
            let rest2 = rest.clone();
            let (a, b) = rayon::join(
                || self.refine(neg, rest, depth + 1),
                || self.refine(pos, rest2, depth + 1),
            );
            out.nodes[at].value = a.iter().map(|r| r.nodes.len()).sum::<usize>() as u32;
            let mut chunks = Vec::with_capacity(1 + a.len() + b.len());
            chunks.push(out);
            chunks.extend(a);
            chunks.extend(b);
            chunks
        } else {
            self.refine_sequential(neg, rest.clone(), &mut out);
            out.nodes[at].value = (out.nodes.len() - at - 1) as u32;
            self.refine_sequential(pos, rest, &mut out);
            vec![out]
        }
    }

    /// Depth-first refinement appending to `out`.
    fn refine_sequential(&self, cell: Cell<M::Stage>, pending: Vec<u32>, out: &mut Refinement) {
        let Step::Split { plane, neg, pos, rest } = self.step(cell, pending, out) else {
            return;
        };
        let at = out.push_split(&neg.planes, plane);
        self.refine_sequential(neg, rest.clone(), out);
        out.nodes[at].value = (out.nodes.len() - at - 1) as u32;
        self.refine_sequential(pos, rest, out);
    }

    /// Tests the pending planes against the cell. Planes that miss it fix their pattern bits; the
    /// first one that crosses splits it. A cell with nothing left opens the model's next stage or,
    /// if there is none, becomes a leaf.
    fn step(&self, mut cell: Cell<M::Stage>, mut pending: Vec<u32>, out: &mut Refinement) -> Step<M::Stage> {
        loop {
            if self.stopped() {
                return Step::Done;
            }
            let mut crossing: Vec<u32> = Vec::with_capacity(pending.len());
            let mut first: Option<(Vec<f64>, Vec<Side>)> = None;
            let mut dist = Vec::with_capacity(cell.poly.n_vertices());
            let mut sides = Vec::with_capacity(cell.poly.n_vertices());
            for &p in &pending {
                let snapped = self
                    .pred
                    .classify(&mut cell.poly, &cell.planes, p, &mut dist, &mut sides);
                if snapped > 0 {
                    self.snapped.fetch_add(snapped, Ordering::Relaxed);
                }
                let above = sides.contains(&Side::Positive);
                let below = sides.contains(&Side::Negative);
                if above && below {
                    if first.is_none() {
                        first = Some((dist.clone(), sides.clone()));
                    }
                    crossing.push(p);
                } else {
                    if self.shard_side(p).is_some_and(|side| side != above) {
                        return Step::Done; // outside the shard
                    }
                    set_plane_bits(&mut cell.pattern, cell.planes.bits(p), above);
                    self.pred.mark(&mut cell.poly, p, &sides);
                }
            }
            if let Some((dist, sides)) = first {
                let plane = crossing.remove(0);
                let (neg_poly, pos_poly) = self.pred.split(&cell.poly, &cell.planes, plane, &dist, &sides);
                if let Some(side) = self.shard_side(plane) {
                    // A shard boundary: keep the shard's side only (no split node; shards are located
                    // by their sign vector before their trees are descended).
                    set_plane_bits(&mut cell.pattern, cell.planes.bits(plane), side);
                    cell.poly = if side { pos_poly } else { neg_poly };
                    pending = crossing;
                    continue;
                }
                let mut neg_pattern = cell.pattern.clone();
                set_plane_bits(&mut neg_pattern, cell.planes.bits(plane), false);
                let mut pos_pattern = cell.pattern;
                set_plane_bits(&mut pos_pattern, cell.planes.bits(plane), true);
                let neg = Cell {
                    poly: neg_poly,
                    planes: cell.planes.clone(),
                    stage: cell.stage.clone(),
                    pattern: neg_pattern,
                };
                let pos = Cell {
                    poly: pos_poly,
                    planes: cell.planes,
                    stage: cell.stage,
                    pattern: pos_pattern,
                };
                return Step::Split {
                    plane,
                    neg,
                    pos,
                    rest: crossing,
                };
            }
            match self.model.next_stage(&cell.stage, &cell.planes, &mut cell.pattern) {
                Some(next) => {
                    for &p in &next.containing {
                        cell.poly.mark_incident(p, &vec![0.0; cell.poly.n_vertices()], self.tol);
                    }
                    cell.planes = next.planes;
                    cell.stage = Arc::new(next.stage);
                    pending = shuffled(next.pending);
                }
                None => {
                    self.emit_leaf(&cell, out);
                    return Step::Done;
                }
            }
        }
    }

    fn shard_side(&self, plane: u32) -> Option<bool> {
        self.shard_side.get(plane as usize).copied().flatten()
    }

    fn emit_leaf(&self, cell: &Cell<M::Stage>, out: &mut Refinement) {
        let count = self.n_cells.fetch_add(1, Ordering::Relaxed) + 1;
        if count > self.opts.max_cells {
            self.too_many.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
            return;
        }
        let (poly, planes, pattern) = (&cell.poly, &*cell.planes, &cell.pattern[..]);
        let geometry = measure_oriented_cell(poly, planes, Some(pattern), self.opts.ridges);
        let box_faces = 2 * self.dim as u32;
        let cells = &mut out.cells;
        let allowed = geometry.closure_allowance(self.reach);
        let excess = geometry.closure_residual / allowed;
        let excess = if excess.is_nan() { f64::INFINITY } else { excess };
        if excess > cells.worst_closure.excess {
            cells.worst_closure = ClosureReport {
                excess,
                residual: geometry.closure_residual,
                allowed,
                point: poly.vertex_mean(),
            };
        }
        cells.area_errors.push(geometry.area_error_bound(allowed));
        out.nodes.push(Node {
            plane: Node::LEAF,
            value: cells.len() as u32,
        });
        cells.patterns.extend_from_slice(pattern);
        cells.volumes.push(geometry.volume);
        cells.centroids.extend_from_slice(&geometry.centroid);
        cells.interior_points.extend(poly.vertex_mean());
        self.model.payload(&cell.stage, pattern, &mut cells.payload);
        if self.opts.vertices {
            cells.vertices.extend_from_slice(&poly.coords);
            cells
                .vertex_keys
                .extend((0..poly.n_vertices()).map(|v| face_key(planes, pattern, poly.incidence_of(v))));
        }
        cells.vertex_start.push(cells.vertices.len() / self.dim);
        for f in &geometry.facets {
            let carrier = f.planes.iter().copied().find(|&p| p < box_faces).unwrap_or(f.planes[0]);
            cells.facet_areas.push(f.area);
            cells.facet_normals.extend_from_slice(&f.normal);
            cells.facet_centroids.extend_from_slice(&f.centroid);
            cells.facet_planes.push(carrier);
            cells.facet_keys.push(face_key(planes, pattern, &f.planes));
        }
        cells.facet_start.push(cells.facet_areas.len());
        for r in &geometry.ridges {
            cells.ridge_facets.push([r.facets.0 as u32, r.facets.1 as u32]);
            cells.ridge_angles.push(r.angle);
            cells.ridge_volumes.push(r.volume);
            cells.ridge_keys.push(face_key(planes, pattern, &r.planes));
        }
        cells.ridge_start.push(cells.ridge_angles.len());
        if let Some(p) = self.opts.progress {
            p.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sets the pattern bits decided by a plane for a cell on side `positive`.
fn set_plane_bits(pattern: &mut [u64], bits: &[(u32, bool)], positive: bool) {
    for &(j, flipped) in bits {
        set_pattern_bit(pattern, j as usize, positive != flipped);
    }
}

/// Identifies a face of the partition from any cell containing it: the cell's pattern with the bits
/// of the planes through the face cleared (every cell around the face agrees on the others, as each
/// of those functions keeps one strict sign near the face), and the ids of the planes through it.
fn face_key(planes: &PlaneTable, pattern: &[u64], through: &[u32]) -> u128 {
    let mut masked: SmallVec<[u64; 8]> = pattern.iter().copied().collect();
    for &p in through {
        for &(j, _) in planes.bits(p) {
            set_pattern_bit(&mut masked, j as usize, false);
        }
    }
    let half = |seed: u64| {
        let words = masked
            .iter()
            .copied()
            .chain([u64::MAX])
            .chain(through.iter().map(|&p| u64::from(p)));
        words.fold(seed, |h, w| splitmix(h ^ splitmix(w.wrapping_add(seed))))
    };
    (u128::from(half(0x243F_6A88_85A3_08D3)) << 64) | u128::from(half(0x1319_8A2E_0370_7344))
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The plane ids in a fixed-seed random order (SplitMix64 + Fisher–Yates).
pub fn shuffled(mut ids: Vec<u32>) -> Vec<u32> {
    for i in (1..ids.len()).rev() {
        ids.swap(i, (splitmix(i as u64) % (i as u64 + 1)) as usize);
    }
    ids
}

/// Refines the box of `model` stage by stage (on the current rayon pool).
pub fn refine<M: Model>(model: &M, opts: RefineOptions<'_>) -> Result<Refinement> {
    let dim = model.lo().len();
    let mut ctx = Context {
        model,
        opts,
        dim,
        tol: model.tol(),
        reach: model.frame().reach(),
        pred: Predicates {
            tol: model.tol(),
            exact: model.exact(),
            audit: false,
        },
        snapped: AtomicUsize::new(0),
        n_cells: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        too_many: AtomicBool::new(false),
        shard_side: Vec::new(),
    };
    let mut pattern = vec![0u64; words_for(model.n_bits())];
    let first = model.start(&mut pattern);
    if let Some(shard) = opts.shard {
        match shard_sides(model.n_bits(), shard, &first, &pattern)? {
            Some(sides) => ctx.shard_side = sides,
            None => return Ok(Refinement::new()), // the shard's sign vector is impossible: no cell
        }
    }
    let mut poly = Polytope::cuboid(model.lo(), model.hi());
    // Float mode audits its snapped decisions (exactly where the planes are known exactly: arrangements).
    ctx.pred.audit = !ctx.pred.exact;
    if ctx.pred.exact || first.planes.has_raw(0) {
        poly.certify();
    }
    for &p in &first.containing {
        poly.mark_incident(p, &vec![0.0; poly.n_vertices()], ctx.tol);
    }
    let root = Cell {
        poly,
        planes: first.planes,
        stage: Arc::new(first.stage),
        pattern,
    };
    let chunks = ctx.refine(root, shuffled(first.pending), 0);
    if ctx.too_many.load(Ordering::Relaxed) {
        return Err(GeomError::TooManyCells {
            limit: opts.max_cells,
            suggested: opts.max_cells.saturating_mul(4),
            bytes_per_cell: BYTES_PER_CELL_ESTIMATE,
        });
    }
    if ctx.stop.load(Ordering::Relaxed) {
        return Err(GeomError::Interrupted);
    }
    let mut out = Refinement::concat(chunks, dim);
    out.cut_planes = (0..ctx.shard_side.len() as u32)
        .filter(|&p| ctx.shard_side(p).is_some())
        .collect();
    out.cells.snapped = ctx.snapped.load(Ordering::Relaxed);
    Ok(out)
}

/// The side of each first-stage plane that a shard keeps (indexed by plane id), or `None` when the
/// shard's sign vector cannot occur (a constant bit with the other value, or two bits of one
/// coincidence class that disagree): then the shard has no cell.
fn shard_sides<S>(
    n_bits: usize,
    shard: &[(usize, bool)],
    first: &crate::model::StageStart<S>,
    pattern: &[u64],
) -> Result<Option<Vec<Option<bool>>>> {
    let mut sides = vec![None; first.planes.end() as usize];
    for &(j, value) in shard {
        if j >= n_bits {
            return Err(GeomError::InvalidInput(format!(
                "shard bit {j} is out of range: the model has {n_bits} pattern bits"
            )));
        }
        let on_plane = first.pending.iter().find_map(|&p| {
            let bits = first.planes.bits(p);
            bits.iter()
                .find(|&&(b, _)| b as usize == j)
                .map(|&(_, flipped)| (p, flipped))
        });
        match on_plane {
            Some((p, flipped)) => {
                let side = value != flipped;
                if sides[p as usize].is_some_and(|s| s != side) {
                    return Ok(None);
                }
                sides[p as usize] = Some(side);
            }
            // Not a first-stage plane: a bit fixed on the whole box (or a later-layer neuron).
            None if crate::bits::pattern_bit(pattern, j) != value => return Ok(None),
            None => {}
        }
    }
    Ok(Some(sides))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrangement::Arrangement;

    #[test]
    fn shuffled_is_a_permutation() {
        let mut o = shuffled((0..100).collect());
        o.sort_unstable();
        assert_eq!(o, (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn two_lines_make_four_cells() {
        let a = Arrangement::new(&[1.0, 0.0, 0.0, 1.0], &[-0.3, -0.6], &[0.0, 0.0], &[1.0, 1.0]).unwrap();
        let r = refine(&a, RefineOptions::default()).unwrap();
        assert_eq!(r.cells.len(), 4);
        assert_eq!(r.nodes.len(), 7);
        assert_eq!(r.split_planes.len(), 3 * 3);
        let total: f64 = r.cells.volumes.iter().sum();
        assert!((total - 1.0).abs() < 1e-14);
    }
}
