"""Type stubs for the native module ``mlgeom_rs._core`` (Rust, PyO3).

Users import from :mod:`mlgeom_rs`; this module is private. Every array argument must
already be C-contiguous float64 (the Python layer coerces and validates first).
"""

from collections.abc import Callable
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "NativeDataCells",
    "NativePartition",
    "TOLERANCE_REL",
    "__version__",
    "certify_facets",
    "closure_allowance",
    "data_cells",
    "data_cells_from_parts",
    "ollivier_ricci_csr",
    "partition_forest",
    "partition_hyperplanes",
    "partition_relu",
    "volume_sum_allowance",
]

__version__: str
TOLERANCE_REL: float

def partition_hyperplanes(
    normals: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    /,
    *,
    n_threads: int | None = None,
    max_cells: int = 10_000_000,
    ridges: bool = True,
    vertices: bool = True,
    progress: Callable[[int], object] | None = None,
    shard: list[tuple[int, bool]] | None = None,
    exact: bool = False,
) -> NativePartition:
    """Partition the box [lo, hi] by the hyperplanes normals @ x + offsets = 0.

    Raises InvalidInputError, TooManyCellsError, NumericalError (from mlgeom_rs.exceptions).
    """

def closure_allowance(
    d: int, volume: float, total_area: float, defect_low: float, defect_high: float, reach: float, /
) -> float:
    """The closure residual the core accepts on a cell (``mlgeom_core::measure::closure_allowance``).

    1e-7 + 64 eps reach / t + 4 delta / t (t = d volume / total_area; the last term while delta / t <= sqrt(1e-7)),
    the largest over delta in [defect_low, defect_high].
    """

def partition_relu(
    weights: list[npt.NDArray[np.float64]],
    biases: list[npt.NDArray[np.float64]],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    /,
    *,
    output_layer: bool = True,
    n_threads: int | None = None,
    max_cells: int = 10_000_000,
    ridges: bool = True,
    vertices: bool = True,
    progress: Callable[[int], object] | None = None,
    shard: list[tuple[int, bool]] | None = None,
    exact: bool = False,
) -> NativePartition:
    """Partition the box into the activation regions of a ReLU network (layers in torch layout)."""

def partition_forest(
    lefts: list[npt.NDArray[np.int64]],
    rights: list[npt.NDArray[np.int64]],
    features: list[npt.NDArray[np.int64]],
    thresholds: list[npt.NDArray[np.float64]],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    /,
    *,
    n_threads: int | None = None,
    max_cells: int = 10_000_000,
    vertices: bool | None = None,
    progress: Callable[[int], object] | None = None,
) -> NativePartition:
    """Partition the box [lo, hi] into the common refinement of the leaves of axis-aligned trees.

    One int64/float64 node array per tree in each list (scikit-learn ``tree_`` layout; a point goes
    left iff ``x[feature] <= threshold``). Payload per cell: lo (d), hi (d), leaf of every tree.
    Ctrl-C raises KeyboardInterrupt; ``progress(n_cells_done)`` is called about every 50 ms.
    """

@final
class NativePartition:
    """The Rust-owned result of a partition. Methods return fresh numpy arrays (copies)."""

    @property
    def dim(self) -> int: ...
    @property
    def n_cells(self) -> int: ...
    @property
    def n_hyperplanes(self) -> int: ...
    @property
    def tolerance(self) -> float: ...
    @property
    def exact(self) -> bool:
        """Whether every combinatorial decision was certified with exact arithmetic (`exact=True`)."""
    @property
    def local_reach(self) -> float:
        """The largest |coordinate| of the box in the local coordinates the cells were computed in."""
    @property
    def cell_facet_area_sum(self) -> float:
        """Σ over cells of their facets' areas (a facet between two cells counts twice)."""
    @property
    def snapped(self) -> int:
        """Float mode: decisions the tolerance snapped that exact arithmetic contradicts (see `Partition.snapped`)."""
    @property
    def has_ridges(self) -> bool: ...
    @property
    def max_facet_area_mismatch(self) -> float:
        """Largest relative difference of a facet's area measured from its two cells."""
    @property
    def closure_excess(self) -> float:
        """Largest closure residual of a cell over its allowance (its conditioning and incidence defects); <= 1."""
    @property
    def facet_area_excess(self) -> float:
        """Largest difference of a facet's areas from its two cells over their error bounds; <= 1."""
    def packed_patterns(self) -> npt.NDArray[np.uint8]: ...
    def payload(self) -> npt.NDArray[np.float64]: ...
    def volumes(self) -> npt.NDArray[np.float64]: ...
    def centroids(self) -> npt.NDArray[np.float64]: ...
    def interior_points(self) -> npt.NDArray[np.float64]: ...
    def vertex_offsets(self) -> npt.NDArray[np.int64]: ...
    @property
    def n_global_vertices(self) -> int: ...
    def vertex_ids(self) -> npt.NDArray[np.int64]: ...
    def vertex_coords(self) -> npt.NDArray[np.float64]: ...
    def class_offsets(self) -> npt.NDArray[np.int64]: ...
    def class_members(self) -> npt.NDArray[np.int64]: ...
    def facet_cells(self) -> npt.NDArray[np.int64]: ...
    def facet_areas(self) -> npt.NDArray[np.float64]: ...
    def facet_normals(self) -> npt.NDArray[np.float64]: ...
    def facet_centroids(self) -> npt.NDArray[np.float64]: ...
    def facet_class(self) -> npt.NDArray[np.int64]: ...
    def facet_box_face(self) -> npt.NDArray[np.int64]: ...
    def ridge_cell(self) -> npt.NDArray[np.int64]: ...
    def ridge_facets(self) -> npt.NDArray[np.int64]: ...
    def ridge_face(self) -> npt.NDArray[np.int64]: ...
    def ridge_angles(self) -> npt.NDArray[np.float64]: ...
    def ridge_volumes(self) -> npt.NDArray[np.float64]: ...
    def cut_facets(self) -> npt.NDArray[np.int64]: ...
    def cut_keys(self) -> npt.NDArray[np.uint64]: ...
    def cut_area_errors(self) -> npt.NDArray[np.float64]: ...
    def ridge_keys(self) -> npt.NDArray[np.uint64]: ...
    def locate(self, points: npt.NDArray[np.float64], /) -> npt.NDArray[np.int64]: ...

