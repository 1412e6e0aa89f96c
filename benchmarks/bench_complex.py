"""Benchmark: the nerve complex, its matrices and Laplacians, splines; TopoNetX side by side.

    python benchmarks/bench_complex.py                  # 10^4, 10^5, 10^6 cells (~5 min, ~8 GB peak)
    python benchmarks/bench_complex.py --quick          # 10^4 and 10^5 cells only
    python benchmarks/bench_complex.py --toponetx-python /path/to/venv/bin/python
    python benchmarks/bench_complex.py --json out.json

Partitions: 2-D arrangements of m lines (uniform directions, each through a uniform point of [-0.5, 0.5]²)
in the box [-1, 1]², m = 160, 500, 1580 (about 10^4, 10^5, 10^6 cells), with ridges and vertices. For each
nerve ("adjacency", "full", max_dim = 2) the table gives the wall time and (from a second, traced run) the
tracemalloc peak (numpy and scipy buffers) of: building the complex; B_1, B_2 and the masses M_0..M_2; the
Hodge Laplacians L_0, L_1 (random-walk form, with the masses and boundary matrices they need). The
partition itself (the Rust core) is timed separately.

TopoNetX (``pip install toponetx``; it runs in the interpreter given by ``--toponetx-python`` or
``$MLGEOM_TOPONETX_PYTHON``, else in this one if it imports there) gets the same simplices: the 2-skeleton
of the full nerve. It builds ``SimplicialComplex(simplices)`` and ``incidence_matrix(rank=1, 2)``,
``hodge_laplacian_matrix(rank=0, 1)``; ours builds the complex from the partition and the same matrices
(unit weights, as TopoNetX's). The matrices are compared entry by entry after reordering TopoNetX's
simplices to our lexicographic order. Splines: fit time of a constant spline (fixed λ and GCV) and an
affine face-jump spline (fixed λ) on 10^5 uniform points. No test asserts a timing.

Results (2026-11-28, 2-CPU x86_64 VM shared with other builds, load average 3-9, so ±2x between runs;
Python 3.11, numpy 2.4, scipy 1.17, ``maturin develop --profile dev-opt``; TopoNetX 0.2.0, the version
PyPI offers here):

| cells     | nerve     | n_0, n_1, n_2                   | complex s | B, M s | L0, L1 s | total s | peak MB |
|----------:|-----------|---------------------------------|----------:|-------:|---------:|--------:|--------:|
| 10,462    | adjacency | 10,462, 20,762, 0               |      0.01 |   0.01 |     0.01 |    0.03 |       7 |
| 10,462    | full      | 10,462, 41,364, 41,204          |      0.05 |   0.02 |     0.07 |    0.14 |      45 |
| 100,048   | adjacency | 100,048, 199,594, 0             |      0.07 |   0.07 |     0.13 |    0.27 |      65 |
| 100,048   | full      | 100,048, 398,688, 398,188       |      0.58 |   0.15 |     1.34 |    2.07 |     438 |
| 1,007,345 | adjacency | 1,007,345, 2,013,108, 0         |      1.26 |   1.58 |     2.63 |    5.48 |     659 |
| 1,007,345 | full      | 1,007,345, 4,024,636, 4,023,056 |     12.84 |   6.11 |    21.88 |   40.83 |   4,422 |

(The partitions themselves: 0.16 s, 1.4 s, 22 s in the core. A quieter earlier run gave 3.2 s and 20.9 s
for the two 10^6 rows.)

| cells  | triangles | TopoNetX s | ours s | speed-up | identical matrices |
|-------:|----------:|-----------:|-------:|---------:|--------------------|
| 10,462 |    41,204 |       5.67 |  0.106 |      54x | True               |
| 34,475 |   136,736 |      20.89 |  0.292 |      72x | True               |

(Earlier runs: 67x and 51x.) Splines on 10^5 points: 10^4 cells, constant, fixed λ 0.18 s, GCV 5.4 s;
affine face-jump, fixed λ 0.86 s; 10^5 cells, constant, fixed λ 1.1 s, GCV 35 s (about 15 sparse LU
factorizations with 16 Hutchinson probes each).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse

import mlgeom_rs as mg
from mlgeom_rs import laplacian

SIZES = {"1e4": 160, "1e5": 500, "1e6": 1580}


def arrangement(m: int, seed: int = 0) -> mg.Partition:
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0.0, np.pi, m)
    W = np.column_stack([np.cos(theta), np.sin(theta)])
    c = -(W * rng.uniform(-0.5, 0.5, (m, 2))).sum(axis=1)
    return mg.partition_hyperplanes(W, c, mg.Box(-1, 1, dim=2))


def timed(fn, memory: bool = True):
    """(result, seconds, peak MiB): timed without tracing, then run again under tracemalloc for the peak
    (numpy and scipy buffers), so that the tracing does not slow the timed run."""
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    peak = 0.0
    if memory:
        del out
        tracemalloc.start()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out, dt, peak


def bench_complex(part: mg.Partition, nerve: str) -> dict:
    cx, t_build, m_build = timed(lambda: mg.RiemannianComplex(part, nerve=nerve, max_dim=2))

    def fresh():  # the complex caches its boundary and mass matrices: start every timed step without them
        cx._boundary_cache.clear()
        cx._mass_cache.clear()

    _, t_mat, m_mat = timed(lambda: (fresh(), [cx.boundary(k) for k in (1, 2)], [cx.mass_vector(k) for k in range(3)]))
    _, t_lap, m_lap = timed(lambda: (fresh(), cx.hodge_laplacian(0), cx.hodge_laplacian(1)))
    return {
        "nerve": nerve,
        "shape": list(cx.shape),
        "build_s": t_build,
        "matrices_s": t_mat,
        "laplacians_s": t_lap,
        "total_s": t_build + t_mat + t_lap,
        "peak_mb": max(m_build, m_mat, m_lap),
    }


def ours_unit(part: mg.Partition) -> tuple[dict, float]:
    """The 2-skeleton of the full nerve with TopoNetX's matrices (unit weights), from the partition."""

    def run():
        cx = mg.RiemannianComplex(part, nerve="full", max_dim=2)
        B1, B2 = cx.boundary(1), cx.boundary(2)
        n0, n1, n2 = cx.shape
        L0 = laplacian.hodge(None, B1, None, np.ones(n0), np.ones(n1), "stiffness")
        L1 = laplacian.hodge(B1, B2, np.ones(n0), np.ones(n1), np.ones(n2), "stiffness")
        return cx, {"B1": B1, "B2": B2, "L0": L0, "L1": L1}

    (cx, mats), dt, _ = timed(run, memory=False)
    mats["S1"], mats["S2"] = cx.simplices(1), cx.simplices(2)
    return mats, dt


