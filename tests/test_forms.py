"""LayerTrace and ConstantForm: pullbacks through the layers of a ReLU network (paper.md §7)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.forms import ConstantForm, LayerTrace, pullback_form


def _net(seed: int, sizes: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    bs = [rng.normal(scale=0.5, size=sizes[k + 1]) for k in range(len(sizes) - 1)]
    return ws, bs


def _forward(ws, bs, X, output_layer=True):
    """h_0, ..., h_n: every layer's output at every point (ReLU on all but a linear output layer)."""
    hs = [X]
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = hs[-1] @ w.T + b
        hs.append(z if (output_layer and k == len(ws) - 1) else np.maximum(z, 0.0))
    return hs


@pytest.fixture(
    scope="module",
    params=[[3, 7, 6, 5, 2], [12, 5, 6, 4, 2], [40, 36, 34, 3]],
    ids=["direct", "through-W1", "through-W1-gram"],
)
def deep(request):
    """Networks whose Jacobians LayerTrace keeps as J (w_1 >= d) or factored through W_1 (w_1 < d)."""
    sizes = request.param
    ws, bs = _net(1, sizes)
    X = np.random.default_rng(2).normal(size=(800 if sizes[0] < 20 else 300, sizes[0]))
    return ws, bs, X, LayerTrace((ws, bs), X)


def test_one_hidden_layer_boundary_forms_are_the_first_layer():
    ws, bs = _net(3, [4, 6, 3])
    X = np.random.default_rng(4).normal(size=(300, 4))
    tr = LayerTrace((ws, bs), X)
    assert tr.n_hidden == 1 and tr.n_layers == 2 and tr.layer_sizes == (6, 3)
    assert tr.n_cells(1) > 5
    for i in range(tr.n_cells(1)):
        a, c = tr.boundary_forms(1, i)
        np.testing.assert_array_equal(a, ws[0])
        np.testing.assert_array_equal(c, bs[0])


def test_affine_maps_reproduce_the_forward_pass(deep):
    ws, bs, X, tr = deep
    hs = _forward(ws, bs, X)
    for l in range(tr.n_layers + 1):
        pc = tr.cells(l).point_cell
        J, c = tr.jacobians(l), tr.offsets(l)
        h = np.einsum("nwd,nd->nw", J[pc], X) + c[pc]
        np.testing.assert_allclose(h, hs[l], rtol=0, atol=1e-9)
    # Single-cell accessors agree with the batched ones; the pre-activation forms give z at every point.
    for l in range(1, tr.n_layers + 1):
        cells = tr.cells(l)
        for i in range(0, tr.n_cells(l), 7):
            np.testing.assert_allclose(tr.jacobian(l, i), tr.jacobians(l, [i])[0], atol=1e-12)
            np.testing.assert_allclose(tr.offset(l, i), tr.offsets(l, [i])[0], atol=1e-12)
            a, off = tr.boundary_forms(l, i)
            pts = X[cells.point_cell == i]
            z = pts @ a.T + off
            np.testing.assert_allclose(z, hs[l - 1][cells.point_cell == i] @ ws[l - 1].T + bs[l - 1], atol=1e-9)


