"""Partition a box by a hyperplane arrangement: the user API over the Rust core.

The partition of the input space that a linear layer (or any set of hyperplanes) induces
is the object studied by Gajer & Ravel, "The Geometry of Machine Learning Models"
(arXiv 2508.02080). Its Figure 1 is the unit square cut by two lines into four cells
labelled 00, 01, 10, 11::

    >>> import mlgeom_rs as mg
    >>> p = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6], mg.Box(0, 1, dim=2))
    >>> p.labels
    ['00', '01', '10', '11']
    >>> p.volumes.round(2).tolist()
    [0.18, 0.12, 0.42, 0.28]
"""

from __future__ import annotations

import operator
import os
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import _core
from ._format import format_table
from ._guards import guard_cells
from ._progress import ProgressArg, progress_callback
from ._validate import as_flag, as_float_array, as_points, positive_int, resolve_n_threads
from .box import Box
from .exceptions import InvalidInputError, ToleranceWarning
from .tables import FacetTable, RidgeTable

if TYPE_CHECKING:
    import networkx as nx
    import scipy.sparse

    from ._core import NativePartition
    from .distributed import ShardedPartition

__all__ = ["Partition", "partition_hyperplanes"]

DEFAULT_MAX_CELLS = 10_000_000


def _readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr.setflags(write=False)
    return arr


def warn_snapped(native: NativePartition) -> None:
    """Issue a :class:`ToleranceWarning` if float mode snapped decisions that exact arithmetic contradicts."""
    warn_snapped_count(native.snapped, native.tolerance, stacklevel=5)


def warn_snapped_count(snapped: int, tolerance: float, stacklevel: int = 4) -> None:
    """The :class:`ToleranceWarning` for ``snapped`` decisions at ``tolerance`` (none if 0)."""
    if snapped:
        warnings.warn(
            f"{snapped} predicate decision(s) were snapped to the tolerance ({tolerance:.2g}) where "
            "exact arithmetic on the input decides otherwise: the cells are those of the input snapped to the "
            "tolerance (consistent, but not the input's own); pass exact=True for the input's own cells",
            ToleranceWarning,
            stacklevel=stacklevel,
        )


def _as_box(box: Any, dim: int) -> Box:
    if isinstance(box, Box):
        return box
    if isinstance(box, tuple | list | np.ndarray) and len(box) == 2:
        return Box(box[0], box[1], dim=dim)
    raise InvalidInputError(
        f"box must be a mlgeom_rs.Box or a pair (lo, hi); got {type(box).__name__}. "
        f"For example Box(0, 1, dim={dim}) or Box.from_data(X)"
    )


