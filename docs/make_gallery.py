"""Draw the gallery of example pictures in docs/gallery/ (the PNGs are committed).

    .venv/bin/python docs/make_gallery.py [OUTDIR]

Every picture is drawn from the exact geometry of a partition (mlgeom_rs.plot). Needs matplotlib;
the forest picture also needs scikit-learn (skipped without it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import mlgeom_rs as mg
from mlgeom_rs.examples import figure1, random_arrangement
from mlgeom_rs.plot import plot_slice

DPI = 90


def _save(fig: Figure, out: Path, name: str) -> Path:
    path = out / name
    fig.savefig(path, dpi=DPI)
    print(path)
    return path


def _relu(widths: list[int], seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(widths[:-1], widths[1:], strict=True)]
    bs = [0.3 * rng.standard_normal(o) for o in widths[1:]]
    return ws, bs


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig = Figure(figsize=(5, 4.4), layout="constrained")
    figure1().partition().plot(fig.add_subplot(), labels=True)
    fig.axes[0].set_title("Figure 1: two lines, four cells")
    paths.append(_save(fig, out, "figure1.png"))

    fig = Figure(figsize=(5.6, 4.4), layout="constrained")
    part = random_arrangement(40, 2, seed=0).partition()
    part.plot(fig.add_subplot(), color_by="volume")
    fig.axes[0].set_title(f"40 random lines: {part.n_cells} cells by area")
    paths.append(_save(fig, out, "random_lines.png"))

    fig = Figure(figsize=(5.6, 4.4), layout="constrained")
    ws, bs = _relu([2, 12, 12, 1], seed=1)
    net = mg.partition((ws, bs), mg.Box(-1, 1, dim=2))
    X = np.random.default_rng(2).uniform(-1, 1, (60, 2))
    net.plot(fig.add_subplot(), color_by="prediction", data=X)
    fig.axes[0].set_title(f"ReLU net 2-12-12-1: {net.n_cells} activation regions")
    paths.append(_save(fig, out, "relu_regions.png"))

    fig = Figure(figsize=(5.2, 4.6), layout="constrained")
    random_arrangement(10, 3, seed=0).partition().plot3d(fig.add_subplot(projection="3d"))
    fig.axes[0].set_title("10 random planes in the unit cube")
    paths.append(_save(fig, out, "planes_3d.png"))

    fig = Figure(figsize=(5.6, 4.4), layout="constrained")
    ws5, bs5 = _relu([5, 16, 8, 1], seed=3)
    u, v = np.eye(5)[0], (np.eye(5)[1] + np.eye(5)[2]) / np.sqrt(2)
    plot_slice((ws5, bs5), np.zeros(5), u, v, box=mg.Box(-1, 1, dim=5), ax=fig.add_subplot(), color_by="prediction")
    fig.axes[0].set_title("exact slice of a 5-input ReLU net")
    paths.append(_save(fig, out, "slice_5d.png"))

    fig = Figure(figsize=(6.8, 4.4), layout="constrained")
    part = random_arrangement(8, 2, seed=3).partition()
    cx = mg.RiemannianComplex(part, nerve="full")
    cx.plot(fig.add_subplot(), color_by="curvature")  # Forman at the cells, statistical Ricci on the edges
    fig.axes[0].set_title("nerve complex by curvature")
    paths.append(_save(fig, out, "complex_curvature.png"))

    try:
        from sklearn.ensemble import RandomForestClassifier
    except ModuleNotFoundError:
        print("scikit-learn is not installed: forest picture skipped")
    else:
        rng = np.random.default_rng(4)
        Xf = rng.uniform(0, 1, (200, 2))
        y = (np.sin(6 * Xf[:, 0]) > 2 * Xf[:, 1] - 1).astype(int)
        forest = RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0).fit(Xf, y)
        fp = mg.partition(forest, mg.Box(0, 1, dim=2))
        fig = Figure(figsize=(5.6, 4.4), layout="constrained")
        fp.plot(fig.add_subplot(), color_by="prediction", data=Xf, show_facets=False)
        fig.axes[0].set_title(f"random forest: {fp.n_cells} boxes by predicted class")
        paths.append(_save(fig, out, "forest.png"))
    return paths


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "gallery")
