"""A deliberately simple, independent reference for ``partition_hyperplanes``, written with scipy only.

It is the "plain scipy/Qhull pipeline" of DESIGN.md §6 and the oracle of ``test_partition_reference.py``:

* enumeration: start from the box and insert the (coincidence classes of the) hyperplanes one at a time;
  every current cell is tested on both sides of the new hyperplane with one ``scipy.optimize.linprog`` each
  (maximise the Chebyshev slack r; the side is a cell iff r > ``EMPTY_RADIUS``), and split if both sides are;
* per cell: the vertices by ``scipy.spatial.HalfspaceIntersection`` from the Chebyshev centre, the volume by
  ``ConvexHull(...).volume`` (an interval length in 1-D), the centroid by a Delaunay triangulation;
* facets: two cells are adjacent iff their patterns differ in exactly one coincidence class and their shared
  face (the cell's vertices on that hyperplane) has positive (d-1)-area; box facets are the cell's vertices on
  a box face. Areas by projecting onto an orthonormal basis of the hyperplane and ``ConvexHull`` in d-1 dims.

Nothing here is shared with ``mlgeom_rs``: it imports neither the package nor its conventions beyond the public
contract (DESIGN.md §3). It is slow (one LP per cell, side and hyperplane): keep m <= 10 in tests.

All the work happens in normalised coordinates u = (x - centre) / s, s = the largest half-width of the box, so
that the LP tolerances are relative to the box; results are mapped back (lengths * s, k-volumes * s**k).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, Delaunay, HalfspaceIntersection, QhullError

# In normalised coordinates (the box is inside [-1, 1]^d):
EMPTY_RADIUS = 1e-7  # a side whose Chebyshev radius is <= this is empty (LP tolerances are ~1e-10)
ON_TOL = 1e-8  # a vertex within this distance of a hyperplane / box face lies on it
FLAT_TOL = 1e-12  # a face whose on-face vertices have thickness <= this is lower-dimensional (not a facet)
AMBIGUOUS = 1e-6  # a face with thickness in (FLAT_TOL, AMBIGUOUS] is near-degenerate: counted in n_ambiguous
COINCIDENT_TOL = 1e-9  # unit-normalised rows closer than this are one geometric hyperplane

_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


class ReferenceTimeout(RuntimeError):
    """Raised when ``partition_reference`` runs past its ``deadline`` (time.perf_counter() seconds)."""


@dataclass
class RefFacet:
    cells: tuple[int, int]  # (i, j) with i < j, or (i, -1) for the box boundary
    area: float
    normal: np.ndarray  # unit, from cells[0] to cells[1] (outward on the box boundary)
    hyperplane: int  # smallest index of the carrying class, or -1 on the box boundary
    box_face: int  # -1, or 2*axis + (0 lower, 1 upper)
    carriers: tuple[int, ...]  # all hyperplane indices of the carrying class (empty on the box boundary)


@dataclass
class RefPartition:
    dim: int
    n_hyperplanes: int
    labels: list[str]
    patterns: np.ndarray  # (n, m) bool
    volumes: np.ndarray  # (n,)
    centroids: np.ndarray  # (n, d)
    interior_points: np.ndarray  # (n, d) Chebyshev centres
    radii: np.ndarray  # (n,) Chebyshev radii (original units)
    vertices: list[np.ndarray]  # per cell, (k, d)
    facets: list[RefFacet] = field(default_factory=list)
    classes: list[tuple[int, ...]] = field(default_factory=list)  # coincidence classes of crossing-capable rows
    min_radius_normalised: float = math.inf  # smallest Chebyshev radius, normalised coordinates
    min_facet_area_normalised: float = math.inf  # smallest facet area, normalised coordinates
    n_ambiguous: int = 0  # candidate faces that are nearly, but not clearly, lower-dimensional (see thickness)
    n_lps: int = 0

    @property
    def n_cells(self) -> int:
        return len(self.labels)

    def adjacency(self) -> dict[tuple[int, int], float]:
        """{(i, j): area} over interior facets, i < j."""
        return {f.cells: f.area for f in self.facets if f.cells[1] >= 0}


# --------------------------------------------------------------------------------------------- geometry helpers
def orthonormal_complement(n: np.ndarray) -> np.ndarray:
    """(d, d-1) orthonormal basis of the hyperplane with normal ``n``."""
    n = np.asarray(n, float)
    d = n.shape[0]
    q, _ = np.linalg.qr(np.column_stack([n / np.linalg.norm(n), np.eye(d)]))
    return q[:, 1:d]


def affine_rank(points: np.ndarray, tol: float = 1e-9) -> int:
    points = np.asarray(points, float)
    if len(points) <= 1:
        return 0
    s = np.linalg.svd(points[1:] - points[0], compute_uv=False)
    if len(s) == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > tol * s[0]))  # relative to the points' own extent (any units)


def polytope_volume(points: np.ndarray) -> float:
    """k-volume of the convex hull of ``points`` in R^k (k = points.shape[1]); 0 if degenerate."""
    points = np.asarray(points, float)
    k = points.shape[1]
    if len(points) == 0:
        return 0.0
    if k == 0:
        return 1.0
    if k == 1:
        return float(points[:, 0].max() - points[:, 0].min())
    if affine_rank(points) < k:
        return 0.0
    try:
        return float(ConvexHull(points).volume)
    except QhullError:
        return 0.0


def polytope_centroid(points: np.ndarray) -> np.ndarray:
    """Centre of mass of the full-dimensional convex hull of ``points`` (triangulated by Delaunay)."""
    points = np.asarray(points, float)
    d = points.shape[1]
    if d == 1:
        return np.array([(points[:, 0].min() + points[:, 0].max()) / 2.0])
    tri = Delaunay(points)
    simplices = points[tri.simplices]  # (t, d+1, d)
    vols = np.abs(np.linalg.det(simplices[:, 1:, :] - simplices[:, :1, :])) / math.factorial(d)
    centres = simplices.mean(axis=1)
    return (vols[:, None] * centres).sum(axis=0) / vols.sum()


def face_area(points: np.ndarray, normal: np.ndarray) -> float:
    """(d-1)-area of the convex hull of ``points``, which lie on a hyperplane with normal ``normal``."""
    points = np.asarray(points, float)
    d = points.shape[1]
    if len(points) == 0:
        return 0.0
    if d == 1:
        return 1.0
    basis = orthonormal_complement(normal)
    return polytope_volume((points - points[0]) @ basis)


def thickness(points: np.ndarray) -> float:
    """The smallest singular value of the centred points (RMS extent in their thinnest direction); inf for
    0-dimensional points sets (k = 0)."""
    points = np.asarray(points, float)
    if points.shape[1] == 0:
        return math.inf if len(points) else 0.0
    if len(points) <= points.shape[1]:
        return 0.0
    centred = points - points.mean(axis=0)
    return float(np.linalg.svd(centred, compute_uv=False)[-1] / math.sqrt(len(points)))


def unique_points(points: np.ndarray, tol: float) -> np.ndarray:
    kept: list[np.ndarray] = []
    for p in np.asarray(points, float):
        if not any(np.max(np.abs(p - q)) <= tol for q in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, np.asarray(points).shape[1])


def section_area(w, c, lo, hi) -> float:
    """(d-1)-area of {x in box : w.x + c = 0}, computed directly (independent of any partition).

    d = 1: 1 if the point lies in the box else 0. Otherwise the box is written in coordinates y of the
    hyperplane (x = x0 + B y) and the resulting (d-1)-polytope is measured by Qhull.
    """
    w = np.asarray(w, float)
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    d = w.shape[0]
    nw = np.linalg.norm(w)
    if nw == 0:
        return 0.0
    centre = (lo + hi) / 2
    s = float(np.max(hi - lo) / 2)
    n = w / nw
    c0 = (float(np.asarray(c, float).reshape(-1)[0]) + w @ centre) / (
        nw * s
    )  # hyperplane n.u + c0 = 0 in normalised coordinates
    ulo, uhi = (lo - centre) / s, (hi - centre) / s
    x0 = -c0 * n
    if d == 1:
        return 1.0 if ulo[0] - ON_TOL <= x0[0] <= uhi[0] + ON_TOL else 0.0
    basis = orthonormal_complement(n)  # (d, d-1)
    # ulo <= x0 + B y <= uhi  ->  [B; -B] y <= [uhi - x0; x0 - ulo]
    a = np.vstack([basis, -basis])
    b = np.concatenate([uhi - x0, x0 - ulo])
    k = d - 1
    centre_y, r = _chebyshev(a, b)
    if centre_y is None or r <= EMPTY_RADIUS:
        return 0.0
    verts = _vertices(a, b, centre_y)
    return polytope_volume(verts) * s**k


# --------------------------------------------------------------------------------------------- LP / vertices
def _chebyshev(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Chebyshev centre and radius of {u : a u <= b} (rows of a need not be unit)."""
    k = a.shape[1]
    norms = np.linalg.norm(a, axis=1)
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    bounds = [(None, None)] * k + [(0.0, None)]
    res = linprog(cost, A_ub=np.column_stack([a, norms]), b_ub=b, bounds=bounds, method="highs-ds", options=_LP_OPTIONS)
    if res.status == 2:  # infeasible
        return None, -math.inf
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.x[:k], float(res.x[k])


