"""Curvature: the graph engine (Ollivier–Ricci, Forman) and the partition-level curvatures.

Known values (paper.md §5): K_n with α = 0 gives (n−2)/(n−1); long cycles give 0; tree edges are
negative; unweighted Forman is 4 − deg(i) − deg(j); the angle defect vanishes for Lebesgue measure;
the mass defect vanishes (up to sampling error) for uniform data. The Ollivier engine is checked
value for value against GraphRicciCurvature (when installed) and, always, against an independent
reference written here with scipy (Dijkstra + a linear program for W₁).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay

import mlgeom_rs as mg

# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def delaunay_graph(n_points: int, seed: int) -> nx.Graph:
    """A weighted planar graph: the Delaunay triangulation of random points, lengths as weights."""
    pts = np.random.default_rng(seed).random((n_points, 2))
    tri = Delaunay(pts)
    G = nx.Graph()
    G.add_nodes_from(range(n_points))
    for simplex in tri.simplices:
        for a in range(3):
            i, j = int(simplex[a]), int(simplex[(a + 1) % 3])
            G.add_edge(i, j, weight=float(np.linalg.norm(pts[i] - pts[j])))
    return G


def random_weighted_graph(n: int, m: int, seed: int, lo: float = 0.1, hi: float = 2.0) -> nx.Graph:
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(n, m, seed=seed)
    for u, v in G.edges():
        G[u][v]["weight"] = float(rng.uniform(lo, hi))
    return G


def w1_lp(a: np.ndarray, b: np.ndarray, cost: np.ndarray) -> float:
    """W₁ by a linear program (HiGHS dual simplex): min <C, π> over couplings of a and b."""
    m, n = cost.shape
    rows = np.zeros((m, m * n))
    cols = np.zeros((n, m * n))
    for i in range(m):
        rows[i, i * n : (i + 1) * n] = 1.0
    for j in range(n):
        cols[j, j::n] = 1.0
    res = linprog(
        cost.ravel(),
        A_eq=np.vstack([rows, cols]),
        b_eq=np.concatenate([a, b * a.sum() / b.sum()]),
        bounds=(0, None),
        method="highs-ds",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def reference_ollivier(
    A: scipy.sparse.csr_array, alpha: float, base: float = math.e, exp_power: float = 2.0
) -> tuple[dict[tuple[int, int], float], np.ndarray]:
    """GraphRicciCurvature's OTD formula, written independently with scipy (small graphs only)."""
    n = A.shape[0]
    D = dijkstra(A, directed=False)
    nbrs = [A.indices[A.indptr[i] : A.indptr[i + 1]] for i in range(n)]
    lens = [A.data[A.indptr[i] : A.indptr[i + 1]] for i in range(n)]

    def measure(x: int) -> tuple[np.ndarray, np.ndarray]:
        if len(nbrs[x]) == 0:
            return np.array([x]), np.array([1.0])
        w = np.array([base ** (-(length**exp_power)) for length in lens[x]])
        share = (1 - alpha) * w / w.sum() if w.sum() > 1e-7 else np.full(len(w), (1 - alpha) / len(w))
        return np.append(nbrs[x], x), np.append(share, alpha)

    out = {}
    for x in range(n):
        for y in nbrs[x]:
            if y < x:
                continue
            d = D[x, y]
            if d < 1e-7:
                out[(x, int(y))] = 0.0
                continue
            sx, mx = measure(x)
            sy, my = measure(int(y))
            out[(x, int(y))] = 1 - w1_lp(mx, my, D[np.ix_(sx, sy)]) / d
    node = np.full(n, np.nan)
    for x in range(n):
        vals = [out[(min(x, int(y)), max(x, int(y)))] for y in nbrs[x]]
        if vals:
            node[x] = np.mean(vals)
    return out, node


def csr_of(G: nx.Graph) -> scipy.sparse.csr_array:
    A = nx.to_scipy_sparse_array(G, nodelist=list(G.nodes()), weight="weight", format="csr")
    A.sort_indices()
    return A


