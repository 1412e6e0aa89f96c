"""Partitions of scikit-learn decision trees and forests (mlgeom_rs.trees, core boxes.rs)."""

from __future__ import annotations

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.trees import _float32_thresholds

sklearn = pytest.importorskip("sklearn")

from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.tree import (  # noqa: E402
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)


def _data(d=2, n=200, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    score = np.sin(3 * X).sum(axis=1)
    y_class = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    y_value = score + 0.1 * rng.standard_normal(n)
    return X, y_class, y_value


def _fit(model, d=2, seed=0, n=200):
    X, yc, yv = _data(d, n, seed)
    classifier = hasattr(model, "predict_proba")
    model.fit(X, yc if classifier else yv)
    return model, X


MODELS = [
    pytest.param(lambda: DecisionTreeClassifier(random_state=0), id="DecisionTreeClassifier"),
    pytest.param(lambda: DecisionTreeRegressor(max_depth=7, random_state=0), id="DecisionTreeRegressor"),
    pytest.param(lambda: ExtraTreeClassifier(random_state=0), id="ExtraTreeClassifier"),
    pytest.param(lambda: ExtraTreeRegressor(max_depth=8, random_state=0), id="ExtraTreeRegressor"),
    pytest.param(
        lambda: RandomForestClassifier(n_estimators=6, max_depth=5, random_state=0), id="RandomForestClassifier"
    ),
    pytest.param(
        lambda: RandomForestRegressor(n_estimators=5, max_depth=5, random_state=0), id="RandomForestRegressor"
    ),
    pytest.param(lambda: ExtraTreesClassifier(n_estimators=5, max_depth=5, random_state=0), id="ExtraTreesClassifier"),
    pytest.param(lambda: ExtraTreesRegressor(n_estimators=4, max_depth=5, random_state=0), id="ExtraTreesRegressor"),
]


def _estimators(model):
    return [model] if hasattr(model, "tree_") else list(model.estimators_)


def _apply(model, X):
    leaves = model.apply(X)
    return leaves.reshape(len(X), -1)


def _inside(part, rng, k=3):
    """k random points strictly inside every cell, (n_cells * k, d), cell by cell."""
    t = rng.uniform(0.05, 0.95, size=(part.n_cells, k, part.dim))
    pts = part.cell_lo[:, None, :] + t * (part.cell_hi - part.cell_lo)[:, None, :]
    return pts.reshape(-1, part.dim)


def _random_points(box, n, rng):
    return box.lo + rng.random((n, box.dim)) * (box.hi - box.lo)


def _assert_predictions(model, got, X):
    want = model.predict(X)
    if hasattr(model, "classes_"):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _check_geometry(part):
    """Volumes tile the box; cells are their boxes; facets cover every side exactly (T-junctions);
    interior facets join cells whose boxes touch with exactly that overlap."""
    d, n = part.dim, part.n_cells
    lo, hi = part.cell_lo, part.cell_hi
    assert np.all(lo < hi)
    np.testing.assert_allclose(part.volumes, np.prod(hi - lo, axis=1), rtol=1e-15)
    assert part.volumes.sum() == pytest.approx(part.box.volume, rel=1e-12)
    np.testing.assert_array_equal(part.centroids, 0.5 * lo + 0.5 * hi)
    assert np.all((part.interior_points > lo) & (part.interior_points < hi))
    f = part.facets
    axis = np.argmax(np.abs(f.normals), axis=1)
    assert np.all(np.abs(f.normals).sum(axis=1) == 1.0)
    up = f.normals[np.arange(len(f)), axis] > 0
    # Per cell and side: the facet areas sum to the side's area.
    side = np.zeros((n, d, 2))
    np.add.at(side, (f.cells[:, 0], axis, up.astype(int)), f.areas)
    inner = f.interior
    np.add.at(side, (f.cells[inner, 1], axis[inner], (~up[inner]).astype(int)), f.areas[inner])
    widths = hi - lo
    for a in range(d):
        area = np.prod(np.delete(widths, a, axis=1), axis=1)
        np.testing.assert_allclose(side[:, a, 0], area, rtol=1e-12)
        np.testing.assert_allclose(side[:, a, 1], area, rtol=1e-12)
    # Interior facets: the lower cell's upper face is the upper cell's lower face; area = overlap.
    c0, c1, ax, u = f.cells[inner, 0], f.cells[inner, 1], axis[inner], up[inner]
    below = np.where(u, c0, c1)
    above = np.where(u, c1, c0)
    rows = np.arange(len(c0))
    np.testing.assert_array_equal(hi[below, ax], lo[above, ax])
    overlap = np.minimum(hi[c0], hi[c1]) - np.maximum(lo[c0], lo[c1])
    overlap[rows, ax] = 1.0
    assert np.all(overlap > 0)
    np.testing.assert_allclose(f.areas[inner], np.prod(overlap, axis=1), rtol=1e-15)
    # Box facets lie on the box.
    box_rows = ~inner
    face = f.box_face[box_rows]
    np.testing.assert_array_equal(face, 2 * axis[box_rows] + up[box_rows])
    cell = f.cells[box_rows, 0]
    coord = np.where(up[box_rows], hi[cell, axis[box_rows]], lo[cell, axis[box_rows]])
    on_box = np.where(up[box_rows], part.box.hi[axis[box_rows]], part.box.lo[axis[box_rows]])
    np.testing.assert_array_equal(coord, on_box)


@pytest.mark.parametrize("make", MODELS)
def test_models_cells_leaves_and_predictions(make):
    model, X = _fit(make())
    box = mg.Box.from_data(X)
    part = mg.partition_tree(model, box)
    assert isinstance(part, mg.TreePartition) and isinstance(part, mg.ModelPartition)
    assert isinstance(part, mg.Partition)
    assert part.regions == "leaves" and part.constant_per_cell
    assert part.n_trees == len(_estimators(model))
    _check_geometry(part)
    # Every cell lies in exactly one leaf per tree: points all over the cell reach the same leaves.
    rng = np.random.default_rng(1)
    pts = _inside(part, rng)
    np.testing.assert_array_equal(_apply(model, pts), np.repeat(part.leaf_ids, 3, axis=0))
    np.testing.assert_array_equal(_apply(model, part.interior_points), part.leaf_ids)
    # Predictions: at the interior points, and at random points through locate.
    _assert_predictions(model, part.predictions, part.interior_points)
    Z = _random_points(box, 3000, rng)
    _assert_predictions(model, part.predict(Z), Z)
    np.testing.assert_array_equal(part.apply(Z), _apply(model, Z))
    # Leaves of every tree all meet the box (it contains the data), so there are at least as many cells.
    n_leaves = max(int((e.tree_.children_left < 0).sum()) for e in _estimators(model))
    assert part.n_cells >= n_leaves
    if part.n_trees == 1:
        assert part.n_cells == n_leaves
    # Classifier probabilities are predict_proba.
    if hasattr(model, "classes_"):
        np.testing.assert_allclose(part.probabilities, model.predict_proba(part.interior_points), rtol=1e-12)
        np.testing.assert_array_equal(part.classes, model.classes_)
    else:
        assert part.probabilities is None


@pytest.mark.parametrize("make", MODELS)
def test_points_on_and_next_to_thresholds(make):
    """scikit-learn compares float32(x) <= threshold; the partition reproduces that at every float64 x."""
    model, X = _fit(make(), seed=2)
    box = mg.Box.from_data(X, margin=0.1)
    part = mg.partition_tree(model, box)
    rng = np.random.default_rng(3)
    pts = []
    for e in _estimators(model):
        tree = e.tree_
        for node in np.flatnonzero(tree.children_left >= 0)[:40]:
            t = float(tree.threshold[node])
            b = float(_float32_thresholds(np.array([t]))[0])
            t32 = np.float32(t)
            near = (
                t,
                np.nextafter(t, -np.inf),
                np.nextafter(t, np.inf),
                b,
                np.nextafter(b, np.inf),
                float(t32),
                float(np.nextafter(t32, np.float32(np.inf))),
            )
            for x in near:
                p = _random_points(box, 1, rng)[0]
                p[tree.feature[node]] = x
                pts.append(p)
    pts = np.array(pts)
    pts = pts[box.contains(pts)]
    _assert_predictions(model, part.predict(pts), pts)
    np.testing.assert_array_equal(part.apply(pts), _apply(model, pts))


def test_float32_threshold_boundaries():
    rng = np.random.default_rng(0)
    t = np.concatenate(
        [
            rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000),
            [0.0, -0.0, 1.0, -1.0, 0.5, 1e-45, -1e-45, 3.4e38, -3.4e38, 1e39, -1e39, 2.0**-149],
            np.float32(rng.standard_normal(200)).astype(np.float64),  # exactly float32
        ]
    )
    b = _float32_thresholds(t)
    with np.errstate(over="ignore"):
        for x in (b, np.nextafter(b, np.inf), np.nextafter(b, -np.inf), t):
            finite = np.abs(x) < 3.4e38
            left = x.astype(np.float32).astype(np.float64) <= t
            assert np.array_equal((x <= b)[finite], left[finite])
    # The boundary is the largest such float64: the next one up is on the other side.
    up = np.nextafter(b, np.inf)
    finite = np.abs(up) < 3.4e38
    with np.errstate(over="ignore"):
        assert not np.any((up.astype(np.float32).astype(np.float64) <= t)[finite])
    small = np.abs(t) < 3.4e38
    assert np.all((np.abs(b - t) <= np.abs(t) * 2.0**-23 + 2.0**-149)[small])


