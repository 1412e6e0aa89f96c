"""Pickling DataCells (issues 7 and 8): a round trip under protocol 5 and through a spawn-context
process pool gives identical results for every public attribute and method; the pickle holds the
computed arrays (by buffer, without the data) and inconsistent parts are refused."""

from __future__ import annotations

import multiprocessing
import operator
import pickle
from collections import Counter
from typing import Any

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import mlgeom_rs as mg
from mlgeom_rs import _core
from mlgeom_rs._pickling import reduce_data_cells


def _cells(seed: int, widths: list[int], n: int, output_layer: bool = True) -> tuple[mg.DataCells, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [*widths, 2] if output_layer else widths
    ws = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(0.0, 0.5, size=b) for b in sizes[1:]]
    X = rng.uniform(-1.0, 1.0, size=(n, widths[0]))
    return mg.data_cells((ws, bs), X, output_layer=output_layer), X


def _assert_same(a: mg.DataCells, b: mg.DataCells) -> None:
    """Every public attribute and method of ``a`` and ``b`` agree exactly."""
    assert (a.n_cells, a.n_bits, len(a), a.layer_sizes, a.box, repr(a)) == (
        b.n_cells,
        b.n_bits,
        len(b),
        b.layer_sizes,
        b.box,
        repr(b),
    )
    for name in ("packed_patterns", "patterns", "counts", "point_cell", "representatives"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and not y.flags.writeable, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.labels == b.labels
    for i in range(a.n_cells):
        for x, y in zip(a.pullback(i), b.pullback(i), strict=True):
            np.testing.assert_array_equal(x, y)
        for x, y in zip(a.halfspaces(i), b.halfspaces(i), strict=True):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(a.halfspaces(-1, reduce=True), b.halfspaces(-1, reduce=True), strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.edges, b.edges, strict=True):
        np.testing.assert_array_equal(x, y)
    assert (a.adjacency() != b.adjacency()).nnz == 0
    for x, y in zip(a.affine_maps, b.affine_maps, strict=True):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=examples(12))
@given(
    seed=st.integers(0, 2**16),
    widths=st.sampled_from([[2, 5], [2, 6, 4], [3, 8, 8], [1, 4, 3], [4, 70]]),
    n=st.integers(1, 400),
    output_layer=st.booleans(),
    edges_first=st.booleans(),
)
def test_round_trip_is_exact(seed: int, widths: list[int], n: int, output_layer: bool, edges_first: bool) -> None:
    dc, _ = _cells(seed, widths, n, output_layer)
    if edges_first:  # a computed adjacency travels; otherwise it is computed after unpickling
        _ = dc.edges
    copy = pickle.loads(pickle.dumps(dc, protocol=5))
    assert ("edges" in copy.__dict__) == edges_first
    _assert_same(dc, copy)
    _assert_same(dc, pickle.loads(pickle.dumps(copy, protocol=5)))  # and again from the copy


def test_pickle_holds_the_arrays_by_buffer_and_not_the_data() -> None:
    dc, X = _cells(0, [6, 16, 16], 5000)
    assert 256 < dc.n_cells <= 2**16
    # The packed patterns already on the Python side are pickled as they are, not copied; the
    # point-to-cell index travels as uint16 (2 bytes a point), the data points not at all.
    cached = dc.packed_patterns
    _, (_, _, _, packed, point_cell, rep_points, _) = reduce_data_cells(dc)
    assert packed is cached
    assert point_cell.dtype == np.uint16
    np.testing.assert_array_equal(point_cell, dc.point_cell)
    np.testing.assert_array_equal(rep_points, X[dc.representatives])
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(dc, protocol=5, buffer_callback=buffers.append)
    sizes = Counter(memoryview(b).nbytes for b in buffers)
    layers = [*dc._native.layers()[0], *dc._native.layers()[1]]
    expected = Counter(a.nbytes for a in [packed, point_cell, rep_points, *layers])
    assert sizes == expected  # one buffer per array (network included), nothing else
    assert len(head) < 4096  # bookkeeping only: every array is out of band
    _assert_same(dc, pickle.loads(head, buffers=buffers))