# ------------------------------------------------------------------------------------------------
# graph engine: known values
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 4, 5, 8, 12])
def test_complete_graph_lazy_zero(n: int) -> None:
    edge, node = mg.ollivier_ricci(nx.complete_graph(n), alpha=0.0)
    want = (n - 2) / (n - 1)
    assert edge.nnz == n * (n - 1)
    np.testing.assert_allclose(edge.data, want, atol=1e-12)
    np.testing.assert_allclose(node, want, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.9])
def test_long_cycles_are_flat(alpha: float) -> None:
    for n in (6, 20, 101):
        edge, node = mg.ollivier_ricci(nx.cycle_graph(n), alpha=alpha)
        np.testing.assert_allclose(edge.data, 0.0, atol=1e-12)
        np.testing.assert_allclose(node, 0.0, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_tree_edges_are_negative(alpha: float) -> None:
    """Edges between branching nodes of a tree have negative curvature (no short cycles)."""
    for G in (nx.balanced_tree(2, 5), nx.balanced_tree(3, 3), nx.random_labeled_tree(60, seed=3)):
        edge, _ = mg.ollivier_ricci(G, alpha=alpha)
        deg = dict(G.degree())
        checked = 0
        for u, v in G.edges():
            if deg[u] >= 2 and deg[v] >= 2 and max(deg[u], deg[v]) >= 3:
                assert edge[u, v] < -1e-12, (u, v, edge[u, v])
                checked += 1
        assert checked > 0


def test_threads_do_not_change_values() -> None:
    G = delaunay_graph(800, seed=5)
    one, n1 = mg.ollivier_ricci(G, n_threads=1)
    two, n2 = mg.ollivier_ricci(G, n_threads=2)
    assert np.array_equal(one.data, two.data) and np.array_equal(one.indices, two.indices)
    assert np.array_equal(n1, n2)


# ------------------------------------------------------------------------------------------------
# graph engine: against references
# ------------------------------------------------------------------------------------------------


REFERENCE_CASES = [
    # (name, graph builder, alpha, base, exp_power)
    ("gnm", lambda: random_weighted_graph(40, 120, seed=1), 0.5, math.e, 2.0),
    ("gnm-lazy0", lambda: random_weighted_graph(30, 90, seed=2), 0.0, math.e, 2.0),
    ("gnm-alpha1", lambda: random_weighted_graph(30, 60, seed=3), 1.0, math.e, 2.0),
    ("delaunay", lambda: delaunay_graph(60, seed=4), 0.5, math.e, 2.0),
    ("base2-power1", lambda: random_weighted_graph(35, 100, seed=5), 0.3, 2.0, 1.0),
    # long edges: base^(-w^2) sums below 1e-7, so neighbour mass is shared equally
    ("equal-shares", lambda: random_weighted_graph(30, 80, seed=6, lo=4.5, hi=9.0), 0.5, math.e, 2.0),
    # a disconnected graph with isolated nodes, and weights spanning two orders of magnitude
    (
        "disconnected",
        lambda: nx.union(
            random_weighted_graph(20, 40, seed=7, lo=0.01, hi=3.0),
            nx.relabel_nodes(random_weighted_graph(15, 10, seed=8), lambda v: v + 20),
        ),
        0.5,
        math.e,
        2.0,
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "alpha", "base", "exp_power"), REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES]
)
def test_against_scipy_reference(name: str, build, alpha: float, base: float, exp_power: float) -> None:
    G = build()
    A = csr_of(G)
    edge, node = mg.ollivier_ricci(A, alpha=alpha, base=base, exp_power=exp_power)
    want, want_node = reference_ollivier(A, alpha, base, exp_power)
    got = {(i, j): edge[i, j] for (i, j) in want}
    diff = max(abs(got[k] - want[k]) for k in want)
    assert diff < 1e-9, (name, diff)
    np.testing.assert_allclose(node, want_node, atol=1e-9)
    assert np.isnan(node[np.diff(A.indptr) == 0]).all()