@overload
def partition_hyperplanes(
    W: npt.ArrayLike,
    c: npt.ArrayLike,
    box: Box | tuple[Any, Any],
    *,
    n_threads: int | None = ...,
    max_cells: int = ...,
    ridges: bool = ...,
    vertices: bool = ...,
    progress: ProgressArg = ...,
    exact: bool = ...,
    client: None = ...,
    out: None = ...,
    shards: None = ...,
) -> Partition: ...
@overload
def partition_hyperplanes(
    W: npt.ArrayLike,
    c: npt.ArrayLike,
    box: Box | tuple[Any, Any],
    *,
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
@guard_cells("hyperplanes")
def partition_hyperplanes(
    W: npt.ArrayLike,
    c: npt.ArrayLike,
    box: Box | tuple[Any, Any],
    *,
    n_threads: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    ridges: bool = True,
    vertices: bool = True,
    progress: ProgressArg = None,
    exact: bool = False,
    client: Any = None,
    out: str | os.PathLike[str] | None = None,
    shards: int | Sequence[int] | None = None,
) -> Partition | ShardedPartition:
    """Cut ``box`` into the cells of the arrangement of hyperplanes ``W @ x + c = 0``.

    Hyperplane j is ``{x : W[j]·x + c[j] = 0}``. Each cell is the closure of a set of points
    with one sign pattern: bit j is 1 iff ``W[j]·x + c[j] > 0`` inside the cell. For a
    linear layer these are its neurons, and the patterns are the labels of Figure 1 of
    Gajer & Ravel (arXiv 2508.02080). Only cells with nonempty interior are returned,
    numbered in lexicographic order of their patterns (independent of ``n_threads``).

    Parameters
    ----------
    W : array_like, shape (m, d)
        Normals, one row per hyperplane; integers are fine and converted to float64.
        A 1-D ``W`` is refused as ambiguous: pass ``W.reshape(-1, 1)`` for m hyperplanes in
        one dimension or ``W.reshape(1, -1)`` for one hyperplane. An empty ``W`` (m = 0,
        shape (0, d) or ``[]``) gives one cell, the box.
    c : array_like, shape (m,)
        Offsets.
    box : Box or (lo, hi)
        The domain; a pair (tuple, list or array of length 2) is passed to ``Box(lo, hi, dim=d)``.
    n_threads : int, optional
        Worker threads. Default: ``$MLGEOM_NUM_THREADS`` if set, else all cores.
        The result does not depend on it.
    max_cells : int, default 10_000_000
        Stop with :class:`TooManyCellsError` beyond this many cells (a memory guard). A request that
        certainly exceeds it (more distinct hyperplanes cross the box than ``max_cells - 1``) fails before
        any enumeration; the error states the bounds known up front (at least 1 + the crossing
        hyperplanes, at most Buck's sum_{k<=d} C(m, k)).
    ridges : bool, default True
        Also compute ridges (dihedral angles); skip them to save time and memory.
    vertices : bool, default True
        Keep every cell's vertices (:meth:`Partition.vertices`, global vertex ids for the nerve);
        skip them to save memory on very large partitions.
    progress : bool or callable, optional
        Report finished cells while the core works: ``True`` a progress bar on stderr (tqdm when
        installed), ``False`` nothing, a callable is called as ``progress(n_cells_done)`` about every
        50 ms. Default: a bar only when stderr is a terminal and the work lasts over a second.
        Ctrl-C (``KeyboardInterrupt``) stops the work within about 50 ms in any case.
    exact : bool, default False
        Certify every combinatorial decision (the side of a vertex, whether a hyperplane crosses a cell, which
        facets exist, which cells meet) with exact rational arithmetic on the input floats, each of which is
        an exact dyadic rational. A float filter with a rigorous error bound decides most predicates; only
        those inside their bound are computed with big integers (Cramer's rule, Bareiss elimination), so the
        cost on generic input is small (``benchmarks/README.md``). "On a hyperplane" then means exactly on
        it, and only exactly proportional rows are coincident: input that is degenerate only up to rounding
        (e.g. lines through ``(1/3, 1/3)`` written in decimals) gets its true, possibly tiny, cells.
        Volumes, areas and angles stay float64, computed from the certified combinatorics.
    client : dask.distributed.Client, optional
        Scale out: split the box into shards along some of the hyperplanes (sign vectors on them), one
        Dask task per shard, and return a :class:`~mlgeom_rs.distributed.ShardedPartition` (same cells, ids
        grouped by shard). ``n_threads`` (default 1), ``max_cells``, ``ridges`` and ``vertices`` apply per
        task; ``progress`` is ignored. See :mod:`mlgeom_rs.distributed`.
    out : path, optional
        With ``client``: write each shard as Parquet under this directory (shared by the workers) instead
        of returning the tables to the client.
    shards : int or sequence of int, optional
        With ``client``: the number of shards (default 4 per worker thread), balanced by estimated work,
        or the hyperplane indices whose 2^k sign vectors are the shards.

    Returns
    -------
    Partition
        (:class:`~mlgeom_rs.distributed.ShardedPartition` with ``client``)

    Raises
    ------
    InvalidInputError
        Bad shapes or dtypes (bool, complex, object, strings), NaN/inf, a dimension that does
        not match the box, a row with zero normal *and* zero offset (it splits nothing and has
        no sign), or a bad option. A row with zero normal and nonzero offset is allowed: it is
        a constant bit.
    TooManyCellsError
        More than ``max_cells`` cells.
    NumericalError
        Floating-point trouble the tolerance could not absorb (float mode); ``exact=True`` avoids it.

    Notes
    -----
    Hyperplanes equal up to a (positive or negative) scale factor are one geometric boundary:
    the cells across it differ in all their bits, and the facet lists all of them
    (``Partition.facets.carriers``). In float mode predicates use one absolute distance tolerance,
    ``Partition.tolerance``, after normalising each hyperplane to a unit normal: input within that
    tolerance of a degeneracy is snapped to it (hyperplanes within twice the tolerance across the box are
    one boundary).
    """
    W_arr = as_float_array(W, "W")
    c_arr = as_float_array(c, "c")
    if W_arr.ndim == 1 and W_arr.size == 0:
        dim = box.dim if isinstance(box, Box) else None
        if dim is None:
            raise InvalidInputError("W is empty and 1-D, so the dimension is unknown; pass W of shape (0, d)")
        W_arr = np.zeros((0, dim), dtype=np.float64)
    if W_arr.ndim != 2:
        raise InvalidInputError(
            f"W must be a 2-D array of shape (m, d); got shape {W_arr.shape}. "
            "Use W.reshape(-1, 1) for m hyperplanes (points) in 1-D, W.reshape(1, -1) for one hyperplane"
        )
    m, d = W_arr.shape
    if d < 1:
        raise InvalidInputError(f"W must have at least one column (d >= 1); got shape {W_arr.shape}")
    if c_arr.ndim != 1 or c_arr.shape[0] != m:
        raise InvalidInputError(f"c must have shape ({m},) to match W of shape {W_arr.shape}; got shape {c_arr.shape}")
    box = _as_box(box, d)
    if box.dim != d:
        raise InvalidInputError(f"W has {d} columns but the box is {box.dim}-dimensional; they must agree")
    null = np.flatnonzero(~W_arr.any(axis=1) & (c_arr == 0.0))
    if null.size:
        raise InvalidInputError(
            f"hyperplane {int(null[0])} has a zero normal and a zero offset, so it is not a hyperplane; "
            "remove that row (a zero normal with a nonzero offset is allowed: a constant bit)"
        )
    threads = resolve_n_threads(n_threads)
    limit = positive_int(max_cells, "max_cells")
    if not isinstance(ridges, bool | np.bool_):
        raise InvalidInputError(f"ridges must be True or False; got {ridges!r}")
    exact = as_flag(exact, "exact")
    if client is not None or out is not None or shards is not None:
        from .distributed import ModelSpec, on_cluster

        spec = ModelSpec("hyperplanes", (W_arr.copy(),), (c_arr.copy(),))
        options = {
            "n_threads": n_threads or 1,
            "max_cells": limit,
            "ridges": bool(ridges),
            "vertices": bool(vertices),
            "exact": exact,
        }
        return on_cluster(spec, box, client, out=out, shards=shards, options=options)
    with progress_callback(progress) as report:
        native = _core.partition_hyperplanes(
            W_arr,
            c_arr,
            box.lo,
            box.hi,
            n_threads=threads,
            max_cells=limit,
            ridges=bool(ridges),
            vertices=bool(vertices),
            progress=report,
            exact=exact,
        )
    warn_snapped(native)
    # Copies: W_arr/c_arr may be the caller's own arrays, which must stay writable.
    return Partition(native, box, _readonly(W_arr.copy()), _readonly(c_arr.copy()))


class Partition:
    """The cells of a box cut by hyperplanes, with their geometry; see :func:`partition_hyperplanes`.

    Cells are numbered 0..n-1 in lexicographic order of their sign patterns. Every array is a
    read-only numpy view of the Rust result, fetched once on first use (nothing is
    recomputed in Python). Not meant to be constructed directly.

    Conventions: bit j of a cell's pattern is 1 iff ``W[j]·x + c[j] > 0`` inside it; labels
    are the bits as a string (``'01'``), as in Figure 1 of Gajer & Ravel (arXiv 2508.02080).
    Volumes, facet areas and ridge volumes come from Lasserre's recursive decomposition
    ``vol_d(P) = (1/d) Σ_F h_F vol_{d-1}(F)``; dihedral angles are θ = arccos(-n_a·n_b).
    """

    def __init__(
        self,
        native: NativePartition,
        box: Box,
        normals: npt.NDArray[np.float64],
        offsets: npt.NDArray[np.float64],
    ) -> None:
        self._native = native
        self._box = box
        self._normals = normals
        self._offsets = offsets

    # -- scalars ---------------------------------------------------------------------------

    @property
    def n_cells(self) -> int:
        """The number n of cells (those with nonempty interior)."""
        return int(self._native.n_cells)

    def __len__(self) -> int:
        return self.n_cells

    @property
    def dim(self) -> int:
        """The dimension d of the space."""
        return int(self._native.dim)

    @property
    def n_hyperplanes(self) -> int:
        """The number m of hyperplanes (rows of W), coincident or constant ones included."""
        return int(self._native.n_hyperplanes)

    @property
    def box(self) -> Box:
        """The domain that was partitioned."""
        return self._box

    @property
    def exact(self) -> bool:
        """Whether every combinatorial decision was certified with exact arithmetic (``exact=True``;
        always for tree and forest partitions, whose thresholds compare exactly)."""
        return bool(self._native.exact)

    @property
    def snapped(self) -> int:
        """Float mode: how many decisions the tolerance snapped where exact arithmetic on the input decides
        otherwise (a vertex within ``tolerance`` of a hyperplane not exactly through it; a hyperplane merged into
        a coincidence class without being exactly proportional to it). 0 means float mode found the input's own
        combinatorics (up to vertices misplaced by more than the tolerance, which needs planes meeting at angles
        below ~1e-6); a positive count comes with a :class:`ToleranceWarning`. Always 0 with ``exact=True`` and for
        trees. For a ReLU network the first layer's planes are audited exactly; a decision on a deeper layer's
        (float-composed) plane snapped at a nonzero float distance cannot be certified and is counted as in doubt,
        as is a neuron the cancellation tolerance took as constant although its composed slope (or offset) is not
        exactly zero (``exact=True`` decides them all)."""
        return int(self._native.snapped)

    @property
    def tolerance(self) -> float:
        """The absolute distance tolerance of the geometric predicates: a vertex closer than
        this to a (unit-normalised) hyperplane lies on it: ``TOLERANCE_REL`` (1e-10) times the box
        diagonal, wherever the box lies. A box far from the origin (lo >= width along an axis, or
        hi <= -width) is partitioned in coordinates x - c with c a corner of the box on those axes,
        where float64 places vertices relative to the box's width, not its distance from 0; the
        results are moved back to x (each point rounded once) and hyperplanes are moved exactly.
        Hyperplanes that stay within twice this distance of each other across the box are one
        boundary (a coincidence class)."""
        return float(self._native.tolerance)

    @property
    def has_ridges(self) -> bool:
        """Whether ridges were computed: ``ridges=True`` in :func:`partition_hyperplanes` and d >= 2
        (in 1-D there are no ridges, and :attr:`ridges` is an empty table)."""
        return bool(self._native.has_ridges)

    @property
    def normals(self) -> npt.NDArray[np.float64]:
        """The hyperplane normals W as given (float64 (m, d), read-only)."""
        return self._normals

    @property
    def offsets(self) -> npt.NDArray[np.float64]:
        """The hyperplane offsets c as given (float64 (m,), read-only)."""
        return self._offsets

    # -- cells -----------------------------------------------------------------------------

    @cached_property
    def packed_patterns(self) -> npt.NDArray[np.uint8]:
        """Bit-packed patterns, uint8 (n, ceil(m/8)), big-endian bit order within a byte:
        ``np.unpackbits(packed_patterns, axis=1, count=m)`` gives :attr:`patterns`."""
        # Reshape so that m = 0 gives (n, 0) whatever shape an empty native array has.
        packed = self._native.packed_patterns().reshape(self.n_cells, (self.n_hyperplanes + 7) // 8)
        return _readonly(packed)

    def _unpack(self) -> npt.NDArray[np.bool_]:
        return np.unpackbits(self.packed_patterns, axis=1, count=self.n_hyperplanes).view(np.bool_)

    @cached_property
    def patterns(self) -> npt.NDArray[np.bool_]:
        """Sign patterns, bool (n, m): ``patterns[i, j]`` iff ``W[j]·x + c[j] > 0`` in cell i.
        Rows are sorted lexicographically. Costs n·m bytes; see :attr:`packed_patterns`."""
        return _readonly(self._unpack())

    @cached_property
    def labels(self) -> list[str]:
        """Pattern strings, one per cell, e.g. ``['00', '01', '10', '11']`` (bit j is character j).
        Built on first use; for a single cell use :meth:`label`."""
        m = self.n_hyperplanes
        if m == 0:
            return [""] * self.n_cells
        digits = self._unpack().view(np.uint8) + np.uint8(ord("0"))
        return digits.view(f"S{m}").ravel().astype(str).tolist()

    def label(self, i: int) -> str:
        """The pattern string of cell ``i``."""
        i = self._cell_index(i)
        bits = np.unpackbits(self.packed_patterns[i], count=self.n_hyperplanes)
        return "".join("1" if b else "0" for b in bits.tolist())

    @cached_property
    def volumes(self) -> npt.NDArray[np.float64]:
        """Cell d-volumes, float64 (n,). They sum to ``box.volume`` up to rounding."""
        return _readonly(self._native.volumes())

    @cached_property
    def centroids(self) -> npt.NDArray[np.float64]:
        """Centres of mass of the cells, float64 (n, d)."""
        return _readonly(self._native.centroids())

    @cached_property
    def interior_points(self) -> npt.NDArray[np.float64]:
        """One point strictly inside each cell, float64 (n, d). The core places it in the box's local
        coordinates and rounds it once to float64 (see :attr:`tolerance`): a cell thinner than the
        spacing of float64 numbers there (about 1.5e-8 at 1e8) may hold no float64 point at all; its
        interior point is then within half that spacing of the cell, not inside it."""
        return _readonly(self._native.interior_points())

    @cached_property
    def _vertex_offsets(self) -> npt.NDArray[np.int64]:
        return _readonly(self._native.vertex_offsets())

    @cached_property
    def _vertex_coords(self) -> npt.NDArray[np.float64]:
        return _readonly(self._native.vertex_coords())

    @cached_property
    def _vertex_ids(self) -> npt.NDArray[np.int64]:
        return _readonly(self._native.vertex_ids())

    @property
    def n_vertices(self) -> int:
        """Number of distinct vertices (0-faces) of the partition (0 if computed with ``vertices=False``)."""
        return int(self._native.n_global_vertices)

    def vertex_ids(self, i: int) -> npt.NDArray[np.int64]:
        """Global ids of the vertices of cell ``i`` (same order as :meth:`vertices`): cells that share
        a vertex of the partition give it the same id."""
        i = self._cell_index(i)
        off = self._vertex_offsets
        return self._vertex_ids[off[i] : off[i + 1]]

    @cached_property
    def vertex_cells(self) -> scipy.sparse.csr_array:
        """Incidence of partition vertices and cells, ``csr_array`` (n_vertices, n_cells) of 0/1:
        row v lists the cells whose closures contain vertex v (the maximal simplices of the nerve
        of closed cells, paper.md §2.2, are found among these rows)."""
        import scipy.sparse

        cells = np.repeat(np.arange(self.n_cells, dtype=np.int64), np.diff(self._vertex_offsets))
        data = np.ones(cells.shape[0], dtype=np.float64)
        m = scipy.sparse.csr_array((data, (self._vertex_ids, cells)), shape=(self.n_vertices, self.n_cells))
        m.sum_duplicates()
        return m

    def vertices(self, i: int) -> npt.NDArray[np.float64]:
        """The vertices of cell ``i``, float64 (k, d), read-only (order unspecified)."""
        i = self._cell_index(i)
        off = self._vertex_offsets
        return self._vertex_coords[off[i] : off[i + 1]]

    def _cell_index(self, i: int) -> int:
        try:
            k = operator.index(i)
        except TypeError:
            raise TypeError(f"cell index must be an integer; got {type(i).__name__}") from None
        n = self.n_cells
        if not -n <= k < n:
            raise IndexError(f"cell index {k} out of range for a partition with {n} cells")
        return k % n

    # -- facets and ridges -----------------------------------------------------------------

    @cached_property
    def facets(self) -> FacetTable:
        """All facets (interior ones once, with ``cells[f,0] < cells[f,1]``; box facets with -1)."""
        nat = self._native
        cls = _readonly(nat.facet_class())
        offsets = _readonly(nat.class_offsets())
        members = _readonly(nat.class_members())
        hyperplane = np.full(cls.shape, -1, dtype=np.int64)
        carried = cls >= 0
        hyperplane[carried] = members[offsets[cls[carried]]]
        return FacetTable(
            cells=_readonly(nat.facet_cells()),
            areas=_readonly(nat.facet_areas()),
            normals=_readonly(nat.facet_normals()),
            centroids=_readonly(nat.facet_centroids()),
            hyperplane=_readonly(hyperplane),
            box_face=_readonly(nat.facet_box_face()),
            hyperplane_class=cls,
            class_offsets=offsets,
            class_members=members,
        )

    @cached_property
    def ridges(self) -> RidgeTable:
        """All ridges (cell, facet pair, (d-2)-face, interior dihedral angle, (d-2)-volume).

        Empty for d = 1. Raises :class:`InvalidInputError` if the partition was computed with
        ``ridges=False`` (for d >= 2).
        """
        if not self.has_ridges and self.dim >= 2:
            raise InvalidInputError("this partition was computed with ridges=False; pass ridges=True to get ridges")
        nat = self._native
        return RidgeTable(
            cell=_readonly(nat.ridge_cell()),
            facets=_readonly(nat.ridge_facets()),
            face=_readonly(nat.ridge_face()),
            angles=_readonly(nat.ridge_angles()),
            volumes=_readonly(nat.ridge_volumes()),
        )

    # -- graphs and queries ----------------------------------------------------------------

    def adjacency(self, weight: Literal["area", "count"] = "area") -> scipy.sparse.csr_array:
        """The cell adjacency matrix, a symmetric ``scipy.sparse.csr_array`` (n, n) of float64.

        Cells i and j are adjacent when they share a facet, i.e. a (d-1)-dimensional piece of
        boundary; cells that only touch in a lower-dimensional face (the diagonal cells of
        Figure 1) are not. ``weight="area"`` stores the facet's (d-1)-volume, ``"count"``
        stores 1.0. The diagonal is zero.
        """
        import scipy.sparse

        f = self.facets
        inner = f.interior
        rows, cols = f.cells[inner, 0], f.cells[inner, 1]
        if weight == "area":
            data = f.areas[inner]
        elif weight == "count":
            data = np.ones(rows.shape[0], dtype=np.float64)
        else:
            raise InvalidInputError(f"weight must be 'area' or 'count'; got {weight!r}")
        n = self.n_cells
        adj = scipy.sparse.csr_array(
            (np.concatenate([data, data]), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
            shape=(n, n),
        )
        adj.sum_duplicates()
        return adj

    def locate(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The cell containing each row of ``X`` (shape (N, d)): int64 (N,), -1 outside the box.

        A point on the boundary between cells is assigned to one of them by the core's rule.
        """
        return self._native.locate(as_points(X, self.dim, "X"))

    def to_networkx(self) -> nx.Graph[int]:
        """The adjacency graph as a :class:`networkx.Graph`.

        Nodes are cell indices with attributes ``label`` (str), ``volume`` (float) and
        ``centroid`` (tuple of floats); edges join cells sharing a facet, with attributes
        ``area`` (float) and ``hyperplane`` (smallest index of the carrying hyperplanes).
        The graph attributes hold ``dim`` and ``box``.
        """
        import networkx as nx

        graph: nx.Graph[int] = nx.Graph(dim=self.dim, box=self.box)
        volumes = self.volumes.tolist()
        centroids = self.centroids.tolist()
        graph.add_nodes_from(
            (i, {"label": label, "volume": volumes[i], "centroid": tuple(centroids[i])})
            for i, label in enumerate(self.labels)
        )
        f = self.facets
        inner = f.interior
        graph.add_edges_from(
            (int(a), int(b), {"area": area, "hyperplane": h})
            for (a, b), area, h in zip(
                f.cells[inner].tolist(), f.areas[inner].tolist(), f.hyperplane[inner].tolist(), strict=True
            )
        )
        return graph

    # -- pictures (mlgeom_rs.plot; matplotlib is imported there, lazily) -------------------

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw a 1-D or 2-D partition as filled polygons from the exact vertices; returns the Axes.

        Keywords: ``color_by`` ('label', 'volume', 'prediction' or an array), ``show_facets``,
        ``data``, ``labels``, ``cmap``, ``colorbar``, ...; see :func:`mlgeom_rs.plot.plot`.
        """
        from .plot import plot

        return plot(self, ax, **kwargs)

    def plot3d(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw a 3-D partition (every cell's faces); see :func:`mlgeom_rs.plot.plot3d`."""
        from .plot import plot3d

        return plot3d(self, ax, **kwargs)

    # -- export and pickling (mlgeom_rs.export, mlgeom_rs._pickling) -------------------------

    def to_arrow(self, table: Literal["cells", "facets", "ridges"] = "cells") -> Any:
        """The cells (label, volume, centroid, prediction), facets or ridges as a ``pyarrow.Table``;
        see :func:`mlgeom_rs.export.to_arrow`."""
        from .export import to_arrow

        return to_arrow(self, table)

    def to_parquet(self, path: Any, table: Literal["cells", "facets", "ridges"] = "cells", **kwargs: Any) -> None:
        """Write :meth:`to_arrow` of ``table`` to a Parquet file; see :func:`mlgeom_rs.export.to_parquet`."""
        from .export import to_parquet

        to_parquet(self, path, table, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the inputs: unpickling re-runs the (deterministic) partition, see ``mlgeom_rs._pickling``."""
        from ._pickling import reduce_partition

        return reduce_partition(self)

    # -- text ------------------------------------------------------------------------------

    def summary(self, max_rows: int = 10) -> str:
        """A plain-text overview: counts, the volume check, and the first ``max_rows`` cells."""
        f = self.facets
        n_inner = int(np.count_nonzero(f.interior))
        total = float(self.volumes.sum())
        box_volume = self.box.volume
        rel_error = abs(total - box_volume) / box_volume
        n_ridges = "not computed" if self.dim >= 2 and not self.has_ridges else len(self.ridges)
        lines = [
            f"Partition of {self.box!r} by {self.n_hyperplanes} hyperplane{'s' * (self.n_hyperplanes != 1)}",
            f"  cells         {self.n_cells}",
            f"  total volume  {total:.12g}  (box {box_volume:.12g}, rel. error {rel_error:.1e})",
            f"  facets        {len(f)}  ({n_inner} interior, {len(f) - n_inner} on the box)",
            f"  ridges        {n_ridges}",
            f"  predicates    {'exact' if self.exact else f'float, tolerance {self.tolerance:.3g}'}",
        ]
        shown = max(0, min(operator.index(max_rows), self.n_cells))
        if shown:
            rows = [
                (i, _short(self.label(i)), f"{self.volumes[i]:.6g}", _point(self.centroids[i])) for i in range(shown)
            ]
            lines += ["", format_table(["cell", "label", "volume", "centroid"], rows, indent="  ")]
            if shown < self.n_cells:
                lines.append(f"  ... {self.n_cells - shown} more cells")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Partition(n_cells={self.n_cells}, n_hyperplanes={self.n_hyperplanes}, dim={self.dim}, box={self.box!r})"
        )


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else label[: width - 3] + "..."


def _point(x: npt.NDArray[np.float64]) -> str:
    coords = ", ".join(f"{v:.4g}" for v in x.tolist()[:4])
    return f"({coords}{', ...' if x.shape[0] > 4 else ''})"
