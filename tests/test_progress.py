"""Ctrl-C and progress for long partitions: the core runs without the GIL on a worker thread while the
caller polls every ~50 ms for signals (KeyboardInterrupt sets the core's cancel flag) and reports the
count of finished cells."""

from __future__ import annotations

import _thread
import threading
import time

import numpy as np
import pytest

import mlgeom_rs as mg


def _long_arrangement(m: int = 150):
    rng = np.random.default_rng(0)
    return rng.standard_normal((m, 3)), rng.uniform(-0.5, 0.5, m), mg.Box(-1, 1, dim=3)


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


def test_ctrl_c_stops_a_long_partition_within_a_second():
    W, c, box = _long_arrangement()
    timer = _interrupt_after(0.3)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            mg.partition_hyperplanes(W, c, box, ridges=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.3 + 1.0
    # The interpreter and the core are fine afterwards.
    assert mg.partition_hyperplanes([[1, 0]], [-0.5], mg.Box(0, 1, dim=2)).n_cells == 2


def test_ctrl_c_stops_a_relu_partition():
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal((60, 3)), rng.standard_normal((60, 60)), rng.standard_normal((1, 60))]
    bs = [0.3 * rng.standard_normal(60), 0.3 * rng.standard_normal(60), np.zeros(1)]
    timer = _interrupt_after(0.3)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=3), ridges=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.3 + 1.0


def test_progress_callback_is_called():
    W, c, box = _long_arrangement(45)
    counts: list[int] = []
    part = mg.partition_hyperplanes(W, c, box, ridges=False, progress=counts.append)
    assert counts, "the callback was never called"
    assert counts[-1] == part.n_cells
    assert counts == sorted(counts)


def test_progress_callback_is_called_once_for_quick_work():
    counts: list[int] = []
    rng = np.random.default_rng(2)
    ws, bs = [rng.standard_normal((3, 2)), rng.standard_normal((1, 3))], [rng.standard_normal(3), np.zeros(1)]
    part = mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=2), progress=counts.append)
    assert counts == [part.n_cells]


def test_exception_in_callback_stops_the_work():
    W, c, box = _long_arrangement()

    def fail(n: int) -> None:
        raise RuntimeError(f"stop at {n}")

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="stop at"):
        mg.partition_hyperplanes(W, c, box, ridges=False, progress=fail)
    assert time.monotonic() - start < 1.0


def test_progress_true_and_bad_values(capsys):
    part = mg.partition_hyperplanes([[1, 0]], [-0.5], mg.Box(0, 1, dim=2), progress=True)
    assert part.n_cells == 2
    assert capsys.readouterr().err == ""  # quick work: no bar
    with pytest.raises(mg.InvalidInputError, match="progress"):
        mg.partition_hyperplanes([[1, 0]], [-0.5], mg.Box(0, 1, dim=2), progress="yes")