def test_hand_made_tree_has_the_expected_cells_and_facets():
    # Two features; y depends on x0 < 0.5 and, on the left, on x1 < 0.25.
    X = np.array([[0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9], [0.2, 0.2], [0.3, 0.8]])
    y = np.array([0, 1, 2, 2, 0, 1])
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    part = mg.partition_tree(model, mg.Box(0, 1, dim=2))
    assert part.n_cells == 3
    t0 = float(_float32_thresholds(np.array([0.6]))[0])  # (0.3 + 0.9) / 2, float32-adjusted
    t1 = float(_float32_thresholds(np.array([0.5]))[0])  # (0.2 + 0.8) / 2
    np.testing.assert_array_equal(part.cell_lo, [[0, 0], [0, t1], [t0, 0]])
    np.testing.assert_array_equal(part.cell_hi, [[t0, t1], [t0, 1], [1, 1]])
    np.testing.assert_array_equal(part.predictions, [0, 1, 2])
    assert part.labels == ["00", "01", "10"]
    features, thresholds = part.planes
    np.testing.assert_array_equal(features, [0, 1])
    np.testing.assert_array_equal(thresholds, [t0, t1])
    np.testing.assert_array_equal(part.normals, [[1, 0], [0, 1]])
    np.testing.assert_array_equal(part.offsets, [-t0, -t1])
    f = part.facets
    inner = f.interior
    np.testing.assert_array_equal(f.cells[inner], [[0, 1], [0, 2], [1, 2]])
    np.testing.assert_allclose(f.areas[inner], [t0, t1, 1 - t1])
    np.testing.assert_array_equal(f.normals[inner], [[0, 1], [1, 0], [1, 0]])
    np.testing.assert_array_equal(f.hyperplane_class[inner], [1, 0, 0])
    # Carriers are global node ids: node 0 splits x0, node 1 splits x1 (preorder).
    assert [c.tolist() for c in f.carriers if len(c)] == [[1], [0], [0]]
    adj = part.adjacency().toarray()
    np.testing.assert_allclose(adj, adj.T)
    assert np.count_nonzero(adj) == 6
    with pytest.raises(mg.InvalidInputError, match="ridge"):
        _ = part.ridges
    assert not part.has_ridges
    assert "TreePartition" in repr(part)
    assert "leaves" in part.summary()
    assert len(part.vertices(0)) == 4


