"""Plain-text tables for ``Partition.summary()`` and the command line (private module)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "") -> str:
    """Render rows as a fixed-width text table with a header rule.

    Cells are ``str()``-ed. A column is right-aligned when every cell in it is a number or a
    string that reads as one; otherwise it is left-aligned.
    """
    text = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    right = [bool(rows) and all(_numeric(row[k]) for row in rows) for k in range(len(headers))]
    widths = [max(len(r[k]) for r in text) for k in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return (indent + "  ".join(parts)).rstrip()

    rule = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(text[0]), rule, *(line(r) for r in text[1:])])


def _numeric(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True
