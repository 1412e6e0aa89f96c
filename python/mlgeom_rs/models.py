"""Adapters: the partition of a box that a trained model induces, with the model's prediction per cell.

:func:`partition` reads a model's weights (it never re-implements the model) and hands them to the
exact partitions of the core, following Gajer & Ravel, "The Geometry of Machine Learning Models"
(arXiv 2508.02080), §2:

=========================================================  ==========================================
model                                                      cells (``regions``)
=========================================================  ==========================================
``(weights, biases)`` lists of numpy arrays (torch layout)  activation regions (``"activation"``)
``torch.nn.Sequential`` of ``Linear``/``ReLU``              activation regions
scikit-learn ``MLPClassifier``/``MLPRegressor`` (ReLU)      activation regions
scikit-learn linear classifier, two classes                 the two half-spaces of w·x + b = 0
scikit-learn linear classifier, K > 2 classes               decision regions (``"decision"``) or the
                                                           one-vs-rest arrangement (``"ovr"``)
scikit-learn linear regressor, a single affine layer        the box itself, one cell (``"box"``)
scikit-learn decision trees and forests                     leaves (``mlgeom_rs.trees``)
=========================================================  ==========================================

The result is a :class:`ModelPartition`: a :class:`~mlgeom_rs.Partition` (so every method and every
function that takes a Partition works on it) that also carries ``predictions``, the model's own
``predict`` at each cell's interior point, and ``predict(X)``, the model's prediction computed through
the partition. torch and scikit-learn are optional: they are imported only when such a model is
passed, and ``import mlgeom_rs`` never imports them.

Hook for tree models: if the module ``mlgeom_rs.trees`` exists and defines
``partition_tree(model, box, *, n_threads, max_cells, ridges)``, decision trees and forests are passed
to it (and ``check=`` too when its signature takes it); it should return a :class:`ModelPartition`,
e.g. through :func:`attach_predictions`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ._progress import ProgressArg
from ._validate import as_points
from .box import Box
from .exceptions import InvalidInputError, NumericalError, UnsupportedModelError
from .partition import DEFAULT_MAX_CELLS, Partition, _readonly, partition_hyperplanes
from .relu import AffineMaps, ReluPartition, _layers, partition_relu

if TYPE_CHECKING:
    from .distributed import ShardedPartition

__all__ = [
    "LinearModelPartition",
    "ModelPartition",
    "ReluModelPartition",
    "attach_predictions",
    "partition",
    "relu_layers",
]

Regions = Literal["activation", "decision", "ovr", "box", "leaves"]
HeadKind = Literal["identity", "argmax", "threshold", "multilabel", "cell"]

SUPPORTED = (
    "a (weights, biases) pair of lists of numpy arrays (torch layout, ReLU between layers); "
    "torch.nn.Sequential of Linear and ReLU layers (Flatten, Identity, eval-mode Dropout skipped); "
    "scikit-learn MLPClassifier/MLPRegressor with activation='relu'; scikit-learn linear models with coef_ and "
    "intercept_ (LogisticRegression, LinearSVC, SGDClassifier, Perceptron, RidgeClassifier, LinearRegression, "
    "Ridge, ...); scikit-learn decision trees and forests"
)


# ------------------------------------------------------------------------------------------------ output rules
@dataclass(frozen=True)
class _Head:
    """How raw outputs z (N, k) become the model's predictions.

    ``identity``: z itself (``ravel`` for a model whose predict returns 1-D values); ``argmax``:
    ``classes[argmax_k z]``; ``threshold``: ``classes[z_0 > 0]`` (two classes, one score or logit);
    ``multilabel``: ``z > 0`` as 0/1 per label; ``cell``: constant per cell, looked up by cell.
    """

    kind: HeadKind
    classes: npt.NDArray[Any] | None = None
    ravel: bool = False

    def apply(self, z: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
        if self.kind == "identity":
            return z[:, 0] if self.ravel else z
        if self.kind == "multilabel":
            return (z > 0).astype(np.int64)
        assert self.classes is not None
        if self.kind == "argmax":
            return np.asarray(self.classes[np.argmax(z, axis=1)])
        if self.kind == "threshold":
            return self.classes[(z[:, 0] > 0).astype(np.intp)]
        raise AssertionError(f"no affine rule for head {self.kind!r}")

    def near_tie(self, z: npt.NDArray[np.float64], tol: float) -> npt.NDArray[np.bool_]:
        """Rows whose prediction could flip under a relative perturbation of size ``tol``."""
        slack = tol * (1.0 + np.abs(z).max(axis=1, initial=0.0))
        if self.kind == "argmax" and z.shape[1] > 1:
            top = np.sort(z, axis=1)[:, -2:]
            return np.asarray(top[:, 1] - top[:, 0] <= slack)
        if self.kind == "threshold":
            return np.asarray(np.abs(z[:, 0]) <= slack)
        if self.kind == "multilabel":
            return np.asarray((np.abs(z) <= slack[:, None]).any(axis=1))
        return np.zeros(z.shape[0], dtype=bool)


def _check(
    model_type: str,
    head: _Head,
    predictions: npt.NDArray[Any],
    z: npt.NDArray[np.float64],
    points: npt.NDArray[np.float64],
    tol: float,
) -> None:
    """Raise :class:`NumericalError` where the model's own output at the interior points disagrees with
    the partition's affine maps (beyond rounding for values, or away from a near-tie for classes)."""
    derived = head.apply(z)
    if predictions.shape != derived.shape:
        raise NumericalError(
            f"{model_type} returned predictions of shape {predictions.shape} at the interior points, but its "
            f"weights give shape {derived.shape}; the model's layout was not understood"
        )
    n = predictions.shape[0]
    if head.kind == "identity":
        scale = 1.0 + float(np.abs(z).max(initial=0.0))
        close = np.isclose(predictions, derived, rtol=tol, atol=tol * scale).reshape(n, -1).all(axis=1)
        bad = np.flatnonzero(~close)
    else:
        same = (predictions == derived).reshape(n, -1).all(axis=1)
        bad = np.flatnonzero(~same & ~head.near_tie(z, tol))
    if bad.size:
        i = int(bad[0])
        raise NumericalError(
            f"{model_type} disagrees with its partition at {bad.size} of {n} interior points; first: cell {i} at "
            f"{points[i].tolist()}: the model gives {predictions[i]!r}, the cell's affine map {derived[i]!r} "
            "(raw outputs " + np.array2string(z[i], precision=6) + "). Pass check=False to skip this check"
        )


