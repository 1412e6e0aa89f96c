"""Ctrl-C and progress for long partitions: the core runs without the GIL on a worker thread while the
caller polls every ~50 ms for signals (KeyboardInterrupt sets the core's cancel flag) and reports the
count of finished cells."""

from __future__ import annotations

import _thread
import signal
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


@pytest.fixture(autouse=True)
def _ctrl_c_raises():
    """Python's own SIGINT handler for these tests: a shell starts background jobs with SIGINT ignored, and then
    ``interrupt_main`` (a simulated Ctrl-C) does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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


# -- the other long computations: forests and trees, Ollivier curvature, complexes --------------------------


def _long_forest():
    ensemble = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (300, 3))
    return ensemble.ExtraTreesRegressor(n_estimators=16, max_depth=8, random_state=0).fit(X, rng.standard_normal(300))


def _king_graph(k: int):
    """The 3-D grid with diagonal neighbours (degree up to 26): transport problems of ~27 x 27 per edge."""
    import scipy.sparse as sp

    step = sp.identity(k) + sp.diags([np.ones(k - 1), np.ones(k - 1)], [-1, 1])
    A = sp.kron(sp.kron(step, step), step)
    A = sp.csr_array(A - sp.identity(k**3))
    A.eliminate_zeros()
    return A


@pytest.mark.parametrize("delay", [0.3, 1.0])  # while enumerating; while assembling facets and vertex ids
def test_ctrl_c_stops_a_forest_partition_and_the_model_entry_point(delay):
    model = _long_forest()
    timer = _interrupt_after(delay)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            mg.partition(model, mg.Box(0, 1, dim=3), check=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < delay + 1.0
    small = pytest.importorskip("sklearn.tree").DecisionTreeRegressor(max_depth=3).fit([[0.0], [1.0]], [0.0, 1.0])
    assert mg.partition(small, mg.Box(0, 1, dim=1)).n_cells == 2


def test_forest_progress_through_partition_and_a_raising_callback():
    model = _long_forest()
    counts: list[int] = []
    small = pytest.importorskip("sklearn.ensemble").RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0)
    rng = np.random.default_rng(1)
    small.fit(rng.uniform(0, 1, (50, 2)), rng.standard_normal(50))
    part = mg.partition(small, mg.Box(0, 1, dim=2), progress=counts.append, n_threads=1, max_cells=10_000)
    assert counts and counts[-1] == part.n_cells and counts == sorted(counts)

    def stop(n: int) -> None:
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        mg.partition(model, mg.Box(0, 1, dim=3), check=False, progress=stop)
    assert time.monotonic() - start < 1.0


def test_model_entry_point_passes_progress_threads_and_max_cells():
    rng = np.random.default_rng(3)
    ws, bs = [rng.standard_normal((6, 2)), rng.standard_normal((1, 6))], [rng.standard_normal(6), np.zeros(1)]
    counts: list[int] = []
    part = mg.partition((ws, bs), mg.Box(-1, 1, dim=2), progress=counts.append, n_threads=1)
    assert counts[-1] == part.n_cells
    with pytest.raises(mg.TooManyCellsError):
        mg.partition((ws, bs), mg.Box(-1, 1, dim=2), max_cells=2)
    with pytest.raises(mg.InvalidInputError, match="n_threads"):
        mg.partition((ws, bs), mg.Box(-1, 1, dim=2), n_threads=0)


def test_ctrl_c_stops_ollivier_curvature():
    A = _king_graph(14)
    timer = _interrupt_after(0.3)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            mg.ollivier_ricci(A)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.3 + 1.0
    ek, _ = mg.ollivier_ricci(_king_graph(3))  # the engine works afterwards
    assert ek.nnz == _king_graph(3).nnz


def test_ollivier_progress_counts_edges_and_a_raising_callback_stops_it():
    A = _king_graph(6)
    counts: list[int] = []
    mg.ollivier_ricci(A, progress=counts.append)
    assert counts[-1] == A.nnz // 2 and counts == sorted(counts)

    def stop(n: int) -> None:
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        mg.ollivier_ricci(_king_graph(14), progress=stop)
    assert time.monotonic() - start < 1.0
    part = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.5, -0.5], mg.Box(0, 1, dim=2))
    seen: list[int] = []
    mg.edge_curvature(part, "statistical_ricci", progress=seen.append)
    assert seen[-1] == 4  # the four facet-sharing pairs of Figure 1's square


def test_complex_progress_reports_simplices_per_dimension():
    W, c, box = _long_arrangement(12)
    part = mg.partition_hyperplanes(W, c, box)
    counts: list[int] = []
    cx = mg.RiemannianComplex(part, nerve="full", max_dim=2, progress=counts.append)
    assert counts == list(np.cumsum(cx.shape))

    def stop(n: int) -> None:
        if n > cx.shape[0]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mg.RiemannianComplex(part, nerve="full", progress=stop)
    assert mg.RiemannianComplex(part, nerve="full").shape == cx.shape  # nothing left half-built
