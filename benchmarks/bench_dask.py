#!/usr/bin/env python
"""Benchmark: scale-out on Dask (issue 8), 1 vs 2 worker processes of a LocalCluster on this machine.

    python benchmarks/bench_dask.py [--quick] [--workers 1 2] [--json PATH]

1. A sharded ReLU partition (``mg.partition_relu(..., client=, out=)``) of a [3, 500, 1] network (weights
   ~ N(0, 2/fan_in); the 500 first-layer hyperplanes pass through uniform points of [-0.5, 0.5]^3; seed 1; box
   [-1, 1]^3): about 1.3e7 cells, written as Parquet under /tmp and deleted afterwards. ``ridges=False,
   vertices=False`` (cells and facets only) to keep the files to a few GB. ``--quick``: [3, 80, 1].
   Reported: cells, wall seconds, cells/s, cells per CPU-second of the tasks, shards, mean and max task
   seconds, peak RSS of each worker (``VmHWM``), Arrow bytes of the shards (what a shard task hands on),
   Parquet bytes on disk, cut facets (the facets on shard boundaries) and the time and bytes of their join on
   the client. (A deeper [3, 160, 160, 160, 1] network, ~1.6e7 cells, raised NumericalError in one shard in
   float mode for seeds 0 and 1 -- a cell closing only to 2e-7 or 5e-7, over the fixed 1e-7 the core then
   accepted; float mode now scales that bound by each cell's conditioning, see ``bench_float_shards.py`` -- and
   ran at ~630 cells per CPU-second with ``exact=True``, about 40x slower than float mode on that network.)
2. Data cells (``mg.data_cells(..., client=)``) of 1e7 points drawn on the workers (``dask.array.random``,
   N(0, 1) in 6-D, chunks of 1e6 rows) for a [6, 24, 24, 1] network (48 bits): time for patterns + unique
   patterns (tree reduction), time for the adjacency (one-bit-flip shuffle + certificates), cells, edges,
   bytes shuffled, peak RSS per worker. ``--quick``: 1e6 points.

Each configuration runs on a fresh cluster (``threads_per_worker=1``, ``processes=True``), so each worker's
``VmHWM`` is its own peak. The machine is shared: the load average before and after is printed with the
results. Nothing here asserts a speed. ``--exact`` runs the partitions with ``exact=True``; ``--skip-data`` runs
only the partitions; ``--seed`` picks the partitioned network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from typing import Any

import numpy as np

import mlgeom_rs as mg


def network(widths: list[int], seed: int = 0, spread: float = 0.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights ~ N(0, 2/fan_in), biases ~ N(0, 0.25); with ``spread`` > 0 the first layer's hyperplanes pass
    through uniform points of [-spread, spread]^d instead (b = -W p)."""
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(b, a)) * np.sqrt(2 / a) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    bs = [rng.normal(scale=0.5, size=b) for b in widths[1:]]
    if spread > 0:
        points = rng.uniform(-spread, spread, size=(widths[1], widths[0]))
        bs[0] = -(ws[0] * points).sum(axis=1)
    return ws, bs


