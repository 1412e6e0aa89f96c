"""Degenerate arrangements (DESIGN.md §4 "Predicates"): parallel and duplicate hyperplanes, coincident ones with
opposite orientation and another scale, hyperplanes missing or touching the box, along a box face, through a
corner, zero normals, many hyperplanes through one point or one line, three concurrent lines at 120 degrees.

Every case is checked for its known cell count and labels, against the scipy reference, and against all the
invariants of ``conftest.check_all`` (volumes, facets, sections, closure, angle sums, points, locate).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    Arrangement,
    assert_matches_reference,
    check_all,
    check_robust,
    examples,
    interior_facet_map,
    near_degenerate_arrangements,
)
from hypothesis import given, settings

UNIT2 = (np.zeros(2), np.ones(2))
UNIT3 = (np.zeros(3), np.ones(3))
SQ = (-np.ones(2), np.ones(2))  # [-1, 1]^2
CUBE = (-np.ones(3), np.ones(3))


def _arr(W, c, box, note):
    return Arrangement(np.array(W, dtype=float), np.array(c, dtype=float), box[0].copy(), box[1].copy(), note=note)


def _lines_through(p, angles_deg, box, note):
    """Lines through p with normals at the given angles (degrees)."""
    t = np.radians(angles_deg)
    W = np.column_stack([np.cos(t), np.sin(t)])
    return _arr(W, -W @ np.asarray(p, float), box, note)


def _planes_through_line(p, direction, angles_deg, box, note):
    """Planes containing the line p + s*direction, normals at the given angles around it."""
    u = np.asarray(direction, float) / np.linalg.norm(direction)
    a = np.cross(u, [1.0, 0, 0] if abs(u[0]) < 0.9 else [0, 1.0, 0])
    a /= np.linalg.norm(a)
    b = np.cross(u, a)
    t = np.radians(angles_deg)
    W = np.cos(t)[:, None] * a + np.sin(t)[:, None] * b
    return _arr(W, -W @ np.asarray(p, float), box, note)


# (arrangement, expected cell count, expected labels or None)
CASES = [
    # parallel
    (_arr([[1, 0], [1, 0], [1, 0]], [-0.2, -0.5, -0.7], UNIT2, "3 parallel lines"), 4, ["000", "100", "110", "111"]),
    (_arr([[1, 0], [-2, 0], [0, 1]], [-0.25, 1.5, -0.5], UNIT2, "2 parallel opposite + 1 crossing"), 6, None),
    (_arr([[1, 1, 1], [2, 2, 2], [1, 1, 1], [1, -1, 0]], [-0.5, -3, -2, 0], UNIT3, "parallel planes + 1"), 8, None),
    # duplicates
    (_arr([[1, 0], [1, 0], [0, 1]], [-0.3, -0.3, -0.6], UNIT2, "duplicate row"), 4, ["000", "001", "110", "111"]),
    (_arr([[1, 2, 3], [0, 1, 0], [1, 2, 3]], [-2, -0.5, -2], UNIT3, "duplicate plane"), 4, None),
    # coincident, opposite orientation, other scale
    (_arr([[1, 1], [-3, -3]], [-1, 3], UNIT2, "coincident opposite"), 2, ["01", "10"]),
    (_arr([[1, 1], [-3, -3], [1, -1], [0.5, 0.5]], [-1, 3, 0, -0.5], UNIT2, "coincident x3 + diagonal"), 4, None),
    (_arr([[1, 2, -1], [-0.5, -1, 0.5], [0, 0, 1]], [-0.5, 0.25, -0.5], UNIT3, "coincident planes 3-D"), 4, None),
    # missing / touching the box
    (_arr([[1, 0], [0, 1]], [-2, 5], UNIT2, "both miss"), 1, ["01"]),
    (_arr([[1, 0], [1, 1], [0, 1]], [-0.5, -2, -0.5], UNIT2, "x+y=2 touches the corner (1,1)"), 4, None),
    (_arr([[1, 1], [1, 0]], [0, -0.5], UNIT2, "x+y=0 touches the corner (0,0)"), 2, ["10", "11"]),
    (_arr([[1, 0, 0], [1, 1, 0]], [-0.5, -2], UNIT3, "plane touches an edge of the cube"), 2, ["00", "10"]),
    (_arr([[1, 1, 1], [0, 0, 1]], [-3, -0.5], UNIT3, "plane touches a corner of the cube"), 2, ["00", "01"]),
    # along a box face
    (_arr([[1, 0], [0, 1]], [-1, -0.5], UNIT2, "x=1 along a box face"), 2, ["00", "01"]),
    (_arr([[-1, 0], [0, 1], [1, 0]], [0, -0.5, 0], UNIT2, "x=0 both orientations along a face"), 2, None),
    (_arr([[0, 0, 1], [1, 0, 0], [0, 0, -2]], [1, -0.5, -2], CUBE, "z=-1 and z=-1 (flipped) on cube faces"), 2, None),
    # through a box corner
    (_arr([[1, -1]], [0], UNIT2, "diagonal through two corners"), 2, ["0", "1"]),
    (_arr([[1, -1], [1, 1]], [0, -1], UNIT2, "both diagonals"), 4, None),
    (_arr([[1, -1, 0], [0, 1, -1]], [0, 0], UNIT3, "planes through the cube's main diagonal"), 4, None),
    (_arr([[1, 1, 1]], [-1.5], UNIT3, "central hexagon section"), 2, ["0", "1"]),
    # zero normal with nonzero offset
    (_arr([[0, 0], [1, 0], [0, 0]], [2, -0.5, -1], UNIT2, "zero normals"), 2, ["100", "110"]),
    (_arr([[0, 0, 0, 0], [1, 1, 1, 1]], [-1e-300, -2], (np.zeros(4), np.ones(4)), "tiny zero-normal offset"), 2, None),
    # many hyperplanes through one point / line
    (_lines_through([0.3, 0.6], [0, 45, 90, 135], UNIT2, "4 lines through a point"), 8, None),
    (_lines_through([0.5, 0.5], np.linspace(0, 180, 12, endpoint=False), UNIT2, "12 lines through a point"), 24, None),
    # only the two lines with directions 10 and 70 degrees enter the square; the others just touch its corner
    (_lines_through([0.0, 0.0], [10, 50, 100, 160], UNIT2, "4 lines through a corner"), 3, None),
    (_lines_through([0.5, 0.0], [30, 80, 120], UNIT2, "3 lines through a boundary point"), 4, None),
    (_lines_through([0.4, 0.55], [90, 210, 330], UNIT2, "3 concurrent lines at 120 degrees"), 6,
     ["001", "010", "011", "100", "101", "110"]),
    (_planes_through_line([0.4, 0.5, 0.5], [0, 0, 1], [0, 40, 100, 150], UNIT3, "4 planes through an axis line"), 8,
     None),
    (_planes_through_line([0.45, 0.5, 0.55], [1, 2, 3], [0, 60, 120], UNIT3, "3 planes through an oblique line"), 6,
     None),
    (_arr([[1, 0.2, 0.1], [0.1, 1, -0.3], [0.3, -0.2, 1], [1, 1, 1]], [0, 0, 0, 0], CUBE, "4 planes through a point"),
     14, None),
    (_arr([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 0], [0, 1, 1], [1, 0, -1]], [0] * 7, CUBE,
          "7 planes through the centre (not generic)"), None, None),
    (_arr([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1]], [0] * 5,
          (-np.ones(4), np.ones(4)), "5 hyperplanes through the centre of a 4-cube"), 30, None),
    # 1-D
    (_arr([[1], [2], [-1], [0], [3]], [-0.5, -1, 0.25, 1, 9], (np.zeros(1), np.ones(1)), "1-D points, coincident"),
     3, None),
]  # fmt: skip


@pytest.mark.parametrize("arr,count,labels", CASES, ids=[c[0].note for c in CASES])
def test_degenerate_case(mg, arr, count, labels):
    part = arr.partition(mg)
    if count is not None:
        assert part.n_cells == count, (part.n_cells, list(part.labels), arr)
    if labels is not None:
        assert list(part.labels) == labels, arr
    check_all(part, arr)
    assert_matches_reference(part, arr.reference(), arr)


def _face_angles(part, face_id):
    sel = np.asarray(part.ridges.face) == face_id
    return np.asarray(part.ridges.angles)[sel], np.asarray(part.ridges.cell)[sel]


def _interior_faces(part):
    """{face id: number of ridges} for the global (d-2)-faces none of whose ridges uses a box facet."""
    box = np.asarray(part.facets.box_face)
    rf = np.asarray(part.ridges.facets)
    face = np.asarray(part.ridges.face)
    out = {}
    for f in np.unique(face):
        if np.all(box[rf[face == f].ravel()] < 0):
            out[int(f)] = int((face == f).sum())
    return out


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_k_lines_through_a_point(mg, k):
    """k lines through one interior point: 2k cells, one interior vertex with 2k angles pi/k."""
    arr = _lines_through([0.45, 0.6], np.arange(k) * 180.0 / k + 7.0, UNIT2, f"{k} lines")
    part = arr.partition(mg)
    assert part.n_cells == 2 * k
    faces = _interior_faces(part)
    assert list(faces.values()) == [2 * k], faces
    angles, cells = _face_angles(part, next(iter(faces)))
    np.testing.assert_allclose(angles, math.pi / k, atol=1e-12)
    assert sorted(cells.tolist()) == list(range(2 * k))
    check_all(part, arr)


def test_three_concurrent_lines_at_120_degrees(mg):
    arr = _lines_through([0.4, 0.55], [90, 210, 330], UNIT2, "120")
    part = arr.partition(mg)
    assert list(part.labels) == ["001", "010", "011", "100", "101", "110"]  # 000 and 111 are impossible
    faces = _interior_faces(part)
    assert list(faces.values()) == [6]
    angles, _ = _face_angles(part, next(iter(faces)))
    np.testing.assert_allclose(angles, math.pi / 3, atol=1e-12)
    # the six facets at the centre: each line carries two of them, every pair of neighbours differs in one bit
    adj = interior_facet_map(part)
    assert len(adj) == 6
    pats = np.asarray(part.patterns)
    for a, b in adj:
        assert int((pats[a] != pats[b]).sum()) == 1


@pytest.mark.parametrize("k", [3, 4, 6])
def test_planes_through_a_common_line(mg, k):
    """k planes through one line crossing the cube: 2k prisms; the angles around the line sum to 2*pi, each
    equal to the angle between consecutive planes; the line's ridges all have its length."""
    angles_deg = np.arange(k) * 180.0 / k + 11.0
    arr = _planes_through_line([0.4, 0.5, 0.5], [0, 0, 1], angles_deg, UNIT3, f"{k} planes through a line")
    part = arr.partition(mg)
    assert part.n_cells == 2 * k
    faces = _interior_faces(part)
    assert list(faces.values()) == [2 * k], faces
    fid = next(iter(faces))
    angles, _ = _face_angles(part, fid)
    np.testing.assert_allclose(angles, math.pi / k, atol=1e-12)
    vols = np.asarray(part.ridges.volumes)[np.asarray(part.ridges.face) == fid]
    np.testing.assert_allclose(vols, 1.0, rtol=1e-12)  # the segment x=0.4, y=0.5, 0<=z<=1
    check_all(part, arr)


