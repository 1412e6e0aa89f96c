"""mlgeom_rs: exact geometry of the partitions that machine-learning models cut their input into.

A set of hyperplanes ``W @ x + c = 0`` (a linear layer, a linear classifier) cuts a box into
convex cells, one per sign pattern. :func:`partition_hyperplanes` computes every cell with its
volume, centroid and vertices, every facet with its area, normal and carrying hyperplane, and
every ridge with its dihedral angle, in Rust. This is the partition whose nerve and Riemannian
structure are studied in Gajer & Ravel, "The Geometry of Machine Learning Models"
(arXiv 2508.02080); Figure 1 there is ``partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6],
Box(0, 1, dim=2))``.

Public API: :class:`Box`, :func:`partition_hyperplanes`, :class:`Partition`,
:class:`FacetTable`, :class:`RidgeTable`, :func:`partition_relu` (:class:`ReluPartition`),
:func:`partition` for trained models (numpy, torch, scikit-learn; :class:`ModelPartition`),
pictures (``Partition.plot``, ``Partition.plot3d``, :func:`plot_slice`, :func:`slice_partition`;
matplotlib, optional), and
the exceptions :class:`MlgeomError`, :class:`InvalidInputError`, :class:`TooManyCellsError`,
:class:`NumericalError`, :class:`UnsupportedModelError`, :class:`MissingDependencyError`. The nerve
of a partition as a Riemannian simplicial complex: :class:`RiemannianComplex` (boundary and mass
matrices, Hodge, graph and extended Laplacians, Betti numbers, spectra; :mod:`mlgeom_rs.laplacian`;
``plot``, ``to_arrow``/``to_parquet``, ``to_networkx``, ``to_toponetx``:
:mod:`mlgeom_rs.complex_export`), :class:`SimplicialSpline` and
:func:`refine` (model refinement, :class:`RefinedModel`).
Through the layers of a ReLU network: :class:`LayerTrace` and :class:`ConstantForm` (pulled-back
forms, metrics and volumes on the data cells of every layer); :class:`GeometricPenalty` (differentiable
geometric regularization for training, torch).
"""

from __future__ import annotations

# The exceptions come first: the native module looks them up in mlgeom_rs.exceptions.
from . import exceptions
from .exceptions import (
    InvalidInputError,
    MissingDependencyError,
    MlgeomError,
    NumericalError,
    ToleranceWarning,
    TooManyCellsError,
    UnsupportedModelError,
)

try:
    from . import _core
except ImportError as _exc:  # pragma: no cover - only in a source tree without the build
    raise ImportError(
        "the native extension mlgeom_rs._core is missing; build it with "
        "`maturin develop --profile dev-opt` (or `pip install .`) in the repository root"
    ) from _exc

from .box import Box
from .complex import MassCheck, RiemannianComplex
from .curvature import (
    curvature_report,
    edge_curvature,
    forman_curvature,
    ollivier_ricci,
    vertex_curvature,
    with_curvature,
)
from .datacells import DataCells, data_cells
from .distributed import ShardedPartition  # Dask itself is imported only when a client is given
from .forms import ConstantForm, LayerTrace

# `partition` (the function) shadows the submodule mlgeom_rs.partition as a package attribute;
# `from mlgeom_rs.partition import ...` still finds the module.
from .models import LinearModelPartition, ModelPartition, ReluModelPartition, partition
from .partition import Partition, partition_hyperplanes
from .plot import plot_slice, slice_partition
from .regularize import GeometricPenalty
from .relu import AffineMaps, ReluPartition, partition_relu
from .splines import RefinedModel, SimplicialSpline, refine
from .tables import FacetTable, RidgeTable
from .trees import TreePartition, partition_tree

__version__: str = _core.__version__

__all__ = [
    "AffineMaps",
    "Box",
    "ConstantForm",
    "DataCells",
    "FacetTable",
    "GeometricPenalty",
    "InvalidInputError",
    "LayerTrace",
    "LinearModelPartition",
    "MassCheck",
    "MissingDependencyError",
    "MlgeomError",
    "ModelPartition",
    "NumericalError",
    "ToleranceWarning",
    "Partition",
    "RefinedModel",
    "ReluModelPartition",
    "ReluPartition",
    "RidgeTable",
    "RiemannianComplex",
    "ShardedPartition",
    "SimplicialSpline",
    "TooManyCellsError",
    "TreePartition",
    "UnsupportedModelError",
    "__version__",
    "curvature_report",
    "data_cells",
    "distributed",
    "edge_curvature",
    "exceptions",
    "forman_curvature",
    "ollivier_ricci",
    "partition",
    "partition_hyperplanes",
    "partition_relu",
    "partition_tree",
    "plot_slice",
    "refine",
    "slice_partition",
    "vertex_curvature",
    "with_curvature",
]
