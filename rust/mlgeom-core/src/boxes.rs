//! Partitions by forests of axis-aligned binary trees (decision trees, random forests, extra trees).
//!
//! A tree sends a point `x` from node `n` to `left[n]` iff `x[feature[n]] <= threshold[n]` (the
//! scikit-learn rule) until it reaches a leaf (`left[n] == right[n] == -1`). Each leaf is a box, and
//! the partition of a forest is the common refinement of all trees' leaves, clipped to the domain
//! box: one cell per tuple of leaves (one leaf per tree) whose intersection has positive volume.
//!
//! # Algorithm
//! Recursive box splitting. A state is a box and, for every tree, the node the box has reached.
//! A tree descends while its node's split does not cross the box (`hi[f] <= t`: left,
//! `lo[f] >= t`: right); the trees left at a crossing node are *active*. With no active tree the
//! box is a cell. Otherwise one active split (the one nearest the middle of its side, ties to the
//! lowest tree) cuts the box in two and both halves go on; after a cut along axis `f` only the
//! active trees splitting on `f` need to descend again. Each cut separates two different leaves of
//! one tree, so every final box is a whole cell and there are exactly `n_cells - 1` cuts.
//! The first levels run in parallel (`rayon::join`), below that an explicit stack; the pieces come
//! back in preorder, so the result does not depend on the thread count. Comparisons are exact (the
//! cell faces *are* the thresholds), so no tolerance is involved (`Partition::tol` is 0).
//!
//! # The partition's conventions for forests
//! * **Planes**: the distinct splits `(feature, threshold)` of all internal nodes of all trees,
//!   sorted by feature, then threshold; plane `k` is `x[feature] = threshold`, stored in the locate
//!   table as the row (unit normal `e_feature`, offset `-threshold`). Thresholds outside the box are
//!   planes too (their bits are constant).
//! * **Global node index** of node `n` of tree `t`: `node_offsets[t] + n`, where `node_offsets[t]`
//!   is the total node count (leaves included) of trees `0..t`.
//! * **Carriers**: `carriers[k]` lists the global node indices (ascending) of all internal nodes
//!   whose split is plane `k`; a facet on plane `k` has `facet_planes = 2d + k`.
//! * **Patterns**: bit `k` (plane `k`) is 1 iff `x[feature] > threshold` throughout the cell, i.e.
//!   iff the cell's lower face on that axis is at or above the threshold. A plane that crosses the
//!   cell (a split of some tree on a branch the cell is not in) has bit 0. So for each feature the
//!   bits are a run of ones followed by zeros, whose length ranks the cell's lower face, and the
//!   lexicographic order of the patterns is the order of the cells' lower corners (coordinate 0
//!   first): cells are numbered that way.
//! * **Payload** (`payload_len = 2d + n_trees` numbers per cell): the cell's box `lo` (d), `hi`
//!   (d), then the leaf (node index within its tree) that every tree assigns to the cell, as `f64`
//!   (exact below 2^53).
//! * **Vertices**: the `2^d` corners, corner `k` taking `hi[a]` where bit `a` of `k` is set, when
//!   `d <= MAX_VERTEX_DIM` (or when asked for); otherwise none are listed.
//! * **Facets**: maximal pieces shared by two cells (a cell side can meet several cells across, a
//!   T-junction; they are found by walking the tree of cuts from the cut that made the side) or by
//!   a cell and the box; normals are `±e_axis`, areas are products of side overlaps. Vertices get
//!   global ids (`vertex_ids`) by their coordinates.
//! * **Ridges** are not computed (`has_ridges = false`): the cells are not face to face, and all
//!   dihedral angles of a box are π/2 anyway.
//! * **Locate** walks the cuts actually made; a point on a cut goes to the side `x <= t`, exactly as
//!   the trees do, so `locate(x)` is the cell of the trees' own leaves at `x` for every `x` in the
//!   box, except on a box face that is itself a split: the trees' leaf beyond it has no volume in
//!   the box, and `locate` gives the cell inside.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::bits::words_for;
use crate::error::{GeomError, Result, invalid};
use crate::partition::{NO_CELL, Partition, group_rows, with_threads};
use crate::refine::Node;

/// Vertices are listed by default up to this dimension (a cell has `2^d` of them).
pub const MAX_VERTEX_DIM: usize = 10;

/// Cuts down to this depth run their two halves with `rayon::join`.
const PARALLEL_DEPTH: usize = 14;

const NO_CHILD: u32 = u32::MAX;

/// One binary tree as node arrays, in scikit-learn's `tree_` layout. Node 0 is the root; a leaf has
/// `left == right == -1` (its `feature` and `threshold` are ignored). At an internal node a point
/// goes left iff `x[feature] <= threshold`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AxisTree {
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    pub feature: Vec<i64>,
    pub threshold: Vec<f64>,
}

