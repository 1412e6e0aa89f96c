"""The README's 5-minute tour runs as written (its Python blocks, in order, with the Agg backend)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_five_minute_tour_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    text = README.read_text()
    tour = text[text.index("## A 5-minute tour") : text.index("## Usage")]
    code = "\n".join(re.findall(r"```python\n(.*?)```", tour, flags=re.S))
    assert "mg.partition(" in code and "RiemannianComplex" in code and "curvature" in code
    monkeypatch.chdir(tmp_path)  # the tour saves a picture
    scope: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), scope)
    assert (tmp_path / "net.png").stat().st_size > 5000
    import matplotlib.pyplot as plt

    plt.close("all")
