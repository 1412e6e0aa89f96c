#!/usr/bin/env python
"""Benchmark: ``mlgeom_rs.partition_hyperplanes`` against the plain scipy/Qhull pipeline (DESIGN.md §6).

    python benchmarks/bench_arrangement.py [--quick] [--huge] [--budget SECONDS] [--json PATH]

1. Side by side, in one process, on the same random arrangements (fixed seeds): our path (one thread, with
   volumes, facets and ridges) and ``tests/reference.py`` (one LP per cell and side, Qhull per cell), the
   latter capped by a time budget per case. Then the large cases only we run.
2. 1 vs 2 threads (``n_threads``) on the large cases.
3. Peak memory (VmHWM, else ``ru_maxrss``) of the largest case, measured alone in a subprocess.
4. ``--huge``: ~10^7 cells in 3-D (m = 400 planes through points near the centre of the box,
   ``max_cells=20_000_000, ridges=False``), in a subprocess so that its peak RSS is its own.

A random arrangement here: Gaussian normals, each hyperplane through a uniform point of the central
``spread``-fraction of the unit box (spread 1: anywhere in the box). Timings are best-of-``repeats``
wall-clock seconds; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reference import ReferenceTimeout, partition_reference  # noqa: E402

import mlgeom_rs as mg  # noqa: E402

BOTH = [(20, 3), (30, 2), (12, 4)]  # (m, d): ours and scipy
LARGE = [(500, 2), (60, 3), (30, 4)]  # ours only
HUGE = (400, 3, 0.15)  # m, d, spread: about 10^7 cells


def arrangement(m: int, d: int, seed: int, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, d))
    p = 0.5 + spread * (rng.uniform(size=(m, d)) - 0.5)
    c = -(W * p).sum(axis=1)
    return W, c, np.zeros(d), np.ones(d)


def time_ours(W, c, lo, hi, *, repeats: int, **kw):
    box = mg.Box(lo, hi)
    best, part = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        part = mg.partition_hyperplanes(W, c, box, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, part


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB. On Linux, VmHWM of /proc/self/status: it belongs to
    the process image, whereas ru_maxrss survives exec and so starts at the forking parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def child(spec: str) -> None:
    """Run one case alone and print a JSON line: cells, seconds, baseline and peak RSS (MB)."""
    m, d, spread, ridges, max_cells = json.loads(spec)
    W, c, lo, hi = arrangement(m, d, seed=1000 + m * 10 + d, spread=spread)
    base = rss_mb()
    t0 = time.perf_counter()
    part = mg.partition_hyperplanes(W, c, mg.Box(lo, hi), ridges=ridges, max_cells=max_cells)
    seconds = time.perf_counter() - t0
    n = part.n_cells
    vsum = float(part.volumes.sum())
    print(json.dumps({"cells": n, "seconds": seconds, "baseline_mb": base, "peak_mb": rss_mb(), "volume_sum": vsum}))


def run_child(m, d, spread, ridges, max_cells, timeout):
    spec = json.dumps([m, d, spread, ridges, max_cells])
    out = subprocess.run(
        [sys.executable, __file__, "--child", spec], capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_rate(n, s):
    return f"{n / s:,.0f}" if s and np.isfinite(s) else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repeat, 15 s scipy budget per case")
    ap.add_argument("--huge", action="store_true", help="also the ~10^7-cell 3-D case (minutes, GBs)")
    ap.add_argument("--budget", type=float, default=None, help="scipy time budget per case, seconds (default 60)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here too")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child)
        return

    repeats = 1 if args.quick else 3
    budget = args.budget if args.budget is not None else (15.0 if args.quick else 60.0)
    results: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, {platform.python_version()}",
        "mlgeom_rs": getattr(mg, "__version__", "?"),
        "cases": [],
    }
    print(f"# mlgeom_rs {results['mlgeom_rs']} on {results['machine']}; repeats={repeats}, scipy budget={budget:g}s")
    print()
    hdr = f"{'case':<12} {'cells':>10} {'ours s':>9} {'ours cells/s':>13} {'scipy s':>9} {'scipy cells/s':>13} {'ratio':>9}"
    print(hdr)
    print("-" * len(hdr))
    for m, d in BOTH + LARGE:
        W, c, lo, hi = arrangement(m, d, seed=1000 + m * 10 + d)
        ours_s, part = time_ours(W, c, lo, hi, repeats=repeats, n_threads=1)
        row = {"case": f"m={m},d={d}", "cells": part.n_cells, "ours_s": ours_s}
        scipy_txt, rate_txt, ratio_txt = "-", "-", "-"
        if (m, d) in BOTH:
            t0 = time.perf_counter()
            try:
                ref = partition_reference(W, c, lo, hi, deadline=t0 + budget)
                scipy_s = time.perf_counter() - t0
                row["scipy_s"] = scipy_s
                if ref.n_cells != part.n_cells:
                    row["mismatch"] = f"scipy found {ref.n_cells} cells"
                scipy_txt, rate_txt = f"{scipy_s:.2f}", fmt_rate(ref.n_cells, scipy_s)
                ratio_txt = f"{scipy_s / ours_s:,.0f}x"
            except ReferenceTimeout:
                row["scipy_s"] = None
                scipy_txt, rate_txt = f">{budget:g}", f"<{part.n_cells / budget:,.0f}"
                ratio_txt = f">{budget / ours_s:,.0f}x"
        print(
            f"{row['case']:<12} {part.n_cells:>10,} {ours_s:>9.4f} {fmt_rate(part.n_cells, ours_s):>13} "
            f"{scipy_txt:>9} {rate_txt:>13} {ratio_txt:>9}" + (f"  !! {row['mismatch']}" if "mismatch" in row else "")
        )
        results["cases"].append(row)

    print()
    print("threads (large cases, best of repeats):")
    hdr = f"{'case':<12} {'cells':>10} {'1 thread s':>11} {'2 threads s':>12} {'speed-up':>9}"
    print(hdr)
    print("-" * len(hdr))
    results["threads"] = []
    for m, d in LARGE:
        W, c, lo, hi = arrangement(m, d, seed=1000 + m * 10 + d)
        t1, p1 = time_ours(W, c, lo, hi, repeats=repeats, n_threads=1)
        t2, _ = time_ours(W, c, lo, hi, repeats=repeats, n_threads=2)
        print(f"{f'm={m},d={d}':<12} {p1.n_cells:>10,} {t1:>11.4f} {t2:>12.4f} {t1 / t2:>8.2f}x")
        results["threads"].append({"case": f"m={m},d={d}", "t1": t1, "t2": t2})

    print()
    largest = max(
        LARGE, key=lambda md: next(r["cells"] for r in results["cases"] if r["case"] == f"m={md[0]},d={md[1]}")
    )
    m, d = largest
    r = run_child(m, d, 1.0, True, 10_000_000, timeout=600)
    print(
        f"peak memory, m={m},d={d} alone ({r['cells']:,} cells, ridges=True): peak RSS {r['peak_mb']:.0f} MB "
        f"(after imports {r['baseline_mb']:.0f} MB; {1e6 * (r['peak_mb'] - r['baseline_mb']) / r['cells']:.0f} "
        f"bytes/cell)"
    )
    results["memory"] = {"case": f"m={m},d={d}", **r}

    if args.huge:
        m, d, spread = HUGE
        print(f"huge: m={m},d={d} (planes through the central {spread:.0%} of the box), ridges=False ...", flush=True)
        try:
            r = run_child(m, d, spread, False, 20_000_000, timeout=3600)
            print(
                f"huge: {r['cells']:,} cells in {r['seconds']:.1f} s ({r['cells'] / r['seconds']:,.0f} cells/s, "
                f"all threads); peak RSS {r['peak_mb']:.0f} MB (after imports {r['baseline_mb']:.0f} MB; "
                f"{1e6 * (r['peak_mb'] - r['baseline_mb']) / r['cells']:.0f} bytes/cell); volume sum "
                f"{r['volume_sum']:.12f}"
            )
            results["huge"] = {"case": f"m={m},d={d},spread={spread}", **r}
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"huge: failed: {e}")
            results["huge"] = {"error": str(e)}

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
