"""Pickling DataCells (issues 7 and 8): size and time of the pickle vs the plain alternative.

A :class:`mlgeom_rs.DataCells` pickles its computed arrays (network, packed patterns, counts, the
point-to-cell index in the narrowest unsigned dtype, one point per cell, the adjacency if computed;
see ``mlgeom_rs._pickling``). The plain alternative pickles what built it, the weights and the data
``X``, and unpickling recomputes ``mg.data_cells`` (and ``edges``, the LP-certified adjacency). Per
case: pickle bytes, the arrays the object holds, ``dumps``/``loads`` seconds (protocol 5, best of
5), and the same for the alternative, with and without a computed adjacency; each thread count runs
in its own subprocess (``RAYON_NUM_THREADS``; the native pattern pass and the LPs are parallel).

    python benchmarks/bench_pickle.py            # ~30 s
    python benchmarks/bench_pickle.py --quick

No test asserts a timing; the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import mlgeom_rs as mg


def _best(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _net(widths: list[int], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sizes = [*widths, 1]
    ws = [rng.normal(0, 1 / np.sqrt(a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(0, 0.5, b) for b in sizes[1:]]
    return ws, bs


def run_case(widths: list[int], n: int, edges: bool) -> dict[str, Any]:
    ws, bs = _net(widths)
    X = np.random.default_rng(1).uniform(-1, 1, (n, widths[0]))
    dc = mg.data_cells((ws, bs), X)
    if edges:
        _ = dc.edges
    held = dc.packed_patterns.nbytes + dc.counts.nbytes + dc.point_cell.nbytes + dc.representatives.nbytes
    blob = pickle.dumps(dc, protocol=5)
    plain = pickle.dumps(((ws, bs), X), protocol=5)

    def rebuild() -> None:
        (model, data) = pickle.loads(plain)
        cells = mg.data_cells(model, data)
        if edges:
            _ = cells.edges

    return {
        "case": f"{widths} N={n:,}" + (" +edges" if edges else ""),
        "cells": dc.n_cells,
        "edges": len(dc.edges.cells) if edges else None,
        "pickle_bytes": len(blob),
        "held_bytes": held + (sum(a.nbytes for a in dc.edges) if edges else 0),
        "X_bytes": X.nbytes,
        "plain_bytes": len(plain),
        "dumps_s": _best(lambda: pickle.dumps(dc, protocol=5)),
        "loads_s": _best(lambda: pickle.loads(blob)),
        "plain_loads_s": _best(rebuild, 3),
    }


CASES = [([2, 32, 32], 100_000), ([8, 64, 64], 100_000), ([2, 32, 32], 1_000_000)]
QUICK = [([2, 32, 32], 100_000), ([8, 64, 64], 20_000)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        widths, n, edges = json.loads(args.child)
        print(json.dumps(run_case(widths, n, edges)))
        return
    print(
        f"{'case':>30} {'thr':>3} {'cells':>7} {'pickle B':>10} {'held B':>10} {'X B':>10} {'plain B':>10} "
        f"{'dumps s':>8} {'loads s':>8} {'plain loads s':>13} {'ratio':>6}"
    )
    for widths, n in QUICK if args.quick else CASES:
        for edges in (False, True):
            if edges and n > 200_000:
                continue
            for threads in (1, 2):
                env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps([widths, n, edges])],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(
                    f"{r['case']:>30} {threads:>3} {r['cells']:>7,} {r['pickle_bytes']:>10,} {r['held_bytes']:>10,} "
                    f"{r['X_bytes']:>10,} {r['plain_bytes']:>10,} {r['dumps_s']:>8.4f} {r['loads_s']:>8.4f} "
                    f"{r['plain_loads_s']:>13.4f} {r['plain_loads_s'] / r['loads_s']:>6.0f}x"
                )


if __name__ == "__main__":
    main()
