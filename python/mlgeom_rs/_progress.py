"""Progress reporting for long computations (private; tqdm is optional and imported lazily).

Partitions (hyperplanes, ReLU networks, trees and forests) count finished cells, the Ollivier
curvature engine counts finished edges, and a complex counts the simplices found per dimension.
The Rust core counts in an atomic counter; while it works without the GIL, the
waiting caller wakes up about every 50 ms, checks for Ctrl-C (``KeyboardInterrupt`` stops the
enumeration cleanly) and calls the progress callback with the count. ``progress`` arguments:

- ``None`` (default): a bar on stderr only when stderr is a terminal and the work lasts more than
  a second (so quick calls and scripts stay silent);
- ``True``: a bar (after a second) even when stderr is not a terminal; ``False``: none;
- a callable: ``progress(n_cells_done)``, called from the calling thread with the GIL held, about
  every 50 ms while the count changes and once at the end; an exception it raises stops the work.

The bar is a tqdm bar when tqdm is installed (``pip install mlgeom_rs[progress]``), else a plain
counter line. The total is unknown in advance, so it shows cells done and the rate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from .exceptions import InvalidInputError

__all__ = ["ProgressArg", "progress_callback"]

ProgressArg = bool | Callable[[int], Any] | None

#: A bar appears only once the work has run this long (seconds).
DELAY_S = 1.0


class _Bar:
    """A counter of finished cells on stderr that shows up after :data:`DELAY_S` seconds."""

    def __init__(self, desc: str, unit: str) -> None:
        self._desc = desc
        self._unit = unit
        self._start = time.monotonic()
        self._bar: Any = None
        self._plain = False

    def __call__(self, n: int) -> None:
        if self._bar is None and not self._plain:
            if time.monotonic() - self._start < DELAY_S:
                return
            try:
                from tqdm.auto import tqdm
            except ModuleNotFoundError:
                self._plain = True
            else:
                self._bar = tqdm(desc=self._desc, unit=f" {self._unit}", file=sys.stderr, leave=False)
        if self._bar is not None:
            self._bar.update(n - self._bar.n)
        elif self._plain:
            print(f"\r{self._desc}: {n} {self._unit}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._plain:
            print(file=sys.stderr, flush=True)


@contextmanager
def progress_callback(progress: ProgressArg, desc: str = "partition", unit: str = "cells") -> Any:
    """Context manager giving the callback to pass to the native call (or None), closing any bar after.

    ``unit`` names what is counted (cells of a partition, edges of a curvature, simplices of a complex).
    """
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress = bool(isatty and isatty())
    if progress is False:
        yield None
        return
    if progress is True:
        bar = _Bar(desc, unit)
        try:
            yield bar
        finally:
            bar.close()
        return
    if not callable(progress):
        raise InvalidInputError(f"progress must be True, False, None or a callable taking an int; got {progress!r}")
    yield progress
