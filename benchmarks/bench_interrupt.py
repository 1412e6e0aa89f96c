"""Ctrl-C latency and the cost of progress reporting for the long computations (issue 7).

Every long native call (hyperplane and ReLU partitions, tree/forest partitions, Ollivier curvature)
runs on a worker thread without the GIL while the caller polls every 50 ms for signals and calls the
progress callback. This script measures, per computation:

* the run time with ``progress=False`` (counters only, no callback) and with a callback, 1 and 2 threads;
* the Ctrl-C latency: ``_thread.interrupt_main()`` (a simulated Ctrl-C) at 25 %, 50 %, 75 % and 95 % of
  the run, and the time until ``KeyboardInterrupt`` reaches the caller (the target is under a second).

    python benchmarks/bench_interrupt.py            # ~1-2 min
    python benchmarks/bench_interrupt.py --quick    # smaller inputs

No test asserts a timing; the numbers depend on the machine and its load.
"""

from __future__ import annotations

import _thread
import argparse
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

import mlgeom_rs as mg


def _king_graph(k: int) -> sp.csr_array:
    step = sp.identity(k) + sp.diags([np.ones(k - 1), np.ones(k - 1)], [-1, 1])
    A = sp.csr_array(sp.kron(sp.kron(step, step), step) - sp.identity(k**3))
    A.eliminate_zeros()
    return A


def _cases(quick: bool) -> list[tuple[str, Callable[..., Any]]]:
    rng = np.random.default_rng(0)
    m = 90 if quick else 120
    W, c = rng.standard_normal((m, 3)), rng.uniform(-0.5, 0.5, m)
    box3 = mg.Box(-1, 1, dim=3)
    h = 40 if quick else 60
    ws = [rng.standard_normal((h, 3)), rng.standard_normal((h, h)), rng.standard_normal((1, h))]
    bs = [0.3 * rng.standard_normal(h), 0.3 * rng.standard_normal(h), np.zeros(1)]
    cases: list[tuple[str, Callable[..., Any]]] = [
        (f"hyperplanes m={m} d=3", lambda **kw: mg.partition_hyperplanes(W, c, box3, **kw)),
        (f"ReLU [3,{h},{h},1]", lambda **kw: mg.partition_relu(ws, bs, box3, ridges=False, **kw)),
    ]
    try:
        from sklearn.ensemble import ExtraTreesRegressor
    except ModuleNotFoundError:
        print("scikit-learn is not installed: no forest case")
    else:
        X = rng.uniform(0, 1, (300, 3))
        n_trees = 10 if quick else 16
        forest = ExtraTreesRegressor(n_estimators=n_trees, max_depth=8, random_state=0).fit(X, rng.standard_normal(300))
        box01 = mg.Box(0, 1, dim=3)
        cases.append((f"forest {n_trees} trees d=3", lambda **kw: mg.partition(forest, box01, check=False, **kw)))
    k = 12 if quick else 16
    A = _king_graph(k)
    cases.append((f"Ollivier king {k}^3", lambda **kw: mg.ollivier_ricci(A, **kw)))
    return cases


def _time(run: Callable[..., Any], **kw: Any) -> float:
    start = time.perf_counter()
    run(**kw)
    return time.perf_counter() - start


def _latency(run: Callable[..., Any], delay: float) -> float | None:
    sent: list[float] = []
    timer = threading.Timer(delay, lambda: (sent.append(time.perf_counter()), _thread.interrupt_main()))
    timer.start()
    try:
        run(n_threads=1, progress=False)
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        timer.cancel()
    return None  # finished before the signal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started as a background job
    print("| computation | threads | no callback s | callback s | Ctrl-C latency at 25/50/75/95 % (s) |")
    print("|---|--:|--:|--:|---|")
    for name, run in _cases(args.quick):
        for threads in (1, 2):
            calls: list[int] = []
            plain = min(_time(run, n_threads=threads, progress=False) for _ in range(2))
            with_cb = min(_time(run, n_threads=threads, progress=calls.append) for _ in range(2))
            lat = ""
            if threads == 1:
                latencies = [_latency(run, f * plain) for f in (0.25, 0.5, 0.75, 0.95)]
                lat = " / ".join("done" if x is None else f"{x:.3f}" for x in latencies)
            print(f"| {name} | {threads} | {plain:.3f} | {with_cb:.3f} | {lat} |", flush=True)


if __name__ == "__main__":
    main()
