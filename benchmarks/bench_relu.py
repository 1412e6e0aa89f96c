#!/usr/bin/env python
"""Benchmark: exact ReLU-network partitions and data cells (issue 3).

    python benchmarks/bench_relu.py [--quick] [--skip-data] [--json PATH]

1. Exact activation regions with volumes, facets and dihedral angles (``mg.partition_relu``) for the
   widths of the issue (weights ~ N(0, 1/fan_in), biases ~ N(0, 0.25), box [-1, 1]^d, output layer of
   width 1), 1 and 2 threads, peak memory of each case measured alone in a subprocess; side by side with
   a plain scipy pipeline on the smallest net: layer-by-layer splitting with one ``linprog`` per cell and
   side (Chebyshev slack), then Qhull volumes per cell.
2. Data cells (``mg.data_cells``) of a 784-256-256-10 network with random weights on 60 000 synthetic
   points: time for patterns, for adjacency, and total; and the scikit-learn ``load_digits`` data (64
   inputs, 1 797 points) with a trained ReLU MLP.

Reference rates of the fastest published method (edge subdivision, vectorised PyTorch, vertices and edges
only), one thread on this kind of machine, from the issue: [3,16,16] 9 ms; [2,64,64] 2 357 regions in
45 ms; [3,32,32] 11 825 in 80 ms; [4,24,24] 19 375 in 0.15 s; [4,32,32] 54 174 in 0.45 s; [2,256,256]
50 044 in 9.7 s; [4,64,64] 1.25 million in 42 s with 2.4 GB. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, HalfspaceIntersection

import mlgeom_rs as mg

WIDTHS = [[3, 16, 16], [2, 64, 64], [3, 32, 32], [4, 24, 24], [4, 32, 32], [2, 256, 256], [4, 64, 64]]
QUICK = WIDTHS[:4]
EDGE_SUBDIVISION = {  # (regions, seconds) from the issue; None where only the time was given
    "3,16,16": (None, 0.009),
    "2,64,64": (2357, 0.045),
    "3,32,32": (11825, 0.080),
    "4,24,24": (19375, 0.15),
    "4,32,32": (54174, 0.45),
    "2,256,256": (50044, 9.7),
    "4,64,64": (1_250_000, 42.0),
}


def network(widths: list[int], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sizes = [*widths, 1]
    weights = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.normal(0.0, 0.5, size=b) for b in sizes[1:]]
    return weights, biases


def scipy_relu_regions(weights: list[np.ndarray], biases: list[np.ndarray], d: int) -> tuple[int, float]:
    """Plain scipy: refine the box layer by layer, one LP per (cell, neuron, side); Qhull volumes."""
    A0 = np.vstack([np.eye(d), -np.eye(d)])
    b0 = np.ones(2 * d)
    cells = [(A0, b0, np.eye(d), np.zeros(d))]  # A x <= b, and h = J x + c for the current layer input
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        next_cells = []
        for A, bb, J, c in cells:
            G, g = W @ J, W @ c + b  # pre-activations on this cell
            pieces = [(A, bb, np.zeros(0, dtype=bool))]
            for k in range(G.shape[0]):
                split = []
                for Ak, bk, bits in pieces:
                    for side in (False, True):
                        row, rhs = (G[k], -g[k]) if not side else (-G[k], g[k])  # z <= 0 or z >= 0
                        A2, b2 = np.vstack([Ak, row]), np.append(bk, rhs)
                        norms = np.linalg.norm(A2, axis=1)
                        res = linprog(
                            np.r_[np.zeros(d), -1.0],
                            A_ub=np.column_stack([A2, norms]),
                            b_ub=b2,
                            bounds=[(None, None)] * d + [(0, None)],
                            method="highs",
                        )
                        if res.status == 0 and res.x[-1] > 1e-9:
                            split.append((A2, b2, np.append(bits, side)))
                pieces = split
            for A2, b2, bits in pieces:
                D = bits.astype(float)
                next_cells.append((A2, b2, D[:, None] * G, D * g))
        cells = next_cells
    total = 0.0
    for A, bb, _, _ in cells:
        norms = np.linalg.norm(A, axis=1)
        res = linprog(
            np.r_[np.zeros(d), -1.0],
            A_ub=np.column_stack([A, norms]),
            b_ub=bb,
            bounds=[(None, None)] * d + [(0, None)],
            method="highs",
        )
        hs = HalfspaceIntersection(np.column_stack([A, -bb]), res.x[:d])
        total += ConvexHull(hs.intersections).volume
    return len(cells), total


def run_case(widths: list[int], threads: int | None) -> dict:
    weights, biases = network(widths)
    box = mg.Box(-1.0, 1.0, dim=widths[0])
    t = time.perf_counter()
    part = mg.partition_relu(weights, biases, box, n_threads=threads)
    seconds = time.perf_counter() - t
    return {
        "cells": part.n_cells,
        "seconds": seconds,
        "facets": len(part.facets),
        "ridges": len(part.ridges),
        "volume_error": abs(float(part.volumes.sum()) - box.volume),
    }


def peak_memory_mb(widths: list[int]) -> float:
    code = (
        f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_relu as b; b.run_case({widths!r}, None);"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def data_cell_benchmarks() -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    sizes = [784, 256, 256, 10]
    weights = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.normal(0.0, 0.5, size=b) for b in sizes[1:]]
    X = rng.uniform(0.0, 1.0, size=(60_000, 784))
    t0 = time.perf_counter()
    dc = mg.data_cells((weights, biases), X, mg.Box(0.0, 1.0, dim=784))
    t1 = time.perf_counter()
    edges = dc.edges
    t2 = time.perf_counter()
    rows.append(
        {
            "case": "784-256-256-10, 60 000 points",
            "cells": dc.n_cells,
            "edges": len(edges.bits),
            "patterns_s": t1 - t0,
            "adjacency_s": t2 - t1,
            "total_s": t2 - t0,
        }
    )
    try:
        from sklearn.datasets import load_digits
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return rows
    Xd, yd = load_digits(return_X_y=True)
    mlp = MLPClassifier(hidden_layer_sizes=(32, 32), max_iter=300, random_state=0).fit(Xd, yd)
    t0 = time.perf_counter()
    dc = mg.data_cells(mlp, Xd, mg.Box(0.0, 16.0, dim=64))
    t1 = time.perf_counter()
    edges = dc.edges
    t2 = time.perf_counter()
    rows.append(
        {
            "case": "load_digits MLP 64-32-32-10, 1 797 points",
            "cells": dc.n_cells,
            "edges": len(edges.bits),
            "by_lp": int(edges.by_lp.sum()),
            "patterns_s": t1 - t0,
            "adjacency_s": t2 - t1,
            "total_s": t2 - t0,
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="only the four smallest networks")
    parser.add_argument("--skip-data", action="store_true", help="skip the data-cell benchmarks")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    results: dict = {"exact": [], "data": []}

    print("Exact ReLU partitions (volumes, facets, dihedral angles), box [-1,1]^d")
    print(
        f"{'widths':>12} {'cells':>9} {'1 thread s':>10} {'cells/s':>9} {'2 threads s':>11} {'speed-up':>8} "
        f"{'peak MB':>8} {'edge-subdiv. cells/s':>20} {'ratio':>6}"
    )
    for widths in QUICK if args.quick else WIDTHS:
        one = run_case(widths, 1)
        two = run_case(widths, 2)
        key = ",".join(map(str, widths))
        regions, secs = EDGE_SUBDIVISION[key]
        ref_rate = (regions or one["cells"]) / secs
        rate = one["cells"] / one["seconds"]
        mem = peak_memory_mb(widths)
        print(
            f"{key:>12} {one['cells']:>9} {one['seconds']:>10.3f} {rate:>9.0f} {two['seconds']:>11.3f} "
            f"{one['seconds'] / two['seconds']:>8.2f} {mem:>8.0f} {ref_rate:>20.0f} {rate / ref_rate:>6.2f}"
        )
        results["exact"].append(
            {"widths": widths, "one": one, "two": two, "peak_mb": mem, "edge_subdivision_rate": ref_rate}
        )

    weights, biases = network(WIDTHS[0])
    t = time.perf_counter()
    n_ref, vol_ref = scipy_relu_regions(weights, biases, WIDTHS[0][0])
    ref_s = time.perf_counter() - t
    ours = run_case(WIDTHS[0], 1)
    print(
        f"\nscipy pipeline on {WIDTHS[0]}: {n_ref} cells (volume {vol_ref:.6f}) in {ref_s:.2f} s "
        f"({n_ref / ref_s:.0f} cells/s); ours {ours['cells']} cells in {ours['seconds']:.4f} s: "
        f"{ref_s / ours['seconds']:.0f}x"
    )
    results["scipy"] = {"cells": n_ref, "seconds": ref_s, "ours_seconds": ours["seconds"]}

    if not args.skip_data:
        print("\nData-containing cells")
        for row in data_cell_benchmarks():
            print("  " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            results["data"].append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