/// Options of [`Forest::partition`].
#[derive(Clone, Copy, Debug)]
pub struct ForestOptions<'a> {
    /// Worker threads; `None` uses rayon's global pool.
    pub n_threads: Option<usize>,
    /// Stop with [`GeomError::TooManyCells`] beyond this many cells.
    pub max_cells: usize,
    /// List the `2^d` corners of every cell; `None`: only when `d <= MAX_VERTEX_DIM`.
    pub vertices: Option<bool>,
    /// Set from another thread to stop early with [`GeomError::Interrupted`] (checked at every cell).
    pub cancel: Option<&'a AtomicBool>,
    /// Incremented once per finished cell (for progress bars).
    pub progress: Option<&'a AtomicUsize>,
}

impl Default for ForestOptions<'_> {
    fn default() -> Self {
        Self {
            n_threads: None,
            max_cells: 10_000_000,
            vertices: None,
            cancel: None,
            progress: None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct TreeNode {
    threshold: f64,
    feature: u32,
    plane: u32,
    /// `NO_CHILD` at a leaf.
    left: u32,
    right: u32,
}

impl TreeNode {
    #[inline]
    fn is_leaf(&self) -> bool {
        self.left == NO_CHILD
    }
}

/// A validated forest on a box, with its table of distinct split planes.
#[derive(Clone, Debug)]
pub struct Forest {
    lo: Vec<f64>,
    hi: Vec<f64>,
    trees: Vec<Vec<TreeNode>>,
    node_offsets: Vec<usize>,
    /// Per plane: axis and threshold, sorted by (axis, threshold).
    plane_feature: Vec<u32>,
    plane_threshold: Vec<f64>,
    /// Planes of axis `a`: `plane_start[a]..plane_start[a + 1]`.
    plane_start: Vec<usize>,
    carriers: Vec<Vec<usize>>,
}

fn index(value: i64, n: usize) -> Option<u32> {
    usize::try_from(value).ok().filter(|&v| v < n).map(|v| v as u32)
}

impl Forest {
    /// Validates the trees and the box `[lo, hi]`.
    ///
    /// # Errors
    /// [`GeomError::InvalidInput`] for an empty or non-finite or inverted box, no trees, a tree with
    /// no nodes or arrays of different lengths, a node with exactly one child, a child index out of
    /// range, a node reached twice from the root (not a tree), a feature outside `0..d` or a
    /// non-finite threshold at an internal node.
    pub fn new(trees: &[AxisTree], lo: &[f64], hi: &[f64]) -> Result<Self> {
        let d = lo.len();
        if d == 0 || hi.len() != d {
            return invalid(format!(
                "the box needs lo and hi of one common length d >= 1; got {} and {}",
                lo.len(),
                hi.len()
            ));
        }
        for a in 0..d {
            if !(lo[a].is_finite() && hi[a].is_finite()) {
                return invalid(format!(
                    "the box bounds on axis {a} are not finite: [{}, {}]",
                    lo[a], hi[a]
                ));
            }
            if lo[a] >= hi[a] {
                return invalid(format!(
                    "the box is empty or inverted on axis {a}: lo = {} is not below hi = {}",
                    lo[a], hi[a]
                ));
            }
        }
        if trees.is_empty() {
            return invalid("the forest has no trees; give at least one");
        }
        if d > u32::MAX as usize {
            return invalid("the dimension is too large");
        }
        let mut nodes = Vec::with_capacity(trees.len());
        let mut node_offsets = vec![0usize];
        for (t, tree) in trees.iter().enumerate() {
            nodes.push(Self::tree_nodes(t, tree, d)?);
            node_offsets.push(node_offsets[t] + tree.left.len());
        }
        // Distinct planes, sorted by (axis, threshold); thresholds were normalised (no -0.0).
        let mut splits: Vec<(u32, f64, usize)> = Vec::new();
        for (t, tree) in nodes.iter().enumerate() {
            for (n, node) in tree.iter().enumerate() {
                if !node.is_leaf() {
                    splits.push((node.feature, node.threshold, node_offsets[t] + n));
                }
            }
        }
        splits.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut plane_feature = Vec::new();
        let mut plane_threshold = Vec::new();
        let mut carriers: Vec<Vec<usize>> = Vec::new();
        for (k, &(f, th, global)) in splits.iter().enumerate() {
            if k == 0 || splits[k - 1].0 != f || splits[k - 1].1 != th {
                plane_feature.push(f);
                plane_threshold.push(th);
                carriers.push(Vec::new());
            }
            carriers.last_mut().expect("pushed").push(global);
        }
        if carriers.len() > u32::MAX as usize / 2 {
            return invalid("the forest has too many distinct splits");
        }
        let mut plane_start = vec![0usize; d + 1];
        for &f in &plane_feature {
            plane_start[f as usize + 1] += 1;
        }
        for a in 0..d {
            plane_start[a + 1] += plane_start[a];
        }
        let mut forest = Self {
            lo: lo.iter().map(|v| v + 0.0).collect(),
            hi: hi.iter().map(|v| v + 0.0).collect(),
            trees: nodes,
            node_offsets,
            plane_feature,
            plane_threshold,
            plane_start,
            carriers,
        };
        let mut trees = std::mem::take(&mut forest.trees);
        for tree in &mut trees {
            for node in tree.iter_mut().filter(|n| !n.is_leaf()) {
                node.plane = forest.plane_of(node.feature as usize, node.threshold).expect("listed");
            }
        }
        forest.trees = trees;
        Ok(forest)
    }

    fn tree_nodes(t: usize, tree: &AxisTree, d: usize) -> Result<Vec<TreeNode>> {
        let n = tree.left.len();
        if n == 0 {
            return invalid(format!("tree {t} has no nodes"));
        }
        if tree.right.len() != n || tree.feature.len() != n || tree.threshold.len() != n {
            return invalid(format!(
                "tree {t} has node arrays of different lengths: left {n}, right {}, feature {}, threshold {}",
                tree.right.len(),
                tree.feature.len(),
                tree.threshold.len()
            ));
        }
        if n >= u32::MAX as usize {
            return invalid(format!("tree {t} has too many nodes ({n})"));
        }
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let (l, r) = (tree.left[i], tree.right[i]);
            if l == -1 && r == -1 {
                nodes.push(TreeNode {
                    threshold: 0.0,
                    feature: 0,
                    plane: 0,
                    left: NO_CHILD,
                    right: NO_CHILD,
                });
                continue;
            }
            let (Some(left), Some(right)) = (index(l, n), index(r, n)) else {
                return invalid(format!(
                    "tree {t}, node {i}: children ({l}, {r}) must both be -1 (a leaf) or both be node \
                     indices in 0..{n}"
                ));
            };
            let Some(feature) = index(tree.feature[i], d) else {
                return invalid(format!(
                    "tree {t}, node {i}: feature {} is not an axis of the {d}-dimensional box",
                    tree.feature[i]
                ));
            };
            let threshold = tree.threshold[i];
            if !threshold.is_finite() {
                return invalid(format!("tree {t}, node {i}: the threshold {threshold} is not finite"));
            }
            nodes.push(TreeNode {
                threshold: threshold + 0.0,
                feature,
                plane: 0,
                left,
                right,
            });
        }
        // Every node is reached at most once from the root (no cycles, no shared subtrees).
        let mut seen = vec![false; n];
        let mut stack = vec![0u32];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i as usize], true) {
                return invalid(format!("tree {t}: node {i} is reached twice from the root; not a tree"));
            }
            let node = nodes[i as usize];
            if !node.is_leaf() {
                stack.push(node.right);
                stack.push(node.left);
            }
        }
        Ok(nodes)
    }

    fn plane_of(&self, axis: usize, threshold: f64) -> Option<u32> {
        let range = self.plane_start[axis]..self.plane_start[axis + 1];
        let th = &self.plane_threshold[range.clone()];
        let k = th.partition_point(|&v| v < threshold);
        (k < th.len() && th[k] == threshold).then(|| (range.start + k) as u32)
    }

    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The number of distinct split planes (the pattern bits).
    pub fn n_planes(&self) -> usize {
        self.plane_feature.len()
    }

    /// Global index of node 0 of each tree, and the total node count last (`n_trees + 1` entries).
    pub fn node_offsets(&self) -> &[usize] {
        &self.node_offsets
    }

    /// Axis and threshold of plane `k`.
    pub fn plane(&self, k: usize) -> (usize, f64) {
        (self.plane_feature[k] as usize, self.plane_threshold[k])
    }

    /// The leaf (node index) that tree `t` assigns to `x`, by the trees' own rule.
    pub fn leaf(&self, t: usize, x: &[f64]) -> usize {
        let tree = &self.trees[t];
        let mut n = 0usize;
        while !tree[n].is_leaf() {
            let node = tree[n];
            n = if x[node.feature as usize] <= node.threshold {
                node.left
            } else {
                node.right
            } as usize;
        }
        n
    }

    /// Partitions the box into the common refinement of the trees' leaves.
    ///
    /// # Errors
    /// [`GeomError::TooManyCells`] beyond `opts.max_cells` cells, [`GeomError::ThreadPool`].
    pub fn partition(&self, opts: ForestOptions) -> Result<Partition> {
        with_threads(opts.n_threads, || self.build(opts))
    }

    /// Rough memory per cell of the finished partition, in bytes.
    fn bytes_per_cell(&self, vertices: bool) -> usize {
        let d = self.dim();
        let words = words_for(self.n_planes());
        let corners = if vertices { (1usize << d.min(30)) * d } else { 0 };
        8 * (words + 2 * d + self.n_trees() + 1 + 2 * d + corners + 2) + 2 * d * (8 * d + 32) + 16
    }

    fn build(&self, opts: ForestOptions) -> Result<Partition> {
        let d = self.dim();
        let with_vertices = opts.vertices.unwrap_or(d <= MAX_VERTEX_DIM);
        if with_vertices && d > 30 {
            return invalid(format!("a {d}-dimensional box has too many corners to list"));
        }
        // Leaf ordinals and subtree sizes of the tree of cuts (2 n - 1 nodes) are u32.
        let max_cells = opts.max_cells.min((u32::MAX / 2) as usize);
        let ctx = Ctx {
            forest: self,
            max_cells,
            count: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            cancel: opts.cancel,
            progress: opts.progress,
        };
        let mut root = State {
            bounds: [self.lo.as_slice(), self.hi.as_slice()].concat(),
            at: vec![0; self.n_trees()],
            active: Vec::new(),
        };
        for t in 0..self.n_trees() {
            let n = self.descend(t, 0, &root.bounds);
            root.at[t] = n;
            if !self.trees[t][n as usize].is_leaf() {
                root.active.push(t as u32);
            }
        }
        // A cancel wins over everything else that happened meanwhile.
        let chunks = match ctx.run(root, 0) {
            Ok(chunks) if !ctx.cancelled() => chunks,
            Err(Stop::TooMany) if !ctx.cancelled() => {
                return Err(GeomError::TooManyCells {
                    limit: opts.max_cells,
                    suggested: opts.max_cells.saturating_mul(4),
                    bytes_per_cell: self.bytes_per_cell(with_vertices),
                });
            }
            _ => return Err(GeomError::Interrupted),
        };
        self.assemble(chunks, with_vertices, opts.cancel)
    }

    /// Descends tree `t` from node `n` while its split does not cross the box `bounds` (lo then hi).
    #[inline]
    fn descend(&self, t: usize, mut n: u32, bounds: &[f64]) -> u32 {
        let d = self.dim();
        let tree = &self.trees[t];
        loop {
            let node = &tree[n as usize];
            if node.is_leaf() {
                return n;
            }
            let f = node.feature as usize;
            if bounds[d + f] <= node.threshold {
                n = node.left;
            } else if bounds[f] >= node.threshold {
                n = node.right;
            } else {
                return n;
            }
        }
    }

    /// The active split nearest the middle of its side (relative to the side), ties to the first.
    fn choose(&self, s: &State) -> Option<usize> {
        let d = self.dim();
        let mut best: Option<(usize, f64)> = None;
        for (j, &t) in s.active.iter().enumerate() {
            let node = &self.trees[t as usize][s.at[t as usize] as usize];
            let f = node.feature as usize;
            let (lo, hi) = (s.bounds[f], s.bounds[d + f]);
            let score = (node.threshold - 0.5 * (lo + hi)).abs() / (hi - lo);
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((j, score));
            }
        }
        best.map(|(j, _)| j)
    }

    /// Cuts the state by the split of active tree `s.active[j]`: (x <= t half, x > t half, plane).
    /// `left` (its buffers reused) becomes the `x <= t` half, `s` the `x > t` half; returns the plane.
    fn split(&self, s: &mut State, j: usize, left: &mut State) -> u32 {
        let d = self.dim();
        let t = s.active[j] as usize;
        let node = self.trees[t][s.at[t] as usize];
        let f = node.feature as usize;
        left.clone_from(s);
        left.bounds[d + f] = node.threshold;
        self.refresh(left, f);
        s.bounds[f] = node.threshold;
        self.refresh(s, f);
        node.plane
    }

    /// After a cut along axis `f`, lets the active trees splitting on `f` descend again.
    fn refresh(&self, s: &mut State, f: usize) {
        let State { bounds, at, active } = s;
        active.retain(|&t| {
            let t = t as usize;
            let node = &self.trees[t][at[t] as usize];
            if node.feature as usize != f {
                return true;
            }
            let n = self.descend(t, at[t], bounds);
            at[t] = n;
            !self.trees[t][n as usize].is_leaf()
        });
    }

    /// Sorts the cells, measures them, and pairs their faces into facets.
    /// The partition from the enumerated cells. It can take longer than the enumeration (facets by tree
    /// descents, global vertex ids by one sort), so `cancel` is checked between the phases and per cell.
    fn assemble(&self, chunks: Vec<Chunk>, with_vertices: bool, cancel: Option<&AtomicBool>) -> Result<Partition> {
        let check = || {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                Err(GeomError::Interrupted)
            } else {
                Ok(())
            }
        };
        let d = self.dim();
        let n_trees = self.n_trees();
        let n: usize = chunks.iter().map(|c| c.boxes.len()).sum::<usize>() / (2 * d);
        let mut tree = Vec::with_capacity(2 * n);
        let mut boxes = Vec::with_capacity(2 * d * n);
        let mut leaves = Vec::with_capacity(n_trees * n);
        for chunk in chunks {
            let base = (boxes.len() / (2 * d)) as u32;
            tree.extend(chunk.nodes.into_iter().map(|node| {
                if node.is_leaf() {
                    Node {
                        plane: node.plane,
                        value: node.value + base,
                    }
                } else {
                    node
                }
            }));
            boxes.extend(chunk.boxes);
            leaves.extend(chunk.leaves);
        }
        let cell_box = |leaf: usize| &boxes[leaf * 2 * d..(leaf + 1) * 2 * d];
        // Cells by their lower corners (= lexicographic order of the patterns, see the module docs).
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_unstable_by(|&a, &b| {
            let (a, b) = (&cell_box(a as usize)[..d], &cell_box(b as usize)[..d]);
            a.iter()
                .zip(b)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        check()?;
        let mut leaf_to_cell = vec![0u32; n];
        for (cell, &leaf) in order.iter().enumerate() {
            leaf_to_cell[leaf as usize] = cell as u32;
        }
        // Sorted boxes: lo and hi per cell.
        let mut sorted = vec![0.0; n * 2 * d];
        sorted
            .par_chunks_mut(2 * d)
            .zip(order.par_iter())
            .for_each(|(row, &l)| row.copy_from_slice(cell_box(l as usize)));
        let lo_of = |c: usize| &sorted[c * 2 * d..c * 2 * d + d];
        let hi_of = |c: usize| &sorted[c * 2 * d + d..(c + 1) * 2 * d];

        let mut volumes = vec![0.0; n];
        volumes
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, v)| *v = lo_of(c).iter().zip(hi_of(c)).map(|(a, b)| b - a).product());
        let mut centroids = vec![0.0; n * d];
        let mut interior_points = vec![0.0; n * d];
        centroids
            .par_chunks_mut(d)
            .zip(interior_points.par_chunks_mut(d))
            .enumerate()
            .for_each(|(c, (centre, inside))| {
                for (a, (&l, &h)) in lo_of(c).iter().zip(hi_of(c)).enumerate() {
                    let m = 0.5 * l + 0.5 * h;
                    centre[a] = m;
                    // The centre is strictly inside unless the side is one ulp wide; then the upper
                    // face belongs to the cell (x <= t goes to the lower side), or it is the box's.
                    inside[a] = if m > l && m < h { m } else { h };
                }
            });
        let payload_len = 2 * d + n_trees;
        let mut payload = vec![0.0; n * payload_len];
        payload
            .par_chunks_mut(payload_len)
            .zip(order.par_iter())
            .for_each(|(row, &l)| {
                let l = l as usize;
                row[..2 * d].copy_from_slice(cell_box(l));
                for (dst, &leaf) in row[2 * d..].iter_mut().zip(&leaves[l * n_trees..(l + 1) * n_trees]) {
                    *dst = f64::from(leaf);
                }
            });
        drop(leaves);
        check()?;
        let (vertex_start, vertices) = if with_vertices {
            let k = 1usize << d;
            let mut vertices = vec![0.0; n * k * d];
            vertices.par_chunks_mut(k * d).enumerate().for_each(|(c, row)| {
                let (lo, hi) = (lo_of(c), hi_of(c));
                for (corner, v) in row.chunks_mut(d).enumerate() {
                    for a in 0..d {
                        v[a] = if corner >> a & 1 == 1 { hi[a] } else { lo[a] };
                    }
                }
            });
            ((0..=n).map(|c| c * k).collect(), vertices)
        } else {
            (vec![0; n + 1], Vec::new())
        };

        // Patterns: for each axis, ones for the planes at or below the cell's lower face.
        let n_bits = self.n_planes();
        let words = words_for(n_bits);
        let mut patterns = vec![0u64; n * words];
        if words > 0 {
            patterns.par_chunks_mut(words).enumerate().for_each(|(c, row)| {
                let lo = lo_of(c);
                for a in 0..d {
                    let start = self.plane_start[a];
                    let th = &self.plane_threshold[start..self.plane_start[a + 1]];
                    let ones = th.partition_point(|&v| v <= lo[a]);
                    set_bit_range(row, start, start + ones);
                }
            });
        }

        check()?;
        let facets = self.facets(&sorted, &order, &tree, &leaf_to_cell, &check)?;
        check()?;

        let mut split_planes = Vec::with_capacity(n_bits * (d + 1));
        for k in 0..n_bits {
            let (f, th) = self.plane(k);
            split_planes.extend((0..d).map(|a| if a == f { 1.0 } else { 0.0 }));
            split_planes.push(-th);
        }
        let mut facet_normals = vec![0.0; facets.len() * d];
        for (i, f) in facets.iter().enumerate() {
            facet_normals[i * d + f.axis as usize] = if f.positive { 1.0 } else { -1.0 };
        }
        // A facet is the overlap of its cells' faces: a box whose centre is its centroid.
        let mut facet_centroids = vec![0.0; facets.len() * d];
        for (f, row) in facets.iter().zip(facet_centroids.chunks_mut(d)) {
            let a = f.cells[0] as usize;
            for (j, x) in row.iter_mut().enumerate() {
                let (mut l, mut h) = (lo_of(a)[j], hi_of(a)[j]);
                if f.cells[1] != NO_CELL {
                    let b = f.cells[1] as usize;
                    (l, h) = (l.max(lo_of(b)[j]), h.min(hi_of(b)[j]));
                }
                *x = 0.5 * (l + h);
            }
            let axis = f.axis as usize;
            row[axis] = if f.positive { hi_of(a)[axis] } else { lo_of(a)[axis] };
        }
        check()?;
        let (vertex_ids, n_global_vertices) = self.vertex_ids(&vertices, &sorted);
        check()?;
        Ok(Partition {
            lo: self.lo.clone(),
            hi: self.hi.clone(),
            // Thresholds are compared exactly and every measure is a difference of box coordinates (exact by
            // Sterbenz's lemma far from the origin): no local coordinates are needed (crate::centred).
            origin: vec![0.0; d],
            tol: 0.0,
            // Thresholds are compared as floats, exactly: every decision is certified.
            exact: true,
            snapped: 0,
            n_bits,
            n_cells: n,
            pattern_words: words,
            patterns,
            volumes,
            centroids,
            interior_points,
            payload,
            payload_len,
            vertex_start,
            vertex_ids,
            n_global_vertices,
            vertices,
            carriers: self.carriers.clone(),
            facet_cells: facets.iter().map(|f| f.cells).collect(),
            facet_areas: facets.iter().map(|f| f.area).collect(),
            facet_normals,
            facet_centroids,
            facet_planes: facets.iter().map(|f| f.plane).collect(),
            has_ridges: false,
            ridge_cells: Vec::new(),
            ridge_facets: Vec::new(),
            ridge_faces: Vec::new(),
            ridge_angles: Vec::new(),
            ridge_volumes: Vec::new(),
            max_facet_area_mismatch: 0.0,
            closure_excess: 0.0,
            facet_area_excess: 0.0,
            cut_facets: Vec::new(),
            cut_keys: Vec::new(),
            cut_area_errors: Vec::new(),
            ridge_keys: Vec::new(),
            tree,
            split_planes,
            leaf_to_cell,
        })
    }

    /// Global ids of the rows of `vertices` (the corners of the sorted cells `sorted`, in the order of
    /// [`Self::assemble`]): equal coordinates, equal id, numbered in lexicographic order of the
    /// points. Every coordinate is a box bound or a threshold of its axis, so a point is a
    /// mixed-radix number of per-axis ranks; with too many values for 64 bits, rows are compared whole.
    fn vertex_ids(&self, vertices: &[f64], sorted: &[f64]) -> (Vec<usize>, usize) {
        let d = self.dim();
        if vertices.is_empty() {
            return (Vec::new(), 0);
        }
        let values: Vec<Vec<f64>> = (0..d)
            .map(|a| {
                let th = &self.plane_threshold[self.plane_start[a]..self.plane_start[a + 1]];
                let inside = th.iter().copied().filter(|&t| t > self.lo[a] && t < self.hi[a]);
                std::iter::once(self.lo[a])
                    .chain(inside)
                    .chain(std::iter::once(self.hi[a]))
                    .collect()
            })
            .collect();
        let bits: f64 = values.iter().map(|v| (v.len() as f64).log2()).sum();
        if bits >= 63.0 {
            return group_rows(vertices, d);
        }
        let corners = 1usize << d;
        let mut keys = vec![0u64; vertices.len() / d];
        keys.par_chunks_mut(corners)
            .zip(sorted.par_chunks(2 * d))
            .for_each(|(row, cell)| {
                // Per axis: the place value and the ranks of the cell's lower and upper faces.
                let mut digits: SmallVec<[(u64, u64, u64); 16]> = SmallVec::new();
                let mut place = 1u64;
                for a in (0..d).rev() {
                    let rank = |x: f64| values[a].partition_point(|&y| y < x) as u64;
                    digits.push((place, rank(cell[a]), rank(cell[d + a])));
                    place *= values[a].len() as u64;
                }
                for (corner, key) in row.iter_mut().enumerate() {
                    *key = digits
                        .iter()
                        .enumerate()
                        .map(|(j, &(place, lo, hi))| place * if corner >> (d - 1 - j) & 1 == 1 { hi } else { lo })
                        .sum();
                }
            });
        let mut unique = keys.clone();
        unique.par_sort_unstable();
        unique.dedup();
        let ids = keys.par_iter().map(|k| unique.partition_point(|u| u < k)).collect();
        (ids, unique.len())
    }

    /// All facets of the sorted cells (`sorted`: lo then hi per cell), in the order
    /// (first cell, second cell with the box last, plane).
    ///
    /// The cells across a side of cell `c` lie behind the cut that made that side: the deepest
    /// ancestor of `c`'s leaf cutting along the side's axis from the side's direction. From that cut's
    /// other half, the tree is descended with the open (d−1)-box of the side, pushed infinitesimally
    /// outwards: a cut along another axis sends the query to the halves its side interval meets, a cut
    /// along the side's own axis decides exactly (`x > t` just above `v` iff `t <= v`). Every leaf
    /// reached meets the side with positive area (by Helly in each coordinate), and every such leaf is
    /// reached. Each cell keeps its facets to cells after it and its box facets, sorted, so their
    /// concatenation is already in order.
    fn facets(
        &self,
        sorted: &[f64],
        order: &[u32],
        tree: &[Node],
        leaf_to_cell: &[u32],
        check: &(impl Fn() -> Result<()> + Sync),
    ) -> Result<Vec<Facet>> {
        const NONE: u32 = u32::MAX;
        let d = self.dim();
        let n = order.len();
        let lo_of = |c: usize| &sorted[c * 2 * d..c * 2 * d + d];
        let hi_of = |c: usize| &sorted[c * 2 * d + d..(c + 1) * 2 * d];
        let box_faces = 2 * d as u32;
        let mut parent = vec![NONE; tree.len()];
        let mut leaf_node = vec![0u32; n];
        for (i, node) in tree.iter().enumerate() {
            if node.is_leaf() {
                leaf_node[node.value as usize] = i as u32;
            } else {
                parent[i + 1] = i as u32;
                parent[i + 1 + node.value as usize] = i as u32;
            }
        }
        let per_cell = |c: usize| -> Result<SmallVec<[Facet; 8]>> {
            check()?;
            let (lo, hi) = (lo_of(c), hi_of(c));
            // The cuts that made the cell's sides: `cut[2a]` below it on axis a, `cut[2a + 1]` above.
            let mut cut: SmallVec<[u32; 16]> = smallvec::smallvec![NONE; 2 * d];
            let mut child = leaf_node[order[c] as usize];
            let mut at = parent[child as usize];
            let mut missing = 2 * d;
            while at != NONE && missing > 0 {
                let f = self.plane_feature[tree[at as usize].plane as usize] as usize;
                let slot = &mut cut[2 * f + usize::from(child == at + 1)];
                if *slot == NONE {
                    *slot = at;
                    missing -= 1;
                }
                child = at;
                at = parent[at as usize];
            }
            let mut out: SmallVec<[Facet; 8]> = SmallVec::new();
            let mut stack: SmallVec<[usize; 64]> = SmallVec::new();
            for a in 0..d {
                for upper in [false, true] {
                    let v = if upper { hi[a] } else { lo[a] };
                    let from = cut[2 * a + usize::from(upper)];
                    if from == NONE {
                        let area = (0..d).filter(|&b| b != a).map(|b| hi[b] - lo[b]).product::<f64>();
                        out.push(Facet::boundary(c, a, upper, area));
                        continue;
                    }
                    let node = tree[from as usize];
                    if self.plane(node.plane as usize) != (a, v) {
                        return Err(GeomError::Numerical(format!(
                            "cell {c}: its side at x[{a}] = {v} was not cut by its ancestor; please report it"
                        )));
                    }
                    let plane = box_faces + node.plane;
                    let from = from as usize;
                    stack.clear();
                    stack.push(if upper {
                        from + 1 + node.value as usize
                    } else {
                        from + 1
                    });
                    while let Some(at) = stack.pop() {
                        let node = tree[at];
                        if node.is_leaf() {
                            let other = leaf_to_cell[node.value as usize] as usize;
                            if other > c {
                                let (olo, ohi) = (lo_of(other), hi_of(other));
                                let area = (0..d)
                                    .filter(|&b| b != a)
                                    .map(|b| hi[b].min(ohi[b]) - lo[b].max(olo[b]))
                                    .product::<f64>();
                                let (below, above) = if upper { (c, other) } else { (other, c) };
                                out.push(Facet::interior(below, above, a, plane, area));
                            }
                            continue;
                        }
                        let (left, right) = (at + 1, at + 1 + node.value as usize);
                        let (f, t) = self.plane(node.plane as usize);
                        if f == a {
                            let above = if upper { t <= v } else { t < v };
                            stack.push(if above { right } else { left });
                        } else if hi[f] <= t {
                            stack.push(left);
                        } else if lo[f] >= t {
                            stack.push(right);
                        } else {
                            stack.push(right);
                            stack.push(left);
                        }
                    }
                }
            }
            out.sort_unstable_by_key(|f| (f.cells[1] as u64, f.plane));
            Ok(out)
        };
        let per: Vec<SmallVec<[Facet; 8]>> = (0..n).into_par_iter().map(per_cell).collect::<Result<_>>()?;
        let mut all = Vec::with_capacity(per.iter().map(SmallVec::len).sum());
        for f in per {
            all.extend(f);
        }
        Ok(all)
    }
}

