//! Ollivier–Ricci curvature of weighted graphs, with exact Wasserstein-1 transport.
//!
//! Gajer & Ravel (arXiv 2508.02080) define a *statistical Ricci curvature* on the edges of the nerve of a
//! partition; paper.md §5 reconstructs it as Ollivier's coarse Ricci curvature with data-driven
//! neighbour measures. This module is the graph-level engine for it. For an undirected graph whose
//! edge weights are lengths:
//!
//! * d(x, y) is the weighted shortest-path distance (Dijkstra; no all-pairs table is ever built);
//! * every node x carries a probability measure m_x on its closed neighbourhood {x} ∪ N(x)
//!   ([`Measures`]: a mass at x itself and one per incident edge);
//! * κ(x, y) = 1 − W₁(m_x, m_y) / d(x, y) for every edge, where W₁ is the optimal-transport cost with
//!   the shortest-path distance as ground cost, solved exactly by a transportation simplex
//!   ([`TransportSolver`]); κ = 0 when d(x, y) < 1e-7;
//! * the curvature of a node is the mean curvature of its edges (NaN for an isolated node).
//!
//! With [`exponential_measures`] this reproduces the exact ("OTD") Ollivier curvature of
//! GraphRicciCurvature (Ni et al. 2015/2019) value for value. Optionally W₁ is replaced by the
//! entropic (Sinkhorn) cost of POT's `sinkhorn2`, as GraphRicciCurvature's `method="Sinkhorn"` does.
//!
//! Work is parallel over edges (rayon) and deterministic: every edge is computed by the same
//! sequence of floating-point operations whatever the number of threads.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::{GeomError, Result, invalid};
use crate::partition::with_threads;

/// Below this shortest-path distance an edge gets curvature 0 (GraphRicciCurvature's `EPSILON`).
pub const MIN_DISTANCE: f64 = 1e-7;

/// Below this total neighbour weight the neighbour mass is shared equally (GraphRicciCurvature).
pub const MIN_WEIGHT_SUM: f64 = 1e-7;

/// An undirected graph with non-negative edge lengths in compressed sparse row form.
///
/// Row x lists the neighbours of x in strictly increasing order with the length of each edge; every
/// edge is stored in both directions with the same length, and there are no self-loops.
#[derive(Clone, Debug)]
pub struct CsrGraph {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    lengths: Vec<f64>,
    /// `reverse[p]` is the position of the entry (y, x) for the entry p = (x, y).
    reverse: Vec<usize>,
}

impl CsrGraph {
    /// Validates a symmetric CSR matrix (sorted rows, no diagonal, finite non-negative lengths).
    pub fn new(indptr: Vec<usize>, indices: Vec<u32>, lengths: Vec<f64>) -> Result<Self> {
        if indptr.is_empty() {
            return invalid("indptr must have n + 1 entries (at least one)");
        }
        let n = indptr.len() - 1;
        if n > u32::MAX as usize {
            return invalid(format!("a graph may have at most {} nodes; got {n}", u32::MAX));
        }
        if indptr[0] != 0 || indptr[n] != indices.len() || indices.len() != lengths.len() {
            return invalid(format!(
                "inconsistent CSR arrays: indptr runs from {} to {}, with {} indices and {} lengths",
                indptr[0],
                indptr[n],
                indices.len(),
                lengths.len()
            ));
        }
        for x in 0..n {
            let (lo, hi) = (indptr[x], indptr[x + 1]);
            if lo > hi {
                return invalid(format!("indptr decreases at row {x}"));
            }
            let mut previous: Option<u32> = None;
            for p in lo..hi {
                let y = indices[p];
                if y as usize >= n {
                    return invalid(format!("row {x} has neighbour {y}, but the graph has {n} nodes"));
                }
                if y as usize == x {
                    return invalid(format!("node {x} has a self-loop; remove the diagonal first"));
                }
                if previous.is_some_and(|q| q >= y) {
                    return invalid(format!("the neighbours of node {x} are not sorted and unique"));
                }
                previous = Some(y);
                let w = lengths[p];
                if !(w.is_finite() && w >= 0.0) {
                    return invalid(format!(
                        "edge ({x}, {y}) has length {w}; lengths must be finite and non-negative"
                    ));
                }
            }
        }
        let reverse = reverse_entries(&indptr, &indices, &lengths)?;
        Ok(Self {
            indptr,
            indices,
            lengths,
            reverse,
        })
    }

    /// The same graph with node `order[k]` renamed `k`, and for each of its entries the entry of `self`.
    fn relabelled(&self, order: &[u32]) -> (Self, Vec<usize>) {
        let n = self.n_nodes();
        let mut new_label = vec![0u32; n];
        for (k, &old) in order.iter().enumerate() {
            new_label[old as usize] = k as u32;
        }
        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0);
        let mut indices = Vec::with_capacity(self.n_entries());
        let mut lengths = Vec::with_capacity(self.n_entries());
        let mut source = Vec::with_capacity(self.n_entries());
        let mut row: Vec<(u32, usize)> = Vec::new();
        for &old in order {
            row.clear();
            row.extend(self.row(old as usize).map(|p| (new_label[self.indices[p] as usize], p)));
            row.sort_unstable();
            for &(y, p) in &row {
                indices.push(y);
                lengths.push(self.lengths[p]);
                source.push(p);
            }
            indptr.push(indices.len());
        }
        let reverse = reverse_entries(&indptr, &indices, &lengths).expect("relabelling keeps the graph undirected");
        let graph = Self {
            indptr,
            indices,
            lengths,
            reverse,
        };
        (graph, source)
    }

    /// A breadth-first order of the nodes (component by component, from the smallest unvisited label):
    /// neighbours get nearby labels, so searches touch memory in a cache-friendly way.
    fn breadth_first_order(&self) -> Vec<u32> {
        let n = self.n_nodes();
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        for start in 0..n {
            if seen[start] {
                continue;
            }
            seen[start] = true;
            let mut head = order.len();
            order.push(start as u32);
            while head < order.len() {
                let x = order[head] as usize;
                head += 1;
                for p in self.row(x) {
                    let y = self.indices[p] as usize;
                    if !seen[y] {
                        seen[y] = true;
                        order.push(y as u32);
                    }
                }
            }
        }
        order
    }

    /// The number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.indptr.len() - 1
    }

    /// The number of stored entries (twice the number of edges).
    pub fn n_entries(&self) -> usize {
        self.indices.len()
    }

    /// The number of neighbours of `x`.
    pub fn degree(&self, x: usize) -> usize {
        self.indptr[x + 1] - self.indptr[x]
    }

    /// Row offsets (n + 1).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Neighbour of each entry.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Length of each entry.
    pub fn lengths(&self) -> &[f64] {
        &self.lengths
    }

    /// Position of the opposite entry (y, x) of each entry (x, y).
    pub fn reverse(&self) -> &[usize] {
        &self.reverse
    }

    fn row(&self, x: usize) -> std::ops::Range<usize> {
        self.indptr[x]..self.indptr[x + 1]
    }
}