def test_lineage_tree(deep):
    ws, bs, X, tr = deep
    hs = _forward(ws, bs, X)
    prev = tr.cells(0)
    assert prev.patterns.shape == (1, 0) and prev.counts.tolist() == [X.shape[0]]
    for l in range(1, tr.n_hidden + 1):
        cur = tr.cells(l)
        assert cur.counts.sum() == X.shape[0] and tr.n_cells(l) >= tr.n_cells(l - 1)
        # Each cell of layer l lies in exactly one cell of layer l-1: all its points share that parent.
        pairs = np.unique(np.stack([cur.point_cell, prev.point_cell[np.arange(X.shape[0])]], axis=1), axis=0)
        assert pairs.shape[0] == tr.n_cells(l)
        np.testing.assert_array_equal(pairs[:, 1], cur.parent[pairs[:, 0]])
        # The parent's pattern is a prefix, the points' patterns are the cell's, and cells are sorted.
        np.testing.assert_array_equal(cur.patterns[:, : prev.patterns.shape[1]], prev.patterns[cur.parent])
        bits = np.concatenate([h > 0 for h in hs[1 : l + 1]], axis=1)
        np.testing.assert_array_equal(cur.patterns[cur.point_cell], bits)
        labels = ["".join("1" if b else "0" for b in row) for row in cur.patterns]
        assert labels == sorted(labels) and len(set(labels)) == len(labels)
        np.testing.assert_array_equal(cur.point_cell[cur.representatives], np.arange(tr.n_cells(l)))
        for i in range(0, tr.n_cells(l), 5):
            assert tr.ancestor(l, i, l - 1) == cur.parent[i]
            A, b = tr.halfspaces(l, i)
            assert A.shape == (sum(tr.layer_sizes[:l]), X.shape[1])
            assert np.all(X[cur.point_cell == i] @ A.T + b <= 1e-9)
        prev = cur
    # The last hidden layer numbers its cells as data_cells does; the output layer shares them.
    dc = mg.data_cells((ws, bs), X)
    last = tr.cells(tr.n_hidden)
    np.testing.assert_array_equal(last.patterns, dc.patterns)
    np.testing.assert_array_equal(last.point_cell, dc.point_cell)
    out = tr.cells(tr.n_layers)
    np.testing.assert_array_equal(out.point_cell, last.point_cell)
    np.testing.assert_array_equal(out.parent, np.arange(tr.n_cells(tr.n_layers)))
    jac = tr.jacobians(tr.n_layers)
    np.testing.assert_allclose(jac, dc.affine_maps.jacobians, atol=1e-12)


def test_volume_form_pullback_is_the_determinant():
    ws, bs = _net(5, [3, 3, 3, 3])
    bs = [b + 1.0 for b in bs]  # so that some cells keep every neuron on (full-rank square Jacobians)
    X = np.random.default_rng(6).normal(scale=0.5, size=(600, 3))
    tr = LayerTrace((ws, bs), X, output_layer=False)
    vol = ConstantForm.volume(3)
    checked = 0
    for l in (1, 2, 3):
        dets = np.linalg.det(tr.jacobians(l))
        coefs = tr.pullback_coefficients(vol, l)
        np.testing.assert_allclose(coefs[:, 0], dets, atol=1e-12)
        full = np.flatnonzero(tr.ranks(l) == 3)
        checked += full.size
        for i in full[:5]:
            form = tr.pullback(vol, l, int(i))
            assert form.degree == 3 and form.indices.tolist() == [[0, 1, 2]]
            assert form.coefficients[0] == pytest.approx(dets[i], rel=1e-12)
            assert tr.volume_factor(l, int(i)) == pytest.approx(abs(dets[i]), rel=1e-10)
    assert checked > 0


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_pullback_composes_contravariantly(k):
    rng = np.random.default_rng(10 + k)
    n, m, d = 5, 4, 4
    F, G = rng.normal(size=(n, m)), rng.normal(size=(m, d))
    omega = ConstantForm.from_dense(n, k, rng.normal(size=math.comb(n, k)))
    lhs = omega.pullback(F @ G)  # (f∘g)^* ω
    rhs = omega.pullback(F).pullback(G)  # g^*(f^* ω)
    np.testing.assert_allclose(lhs.to_dense(), rhs.to_dense(), atol=1e-10)
    # The definition: (J^* ω)(v_1..v_k) = ω(J v_1, ..., J v_k).
    vs = rng.normal(size=(k, d))
    assert omega.pullback(F @ G)(*vs) == pytest.approx(omega(*(F @ G @ v for v in vs)), abs=1e-10)


def test_trace_pullback_is_the_composition_of_layer_maps(deep):
    ws, bs, X, tr = deep
    rng = np.random.default_rng(12)
    for l in range(2, tr.n_layers + 1):
        w = tr.layer_sizes[l - 1]
        if w <= 8:
            omega = ConstantForm.from_dense(w, 2, rng.normal(size=math.comb(w, 2)))
        else:  # a sparse 2-form: 6 random terms
            keys = {tuple(rng.choice(w, 2, replace=False).tolist()) for _ in range(6)}
            omega = ConstantForm.from_dict({key: float(rng.normal()) for key in keys}, w)
        parent = tr.cells(l).parent
        for i in range(0, tr.n_cells(l), 9):
            Dw, _ = tr.layer_map(l, i)
            direct = tr.pullback(omega, l, i)
            stepwise = tr.pullback(pullback_form(omega, Dw), l - 1, int(parent[i]))
            np.testing.assert_allclose(direct.to_dense(), stepwise.to_dense(), atol=1e-10)
            np.testing.assert_allclose(tr.jacobian(l, i), Dw @ tr.jacobian(l - 1, int(parent[i])), atol=1e-12)


