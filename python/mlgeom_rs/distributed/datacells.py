"""Data cells of a ReLU network over a Dask array of points (paper.md §7, at scale).

The steps of :func:`mlgeom_rs.data_cells`, each distributed:

1. *patterns per chunk* (``map_blocks``-style, one task per row block): the Rust kernel groups the block's
   points by activation pattern: unique packed patterns, counts, first point;
2. *unique patterns by a tree reduction* (fan-in 8): merging keeps the sorted unique patterns, adds the counts
   and keeps the first point (smallest global index), so cells are numbered in pattern order and each cell's
   representative is its first point, exactly as on one machine;
3. *adjacency candidates by a shuffle*: every cell emits, for each bit j, the key (pattern with bit j
   cleared, j) into one of P buckets by hash; a reducer per bucket pairs the two cells with equal keys, which
   are exactly the patterns one bit apart;
4. *certificates on the workers*: batches of candidates go to :func:`mlgeom_rs._core.certify_facets` (the walk
   between the cells' first points, else the LP), the same test as :attr:`DataCells.edges`.

Point-to-cell ids stay a lazy Dask array (:attr:`DistributedDataCells.point_cell`).
"""

from __future__ import annotations

import importlib
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from ..box import Box
from ..datacells import ADJACENCY_TOLERANCE_REL, DataCellEdges, DataCells
from ..partition import _readonly
from ..relu import AffineMaps

__all__ = ["DistributedDataCells", "data_cells_on_cluster"]

Groups = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]
"""(unique packed patterns (k, B), counts (k,), first global index (k,), first point (k, d)), sorted."""

FAN_IN = 8


def _block_groups(block: npt.NDArray[np.float64], start: int, layers: tuple[Any, Any, bool]) -> Groups:
    ws, bs, out = layers
    native = _core.data_cells(list(ws), list(bs), np.ascontiguousarray(block, dtype=np.float64), output_layer=out)
    first = native.representative()
    return native.packed_patterns(), native.counts(), first + start, block[first]


def _rows(packed: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
    """Rows as fixed-width byte strings; their order is the pattern order (big-endian bits)."""
    width = max(packed.shape[1], 1)
    data = packed if packed.shape[1] else np.zeros((packed.shape[0], 1), np.uint8)
    return np.ascontiguousarray(data).view(f"S{width}").ravel()


def _merge(*parts: Groups) -> Groups:
    packed = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    first = np.concatenate([p[2] for p in parts])
    points = np.concatenate([p[3] for p in parts])
    rows = _rows(packed)
    # Sort by (pattern, first index): the first row of each run is the pattern's earliest point.
    order = np.lexsort((first, rows))
    rows, packed, counts, first, points = rows[order], packed[order], counts[order], first[order], points[order]
    starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]])) if rows.size else np.zeros(0, np.int64)
    return packed[starts], np.add.reduceat(counts, starts) if rows.size else counts, first[starts], points[starts]


