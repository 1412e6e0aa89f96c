"""Column tables of the facets and ridges of a partition (read-only numpy columns)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

__all__ = ["FacetTable", "RidgeTable"]

_EMPTY_INDEX = np.zeros(0, dtype=np.int64)
_EMPTY_INDEX.setflags(write=False)


@dataclass(frozen=True, eq=False, repr=False)
class FacetTable:
    """The facets of a partition: one row per maximal (d-1)-dimensional piece of a cell's boundary.

    A facet is shared by two cells (an *interior* facet, ``cells[f, 0] < cells[f, 1]``) or
    lies on the box boundary (``cells[f, 1] == -1``). Each interior facet is listed once.
    Facet areas are (d-1)-volumes, computed with the cell volumes by Lasserre's recursive
    facet decomposition; for d = 1 a facet is a point and its 0-volume is 1.

    Attributes
    ----------
    cells : int64 (F, 2)
        The two cells, or ``(cell, -1)`` for a box facet.
    areas : float64 (F,)
        The (d-1)-volume of each facet.
    normals : float64 (F, d)
        Unit normal pointing from ``cells[f, 0]`` to ``cells[f, 1]`` (outward for box facets).
    centroids : float64 (F, d)
        Centre of mass of each facet.
    hyperplane : int64 (F,)
        The hyperplane carrying the facet: the smallest index of its coincident class, or -1
        for a box facet. Use :attr:`carriers` for all indices.
    box_face : int64 (F,)
        ``2*axis + side`` for a box facet (side 0: the face ``x[axis] = lo[axis]``, side 1:
        ``x[axis] = hi[axis]``), else -1.
    hyperplane_class : int64 (F,)
        Index of the coincident class carrying the facet, or -1 for a box facet.
    class_offsets : int64 (G+1,)
        CSR offsets of the coincident classes: class k holds the hyperplanes
        ``class_members[class_offsets[k]:class_offsets[k+1]]`` (ascending).
    class_members : int64
        Concatenated members of the classes. Hyperplanes equal up to a positive or negative
        scale factor form one class; the cells across their facet differ in all those bits.
        A hyperplane with a zero normal (a constant bit) is in no class.
    """

    cells: npt.NDArray[np.int64]
    areas: npt.NDArray[np.float64]
    normals: npt.NDArray[np.float64]
    centroids: npt.NDArray[np.float64]
    hyperplane: npt.NDArray[np.int64]
    box_face: npt.NDArray[np.int64]
    hyperplane_class: npt.NDArray[np.int64]
    class_offsets: npt.NDArray[np.int64]
    class_members: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.cells.shape[0])

    @cached_property
    def interior(self) -> npt.NDArray[np.bool_]:
        """Bool mask (F,): True for facets between two cells, False on the box boundary."""
        mask = self.cells[:, 1] >= 0
        mask.setflags(write=False)
        return mask

    @cached_property
    def carriers(self) -> tuple[npt.NDArray[np.int64], ...]:
        """For each facet, the indices of all hyperplanes carrying it (ascending int64 array;
        more than one where hyperplanes coincide, empty for box facets). Built on first use."""
        members = np.split(self.class_members, self.class_offsets[1:-1]) if len(self.class_offsets) > 1 else []
        for arr in members:
            arr.setflags(write=False)
        return tuple(members[k] if k >= 0 else _EMPTY_INDEX for k in self.hyperplane_class.tolist())

    def __repr__(self) -> str:
        n_interior = int(np.count_nonzero(self.interior))
        return f"FacetTable({len(self)} facets: {n_interior} interior, {len(self) - n_interior} on the box)"


@dataclass(frozen=True, eq=False, repr=False)
class RidgeTable:
    """The ridges of a partition: one row per (cell, pair of its facets meeting in a (d-2)-face).

    The interior dihedral angle of the cell at the ridge is θ = arccos(-n_a·n_b), where n_a
    and n_b are the outward unit normals of the two facets (as seen from the cell), so
    θ ∈ (0, π). For d = 2 a ridge is a polygon vertex (0-volume 1) and θ is the interior
    angle there; for d = 1 there are no ridges. Rows of different cells around the same
    (d-2)-face share ``face``, so ``np.bincount(face, weights=angles)`` is 2π for every
    (d-2)-face inside the box (flatness of R^d) and π for one inside a box facet. These
    angles enter the Riemannian structure of Gajer & Ravel (arXiv 2508.02080).

    Attributes
    ----------
    cell : int64 (R,)
        The cell.
    facets : int64 (R, 2)
        The two facets of the cell that meet there (row indices into :class:`FacetTable`).
    face : int64 (R,)
        Global id of the (d-2)-face, shared by all cells around it.
    angles : float64 (R,)
        Interior dihedral angle of ``cell`` at the ridge, in radians.
    volumes : float64 (R,)
        The (d-2)-volume of the ridge.
    """

    cell: npt.NDArray[np.int64]
    facets: npt.NDArray[np.int64]
    face: npt.NDArray[np.int64]
    angles: npt.NDArray[np.float64]
    volumes: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.cell.shape[0])

    def __repr__(self) -> str:
        n_faces = int(np.unique(self.face).size)
        return f"RidgeTable({len(self)} ridges around {n_faces} faces)"
