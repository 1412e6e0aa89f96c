"""The public Python API: Box, partition_hyperplanes/Partition on Figure 1 and small cases, the CLI."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse

import mlgeom_rs as mg
from mlgeom_rs import examples

A, B = 0.3, 0.6  # Figure 1: the lines x1 = A and x2 = B in the unit square
FIG1_AREAS = {"00": A * B, "01": A * (1 - B), "10": (1 - A) * B, "11": (1 - A) * (1 - B)}
FIG1_CENTROIDS = {
    "00": (A / 2, B / 2),
    "01": (A / 2, (1 + B) / 2),
    "10": ((1 + A) / 2, B / 2),
    "11": ((1 + A) / 2, (1 + B) / 2),
}


@pytest.fixture(scope="module")
def fig1() -> mg.Partition:
    return mg.partition_hyperplanes([[1, 0], [0, 1]], [-A, -B], mg.Box(0, 1, dim=2))


# --- package
def test_public_names():
    assert set(mg.__all__) >= {
        "Box",
        "partition_hyperplanes",
        "Partition",
        "FacetTable",
        "RidgeTable",
        "MlgeomError",
        "InvalidInputError",
        "TooManyCellsError",
        "NumericalError",
        "__version__",
    }
    for name in mg.__all__:
        assert hasattr(mg, name), name
    assert isinstance(mg.__version__, str) and mg.__version__ == mg._core.__version__


# --- Box
def test_box_broadcasting():
    box = mg.Box(0, 1, dim=3)
    assert box.dim == 3 and box.volume == 1.0
    assert box.lo.dtype == np.float64 and box.lo.tolist() == [0.0] * 3 and box.hi.tolist() == [1.0] * 3
    assert mg.Box(0, 1).dim == 1
    assert mg.Box([0, -1], 2).hi.tolist() == [2.0, 2.0]
    assert mg.Box(-1, [1, 2, 3]).lo.tolist() == [-1.0, -1.0, -1.0]
    assert mg.Box([0, 0], [2, 3]).volume == 6.0


def test_box_is_immutable_value():
    box = mg.Box([0, -1.5], [1, 2])
    with pytest.raises(AttributeError):
        box.dim = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        box.hi[0] = 5.0
    lo = np.array([0.0, 0.0])
    box2 = mg.Box(lo, 1.0)
    lo[0] = 0.5  # the box copied its input
    assert box2.lo[0] == 0.0
    assert box == mg.Box([0.0, -1.5], [1.0, 2.0]) and hash(box) == hash(mg.Box([0.0, -1.5], [1.0, 2.0]))
    assert box != mg.Box(0, 2, dim=2) and box != "box"
    assert pickle.loads(pickle.dumps(box)) == box
    assert len({mg.Box(0, 1, dim=2), mg.Box([0, 0], [1, 1]), mg.Box([-0.0, 0.0], 1)}) == 1


@pytest.mark.parametrize(
    "box", [mg.Box(0, 1, dim=2), mg.Box(0, 1), mg.Box([0, -1.5], [1, 2]), mg.Box(-0.25, 3.5, dim=4)]
)
def test_box_repr_round_trips(box):
    text = repr(box)
    assert text.startswith("Box(")
    assert eval(text, {"Box": mg.Box}) == box


def test_box_corners_and_contains():
    box = mg.Box([0, 10], [1, 20])
    corners = box.corners()
    assert corners.shape == (4, 2)
    assert {tuple(c) for c in corners.tolist()} == {(0, 10), (0, 20), (1, 10), (1, 20)}
    inside = box.contains([[0.5, 15], [0, 10], [1, 20], [1.01, 15], [0.5, 9.9]])
    assert inside.dtype == bool and inside.tolist() == [True, True, True, False, False]
    assert box.contains(corners).all()


def test_box_from_data():
    X = np.array([[0.0, 1.0], [2.0, 5.0], [1.0, 3.0]])
    box = mg.Box.from_data(X, margin=0.1)
    np.testing.assert_allclose(box.lo, [-0.2, 0.6])
    np.testing.assert_allclose(box.hi, [2.2, 5.4])
    assert box.contains(X).all()
    tight = mg.Box.from_data(X, margin=0)
    assert tight.lo.tolist() == [0.0, 1.0] and tight.hi.tolist() == [2.0, 5.0]
    np.testing.assert_allclose(mg.Box.from_data(X).lo, [-0.1, 0.8])  # default margin 5%


def test_box_from_data_with_flat_axes():
    box = mg.Box.from_data([[3.0, 1.0], [3.0, 2.0]], margin=0.0)  # all points have x1 = 3
    assert box.lo[0] < 3.0 < box.hi[0] and box.hi[0] - box.lo[0] == pytest.approx(1.0)
    single = mg.Box.from_data([[1.0, -2.0, 7.0]])
    assert single.dim == 3 and single.contains([[1.0, -2.0, 7.0]]).all() and single.volume > 0


# --- Figure 1
def test_figure1_cells(fig1):
    assert isinstance(fig1, mg.Partition)
    assert (fig1.n_cells, fig1.dim, fig1.n_hyperplanes, len(fig1)) == (4, 2, 2, 4)
    assert fig1.box == mg.Box(0, 1, dim=2)
    assert fig1.labels == ["00", "01", "10", "11"]
    assert [fig1.label(i) for i in range(4)] == fig1.labels and fig1.label(-1) == "11"
    assert fig1.patterns.dtype == bool and fig1.patterns.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert fig1.packed_patterns.dtype == np.uint8 and fig1.packed_patterns.shape == (4, 1)
    np.testing.assert_array_equal(np.unpackbits(fig1.packed_patterns, axis=1, count=2).astype(bool), fig1.patterns)
    np.testing.assert_allclose(fig1.volumes, [FIG1_AREAS[s] for s in fig1.labels], rtol=1e-12)
    np.testing.assert_allclose(fig1.centroids, [FIG1_CENTROIDS[s] for s in fig1.labels], rtol=1e-12)
    assert fig1.volumes.dtype == np.float64 and fig1.centroids.shape == (4, 2)
    assert 0 < fig1.tolerance < 1e-6
    assert fig1.has_ridges
    assert fig1.normals.tolist() == [[1.0, 0.0], [0.0, 1.0]] and fig1.offsets.tolist() == [-A, -B]


def test_figure1_interior_points_and_vertices(fig1):
    np.testing.assert_array_equal(fig1.locate(fig1.interior_points), np.arange(4))
    expected = {
        "00": {(0, 0), (A, 0), (0, B), (A, B)},
        "01": {(0, B), (A, B), (0, 1), (A, 1)},
        "10": {(A, 0), (1, 0), (A, B), (1, B)},
        "11": {(A, B), (1, B), (A, 1), (1, 1)},
    }
    for i, label in enumerate(fig1.labels):
        v = fig1.vertices(i)
        assert v.shape == (4, 2) and v.dtype == np.float64
        got = {(round(x, 12), round(y, 12)) for x, y in v.tolist()}
        assert got == {(round(x, 12), round(y, 12)) for x, y in expected[label]}


def test_figure1_facets(fig1):
    f = fig1.facets
    assert isinstance(f, mg.FacetTable) and len(f) == 12
    assert f.cells.dtype == np.int64 and f.cells.shape == (12, 2)
    assert int(f.interior.sum()) == 4 and int((f.cells[:, 1] == -1).sum()) == 8
    # interior facets: (cell pair) -> (length, hyperplane, normal from first to second cell)
    expected = {
        (0, 1): (A, 1, (0.0, 1.0)),  # 00|01 on x2 = B
        (0, 2): (B, 0, (1.0, 0.0)),  # 00|10 on x1 = A
        (1, 3): (1 - B, 0, (1.0, 0.0)),  # 01|11 on x1 = A
        (2, 3): (1 - A, 1, (0.0, 1.0)),  # 10|11 on x2 = B
    }
    got = {}
    for k in np.flatnonzero(f.interior):
        a, b = f.cells[k].tolist()
        got[(a, b)] = (f.areas[k], int(f.hyperplane[k]), tuple(f.normals[k].tolist()))
        assert f.carriers[k].tolist() == [f.hyperplane[k]] and f.box_face[k] == -1 and f.hyperplane_class[k] >= 0
    assert got.keys() == expected.keys()
    for pair, (length, h, normal) in expected.items():
        assert got[pair][0] == pytest.approx(length, rel=1e-12)
        assert got[pair][1] == h
        np.testing.assert_allclose(got[pair][2], normal, atol=1e-12)
    # box facets: two per cell, outward axis normals, lengths summing to 1 on each of the 4 sides
    box = ~f.interior
    assert (f.hyperplane[box] == -1).all() and all(len(f.carriers[k]) == 0 for k in np.flatnonzero(box))
    assert sorted(f.box_face[box].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    for k in np.flatnonzero(box):
        axis, upper = divmod(int(f.box_face[k]), 2)
        assert f.normals[k].tolist() == pytest.approx(
            [(1.0 if upper else -1.0) if j == axis else 0.0 for j in range(2)]
        )
    np.testing.assert_allclose(np.bincount(f.box_face[box], weights=f.areas[box]), [1.0] * 4)
    assert np.bincount(f.cells[box, 0]).tolist() == [2, 2, 2, 2]
    assert "12 facets" in repr(f)


def test_figure1_ridges(fig1):
    r = fig1.ridges
    assert isinstance(r, mg.RidgeTable) and len(r) == 16  # four corners per rectangle
    np.testing.assert_allclose(r.angles, math.pi / 2)
    np.testing.assert_allclose(r.volumes, 1.0)  # in 2-D a ridge is a vertex
    assert np.bincount(r.cell).tolist() == [4, 4, 4, 4]
    # the angles around the crossing point (A, B) sum to 2*pi; it is the only face shared by four cells
    faces, counts = np.unique(r.face, return_counts=True)
    sums = np.bincount(r.face, weights=r.angles)[faces]
    assert sorted(counts.tolist()) == [1, 1, 1, 1, 2, 2, 2, 2, 4]
    np.testing.assert_allclose(sums[counts == 4], 2 * math.pi)
    np.testing.assert_allclose(sums[counts == 2], math.pi)
    # each ridge joins two facets of its own cell
    fc = fig1.facets.cells
    for cell, (fa, fb) in zip(r.cell.tolist(), r.facets.tolist(), strict=True):
        assert cell in fc[fa].tolist() and cell in fc[fb].tolist() and fa != fb


def test_figure1_adjacency(fig1):
    adj = fig1.adjacency()
    assert scipy.sparse.issparse(adj) and adj.format == "csr" and adj.shape == (4, 4) and adj.dtype == np.float64
    dense = adj.toarray()
    np.testing.assert_allclose(dense, dense.T)
    expected = np.zeros((4, 4))
    for (i, j), length in {(0, 1): A, (0, 2): B, (1, 3): 1 - B, (2, 3): 1 - A}.items():
        expected[i, j] = expected[j, i] = length
    np.testing.assert_allclose(dense, expected, rtol=1e-12)  # the 4-cycle: diagonal cells are not adjacent
    counts = fig1.adjacency(weight="count").toarray()
    np.testing.assert_array_equal(counts, (expected > 0).astype(float))


def test_figure1_locate(fig1):
    pts = [[0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9], [1.5, 0.5], [-0.1, 0.5]]
    got = fig1.locate(pts)
    assert got.dtype == np.int64 and got.tolist() == [0, 1, 2, 3, -1, -1]
    assert fig1.locate(np.zeros((0, 2))).shape == (0,)
    assert fig1.locate(np.array([[1, 1]], dtype=np.int32)).tolist() == [3]


def test_figure1_networkx(fig1):
    graph = fig1.to_networkx()
    assert isinstance(graph, nx.Graph)
    assert sorted(graph.nodes) == [0, 1, 2, 3] and graph.number_of_edges() == 4
    assert nx.is_isomorphic(graph, nx.cycle_graph(4))
    for i, data in graph.nodes(data=True):
        label = fig1.labels[i]
        assert data["label"] == label
        assert data["volume"] == pytest.approx(FIG1_AREAS[label])
        assert data["centroid"] == pytest.approx(FIG1_CENTROIDS[label])
    assert graph.edges[0, 2]["area"] == pytest.approx(B) and graph.edges[0, 2]["hyperplane"] == 0
    assert graph.edges[2, 3]["area"] == pytest.approx(1 - A) and graph.edges[2, 3]["hyperplane"] == 1
    assert graph.graph["dim"] == 2 and graph.graph["box"] == fig1.box


def test_figure1_text(fig1):
    text = fig1.summary()
    for piece in ("cells", "4", "facets", "12", "ridges", "16", "00", "01", "10", "11", "0.18", "0.42"):
        assert piece in text
    assert "more cells" not in text and "more cells" in fig1.summary(max_rows=2)
    assert repr(fig1) == "Partition(n_cells=4, n_hyperplanes=2, dim=2, box=Box(0.0, 1.0, dim=2))"


def test_figure1_example_matches_readme_numbers():
    part = examples.figure1().partition()
    assert part.labels == ["00", "01", "10", "11"]
    np.testing.assert_allclose(part.volumes, [0.18, 0.12, 0.42, 0.28], rtol=1e-12)


def test_inputs_are_not_modified():
    W, c, X = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([-A, -B]), np.array([[0.1, 0.2]])
    part = mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2))
    part.locate(X)
    assert W.flags.writeable and c.flags.writeable and X.flags.writeable
    W[0, 0] = 5.0  # the partition keeps its own copy
    assert part.normals[0, 0] == 1.0 and not part.normals.flags.writeable


def test_views_are_cached(fig1):
    assert fig1.volumes is fig1.volumes and fig1.facets is fig1.facets and fig1.labels is fig1.labels


# --- small cases
@pytest.mark.parametrize("d", [1, 2, 3])
def test_no_hyperplanes_gives_the_box(d):
    box = mg.Box(-1, [2.0, 3.0, 4.0][:d])
    part = mg.partition_hyperplanes(np.zeros((0, d)), np.zeros(0), box)
    assert part.n_cells == 1 and part.n_hyperplanes == 0 and part.labels == [""]
    assert part.patterns.shape == (1, 0)
    assert part.volumes.tolist() == pytest.approx([box.volume])
    np.testing.assert_allclose(part.centroids[0], (box.lo + box.hi) / 2)
    got = {tuple(v) for v in np.round(part.vertices(0), 12).tolist()}
    assert got == {tuple(v) for v in np.round(box.corners(), 12).tolist()}
    assert len(part.facets) == 2 * d and not part.facets.interior.any()
    assert part.adjacency().nnz == 0 and part.adjacency().shape == (1, 1)
    assert part.locate([box.hi + 1.0, (box.lo + box.hi) / 2]).tolist() == [-1, 0]
    assert part.to_networkx().number_of_nodes() == 1
    assert len(part.ridges) == (0 if d == 1 else 2 * d * (d - 1))
    # an empty 1-D W is also accepted: there are no hyperplanes, the box gives d
    assert mg.partition_hyperplanes([], [], box).n_cells == 1


def test_one_dimension():
    part = mg.partition_hyperplanes([[1.0], [1.0]], [-0.3, -0.6], mg.Box(0, 1))
    assert part.labels == ["00", "10", "11"]
    np.testing.assert_allclose(part.volumes, [0.3, 0.3, 0.4])
    assert part.adjacency().toarray().tolist() == [
        [0, 1, 0],
        [1, 0, 1],
        [0, 1, 0],
    ]  # 0-volume of a point is 1
    assert len(part.ridges) == 0
    assert part.locate([[0.1], [0.5], [0.9], [1.5]]).tolist() == [0, 1, 2, -1]


def test_coincident_hyperplanes_are_one_boundary():
    # x1 = 0.5 twice, with opposite orientations and different scales
    part = mg.partition_hyperplanes([[1.0, 0.0], [-2.0, 0.0]], [-0.5, 1.0], mg.Box(0, 1, dim=2))
    assert part.labels == ["01", "10"]
    f = part.facets
    (k,) = np.flatnonzero(f.interior)
    assert f.hyperplane[k] == 0 and f.carriers[k].tolist() == [0, 1]
    assert f.cells[k].tolist() == [0, 1] and f.areas[k] == pytest.approx(1.0)


def test_box_as_a_pair_and_n_threads(monkeypatch):
    ex = examples.random_arrangement(15, 2, seed=3)
    W, c = ex.normals, ex.offsets
    ref = mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), n_threads=1)
    assert ref.box == mg.Box(0, 1, dim=2)
    for part in (
        mg.partition_hyperplanes(W, c, (0, 1), n_threads=2),
        mg.partition_hyperplanes(W, c, ([0, 0], [1, 1])),
        mg.partition_hyperplanes(W, c, np.array([[0.0, 0.0], [1.0, 1.0]])),
    ):
        assert part.labels == ref.labels
        np.testing.assert_array_equal(part.volumes, ref.volumes)
        np.testing.assert_array_equal(part.facets.cells, ref.facets.cells)
    monkeypatch.setenv("MLGEOM_NUM_THREADS", "2")
    np.testing.assert_array_equal(mg.partition_hyperplanes(W, c, (0, 1)).volumes, ref.volumes)


@pytest.mark.parametrize(("m", "d"), [(12, 2), (8, 3), (6, 4)])
def test_random_arrangements_are_consistent(m, d):
    ex = examples.random_arrangement(m, d, seed=7)
    part = ex.partition()
    assert part.n_cells > m
    assert part.volumes.sum() == pytest.approx(ex.box.volume, rel=1e-9)
    adj = part.adjacency()
    assert (adj != adj.T).nnz == 0
    assert nx.is_connected(part.to_networkx())
    np.testing.assert_array_equal(part.locate(part.interior_points), np.arange(part.n_cells))
    labels = part.labels
    assert labels == sorted(labels) and len(set(labels)) == part.n_cells


def test_ridges_can_be_skipped():
    ex = examples.random_arrangement(10, 3, seed=2)
    with_ridges, without = ex.partition(), ex.partition(ridges=False)
    assert not without.has_ridges
    np.testing.assert_array_equal(with_ridges.volumes, without.volumes)
    np.testing.assert_array_equal(with_ridges.facets.cells, without.facets.cells)
    assert "not computed" in without.summary()


# --- command line
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlgeom_rs", *args], capture_output=True, text=True, timeout=300)


def test_cli_demo():
    proc = _run("demo", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for piece in ("figure1", "random-2d", "random-3d", "cells", "sum of volumes", "facets", "ridges", "time"):
        assert piece in out
    for label, area in FIG1_AREAS.items():
        assert label in out and f"{area:.6g}" in out
    assert "1.000000000000" in out


def test_cli_help_and_version():
    proc = _run("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout
    proc = _run("--version")
    assert proc.returncode == 0 and mg.__version__ in proc.stdout


@pytest.mark.parametrize("args", [("bogus",), (), ("demo", "--threads", "0"), ("demo", "--nope")])
def test_cli_usage_errors(args):
    proc = _run(*args)
    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_cli_main_in_process(capsys):
    from mlgeom_rs.cli import main

    assert main(["demo"]) == 0
    assert "figure1" in capsys.readouterr().out