def test_coincident_opposite_orientation_facet(mg):
    """x + y = 1 given as (1, 1, -1) and (-3, -3, 3): one boundary whose facet lists both; the two bits are
    opposite in every cell (bit j = 1 iff W_j x + c_j > 0)."""
    arr = _arr([[0, 1], [1, 1], [-3, -3]], [-0.25, -1, 3], UNIT2, "coincident")
    part = arr.partition(mg)
    pats = np.asarray(part.patterns)
    assert np.all(pats[:, 1] != pats[:, 2])
    cells = np.asarray(part.facets.cells)
    interior = np.flatnonzero(cells[:, 1] >= 0)
    on_diag = [k for k in interior if part.facets.hyperplane[k] == 1]
    assert len(on_diag) == 2  # the line y = 0.25 cuts the diagonal's section in two
    for k in on_diag:
        assert np.asarray(part.facets.carriers[k]).tolist() == [1, 2]
        a, b = cells[k]
        assert np.flatnonzero(pats[a] != pats[b]).tolist() == [1, 2]
    total = sum(part.facets.areas[k] for k in on_diag)
    assert math.isclose(total, math.sqrt(2), rel_tol=1e-12)
    assert 2 not in np.asarray(part.facets.hyperplane).tolist()  # the class is named by its smallest index