def grc_curvature(G: nx.Graph, method: str = "OTD", **kwargs) -> tuple[dict, dict]:
    grc = pytest.importorskip("GraphRicciCurvature.OllivierRicci")
    orc = grc.OllivierRicci(G, method=method, shortest_path="pairwise", proc=1, verbose="ERROR", **kwargs)
    orc.compute_ricci_curvature()
    edges = {(u, v): d["ricciCurvature"] for u, v, d in orc.G.edges(data=True)}
    nodes = {v: d["ricciCurvature"] for v, d in orc.G.nodes(data=True) if "ricciCurvature" in d}
    return edges, nodes


def shortcut_graph() -> nx.Graph:
    """Edges longer than a two-edge detour (d(x, y) < w_xy) and zero-length edges."""
    G = random_weighted_graph(30, 90, seed=11)
    rng = np.random.default_rng(11)
    for u, v in list(G.edges())[::7]:
        G[u][v]["weight"] = float(rng.uniform(5.0, 10.0))
    for u, v in list(G.edges())[3::17]:
        G[u][v]["weight"] = 0.0
    return G


GRC_CASES = [*REFERENCE_CASES, ("shortcuts", shortcut_graph, 0.5, math.e, 2.0)]


@pytest.mark.parametrize(("name", "build", "alpha", "base", "exp_power"), GRC_CASES, ids=[c[0] for c in GRC_CASES])
def test_against_graphriccicurvature(name: str, build, alpha: float, base: float, exp_power: float) -> None:
    """Value for value with GraphRicciCurvature's exact OTD curvature (a test-only dependency)."""
    G = build()
    want_edges, want_nodes = grc_curvature(G, alpha=alpha, base=base, exp_power=exp_power)
    edge, node = mg.ollivier_ricci(G, alpha=alpha, base=base, exp_power=exp_power)
    index = {v: k for k, v in enumerate(G.nodes())}
    diff = max(abs(edge[index[u], index[v]] - k) for (u, v), k in want_edges.items())
    assert diff < 1e-9, (name, diff)
    for v, k in want_nodes.items():
        assert abs(node[index[v]] - k) < 1e-9


def test_against_graphriccicurvature_string_nodes() -> None:
    G = nx.relabel_nodes(delaunay_graph(40, seed=12), lambda v: f"n{v:03d}")
    want_edges, _ = grc_curvature(G, alpha=0.5)
    edge, _ = mg.ollivier_ricci(G)
    index = {v: k for k, v in enumerate(G.nodes())}
    assert max(abs(edge[index[u], index[v]] - k) for (u, v), k in want_edges.items()) < 1e-9


def test_sinkhorn_against_graphriccicurvature() -> None:
    """method="sinkhorn" follows POT's sinkhorn2 as GraphRicciCurvature's method="Sinkhorn" does."""
    G = random_weighted_graph(25, 60, seed=13, lo=0.1, hi=1.0)
    want_edges, _ = grc_curvature(G, method="Sinkhorn", alpha=0.5)
    edge, _ = mg.ollivier_ricci(G, method="sinkhorn", reg=0.1)
    diff = max(abs(edge[u, v] - k) for (u, v), k in want_edges.items())
    assert diff < 1e-8, diff
    exact, _ = mg.ollivier_ricci(G)
    assert np.abs(exact.data - edge.data).max() > 1e-6  # the entropic cost is not the exact one


# ------------------------------------------------------------------------------------------------
# graph engine: input forms and errors
# ------------------------------------------------------------------------------------------------


def test_input_forms_agree() -> None:
    G = random_weighted_graph(25, 70, seed=14)
    A = csr_of(G)
    ref, ref_node = mg.ollivier_ricci(A)
    for form in (A.tocoo(), scipy.sparse.csr_matrix(A), A.toarray(), G):
        got, node = mg.ollivier_ricci(form)
        assert isinstance(got, scipy.sparse.csr_array)
        assert (got != ref).nnz == 0
        np.testing.assert_array_equal(node, ref_node)
    # self-loops are ignored; duplicates of a coo matrix are summed
    looped = A.tolil()
    looped[0, 0] = 3.0
    got, _ = mg.ollivier_ricci(looped.tocsr())
    assert got[0, 0] == 0 and (got != ref).nnz == 0


