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

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=True)
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
        W = rng.normal(size=(m, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        p = rng.uniform(-1.0, 1.0, size=(m, d))
        c = -(W * p).sum(axis=1)
        if verify_generic_inside(W, c, lo, hi):
            return Arrangement(W, c, lo, hi, note=f"generic-inside seed={seed}")
    raise RuntimeError("could not draw a generic arrangement")


def verify_generic_inside(W, c, lo, hi, *, margin=1e-3, sep=1e-6, min_sv=1e-3) -> bool:
    """True iff every k-subset (k <= d) of the hyperplanes has independent normals, its intersection flat has
    a point strictly inside the box, and no vertex (d-subset) lies within ``sep`` of another hyperplane."""
    import itertools

    m, d = W.shape
    span = hi - lo
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


def coincidence_classes(W, c) -> list[tuple[int, ...]]:
    """Coincidence classes (independent of the package) of the rows with a nonzero normal."""
    from reference import hyperplane_classes

    classes, *_ = hyperplane_classes(W, c)
    return [tuple(cl) for cl in classes]


def crosses_interior(w, c0, lo, hi, tol) -> bool:
    """True iff w.x + c0 takes both signs (beyond tol * |w|) on the box."""
    w = np.asarray(w, float)
    nw = np.linalg.norm(w)
    if nw == 0:
        return False
    centre = (np.asarray(lo) + np.asarray(hi)) / 2
    half = (np.asarray(hi) - np.asarray(lo)) / 2
    mid = w @ centre + c0
    rad = np.abs(w) @ half
    return (mid + rad > tol * nw) and (mid - rad < -tol * nw)
