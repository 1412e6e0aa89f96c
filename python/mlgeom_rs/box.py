"""The domain of every partition: an axis-aligned box ``[lo, hi]`` in R^d."""

from __future__ import annotations

import itertools
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from ._validate import as_float_array, as_points
from .exceptions import InvalidInputError

__all__ = ["Box"]

#: ``corners()`` refuses dimensions above this (2**d rows).
_MAX_CORNER_DIM = 24


class Box:
    """An axis-aligned box ``{x : lo <= x <= hi}`` in R^d, immutable.

    Parameters
    ----------
    lo, hi : float or array_like of shape (d,)
        Lower and upper corners. A scalar is broadcast: to ``dim`` if given, else to the
        length of the other bound, else to d = 1. ``Box(0, 1, dim=2)`` is the unit square
        of Figure 1 of Gajer & Ravel (arXiv 2508.02080).
    dim : int, optional
        The dimension d >= 1. Required only to broadcast two scalars to d > 1.

    Raises
    ------
    InvalidInputError
        If a bound is not finite, not a scalar or 1-D, the lengths disagree, or
        ``lo < hi`` fails on some axis (empty or inverted box).

    Notes
    -----
    The box is never rescaled internally: volumes, areas and angles are those of the
    coordinates you pass. Equal boxes compare equal and hash equal.
    """

    __slots__ = ("_hi", "_lo")

    _lo: npt.NDArray[np.float64]
    _hi: npt.NDArray[np.float64]

    def __init__(self, lo: Any, hi: Any, dim: int | None = None) -> None:
        lo_arr = as_float_array(lo, "lo")
        hi_arr = as_float_array(hi, "hi")
        for name, arr in (("lo", lo_arr), ("hi", hi_arr)):
            if arr.ndim > 1:
                raise InvalidInputError(
                    f"Box {name} must be a scalar or a 1-D array of length d; got shape {arr.shape}"
                )
        if dim is not None:
            if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
                raise InvalidInputError(f"Box dim must be a positive integer; got {dim!r}")
            dim = int(dim)
        else:
            lengths = {a.shape[0] for a in (lo_arr, hi_arr) if a.ndim == 1}
            if len(lengths) > 1:
                raise InvalidInputError(
                    f"Box lo and hi have different lengths {lo_arr.shape[0]} and {hi_arr.shape[0]}; "
                    "pass two arrays of length d (or a scalar and dim=d)"
                )
            dim = lengths.pop() if lengths else 1
        if dim < 1:
            raise InvalidInputError("Box needs at least one dimension; got empty lo/hi arrays")
        for name, arr in (("lo", lo_arr), ("hi", hi_arr)):
            if arr.ndim == 1 and arr.shape[0] != dim:
                raise InvalidInputError(
                    f"Box {name} has length {arr.shape[0]} but dim={dim}; pass arrays of length dim or scalars"
                )
        # Fresh copies; adding 0.0 turns -0.0 into 0.0 so that equal boxes hash equal.
        lo_arr = np.broadcast_to(lo_arr, (dim,)) + 0.0
        hi_arr = np.broadcast_to(hi_arr, (dim,)) + 0.0
        bad = np.flatnonzero(~(lo_arr < hi_arr))
        if bad.size:
            k = int(bad[0])
            raise InvalidInputError(
                f"Box is empty or inverted on axis {k}: lo={float(lo_arr[k])}, hi={float(hi_arr[k])}; "
                "every axis needs lo < hi strictly (use Box.from_data to pad a flat data set)"
            )
        lo_arr.setflags(write=False)
        hi_arr.setflags(write=False)
        object.__setattr__(self, "_lo", lo_arr)
        object.__setattr__(self, "_hi", hi_arr)

    @classmethod
    def from_data(cls, X: Any, margin: float = 0.05) -> Box:
        """The bounding box of the points ``X`` (shape (N, d)), padded by ``margin``.

        Each side is widened by ``margin`` times its extent on both ends, so that no point
        lies on the boundary when ``margin > 0``. An axis on which all points agree (zero
        extent) is first given unit extent centred on the common value, so the box is
        never empty.

        Raises
        ------
        InvalidInputError
            If ``X`` is not a non-empty, finite 2-D array, or ``margin`` is negative or not finite.
        """
        arr = as_float_array(X, "X")
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise InvalidInputError(
                f"X must be a non-empty 2-D array of shape (n_points, d); got shape {arr.shape}. "
                "Use X.reshape(-1, 1) for points on a line"
            )
        if (
            isinstance(margin, bool)
            or not isinstance(margin, int | float | np.integer | np.floating)
            or not np.isfinite(margin)
            or margin < 0
        ):
            raise InvalidInputError(f"margin must be a finite number >= 0; got {margin!r}")
        lo = arr.min(axis=0)
        hi = arr.max(axis=0)
        flat = ~(hi > lo)
        lo = np.where(flat, lo - 0.5, lo)
        hi = np.where(flat, hi + 0.5, hi)
        pad = float(margin) * (hi - lo)
        return cls(lo - pad, hi + pad)

    @property
    def dim(self) -> int:
        """The dimension d."""
        return int(self._lo.shape[0])

    @property
    def lo(self) -> npt.NDArray[np.float64]:
        """Lower corner, read-only float64 array of shape (d,)."""
        return self._lo

    @property
    def hi(self) -> npt.NDArray[np.float64]:
        """Upper corner, read-only float64 array of shape (d,)."""
        return self._hi

    @property
    def volume(self) -> float:
        """The d-volume ``prod(hi - lo)``."""
        return float(np.prod(self._hi - self._lo))

    def corners(self) -> npt.NDArray[np.float64]:
        """The 2^d corners, shape (2^d, d): row k takes ``hi[i]`` where bit ``d-1-i`` of k is set
        (``itertools.product`` order; the last axis varies fastest)."""
        if self.dim > _MAX_CORNER_DIM:
            raise InvalidInputError(
                f"corners() would return 2**{self.dim} rows; it is limited to d <= {_MAX_CORNER_DIM}"
            )
        return np.array(list(itertools.product(*zip(self._lo, self._hi, strict=True))), dtype=np.float64)

    def contains(self, X: Any) -> npt.NDArray[np.bool_]:
        """Whether each row of ``X`` (shape (N, d)) lies in the closed box; bool array (N,)."""
        pts = as_points(X, self.dim, "X")
        inside: npt.NDArray[np.bool_] = np.all((pts >= self._lo) & (pts <= self._hi), axis=1)
        return inside

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Box is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Box is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Box):
            return NotImplemented
        return bool(np.array_equal(self._lo, other._lo) and np.array_equal(self._hi, other._hi))

    def __hash__(self) -> int:
        return hash((self._lo.tobytes(), self._hi.tobytes()))

    def __reduce__(self) -> tuple[type[Box], tuple[list[float], list[float]]]:
        return (Box, (self._lo.tolist(), self._hi.tolist()))

    def __repr__(self) -> str:
        lo, hi = self._lo.tolist(), self._hi.tolist()
        if len(set(lo)) == 1 and len(set(hi)) == 1:
            dim = "" if self.dim == 1 else f", dim={self.dim}"
            return f"Box({lo[0]!r}, {hi[0]!r}{dim})"
        return f"Box({lo!r}, {hi!r})"