def test_unweighted_networkx_uses_unit_lengths() -> None:
    G = nx.petersen_graph()
    got, _ = mg.ollivier_ricci(G)
    H = G.copy()
    nx.set_edge_attributes(H, 1.0, "weight")
    want, _ = mg.ollivier_ricci(H)
    assert (got != want).nnz == 0


def test_invalid_input() -> None:
    A = scipy.sparse.csr_array(np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(mg.InvalidInputError, match="undirected"):
        mg.ollivier_ricci(A)
    with pytest.raises(mg.InvalidInputError, match="undirected"):
        mg.ollivier_ricci(scipy.sparse.csr_array(np.array([[0, 1.0], [0, 0]])))
    with pytest.raises(mg.InvalidInputError, match="non-negative"):
        mg.ollivier_ricci(np.array([[0, -1.0], [-1.0, 0]]))
    with pytest.raises(mg.InvalidInputError, match="square"):
        mg.ollivier_ricci(np.ones((2, 3)))
    with pytest.raises(mg.InvalidInputError, match="alpha"):
        mg.ollivier_ricci(nx.path_graph(3), alpha=1.5)
    with pytest.raises(mg.InvalidInputError, match="undirected"):
        mg.ollivier_ricci(nx.DiGraph([(0, 1)]))
    with pytest.raises(mg.InvalidInputError, match="method"):
        mg.ollivier_ricci(nx.path_graph(3), method="ATD")
    with pytest.raises(mg.InvalidInputError):
        mg.ollivier_ricci(nx.path_graph(3), n_threads=0)


def test_empty_and_edgeless_graphs() -> None:
    edge, node = mg.ollivier_ricci(nx.empty_graph(4))
    assert edge.nnz == 0 and edge.shape == (4, 4) and np.isnan(node).all()
    edge, node = mg.ollivier_ricci(scipy.sparse.csr_array((0, 0)))
    assert edge.shape == (0, 0) and node.shape == (0,)


# ------------------------------------------------------------------------------------------------
# Forman
# ------------------------------------------------------------------------------------------------


def test_unweighted_forman() -> None:
    G = nx.gnm_random_graph(50, 150, seed=15)
    edge, node = mg.forman_curvature(G)
    deg = dict(G.degree())
    for u, v in G.edges():
        assert edge[u, v] == 4 - deg[u] - deg[v]
    for v in G.nodes():
        if deg[v]:
            assert node[v] == pytest.approx(np.mean([4 - deg[v] - deg[u] for u in G[v]]))


def test_weighted_forman_matches_the_formula() -> None:
    G = random_weighted_graph(30, 80, seed=16)
    wv = np.random.default_rng(16).uniform(0.5, 2.0, 30)
    edge, _ = mg.forman_curvature(G, node_weights=wv)
    for i, j, data in G.edges(data=True):
        we = data["weight"]
        total = wv[i] / we + wv[j] / we
        total -= sum(wv[i] / math.sqrt(we * G[i][k]["weight"]) for k in G[i] if k != j)
        total -= sum(wv[j] / math.sqrt(we * G[j][k]["weight"]) for k in G[j] if k != i)
        assert edge[i, j] == pytest.approx(we * total, rel=1e-12, abs=1e-12)


# ------------------------------------------------------------------------------------------------
# partition level
# ------------------------------------------------------------------------------------------------


def grid_partition(k: int = 4, dim: int = 2) -> mg.Partition:
    """The unit cube cut into k^dim equal boxes by axis-parallel hyperplanes."""
    W, c = [], []
    for axis in range(dim):
        for t in range(1, k):
            w = np.zeros(dim)
            w[axis] = 1.0
            W.append(w)
            c.append(-t / k)
    return mg.partition_hyperplanes(np.array(W), np.array(c), mg.Box(0, 1, dim=dim))


def random_partition(m: int, dim: int, seed: int) -> mg.Partition:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, dim))
    c = -(W @ rng.uniform(0.2, 0.8, size=(m, dim)).T).diagonal()
    return mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=dim))


