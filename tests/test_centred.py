"""Boxes far from the origin (issue 9): the core partitions them in local coordinates x - c
(``rust/mlgeom-core/src/centred.rs``) and moves the results back.

* the model on [t, t + w]^d is the model at the origin moved by a power of two t (exactly: integer normals, dyadic
  offsets), on [0, w]^d for t > 0 and [-w, 0]^d for t < 0 (the local box of the far one): same labels, facets and
  snapped decisions, volumes, areas and normals bit for bit (the same local computation), vertices, centroids and
  facet centroids within ulp(t) of the origin's moved, locate equal on points off every boundary, a network's
  affine maps the same functions of x -- in float and exact mode;
* the far-box cases of the adversarial families (``far_box``: arrangements d = 2..4 and ReLU nets at 1e4 ... 1e12 and
  -1e8, widths 1 and 1e-3; ``scaled/2-D moved by ...``) partition in float and exact mode (float mode raised
  ``NumericalError`` on most of them before) with the invariants, and the two modes agree or float mode says so.
"""

from __future__ import annotations

import numpy as np
import pytest
from adversarial import all_cases, check_invariants
from conftest import examples, lattice_arrangements
from hypothesis import given, settings
from hypothesis import strategies as st

FAR_CASES = [c for c in all_cases() if c.family == "far_box" or "moved by" in c.name]


def _grid(d: int, w: float, t: float) -> np.ndarray:
    """Points w (i/8 + 2^-6 4^-k) in [0, w]^d: off every plane n.x + b = 0 with |n_k| <= 3 and b on the grid w/16
    (the offsets form a nonzero base-4 number below 1/16), and exact when moved by t."""
    side = np.arange(8) / 8.0
    axes = [w * (side + 2.0 ** (-6 - 2 * k)) for k in range(d)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    assert np.array_equal((pts + t) - t, pts)
    return pts


def _near(t: float, w: float) -> float:
    """Where the box of the model at the origin starts: the far box's local box."""
    return 0.0 if t > 0 else -w


def _assert_moved(near, far, t: float, w: float) -> None:
    """``far`` (box [t, t + w]^d) is ``near`` (box [_near(t, w), ...]) moved by t - _near(t, w)."""
    d, s0 = near.dim, _near(t, w)
    assert far.labels == near.labels
    assert far.snapped == near.snapped
    np.testing.assert_array_equal(far.facets.cells, near.facets.cells)
    box = w**d
    assert abs(float(far.volumes.sum()) - box) <= 1e-12 * box
    np.testing.assert_array_equal(far.volumes, near.volumes)
    np.testing.assert_array_equal(far.facets.areas, near.facets.areas)
    np.testing.assert_array_equal(far.facets.normals, near.facets.normals)
    shift = t - s0
    ulp = abs(t) * np.finfo(float).eps + 64 * np.finfo(float).eps * w
    np.testing.assert_allclose(far.centroids, near.centroids + shift, rtol=0, atol=ulp)
    np.testing.assert_allclose(far.facets.centroids, near.facets.centroids + shift, rtol=0, atol=ulp)
    for i in range(near.n_cells):
        np.testing.assert_allclose(far.vertices(i), near.vertices(i) + shift, rtol=0, atol=ulp)
    pts = _grid(d, w, t)
    np.testing.assert_array_equal(far.locate(pts + t), near.locate(pts + s0))
    np.testing.assert_array_equal(far.locate(far.interior_points), np.arange(far.n_cells))


@settings(max_examples=examples(25), deadline=None)
@given(
    arr=lattice_arrangements(dims=(2, 3), max_m=(5, 4)),
    exponent=st.integers(12, 40),
    negative=st.booleans(),
    exact=st.booleans(),
)
def test_far_arrangement_is_the_arrangement_at_the_origin(mg, arr, exponent, negative, exact):
    # the lattice lives in [-1, 1]^d; move it to [t, t + 2]^d and to the far box's local box (computed as is)
    t = -(2.0**exponent) if negative else 2.0**exponent
    W, c, d = arr.W, arr.c, arr.d
    rows = W.sum(axis=1)

    def moved(s: float):
        offsets = c - rows * (s + 1.0)
        assert np.array_equal(offsets + rows * (s + 1.0), c), "the moved offsets must be exact"
        return mg.partition_hyperplanes(W, offsets, mg.Box(np.full(d, s), np.full(d, s + 2.0)), exact=exact)

    near, far = moved(_near(t, 2.0)), moved(t)
    _assert_moved(near, far, t, 2.0)


@pytest.mark.parametrize("t", [2.0**13, 2.0**27, -(2.0**27), 2.0**40])
@pytest.mark.parametrize("exact", [False, True])
def test_far_relu_net_is_the_net_at_the_origin(mg, t, exact):
    rng = np.random.default_rng(5)
    d, w = 3, 1.0
    W1 = rng.integers(-4, 5, size=(6, d)) / 4.0
    b1 = rng.integers(-8, 9, size=6) / 8.0 - W1.sum(axis=1) * 0.5
    W2, b2 = rng.integers(-4, 5, size=(5, 6)) / 4.0, rng.integers(-8, 9, size=5) / 8.0
    W3, b3 = rng.integers(-4, 5, size=(2, 5)) / 4.0, rng.integers(-8, 9, size=2) / 8.0

    def net(s: float):
        b1s = b1 - W1.sum(axis=1) * s
        assert np.array_equal(b1s + W1.sum(axis=1) * s, b1)
        box = mg.Box(np.full(d, s), np.full(d, s + w))
        return mg.partition_relu([W1, W2, W3], [b1s, b2, b3], box, output_layer=True, exact=exact)

    near, far = net(_near(t, w)), net(t)
    assert near.n_cells > 4
    _assert_moved(near, far, t, w)
    pts = _grid(d, w, t)
    out = np.maximum(np.maximum(pts @ W1.T + b1, 0) @ W2.T + b2, 0) @ W3.T + b3
    # the maps are maps of x: o - J c carries the rounding of J c (~ eps |t|)
    np.testing.assert_allclose(far.evaluate(pts + t), out, rtol=0, atol=64 * abs(t) * 2.0**-52)
    np.testing.assert_allclose(near.evaluate(pts + _near(t, w)), out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", FAR_CASES, ids=[f"{c.family}/{c.name}" for c in FAR_CASES])
def test_far_adversarial_cases_partition_in_float_mode(mg, case):
    assert FAR_CASES, "the adversarial families must include boxes far from the origin"
    part = case.run(mg)
    assert not check_invariants(part, case)
    exact = case.run(mg, exact=True)
    assert not check_invariants(exact, case)
    assert part.labels == exact.labels or part.snapped > 0