TOPONETX_CHILD = textwrap.dedent(
    """
    import sys, time, numpy as np, scipy.sparse, toponetx as tnx
    data = np.load(sys.argv[1])
    S1, S2 = data["S1"], data["S2"]
    simplices = [tuple(r) for r in S2.tolist()] + [tuple(r) for r in S1.tolist()]
    t = time.perf_counter()
    sc = tnx.SimplicialComplex(simplices)
    t_build = time.perf_counter() - t
    r1, c1, B1 = sc.incidence_matrix(rank=1, index=True)
    r2, c2, B2 = sc.incidence_matrix(rank=2, index=True)
    L0 = sc.hodge_laplacian_matrix(rank=0)
    L1 = sc.hodge_laplacian_matrix(rank=1)
    total = time.perf_counter() - t
    def order(d, k):
        out = np.zeros((len(d), k), dtype=np.int64)
        for key, i in d.items():
            out[i] = sorted(key)
        return out
    out = dict(build_s=t_build, total_s=total, V=order(r1, 1), E=order(c1, 2), E2=order(r2, 2), T=order(c2, 3))
    for name, M in (("B1", B1), ("B2", B2), ("L0", L0), ("L1", L1)):
        M = scipy.sparse.coo_matrix(M)
        out[name + "_row"], out[name + "_col"], out[name + "_val"] = M.row, M.col, M.data
        out[name + "_shape"] = np.array(M.shape)
    np.savez(sys.argv[2], **out)
    """
)