@pytest.mark.parametrize(("m", "dim", "seed"), [(6, 2, 0), (9, 2, 1), (5, 3, 2), (7, 3, 3)])
def test_angle_defect_is_zero_for_lebesgue(m: int, dim: int, seed: int) -> None:
    part = random_partition(m, dim, seed)
    k = mg.vertex_curvature(part, kind="angle_defect")
    assert k.shape == (part.n_cells,)
    np.testing.assert_allclose(k, 0.0, atol=1e-9)


def test_angle_defect_after_data_reweighting() -> None:
    """Non-zero for clustered data; near zero for uniform data within a tolerance set by the counts."""
    part = random_partition(6, 2, seed=4)
    rng = np.random.default_rng(4)
    clustered = np.clip(rng.normal(0.3, 0.1, size=(20_000, 2)), 0, 1)
    k = mg.vertex_curvature(part, kind="angle_defect", X=clustered)
    assert np.abs(k).max() > 0.1

    N = 400_000
    uniform = rng.random((N, 2))
    k = mg.vertex_curvature(part, kind="angle_defect", X=uniform)
    # κ(r) = Σ_c θ_c (1 − ρ_c) with ρ_c = (count_c / N) / vol_c (box volume 1): the relative error of
    # ρ_c has standard deviation ≈ 1/sqrt(N vol_c); allow 5 of them per face, then sum the per-face
    # bounds into the cells as vertex_curvature does.
    r, f = part.ridges, part.facets
    inner = f.interior[r.facets[:, 0]] & f.interior[r.facets[:, 1]]
    n_faces = int(r.face.max()) + 1
    inside = np.bincount(r.face, weights=~inner, minlength=n_faces) == 0
    sd = np.sqrt(np.bincount(r.face, weights=r.angles**2 / (N * part.volumes[r.cell]), minlength=n_faces))
    angle_sum = np.bincount(r.face, weights=r.angles, minlength=n_faces)
    bound = np.where(inside, 5 * sd, 0.0)[r.face] * r.angles / angle_sum[r.face]
    tol = np.bincount(r.cell, weights=bound, minlength=part.n_cells)
    assert (np.abs(k) <= tol + 1e-12).all(), (k, tol)
    assert np.abs(k).max() > 0  # it is measured, not assumed


def test_angle_defect_needs_ridges() -> None:
    part = mg.partition_hyperplanes([[1, 0]], [-0.5], mg.Box(0, 1, dim=2), ridges=False)
    with pytest.raises(mg.InvalidInputError, match="ridge"):
        mg.vertex_curvature(part, kind="angle_defect")


def test_mass_defect_uniform_data() -> None:
    part = random_partition(5, 2, seed=5)
    N = 300_000
    X = np.random.default_rng(5).random((N, 2))
    k = mg.vertex_curvature(part, kind="mass_defect", X=X)
    # κ_i ≈ δ_nbr − δ_i with δ the relative errors of the count of cell i (sd 1/sqrt(N vol_i)) and of the
    # face-weighted neighbour count (sd sqrt(Σ w² vol_j / N) / Σ w vol_j); 5 standard deviations.
    adj = part.adjacency("area")
    vol = part.volumes
    nbr = adj @ vol
    sd = np.sqrt(1 / (N * vol) + ((adj.multiply(adj)) @ vol) / (N * nbr**2))
    assert (np.abs(k) <= 5 * sd).all(), (k, 5 * sd)
    # clustered data is far from uniform
    Y = np.clip(np.random.default_rng(6).normal(0.3, 0.1, size=(20_000, 2)), 0, 1)
    assert np.nanmax(np.abs(mg.vertex_curvature(part, kind="mass_defect", X=Y))) > 0.3


def test_mass_defect_needs_data() -> None:
    with pytest.raises(mg.InvalidInputError, match="X"):
        mg.vertex_curvature(grid_partition(), kind="mass_defect")