/// Sets bits `a..b` of a packed pattern (bit `j` at position `63 - j % 64` of word `j / 64`).
fn set_bit_range(words: &mut [u64], a: usize, b: usize) {
    let mut j = a;
    while j < b {
        let w = j / 64;
        let s = j % 64;
        let e = (b - w * 64).min(64);
        let mask = (u64::MAX >> s) & !u64::MAX.checked_shr(e as u32).unwrap_or(0);
        words[w] |= mask;
        j = (w + 1) * 64;
    }
}

#[derive(Clone, Copy, Debug)]
struct Facet {
    cells: [i64; 2],
    area: f64,
    plane: u32,
    axis: u32,
    /// Normal `+e_axis` (else `-e_axis`), from `cells[0]` to `cells[1]`.
    positive: bool,
}

impl Facet {
    fn boundary(c: usize, axis: usize, upper: bool, area: f64) -> Self {
        Self {
            cells: [c as i64, NO_CELL],
            area,
            plane: (2 * axis + usize::from(upper)) as u32,
            axis: axis as u32,
            positive: upper,
        }
    }

    /// `below` has its upper face on the plane, `above` its lower face.
    fn interior(below: usize, above: usize, axis: usize, plane: u32, area: f64) -> Self {
        Self {
            cells: [below.min(above) as i64, below.max(above) as i64],
            area,
            plane,
            axis: axis as u32,
            positive: below < above,
        }
    }
}

