#!/usr/bin/env python
"""Benchmark: the adversarial families of issue 9 (``tests/adversarial.py``), family by family.

    python benchmarks/bench_adversarial.py [--cases] [--repeats N] [--json PATH]

For every case: the outcome of the float mode (``ok`` or ``NumericalError``; anything else is a bug and is
shown as such), whether the returned partition satisfies the invariants (``adversarial.check_invariants``),
whether its cell count agrees with the exact rational count (``adversarial.exact_cell_count``, hyperplane
arrangements and one-hidden-layer networks), whether it agrees with the scipy reference (``tests/reference.py``,
only where that float reference is reliable), and the best-of-``repeats`` wall time (one thread). The exact/float
time ratio is printed as ``n/a`` until an exact mode exists. ``--cases`` adds one row per case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import adversarial as adv  # noqa: E402

import mlgeom_rs as mg  # noqa: E402


def run_case(case: adv.Case, repeats: int) -> dict:
    row: dict = {"family": case.family, "case": case.name, "tags": list(case.tags)}
    best, part = float("inf"), None
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            part = case.run(mg, n_threads=1)
            best = min(best, time.perf_counter() - t0)
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
    row["exact_float_ratio"] = None  # no exact mode yet
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
                "n/a",
            ]
        )
    return table


def markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", action="store_true", help="also print one row per case")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every row as JSON")
    args = parser.parse_args()

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
        "exact/float",
    ]
    print(markdown(header, summarise(rows)))
    print(
        "\nok / NumericalError: outcome of the float mode; invariants: of the ok results; = exact count: cell count "
        "equal to the exact rational count (where computed); = reference: same labels, volumes and adjacency as the "
        "scipy reference (where reliable); time: one thread, best of "
        f"{args.repeats}; exact/float: no exact mode yet."
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
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