@pytest.mark.parametrize(("kx", "ky", "dtype"), [(255, 0, np.uint8), (256, 0, np.uint16), (256, 256, np.uint32)])
def test_point_cell_travels_in_the_narrowest_dtype(kx: int, ky: int, dtype: type) -> None:
    # kx lines x = const and ky lines y = const cut [0, 1]^2 into (kx + 1)(ky + 1) cells, one point each.
    ws = [np.repeat(np.eye(2), [kx, ky], axis=0), np.ones((1, kx + ky))]
    bs = [-np.concatenate([(np.arange(kx) + 1.0) / (kx + 1), (np.arange(ky) + 1.0) / (ky + 1)]), np.zeros(1)]
    cx, cy = (np.arange(kx + 1) + 0.5) / (kx + 1), (np.arange(ky + 1) + 0.5) / (ky + 1)
    X = np.stack(np.meshgrid(cx, cy), axis=-1).reshape(-1, 2)
    dc = mg.data_cells((ws, bs), X)
    assert dc.n_cells == (kx + 1) * (ky + 1)
    compact = dc._native.point_cell_compact()
    assert compact.dtype == dtype
    np.testing.assert_array_equal(compact, dc.point_cell)
    copy = pickle.loads(pickle.dumps(dc, protocol=5))
    np.testing.assert_array_equal(copy.point_cell, dc.point_cell)
    np.testing.assert_array_equal(copy.packed_patterns, dc.packed_patterns)


def test_spawned_process_unpickles_and_computes() -> None:
    dc, X = _cells(1, [2, 8, 8], 2000)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        edges, (A, b), back = pool.starmap(
            operator.call,
            [
                (operator.attrgetter("edges"), dc),
                (operator.methodcaller("halfspaces", 3), dc),
                (operator.itemgetter(0), (dc,)),
            ],
        )
    for x, y in zip(edges, dc.edges, strict=True):
        np.testing.assert_array_equal(x, y)
    A0, b0 = dc.halfspaces(3)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(b, b0)
    _assert_same(dc, back)


def _parts(dc: mg.DataCells) -> dict[str, Any]:
    ws, bs, out = dc._native.layers()
    return {
        "weights": ws,
        "biases": bs,
        "packed": dc.packed_patterns.copy(),
        "point_cell": dc._native.point_cell_compact(),
        "points": dc._native.representative_points(),
        "out": out,
    }


def _rebuild(p: dict[str, Any]) -> Any:
    return _core.data_cells_from_parts(
        p["weights"], p["biases"], p["packed"], p["point_cell"], p["points"], output_layer=p["out"]
    )


def _swap_patterns(p: dict[str, Any]) -> None:
    p["packed"][[0, 1]] = p["packed"][[1, 0]]


@pytest.mark.parametrize(
    "corrupt",
    [
        _swap_patterns,
        lambda p: p["point_cell"].__setitem__(0, 200),
        lambda p: p.__setitem__("point_cell", p["point_cell"].astype(np.int64) - 1),
        lambda p: p.__setitem__("point_cell", p["point_cell"].astype(np.float64)),
        lambda p: p.__setitem__("point_cell", np.minimum(p["point_cell"], 1)),  # cells 2.. left empty
        lambda p: p.__setitem__("points", p["points"][:-1]),
        lambda p: p.__setitem__("packed", p["packed"][:, :-1]),
        lambda p: p["packed"].__setitem__((0, -1), p["packed"][0, -1] | 1),  # a bit beyond n_bits (n_bits = 5)
    ],
)
def test_inconsistent_parts_are_refused(corrupt: Any) -> None:
    dc, _ = _cells(2, [2, 5], 300)
    assert dc.n_cells >= 3 and dc.n_bits % 8 != 0
    native = _rebuild(_parts(dc))
    for name, attr in [("point_cell", "point_cell"), ("counts", "counts"), ("representative", "representatives")]:
        np.testing.assert_array_equal(getattr(native, name)(), getattr(dc, attr))
    parts = _parts(dc)
    corrupt(parts)
    with pytest.raises(mg.InvalidInputError):
        _rebuild(parts)
