"""Hodge, graph and extended Laplacians of the nerve, Betti numbers, spectra (mlgeom_rs.laplacian; paper.md §3, §9)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import examples, random_arrangements
from hypothesis import given, settings

import mlgeom_rs as mg
from mlgeom_rs import complex as cxmod


def figure1(a, b):
    return mg.partition_hyperplanes([[1, 0], [0, 1]], [-a, -b], mg.Box(0, 1, dim=2))


@pytest.mark.parametrize(
    ("a", "b", "k0", "l0"),
    [
        (0.5, 0.5, [0, 1, 1, 2], [0, 4, 4, 8]),
        (0.3, 0.6, [0, 0.8292, 1.0, 2.1708], [0, 4.1667, 4.7619, 8.9286]),
    ],
)
def test_figure1_eigenvalues(a, b, k0, l0):
    cx = mg.RiemannianComplex(figure1(a, b))
    K0 = cx.hodge_laplacian(0, "stiffness").toarray()
    np.testing.assert_allclose(np.linalg.eigvalsh(K0), k0, atol=1e-4)
    L0 = cx.hodge_laplacian(0).toarray()  # M_0^{-1} K_0: not symmetric, real spectrum
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(L0).real), l0, atol=1e-4)
    vals, _ = cx.spectrum(0, n=4)
    np.testing.assert_allclose(vals, l0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.eigvalsh(cx.graph_laplacian("area").toarray()), k0, atol=1e-4)
    # the full nerve adds only zero-area diagonals: the same K_0
    full = mg.RiemannianComplex(figure1(a, b), nerve="full")
    np.testing.assert_allclose(np.linalg.eigvalsh(full.hodge_laplacian(0, "stiffness").toarray()), k0, atol=1e-4)


def test_forms_agree():
    cx = mg.RiemannianComplex(figure1(0.3, 0.6), nerve="full", max_dim=3)
    for k in range(3):
        m = cx.mass_vector(k)
        rw = cx.hodge_laplacian(k, "random_walk").toarray()
        sym = cx.hodge_laplacian(k, "symmetric").toarray()
        stiff = cx.hodge_laplacian(k, "stiffness").toarray()
        pos = m > 0  # zero masses: M⁺ = 0, so the forms agree on the other rows only
        np.testing.assert_allclose(stiff[pos], (np.diag(m) @ rw)[pos], atol=1e-12)
        s = np.sqrt(m[pos])
        np.testing.assert_allclose(sym[np.ix_(pos, pos)], (s[:, None] * rw[np.ix_(pos, pos)]) / s[None, :], atol=1e-12)
        for A in (sym, stiff):
            np.testing.assert_allclose(A, A.T, atol=1e-12)
            assert np.linalg.eigvalsh(A).min() > -1e-10


def test_l1_matches_the_formula():
    cx = mg.RiemannianComplex(figure1(0.3, 0.6), nerve="full", max_dim=2)
    B1, B2 = cx.boundary(1).toarray(), cx.boundary(2).toarray()
    m0, m1, m2 = (cx.mass_vector(k) for k in range(3))
    inv = np.divide(1.0, m1, out=np.zeros_like(m1), where=m1 > 0)
    expected = B1.T @ np.diag(1 / m0) @ B1 @ np.diag(m1) + np.diag(inv) @ B2 @ np.diag(m2) @ B2.T
    np.testing.assert_allclose(cx.hodge_laplacian(1).toarray(), expected, atol=1e-12)


@settings(max_examples=examples(15))
@given(arr=random_arrangements(dims=(1, 2, 3), max_m=(5, 7, 4)))
def test_hodge_invariants_on_random_arrangements(arr):
    part = arr.partition(mg)
    cx = mg.RiemannianComplex(part, max_dim=2)
    L0 = cx.hodge_laplacian(0)
    np.testing.assert_allclose(L0 @ np.ones(part.n_cells), 0.0, atol=1e-9)
    sym = cx.hodge_laplacian(0, "symmetric")
    np.testing.assert_allclose(sym @ np.sqrt(cx.mass_vector(0)), 0.0, atol=1e-9)
    betti = cx.betti()
    for k in range(3):
        for form in ("symmetric", "stiffness"):
            A = cx.hodge_laplacian(k, form).toarray()
            if A.size == 0:
                continue
            np.testing.assert_allclose(A, A.T, atol=1e-10)
            ev = np.linalg.eigvalsh(A)
            scale = max(1.0, float(np.abs(ev).max()))
            assert ev.min() > -1e-9 * scale
            # the adjacency nerve has positive masses, so the weighted kernel is the homology (Hodge)
            assert int(np.count_nonzero(ev < 1e-9 * scale)) == betti[k]


def test_betti_numbers_of_tree_complexes():
    pytest.importorskip("sklearn")
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = rng.random((200, 2))
    model = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, np.sin(5 * X[:, 0]) * X[:, 1])
    part = mg.partition(model, mg.Box(0, 1, dim=2))
    cx = mg.RiemannianComplex(part, max_dim=2)
    betti = cx.betti()
    for k in range(3):
        A = cx.hodge_laplacian(k, "symmetric").toarray()
        if A.size:
            assert int(np.count_nonzero(np.linalg.eigvalsh(A) < 1e-9 * max(1, np.abs(A).max()))) == betti[k]
    assert mg.RiemannianComplex(part, nerve="full", max_dim=3).betti()[:3] == (1, 0, 0)


def test_graph_laplacian_weights_and_forms():
    part = mg.partition_hyperplanes([[1, 0.3], [0.2, 1], [1, -1]], [-0.5, -0.5, 0.1], mg.Box(0, 1, dim=2))
    cx = mg.RiemannianComplex(part)
    n = part.n_cells
    count = cx.graph_laplacian("count").toarray()
    A = part.adjacency("count").toarray()
    np.testing.assert_allclose(count, np.diag(A.sum(1)) - A)
    area = cx.graph_laplacian("area").toarray()
    Aa = part.adjacency("area").toarray()
    np.testing.assert_allclose(area, np.diag(Aa.sum(1)) - Aa, atol=1e-12)
    np.testing.assert_allclose(area, cx.hodge_laplacian(0, "stiffness").toarray(), atol=1e-12)
    fv = cx.graph_laplacian("finite_volume").toarray()
    c = part.centroids
    i, j = cx.simplices(1).T
    np.testing.assert_allclose(-fv[i, j], Aa[i, j] / np.linalg.norm(c[i] - c[j], axis=1))
    rw = cx.graph_laplacian("finite_volume", form="random_walk").toarray()
    np.testing.assert_allclose(rw @ np.ones(n), 0.0, atol=1e-10)
    np.testing.assert_allclose(rw, fv / part.volumes[:, None], atol=1e-10)
    sym = cx.graph_laplacian("area", form="symmetric").toarray()
    np.testing.assert_allclose(sym, sym.T, atol=1e-12)
    with pytest.raises(mg.InvalidInputError):
        cx.graph_laplacian("length")
    with pytest.raises(mg.InvalidInputError):
        cx.graph_laplacian("area", form="normalised")


def test_finite_volume_laplacian_approximates_minus_delta():
    # a fine grid of lines: L_rw applied to f(x) = x0^2 + x1^2 gives -Δf = -4 at interior cells
    ticks = np.linspace(0.0, 1.0, 21)[1:-1]
    W = np.vstack([np.repeat([[1.0, 0.0]], ticks.size, 0), np.repeat([[0.0, 1.0]], ticks.size, 0)])
    c = -np.concatenate([ticks, ticks])
    part = mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2))
    cx = mg.RiemannianComplex(part)
    L = cx.graph_laplacian("finite_volume", form="random_walk")
    x = part.centroids
    f = (x**2).sum(axis=1)
    inside = ((x > 0.06) & (x < 0.94)).all(axis=1)
    np.testing.assert_allclose((L @ f)[inside], -4.0, rtol=1e-9)


def test_extended_laplacian():
    part = figure1(0.3, 0.6)
    cx = mg.RiemannianComplex(part, nerve="full", max_dim=3)
    n = part.n_cells
    L = cx.extended_laplacian([1.0, 0.5, 2.0, 1.0]).toarray()
    np.testing.assert_allclose(L, L.T, atol=1e-14)
    np.testing.assert_allclose(L @ np.ones(n), 0.0, atol=1e-12)
    assert np.linalg.eigvalsh(L).min() > -1e-12
    # by hand: K_0 + 0.5·Σ_e m_e (1/2)(e_i - e_j)(e_i - e_j)ᵀ + 2·Σ_triangles m (I - J/3) + 1·m_tet (I - J/4)
    K0 = cx.hodge_laplacian(0, "stiffness").toarray()
    expected = K0.copy()
    for p, alpha in ((1, 0.5), (2, 2.0), (3, 1.0)):
        for s, w in zip(cx.simplices(p), cx.mass_vector(p), strict=True):
            Q = np.zeros((n, n))
            Q[np.ix_(s, s)] = np.eye(len(s)) - 1.0 / len(s)
            expected += alpha * w * Q
    np.testing.assert_allclose(L, expected, atol=1e-14)
    # author-compatible: unweighted B1 B1ᵀ, Q[i,i] = 1, Q[i,j] = -1/|σ|: row sums Σ_σ∋i α w_σ / |σ|
    La = cx.extended_laplacian([1.0, 0.0, 1.0], centred=False, simplex_weights="uniform").toarray()
    B1 = cx.boundary(1).toarray()
    per_vertex = np.zeros(n)
    for s in cx.simplices(2):
        per_vertex[s] += 1.0 / 3.0
    np.testing.assert_allclose(La.sum(axis=1), per_vertex)
    expected_a = B1 @ B1.T
    for s in cx.simplices(2):
        Q = np.zeros((n, n))
        Q[np.ix_(s, s)] = -1.0 / 3.0
        Q[s, s] = 1.0
        expected_a += Q
    np.testing.assert_allclose(La, expected_a, atol=1e-14)
    custom = cx.extended_laplacian([0.0, 1.0], simplex_weights=[np.ones(cx.shape[1])]).toarray()
    np.testing.assert_allclose(custom, 0.5 * cx.graph_laplacian("count").toarray())
    with pytest.raises(mg.InvalidInputError):
        cx.extended_laplacian([1.0] * 6)
    with pytest.raises(mg.InvalidInputError):
        cx.extended_laplacian([1.0, 1.0], simplex_weights=[np.ones(2)])


def test_spectrum_dense_and_sparse_agree(monkeypatch):
    rng = np.random.default_rng(0)
    m = 12
    th = rng.uniform(0, np.pi, m)
    W = np.column_stack([np.cos(th), np.sin(th)])
    c = -(W * rng.uniform(0.2, 0.8, (m, 2))).sum(axis=1)
    cx = mg.RiemannianComplex(mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2)))
    dense_vals, _ = cx.spectrum(0, n=6)
    monkeypatch.setattr(cxmod, "DENSE_LIMIT", 10)
    vals, vecs = cx.spectrum(0, n=6)
    np.testing.assert_allclose(vals, dense_vals, atol=1e-8)
    assert abs(vals[0]) < 1e-8 and vals[1] > 1e-6  # connected
    S = cx.hodge_laplacian(0, "symmetric")
    np.testing.assert_allclose(S @ vecs, vecs * vals, atol=1e-7)
    rw_vals, rw_vecs = cx.spectrum(0, n=6, form="random_walk")
    L = cx.hodge_laplacian(0)
    np.testing.assert_allclose(L @ rw_vecs, rw_vecs * rw_vals, atol=1e-7)
    m0 = cx.mass_vector(0)
    np.testing.assert_allclose(rw_vecs.T @ (m0[:, None] * rw_vecs), np.eye(6), atol=1e-7)  # M_0-orthonormal
    with pytest.raises(mg.InvalidInputError):
        cx.spectrum(0, n=0)


def test_dihedral_hodge_and_betti_limits():
    cx = mg.RiemannianComplex(figure1(0.3, 0.6))
    K = cx.hodge_laplacian(0, "stiffness", dihedral=True).toarray()
    B1 = cx.boundary(1).toarray()
    np.testing.assert_allclose(K, B1 @ cx.mass(1, dihedral=True).toarray() @ B1.T)
    with pytest.raises(mg.InvalidInputError):
        cx.hodge_laplacian(1, dihedral=True)
    with pytest.raises(mg.InvalidInputError):
        cx.hodge_laplacian(0, "normalised")
    big = mg.partition_hyperplanes(
        np.eye(2).repeat(40, 0), -np.tile(np.linspace(0.01, 0.99, 40), 2), mg.Box(0, 1, dim=2)
    )
    with pytest.raises(mg.InvalidInputError, match="beta_0 = 1"):
        mg.RiemannianComplex(big).betti()
