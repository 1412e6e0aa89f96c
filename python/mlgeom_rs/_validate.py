"""Input coercion and validation shared by the public functions (private module).

Every check raises :class:`~mlgeom_rs.exceptions.InvalidInputError` with a message that
names the argument, says what was wrong and what to pass instead.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from .exceptions import InvalidInputError

__all__ = [
    "as_float_array",
    "as_points",
    "positive_int",
    "resolve_n_threads",
]

#: numpy dtype kinds accepted as real numbers: signed/unsigned integers and floats.
#: Bool is refused on purpose (a boolean mask passed as weights is almost always a mistake).
_REAL_KINDS = frozenset("iuf")

NUM_THREADS_ENV = "MLGEOM_NUM_THREADS"


def as_float_array(x: Any, name: str) -> npt.NDArray[np.float64]:
    """Return ``x`` as a C-contiguous float64 array with only finite entries.

    Integers and all float widths are accepted; bool, complex, object, string and
    datetime dtypes are refused (cast explicitly if that is really meant).
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise InvalidInputError(f"{name} could not be read as a numeric array: {exc}") from exc
    if arr.dtype.kind not in _REAL_KINDS:
        raise InvalidInputError(
            f"{name} must hold real numbers (an integer or float dtype); got dtype {arr.dtype}. "
            f"Convert it explicitly, e.g. np.asarray({name}, dtype=np.float64)"
            + (" (for a boolean mask: .astype(float))" if arr.dtype.kind == "b" else "")
        )
    arr = np.asarray(arr, dtype=np.float64, order="C")
    check_finite(arr, name)
    return arr


def check_finite(arr: npt.NDArray[np.float64], name: str) -> None:
    """Raise if ``arr`` holds NaN or +-inf, naming the first offending index."""
    finite = np.isfinite(arr)
    if not finite.all():
        index = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), arr.shape))
        where = "" if not index else f" at index {index[0] if len(index) == 1 else index}"
        raise InvalidInputError(
            f"{name} contains NaN or infinity (first{where}: {float(arr[index])}); "
            "remove or replace the non-finite values"
        )


def as_points(X: Any, dim: int, name: str = "X") -> npt.NDArray[np.float64]:
    """Return ``X`` as a finite, C-contiguous float64 array of shape ``(N, dim)``.

    Like scikit-learn, a 1-D array is refused rather than guessed at: it could be one
    point or N points on a line.
    """
    arr = as_float_array(X, name)
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{name} must be a 2-D array of shape (n_points, {dim}); got shape {arr.shape}. "
            f"Use {name}.reshape(1, -1) for a single point"
            + (f" or {name}.reshape(-1, 1) for points on a line" if dim == 1 else "")
        )
    if arr.shape[1] != dim:
        raise InvalidInputError(
            f"{name} has {arr.shape[1]} columns but the domain is {dim}-dimensional; "
            f"pass an array of shape (n_points, {dim})"
        )
    return arr


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python int >= 1 (numpy integers accepted, bool refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be a positive integer; got {value!r}")
    out = int(value)
    if out < 1:
        raise InvalidInputError(f"{name} must be a positive integer (>= 1); got {out}")
    if out > np.iinfo(np.int64).max:
        raise InvalidInputError(f"{name} is too large; got {out}")
    return out


def as_flag(value: Any, name: str) -> bool:
    """Return ``value`` as a bool (Python or numpy bool only; 0/1 and strings are refused as ambiguous)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidInputError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def resolve_n_threads(n_threads: Any) -> int | None:
    """Validate ``n_threads``; ``None`` falls back to ``$MLGEOM_NUM_THREADS`` when set.

    Returns ``None`` (the core's default: all cores) when neither is given.
    """
    if n_threads is not None:
        return positive_int(n_threads, "n_threads")
    env = os.environ.get(NUM_THREADS_ENV, "").strip()
    if not env:
        return None
    try:
        return positive_int(int(env), NUM_THREADS_ENV)
    except ValueError as exc:  # int() failed, or positive_int refused it (InvalidInputError)
        raise InvalidInputError(
            f"environment variable {NUM_THREADS_ENV}={env!r} must be a positive integer; "
            "unset it or pass n_threads= explicitly"
        ) from exc