def test_forman_on_equal_cells_is_unweighted() -> None:
    """Equal cells and equal faces: the weighted Forman curvature is 4 − deg(i) − deg(j)."""
    part = grid_partition(4, 2)
    edges, ke = mg.edge_curvature(part, kind="forman", return_edges=True)
    deg = np.diff(part.adjacency().indptr)
    np.testing.assert_allclose(ke, 4 - deg[edges[:, 0]] - deg[edges[:, 1]], atol=1e-12)
    kv = mg.vertex_curvature(part, kind="forman")
    want = np.array([np.mean(ke[(edges == i).any(axis=1)]) for i in range(part.n_cells)])
    np.testing.assert_allclose(kv, want, atol=1e-12)


def test_edges_are_the_sorted_adjacent_pairs() -> None:
    part = random_partition(6, 2, seed=7)
    edges, _ = mg.edge_curvature(part, return_edges=True)
    adj = scipy.sparse.triu(part.adjacency(), k=1).tocoo()
    want = sorted(zip(adj.row.tolist(), adj.col.tolist(), strict=True))
    assert [tuple(e) for e in edges.tolist()] == want


def statistical_ricci_reference(part: mg.Partition, X: np.ndarray, alpha: float) -> dict[tuple[int, int], float]:
    """paper.md §5 statistical Ricci, written out with networkx + a linear program."""
    cell = part.locate(X)
    n = part.n_cells
    counts = np.bincount(cell[cell >= 0], minlength=n)
    mu = counts / counts.sum()
    centre = part.centroids.copy()
    for i in range(n):
        if counts[i]:
            centre[i] = X[cell == i].mean(axis=0)
    adj = part.adjacency("area").tocoo()
    G = nx.Graph()
    G.add_nodes_from(range(n))
    for i, j, w in zip(adj.row, adj.col, adj.data, strict=True):
        G.add_edge(int(i), int(j), area=float(w), length=float(np.linalg.norm(centre[i] - centre[j])))
    dist = dict(nx.all_pairs_dijkstra_path_length(G, weight="length"))

    def measure(i: int) -> tuple[list[int], np.ndarray]:
        nb = sorted(G[i])
        raw = np.array([G[i][j]["area"] * mu[j] for j in nb])
        share = (1 - alpha) * raw / raw.sum() if raw.sum() > 0 else np.full(len(nb), (1 - alpha) / len(nb))
        return [*nb, i], np.append(share, alpha)

    out = {}
    for i, j in G.edges():
        si, mi = measure(i)
        sj, mj = measure(j)
        cost = np.array([[dist[u][v] for v in sj] for u in si])
        out[(min(i, j), max(i, j))] = 1 - w1_lp(mi, mj, cost) / dist[i][j]
    return out


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_statistical_ricci_matches_the_definition(alpha: float) -> None:
    part = random_partition(7, 2, seed=8)
    X = np.clip(np.random.default_rng(8).normal(0.45, 0.2, size=(3000, 2)), 0, 1)
    edges, ke = mg.edge_curvature(part, "statistical_ricci", X=X, alpha=alpha, return_edges=True)
    want = statistical_ricci_reference(part, X, alpha)
    got = {tuple(e): k for e, k in zip(edges.tolist(), ke.tolist(), strict=True)}
    assert got.keys() == want.keys()
    assert max(abs(got[e] - want[e]) for e in want) < 1e-9


def test_ollivier_kind_is_the_lazy_walk_on_centroid_lengths() -> None:
    part = random_partition(6, 3, seed=9)
    edges, ke = mg.edge_curvature(part, "ollivier", return_edges=True)
    c = part.centroids
    lengths = np.linalg.norm(c[edges[:, 0]] - c[edges[:, 1]], axis=1)
    A = scipy.sparse.csr_array(
        (
            np.concatenate([lengths, lengths]),
            (np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([edges[:, 1], edges[:, 0]])),
        ),
        shape=(part.n_cells, part.n_cells),
    )
    want, _ = mg.ollivier_ricci(A, exp_power=0)
    np.testing.assert_allclose(ke, [want[i, j] for i, j in edges.tolist()], atol=1e-12)


