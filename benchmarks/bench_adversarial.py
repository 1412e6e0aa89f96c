#!/usr/bin/env python
"""Benchmark: the adversarial families of issue 9 (``tests/adversarial.py``), family by family.

    python benchmarks/bench_adversarial.py [--cases] [--repeats N] [--json PATH]

For every case: the outcome of the float mode (``ok`` or ``NumericalError``; anything else is a bug and is
shown as such), whether the returned partition satisfies the invariants (``adversarial.check_invariants``),
whether its cell count agrees with the exact rational count (``adversarial.exact_cell_count``, hyperplane
arrangements and one-hidden-layer networks), whether it agrees with the scipy reference (``tests/reference.py``,
only where that float reference is reliable), and the best-of-``repeats`` wall time (one thread). Then the same
case with ``exact=True``: its invariants, its count against the exact count, whether float and exact mode give
the same combinatorics (labels and facets as pairs of labels), and the exact/float time ratio. ``--cases`` adds
one row per case.

A second table (``--generic``) times float and exact mode side by side on larger inputs: random arrangements
in general position for d = 2..6, random ReLU networks (two of them deep: 3 and 4 hidden layers), heavily
degenerate integer lattices (every vertex on many hyperplanes, so most predicates fall back to big integers),
and two of the generic inputs moved to 1e8.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import adversarial as adv  # noqa: E402

import mlgeom_rs as mg  # noqa: E402


def combinatorics(part) -> tuple:
    """Labels and facets (as sorted pairs of labels, '' for the box side): what exact and float mode must share."""
    labels = list(part.labels)
    cells = part.facets.cells.tolist()
    return labels, sorted((labels[a], labels[b] if b >= 0 else "") for a, b in cells)


def best_time(run, repeats: int):
    """(best wall time of ``repeats`` calls, last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_exact(case: adv.Case, repeats: int, row: dict, float_part) -> None:
    """The ``exact=True`` columns of ``row``."""
    try:
        seconds, part = best_time(lambda: case.run(mg, n_threads=1, exact=True), repeats)
    except Exception as exc:  # a bug in exact mode: report it
        row["exact_outcome"] = f"BUG {type(exc).__name__}: {exc}"
        return
    row["exact_outcome"] = "ok"
    thin = ("a cell volume is not positive: min 0", "a facet area is not positive: min 0")
    row["exact_invariants"] = [b for b in adv.check_invariants(part, case) if b not in thin] or "ok"
    row["exact_count_ok"] = None if row["exact_cells"] is None else bool(part.n_cells == row["exact_cells"])
    row["modes_agree"] = None if float_part is None else combinatorics(float_part) == combinatorics(part)
    # float mode must not differ silently: it counts the decisions it snapped (and warns)
    row["silent"] = None if float_part is None else bool(not row["modes_agree"] and float_part.snapped == 0)
    row["exact_float_ratio"] = seconds / row["seconds"] if row["seconds"] else None


def run_case(case: adv.Case, repeats: int) -> dict:
    row: dict = {"family": case.family, "case": case.name, "tags": list(case.tags)}
    best, part = float("inf"), None
    try:
        best, part = best_time(lambda: case.run(mg, n_threads=1), repeats)
        row["outcome"] = "ok"
    except mg.NumericalError:
        row["outcome"] = "NumericalError"
    except Exception as exc:  # a bug: report it, keep going
        row["outcome"] = f"BUG {type(exc).__name__}: {exc}"
    row["seconds"] = best if part is not None else None
    row["cells"] = part.n_cells if part is not None else None
    row["invariants"] = (adv.check_invariants(part, case) or "ok") if part is not None else None
    hp = case.hyperplanes()
    row["exact_cells"] = adv.exact_cell_count(*hp, case.lo, case.hi) if hp is not None and case.exact_ok else None
    row["agrees_exact"] = (
        None if part is None or row["exact_cells"] is None else bool(part.n_cells == row["exact_cells"])
    )
    row["agrees_reference"] = None
    if part is not None and case.W is not None and case.reference_ok:
        row["agrees_reference"] = not adv.compare_reference(part, case)
    run_exact(case, repeats, row, part)
    return row


def _count(rows, key) -> str:
    vals = [r[key] for r in rows if r[key] is not None]
    return f"{sum(vals)}/{len(vals)}" if vals else "–"


def summarise(rows: list[dict]) -> list[list[str]]:
    by_family: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_family[r["family"]].append(r)
    table = []
    for family, rs in by_family.items():
        ok = sum(r["outcome"] == "ok" for r in rs)
        num = sum(r["outcome"] == "NumericalError" for r in rs)
        bugs = len(rs) - ok - num
        inv = sum(r["invariants"] == "ok" for r in rs if r["invariants"] is not None)
        times = sorted(r["seconds"] for r in rs if r["seconds"] is not None)
        median = f"{1e3 * times[len(times) // 2]:.2f}" if times else "–"
        exact_ok = sum(r.get("exact_outcome") == "ok" for r in rs)
        exact_inv = sum(r.get("exact_invariants") == "ok" for r in rs)
        ratios = sorted(r["exact_float_ratio"] for r in rs if r.get("exact_float_ratio") is not None)
        table.append(
            [
                family,
                str(len(rs)),
                str(ok),
                str(num) + (f" (+{bugs} BUG)" if bugs else ""),
                f"{inv}/{ok}",
                _count(rs, "agrees_exact"),
                _count(rs, "agrees_reference"),
                median,
                f"{exact_inv}/{exact_ok}" + (f" (+{len(rs) - exact_ok} BUG)" if exact_ok < len(rs) else ""),
                _count(rs, "exact_count_ok"),
                _count(rs, "modes_agree") + f" ({sum(bool(r.get('silent')) for r in rs)} silent)",
                f"{ratios[len(ratios) // 2]:.2f} (max {ratios[-1]:.2f})" if ratios else "–",
            ]
        )
    return table


def generic_inputs() -> list[tuple[str, str, dict]]:
    """(kind, description, arguments) of the larger side-by-side inputs."""
    import numpy as np

    out = []
    for d, m in [(2, 120), (3, 30), (4, 16), (5, 12), (6, 10)]:
        rng = np.random.default_rng(d)
        W = rng.normal(size=(m, d))
        c = -(W * rng.uniform(-0.8, 0.8, size=(m, d))).sum(axis=1)
        out.append(("generic", f"d={d} m={m} random hyperplanes", {"W": W, "c": c, "box": mg.Box(-1, 1, dim=d)}))
    # Deep nets last: exact mode's planes of layers >= 2 are composed in floats with error bounds (issue 9, gap 2).
    for d, widths in [(2, [16, 16]), (3, [10, 10]), (4, [8, 8]), (2, [24, 24, 24, 24]), (3, [24, 24, 24])]:
        rng = np.random.default_rng(10 + d)
        sizes = [d, *widths, 1]
        ws = [rng.normal(size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
        bs = [0.5 * rng.normal(size=o) for o in sizes[1:]]
        desc = f"d={d} ReLU {widths}"
        out.append(("generic", desc, {"weights": ws, "biases": bs, "box": mg.Box(-1, 1, dim=d)}))
    # Degenerate: small-integer hyperplanes through lattice points (every vertex lies on many of them).
    for d, m, coef in [(2, 60, 3), (3, 24, 2), (4, 14, 1)]:
        rng = np.random.default_rng(20 + d)
        W = rng.integers(-coef, coef + 1, size=(m, d)).astype(float)
        W[~W.any(axis=1), 0] = 1.0
        p = rng.integers(-2, 3, size=(m, d)) / 4
        c = -(W * p).sum(axis=1)
        out.append(("degenerate", f"d={d} m={m} integer lattice", {"W": W, "c": c, "box": mg.Box(-1, 1, dim=d)}))
    # Near-degenerate: the lattices perturbed by a relative 1e-12 (float mode snaps; exact mode resolves).
    for d, m, coef in [(2, 60, 3), (3, 24, 2)]:
        rng = np.random.default_rng(20 + d)
        W = rng.integers(-coef, coef + 1, size=(m, d)).astype(float)
        W[~W.any(axis=1), 0] = 1.0
        p = rng.integers(-2, 3, size=(m, d)) / 4
        c = -(W * p).sum(axis=1)
        W = W * (1 + 1e-12 * rng.normal(size=W.shape))
        desc = f"d={d} m={m} lattice perturbed 1e-12"
        out.append(("near-degenerate", desc, {"W": W, "c": c, "box": mg.Box(-1, 1, dim=d)}))
    # Far from the origin: two of the generic inputs moved to 1e8 (offsets rounded), to compare with their rows
    # above (the core partitions in the box's local coordinates: rust/mlgeom-core/src/centred.rs).
    t = 1e8
    for _kind, desc, a in list(out):
        if desc not in ("d=3 m=30 random hyperplanes", "d=3 ReLU [10, 10]"):
            continue
        box = mg.Box(t - 1, t + 1, dim=3)
        if "W" in a:
            moved = {"W": a["W"], "c": a["c"] - a["W"].sum(axis=1) * t, "box": box}
        else:
            biases = [a["biases"][0] - a["weights"][0].sum(axis=1) * t, *a["biases"][1:]]
            moved = {"weights": a["weights"], "biases": biases, "box": box}
        out.append(("far", f"{desc} at 1e8", moved))
    return out


def run_generic(repeats: int, threads: int = 1) -> list[dict]:
    rows = []
    for kind, desc, a in generic_inputs():

        def run(exact: bool, a=a):
            if "W" in a:
                return mg.partition_hyperplanes(a["W"], a["c"], a["box"], n_threads=threads, exact=exact)
            return mg.partition_relu(a["weights"], a["biases"], a["box"], n_threads=threads, exact=exact)

        row: dict = {"kind": kind, "input": desc}
        try:
            row["float_s"], fp = best_time(lambda run=run: run(False), repeats)
        except mg.NumericalError:
            row["float_s"], fp = None, None
        row["exact_s"], ep = best_time(lambda run=run: run(True), repeats)
        row["cells_float"] = None if fp is None else fp.n_cells
        row["float_snapped"] = None if fp is None else fp.snapped
        row["cells_exact"] = ep.n_cells
        row["agree"] = None if fp is None else combinatorics(fp) == combinatorics(ep)
        row["ratio"] = None if row["float_s"] is None else row["exact_s"] / row["float_s"]
        rows.append(row)
    return rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", action="store_true", help="also print one row per case")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every row as JSON")
    parser.add_argument("--generic", action="store_true", help="also time larger generic/degenerate inputs")
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mg.ToleranceWarning)  # counted in the tables instead
        rows = [run_case(case, args.repeats) for case in adv.all_cases()]
    header = [
        "family",
        "cases",
        "ok",
        "NumericalError",
        "invariants hold",
        "= exact count",
        "= reference",
        "median ms",
        "exact: invariants",
        "exact: = exact count",
        "float = exact",
        "exact/float time",
    ]
    print(markdown(header, summarise(rows)))
    print(
        "\nok / NumericalError: outcome of the float mode; invariants: of the ok results; = exact count: cell count "
        "equal to the exact rational count (where computed); = reference: same labels, volumes and adjacency as the "
        "scipy reference (where reliable); time: one thread, best of "
        f"{args.repeats}; exact: the same with exact=True (invariants, count, and whether float mode gave the same "
        "labels and facets; 'silent': differing without a snapped decision reported, which must be 0); exact/float "
        "time: median (max) per-case ratio. A cell thinner than float64 resolves "
        "may measure 0 in exact mode (certified to exist; measures are float64): not counted as a violation."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mg.ToleranceWarning)  # counted in the tables instead
        generic = run_generic(args.repeats) if args.generic else []
    if generic:
        print()
        print(
            markdown(
                [
                    "input",
                    "kind",
                    "cells float",
                    "cells exact",
                    "float = exact",
                    "float snapped",
                    "float s",
                    "exact s",
                    "exact/float",
                ],
                [
                    [
                        g["input"],
                        g["kind"],
                        "–" if g["cells_float"] is None else str(g["cells_float"]),
                        str(g["cells_exact"]),
                        "–" if g["agree"] is None else ("yes" if g["agree"] else "no"),
                        "–" if g["float_snapped"] is None else str(g["float_snapped"]),
                        "–" if g["float_s"] is None else f"{g['float_s']:.4f}",
                        f"{g['exact_s']:.4f}",
                        "–" if g["ratio"] is None else f"{g['ratio']:.2f}",
                    ]
                    for g in generic
                ],
            )
        )
    if args.cases:
        detail = []
        for r in rows:
            inv = r["invariants"]
            detail.append(
                [
                    r["family"],
                    r["case"],
                    r["outcome"],
                    "–" if r["cells"] is None else str(r["cells"]),
                    "–" if r["exact_cells"] is None else str(r["exact_cells"]),
                    "–" if inv is None else ("ok" if inv == "ok" else "; ".join(inv)[:60]),
                    "–" if r["agrees_reference"] is None else ("yes" if r["agrees_reference"] else "NO"),
                    "–" if r["seconds"] is None else f"{1e3 * r['seconds']:.2f}",
                ]
            )
        print()
        print(markdown(["family", "case", "outcome", "cells", "exact", "invariants", "= ref", "ms"], detail))
    if args.json:
        args.json.write_text(json.dumps({"cases": rows, "generic": generic}, indent=1, default=str))


if __name__ == "__main__":
    main()