def vm_hwm() -> int:
    """Peak resident set of this process in bytes (Linux VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def du(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def cluster(n_workers: int) -> tuple[Any, Any]:
    from dask.distributed import Client, LocalCluster

    c = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=0)
    return c, Client(c)


def bench_partition(n_workers: int, widths: list[int], shards: int, exact: bool, seed: int) -> dict[str, Any]:
    ws, bs = network(widths, seed, spread=0.5)
    box = mg.Box(-1, 1, dim=widths[0])
    lc, client = cluster(n_workers)
    out = tempfile.mkdtemp(prefix="mlgeom-bench-dask-", dir="/tmp")
    try:
        t0 = time.perf_counter()
        sp = mg.partition_relu(
            ws,
            bs,
            box,
            client=client,
            out=os.path.join(out, "cells"),
            shards=shards,
            ridges=False,
            vertices=False,
            max_cells=10**8,
            exact=exact,
        )
        wall = time.perf_counter() - t0
        peaks = sorted(client.run(vm_hwm).values())
        metas = sp.shard_metadata
        t1 = time.perf_counter()
        joined = sp._joined  # the cut facets paired across shards (the join step)
        join_s = time.perf_counter() - t1
        n_cut = int(sum(m["n_cut"] for m in metas))
        row_bytes = 8 * (4 + 2 * box.dim) + 8  # key_hi, key_lo, cell, area, normal, centroid, hyperplane
        return {
            "workers": n_workers,
            "net": widths,
            "exact": exact,
            "seed": seed,
            "cells": sp.n_cells,
            "volume_rel_error": abs(sp.total_volume - box.volume) / box.volume,
            "wall_s": wall,
            "cells_per_s": sp.n_cells / wall,
            "shards": sp.n_shards,
            "task_s_mean": float(np.mean([m["seconds"] for m in metas])),
            "task_s_max": float(np.max([m["seconds"] for m in metas])),
            "cells_per_cpu_s": sp.n_cells / float(np.sum([m["cpu_seconds"] for m in metas])),
            "peak_rss_per_worker_MB": [p / 2**20 for p in peaks],
            "arrow_bytes": int(sum(m["bytes"] for m in metas)),
            "parquet_bytes": du(out),
            "facets": int(sum(m["n_facets"] for m in metas)),
            "cut_facets": n_cut,
            "joined_facets": int(joined["area"].shape[0]),
            "join_s": join_s,
            "join_bytes_read": n_cut * row_bytes,
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)
        client.close()
        lc.close()


def bench_data_cells(n_workers: int, widths: list[int], n_points: int) -> dict[str, Any]:
    import dask.array as da

    ws, bs = network(widths, seed=1)
    d = widths[0]
    lc, client = cluster(n_workers)
    try:
        X = da.random.RandomState(0).normal(size=(n_points, d), chunks=(min(n_points, 1_000_000), d))
        box = mg.Box(-5, 5, dim=d)
        t0 = time.perf_counter()
        dc = mg.data_cells((ws, bs), X, box, client=client)
        patterns_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        edges = dc.edges
        edges_s = time.perf_counter() - t1
        peaks = sorted(client.run(vm_hwm).values())
        return {
            "workers": n_workers,
            "net": widths,
            "points": n_points,
            "cells": dc.n_cells,
            "points_per_s": n_points / patterns_s,
            "patterns_s": patterns_s,
            "edges": int(edges.cells.shape[0]),
            "by_lp": int(edges.by_lp.sum()),
            "edges_s": edges_s,
            "shuffle_bytes": dc.shuffle_bytes,
            "peak_rss_per_worker_MB": [p / 2**20 for p in peaks],
        }
    finally:
        client.close()
        lc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--exact", action="store_true", help="exact predicates in the partition (exact=True)")
    ap.add_argument("--skip-data", action="store_true", help="only the partitions")
    ap.add_argument("--seed", type=int, default=1, help="seed of the partitioned network's weights")
    args = ap.parse_args()
    widths = [3, 80, 1] if args.quick else [3, 500, 1]
    shards = 32 if args.quick else 256
    n_points = 1_000_000 if args.quick else 10_000_000
    results: dict[str, Any] = {"load_before": os.getloadavg(), "partition": [], "data_cells": []}
    print(f"load average before: {results['load_before']}", flush=True)
    # The short data-cell runs first, then the partitions with the most workers first (the longest run last).
    for k in [] if args.skip_data else args.workers:
        r = bench_data_cells(k, [6, 24, 24, 1], n_points)
        results["data_cells"].append(r)
        print(json.dumps(r), flush=True)
    for k in sorted(args.workers, reverse=True):
        r = bench_partition(k, widths, shards, args.exact, args.seed)
        results["partition"].append(r)
        print(json.dumps(r), flush=True)
    results["partition"].sort(key=lambda r: r["workers"])
    results["load_after"] = os.getloadavg()
    print(f"load average after: {results['load_after']}")
    print()
    print(
        "| workers | cells | wall s | cells/s | cells/CPU-s | task s mean/max | peak RSS/worker MB | Arrow MB "
        "| Parquet MB | cut facets | join s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["partition"]:
        rss = "/".join(f"{p:.0f}" for p in r["peak_rss_per_worker_MB"])
        print(
            f"| {r['workers']} | {r['cells']:,} | {r['wall_s']:.1f} | {r['cells_per_s']:,.0f} | "
            f"{r['cells_per_cpu_s']:,.0f} | {r['task_s_mean']:.2f}/{r['task_s_max']:.2f} | {rss} | {r['arrow_bytes'] / 2**20:,.0f} | "
            f"{r['parquet_bytes'] / 2**20:,.0f} | {r['cut_facets']:,} | {r['join_s']:.2f} |"
        )
    print()
    print("| workers | points | cells | patterns s | points/s | edges | edges s | shuffled MB | peak RSS/worker MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["data_cells"]:
        rss = "/".join(f"{p:.0f}" for p in r["peak_rss_per_worker_MB"])
        print(
            f"| {r['workers']} | {r['points']:,} | {r['cells']:,} | {r['patterns_s']:.1f} | {r['points_per_s']:,.0f} | "
            f"{r['edges']:,} | {r['edges_s']:.1f} | {r['shuffle_bytes'] / 2**20:,.1f} | {rss} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
