"""Exact partitions of scikit-learn decision trees and forests: the common refinement of their leaves.

A decision tree cuts its input space into axis-aligned boxes, its leaves. A forest's prediction is
constant on every nonempty intersection of one leaf per tree, so its partition is the *common
refinement* of the trees' leaves, clipped to the box (Gajer & Ravel, arXiv 2508.02080, §2). The
Rust core builds it by recursive box splitting and returns every cell (a box) with its volume, its
leaf in every tree, its facets (shared (d-1)-pieces with areas and normals; one side of a cell can
meet several cells across, a T-junction) and a point-location tree.

scikit-learn compares ``float32(x[feature]) <= threshold``. So that the partition agrees with
``model.predict`` at *every* float64 point, each threshold is replaced by the float64 boundary of that
rule (the largest float64 ``x`` with ``float32(x) <= threshold``); it differs from ``tree_.threshold``
by less than one float32 rounding step (:attr:`TreePartition.planes` holds the values used).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._progress import ProgressArg, progress_callback
from ._validate import as_flag, as_points, positive_int, resolve_n_threads
from .box import Box
from .exceptions import InvalidInputError, NumericalError, UnsupportedModelError
from .models import ModelPartition, attach_predictions
from .partition import DEFAULT_MAX_CELLS, _as_box, _readonly
from .tables import RidgeTable

__all__ = ["TreePartition", "partition_tree"]

#: The scikit-learn estimators read here (subclasses too), by class name.
SUPPORTED_TREES = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)


def _float32_thresholds(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The largest float64 ``b`` per entry such that ``x <= b`` iff ``float32(x) <= t`` (round to nearest even)."""
    with np.errstate(over="ignore"):
        p = t.astype(np.float32)  # nearest float32, possibly above t (or infinite)
        p = np.where(p.astype(np.float64) > t, np.nextafter(p, np.float32(-np.inf)), p)  # largest float32 <= t
        q = np.nextafter(p, np.float32(np.inf))  # the next float32 up
    p64 = p.astype(np.float64)
    q64 = q.astype(np.float64)
    p64[np.isneginf(p64)] = -(2.0**128)  # below -max: only -inf is <= t
    q64[np.isposinf(q64)] = 2.0**128  # p is the largest float32: the boundary is the overflow point
    mid = 0.5 * p64 + 0.5 * q64  # exact: p and q are float32 numbers
    even = (p.view(np.uint32) & np.uint32(1)) == 0  # a tie rounds to the even one
    return np.where(even, mid, np.nextafter(mid, -np.inf)) + 0.0


def _estimators(model: Any) -> list[Any]:
    names = {klass.__name__ for klass in type(model).__mro__}
    if not names & set(SUPPORTED_TREES):
        raise UnsupportedModelError(
            f"{type(model).__name__} is not a supported tree model; supported: {', '.join(SUPPORTED_TREES)} "
            "(fitted, from scikit-learn)"
        )
    if hasattr(model, "tree_"):
        return [model]
    if getattr(model, "estimators_", None) is None:
        raise InvalidInputError(f"{type(model).__name__} is not fitted; call fit() first")
    estimators = list(model.estimators_)
    if not estimators or not all(hasattr(e, "tree_") for e in estimators):
        raise InvalidInputError(f"{type(model).__name__} has no fitted trees")
    return estimators