def _vertices(a: np.ndarray, b: np.ndarray, interior: np.ndarray) -> np.ndarray:
    k = a.shape[1]
    if k == 1:
        lo, hi = -math.inf, math.inf
        for (ai,), bi in zip(a, b, strict=True):
            if ai > 0:
                hi = min(hi, bi / ai)
            elif ai < 0:
                lo = max(lo, bi / ai)
        return np.array([[lo], [hi]])
    hs = HalfspaceIntersection(np.column_stack([a, -b]), interior)
    pts = hs.intersections[np.all(np.isfinite(hs.intersections), axis=1)]
    return unique_points(pts, ON_TOL / 10)


# --------------------------------------------------------------------------------------------- classes
def hyperplane_classes(W, c, tol: float = COINCIDENT_TOL) -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray]:
    """Group the rows into coincidence classes (equal up to a nonzero scale, either orientation).

    Returns (classes, orient, unit_normals, unit_offsets): ``classes`` lists the member indices of each class
    (ascending, classes ordered by their smallest member) over rows with a nonzero normal; ``orient[j]`` is +1
    if row j points like its class representative (its smallest member), -1 otherwise; rows with a zero normal
    get orient 0 (constant bit). Raises ValueError on a zero row with zero offset.
    """
    W = np.asarray(W, float)
    c = np.asarray(c, float)
    m = W.shape[0]
    norms = np.linalg.norm(W, axis=1)
    orient = np.zeros(m, dtype=int)
    un = np.zeros_like(W)
    uc = np.zeros(m)
    classes: list[list[int]] = []
    reps: list[int] = []
    for j in range(m):
        if norms[j] == 0:
            if c[j] == 0:
                raise ValueError(f"row {j} has a zero normal and a zero offset")
            continue
        un[j] = W[j] / norms[j]
        uc[j] = c[j] / norms[j]
        for cls, r in zip(classes, reps, strict=True):
            row, rep = np.append(un[j], uc[j]), np.append(un[r], uc[r])
            if np.max(np.abs(row - rep)) <= tol:
                cls.append(j)
                orient[j] = 1
                break
            if np.max(np.abs(row + rep)) <= tol:
                cls.append(j)
                orient[j] = -1
                break
        else:
            classes.append([j])
            reps.append(j)
            orient[j] = 1
    return classes, orient, un, uc