def test_forest_conventions_patterns_carriers_and_adjacency():
    model, X = _fit(RandomForestClassifier(n_estimators=4, max_depth=4, random_state=1))
    part = mg.partition_tree(model, mg.Box.from_data(X))
    features, thresholds = part.planes
    assert part.n_hyperplanes == len(features)
    order = np.lexsort((thresholds, features))
    np.testing.assert_array_equal(order, np.arange(len(features)))
    # Bit k: the cell lies on x[f_k] > t_k throughout.
    np.testing.assert_array_equal(part.patterns, part.cell_lo[:, features] >= thresholds)
    # Cells are sorted by their lower corners (coordinate 0 first) = lexicographic patterns.
    np.testing.assert_array_equal(np.lexsort(part.cell_lo.T[::-1]), np.arange(part.n_cells))
    assert part.labels == sorted(part.labels)
    # Carriers: global node ids whose (feature, adjusted threshold) is the facet's plane.
    offsets = part.node_offsets
    ests = _estimators(model)
    assert offsets[-1] == sum(e.tree_.node_count for e in ests)
    feat = np.concatenate([e.tree_.feature for e in ests])
    thr = np.concatenate([e.tree_.threshold for e in ests])
    f = part.facets
    for k in np.unique(f.hyperplane_class[f.interior]):
        members = f.class_members[f.class_offsets[k] : f.class_offsets[k + 1]]
        assert np.all(feat[members] == features[k])
        np.testing.assert_array_equal(_float32_thresholds(thr[members]), thresholds[k])
    # All internal nodes are carriers of exactly one plane.
    internal = np.flatnonzero(np.concatenate([e.tree_.children_left for e in ests]) >= 0)
    np.testing.assert_array_equal(np.sort(f.class_members), internal)
    # Adjacency: symmetric, and exactly the pairs of boxes touching in a positive-area facet.
    adj = part.adjacency()
    assert (adj != adj.T).nnz == 0
    lo, hi = part.cell_lo, part.cell_hi
    n = part.n_cells
    assert n < 2000
    touch = np.zeros((n, n), dtype=bool)
    for a in range(part.dim):
        meet = hi[:, None, a] == lo[None, :, a]
        others = [b for b in range(part.dim) if b != a]
        overlap = np.ones((n, n), dtype=bool)
        for b in others:
            overlap &= np.minimum(hi[:, None, b], hi[None, :, b]) > np.maximum(lo[:, None, b], lo[None, :, b])
        touch |= meet & overlap
    touch |= touch.T
    np.testing.assert_array_equal(adj.toarray() > 0, touch)
    graph = part.to_networkx()
    assert graph.number_of_nodes() == n and graph.number_of_edges() == int(touch.sum()) // 2