def _flip_keys(packed: npt.NDArray[np.uint8], cells: npt.NDArray[np.int64], n_bits: int, n_buckets: int) -> list[Any]:
    """Shuffle map side: rows (masked pattern, bit, cell) for every cell and bit, bucketed by a hash of
    (masked pattern, bit) (a multiplicative hash of the pattern's bytes, updated for the one cleared bit)."""
    n, width = packed.shape
    weights = (np.arange(1, width + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    base = (packed.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64) if width else np.zeros(n, np.uint64)
    buckets: list[list[Any]] = [[] for _ in range(n_buckets)]
    small_cells = cells.astype(np.int32) if cells.size and cells.max() < 2**31 else cells  # fewer bytes to move
    for j in range(n_bits):
        byte, mask = j // 8, np.uint8(0x80 >> (j % 8))
        masked = packed.copy()
        masked[:, byte] &= ~mask
        cleared = (packed[:, byte] & mask).astype(np.uint64) * weights[byte]
        salt = np.uint64(j * 0xBF58476D1CE4E5B9 % 2**64)
        h = (base - cleared + salt) * np.uint64(0x94D049BB133111EB)  # wraps modulo 2^64
        bucket = ((h >> np.uint64(32)) % np.uint64(n_buckets)).astype(np.int64)
        keys = _rows(masked)
        for b in range(n_buckets):
            sel = bucket == b
            if sel.any():
                buckets[b].append((keys[sel], np.full(int(sel.sum()), j, dtype=np.int32), small_cells[sel]))
    return [
        (
            np.concatenate([r[0] for r in rows]),
            np.concatenate([r[1] for r in rows]),
            np.concatenate([r[2] for r in rows]),
        )
        if rows
        else None
        for rows in buckets
    ]


def _pair_bucket(*pieces: Any) -> tuple[npt.NDArray[np.int64], int]:
    """Shuffle reduce side: (cell_a, cell_b, bit) rows, cell_a < cell_b, for equal (masked pattern, bit), and
    the bytes of the bucket's input."""
    pieces = tuple(p for p in pieces if p is not None)
    if not pieces:
        return np.zeros((0, 3), dtype=np.int64), 0
    nbytes = int(sum(sum(a.nbytes for a in p) for p in pieces))
    keys = np.concatenate([p[0] for p in pieces])
    bits = np.concatenate([p[1] for p in pieces])
    cells = np.concatenate([p[2] for p in pieces])
    order = np.lexsort((cells, bits, keys))
    keys, bits, cells = keys[order], bits[order], cells[order]
    same = (keys[1:] == keys[:-1]) & (bits[1:] == bits[:-1])
    k = np.flatnonzero(same)
    return np.stack([cells[k], cells[k + 1], bits[k]], axis=1).astype(np.int64), nbytes


def _certify(layers: tuple[Any, Any, bool], box: Box, packed: Any, rows: Any, first_points: Any, tol: float) -> Any:
    ws, bs, out = layers
    ok, witnesses, by_lp = _core.certify_facets(
        list(ws),
        list(bs),
        packed[rows[:, 0]],
        rows[:, 2].copy(),
        first_points[rows[:, 0]],
        first_points[rows[:, 1]],
        box.lo,
        box.hi,
        output_layer=out,
        tol=tol,
    )
    return rows[ok], witnesses[ok], by_lp[ok]


def _block_cells(block: npt.NDArray[np.float64], layers: tuple[Any, Any, bool], patterns: npt.NDArray[Any]) -> Any:
    ws, bs, out = layers
    native = _core.data_cells(list(ws), list(bs), np.ascontiguousarray(block, dtype=np.float64), output_layer=out)
    local = np.searchsorted(patterns, _rows(native.packed_patterns()))
    return local[native.point_cell()]


def data_cells_on_cluster(
    layers: tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]], bool],
    X: Any,
    box: Box | None,
    client: Any,
    layer_sizes: list[int],
) -> DistributedDataCells:
    """Steps 1-2 (see the module docstring) on the cluster; adjacency (3-4) runs on first use of ``edges``."""
    # Imported here (Dask is optional), as Any: parts of dask's API are untyped.
    dask: Any = importlib.import_module("dask")
    da: Any = importlib.import_module("dask.array")

    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X, dtype=np.float64), chunks=(max(1, 1 << 20), -1))
    X = X.astype(np.float64).rechunk({1: -1})
    frozen = (tuple(layers[0]), tuple(layers[1]), layers[2])
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
    level = [
        dask.delayed(_block_groups)(b, int(s), frozen) for b, s in zip(X.to_delayed().ravel(), starts, strict=True)
    ]
    while len(level) > 1:
        level = [dask.delayed(_merge)(*level[k : k + FAN_IN]) for k in range(0, len(level), FAN_IN)]
    if box is None:
        lo, hi = dask.compute(X.min(axis=0), X.max(axis=0))
        box = Box.from_data(np.stack([lo, hi]))
    groups: Groups = client.compute(level[0]).result()
    return DistributedDataCells(client, frozen, X, box, groups, layer_sizes)


