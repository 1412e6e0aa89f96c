//! The finished partition: cells sorted by pattern, facets paired across the partition, ridges
//! grouped around the global (d−2)-faces, and point location down the refinement tree.

use rayon::prelude::*;

use crate::arrangement::Arrangement;
use crate::bits::words_for;
use crate::error::{GeomError, Result};
use crate::gather;
use crate::measure::volume_sum_allowance;
use crate::model::Model;
use crate::refine::{CellBuffer, Node, RefineOptions, Refinement, refine};

/// Sentinel for "no cell": the other side of a box facet, or a point outside the box.
pub const NO_CELL: i64 = -1;

/// The partition of a box by a model, with all its geometry.
#[derive(Clone, Debug)]
pub struct Partition {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// The origin c of the local coordinates y = x − c the partition was computed in ([`crate::centred`]; zero
    /// on axes along which the box is not far from the origin). Every point reported here is in input
    /// coordinates; `locate` moves its queries (exactly, for points in the box).
    pub origin: Vec<f64>,
    /// Absolute tolerance used by the predicates (float mode).
    pub tol: f64,
    /// Every combinatorial decision certified with exact arithmetic ([`crate::predicates`]).
    pub exact: bool,
    /// Float mode: decisions the tolerance snapped that exact arithmetic contradicts, plus hyperplanes merged
    /// into a coincidence class without being exactly proportional (0: the combinatorics are the input's own,
    /// as far as the tolerance decided them).
    pub snapped: usize,
    /// Pattern bits per cell (hyperplanes, or hidden neurons).
    pub n_bits: usize,
    pub n_cells: usize,
    /// Words per packed pattern (`ceil(n_bits / 64)`); see [`crate::bits::set_pattern_bit`].
    pub pattern_words: usize,
    /// `n_cells × pattern_words`, sorted ascending (lexicographic order of the bit strings).
    pub patterns: Vec<u64>,
    pub volumes: Vec<f64>,
    /// True centres of mass, `n_cells × d`.
    pub centroids: Vec<f64>,
    /// Mean of each cell's vertices: strictly inside the cell, `n_cells × d`.
    pub interior_points: Vec<f64>,
    /// Model-specific numbers per cell (`payload_len` each), e.g. a network's affine map.
    pub payload: Vec<f64>,
    pub payload_len: usize,
    pub vertex_start: Vec<usize>,
    pub vertices: Vec<f64>,
    /// Global id of each row of `vertices`: cells sharing a vertex of the partition give it the same id.
    pub vertex_ids: Vec<usize>,
    /// Number of distinct vertices of the partition.
    pub n_global_vertices: usize,
    /// For each non-box plane id `2d + k`, the inputs (hyperplanes or neurons) it carries.
    pub carriers: Vec<Vec<usize>>,
    /// `[first, second]` with first < second, or `[cell, NO_CELL]` on the box boundary.
    pub facet_cells: Vec<[i64; 2]>,
    pub facet_areas: Vec<f64>,
    /// Unit normals from the first cell to the second (outward on the box), `F × d`.
    pub facet_normals: Vec<f64>,
    /// Centres of mass of the facets, `F × d`.
    pub facet_centroids: Vec<f64>,
    /// Plane id carrying the facet: `< 2d` a box face, else `2d + carrier`.
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
    /// Largest closure residual of a cell relative to its allowance
    /// ([`crate::measure::CellGeometry::closure_allowance`]); at most 1 in float mode (the check refuses more).
    pub closure_excess: f64,
    /// Largest difference of a facet's two areas relative to the sum of its cells' area error bounds; at most 1.
    pub facet_area_excess: f64,
    /// A shard's facets on its boundary ([`RefineOptions::shard`]): global facet ids, `[cell, NO_CELL]`
    /// here, whose other cell lies in another shard. Empty unless sharded.
    pub cut_facets: Vec<usize>,
    /// Face key of each cut facet: equal from both sides, so a join across shards pairs them.
    pub cut_keys: Vec<u128>,
    /// Bound on the error of each cut facet's area from its cell here (see [`CellBuffer::area_errors`]): the
    /// join requires the two shards' areas of one facet to agree to the sum of their bounds.
    pub cut_area_errors: Vec<f64>,
    /// Key of the (d−2)-face of each ridge (global across shards); kept only for a shard.
    pub ridge_keys: Vec<u128>,
    pub(crate) tree: Vec<Node>,
    pub(crate) split_planes: Vec<f64>,
    pub(crate) leaf_to_cell: Vec<u32>,
}

