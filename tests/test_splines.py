"""Simplicial splines and model refinement (mlgeom_rs.splines; paper.md §4)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import mlgeom_rs as mg
from mlgeom_rs.splines import facet_moments


def lines(m=10, seed=0, d=2):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, d))
    c = -(W * rng.uniform(0.2, 0.8, (m, d))).sum(axis=1)
    return mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=d))


def data(n=400, seed=1, d=2):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(3 * X[:, 0]) + X[:, -1] + 0.1 * rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def cx():
    return mg.RiemannianComplex(lines())


# ------------------------------------------------------------------------------------------- limits
def test_constant_limits(cx):
    part = cx.partition
    X, y = data()
    w = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    cells = part.locate(X)
    counts = np.bincount(cells, weights=w, minlength=part.n_cells)
    means = np.bincount(cells, weights=w * y, minlength=part.n_cells) / np.maximum(counts, 1e-300)
    has = counts > 0
    small = mg.SimplicialSpline(cx, lam=1e-12).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(small.values_[has, 0], means[has], atol=1e-6)
    big = mg.SimplicialSpline(cx, lam=1e12).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(big.values_[:, 0], (w @ y) / w.sum(), atol=1e-5)
    const = mg.SimplicialSpline(cx).fit(X, np.full(X.shape[0], 2.5))
    np.testing.assert_allclose(const.predict(X), 2.5, atol=1e-12)
    np.testing.assert_allclose(const.values_, 2.5, atol=1e-12)  # empty cells too


def test_linear_in_y(cx):
    X, y = data()
    y2 = np.cos(5 * X[:, 1])
    for kind, pen in (("constant", "laplacian"), ("affine", "face_jump"), ("affine", "laplacian")):

        def fit(t, kind=kind, pen=pen):
            return mg.SimplicialSpline(cx, kind=kind, penalty=pen, lam=0.7).fit(X, t).predict(X)

        np.testing.assert_allclose(fit(2 * y - 3 * y2), 2 * fit(y) - 3 * fit(y2), atol=1e-9)
    multi = mg.SimplicialSpline(cx, lam=0.7).fit(X, np.column_stack([y, y2]))
    np.testing.assert_allclose(multi.predict(X)[:, 1], mg.SimplicialSpline(cx, lam=0.7).fit(X, y2).predict(X))


def test_affine_limits_and_reproduction(cx):
    part = cx.partition
    X, y = data()
    lin = 1.0 + 2.0 * X[:, 0] - X[:, 1]
    for pen in ("face_jump", "laplacian"):
        for lam in (None, 0.0, 3.0, 1e9):
            sp = mg.SimplicialSpline(cx, kind="affine", penalty=pen, lam=lam).fit(X, lin)
            # λ = 1e9 amplifies the rounding of the facet measures (~1e-16) by ~λ: allow 1e-6 there
            np.testing.assert_allclose(sp.predict(X), lin, atol=1e-8 if lam is None or lam < 1e6 else 1e-6)
            # gradients of cells with < 3 points rest on the tiny ridge or on λ·Pen: ill-conditioned at the
            # extremes of λ, so looser than the values
            np.testing.assert_allclose(sp.gradients_[:, 0], np.tile([2.0, -1.0], (part.n_cells, 1)), atol=1e-3)
    # λ → ∞ with gradient jumps penalised: the global least-squares affine fit
    A = np.column_stack([np.ones(X.shape[0]), X])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    sp = mg.SimplicialSpline(cx, kind="affine", penalty="laplacian", lam=1e12).fit(X, y)
    np.testing.assert_allclose(sp.predict(X), A @ coef, atol=1e-4)
    # λ → ∞ with face jumps only: a continuous piecewise-affine spline (no jump at any facet centroid)
    sp = mg.SimplicialSpline(cx, kind="affine", penalty="face_jump", lam=1e12).fit(X, y)
    f = part.facets
    inner = f.interior
    m = f.centroids[inner]
    ci, cj = f.cells[inner, 0], f.cells[inner, 1]
    centres = part.centroids
    val = lambda cells: sp.values_[cells, 0] + np.einsum("nd,nd->n", sp.gradients_[cells, 0], m - centres[cells])  # noqa: E731
    assert np.abs(val(ci) - val(cj)).max() < 1e-4 * np.abs(y).max()
    # λ → 0: cell least-squares fits where a cell has enough data
    small = mg.SimplicialSpline(cx, kind="affine", penalty="face_jump", lam=1e-12).fit(X, y)
    cells = part.locate(X)
    target = np.bincount(cells).argmax()
    sel = cells == target
    Ac = np.column_stack([np.ones(sel.sum()), X[sel]])
    own = np.linalg.lstsq(Ac, y[sel], rcond=None)[0]
    np.testing.assert_allclose(small.predict(X[sel]), Ac @ own, atol=1e-5)


def test_gcv_picks_a_finite_lambda_and_helps():
    part = lines(m=14, seed=3)
    cx = mg.RiemannianComplex(part)
    rng = np.random.default_rng(5)
    X = rng.random((300, 2))
    truth = lambda Z: np.sin(4 * Z[:, 0]) * np.cos(3 * Z[:, 1])  # noqa: E731
    y = truth(X) + 0.4 * rng.normal(size=X.shape[0])
    sp = mg.SimplicialSpline(cx).fit(X, y)
    lams, scores = sp.gcv_
    assert np.isfinite(sp.lam_) and sp.lam_ > 0 and lams.min() < sp.lam_ < lams.max()
    Xt = rng.random((2000, 2))
    raw = mg.SimplicialSpline(cx, lam=1e-10).fit(X, y)
    err = lambda s: np.mean((s.predict(Xt) - truth(Xt)) ** 2)  # noqa: E731
    assert err(sp) < err(raw)


def test_extended_and_custom_penalties(cx):
    X, y = data()
    ext = mg.SimplicialSpline(cx, penalty="extended", lam=1.0, dim_weights=[1.0, 0.5]).fit(X, y)
    P = cx.extended_laplacian([1.0, 0.5])
    same = mg.SimplicialSpline(cx, penalty=P, lam=1.0).fit(X, y)
    np.testing.assert_allclose(ext.predict(X), same.predict(X))
    lap = mg.SimplicialSpline(cx, penalty="laplacian", lam=1.0).fit(X, y)
    jump = mg.SimplicialSpline(cx, penalty="face_jump", lam=1.0).fit(X, y)
    np.testing.assert_allclose(lap.predict(X), jump.predict(X), atol=1e-10)  # Lebesgue: K_0 = Σ_F area jump²
    with pytest.raises(mg.InvalidInputError):
        mg.SimplicialSpline(cx, penalty=P[:3, :3], lam=1.0).fit(X, y)
    with pytest.raises(mg.InvalidInputError):
        mg.SimplicialSpline(cx, kind="affine", penalty="extended").fit(X, y)


def test_bending_and_prior(cx):
    X, y = data()
    a = mg.SimplicialSpline(cx, kind="affine", penalty="face_jump", lam=0.1).fit(X, y)
    b = mg.SimplicialSpline(cx, kind="affine", penalty="face_jump", lam=0.1, bending=100.0).fit(X, y)
    spread = lambda s: np.var(s.gradients_[:, 0], axis=0).sum()  # noqa: E731
    assert spread(b) < spread(a)
    prior = np.full(cx.partition.n_cells, 7.0)
    pulled = mg.SimplicialSpline(cx, lam=1.0, prior_weight=1e9).fit(X, y, prior=prior)
    np.testing.assert_allclose(pulled.values_, 7.0, atol=1e-5)
    jac = np.zeros((cx.partition.n_cells, 1, 2))
    jac[:, 0, 0] = 3.0
    off = np.ones((cx.partition.n_cells, 1))
    aff = mg.SimplicialSpline(cx, kind="affine", lam=1.0, prior_weight=1e9).fit(X, y, prior=(jac, off))
    np.testing.assert_allclose(aff.predict(X), 1.0 + 3.0 * X[:, 0], atol=1e-4)


# ------------------------------------------------------------------------------------------- moments
def _moments_by_sampling(verts, n=200_000, seed=0):
    """Second central moment of a convex polygon in 3-D by fan triangles and uniform sampling."""
    rng = np.random.default_rng(seed)
    c = verts.mean(axis=0)
    nrm = np.cross(verts[1] - verts[0], verts[2] - verts[0])
    nrm /= np.linalg.norm(nrm)
    u = np.cross(nrm, [1.0, 0, 0] if abs(nrm[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    w = np.cross(nrm, u)
    order = np.argsort(np.arctan2((verts - c) @ w, (verts - c) @ u))
    v = verts[order]
    tris = [(v[0], v[i], v[i + 1]) for i in range(1, len(v) - 1)]
    areas = np.array([0.5 * np.linalg.norm(np.cross(b - a, cc - a)) for a, b, cc in tris])
    pick = rng.choice(len(tris), size=n, p=areas / areas.sum())
    r1, r2 = rng.random(n), rng.random(n)
    flip = r1 + r2 > 1
    r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
    T = np.array(tris)[pick]
    P = T[:, 0] + r1[:, None] * (T[:, 1] - T[:, 0]) + r2[:, None] * (T[:, 2] - T[:, 0])
    mu = P.mean(axis=0)
    return areas.sum() * np.cov((P - mu).T, bias=True), areas.sum(), mu


def test_facet_moments():
    part2 = lines(m=6)
    ids, areas, cent, S = facet_moments(part2)
    f = part2.facets
    np.testing.assert_allclose(areas, f.areas[ids])
    t = np.column_stack([-f.normals[ids, 1], f.normals[ids, 0]])
    np.testing.assert_allclose(np.trace(S, axis1=1, axis2=2), areas**3 / 12)
    np.testing.assert_allclose(np.einsum("fij,fj->fi", S, f.normals[ids]), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.einsum("fi,fij,fj->f", t, S, t), areas**3 / 12)
    part3 = lines(m=4, seed=2, d=3)
    ids3, areas3, cent3, S3 = facet_moments(part3)
    f3 = part3.facets
    for q in range(min(4, ids3.size)):
        fid = ids3[q]
        i = f3.cells[fid, 0]
        V = part3.vertices(i)
        on = np.abs((V - f3.centroids[fid]) @ f3.normals[fid]) < 1e-9
        ref, area, mu = _moments_by_sampling(V[on])
        assert area == pytest.approx(areas3[q], rel=1e-9)
        np.testing.assert_allclose(mu, cent3[q], atol=5e-3)
        np.testing.assert_allclose(S3[q], ref, atol=2e-2 * np.abs(ref).max())


def test_facet_moments_of_boxes():
    pytest.importorskip("sklearn")
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = rng.random((100, 3))
    part = mg.partition(DecisionTreeRegressor(max_depth=3).fit(X, X.sum(1)), mg.Box(0, 1, dim=3))
    ids, areas, cent, S = facet_moments(part)
    f = part.facets
    axis = np.argmax(np.abs(f.normals[ids]), axis=1)
    np.testing.assert_allclose(S[np.arange(ids.size), axis, axis], 0.0)
    tr = np.trace(S, axis1=1, axis2=2)
    assert (tr > 0).all()


# ------------------------------------------------------------------------------------------- estimator protocol
def test_estimator_protocol(cx):
    sp = mg.SimplicialSpline(cx, kind="constant", lam=0.5)
    params = sp.get_params()
    assert params["lam"] == 0.5 and params["kind"] == "constant" and params["complex"] is cx
    assert sp.set_params(lam=2.0) is sp and sp.lam == 2.0
    with pytest.raises(mg.InvalidInputError):
        sp.set_params(alpha=1.0)
    with pytest.raises(mg.InvalidInputError, match="not fitted"):
        sp.predict([[0.5, 0.5]])
    X, y = data()
    assert sp.fit(X, y) is sp
    assert sp.predict(X).shape == (X.shape[0],)
    sklearn = pytest.importorskip("sklearn")
    from sklearn.metrics import r2_score

    assert sp.score(X, y) == pytest.approx(r2_score(y, sp.predict(X)))
    with pytest.raises(mg.InvalidInputError, match="outside"):
        sp.predict([[2.0, 0.5]])
    with pytest.raises(mg.InvalidInputError):
        mg.SimplicialSpline(cx, kind="quadratic").fit(X, y)
    with pytest.raises(mg.InvalidInputError):
        mg.SimplicialSpline(cx, lam=-1.0).fit(X, y)
    assert "SimplicialSpline(" in repr(sp)
    del sklearn


@settings(max_examples=examples(10))
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 8), kind=st.sampled_from(["constant", "affine"]))
def test_random_partitions_reproduce_and_are_linear(seed, m, kind):
    part = lines(m=m, seed=seed)
    cx = mg.RiemannianComplex(part)
    rng = np.random.default_rng(seed)
    X = rng.random((60, 2))
    y1, y2 = rng.normal(size=60), rng.normal(size=60)
    target = 1.5 if kind == "constant" else 1.5 + X @ np.array([0.5, -2.0])
    sp = mg.SimplicialSpline(cx, kind=kind).fit(X, np.broadcast_to(target, (60,)))
    np.testing.assert_allclose(sp.predict(X), target, atol=1e-7)
    fit = lambda t: mg.SimplicialSpline(cx, kind=kind, lam=0.3).fit(X, t).predict(X)  # noqa: E731
    np.testing.assert_allclose(fit(y1 + 2 * y2), fit(y1) + 2 * fit(y2), atol=1e-8)


# ------------------------------------------------------------------------------------------- refine
def test_refine_tree_classifier_on_moons():
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_moons
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_moons(n_samples=600, noise=0.3, random_state=0)
    Xtr, ytr, Xref, yref, Xte, yte = X[:250], y[:250], X[250:450], y[250:450], X[450:], y[450:]
    tree = DecisionTreeClassifier(random_state=0).fit(Xtr, ytr)
    box = mg.Box.from_data(X, margin=0.05)
    refined = mg.refine(tree, Xref, yref, box=box)
    assert refined.partition_.n_cells == tree.get_n_leaves()
    proba = refined.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(refined.predict(Xte))) <= {0, 1}
    assert 0.0 <= refined.score(Xte, yte) <= 1.0
    assert refined.lam_ > 0
    prior = mg.refine(tree, Xref, yref, box=box, model_weight=1e9, lam=1.0)
    np.testing.assert_allclose(prior.spline_.values_, refined.partition_.probabilities, atol=1e-6)
    with pytest.raises(mg.InvalidInputError, match="classes"):
        mg.refine(tree, Xref, yref + 5, box=box)
    assert "RefinedModel" in repr(refined)


def test_refine_regressors():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPRegressor
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = rng.random((300, 2))
    y = np.sin(4 * X[:, 0]) + X[:, 1] + 0.2 * rng.normal(size=300)
    tree = DecisionTreeRegressor(min_samples_leaf=5, random_state=0).fit(X[:150], y[:150])
    refined = mg.refine(tree, X[150:], y[150:], box=mg.Box(0, 1, dim=2))
    assert refined.classes_ is None and refined.predict(X).shape == (300,)
    assert np.isfinite(refined.score(X, y))
    net = MLPRegressor(hidden_layer_sizes=(6,), max_iter=500, random_state=0).fit(X, y)
    affine = mg.refine(
        net, X, y, box=mg.Box(0, 1, dim=2), kind="affine", penalty="face_jump", model_weight=1e9, lam=1.0
    )
    np.testing.assert_allclose(affine.predict(X), net.predict(X), atol=1e-5)  # the prior: the net's affine maps
    with pytest.raises(mg.InvalidInputError):
        affine.predict_proba(X)