class DistributedDataCells:
    """Data cells of a point set held in a Dask array; the same numbering and results as :class:`DataCells`.

    Cells are numbered in pattern order; ``representatives`` are each cell's first point (global row index).
    """

    def __init__(self, client: Any, layers: Any, X: Any, box: Box, groups: Groups, layer_sizes: list[int]) -> None:
        self._client = client
        self._layers = layers
        self._X = X
        self._box = box
        self._packed, self._counts, self._first, self._points = groups
        self._layer_sizes = tuple(layer_sizes)
        self.shuffle_bytes = 0
        """Bytes through the adjacency shuffle, all buckets (an upper bound of what crosses the network; 0 until
        :attr:`edges` is computed)."""

    @property
    def n_cells(self) -> int:
        return int(self._counts.shape[0])

    def __len__(self) -> int:
        return self.n_cells

    @property
    def n_bits(self) -> int:
        return int(sum(self._layer_sizes))

    @property
    def box(self) -> Box:
        return self._box

    @property
    def packed_patterns(self) -> npt.NDArray[np.uint8]:
        """Unique packed patterns, uint8 (n_cells, ceil(n_bits/8)), sorted."""
        return _readonly(self._packed)

    @property
    def counts(self) -> npt.NDArray[np.int64]:
        """Points per cell."""
        return _readonly(self._counts)

    @property
    def representatives(self) -> npt.NDArray[np.int64]:
        """Global row index of each cell's first point."""
        return _readonly(self._first)

    @cached_property
    def point_cell(self) -> Any:
        """The cell of every point, a lazy int64 Dask array (N,)."""
        patterns = _rows(self._packed)
        return self._X.map_blocks(_block_cells, self._layers, patterns, dtype=np.int64, drop_axis=1)

    @cached_property
    def edges(self) -> DataCellEdges:
        """Adjacent data cells, as :attr:`DataCells.edges`: candidates by a shuffle of one-bit-flipped keys,
        certified on the workers (batches of candidates per task)."""
        client = self._client
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_buckets = 2 * n_workers
        n = self.n_cells
        blocks = np.array_split(np.arange(n, dtype=np.int64), max(1, min(n, 4 * n_workers)))
        packed = client.scatter(self._packed, broadcast=True, hash=False)
        maps = [
            client.submit(_flip_keys, self._packed[b], b, self.n_bits, n_buckets, pure=False) for b in blocks if b.size
        ]
        pieces = [[client.submit(lambda m, r: m[r], m, r, pure=False) for m in maps] for r in range(n_buckets)]
        reduced = client.gather([client.submit(_pair_bucket, *bucket, pure=False) for bucket in pieces])
        self.shuffle_bytes = int(sum(size for _, size in reduced))
        rows = np.concatenate([r for r, _ in reduced]) if reduced else np.zeros((0, 3), np.int64)
        rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
        tol = ADJACENCY_TOLERANCE_REL * float(np.linalg.norm(self._box.hi - self._box.lo))
        first_points = client.scatter(self._points, broadcast=True, hash=False)
        batches = [rows[k : k + 4096] for k in range(0, rows.shape[0], 4096)]
        done = client.gather(
            [
                client.submit(_certify, self._layers, self._box, packed, b, first_points, tol, pure=False)
                for b in batches
            ]
        )
        d = self._box.dim
        kept = np.concatenate([r[0] for r in done]) if done else np.zeros((0, 3), np.int64)
        wit = np.concatenate([r[1] for r in done]) if done else np.zeros((0, d))
        lp = np.concatenate([r[2] for r in done]) if done else np.zeros(0, bool)
        return DataCellEdges(_readonly(kept[:, :2].copy()), _readonly(kept[:, 2].copy()), _readonly(wit), _readonly(lp))

    @cached_property
    def _cells(self) -> DataCells:
        """The same cells, in the same order, built from one point per cell (the representatives): every
        per-cell query of :class:`DataCells` without the full data set."""
        ws, bs, out = self._layers
        native = _core.data_cells(list(ws), list(bs), np.ascontiguousarray(self._points), output_layer=out)
        return DataCells(native, self._box, list(self._layer_sizes))

    def pullback(self, i: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Every neuron's pre-activation on cell ``i`` as an affine map, as :meth:`DataCells.pullback`."""
        return self._cells.pullback(i)

    def halfspaces(self, i: int, *, reduce: bool = False) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """As :meth:`DataCells.halfspaces`."""
        return self._cells.halfspaces(i, reduce=reduce)

    @property
    def affine_maps(self) -> AffineMaps:
        """The network output on each cell as an affine map, as :attr:`DataCells.affine_maps`."""
        return self._cells.affine_maps

    def adjacency(self) -> Any:
        """Symmetric 0/1 adjacency of the data cells, ``scipy.sparse.csr_array`` (n_cells, n_cells)."""
        import scipy.sparse

        pairs = self.edges.cells
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        return scipy.sparse.csr_array((np.ones(rows.shape[0]), (rows, cols)), shape=(self.n_cells, self.n_cells))

    def __repr__(self) -> str:
        return (
            f"DistributedDataCells(n_cells={self.n_cells}, n_bits={self.n_bits}, layer_sizes={list(self._layer_sizes)})"
        )
