"""Resource guards: bounds on the number of cells, known before any enumeration (private module).

For m hyperplanes in R^d the number of cells is at most Buck's bound sum_{k<=d} C(m, k) (Zaslavsky's count for
hyperplanes in general position), and at least 1 + the number of distinct hyperplanes that cross the box (each
one that meets the open box splits at least one cell). For a ReLU network the layerwise bound multiplies, layer
by layer, the number of pieces one cell can be cut into by that layer's w neurons: prod_l sum_{k<=d} C(w_l, k).

:func:`guard_cells` wraps a partition function: a request whose *lower* bound already exceeds ``max_cells`` fails
at once (before the core allocates anything), and a ``TooManyCellsError`` from the core carries both bounds.
The core itself stops as soon as it has found ``max_cells + 1`` cells, so memory never grows past the limit.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import _core
from .exceptions import TooManyCellsError

__all__ = ["arrangement_bounds", "guard_cells", "relu_upper_bound"]

F = TypeVar("F", bound=Callable[..., Any])

#: Margin (in units of the core's tolerance) by which a hyperplane must cross the box, and by which two
#: hyperplanes must differ, to count towards the lower bound; a larger margin only weakens the bound.
_MARGIN = 1e3


def _buck(m: int, d: int) -> int:
    return sum(math.comb(m, k) for k in range(min(m, d) + 1))


def arrangement_bounds(W: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int]:
    """(lower, upper) bounds on the number of cells of the hyperplanes W x + c = 0 in the box [lo, hi].

    Upper: Buck's bound over the rows that may cross the box (exact duplicates counted once). Lower: 1 + the
    number of groups of clearly crossing rows whose distances to the box centre are separated by more than a
    margin (rows the core may merge as coincident always fall into one group, whatever their orientation).
    """
    d = lo.shape[0]
    norms = np.linalg.norm(W, axis=1)
    live = norms > 0
    if not live.any():
        return 1, 1
    n = W[live] / norms[live, None]
    b = c[live] / norms[live]
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    diagonal = float(np.linalg.norm(hi - lo))
    reach = float(np.abs(np.concatenate([lo, hi])).max())
    tol = _MARGIN * (float(_core.TOLERANCE_REL) * diagonal + 64 * np.finfo(float).eps * reach)
    at_centre = n @ centre + b
    spread = np.abs(n) @ half
    penetration = spread - np.abs(at_centre)  # how deep the hyperplane cuts into the box (<= 0: it misses)
    maybe = penetration > -tol
    rows = np.column_stack([n[maybe], b[maybe]])
    lead = np.argmax(np.abs(rows[:, :d]) > 0.5 / math.sqrt(d), axis=1)  # the core's canonical orientation
    flip = np.sign(rows[np.arange(len(rows)), lead])
    upper = _buck(len(np.unique(rows * flip[:, None], axis=0)) if len(rows) else 0, d)
    keys = np.sort(np.abs(at_centre[penetration > tol]))
    groups = 1 + int(np.count_nonzero(np.diff(keys) > tol)) if keys.size else 0
    return 1 + groups, upper


def relu_upper_bound(widths: list[int], d: int, first_layer: int | None = None) -> int:
    """prod_l sum_{k<=d} C(w_l, k) over the hidden layers (``first_layer`` replaces the first width)."""
    total = 1
    for layer, w in enumerate(widths):
        total *= _buck(first_layer if layer == 0 and first_layer is not None else w, d)
    return total


def _explain(lower: int, upper: int, what: str) -> str:
    low = f"at least {lower:,} (1 + the distinct hyperplanes crossing the box)" if lower > 1 else ""
    up = f"at most {upper:,} ({what})"
    return " and ".join(s for s in (low, up) if s)


def guard_cells(kind: str) -> Callable[[F], F]:
    """Decorates ``partition_hyperplanes`` (``kind="hyperplanes"``) or ``partition_relu`` (``"relu"``).

    The bounds are computed from the arguments only when they are already valid (finite arrays of matching shapes, a
    positive integer ``max_cells``); otherwise the function itself reports the invalid input.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                with np.errstate(all="ignore"):
                    bounds = _bounds(kind, signature.bind(*args, **kwargs))
            except Exception:  # invalid arguments: the function raises the right error
                bounds = None
            if bounds is not None:
                lower, upper, what, limit = bounds
                if lower > limit:
                    raise TooManyCellsError(
                        f"the partition has at least {lower:,} cells, more than max_cells={limit:,} (known before "
                        f"enumeration: 1 + the distinct hyperplanes crossing the box; at most {upper:,}, {what}); pass "
                        f"max_cells >= {lower:,} if you have the memory, or use fewer hyperplanes / a smaller box"
                    )
            try:
                return func(*args, **kwargs)
            except TooManyCellsError as exc:
                if bounds is None:
                    raise
                lower, upper, what, _ = bounds
                raise TooManyCellsError(f"{exc} (estimate before enumeration: {_explain(lower, upper, what)})") from exc

        return wrapper  # type: ignore[return-value]

    return decorate


def _bounds(kind: str, bound: inspect.BoundArguments) -> tuple[int, int, str, int] | None:
    from ._validate import as_float_array, positive_int
    from .box import Box

    args = bound.arguments
    limit = positive_int(args.get("max_cells", bound.signature.parameters["max_cells"].default), "max_cells")
    box = args["box"]
    if not isinstance(box, Box):
        first = args["W"] if kind == "hyperplanes" else args["weights"][0]
        box = Box(box[0], box[1], dim=np.shape(as_float_array(first, "W"))[1])
    lo, hi = np.asarray(box.lo), np.asarray(box.hi)
    if not np.isfinite(np.prod(hi - lo)):
        return None  # the core refuses a box it cannot measure
    d = lo.shape[0]
    if kind == "hyperplanes":
        W, c = as_float_array(args["W"], "W"), as_float_array(args["c"], "c")
        if W.ndim != 2 or W.shape[1] != d or c.shape != (W.shape[0],):
            return None
        lower, upper = arrangement_bounds(W, c, lo, hi)
        return lower, upper, f"Buck's bound sum_(k<=d) C(m, k), m = {W.shape[0]:,} hyperplanes in d = {d}", limit
    weights = [as_float_array(w, "w") for w in args["weights"]]
    biases = [as_float_array(b, "b") for b in args["biases"]]
    output_layer = args.get("output_layer", bound.signature.parameters["output_layer"].default)
    hidden = weights[:-1] if output_layer else weights
    if not hidden or hidden[0].ndim != 2 or hidden[0].shape[1] != d or biases[0].shape != (hidden[0].shape[0],):
        return None
    lower, first = arrangement_bounds(hidden[0], biases[0], lo, hi)
    widths = [w.shape[0] for w in hidden]
    upper = relu_upper_bound(widths, d)
    # the first layer is an arrangement: its crossing neurons bound its pieces more tightly than its width
    upper = min(upper, first * relu_upper_bound(widths[1:], d)) if len(widths) > 1 else min(upper, first)
    return lower, upper, f"the layerwise bound prod_l sum_(k<=d) C(w_l, k), widths {widths} in d = {d}", limit
