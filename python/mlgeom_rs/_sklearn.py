"""Read fitted scikit-learn models (private; scikit-learn is imported lazily, inside functions).

Only attributes are read (``coefs_``/``intercepts_``, ``coef_``/``intercept_``, ``classes_``,
``activation``, ``out_activation_``); the model's maths is never re-implemented: predictions come
from the model's own ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .exceptions import InvalidInputError, UnsupportedModelError

__all__ = [
    "MLP",
    "SUPPORTED",
    "LinearModel",
    "is_linear_model",
    "is_mlp",
    "is_sklearn_object",
    "is_tree_model",
    "read_linear",
    "read_mlp",
]

SUPPORTED = (
    "MLPClassifier/MLPRegressor with activation='relu'; linear models with coef_ and intercept_ "
    "(LogisticRegression, LinearSVC, SGDClassifier, Perceptron, RidgeClassifier, LinearDiscriminantAnalysis, "
    "SVC(kernel='linear'), LinearRegression, Ridge, Lasso, SGDRegressor, ...); decision trees and forests"
)

# Class names in a model's MRO that mark the tree models handled by mlgeom_rs.trees.
_TREE_BASES = frozenset({"BaseDecisionTree", "BaseForest"})

HeadKind = Literal["identity", "argmax", "threshold", "multilabel"]


def is_sklearn_object(model: object) -> bool:
    """Whether ``model`` is (or subclasses) a scikit-learn class, decided without importing it."""
    return any(klass.__module__.split(".")[0] == "sklearn" for klass in type(model).__mro__)


def is_tree_model(model: object) -> bool:
    """A scikit-learn decision tree or forest (fitted or not)."""
    return is_sklearn_object(model) and any(klass.__name__ in _TREE_BASES for klass in type(model).__mro__)


def is_mlp(model: object) -> bool:
    """A scikit-learn multi-layer perceptron (``MLPClassifier``/``MLPRegressor``)."""
    return is_sklearn_object(model) and any(
        klass.__name__ == "BaseMultilayerPerceptron" for klass in type(model).__mro__
    )


def is_linear_model(model: object) -> bool:
    """Anything with ``coef_`` and ``intercept_`` (a fitted linear model), or an unfitted scikit-learn
    model from ``sklearn.linear_model``/``sklearn.svm``/``sklearn.discriminant_analysis``."""
    if hasattr(model, "coef_") and hasattr(model, "intercept_") and hasattr(model, "predict"):
        return True
    module = type(model).__module__
    return is_sklearn_object(model) and module.startswith(
        ("sklearn.linear_model", "sklearn.svm", "sklearn.discriminant_analysis")
    )


def _check_fitted(model: Any, attributes: tuple[str, ...]) -> None:
    missing = [a for a in attributes if not hasattr(model, a)]
    if missing:
        raise InvalidInputError(
            f"{type(model).__name__} has no {', '.join(missing)}: it is not fitted (call fit() first) "
            "or does not expose its weights"
        )


def _is_classifier(model: Any) -> bool:
    if is_sklearn_object(model):
        from sklearn.base import is_classifier

        return bool(is_classifier(model))
    return hasattr(model, "classes_")


def _dense(x: Any, name: str) -> npt.NDArray[np.float64]:
    if hasattr(x, "toarray"):  # scipy.sparse, after model.sparsify()
        x = x.toarray()
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise InvalidInputError(f"{name} must be numeric; got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _eps(x: Any) -> float:
    dtype = np.asarray(x).dtype
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class MLP:
    """A fitted scikit-learn MLP in torch layout."""

    weights: list[npt.NDArray[np.float64]]
    biases: list[npt.NDArray[np.float64]]
    head: HeadKind
    classes: npt.NDArray[Any] | None
    eps: float


def read_mlp(model: Any) -> MLP:
    """Weights (transposed to (out, in)), biases and the output rule of a fitted ReLU MLP."""
    activation = getattr(model, "activation", None)
    if activation != "relu":
        raise UnsupportedModelError(
            f"{type(model).__name__} with activation={activation!r} is not supported: the partition is exact only for "
            "piecewise-linear networks; refit with activation='relu'"
        )
    _check_fitted(model, ("coefs_", "intercepts_"))
    weights = [_dense(c, f"coefs_[{k}]").T.copy() for k, c in enumerate(model.coefs_)]
    biases = [_dense(b, f"intercepts_[{k}]") for k, b in enumerate(model.intercepts_)]
    out = getattr(model, "out_activation_", "identity")
    classes = np.asarray(model.classes_) if _is_classifier(model) else None
    head: HeadKind
    if classes is None:
        if out != "identity":
            raise UnsupportedModelError(f"{type(model).__name__} with out_activation_={out!r} is not supported")
        head = "identity"
    elif out == "softmax":
        head = "argmax"
    elif out == "logistic":
        head = "threshold" if weights[-1].shape[0] == 1 else "multilabel"
    else:
        raise UnsupportedModelError(f"{type(model).__name__} with out_activation_={out!r} is not supported")
    return MLP(weights, biases, head, classes, _eps(model.coefs_[0]))


@dataclass(frozen=True)
class LinearModel:
    """Scores ``coef @ x + intercept`` of a fitted linear model."""

    coef: npt.NDArray[np.float64]
    """(k, d): k = 1 (binary or one target), K classes, K(K-1)/2 one-vs-one pairs, or t targets."""
    intercept: npt.NDArray[np.float64]
    """(k,)"""
    task: Literal["binary", "multiclass", "ovo", "regression"]
    classes: npt.NDArray[Any] | None
    eps: float


def read_linear(model: Any) -> LinearModel:
    """``coef_``/``intercept_`` as (k, d)/(k,) float64, with the kind of decision rule they feed."""
    if is_sklearn_object(model):
        kernel = getattr(model, "kernel", "linear")
        if kernel != "linear":
            raise UnsupportedModelError(
                f"{type(model).__name__}(kernel={kernel!r}) is not supported: only a linear kernel gives a "
                "partition by hyperplanes"
            )
    _check_fitted(model, ("coef_", "intercept_"))
    raw = _dense(model.coef_, "coef_")
    if raw.ndim not in (1, 2):
        raise UnsupportedModelError(f"{type(model).__name__}.coef_ has shape {raw.shape}; expected (d,) or (k, d)")
    coef = raw.reshape(1, -1) if raw.ndim == 1 else raw
    k = coef.shape[0]
    intercept = np.broadcast_to(_dense(model.intercept_, "intercept_").reshape(-1), (k,)).copy()
    eps = _eps(model.coef_)
    if not _is_classifier(model):
        if is_sklearn_object(model):
            from sklearn.base import is_regressor

            if not is_regressor(model):
                raise UnsupportedModelError(
                    f"{type(model).__name__} is neither a classifier nor a regressor; supported: {SUPPORTED}"
                )
        return LinearModel(coef, intercept, "regression", None, eps)
    classes = np.asarray(model.classes_)
    n_classes = classes.shape[0]
    if classes.ndim != 1:
        raise UnsupportedModelError(f"{type(model).__name__} with multi-output targets is not supported")
    if n_classes == 2 and k == 1:
        task: Literal["binary", "multiclass", "ovo"] = "binary"
    elif hasattr(model, "support_") and n_classes > 2 and k == n_classes * (n_classes - 1) // 2:
        task = "ovo"  # libsvm's SVC/NuSVC: one hyperplane per pair of classes, majority vote
    elif n_classes > 2 and k == n_classes:
        task = "multiclass"
    else:
        raise UnsupportedModelError(
            f"{type(model).__name__} has {n_classes} classes but coef_ has {k} rows; expected 1 row for two classes "
            "or one per class (multi-label linear classifiers are not supported)"
        )
    return LinearModel(coef, intercept, task, classes, eps)
