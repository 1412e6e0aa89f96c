#!/usr/bin/env python
"""Benchmark: ``mlgeom_rs.ollivier_ricci`` against GraphRicciCurvature's exact Ollivier curvature (DESIGN.md §6).

    python benchmarks/bench_curvature.py [--quick] [--sizes 1000 10000 100000] [--no-reference] [--json PATH]

Two families of weighted planar graphs, with about 10^3, 10^4 and 10^5 edges (fixed seeds):

* ``delaunay``: the Delaunay triangulation (scipy.spatial.Delaunay) of uniform random points in the unit
  square, each edge weighted by its Euclidean length;
* ``partition``: the cell adjacency graph of a partition of the unit square by random lines
  (``mg.partition_hyperplanes``), each edge weighted by the distance between the two cell centroids.

On each graph, in one process: ours with 1 and 2 threads (``n_threads``) and GraphRicciCurvature's
``OllivierRicci(G, alpha=0.5, method="OTD", shortest_path="pairwise")`` (its default ``proc``: all cores,
worker processes). Both compute the same curvature (alpha 0.5, base e, exp_power 2); the table gives the
largest |difference| over all edges. Times are wall-clock seconds of one run (best of ``--repeats`` for
ours), plus CPU seconds (user + system, workers included) because a shared machine's load distorts wall
time. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import networkx as nx
import numpy as np
import scipy.sparse
from scipy.spatial import Delaunay

import mlgeom_rs as mg

SIZES = (1_000, 10_000, 100_000)


def _csr(n: int, edges: np.ndarray, lengths: np.ndarray) -> scipy.sparse.csr_array:
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    A = scipy.sparse.csr_array((np.concatenate([lengths, lengths]), (rows, cols)), shape=(n, n))
    A.sum_duplicates()
    return A


def delaunay_graph(n_edges: int, seed: int = 0) -> scipy.sparse.csr_array:
    """Delaunay triangulation with about ``n_edges`` edges (a triangulation of n points has about 3n)."""
    pts = np.random.default_rng(seed).random((max(n_edges // 3, 4), 2))
    tri = Delaunay(pts).simplices
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    return _csr(len(pts), edges, np.linalg.norm(pts[edges[:, 0]] - pts[edges[:, 1]], axis=1))


def _lines(m: int, seed: int) -> mg.Partition:
    """m random lines through uniform points of the unit square."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, 2))
    c = -(W * rng.random((m, 2))).sum(axis=1)
    return mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), ridges=False, vertices=False)


def partition_graph(n_edges: int, seed: int = 0) -> scipy.sparse.csr_array:
    """Adjacency graph of random lines in the unit square with about ``n_edges`` edges (the number of
    lines m is calibrated once: edges grow like m^2), centroid distances as lengths."""
    probe = 40
    probe_edges = _lines(probe, seed).adjacency().nnz // 2
    m = max(int(round(probe * np.sqrt(n_edges / probe_edges))), 2)
    part = _lines(m, seed)
    adj = scipy.sparse.triu(part.adjacency("count"), k=1).tocoo()
    edges = np.stack([adj.row, adj.col], axis=1).astype(np.int64)
    cen = part.centroids
    return _csr(part.n_cells, edges, np.linalg.norm(cen[edges[:, 0]] - cen[edges[:, 1]], axis=1))


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_ours(A: scipy.sparse.csr_array, threads: int, repeats: int) -> tuple[float, float, scipy.sparse.csr_array]:
    best, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), cpu_seconds()
        out, _ = mg.ollivier_ricci(A, alpha=0.5, n_threads=threads)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, cpu_seconds() - c0)
    return best, best_cpu, out


def time_reference(A: scipy.sparse.csr_array) -> tuple[float, float, dict[tuple[int, int], float]]:
    from GraphRicciCurvature.OllivierRicci import OllivierRicci

    G = nx.Graph()
    G.add_nodes_from(range(A.shape[0]))
    coo = scipy.sparse.triu(A, k=1).tocoo()
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    t0, c0 = time.perf_counter(), cpu_seconds()
    orc = OllivierRicci(G, alpha=0.5, method="OTD", shortest_path="pairwise", verbose="ERROR")
    orc.compute_ricci_curvature()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return wall, cpu, {(u, v): d["ricciCurvature"] for u, v, d in orc.G.edges(data=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--quick", action="store_true", help="sizes 10^3 and 10^4 only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-reference", action="store_true", help="skip GraphRicciCurvature")
    ap.add_argument("--json", help="also write the rows as JSON")
    args = ap.parse_args()
    sizes = [s for s in args.sizes if not (args.quick and s > 10_000)]
    reference = not args.no_reference
    if reference:
        try:
            import GraphRicciCurvature  # noqa: F401
        except ImportError:
            print("GraphRicciCurvature is not installed; running ours only", file=sys.stderr)
            reference = False

    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    header = (
        "| graph     | edges   | ours 1 thr s (cpu) | ours 2 thr s (cpu) | GRC s (cpu)        "
        "| speed-up 1 / 2 thr | max abs diff |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    rows = []
    for family, build in (("delaunay", delaunay_graph), ("partition", partition_graph)):
        for size in sizes:
            A = build(size)
            n_edges = A.nnz // 2
            w1, c1, ours = time_ours(A, 1, args.repeats)
            w2, c2, ours2 = time_ours(A, 2, args.repeats)
            assert (ours != ours2).nnz == 0, "thread count changed the values"
            row = {
                "graph": family,
                "edges": n_edges,
                "nodes": A.shape[0],
                "ours_1": w1,
                "ours_1_cpu": c1,
                "ours_2": w2,
                "ours_2_cpu": c2,
            }
            ref_text, speed, diff_text = "–", "–", "–"
            if reference:
                wr, cr, ref = time_reference(A)
                diff = max(abs(ours[u, v] - k) for (u, v), k in ref.items())
                row.update(grc=wr, grc_cpu=cr, max_abs_diff=diff)
                ref_text = f"{wr:8.3f} ({cr:7.2f})"
                speed = f"{wr / w1:6.1f}× / {wr / w2:6.1f}×"
                diff_text = f"{diff:.1e}"
            rows.append(row)
            print(
                f"| {family:<9} | {n_edges:>7,} | {w1:8.3f} ({c1:6.2f})  | {w2:8.3f} ({c2:6.2f})  "
                f"| {ref_text:<18} | {speed:<18} | {diff_text:<12} |",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
