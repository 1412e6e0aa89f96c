//! The finished partition: cells sorted by pattern, global facets paired across hyperplanes, ridges
//! grouped around the global (d−2)-faces, and point location down the refinement tree.

use rayon::prelude::*;

use crate::arrangement::{Arrangement, CoincidenceClass};
use crate::bits::{pattern_bit, set_pattern_bit, words_for};
use crate::error::{GeomError, Result};
use crate::refine::{Node, RefineOptions, Refinement, refine};

/// Sentinel for "no cell": the other side of a box facet, or a point outside the box.
pub const NO_CELL: i64 = -1;

/// The partition of a box by a hyperplane arrangement, with all its geometry.
#[derive(Clone, Debug)]
pub struct Partition {
    pub arrangement: Arrangement,
    pub n_cells: usize,
    /// Words per packed pattern (`ceil(m / 64)`); see [`crate::bits::set_pattern_bit`] for the layout.
    pub pattern_words: usize,
    /// `n_cells × pattern_words`, sorted ascending (lexicographic order of the bit strings).
    pub patterns: Vec<u64>,
    pub volumes: Vec<f64>,
    /// True centres of mass, `n_cells × d`.
    pub centroids: Vec<f64>,
    /// Mean of each cell's vertices: strictly inside the cell, `n_cells × d`.
    pub interior_points: Vec<f64>,
    pub vertex_start: Vec<usize>,
    pub vertices: Vec<f64>,
    /// `[first, second]` with first < second, or `[cell, NO_CELL]` on the box boundary.
    pub facet_cells: Vec<[i64; 2]>,
    pub facet_areas: Vec<f64>,
    /// Unit normals from the first cell to the second (outward on the box), `F × d`.
    pub facet_normals: Vec<f64>,
    /// Plane id carrying the facet: `< 2d` a box face, else `2d + class`.
    pub facet_planes: Vec<u32>,
    pub has_ridges: bool,
    pub ridge_cells: Vec<usize>,
    /// Global facet indices of the two facets meeting at the ridge.
    pub ridge_facets: Vec<[usize; 2]>,
    /// Id of the global (d−2)-face the ridge lies on (shared by all cells around it).
    pub ridge_faces: Vec<usize>,
    pub ridge_angles: Vec<f64>,
    pub ridge_volumes: Vec<f64>,
    /// Largest relative difference between a facet's area measured from its two cells.
    pub max_facet_area_mismatch: f64,
    tree: Vec<Node>,
    leaf_to_cell: Vec<u32>,
}

/// Options of [`Partition::new`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionOptions<'a> {
    /// Worker threads; `None` uses rayon's global pool.
    pub n_threads: Option<usize>,
    pub refine: RefineOptions<'a>,
}