/// Options of [`Partition::new`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionOptions<'a> {
    /// Worker threads; `None` uses rayon's global pool.
    pub n_threads: Option<usize>,
    pub refine: RefineOptions<'a>,
}

/// Runs `work` on a pool of `n_threads` threads (the global pool for `None`).
pub fn with_threads<T: Send>(n_threads: Option<usize>, work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    match n_threads {
        None => work(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| GeomError::ThreadPool(e.to_string()))?
            .install(work),
    }
}

impl Partition {
    /// Partitions the box of `model` into its cells.
    pub fn new<M: Model>(model: &M, opts: PartitionOptions<'_>) -> Result<Self> {
        with_threads(opts.n_threads, || Self::build(model, opts.refine))
    }

    /// Validates raw hyperplanes W x + c = 0 (row-major `normals`) and partitions the box by them.
    pub fn from_hyperplanes(
        normals: &[f64],
        offsets: &[f64],
        lo: &[f64],
        hi: &[f64],
        opts: PartitionOptions<'_>,
    ) -> Result<Self> {
        Self::new(&Arrangement::new(normals, offsets, lo, hi)?, opts)
    }

    fn build<M: Model>(model: &M, opts: RefineOptions<'_>) -> Result<Self> {
        let Refinement {
            cells: mut buf,
            nodes,
            split_planes,
            cut_planes,
        } = refine(model, opts)?;
        let d = model.lo().len();
        let w = words_for(model.n_bits());
        let n = buf.len();
        let sharded = opts.shard.is_some();
        check_consistency(model, &buf, sharded)?;
        let closure_excess = buf.worst_closure.excess;
        let snapped = buf.snapped;
        let pattern = |leaf: usize| &buf.patterns[leaf * w..(leaf + 1) * w];

        // Cells in lexicographic order of their patterns.
        let mut order: Vec<usize> = (0..n).collect();
        order.par_sort_unstable_by(|&a, &b| pattern(a).cmp(pattern(b)));
        if let Some(k) = (1..n).find(|&k| pattern(order[k - 1]) == pattern(order[k])) {
            return Err(GeomError::Numerical(format!(
                "two cells share the pattern of cell {k}; the input is too close to degenerate for the \
                 tolerance (pass exact=True, or rescale or perturb it)"
            )));
        }
        let mut leaf_to_cell = vec![0u32; n];
        for (cell, &leaf) in order.iter().enumerate() {
            leaf_to_cell[leaf] = cell as u32;
        }
        let gather = |src: &mut Vec<f64>, width: usize| gather::gather_rows(&std::mem::take(src), width, &order);
        let patterns = gather::gather_rows(&std::mem::take(&mut buf.patterns), w, &order);
        let volumes = gather(&mut buf.volumes, 1);
        // Points back to input coordinates, each rounded once (volumes, areas, normals and angles do not move).
        let frame = model.frame();
        let mut centroids = gather(&mut buf.centroids, d);
        frame.rows_to_input(&mut centroids);
        let mut interior_points = gather(&mut buf.interior_points, d);
        frame.rows_to_input(&mut interior_points);
        let payload_len = model.payload_len();
        let payload = gather(&mut buf.payload, payload_len);
        let vertex_start = gather::reordered_starts(&buf.vertex_start, &order);
        let mut vertices =
            gather::gather_groups(&buf.vertices, d, &buf.vertex_start, &order, &vertex_start, |_, _, &v| v);
        frame.rows_to_input(&mut vertices);
        buf.vertices = Vec::new();
        // (key, row in the new order): the row is the group's new start plus the key's rank in its group.
        let src_start = &buf.vertex_start;
        let vertex_keys = gather::gather_groups(&buf.vertex_keys, 1, src_start, &order, &vertex_start, |i, at, &k| {
            (k, vertex_start[i] + at - src_start[order[i]])
        });
        buf.vertex_keys = Vec::new();
        let (vertex_ids, n_global_vertices) = group_keys(vertex_keys);

        // Facets: local facets with equal keys are the two sides of one facet of the partition. Pair
        // them by key, then lay the facets out in their final order; the geometry is read from the
        // lower-numbered cell's side (its outward normal points to the other cell).
        let box_faces = 2 * d as u32;
        let n_local = buf.facet_keys.len();
        let facet_start = gather::reordered_starts(&buf.facet_start, &order);
        let mut local: Vec<(u128, u32, u32)> = gather::gather_groups(
            &buf.facet_keys,
            1,
            &buf.facet_start,
            &order,
            &facet_start,
            |cell, f, &key| (key, cell as u32, f as u32),
        );
        buf.facet_keys = Vec::new();
        local.par_sort_unstable();
        const NONE: u32 = u32::MAX;
        // (first cell, second cell or NONE, plane, first side's local facet, second side's or NONE)
        let mut cut_local: Vec<(u32, u128, f64)> = Vec::new();
        let mut pairs: Vec<(u32, u32, u32, u32, u32)> = Vec::with_capacity(n_local / 2 + n_local / 8);
        let mut max_facet_area_mismatch: f64 = 0.0;
        let mut worst_pair = AreaMismatch::default();
        let mut k = 0;
        while k < local.len() {
            let (key, cell, f) = local[k];
            let plane = buf.facet_planes[f as usize];
            let partner = local
                .get(k + 1)
                .filter(|next| next.0 == key && plane >= box_faces)
                .copied();
            match partner {
                Some((_, other, g)) => {
                    if local.get(k + 2).is_some_and(|next| next.0 == key) {
                        return Err(GeomError::Numerical(format!(
                            "more than two cells share a facet of cell {cell}; the input is too close to \
                             degenerate for the tolerance (pass exact=True, or rescale or perturb it)"
                        )));
                    }
                    let (a, b) = (buf.facet_areas[f as usize], buf.facet_areas[g as usize]);
                    max_facet_area_mismatch =
                        max_facet_area_mismatch.max((a - b).abs() / a.max(b).max(f64::MIN_POSITIVE));
                    let allowed = buf.area_errors[order[cell as usize]] + buf.area_errors[order[other as usize]];
                    worst_pair.keep_worse(AreaMismatch::new(a, b, allowed, plane - box_faces, cell.min(other)));
                    pairs.push((
                        cell.min(other),
                        cell.max(other),
                        plane,
                        if cell < other { f } else { g },
                        if cell < other { g } else { f },
                    ));
                    k += 2;
                }
                None if cut_planes.contains(&plane) => {
                    cut_local.push((f, key, buf.area_errors[order[cell as usize]]));
                    pairs.push((cell, NONE, plane, f, NONE));
                    k += 1;
                }
                None if plane >= box_faces => {
                    return Err(GeomError::Numerical(format!(
                        "cell {cell} has a facet on plane {} with no cell behind it; the input is too close to \
                         degenerate for the tolerance (pass exact=True, or rescale or perturb it)",
                        plane - box_faces
                    )));
                }
                None => {
                    pairs.push((cell, NONE, plane, f, NONE));
                    k += 1;
                }
            }
        }
        drop(local);
        worst_pair.check(model.exact())?;
        // Deterministic order: by (first cell, second cell with the box last, plane).
        pairs.par_sort_unstable();
        let mut global_of_local = vec![usize::MAX; n_local];
        for (id, &(_, _, _, f, g)) in pairs.iter().enumerate() {
            global_of_local[f as usize] = id;
            if g != NONE {
                global_of_local[g as usize] = id;
            }
        }
        let facet_cells = pairs
            .par_iter()
            .map(|&(a, b, ..)| [i64::from(a), if b == NONE { NO_CELL } else { i64::from(b) }])
            .collect();
        let facet_areas = pairs.par_iter().map(|p| buf.facet_areas[p.3 as usize]).collect();
        let facet_planes = pairs.par_iter().map(|p| p.2).collect();
        let sides: Vec<usize> = pairs.par_iter().map(|p| p.3 as usize).collect();
        let facet_normals = gather::gather_rows(&buf.facet_normals, d, &sides);
        let mut facet_centroids = gather::gather_rows(&buf.facet_centroids, d, &sides);
        drop(pairs);
        frame.rows_to_input(&mut facet_centroids);
        let mut cut: Vec<(usize, u128, f64)> = cut_local
            .iter()
            .map(|&(f, key, error)| (global_of_local[f as usize], key, error))
            .collect();
        cut.sort_unstable_by_key(|&(f, key, _)| (f, key));
        let cut_facets = cut.iter().map(|c| c.0).collect();
        let cut_keys = cut.iter().map(|c| c.1).collect();
        let cut_area_errors = cut.iter().map(|c| c.2).collect();
        buf.facet_areas = Vec::new();
        buf.facet_normals = Vec::new();
        buf.facet_centroids = Vec::new();
        buf.facet_planes = Vec::new();

        // Ridges, with global facet ids and ids of the global (d−2)-faces.
        // Each source array is freed as soon as it is gathered, the (key, row) pairs first: they are the
        // largest transient (32 bytes per ridge), so they should not meet the other ridge arrays twice over.
        let src_start = std::mem::take(&mut buf.ridge_start);
        let ridge_start = gather::reordered_starts(&src_start, &order);
        let take_gather =
            |src: Vec<f64>| gather::gather_groups(&src, 1, &src_start, &order, &ridge_start, |_, _, &v| v);
        let ridge_keys: Vec<(u128, usize)> = gather::gather_groups(
            &std::mem::take(&mut buf.ridge_keys),
            1,
            &src_start,
            &order,
            &ridge_start,
            |i, at, &k| (k, ridge_start[i] + at - src_start[order[i]]),
        );
        let kept_ridge_keys = if sharded {
            ridge_keys.iter().map(|&(key, _)| key).collect()
        } else {
            Vec::new()
        };
        let (ridge_faces, _) = group_keys(ridge_keys);
        let ridge_angles = take_gather(std::mem::take(&mut buf.ridge_angles));
        let ridge_volumes = take_gather(std::mem::take(&mut buf.ridge_volumes));
        let ridge_facets = gather::gather_groups(
            &std::mem::take(&mut buf.ridge_facets),
            1,
            &src_start,
            &order,
            &ridge_start,
            |cell, _, &[a, b]| {
                let first = buf.facet_start[order[cell]];
                [global_of_local[first + a as usize], global_of_local[first + b as usize]]
            },
        );
        drop(global_of_local);
        drop(buf);
        let mut ridge_cells = vec![0; ridge_start.last().map_or(0, |&n| n)];
        ridge_cells
            .par_iter_mut()
            .enumerate()
            .for_each(|(row, cell)| *cell = ridge_start.partition_point(|&s| s <= row) - 1);

        // lo − c and hi − c are exact, so adding c back gives the input box itself.
        let (mut lo, mut hi) = (model.lo().to_vec(), model.hi().to_vec());
        frame.to_input(&mut lo);
        frame.to_input(&mut hi);
        Ok(Self {
            lo,
            hi,
            origin: frame.origin.clone(),
            tol: model.tol(),
            exact: model.exact(),
            snapped: snapped + model.snapped_inputs(),
            n_bits: model.n_bits(),
            n_cells: n,
            pattern_words: w,
            patterns,
            volumes,
            centroids,
            interior_points,
            payload,
            payload_len,
            vertex_start,
            vertices,
            vertex_ids,
            n_global_vertices,
            carriers: model.carriers(),
            facet_cells,
            facet_areas,
            facet_normals,
            facet_centroids,
            facet_planes,
            has_ridges: opts.ridges && d >= 2,
            ridge_cells,
            ridge_facets,
            ridge_faces,
            ridge_angles,
            ridge_volumes,
            max_facet_area_mismatch,
            closure_excess,
            facet_area_excess: worst_pair.excess,
            cut_facets,
            cut_keys,
            cut_area_errors,
            ridge_keys: kept_ridge_keys,
            tree: nodes,
            split_planes,
            leaf_to_cell,
        })
    }