def test_duplicates_do_not_change_the_geometry(mg):
    base = _arr([[1, 0.3], [0.2, -1], [1, 1]], [-0.5, 0.4, -1.2], UNIT2, "base")
    dup = _arr(np.vstack([base.W, 2 * base.W[:1], -base.W[1:2]]), np.append(base.c, [2 * base.c[0], -base.c[1]]),
               UNIT2, "with duplicates")  # fmt: skip
    p0, p1 = base.partition(mg), dup.partition(mg)
    assert p0.n_cells == p1.n_cells
    pats = np.asarray(p1.patterns)
    np.testing.assert_array_equal(pats[:, :3], np.asarray(p0.patterns))
    np.testing.assert_array_equal(pats[:, 3], pats[:, 0])
    np.testing.assert_array_equal(pats[:, 4], ~pats[:, 1])
    np.testing.assert_allclose(p1.volumes, p0.volumes, rtol=1e-12)
    np.testing.assert_allclose(p1.facets.areas, p0.facets.areas, rtol=1e-12)
    np.testing.assert_array_equal(p1.facets.cells, p0.facets.cells)
    np.testing.assert_allclose(np.sort(p1.ridges.angles), np.sort(p0.ridges.angles), atol=1e-12)
    check_all(p1, dup)


def test_missing_hyperplanes_keep_the_cells(mg):
    base = _arr([[1, 0.3, 0], [0.2, -1, 0.5]], [-0.5, 0.4], UNIT3, "base")
    extra_W = [[1, 0, 0], [1, 1, 1], [0, 0, 1], [0, 0, -1], [0, 0, 0]]
    extra_c = [-1.5, 10, 0, 0, -4]  # misses; misses; z=0 face; z=0 face flipped; zero normal
    arr = _arr(np.vstack([base.W, extra_W]), np.append(base.c, extra_c), UNIT3, "with missing")
    p0, p1 = base.partition(mg), arr.partition(mg)
    assert p1.n_cells == p0.n_cells
    pats = np.asarray(p1.patterns)
    # x > 1.5: never; x + y + z + 10 > 0: always; z > 0: in the interior (z = 0 is the lower face); -z > 0: never;
    # 0 - 4 > 0: never
    expected_const = [False, True, True, False, False]
    for j, v in enumerate(expected_const):
        assert np.all(pats[:, 2 + j] == v), j
    np.testing.assert_allclose(p1.volumes, p0.volumes, rtol=1e-12)
    np.testing.assert_allclose(p1.facets.areas, p0.facets.areas, rtol=1e-12)
    check_all(p1, arr)