# ------------------------------------------------------------------------------------------------ results
P = TypeVar("P", bound=Partition)


class ModelPartition(Partition):
    """A :class:`~mlgeom_rs.Partition` of a box induced by a model, with the model's prediction per cell.

    Returned by :func:`partition`; ``isinstance(result, Partition)`` holds and every Partition
    method works unchanged (the object *is* the partition, re-typed, not a wrapper). On top:

    - :attr:`predictions`: the model's own ``predict`` at each cell's interior point;
    - :attr:`constant_per_cell`: whether that prediction holds on the whole cell. It does for the
      decision regions of a linear classifier and for tree leaves. On the activation regions of a
      ReLU classifier the class can change inside a cell (where the cell's affine logits cross),
      and a regressor's value is affine, not constant, on each cell;
    - :meth:`predict`: the model's prediction at any point of the box computed through the partition
      (the cell's affine map and the model's output rule), equal to ``model.predict`` up to rounding.
    """

    _predictions: npt.NDArray[Any]
    _classes: npt.NDArray[Any] | None
    _model_type: str
    _regions: str
    _constant: bool
    _head: _Head

    @property
    def predictions(self) -> npt.NDArray[Any]:
        """The model's prediction at each cell's :attr:`interior_points`, read-only, shape (n_cells,)
        or (n_cells, n_outputs): class labels (dtype of ``classes``) for a classifier, values for a
        regressor, raw outputs for a torch model or a (weights, biases) pair."""
        return self._predictions

    @property
    def classes(self) -> npt.NDArray[Any] | None:
        """The classifier's ``classes_``, or None for a regressor or a raw network."""
        return self._classes

    @property
    def model_type(self) -> str:
        """The model's class, e.g. ``'sklearn.neural_network.MLPClassifier'``."""
        return self._model_type

    @property
    def regions(self) -> str:
        """What the cells are: ``'activation'`` (ReLU activation regions), ``'decision'`` (pieces of
        the decision regions), ``'ovr'`` (one-vs-rest arrangement), ``'box'`` (one cell) or ``'leaves'``."""
        return self._regions

    @property
    def constant_per_cell(self) -> bool:
        """Whether ``predictions[i]`` is the model's prediction everywhere in the interior of cell i."""
        return self._constant

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """The model's prediction at each row of ``X`` (N, d), computed through the partition.

        For affine models (ReLU networks, linear models) the containing cell's affine map gives the
        raw outputs and the model's rule (argmax, threshold, identity) turns them into predictions;
        for piecewise-constant models the cell's prediction is returned.

        Raises
        ------
        InvalidInputError
            If a point lies outside the box (the partition says nothing there).
        """
        pts = as_points(X, self.dim, "X")
        outside = np.flatnonzero(~self.box.contains(pts))
        if outside.size:
            k = int(outside[0])
            raise InvalidInputError(
                f"{outside.size} of the {pts.shape[0]} points lie outside the box {self.box!r} (first: row {k}, "
                f"{pts[k].tolist()}); the partition only covers the box"
            )
        if self._head.kind == "cell":
            return self._predictions[self.locate(pts)]
        evaluate: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]] = self.evaluate  # type: ignore[attr-defined]
        return self._head.apply(evaluate(pts))

    def summary(self, max_rows: int = 10) -> str:
        """As :meth:`Partition.summary`, with the model and its predictions."""
        preds = self._predictions
        if self._classes is not None and preds.ndim == 1:
            labels, counts = np.unique(preds, return_counts=True)
            shown = ", ".join(
                f"{label!r}: {count}" for label, count in zip(labels.tolist(), counts.tolist(), strict=True)
            )
            what = f"cells per class {{{shown}}}"
        elif preds.size:
            what = f"values in [{float(np.min(preds)):.6g}, {float(np.max(preds)):.6g}] at the interior points"
        else:
            what = "none"
        extra = [
            f"  model         {self._model_type} (regions: {self._regions})",
            f"  predictions   {what}{'' if self._constant else '; not constant on cells'}",
        ]
        lines = super().summary(max_rows).split("\n")
        at = next((k for k, line in enumerate(lines) if not line.strip()), len(lines))  # before the cell table
        return "\n".join(lines[:at] + extra + lines[at:])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self._model_type}, regions={self._regions!r}, "
            f"n_cells={self.n_cells}, dim={self.dim}, box={self.box!r})"
        )


