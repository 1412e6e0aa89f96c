"""Pickling of partitions and data cells (private).

Partitions are pickled as the inputs of their native call; data cells as their computed arrays.

The Rust result (cells, facets, ridges and the tree that :meth:`Partition.locate` descends) is not
serialised; unpickling re-runs the same call of :mod:`mlgeom_rs._core` on the same inputs. The core
is deterministic (cells are numbered by pattern, independently of the thread count), so the
unpickled partition has the same cells in the same order, and every Python-side attribute (a
model partition's predictions, classes, ...) is restored as it was. The price: unpickling costs
as much as the original partition; the pickle itself is small (the model's weights or
hyperplanes). Results of the same library version are reproduced exactly; across versions the
numbering may differ if the core changed.

Recipes: hyperplanes (``normals``, ``offsets``, box), ReLU networks (weights, biases, output
layer) and tree ensembles (the trees' node arrays). ``ridges`` and ``vertices`` are those of the
original result.

Data cells (:class:`~mlgeom_rs.DataCells`) cannot be rebuilt from their inputs without the data
(N × d floats), so their pickle stores what was computed from it instead: the network (its weights
and biases), the packed patterns, the cell of every point, the first point of every cell
(n_cells × d, for the adjacency's straight-walk certificates), and the adjacency
(:attr:`DataCells.edges`, LP-certified) if it was computed. Unpickling checks these parts in O(N)
and derives the counts and first points from the cell of every point in the same pass; nothing
else is recomputed until asked for (patterns as bools, labels, output maps). The arrays are numpy
arrays, so protocol 5 writes their buffers without a copy (or out of band, with
``buffer_callback``). The point-to-cell index is stored in the narrowest unsigned dtype that holds
the cell numbers (uint16 up to 65,536 cells: 2 bytes a point). The data points are not in it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core

if TYPE_CHECKING:
    from ._core import NativePartition
    from .box import Box
    from .datacells import DataCells
    from .partition import Partition

__all__ = ["reduce_data_cells", "reduce_partition"]


def _recipe(part: Partition) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    from .partition import DEFAULT_MAX_CELLS
    from .relu import ReluPartition

    lo, hi = np.array(part.box.lo), np.array(part.box.hi)
    options: dict[str, Any] = {"max_cells": max(DEFAULT_MAX_CELLS, part.n_cells)}
    forest = part.__dict__.get("_forest")
    if forest is not None:
        lefts, rights, features, thresholds, vertices = forest
        return "partition_forest", (lefts, rights, features, thresholds, lo, hi), {**options, "vertices": vertices}
    options |= {"ridges": part.has_ridges, "vertices": part.n_vertices > 0 or part.n_cells == 0}
    if isinstance(part, ReluPartition):
        weights = [np.array(w) for w in part._weights]
        biases = [np.array(b) for b in part._biases]
        return "partition_relu", (weights, biases, lo, hi), {**options, "output_layer": part._output_layer}
    if type(part).__name__ == "TreePartition":
        raise TypeError("this TreePartition does not record its trees, so it cannot be pickled")
    return "partition_hyperplanes", (np.array(part.normals), np.array(part.offsets), lo, hi), options


def _state(part: Partition) -> dict[str, Any]:
    klass = type(part)
    return {
        key: value
        for key, value in part.__dict__.items()
        if key != "_native" and not isinstance(getattr(klass, key, None), cached_property)
    }


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, list | tuple):
        for item in value:
            _freeze(item)
    return value


def _rebuild(
    klass: type[Partition], call: str, args: tuple[Any, ...], kwargs: dict[str, Any], state: dict[str, Any]
) -> Any:
    native: NativePartition = getattr(_core, call)(*args, **kwargs)
    part = klass.__new__(klass)
    for key, value in state.items():
        part.__dict__[key] = _freeze(value)
    part.__dict__["_native"] = native
    return part


def reduce_partition(part: Partition) -> tuple[Any, ...]:
    """``__reduce__`` of :class:`~mlgeom_rs.Partition` and its subclasses."""
    call, args, kwargs = _recipe(part)
    return (_rebuild, (type(part), call, args, kwargs, _state(part)))


def _rebuild_data_cells(
    layers: tuple[list[Any], list[Any], bool],
    box: Box,
    layer_sizes: tuple[int, ...],
    packed: Any,
    point_cell: Any,
    rep_points: Any,
    edges: Any,
) -> DataCells:
    from .datacells import DataCells

    weights, biases, output_layer = layers
    native = _core.data_cells_from_parts(weights, biases, packed, point_cell, rep_points, output_layer=output_layer)
    cells = DataCells(native, box, list(layer_sizes))
    cells.__dict__["packed_patterns"] = _freeze(packed)
    if edges is not None:
        cells.__dict__["edges"] = _freeze(edges)
    return cells


def reduce_data_cells(cells: DataCells) -> tuple[Any, ...]:
    """``__reduce__`` of :class:`~mlgeom_rs.DataCells`: the network, the packed patterns (reused if already
    on the Python side), the point-to-cell index in the narrowest unsigned dtype, one point per cell and
    the adjacency if it was computed."""
    native, cached = cells._native, cells.__dict__
    packed = cached["packed_patterns"] if "packed_patterns" in cached else native.packed_patterns()
    return (
        _rebuild_data_cells,
        (
            native.layers(),
            cells.box,
            cells.layer_sizes,
            packed,
            native.point_cell_compact(),
            native.representative_points(),
            cached.get("edges"),
        ),
    )