# --------------------------------------------------------------------------------------------- the reference
def _facet_measure(y: np.ndarray) -> tuple[float, int]:
    """(area, ambiguous) of a candidate facet given its vertices in (d-1)-dimensional coordinates: area 0 when
    the face is lower-dimensional (thickness <= FLAT_TOL); ambiguous = 1 when the thickness is in
    (FLAT_TOL, AMBIGUOUS] (a sliver: another tolerance may decide differently)."""
    if len(y) == 0:
        return 0.0, 0
    t = thickness(y)
    if t <= FLAT_TOL:
        return 0.0, 0
    return polytope_volume(y) if y.shape[1] else 1.0, int(t <= AMBIGUOUS)


def partition_reference(W, c, lo, hi, *, deadline: float | None = None) -> RefPartition:
    """Partition the box [lo, hi] by the hyperplanes W x + c = 0 (see the module docstring).

    ``lo``/``hi`` are length-d arrays (or scalars together with W's width). ``deadline`` is a
    ``time.perf_counter()`` value after which ``ReferenceTimeout`` is raised.
    """
    W = np.atleast_2d(np.asarray(W, float))
    c = np.asarray(c, float).reshape(-1)
    m, d = W.shape
    lo = np.broadcast_to(np.asarray(lo, float), (d,)).copy()
    hi = np.broadcast_to(np.asarray(hi, float), (d,)).copy()
    if c.shape[0] != m:
        raise ValueError("W and c disagree on the number of hyperplanes")
    centre = (lo + hi) / 2
    s = float(np.max(hi - lo) / 2)
    ulo, uhi = (lo - centre) / s, (hi - centre) / s

    classes, orient, un, uc = hyperplane_classes(W, c)
    # class hyperplanes in normalised coordinates: n.u + c0 = 0 with n unit (the representative's orientation)
    cls_n = [un[cl[0]] for cl in classes]
    cls_c = [(uc[cl[0]] + un[cl[0]] @ centre) / s for cl in classes]

    # a cell: (rows a, rhs b, sides: dict class -> +1/-1), constraints a u <= b
    box_a = np.vstack([np.eye(d), -np.eye(d)])
    box_b = np.concatenate([uhi, -ulo])
    cells: list[tuple[np.ndarray, np.ndarray, dict[int, int]]] = [(box_a, box_b, {})]
    n_lps = 0
    for k, (n, c0) in enumerate(zip(cls_n, cls_c, strict=True)):
        new_cells = []
        for a, b, sides in cells:
            if deadline is not None and time.perf_counter() > deadline:
                raise ReferenceTimeout(f"reference ran past its deadline at class {k}/{len(classes)}")
            halves = []
            for sign in (1, -1):  # side sign: sign * (n.u + c0) >= 0  <=>  -sign*n.u <= sign*c0
                a2 = np.vstack([a, -sign * n])
                b2 = np.append(b, sign * c0)
                _, r = _chebyshev(a2, b2)
                n_lps += 1
                if r > EMPTY_RADIUS:
                    halves.append((a2, b2, sign))
            if not halves:
                raise RuntimeError("a cell vanished on both sides of a hyperplane")
            if len(halves) == 1:
                sides = {**sides, k: halves[0][2]}
                new_cells.append((a, b, sides))
            else:
                for a2, b2, sign in halves:
                    new_cells.append((a2, b2, {**sides, k: sign}))
        cells = new_cells

    # patterns
    def pattern_of(sides: dict[int, int]) -> np.ndarray:
        p = np.zeros(m, dtype=bool)
        for j in range(m):
            if orient[j] == 0:
                p[j] = c[j] > 0
        for k, cl in enumerate(classes):
            for j in cl:
                p[j] = sides[k] * orient[j] > 0
        return p

    pats = [pattern_of(sd) for _, _, sd in cells]
    labels = ["".join("1" if v else "0" for v in p) for p in pats]
    order = sorted(range(len(cells)), key=lambda i: labels[i])
    cells = [cells[i] for i in order]
    pats = [pats[i] for i in order]
    labels = [labels[i] for i in order]
    if len(set(labels)) != len(labels):
        raise RuntimeError("two reference cells share a pattern")

    # per-cell geometry (normalised coordinates)
    verts_u, centres_u, radii_u, vols_u, cents_u = [], [], [], [], []
    for a, b, _ in cells:
        centre_u, r = _chebyshev(a, b)
        n_lps += 1
        v = _vertices(a, b, centre_u)
        verts_u.append(v)
        centres_u.append(centre_u)
        radii_u.append(r)
        vols_u.append(polytope_volume(v))
        cents_u.append(polytope_centroid(v))

    # facets
    facets: list[RefFacet] = []
    index = {lab: i for i, lab in enumerate(labels)}
    min_area = math.inf
    n_ambiguous = 0
    for i, (_, _, sides) in enumerate(cells):
        v = verts_u[i]
        for k, cl in enumerate(classes):
            if k not in sides:
                continue
            flipped = {**sides, k: -sides[k]}
            j = index.get("".join("1" if x else "0" for x in pattern_of(flipped)))
            if j is None or j < i:
                continue
            on = v[np.abs(v @ cls_n[k] + cls_c[k]) <= ON_TOL]
            area, n_amb = _facet_measure((on - on[0]) @ orthonormal_complement(cls_n[k]) if len(on) else on[:, 1:])
            n_ambiguous += n_amb
            if area == 0:
                continue
            min_area = min(min_area, area)
            normal = cls_n[k] * (-sides[k])  # from i to j: towards j's side
            facets.append(RefFacet((i, j), area * s ** (d - 1), normal.copy(), cl[0], -1, tuple(cl)))
        for axis, upper in itertools.product(range(d), (0, 1)):
            bound = uhi[axis] if upper else ulo[axis]
            on = v[np.abs(v[:, axis] - bound) <= ON_TOL]
            area, n_amb = _facet_measure(np.delete(on, axis, axis=1))
            n_ambiguous += n_amb
            if area == 0:
                continue
            min_area = min(min_area, area)
            normal = np.zeros(d)
            normal[axis] = 1.0 if upper else -1.0
            facets.append(RefFacet((i, -1), area * s ** (d - 1), normal, -1, 2 * axis + upper, ()))
    facets.sort(key=lambda f: (f.cells[0], f.cells[1] if f.cells[1] >= 0 else 1 << 62, f.box_face))

    return RefPartition(
        dim=d,
        n_hyperplanes=m,
        labels=labels,
        patterns=np.array(pats, dtype=bool).reshape(len(cells), m),
        volumes=np.array(vols_u) * s**d,
        centroids=np.array(cents_u) * s + centre,
        interior_points=np.array(centres_u) * s + centre,
        radii=np.array(radii_u) * s,
        vertices=[v * s + centre for v in verts_u],
        facets=facets,
        classes=[tuple(cl) for cl in classes],
        min_radius_normalised=float(min(radii_u)),
        min_facet_area_normalised=min_area,
        n_ambiguous=n_ambiguous,
        n_lps=n_lps,
    )
