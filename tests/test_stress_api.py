"""Stress tests of the public API (issue 9): arbitrary arrays -- NaN, inf, huge and subnormal numbers, empty and
zero-row arrays, non-contiguous views, wrong dtypes and shapes, ragged lists, non-arrays -- into every entry point
(``partition_hyperplanes``, ``partition_relu``, ``data_cells``, ``Box``, ``Box.from_data``, ``locate``) raise only
``MlgeomError`` subclasses, or succeed with a sane result. Concurrent calls from several Python threads give the
results of sequential calls, and the GIL is released while the core works. The resource guards fail fast and say
the estimate.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import examples, lattice_arrangements, random_arrangements
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# --------------------------------------------------------------------------------------------- strategies
NASTY_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 5e-324, 1e300, 1.7976931348623157e308, 1e-8, 1e8, 2.0**52]),
    st.floats(-4, 4),
)
FLOAT_DTYPES = st.sampled_from([np.float64, np.float32, np.float16])
OTHER_DTYPES = st.sampled_from(
    [np.int8, np.int64, np.uint8, np.uint64, np.bool_, np.complex128, np.dtype("U3"), np.dtype("M8[s]")]
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


def _views(a: np.ndarray) -> list[np.ndarray]:
    out = [a, np.asfortranarray(a)]
    if a.ndim >= 1:
        out += [a[::-1], a[::2]]
    if a.ndim >= 2:
        out += [a.T, a[:, ::-1], np.repeat(a, 2, axis=1)[:, ::2]]
    return out


@st.composite
def arrays(draw, shape=SHAPES):
    """Any array: float with nasty values, or another dtype; possibly a non-contiguous view."""
    if draw(st.booleans()):
        dtype = draw(FLOAT_DTYPES)
        a = draw(hnp.arrays(dtype, shape, elements=NASTY_FLOATS if dtype == np.float64 else None))
    else:
        dtype = draw(OTHER_DTYPES)
        a = draw(hnp.arrays(dtype, shape))
    return draw(st.sampled_from(_views(a)))


NON_ARRAYS = st.sampled_from(
    [None, "abc", 3.0, [], [[]], [[1.0, 2.0], [3.0]], [[1.0, "a"]], {"a": 1}, object(), (1, 2, 3), b"xy", 1j]
)
ANYTHING = st.one_of(arrays(), NON_ARRAYS)


@st.composite
def plausible_hyperplanes(draw):
    """Right shapes, nasty values: (W, c, lo, hi) with m in 0..6 rows, d in 1..4."""
    d = draw(st.integers(1, 4))
    m = draw(st.integers(0, 6))
    vals = st.one_of(NASTY_FLOATS, st.integers(-3, 3).map(float))
    W = draw(hnp.arrays(np.float64, (m, d), elements=vals))
    c = draw(hnp.arrays(np.float64, (m,), elements=vals))
    lo = draw(hnp.arrays(np.float64, (d,), elements=vals))
    with np.errstate(all="ignore"):
        hi = lo + draw(hnp.arrays(np.float64, (d,), elements=st.one_of(NASTY_FLOATS, st.just(1.0))))
    return draw(st.sampled_from(_views(W))), c, lo, hi


MAX_CELLS = st.one_of(st.integers(1, 60), st.sampled_from([0, -1, 2**63, 2**70, 1.5, None, "10", True]))


def _call(mg, fn, *args, **kwargs):
    """Calls fn; only MlgeomError subclasses may come out (returns None then)."""
    with np.errstate(all="ignore"):
        try:
            return fn(*args, **kwargs)
        except mg.MlgeomError:
            return None


def _sane(part, lo, hi) -> None:
    """A partition that was returned is sane: positive volumes adding up to the box (when that is a normal float)."""
    vols = np.asarray(part.volumes)
    assert part.n_cells >= 1 and vols.shape == (part.n_cells,)
    with np.errstate(all="ignore"):
        box_volume = float(np.prod(np.asarray(hi, float) - np.asarray(lo, float)))
    if 1e-250 < box_volume < 1e250 and np.all(np.isfinite(vols)):
        assert np.all(vols > 0), vols.min()
        assert math.isclose(vols.sum(), box_volume, rel_tol=1e-7), (vols.sum(), box_volume)


# --------------------------------------------------------------------------------------------- entry points
@settings(max_examples=examples(150))
@given(W=ANYTHING, c=ANYTHING, lo=ANYTHING, hi=ANYTHING, max_cells=MAX_CELLS)
def test_partition_hyperplanes_junk(mg, W, c, lo, hi, max_cells):
    box = _call(mg, mg.Box, lo, hi)
    _call(mg, mg.partition_hyperplanes, W, c, box if box is not None else (lo, hi), max_cells=max_cells)


@settings(max_examples=examples(200))
@given(args=plausible_hyperplanes(), max_cells=st.integers(1, 200), ridges=st.booleans())
def test_partition_hyperplanes_nasty_values(mg, args, max_cells, ridges):
    W, c, lo, hi = args
    part = _call(mg, mg.partition_hyperplanes, W, c, (lo, hi), max_cells=max_cells, ridges=ridges)
    if part is not None:
        _sane(part, lo, hi)
        X = np.vstack([lo, hi, (lo + hi) / 2])
        got = part.locate(X)
        assert got.shape == (3,) and np.all((got >= -1) & (got < part.n_cells))


@settings(max_examples=examples(100))
@given(lo=ANYTHING, hi=ANYTHING, dim=st.one_of(st.none(), st.integers(-2, 5), st.sampled_from([1.5, "2", True])))
def test_box_junk(mg, lo, hi, dim):
    box = _call(mg, mg.Box, lo, hi, dim=dim)
    if box is not None:
        assert np.all(box.lo < box.hi) and np.all(np.isfinite(box.lo)) and np.all(np.isfinite(box.hi))


@settings(max_examples=examples(60))
@given(X=ANYTHING, margin=st.one_of(NASTY_FLOATS, st.sampled_from([None, "0.1", True, -1])))
def test_box_from_data_junk(mg, X, margin):
    box = _call(mg, mg.Box.from_data, X, margin=margin)
    if box is not None:
        assert np.all(box.lo < box.hi)


@pytest.fixture(scope="module")
def fig1(mg):
    return mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.3, -0.6], mg.Box(0, 1, dim=2))


@settings(max_examples=examples(100))
@given(X=ANYTHING)
def test_locate_junk(mg, fig1, X):
    got = _call(mg, fig1.locate, X)
    if got is not None:
        assert got.dtype == np.int64 and np.all((got >= -1) & (got < fig1.n_cells))


@st.composite
def networks(draw, junk: bool):
    """(weights, biases, output_layer): plausible layer shapes with nasty values, or junk."""
    if junk:
        n = draw(st.integers(0, 3))
        return (
            draw(st.one_of(st.lists(ANYTHING, max_size=n), ANYTHING)),
            draw(st.one_of(st.lists(ANYTHING, max_size=n), ANYTHING)),
            draw(st.one_of(st.booleans(), st.sampled_from([None, 0, "yes"]))),
        )
    d = draw(st.integers(1, 3))
    widths = [d] + draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    vals = st.one_of(NASTY_FLOATS, st.integers(-2, 2).map(float))
    ws = [draw(hnp.arrays(np.float64, (b, a), elements=vals)) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    bs = [draw(hnp.arrays(np.float64, (b,), elements=vals)) for b in widths[1:]]
    return [draw(st.sampled_from(_views(w))) for w in ws], bs, draw(st.booleans())


@settings(max_examples=examples(100))
@given(net=st.one_of(networks(junk=True), networks(junk=False)), max_cells=st.integers(1, 100))
def test_partition_relu_junk(mg, net, max_cells):
    weights, biases, output_layer = net
    try:
        d = max(1, int(np.asarray(weights[0], dtype=float).shape[1]))
    except Exception:  # junk: any dimension will do
        d = 2
    part = _call(
        mg, mg.partition_relu, weights, biases, mg.Box(-1, 1, dim=d), output_layer=output_layer, max_cells=max_cells
    )
    if part is not None:
        _sane(part, -np.ones(d), np.ones(d))


@settings(max_examples=examples(100))
@given(net=st.one_of(networks(junk=True), networks(junk=False)), X=st.one_of(ANYTHING, arrays(shape=(7, 2))))
def test_data_cells_junk(mg, net, X):
    weights, biases, output_layer = net
    cells = _call(mg, mg.data_cells, (weights, biases), X, output_layer=output_layer)
    if cells is not None:
        assert cells.counts.sum() == np.shape(X)[0]
        _call(mg, lambda: cells.edges)
        _call(mg, lambda: cells.affine_maps)


def test_giant_m_with_tiny_max_cells_fails_fast(mg):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(200_000, 2))
    c = -(W * rng.uniform(0.1, 0.9, size=W.shape)).sum(axis=1)
    t = time.perf_counter()
    with pytest.raises(mg.TooManyCellsError, match=r"at least [\d,]+ cells.*Buck") as info:
        mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), max_cells=10)
    assert time.perf_counter() - t < 3.0
    assert "max_cells=10" in str(info.value)


def test_too_many_cells_message_states_the_estimate(mg):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(30, 2))
    c = -(W * rng.uniform(0.1, 0.9, size=W.shape)).sum(axis=1)
    with pytest.raises(
        mg.TooManyCellsError, match=r"estimate before enumeration: at least \d+ .* at most 466 "
    ) as info:
        mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), max_cells=100)
    assert "max_cells" in str(info.value)
    ws = [rng.normal(size=(20, 2)), rng.normal(size=(20, 20))]
    bs = [rng.normal(size=20) * 0.1, rng.normal(size=20) * 0.1]
    with pytest.raises(mg.TooManyCellsError, match="layerwise bound"):
        mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=2), output_layer=False, max_cells=300)
    with pytest.raises(mg.TooManyCellsError, match=r"at least 2\d cells"):  # 20 crossing first-layer neurons
        mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=2), output_layer=False, max_cells=15)


@settings(max_examples=examples(60))
@given(arr=st.one_of(random_arrangements(dims=(1, 2, 3), max_m=(8, 10, 7)), lattice_arrangements(dims=(1, 2, 3))))
def test_cell_bounds_bracket_the_count(mg, arr):
    from mlgeom_rs._guards import arrangement_bounds

    lower, upper = arrangement_bounds(arr.W, arr.c, arr.lo, arr.hi)
    n = arr.partition(mg).n_cells
    assert lower <= n <= upper, (lower, n, upper, repr(arr))
    if lower > 1:  # max_cells = lower - 1 fails before enumeration, max_cells = n succeeds
        with pytest.raises(mg.TooManyCellsError):
            arr.partition(mg, max_cells=lower - 1)
    assert arr.partition(mg, max_cells=n).n_cells == n


# --------------------------------------------------------------------------------------------- threads
def _fingerprint(part) -> tuple:
    f = part.facets
    return (
        part.n_cells,
        np.asarray(part.packed_patterns).tobytes(),
        np.asarray(part.volumes).tobytes(),
        np.asarray(f.cells).tobytes(),
        np.asarray(f.areas).tobytes(),
        np.asarray(part.ridges.angles).tobytes() if part.dim >= 2 else b"",
    )


def _jobs(mg):
    rng = np.random.default_rng(7)
    jobs = []
    for k in range(6):
        d = 2 + k % 3
        W = rng.normal(size=(12 - 2 * (d - 2), d))
        c = -(W * rng.uniform(0.1, 0.9, size=W.shape)).sum(axis=1)
        jobs.append(lambda W=W, c=c, d=d: _fingerprint(mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=d))))
    for _ in range(3):
        ws = [rng.normal(size=(8, 2)), rng.normal(size=(8, 8)), rng.normal(size=(1, 8))]
        bs = [rng.normal(size=8) * 0.2, rng.normal(size=8) * 0.2, rng.normal(size=1)]
        jobs.append(lambda ws=ws, bs=bs: _fingerprint(mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=2))))
        X = rng.uniform(-1, 1, size=(500, 2))
        jobs.append(lambda ws=ws, bs=bs, X=X: np.asarray(mg.data_cells((ws, bs), X).point_cell).tobytes())
    return jobs


def test_concurrent_calls_match_sequential(mg):
    jobs = _jobs(mg)
    sequential = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(2):
            concurrent = list(pool.map(lambda job: job(), jobs * 2))
            assert concurrent == sequential * 2


def test_the_gil_is_released_during_the_work(mg):
    rng = np.random.default_rng(3)
    W = rng.normal(size=(36, 3))
    c = -(W * rng.uniform(0.1, 0.9, size=W.shape)).sum(axis=1)
    box = mg.Box(0, 1, dim=3)
    t = time.perf_counter()
    mg.partition_hyperplanes(W, c, box, n_threads=1)
    duration = time.perf_counter() - t
    assert duration > 0.05, "the job is too small to tell"
    worker = threading.Thread(target=lambda: mg.partition_hyperplanes(W, c, box, n_threads=1))
    stamps = []
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
    worker.join()
    gaps = np.diff(stamps)
    # with the GIL held, the main thread would stall for the whole call
    assert len(stamps) > 100 and gaps.max() < 0.5 * duration, (len(stamps), gaps.max(), duration)