/// For each entry (x, y) the position of (y, x); refuses a graph that is not undirected.
fn reverse_entries(indptr: &[usize], indices: &[u32], lengths: &[f64]) -> Result<Vec<usize>> {
    let n = indptr.len() - 1;
    let mut reverse = vec![usize::MAX; indices.len()];
    for x in 0..n {
        for p in indptr[x]..indptr[x + 1] {
            let y = indices[p] as usize;
            let row = &indices[indptr[y]..indptr[y + 1]];
            let Ok(k) = row.binary_search(&(x as u32)) else {
                return invalid(format!(
                    "the graph must be undirected: edge ({x}, {y}) is stored but ({y}, {x}) is not"
                ));
            };
            let q = indptr[y] + k;
            if lengths[q] != lengths[p] {
                return invalid(format!(
                    "the graph must be undirected: edge ({x}, {y}) has length {} one way and {} the other",
                    lengths[p], lengths[q]
                ));
            }
            reverse[p] = q;
        }
    }
    Ok(reverse)
}

/// The neighbour measures m_x: `self_mass[x]` = m_x(x) and `nbr_mass[p]` = m_x(y) for the entry p = (x, y).
///
/// Each node's masses are non-negative and sum to 1.
#[derive(Clone, Debug)]
pub struct Measures {
    pub self_mass: Vec<f64>,
    pub nbr_mass: Vec<f64>,
}

impl Measures {
    /// Checks shapes, signs and that every node's total mass is 1 (to 1e-9).
    pub fn validate(&self, graph: &CsrGraph) -> Result<()> {
        let n = graph.n_nodes();
        if self.self_mass.len() != n || self.nbr_mass.len() != graph.n_entries() {
            return invalid(format!(
                "measures need one self mass per node ({n}) and one neighbour mass per stored entry ({}); \
                 got {} and {}",
                graph.n_entries(),
                self.self_mass.len(),
                self.nbr_mass.len()
            ));
        }
        for x in 0..n {
            let mut total = self.self_mass[x];
            let mut ok = total.is_finite() && total >= 0.0;
            for p in graph.row(x) {
                let m = self.nbr_mass[p];
                ok &= m.is_finite() && m >= 0.0;
                total += m;
            }
            if !ok {
                return invalid(format!("the measure of node {x} has a negative or non-finite mass"));
            }
            if (total - 1.0).abs() > 1e-9 {
                return invalid(format!(
                    "the measure of node {x} has total mass {total}; each node's masses must sum to 1"
                ));
            }
        }
        Ok(())
    }
}

/// GraphRicciCurvature's neighbour measures: m_x(x) = α and
/// m_x(y) = (1 − α)·base^(−w_xy^p) / Σ_{u∼x} base^(−w_xu^p) with p = `exp_power`;
/// equal shares (1 − α)/deg(x) when that sum is at most 1e-7; an isolated node keeps all its mass.
///
/// `exp_power = 0` gives the uniform (lazy random walk) measure.
pub fn exponential_measures(graph: &CsrGraph, alpha: f64, base: f64, exp_power: f64) -> Result<Measures> {
    if !(0.0..=1.0).contains(&alpha) {
        return invalid(format!("alpha must lie in [0, 1]; got {alpha}"));
    }
    let valid = base.is_finite() && base > 0.0 && exp_power.is_finite();
    if !valid {
        return invalid(format!(
            "base must be finite and positive and exp_power finite; got base={base}, exp_power={exp_power}"
        ));
    }
    let n = graph.n_nodes();
    let mut self_mass = vec![alpha; n];
    let mut nbr_mass = vec![0.0; graph.n_entries()];
    for x in 0..n {
        let row = graph.row(x);
        if row.is_empty() {
            self_mass[x] = 1.0;
            continue;
        }
        let mut sum = 0.0;
        for p in row.clone() {
            // Python's `base ** (-w ** p)`: the C library's pow, twice.
            let w = base.powf(-graph.lengths[p].powf(exp_power));
            nbr_mass[p] = w;
            sum += w;
        }
        if sum > MIN_WEIGHT_SUM {
            for p in row {
                nbr_mass[p] = (1.0 - alpha) * nbr_mass[p] / sum;
            }
        } else {
            let share = (1.0 - alpha) / row.len() as f64;
            for p in row {
                nbr_mass[p] = share;
            }
        }
    }
    Ok(Measures { self_mass, nbr_mass })
}

/// How W₁ is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TransportMethod {
    /// Exact optimal transport (transportation simplex).
    Exact,
    /// POT's `sinkhorn2` with entropic regularisation `reg` (Sinkhorn–Knopp, at most 1000 iterations,
    /// stop when the marginal error is below 1e-9); falls back to the exact cost where the kernel
    /// underflows.
    Sinkhorn { reg: f64 },
}

