"""Exact mode (issue 9): ``exact=True`` certifies every combinatorial decision with exact rational arithmetic on the
input floats.

* generic input: exact and float mode give the same combinatorics (labels, facets with their two cells and carrier,
  ridges) and the same measures -- for arrangements and ReLU networks (hypothesis);
* exact and near-degenerate input (lattices, perturbed lattices, every adversarial family): the cell count is the
  exact rational count of ``adversarial.exact_cell_count`` and the invariants hold; a cell thinner than float64 can
  resolve is certified to exist but may measure 0 (measures stay float64);
* float mode never differs silently: where its combinatorics differ from exact mode's, it counted the snapped
  decisions (``Partition.snapped``) and issued a ``ToleranceWarning``; on exact and generic input it is silent;
* the flag itself: reported on the result, validated, accepted by every partition function.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from adversarial import Case, all_cases, check_invariants, exact_cell_count
from conftest import examples, lattice_arrangements, near_degenerate_arrangements, random_arrangements
from hypothesis import given, settings
from hypothesis import strategies as st


def _combinatorics(part):
    """Labels, facets as (label, label or None, carrier ids) and ridges as (label, the two facets' carriers)."""
    labels = list(part.labels)
    f = part.facets
    cells = np.asarray(f.cells)
    carriers = [tuple(sorted(c)) for c in f.carriers] if hasattr(f, "carriers") else [()] * len(cells)
    box = np.asarray(f.box_face).tolist()
    facets = sorted(
        (labels[a], labels[b] if b >= 0 else "", box[k], carriers[k]) for k, (a, b) in enumerate(cells.tolist())
    )
    ridges = []
    if part.has_ridges and part.dim >= 2:
        r = part.ridges
        for cell, (fa, fb) in zip(np.asarray(r.cell).tolist(), np.asarray(r.facets).tolist(), strict=True):
            ridges.append((labels[cell], tuple(sorted([(box[fa], carriers[fa]), (box[fb], carriers[fb])]))))
    return labels, facets, sorted(ridges)


def _invariants(part, case: Case) -> list[str]:
    """``check_invariants``, except that a certified cell or facet too thin for float64 may measure exactly 0."""
    bad = check_invariants(part, case, n_points=200)
    thin = ("a cell volume is not positive: min 0", "a facet area is not positive: min 0")
    return [b for b in bad if b not in thin]


def _as_case(arr, family="hypothesis") -> Case:
    return Case(family, arr.note, arr.lo, arr.hi, W=arr.W, c=arr.c)


def test_the_flag_is_reported_and_validated(mg):
    W, c = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([-0.5, -0.25])
    assert mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), exact=True).exact
    assert not mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2)).exact
    with pytest.raises(mg.InvalidInputError, match="exact must be True or False"):
        mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), exact="yes")
    ws, bs = [np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)]
    assert mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=2), exact=True).exact
    assert mg.partition((ws, bs), mg.Box(-1, 1, dim=2), exact=True).exact
    assert "predicates    exact" in mg.partition_hyperplanes(W, c, mg.Box(0, 1, dim=2), exact=True).summary()


def test_exact_mode_does_not_depend_on_the_thread_count(mg):
    rng = np.random.default_rng(3)
    W = np.vstack([rng.normal(size=(12, 3)), np.round(rng.normal(size=(6, 3)) * 2)])
    c = np.concatenate([0.2 * rng.normal(size=12), np.zeros(6)])  # six planes through the origin
    box = mg.Box(-1, 1, dim=3)
    a, b = (mg.partition_hyperplanes(W, c, box, exact=True, n_threads=n) for n in (1, 2))
    assert list(a.labels) == list(b.labels)
    for x, y in [(a.volumes, b.volumes), (a.facets.cells, b.facets.cells), (a.facets.areas, b.facets.areas)]:
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.ridges.angles, b.ridges.angles)


def test_trees_are_always_exact(mg):
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, X[:, 0] * X[:, 1] > 0)
    box = mg.Box.from_data(X)
    a, b = mg.partition(model, box), mg.partition(model, box, exact=True)
    assert a.exact and b.exact
    assert list(a.labels) == list(b.labels)


def test_decimal_concurrency_is_decided_exactly(mg):
    """x = 1/3, y = 1/3, x + y = 2/3 are concurrent in floats (2 fl(1/3) = fl(2/3)), x + 2y = 1 misses their
    point by an ulp: float mode snaps it through (8 cells), exact mode keeps the two tiny cells (10)."""
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 2.0]])
    c = np.array([-1 / 3, -1 / 3, -2 / 3, -1.0])
    box = mg.Box(0, 1, dim=2)
    with pytest.warns(mg.ToleranceWarning, match="exact=True"):
        snapped = mg.partition_hyperplanes(W, c, box)
    assert snapped.n_cells == 8 and snapped.snapped > 0
    part = mg.partition_hyperplanes(W, c, box, exact=True)
    assert part.snapped == 0
    assert part.n_cells == exact_cell_count(W, c, box.lo, box.hi) == 10
    assert not _invariants(part, Case("decimal", "1/3", box.lo, box.hi, W=W, c=c))
    assert mg.partition_hyperplanes(W[:3], c[:3], box, exact=True).n_cells == 6