def test_thresholds_outside_the_box_and_constant_features():
    X, yc, _ = _data(3, 300, seed=4)
    model = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, yc)
    # A box inside the data range: many thresholds lie outside it. Feature 2 is constant within
    # a very thin slab, so no split crosses the box along it (unless one falls inside).
    box = mg.Box([0.3, 0.2, 0.5], [0.6, 0.7, 0.5 + 1e-9])
    part = mg.partition_tree(model, box)
    _check_geometry(part)
    rng = np.random.default_rng(5)
    Z = _random_points(box, 2000, rng)
    _assert_predictions(model, part.predict(Z), Z)
    features, thresholds = part.planes
    outside = (thresholds <= box.lo[features]) | (thresholds >= box.hi[features])
    assert outside.any()
    # Bits of planes outside the box are constant: 1 below the box, 0 above.
    below = thresholds <= box.lo[features]
    assert np.all(part.patterns[:, below]) and not np.any(part.patterns[:, thresholds >= box.hi[features]])
    # A box entirely on one side of every split: a single cell.
    far = mg.Box([5.0, 5.0, 5.0], [6.0, 6.0, 6.0])
    one = mg.partition_tree(model, far)
    assert one.n_cells == 1
    np.testing.assert_array_equal(one.predictions, model.predict([[5.5, 5.5, 5.5]]))


