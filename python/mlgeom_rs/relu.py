"""Exact partitions of ReLU networks into activation regions (paper.md §2.1, §7).

With h_0 = x and h_l = ReLU(W_l h_{l-1} + b_l), each cell is the closure of the points sharing one
activation pattern (bit = pre-activation > 0, hidden layers concatenated in order). Inside a cell
every layer is affine, h_l = J_l x + c_l with J_l = D_l W_l J_{l-1}, c_l = D_l (W_l c_{l-1} + b_l),
D_l = diag(pattern of layer l), so the Rust core refines layer by layer: each cell of the first l
layers is cut by its own hyperplanes ``(W_{l+1} J_l) x + W_{l+1} c_l + b_{l+1} = 0`` (bent
hyperplanes). The output layer is affine on every cell and does not split it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from . import _core
from ._guards import guard_cells
from ._progress import ProgressArg, progress_callback
from ._validate import as_flag, as_float_array, as_points, positive_int, resolve_n_threads
from .box import Box
from .exceptions import InvalidInputError
from .partition import DEFAULT_MAX_CELLS, Partition, _as_box, _readonly, warn_snapped

if TYPE_CHECKING:
    from .distributed import ShardedPartition

__all__ = ["AffineMaps", "ReluPartition", "partition_relu"]


class AffineMaps(NamedTuple):
    """The network output on each cell: ``f(x) = jacobians[i] @ x + offsets[i]`` for x in cell i."""

    jacobians: npt.NDArray[np.float64]
    """float64 (n_cells, n_outputs, d)."""
    offsets: npt.NDArray[np.float64]
    """float64 (n_cells, n_outputs)."""


def _layers(weights: Any, biases: Any) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]]]:
    if not isinstance(weights, list | tuple) or not isinstance(biases, list | tuple):
        raise InvalidInputError("weights and biases must be lists of arrays, one per layer")
    ws = [as_float_array(w, f"weights[{k}]") for k, w in enumerate(weights)]
    bs = [as_float_array(b, f"biases[{k}]") for k, b in enumerate(biases)]
    if not ws:
        raise InvalidInputError("the network has no layers; give at least one (weight, bias) pair")
    if len(ws) != len(bs):
        raise InvalidInputError(f"{len(ws)} weight matrices but {len(bs)} bias vectors; give one of each per layer")
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        if w.ndim != 2:
            raise InvalidInputError(f"weights[{k}] must be 2-D (out, in) as in torch.nn.Linear; got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise InvalidInputError(f"biases[{k}] must have shape ({w.shape[0]},) to match weights[{k}]; got {b.shape}")
        if k and w.shape[1] != ws[k - 1].shape[0]:
            raise InvalidInputError(
                f"weights[{k}] takes {w.shape[1]} inputs but layer {k - 1} has {ws[k - 1].shape[0]} outputs"
            )
    return ws, bs


@overload
def partition_relu(
    weights: list[npt.ArrayLike],
    biases: list[npt.ArrayLike],
    box: Box | tuple[Any, Any],
    *,
    output_layer: bool = ...,
    n_threads: int | None = ...,
    max_cells: int = ...,
    ridges: bool = ...,
    vertices: bool = ...,
    progress: ProgressArg = ...,
    exact: bool = ...,
    client: None = ...,
    out: None = ...,
    shards: None = ...,
) -> ReluPartition: ...
@overload
def partition_relu(
    weights: list[npt.ArrayLike],
    biases: list[npt.ArrayLike],
    box: Box | tuple[Any, Any],
    *,
    output_layer: bool = ...,
    n_threads: int | None = ...,
    max_cells: int = ...,
    ridges: bool = ...,
    vertices: bool = ...,
    progress: ProgressArg = ...,
    exact: bool = ...,
    client: Any,
    out: str | os.PathLike[str] | None = ...,
    shards: int | Sequence[int] | None = ...,
) -> ShardedPartition: ...
@guard_cells("relu")
def partition_relu(
    weights: list[npt.ArrayLike],
    biases: list[npt.ArrayLike],
    box: Box | tuple[Any, Any],
    *,
    output_layer: bool = True,
    n_threads: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    ridges: bool = True,
    vertices: bool = True,
    progress: ProgressArg = None,
    exact: bool = False,
    client: Any = None,
    out: str | os.PathLike[str] | None = None,
    shards: int | Sequence[int] | None = None,
) -> ReluPartition | ShardedPartition:
    """Cut ``box`` into the activation regions of a fully connected ReLU network, exactly.

    Parameters
    ----------
    weights, biases : lists of arrays
        ``weights[l]`` has shape (out, in) as in ``torch.nn.Linear.weight``; ``biases[l]`` (out,).
        Every layer but the last is followed by ReLU. The last layer is the linear output layer
        when ``output_layer`` is True (the default); pass False when every given layer is a hidden
        ReLU layer (the "output" is then the last hidden layer's activation).
    box : Box or (lo, hi)
        The input domain.
    n_threads, max_cells, ridges, vertices, progress, exact
        As in :func:`partition_hyperplanes` (Ctrl-C stops the work; ``progress`` reports cells done).
        With ``exact=True`` every decision is certified: each cell's next-layer hyperplanes are composed in
        float64 with a rigorous error bound per row, and composed from the weights in exact rational
        arithmetic only where that bound leaves a predicate in doubt (float64 for the measures and affine
        maps); a neuron is constant on a cell only when its composed normal is exactly zero.
    client, out, shards
        Scale out on Dask as in :func:`partition_hyperplanes`; the shards are sign vectors of first-layer
        neurons, and the result is a :class:`~mlgeom_rs.distributed.ShardedPartition` whose cells table has
        the network's output at each interior point (``prediction``).

    Returns
    -------
    ReluPartition
        A :class:`Partition` whose pattern bits are the hidden neurons, with per-cell affine maps.
    """
    ws, bs = _layers(weights, biases)
    if output_layer and len(ws) < 2:
        raise InvalidInputError("with output_layer=True the network needs at least one hidden layer before the output")
    d = ws[0].shape[1]
    box = _as_box(box, d)
    if box.dim != d:
        raise InvalidInputError(f"the first layer takes {d} inputs but the box is {box.dim}-dimensional")
    threads, limit = resolve_n_threads(n_threads), positive_int(max_cells, "max_cells")
    exact = as_flag(exact, "exact")
    if client is not None or out is not None or shards is not None:
        from .distributed import ModelSpec, on_cluster

        spec = ModelSpec("relu", tuple(ws), tuple(bs), bool(output_layer))
        options = {
            "n_threads": n_threads or 1,
            "max_cells": limit,
            "ridges": bool(ridges),
            "vertices": bool(vertices),
            "exact": exact,
        }
        return on_cluster(spec, box, client, out=out, shards=shards, options=options)
    with progress_callback(progress) as report:
        native = _core.partition_relu(
            ws,
            bs,
            box.lo,
            box.hi,
            output_layer=bool(output_layer),
            n_threads=threads,
            max_cells=limit,
            ridges=bool(ridges),
            vertices=bool(vertices),
            progress=report,
            exact=exact,
        )
    hidden = ws[:-1] if output_layer else ws
    warn_snapped(native)
    return ReluPartition(native, box, [w.shape[0] for w in hidden], ws, bs, output_layer=bool(output_layer))


class ReluPartition(Partition):
    """The activation regions of a ReLU network; see :func:`partition_relu`.

    Bits are hidden neurons in layer order; a facet's ``hyperplane`` is the neuron whose (bent)
    boundary carries it.
    """

    def __init__(
        self,
        native: Any,
        box: Box,
        layer_sizes: list[int],
        weights: list[npt.NDArray[np.float64]],
        biases: list[npt.NDArray[np.float64]],
        *,
        output_layer: bool,
    ) -> None:
        super().__init__(native, box, _readonly(weights[0].copy()), _readonly(biases[0].copy()))
        self._layer_sizes = tuple(layer_sizes)
        self._weights = [_readonly(w.copy()) for w in weights]
        self._biases = [_readonly(b.copy()) for b in biases]
        self._output_layer = output_layer

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Widths of the hidden layers (the bits of a pattern, in order)."""
        return self._layer_sizes

    @cached_property
    def layer_of_bit(self) -> npt.NDArray[np.int64]:
        """The hidden layer (0-based) of each pattern bit, int64 (n_neurons,)."""
        return _readonly(np.repeat(np.arange(len(self._layer_sizes), dtype=np.int64), self._layer_sizes))

    @cached_property
    def affine_maps(self) -> AffineMaps:
        """Per cell, the network's output as an affine map of x (exact on the closed cell)."""
        payload = self._native.payload()
        d = self.dim
        n_out = payload.shape[1] // (d + 1)
        jac = payload[:, : n_out * d].reshape(self.n_cells, n_out, d)
        return AffineMaps(
            _readonly(np.ascontiguousarray(jac)), _readonly(np.ascontiguousarray(payload[:, n_out * d :]))
        )

    def evaluate(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The network output at each row of ``X`` (N, d) through the cells' affine maps; NaN outside the box."""
        pts = as_points(X, self.dim, "X")
        cells = self.locate(pts)
        jac, off = self.affine_maps
        out = np.full((pts.shape[0], off.shape[1]), np.nan)
        inside = cells >= 0
        c = cells[inside]
        out[inside] = np.einsum("nod,nd->no", jac[c], pts[inside]) + off[c]
        return out

    def __repr__(self) -> str:
        return (
            f"ReluPartition(n_cells={self.n_cells}, layer_sizes={list(self._layer_sizes)}, "
            f"dim={self.dim}, box={self.box!r})"
        )