/// Options of [`ollivier_ricci`].
#[derive(Clone, Copy, Debug)]
pub struct OllivierOptions<'a> {
    /// Worker threads; `None` uses rayon's global pool.
    pub n_threads: Option<usize>,
    pub method: TransportMethod,
    /// Compute only the edges owned by the nodes `start..stop` (original ids), leaving the others NaN,
    /// so that disjoint ranges split the work across machines with the same values (each edge is
    /// computed by one owner, the same one as for the whole graph). Node curvatures are then NaN.
    pub owners: Option<(usize, usize)>,
    /// Set from another thread to stop early with [`GeomError::Interrupted`] (checked per node).
    pub cancel: Option<&'a AtomicBool>,
    /// Incremented by the number of edges finished (each edge once), for progress bars.
    pub progress: Option<&'a AtomicUsize>,
}

impl Default for OllivierOptions<'_> {
    fn default() -> Self {
        Self {
            n_threads: None,
            method: TransportMethod::Exact,
            owners: None,
            cancel: None,
            progress: None,
        }
    }
}

/// Edge and node curvatures.
#[derive(Clone, Debug)]
pub struct Curvature {
    /// κ of every stored entry (both directions of an edge hold the same value).
    pub edge: Vec<f64>,
    /// Mean κ of each node's edges (NaN for an isolated node).
    pub node: Vec<f64>,
}

/// Ollivier–Ricci curvature κ(x, y) = 1 − W₁(m_x, m_y)/d(x, y) of every edge (see the module docs).
pub fn ollivier_ricci(graph: &CsrGraph, measures: &Measures, opts: OllivierOptions) -> Result<Curvature> {
    measures.validate(graph)?;
    if let TransportMethod::Sinkhorn { reg } = opts.method
        && !(reg.is_finite() && reg > 0.0)
    {
        return invalid(format!("the Sinkhorn regularisation must be positive; got {reg}"));
    }
    // Work on a breadth-first relabelling (results are mapped back entry by entry).
    let order = graph.breadth_first_order();
    let (local, source) = graph.relabelled(&order);
    let local_measures = Measures {
        self_mass: order.iter().map(|&old| measures.self_mass[old as usize]).collect(),
        nbr_mass: source.iter().map(|&p| measures.nbr_mass[p]).collect(),
    };
    let active: Vec<bool> = match opts.owners {
        Some((start, stop)) => order
            .iter()
            .map(|&old| (start..stop).contains(&(old as usize)))
            .collect(),
        None => vec![true; order.len()],
    };
    let local_edge = edge_curvatures(&local, &local_measures, &active, opts)?;
    let mut edge = vec![f64::NAN; graph.n_entries()];
    for (p, &kappa) in local_edge.iter().enumerate() {
        edge[source[p]] = kappa;
    }
    if opts.owners.is_some() {
        let node = vec![f64::NAN; graph.n_nodes()];
        return Ok(Curvature { edge, node });
    }
    let node = (0..graph.n_nodes())
        .map(|x| {
            let row = graph.row(x);
            if row.is_empty() {
                f64::NAN
            } else {
                let len = row.len();
                edge[row].iter().sum::<f64>() / len as f64
            }
        })
        .collect();
    Ok(Curvature { edge, node })
}

