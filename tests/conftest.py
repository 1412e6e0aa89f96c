"""Shared hypothesis profiles, strategies and helpers for the partition tests.

Profiles (select with ``HYPOTHESIS_PROFILE=...``, default ``ci``):

* ``ci``: derandomized (the same examples on every run), no deadline, modest example counts;
* ``dev``: randomized, 5x the examples; ``thorough``: randomized, 25x the examples.

Tests give their example counts through :func:`examples` so that the profile scales them.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # `from reference import ...` / `from conftest import ...` in any import mode
    sys.path.insert(0, str(_HERE))

_COMMON = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=True
)
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("dev", derandomize=False, **_COMMON)
settings.register_profile("thorough", derandomize=False, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
_SCALE = {"ci": 1, "dev": 5, "thorough": 25}.get(PROFILE, 1)


def examples(n: int) -> int:
    """The example count for a test that runs ``n`` examples under the ``ci`` profile."""
    return max(1, n * _SCALE)


@pytest.fixture(scope="session")
def mg():
    """The package under test (an import error here is a real failure, not a skip)."""
    import mlgeom_rs

    return mlgeom_rs


# --------------------------------------------------------------------------------------------- arrangements
@dataclass(frozen=True)
class Arrangement:
    W: np.ndarray  # (m, d)
    c: np.ndarray  # (m,)
    lo: np.ndarray  # (d,)
    hi: np.ndarray  # (d,)
    note: str = ""

    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def scale(self) -> float:
        return float(np.linalg.norm(self.hi - self.lo))

    def __repr__(self) -> str:  # a copy-pasteable minimal failing input
        with np.printoptions(precision=17, floatmode="unique", suppress=False):
            return (
                f"Arrangement(W=np.array({self.W.tolist()!r}), c=np.array({self.c.tolist()!r}), "
                f"lo=np.array({self.lo.tolist()!r}), hi=np.array({self.hi.tolist()!r}), note={self.note!r})"
            )

    def partition(self, mg, **kw):
        return mg.partition_hyperplanes(self.W, self.c, mg.Box(self.lo, self.hi), **kw)

    def reference(self, **kw):
        from reference import partition_reference

        return partition_reference(self.W, self.c, self.lo, self.hi, **kw)


def random_arrangement(rng: np.random.Generator, d: int, m: int, *, miss_prob: float = 0.0) -> Arrangement:
    """m hyperplanes with Gaussian normals, each through a uniform point of a random box (so it crosses it),
    rows rescaled by random positive factors (the partition must not depend on the scale of a row); with
    probability ``miss_prob`` a hyperplane goes through a point outside the box instead (it may miss it)."""
    lo = rng.uniform(-2.0, 0.0, d)
    hi = lo + rng.uniform(0.5, 3.0, d)
    W = rng.normal(size=(m, d))
    p = rng.uniform(lo, hi, size=(m, d))
    miss = rng.random(m) < miss_prob
    p[miss] = hi + rng.uniform(0.1, 1.0, size=(int(miss.sum()), d)) * (hi - lo)
    c = -(W * p).sum(axis=1)
    scale = np.exp(rng.normal(size=m))
    return Arrangement(W * scale[:, None], c * scale, lo, hi, note=f"random d={d} m={m}")


@st.composite
def random_arrangements(draw, dims=(1, 2, 3, 4, 5), max_m=(6, 8, 7, 6, 5), min_m=1, miss_prob=0.1):
    """Float arrangements in general position (with probability 1) from a drawn seed; ``max_m[i]`` bounds m
    for ``dims[i]``."""
    i = draw(st.integers(0, len(dims) - 1))
    d = dims[i]
    m = draw(st.integers(min_m, max_m[i]))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_arrangement(np.random.default_rng(seed), d, m, miss_prob=miss_prob)


@st.composite
def lattice_arrangements(draw, dims=(1, 2, 3, 4), max_m=(5, 6, 5, 4), coef=2, min_m=1):
    """Small-integer arrangements in the box [-1, 1]^d: exact degeneracies galore (parallel, coincident with
    either orientation, concurrent, along a box face, through a corner, zero normals with nonzero offset).
    Drawn coefficient by coefficient, so hypothesis shrinks a failure to a minimal arrangement."""
    i = draw(st.integers(0, len(dims) - 1))
    d = dims[i]
    m = draw(st.integers(min_m, max_m[i]))
    rows, offs = [], []
    for _ in range(m):
        w = draw(st.lists(st.integers(-coef, coef), min_size=d, max_size=d))
        c = draw(st.integers(-2 * coef, 2 * coef))
        if not any(w) and c == 0:
            c = 1
        rows.append(w)
        offs.append(c / 2)
    W = np.array(rows, dtype=float).reshape(m, d)
    return Arrangement(W, np.array(offs, dtype=float), -np.ones(d), np.ones(d), note="lattice")


def arrangement_from_seed(seed: int, d: int, m: int, **kw) -> Arrangement:
    return random_arrangement(np.random.default_rng(seed), d, m, **kw)


def generic_inside_arrangement(seed: int, d: int, m: int, half_width: float = 50.0) -> Arrangement:
    """m hyperplanes in general position whose every intersection flat crosses the interior of the box
    [-half_width, half_width]^d (so the cell count is sum_{k<=d} C(m, k)); verified, redrawn if not."""
    rng = np.random.default_rng(seed)
    lo, hi = -half_width * np.ones(d), half_width * np.ones(d)
    for _ in range(1000):
        if d == 2:  # well-spread directions, so that all C(m, 2) crossings stay near the centre
            theta = np.pi * (np.arange(m) + rng.uniform(0.2, 0.8, m)) / m
            W = np.column_stack([np.cos(theta), np.sin(theta)])[rng.permutation(m)]
        else:
            W = rng.normal(size=(m, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        p = rng.uniform(-1.0, 1.0, size=(m, d))
        c = -(W * p).sum(axis=1)
        if verify_generic_inside(W, c, lo, hi):
            return Arrangement(W, c, lo, hi, note=f"generic-inside seed={seed}")
    raise RuntimeError("could not draw a generic arrangement")


def verify_generic_inside(W, c, lo, hi, *, margin=1e-3, sep=1e-8, min_sv=1e-3) -> bool:
    """True iff every k-subset (k <= d) of the hyperplanes has independent normals, its intersection flat has
    a point strictly inside the box, and no vertex (d-subset) lies within ``sep`` * box diagonal (100x the
    package's tolerance) of another hyperplane."""
    import itertools

    m, d = W.shape
    span = hi - lo
    sep = sep * float(np.linalg.norm(span))
    for k in range(1, min(m, d) + 1):
        for S in itertools.combinations(range(m), k):
            A = W[list(S)]
            if np.linalg.svd(A, compute_uv=False).min() < min_sv:
                return False
            x, *_ = np.linalg.lstsq(A, -c[list(S)], rcond=None)  # a point of the flat (nearest the origin)
            if np.any(x <= lo + margin * span) or np.any(x >= hi - margin * span):
                return False
            if k == d:
                others = [j for j in range(m) if j not in S]
                if others and np.min(np.abs(W[others] @ x + c[others])) < sep:
                    return False
    return True


def n_generic_cells(m: int, d: int) -> int:
    return sum(math.comb(m, k) for k in range(d + 1))


# --------------------------------------------------------------------------------------------- helpers
def sign_patterns(W, c, X) -> np.ndarray:
    """(N, m) bool: bit j = 1 iff W[j].x + c[j] > 0."""
    return (np.asarray(X, float) @ np.asarray(W, float).T + np.asarray(c, float)) > 0


def label_of(bits) -> str:
    return "".join("1" if b else "0" for b in bits)


def min_hyperplane_distance(W, c, X) -> np.ndarray:
    """(N,) distance from each point to the nearest hyperplane with a nonzero normal (inf if none)."""
    W = np.asarray(W, float)
    norms = np.linalg.norm(W, axis=1)
    nz = norms > 0
    if not nz.any():
        return np.full(len(X), np.inf)
    return np.min(np.abs(np.asarray(X) @ W[nz].T + c[nz]) / norms[nz], axis=1)


def interior_facet_map(part) -> dict[tuple[int, int], float]:
    """{(i, j): area} over the interior facets (each unordered pair must occur once)."""
    cells = np.asarray(part.facets.cells)
    areas = np.asarray(part.facets.areas)
    out: dict[tuple[int, int], float] = {}
    for (a, b), area in zip(cells.tolist(), areas.tolist(), strict=True):
        if b >= 0:
            assert (a, b) not in out, f"pair {(a, b)} appears twice among the facets"
            out[(a, b)] = area
    return out


def box_volume(lo, hi) -> float:
    return float(np.prod(np.asarray(hi, float) - np.asarray(lo, float)))


def coincidence_classes(W, c, tol: float | None = None) -> list[tuple[int, ...]]:
    """Coincidence classes (independent of the package) of the rows with a nonzero normal: unit-normalised
    rows (normal, offset) equal up to sign within ``tol`` (default: the reference's)."""
    from reference import hyperplane_classes

    classes, *_ = hyperplane_classes(W, c) if tol is None else hyperplane_classes(W, c, tol=tol)
    return [tuple(cl) for cl in classes]


def penetration(w, c0, lo, hi) -> float:
    """How deep the hyperplane w.x + c0 = 0 cuts into the box: the smaller of the largest distances of the box
    on either side (<= 0: it misses or only touches the box; -inf for a zero normal)."""
    w = np.asarray(w, float)
    nw = np.linalg.norm(w)
    if nw == 0:
        return -math.inf
    centre = (np.asarray(lo, float) + np.asarray(hi, float)) / 2
    half = (np.asarray(hi, float) - np.asarray(lo, float)) / 2
    mid = float(w @ centre + c0)
    rad = float(np.abs(w) @ half)
    return min(rad + mid, rad - mid) / nw


def hyperplane_gap(W, c, i, j, lo, hi) -> float:
    """max over the box of | dist_i(x) - s * dist_j(x) | (signed distances, s = +-1 the better orientation):
    0 for coincident hyperplanes, at most the tolerance for hyperplanes the package may merge."""
    W = np.asarray(W, float)
    ni, nj = np.linalg.norm(W[i]), np.linalg.norm(W[j])
    centre = (np.asarray(lo, float) + np.asarray(hi, float)) / 2
    half = (np.asarray(hi, float) - np.asarray(lo, float)) / 2
    best = math.inf
    for s in (1.0, -1.0):
        dn = W[i] / ni - s * W[j] / nj
        dc = c[i] / ni - s * c[j] / nj
        best = min(best, abs(float(dn @ centre + dc)) + float(np.abs(dn) @ half))
    return best


# --------------------------------------------------------------------------------------------- reference comparison
def assert_matches_reference(part, ref, arr: Arrangement, rtol: float = 1e-7) -> None:
    """Same labels, patterns, volumes (rtol), centroids, facets (pairs, box faces, areas, normals, carriers)."""
    msg = repr(arr)
    assert part.n_cells == ref.n_cells, msg
    assert list(part.labels) == ref.labels, msg
    np.testing.assert_array_equal(np.asarray(part.patterns), ref.patterns, err_msg=msg)
    np.testing.assert_allclose(part.volumes, ref.volumes, rtol=rtol, atol=0, err_msg=msg)
    np.testing.assert_allclose(part.centroids, ref.centroids, rtol=0, atol=1e-7 * arr.scale, err_msg=msg)

    f = part.facets
    cells = np.asarray(f.cells)
    areas = np.asarray(f.areas)
    normals = np.asarray(f.normals)
    hyper = np.asarray(f.hyperplane)
    box_face = np.asarray(f.box_face)
    ours = {}
    for k, (a, b) in enumerate(cells.tolist()):
        key = (a, b, int(box_face[k])) if b < 0 else (a, b, -1)
        assert key not in ours, f"facet {key} appears twice; {msg}"
        ours[key] = k
    theirs = {(*rf.cells, rf.box_face): rf for rf in ref.facets}
    assert set(ours) == set(theirs), (
        f"facets differ: only ours {sorted(set(ours) - set(theirs))}, only reference "
        f"{sorted(set(theirs) - set(ours))}; {msg}"
    )
    area_tol = 1e-7 * arr.scale ** (arr.d - 1)
    for key, rf in theirs.items():
        k = ours[key]
        assert math.isclose(areas[k], rf.area, rel_tol=rtol, abs_tol=area_tol * 1e-3), (key, areas[k], rf.area, msg)
        np.testing.assert_allclose(normals[k], rf.normal, atol=1e-9, err_msg=f"normal of facet {key}; {msg}")
        assert hyper[k] == rf.hyperplane, (key, msg)
        assert tuple(np.asarray(f.carriers[k]).tolist()) == rf.carriers, (key, msg)


# --------------------------------------------------------------------------------------------- invariant checks
# Each takes (part, arr) and asserts one family of DESIGN.md §5 invariants; failures print the arrangement.
def check_cells(part, arr: Arrangement) -> None:
    """Counts, labels (sorted, unique, equal to the patterns), volumes (> 0, summing to the box volume)."""
    msg = repr(arr)
    n, m = part.n_cells, arr.m
    assert part.dim == arr.d and part.n_hyperplanes == m, msg
    assert 0 < part.tolerance < 1e-8 * arr.scale, (part.tolerance, msg)
    labels = list(part.labels)
    pats = np.asarray(part.patterns)
    assert len(labels) == n and pats.shape == (n, m) and pats.dtype == bool, msg
    assert labels == sorted(labels) and len(set(labels)) == n, msg
    assert labels == [label_of(p) for p in pats], msg
    vols = np.asarray(part.volumes)
    assert vols.shape == (n,) and np.all(vols > 0), (vols.min(), msg)
    assert math.isclose(vols.sum(), box_volume(arr.lo, arr.hi), rel_tol=1e-9), (vols.sum(), msg)
    # bits of rows that cannot split the box (they miss it or cut less than the tolerance deep) are constant
    for j in range(m):
        if penetration(arr.W[j], arr.c[j], arr.lo, arr.hi) <= 0.5 * part.tolerance:
            assert pats[:, j].all() or not pats[:, j].any(), (f"hyperplane {j} does not cross the box", msg)
            if not arr.W[j].any():
                assert (pats[:, j] == (arr.c[j] > 0)).all(), (f"zero normal {j}", msg)


def check_facets(part, arr: Arrangement) -> None:
    """Facet records: interior facets (two distinct ordered cells, patterns differing exactly in the carriers,
    carriers = one coincidence class, unit normal along that hyperplane from the first cell to the second),
    box facets (outward axis normals, areas summing to each box face's area)."""
    msg = repr(arr)
    d, n = arr.d, part.n_cells
    f = part.facets
    cells = np.asarray(f.cells)
    areas = np.asarray(f.areas)
    normals = np.asarray(f.normals)
    hyper = np.asarray(f.hyperplane)
    box_face = np.asarray(f.box_face)
    F = len(cells)
    assert cells.shape == (F, 2) and cells.dtype == np.int64, msg
    assert areas.shape == (F,) and normals.shape == (F, d) and hyper.shape == (F,) and box_face.shape == (F,), msg
    assert len(f.carriers) == F, msg
    assert np.all(areas > 0), (areas.min() if F else None, msg)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-12, err_msg=msg)
    assert np.all((cells[:, 0] >= 0) & (cells[:, 0] < n) & (cells[:, 1] >= -1) & (cells[:, 1] < n)), msg
    pats = np.asarray(part.patterns)
    exact = {cl[0]: cl for cl in coincidence_classes(arr.W, arr.c, tol=1e-14)}  # certainly one hyperplane
    interior = cells[:, 1] >= 0
    interior_map = interior_facet_map(part)  # asserts uniqueness of pairs
    assert len(interior_map) == int(interior.sum()), msg
    for k in np.flatnonzero(interior):
        a, b = cells[k]
        h = int(hyper[k])
        carriers = tuple(np.asarray(f.carriers[k]).tolist())
        assert a < b, (k, msg)
        assert box_face[k] == -1 and h == min(carriers), (k, h, carriers, msg)
        for j in carriers:  # the carriers are one hyperplane within the tolerance ...
            gap = hyperplane_gap(arr.W, arr.c, h, j, arr.lo, arr.hi)
            assert gap <= 10 * part.tolerance, (f"facet {k}: carriers {h} and {j} are {gap} apart", msg)
        for cl in exact.values():  # ... and hold every exact duplicate of theirs
            if h in cl:
                assert set(cl) <= set(carriers), (f"facet {k}: carriers {carriers} miss duplicates {cl}", msg)
        differ = tuple(np.flatnonzero(pats[a] != pats[b]).tolist())
        assert differ == carriers, (f"facet {k} {a}|{b}: patterns differ in {differ}, carriers {carriers}", msg)
        w = arr.W[h] / np.linalg.norm(arr.W[h])
        dot = float(normals[k] @ w)
        assert math.isclose(abs(dot), 1.0, abs_tol=1e-9), (k, dot, msg)
        # moving along +w increases W[h].x + c[h]: from the cell where bit h is 0 towards the one where it is 1
        assert (dot > 0) == (not pats[a, h]), (f"facet {k} normal points from {b} to {a}", msg)
    # box facets
    face_area = np.zeros(2 * d)
    for k in np.flatnonzero(~interior):
        bf = int(box_face[k])
        assert 0 <= bf < 2 * d and hyper[k] == -1 and len(f.carriers[k]) == 0, (k, msg)
        axis, upper = divmod(bf, 2)
        e = np.zeros(d)
        e[axis] = 1.0 if upper else -1.0
        np.testing.assert_allclose(normals[k], e, atol=1e-12, err_msg=f"box facet {k}; {msg}")
        face_area[bf] += areas[k]
    widths = arr.hi - arr.lo
    for bf in range(2 * d):
        expected = float(np.prod(np.delete(widths, bf // 2)))
        assert math.isclose(face_area[bf], expected, rel_tol=1e-9), (f"box face {bf}", face_area[bf], expected, msg)


def check_sections(part, arr: Arrangement) -> None:
    """Per coincidence class, the interior facet areas on it sum to the (d-1)-area of its section of the box
    (computed independently: tests/reference.section_area, plus closed forms for d = 2, 3)."""
    from reference import section_area

    msg = repr(arr)
    f = part.facets
    cells = np.asarray(f.cells)
    areas = np.asarray(f.areas)
    hyper = np.asarray(f.hyperplane)
    interior = cells[:, 1] >= 0
    carried = set()
    for k in np.flatnonzero(interior):
        carried.update(np.asarray(f.carriers[k]).tolist())
    for j in range(arr.m):
        pen = penetration(arr.W[j], arr.c[j], arr.lo, arr.hi)
        if pen <= 0.5 * part.tolerance:
            assert j not in carried, (f"hyperplane {j} does not cross the box but carries facets", msg)
        elif pen >= 10 * part.tolerance:
            assert j in carried, (f"hyperplane {j} crosses the box {pen} deep but carries no facet", msg)
    for h in np.unique(hyper[interior]).tolist():
        total = float(areas[interior & (hyper == h)].sum())
        expected = section_area(arr.W[h], arr.c[h], arr.lo, arr.hi)
        if arr.d == 2:
            expected2 = clipped_segment_length(arr.W[h], arr.c[h], arr.lo, arr.hi)
            assert math.isclose(expected, expected2, rel_tol=1e-9, abs_tol=1e-12 * arr.scale), (expected, expected2)
        assert math.isclose(total, expected, rel_tol=1e-8, abs_tol=1e-12 * arr.scale ** (arr.d - 1)), (
            f"hyperplane {h}: facet areas sum to {total}, section area {expected}",
            msg,
        )


def clipped_segment_length(w, c, lo, hi) -> float:
    """Length of {x in [lo, hi] : w.x + c = 0} in 2-D (Liang-Barsky clipping of the line)."""
    w = np.asarray(w, float)
    p0 = -c * w / (w @ w)
    t = np.array([-w[1], w[0]]) / np.linalg.norm(w)
    tmin, tmax = -np.inf, np.inf
    for k in range(2):
        if abs(t[k]) < 1e-15:
            if not lo[k] <= p0[k] <= hi[k]:
                return 0.0
            continue
        a, b = (lo[k] - p0[k]) / t[k], (hi[k] - p0[k]) / t[k]
        tmin, tmax = max(tmin, min(a, b)), min(tmax, max(a, b))
    return max(0.0, tmax - tmin)


def outward_normals_by_cell(part) -> list[list[tuple[int, np.ndarray]]]:
    """Per cell, [(facet index, outward unit normal)]."""
    cells = np.asarray(part.facets.cells)
    normals = np.asarray(part.facets.normals)
    out: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(part.n_cells)]
    for k, (a, b) in enumerate(cells.tolist()):
        out[a].append((k, normals[k]))
        if b >= 0:
            out[b].append((k, -normals[k]))
    return out


def check_closure(part, arr: Arrangement) -> None:
    """Sum_F area_F * n_F(outward) = 0 for every cell (box faces included)."""
    msg = repr(arr)
    areas = np.asarray(part.facets.areas)
    for i, fl in enumerate(outward_normals_by_cell(part)):
        assert len(fl) >= arr.d + 1, (f"cell {i} has {len(fl)} facets", msg)
        s = sum(areas[k] * nrm for k, nrm in fl)
        scale = max(areas[k] for k, _ in fl)
        np.testing.assert_allclose(s, 0.0, atol=1e-9 * scale, err_msg=f"closure of cell {i}; {msg}")


def check_ridges(part, arr: Arrangement) -> None:
    """Ridges: both facets belong to the ridge's cell, 0 < angle < pi and angle = arccos(-n_a.n_b) with outward
    normals; grouped by global face: the angles sum to 2*pi around an interior face, to pi on a box facet and to
    pi/2 on a box (d-2)-face; one (d-2)-volume per face (1 in 2-D); 2-D polygons: angles sum to (k-2)*pi."""
    msg = repr(arr)
    d = arr.d
    r = part.ridges
    rc = np.asarray(r.cell)
    rf = np.asarray(r.facets)
    face = np.asarray(r.face)
    ang = np.asarray(r.angles)
    vol = np.asarray(r.volumes)
    R = len(rc)
    if d == 1:
        assert R == 0, msg
        return
    assert R > 0 and rf.shape == (R, 2) and face.shape == (R,) and ang.shape == (R,) and vol.shape == (R,), msg
    fcells = np.asarray(part.facets.cells)
    fnormals = np.asarray(part.facets.normals)
    box_face = np.asarray(part.facets.box_face)
    assert np.all((ang >= 0) & (ang <= math.pi)), (ang.min(), ang.max(), msg)
    assert np.all(vol > 0), msg
    for k in range(R):
        i, (fa, fb) = int(rc[k]), rf[k]
        assert fa != fb and i in fcells[fa] and i in fcells[fb], (f"ridge {k}", msg)
        na = fnormals[fa] * (1 if fcells[fa, 0] == i else -1)
        nb = fnormals[fb] * (1 if fcells[fb, 0] == i else -1)
        assert math.isclose(ang[k], math.acos(np.clip(-na @ nb, -1, 1)), abs_tol=1e-9), (f"ridge {k}", msg)
    # a cell has at most one ridge per pair of its facets
    pairs = {(int(i), *sorted(map(int, p))) for i, p in zip(rc, rf, strict=True)}
    assert len(pairs) == R, msg
    for fid in np.unique(face):
        sel = face == fid
        total = float(ang[sel].sum())
        faces_touched = {int(box_face[x]) for x in rf[sel].ravel() if box_face[x] >= 0}
        expected = {0: 2 * math.pi, 1: math.pi, 2: math.pi / 2}[len(faces_touched)]
        assert math.isclose(total, expected, abs_tol=1e-9 * sel.sum()), (
            f"angles around face {fid} (box faces {sorted(faces_touched)}, cells {rc[sel].tolist()}) sum to "
            f"{total}, expected {expected}",
            msg,
        )
        np.testing.assert_allclose(vol[sel], vol[sel][0], rtol=1e-9, err_msg=f"face {fid} volumes; {msg}")
        assert len(set(rc[sel].tolist())) == sel.sum(), (f"face {fid}: a cell twice", msg)
    if d == 2:
        np.testing.assert_array_equal(vol, 1.0, err_msg=msg)
        nf = np.zeros(part.n_cells, int)
        for a, b in fcells.tolist():
            nf[a] += 1
            if b >= 0:
                nf[b] += 1
        nr = np.bincount(rc, minlength=part.n_cells)
        np.testing.assert_array_equal(nr, nf, err_msg=f"polygon vertices != edges; {msg}")
        sums = np.bincount(rc, weights=ang, minlength=part.n_cells)
        np.testing.assert_allclose(sums, (nf - 2) * math.pi, atol=1e-9, err_msg=msg)


def check_points(part, arr: Arrangement) -> None:
    """interior_points strictly inside their cells; vertices satisfy the cell's inequalities within
    tolerance; volumes and centroids agree with the vertex representation (Qhull)."""
    from reference import polytope_centroid, polytope_volume, thickness

    msg = repr(arr)
    d, n = arr.d, part.n_cells
    W, c = arr.W, arr.c
    norms = np.linalg.norm(W, axis=1)
    nz = norms > 0
    pats = np.asarray(part.patterns)
    ip = np.asarray(part.interior_points)
    cent = np.asarray(part.centroids)
    assert ip.shape == (n, d) and cent.shape == (n, d), msg
    assert np.all((ip > arr.lo) & (ip < arr.hi)), msg
    vals = ip @ W.T + c
    assert np.all(np.abs(vals[:, nz]) > 0), ("an interior point lies on a hyperplane", msg)
    np.testing.assert_array_equal(vals > 0, pats, err_msg=f"sign pattern at interior points; {msg}")
    tol = 1e-8 * arr.scale
    for i in range(n):
        V = np.asarray(part.vertices(i))
        assert V.ndim == 2 and V.shape[1] == d and len(V) >= d + 1, (i, msg)
        assert np.all(V >= arr.lo - tol) and np.all(V <= arr.hi + tol), (i, msg)
        dist = (V @ W[nz].T + c[nz]) / norms[nz]  # signed distances
        sgn = np.where(pats[i, nz], 1.0, -1.0)
        assert np.all(dist * sgn >= -tol), (f"cell {i} vertex violates its inequalities by {-(dist * sgn).min()}", msg)
        if thickness(V) > 1e3 * part.tolerance:  # Qhull is trustworthy on this cell
            assert math.isclose(polytope_volume(V), part.volumes[i], rel_tol=1e-8), (i, msg)
            np.testing.assert_allclose(polytope_centroid(V), cent[i], atol=1e-9 * arr.scale, err_msg=f"cell {i}; {msg}")
    np.testing.assert_array_equal(part.locate(ip), np.arange(n), err_msg=f"locate(interior_points); {msg}")


def check_locate(part, arr: Arrangement, n_points: int = 300, seed: int = 0) -> None:
    """locate agrees with the sign pattern of W x + c (points within 1e-9 of a hyperplane skipped); -1 outside."""
    msg = repr(arr)
    rng = np.random.default_rng(seed)
    X = rng.uniform(arr.lo, arr.hi, size=(n_points, arr.d))
    X = X[min_hyperplane_distance(arr.W, arr.c, X) > 1e-9 * arr.scale]
    got = np.asarray(part.locate(X))
    assert got.shape == (len(X),) and got.dtype == np.int64, msg
    index = {lab: i for i, lab in enumerate(part.labels)}
    expected = np.array([index.get(label_of(p), -2) for p in sign_patterns(arr.W, arr.c, X)], dtype=np.int64)
    np.testing.assert_array_equal(got, expected, err_msg=msg)
    width = arr.hi - arr.lo
    out = rng.uniform(arr.lo - width, arr.hi + width, size=(n_points, arr.d))
    out = out[np.any((out < arr.lo - 1e-6 * width) | (out > arr.hi + 1e-6 * width), axis=1)]
    np.testing.assert_array_equal(part.locate(out), -1, err_msg=f"points outside the box; {msg}")


ALL_CHECKS = (check_cells, check_facets, check_sections, check_closure, check_ridges, check_points, check_locate)


def check_all(part, arr: Arrangement) -> None:
    for check in ALL_CHECKS:
        check(part, arr)


def check_robust(part, arr: Arrangement) -> None:
    """The invariants that must hold even for input within a few tolerances of a degeneracy (where the exact
    cell structure may legitimately go either way): labels = patterns, sorted and unique; volumes > 0 summing to
    the box volume and equal to the hull of each cell's vertices; facet areas on each box face summing to its
    area; locate agrees with the sign pattern at points farther than 1e-6 * diagonal from every hyperplane."""
    msg = repr(arr)
    labels = list(part.labels)
    pats = np.asarray(part.patterns)
    assert labels == sorted(set(labels)) and labels == [label_of(p) for p in pats], msg
    vols = np.asarray(part.volumes)
    assert np.all(vols > 0), (vols.min(), msg)
    assert math.isclose(vols.sum(), box_volume(arr.lo, arr.hi), rel_tol=1e-7), (
        f"volumes sum to {vols.sum()}, box volume {box_volume(arr.lo, arr.hi)}",
        msg,
    )
    areas = np.asarray(part.facets.areas)
    box_face = np.asarray(part.facets.box_face)
    widths = arr.hi - arr.lo
    for bf in range(2 * arr.d):
        got, expected = float(areas[box_face == bf].sum()), float(np.prod(np.delete(widths, bf // 2)))
        assert math.isclose(got, expected, rel_tol=1e-7), (f"box face {bf}: facet areas {got}, face {expected}", msg)
    from reference import polytope_volume, thickness

    for i in range(part.n_cells):  # a volume agrees with the cell's own vertices (where Qhull can be trusted)
        V = np.asarray(part.vertices(i))
        if thickness(V) > 1e3 * part.tolerance:
            assert math.isclose(polytope_volume(V), vols[i], rel_tol=1e-7), (
                f"cell {i}: volume {vols[i]}, hull of its vertices {polytope_volume(V)}",
                msg,
            )
    rng = np.random.default_rng(0)
    X = rng.uniform(arr.lo, arr.hi, size=(200, arr.d))
    X = X[min_hyperplane_distance(arr.W, arr.c, X) > 1e-6 * arr.scale]
    index = {lab: i for i, lab in enumerate(labels)}
    expected = np.array([index.get(label_of(p), -2) for p in sign_patterns(arr.W, arr.c, X)], dtype=np.int64)
    np.testing.assert_array_equal(part.locate(X), expected, err_msg=f"locate; {msg}")


@st.composite
def near_degenerate_arrangements(draw, dims=(2, 3, 4), max_m=(6, 5, 4)):
    """A lattice arrangement plus near-copies of some of its rows, everything perturbed by a relative eps a
    few tolerances wide (3e-10 .. 1e-8): nearly coincident, nearly concurrent, nearly through a corner."""
    base = draw(lattice_arrangements(dims=dims, max_m=max_m))
    eps = draw(st.sampled_from([3e-10, 1e-9, 3e-9, 1e-8]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    copies = draw(st.lists(st.integers(0, base.m - 1), min_size=0, max_size=2))
    W = np.vstack([base.W, base.W[copies]]) if copies else base.W.copy()
    c = np.concatenate([base.c, base.c[copies]]) if copies else base.c.copy()
    W = W + eps * rng.normal(size=W.shape) * (W != 0)
    c = c + eps * rng.normal(size=c.shape) * (c != 0)
    return Arrangement(W, c, base.lo, base.hi, note=f"near-degenerate eps={eps} copies={copies}")