def test_constant_form_from_dict_signs_and_repeats():
    a = ConstantForm.from_dict({(1, 0): 2.0, (0, 2): 1.0, (2, 0): 0.5, (1, 1): 7.0}, 3)
    assert a.to_dict() == {(0, 1): -2.0, (0, 2): 0.5}
    assert a.to_dense().tolist() == [-2.0, 0.5, 0.0]
    e = np.eye(3)
    assert a(e[0], e[1]) == -2.0 and a(e[1], e[0]) == 2.0
    assert ConstantForm.from_dict({(2, 0, 1): 1.0}, 3).to_dict() == {(0, 1, 2): 1.0}
    assert ConstantForm.from_dict({}, 4, degree=2).to_dense().shape == (6,)
    with pytest.raises(mg.InvalidInputError):
        ConstantForm(3, [[1, 0]], [1.0])
    with pytest.raises(mg.InvalidInputError):
        ConstantForm.from_dict({(0,): 1.0, (0, 1): 1.0}, 3)


def test_metric_volume_factor_and_rank(deep):
    ws, bs, X, tr = deep
    for l in range(1, tr.n_layers + 1):
        sv = tr.singular_values(l)
        ranks = tr.ranks(l)
        vf = tr.volume_factors(l)
        for i in range(0, tr.n_cells(l), 11):
            J = tr.jacobian(l, i)
            np.testing.assert_allclose(tr.metric(l, i), J.T @ J, atol=1e-12)
            assert ranks[i] == np.linalg.matrix_rank(J)
            s = sv[i][: ranks[i]]
            assert vf[i] == pytest.approx(float(np.prod(s)), rel=1e-10)
            if ranks[i] == X.shape[1]:  # full column rank: the plain determinant of the metric
                assert vf[i] == pytest.approx(math.sqrt(np.linalg.det(J.T @ J)), rel=1e-8)
    # A cell where the layer is dead everywhere: J = 0, the empty product.
    ws2 = [np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])]
    bs2 = [np.array([0.0, 0.0]), np.array([0.0])]
    tr2 = LayerTrace((ws2, bs2), np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0]]))
    neg = tr2.cells(1).point_cell[0]
    assert tr2.ranks(1)[neg] == 0 and tr2.volume_factor(1, int(neg)) == 1.0
    both = tr2.cells(1).point_cell[2]
    assert tr2.ranks(1)[both] == 2 and tr2.volume_factor(1, int(both)) == pytest.approx(1.0)
    assert tr2.ranks(2)[both] == 1 and tr2.volume_factor(2, int(both)) == pytest.approx(math.sqrt(2))


def test_boundary_distance_is_exact(deep):
    ws, bs, X, tr = deep
    dist, bit = tr.boundary_distance(return_neuron=True)
    assert np.all(dist > 0) and np.all(bit >= 0)
    labels = tr.cells(tr.n_hidden)
    sizes = np.cumsum((0, *tr.layer_sizes[: tr.n_hidden]))

    def pattern(P):
        return np.concatenate([h > 0 for h in _forward(ws, bs, P)[1 : tr.n_hidden + 1]], axis=1)

    # Step towards the nearest boundary (the foot of the perpendicular on that neuron's plane in the cell):
    # just short of it the pattern is unchanged, just past it the nearest neuron has flipped.
    feet = np.empty_like(X)
    for t in range(X.shape[0]):
        i = labels.point_cell[t]
        m = int(np.searchsorted(sizes, bit[t], side="right"))
        k = bit[t] - sizes[m - 1]
        a, c = tr.boundary_forms(m, tr.ancestor(tr.n_hidden, i, m))
        feet[t] = X[t] - (a[k] @ X[t] + c[k]) * a[k] / (a[k] @ a[k])
        assert np.linalg.norm(feet[t] - X[t]) == pytest.approx(dist[t], rel=1e-9)
    base = pattern(X)
    inside = pattern(X + 0.999 * (feet - X))
    past = pattern(X + 1.001 * (feet - X))
    assert np.array_equal(inside, base)
    assert np.all(past[np.arange(X.shape[0]), bit] != base[np.arange(X.shape[0]), bit])
    # Earlier layers' cells are larger: their distances are never smaller.
    assert np.all(tr.boundary_distance(1) >= dist - 1e-12)