def test_hyperplane_along_box_face_gives_box_facets(mg):
    """A hyperplane lying on a box face splits nothing; the facets there stay box facets."""
    arr = _arr([[1, 0], [0, 1]], [-1, -0.5], UNIT2, "x=1 on a face")
    part = arr.partition(mg)
    cells = np.asarray(part.facets.cells)
    bf = np.asarray(part.facets.box_face)
    on_face = np.flatnonzero(bf == 1)  # x = 1
    assert len(on_face) == 2 and np.all(cells[on_face, 1] == -1)
    np.testing.assert_allclose(part.facets.areas[on_face], [0.5, 0.5], rtol=1e-12)
    check_all(part, arr)


def test_line_through_box_corner_angles(mg):
    """The diagonal y = x of the unit square: two triangles with angles pi/4, pi/4, pi/2."""
    arr = _arr([[1, -1]], [0], UNIT2, "diagonal")
    part = arr.partition(mg)
    np.testing.assert_allclose(part.volumes, [0.5, 0.5], rtol=1e-12)
    assert math.isclose(interior_facet_map(part)[(0, 1)], math.sqrt(2), rel_tol=1e-12)
    for i in range(2):
        a = np.sort(np.asarray(part.ridges.angles)[np.asarray(part.ridges.cell) == i])
        np.testing.assert_allclose(a, [math.pi / 4, math.pi / 4, math.pi / 2], atol=1e-12)
    check_all(part, arr)


# --------------------------------------------------------------------------------------------- near-degenerate
# Input within a few tolerances of a degeneracy: the cell structure may go either way (or NumericalError may be
# raised, as DESIGN.md §3 allows), but the volumes must still tile the box and agree with the vertices.
NEAR_DEGENERATE = [
    # two lines through the centre at an angle of ~4e-10 rad
    _arr([[0.99999999945, -1.0], [1.0, -0.99999999987]], [0.0, 0.0], SQ, "2-D lines at a tiny angle"),
    # two nearly coincident planes whose gap straddles the tolerance across the box
    _arr([[2.0, -2.0, 1.0], [2.0000000003, -2.0, 1.0]], [0.5, 0.4999999992], CUBE, "3-D nearly coincident planes"),
    # two planes crossing inside the cube at an angle of ~3e-9 rad
    _arr([[2.0, 2.0, 1.0], [2.0, 2.0, 1.00000001]], [-0.5, -0.500000006], CUBE, "3-D planes at a tiny angle"),
    # three planes nearly concurrent at (0.5, -0.25, 0), a fourth nearly meeting one of them on the face z = -1
    _arr([[0, 0, 1], [-2, -2, -2], [0, -2 + 3e-10, 1], [2 - 6e-10, 2, 0]], [0, -1.5, -0.5 - 3e-10, -0.5], CUBE,
         "3-D nearly concurrent planes"),
]  # fmt: skip


@pytest.mark.parametrize("arr", NEAR_DEGENERATE, ids=[a.note for a in NEAR_DEGENERATE])
def test_near_degenerate_cases(mg, arr):
    try:
        part = arr.partition(mg)
    except mg.NumericalError:
        return
    check_robust(part, arr)


@settings(max_examples=examples(80))
@given(arr=near_degenerate_arrangements())
def test_near_degenerate_property(mg, arr):
    try:
        part = arr.partition(mg)
    except mg.NumericalError:
        return
    check_robust(part, arr)
