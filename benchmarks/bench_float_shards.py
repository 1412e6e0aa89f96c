#!/usr/bin/env python
"""Benchmark: float mode on ReLU partitions of ~10^7 cells, shard by shard in one process (issue 9, gap 1).

    python benchmarks/bench_float_shards.py [--widths 3 500 1] [--seed 1] [--spread 0.5] [--half 1] [--shards 256]
        [--only 50 92] [--json PATH]

The network is ``bench_dask.network(widths, seed, spread)`` on the box [-half, half]^d (the defaults are
bench_dask's; its earlier deep net was ``--widths 3 160 160 160 1 --spread 0 --half 4``), the shards those of
``plan.balanced_plan`` (as ``partition_relu(..., client=, shards=)`` would run them on Dask). Each shard is computed
in this process, one thread, ``ridges=False, vertices=False`` (a whole 1.35e7-cell partition does not fit in memory,
a shard does). Per shard: cells, CPU seconds, ``NumericalError`` if raised, and the core's margins: the worst cell's
closure residual over its allowance (``closure_excess``), the worst facet's two-sided area difference over its bound
(``facet_area_excess``), the largest relative area difference (``max_facet_area_mismatch``) and the snapped
decisions. Then the totals: cells, cells per CPU-second, volume sum against the box. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dask import network

import mlgeom_rs as mg
from mlgeom_rs import _core
from mlgeom_rs.distributed.plan import balanced_plan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--widths", type=int, nargs="+", default=[3, 500, 1])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--spread", type=float, default=0.5, help="first-layer planes through points of [-spread, spread]^d"
    )
    ap.add_argument("--half", type=float, default=1.0, help="the box is [-half, half]^d")
    ap.add_argument("--shards", type=int, default=256)
    ap.add_argument("--only", type=int, nargs="*", help="run only these shard indices")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    ws, bs = network(args.widths, args.seed, spread=args.spread)
    box = mg.Box(-args.half, args.half, dim=args.widths[0])
    plan = balanced_plan(ws[0], bs[0], box, args.shards)
    rows = []
    for s, shard in enumerate(plan.shards):
        if args.only is not None and s not in args.only:
            continue
        t = time.process_time()
        row: dict[str, object] = {"shard": s}
        try:
            p = _core.partition_relu(
                ws, bs, box.lo, box.hi, n_threads=1, max_cells=10**8, ridges=False, vertices=False, shard=list(shard)
            )
            row.update(
                cells=p.n_cells,
                volume=float(np.sum(p.volumes())),
                closure_excess=p.closure_excess,
                facet_area_excess=p.facet_area_excess,
                max_facet_area_mismatch=p.max_facet_area_mismatch,
                snapped=p.snapped,
            )
        except mg.NumericalError as e:
            row["error"] = str(e)
        row["cpu_s"] = time.process_time() - t
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if "error" not in r]
    cells = sum(int(r["cells"]) for r in ok)  # type: ignore[call-overload]
    cpu = sum(float(r["cpu_s"]) for r in rows)  # type: ignore[arg-type]
    volume = sum(float(r["volume"]) for r in ok)  # type: ignore[arg-type]
    summary = {
        "net": args.widths,
        "seed": args.seed,
        "spread": args.spread,
        "half": args.half,
        "shards": len(rows),
        "failed": [r["shard"] for r in rows if "error" in r],
        "cells": cells,
        "cpu_s": cpu,
        "cells_per_cpu_s": cells / cpu if cpu else None,
        "volume_rel_error": abs(volume - box.volume) / box.volume if len(ok) == len(plan.shards) else None,
        "max_closure_excess": max((float(r["closure_excess"]) for r in ok), default=None),  # type: ignore[arg-type]
        "max_facet_area_excess": max((float(r["facet_area_excess"]) for r in ok), default=None),  # type: ignore[arg-type]
        "snapped": sum(int(r["snapped"]) for r in ok),  # type: ignore[call-overload]
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "shards": rows}, indent=1))


if __name__ == "__main__":
    main()