/// κ of every entry of `graph` owned by an `active` node (both directions), parallel over the owners.
fn edge_curvatures(graph: &CsrGraph, measures: &Measures, active: &[bool], opts: OllivierOptions) -> Result<Vec<f64>> {
    let n = graph.n_nodes();
    let per_owner: Vec<Vec<(usize, f64)>> = with_threads(opts.n_threads, || {
        let workspaces: Vec<Mutex<Option<Workspace>>> = (0..rayon::current_num_threads().max(1))
            .map(|_| Mutex::new(None))
            .collect();
        (0..n)
            .into_par_iter()
            .with_min_len(16)
            .filter(|&x| active[x])
            .map(|x| {
                if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    return Err(GeomError::Interrupted);
                }
                let slot = rayon::current_thread_index().unwrap_or(0) % workspaces.len();
                let mut guard = workspaces[slot].lock().unwrap_or_else(|e| e.into_inner());
                let ws = guard.get_or_insert_with(|| Workspace::new(n));
                let owned = ws.owner_edges(graph, measures, x, opts.method)?;
                if let Some(p) = opts.progress {
                    p.fetch_add(owned.len(), Ordering::Relaxed);
                }
                Ok(owned)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut edge = vec![f64::NAN; graph.n_entries()];
    for (p, kappa) in per_owner.into_iter().flatten() {
        edge[p] = kappa;
        edge[graph.reverse[p]] = kappa;
    }
    Ok(edge)
}

/// Whether `x` computes the edge (x, y): the endpoint of smaller degree, the smaller index on ties.
/// The owner's closed neighbourhood is the smaller side of the transport problem.
fn owns(graph: &CsrGraph, x: usize, y: usize) -> bool {
    let (dx, dy) = (graph.degree(x), graph.degree(y));
    dx < dy || (dx == dy && x < y)
}

/// Per-thread scratch space: Dijkstra arrays over all nodes plus the transport solver.
struct Workspace {
    dist: Vec<f64>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    /// Local index of each target node of the current owner (u32::MAX elsewhere).
    slot: Vec<u32>,
    targets: Vec<u32>,
    /// Distances from the owner's support (rows) to its targets (columns).
    table: Vec<f64>,
    cost: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    solver: TransportSolver,
}

impl Workspace {
    fn new(n: usize) -> Self {
        Self {
            dist: vec![f64::INFINITY; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            slot: vec![u32::MAX; n],
            targets: Vec::new(),
            table: Vec::new(),
            cost: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
            solver: TransportSolver::default(),
        }
    }

    /// Curvature of every edge owned by `x`, as (entry position of (x, y), κ).
    fn owner_edges(
        &mut self,
        graph: &CsrGraph,
        measures: &Measures,
        x: usize,
        method: TransportMethod,
    ) -> Result<Vec<(usize, f64)>> {
        let row_x = graph.row(x);
        let owned: Vec<usize> = row_x
            .clone()
            .filter(|&p| owns(graph, x, graph.indices[p] as usize))
            .collect();
        if owned.is_empty() {
            return Ok(Vec::new());
        }
        // Targets: the closed neighbourhoods of the other endpoints.
        self.targets.clear();
        for &p in &owned {
            let y = graph.indices[p] as usize;
            for node in graph.indices[graph.row(y)]
                .iter()
                .copied()
                .chain(std::iter::once(y as u32))
            {
                if self.slot[node as usize] == u32::MAX {
                    self.slot[node as usize] = self.targets.len() as u32;
                    self.targets.push(node);
                }
            }
        }
        // Sources: the closed neighbourhood of x, neighbours first, x last.
        let sources: Vec<u32> = graph.indices[row_x.clone()]
            .iter()
            .copied()
            .chain(std::iter::once(x as u32))
            .collect();
        let n_targets = self.targets.len();
        self.table.clear();
        self.table.resize(sources.len() * n_targets, f64::INFINITY);
        for (s, &source) in sources.iter().enumerate() {
            self.dijkstra(graph, source, s * n_targets, n_targets);
        }
        let x_row = sources.len() - 1;
        let mut out = Vec::with_capacity(owned.len());
        let mut result = Ok(());
        for &p in &owned {
            let y = graph.indices[p] as usize;
            let d_xy = self.table[x_row * n_targets + self.slot[y] as usize];
            if d_xy < MIN_DISTANCE {
                out.push((p, 0.0));
                continue;
            }
            // The transport problem: rows = support of x, columns = support of y.
            let row_y = graph.row(y);
            let cols: Vec<usize> = graph.indices[row_y.clone()]
                .iter()
                .map(|&v| self.slot[v as usize] as usize)
                .chain(std::iter::once(self.slot[y] as usize))
                .collect();
            self.a.clear();
            self.a.extend_from_slice(&measures.nbr_mass[row_x.clone()]);
            self.a.push(measures.self_mass[x]);
            self.b.clear();
            self.b.extend_from_slice(&measures.nbr_mass[row_y]);
            self.b.push(measures.self_mass[y]);
            self.cost.clear();
            for s in 0..sources.len() {
                let base = s * n_targets;
                self.cost.extend(cols.iter().map(|&c| self.table[base + c]));
            }
            let w1 = match method {
                TransportMethod::Exact => self.solver.solve(&self.a, &self.b, &self.cost),
                TransportMethod::Sinkhorn { reg } => sinkhorn_cost(&self.a, &self.b, &self.cost, reg)
                    .map_or_else(|| self.solver.solve(&self.a, &self.b, &self.cost), Ok),
            };
            match w1 {
                Ok(w1) => out.push((p, 1.0 - w1 / d_xy)),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        for &t in &self.targets {
            self.slot[t as usize] = u32::MAX;
        }
        result.map(|()| out)
    }

    /// Dijkstra from `source`, stopping once every target is settled; writes the target distances
    /// into `table[offset .. offset + n_targets]`.
    fn dijkstra(&mut self, graph: &CsrGraph, source: u32, offset: usize, n_targets: usize) {
        let mut remaining = n_targets;
        self.dist[source as usize] = 0.0;
        self.touched.push(source);
        self.heap.push(Reverse((0f64.to_bits(), source)));
        // Non-negative finite floats order like their bit patterns.
        while let Some(Reverse((bits, v))) = self.heap.pop() {
            let d = f64::from_bits(bits);
            let vi = v as usize;
            if d > self.dist[vi] {
                continue;
            }
            let s = self.slot[vi];
            if s != u32::MAX && self.table[offset + s as usize] == f64::INFINITY {
                self.table[offset + s as usize] = d;
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            for p in graph.row(vi) {
                let u = graph.indices[p];
                let nd = d + graph.lengths[p];
                if nd < self.dist[u as usize] {
                    if self.dist[u as usize] == f64::INFINITY {
                        self.touched.push(u);
                    }
                    self.dist[u as usize] = nd;
                    self.heap.push(Reverse((nd.to_bits(), u)));
                }
            }
        }
        self.heap.clear();
        for &t in &self.touched {
            self.dist[t as usize] = f64::INFINITY;
        }
        self.touched.clear();
    }
}

/// Exact optimal transport between two small discrete measures: the transportation simplex
/// (a network simplex on the complete bipartite graph).
///
/// The initial basis comes from the least-cost rule (a spanning tree of m + n − 1 cells); pivots
/// enter the most negative reduced cost within blocks of about √(mn) cells (full Dantzig pricing for
/// small problems) and switch to Bland's rule after many pivots, which rules out cycling. A solution is
/// optimal when no reduced cost is below −τ with τ ≈ 64·ε·(m + n)·max|c|, so its cost is within τ of
/// the true minimum (the masses sum to 1). Reuses its buffers across calls.
#[derive(Default, Debug)]
pub struct TransportSolver {
    rows: Vec<usize>,
    cols: Vec<usize>,
    supply: Vec<f64>,
    demand: Vec<f64>,
    cost: Vec<f64>,
    order: Vec<u32>,
    row_open: Vec<bool>,
    col_open: Vec<bool>,
    /// Basic cells (row, column) and their flows: a spanning tree on the m + n line nodes.
    basis: Vec<(u32, u32)>,
    flow: Vec<f64>,
    adj_start: Vec<usize>,
    adj: Vec<u32>,
    parent_edge: Vec<u32>,
    depth: Vec<u32>,
    potential: Vec<f64>,
    queue: Vec<u32>,
    minus: Vec<u32>,
    plus: Vec<u32>,
    /// Pivots before Bland's rule takes over (tests set 0 to exercise it).
    bland_after: Option<usize>,
}

impl TransportSolver {
    /// The minimal cost Σ c_ij π_ij over couplings π of `a` (m) and `b` (n); `cost` is m × n, row-major.
    ///
    /// The masses must be non-negative with positive totals; `b` is rescaled to the total of `a`
    /// (as POT does) so tiny rounding differences between the totals do not matter.
    pub fn solve(&mut self, a: &[f64], b: &[f64], cost: &[f64]) -> Result<f64> {
        let (m0, n0) = (a.len(), b.len());
        if cost.len() != m0 * n0 {
            return invalid(format!("cost must be {m0} × {n0}; got {} entries", cost.len()));
        }
        let total_a: f64 = a.iter().sum();
        let total_b: f64 = b.iter().sum();
        if !(total_a > 0.0 && total_b > 0.0 && total_a.is_finite() && total_b.is_finite()) {
            return invalid("both measures need a positive, finite total mass");
        }
        // Only the lines with positive mass take part.
        self.rows.clear();
        self.rows.extend((0..m0).filter(|&i| a[i] > 0.0));
        self.cols.clear();
        self.cols.extend((0..n0).filter(|&j| b[j] > 0.0));
        let (m, n) = (self.rows.len(), self.cols.len());
        let scale = total_a / total_b;
        self.supply.clear();
        self.supply.extend(self.rows.iter().map(|&i| a[i]));
        self.demand.clear();
        self.demand.extend(self.cols.iter().map(|&j| b[j] * scale));
        self.cost.clear();
        let mut max_cost: f64 = 0.0;
        for &i in &self.rows {
            for &j in &self.cols {
                let c = cost[i * n0 + j];
                if !c.is_finite() {
                    return invalid(format!("transport cost ({i}, {j}) is {c}"));
                }
                max_cost = max_cost.max(c.abs());
                self.cost.push(c);
            }
        }
        if m == 1 || n == 1 {
            // The only coupling.
            let mut w = 0.0;
            for i in 0..m {
                for j in 0..n {
                    let mass = if m == 1 { self.demand[j] } else { self.supply[i] };
                    w += mass * self.cost[i * n + j];
                }
            }
            return Ok(w);
        }
        self.initial_basis(m, n);
        let tol = 64.0 * f64::EPSILON * (m + n) as f64 * max_cost.max(f64::MIN_POSITIVE);
        let cells = m * n;
        let block = if cells <= 256 {
            cells
        } else {
            ((cells as f64).sqrt().ceil() as usize).max(64)
        };
        let bland_after = self.bland_after.unwrap_or(50 * (m + n) + 1000);
        let give_up = 200 * (m + n) * (m + n) + 100_000;
        let mut next = 0usize;
        let mut pivots = 0usize;
        loop {
            self.build_tree(m, n);
            let entering = if pivots < bland_after {
                self.price_block(m, n, tol, block, &mut next)
            } else {
                self.price_bland(m, n, tol)
            };
            let Some(cell) = entering else { break };
            self.pivot(m, cell, pivots >= bland_after);
            pivots += 1;
            if pivots > give_up {
                return Err(GeomError::Numerical(format!(
                    "the transport simplex did not converge in {pivots} pivots ({m} × {n} problem)"
                )));
            }
        }
        let mut w = 0.0;
        for (k, &(i, j)) in self.basis.iter().enumerate() {
            w += self.flow[k] * self.cost[i as usize * n + j as usize];
        }
        Ok(w)
    }

    /// Least-cost rule: allocate along the cells in increasing cost, closing exactly one line per
    /// allocation (both at the last), which yields a spanning tree of m + n − 1 basic cells.
    fn initial_basis(&mut self, m: usize, n: usize) {
        self.order.clear();
        self.order.extend(0..(m * n) as u32);
        let cost = &self.cost;
        self.order
            .sort_unstable_by(|&p, &q| cost[p as usize].total_cmp(&cost[q as usize]).then(p.cmp(&q)));
        self.row_open.clear();
        self.row_open.resize(m, true);
        self.col_open.clear();
        self.col_open.resize(n, true);
        self.basis.clear();
        self.flow.clear();
        let (mut open_rows, mut open_cols) = (m, n);
        for &cell in &self.order {
            let (i, j) = (cell as usize / n, cell as usize % n);
            if !self.row_open[i] || !self.col_open[j] {
                continue;
            }
            let (ra, rb) = (self.supply[i], self.demand[j]);
            let close_row = if open_rows == 1 && open_cols == 1 {
                self.basis.push((i as u32, j as u32));
                self.flow.push(ra.max(0.0));
                break;
            } else if open_rows == 1 {
                false
            } else if open_cols == 1 {
                true
            } else {
                ra <= rb
            };
            self.basis.push((i as u32, j as u32));
            if close_row {
                self.flow.push(ra);
                self.demand[j] = (rb - ra).max(0.0);
                self.supply[i] = 0.0;
                self.row_open[i] = false;
                open_rows -= 1;
            } else {
                self.flow.push(rb);
                self.supply[i] = (ra - rb).max(0.0);
                self.demand[j] = 0.0;
                self.col_open[j] = false;
                open_cols -= 1;
            }
        }
        debug_assert_eq!(self.basis.len(), m + n - 1);
    }

    /// Adjacency of the basis tree, its BFS parents/depths from row 0 and the dual potentials
    /// (u_i for rows 0..m, v_j for columns m..m+n, with u_0 = 0 and u_i + v_j = c_ij on the basis).
    fn build_tree(&mut self, m: usize, n: usize) {
        let nodes = m + n;
        self.adj_start.clear();
        self.adj_start.resize(nodes + 1, 0);
        for &(i, j) in &self.basis {
            self.adj_start[i as usize + 1] += 1;
            self.adj_start[m + j as usize + 1] += 1;
        }
        for v in 0..nodes {
            self.adj_start[v + 1] += self.adj_start[v];
        }
        self.adj.clear();
        self.adj.resize(2 * self.basis.len(), 0);
        let mut fill = self.adj_start.clone();
        for (k, &(i, j)) in self.basis.iter().enumerate() {
            self.adj[fill[i as usize]] = k as u32;
            fill[i as usize] += 1;
            self.adj[fill[m + j as usize]] = k as u32;
            fill[m + j as usize] += 1;
        }
        self.parent_edge.clear();
        self.parent_edge.resize(nodes, u32::MAX);
        self.depth.clear();
        self.depth.resize(nodes, u32::MAX);
        self.potential.clear();
        self.potential.resize(nodes, 0.0);
        self.queue.clear();
        self.queue.push(0);
        self.depth[0] = 0;
        let mut head = 0;
        while head < self.queue.len() {
            let v = self.queue[head] as usize;
            head += 1;
            for &k in &self.adj[self.adj_start[v]..self.adj_start[v + 1]] {
                let (i, j) = self.basis[k as usize];
                let (i, j) = (i as usize, j as usize);
                let other = if v < m { m + j } else { i };
                if self.depth[other] != u32::MAX {
                    continue;
                }
                self.depth[other] = self.depth[v] + 1;
                self.parent_edge[other] = k;
                let c = self.cost[i * n + j];
                self.potential[other] = c - self.potential[v];
                self.queue.push(other as u32);
            }
        }
        debug_assert_eq!(self.queue.len(), nodes, "the basis must be a spanning tree");
    }

    fn reduced(&self, m: usize, n: usize, cell: usize) -> f64 {
        let (i, j) = (cell / n, cell % n);
        self.cost[cell] - self.potential[i] - self.potential[m + j]
    }

    /// Block pricing: the most negative reduced cost in the first block (cyclically from `next`)
    /// that has one below −tol.
    fn price_block(&self, m: usize, n: usize, tol: f64, block: usize, next: &mut usize) -> Option<usize> {
        let cells = m * n;
        let mut best: Option<(f64, usize)> = None;
        let mut scanned = 0;
        let mut pos = *next;
        while scanned < cells {
            let r = self.reduced(m, n, pos);
            if r < -tol && best.is_none_or(|(b, _)| r < b) {
                best = Some((r, pos));
            }
            pos += 1;
            if pos == cells {
                pos = 0;
            }
            scanned += 1;
            if scanned % block == 0 && best.is_some() {
                break;
            }
        }
        *next = pos;
        best.map(|(_, cell)| cell)
    }

    /// Bland's rule: the lowest-index cell with a negative reduced cost.
    fn price_bland(&self, m: usize, n: usize, tol: f64) -> Option<usize> {
        (0..m * n).find(|&cell| self.reduced(m, n, cell) < -tol)
    }

    /// Adds `cell` to the basis and removes the blocking cell of the cycle it closes.
    fn pivot(&mut self, m: usize, cell: usize, bland: bool) {
        let n = self.cost.len() / m;
        let (p, q) = (cell / n, cell % n);
        // The tree path from row p to column q: climb both ends to their common ancestor. Along the
        // path the signs alternate starting with − at each end (the entering cell is +).
        self.minus.clear();
        self.plus.clear();
        let (mut a, mut b) = (p, m + q);
        let (mut ka, mut kb) = (0usize, 0usize);
        while a != b {
            if self.depth[a] >= self.depth[b] {
                let e = self.parent_edge[a];
                if ka % 2 == 0 { &mut self.minus } else { &mut self.plus }.push(e);
                ka += 1;
                a = self.other_end(m, e, a);
            } else {
                let e = self.parent_edge[b];
                if kb % 2 == 0 { &mut self.minus } else { &mut self.plus }.push(e);
                kb += 1;
                b = self.other_end(m, e, b);
            }
        }
        // Ratio test; ties go to the lowest cell index under Bland's rule, else to the first found.
        let mut leave = self.minus[0];
        for &e in &self.minus[1..] {
            let (fe, fl) = (self.flow[e as usize], self.flow[leave as usize]);
            let key = |k: u32| {
                let (i, j) = self.basis[k as usize];
                i as usize * n + j as usize
            };
            if fe < fl || (bland && fe == fl && key(e) < key(leave)) {
                leave = e;
            }
        }
        let theta = self.flow[leave as usize];
        for &e in &self.minus {
            self.flow[e as usize] = (self.flow[e as usize] - theta).max(0.0);
        }
        for &e in &self.plus {
            self.flow[e as usize] += theta;
        }
        self.basis[leave as usize] = (p as u32, q as u32);
        self.flow[leave as usize] = theta;
    }

    fn other_end(&self, m: usize, edge: u32, node: usize) -> usize {
        let (i, j) = self.basis[edge as usize];
        if node < m { m + j as usize } else { i as usize }
    }
}

/// POT's `sinkhorn2(a, b, M, reg)` (Sinkhorn–Knopp): Σ M ∘ diag(u) K diag(v) with K = exp(−M/reg).
/// Returns `None` when the scaling breaks down (a kernel row or column underflows to zero), where POT
/// would return its last finite iterate; the caller then uses the exact cost.
pub fn sinkhorn_cost(a: &[f64], b: &[f64], cost: &[f64], reg: f64) -> Option<f64> {
    let (m, n) = (a.len(), b.len());
    let k: Vec<f64> = cost.iter().map(|&c| (c / -reg).exp()).collect();
    let mut u = vec![1.0 / m as f64; m];
    let mut v = vec![1.0 / n as f64; n];
    let mut ktu = vec![0.0; n];
    for iteration in 0..1000 {
        let (u_prev, v_prev) = (u.clone(), v.clone());
        ktu.iter_mut().for_each(|t| *t = 0.0);
        for i in 0..m {
            for j in 0..n {
                ktu[j] += k[i * n + j] * u[i];
            }
        }
        for j in 0..n {
            v[j] = b[j] / ktu[j];
        }
        for i in 0..m {
            let kv: f64 = (0..n).map(|j| k[i * n + j] * v[j]).sum::<f64>() / a[i];
            u[i] = 1.0 / kv;
        }
        let broken = ktu.contains(&0.0) || u.iter().chain(&v).any(|x| !x.is_finite());
        if broken {
            if iteration == 0 {
                return None;
            }
            u = u_prev;
            v = v_prev;
            break;
        }
        if iteration % 10 == 0 {
            let mut err = 0.0;
            for j in 0..n {
                let col: f64 = (0..m).map(|i| u[i] * k[i * n + j]).sum::<f64>() * v[j];
                err += (col - b[j]) * (col - b[j]);
            }
            if err.sqrt() < 1e-9 {
                break;
            }
        }
    }
    let mut w = 0.0;
    for i in 0..m {
        for j in 0..n {
            w += cost[i * n + j] * u[i] * k[i * n + j] * v[j];
        }
    }
    w.is_finite().then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// W₁ on the real line: ∫ |F_a − F_b|.
    fn w1_line(xa: &[f64], a: &[f64], xb: &[f64], b: &[f64]) -> f64 {
        let mut events: Vec<(f64, f64)> = xa.iter().zip(a).map(|(&x, &m)| (x, m)).collect();
        events.extend(xb.iter().zip(b).map(|(&x, &m)| (x, -m)));
        events.sort_by(|p, q| p.0.total_cmp(&q.0));
        let (mut cdf, mut w) = (0.0, 0.0);
        for k in 0..events.len() - 1 {
            cdf += events[k].1;
            w += cdf.abs() * (events[k + 1].0 - events[k].0);
        }
        w
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn random_measure(rng: &mut Lcg, k: usize, zeros: bool) -> Vec<f64> {
        let mut m: Vec<f64> = (0..k)
            .map(|_| if zeros && rng.next() < 0.3 { 0.0 } else { rng.next() })
            .collect();
        if m.iter().all(|&v| v == 0.0) {
            m[0] = 1.0;
        }
        let s: f64 = m.iter().sum();
        m.iter_mut().for_each(|v| *v /= s);
        m
    }

    #[test]
    fn transport_matches_the_line_formula() {
        let mut rng = Lcg(7);
        let mut solver = TransportSolver::default();
        for trial in 0..2000 {
            let m = 1 + trial % 9;
            let n = 1 + (trial / 9) % 11;
            let xa: Vec<f64> = (0..m).map(|_| (rng.next() * 10.0).floor() / 2.0).collect();
            let xb: Vec<f64> = (0..n).map(|_| (rng.next() * 10.0).floor() / 2.0).collect();
            let a = random_measure(&mut rng, m, trial % 3 == 0);
            let b = random_measure(&mut rng, n, trial % 5 == 0);
            let cost: Vec<f64> = xa
                .iter()
                .flat_map(|&x| xb.iter().map(move |&y| (x - y).abs()))
                .collect();
            let got = solver.solve(&a, &b, &cost).unwrap();
            let want = w1_line(&xa, &a, &xb, &b);
            assert!((got - want).abs() < 1e-13, "trial {trial}: {got} vs {want}");
        }
    }

    #[test]
    fn transport_large_unbalanced_shapes() {
        let mut rng = Lcg(11);
        let mut solver = TransportSolver::default();
        for &(m, n) in &[(400, 2), (3, 300), (60, 70)] {
            let xa: Vec<f64> = (0..m).map(|_| rng.next()).collect();
            let xb: Vec<f64> = (0..n).map(|_| rng.next()).collect();
            let a = random_measure(&mut rng, m, false);
            let b = random_measure(&mut rng, n, false);
            let cost: Vec<f64> = xa
                .iter()
                .flat_map(|&x| xb.iter().map(move |&y| (x - y).abs()))
                .collect();
            let got = solver.solve(&a, &b, &cost).unwrap();
            let want = w1_line(&xa, &a, &xb, &b);
            assert!((got - want).abs() < 1e-12, "{m}x{n}: {got} vs {want}");
        }
    }

    /// W₁ by a general LP (microlp), as an independent reference.
    fn w1_lp(a: &[f64], b: &[f64], cost: &[f64]) -> f64 {
        use microlp::{ComparisonOp, OptimizationDirection, Problem};
        let (m, n) = (a.len(), b.len());
        let mut lp = Problem::new(OptimizationDirection::Minimize);
        let vars: Vec<_> = cost.iter().map(|&c| lp.add_var(c, (0.0, f64::INFINITY))).collect();
        for i in 0..m {
            let row: Vec<_> = (0..n).map(|j| (vars[i * n + j], 1.0)).collect();
            lp.add_constraint(row, ComparisonOp::Eq, a[i]);
        }
        for j in 0..n {
            let col: Vec<_> = (0..m).map(|i| (vars[i * n + j], 1.0)).collect();
            lp.add_constraint(col, ComparisonOp::Eq, b[j]);
        }
        lp.solve().unwrap().into_solution().unwrap().objective()
    }

    #[test]
    fn transport_matches_a_general_lp_on_degenerate_costs() {
        let mut rng = Lcg(19);
        let mut solver = TransportSolver::default();
        for trial in 0..400 {
            let (m, n) = (1 + trial % 8, 1 + (trial / 8) % 9);
            // Small integer costs (many ties, not a metric) and masses with zeros and repeats.
            let cost: Vec<f64> = (0..m * n).map(|_| (rng.next() * 4.0).floor()).collect();
            let quarter = |rng: &mut Lcg, k: usize| {
                let mut v: Vec<f64> = (0..k).map(|_| (rng.next() * 3.0).floor()).collect();
                if v.iter().all(|&x| x == 0.0) {
                    v[0] = 1.0;
                }
                let s: f64 = v.iter().sum();
                v.iter().map(|x| x / s).collect::<Vec<_>>()
            };
            let a = quarter(&mut rng, m);
            let b = quarter(&mut rng, n);
            let want = w1_lp(&a, &b, &cost);
            for bland_after in [None, Some(0)] {
                solver.bland_after = bland_after;
                let got = solver.solve(&a, &b, &cost).unwrap();
                assert!(
                    (got - want).abs() < 1e-9,
                    "trial {trial} ({m}x{n}, {bland_after:?}): {got} vs {want}"
                );
            }
        }
    }

    fn graph_from_edges(n: usize, edges: &[(usize, usize, f64)]) -> CsrGraph {
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for &(x, y, w) in edges {
            rows[x].push((y as u32, w));
            rows[y].push((x as u32, w));
        }
        let mut indptr = vec![0];
        let (mut indices, mut lengths) = (Vec::new(), Vec::new());
        for mut row in rows {
            row.sort_by_key(|e| e.0);
            for (y, w) in row {
                indices.push(y);
                lengths.push(w);
            }
            indptr.push(indices.len());
        }
        CsrGraph::new(indptr, indices, lengths).unwrap()
    }

    #[test]
    fn owner_ranges_split_the_work_with_the_same_values() {
        // A 7 × 5 grid with irregular lengths and a few diagonals (degrees differ, so owners vary).
        let mut edges = Vec::new();
        for r in 0..5 {
            for c in 0..7 {
                let v = r * 7 + c;
                let len = 1.0 + ((v * 37) % 11) as f64 / 10.0;
                if c + 1 < 7 {
                    edges.push((v, v + 1, len));
                }
                if r + 1 < 5 {
                    edges.push((v, v + 7, len * 0.7));
                }
                if (r + c) % 3 == 0 && c + 1 < 7 && r + 1 < 5 {
                    edges.push((v, v + 8, len * 1.3));
                }
            }
        }
        let g = graph_from_edges(35, &edges);
        let measures = exponential_measures(&g, 0.5, std::f64::consts::E, 2.0).unwrap();
        let whole = ollivier_ricci(&g, &measures, OllivierOptions::default()).unwrap();
        let mut merged = vec![f64::NAN; g.n_entries()];
        for (start, stop) in [(0, 9), (9, 20), (20, 35)] {
            let opts = OllivierOptions {
                owners: Some((start, stop)),
                ..Default::default()
            };
            let part = ollivier_ricci(&g, &measures, opts).unwrap();
            assert!(part.node.iter().all(|v| v.is_nan()));
            for (p, &k) in part.edge.iter().enumerate() {
                if !k.is_nan() {
                    assert!(merged[p].is_nan() || merged[p] == k, "two ranges disagree on an entry");
                    merged[p] = k;
                }
            }
        }
        assert_eq!(merged, whole.edge);
    }

    fn curvature(graph: &CsrGraph, alpha: f64, threads: Option<usize>) -> Curvature {
        let measures = exponential_measures(graph, alpha, std::f64::consts::E, 0.0).unwrap();
        let opts = OllivierOptions {
            n_threads: threads,
            ..Default::default()
        };
        ollivier_ricci(graph, &measures, opts).unwrap()
    }

    #[test]
    fn complete_graph_lazy_zero() {
        for n in 3..9 {
            let edges: Vec<_> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j, 1.0))).collect();
            let g = graph_from_edges(n, &edges);
            let k = curvature(&g, 0.0, Some(1));
            let want = (n as f64 - 2.0) / (n as f64 - 1.0);
            assert!(k.edge.iter().all(|&v| (v - want).abs() < 1e-12), "K_{n}: {:?}", k.edge);
            assert!(k.node.iter().all(|&v| (v - want).abs() < 1e-12));
        }
    }

    #[test]
    fn long_cycle_is_flat_and_trees_are_negative() {
        let n = 12;
        let edges: Vec<_> = (0..n).map(|i| (i, (i + 1) % n, 1.0)).collect();
        let k = curvature(&graph_from_edges(n, &edges), 0.5, None);
        assert!(k.edge.iter().all(|&v| v.abs() < 1e-12), "{:?}", k.edge);
        // A binary tree: every edge between internal nodes is negative.
        let edges: Vec<_> = (1..31).map(|i| ((i - 1) / 2, i, 1.0)).collect();
        let g = graph_from_edges(31, &edges);
        let k = curvature(&g, 0.5, Some(2));
        for x in 0..31 {
            for p in g.row(x) {
                let y = g.indices[p] as usize;
                if g.degree(x) > 1 && g.degree(y) > 1 {
                    assert!(k.edge[p] < 0.0, "edge ({x}, {y}) has {}", k.edge[p]);
                }
            }
        }
    }

    #[test]
    fn threads_do_not_change_results() {
        let mut rng = Lcg(3);
        let n = 200;
        let mut edges = Vec::new();
        for i in 0..n {
            for _ in 0..3 {
                let j = (rng.next() * n as f64) as usize;
                if j != i && !edges.iter().any(|&(a, b, _)| (a, b) == (i.min(j), i.max(j))) {
                    edges.push((i.min(j), i.max(j), 0.1 + rng.next()));
                }
            }
        }
        let g = graph_from_edges(n, &edges);
        let measures = exponential_measures(&g, 0.5, std::f64::consts::E, 2.0).unwrap();
        let one = ollivier_ricci(
            &g,
            &measures,
            OllivierOptions {
                n_threads: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        let two = ollivier_ricci(
            &g,
            &measures,
            OllivierOptions {
                n_threads: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            one.edge.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            two.edge.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn progress_counts_every_edge_once_and_cancel_stops() {
        let n = 60;
        let edges: Vec<_> = (0..n)
            .map(|i| (i, (i + 1) % n, 1.0))
            .chain((0..n / 2).map(|i| (i, i + n / 2, 2.0)))
            .collect();
        let g = graph_from_edges(n, &edges);
        let measures = exponential_measures(&g, 0.5, std::f64::consts::E, 2.0).unwrap();
        let done = AtomicUsize::new(0);
        let opts = OllivierOptions {
            progress: Some(&done),
            ..Default::default()
        };
        ollivier_ricci(&g, &measures, opts).unwrap();
        assert_eq!(done.load(Ordering::Relaxed), edges.len());
        let cancel = AtomicBool::new(true);
        let opts = OllivierOptions {
            cancel: Some(&cancel),
            ..Default::default()
        };
        assert_eq!(ollivier_ricci(&g, &measures, opts).unwrap_err(), GeomError::Interrupted);
    }

    #[test]
    fn invalid_graphs_are_refused() {
        assert!(CsrGraph::new(vec![0, 1, 1], vec![1], vec![1.0]).is_err()); // not symmetric
        assert!(CsrGraph::new(vec![0, 1, 2], vec![1, 0], vec![1.0, 2.0]).is_err()); // lengths differ
        assert!(CsrGraph::new(vec![0, 1, 2], vec![0, 1], vec![1.0, 1.0]).is_err()); // self-loops
        assert!(CsrGraph::new(vec![0, 1, 2], vec![1, 0], vec![-1.0, -1.0]).is_err());
        let g = CsrGraph::new(vec![0, 1, 2], vec![1, 0], vec![1.0, 1.0]).unwrap();
        let bad = Measures {
            self_mass: vec![0.5, 0.5],
            nbr_mass: vec![0.4, 0.5],
        };
        assert!(ollivier_ricci(&g, &bad, OllivierOptions::default()).is_err());
    }
}