def test_nearly_coincident_hyperplanes_are_distinct(mg):
    """Rows equal up to 1e-15 are one boundary in float mode (within the tolerance), two in exact mode; exactly
    proportional rows (any scale, either orientation) stay one boundary with all their bits."""
    box = mg.Box(0, 1, dim=2)
    W = np.array([[1.0, 0.0], [-3.0, 0.0], [1.0, 1e-15]])
    c = np.array([-0.5, 1.5, -0.5])
    with pytest.warns(mg.ToleranceWarning):
        assert mg.partition_hyperplanes(W, c, box).snapped == 1  # row 2 merged with rows 0, 1
    assert _quiet(mg, lambda: mg.partition_hyperplanes(W[:2], c[:2], box)).snapped == 0
    part = mg.partition_hyperplanes(W, c, box, exact=True)
    assert part.n_cells == exact_cell_count(W, c, box.lo, box.hi) == 3
    interior = np.asarray(part.facets.cells)[:, 1] >= 0
    carriers = {tuple(k.tolist()) for k, inner in zip(part.facets.carriers, interior, strict=True) if inner}
    assert carriers == {(0, 1), (2,)}


def _quiet(mg, run):
    """``run()`` with ToleranceWarning raised as an error: float mode must not warn here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", mg.ToleranceWarning)
        return run()


def _float_or_warned(mg, run):
    """(float partition or None on NumericalError, whether a ToleranceWarning came with it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            part = run()
        except mg.NumericalError:
            return None, False
    warned = any(issubclass(w.category, mg.ToleranceWarning) for w in caught)
    assert warned == (part.snapped > 0), (warned, part.snapped)
    return part, warned


@settings(max_examples=examples(40), deadline=None)
@given(arr=random_arrangements(dims=(2, 3, 4, 5, 6), max_m=(7, 6, 5, 5, 4)))
def test_exact_and_float_agree_on_generic_input(mg, arr):
    a, b = _quiet(mg, lambda: arr.partition(mg)), arr.partition(mg, exact=True)
    assert a.snapped == 0
    assert _combinatorics(a) == _combinatorics(b), repr(arr)
    np.testing.assert_allclose(a.volumes, b.volumes, rtol=1e-9, atol=1e-12 * arr.scale**arr.d)
    np.testing.assert_allclose(a.facets.areas, b.facets.areas, rtol=1e-9, atol=1e-12 * arr.scale ** (arr.d - 1))


@settings(max_examples=examples(40), deadline=None)
@given(arr=lattice_arrangements())
def test_exact_lattices_have_the_exact_count_in_both_modes(mg, arr):
    """Small-integer input is exactly degenerate and exactly represented: both modes give the exact combinatorics,
    and float mode knows it (no snapped decision: its tolerance only ever met exact zeros)."""
    a, b = _quiet(mg, lambda: arr.partition(mg)), arr.partition(mg, exact=True)
    assert a.snapped == 0
    assert b.n_cells == exact_cell_count(arr.W, arr.c, arr.lo, arr.hi), repr(arr)
    assert _combinatorics(a) == _combinatorics(b), repr(arr)
    assert not _invariants(b, _as_case(arr)), repr(arr)


@settings(max_examples=examples(40), deadline=None)
@given(arr=near_degenerate_arrangements())
def test_near_degenerate_input_gets_its_exact_count(mg, arr):
    """Perturbed by 3e-10 .. 1e-8 (a few tolerances): float mode may snap, but then says so; exact mode must not."""
    part = arr.partition(mg, exact=True)
    snapped, warned = _float_or_warned(mg, lambda: arr.partition(mg))
    if snapped is not None and not warned:
        assert _combinatorics(snapped) == _combinatorics(part), repr(arr)
    assert part.n_cells == exact_cell_count(arr.W, arr.c, arr.lo, arr.hi), repr(arr)
    assert not _invariants(part, _as_case(arr)), repr(arr)


CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}/{c.name}" for c in CASES])
def test_adversarial_families_in_exact_mode(mg, case):
    part = case.run(mg, exact=True)
    assert part.exact
    bad = _invariants(part, case)
    assert not bad, f"{bad}; {case!r}"
    hyperplanes = case.hyperplanes()
    if hyperplanes is not None and case.exact_ok:
        W, c = hyperplanes
        assert part.n_cells == exact_cell_count(W, c, case.lo, case.hi), repr(case)
    floated, warned = _float_or_warned(mg, lambda: case.run(mg))
    if floated is not None and not warned:
        assert _combinatorics(floated) == _combinatorics(part), f"float mode differs silently; {case!r}"


