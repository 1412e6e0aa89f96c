"""The nerve of a partition as a Riemannian simplicial complex (paper.md §2.2, §2.3; Gajer & Ravel,
"The Geometry of Machine Learning Models", arXiv 2508.02080).

Cells become vertices, cells that meet become edges, multi-way contacts become higher simplices; the
*compatible inner products* are measures of the intersections (mass matrices M_k). Everything is
assembled from the arrays the Rust core returns (facets, ridges, vertex–cell incidence) with sorts and
lookups on whole tables; no Python loop runs over cells or simplices.

Two nerves (paper.md §2.2, open question §11.3):

* ``nerve="full"``: every set of cells whose *closures* meet, N(P) = {σ : ∩_{i∈σ} C_i ≠ ∅}. For a
  face-to-face partition (hyperplane arrangements, ReLU networks) every nonempty intersection is a face
  of the partition and contains one of its vertices, so the simplices are the subsets of the vertex stars
  (rows of :attr:`Partition.vertex_cells`). For box partitions (trees and forests, with T-junctions) the
  vertex stars miss contacts, and boxes have Helly number 2, so the full nerve is the clique complex of
  the touching graph (found exactly from the facet graph and the boxes).
* ``nerve="adjacency"`` (default): the generic/transversal subcomplex, σ kept iff
  dim ∩_{i∈σ} C_i = d − k for its dimension k and all its faces are kept. Edges are the cells sharing a
  facet; triangles are triples of pairwise facet-adjacent cells around one (d−2)-face (from the ridge
  table); k-simplices, k ≥ 3, come from the vertex stars. Figure 1 gives the 4-cycle (β₁ = 1).

Measures (paper.md §2.3): ``"lebesgue"``: M_0 = diag vol_d(C_i), M_k = diag vol_{d−k}(I_σ) for generic σ
and 0 for the lower-dimensional contacts of the full nerve; ``"data"``: M_0 = diag n_i/n and the band
(tube) estimate M_k[σ] = #{t : x_t ∈ ∪σ, dist(x_t, aff I_σ) < h} / (ω_k h^k n), with ω_k the volume of
the unit k-ball (ω_1 = 2: the band of half-width h of §2.3).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse

from . import _nerve, laplacian
from ._progress import ProgressArg, progress_callback
from ._validate import as_float_array, as_points
from .exceptions import InvalidInputError

if TYPE_CHECKING:
    from .datacells import DataCells
    from .partition import Partition

__all__ = ["MassCheck", "RiemannianComplex"]

Measure = Literal["lebesgue", "data"]
Nerve = Literal["adjacency", "full"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Dense linear algebra (betti, small spectra, PSD checks) is used up to this many rows.
DENSE_LIMIT = 3000


class MassCheck(NamedTuple):
    """Result of :meth:`RiemannianComplex.check_mass`."""

    symmetric: bool
    """The matrix equals its transpose (to rounding)."""
    min_eigenvalue: float
    """Its smallest eigenvalue."""
    psd: bool
    """Whether it is positive semidefinite (min eigenvalue >= -1e-12 × its largest)."""


class _Level:
    """The k-simplices of a complex with what was learnt while finding them (row-aligned arrays)."""

    __slots__ = ("S", "common_ptr", "common_vid", "dim", "face")

    def __init__(
        self, S: IntArray, dim: IntArray, face: IntArray | None = None, common: tuple[IntArray, IntArray] | None = None
    ) -> None:
        self.S = S
        self.dim = dim
        self.face = face  # k = 2: the global (d-2)-face the triple surrounds, or -1
        self.common_ptr: IntArray | None = common[0] if common is not None else None
        self.common_vid: IntArray | None = common[1] if common is not None else None

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Level:
        common = None
        if self.common_ptr is not None and self.common_vid is not None:
            lengths = np.diff(self.common_ptr)
            owner = np.repeat(np.arange(lengths.shape[0]), lengths)
            vid = self.common_vid[keep[owner]]
            ptr = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
            common = (ptr, vid)
        return _Level(self.S[keep], self.dim[keep], None if self.face is None else self.face[keep], common)


class _Levels(list[_Level]):
    """The levels found so far; each append reports the running number of simplices (progress)."""

    def __init__(self, first: _Level, report: Callable[[int], object] | None) -> None:
        super().__init__([first])
        self._report = report
        self._count = int(first.S.shape[0])
        if report is not None:
            report(self._count)

    def append(self, level: _Level) -> None:
        super().append(level)
        self._count += int(level.S.shape[0])
        if self._report is not None:
            self._report(self._count)


def _group_csr(keys: IntArray, values: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """CSR grouping of ``values`` (in 0..n_values-1) by ``keys`` (in 0..n_groups-1): values sorted within each
    group, duplicates removed (one sort of int64 keys)."""
    if keys.size == 0:
        return np.zeros(n_groups + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(values.max()) + 1
    k = _nerve.sorted_unique(keys.astype(np.int64) * base + values.astype(np.int64))
    grp, val = np.divmod(k, base)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(grp, minlength=n_groups))]).astype(np.int64)
    return ptr, val.astype(np.int64)


def _ball_volume(k: int) -> float:
    return float(math.pi ** (k / 2) / math.gamma(k / 2 + 1))


class RiemannianComplex:
    """The nerve of a partition with its Riemannian structure (paper.md §2.2–§3).

    Parameters
    ----------
    part : Partition or DataCells
        Any :class:`~mlgeom_rs.Partition` (hyperplanes, ReLU networks, models, trees and forests), or
        the :class:`~mlgeom_rs.DataCells` of a ReLU network (then only the adjacency graph, max_dim ≤ 1,
        and the data measure).
    measure : {"lebesgue", "data"}, optional
        The measure of the intersections (module notes). Default ``"lebesgue"`` for a partition,
        ``"data"`` for data cells.
    nerve : {"adjacency", "full"}, default "adjacency"
        Which nerve (module notes).
    max_dim : int, optional
        Highest simplex dimension kept (default 2; 1 for data cells). The complex is the max_dim-skeleton
        of the nerve: its Laplacian L_{max_dim} has no up part, and :meth:`betti` counts max_dim-cycles that
        would bound higher simplices; use ``max_dim = k + 1`` for the nerve's β_k.
    X : array_like (N, d), optional
        Data for ``measure="data"`` (required for a partition; for data cells, the points they were built
        from, needed for the face masses).
    bandwidth : float, optional
        Half-width h of the bands (tubes) of the data measure. Default h = s̄ · N^(−1/(d+4)), s̄ the mean
        per-coordinate standard deviation of X (a Scott/Silverman-type rule).
    empty : {"keep", "drop"}, default "keep"
        Cells without data under ``measure="data"``: ``"keep"`` keeps them as vertices of mass 0 (operators
        that divide by a mass use its pseudo-inverse, 1/m for m > 0 and 0 for m = 0, so such a cell is
        decoupled in the random-walk and symmetric Laplacians); ``"drop"`` builds the subcomplex induced on
        the cells with data (vertex k is cell ``cells[k]``).
    progress : bool or callable, optional
        Report the simplices found, dimension by dimension (a bar on stderr, or
        ``progress(n_simplices)``), as in :func:`~mlgeom_rs.partition_hyperplanes`. The assembly is
        vectorised numpy, so Ctrl-C stops it between two array operations.

    Notes
    -----
    Simplices are rows of sorted cell indices, oriented by that order; tables are lexicographically sorted.
    Cells outside the box (``locate`` = -1) are ignored by the data measure.
    """

    def __init__(
        self,
        part: Partition | DataCells,
        measure: Measure | None = None,
        nerve: Nerve = "adjacency",
        max_dim: int | None = None,
        X: npt.ArrayLike | None = None,
        bandwidth: float | None = None,
        *,
        empty: Literal["keep", "drop"] = "keep",
        progress: ProgressArg = None,
    ) -> None:
        from .datacells import DataCells
        from .partition import Partition

        if isinstance(part, DataCells):
            self._source_kind = "datacells"
        elif isinstance(part, Partition):
            self._source_kind = "boxes" if hasattr(part, "cell_lo") else "polytopes"
        else:
            raise InvalidInputError(
                f"RiemannianComplex takes a mlgeom_rs.Partition or DataCells; got {type(part).__name__}"
            )
        self._part = part
        datacells = self._source_kind == "datacells"
        if measure is None:
            measure = "data" if datacells else "lebesgue"
        if measure not in ("lebesgue", "data"):
            raise InvalidInputError(f"measure must be 'lebesgue' or 'data'; got {measure!r}")
        if datacells and measure != "data":
            raise InvalidInputError("data cells carry no Lebesgue geometry; use measure='data'")
        if nerve not in ("adjacency", "full"):
            raise InvalidInputError(f"nerve must be 'adjacency' or 'full'; got {nerve!r}")
        if datacells and nerve != "adjacency":
            raise InvalidInputError("data cells know only their adjacency graph; use nerve='adjacency'")
        if max_dim is None:
            max_dim = 1 if datacells else 2
        if isinstance(max_dim, bool) or not isinstance(max_dim, int | np.integer) or max_dim < 0:
            raise InvalidInputError(f"max_dim must be a non-negative integer; got {max_dim!r}")
        if datacells and max_dim > 1:
            raise InvalidInputError(
                "data cells know only which cells share a facet, not their higher contacts; use max_dim <= 1"
            )
        if empty not in ("keep", "drop"):
            raise InvalidInputError(f"empty must be 'keep' or 'drop'; got {empty!r}")
        self._measure: Measure = measure
        self._nerve: Nerve = nerve
        self._max_dim = int(max_dim)
        self._n = int(part.n_cells)
        self._d = int(part.box.dim)
        self._X: FloatArray | None = None
        self._point_cell: IntArray | None = None
        self._h: float | None = None
        if X is not None:
            self._X = as_points(X, self._d, "X")
        if measure == "data":
            self._init_data(bandwidth)
        elif bandwidth is not None:
            raise InvalidInputError("bandwidth applies only to measure='data'")
        self._mass_cache: dict[int, FloatArray] = {}
        self._boundary_cache: dict[int, scipy.sparse.csr_array] = {}
        with progress_callback(progress, "complex", "simplices") as report:
            self._levels = list(self._build(report))
        self._cells = np.arange(self._n, dtype=np.int64)
        if empty == "drop" and measure == "data":
            self._drop_empty()

    # ------------------------------------------------------------------------------------ construction
    def _init_data(self, bandwidth: float | None) -> None:
        part = self._part
        if self._source_kind == "datacells":
            counts = np.asarray(part.counts, dtype=np.float64)  # type: ignore[union-attr]
            if self._X is not None:
                pc = np.asarray(part.point_cell)  # type: ignore[union-attr]
                if self._X.shape[0] != pc.shape[0]:
                    raise InvalidInputError(
                        f"X has {self._X.shape[0]} rows but the data cells were built from {pc.shape[0]} points; "
                        "pass the same points"
                    )
                self._point_cell = pc.astype(np.int64)
        else:
            if self._X is None:
                raise InvalidInputError("measure='data' needs the data: pass X=")
            cells = part.locate(self._X)  # type: ignore[union-attr]
            self._point_cell = cells
            counts = np.bincount(cells[cells >= 0], minlength=self._n).astype(np.float64)
        n_points = float(counts.sum())
        if n_points == 0:
            raise InvalidInputError("no data point lies in the box, so the data measure is zero")
        self._counts = counts
        self._n_points = n_points
        if bandwidth is None:
            if self._X is not None:
                spread = float(np.mean(np.std(self._X, axis=0)))
                self._h = max(spread, 1e-12) * n_points ** (-1.0 / (self._d + 4))
        else:
            h = float(as_float_array(bandwidth, "bandwidth"))
            if not h > 0:
                raise InvalidInputError(f"bandwidth must be positive; got {h}")
            self._h = h

    def _start_levels(self, report: Callable[[int], object] | None) -> _Levels:
        n = self._n
        return _Levels(_Level(np.arange(n, dtype=np.int64)[:, None], np.full(n, self._d, dtype=np.int64)), report)

    def _build(self, report: Callable[[int], object] | None) -> list[_Level]:
        if self._source_kind == "datacells":
            return self._build_datacells(report)
        if self._source_kind == "boxes":
            return self._build_boxes(report)
        return self._build_polytopes(report)

    @cached_property
    def _facet_pairs(self) -> tuple[IntArray, IntArray, FloatArray]:
        """(unique interior facet pairs (E, 2), facet id of each pair, summed area)."""
        f = self._part.facets  # type: ignore[union-attr]
        inner = np.flatnonzero(f.interior & (f.areas > 0))
        pairs = np.sort(f.cells[inner], axis=1)
        if inner.size == 0:
            return pairs.reshape(0, 2), inner, np.zeros(0)
        (keys,) = _nerve.row_keys([pairs], self._n)
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        start = np.concatenate([[True], sk[1:] != sk[:-1]])
        heads = np.flatnonzero(start)
        area = np.add.reduceat(f.areas[inner][order], heads)
        return pairs[order[heads]], inner[order[heads]], np.asarray(area, dtype=np.float64)

    def _vertex_stars(self) -> tuple[IntArray, IntArray]:
        part = self._part
        if part.n_vertices == 0 and self._n > 0:  # type: ignore[union-attr]
            raise InvalidInputError(
                "this complex needs the vertices of the partition (the full nerve, or simplices of dimension >= 3); "
                "compute the partition with vertices=True"
            )
        vc = part.vertex_cells  # type: ignore[union-attr]
        vc = vc.tocsr()
        vc.sort_indices()
        return vc.indptr.astype(np.int64), vc.indices.astype(np.int64)

    @cached_property
    def _ridge_stars(self) -> tuple[IntArray, IntArray, FloatArray] | None:
        """(csr ptr, cells) of the cells around every (d-2)-face, and the faces' (d-2)-volumes; None without ridges."""
        part = self._part
        if self._d < 2 or not part.has_ridges:  # type: ignore[union-attr]
            return None
        r = part.ridges  # type: ignore[union-attr]
        n_faces = int(r.face.max()) + 1 if len(r) else 0
        ptr, cells = _group_csr(r.face, r.cell, n_faces)
        vol = np.zeros(n_faces)
        np.maximum.at(vol, r.face, r.volumes)
        return ptr, cells, vol

    @cached_property
    def _vertex_coords(self) -> FloatArray:
        part = self._part
        coords = np.zeros((part.n_vertices, self._d))  # type: ignore[union-attr]
        coords[part._vertex_ids] = part._vertex_coords  # type: ignore[union-attr]
        return coords

    def _star_level(self, k: int) -> tuple[IntArray, IntArray, IntArray]:
        """Full-nerve k-simplices from the vertex stars: (rows, common-vertex ptr, common vertex ids)."""
        ptr, cells = self._vertex_stars()
        rows, grp = _nerve.group_subsets(ptr, cells, k + 1)
        S, inv, counts = _nerve.unique_rows(rows, self._n)
        order = np.argsort(inv, kind="stable")
        cptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return S, cptr, grp[order]

    def _polytope_dims(
        self,
        k: int,
        S: IntArray,
        cptr: IntArray | None,
        cvid: IntArray | None,
    ) -> tuple[IntArray, IntArray | None]:
        """dim ∩_{i∈σ} C_i for full-nerve rows of a face-to-face partition, and the (d-2)-face for k = 2."""
        d, n = self._d, self._n
        dim = np.full(S.shape[0], -1, dtype=np.int64)
        face = np.full(S.shape[0], -1, dtype=np.int64) if k == 2 else None
        if k == 1:
            dim[_nerve.lookup_rows(self._facet_pairs[0], S, n) >= 0] = d - 1
        stars = self._ridge_stars
        if stars is not None:
            rows, grp = _nerve.group_subsets(stars[0], stars[1], k + 1)
            idx = _nerve.lookup_rows(S, rows, n)
            hit = idx >= 0
            idx, grp = idx[hit], grp[hit]
            fresh = dim[idx] < 0
            dim[idx[fresh]] = d - 2
            if face is not None:
                face[idx[fresh]] = grp[fresh]
        todo = np.flatnonzero(dim < 0)
        if todo.size:
            if cptr is None or cvid is None:
                raise AssertionError("common vertices are needed")
            counts = np.diff(cptr)[todo]
            single = counts <= 1
            dim[todo[single]] = 0
            todo = todo[~single]
            if todo.size and stars is not None and d <= 3:
                dim[todo] = 0  # facets and (d-2)-faces are known; the rest are vertices
            elif todo.size:
                dim[todo] = self._affine_rank(todo, cptr, cvid)
        return dim, face

    def _affine_rank(self, rows: IntArray, cptr: IntArray, cvid: IntArray) -> IntArray:
        """Affine dimension of the common vertices of the given rows (batched SVD)."""
        coords = self._vertex_coords
        lengths = cptr[rows + 1] - cptr[rows]
        width = int(lengths.max())
        pos = np.minimum(np.arange(width)[None, :], lengths[:, None] - 1)  # pad by repeating the last vertex
        pts = coords[cvid[cptr[rows][:, None] + pos]]  # (m, width, d)
        pts = pts - pts[:, :1, :]
        tol = 100.0 * float(self._part.tolerance) * max(1.0, math.sqrt(width))  # type: ignore[union-attr]
        return np.asarray(np.linalg.matrix_rank(pts, tol=tol), dtype=np.int64).reshape(-1)

    def _build_polytopes(self, report: Callable[[int], object] | None) -> list[_Level]:
        d, n = self._d, self._n
        levels = self._start_levels(report)
        if self._max_dim >= 1:
            if self._nerve == "full":
                for k in range(1, self._max_dim + 1):
                    S, cptr, cvid = self._star_level(k)
                    dim, face = self._polytope_dims(k, S, cptr, cvid)
                    levels.append(_Level(S, dim, face, (cptr, cvid)))
                return levels
            pairs = self._facet_pairs[0]
            levels.append(_Level(pairs, np.full(pairs.shape[0], d - 1, dtype=np.int64)))
            for k in range(2, self._max_dim + 1):
                prev = levels[-1].S
                if k > d or prev.shape[0] == 0:
                    levels.append(
                        _Level(
                            np.zeros((0, k + 1), np.int64),
                            np.zeros(0, np.int64),
                            np.zeros(0, np.int64) if k == 2 else None,
                        )
                    )
                    continue
                stars = self._ridge_stars
                if k == 2 and stars is not None:
                    # Around a (d-2)-face the cells form a cycle (a path on the box boundary), and a cell has just
                    # two facets through the face, toward its neighbours there: three cells are pairwise
                    # facet-adjacent only when they are all the cells around a face. So only stars of size 3.
                    ptr, members = stars[0], stars[1]
                    three = np.flatnonzero(np.diff(ptr) == 3)
                    rows = members[ptr[three][:, None] + np.arange(3)]
                    grp = three
                    S, inv, _ = _nerve.unique_rows(rows, n)
                    face = np.full(S.shape[0], -1, dtype=np.int64)
                    face[inv[::-1]] = grp[::-1]
                    keep = _nerve.faces_present(prev, S, n)
                    levels.append(_Level(S[keep], np.full(int(keep.sum()), d - 2, dtype=np.int64), face[keep]))
                    continue
                S, cptr, cvid = self._star_level(k)
                level = _Level(S, np.zeros(S.shape[0], np.int64), None, (cptr, cvid))
                level = level.subset(_nerve.faces_present(prev, S, n))
                dim, face = self._polytope_dims(k, level.S, level.common_ptr, level.common_vid)
                level.dim, level.face = dim, face
                levels.append(level.subset(dim == d - k))
        return levels

    # -- boxes (trees and forests) ------------------------------------------------------------------
    def _box_meet(self, S: IntArray) -> FloatArray:
        """Extents (m, d) of the intersection box of the cells of each row (negative: empty)."""
        part = self._part
        lo = part.cell_lo[S].max(axis=1)  # type: ignore[union-attr]
        hi = part.cell_hi[S].min(axis=1)  # type: ignore[union-attr]
        out: FloatArray = hi - lo
        return out

    def _box_dims(self, S: IntArray) -> IntArray:
        tol = 10.0 * float(self._part.tolerance)  # type: ignore[union-attr]
        return np.asarray(np.count_nonzero(self._box_meet(S) > tol, axis=1), dtype=np.int64)

    def _graph(self, pairs: IntArray) -> scipy.sparse.csr_array:
        n = self._n
        g = scipy.sparse.csr_array(
            (
                np.ones(2 * pairs.shape[0]),
                (np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])),
            ),
            shape=(n, n),
        )
        g.sum_duplicates()
        g.sort_indices()
        return g

    def _touching_pairs(self) -> IntArray:
        """All pairs of boxes whose closures meet: grow from the facet graph, keeping only pairs that touch.

        Every cell containing a point p is reached from any other one through facet-adjacent cells that all
        contain p (the orthants around p), so d rounds of "neighbours of neighbours that still touch" suffice.
        """
        n = self._n
        tol = 10.0 * float(self._part.tolerance)  # type: ignore[union-attr]
        facets = self._facet_pairs[0]
        g = self._graph(facets)
        indptr, indices = g.indptr.astype(np.int64), g.indices.astype(np.int64)
        known = np.concatenate([facets, facets[:, ::-1]])
        frontier = known
        for _ in range(self._d):
            a, x = frontier[:, 0], frontier[:, 1]
            deg = indptr[x + 1] - indptr[x]
            rep = np.repeat(np.arange(a.shape[0]), deg)
            offs = np.arange(rep.shape[0]) - np.repeat(np.cumsum(deg) - deg, deg)
            y = indices[np.repeat(indptr[x], deg) + offs]
            cand = np.column_stack([a[rep], y])
            cand = cand[cand[:, 0] != cand[:, 1]]
            cand = _nerve.unique_rows(cand, n)[0]
            touch = (self._box_meet(cand) >= -tol).all(axis=1)
            cand = cand[touch]
            cand = cand[_nerve.lookup_rows(_nerve.unique_rows(known, n)[0], cand, n) < 0]
            if cand.shape[0] == 0:
                break
            known = np.concatenate([known, cand])
            frontier = cand
        pairs = known[known[:, 0] < known[:, 1]]
        return _nerve.unique_rows(pairs, n)[0]

    def _build_boxes(self, report: Callable[[int], object] | None) -> list[_Level]:
        d, n = self._d, self._n
        levels = self._start_levels(report)
        if self._max_dim < 1:
            return levels
        full = self._nerve == "full"
        pairs = self._touching_pairs() if full else self._facet_pairs[0]
        graph = self._graph(pairs)
        levels.append(_Level(pairs, self._box_dims(pairs)))
        for k in range(2, self._max_dim + 1):
            prev = levels[-1].S
            S = _nerve.clique_extend(prev, graph, n) if prev.shape[0] else np.zeros((0, k + 1), np.int64)
            if not full and S.shape[0]:
                S = S[_nerve.faces_present(prev, S, n)]
            dim = self._box_dims(S) if S.shape[0] else np.zeros(0, np.int64)
            if not full:
                S, dim = S[dim == d - k], dim[dim == d - k]
            levels.append(_Level(S, dim))
        return levels

    def _build_datacells(self, report: Callable[[int], object] | None) -> list[_Level]:
        d, n = self._d, self._n
        levels = self._start_levels(report)
        if self._max_dim >= 1:
            pairs = np.sort(np.asarray(self._part.edges.cells, dtype=np.int64), axis=1)  # type: ignore[union-attr]
            pairs = _nerve.unique_rows(pairs, n)[0]
            levels.append(_Level(pairs, np.full(pairs.shape[0], d - 1, dtype=np.int64)))
        return levels

    def _drop_empty(self) -> None:
        keep_cell = self._counts > 0
        self._cells = np.flatnonzero(keep_cell).astype(np.int64)
        self._levels = [lv.subset(np.asarray(keep_cell[lv.S].all(axis=1))) for lv in self._levels]

    # ------------------------------------------------------------------------------------------ views
    @property
    def partition(self) -> Partition | DataCells:
        """The partition (or data cells) the complex was built from."""
        return self._part

    @property
    def measure(self) -> Measure:
        return self._measure

    @property
    def nerve(self) -> Nerve:
        return self._nerve

    @property
    def max_dim(self) -> int:
        return self._max_dim

    @property
    def dim(self) -> int:
        """The dimension d of the partitioned space."""
        return self._d

    @property
    def bandwidth(self) -> float | None:
        """The band half-width h of the data measure (None for Lebesgue)."""
        return self._h

    @property
    def cells(self) -> IntArray:
        """The cell of every vertex of the complex, int64 (n_0,): ``arange(n_cells)`` unless empty cells were dropped."""
        return self._cells

    @property
    def counts(self) -> FloatArray | None:
        """Data points per cell of the partition (measure="data"), float64 (n_cells,); None for Lebesgue."""
        return getattr(self, "_counts", None)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of simplices per dimension, (n_0, ..., n_max_dim)."""
        return tuple(lv.S.shape[0] for lv in self._levels)

    def _level(self, k: int) -> _Level:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= self._max_dim:
            raise InvalidInputError(f"k must be an integer in 0..{self._max_dim} (max_dim); got {k!r}")
        return self._levels[int(k)]

    def simplices(self, k: int) -> IntArray:
        """The k-simplices, int64 (n_k, k+1): sorted vertex indices, rows in lexicographic order.

        Vertex i is cell ``cells[i]`` (the cell index itself unless empty cells were dropped).
        """
        S = self._level(k).S
        if self._cells.shape[0] != self._n:
            S = np.searchsorted(self._cells, S)
        out = np.ascontiguousarray(S, dtype=np.int64)
        out.setflags(write=False)
        return out

    def intersection_dim(self, k: int) -> IntArray:
        """dim ∩_{i∈σ} C_i for every k-simplex σ, int64 (n_k,) (paper.md §2.2).

        Face-to-face partitions: d − 1 for facet pairs, d − 2 for cells around one (d−2)-face of the ridge
        table, 0 for cells sharing a single vertex of the partition, otherwise the affine rank of their common
        vertices (∩ C_i is a face of the partition, the hull of those vertices). Boxes: from the intersection
        box. In the adjacency nerve it is d − k for every simplex.
        """
        out = self._level(k).dim.copy()
        out.setflags(write=False)
        return out

    # ------------------------------------------------------------------------------------- operators
    def boundary(self, k: int) -> scipy.sparse.csr_array:
        """The boundary matrix B_k, ``csr_array`` (n_{k−1}, n_k), k = 1..max_dim (paper.md §3).

        ∂[v0..vk] = Σ_i (−1)^i [v0..v̂i..vk]; B_1[i, e] = −1, B_1[j, e] = +1 for e = [i, j], i < j.
        B_k @ B_{k+1} = 0. ``boundary(0)`` is the empty (0, n_0) matrix and ``boundary(max_dim + 1)`` the
        empty (n_max_dim, 0) one.
        """
        if isinstance(k, int | np.integer) and not isinstance(k, bool) and k == self._max_dim + 1:
            return scipy.sparse.csr_array((self._levels[-1].S.shape[0], 0), dtype=np.float64)
        lv = self._level(k)
        if k == 0:
            return scipy.sparse.csr_array((0, lv.S.shape[0]), dtype=np.float64)
        if k not in self._boundary_cache:
            self._boundary_cache[k] = _nerve.boundary_matrix(self._levels[k - 1].S, lv.S, self._n)
        return self._boundary_cache[k].copy()

    def mass(self, k: int, dihedral: bool = False) -> scipy.sparse.csr_array:
        """The mass (Gram) matrix M_k of the k-simplices, ``csr_array`` (n_k, n_k) (paper.md §2.3).

        Diagonal: the measure of the intersection, M_0 = diag vol_d(C_i) (or n_i/n), M_k[σ,σ] =
        vol_{d−k}(I_σ) for generic σ (dim I_σ = d − k) and 0 otherwise (or the band estimate). With
        ``dihedral=True`` (k = 1 only) the edges e_ij, e_ik of cell C_i whose facets meet in a ridge of C_i
        get ⟨e_ij, e_ik⟩ = s_ij s_ik cos θ_i(j,k) √(M_1[e_ij] M_1[e_ik]), θ_i the interior dihedral angle of C_i
        there and s = +1 when the edge is oriented away from i ([R], paper.md §2.3). This need not be
        positive semidefinite: see :meth:`check_mass`. Box partitions: every dihedral angle is π/2, so the
        matrix stays diagonal.
        """
        m = self._mass_diag(k)
        M = scipy.sparse.diags_array(m, format="csr")
        if not dihedral:
            return M
        if k != 1:
            raise InvalidInputError("dihedral terms exist only for the edge masses (k = 1)")
        return scipy.sparse.csr_array(M + self._dihedral_offdiag(m))

    def check_mass(self, k: int = 1, dihedral: bool = True) -> MassCheck:
        """Symmetry and positive semidefiniteness of :meth:`mass` (the dihedral M_1 by default)."""
        M = self.mass(k, dihedral=dihedral)
        asym = abs(M - M.T).max() if M.nnz else 0.0
        scale = abs(M).max() if M.nnz else 0.0
        lo = laplacian.min_eigenvalue(M)
        top = max(scale, 1e-300)
        return MassCheck(bool(asym <= 1e-12 * top), float(lo), bool(lo >= -1e-12 * top))

    def mass_vector(self, k: int) -> FloatArray:
        """The diagonal of M_k as a float64 (n_k,) array."""
        out = self._mass_diag(k).copy()
        out.setflags(write=False)
        return out

    def _mass_diag(self, k: int) -> FloatArray:
        lv = self._level(k)
        if k not in self._mass_cache:
            self._mass_cache[k] = self._data_mass(k, lv) if self._measure == "data" else self._lebesgue_mass(k, lv)
        return self._mass_cache[k]

    def _lebesgue_mass(self, k: int, lv: _Level) -> FloatArray:
        d, part = self._d, self._part
        if k == 0:
            return np.asarray(part.volumes, dtype=np.float64)[lv.S[:, 0]]  # type: ignore[union-attr]
        out = np.zeros(lv.S.shape[0])
        generic = np.flatnonzero(lv.dim == d - k)
        if generic.size == 0:
            return out
        S = lv.S[generic]
        if self._source_kind == "boxes":
            ext = self._box_meet(S)
            tol = 10.0 * float(part.tolerance)  # type: ignore[union-attr]
            out[generic] = np.where(ext > tol, ext, 1.0).prod(axis=1)
            return out
        if k == 1:
            pairs, _, area = self._facet_pairs
            out[generic] = area[_nerve.lookup_rows(pairs, S, self._n)]
            return out
        if d - k == 0:
            out[generic] = 1.0  # a point: its 0-volume is 1
            return out
        if k == 2 and lv.face is not None and self._ridge_stars is not None:
            face = lv.face[generic]
            if (face >= 0).all():
                out[generic] = self._ridge_stars[2][face]
                return out
        if d - k == 1 and lv.common_ptr is not None and lv.common_vid is not None:
            ptr, vid = lv.common_ptr, lv.common_vid
            a = self._vertex_coords[vid[ptr[generic]]]
            b = self._vertex_coords[vid[ptr[generic + 1] - 1]]
            out[generic] = np.linalg.norm(b - a, axis=1)
            return out
        raise InvalidInputError(
            f"Lebesgue masses of {k}-simplices need (d-k)-volumes of faces of dimension {d - k}, which the core "
            "does not report; use max_dim <= 2 (with ridges) or the data measure"
        )

    def _data_mass(self, k: int, lv: _Level) -> FloatArray:
        if k == 0:
            return self._counts[lv.S[:, 0]] / self._n_points
        out = np.zeros(lv.S.shape[0])
        generic = np.flatnonzero(lv.dim == self._d - k)
        if generic.size == 0:
            return out
        if self._X is None or self._point_cell is None or self._h is None:
            raise InvalidInputError("the face masses of the data measure need the data points: pass X=")
        S = lv.S[generic]
        counts = self._tube_counts(k, S)
        out[generic] = counts / (_ball_volume(k) * self._h**k * self._n_points)
        return out

    def _tube_counts(self, k: int, S: IntArray) -> FloatArray:
        """#{t : x_t in a cell of σ, dist(x_t, flat or box of σ) < h} for every row σ of S."""
        assert self._X is not None and self._point_cell is not None and self._h is not None
        X, pc, h, n = self._X, self._point_cell, self._h, self._n
        m = S.shape[0]
        # cell -> rows of S containing it
        ptr, rows_of = _group_csr(S.reshape(-1), np.repeat(np.arange(m, dtype=np.int64), S.shape[1]), n)
        inside = np.flatnonzero(pc >= 0)
        if self._source_kind == "boxes":
            lo = self._part.cell_lo[S].max(axis=1)  # type: ignore[union-attr]
            hi = self._part.cell_hi[S].min(axis=1)  # type: ignore[union-attr]
        else:
            normals, offsets = self._flats(k, S)
            gram = np.einsum("mkd,mld->mkl", normals, normals)
            ginv = np.linalg.pinv(gram)
        counts = np.zeros(m)
        deg = ptr[pc[inside] + 1] - ptr[pc[inside]]
        chunk = max(1, 2_000_000 // max(1, int(deg.max(initial=1))))
        for s in range(0, inside.shape[0], chunk):  # bounded memory: a loop over point chunks, not cells
            t = inside[s : s + chunk]
            dg = deg[s : s + chunk]
            tt = np.repeat(t, dg)
            offs = np.arange(tt.shape[0]) - np.repeat(np.cumsum(dg) - dg, dg)
            sig = rows_of[np.repeat(ptr[pc[t]], dg) + offs]
            x = X[tt]
            if self._source_kind == "boxes":
                gap = x - np.clip(x, lo[sig], hi[sig])
                dist2 = np.einsum("pd,pd->p", gap, gap)
            else:
                r = np.einsum("pkd,pd->pk", normals[sig], x) + offsets[sig]
                dist2 = np.einsum("pk,pkl,pl->p", r, ginv[sig], r)
            counts += np.bincount(sig[dist2 < h * h], minlength=m)
        return counts

    def _flats(self, k: int, S: IntArray) -> tuple[FloatArray, FloatArray]:
        """Equations N x + o = 0 (unit normals) whose common solutions are aff I_σ: the facet hyperplanes of all
        facet-sharing pairs of σ (zero rows for the pairs that share none; the distance uses (N Nᵀ)⁺)."""
        if self._source_kind == "datacells":
            return self._datacell_flats(S)
        pairs, facet_of, _ = self._facet_pairs
        f = self._part.facets  # type: ignore[union-attr]
        slots = list(combinations(range(k + 1), 2))  # at most C(max_dim + 1, 2) positions, not simplices
        normals = np.zeros((S.shape[0], len(slots), self._d))
        offsets = np.zeros((S.shape[0], len(slots)))
        for q, (a, b) in enumerate(slots):
            idx = _nerve.lookup_rows(pairs, np.column_stack([S[:, a], S[:, b]]), self._n)
            fid = facet_of[np.maximum(idx, 0)]
            nrm = f.normals[fid]
            normals[:, q] = np.where((idx >= 0)[:, None], nrm, 0.0)
            offsets[:, q] = np.where(idx >= 0, -np.einsum("md,md->m", nrm, f.centroids[fid]), 0.0)
        return normals, offsets

    def _datacell_flats(self, S: IntArray) -> tuple[FloatArray, FloatArray]:
        """The neuron boundary between two data cells, pulled back on the first cell (one core call per cell)."""
        dc = self._part
        edges = dc.edges  # type: ignore[union-attr]
        pairs = np.sort(np.asarray(edges.cells, dtype=np.int64), axis=1)
        idx = _nerve.lookup_rows(_nerve.unique_rows(pairs, self._n)[0], S, self._n)
        uniq, inv, _ = _nerve.unique_rows(pairs, self._n)
        first = np.full(uniq.shape[0], -1, dtype=np.int64)
        first[inv[::-1]] = np.arange(pairs.shape[0])[::-1]
        bit = np.asarray(edges.bits, dtype=np.int64)[first[idx]]
        normals = np.zeros((S.shape[0], 1, self._d))
        offsets = np.zeros((S.shape[0], 1))
        cells = S[:, 0]
        for c in np.unique(cells).tolist():  # one Rust call per data cell with an edge
            grads, offs = dc.pullback(c)  # type: ignore[union-attr]
            sel = np.flatnonzero(cells == c)
            a, b = grads[bit[sel]], offs[bit[sel]]
            norm = np.linalg.norm(a, axis=1)
            norm[norm == 0] = 1.0
            normals[sel, 0] = a / norm[:, None]
            offsets[sel, 0] = b / norm
        return normals, offsets

    def _dihedral_offdiag(self, m1: FloatArray) -> scipy.sparse.csr_array:
        n1 = m1.shape[0]
        if self._source_kind == "boxes":
            return scipy.sparse.csr_array((n1, n1))
        if self._source_kind == "datacells" or (self._d >= 2 and not self._part.has_ridges):  # type: ignore[union-attr]
            raise InvalidInputError("the dihedral edge masses need the ridge table: a partition with ridges=True")
        if self._d < 2:
            return scipy.sparse.csr_array((n1, n1))
        r = self._part.ridges  # type: ignore[union-attr]
        f = self._part.facets  # type: ignore[union-attr]
        S1 = self._levels[1].S
        ends = f.cells[r.facets]  # (R, 2, 2): the two cells of each of the two facets
        ok = (ends[:, :, 1] >= 0).all(axis=1)
        cell = r.cell[ok]
        other = np.where(ends[ok, :, 0] == cell[:, None], ends[ok, :, 1], ends[ok, :, 0])  # (R, 2)
        ea = _nerve.lookup_rows(S1, np.sort(np.column_stack([cell, other[:, 0]]), axis=1), self._n)
        eb = _nerve.lookup_rows(S1, np.sort(np.column_stack([cell, other[:, 1]]), axis=1), self._n)
        found = (ea >= 0) & (eb >= 0)
        ea, eb = ea[found], eb[found]
        sign = np.where(other[found, 0] > cell[found], 1.0, -1.0) * np.where(other[found, 1] > cell[found], 1.0, -1.0)
        val = sign * np.cos(r.angles[ok][found]) * np.sqrt(m1[ea] * m1[eb])
        off = scipy.sparse.csr_array(
            (np.concatenate([val, val]), (np.concatenate([ea, eb]), np.concatenate([eb, ea]))), shape=(n1, n1)
        )
        off.sum_duplicates()
        return off

    # ---------------------------------------------------------------------------------- Laplacians
    def _masses_around(self, k: int) -> tuple[FloatArray | None, FloatArray, FloatArray | None]:
        down = self._mass_diag(k - 1) if k >= 1 else None
        up = self._mass_diag(k + 1) if k + 1 <= self._max_dim else None
        return down, self._mass_diag(k), up

    def hodge_laplacian(
        self,
        k: int,
        form: Literal["random_walk", "symmetric", "stiffness"] = "random_walk",
        *,
        dihedral: bool = False,
    ) -> scipy.sparse.csr_array:
        """The weighted Hodge Laplacian of the k-cochains, ``csr_array`` (n_k, n_k) (paper.md §3).

        ``random_walk``: L_k = B_kᵀ M_{k−1}⁻¹ B_k M_k + M_k⁻¹ B_{k+1} M_{k+1} B_{k+1}ᵀ (self-adjoint for M_k;
        L_0 = M_0⁻¹ B_1 M_1 B_1ᵀ, L_0·1 = 0). ``symmetric``: M_k^{1/2} L_k M_k^{−1/2} (PSD; the author's
        ``L0_mass_sym`` for k = 0 [G]). ``stiffness``: M_k L_k (PSD; K_0 = B_1 M_1 B_1ᵀ). Zero masses use
        the pseudo-inverse. The up part is absent for k = max_dim. ``dihedral=True`` uses the dihedral M_1
        (k = 0 only: higher degrees would need its inverse).
        """
        self._level(k)
        if form not in ("random_walk", "symmetric", "stiffness"):
            raise InvalidInputError(f"form must be 'random_walk', 'symmetric' or 'stiffness'; got {form!r}")
        down_m, m, up_m = self._masses_around(k)
        Bk = self.boundary(k) if k >= 1 else None
        Bk1 = self.boundary(k + 1) if k + 1 <= self._max_dim else None
        up_M: FloatArray | scipy.sparse.csr_array | None = up_m
        if dihedral:
            if k != 0:
                raise InvalidInputError("dihedral=True is available for k = 0 (it needs no inverse of M_1)")
            if self._max_dim >= 1:
                up_M = self.mass(1, dihedral=True)
        return laplacian.hodge(Bk, Bk1, down_m, m, up_M, form)

    def graph_laplacian(
        self,
        weights: Literal["area", "finite_volume", "count"] = "area",
        form: Literal["combinatorial", "random_walk", "symmetric"] = "combinatorial",
    ) -> scipy.sparse.csr_array:
        """The cell-graph Laplacian L = B_1 W B_1ᵀ = D − A on the 1-skeleton (paper.md §3).

        Weights per edge: ``"area"`` the edge mass M_1 (facet area, or its band estimate; 0 for the
        lower-dimensional contacts of the full nerve), ``"finite_volume"`` M_1[e] / ‖c_i − c_j‖ with the
        cell centroids (data centroids for data cells; converges to −Δ under refinement with
        ``form="random_walk"``), ``"count"`` 1 per edge. ``form``: D − A, M_0⁻¹(D − A), or
        M_0^{−1/2}(D − A)M_0^{−1/2}.
        """
        w = self._edge_weights(weights)
        return laplacian.graph(
            self.boundary(1) if self._max_dim >= 1 else None, w, self._mass_diag(0), form, self._levels[0].S.shape[0]
        )

    def _edge_weights(self, weights: str) -> FloatArray:
        if self._max_dim < 1:
            return np.zeros(0)
        S1 = self._levels[1].S
        if weights == "count":
            return np.ones(S1.shape[0])
        if weights not in ("area", "finite_volume"):
            raise InvalidInputError(f"weights must be 'area', 'finite_volume' or 'count'; got {weights!r}")
        w = self._mass_diag(1).copy()
        if weights == "finite_volume":
            c = self._centroids()
            dist = np.linalg.norm(c[S1[:, 1]] - c[S1[:, 0]], axis=1)
            w = np.divide(w, dist, out=np.zeros_like(w), where=dist > 0)
        return w

    def _centroids(self) -> FloatArray:
        if self._source_kind != "datacells":
            return np.asarray(self._part.centroids)  # type: ignore[union-attr]
        if self._X is None or self._point_cell is None:
            raise InvalidInputError("finite-volume weights of data cells use the data centroids: pass X=")
        sums = np.zeros((self._n, self._d))
        np.add.at(sums, self._point_cell, self._X)
        return sums / np.maximum(self._counts, 1.0)[:, None]

    def extended_laplacian(
        self,
        dim_weights: npt.ArrayLike,
        centred: bool = True,
        simplex_weights: Literal["mass", "uniform"] | list[npt.ArrayLike] = "mass",
    ) -> scipy.sparse.csr_array:
        """The extended Laplacian on the cells, ``csr_array`` (n_0, n_0) (paper.md §3, [G]).

        L_ext = α_0 L_0 + Σ_{p≥1} α_p Σ_{σ∈S_p} w_σ Q_σ with α = ``dim_weights`` (α_p for p = 0..len−1 ≤ max_dim)
        and w_σ the simplex masses M_p (``"mass"``), 1 (``"uniform"``) or given arrays per p.

        ``centred=True``: L_0 = K_0 = B_1 M_1 B_1ᵀ and Q_σ = diag(1_σ) − (1/|σ|) 1_σ 1_σᵀ (the clique Laplacian):
        symmetric PSD with L·1 = 0. ``centred=False`` reproduces the author's ``full_laplacian``: L_0 = B_1 B_1ᵀ
        (unweighted) and Q_σ[i,i] = 1, Q_σ[i,j] = −1/|σ| (row sums 1/|σ|·w_σ per vertex: constants are not
        in its kernel).
        """
        alphas = as_float_array(dim_weights, "dim_weights").reshape(-1)
        if alphas.shape[0] == 0 or alphas.shape[0] > self._max_dim + 1:
            raise InvalidInputError(
                f"dim_weights needs 1..{self._max_dim + 1} entries (alpha_0..alpha_max_dim); got {alphas.shape[0]}"
            )
        if not isinstance(centred, bool | np.bool_):
            raise InvalidInputError(f"centred must be True or False; got {centred!r}")
        levels, weights = [], []
        for p in range(1, alphas.shape[0]):
            S = self._levels[p].S
            if isinstance(simplex_weights, str):
                if simplex_weights == "mass":
                    w = self._mass_diag(p)
                elif simplex_weights == "uniform":
                    w = np.ones(S.shape[0])
                else:
                    raise InvalidInputError(
                        f"simplex_weights must be 'mass', 'uniform' or arrays; got {simplex_weights!r}"
                    )
            else:
                w = as_float_array(simplex_weights[p - 1], f"simplex_weights[{p - 1}]").reshape(-1)
                if w.shape[0] != S.shape[0]:
                    raise InvalidInputError(f"simplex_weights[{p - 1}] needs {S.shape[0]} entries; got {w.shape[0]}")
            levels.append(S)
            weights.append(w)
        n0 = self._levels[0].S.shape[0]
        B1 = self.boundary(1) if self._max_dim >= 1 else scipy.sparse.csr_array((n0, 0))
        if centred:
            m1 = self._mass_diag(1) if self._max_dim >= 1 else np.zeros(0)
            L0 = laplacian.stiffness(B1, m1)
        else:
            L0 = laplacian.stiffness(B1, np.ones(B1.shape[1]))
        S0 = self._levels[0].S[:, 0]
        remap = np.zeros(self._n, dtype=np.int64)
        remap[S0] = np.arange(n0)
        return laplacian.extended(L0, [remap[S] for S in levels], weights, alphas, bool(centred), n0)

    def betti(self) -> tuple[int, ...]:
        """Betti numbers β_0..β_max_dim of the complex held (the max_dim-skeleton of the nerve).

        Computed as dim ker of the unit-mass Hodge Laplacians B_kᵀB_k + B_{k+1}B_{k+1}ᵀ (the kernel dimension
        is the same for every positive-definite inner product; the measure's own masses may vanish on the
        full nerve) and cross-checked with n_k − rank B_k − rank B_{k+1}; :class:`NumericalError` if they
        disagree. Dense: up to 3000 simplices per dimension, beyond which β_0 alone is computed by connected
        components and the others raise.
        """
        bs = [self.boundary(k) for k in range(0, self._max_dim + 2)]
        sizes = [lv.S.shape[0] for lv in self._levels]
        return laplacian.betti_numbers(bs, sizes, DENSE_LIMIT)

    def spectrum(
        self,
        k: int = 0,
        n: int = 10,
        form: Literal["symmetric", "random_walk", "stiffness"] = "symmetric",
    ) -> tuple[FloatArray, FloatArray]:
        """The ``n`` smallest eigenpairs of the Hodge Laplacian L_k: (values ascending (n,), vectors (n_k, n)).

        ``symmetric`` and ``stiffness`` are symmetric eigenproblems (orthonormal vectors). ``random_walk``
        has the eigenvalues of ``symmetric`` and the vectors M_k^{−1/2} v (M_k-orthonormal). Dense
        ``eigh`` up to 3000 simplices, else ``scipy.sparse.linalg.eigsh`` in shift-invert mode.
        """
        kind: Literal["symmetric", "stiffness"] = "stiffness" if form == "stiffness" else "symmetric"
        if form not in ("symmetric", "random_walk", "stiffness"):
            raise InvalidInputError(f"form must be 'symmetric', 'random_walk' or 'stiffness'; got {form!r}")
        A = self.hodge_laplacian(k, kind)
        vals, vecs = laplacian.smallest_eigenpairs(A, n, DENSE_LIMIT)
        if form == "random_walk":
            m = self._mass_diag(k)
            vecs = vecs * laplacian.pinv_sqrt(m)[:, None]
        return vals, vecs

    # ------------------------------------------------------------------- pictures, export, pickling
    def plot(
        self,
        ax: Any = None,
        color_by: Literal["curvature", "mass"] | npt.ArrayLike | None = None,
        *,
        edge_color_by: Literal["curvature", "mass"] | npt.ArrayLike | None = None,
        **kwargs: Any,
    ) -> Any:
        """Draw the complex over its 2-D partition (vertices at cell centroids, edges, filled triangles).

        ``color_by`` colours the vertices: ``"curvature"`` the Forman vertex curvature
        F(i) = Σ_{e∋i} F(e)/deg(i) (:func:`~mlgeom_rs.vertex_curvature`, paper.md §5(b)), ``"mass"`` the
        inner products M_0[i, i], or an array with one number per vertex. ``edge_color_by`` colours
        the edges likewise: ``"curvature"`` the statistical Ricci curvature
        κ(i, j) = 1 − W₁(m_i, m_j)/d(i, j) (:func:`~mlgeom_rs.edge_curvature`, paper.md §5), ``"mass"``
        M_1, or one number per edge in the order of ``simplices(1)``; ``color_by="curvature"`` colours
        the edges by curvature too unless ``edge_color_by`` is given. With the data measure the
        curvatures use the complex's data. Other keywords (``show_partition``, ``cmap``,
        ``colorbar``) go to :func:`mlgeom_rs.plot.plot_complex`, which draws it; returns the Axes.
        """
        from .plot import plot_complex

        if isinstance(color_by, str) and color_by == "curvature" and edge_color_by is None:
            edge_color_by = "curvature"
        titles = {"curvature": ("Forman curvature", "statistical Ricci curvature"), "mass": ("mass M_0", "mass M_1")}
        for key, how, k in (("vertex_label", color_by, 0), ("edge_label", edge_color_by, 1)):
            if isinstance(how, str) and how in titles:
                kwargs.setdefault(key, titles[how][k])
        return plot_complex(
            self,
            ax,
            vertex_values=self._plot_values(0, color_by, "color_by"),
            edge_values=self._plot_values(1, edge_color_by, "edge_color_by"),
            **kwargs,
        )

    def _plot_values(self, k: int, how: Any, name: str) -> npt.ArrayLike | None:
        if how is None:
            return None
        if k > self._max_dim:
            raise InvalidInputError(f"{name} colours edges, and this complex has none (max_dim = {self._max_dim})")
        if isinstance(how, str):
            if how == "mass":
                return self.mass_vector(k)
            if how != "curvature":
                raise InvalidInputError(f"{name} must be 'curvature', 'mass', an array or None; got {how!r}")
            from .curvature import edge_curvature, vertex_curvature

            X = self._X if self._measure == "data" else None
            if k == 0:
                return vertex_curvature(self, "forman", X)[self._cells]
            return np.asarray(edge_curvature(self, "statistical_ricci", X))
        return np.asarray(how)

    def to_arrow(
        self,
        table: Literal["vertices", "edges", "triangles"] = "vertices",
        *,
        curvature: bool = True,
        columns: dict[str, npt.ArrayLike] | None = None,
    ) -> Any:
        """The vertices (cell, label, mass M_0, centroid, curvature), edges (vertices, mass M_1,
        intersection dimension, curvature) or triangles as a ``pyarrow.Table``; see
        :func:`mlgeom_rs.complex_export.to_arrow`."""
        from .complex_export import to_arrow

        return to_arrow(self, table, curvature=curvature, columns=columns)

    def to_parquet(
        self, path: Any, table: Literal["vertices", "edges", "triangles"] = "vertices", **kwargs: Any
    ) -> None:
        """Write :meth:`to_arrow` of ``table`` to a Parquet file; see :func:`mlgeom_rs.complex_export.to_parquet`."""
        from .complex_export import to_parquet

        to_parquet(self, path, table, **kwargs)

    def to_networkx(self) -> Any:
        """The 1-skeleton as a :class:`networkx.Graph` with the masses as attributes (triangles in the
        graph attributes); see :func:`mlgeom_rs.complex_export.to_networkx`."""
        from .complex_export import to_networkx

        return to_networkx(self)

    def to_toponetx(self) -> Any:
        """The complex as a TopoNetX ``SimplicialComplex`` with the masses as simplex attributes
        (raises :class:`MissingDependencyError` without TopoNetX); see
        :func:`mlgeom_rs.complex_export.to_toponetx`."""
        from .complex_export import to_toponetx

        return to_toponetx(self)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the partition (which pickles by its inputs, see ``mlgeom_rs._pickling``) and the
        complex's arrays: the simplices, intersection dimensions, masses and boundaries computed so far
        are stored, not recomputed; lookup tables derived from the partition are rebuilt on demand.
        :class:`~mlgeom_rs.DataCells` pickle by their computed arrays, not the data."""
        klass = type(self)
        return {k: v for k, v in self.__dict__.items() if not isinstance(getattr(klass, k, None), cached_property)}

    def __repr__(self) -> str:
        return f"RiemannianComplex(nerve={self._nerve!r}, measure={self._measure!r}, dim={self._d}, shape={self.shape})"
