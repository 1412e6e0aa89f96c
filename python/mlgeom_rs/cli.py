"""Command-line interface: ``mlgeom-rs`` or ``python -m mlgeom_rs``.

Exit status: 0 on success, 1 on an error of the computation (an :class:`MlgeomError`, or a
failed sanity check in ``demo``), 2 on a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from . import __version__
from ._format import format_table
from .examples import demo_examples
from .exceptions import MlgeomError

__all__ = ["main"]

PROG = "mlgeom-rs"

#: ``demo`` fails when the cell volumes miss the box volume by more than this (relative).
VOLUME_RTOL = 1e-9


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact geometry of the partitions that machine-learning models cut their input "
        "space into (Gajer & Ravel, arXiv 2508.02080).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="partition the built-in examples and print a summary",
        description="Partition Figure 1 of the paper (lines x1=0.3, x2=0.6 in the unit square), "
        "40 random lines in 2-D and 12 random planes in 3-D; print cells, volume check, facets, "
        "ridges and timings, then the cells of Figure 1.",
    )
    demo.add_argument("--threads", type=_positive_int, default=None, metavar="N", help="worker threads")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random examples (default 0)")
    return parser


def _demo(threads: int | None, seed: int) -> int:
    rows = []
    failures = []
    figure = None
    for example in demo_examples(seed):
        start = time.perf_counter()
        partition = example.partition(n_threads=threads)
        elapsed_ms = 1e3 * (time.perf_counter() - start)
        total = float(partition.volumes.sum())
        box_volume = example.box.volume
        if abs(total - box_volume) > VOLUME_RTOL * box_volume:
            failures.append(f"{example.name}: cell volumes sum to {total!r}, box volume is {box_volume!r}")
        rows.append(
            (
                example.name,
                partition.dim,
                partition.n_hyperplanes,
                partition.n_cells,
                f"{total:.12f}",
                f"{box_volume:g}",
                len(partition.facets),
                len(partition.ridges),
                f"{elapsed_ms:.2f}",
            )
        )
        figure = figure or (example, partition)
    headers = ["example", "d", "m", "cells", "sum of volumes", "box", "facets", "ridges", "time (ms)"]
    print(f"mlgeom_rs {__version__}: demo\n")
    print(format_table(headers, rows))
    if figure is not None:
        example, partition = figure
        print(f"\n{example.description}\n")
        print(partition.summary())
    for failure in failures:
        print(f"{PROG}: check failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "demo":
            return _demo(args.threads, args.seed)
    except MlgeomError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command!r}")  # unreachable: argparse checks choices
    return 2
