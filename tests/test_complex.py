"""The nerve of a partition as a Riemannian simplicial complex (mlgeom_rs.complex; paper.md §2.2, §2.3, §9)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import examples, lattice_arrangements, random_arrangements
from hypothesis import given, settings

import mlgeom_rs as mg
from mlgeom_rs import _nerve


def _zero(M) -> bool:
    return M.nnz == 0 or abs(M).max() == 0.0


def figure1(a=0.3, b=0.6):
    return mg.partition_hyperplanes([[1, 0], [0, 1]], [-a, -b], mg.Box(0, 1, dim=2))


# ------------------------------------------------------------------------------------------- Figure 1
def test_figure1_adjacency_is_the_four_cycle():
    cx = mg.RiemannianComplex(figure1())
    assert cx.shape == (4, 4, 0)
    # cells in lexicographic order 00, 01, 10, 11: the edges 00|01, 00|10, 01|11, 10|11
    assert cx.simplices(1).tolist() == [[0, 1], [0, 2], [1, 3], [2, 3]]
    assert cx.intersection_dim(0).tolist() == [2] * 4
    assert cx.intersection_dim(1).tolist() == [1] * 4
    np.testing.assert_allclose(cx.mass_vector(0), [0.18, 0.12, 0.42, 0.28])  # ab, a(1-b), (1-a)b, (1-a)(1-b)
    np.testing.assert_allclose(cx.mass_vector(1), [0.3, 0.6, 0.4, 0.7])  # a, b, 1-b, 1-a
    assert cx.betti() == (1, 1, 0)


def test_figure1_full_nerve_is_the_tetrahedron():
    cx = mg.RiemannianComplex(figure1(), nerve="full", max_dim=3)
    assert cx.shape == (4, 6, 4, 1)
    assert cx.simplices(3).tolist() == [[0, 1, 2, 3]]
    # the diagonals 00-11 and 01-10 meet only in the crossing point (dimension d - 2 = 0)
    dims = dict(zip(map(tuple, cx.simplices(1).tolist()), cx.intersection_dim(1).tolist(), strict=True))
    assert dims == {(0, 1): 1, (0, 2): 1, (0, 3): 0, (1, 2): 0, (1, 3): 1, (2, 3): 1}
    assert cx.intersection_dim(2).tolist() == [0] * 4
    # Lebesgue masses: the diagonals have (d-1)-volume 0; triangles meet in a point (0-volume 1); the
    # tetrahedron is not generic (dim 0 < d - 3), mass 0
    m1 = dict(zip(map(tuple, cx.simplices(1).tolist()), cx.mass_vector(1).tolist(), strict=True))
    assert m1[(0, 3)] == 0.0 and m1[(1, 2)] == 0.0
    np.testing.assert_allclose(cx.mass_vector(2), 1.0)
    np.testing.assert_allclose(cx.mass_vector(3), 0.0)
    assert cx.betti() == (1, 0, 0, 0)  # contractible
    assert mg.RiemannianComplex(figure1(), nerve="full", max_dim=2).betti() == (1, 0, 1)  # 2-skeleton: a sphere


def test_boundary_orientation_and_chain_condition():
    cx = mg.RiemannianComplex(figure1(), nerve="full", max_dim=3)
    B1 = cx.boundary(1).toarray()
    e = cx.simplices(1).tolist().index([0, 3])
    assert B1[0, e] == -1 and B1[3, e] == 1 and np.count_nonzero(B1[:, e]) == 2
    B2 = cx.boundary(2).toarray()  # ∂[0,1,2] = [1,2] - [0,2] + [0,1]
    col = B2[:, 0]
    edges = cx.simplices(1).tolist()
    assert col[edges.index([1, 2])] == 1 and col[edges.index([0, 2])] == -1 and col[edges.index([0, 1])] == 1
    for k in (1, 2, 3):
        assert _zero(cx.boundary(k) @ cx.boundary(k + 1))
    assert cx.boundary(0).shape == (0, 4) and cx.boundary(4).shape == (1, 0)


def test_dihedral_mass_perpendicular_lines_is_diagonal():
    cx = mg.RiemannianComplex(figure1())
    M = cx.mass(1, dihedral=True).toarray()
    np.testing.assert_allclose(M, np.diag(cx.mass_vector(1)), atol=1e-15)
    check = cx.check_mass()
    assert check.symmetric and check.psd
    assert check.min_eigenvalue == pytest.approx(0.3)


def test_dihedral_mass_entry_by_hand():
    # x = 0.5 and a line through (0.5, 0.5) at 60 degrees to the x-axis: they cross at 30 and 150 degrees
    phi = math.pi / 3
    W = [[1.0, 0.0], [-math.sin(phi), math.cos(phi)]]
    c = [-0.5, 0.5 * math.sin(phi) - 0.5 * math.cos(phi)]
    part = mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2))
    cx = mg.RiemannianComplex(part)
    M = cx.mass(1, dihedral=True).toarray()
    edges = cx.simplices(1).tolist()
    m1 = cx.mass_vector(1)
    r = part.ridges
    f = part.facets
    seen = 0
    for row in range(len(r)):
        fa, fb = r.facets[row]
        if f.cells[fa, 1] < 0 or f.cells[fb, 1] < 0:
            continue
        i = r.cell[row]
        j = [x for x in f.cells[fa] if x != i][0]
        k = [x for x in f.cells[fb] if x != i][0]
        ea, eb = edges.index(sorted([i, j])), edges.index(sorted([i, k]))
        sign = (1 if j > i else -1) * (1 if k > i else -1)
        expected = sign * math.cos(r.angles[row]) * math.sqrt(m1[ea] * m1[eb])
        assert M[ea, eb] == pytest.approx(expected)
        assert {round(r.angles[row], 9)} <= {round(math.pi / 6, 9), round(5 * math.pi / 6, 9)}
        seen += 1
    assert seen == 4
    check = cx.check_mass()
    assert check.symmetric
    assert check.min_eigenvalue == pytest.approx(np.linalg.eigvalsh(M).min())
    assert check.psd == (check.min_eigenvalue >= -1e-12 * abs(M).max())


def test_dihedral_mass_can_fail_to_be_psd():
    part = mg.partition_hyperplanes([[1, 0.3], [0.2, 1], [1, -1]], [-0.5, -0.5, 0.1], mg.Box(0, 1, dim=2))
    check = mg.RiemannianComplex(part).check_mass()
    assert check.symmetric and not check.psd and check.min_eigenvalue < 0


# ------------------------------------------------------------------------------------------- brute force
def _cell_constraints(part, i):
    """A x <= b of closed cell i (with the box)."""
    W, c = np.asarray(part.normals), np.asarray(part.offsets)
    s = np.where(part.patterns[i], -1.0, 1.0)  # bit 1: w.x + c >= 0 -> -(w.x + c) <= 0
    A = W * s[:, None]
    b = -c * s
    d = part.dim
    A = np.vstack([A, np.eye(d), -np.eye(d)])
    b = np.concatenate([b, part.box.hi, -part.box.lo])
    return A, b


def _meet(part, cells, tol=1e-9):
    """Whether the closed cells share a point (LP feasibility with a small slack)."""
    from scipy.optimize import linprog

    parts = [_cell_constraints(part, i) for i in cells]
    A = np.vstack([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    res = linprog(np.zeros(part.dim), A_ub=A, b_ub=b + tol, bounds=[(None, None)] * part.dim, method="highs")
    return res.status == 0


@settings(max_examples=examples(12))
@given(arr=lattice_arrangements(dims=(1, 2, 3), max_m=(4, 4, 3)))
def test_full_nerve_matches_brute_force_on_degenerate_arrangements(arr):
    part = arr.partition(mg)
    n = part.n_cells
    if n > 14:
        return
    cx = mg.RiemannianComplex(part, nerve="full", max_dim=2)
    for k in (1, 2):
        got = {tuple(s) for s in cx.simplices(k).tolist()}
        want = {s for s in itertools.combinations(range(n), k + 1) if _meet(part, s)}
        assert got == want, (k, got ^ want)


@settings(max_examples=examples(15))
@given(arr=random_arrangements(dims=(2, 3), max_m=(7, 5)))
def test_complex_invariants_on_random_arrangements(arr):
    part = arr.partition(mg)
    d = part.dim
    for nerve in ("adjacency", "full"):
        cx = mg.RiemannianComplex(part, nerve=nerve, max_dim=3)
        for k in range(0, 4):
            S = cx.simplices(k)
            assert S.shape[1] == k + 1
            assert (np.diff(S, axis=1) > 0).all()
            assert np.array_equal(S, _nerve.unique_rows(S, part.n_cells)[0])  # sorted, unique
            if k < 3:
                B = cx.boundary(k + 1)
                assert _zero(cx.boundary(k) @ B)
            dims = cx.intersection_dim(k)
            if nerve == "adjacency":
                assert (dims == d - k).all()
            else:
                assert (dims <= d - min(k, 1)).all() and (dims >= 0).all()
        for k in range(0, 3):
            m = cx.mass_vector(k)
            assert (m >= 0).all()
            assert (m[cx.intersection_dim(k) != d - k] == 0).all()
        np.testing.assert_allclose(cx.mass_vector(0).sum(), part.box.volume, rtol=1e-9)
        if nerve == "full":
            assert cx.betti()[:3] == (1, 0, 0)  # the nerve of a convex partition is contractible
    adj = mg.RiemannianComplex(part)
    areas = part.adjacency("area").toarray()
    i, j = adj.simplices(1).T
    np.testing.assert_allclose(adj.mass_vector(1), areas[i, j])
    assert adj.shape[1] == np.count_nonzero(np.triu(areas, 1))


# ------------------------------------------------------------------------------------------- trees
def _forest_partition(d, seed=0, n_estimators=3, depth=4):
    pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(seed)
    X = rng.random((300, d))
    y = np.sin(4 * X).sum(axis=1)
    model = RandomForestRegressor(n_estimators=n_estimators, max_depth=depth, random_state=seed).fit(X, y)
    return mg.partition(model, mg.Box(0, 1, dim=d)), X


def test_tree_t_junction_triangle():
    pytest.importorskip("sklearn")
    from sklearn.tree import DecisionTreeRegressor

    X = np.array([[0.25, 0.5], [0.75, 0.25], [0.75, 0.75]])
    part = mg.partition(DecisionTreeRegressor().fit(X, [0.0, 1.0, 1.2]), mg.Box(0, 1, dim=2))  # x split first
    cx = mg.RiemannianComplex(part)
    assert cx.simplices(2).tolist() == [[0, 1, 2]]  # three boxes around the T-junction, pairwise facets
    assert cx.intersection_dim(2).tolist() == [0]
    assert cx.mass_vector(2).tolist() == [1.0]
    assert cx.betti() == (1, 0, 0)
    U = np.random.default_rng(1).random((100_000, 2))
    data = mg.RiemannianComplex(part, measure="data", X=U, bandwidth=0.03)
    # the three boxes cover the whole disc around the T-junction: μ_h ≈ density × vol_0 = 1
    np.testing.assert_allclose(data.mass_vector(2), [1.0], rtol=0.12)
    np.testing.assert_allclose(data.mass_vector(1), cx.mass_vector(1), rtol=0.1)


@pytest.mark.parametrize("d", [2, 3])
def test_tree_full_nerve_matches_boxes(d):
    part, _ = _forest_partition(d, n_estimators=2 if d == 3 else 3, depth=3 if d == 3 else 4)
    lo, hi = part.cell_lo, part.cell_hi
    n = part.n_cells
    cx = mg.RiemannianComplex(part, nerve="full", max_dim=2)
    tol = 10 * part.tolerance
    ext = np.minimum(hi[:, None, :], hi[None, :, :]) - np.maximum(lo[:, None, :], lo[None, :, :])
    touch = (ext >= -tol).all(axis=2)
    i, j = np.nonzero(np.triu(touch, 1))
    assert {tuple(s) for s in cx.simplices(1).tolist()} == set(zip(i.tolist(), j.tolist(), strict=True))
    # triangles: Helly for boxes, the triples that pairwise touch
    tri = {tuple(s) for s in cx.simplices(2).tolist()}
    for a, b, c in list(tri)[:200]:
        assert touch[a, b] and touch[a, c] and touch[b, c]
    up = np.triu(touch, 1).astype(np.int64)
    assert len(tri) == int(np.einsum("ij,jk,ik->", up, up, up))
    full3 = mg.RiemannianComplex(part, nerve="full", max_dim=3)
    assert full3.betti()[:3] == (1, 0, 0)
    adj = mg.RiemannianComplex(part, max_dim=3)
    for k in range(4):
        assert (adj.intersection_dim(k) == d - k).all()
    np.testing.assert_allclose(adj.mass_vector(0).sum(), 1.0)
    del n


# ------------------------------------------------------------------------------------------- data measure
def test_data_measure_approximates_lebesgue_for_uniform_data():
    part = figure1()
    X = np.random.default_rng(0).random((200_000, 2))
    cx = mg.RiemannianComplex(part, measure="data", X=X, bandwidth=0.01)
    np.testing.assert_allclose(cx.mass_vector(0).sum(), 1.0)
    np.testing.assert_allclose(cx.mass_vector(0), part.volumes, atol=5e-3)
    np.testing.assert_allclose(cx.mass_vector(1), mg.RiemannianComplex(part).mass_vector(1), rtol=0.05)
    assert cx.bandwidth == 0.01
    full = mg.RiemannianComplex(part, nerve="full", measure="data", X=X, bandwidth=0.03)
    # triangles of the full nerve: the points of three of the four cells in the disc of radius h around the
    # crossing, over πh²n: three quarters of the disc
    np.testing.assert_allclose(full.mass_vector(2), 0.75, rtol=0.12)


def test_data_measure_empty_cells():
    part = figure1()
    X = np.array([[0.1, 0.1], [0.2, 0.2], [0.9, 0.9]])  # cells 00 and 11 only
    keep = mg.RiemannianComplex(part, measure="data", X=X)
    np.testing.assert_allclose(keep.mass_vector(0), [2 / 3, 0, 0, 1 / 3])
    assert keep.counts.tolist() == [2, 0, 0, 1]
    L = keep.hodge_laplacian(0).toarray()
    assert np.isfinite(L).all() and (L[[1, 2]] == 0).all()  # empty cells: M_0^+ = 0
    drop = mg.RiemannianComplex(part, measure="data", X=X, empty="drop")
    assert drop.cells.tolist() == [0, 3] and drop.shape == (2, 0, 0)
    assert drop.betti() == (2, 0, 0)
    assert keep.bandwidth > 0


def test_data_measure_on_trees_and_outside_points():
    part, X = _forest_partition(2, depth=3)
    X2 = np.vstack([X, [[5.0, 5.0]]])  # outside the box: ignored
    cx = mg.RiemannianComplex(part, measure="data", X=X2)
    np.testing.assert_allclose(cx.mass_vector(0).sum(), 1.0)
    assert cx.counts.sum() == X.shape[0]
    assert (cx.mass_vector(1) >= 0).all() and cx.mass_vector(1).sum() > 0


def test_data_cells_complex():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    ws = [rng.normal(size=(6, 4)), rng.normal(size=(1, 6))]
    bs = [0.3 * rng.normal(size=6), np.zeros(1)]
    dc = mg.data_cells((ws, bs), X)
    cx = mg.RiemannianComplex(dc, X=X)
    assert cx.measure == "data" and cx.max_dim == 1
    assert cx.shape == (dc.n_cells, len({tuple(sorted(p)) for p in dc.edges.cells.tolist()}))
    np.testing.assert_allclose(cx.mass_vector(0), dc.counts / dc.counts.sum())
    assert (cx.mass_vector(1) >= 0).all()
    assert cx.graph_laplacian("count").shape == (dc.n_cells, dc.n_cells)
    assert cx.graph_laplacian("finite_volume").shape == (dc.n_cells, dc.n_cells)
    with pytest.raises(mg.InvalidInputError):
        mg.RiemannianComplex(dc, max_dim=2)
    with pytest.raises(mg.InvalidInputError):
        mg.RiemannianComplex(dc, measure="lebesgue")
    with pytest.raises(mg.InvalidInputError, match="pass X"):
        mg.RiemannianComplex(dc).mass_vector(1)


# ------------------------------------------------------------------------------------------- higher d, errors
def test_four_dimensional_arrangement_intersection_dims():
    rng = np.random.default_rng(3)
    part = mg.partition_hyperplanes(rng.normal(size=(4, 4)), 0.2 * rng.normal(size=4), mg.Box(-1, 1, dim=4))
    full = mg.RiemannianComplex(part, nerve="full", max_dim=2)
    dims1 = full.intersection_dim(1)
    adjacency = part.adjacency("count").toarray()
    i, j = full.simplices(1).T
    assert ((dims1 == 3) == (adjacency[i, j] > 0)).all()
    ridge = mg.RiemannianComplex(part, max_dim=2)
    assert (ridge.intersection_dim(2) == 2).all()
    no_ridges = mg.partition_hyperplanes(part.normals, part.offsets, part.box, ridges=False)
    alt = mg.RiemannianComplex(no_ridges, nerve="full", max_dim=2)  # affine ranks of the common vertices
    for k in (1, 2):
        assert np.array_equal(alt.simplices(k), full.simplices(k))
        assert np.array_equal(alt.intersection_dim(k), full.intersection_dim(k))


def test_errors():
    part = figure1()
    with pytest.raises(mg.InvalidInputError, match="measure"):
        mg.RiemannianComplex(part, measure="volume")
    with pytest.raises(mg.InvalidInputError, match="nerve"):
        mg.RiemannianComplex(part, nerve="clique")
    with pytest.raises(mg.InvalidInputError, match="max_dim"):
        mg.RiemannianComplex(part, max_dim=-1)
    with pytest.raises(mg.InvalidInputError, match="X="):
        mg.RiemannianComplex(part, measure="data")
    with pytest.raises(mg.InvalidInputError, match="bandwidth"):
        mg.RiemannianComplex(part, bandwidth=0.1)
    with pytest.raises(mg.InvalidInputError):
        mg.RiemannianComplex([[0, 1]])
    cx = mg.RiemannianComplex(part)
    with pytest.raises(mg.InvalidInputError):
        cx.simplices(3)
    with pytest.raises(mg.InvalidInputError):
        cx.mass(2, dihedral=True)
    no_vertices = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6], mg.Box(0, 1, dim=2), vertices=False)
    with pytest.raises(mg.InvalidInputError, match="vertices=True"):
        mg.RiemannianComplex(no_vertices, nerve="full")
    assert mg.RiemannianComplex(no_vertices).shape == (4, 4, 0)  # the adjacency nerve needs only facets/ridges
    no_ridges = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6], mg.Box(0, 1, dim=2), ridges=False)
    with pytest.raises(mg.InvalidInputError, match="ridges=True"):
        mg.RiemannianComplex(no_ridges).mass(1, dihedral=True)
    assert "RiemannianComplex" in repr(cx)


def test_lebesgue_masses_the_core_cannot_give_raise_a_named_error():
    # d = 5, full nerve up to 3-simplices: a generic 3-simplex's mass is the area of a 2-face (not reported)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 5))
    c = -(W * rng.uniform(0.3, 0.7, (3, 5))).sum(axis=1)
    cx = mg.RiemannianComplex(mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=5)), max_dim=3, nerve="full")
    assert cx.mass_vector(2).shape == (cx.shape[2],)
    with pytest.raises(mg.InvalidInputError, match="max_dim <= 2"):
        cx.mass_vector(3)
