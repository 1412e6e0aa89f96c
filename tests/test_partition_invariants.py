"""Property tests of ``partition_hyperplanes`` against the invariants of DESIGN.md §5.

Random float arrangements (d = 1..5, general position) and small-integer lattice arrangements (exact
degeneracies) are checked for: volumes, labels, facet records, section areas, closure, dihedral angles, points
(interior points, vertices, centroids) and locate; then Figure 1 of the paper, generic cell counts, thread-count
invariance, permutation invariance and invariance under a change of units.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    Arrangement,
    arrangement_from_seed,
    check_cells,
    check_closure,
    check_facets,
    check_locate,
    check_points,
    check_ridges,
    check_sections,
    examples,
    generic_inside_arrangement,
    interior_facet_map,
    lattice_arrangements,
    n_generic_cells,
    random_arrangements,
    verify_generic_inside,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ARRANGEMENTS = st.one_of(
    random_arrangements(dims=(1, 2, 3, 4, 5), max_m=(8, 9, 7, 6, 5)),
    lattice_arrangements(dims=(1, 2, 3, 4), max_m=(5, 6, 5, 4)),
    random_arrangements(dims=(2, 3, 4), max_m=(30, 14, 9), min_m=5),  # a few hundred cells
    lattice_arrangements(dims=(2, 3), max_m=(12, 8), min_m=5),
)


# --------------------------------------------------------------------------------------------- properties
@settings(max_examples=examples(150))
@given(arr=ARRANGEMENTS)
def test_cells_labels_volumes(mg, arr):
    check_cells(arr.partition(mg), arr)


@settings(max_examples=examples(150))
@given(arr=ARRANGEMENTS)
def test_facet_records(mg, arr):
    check_facets(arr.partition(mg), arr)


@settings(max_examples=examples(100))
@given(arr=ARRANGEMENTS)
def test_section_areas(mg, arr):
    check_sections(arr.partition(mg), arr)


@settings(max_examples=examples(100))
@given(arr=ARRANGEMENTS)
def test_closure(mg, arr):
    check_closure(arr.partition(mg), arr)


@settings(max_examples=examples(100))
@given(arr=ARRANGEMENTS)
def test_dihedral_angles(mg, arr):
    check_ridges(arr.partition(mg), arr)


@settings(max_examples=examples(80))
@given(arr=ARRANGEMENTS)
def test_points_vertices_centroids(mg, arr):
    check_points(arr.partition(mg), arr)


@settings(max_examples=examples(100))
@given(arr=ARRANGEMENTS, seed=st.integers(0, 2**16))
def test_locate(mg, arr, seed):
    check_locate(arr.partition(mg), arr, seed=seed)


def test_section_area_closed_form_3d():
    """The independent section area used above, against the polygon of a 3-D section built by hand."""
    from reference import polytope_volume, section_area

    rng = np.random.default_rng(3)
    lo, hi = np.array([-1.0, 0.0, 0.5]), np.array([1.0, 2.0, 1.5])
    for _ in range(10):
        w = rng.normal(size=3)
        c = -w @ rng.uniform(lo, hi)
        # section vertices: where the line of each box edge meets the plane
        pts = []
        corners = np.array(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij")).reshape(3, -1).T
        for a in corners:
            for k in range(3):
                if a[k] != lo[k]:
                    continue
                b = a.copy()
                b[k] = hi[k]
                fa, fb = w @ a + c, w @ b + c
                if fa * fb <= 0 and fa != fb:
                    pts.append(a + (b - a) * fa / (fa - fb))
        pts = np.array(pts)
        u = np.cross(w, [1.0, 0.0, 0.0] if abs(w[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(w / np.linalg.norm(w), u)
        area = polytope_volume(pts @ np.column_stack([u, v]))
        assert math.isclose(section_area(w, c, lo, hi), area, rel_tol=1e-9)


# --------------------------------------------------------------------------------------------- Figure 1
@pytest.mark.parametrize("a,b", [(0.5, 0.5), (0.3, 0.6)])
def test_figure1(mg, a, b):
    """Paper, Figure 1: the lines x1 = a, x2 = b cut the unit square into 00, 01, 10, 11."""
    part = mg.partition_hyperplanes(np.eye(2), np.array([-a, -b]), mg.Box(0.0, 1.0, dim=2))
    arr = Arrangement(np.eye(2), np.array([-a, -b]), np.zeros(2), np.ones(2), note="figure 1")
    assert part.n_cells == 4 and list(part.labels) == ["00", "01", "10", "11"]
    np.testing.assert_allclose(part.volumes, [a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], rtol=1e-12)
    adj = interior_facet_map(part)
    assert set(adj) == {(0, 1), (0, 2), (1, 3), (2, 3)}  # the 4-cycle 00-10-11-01; no diagonals
    # 00|10 = b, 01|11 = 1 - b, 00|01 = a, 10|11 = 1 - a
    np.testing.assert_allclose([adj[0, 2], adj[1, 3], adj[0, 1], adj[2, 3]], [b, 1 - b, a, 1 - a], rtol=1e-12)
    f = part.facets
    cells = np.asarray(f.cells).tolist()
    for pair, h, normal in [((0, 2), 0, [1, 0]), ((1, 3), 0, [1, 0]), ((0, 1), 1, [0, 1]), ((2, 3), 1, [0, 1])]:
        k = cells.index(list(pair))
        assert f.hyperplane[k] == h
        np.testing.assert_allclose(f.normals[k], normal, atol=1e-15)
    assert sum(1 for _, q in cells if q == -1) == 8
    r = part.ridges
    assert len(r.cell) == 16  # four rectangles
    np.testing.assert_allclose(r.angles, math.pi / 2, atol=1e-12)
    faces, counts = np.unique(r.face, return_counts=True)
    centre = faces[counts == 4]
    assert len(centre) == 1  # the crossing (a, b): four right angles
    assert sorted(np.asarray(r.cell)[np.asarray(r.face) == centre[0]].tolist()) == [0, 1, 2, 3]
    A = part.adjacency(weight="area").toarray()
    expected = np.zeros((4, 4))
    for (i, j), v in adj.items():
        expected[i, j] = expected[j, i] = v
    np.testing.assert_allclose(A, expected, rtol=1e-12)
    np.testing.assert_array_equal(part.adjacency(weight="count").toarray(), (expected > 0).astype(float))
    g = part.to_networkx()
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 4
    for check in (check_cells, check_facets, check_sections, check_closure, check_ridges, check_points):
        check(part, arr)


@pytest.mark.parametrize("phi_deg", [30.0, 70.0, 90.0, 135.0])
def test_figure1_tilted(mg, phi_deg):
    """Two tilted lines through (0.3, 0.6) at angle phi: the crossing has angles phi, pi - phi, phi, pi - phi."""
    phi = math.radians(phi_deg)
    t0 = math.radians(20.0)
    W = np.array([[math.cos(t0), math.sin(t0)], [math.cos(t0 + phi), math.sin(t0 + phi)]])
    p = np.array([0.3, 0.6])
    arr = Arrangement(W, -W @ p, np.zeros(2), np.ones(2), note=f"tilted {phi_deg}")
    part = arr.partition(mg)
    assert part.n_cells == 4 and list(part.labels) == ["00", "01", "10", "11"]
    r = part.ridges
    faces, counts = np.unique(r.face, return_counts=True)
    centre = faces[counts == 4]
    assert len(centre) == 1
    sel = np.asarray(r.face) == centre[0]
    np.testing.assert_allclose(sorted(r.angles[sel]), sorted([phi, phi, math.pi - phi, math.pi - phi]), atol=1e-12)
    from reference import partition_reference

    ref = partition_reference(arr.W, arr.c, arr.lo, arr.hi)
    np.testing.assert_allclose(part.volumes, ref.volumes, rtol=1e-10)
    for check in (check_cells, check_facets, check_sections, check_closure, check_ridges, check_points):
        check(part, arr)


# --------------------------------------------------------------------------------------------- generic counts
@pytest.mark.parametrize(
    "d,m,half_width",
    [(1, 7, 50), (1, 40, 50), (2, 3, 50), (2, 10, 50), (2, 25, 50), (3, 2, 50), (3, 8, 50), (3, 14, 50),
     (4, 3, 50), (4, 7, 50), (4, 10, 50), (5, 7, 50)],
)  # fmt: skip
def test_generic_counts(mg, d, m, half_width):
    arr = generic_inside_arrangement(1000 * d + m, d, m, half_width=half_width)
    assert verify_generic_inside(arr.W, arr.c, arr.lo, arr.hi)  # the construction really is generic-inside
    part = arr.partition(mg)
    assert part.n_cells == n_generic_cells(m, d), arr
    check_cells(part, arr)
    check_closure(part, arr)
    if d >= 2:
        check_ridges(part, arr)
        if d == 2:  # simple arrangement: every crossing is a vertex of exactly 4 cells
            faces, counts = np.unique(part.ridges.face, return_counts=True)
            interior = [f for f in faces if not _face_on_box(part, f)]
            assert len(interior) == math.comb(m, 2)


def _face_on_box(part, face_id) -> bool:
    rf = np.asarray(part.ridges.facets)[np.asarray(part.ridges.face) == face_id]
    return bool(np.any(np.asarray(part.facets.box_face)[rf.ravel()] >= 0))


# --------------------------------------------------------------------------------------------- invariances
def _all_arrays(part) -> dict[str, np.ndarray]:
    f, r = part.facets, part.ridges
    out = {
        "patterns": part.patterns,
        "volumes": part.volumes,
        "centroids": part.centroids,
        "interior_points": part.interior_points,
        "facets.cells": f.cells,
        "facets.areas": f.areas,
        "facets.normals": f.normals,
        "facets.hyperplane": f.hyperplane,
        "facets.box_face": f.box_face,
        "ridges.cell": r.cell,
        "ridges.facets": r.facets,
        "ridges.face": r.face,
        "ridges.angles": r.angles,
        "ridges.volumes": r.volumes,
    }
    out["facets.carriers"] = np.concatenate([np.asarray(x) for x in f.carriers] + [np.zeros(0, np.int64)])
    out["facets.carrier_counts"] = np.array([len(x) for x in f.carriers])
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize("seed,d,m", [(1, 2, 120), (2, 3, 40), (3, 4, 16), (4, 1, 200), (5, 5, 10)])
def test_thread_count_invariance(mg, seed, d, m):
    arr = arrangement_from_seed(seed, d, m, miss_prob=0.05)
    p1 = arr.partition(mg, n_threads=1)
    p2 = arr.partition(mg, n_threads=2)
    assert p1.n_cells == p2.n_cells and list(p1.labels) == list(p2.labels)
    a1, a2 = _all_arrays(p1), _all_arrays(p2)
    for key in a1:
        np.testing.assert_array_equal(a1[key], a2[key], err_msg=f"{key} differs between 1 and 2 threads")
    idx = np.linspace(0, p1.n_cells - 1, 25).astype(int)
    for i in idx:
        np.testing.assert_array_equal(p1.vertices(int(i)), p2.vertices(int(i)))
    X = np.random.default_rng(seed).uniform(arr.lo, arr.hi, size=(1000, d))
    np.testing.assert_array_equal(p1.locate(X), p2.locate(X))


def test_thread_count_invariance_lattice(mg):
    # a degenerate arrangement (many concurrent and coincident hyperplanes), large enough to be split
    g = np.arange(-3, 4) / 4
    W = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1, 1, 0], [1, -1, 0], [0, 1, 1], [1, 1, 1]])
    rows, offs = [], []
    for w in W:
        for t in g:
            rows.append(w)
            offs.append(-t * np.abs(w).sum())
    rows.append(-2 * W[3])  # coincident with opposite orientation
    offs.append(0.0)
    arr = Arrangement(np.array(rows), np.array(offs), -np.ones(3), np.ones(3), note="lattice threads")
    a1, a2 = _all_arrays(arr.partition(mg, n_threads=1)), _all_arrays(arr.partition(mg, n_threads=2))
    for key in a1:
        np.testing.assert_array_equal(a1[key], a2[key], err_msg=f"{key} differs between 1 and 2 threads")


def _match_permuted(part, part_p, perm):
    """Index map: cell i of ``part`` is cell out[i] of ``part_p`` (rows permuted: W_p = W[perm])."""
    inv = np.argsort(perm)
    pats_p = np.asarray(part_p.patterns)[:, inv]  # back to the original column order
    index_p = {"".join("1" if b else "0" for b in p): i for i, p in enumerate(pats_p)}
    return np.array([index_p[lab] for lab in part.labels])


@settings(max_examples=examples(60))
@given(arr=ARRANGEMENTS, perm_seed=st.integers(0, 2**16))
def test_permutation_invariance(mg, arr, perm_seed):
    perm = np.random.default_rng(perm_seed).permutation(arr.m)
    arr_p = Arrangement(arr.W[perm], arr.c[perm], arr.lo, arr.hi, note=f"{arr.note} permuted {perm.tolist()}")
    part, part_p = arr.partition(mg), arr_p.partition(mg)
    assert part.n_cells == part_p.n_cells, arr
    inv = np.argsort(perm)
    assert sorted(part.labels) == sorted(
        "".join("1" if b else "0" for b in p) for p in np.asarray(part_p.patterns)[:, inv]
    ), arr
    mp = _match_permuted(part, part_p, perm)
    np.testing.assert_allclose(part_p.volumes[mp], part.volumes, rtol=1e-9, err_msg=repr(arr))
    np.testing.assert_allclose(part_p.centroids[mp], part.centroids, atol=1e-9 * arr.scale, err_msg=repr(arr))
    adj, adj_p = interior_facet_map(part), interior_facet_map(part_p)
    mapped = {tuple(sorted((int(mp[a]), int(mp[b])))): v for (a, b), v in adj.items()}
    assert set(mapped) == set(adj_p), arr
    for key, v in mapped.items():
        assert math.isclose(adj_p[key], v, rel_tol=1e-9), (key, arr)
    # carriers map back to the same hyperplanes
    car = {
        tuple(c): tuple(sorted(np.asarray(x).tolist()))
        for c, x in zip(np.asarray(part.facets.cells).tolist(), part.facets.carriers, strict=True)
        if c[1] >= 0
    }
    car_p = {
        tuple(c): tuple(sorted(perm[np.asarray(x)].tolist()))
        for c, x in zip(np.asarray(part_p.facets.cells).tolist(), part_p.facets.carriers, strict=True)
        if c[1] >= 0
    }
    for (a, b), members in car.items():
        assert car_p[tuple(sorted((int(mp[a]), int(mp[b]))))] == members, arr
    assert len(part.ridges.cell) == len(part_p.ridges.cell), arr
    np.testing.assert_allclose(np.sort(part.ridges.angles), np.sort(part_p.ridges.angles), atol=1e-9)


@pytest.mark.parametrize("s", [1e8, 1e-8])
@pytest.mark.parametrize(
    "arr",
    [arrangement_from_seed(21, 2, 10), arrangement_from_seed(22, 3, 8), arrangement_from_seed(23, 4, 6),
     Arrangement(np.array([[1.0, 0, 0], [1, 1, 0], [-2, -2, 0], [0, 1, -1], [1, 1, 1], [0, 0, 0]]),
                 np.array([0.0, 0.5, -1.0, 0.0, -3.0, 2.0]), -np.ones(3), np.ones(3), note="degenerate")],
    ids=["d2", "d3", "d4", "degenerate"],
)  # fmt: skip
def test_units(mg, arr, s):
    """Scaling the box and the offsets by s (x -> s x): same labels, volumes * s^d, areas * s^(d-1), same angles."""
    arr_s = Arrangement(arr.W, arr.c * s, arr.lo * s, arr.hi * s, note=f"{arr.note} * {s}")
    part, part_s = arr.partition(mg), arr_s.partition(mg)
    d = arr.d
    assert list(part_s.labels) == list(part.labels), arr_s
    np.testing.assert_allclose(part_s.volumes, part.volumes * s**d, rtol=1e-9)
    np.testing.assert_allclose(part_s.centroids, part.centroids * s, rtol=1e-9, atol=1e-12 * s)
    np.testing.assert_array_equal(part_s.facets.cells, part.facets.cells)
    np.testing.assert_allclose(part_s.facets.areas, part.facets.areas * s ** (d - 1), rtol=1e-9)
    np.testing.assert_allclose(part_s.facets.normals, part.facets.normals, atol=1e-12)
    np.testing.assert_array_equal(part_s.ridges.face, part.ridges.face)
    np.testing.assert_allclose(part_s.ridges.angles, part.ridges.angles, atol=1e-12)
    np.testing.assert_allclose(part_s.ridges.volumes, part.ridges.volumes * s ** max(d - 2, 0), rtol=1e-9)
    assert math.isclose(part_s.tolerance, part.tolerance * s, rel_tol=1e-6)
    for check in (check_cells, check_facets, check_sections, check_closure, check_ridges, check_points, check_locate):
        check(part_s, arr_s)