@st.composite
def relu_nets(draw):
    d = draw(st.integers(2, 3))
    widths = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = [d, *widths, 1]
    ws = [rng.normal(size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [0.5 * rng.normal(size=o) for o in sizes[1:]]
    return ws, bs, d


@settings(max_examples=examples(30), deadline=None)
@given(net=relu_nets())
def test_relu_exact_and_float_agree_on_generic_nets(mg, net):
    ws, bs, d = net
    box = mg.Box(-1, 1, dim=d)
    a, b = _quiet(mg, lambda: mg.partition_relu(ws, bs, box)), mg.partition_relu(ws, bs, box, exact=True)
    assert _combinatorics(a) == _combinatorics(b)
    np.testing.assert_allclose(a.volumes, b.volumes, rtol=1e-9, atol=1e-12)
    for x, y in zip(a.affine_maps, b.affine_maps, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@st.composite
def cancelling_relu_nets(draw):
    """Deep nets with small integer weights and half-integer biases (exact cancellations, zero rows, coincident
    planes), a duplicated first-layer neuron and a second-layer neuron that cancels the pair exactly: exact mode
    composes their planes in floats and must fall back to exact rows where its error bounds leave them in doubt."""
    d = draw(st.integers(2, 3))
    widths = draw(st.lists(st.integers(2, 4), min_size=2, max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = [d, *widths]
    ws = [rng.integers(-2, 3, size=(o, i)).astype(float) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.integers(-1, 2, size=o) / 2 for o in sizes[1:]]
    ws[0][1], bs[0][1] = ws[0][0], bs[0][0]
    ws[1][0, :2] = [0.75, -0.75]
    return ws, bs, d


def _exact_label(ws, bs, x) -> str:
    """The network's pattern at the float point x, in rational arithmetic (every float is a rational)."""
    h = [Fraction(v) for v in x]
    bits = []
    for w, b in zip(ws, bs, strict=True):
        z = [
            sum((Fraction(a) * v for a, v in zip(row, h, strict=True)), Fraction(c))
            for row, c in zip(w, b, strict=True)
        ]
        bits += ["1" if v > 0 else "0" for v in z]
        h = [max(v, Fraction(0)) for v in z]
    return "".join(bits)


@settings(max_examples=examples(20), deadline=None)
@given(net=cancelling_relu_nets())
def test_relu_exact_mode_cells_are_the_networks_patterns(mg, net):
    """Every cell of exact mode carries the network's exact pattern at its interior point, and the cells tile the
    box."""
    ws, bs, d = net
    part = mg.partition_relu(ws, bs, mg.Box(-1, 1, dim=d), output_layer=False, exact=True)
    assert part.snapped == 0
    assert abs(part.volumes.sum() - 2.0**d) <= 1e-9 * 2.0**d
    assert [_exact_label(ws, bs, x) for x in part.interior_points] == list(part.labels)


def test_relu_neuron_dead_up_to_one_ulp_is_decided_exactly(mg):
    """z = (1 + 2^-52) h1 - h2 with h1 = h2 = ReLU(x): z = 2^-52 ReLU(x) is positive wherever x > 0, which exact
    mode sees (two cells differing in z's bit), while float mode's cancellation test calls z constant."""
    w1 = np.array([[1.0, 0.0], [1.0, 0.0]])
    w2 = np.array([[1.0 + 2.0**-52, -1.0]])
    box = mg.Box(-1, 1, dim=2)
    part = mg.partition_relu([w1, w2], [np.zeros(2), np.zeros(1)], box, output_layer=False, exact=True)
    assert sorted(part.labels) == ["000", "111"]
    with pytest.warns(mg.ToleranceWarning):
        snapped = mg.partition_relu([w1, w2], [np.zeros(2), np.zeros(1)], box, output_layer=False)
    assert sorted(snapped.labels) == ["000", "110"] and snapped.snapped == 1


def test_relu_plane_within_the_tolerance_of_a_vertex_is_reported(mg):
    """Second-layer planes through points 1e-13 from a first-layer vertex: float mode snaps them (composed planes
    it cannot certify), so it warns or refuses (NumericalError); exact mode keeps the tiny cells, whose count is
    that of the exact first-layer arrangement plus the second layer's split of the quadrant."""
    ws = [np.eye(2), np.array([[1.0, 1.0], [1.0, -1.0]])]
    bs = [np.zeros(2), np.array([-1e-13, 1e-13])]
    box = mg.Box(-1, 1, dim=2)
    part, warned = _float_or_warned(mg, lambda: mg.partition_relu(ws, bs, box, output_layer=False))
    exact = mg.partition_relu(ws, bs, box, output_layer=False, exact=True)
    assert part is None or warned
    assert exact.snapped == 0 and exact.exact
    # bits (h1, h2, z1, z2): slivers of width 1e-13 along x = 1e-13 and y = 1e-13, and in the quadrant x, y > 0 a
    # corner triangle of area 5e-27 below x + y = 1e-13, the rest halved by x - y = -1e-13
    assert list(exact.labels) == ["0001", "0101", "0110", "1001", "1011", "1101", "1110", "1111"]
    np.testing.assert_allclose(exact.volumes, [1, 1e-13, 1, 1e-13, 1, 5e-27, 0.5, 0.5], rtol=1e-6, atol=1e-12)