def partition_tree(
    model: Any,
    box: Box | tuple[Any, Any],
    *,
    n_threads: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    ridges: bool = False,
    vertices: bool | None = None,
    check: bool = True,
    exact: bool = False,
    progress: ProgressArg = None,
) -> TreePartition:
    """Cut ``box`` into the cells of a fitted scikit-learn decision tree or forest.

    A cell is a nonempty (positive-volume) intersection of one leaf of every tree with the box, so
    the model's prediction is constant on it. For a single tree the cells are its leaves clipped to
    the box; for a forest they are the common refinement of all trees' leaves.

    Parameters
    ----------
    model
        A fitted ``DecisionTreeClassifier``/``DecisionTreeRegressor``,
        ``ExtraTreeClassifier``/``ExtraTreeRegressor``, ``RandomForestClassifier``/``RandomForestRegressor``
        or ``ExtraTreesClassifier``/``ExtraTreesRegressor`` (multi-output models too).
    box : Box or (lo, hi)
        The input domain, of dimension ``model.n_features_in_``, e.g. ``Box.from_data(X)``.
    n_threads : int, optional
        Worker threads (default ``$MLGEOM_NUM_THREADS`` or all cores); the result does not depend on it.
    max_cells : int, default 10_000_000
        Stop with :class:`TooManyCellsError` beyond this many cells (a memory guard).
    ridges : bool, default False
        Accepted for :func:`mlgeom_rs.partition`; box partitions have no ridge table (all dihedral
        angles of a box are π/2, and the cells are not face to face).
    vertices : bool, optional
        Keep the ``2**d`` corners of every cell (:meth:`~mlgeom_rs.Partition.vertices`, global vertex
        ids). Default: only for d <= 10 (a 64-feature model's cells have 2**64 corners).
    progress : bool or callable, optional
        Report finished cells (a bar, or ``progress(n_cells_done)``), as in
        :func:`~mlgeom_rs.partition_hyperplanes`; Ctrl-C stops the work within about 50 ms.
    check : bool, default True
        Compare the per-cell predictions (from the leaf values) with ``model.predict`` at the cells'
        interior points, and raise :class:`NumericalError` on a disagreement (classes may differ only
        at an exact tie of the averaged probabilities, where scikit-learn's answer is kept).
    exact : bool, default False
        Accepted for :func:`mlgeom_rs.partition`: a box partition is always exact, since every decision
        compares two thresholds (floats) exactly (``Partition.exact`` is True either way).

    Returns
    -------
    TreePartition
        A :class:`~mlgeom_rs.ModelPartition` (so a :class:`~mlgeom_rs.Partition`) with ``leaf_ids``,
        ``predictions``, the cells' boxes and the split planes.

    Raises
    ------
    UnsupportedModelError
        Another model type.
    InvalidInputError
        An unfitted model, a box of the wrong dimension, a bad option.
    TooManyCellsError
        More than ``max_cells`` cells.
    NumericalError
        The check failed.

    Notes
    -----
    Conventions (see also :class:`TreePartition`):

    * **Planes**: the distinct splits ``x[feature] = threshold`` of all trees, sorted by feature, then
      threshold (the float32-adjusted thresholds, see the module notes). They are the partition's
      "hyperplanes": ``normals[k] = e_feature``, ``offsets[k] = -threshold``.
    * **Patterns**: bit k is 1 iff ``x[feature] > threshold`` of plane k throughout the cell, i.e. the
      cell's lower face on that axis is at or above the threshold. Planes that cross the cell (splits
      on branches the cell is not in) have bit 0. Cells are numbered by their lower corners
      (coordinate 0 first), which is the lexicographic order of these patterns.
    * **Nodes**: node n of tree t has the global index ``node_offsets[t] + n``; ``facets.carriers`` (and
      ``facets.class_members``) list the global indices of all nodes splitting at a facet's plane, and
      ``facets.hyperplane_class`` is the plane index.
    * Facet normals are ``±e_axis``; a point on a split belongs to the cell on its ``x <= t`` side,
      as in the trees, so :meth:`~ModelPartition.predict` reproduces ``model.predict`` exactly (except
      on a box face that is itself a split: the model's leaf beyond it has no volume in the box).
    * Per-cell data in the native payload: the cell's box ``lo`` (d), ``hi`` (d), then its leaf in
      every tree (:attr:`TreePartition.cell_lo`, :attr:`~TreePartition.cell_hi`,
      :attr:`~TreePartition.leaf_ids`). Ridges are not computed.
    """
    if not isinstance(check, bool | np.bool_):
        raise InvalidInputError(f"check must be True or False; got {check!r}")
    if not isinstance(ridges, bool | np.bool_):
        raise InvalidInputError(f"ridges must be True or False; got {ridges!r}")
    if vertices is not None and not isinstance(vertices, bool | np.bool_):
        raise InvalidInputError(f"vertices must be True, False or None; got {vertices!r}")
    estimators = _estimators(model)
    d = int(model.n_features_in_)
    box = _as_box(box, d)
    if box.dim != d:
        raise InvalidInputError(f"{type(model).__name__} takes {d} features but the box is {box.dim}-dimensional")
    threads = resolve_n_threads(n_threads)
    limit = positive_int(max_cells, "max_cells")
    as_flag(exact, "exact")
    trees = [e.tree_ for e in estimators]
    lefts = [np.ascontiguousarray(t.children_left, dtype=np.int64) for t in trees]
    rights = [np.ascontiguousarray(t.children_right, dtype=np.int64) for t in trees]
    features = [np.ascontiguousarray(t.feature, dtype=np.int64) for t in trees]
    thresholds = []
    for t, left in zip(trees, lefts, strict=True):
        raw = np.asarray(t.threshold, dtype=np.float64)
        internal = left >= 0
        adjusted = raw.copy()
        adjusted[internal] = _float32_thresholds(raw[internal])
        thresholds.append(np.ascontiguousarray(adjusted))
    if vertices and d > 30:
        raise InvalidInputError(f"vertices=True asks for 2**{d} corners per cell; pass vertices=False or None")
    with progress_callback(progress, "forest partition") as report:
        native = _core.partition_forest(
            lefts,
            rights,
            features,
            thresholds,
            box.lo,
            box.hi,
            n_threads=threads,
            max_cells=limit,
            vertices=None if vertices is None else bool(vertices),
            progress=report,
        )
    # Plane k is the split of its first carrier node.
    node_offsets = np.concatenate([[0], np.cumsum([len(x) for x in lefts])]).astype(np.int64)
    all_features = np.concatenate(features)
    all_thresholds = np.concatenate(thresholds)
    first = native.class_members()[native.class_offsets()[:-1]]
    plane_features = all_features[first]
    plane_thresholds = all_thresholds[first]
    normals = np.zeros((first.shape[0], d), dtype=np.float64)
    normals[np.arange(first.shape[0]), plane_features] = 1.0
    part = TreePartition(native, box, _readonly(normals), _readonly(-plane_thresholds + 0.0))
    part._node_offsets = _readonly(node_offsets)
    part._plane_features = _readonly(plane_features)
    part._plane_thresholds = _readonly(plane_thresholds)
    part._n_trees = len(trees)
    part._forest = (lefts, rights, features, thresholds, vertices)  # the inputs, for pickling (mlgeom_rs._pickling)

    classifier = hasattr(model, "classes_")
    leaf_ids = part.leaf_ids
    n_outputs = int(getattr(model, "n_outputs_", 1))
    proba: list[npt.NDArray[np.float64]] | None = None
    if classifier:
        n_classes = np.atleast_1d(model.n_classes_).astype(np.int64)
        classes = [np.asarray(model.classes_)] if n_outputs == 1 else [np.asarray(c) for c in model.classes_]
        proba = _class_probabilities(trees, leaf_ids, node_offsets, n_classes)
        # A single tree predicts by the argmax of its raw leaf values, a forest by that of the mean.
        scores = (
            proba
            if len(estimators) > 1 or not hasattr(model, "tree_")
            else [
                np.asarray(trees[0].value, dtype=np.float64)[leaf_ids[:, 0], k, : int(kk)]
                for k, kk in enumerate(n_classes)
            ]
        )
        preds = np.stack([classes[k].take(np.argmax(scores[k], axis=1)) for k in range(n_outputs)], axis=1)
    else:
        values = _regression_values(trees, leaf_ids, node_offsets, n_outputs)
        preds = values
    if n_outputs == 1:
        preds = preds[:, 0]
    if check:
        preds = _check(model, part.interior_points, preds, proba, classifier)
    part._probabilities = None if proba is None else [_readonly(p) for p in proba]
    return attach_predictions(
        part,
        preds,
        model_type=_type_name(model),
        regions="leaves",
        constant_per_cell=True,
        classes=np.asarray(model.classes_) if classifier and n_outputs == 1 else None,
        cls=TreePartition,
    )  # type: ignore[return-value]


