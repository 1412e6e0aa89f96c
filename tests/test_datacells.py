"""Data-containing cells (paper.md §7): the same cells and adjacency as the exact partition in 2-D,
pullback H-representations, output maps, and input errors."""

from __future__ import annotations

import numpy as np
import pytest

import mlgeom_rs as mg


def _net(seed: int, widths: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sizes = [*widths, 1]
    ws = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(0.0, 0.5, size=b) for b in sizes[1:]]
    return ws, bs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_data_cells_match_the_exact_partition(seed: int) -> None:
    ws, bs = _net(seed, [2, 6, 5])
    box = mg.Box(-1.0, 1.0, dim=2)
    X = np.random.default_rng(seed + 10).uniform(-1.0, 1.0, size=(3000, 2))
    exact = mg.partition_relu(ws, bs, box)
    dc = mg.data_cells((ws, bs), X, box)
    assert dc.counts.sum() == len(X)
    cell_of = exact.locate(X[dc.representatives])
    # Same patterns as the exact cells that contain the data.
    np.testing.assert_array_equal(exact.patterns[cell_of], dc.patterns)
    # Every point's data cell is the exact cell that contains it.
    np.testing.assert_array_equal(cell_of[dc.point_cell], exact.locate(X))
    # Same adjacency among them.
    pairs = {tuple(sorted(p)) for p in cell_of[dc.edges.cells].tolist()}
    present = set(cell_of.tolist())
    f = exact.facets
    expected = {(int(a), int(b)) for a, b in f.cells[f.interior].tolist() if a in present and b in present}
    assert pairs == expected
    # Witnesses lie on the shared facets (inside the box, in the closure of one of the two cells).
    located = exact.locate(dc.edges.witnesses)
    ends = cell_of[dc.edges.cells]
    assert np.all((located == ends[:, 0]) | (located == ends[:, 1]))
    # Output maps equal the exact partition's affine maps.
    jac, off = dc.affine_maps
    np.testing.assert_allclose(jac, exact.affine_maps.jacobians[cell_of], atol=1e-12)
    np.testing.assert_allclose(off, exact.affine_maps.offsets[cell_of], atol=1e-12)


def test_halfspaces_contain_the_cell_points_and_one_layer_pullback_is_w1() -> None:
    ws, bs = _net(3, [3, 7])
    X = np.random.default_rng(4).uniform(-1.0, 1.0, size=(500, 3))
    dc = mg.data_cells((ws, bs), X)
    for i in range(min(dc.n_cells, 20)):
        grads, offs = dc.pullback(i)
        np.testing.assert_array_equal(grads, ws[0])
        np.testing.assert_array_equal(offs, bs[0])
        A, b = dc.halfspaces(i)
        members = X[dc.point_cell == i]
        assert np.all(members @ A.T + b <= 1e-12)


def test_models_and_errors() -> None:
    ws, bs = _net(5, [2, 4])
    X = np.random.default_rng(6).uniform(-1.0, 1.0, size=(100, 2))
    with pytest.raises(mg.InvalidInputError):
        mg.data_cells((ws, bs), X[:, :1])
    with pytest.raises(mg.InvalidInputError):
        mg.data_cells((ws, bs), np.full((3, 2), np.nan))
    with pytest.raises(mg.InvalidInputError):
        mg.data_cells((ws, bs), np.zeros((0, 2)))
    with pytest.raises(mg.UnsupportedModelError):
        mg.data_cells(object(), X)
    dc = mg.data_cells((ws, bs), X)
    with pytest.raises(IndexError):
        dc.pullback(dc.n_cells)
    adj = dc.adjacency()
    assert (adj != adj.T).nnz == 0