def test_statistical_ricci_without_data_uses_volumes() -> None:
    """X=None: Lebesgue cell measure and cell centroids; deterministic and finite."""
    part = random_partition(6, 2, seed=10)
    ke = mg.edge_curvature(part)
    assert ke.shape == (len(mg.edge_curvature(part, return_edges=True)[0]),)
    assert np.isfinite(ke).all() and (ke <= 1).all()


class FakeComplex:
    """Duck-typed complex: a partition and its edges in its own order."""

    def __init__(self, part: mg.Partition, edges: np.ndarray) -> None:
        self.partition = part
        self._edges = edges

    def simplices(self, k: int) -> np.ndarray:
        assert k == 1
        return self._edges


def test_complex_edge_order_is_respected() -> None:
    part = random_partition(6, 2, seed=11)
    X = np.random.default_rng(11).random((2000, 2))
    edges, ke = mg.edge_curvature(part, X=X, return_edges=True)
    order = np.random.default_rng(0).permutation(len(edges))
    flipped = edges[order][:, ::-1]  # reversed pairs are sorted by the reader
    cx = FakeComplex(part, flipped)
    np.testing.assert_array_equal(mg.edge_curvature(cx, X=X), ke[order])
    np.testing.assert_allclose(
        mg.vertex_curvature(cx, "mass_defect", X=X), mg.vertex_curvature(part, "mass_defect", X=X), rtol=1e-12
    )


def test_report_and_networkx_export() -> None:
    part = random_partition(6, 2, seed=12)
    X = np.random.default_rng(12).random((5000, 2))
    report = mg.curvature_report(part, X)
    assert set(report["vertex"]) == {"forman", "angle_defect", "mass_defect"}
    assert set(report["edge"]) == {"statistical_ricci", "ollivier", "forman"}
    assert report["measure"] == "data"
    for kind, values in report["edge"].items():
        assert values.shape == (len(report["edges"]),)
        np.testing.assert_array_equal(values, mg.edge_curvature(part, kind, X=X))
        assert report["edge_quantiles"][kind].shape == (len(report["quantile_levels"]),)
    G = mg.with_curvature(part.to_networkx(), report)
    i, j = report["edges"][0]
    assert G.edges[int(i), int(j)]["statistical_ricci"] == report["edge"]["statistical_ricci"][0]
    assert G.nodes[0]["mass_defect"] == report["vertex"]["mass_defect"][0]
    assert "mass_defect" not in mg.curvature_report(part)["vertex"]


def test_invalid_partition_arguments() -> None:
    part = grid_partition()
    with pytest.raises(mg.InvalidInputError, match="kind"):
        mg.edge_curvature(part, kind="gauss")  # type: ignore[arg-type]
    with pytest.raises(mg.InvalidInputError, match="kind"):
        mg.vertex_curvature(part, kind="ricci")  # type: ignore[arg-type]
    with pytest.raises(mg.InvalidInputError, match="Partition"):
        mg.edge_curvature(nx.path_graph(3))
    with pytest.raises(mg.InvalidInputError, match="box"):
        mg.edge_curvature(part, X=np.full((3, 2), 5.0))


def test_riemannian_complex_input() -> None:
    """A RiemannianComplex is read through its partition and its edges (Figure 1 of the paper)."""
    part = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6], mg.Box(0, 1, dim=2))
    X = np.random.default_rng(13).random((2000, 2))
    adjacency = mg.RiemannianComplex(part, nerve="adjacency")
    for kind in ("statistical_ricci", "ollivier", "forman"):
        np.testing.assert_array_equal(mg.edge_curvature(adjacency, kind, X=X), mg.edge_curvature(part, kind, X=X))
    full = mg.RiemannianComplex(part, nerve="full")
    edges = full.simplices(1)
    ke = mg.edge_curvature(full, "forman")
    diagonal = np.array([tuple(e) in {(0, 3), (1, 2)} for e in edges.tolist()])
    assert np.isnan(ke[diagonal]).all() and np.isfinite(ke[~diagonal]).all()
    # the diagonals are graph edges (shortcuts for d) but carry no neighbour mass (no shared facet)
    assert np.isfinite(mg.edge_curvature(full, X=X)).all()