/// A box on its way down: `bounds` = lo then hi, the node of every tree, the trees at a crossing node.
#[derive(Debug, Default)]
struct State {
    bounds: Vec<f64>,
    at: Vec<u32>,
    active: Vec<u32>,
}

impl Clone for State {
    fn clone(&self) -> Self {
        Self {
            bounds: self.bounds.clone(),
            at: self.at.clone(),
            active: self.active.clone(),
        }
    }

    /// Reuses the buffers of `self`.
    fn clone_from(&mut self, other: &Self) {
        self.bounds.clone_from(&other.bounds);
        self.at.clone_from(&other.at);
        self.active.clone_from(&other.active);
    }
}

/// Cells of a subtree in preorder: the locate nodes (leaf values local to the chunk), the boxes
/// (lo then hi) and the leaves of all trees, per cell.
#[derive(Debug, Default)]
struct Chunk {
    nodes: Vec<Node>,
    boxes: Vec<f64>,
    leaves: Vec<u32>,
}

struct Ctx<'a> {
    forest: &'a Forest,
    max_cells: usize,
    count: AtomicUsize,
    stop: AtomicBool,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a AtomicUsize>,
}

/// Why the enumeration stopped early.
enum Stop {
    TooMany,
    Interrupted,
}

impl Ctx<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn run(&self, s: State, depth: usize) -> std::result::Result<Vec<Chunk>, Stop> {
        if depth >= PARALLEL_DEPTH || s.active.is_empty() {
            let mut chunk = Chunk::default();
            self.sequential(s, &mut chunk)?;
            return Ok(vec![chunk]);
        }
        let j = self.forest.choose(&s).expect("active trees");
        let (mut left, mut right) = (State::default(), s);
        let plane = self.forest.split(&mut right, j, &mut left);
        let (a, b) = rayon::join(|| self.run(left, depth + 1), || self.run(right, depth + 1));
        let (a, b) = (a?, b?);
        let left_nodes: usize = a.iter().map(|c| c.nodes.len()).sum();
        let head = Chunk {
            nodes: vec![Node {
                plane,
                value: left_nodes as u32,
            }],
            ..Chunk::default()
        };
        Ok(std::iter::once(head).chain(a).chain(b).collect())
    }

    fn sequential(&self, root: State, out: &mut Chunk) -> std::result::Result<(), Stop> {
        enum Task {
            Visit(State),
            Patch(usize),
        }
        let forest = self.forest;
        let mut stack = vec![Task::Visit(root)];
        let mut spare: Vec<State> = Vec::new(); // finished states, their buffers reused
        while let Some(task) = stack.pop() {
            match task {
                Task::Patch(i) => out.nodes[i].value = (out.nodes.len() - i - 1) as u32,
                Task::Visit(s) => match forest.choose(&s) {
                    None => {
                        if self.cancelled() {
                            self.stop.store(true, Ordering::Relaxed);
                            return Err(Stop::Interrupted);
                        }
                        if self.stop.load(Ordering::Relaxed)
                            || self.count.fetch_add(1, Ordering::Relaxed) >= self.max_cells
                        {
                            self.stop.store(true, Ordering::Relaxed);
                            return Err(Stop::TooMany);
                        }
                        if let Some(p) = self.progress {
                            p.fetch_add(1, Ordering::Relaxed);
                        }
                        let leaf = (out.boxes.len() / s.bounds.len()) as u32;
                        out.nodes.push(Node {
                            plane: Node::LEAF,
                            value: leaf,
                        });
                        out.boxes.extend_from_slice(&s.bounds);
                        out.leaves.extend_from_slice(&s.at);
                        spare.push(s);
                    }
                    Some(j) => {
                        let mut right = s;
                        let mut left = spare.pop().unwrap_or_default();
                        let plane = forest.split(&mut right, j, &mut left);
                        out.nodes.push(Node { plane, value: 0 });
                        stack.push(Task::Visit(right));
                        stack.push(Task::Patch(out.nodes.len() - 1));
                        stack.push(Task::Visit(left));
                    }
                },
            }
        }
        Ok(())
    }
}

impl Partition {
    /// The partition of the box `[lo, hi]` by a forest of axis-aligned trees; see [`crate::boxes`].
    pub fn from_forest(trees: &[AxisTree], lo: &[f64], hi: &[f64], opts: ForestOptions) -> Result<Self> {
        Forest::new(trees, lo, hi)?.partition(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::pattern_bit;

    #[test]
    fn bit_ranges() {
        for (a, b) in [(0, 0), (0, 1), (3, 64), (0, 64), (63, 65), (10, 130), (64, 128)] {
            let mut w = vec![0u64; 3];
            set_bit_range(&mut w, a, b);
            for j in 0..192 {
                assert_eq!(pattern_bit(&w, j), (a..b).contains(&j), "{a}..{b} bit {j}");
            }
        }
    }
}
