"""Benchmarks of issue 6: LayerTrace on a 784-256-256-10 network and the GeometricPenalty overhead.

    python benchmarks/bench_forms.py            # a few minutes on one thread
    python benchmarks/bench_forms.py --quick    # 2 000 points, fewer repeats
    python benchmarks/bench_forms.py --device cuda   # the penalty part on a GPU as well

Part 1: a 784-256-256-10 ReLU network (He-initialised, biases 0.01) over N = 10 000 points: scikit-learn's
``load_digits`` upsampled from 8x8 to 28x28 (bilinear) with Gaussian jitter. Per layer: the time to group
the points by pattern (forward pass + lineage), the number of data cells, the time to compute J_l on
every data cell (batched, in blocks, discarded), and the time of ``boundary_distance`` (all layers)
and of ``summary(max_cells=200)``.

Part 2: one training step (forward, loss, backward, Adam) of a 2-64-64-1 MLP on batch 256, plain vs
with ``GeometricPenalty`` (each term alone, and all five); median over repeats, float32.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# BLAS threads must be fixed before numpy loads: --threads N (default 1; timings on a shared 2-CPU machine
# with a thread pool per process are dominated by spin-waiting).
_THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _THREADS)

import numpy as np  # noqa: E402


def digits_784(n: int, seed: int = 0) -> np.ndarray:
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    images = load_digits().images / 16.0  # (1797, 8, 8)
    big = zoom(images, (1, 3.5, 3.5), order=1)  # (1797, 28, 28)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, big.shape[0], n)
    return big[pick].reshape(n, 784) + rng.normal(scale=0.05, size=(n, 784))


def he_net(sizes: list[int], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ws = [rng.normal(scale=np.sqrt(2.0 / sizes[k]), size=(sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    bs = [np.full(sizes[k + 1], 0.01) for k in range(len(sizes) - 1)]
    return ws, bs


def part1(n: int) -> None:
    import mlgeom_rs as mg
    from mlgeom_rs.forms import LayerTrace

    X = digits_784(n)
    ws, bs = he_net([784, 256, 256, 10])
    t0 = time.perf_counter()
    tr = LayerTrace((ws, bs), X)
    build = time.perf_counter() - t0
    # Per-layer grouping cost: traces of the first l layers (cumulative), differenced.
    cumulative = [0.0]
    for l in range(1, tr.n_hidden + 1):
        t = time.perf_counter()
        LayerTrace((ws[:l], bs[:l]), X, output_layer=False)
        cumulative.append(time.perf_counter() - t)
    group = np.diff(cumulative)
    print(f"LayerTrace of 784-256-256-10 over N = {n} points: built in {build:.3f} s")
    rows = []
    for l in range(1, tr.n_layers + 1):
        cells = tr.n_cells(l)
        block = max(1, (1 << 24) // (max(tr.layer_sizes) * tr.dim))
        t = time.perf_counter()
        for lo in range(0, cells, block):
            tr.jacobians(l, np.arange(lo, min(lo + block, cells)))
        jac = time.perf_counter() - t
        rows.append(
            (l, tr.layer_sizes[l - 1], cells, group[l - 1] if l <= tr.n_hidden else 0.0, jac, jac / cells * 1e3)
        )
    print("| layer | width | data cells | group s | J_l all cells s | ms / cell |")
    print("|------:|------:|-----------:|--------:|----------------:|----------:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:,} | {r[3]:.3f} | {r[4]:.2f} | {r[5]:.3f} |")
    t = time.perf_counter()
    tr.boundary_distance()
    print(f"boundary_distance (all layers, all points): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    tr.summary(max_cells=200)
    print(f"summary(max_cells=200): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    dc = mg.data_cells((ws, bs), X)
    print(f"(for reference) mg.data_cells in Rust: {time.perf_counter() - t:.3f} s, {dc.n_cells} cells")


def part2(repeats: int, device: str) -> None:
    import torch

    from mlgeom_rs.regularize import TERMS, GeometricPenalty

    torch.manual_seed(0)
    dev = torch.device(device)
    x = torch.randn(256, 2, device=dev)
    y = (x[:, 0] * x[:, 1] > 0).float()

    def step_time(pen: GeometricPenalty | None) -> float:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
        ).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        times = []
        for k in range(repeats + 5):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x)[:, 0], y)
            if pen is not None:
                loss = loss + pen(model, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if k >= 5:
                times.append(time.perf_counter() - t)
        return float(np.median(times))

    base = step_time(None)
    print(f"\nTraining step, 2-64-64-1 MLP, batch 256, float32, {device}, torch threads {torch.get_num_threads()}")
    print("| penalty | ms / step | overhead |")
    print("|---|---:|---:|")
    print(f"| none | {base * 1e3:.2f} | 1.00x |")
    configs = {name: {t: (1.0 if t == name else 0.0) for t in TERMS} for name in TERMS}
    configs["defaults (margin, angle, fold)"] = None
    configs["all five"] = dict.fromkeys(TERMS, 1.0)
    for name, weights in configs.items():
        pen = GeometricPenalty() if weights is None else GeometricPenalty(**weights)
        t = step_time(pen)
        print(f"| {name} | {t * 1e3:.2f} | {t / base:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--skip-trace", action="store_true")
    args = parser.parse_args()
    if not args.skip_trace:
        part1(2000 if args.quick else 10_000)
    import torch

    torch.set_num_threads(args.threads)
    part2(20 if args.quick else 100, "cpu")
    if args.device != "cpu":
        part2(20 if args.quick else 100, args.device)


if __name__ == "__main__":
    main()