    /// The largest |coordinate| of the box in the local coordinates the cells were computed in (the `reach`
    /// of [`volume_sum_allowance`]: vertices carry rounding relative to it).
    pub fn local_reach(&self) -> f64 {
        let origin = self.origin.iter().chain(&self.origin);
        self.lo
            .iter()
            .chain(&self.hi)
            .zip(origin)
            .fold(0.0f64, |a, (v, c)| a.max((v - c).abs()))
    }

    /// Σ over cells of their facets' areas: a facet between two cells counts twice, one on the box or on a
    /// shard's boundary once (the `facet_area_sum` of [`volume_sum_allowance`]).
    pub fn cell_facet_area_sum(&self) -> f64 {
        self.facet_cells
            .iter()
            .zip(&self.facet_areas)
            .map(|(cells, area)| area * cells.iter().filter(|&&c| c != NO_CELL).count() as f64)
            .sum()
    }

    pub fn dim(&self) -> usize {
        self.lo.len()
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
    /// boundary's function is ≤ 0), or [`NO_CELL`] outside the box.
    pub fn locate(&self, x: &[f64]) -> i64 {
        let d = self.dim();
        if x.iter()
            .enumerate()
            .any(|(k, &v)| !(v >= self.lo[k] && v <= self.hi[k]))
        {
            return NO_CELL;
        }
        if self.tree.is_empty() {
            return NO_CELL; // an empty shard
        }
        let mut at = 0;
        loop {
            let node = self.tree[at];
            if node.is_leaf() {
                return i64::from(self.leaf_to_cell[node.value as usize]);
            }
            let row = &self.split_planes[node.plane as usize * (d + 1)..(node.plane as usize + 1) * (d + 1)];
            // the tree's planes are local: y = x − c is exact for x in the box (see crate::centred)
            let s: f64 = row[..d]
                .iter()
                .zip(x.iter().zip(&self.origin))
                .map(|(a, (v, c))| a * (v - c))
                .sum::<f64>()
                + row[d];
            at = if s > 0.0 { at + 1 + node.value as usize } else { at + 1 };
        }
    }

    /// [`Self::locate`] for many points (row-major `N × d`), in parallel.
    pub fn locate_many(&self, points: &[f64]) -> Vec<i64> {
        points.par_chunks(self.dim()).map(|x| self.locate(x)).collect()
    }
}

/// Numbers items (key, item index) by distinct key, in key order: (id of every item, number of ids).
fn group_keys(mut keyed: Vec<(u128, usize)>) -> (Vec<usize>, usize) {
    keyed.par_sort_unstable();
    let mut ids = vec![0; keyed.len()];
    let mut id = 0;
    for (k, &(key, item)) in keyed.iter().enumerate() {
        if k > 0 && key != keyed[k - 1].0 {
            id += 1;
        }
        ids[item] = id;
    }
    let count = if keyed.is_empty() { 0 } else { id + 1 };
    (ids, count)
}

/// Global ids of the rows of `coords` (`k × d`) by exact equality of coordinates: (ids, count).
pub(crate) fn group_rows(coords: &[f64], d: usize) -> (Vec<usize>, usize) {
    let rows = coords.len().checked_div(d).unwrap_or(0);
    let key = |r: usize| {
        coords[r * d..(r + 1) * d]
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<u64>>()
    };
    let mut order: Vec<usize> = (0..rows).collect();
    order.par_sort_by_cached_key(|&r| key(r));
    let mut ids = vec![0; rows];
    let mut id = 0;
    for k in 0..rows {
        if k > 0 && key(order[k]) != key(order[k - 1]) {
            id += 1;
        }
        ids[order[k]] = id;
    }
    (ids, if rows == 0 { 0 } else { id + 1 })
}

/// Refuses results that the tolerance decided inconsistently (near-degenerate input): every cell
/// must be closed (Σ area·n = 0, to the allowance its conditioning and its vertices' incidence defects
/// explain: [`crate::measure::CellGeometry::closure_allowance`]) and the volumes must add up to the box
/// volume, to what the rounding of their vertices explains ([`volume_sum_allowance`]) (for a shard, that sum is checked after the join of all shards). In exact mode the combinatorics are
/// certified and only the volume sum is checked: a cell thinner than float64 can resolve (a sliver between planes
/// 1e-15 apart) has facets whose areas are rounding noise relative to each other, which is no error of the
/// partition. Both checks hold far from the origin too: the model computes in local coordinates, in which every
/// axis of the box reaches at most two widths from 0 ([`crate::centred`]), so vertices carry rounding relative to
/// the box, not to its distance from the origin.
fn check_consistency<M: Model>(model: &M, buf: &CellBuffer, sharded: bool) -> Result<()> {
    let box_volume: f64 = model.lo().iter().zip(model.hi()).map(|(a, b)| b - a).product();
    let total: f64 = buf.volumes.iter().sum();
    let relative = if sharded {
        0.0
    } else {
        (total - box_volume).abs() / box_volume
    };
    let allowed = volume_sum_allowance(box_volume, buf.facet_areas.iter().sum(), model.frame().reach());
    if model.exact() {
        if relative.is_nan() || relative > allowed {
            return Err(GeomError::Numerical(format!(
                "cell volumes add up to {total} instead of {box_volume} (relative error {relative:.1e}, more than \
                 the {allowed:.1e} rounding explains): the certified cells could not be measured accurately in \
                 float64; rescale the box"
            )));
        }
        return Ok(());
    }
    let worst = &buf.worst_closure;
    if worst.excess > 1.0 || relative.is_nan() || relative > allowed {
        let mut point = worst.point.clone();
        model.frame().to_input(&mut point);
        let at: Vec<String> = point.iter().map(|v| format!("{v:.6}")).collect();
        return Err(GeomError::Numerical(format!(
            "the input is too close to degenerate for the tolerance (some hyperplanes nearly coincide or \
             nearly meet on a lower-dimensional set): cell volumes add up to {total} instead of {box_volume} \
             and the facets of the cell at [{}] close up only to {:.1e} of its area (its shape and rounding \
             explain {:.1e}). Pass exact=True to decide every predicate exactly, merge or separate the nearly \
             coincident hyperplanes, or perturb the input",
            at.join(", "),
            worst.residual,
            worst.allowed
        )));
    }
    Ok(())
}

/// The facet whose two sides' areas differ most relative to what their cells' measurement errors allow.
#[derive(Default)]
struct AreaMismatch {
    /// |a − b| / allowed (NaN counts as infinite).
    excess: f64,
    areas: (f64, f64),
    allowed: f64,
    /// Input plane (hyperplane class or neuron plane id − 2d) and the lower cell.
    plane: u32,
    cell: u32,
}

impl AreaMismatch {
    fn new(a: f64, b: f64, allowed: f64, plane: u32, cell: u32) -> Self {
        let diff = (a - b).abs();
        let excess = if diff <= allowed {
            if allowed > 0.0 { diff / allowed } else { 0.0 } // 0 ≤ 0, or anything ≤ ∞ (a sliver)
        } else if diff > allowed {
            diff / allowed // ∞ when nothing was allowed
        } else {
            f64::INFINITY // NaN
        };
        Self {
            excess,
            areas: (a, b),
            allowed,
            plane,
            cell,
        }
    }

