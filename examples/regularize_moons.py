"""Geometric regularization on two moons: the same ReLU MLP trained with and without GeometricPenalty.

    python examples/regularize_moons.py [--epochs 150] [--out regularize_moons.png]

Both runs use the same seeds, data and initial weights (CPU, float32, well under a minute). The
partitions are then measured with the package itself:

* cells: activation regions of the exact partition of the data's bounding box (``mg.partition``);
* slivers: cells whose inradius (largest inscribed ball, one LP per cell from the facet table) is
  below ``--sliver`` (default 0.02, about 0.5 % of the box diagonal);
* data cells and the distance from each training point to the boundary of its cell
  (``mg.LayerTrace(...).boundary_distance()``, exact: min_k |z_k| / ‖a_k‖ over the pulled-back neurons);
* test accuracy on fresh samples.

With matplotlib installed, a side-by-side picture of the two partitions is saved.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.optimize import linprog
from sklearn.datasets import make_moons

import mlgeom_rs as mg


def make_model(seed: int) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)
    )


def train(
    penalty: mg.GeometricPenalty | None, X: np.ndarray, y: np.ndarray, epochs: int
) -> tuple[torch.nn.Module, dict]:
    model = make_model(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    gen = torch.Generator().manual_seed(1)
    log: dict[str, float] = {}
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(128):
            xb, yb = xt[idx], yt[idx]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb)[:, 0], yb)
            if penalty is not None:
                loss = loss + penalty(model, xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    if penalty is not None:
        penalty(model, xt)
        log = {k: float(v) for k, v in penalty.last_terms.items()}
    return model, log


def inradii(part: mg.Partition) -> np.ndarray:
    """Radius of the largest ball in each cell: max r s.t. n_f·x + r <= n_f·c_f over its facets (unit n_f)."""
    f = part.facets
    d = part.dim
    out = np.empty(part.n_cells)
    # Outward normals: a facet's normal points from cells[f, 0] to cells[f, 1] (out of the box for box facets).
    owner = np.concatenate([f.cells[:, 0], f.cells[:, 1]])
    normal = np.concatenate([f.normals, -f.normals])
    offset = np.einsum("fd,fd->f", f.centroids, f.normals)
    offset = np.concatenate([offset, -offset])
    keep = owner >= 0
    owner, normal, offset = owner[keep], normal[keep], offset[keep]
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(part.n_cells + 1))
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    for i in range(part.n_cells):
        rows = order[bounds[i] : bounds[i + 1]]
        A = np.hstack([normal[rows], np.ones((rows.size, 1))])
        res = linprog(cost, A_ub=A, b_ub=offset[rows], bounds=[(None, None)] * d + [(0, None)], method="highs")
        out[i] = res.x[-1] if res.status == 0 else 0.0
    return out


def measure(
    model: torch.nn.Module, X: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, box: mg.Box, sliver: float
) -> dict:
    part = mg.partition(model, box)
    r = inradii(part)
    tr = mg.LayerTrace(model, X)
    dist = tr.boundary_distance()
    with torch.no_grad():
        pred = (model(torch.as_tensor(X_test, dtype=torch.float32))[:, 0] > 0).numpy()
    return {
        "cells": part.n_cells,
        "slivers": int(np.sum(r < sliver)),
        "data cells": tr.n_cells(tr.n_hidden),
        "min dist": float(dist.min()),
        "mean dist": float(np.mean(dist)),
        "median dist": float(np.median(dist)),
        "pts < 0.05": int(np.sum(dist < 0.05)),
        "test acc": float(np.mean(pred == y_test)),
        "_part": part,
        "_trace": tr,
    }


def picture(results: dict, X: np.ndarray, y: np.ndarray, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.collections import PolyCollection
    except ImportError:
        print("matplotlib is not installed; no picture")
        return
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), constrained_layout=True)
    rng = np.random.default_rng(0)
    for ax, (name, res) in zip(np.atleast_1d(axes), results.items(), strict=True):
        part = res["_part"]
        polys = []
        for i in range(part.n_cells):
            v = part.vertices(i)
            c = v.mean(axis=0)
            polys.append(v[np.argsort(np.arctan2(v[:, 1] - c[1], v[:, 0] - c[0]))])
        colors = plt.cm.Pastel1(rng.integers(0, 9, part.n_cells))
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors="0.3", linewidths=0.3))
        ax.scatter(X[:, 0], X[:, 1], c=y, s=6, cmap="coolwarm", edgecolors="none")
        ax.set_xlim(part.box.lo[0], part.box.hi[0])
        ax.set_ylim(part.box.lo[1], part.box.hi[1])
        ax.set_title(f"{name}: {res['cells']} cells, {res['slivers']} slivers, acc {res['test acc']:.3f}")
        ax.set_aspect("equal")
    fig.savefig(path, dpi=120)
    print(f"picture saved to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--sliver", type=float, default=0.02)
    parser.add_argument("--out", default="regularize_moons.png")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny nets: a thread pool only adds overhead

    X, y = make_moons(n_samples=500, noise=0.15, random_state=0)
    X_test, y_test = make_moons(n_samples=2000, noise=0.15, random_state=1)
    box = mg.Box.from_data(X, margin=0.1)
    # Margin and angle terms only: the fold term measures bending in logit units, and a classifier's
    # logits keep growing under the cross-entropy, so any fixed fold weight ends up fighting the fit.
    penalty = mg.GeometricPenalty(boundary_margin=0.3, acute_angle=0.1, fold=0.0, margin=0.02)
    print(penalty)

    results = {}
    for name, pen in (("plain", None), ("penalized", penalty)):
        t0 = time.perf_counter()
        model, terms = train(pen, X, y, args.epochs)
        seconds = time.perf_counter() - t0
        results[name] = measure(model, X, X_test, y_test, box, args.sliver)
        results[name]["train s"] = seconds
        if terms:
            print("final penalty terms:", {k: round(v, 4) for k, v in terms.items()})

    keys = [
        "cells",
        "slivers",
        "data cells",
        "min dist",
        "mean dist",
        "median dist",
        "pts < 0.05",
        "test acc",
        "train s",
    ]
    rows = [[name] + [_fmt(res[k]) for k in keys] for name, res in results.items()]
    widths = [max(len(str(c)) for c in col) for col in zip(["model", *keys], *rows, strict=True)]
    for row in (["model", *keys], *rows):
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))
    print("\nlayer summary (penalized):")
    print(results["penalized"]["_trace"].summary())
    picture(results, X, y, args.out)


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    main()