def test_summary(deep):
    ws, bs, X, tr = deep
    s = tr.summary()
    assert s.layer.tolist() == list(range(1, tr.n_layers + 1))
    assert s.cells.tolist() == [tr.n_cells(l) for l in range(1, tr.n_layers + 1)]
    assert s.split[-1] == 0 and s.new[-1] == 0 and np.all(s.split <= s.cells)
    assert s.rank[0] == pytest.approx(float(tr.ranks(1).mean()))
    assert np.all(s.rank <= X.shape[1])
    text = str(s)
    assert "log_volume" in text and len(text.splitlines()) == tr.n_layers + 2
    small = tr.summary(max_cells=4)
    assert np.all(small.sampled <= 4) and small.cells.tolist() == s.cells.tolist()


def test_errors(deep):
    ws, bs, X, tr = deep
    with pytest.raises(IndexError):
        tr.jacobian(tr.n_layers + 1, 0)
    with pytest.raises(IndexError):
        tr.jacobian(1, tr.n_cells(1))
    with pytest.raises(mg.InvalidInputError):
        tr.pullback(ConstantForm.volume(3), 1, 0)  # layer 1 has width 7
    with pytest.raises(mg.InvalidInputError):
        tr.boundary_forms(0, 0)
    with pytest.raises(mg.InvalidInputError):
        LayerTrace((ws, bs), X[:, :2])
    with pytest.raises(mg.UnsupportedModelError):
        LayerTrace(object(), X)


def test_models_from_libraries():
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(7).normal(size=(200, 2))
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.ReLU())
    tr = LayerTrace(seq, X)
    assert not tr.output_layer and tr.n_layers == 2
    with torch.no_grad():
        out = seq(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    pc = tr.cells(2).point_cell
    h = np.einsum("nwd,nd->nw", tr.jacobians(2)[pc], X) + tr.offsets(2)[pc]
    np.testing.assert_allclose(h, out, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_sklearn_mlp():
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    X = np.random.default_rng(8).normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=50, random_state=0).fit(X, y)
    tr = LayerTrace(clf, X)
    assert tr.output_layer and tr.layer_sizes == (6, 4, 1)
    pc = tr.cells(3).point_cell
    logits = np.einsum("nwd,nd->nw", tr.jacobians(3)[pc], X)[:, 0] + tr.offsets(3)[pc, 0]
    np.testing.assert_array_equal(clf.classes_[(logits > 0).astype(int)], clf.predict(X))


def test_combinations_order():
    form = ConstantForm.from_dense(4, 2, np.arange(6.0))
    assert [tuple(r) for r in form.indices.tolist()] == list(itertools.combinations(range(4), 2))


def test_wide_layers_use_the_gram_path_consistently():
    ws, bs = _net(13, [40, 50, 45])
    X = np.random.default_rng(14).normal(size=(60, 40))
    tr = LayerTrace((ws, bs), X, output_layer=False)
    for l in (1, 2):
        J = tr.jacobians(l)
        ref = np.linalg.svd(J, compute_uv=False)
        sv = tr.singular_values(l)
        np.testing.assert_allclose(sv, ref, atol=1e-6 * float(ref.max()))
        np.testing.assert_array_equal(tr.ranks(l), [np.linalg.matrix_rank(j) for j in J])
        r = tr.ranks(l)
        expected = [np.prod(s[:k]) for s, k in zip(ref, r, strict=True)]
        np.testing.assert_allclose(tr.volume_factors(l), expected, rtol=1e-8)


@pytest.mark.parametrize("k", [2, 3])
def test_pullback_coefficients_are_the_minors(k):
    rng = np.random.default_rng(20 + k)
    n, d = 5, 4
    J = rng.normal(size=(n, d))
    omega = ConstantForm.from_dense(n, k, rng.normal(size=math.comb(n, k)))
    expected = [
        sum(c * np.linalg.det(J[np.ix_(I, K)]) for I, c in zip(omega.indices.tolist(), omega.coefficients, strict=True))
        for K in itertools.combinations(range(d), k)
    ]
    np.testing.assert_allclose(omega.pullback(J).to_dense(), expected, atol=1e-12)