    fn keep_worse(&mut self, other: Self) {
        if other.excess > self.excess {
            *self = other;
        }
    }

    /// A facet's area measured from its two cells must agree to the sum of the cells' area error bounds
    /// ([`CellBuffer::area_errors`]); more means the two cells disagree about the facet's shape.
    fn check(&self, exact: bool) -> Result<()> {
        if self.excess <= 1.0 {
            return Ok(());
        }
        let what_to_do = if exact {
            "translate the box towards the origin or rescale it"
        } else {
            "pass exact=True to decide every predicate exactly, or perturb the input"
        };
        Err(GeomError::Numerical(format!(
            "cell {} and its neighbour across plane {} measure their common facet's area as {:e} and {:e}, \
             more apart than the {:.1e} their measurement errors allow: the two cells disagree about the facet \
             (the input is too close to degenerate for the tolerance); {what_to_do}",
            self.cell, self.plane, self.areas.0, self.areas.1, self.allowed
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_areas_must_agree_to_their_cells_error_bounds() {
        assert!(AreaMismatch::new(1.0, 1.0 + 1e-9, 2e-9, 0, 3).check(false).is_ok());
        let err = AreaMismatch::new(1.0, 1.0 + 1e-6, 2e-9, 4, 3).check(false).unwrap_err();
        assert!(
            matches!(&err, GeomError::Numerical(m) if m.contains("cell 3") && m.contains("exact=True")),
            "{err}"
        );
        assert!(AreaMismatch::new(f64::NAN, 1.0, 1.0, 0, 0).check(true).is_err());
        assert!(AreaMismatch::new(0.0, 0.0, 0.0, 0, 0).check(true).is_ok()); // exact mode's unmeasurable slivers
        assert!(AreaMismatch::new(1.0, 0.0, f64::INFINITY, 0, 0).check(true).is_ok());
        assert!(AreaMismatch::new(1e-300, 0.0, 0.0, 0, 0).check(true).is_err());
        let mut worst = AreaMismatch::default();
        worst.keep_worse(AreaMismatch::new(1.0, 1.0, 1e-9, 0, 0));
        worst.keep_worse(AreaMismatch::new(1.0, 2.0, 1e-9, 1, 7));
        worst.keep_worse(AreaMismatch::new(1.0, 1.5, 1e-9, 2, 8));
        assert_eq!((worst.plane, worst.cell), (1, 7));
    }
}
