"""Command-line interface: ``mlgeom-rs`` or ``python -m mlgeom_rs``.

Commands
--------
``demo``
    Partition the built-in examples (Figure 1 of Gajer & Ravel, arXiv 2508.02080, and random
    arrangements in 2-D and 3-D), print a summary table and write a picture
    (``--plot PATH``, default ``mlgeom-demo.png`` in the current directory; ``--no-plot`` to skip;
    without matplotlib the picture is skipped with a note).
``analyze MODEL``
    Partition the box ``--box LO HI`` (or the bounding box of ``--data``) by a saved model and print
    the cells, a volume summary, an adjacency summary and a curvature summary; optionally write JSON, a picture and a
    Parquet file of the cells. MODEL is one of

    - ``.npz``: a ReLU network with arrays ``W0, b0, W1, b1, ...`` (``W<k>`` of shape (out, in), the
      layout of ``torch.nn.Linear.weight``; ReLU after every layer but the last, which is the linear
      output layer unless the archive holds ``output_layer=0``), or hyperplanes ``W`` (m, d) and ``c``
      (m,) for the arrangement ``W @ x + c = 0``;
    - ``.pt``/``.pth``: a TorchScript file of an ``nn.Sequential`` of Linear/ReLU layers
      (``torch.jit.script(model).save(path)``; only its layers and parameters are read, its code is
      never run), or a ``state_dict`` of one (``torch.save(model.state_dict(), path)``, read with
      ``torch.load(weights_only=True)``: Linear layers in the dict's order, ReLU between them, the
      last one the linear output layer), or, with ``--trust-pickle``, a ``torch.save``-d module;
      needs torch;
    - ``.pkl``/``.pickle``/``.joblib``, with ``--trust-pickle`` only: a pickled scikit-learn estimator
      (MLP with ReLU, linear model, decision tree or forest), read with joblib when installed, else
      pickle.

    **Untrusted files.** Unpickling runs code from the file: a pickle or joblib file, or a full
    torch model (``torch.load(weights_only=False)``), can execute any Python command while it is
    loaded. ``analyze`` therefore refuses them unless ``--trust-pickle`` is given, with a message
    saying so. The formats it reads by default run nothing from the file: ``.npz`` (read with
    ``allow_pickle=False``), ``.npy`` data, torch ``state_dict`` files (``weights_only=True``) and
    TorchScript archives.

Exit status: 0 on success; 1 when the work fails (a file that cannot be read, an unsupported model,
a box that does not fit the model, an :class:`MlgeomError`, a missing optional dependency, or a
failed sanity check in ``demo``); 2 on a usage error (argparse's convention), e.g. a ``--box`` that
is not two numbers or lists of numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import __version__
from ._format import format_table
from .box import Box
from .examples import demo_examples
from .exceptions import InvalidInputError, MlgeomError
from .partition import Partition

__all__ = ["main"]

PROG = "mlgeom-rs"

#: ``demo`` fails when the cell volumes miss the box volume by more than this (relative).
VOLUME_RTOL = 1e-9

DEMO_PICTURE = "mlgeom-demo.png"

NPZ_SUFFIXES = (".npz",)
TORCH_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


class CliError(Exception):
    """A failure reported as ``mlgeom-rs: error: ...`` with exit status 1."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _bound(text: str) -> float | list[float]:
    """A box bound: a number, or comma-separated numbers (one per input dimension)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or comma-separated numbers (e.g. 0 or -1,0,2), got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}")
    if not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"box bounds must be finite, got {text!r}")
    return values[0] if len(values) == 1 and "," not in text else values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact geometry of the partitions that machine-learning models cut their input "
        "space into (Gajer & Ravel, arXiv 2508.02080).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="partition the built-in examples, print a summary and draw them",
        description="Partition Figure 1 of the paper (lines x1=0.3, x2=0.6 in the unit square), "
        "40 random lines in 2-D and 12 random planes in 3-D; print cells, volume check, facets, "
        "ridges and timings, then the cells of Figure 1, and draw the three partitions to a PNG "
        "(needs matplotlib).",
    )
    demo.add_argument("--threads", type=_positive_int, default=None, metavar="N", help="worker threads")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random examples (default 0)")
    demo.add_argument(
        "--plot",
        metavar="PATH",
        default=None,
        help=f"where to write the picture (default {DEMO_PICTURE} in the current directory, or in the "
        "temporary directory when that is not writable)",
    )
    demo.add_argument("--no-plot", action="store_true", help="do not draw")

    analyze = commands.add_parser(
        "analyze",
        help="partition a box by a saved model and summarise the cells",
        description="Partition a box by a saved model (.npz of weights W0,b0,W1,b1,... or hyperplanes W,c; "
        "a TorchScript file or a state_dict of a torch nn.Sequential of Linear/ReLU; with --trust-pickle also a "
        "torch.save-d module or a pickled/joblib scikit-learn MLP, linear model, tree or forest) and print cells, "
        "volumes, adjacency and curvature. Loading a pickle, a joblib file or a full torch module runs code from "
        "the file, so these are refused unless you pass --trust-pickle; .npz, .npy, state_dict (read with "
        "torch.load(weights_only=True)) and TorchScript files run nothing from the file.",
        epilog="Examples: mlgeom-rs analyze net.npz --box -1 1 --plot net.png;  "
        "mlgeom-rs analyze forest.joblib --trust-pickle --data X.npy --json cells.json",
    )
    analyze.add_argument("model", metavar="MODEL", help="model file: .npz, .pt/.pth (torch), .pkl/.pickle/.joblib")
    analyze.add_argument(
        "--box",
        nargs=2,
        type=_bound,
        metavar=("LO", "HI"),
        help="the input box: two numbers (the same on every axis) or comma-separated lists, one entry per "
        "input; default: the bounding box of --data padded by 5%%",
    )
    # `--box LO HI` is rewritten to these by _split_box so that bounds like -1,-1 are not taken for options.
    analyze.add_argument("--box-lo", type=_bound, help=argparse.SUPPRESS)
    analyze.add_argument("--box-hi", type=_bound, help=argparse.SUPPRESS)
    analyze.add_argument("--data", metavar="X.npy", help="data points (N, d): .npy, or .csv/.txt (comma-separated)")
    analyze.add_argument("--json", metavar="PATH", help="write the summary and every cell to a JSON file")
    analyze.add_argument("--plot", metavar="PATH", help="draw the partition (d <= 3; a 2-D slice above) to a PNG")
    analyze.add_argument("--parquet", metavar="PATH", help="write the cells to a Parquet file (needs pyarrow)")
    analyze.add_argument("--threads", type=_positive_int, default=None, metavar="N", help="worker threads")
    analyze.add_argument(
        "--max-cells", type=_positive_int, default=10_000_000, metavar="N", help="refuse more cells (default 10^7)"
    )
    analyze.add_argument("--rows", type=int, default=10, metavar="N", help="cells listed in the summary (default 10)")
    analyze.add_argument("--no-check", action="store_true", help="skip comparing the cells with the model's predict")
    analyze.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow pickles (.pkl/.pickle/.joblib: scikit-learn estimators) and full torch modules "
        "(torch.save(model)); unpickling runs arbitrary code from the file, so pass this only for files "
        "you made or trust",
    )
    return parser


# ------------------------------------------------------------------------------------------------ demo
def _default_picture() -> Path:
    here = Path.cwd()
    if os.access(here, os.W_OK):
        return here / DEMO_PICTURE
    return Path(tempfile.gettempdir()) / DEMO_PICTURE


def _figure(n_panels: int) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, works headless

    return Figure(figsize=(5.2 * n_panels, 4.4), layout="constrained")


def _demo_picture(parts: Sequence[tuple[str, Partition]], path: Path) -> None:
    fig = _figure(len(parts))
    for k, (name, part) in enumerate(parts):
        if part.dim == 3:
            ax = fig.add_subplot(1, len(parts), k + 1, projection="3d")
            part.plot3d(ax)
        else:
            ax = fig.add_subplot(1, len(parts), k + 1)
            if part.n_cells <= 16:
                part.plot(ax, labels=True)
            else:
                part.plot(ax, color_by="volume")
        ax.set_title(f"{name}: {part.n_cells} cells")
    fig.savefig(path, dpi=110)


def _matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _demo(threads: int | None, seed: int, plot: str | None, no_plot: bool) -> int:
    rows = []
    failures = []
    figure = None
    parts: list[tuple[str, Partition]] = []
    for example in demo_examples(seed):
        start = time.perf_counter()
        partition = example.partition(n_threads=threads)
        elapsed_ms = 1e3 * (time.perf_counter() - start)
        total = float(partition.volumes.sum())
        box_volume = example.box.volume
        if abs(total - box_volume) > VOLUME_RTOL * box_volume:
            failures.append(f"{example.name}: cell volumes sum to {total!r}, box volume is {box_volume!r}")
        rows.append(
            (
                example.name,
                partition.dim,
                partition.n_hyperplanes,
                partition.n_cells,
                f"{total:.12f}",
                f"{box_volume:g}",
                len(partition.facets),
                len(partition.ridges),
                f"{elapsed_ms:.2f}",
            )
        )
        parts.append((example.name, partition))
        figure = figure or (example, partition)
    headers = ["example", "d", "m", "cells", "sum of volumes", "box", "facets", "ridges", "time (ms)"]
    print(f"mlgeom_rs {__version__}: demo\n")
    print(format_table(headers, rows))
    if figure is not None:
        example, partition = figure
        print(f"\n{example.description}\n")
        print(partition.summary())
    if not no_plot:
        if _matplotlib_available():
            path = Path(plot) if plot is not None else _default_picture()
            _demo_picture(parts, path)
            print(f"\npicture: {path}")
        elif plot is not None:
            raise CliError("--plot needs matplotlib: pip install 'matplotlib>=3.8' (or mlgeom_rs[plot])")
        else:
            print("\n(no picture: matplotlib is not installed; pip install 'matplotlib>=3.8' to get one)")
    for failure in failures:
        print(f"{PROG}: check failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


# ------------------------------------------------------------------------------------------------ loading
def _load_npz(path: Path) -> tuple[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: np.asarray(archive[key]) for key in archive.files}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path} as a .npz archive: {exc}") from exc
    keys = set(arrays)
    if {"W", "c"} <= keys:
        return "hyperplanes", (arrays["W"], arrays["c"])
    n = 0
    while f"W{n}" in keys:
        if f"b{n}" not in keys:
            raise CliError(
                f"{path}: W{n} has no bias b{n}; a network needs W0, b0, W1, b1, ... (W<k> of shape (out, in))"
            )
        n += 1
    if n == 0:
        raise CliError(
            f"{path} holds {sorted(keys) or 'no arrays'}; expected a ReLU network W0, b0, W1, b1, ... (W<k> of shape "
            "(out, in), as torch.nn.Linear.weight) or hyperplanes W (m, d) and c (m,)"
        )
    weights = [arrays[f"W{k}"] for k in range(n)]
    biases = [arrays[f"b{k}"] for k in range(n)]
    output_layer = bool(arrays["output_layer"]) if "output_layer" in keys else True
    return "network", ((weights, biases), output_layer)


def _from_torchscript(scripted: Any) -> Any:
    """An eager ``nn.Sequential`` with the layers (and parameters) of a scripted Sequential or Linear."""
    from torch import nn

    def convert(module: Any) -> list[Any]:
        kind = getattr(module, "original_name", type(module).__name__)
        if kind == "Sequential":
            return [layer for _, child in module.named_children() for layer in convert(child)]
        if kind == "Linear":
            weight = module.weight.detach()
            bias = getattr(module, "bias", None)
            linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=weight.dtype)
            linear.weight.data.copy_(weight)
            if bias is not None:
                linear.bias.data.copy_(bias.detach())
            return [linear]
        if kind == "ReLU":
            return [nn.ReLU()]
        if kind in ("Identity", "Flatten", "Dropout"):
            return []
        raise CliError(f"the TorchScript model has a layer of type {kind}; only Linear and ReLU layers are supported")

    return nn.Sequential(*convert(scripted)).eval()


#: Why pickles are refused by default; the error messages and ``--help`` say it the same way.
UNPICKLING_RUNS_CODE = (
    "loading it runs any code it contains (unpickling can execute arbitrary commands), so it is refused "
    "unless you pass --trust-pickle"
)


def _refuse(path: Path, what: str, safe: str) -> CliError:
    return CliError(
        f"{path} is {what}: {UNPICKLING_RUNS_CODE}. If you made the file or trust where it came from, add "
        f"--trust-pickle; otherwise {safe}"
    )


def _from_state_dict(path: Path, state: dict[str, Any]) -> tuple[str, Any]:
    """A ReLU network from a state_dict of Linear layers: ``<name>.weight`` (out, in) and ``<name>.bias`` in the
    dict's order (the modules' order for ``nn.Sequential``), ReLU between them, the last the linear output."""
    weights: list[npt.NDArray[np.float64]] = []
    biases: list[npt.NDArray[np.float64]] = []
    names = [key[: -len(".weight")] for key in state if key.endswith(".weight")]
    extra = sorted(set(state) - {f"{n}.weight" for n in names} - {f"{n}.bias" for n in names})
    if extra or not names:
        raise CliError(
            f"{path} holds a state_dict with {'the entries ' + ', '.join(extra[:5]) if extra else 'no weights'}; "
            "only Linear layers (<name>.weight, <name>.bias) of an nn.Sequential of Linear/ReLU can be read"
        )
    for name in names:
        w = np.asarray(state[f"{name}.weight"].detach().cpu().double().numpy())
        bias = state.get(f"{name}.bias")
        b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias.detach().cpu().double().numpy())
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise CliError(f"{path}: layer {name!r} is not a Linear layer (weight {w.shape}, bias {b.shape})")
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise CliError(
                f"{path}: layer {name!r} takes {w.shape[1]} inputs but the layer before it has {weights[-1].shape[0]} "
                "outputs; the state_dict is not a Linear/ReLU stack in order"
            )
        weights.append(w)
        biases.append(b)
    return "network", ((weights, biases), True)


def _load_torch(path: Path, trust_pickle: bool) -> tuple[str, Any]:
    try:
        import torch
    except ModuleNotFoundError:
        raise CliError(f"{path} is a torch file; reading it needs torch (pip install torch)") from None
    try:
        load_script: Any = torch.jit.load  # untyped in some torch versions
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.9 deprecates TorchScript; it still loads
            scripted = load_script(str(path), map_location="cpu")
    except Exception:  # not a TorchScript archive
        scripted = None
    if scripted is not None:
        return "model", _from_torchscript(scripted)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # holds objects other than tensors: a pickled module
        if not trust_pickle:
            raise _refuse(
                path,
                "a pickled torch model (torch.save(model))",
                "save the weights instead: torch.save(model.state_dict(), path) or torch.jit.script(model).save(path)",
            ) from exc
    except Exception as exc:
        raise CliError(f"cannot read {path} as a torch file: {exc}") from exc
    else:
        if isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()):
            return _from_state_dict(path, state)
        raise CliError(
            f"{path} holds a {type(state).__name__}, not a state_dict of tensors; save model.state_dict() or a "
            "TorchScript file (torch.jit.script(model).save(path))"
        )
    print(
        f"{PROG}: warning: --trust-pickle: unpickling {path.name}, which can run any code it contains", file=sys.stderr
    )
    try:
        model = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CliError(f"cannot read {path} as a torch model: {exc}") from exc
    if hasattr(model, "eval"):
        model.eval()
    return "model", model


def _load_pickle(path: Path) -> Any:
    print(
        f"{PROG}: warning: --trust-pickle: unpickling {path.name}, which can run any code it contains", file=sys.stderr
    )
    try:
        try:
            import joblib
        except ModuleNotFoundError:
            joblib = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. scikit-learn version mismatch; checked by the partition
            if joblib is not None:
                load: Any = joblib.load
                return load(path)
            with path.open("rb") as fh:
                return pickle.load(fh)
    except ModuleNotFoundError as exc:
        raise CliError(f"{path} needs the module {exc.name!r} to be read; install it") from exc
    except Exception as exc:
        raise CliError(f"cannot unpickle {path}: {type(exc).__name__}: {exc}") from exc


def _load_model(name: str, trust_pickle: bool = False) -> tuple[str, Any]:
    path = Path(name)
    if not path.exists():
        raise CliError(f"model file {name} does not exist")
    if not path.is_file():
        raise CliError(f"model path {name} is not a file")
    suffix = path.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        return _load_npz(path)
    if suffix in TORCH_SUFFIXES:
        return _load_torch(path, trust_pickle)
    if suffix in PICKLE_SUFFIXES:
        if not trust_pickle:
            raise _refuse(
                path,
                f"a pickle ({suffix})",
                "export the model's weights to .npz (a ReLU MLP: W0, b0, W1, b1, ...; hyperplanes: W, c)",
            )
        return "model", _load_pickle(path)
    raise CliError(
        f"unknown model file type {suffix or '(no suffix)'!r} for {name}; use .npz (weights), .pt/.pth (torch) or "
        ".pkl/.pickle/.joblib (scikit-learn, with --trust-pickle)"
    )


def _load_data(name: str) -> npt.NDArray[np.float64]:
    path = Path(name)
    if not path.is_file():
        raise CliError(f"data file {name} does not exist")
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            data = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read data {name}: {exc}") from exc
    arr = np.asarray(data)
    if arr.dtype.kind not in "iuf" or arr.ndim != 2:
        raise CliError(f"data {name} must be a numeric 2-D array (N, d); got dtype {arr.dtype}, shape {arr.shape}")
    return np.asarray(arr, dtype=np.float64)


# ------------------------------------------------------------------------------------------------ analyze
def _partition(kind: str, payload: Any, box: Any, threads: int | None, max_cells: int, check: bool) -> Partition:
    from .models import partition
    from .partition import partition_hyperplanes

    if kind == "hyperplanes":
        W, c = payload
        return partition_hyperplanes(W, c, box, n_threads=threads, max_cells=max_cells)
    if kind == "network":
        pair, output_layer = payload
        return partition(pair, box, output_layer=output_layer, check=check, n_threads=threads, max_cells=max_cells)
    return partition(payload, box, check=check, n_threads=threads, max_cells=max_cells)


def _volume_summary(part: Partition) -> dict[str, float]:
    v = np.asarray(part.volumes)
    box_volume = part.box.volume
    return {
        "sum": float(v.sum()),
        "box": box_volume,
        "relative_error": abs(float(v.sum()) - box_volume) / box_volume,
        "min": float(v.min()) if v.size else 0.0,
        "median": float(np.median(v)) if v.size else 0.0,
        "max": float(v.max()) if v.size else 0.0,
    }


def _adjacency_summary(part: Partition) -> dict[str, float | int]:
    import scipy.sparse.csgraph

    adj = part.adjacency(weight="count")
    degree = np.diff(adj.indptr)
    components = int(scipy.sparse.csgraph.connected_components(adj, directed=False)[0]) if part.n_cells else 0
    f = part.facets
    return {
        "edges": int(adj.nnz // 2),
        "interior_facets": int(np.count_nonzero(f.interior)),
        "boundary_facets": int(len(f) - np.count_nonzero(f.interior)),
        "mean_degree": float(degree.mean()) if degree.size else 0.0,
        "max_degree": int(degree.max()) if degree.size else 0,
        "components": components,
    }


def _curvature_summary(part: Partition) -> dict[str, Any]:
    """Quantiles of the Forman curvature of the cells (mlgeom_rs.curvature.vertex_curvature)."""
    from .curvature import vertex_curvature

    try:
        values = np.asarray(vertex_curvature(part, "forman"), dtype=np.float64)
    except MlgeomError as exc:
        return {"error": str(exc)}
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {"error": "no cell has a neighbour"}
    return {
        "kind": "forman",
        "min": float(finite.min()),
        "median": float(np.median(finite)),
        "max": float(finite.max()),
        "cells_without_neighbours": int(values.size - finite.size),
    }


def _data_summary(part: Partition, X: npt.NDArray[np.float64]) -> dict[str, int]:
    cells = part.locate(X)
    inside = cells >= 0
    counts = np.bincount(cells[inside], minlength=part.n_cells)
    return {
        "points": int(X.shape[0]),
        "outside_box": int(np.count_nonzero(~inside)),
        "cells_with_data": int(np.count_nonzero(counts)),
        "max_points_in_a_cell": int(counts.max()) if counts.size else 0,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _analyze_picture(part: Partition, X: npt.NDArray[np.float64] | None, path: str) -> str:
    if not _matplotlib_available():
        raise CliError("--plot needs matplotlib: pip install 'matplotlib>=3.8' (or mlgeom_rs[plot])")
    color_by = "prediction" if getattr(part, "predictions", None) is not None else "label"
    if color_by == "label" and part.n_cells > 20:
        color_by = "volume"
    if part.dim <= 2:
        fig = _figure(1)
        ax = fig.add_subplot()
        part.plot(ax, color_by=color_by, data=X, labels=part.n_cells <= 16)
        note = ""
    elif part.dim == 3:
        fig = _figure(1)
        ax = fig.add_subplot(projection="3d")
        part.plot3d(ax, color_by=color_by, data=X)
        note = ""
    else:
        from .plot import plot_slice

        centre = 0.5 * (part.box.lo + part.box.hi)
        e = np.eye(part.dim)
        fig = _figure(1)
        ax = fig.add_subplot()
        plot_slice(part, centre, e[0], e[1], ax=ax, color_by=color_by if color_by != "volume" else "label")
        note = " (the slice x3..xd = box centre)"
    ax.set_title(f"{part.n_cells} cells{note}")
    fig.savefig(path, dpi=110)
    return note


def _analyze(args: argparse.Namespace) -> int:
    kind, payload = _load_model(args.model, args.trust_pickle)
    X = _load_data(args.data) if args.data is not None else None
    if args.box is not None:
        box: Any = (args.box[0], args.box[1])
    elif X is not None:
        box = Box.from_data(X)
    else:
        raise CliError("give the input box (--box LO HI) or data (--data X.npy) to take it from")
    start = time.perf_counter()
    try:
        part = _partition(kind, payload, box, args.threads, args.max_cells, not args.no_check)
    except InvalidInputError as exc:
        raise CliError(f"{exc}") from exc
    elapsed = time.perf_counter() - start
    if X is not None and X.shape[1] != part.dim:
        raise CliError(f"the data have {X.shape[1]} columns but the model takes {part.dim} inputs")
    print(part.summary(max_rows=max(args.rows, 0)))
    vol = _volume_summary(part)
    adj = _adjacency_summary(part)
    print("\nvolumes")
    print(
        f"  min {vol['min']:.6g}  median {vol['median']:.6g}  max {vol['max']:.6g}  sum {vol['sum']:.12g} "
        f"(box {vol['box']:.12g}, rel. error {vol['relative_error']:.1e})"
    )
    print("\nadjacency (cells sharing a facet)")
    print(
        f"  {adj['edges']} edges, mean degree {adj['mean_degree']:.3g}, max degree {adj['max_degree']}, "
        f"{adj['components']} connected component{'s' * (adj['components'] != 1)}"
    )
    curvature = _curvature_summary(part)
    print("\ncurvature (Forman, per cell: mean over its facets; paper.md §5(b))")
    if "error" in curvature:
        print(f"  not computed: {curvature['error']}")
    else:
        print(
            f"  min {curvature['min']:.4g}  median {curvature['median']:.4g}  max {curvature['max']:.4g}  "
            f"({curvature['cells_without_neighbours']} cells without neighbours)"
        )
    report: dict[str, Any] = {
        "model": args.model,
        "partition": type(part).__name__,
        "model_type": getattr(part, "model_type", None),
        "dim": part.dim,
        "box": {"lo": part.box.lo.tolist(), "hi": part.box.hi.tolist()},
        "n_cells": part.n_cells,
        "n_hyperplanes": part.n_hyperplanes,
        "seconds": elapsed,
        "volumes": vol,
        "adjacency": adj,
        "curvature": curvature,
    }
    if X is not None:
        data = _data_summary(part, X)
        report["data"] = data
        print("\ndata")
        print(
            f"  {data['points']} points in {data['cells_with_data']} cells (at most {data['max_points_in_a_cell']} "
            f"in one), {data['outside_box']} outside the box"
        )
    print(f"\ntime {elapsed:.3f} s")
    if args.json is not None:
        predictions = getattr(part, "predictions", None)
        centroids = part.centroids.tolist()
        volumes = part.volumes.tolist()
        cells = []
        for i, label in enumerate(part.labels):
            cell: dict[str, Any] = {"cell": i, "label": label, "volume": volumes[i], "centroid": centroids[i]}
            if predictions is not None:
                cell["prediction"] = _jsonable(predictions[i])
            cells.append(cell)
        report["cells"] = cells
        Path(args.json).write_text(json.dumps(report, indent=1, default=_jsonable))
        print(f"json: {args.json}")
    if args.parquet is not None:
        try:
            part.to_parquet(args.parquet)
        except ModuleNotFoundError as exc:
            raise CliError(str(exc)) from exc
        print(f"parquet: {args.parquet}")
    if args.plot is not None:
        _analyze_picture(part, X, args.plot)
        print(f"picture: {args.plot}")
    return 0


def _split_box(argv: list[str]) -> list[str]:
    """``--box LO HI`` as ``--box-lo=LO --box-hi=HI``: argparse would read a bound such as ``-1,-1`` as an option."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        if argv[k] == "--box" and k + 2 < len(argv):
            out += [f"--box-lo={argv[k + 1]}", f"--box-hi={argv[k + 2]}"]
            k += 3
        else:
            out.append(argv[k])
            k += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    if "--" in raw:  # leave everything after "--" alone
        at = raw.index("--")
        raw = _split_box(raw[:at]) + raw[at:]
    else:
        raw = _split_box(raw)
    args = parser.parse_args(raw)
    if args.command == "analyze":
        if (args.box_lo is None) != (args.box_hi is None):
            parser.error("--box needs two values: LO HI")
        args.box = None if args.box_lo is None else (args.box_lo, args.box_hi)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "demo":
            return _demo(args.threads, args.seed, args.plot, args.no_plot)
        if args.command == "analyze":
            return _analyze(args)
    except (MlgeomError, CliError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. an output path in a missing directory
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")  # unreachable: argparse checks choices
    return 2
