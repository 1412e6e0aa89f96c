"""RiemannianComplex: pickling (the partition by its inputs plus the complex's arrays), Arrow/Parquet
tables of vertices/edges/triangles, networkx and TopoNetX views."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.examples import random_arrangement


@pytest.fixture(scope="module")
def cx():
    return mg.RiemannianComplex(random_arrangement(8, 2, seed=3).partition(), nerve="full")


def test_pickle_keeps_simplices_masses_and_operators(cx):
    cx.mass(1)
    cx.boundary(2)
    copy = pickle.loads(pickle.dumps(cx))
    assert copy.shape == cx.shape and copy.nerve == cx.nerve and copy.measure == cx.measure
    for k in range(cx.max_dim + 1):
        np.testing.assert_array_equal(copy.simplices(k), cx.simplices(k))
        np.testing.assert_array_equal(copy.intersection_dim(k), cx.intersection_dim(k))
        np.testing.assert_array_equal(copy.mass_vector(k), cx.mass_vector(k))
    B1, B2 = copy.boundary(1), copy.boundary(2)
    assert abs(B1 @ B2).max() == 0  # B_k B_{k+1} = 0 still holds
    np.testing.assert_allclose(copy.hodge_laplacian(0).toarray(), cx.hodge_laplacian(0).toarray())
    assert copy.betti() == cx.betti()
    # The arrays travel, not recomputed: the stored level is the same object after a round trip of its state.
    state = cx.__getstate__()
    assert "_levels" in state and "_mass_cache" in state and 1 in state["_mass_cache"]
    assert not any(k in state for k in ("_facet_pairs", "_ridge_stars", "_vertex_coords"))


def test_pickle_data_measure_with_dropped_cells():
    part = random_arrangement(6, 2, seed=1).partition()
    rng = np.random.default_rng(0)
    lo, hi = part.box.lo, part.box.hi
    X = rng.uniform(lo, (lo + hi) / 2, (300, 2))  # one quarter only: some cells stay empty
    cx = mg.RiemannianComplex(part, measure="data", X=X, empty="drop")
    assert cx.shape[0] < part.n_cells
    copy = pickle.loads(pickle.dumps(cx))
    np.testing.assert_array_equal(copy.cells, cx.cells)
    np.testing.assert_array_equal(copy.mass_vector(1), cx.mass_vector(1))
    assert copy.bandwidth == cx.bandwidth
    # Curvature of a complex without its empty cells is indexed by vertex, through cells.
    kappa = mg.edge_curvature(copy, "forman")
    assert kappa.shape == (cx.shape[1],)
    np.testing.assert_allclose(kappa, mg.edge_curvature(cx, "forman"), equal_nan=True)


def test_pickle_of_a_data_cells_complex_round_trips():
    rng = np.random.default_rng(0)
    ws, bs = [rng.standard_normal((4, 2)), rng.standard_normal((1, 4))], [rng.standard_normal(4), np.zeros(1)]
    X = rng.uniform(-1, 1, (50, 2))
    cx = mg.RiemannianComplex(mg.data_cells((ws, bs), X), X=X)
    cx.mass(1)
    copy = pickle.loads(pickle.dumps(cx, protocol=5))
    assert copy.shape == cx.shape and copy.nerve == cx.nerve and copy.measure == cx.measure
    np.testing.assert_array_equal(copy.partition.point_cell, cx.partition.point_cell)
    for x, y in zip(copy.partition.edges, cx.partition.edges, strict=True):
        np.testing.assert_array_equal(x, y)
    for k in range(cx.max_dim + 1):
        np.testing.assert_array_equal(copy.simplices(k), cx.simplices(k))
        np.testing.assert_array_equal(copy.mass_vector(k), cx.mass_vector(k))
    for k in range(1, cx.max_dim + 1):
        assert (copy.boundary(k) != cx.boundary(k)).nnz == 0
    np.testing.assert_array_equal(copy.hodge_laplacian(0).toarray(), cx.hodge_laplacian(0).toarray())
    assert copy.betti() == cx.betti()
    pytest.importorskip("pyarrow")  # exports work (no curvature: it needs a partition's facets)
    v = cx.to_arrow("vertices")
    assert v.column_names == ["vertex", "cell", "label", "mass", "centroid"] and v.num_rows == cx.shape[0]
    assert cx.to_arrow("edges").num_rows == cx.shape[1] == cx.to_networkx().number_of_edges()


def test_arrow_tables(cx):
    pytest.importorskip("pyarrow")
    v = cx.to_arrow("vertices")
    e = cx.to_arrow("edges")
    t = cx.to_arrow("triangles")
    assert (v.num_rows, e.num_rows, t.num_rows) == cx.shape
    assert v.column_names[:5] == ["vertex", "cell", "label", "mass", "centroid"]
    assert {"curvature_forman", "curvature_angle_defect"} <= set(v.column_names)
    np.testing.assert_allclose(v["mass"].to_numpy(), cx.mass_vector(0))
    np.testing.assert_allclose(v["curvature_forman"].to_numpy(), mg.vertex_curvature(cx), equal_nan=True)
    assert e.column_names[:5] == ["edge", "v0", "v1", "mass", "intersection_dim"]
    np.testing.assert_array_equal(np.column_stack([e["v0"], e["v1"]]), cx.simplices(1))
    np.testing.assert_allclose(
        e["curvature_statistical_ricci"].to_numpy(), mg.edge_curvature(cx, "statistical_ricci"), equal_nan=True
    )
    np.testing.assert_array_equal(np.column_stack([t["v0"], t["v1"], t["v2"]]), cx.simplices(2))
    assert sum(v["mass"].to_numpy()) == pytest.approx(cx.partition.box.volume)
    bare = cx.to_arrow("edges", curvature=False, columns={"weight": np.arange(cx.shape[1])})
    assert "curvature_forman" not in bare.column_names and bare["weight"].to_pylist()[:3] == [0, 1, 2]
    with pytest.raises(mg.InvalidInputError, match="rows"):
        cx.to_arrow("edges", columns={"bad": np.zeros(2)})
    with pytest.raises(mg.InvalidInputError, match="table"):
        cx.to_arrow("tetrahedra")
    low = mg.RiemannianComplex(cx.partition, max_dim=1)
    with pytest.raises(mg.InvalidInputError, match="max_dim"):
        low.to_arrow("triangles")


def test_parquet_round_trip(cx, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import json

    path = tmp_path / "edges.parquet"
    cx.to_parquet(path, "edges", compression="zstd")
    back = pq.read_table(path)
    assert back.num_rows == cx.shape[1]
    meta = json.loads(back.schema.metadata[b"mlgeom_rs"])
    assert meta["table"] == "edges" and meta["shape"] == list(cx.shape) and meta["nerve"] == "full"


def test_to_networkx(cx):
    g = cx.to_networkx()
    assert g.number_of_nodes() == cx.shape[0] and g.number_of_edges() == cx.shape[1]
    assert len(g.graph["triangles"]) == cx.shape[2]
    a, b = cx.simplices(1)[0].tolist()
    assert g.edges[a, b]["mass"] == cx.mass_vector(1)[0]
    assert g.nodes[0]["mass"] == cx.mass_vector(0)[0] and len(g.nodes[0]["centroid"]) == 2


def test_to_toponetx_missing_package(cx, monkeypatch):
    monkeypatch.setitem(sys.modules, "toponetx", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "toponetx.classes", None)
    with pytest.raises(mg.MissingDependencyError, match="pip install toponetx") as info:
        cx.to_toponetx()
    assert isinstance(info.value, ImportError) and isinstance(info.value, mg.MlgeomError)
    assert info.value.name == "toponetx"


def test_to_toponetx(cx):
    pytest.importorskip("toponetx")
    sc = cx.to_toponetx()
    assert tuple(sc.shape) == cx.shape
    B1 = sc.incidence_matrix(1)
    assert B1.shape == (cx.shape[0], cx.shape[1])
    attrs = sc.get_simplex_attributes("mass", 1)
    assert attrs[tuple(cx.simplices(1)[0].tolist())] == cx.mass_vector(1)[0]