def _type_name(model: object) -> str:
    klass = type(model)
    module = ".".join(part for part in klass.__module__.split(".") if not part.startswith("_"))
    return f"{module}.{klass.__qualname__}" if module and module != "builtins" else klass.__qualname__


def _tree_sums(
    table: npt.NDArray[np.float64], leaf_ids: npt.NDArray[np.int64], node_offsets: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``sum_t table[node_offsets[t] + leaf_ids[:, t]]`` per cell, (n_cells, k), added tree after tree
    (as scikit-learn accumulates, so the rounding is the same): a running sum along the tree axis, in
    blocks of cells to bound the memory."""
    n, n_trees = leaf_ids.shape
    out = np.empty((n, table.shape[1]), dtype=np.float64)
    columns = [np.ascontiguousarray(table[:, j]) for j in range(table.shape[1])]
    block = max(1, (1 << 22) // max(1, n_trees))
    for start in range(0, n, block):
        rows = slice(start, start + block)
        nodes = leaf_ids[rows] + node_offsets[:-1]  # (block, n_trees) global node ids
        for j, column in enumerate(columns):
            out[rows, j] = np.cumsum(np.take(column, nodes), axis=1)[:, -1]
    return out


def _class_probabilities(
    trees: list[Any],
    leaf_ids: npt.NDArray[np.int64],
    node_offsets: npt.NDArray[np.int64],
    n_classes: npt.NDArray[np.int64],
) -> list[npt.NDArray[np.float64]]:
    """Per output, the class probabilities per cell as scikit-learn computes them: a tree's leaf value
    (normalised where it holds counts, as older scikit-learn did), summed over the trees in order and
    divided by their number."""
    out: list[npt.NDArray[np.float64]] = []
    for k, kk in enumerate(n_classes):
        tables = []
        for tree in trees:
            table = np.asarray(tree.value, dtype=np.float64)[:, k, : int(kk)]
            sums = table.sum(axis=1)
            is_leaf = np.asarray(tree.children_left) < 0
            if not np.allclose(sums[is_leaf & (sums > 0)], 1.0, rtol=0, atol=1e-9):  # counts: normalise
                table = table / np.where(sums == 0.0, 1.0, sums)[:, None]
            tables.append(table)
        total = _tree_sums(np.concatenate(tables), leaf_ids, node_offsets)
        if len(trees) > 1:
            total /= len(trees)
        out.append(total)
    return out


def _regression_values(
    trees: list[Any], leaf_ids: npt.NDArray[np.int64], node_offsets: npt.NDArray[np.int64], n_outputs: int
) -> npt.NDArray[np.float64]:
    """The mean over the trees (summed in order, as scikit-learn does) of their leaf values, (n_cells, n_outputs)."""
    table = np.concatenate([np.asarray(tree.value, dtype=np.float64)[:, :n_outputs, 0] for tree in trees])
    total = _tree_sums(table, leaf_ids, node_offsets)
    if len(trees) > 1:
        total /= len(trees)
    return total


def _check(
    model: Any,
    points: npt.NDArray[np.float64],
    preds: npt.NDArray[Any],
    proba: list[npt.NDArray[np.float64]] | None,
    classifier: bool,
) -> npt.NDArray[Any]:
    """``preds`` checked against ``model.predict(points)``; exact class ties resolved as scikit-learn does."""
    if points.shape[0] == 0:
        return preds
    theirs = np.asarray(model.predict(points))
    if theirs.shape != preds.shape:
        raise NumericalError(
            f"{type(model).__name__}.predict returned shape {theirs.shape} at the interior points, but the leaf "
            f"values give {preds.shape}; the model's layout was not understood"
        )
    n = preds.shape[0]
    if classifier:
        assert proba is not None
        differ = (theirs != preds).reshape(n, -1)
        bad = np.zeros(n, dtype=bool)
        for k, p in enumerate(proba):
            rows = np.flatnonzero(differ[:, k])
            if rows.size == 0:
                continue
            classes = np.asarray(model.classes_ if len(proba) == 1 else model.classes_[k])
            col = theirs[rows] if len(proba) == 1 else theirs[rows, k]
            chosen = np.searchsorted(classes, col)
            top = p[rows].max(axis=1)
            theirs_p = p[rows, np.minimum(chosen, p.shape[1] - 1)]
            tie = (chosen < p.shape[1]) & (top - theirs_p <= 1e-12 * max(1.0, float(top.max(initial=0.0))))
            bad[rows[~tie]] = True
        if not bad.any():
            return theirs  # equal, or ties broken by scikit-learn
    else:
        scale = 1.0 + float(np.abs(theirs).max(initial=0.0))
        close = np.isclose(preds, theirs, rtol=1e-12, atol=1e-12 * scale).reshape(n, -1).all(axis=1)
        bad = ~close
        if not bad.any():
            return preds
    i = int(np.flatnonzero(bad)[0])
    raise NumericalError(
        f"{type(model).__name__} disagrees with its partition at {int(bad.sum())} of {n} interior points; first: "
        f"cell {i} at {points[i].tolist()}: the model gives {theirs[i]!r}, the leaves {preds[i]!r}. "
        "Pass check=False to skip this check"
    )


class TreePartition(ModelPartition):
    """The partition of a box by a decision tree or forest; see :func:`partition_tree`.

    Every cell is a box on which each tree is in one leaf. On top of :class:`~mlgeom_rs.ModelPartition`
    (``predictions``, ``classes``, ``predict``) it has the leaves per cell (:attr:`leaf_ids`), the cells'
    boxes (:attr:`cell_lo`, :attr:`cell_hi`), the class probabilities of a classifier
    (:attr:`probabilities`), the split planes (:attr:`planes`) and the global node numbering
    (:attr:`node_offsets`). Ridges are not computed (every dihedral angle of a box is π/2).
    """

    _node_offsets: npt.NDArray[np.int64]
    _plane_features: npt.NDArray[np.int64]
    _plane_thresholds: npt.NDArray[np.float64]
    _n_trees: int
    _probabilities: list[npt.NDArray[np.float64]] | None
    _forest: tuple[Any, ...]  # the native call's inputs, for pickling (mlgeom_rs._pickling)

    @property
    def n_trees(self) -> int:
        """The number of trees (1 for a single decision tree)."""
        return self._n_trees

    @cached_property
    def _payload(self) -> npt.NDArray[np.float64]:
        return self._native.payload()

    @cached_property
    def leaf_ids(self) -> npt.NDArray[np.int64]:
        """The leaf of every tree on each cell, int64 (n_cells, n_trees): node indices into that tree's
        ``tree_`` arrays (``tree_.value[leaf_ids[i, t]]`` is tree t's value on cell i)."""
        return _readonly(np.ascontiguousarray(self._payload[:, 2 * self.dim :].astype(np.int64)))

    @cached_property
    def cell_lo(self) -> npt.NDArray[np.float64]:
        """Lower corners of the cells (boxes), float64 (n_cells, d). Cells are sorted by them."""
        return _readonly(np.ascontiguousarray(self._payload[:, : self.dim]))

    @cached_property
    def cell_hi(self) -> npt.NDArray[np.float64]:
        """Upper corners of the cells (boxes), float64 (n_cells, d)."""
        return _readonly(np.ascontiguousarray(self._payload[:, self.dim : 2 * self.dim]))

    @property
    def probabilities(self) -> npt.NDArray[np.float64] | list[npt.NDArray[np.float64]] | None:
        """A classifier's ``predict_proba`` on each cell, float64 (n_cells, n_classes) (a list of such
        arrays for a multi-output model); None for a regressor."""
        p = self._probabilities
        if p is None:
            return None
        return p[0] if len(p) == 1 else list(p)

    @property
    def planes(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """``(features, thresholds)`` of the split planes, int64 (m,) and float64 (m,): plane k (pattern bit
        k, ``facets.hyperplane_class == k``) is ``x[features[k]] = thresholds[k]``, with the float32-adjusted
        thresholds (see :mod:`mlgeom_rs.trees`). Sorted by feature, then threshold."""
        return self._plane_features, self._plane_thresholds

    @property
    def node_offsets(self) -> npt.NDArray[np.int64]:
        """int64 (n_trees + 1,): node n of tree t has the global index ``node_offsets[t] + n`` (the numbering
        of ``facets.carriers``); the last entry is the total node count."""
        return self._node_offsets

    def apply(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The leaf of every tree at each row of ``X`` (N, d), int64 (N, n_trees), through the partition
        (as scikit-learn's ``apply``). Raises :class:`InvalidInputError` for points outside the box."""
        pts = as_points(X, self.dim, "X")
        cells = self.locate(pts)
        if (cells < 0).any():
            k = int(np.flatnonzero(cells < 0)[0])
            raise InvalidInputError(f"row {k} of X, {pts[k].tolist()}, lies outside the box {self.box!r}")
        return self.leaf_ids[cells]

    @property
    def ridges(self) -> RidgeTable:
        """Not computed for tree partitions in d >= 2 (raises :class:`InvalidInputError`): every dihedral
        angle of a box is π/2, and the cells are not face to face. Empty in 1-D."""
        if self.dim >= 2:
            raise InvalidInputError(
                "tree partitions have no ridge table: every cell is a box (all dihedral angles are pi/2) and "
                "cells meet in T-junctions, not face to face"
            )
        return super().ridges

    def __repr__(self) -> str:
        return (
            f"TreePartition(model={self._model_type}, n_trees={self._n_trees}, n_cells={self.n_cells}, "
            f"dim={self.dim}, box={self.box!r})"
        )
