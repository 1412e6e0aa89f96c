"""Pictures (mlgeom_rs.plot): rendered with the Agg backend to PNG and checked for content."""

from __future__ import annotations

import io

import numpy as np
import pytest

import mlgeom_rs as mg
from mlgeom_rs.examples import figure1, random_arrangement

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from mlgeom_rs.plot import CELLS_GID, FACETS_GID, plot, plot_slice, slice_partition  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png_colors(fig) -> int:
    """Number of distinct RGB colours in the rendered PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    buf.seek(0)
    img = plt.imread(buf)
    rgb = (img[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return int(np.unique(rgb, axis=0).shape[0])


def _artist(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1
    return found[0]


def test_figure1_polygons_are_the_cells():
    part = figure1().partition()
    ax = part.plot(labels=True, data=[[0.1, 0.1], [0.9, 0.9]])
    cells = _artist(ax, CELLS_GID)
    assert len(cells.get_paths()) == part.n_cells == 4
    # The polygons are the exact rectangles: their shoelace areas are the cell volumes.
    for path, volume in zip(cells.get_paths(), part.volumes, strict=True):
        xy = path.vertices[:-1] if np.allclose(path.vertices[0], path.vertices[-1]) else path.vertices
        x, y = xy[:, 0], xy[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
        assert area == pytest.approx(volume, rel=1e-12)
    assert len(_artist(ax, FACETS_GID).get_segments()) == len(part.facets)
    assert sorted(t.get_text() for t in ax.texts) == ["00", "01", "10", "11"]
    assert _png_colors(ax.figure) >= 6


@pytest.mark.parametrize("color_by", ["label", "volume"])
def test_random_arrangement(color_by):
    part = random_arrangement(15, 2, seed=3).partition()
    ax = plot(part, color_by=color_by)
    cells = _artist(ax, CELLS_GID)
    assert len(cells.get_paths()) == part.n_cells
    areas = []
    for path in cells.get_paths():
        xy = path.vertices
        areas.append(0.5 * abs(np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(np.roll(xy[:, 0], -1), xy[:, 1])))
    np.testing.assert_allclose(areas, part.volumes, rtol=1e-9, atol=1e-14)
    assert _png_colors(ax.figure) >= 8
    if color_by == "volume":
        assert len(ax.figure.axes) == 2  # the colour bar


def test_color_by_array_and_prediction():
    part = random_arrangement(6, 2, seed=1).partition()
    values = np.arange(part.n_cells) % 3
    ax = part.plot(color_by=values.astype(str), show_facets=False)
    assert len(_artist(ax, CELLS_GID).get_paths()) == part.n_cells
    assert not [c for c in ax.collections if c.get_gid() == FACETS_GID]
    assert ax.get_legend() is not None
    with pytest.raises(mg.InvalidInputError, match="prediction"):
        part.plot(color_by="prediction")
    with pytest.raises(mg.InvalidInputError, match="entries"):
        part.plot(color_by=np.ones(part.n_cells + 1))

    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((6, 2)), rng.standard_normal((1, 6))]
    bs = [0.3 * rng.standard_normal(6), np.zeros(1)]
    mp = mg.partition((ws, bs), mg.Box(-1, 1, dim=2))
    ax = mp.plot(color_by="prediction")
    assert len(_artist(ax, CELLS_GID).get_paths()) == mp.n_cells
    assert len(ax.figure.axes) == 2
    assert _png_colors(ax.figure) >= 6


def test_one_dimensional_strip():
    part = mg.partition_hyperplanes([[1.0], [1.0]], [-0.2, -0.7], mg.Box(0, 1))
    ax = part.plot(data=[[0.5]])
    assert len(_artist(ax, CELLS_GID).get_paths()) == 3


def test_plot3d():
    part = random_arrangement(5, 3, seed=2).partition()
    ax = part.plot3d()
    faces = _artist(ax, CELLS_GID)
    assert _png_colors(ax.figure) >= 6  # draws, which projects the faces to 2-D paths
    # Every cell is a closed polytope: at least 4 faces each.
    assert len(faces.get_paths()) >= 4 * part.n_cells
    with pytest.raises(mg.InvalidInputError, match="plot3d"):
        figure1().partition().plot3d()
    with pytest.raises(mg.InvalidInputError, match="plot_slice"):
        part.plot()


def test_slice_of_hyperplanes_matches_restriction():
    rng = np.random.default_rng(4)
    W, c = rng.standard_normal((7, 4)), 0.2 * rng.standard_normal(7)
    part = mg.partition_hyperplanes(W, c, mg.Box(-1, 1, dim=4))
    origin, u, v = np.zeros(4), np.eye(4)[0], np.eye(4)[2]
    sl = slice_partition(part, origin, u, v)
    assert sl.dim == 2
    assert sl.box == mg.Box(-1, 1, dim=2)
    # Every slice cell's pattern is the pattern of the 4-D cell containing its interior point.
    lifted = origin + sl.interior_points @ np.stack([u, v])
    np.testing.assert_array_equal(part.patterns[part.locate(lifted)], sl.patterns)
    ax = plot_slice(part, origin, u, v)
    assert len(_artist(ax, CELLS_GID).get_paths()) == sl.n_cells
    assert _png_colors(ax.figure) >= 6


def test_slice_of_relu_oblique_plane_is_clipped_to_the_box():
    rng = np.random.default_rng(5)
    ws = [rng.standard_normal((6, 3)), rng.standard_normal((4, 6)), rng.standard_normal((3, 4))]
    bs = [0.3 * rng.standard_normal(6), 0.3 * rng.standard_normal(4), rng.standard_normal(3)]
    box = mg.Box(-1, 1, dim=3)
    origin, u, v = np.zeros(3), np.array([1.0, 1.0, 0.0]) / np.sqrt(2), np.array([0.0, 0.0, 1.0])
    ax = plot_slice((ws, bs), origin, u, v, box=box, color_by="prediction", data=rng.uniform(-1, 1, (10, 3)))
    paths = _artist(ax, CELLS_GID).get_paths()
    total = 0.0
    for path in paths:
        xy = path.vertices
        total += 0.5 * abs(np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(np.roll(xy[:, 0], -1), xy[:, 1]))
    # The slice of [-1, 1]^3 by this plane is a 2*sqrt(2) x 2 rectangle.
    assert total == pytest.approx(2 * np.sqrt(2) * 2, rel=1e-9)
    # The same slice through the 3-D ReluPartition gives the same polygons.
    part = mg.partition_relu(ws, bs, box)
    ax2 = plot_slice(part, origin, u, v)
    assert len(_artist(ax2, CELLS_GID).get_paths()) == len(paths)
    with pytest.raises(mg.InvalidInputError, match="box"):
        plot_slice((ws, bs), origin, u, v)
    with pytest.raises(mg.InvalidInputError, match="independent"):
        plot_slice(part, origin, u, 2 * u)
    with pytest.raises(mg.InvalidInputError, match="does not cut"):
        plot_slice(part, np.array([5.0, 5.0, 5.0]), np.eye(3)[0], np.eye(3)[1])


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_slice_of_sklearn_and_torch_models():
    sklearn = pytest.importorskip("sklearn.neural_network")
    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, (80, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    mlp = sklearn.MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0).fit(X, y)
    ax = plot_slice(mlp, np.zeros(3), np.eye(3)[0], np.eye(3)[1], box=mg.Box(-1, 1, dim=3), color_by="prediction")
    assert len(_artist(ax, CELLS_GID).get_paths()) >= 1

    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    ax = plot_slice(net, np.zeros(3), np.eye(3)[0], np.eye(3)[1], box=(-1, 1), color_by="prediction")
    assert len(ax.figure.axes) == 2  # one output: a colour scale and its bar


def test_vertices_false_cannot_be_drawn():
    part = mg.partition_hyperplanes([[1, 0]], [-0.5], mg.Box(0, 1, dim=2), vertices=False)
    with pytest.raises(mg.InvalidInputError, match="vertices=True"):
        part.plot()


def test_unsupported_slice_source():
    with pytest.raises(mg.UnsupportedModelError, match="cannot slice"):
        plot_slice(object(), [0, 0, 0], [1, 0, 0], [0, 1, 0], box=(0, 1))


def test_plot_complex():
    from mlgeom_rs.plot import EDGES_GID, TRIANGLES_GID, plot_complex

    part = random_arrangement(8, 2, seed=3).partition()
    cx = mg.RiemannianComplex(part, nerve="full")
    kappa = np.asarray(mg.vertex_curvature(part), dtype=float)
    kappa[0] = np.nan  # drawn uncoloured
    ax = plot_complex(cx, vertex_values=kappa, edge_values=np.arange(cx.shape[1], dtype=float))
    assert len(_artist(ax, EDGES_GID).get_segments()) == cx.shape[1]
    assert len(_artist(ax, TRIANGLES_GID).get_paths()) == cx.shape[2] > 0
    assert len(ax.figure.axes) == 3  # two colour bars
    assert _png_colors(ax.figure) >= 8
    with pytest.raises(mg.InvalidInputError, match="shape"):
        plot_complex(cx, vertex_values=np.ones(3))
    with pytest.raises(mg.InvalidInputError, match="2-D"):
        plot_complex(mg.RiemannianComplex(random_arrangement(4, 3, seed=0).partition()))


def test_complex_plot_method():
    from mlgeom_rs.plot import EDGES_GID, TRIANGLES_GID, VERTICES_GID

    part = random_arrangement(8, 2, seed=3).partition()
    cx = mg.RiemannianComplex(part, nerve="full")
    ax = cx.plot(color_by="curvature")
    assert len(_artist(ax, EDGES_GID).get_segments()) == cx.shape[1]
    assert len(_artist(ax, TRIANGLES_GID).get_paths()) == cx.shape[2] > 0
    assert len(_artist(ax, VERTICES_GID).get_offsets()) == cx.shape[0]
    assert len(ax.figure.axes) == 3  # vertex and edge colour bars
    assert _png_colors(ax.figure) >= 8
    plt.close("all")
    ax = cx.plot(color_by=np.arange(cx.shape[0]), edge_color_by="mass", show_partition=False, colorbar=False)
    assert len(ax.figure.axes) == 1 and _png_colors(ax.figure) >= 4
    with pytest.raises(mg.InvalidInputError, match="color_by"):
        cx.plot(color_by="volume")
    with pytest.raises(mg.InvalidInputError, match="no edges|none"):
        mg.RiemannianComplex(part, max_dim=0).plot(edge_color_by="mass")


def test_classifier_predictions_are_categories():
    pytest.importorskip("sklearn")
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(7)
    X = rng.uniform(0, 1, (100, 2))
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, (X[:, 0] > X[:, 1]).astype(int))
    part = mg.partition(tree, mg.Box(0, 1, dim=2))
    ax = part.plot(color_by="prediction")
    assert ax.get_legend() is not None and len(ax.figure.axes) == 1  # a legend of classes, no colour bar
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["0", "1"]


def test_gallery_script(tmp_path):
    """docs/make_gallery.py runs and writes its pictures (the committed PNGs come from it)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "make_gallery.py"
    paths = runpy.run_path(str(script))["main"](tmp_path)
    assert len(paths) >= 6 and all(p.stat().st_size > 5000 for p in paths)
