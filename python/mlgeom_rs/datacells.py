"""Data-containing cells of a ReLU network, for inputs too large to enumerate (paper.md §7).

A network's activation regions number up to exponentially many in the input dimension, but a data
set of n points meets at most n of them. :func:`data_cells` groups the points by activation pattern
(one batched forward pass in Rust), gives each cell's H-representation by pulling the neurons back
to the input (h_l = D_l (W_l h_{l-1} + b_l) = J_l x + c_l on the cell, Gajer & Ravel,
arXiv 2508.02080, "focusing on data-containing cells"), and finds adjacent data cells: pattern
pairs one bit apart whose shared facet is nonempty, certified by a linear program.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from . import _core
from ._validate import as_points
from .box import Box
from .exceptions import InvalidInputError
from .partition import _as_box, _readonly
from .relu import AffineMaps, _layers

if TYPE_CHECKING:
    import scipy.sparse

    from ._core import NativeDataCells
    from .distributed.datacells import DistributedDataCells

__all__ = ["DataCellEdges", "DataCells", "data_cells"]

#: Smallest certified slack (a distance, relative to the box diagonal) for two data cells to be adjacent.
ADJACENCY_TOLERANCE_REL = 1e-9


def _network(model: Any) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]], bool]:
    """(weights, biases, output_layer) of a ReLU network given as a (weights, biases) pair or a model."""
    if isinstance(model, tuple | list) and len(model) == 2:
        ws, bs = _layers(model[0], model[1])
        return ws, bs, True
    from . import models

    return models.relu_layers(model)


@overload
def data_cells(
    model: Any,
    X: npt.ArrayLike,
    box: Box | tuple[Any, Any] | None = ...,
    *,
    output_layer: bool | None = ...,
    client: None = ...,
) -> DataCells: ...
@overload
def data_cells(
    model: Any, X: Any, box: Box | tuple[Any, Any] | None = ..., *, output_layer: bool | None = ..., client: Any
) -> DistributedDataCells: ...
def data_cells(
    model: Any,
    X: Any,
    box: Box | tuple[Any, Any] | None = None,
    *,
    output_layer: bool | None = None,
    client: Any = None,
) -> DataCells | DistributedDataCells:
    """Group the rows of ``X`` (N, d) by the activation pattern of a ReLU network.

    Parameters
    ----------
    model : (weights, biases) or a ReLU model
        Layers in torch layout (``weights[l]`` is (out, in)); all but the last are followed by ReLU and
        the last is the linear output layer. torch ``Sequential`` and scikit-learn ``MLP*`` models are
        read through :func:`mlgeom_rs.models.relu_layers`.
    X : array_like (N, d)
        The data. Points must not be changed during the call.
    box : Box or (lo, hi), optional
        Where facets are sought for :meth:`DataCells.adjacency`; default ``Box.from_data(X)``.
    output_layer : bool, optional
        Override whether the last layer is a linear output layer (default True for a pair).
    client : dask.distributed.Client, optional
        Scale out: ``X`` may then be a Dask array (rows in chunks) too large for one machine; patterns per
        chunk, unique patterns by a tree reduction, adjacency candidates by a shuffle and the LPs run on the
        cluster (:mod:`mlgeom_rs.distributed.datacells`), with the same numbering and results.

    Returns
    -------
    DataCells
        (:class:`~mlgeom_rs.distributed.datacells.DistributedDataCells` with ``client``)
    """
    ws, bs, out = _network(model)
    if output_layer is not None:
        out = bool(output_layer)
    d = ws[0].shape[1]
    if client is not None:
        from .distributed.datacells import data_cells_on_cluster

        if len(getattr(X, "shape", ())) != 2 or X.shape[1] != d:
            raise InvalidInputError(f"X must have shape (N, {d}); got {getattr(X, 'shape', None)}")
        dom = None if box is None else _as_box(box, d)
        sizes = [w.shape[0] for w in (ws[:-1] if out else ws)]
        return data_cells_on_cluster((ws, bs, out), X, dom, client, sizes)
    pts = as_points(X, d, "X")
    if pts.shape[0] == 0:
        raise InvalidInputError("X has no rows; give at least one point")
    dom = Box.from_data(pts) if box is None else _as_box(box, d)
    if dom.dim != d:
        raise InvalidInputError(f"the box is {dom.dim}-dimensional but the network takes {d} inputs")
    native = _core.data_cells(ws, bs, pts, output_layer=out)
    return DataCells(native, dom, [w.shape[0] for w in (ws[:-1] if out else ws)])


class DataCellEdges(NamedTuple):
    """Adjacent data cells, one row per shared facet."""

    cells: npt.NDArray[np.int64]
    """int64 (E, 2), first < second: the two cells (patterns one bit apart)."""
    bits: npt.NDArray[np.int64]
    """int64 (E,): the neuron whose boundary carries the facet."""
    witnesses: npt.NDArray[np.float64]
    """float64 (E, d): a point in the relative interior of the facet, inside the box."""
    by_lp: npt.NDArray[np.bool_]
    """bool (E,): whether the certificate came from the LP (the straight walk found none)."""


class DataCells:
    """The cells of a ReLU network that contain data; see :func:`data_cells`.

    Cells are numbered in lexicographic order of their activation patterns (bit = pre-activation > 0,
    hidden layers concatenated).
    """

    def __init__(self, native: NativeDataCells, box: Box, layer_sizes: list[int]) -> None:
        self._native = native
        self._box = box
        self._layer_sizes = tuple(layer_sizes)

    @property
    def n_cells(self) -> int:
        return int(self._native.n_cells)

    def __len__(self) -> int:
        return self.n_cells

    @property
    def n_bits(self) -> int:
        """Number of hidden neurons (pattern bits)."""
        return int(self._native.n_bits)

    @property
    def box(self) -> Box:
        return self._box

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self._layer_sizes

    @cached_property
    def packed_patterns(self) -> npt.NDArray[np.uint8]:
        """Bit-packed patterns, uint8 (n_cells, ceil(n_bits/8)), as ``np.packbits(patterns, axis=1)``."""
        return _readonly(self._native.packed_patterns())

    @cached_property
    def patterns(self) -> npt.NDArray[np.bool_]:
        """Activation patterns, bool (n_cells, n_bits)."""
        return _readonly(np.unpackbits(self.packed_patterns, axis=1, count=self.n_bits).view(np.bool_))

    @cached_property
    def labels(self) -> list[str]:
        """Patterns as '0'/'1' strings."""
        digits = self.patterns.view(np.uint8) + np.uint8(ord("0"))
        return digits.view(f"S{self.n_bits}").ravel().astype(str).tolist()

    @cached_property
    def counts(self) -> npt.NDArray[np.int64]:
        """Points per cell, int64 (n_cells,)."""
        return _readonly(self._native.counts())

    @cached_property
    def point_cell(self) -> npt.NDArray[np.int64]:
        """The cell of every point, int64 (N,)."""
        return _readonly(self._native.point_cell())

    @cached_property
    def representatives(self) -> npt.NDArray[np.int64]:
        """Index of the first point of each cell, int64 (n_cells,)."""
        return _readonly(self._native.representative())

    def _index(self, i: int) -> int:
        if not -self.n_cells <= int(i) < self.n_cells:
            raise IndexError(f"cell {i} out of range for {self.n_cells} data cells")
        return int(i) % self.n_cells

    def pullback(self, i: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Every neuron's pre-activation on cell ``i`` as an affine map: gradients (n_bits, d), offsets (n_bits,).

        Row k is a_{l,k} = (W_l J_{l-1})_k and offset (W_l c_{l-1} + b_l)_k (paper.md §7); for a
        one-hidden-layer network these are the rows of (W_1, b_1).
        """
        return self._native.pullback(self._index(i))

    def halfspaces(self, i: int, *, reduce: bool = False) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """H-representation ``A x + b <= 0`` of cell ``i`` (without the box), one row per neuron.

        A neuron that is on (bit 1) contributes ``-(a·x + c) <= 0``, one that is off ``a·x + c <= 0``.
        Rows with a zero gradient (constant neurons) are dropped. With ``reduce=True`` redundant rows are
        removed too (one LP per row with scipy's HiGHS, inside the box: O(n_bits) LPs).
        """
        i = self._index(i)
        grads, offs = self.pullback(i)
        sign = np.where(self.patterns[i], -1.0, 1.0)
        A, b = grads * sign[:, None], offs * sign
        keep = np.any(A != 0.0, axis=1)
        A, b = A[keep], b[keep]
        if reduce:
            A, b = _irredundant(A, b, self._box)
        return A, b

    @cached_property
    def edges(self) -> DataCellEdges:
        """Adjacent data cells (computed on first use).

        Candidates are pattern pairs one bit apart (found by hashing, no all-pairs scan). Each is
        certified by a point in the relative interior of the shared facet inside the box: found
        exactly by walking from one cell's first data point to the other's (inside a cell every
        pre-activation is affine along the segment), else by a linear program (microlp) maximising the
        margin of a facet point from every other neuron boundary (certified when > 1e-9 × box diagonal).
        """
        tol = ADJACENCY_TOLERANCE_REL * float(np.linalg.norm(self._box.hi - self._box.lo))
        pairs, bits, witnesses, by_lp = self._native.adjacency(self._box.lo, self._box.hi, tol=tol)
        return DataCellEdges(_readonly(pairs), _readonly(bits), _readonly(witnesses), _readonly(by_lp))

    def adjacency(self) -> scipy.sparse.csr_array:
        """Symmetric 0/1 adjacency of the data cells, ``scipy.sparse.csr_array`` (n_cells, n_cells) of float64."""
        import scipy.sparse

        pairs = self.edges.cells
        n = self.n_cells
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        return scipy.sparse.csr_array((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))

    @cached_property
    def affine_maps(self) -> AffineMaps:
        """The network output on each data cell as an affine map (computed on first use, in parallel)."""
        jac, off = self._native.output_maps()
        return AffineMaps(_readonly(jac), _readonly(off))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the network and the computed arrays, not the data (see ``mlgeom_rs._pickling``)."""
        from ._pickling import reduce_data_cells

        return reduce_data_cells(self)

    def __repr__(self) -> str:
        return f"DataCells(n_cells={self.n_cells}, n_bits={self.n_bits}, layer_sizes={list(self._layer_sizes)})"


def _irredundant(
    A: npt.NDArray[np.float64], b: npt.NDArray[np.float64], box: Box
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Drops rows k of ``A x + b <= 0`` implied by the others and the box: max A_k x over the rest <= -b_k."""
    from scipy.optimize import linprog

    keep = np.ones(A.shape[0], dtype=bool)
    bounds = list(zip(box.lo.tolist(), box.hi.tolist(), strict=True))
    for k in range(A.shape[0]):
        others = keep.copy()
        others[k] = False
        res = linprog(-A[k], A_ub=A[others], b_ub=-b[others], bounds=bounds, method="highs")
        if res.status == 0 and res.fun is not None and -res.fun + b[k] <= 1e-9 * max(1.0, float(np.abs(A[k]).sum())):
            keep[k] = False
    return A[keep], b[keep]