def data_cells(
    weights: list[npt.NDArray[np.float64]],
    biases: list[npt.NDArray[np.float64]],
    points: npt.NDArray[np.float64],
    /,
    *,
    output_layer: bool = True,
) -> NativeDataCells:
    """Group points by the activation pattern of a ReLU network."""

def data_cells_from_parts(
    weights: list[npt.NDArray[np.float64]],
    biases: list[npt.NDArray[np.float64]],
    packed_patterns: npt.NDArray[np.uint8],
    point_cell: npt.NDArray[np.integer[Any]],
    representative_points: npt.NDArray[np.float64],
    /,
    *,
    output_layer: bool = True,
) -> NativeDataCells:
    """Reassemble data cells from the parts a pickle stores (checked for consistency, nothing recomputed)."""

def certify_facets(
    weights: list[npt.NDArray[np.float64]],
    biases: list[npt.NDArray[np.float64]],
    patterns: npt.NDArray[np.uint8],
    bits: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    /,
    *,
    output_layer: bool = True,
    tol: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Certify candidate facets of data cells: (certified, witness points, by_lp)."""

@final
class NativeDataCells:
    """Data-containing cells of a ReLU network (Rust-owned)."""

    @property
    def n_cells(self) -> int: ...
    @property
    def n_bits(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    def packed_patterns(self) -> npt.NDArray[np.uint8]: ...
    def counts(self) -> npt.NDArray[np.int64]: ...
    def point_cell(self) -> npt.NDArray[np.int64]: ...
    def point_cell_compact(self) -> npt.NDArray[np.unsignedinteger[Any]]: ...
    def representative(self) -> npt.NDArray[np.int64]: ...
    def representative_points(self) -> npt.NDArray[np.float64]: ...
    def layers(self) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]], bool]: ...
    def pullback(self, i: int, /) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def output_maps(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def adjacency(
        self, lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64], /, *, tol: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...

def ollivier_ricci_csr(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.float64],
    /,
    *,
    alpha: float = 0.5,
    base: float = ...,
    exp_power: float = 2.0,
    self_mass: npt.NDArray[np.float64] | None = None,
    nbr_mass: npt.NDArray[np.float64] | None = None,
    method: str = "exact",
    reg: float = 0.1,
    n_threads: int | None = None,
    owners: tuple[int, int] | None = None,
    progress: Callable[[int], object] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ollivier-Ricci curvature of every stored entry of a symmetric CSR matrix of edge lengths.

    Measures are GraphRicciCurvature's (alpha, base, exp_power) unless self_mass (per node) and
    nbr_mass (per stored entry) are given. Returns (curvature per entry, curvature per node).
    Ctrl-C raises KeyboardInterrupt; ``progress(n_edges_done)`` is called about every 50 ms.
    """

def volume_sum_allowance(box_volume: float, facet_area_sum: float, reach: float, /) -> float:
    """The relative volume-sum error the core accepts (``mlgeom_core::measure::volume_sum_allowance``).

    1e-9 + 64 eps reach facet_area_sum / box_volume (facets counted once per cell; reach in local coordinates).
    """
