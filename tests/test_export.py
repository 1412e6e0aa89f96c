"""Pickling (re-running the partition from its inputs) and Arrow/Parquet export of partitions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.examples import figure1, random_arrangement


def _same(a, b):
    assert type(a) is type(b)
    assert a.n_cells == b.n_cells and a.box == b.box
    np.testing.assert_array_equal(a.patterns, b.patterns)
    np.testing.assert_array_equal(a.volumes, b.volumes)
    np.testing.assert_array_equal(a.facets.cells, b.facets.cells)
    np.testing.assert_array_equal(a.locate(a.interior_points), b.locate(a.interior_points))


def test_pickle_hyperplanes():
    part = random_arrangement(10, 3, seed=1).partition(ridges=False)
    _ = part.volumes  # a cached property: not pickled, recomputed
    copy = pickle.loads(pickle.dumps(part))
    _same(part, copy)
    assert not copy.has_ridges
    assert not copy.normals.flags.writeable
    assert len(pickle.dumps(part)) < 10_000  # the inputs, not the result


def test_pickle_relu_and_model_partitions():
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((5, 2)), rng.standard_normal((4, 5)), rng.standard_normal((2, 4))]
    bs = [0.3 * rng.standard_normal(5), 0.3 * rng.standard_normal(4), rng.standard_normal(2)]
    part = mg.partition((ws, bs), mg.Box(-1, 1, dim=2))
    copy = pickle.loads(pickle.dumps(part))
    _same(part, copy)
    np.testing.assert_array_equal(part.predictions, copy.predictions)
    X = rng.uniform(-1, 1, (20, 2))
    np.testing.assert_array_equal(part.predict(X), copy.predict(X))
    np.testing.assert_array_equal(part.affine_maps.jacobians, copy.affine_maps.jacobians)


def test_pickle_sklearn_partitions():
    pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (120, 2))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 0] > 0.7)
    for model in (RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0), LogisticRegression()):
        part = mg.partition(model.fit(X, y), mg.Box(0, 1, dim=2))
        copy = pickle.loads(pickle.dumps(part))
        _same(part, copy)
        np.testing.assert_array_equal(part.predict(X), copy.predict(X))


def test_arrow_tables():
    pa = pytest.importorskip("pyarrow")
    part = figure1().partition()
    cells = part.to_arrow()
    assert cells.column("label").to_pylist() == ["00", "01", "10", "11"]
    np.testing.assert_allclose(cells.column("volume").to_numpy(), [0.18, 0.12, 0.42, 0.28])
    assert cells.schema.field("centroid").type == pa.list_(pa.float64(), 2)
    np.testing.assert_allclose(np.array(cells.column("centroid").to_pylist()), part.centroids)
    facets = part.to_arrow("facets")
    assert facets.num_rows == len(part.facets)
    np.testing.assert_array_equal(facets.column("cell_b").to_numpy(), part.facets.cells[:, 1])
    ridges = part.to_arrow("ridges")
    assert ridges.num_rows == len(part.ridges)
    assert b"mlgeom_rs" in cells.schema.metadata
    with pytest.raises(mg.InvalidInputError, match="table"):
        part.to_arrow("vertices")


def test_parquet_with_predictions(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    ws = [rng.standard_normal((4, 2)), rng.standard_normal((3, 4))]
    bs = [rng.standard_normal(4), rng.standard_normal(3)]
    part = mg.partition((ws, bs), mg.Box(-1, 1, dim=2))
    part.to_parquet(tmp_path / "cells.parquet")
    table = pq.read_table(tmp_path / "cells.parquet")
    assert table.num_rows == part.n_cells
    np.testing.assert_allclose(np.array(table.column("prediction").to_pylist()), part.predictions)
    part.to_parquet(tmp_path / "facets.parquet", table="facets")
    assert pq.read_table(tmp_path / "facets.parquet").num_rows == len(part.facets)