class ReluModelPartition(ReluPartition, ModelPartition):
    """The activation regions of a ReLU network (numpy, torch or scikit-learn) with the model's
    predictions; a :class:`~mlgeom_rs.ReluPartition` and a :class:`ModelPartition`."""

    def __repr__(self) -> str:
        return ModelPartition.__repr__(self)


class LinearModelPartition(ModelPartition):
    """The partition of a linear model (or a single affine layer), with its scores as affine maps.

    The scores ``s(x) = coef @ x + intercept`` (the model's ``decision_function`` for a classifier,
    its ``predict`` for a regressor) are one affine map on the whole box; :attr:`affine_maps` repeats
    it per cell, as :attr:`ReluPartition.affine_maps` does, so the two kinds of result are used alike.
    """

    _coef: npt.NDArray[np.float64]
    _intercept: npt.NDArray[np.float64]

    @property
    def coef(self) -> npt.NDArray[np.float64]:
        """The score map's matrix, float64 (k, d), read-only."""
        return self._coef

    @property
    def intercept(self) -> npt.NDArray[np.float64]:
        """The score map's offset, float64 (k,), read-only."""
        return self._intercept

    @cached_property
    def affine_maps(self) -> AffineMaps:
        """Per cell, the scores as an affine map (the same on every cell): jacobians (n, k, d), offsets (n, k)."""
        n = self.n_cells
        jac = np.ascontiguousarray(np.broadcast_to(self._coef, (n, *self._coef.shape)))
        off = np.ascontiguousarray(np.broadcast_to(self._intercept, (n, self._intercept.shape[0])))
        return AffineMaps(_readonly(jac), _readonly(off))

    def evaluate(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The scores at each row of ``X`` (N, d), float64 (N, k); NaN outside the box."""
        pts = as_points(X, self.dim, "X")
        out = pts @ self._coef.T + self._intercept
        out[~self.box.contains(pts)] = np.nan
        return out


_KNOWN: dict[type[Partition], type[ModelPartition]] = {Partition: ModelPartition, ReluPartition: ReluModelPartition}


_DERIVED: dict[type[Partition], type[ModelPartition]] = {}


def _model_class(base: type[Partition]) -> type[ModelPartition]:
    """The ModelPartition subclass for results of class ``base`` (made once per class)."""
    if issubclass(base, ModelPartition):
        return base
    if base in _KNOWN:
        return _KNOWN[base]
    if base not in _DERIVED:
        doc = f"A :class:`{base.__name__}` with the model's predictions; see :class:`ModelPartition`."
        _DERIVED[base] = type(f"Model{base.__name__}", (base, ModelPartition), {"__module__": __name__, "__doc__": doc})
    return _DERIVED[base]


def attach_predictions(
    part: Partition,
    predictions: npt.ArrayLike,
    *,
    model_type: str,
    regions: str,
    constant_per_cell: bool,
    classes: npt.ArrayLike | None = None,
    cls: type[ModelPartition] | None = None,
    _head: _Head | None = None,
    **attributes: Any,
) -> ModelPartition:
    """Turn ``part`` into a :class:`ModelPartition` in place (and return it).

    For adapters (e.g. ``mlgeom_rs.trees``): ``predictions`` has one row per cell; the object keeps
    all its data and methods and gains the :class:`ModelPartition` ones. Its class becomes ``cls``,
    by default the ModelPartition subclass of its own class (``Partition`` → ``ModelPartition``,
    ``ReluPartition`` → ``ReluModelPartition``, any other ``X`` → a subclass of ``X`` and
    ModelPartition). Without an affine output rule, :meth:`ModelPartition.predict` returns the
    prediction of the containing cell. ``attributes`` are set on the object as they are.
    """
    preds = np.asarray(predictions)
    if preds.ndim == 0 or preds.shape[0] != part.n_cells:
        raise InvalidInputError(f"predictions must have one row per cell ({part.n_cells}); got shape {preds.shape}")
    target = cls if cls is not None else _model_class(type(part))
    if not issubclass(target, type(part)):
        raise InvalidInputError(f"{target.__name__} is not a subclass of {type(part).__name__}")
    part.__class__ = target
    assert isinstance(part, ModelPartition)
    part._predictions = _readonly(preds.copy())
    part._classes = None if classes is None else _readonly(np.asarray(classes).copy())
    part._model_type = model_type
    part._regions = regions
    part._constant = bool(constant_per_cell)
    part._head = _head if _head is not None else _Head("cell")
    for name, value in attributes.items():
        setattr(part, name, value)
    return part


# ------------------------------------------------------------------------------------------------ dispatch
@overload
def partition(
    model: Any,
    box: Box | tuple[Any, Any],
    *,
    regions: Regions | None = ...,
    output_layer: bool | None = ...,
    check: bool = ...,
    n_threads: int | None = ...,
    max_cells: int = ...,
    ridges: bool = ...,
    client: None = ...,
    out: None = ...,
    shards: None = ...,
) -> ModelPartition: ...
@overload
def partition(
    model: Any,
    box: Box | tuple[Any, Any],
    *,
    regions: Regions | None = ...,
    output_layer: bool | None = ...,
    check: bool = ...,
    n_threads: int | None = ...,
    max_cells: int = ...,
    ridges: bool = ...,
    client: Any,
    out: str | os.PathLike[str] | None = ...,
    shards: int | Sequence[int] | None = ...,
) -> ShardedPartition: ...
def partition(
    model: Any,
    box: Box | tuple[Any, Any],
    *,
    regions: Regions | None = None,
    output_layer: bool | None = None,
    check: bool = True,
    n_threads: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    ridges: bool = True,
    exact: bool = False,
    progress: ProgressArg = None,
    client: Any = None,
    out: str | os.PathLike[str] | None = None,
    shards: int | Sequence[int] | None = None,
) -> ModelPartition | ShardedPartition:
    """Cut ``box`` into the cells a trained model induces, with the model's prediction per cell.

    Parameters
    ----------
    model
        One of

        - ``(weights, biases)``: lists of numpy arrays, ``weights[l]`` of shape (out, in) as in
          ``torch.nn.Linear``; ReLU between layers; the last layer is the linear output layer
          unless ``output_layer=False``. Cells: activation regions (see :func:`partition_relu`).
        - ``torch.nn.Sequential`` of ``Linear`` and ``ReLU``, alternating, starting with ``Linear``;
          ``Flatten``, ``Identity`` and ``Dropout`` (in eval mode) are skipped, nested Sequentials are
          flattened. A final ``ReLU`` means the output is the last hidden layer's activation
          (``output_layer=False``). A single ``Linear`` is one affine map: one cell.
        - scikit-learn ``MLPClassifier``/``MLPRegressor`` with ``activation='relu'`` (``coefs_`` are
          (in, out) and are transposed).
        - a scikit-learn linear model (anything with ``coef_`` and ``intercept_``). Scores
          ``s_k(x) = w_k·x + b_k``. Two classes: the two sides of the hyperplane ``w·x + b = 0``.
          K > 2 classes, ``regions='decision'`` (default): the arrangement of the K(K-1)/2 pairwise
          hyperplanes ``(w_a - w_b)·x + (b_a - b_b) = 0``, on whose cells the argmax is constant;
          the cells with equal prediction together form that class's decision region
          ``{x : s_a(x) >= s_b(x) for all b}``, which is convex, so they are adjacent pieces of one
          region. ``regions='ovr'``: the arrangement of the K one-vs-rest hyperplanes ``s_k = 0``
          (bit k = class k's score is positive); the class can change inside its cells. A one-vs-one
          ``SVC(kernel='linear')``: the arrangement of its K(K-1)/2 hyperplanes (the votes are
          constant on each cell). A regressor: one cell, the box, with the affine prediction.
        - a scikit-learn decision tree or forest, passed to ``mlgeom_rs.trees.partition_tree``.
    box : Box or (lo, hi)
        The input domain, e.g. ``Box.from_data(X)``.
    regions : {'decision', 'ovr'}, optional
        Linear classifiers only, see above. Other models accept only their own kind
        (``'activation'``, ``'box'``, ``'leaves'``) or None.
    output_layer : bool, optional
        ``(weights, biases)`` only: whether the last layer is a linear output layer (default True).
    check : bool, default True
        Verify the partition against the model: the model's own output at every cell's interior point
        (``model.predict``, or the forward pass for torch and numpy) must match the cell's affine
        map, up to ``sqrt(eps)`` of the model's dtype relative to the output's size (classes may
        differ only where two scores tie to that precision). Raises :class:`NumericalError` if not.
    n_threads, max_cells, ridges, exact, progress
        As in :func:`partition_hyperplanes` (``exact=True``: every combinatorial decision certified with exact
        rational arithmetic on the model's float weights; tree and forest partitions are always exact).
        Ctrl-C stops the work within about 50 ms for every model; ``progress`` reports cells done
        (trees and forests: as in ``partition_tree``).
    client, out, shards
        Scale out on Dask (ReLU networks only: a pair, torch or scikit-learn MLP), as in
        :func:`partition_relu`: returns a :class:`~mlgeom_rs.distributed.ShardedPartition` whose cells table
        holds the network's raw output at each interior point (``prediction``; no classifier head, no
        ``check``).

    Returns
    -------
    ModelPartition
        :class:`ReluModelPartition` for ReLU networks, :class:`LinearModelPartition` for linear
        models, whatever ``mlgeom_rs.trees`` returns for trees. ``predictions`` holds the model's
        prediction at each cell's interior point; ``predict(X)`` reproduces ``model.predict``.

    Raises
    ------
    UnsupportedModelError
        Another model type, layer or activation (the message lists what is supported).
    InvalidInputError
        An unfitted model, a box of the wrong dimension, a bad option, a torch model with active
        Dropout (call ``model.eval()``).
    TooManyCellsError, NumericalError
        As in :func:`partition_hyperplanes`; NumericalError also when ``check`` fails.

    Examples
    --------
    >>> import numpy as np, mlgeom_rs as mg
    >>> W1, b1 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0])
    >>> W2, b2 = np.array([[1.0, 1.0]]), np.array([-0.5])
    >>> part = mg.partition(([W1, W2], [b1, b2]), mg.Box(-1, 1, dim=2))
    >>> part.labels, part.regions
    (['00', '01', '10', '11'], 'activation')
    >>> part.predict([[0.25, 0.5]])
    array([[0.25]])
    """
    if not isinstance(check, bool | np.bool_):
        raise InvalidInputError(f"check must be True or False; got {check!r}")
    if client is not None or out is not None or shards is not None:
        return _relu_on_cluster(model, box, output_layer, n_threads, max_cells, ridges, client, out, shards, exact)
    options: dict[str, Any] = {
        "n_threads": n_threads,
        "max_cells": max_cells,
        "ridges": ridges,
        "exact": exact,
        "progress": progress,
    }
    if output_layer is not None and not _is_weight_pair(model):
        raise InvalidInputError(
            "output_layer= applies only to a (weights, biases) pair; for a torch model a trailing ReLU decides it"
        )

    if _is_weight_pair(model):
        _regions_for(regions, "activation", "a (weights, biases) pair")
        return _numpy_net(
            model, box, output_layer=True if output_layer is None else output_layer, check=bool(check), options=options
        )

    from . import _sklearn, _torch

    if _torch.is_torch_object(model):
        _regions_for(regions, "activation", "a torch model")
        net = _torch.read_torch(model)
        return _relu(
            _type_name(model),
            net.weights,
            net.biases,
            net.output_layer,
            _Head("identity"),
            net.forward,
            net.eps,
            box,
            bool(check),
            options,
        )

    if _sklearn.is_tree_model(model):
        _regions_for(regions, "leaves", "a tree model")
        return _tree(model, box, bool(check), options)

    if _sklearn.is_mlp(model):
        _regions_for(regions, "activation", type(model).__name__)
        mlp = _sklearn.read_mlp(model)
        return _relu(
            _type_name(model),
            mlp.weights,
            mlp.biases,
            True,
            _Head(mlp.head, mlp.classes),
            _sklearn_predict(model),
            mlp.eps,
            box,
            bool(check),
            options,
        )

    if _sklearn.is_linear_model(model):
        lm = _sklearn.read_linear(model)
        return _linear(
            _type_name(model),
            lm.coef,
            lm.intercept,
            lm.task,
            lm.classes,
            regions,
            _sklearn_predict(model),
            lm.eps,
            box,
            bool(check),
            options,
        )

    if _is_array_pair(model):
        raise UnsupportedModelError(
            "a pair of arrays is ambiguous: for hyperplanes W @ x + c = 0 call partition_hyperplanes(W, c, box); "
            "for a ReLU network pass lists of per-layer arrays: ([W1, W2, ...], [b1, b2, ...])"
        )
    raise UnsupportedModelError(f"cannot partition a {_type_name(model)}; supported: {SUPPORTED}")


def _relu_on_cluster(
    model: Any,
    box: Box | tuple[Any, Any],
    output_layer: bool | None,
    n_threads: int | None,
    max_cells: int,
    ridges: bool,
    client: Any,
    out: str | os.PathLike[str] | None,
    shards: int | Sequence[int] | None,
    exact: bool = False,
) -> ShardedPartition:
    from . import _sklearn

    if _sklearn.is_tree_model(model) or _sklearn.is_linear_model(model):
        raise UnsupportedModelError(
            f"client= scales out ReLU networks and hyperplane arrangements; partition a {_type_name(model)} on "
            "one machine (without client=), or call partition_hyperplanes(W, c, box, client=...)"
        )
    if _is_weight_pair(model):
        ws, bs = _layers(model[0], model[1])
        has_output = True if output_layer is None else bool(output_layer)
    else:
        ws, bs, has_output = relu_layers(model)
    weights: list[npt.ArrayLike] = list(ws)
    biases: list[npt.ArrayLike] = list(bs)
    return partition_relu(
        weights,
        biases,
        box,
        output_layer=has_output,
        n_threads=n_threads,
        max_cells=max_cells,
        ridges=ridges,
        exact=exact,
        client=client,
        out=out,
        shards=shards,
    )


def relu_layers(model: Any) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]], bool]:
    """The layers of a ReLU network as float64 arrays in torch layout: ``(weights, biases, output_layer)``.

    ``model`` is a ``(weights, biases)`` pair of per-layer lists (the last layer is the linear output
    layer), a torch ``Sequential`` of ``Linear``/``ReLU`` (a trailing ReLU means there is no output
    layer) or a scikit-learn ``MLPClassifier``/``MLPRegressor`` with ReLU activation. ``weights[l]``
    is (out, in); ``output_layer`` says whether the last layer is affine (not followed by ReLU).
    """
    if _is_weight_pair(model):
        ws, bs = _layers(*model)
        return ws, bs, True
    from . import _sklearn, _torch

    if _torch.is_torch_object(model):
        net = _torch.read_torch(model)
        return net.weights, net.biases, net.output_layer
    if _sklearn.is_mlp(model):
        mlp = _sklearn.read_mlp(model)
        return mlp.weights, mlp.biases, True
    raise UnsupportedModelError(
        f"{_type_name(model)} is not a ReLU network; give a (weights, biases) pair of per-layer lists, a torch "
        "Sequential of Linear and ReLU layers or a scikit-learn MLP with activation='relu'"
    )


# ------------------------------------------------------------------------------------------------ helpers
def _type_name(model: object) -> str:
    klass = type(model)
    module = ".".join(part for part in klass.__module__.split(".") if not part.startswith("_"))
    return f"{module}.{klass.__qualname__}" if module and module != "builtins" else klass.__qualname__


def _is_weight_pair(model: object) -> bool:
    return isinstance(model, tuple | list) and len(model) == 2 and all(isinstance(part, list | tuple) for part in model)


def _is_array_pair(model: object) -> bool:
    return isinstance(model, tuple | list) and len(model) == 2 and any(isinstance(p, np.ndarray) for p in model)


def _regions_for(regions: str | None, only: str, what: str) -> None:
    if regions is not None and regions != only:
        raise InvalidInputError(f"regions={regions!r} does not apply to {what}; its cells are always {only!r}")


def _sklearn_predict(model: Any) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]]:
    def predict(points: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
        with warnings.catch_warnings():
            # A model fitted on a DataFrame warns about the missing feature names of a plain array.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return np.asarray(model.predict(points))

    return predict


def _tolerance(eps: float) -> float:
    return max(float(np.sqrt(eps)), 1e-10)


def _numpy_net(
    model: Any, box: Box | tuple[Any, Any], *, output_layer: bool, check: bool, options: dict[str, Any]
) -> ModelPartition:
    ws, bs = _layers(*model)
    if not isinstance(output_layer, bool | np.bool_):
        raise InvalidInputError(f"output_layer must be True or False; got {output_layer!r}")
    hidden = len(ws) - 1 if output_layer else len(ws)

    def forward(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # The network the pair describes (there is no other model to ask): ReLU on the hidden layers.
        h = points
        for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = h @ w.T + b
            if k < hidden:
                h = np.maximum(h, 0.0)
        return h

    eps = float(np.finfo(np.float64).eps)
    return _relu("(weights, biases)", ws, bs, bool(output_layer), _Head("identity"), forward, eps, box, check, options)


def _relu(
    model_type: str,
    weights: list[npt.NDArray[np.float64]],
    biases: list[npt.NDArray[np.float64]],
    output_layer: bool,
    head: _Head,
    predict: Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]],
    eps: float,
    box: Box | tuple[Any, Any],
    check: bool,
    options: dict[str, Any],
) -> ModelPartition:
    """Activation regions via :func:`partition_relu`; a single affine output layer is one cell."""
    if output_layer and len(weights) == 1:
        task = {"threshold": "binary", "argmax": "multiclass"}.get(head.kind, "network")
        return _linear(
            model_type, weights[0], biases[0], task, head.classes, None, predict, eps, box, check, options, head=head
        )
    layers: tuple[list[npt.ArrayLike], list[npt.ArrayLike]] = (list(weights), list(biases))
    part = partition_relu(*layers, box, output_layer=output_layer, **options)
    points = part.interior_points
    preds = np.asarray(predict(points))
    jac, off = part.affine_maps
    z = np.einsum("nod,nd->no", jac, points) + off
    head = _Head(head.kind, head.classes, ravel=head.kind == "identity" and preds.ndim == 1)
    if check:
        _check(model_type, head, preds, z, points, _tolerance(eps))
    return attach_predictions(
        part,
        preds,
        model_type=model_type,
        regions="activation",
        constant_per_cell=False,
        classes=head.classes,
        cls=ReluModelPartition,
        _head=head,
    )


def _linear(
    model_type: str,
    coef: npt.NDArray[np.float64],
    intercept: npt.NDArray[np.float64],
    task: str,
    classes: npt.NDArray[Any] | None,
    regions: str | None,
    predict: Callable[[npt.NDArray[np.float64]], npt.NDArray[Any]],
    eps: float,
    box: Box | tuple[Any, Any],
    check: bool,
    options: dict[str, Any],
    *,
    head: _Head | None = None,
) -> ModelPartition:
    """Arrangement of the hyperplanes on which the linear model's prediction can change."""
    d = coef.shape[1]
    constant = True
    if task in ("regression", "network"):  # a single affine layer: nothing splits the box
        _regions_for(regions, "box", f"a {model_type}")
        regions, normals, offsets = "box", np.zeros((0, d)), np.zeros(0)
        constant = False
        head = head or _Head("identity", classes)
    elif task == "binary":
        regions = regions or "decision"
        _regions_choice(regions)
        normals, offsets = coef, intercept
        head = _Head("threshold", classes)
    elif task == "ovo":
        _regions_for(regions, "decision", "a one-vs-one SVC")
        regions, normals, offsets = "decision", coef, intercept
        head = _Head("cell", classes)
    else:
        regions = regions or "decision"
        _regions_choice(regions)
        head = _Head("argmax", classes)
        if regions == "decision":
            a, b = np.triu_indices(coef.shape[0], k=1)
            normals, offsets = coef[a] - coef[b], intercept[a] - intercept[b]
        else:
            normals, offsets = coef, intercept
            constant = False
    # A zero normal with a zero offset splits nothing (e.g. two classes with equal scores everywhere).
    keep = normals.any(axis=1) | (offsets != 0.0)
    part = partition_hyperplanes(normals[keep], offsets[keep], box, **options)
    points = part.interior_points
    preds = np.asarray(predict(points))
    if head.kind == "identity":
        head = _Head("identity", head.classes, ravel=preds.ndim == 1)
    if check and head.kind != "cell":
        z = points @ coef.T + intercept
        _check(model_type, head, preds, z, points, _tolerance(eps))
    return attach_predictions(
        part,
        preds,
        model_type=model_type,
        regions=regions,
        constant_per_cell=constant,
        classes=classes,
        cls=LinearModelPartition,
        _head=head,
        _coef=_readonly(np.array(coef, dtype=np.float64)),
        _intercept=_readonly(np.array(intercept, dtype=np.float64)),
    )


def _regions_choice(regions: str) -> None:
    if regions not in ("decision", "ovr"):
        raise InvalidInputError(f"regions must be 'decision' or 'ovr' for a linear classifier; got {regions!r}")


def _tree(model: Any, box: Box | tuple[Any, Any], check: bool, options: dict[str, Any]) -> ModelPartition:
    try:
        trees = importlib.import_module(f"{__package__}.trees")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.trees":
            raise
        trees = None
    hook = getattr(trees, "partition_tree", None)
    if hook is None:
        raise UnsupportedModelError(
            f"{type(model).__name__}: decision trees and forests need mlgeom_rs.trees.partition_tree, which this "
            f"build does not have; supported here: {SUPPORTED}"
        )
    params = inspect.signature(hook).parameters
    kwargs = {key: value for key, value in options.items() if key != "progress" or key in params}
    if "check" in params:
        kwargs["check"] = check
    if "exact" not in params:
        del kwargs["exact"]  # a box partition compares thresholds exactly anyway
    result: ModelPartition = hook(model, box, **kwargs)
    return result