def toponetx_python(arg: str | None) -> str | None:
    for cand in (arg, os.environ.get("MLGEOM_TOPONETX_PYTHON")):
        if cand:
            return cand
    try:
        import toponetx  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def bench_toponetx(python: str, mats: dict, budget: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        inp, out, script = Path(tmp, "in.npz"), Path(tmp, "out.npz"), Path(tmp, "child.py")
        np.savez(inp, S1=mats["S1"], S2=mats["S2"])
        script.write_text(TOPONETX_CHILD)
        try:
            subprocess.run([python, str(script), str(inp), str(out)], check=True, timeout=budget)
        except subprocess.TimeoutExpired:
            return {"status": f">{budget:.0f} s"}
        res = np.load(out)

        def index(table, ours):
            """Position in our table of each TopoNetX simplex."""
            n = int(ours.max()) + 1 if ours.size else 1
            from mlgeom_rs import _nerve

            return _nerve.lookup_rows(ours, table, n)

        n0 = mats["L0"].shape[0]
        V = res["V"][:, 0]
        E = index(res["E"], mats["S1"])
        E2 = index(res["E2"], mats["S1"])
        T = index(res["T"], mats["S2"])
        same = True
        for name, rows, cols in (("B1", V, E), ("B2", E2, T), ("L0", V, V), ("L1", E, E)):
            r, c, v = res[name + "_row"], res[name + "_col"], res[name + "_val"]
            theirs = scipy.sparse.csr_array((v, (rows[r], cols[c])), shape=mats[name].shape)
            diff = abs(theirs - mats[name])
            same &= bool(diff.nnz == 0 or diff.max() == 0.0)
        return {
            "status": "ok",
            "build_s": float(res["build_s"]),
            "total_s": float(res["total_s"]),
            "identical": same,
            "n0": n0,
        }


def bench_splines(part: mg.Partition, n_points: int = 100_000, affine: bool = True) -> list[dict]:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (n_points, 2))
    y = np.sin(3 * X[:, 0]) * np.cos(2 * X[:, 1]) + 0.1 * rng.normal(size=n_points)
    cx = mg.RiemannianComplex(part)
    rows = []
    cases = [("constant", "laplacian", 1.0), ("constant", "laplacian", None)]
    if affine:
        cases.append(("affine", "face_jump", 1.0))
    for kind, penalty, lam in cases:
        sp = mg.SimplicialSpline(cx, kind=kind, penalty=penalty, lam=lam)
        t = time.perf_counter()
        sp.fit(X, y)
        dt = time.perf_counter() - t
        rows.append(
            {
                "cells": part.n_cells,
                "points": n_points,
                "kind": kind,
                "penalty": penalty,
                "lam": "GCV" if lam is None else lam,
                "fit_s": dt,
                "r2": sp.score(X, y),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 10^6-cell case")
    ap.add_argument("--toponetx-python", default=None, help="interpreter that has toponetx installed")
    ap.add_argument("--toponetx-budget", type=float, default=300.0, help="seconds per TopoNetX case")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()

    print(
        f"mlgeom_rs {mg.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    results: dict = {"complex": [], "toponetx": [], "splines": []}
    parts = {}
    print("\n| cells | m | partition s | nerve | n_0, n_1, n_2 | complex s | B, M s | L0, L1 s | total s | peak MB |")
    print("|---:|---:|---:|---|---|---:|---:|---:|---:|---:|")
    for label, m in SIZES.items():
        if args.quick and label == "1e6":
            continue
        t = time.perf_counter()
        part = arrangement(m)
        _ = part.facets, part.ridges, part.vertex_cells  # fetch the core's tables once
        t_part = time.perf_counter() - t
        parts[label] = part
        for nerve in ("adjacency", "full"):
            r = bench_complex(part, nerve)
            r.update(cells=part.n_cells, m=m, partition_s=t_part)
            results["complex"].append(r)
            print(
                f"| {part.n_cells:,} | {m} | {t_part:.2f} | {nerve} | {', '.join(f'{x:,}' for x in r['shape'])} | "
                f"{r['build_s']:.2f} | {r['matrices_s']:.2f} | {r['laplacians_s']:.2f} | {r['total_s']:.2f} | "
                f"{r['peak_mb']:.0f} |",
                flush=True,
            )

    python = toponetx_python(args.toponetx_python)
    print("\nTopoNetX side by side (2-skeleton of the full nerve; construction + B1, B2, L0, L1, unit weights)")
    if python is None:
        print("  toponetx is not installed here (pip install toponetx, or pass --toponetx-python): skipped")
    else:
        print("| cells | triangles | TopoNetX s | ours s | speed-up | identical |")
        print("|---:|---:|---:|---:|---:|---|")
        for m in (160, 290):
            part = arrangement(m)
            mats, ours = ours_unit(part)
            tnx = bench_toponetx(python, mats, args.toponetx_budget)
            row = {"cells": part.n_cells, "triangles": int(mats["S2"].shape[0]), "ours_s": ours, **tnx}
            results["toponetx"].append(row)
            if tnx["status"] == "ok":
                print(
                    f"| {part.n_cells:,} | {row['triangles']:,} | {tnx['total_s']:.2f} | {ours:.3f} | "
                    f"{tnx['total_s'] / ours:.0f}x | {tnx['identical']} |",
                    flush=True,
                )
            else:
                print(f"| {part.n_cells:,} | {row['triangles']:,} | {tnx['status']} | {ours:.3f} | - | - |")

    print("\nSplines on 10^5 points (uniform in the box)")
    print("| cells | kind | penalty | lambda | fit s | R^2 |")
    print("|---:|---|---|---|---:|---:|")
    for label in ("1e4", "1e5"):
        for r in bench_splines(parts[label], affine=label == "1e4"):
            results["splines"].append(r)
            print(
                f"| {r['cells']:,} | {r['kind']} | {r['penalty']} | {r['lam']} | {r['fit_s']:.2f} | {r['r2']:.3f} |",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