def test_training_data_with_a_constant_feature():
    X, yc, _ = _data(3, 200, seed=6)
    X[:, 1] = 0.5  # constant: no tree splits on it
    model = ExtraTreesClassifier(n_estimators=3, max_depth=5, random_state=0).fit(X, yc)
    part = mg.partition_tree(model, mg.Box(0, 1, dim=3))
    features, _ = part.planes
    assert 1 not in features
    assert np.all(part.cell_lo[:, 1] == 0) and np.all(part.cell_hi[:, 1] == 1)
    _check_geometry(part)


def test_a_tree_that_is_a_single_leaf():
    X = np.random.default_rng(0).random((20, 2))
    constant = (DecisionTreeClassifier().fit(X, np.zeros(20, dtype=int)), DecisionTreeRegressor().fit(X, np.ones(20)))
    for model in constant:
        assert model.tree_.node_count == 1
        part = mg.partition_tree(model, mg.Box(0, 1, dim=2))
        assert part.n_cells == 1 and part.n_hyperplanes == 0
        assert part.patterns.shape == (1, 0) and part.labels == [""]
        np.testing.assert_array_equal(part.leaf_ids, [[0]])
        assert part.volumes[0] == pytest.approx(1.0)
        assert len(part.facets) == 4
        np.testing.assert_array_equal(part.predictions, model.predict([[0.5, 0.5]]))


def test_one_dimension_multi_output_and_string_classes():
    rng = np.random.default_rng(7)
    X = rng.random((100, 1))
    y = np.where(X[:, 0] > 0.4, "high", "low")
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    part = mg.partition_tree(model, mg.Box(0, 1))
    assert part.dim == 1 and len(part.ridges) == 0
    Z = rng.random((500, 1))
    np.testing.assert_array_equal(part.predict(Z), model.predict(Z))
    assert set(part.predictions) <= {"high", "low"}
    _check_geometry(part)
    # Multi-output classifier and regressor.
    X2 = rng.random((150, 2))
    Yc = np.stack([(X2[:, 0] > 0.5).astype(int), np.digitize(X2[:, 1], [0.3, 0.6])], axis=1)
    Yv = np.stack([X2.sum(axis=1), X2[:, 0] - X2[:, 1]], axis=1)
    for model in (
        DecisionTreeClassifier(max_depth=4, random_state=0).fit(X2, Yc),
        RandomForestClassifier(n_estimators=3, max_depth=4, random_state=0).fit(X2, Yc),
        RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0).fit(X2, Yv),
    ):
        part = mg.partition_tree(model, mg.Box(0, 1, dim=2))
        assert part.predictions.shape == (part.n_cells, 2)
        Z = rng.random((500, 2))
        _assert_predictions(model, part.predict(Z), Z)


def test_vertices_option_and_high_dimensions():
    model, X = _fit(RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0), d=2)
    box = mg.Box.from_data(X)
    with_vertices = mg.partition_tree(model, box)
    assert with_vertices.n_vertices > 0 and len(with_vertices.vertices(0)) == 4
    # Corners shared by cells have one global id: the corners of the box are 4 distinct vertices.
    assert with_vertices.n_vertices <= 4 * with_vertices.n_cells
    without = mg.partition_tree(model, box, vertices=False)
    assert without.n_vertices == 0 and len(without.vertices(0)) == 0
    np.testing.assert_array_equal(without.volumes, with_vertices.volumes)
    # 12 features: no corners by default (2**12 per cell), everything else as usual.
    model, X = _fit(ExtraTreesRegressor(n_estimators=2, max_depth=4, random_state=0), d=12)
    part = mg.partition_tree(model, mg.Box.from_data(X))
    assert part.n_vertices == 0
    _check_geometry(part)
    Z = _random_points(part.box, 500, np.random.default_rng(0))
    _assert_predictions(model, part.predict(Z), Z)
    with pytest.raises(mg.InvalidInputError):
        mg.partition_tree(model, part.box, vertices="yes")