impl Partition {
    /// Partitions the box of `arr` by its hyperplanes.
    pub fn new(arr: Arrangement, opts: PartitionOptions<'_>) -> Result<Self> {
        match opts.n_threads {
            None => Self::build(arr, opts.refine),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| GeomError::ThreadPool(e.to_string()))?
                .install(|| Self::build(arr, opts.refine)),
        }
    }

    /// Convenience: validate raw input and partition it.
    pub fn from_hyperplanes(
        normals: &[f64],
        offsets: &[f64],
        lo: &[f64],
        hi: &[f64],
        opts: PartitionOptions<'_>,
    ) -> Result<Self> {
        Self::new(Arrangement::new(normals, offsets, lo, hi)?, opts)
    }

    fn build(arr: Arrangement, opts: RefineOptions<'_>) -> Result<Self> {
        let Refinement { cells: buf, nodes } = refine(&arr, opts)?;
        let d = arr.dim;
        let w = words_for(arr.n_hyperplanes);
        let n = buf.len();
        let pattern = |leaf: usize| &buf.patterns[leaf * w..(leaf + 1) * w];

        // Cells in lexicographic order of their patterns.
        let mut order: Vec<usize> = (0..n).collect();
        order.par_sort_unstable_by(|&a, &b| pattern(a).cmp(pattern(b)));
        if let Some(k) = (1..n).find(|&k| pattern(order[k - 1]) == pattern(order[k])) {
            return Err(GeomError::Numerical(format!(
                "two cells share the pattern of cell {k}; the arrangement is too close to degenerate for \
                 the tolerance (rescale or perturb the input)"
            )));
        }
        let mut leaf_to_cell = vec![0u32; n];
        for (cell, &leaf) in order.iter().enumerate() {
            leaf_to_cell[leaf] = cell as u32;
        }
        let gather = |src: &[f64], width: usize| -> Vec<f64> {
            order
                .iter()
                .flat_map(|&l| src[l * width..(l + 1) * width].iter().copied())
                .collect()
        };
        let patterns: Vec<u64> = order
            .iter()
            .flat_map(|&l| pattern(l).iter().copied())
            .collect();
        let volumes = gather(&buf.volumes, 1);
        let centroids = gather(&buf.centroids, d);
        let interior_points = gather(&buf.interior_points, d);
        let mut vertex_start = vec![0];
        let mut vertices = Vec::with_capacity(buf.vertices.len());
        for &l in &order {
            vertices.extend_from_slice(
                &buf.vertices[buf.vertex_start[l] * d..buf.vertex_start[l + 1] * d],
            );
            vertex_start.push(vertices.len() / d);
        }

        // Each local facet: its carrier plane and the cell on the other side.
        let first_class = 2 * d as u32;
        let sorted_pattern = |cell: usize| &patterns[cell * w..(cell + 1) * w];
        let local: Vec<Vec<(u32, i64)>> = (0..n)
            .into_par_iter()
            .map(|cell| {
                let leaf = order[cell];
                (buf.facet_start[leaf]..buf.facet_start[leaf + 1])
                    .map(|f| {
                        let planes = &buf.facet_planes[buf.facet_plane_start[f]..buf.facet_plane_start[f + 1]];
                        if planes[0] < first_class {
                            return Ok((planes[0], NO_CELL));
                        }
                        let mut other = sorted_pattern(cell).to_vec();
                        for &p in planes {
                            for &j in &arr.classes[(p - first_class) as usize].members {
                                let bit = pattern_bit(&other, j);
                                set_pattern_bit(&mut other, j, !bit);
                            }
                        }
                        match binary_search_pattern(&patterns, w, n, &other) {
                            Some(j) => Ok((planes[0], j as i64)),
                            None => Err(GeomError::Numerical(format!(
                                "cell {cell} has a facet on hyperplane class {} with no cell behind it; the \
                                 input is too close to degenerate for the tolerance",
                                planes[0] - first_class
                            ))),
                        }
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;

        // Global facets: box facets and the lower-numbered side of each interior facet.
        let mut keys: Vec<(usize, u64, u32, usize)> = Vec::new(); // (cell, other, plane, local facet)
        for (cell, facets) in local.iter().enumerate() {
            let leaf = order[cell];
            for (k, &(plane, other)) in facets.iter().enumerate() {
                if other == NO_CELL || (cell as i64) < other {
                    keys.push((cell, other as u64, plane, buf.facet_start[leaf] + k));
                }
            }
        }
        keys.par_sort_unstable();
        let n_facets = keys.len();
        let mut facet_cells = Vec::with_capacity(n_facets);
        let mut facet_areas = Vec::with_capacity(n_facets);
        let mut facet_normals = Vec::with_capacity(n_facets * d);
        let mut facet_planes = Vec::with_capacity(n_facets);
        for &(cell, other, plane, f) in &keys {
            facet_cells.push([cell as i64, other as i64]);
            facet_areas.push(buf.facet_areas[f]);
            facet_normals.extend_from_slice(&buf.facet_normals[f * d..(f + 1) * d]);
            facet_planes.push(plane);
        }
        // Global id of every local facet (indexed like `buf.facet_areas`).
        let mut global_of_local = vec![usize::MAX; buf.facet_areas.len()];
        for (g, k) in keys.iter().enumerate() {
            global_of_local[k.3] = g;
        }
        let mut max_facet_area_mismatch: f64 = 0.0;
        for (cell, facets) in local.iter().enumerate() {
            let leaf = order[cell];
            for (k, &(plane, other)) in facets.iter().enumerate() {
                if other != NO_CELL && (cell as i64) > other {
                    let key = (other as usize, cell as u64, plane);
                    let g = keys
                        .binary_search_by(|k| (k.0, k.1, k.2).cmp(&key))
                        .expect("every interior facet is recorded from its lower cell");
                    let f = buf.facet_start[leaf] + k;
                    global_of_local[f] = g;
                    let (a, b) = (facet_areas[g], buf.facet_areas[f]);
                    max_facet_area_mismatch = max_facet_area_mismatch
                        .max((a - b).abs() / a.max(b).max(f64::MIN_POSITIVE));
                }
            }
        }

        // Ridges, with global facet ids and ids of the global (d−2)-faces.
        let n_ridges = buf.ridge_angles.len();
        let mut ridge_cells = Vec::with_capacity(n_ridges);
        let mut ridge_facets = Vec::with_capacity(n_ridges);
        let mut ridge_angles = Vec::with_capacity(n_ridges);
        let mut ridge_volumes = Vec::with_capacity(n_ridges);
        let mut ridge_keys = Vec::with_capacity(n_ridges);
        for (cell, &leaf) in order.iter().enumerate() {
            let first = buf.facet_start[leaf];
            for r in buf.ridge_start[leaf]..buf.ridge_start[leaf + 1] {
                let [a, b] = buf.ridge_facets[r];
                ridge_cells.push(cell);
                ridge_facets.push([
                    global_of_local[first + a as usize],
                    global_of_local[first + b as usize],
                ]);
                ridge_angles.push(buf.ridge_angles[r]);
                ridge_volumes.push(buf.ridge_volumes[r]);
                ridge_keys.push((buf.ridge_keys[r], ridge_keys.len()));
            }
        }
        ridge_keys.par_sort_unstable();
        let mut ridge_faces = vec![0; n_ridges];
        let mut face = 0;
        for (k, &(key, r)) in ridge_keys.iter().enumerate() {
            if k > 0 && key != ridge_keys[k - 1].0 {
                face += 1;
            }
            ridge_faces[r] = face;
        }
        drop(ridge_keys);

        Ok(Self {
            n_cells: n,
            pattern_words: w,
            patterns,
            volumes,
            centroids,
            interior_points,
            vertex_start,
            vertices,
            facet_cells,
            facet_areas,
            facet_normals,
            facet_planes,
            has_ridges: opts.ridges && d >= 2,
            ridge_cells,
            ridge_facets,
            ridge_faces,
            ridge_angles,
            ridge_volumes,
            max_facet_area_mismatch,
            tree: nodes,
            leaf_to_cell,
            arrangement: arr,
        })
    }

    pub fn dim(&self) -> usize {
        self.arrangement.dim
    }

    pub fn classes(&self) -> &[CoincidenceClass] {
        &self.arrangement.classes
    }

    /// Packed pattern of cell `i`.
    pub fn pattern(&self, i: usize) -> &[u64] {
        &self.patterns[i * self.pattern_words..(i + 1) * self.pattern_words]
    }

    /// Vertices of cell `i`, row-major `k × d`.
    pub fn cell_vertices(&self, i: usize) -> &[f64] {
        let d = self.dim();
        &self.vertices[self.vertex_start[i] * d..self.vertex_start[i + 1] * d]
    }

    /// The cell containing `x` (a closed cell when `x` is on a boundary: the side where the
    /// hyperplane's function is ≤ 0), or [`NO_CELL`] outside the box.
    pub fn locate(&self, x: &[f64]) -> i64 {
        let a = &self.arrangement;
        if x.iter()
            .enumerate()
            .any(|(k, &v)| !(v >= a.lo[k] && v <= a.hi[k]))
        {
            return NO_CELL;
        }
        let mut at = 0;
        loop {
            let node = self.tree[at];
            if node.is_leaf() {
                return i64::from(self.leaf_to_cell[node.value as usize]);
            }
            let plane = a.class_plane(node.class as usize);
            at = if a.distance(plane, x) > 0.0 {
                at + 1 + node.value as usize
            } else {
                at + 1
            };
        }
    }

    /// [`Self::locate`] for many points (row-major `N × d`), in parallel.
    pub fn locate_many(&self, points: &[f64]) -> Vec<i64> {
        points
            .par_chunks(self.dim())
            .map(|x| self.locate(x))
            .collect()
    }
}

/// Index of `target` among `n` sorted packed patterns of `w` words.
fn binary_search_pattern(patterns: &[u64], w: usize, n: usize, target: &[u64]) -> Option<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match patterns[mid * w..(mid + 1) * w].cmp(target) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}