def test_thread_count_does_not_change_the_result():
    model, X = _fit(ExtraTreesRegressor(n_estimators=8, max_depth=7, random_state=0), d=2, n=400)
    box = mg.Box.from_data(X)
    a = mg.partition_tree(model, box, n_threads=1)
    b = mg.partition_tree(model, box, n_threads=2)
    assert a.n_cells == b.n_cells > 500
    np.testing.assert_array_equal(a.packed_patterns, b.packed_patterns)
    np.testing.assert_array_equal(a.volumes, b.volumes)
    np.testing.assert_array_equal(a.leaf_ids, b.leaf_ids)
    np.testing.assert_array_equal(a.facets.cells, b.facets.cells)
    np.testing.assert_array_equal(a.facets.areas, b.facets.areas)
    np.testing.assert_array_equal(a.predictions, b.predictions)


def test_dispatch_from_partition():
    model, X = _fit(RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0))
    box = mg.Box.from_data(X)
    via = mg.partition(model, box)
    direct = mg.partition_tree(model, box)
    assert isinstance(via, mg.TreePartition)
    np.testing.assert_array_equal(via.volumes, direct.volumes)
    np.testing.assert_array_equal(via.predictions, direct.predictions)


def test_errors():
    X, yc, _ = _data(2, 50)
    with pytest.raises(mg.InvalidInputError, match="not fitted"):
        mg.partition_tree(DecisionTreeClassifier(), mg.Box(0, 1, dim=2))
    with pytest.raises(mg.InvalidInputError, match="not fitted"):
        mg.partition_tree(RandomForestClassifier(), mg.Box(0, 1, dim=2))
    model = DecisionTreeClassifier(random_state=0).fit(X, yc)
    with pytest.raises(mg.InvalidInputError, match="3-dimensional"):
        mg.partition_tree(model, mg.Box(0, 1, dim=3))
    with pytest.raises(mg.UnsupportedModelError, match="DecisionTreeClassifier"):
        mg.partition_tree(LogisticRegression().fit(X, yc), mg.Box(0, 1, dim=2))
    with pytest.raises(mg.UnsupportedModelError):
        mg.partition_tree(GradientBoostingClassifier(n_estimators=2).fit(X, yc), mg.Box(0, 1, dim=2))
    with pytest.raises(mg.TooManyCellsError, match="max_cells"):
        mg.partition_tree(model, mg.Box(0, 1, dim=2), max_cells=2)
    with pytest.raises(mg.InvalidInputError):
        mg.partition_tree(model, mg.Box(0, 1, dim=2), n_threads=0)
    with pytest.raises(mg.InvalidInputError):
        mg.partition_tree(model, mg.Box(0, 1, dim=2), check="yes")
    part = mg.partition_tree(model, mg.Box(0, 1, dim=2))
    with pytest.raises(mg.InvalidInputError, match="outside"):
        part.apply([[2.0, 0.5]])


def test_native_input_validation():
    from mlgeom_rs import _core

    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    f64 = lambda *v: np.array(v, dtype=np.float64)  # noqa: E731
    lo, hi = f64(0, 0), f64(1, 1)
    ok = (i64(1, -1, -1), i64(2, -1, -1), i64(0, -2, -2), f64(0.5, -2, -2))
    native = _core.partition_forest([ok[0]], [ok[1]], [ok[2]], [ok[3]], lo, hi)
    assert native.n_cells == 2
    bad = [
        ([ok[0]], [ok[1]], [i64(5, -2, -2)], [ok[3]], lo, hi),  # feature out of range
        ([ok[0]], [ok[1]], [ok[2]], [f64(np.nan, -2, -2)], lo, hi),  # NaN threshold
        ([ok[0]], [ok[1]], [ok[2]], [ok[3]], hi, lo),  # inverted box
        ([ok[0]], [ok[1], ok[1]], [ok[2]], [ok[3]], lo, hi),  # list lengths
        ([ok[0]], [i64(2, -1)], [ok[2]], [ok[3]], lo, hi),  # array lengths
        ([i64(1, -1, -1)], [i64(1, -1, -1)], [ok[2]], [ok[3]], lo, hi),  # shared child
        ([], [], [], [], lo, hi),  # no trees
    ]
    for args in bad:
        with pytest.raises(mg.InvalidInputError):
            _core.partition_forest(*args)
