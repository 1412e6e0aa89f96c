"""Adversarial inputs for the partition functions (issue 9), shared by the tests and the benchmark.

Every family of the issue is a function returning a list of :class:`Case` (small, deterministic):

* ``near_concurrent``   k hyperplanes through one point, offsets perturbed by eps = 0, 1e-9, 1e-12 ... 1e-15
                        (relative to the box diagonal);
* ``nearly_parallel``   pairs whose normals differ by an angle of 1e-6 ... 1e-15 (crossing inside the box or not);
* ``nearly_coincident`` copies (scaled, flipped, shifted by eps) of hyperplanes;
* ``box_faces``         hyperplanes through box corners, along box faces, and eps inside / outside a face;
* ``scaled``            a degenerate arrangement with coordinates scaled by 2**-27, 2**27 (exact), 1e-8, 1e8
                        (rounded), and moved far from the origin (box [1e8, 1e8 + 1]^d);
* ``aspect_1e6``        boxes with aspect ratio 1e6 (2-D and 3-D) cut by concurrent and axis-parallel hyperplanes;
* ``huge_integers``     integer arrangements with coefficients up to 2**52 (exactly concurrent, nearly parallel);
* ``relu_dead``         ReLU networks whose neurons are exactly dead (pre-activation identically 0) on a cell, or
                        whose bent hyperplane runs exactly along a face of the cell;
* ``far_box``           generic arrangements (d = 2..4) and ReLU nets on boxes far from the origin: [t, t + w]^d for
                        t = 1e4, 1e8, 1e12, -1e8 and w = 1, 1e-3 (the model of the unit box moved there, rounded);
* ``generic``           a control family in general position.

Independent checks, none sharing code with ``mlgeom_rs``:

* :func:`exact_cell_count` counts the cells (regions of the open box) of a hyperplane arrangement exactly, with
  ``fractions.Fraction`` arithmetic on the input floats (each float is an exact rational): Zaslavsky's theorem
  for a convex open set, r = sum over the flats X meeting the open box of |mu(R^d, X)|, with the flats found by
  exact Gaussian elimination and "meets the open box" decided by Fourier-Motzkin elimination (strict
  inequalities). This is the combinatorics an exact mode must reproduce.
* :func:`check_invariants` returns the violated invariants (volume sum, positive volumes, facet closure, angle sums
  around interior (d-2)-faces, locate consistent with the sign pattern / the network away from boundaries).
* :func:`compare_reference` compares with the scipy reference (``tests/reference.py``) where it is reliable.

Run ``python tests/adversarial.py`` for a list of the cases with their exact cell counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

__all__ = [
    "FAMILIES",
    "Case",
    "all_cases",
    "check_invariants",
    "compare_reference",
    "exact_cell_count",
    "relu_forward",
]

EPSILONS = (1e-12, 1e-13, 1e-14, 1e-15)


@dataclass(frozen=True)
class Case:
    """One adversarial input: a hyperplane arrangement (``W``, ``c``) or a ReLU network (``weights``, ``biases``)
    on the box [``lo``, ``hi``].

    ``intended`` is the cell count of the exactly degenerate design the case perturbs (``None`` if not known);
    ``reference_ok`` says the scipy reference is reliable on it (every feature is either exactly zero or far above
    the tolerances); ``exact_ok`` says :func:`exact_cell_count` is cheap enough to run on it.
    """

    family: str
    name: str
    lo: np.ndarray
    hi: np.ndarray
    W: np.ndarray | None = None
    c: np.ndarray | None = None
    weights: tuple[np.ndarray, ...] = ()
    biases: tuple[np.ndarray, ...] = ()
    output_layer: bool = False
    intended: int | None = None
    reference_ok: bool = False
    exact_ok: bool = True
    tags: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        return "hyperplanes" if self.W is not None else "relu"

    @property
    def d(self) -> int:
        return int(self.lo.shape[0])

    @property
    def scale(self) -> float:
        return float(np.linalg.norm(self.hi - self.lo))

    @property
    def box_volume(self) -> float:
        return float(np.prod(self.hi - self.lo))

    def hyperplanes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(W, c) of the arrangement, or of the first layer of a one-hidden-layer network (else None)."""
        if self.W is not None:
            return self.W, self.c
        n_hidden = len(self.weights) - (1 if self.output_layer else 0)
        if n_hidden == 1:
            return self.weights[0], self.biases[0]
        return None

    def run(self, mg, **kw):
        box = mg.Box(self.lo, self.hi)
        if self.W is not None:
            return mg.partition_hyperplanes(self.W, self.c, box, **kw)
        return mg.partition_relu(list(self.weights), list(self.biases), box, output_layer=self.output_layer, **kw)

    def __repr__(self) -> str:  # copy-pasteable
        def arr(a):
            return f"np.array({np.asarray(a).tolist()!r})"

        body = (
            f"W={arr(self.W)}, c={arr(self.c)}"
            if self.W is not None
            else f"weights={[np.asarray(w).tolist() for w in self.weights]!r}, "
            f"biases={[np.asarray(b).tolist() for b in self.biases]!r}, output_layer={self.output_layer}"
        )
        return f"Case({self.family}/{self.name}: {body}, lo={arr(self.lo)}, hi={arr(self.hi)})"


def _f(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)


def _jitter(n: int, seed: int) -> np.ndarray:
    """n deterministic numbers in [-1, 1] (the first one 0, so one hyperplane stays put)."""
    out = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    out[0] = 0.0
    return out


# --------------------------------------------------------------------------------------------- families
NORMALS_2D = _f([[1, 0], [0, 1], [1, 1], [1, -1], [1, 2], [2, -1]])
NORMALS_3D = _f([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [1, -1, 0], [0, 1, -1]])
NORMALS_4D = _f([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1]])


def near_concurrent() -> list[Case]:
    """k hyperplanes through one (dyadic) point, offsets perturbed by eps * diagonal."""
    out = []
    setups = [
        (NORMALS_2D[:3], _f([0.375, 0.625])),
        (NORMALS_2D, _f([0.375, 0.625])),
        (NORMALS_3D[:4], _f([0.375, 0.625, 0.5])),
        (NORMALS_3D, _f([0.375, 0.625, 0.5])),
        (NORMALS_4D, _f([0.375, 0.625, 0.5, 0.25])),
    ]
    for W, p in setups:
        k, d = W.shape
        lo, hi = np.zeros(d), np.ones(d)
        c0 = -W @ p  # exact: small integers times dyadic rationals
        intended = exact_cell_count(W, c0, lo, hi)
        for eps in (0.0, 1e-9, *EPSILONS):
            c = c0 + eps * math.sqrt(d) * _jitter(k, 17 * k + d)
            out.append(
                Case(
                    "near_concurrent",
                    f"d={d} k={k} eps={eps:g}",
                    lo,
                    hi,
                    W=W,
                    c=c,
                    intended=intended,
                    reference_ok=eps == 0.0,
                    tags=("exact",) if eps == 0.0 else ("perturbed",),
                )
            )
    return out


def nearly_parallel() -> list[Case]:
    """Two hyperplanes at a tiny angle delta: crossing inside the box (nearly coincident there) or parallel-ish and
    well apart; plus a transversal one."""
    out = []
    lo2, hi2 = np.zeros(2), np.ones(2)
    for delta in (1e-6, 1e-9, *EPSILONS):
        n2 = _f([math.cos(delta), math.sin(delta)])
        # crossing at (0.5, 0.5), inside the box
        W = np.vstack([_f([1, 0]), n2, _f([0, 1])])
        c = _f([-0.5, -(n2 @ _f([0.5, 0.5])), -0.3])
        out.append(
            Case(
                "nearly_parallel",
                f"2-D crossing inside delta={delta:g}",
                lo2,
                hi2,
                W=W,
                c=c,
                intended=4,
                reference_ok=delta >= 1e-6,
                tags=("perturbed",),
            )
        )
        # 0.25 apart, crossing far outside the box
        c = _f([-0.5, -(n2 @ _f([0.75, 0.5])), -0.3])
        out.append(
            Case(
                "nearly_parallel",
                f"2-D apart delta={delta:g}",
                lo2,
                hi2,
                W=W,
                c=c,
                intended=6,
                reference_ok=True,
                tags=("robust",),
            )
        )
    lo3, hi3 = np.zeros(3), np.ones(3)
    for delta in (1e-9, 1e-12, 1e-15):
        n2 = _f([math.cos(delta), math.sin(delta), 0.0])
        W = np.vstack([_f([1, 0, 0]), n2, _f([0, 1, 1])])
        c = _f([-0.5, -(n2 @ _f([0.5, 0.5, 0.5])), -1.0])
        out.append(
            Case(
                "nearly_parallel",
                f"3-D crossing inside delta={delta:g}",
                lo3,
                hi3,
                W=W,
                c=c,
                intended=4,
                reference_ok=False,
                tags=("perturbed",),
            )
        )
    return out


def nearly_coincident() -> list[Case]:
    """Copies of hyperplanes: scaled by 3 and flipped (rounded), scaled by 2**40 (exact), shifted by eps."""
    out = []
    lo, hi = np.zeros(2), np.ones(2)
    base_W = _f([[1, 1], [1, -2], [0, 1]])
    base_c = _f([-1.0, 0.25, -0.375])  # x + y = 1 through two corners
    W = np.vstack([base_W, -3.0 * base_W[0], 2.0**40 * base_W[1]])
    c = np.concatenate([base_c, [3.0, 2.0**40 * base_c[1]]])
    intended = exact_cell_count(base_W, base_c, lo, hi)
    out.append(
        Case(
            "nearly_coincident",
            "2-D exact copies (flipped x3, x2^40)",
            lo,
            hi,
            W=W,
            c=c,
            intended=intended,
            reference_ok=True,
            tags=("exact",),
        )
    )
    W = np.vstack([base_W, 0.1 * base_W[0], base_W[1] / 3.0])  # rounded copies: coincide only up to rounding
    c = np.concatenate([base_c, [0.1 * base_c[0], base_c[1] / 3.0]])
    out.append(
        Case(
            "nearly_coincident",
            "2-D rounded copies (x0.1, /3)",
            lo,
            hi,
            W=W,
            c=c,
            intended=intended,
            reference_ok=True,
            tags=("rounded",),
        )
    )
    for eps in (1e-9, *EPSILONS):
        W = np.vstack([base_W, base_W[0], base_W[1]])
        c = np.concatenate([base_c, [base_c[0] + eps, base_c[1] - eps * math.sqrt(5)]])
        out.append(
            Case(
                "nearly_coincident",
                f"2-D shifted copies eps={eps:g}",
                lo,
                hi,
                W=W,
                c=c,
                intended=intended,
                tags=("perturbed",),
            )
        )
    # found by fuzzing: four planes through (1/2, 1/2, 1/2), three of them nearly sharing a line, and a parallel copy
    # of the fourth 1e-9 x diagonal away: the copy's short edge to the triple point is "on" all three within the
    # tolerance, so the dihedral angles around it are those of planes that do not quite share it
    W = _f([[0.1, -1.0, 0.7], [0.7, 0.1, 1 / 3], [0.3, -3.0, 2.1], [0.0, 0.7, 1 / 3], [-1.0, 0.999999999999, 0.0]])
    c = _f([0.099999999999899, -0.5666666666666667, 0.30000000636365803, -0.5166666666677, 0.0])
    out.append(
        Case(
            "nearly_coincident",
            "3-D copy 1e-9 apart through a near-co-axial triple (fuzz)",
            np.zeros(3),
            np.ones(3),
            W=W,
            c=c,
            intended=exact_cell_count(W[[0, 1, 3, 4]], c[[0, 1, 3, 4]], np.zeros(3), np.ones(3)),
            tags=("perturbed",),
        )
    )
    lo3, hi3 = np.zeros(3), np.ones(3)
    base_W = _f([[1, 1, 1], [1, -1, 0], [0, 0, 1]])
    base_c = _f([-1.5, 0.0, -0.25])
    intended = exact_cell_count(base_W, base_c, lo3, hi3)
    for eps in (0.0, 1e-12, 1e-15):
        W = np.vstack([base_W, -7.0 * base_W[0], base_W[1]])
        c = np.concatenate([base_c, [-7.0 * base_c[0] + eps, base_c[1] + eps]])
        out.append(
            Case(
                "nearly_coincident",
                f"3-D copies eps={eps:g}",
                lo3,
                hi3,
                W=W,
                c=c,
                intended=intended,
                reference_ok=eps == 0.0,
                tags=("exact",) if eps == 0.0 else ("perturbed",),
            )
        )
    return out


def box_faces() -> list[Case]:
    """Hyperplanes through box corners, along box faces, and eps inside or outside a face."""
    out = []
    lo, hi = np.zeros(2), np.ones(2)
    W = _f([[1, 1], [1, -1], [1, 0], [0, 1], [1, 0]])
    c = _f([-1, 0, 0, -1, -0.5])  # both diagonals (4 corners), x = 0 and y = 1 along faces, x = 0.5
    out.append(
        Case(
            "box_faces",
            "2-D diagonals + faces",
            lo,
            hi,
            W=W,
            c=c,
            intended=exact_cell_count(W, c, lo, hi),
            reference_ok=True,
            tags=("exact",),
        )
    )
    for eps in (1e-9, *EPSILONS):
        for side, sign in (("inside", -1.0), ("outside", 1.0)):
            W = _f([[1, 1], [1, 0], [0, 1]])
            c = _f([-1, sign * eps, -0.5])  # x = -sign*eps: a sliver inside the box, or just outside
            out.append(
                Case("box_faces", f"2-D x=0 moved {side} by {eps:g}", lo, hi, W=W, c=c, intended=4, tags=("perturbed",))
            )
    lo3, hi3 = np.zeros(3), np.ones(3)
    W = _f([[1, 1, 1], [1, -1, 0], [0, 0, 1], [1, 1, 1], [1, 0, 0]])
    c = _f([-1, 0, -1, 0, -1])  # three corners; an edge; a face; one corner only; the opposite face
    out.append(
        Case(
            "box_faces",
            "3-D corners, edge, faces",
            lo3,
            hi3,
            W=W,
            c=c,
            intended=exact_cell_count(W, c, lo3, hi3),
            reference_ok=True,
            tags=("exact",),
        )
    )
    W = _f([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])
    c = _f([-1, 0, 0, 0])  # each through three corners of the cube (or through its edges)
    out.append(
        Case(
            "box_faces",
            "3-D planes through 3 corners each",
            lo3,
            hi3,
            W=W,
            c=c,
            intended=exact_cell_count(W, c, lo3, hi3),
            reference_ok=True,
            tags=("exact",),
        )
    )
    for eps in (1e-12, 1e-15):
        W = _f([[1, 1, 1], [1, -1, 0], [0, 0, 1]])
        c = _f([-1 + eps, eps, -0.5])  # nearly through three corners, nearly through an edge
        out.append(
            Case(
                "box_faces",
                f"3-D nearly through corners/edge eps={eps:g}",
                lo3,
                hi3,
                W=W,
                c=c,
                intended=exact_cell_count(W, _f([-1, 0, -0.5]), lo3, hi3),
                tags=("perturbed",),
            )
        )
    return out


def _degenerate_base() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Four lines through (3/8, 5/8), a diagonal through two corners, a line along a face: [0, 1]^2."""
    W = np.vstack([NORMALS_2D[:4], _f([[1, 1], [0, 1]])])
    p = _f([0.375, 0.625])
    c = np.concatenate([-NORMALS_2D[:4] @ p, [-1.0, 0.0]])
    return W, c, np.zeros(2), np.ones(2)


def scaled() -> list[Case]:
    """One degenerate arrangement in other units: x' = s x (exact for powers of 2), and moved to x' = x + 1e8."""
    W, c, lo, hi = _degenerate_base()
    intended = exact_cell_count(W, c, lo, hi)
    out = []
    for label, s in (("2^-27", 2.0**-27), ("2^27", 2.0**27), ("1e-8", 1e-8), ("1e8", 1e8)):
        # w.x + c = 0 with x = x'/s: w.x' + s c = 0
        exact = label.startswith("2^")
        out.append(
            Case(
                "scaled",
                f"2-D x{label}",
                lo * s,
                hi * s,
                W=W.copy(),
                c=c * s,
                intended=intended,
                reference_ok=True,
                tags=("exact",) if exact else ("rounded",),
            )
        )
        # the same with the normals scaled the other way: w/s . x' + c = 0 (huge or tiny normals)
        out.append(
            Case(
                "scaled",
                f"2-D x{label}, normals /s",
                lo * s,
                hi * s,
                W=W / s,
                c=c.copy(),
                intended=intended,
                reference_ok=True,
                tags=("exact",) if exact else ("rounded",),
            )
        )
    for t in (1e8, 2.0**27):
        # x' = x + t: w.x' + (c - w.t) = 0; the offsets lose digits (cancellation)
        out.append(
            Case(
                "scaled",
                f"2-D moved by {t:g}",
                lo + t,
                hi + t,
                W=W.copy(),
                c=c - W @ np.full(2, t),
                intended=intended,
                reference_ok=False,
                tags=("rounded",),
            )
        )
    W3, p3 = NORMALS_3D, _f([0.375, 0.625, 0.5])
    c3 = -W3 @ p3
    lo3, hi3 = np.zeros(3), np.ones(3)
    intended3 = exact_cell_count(W3, c3, lo3, hi3)
    for label, s in (("1e-8", 1e-8), ("1e8", 1e8)):
        out.append(
            Case(
                "scaled",
                f"3-D x{label}",
                lo3 * s,
                hi3 * s,
                W=W3.copy(),
                c=c3 * s,
                intended=intended3,
                reference_ok=True,
                tags=("rounded",),
            )
        )
    return out


def aspect_1e6() -> list[Case]:
    """Boxes about 1e6 times longer than wide (exact: [0, 2^10] x [0, 2^-10]; rounded: [0, 1e3] x [0, 1e-3]), cut by
    concurrent lines, axis-parallel ones and the diagonal from corner to corner."""
    out = []
    design3 = None
    for tag, a in (("exact", 2.0**10), ("rounded", 1e3)):
        lo, hi = np.zeros(2), _f([a, 1 / a])
        centre = (lo + hi) / 2
        # lines through the centre at slopes spread over the thin box (normals scaled to the box)
        W = _f([[1.0, 0.0], [0.0, 1.0], [1 / a, a], [1 / a, -a], [1 / a, 2 * a]])
        c = -W @ centre
        design = 10  # 5 distinct lines through one point
        out.append(
            Case(
                "aspect_1e6",
                f"2-D concurrent at the centre ({tag})",
                lo,
                hi,
                W=W,
                c=c,
                intended=design,
                reference_ok=True,
                tags=(tag,),
            )
        )
        W = _f([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1 / a, a]])
        c = _f([-a / 4, -3 * a / 4, -1 / (4 * a), -1.0])  # two cuts across, one along, the diagonal corner to corner
        design = 9  # the diagonal meets x = 3a/4 on y = 1/(4a)
        out.append(
            Case(
                "aspect_1e6",
                f"2-D across, along, corner diagonal ({tag})",
                lo,
                hi,
                W=W,
                c=c,
                intended=design,
                reference_ok=True,
                tags=(tag,),
            )
        )
        if tag == "exact":
            for eps in (1e-12, 1e-15):
                cp = c + eps * np.linalg.norm(hi - lo) * _jitter(len(c), 5)
                out.append(
                    Case(
                        "aspect_1e6",
                        f"2-D across, along, diagonal, perturbed eps={eps:g}",
                        lo,
                        hi,
                        W=W.copy(),
                        c=cp,
                        intended=design,
                        tags=("perturbed",),
                    )
                )
        lo3, hi3 = np.zeros(3), _f([a, 1.0, 1 / a])
        centre3 = (lo3 + hi3) / 2
        W3 = _f([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1 / a, 1.0, a], [1 / a, -1.0, a]])
        if design3 is None:  # the exact (power of 2) version is the design
            design3 = exact_cell_count(W3, -W3 @ centre3, lo3, hi3)
        out.append(
            Case(
                "aspect_1e6",
                f"3-D concurrent at the centre ({tag})",
                lo3,
                hi3,
                W=W3,
                c=-W3 @ centre3,
                intended=design3,
                reference_ok=True,
                tags=(tag,),
            )
        )
    return out


def huge_integers() -> list[Case]:
    """Integer arrangements with coefficients up to 2**52: exactly concurrent at an integer point, nearly parallel
    (rows (M, M+1), (M+1, M+2)), and small-integer rows multiplied by huge integers."""
    out = []
    for M in (2**20, 2**26):
        lo, hi = _f([-8.0, -8.0]), _f([8.0, 8.0])
        W = _f([[M, M + 1], [M + 1, M + 2], [1, 0], [0, 1], [M, -M - 3]])
        p = _f([1.0, -1.0])
        c = -W @ p  # every line through (1, -1), exactly (integers below 2**53)
        out.append(
            Case(
                "huge_integers",
                f"2-D concurrent, rows (M, M+1), M=2^{int(math.log2(M))}",
                lo,
                hi,
                W=W,
                c=c,
                intended=exact_cell_count(W, c, lo, hi),
                reference_ok=False,
                tags=("exact",),
            )
        )
        W = _f([[M, M + 1], [M + 1, M + 2], [0, 1]])
        c = _f([-3, 5, -1])  # the first two are ~8/M apart in the box and meet at x = -(8M + 11), far outside
        out.append(
            Case(
                "huge_integers",
                f"2-D nearly parallel pair, M=2^{int(math.log2(M))}",
                lo,
                hi,
                W=W,
                c=c,
                intended=exact_cell_count(W, c, lo, hi),
                tags=("exact",),
            )
        )
    rng = np.random.default_rng(2024)
    for k, big in enumerate((2.0**40, 1e15, 2.0**52)):
        d = 3
        small = rng.integers(-2, 3, size=(6, d)).astype(float)
        small[~small.any(axis=1), 0] = 1.0
        cs = rng.integers(-2, 3, size=6).astype(float)
        mult = np.floor(big / (1 + np.arange(6)))  # different huge integer per row (exact, <= 2**52)
        W, c = small * mult[:, None], cs * mult
        out.append(
            Case(
                "huge_integers",
                f"3-D small rows x huge integers ({big:g}) #{k}",
                -np.ones(d),
                np.ones(d),
                W=W,
                c=c,
                intended=exact_cell_count(small, cs, -np.ones(d), np.ones(d)),
                reference_ok=True,
                tags=("exact",),
            )
        )
    return out


def relu_dead() -> list[Case]:
    """ReLU networks (no output layer) with neurons exactly dead on a cell or bent exactly along a cell's face."""
    out = []
    lo, hi = -np.ones(2), np.ones(2)
    I2 = np.eye(2)
    z2 = np.zeros(2)
    # layer 2 = ReLU(h1): zero (dead) on x < 0, and its hyperplane x = 0 is the facet of the cells x > 0
    out.append(
        Case(
            "relu_dead",
            "2-D z=h1 (dead on x<0, along the facet)",
            lo,
            hi,
            weights=(I2, _f([[1.0, 0.0]])),
            biases=(z2, _f([0.0])),
            intended=4,
            tags=("exact",),
        )
    )
    # z = h1 + h2: dead exactly on the quadrant x, y < 0 (cancelled to 0), touches it along two facets
    out.append(
        Case(
            "relu_dead",
            "2-D z=h1+h2 (dead on a quadrant)",
            lo,
            hi,
            weights=(I2, _f([[1.0, 1.0]])),
            biases=(z2, _f([0.0])),
            intended=4,
            tags=("exact",),
        )
    )
    # z = h1 - h2: bends along y = x in the (+, +) quadrant, dead on (-, -)
    out.append(
        Case(
            "relu_dead",
            "2-D z=h1-h2 (bent, dead on a quadrant)",
            lo,
            hi,
            weights=(I2, _f([[1.0, -1.0]])),
            biases=(z2, _f([0.0])),
            intended=5,
            tags=("exact",),
        )
    )
    # two identical first-layer neurons and z = h1 - h2 == 0 everywhere (exact cancellation)
    W1 = _f([[1.0, 0.5], [1.0, 0.5]])
    out.append(
        Case(
            "relu_dead",
            "2-D z=h1-h2 with h1==h2 (dead everywhere)",
            lo,
            hi,
            weights=(W1, _f([[1.0, -1.0]])),
            biases=(_f([0.25, 0.25]), _f([0.0])),
            intended=2,
            tags=("exact",),
        )
    )
    # the same up to 1e-15: z = 1e-15 * h1 is positive where h1 > 0 (exact answer: 3 cells ... the network sees it)
    out.append(
        Case(
            "relu_dead",
            "2-D z=(1+1e-15)h1-h2 with h1==h2 (nearly dead)",
            lo,
            hi,
            weights=(W1, _f([[1.0 + 2.0**-50, -1.0]])),
            biases=(_f([0.25, 0.25]), _f([0.0])),
            intended=2,
            tags=("perturbed",),
        )
    )
    # a first-layer neuron along a box face (ReLU(x + 1) on [-1, 1]^2: its hyperplane is the face x = -1)
    out.append(
        Case(
            "relu_dead",
            "2-D neuron along a box face",
            lo,
            hi,
            weights=(_f([[1.0, 0.0], [0.0, 1.0]]), _f([[1.0, 1.0]])),
            biases=(_f([1.0, 0.0]), _f([-0.5])),
            intended=exact_relu_count_2layer_small(),
            tags=("exact",),
        )
    )
    # 3-D: identity layer, then neurons h1 + h2 + h3 (dead on an octant), h1 - h2 (bent), h3 (along facets)
    I3 = np.eye(3)
    out.append(
        Case(
            "relu_dead",
            "3-D sums and differences of ReLU(x_i)",
            -np.ones(3),
            np.ones(3),
            weights=(I3, _f([[1, 1, 1], [1, -1, 0], [0, 0, 1]])),
            biases=(np.zeros(3), np.zeros(3)),
            intended=None,
            tags=("exact",),
        )
    )
    # three layers: ReLU(x), then ReLU(h), then a neuron that is dead on half the box and bent on the rest
    out.append(
        Case(
            "relu_dead",
            "2-D three layers, dead neurons downstream",
            lo,
            hi,
            weights=(I2, I2, _f([[1.0, -1.0], [1.0, 1.0]])),
            biases=(z2, z2, _f([0.0, -0.5])),
            intended=None,
            tags=("exact",),
        )
    )
    # one hidden layer of a wide net with an output layer (a hyperplane arrangement with exact degeneracies)
    W1 = _f([[1, 0], [0, 1], [1, 1], [1, -1], [2, 2], [-1, 0]])
    b1 = _f([0, 0, 0, 0, 0, 0])
    out.append(
        Case(
            "relu_dead",
            "2-D one hidden layer, concurrent + duplicate neurons",
            lo,
            hi,
            weights=(W1, _f([[1, 1, 1, 1, 1, 1]])),
            biases=(b1, _f([0.0])),
            output_layer=True,
            intended=exact_cell_count(W1, b1, lo, hi),
            reference_ok=False,
            tags=("exact",),
        )
    )
    return out


def exact_relu_count_2layer_small() -> int:
    """Cells of ReLU(x + 1), ReLU(y), then ReLU(h1 + h2 - 1/2) on [-1, 1]^2: the neuron x + 1 = 0 lies on the box
    face (never splits); on y < 0 the last neuron is x + 1 - 1/2 (splits at x = -1/2), on y > 0 it is
    x + y + 1/2 (splits the cell along x + y = -1/2): 2 + 2 cells."""
    return 4


def generic() -> list[Case]:
    """Control: hyperplanes in general position through random points of the box."""
    out = []
    for d, m, seed in ((2, 8, 1), (3, 7, 2), (4, 6, 3)):
        rng = np.random.default_rng(seed)
        W = rng.normal(size=(m, d))
        c = -(W * rng.uniform(0.1, 0.9, size=(m, d))).sum(axis=1)
        lo, hi = np.zeros(d), np.ones(d)
        out.append(
            Case("generic", f"d={d} m={m}", lo, hi, W=W, c=c, intended=None, reference_ok=True, tags=("generic",))
        )
    return out


def far_box() -> list[Case]:
    """Models of the unit box moved to [t, t + w]^d (x' = t + w x, coefficients rounded): generic arrangements, a
    degenerate one (concurrent lines, through a corner) and ReLU nets. The core computes them in local coordinates
    (``rust/mlgeom-core/src/centred.rs``)."""
    out = []
    spots = ((1e4, 1.0), (1e8, 1.0), (1e12, 1.0), (-1e8, 1.0), (1e4, 1e-3), (1e8, 1e-3))
    for d, m, seed in ((2, 8, 1), (3, 6, 2), (4, 5, 3)):
        rng = np.random.default_rng(seed)
        W = rng.normal(size=(m, d))
        c = -(W * rng.uniform(0.1, 0.9, size=(m, d))).sum(axis=1)
        for t, w in spots:
            # w0.x + c = 0 with x = (x' - t) / w: (w0 / w).x' + (c - w0.t / w) = 0
            Wm = W / w
            out.append(
                Case(
                    "far_box",
                    f"d={d} m={m} at {t:g} width {w:g}",
                    np.full(d, t),
                    np.full(d, t) + w,
                    W=Wm,
                    c=c - Wm.sum(axis=1) * t,
                    tags=("rounded",),
                )
            )
    base_W, base_c, _, _ = _degenerate_base()
    for t, w in ((1e8, 1.0), (-1e8, 1e-3)):
        Wm = base_W / w
        out.append(
            Case(
                "far_box",
                f"2-D degenerate at {t:g} width {w:g}",
                np.full(2, t),
                np.full(2, t) + w,
                W=Wm,
                c=base_c - Wm.sum(axis=1) * t,
                tags=("rounded",),
            )
        )
    for d, widths, seed in ((2, (8, 6), 4), (3, (6, 4), 5)):
        rng = np.random.default_rng(seed)
        W1 = rng.normal(size=(widths[0], d))
        b1 = -(W1 * rng.uniform(0.1, 0.9, size=W1.shape)).sum(axis=1)
        W2, b2 = rng.normal(size=(widths[1], widths[0])), 0.5 * rng.normal(size=widths[1])
        W3, b3 = rng.normal(size=(1, widths[1])), rng.normal(size=1)
        for t, w in ((1e8, 1.0), (-1e8, 1e-3), (1e12, 1.0)):
            W1m = W1 / w
            out.append(
                Case(
                    "far_box",
                    f"{d}-D ReLU {list(widths)} at {t:g} width {w:g}",
                    np.full(d, t),
                    np.full(d, t) + w,
                    weights=(W1m, W2, W3),
                    biases=(b1 - W1m.sum(axis=1) * t, b2, b3),
                    output_layer=True,
                    tags=("rounded",),
                )
            )
    return out


FAMILIES: dict[str, Callable[[], list[Case]]] = {
    "near_concurrent": near_concurrent,
    "nearly_parallel": nearly_parallel,
    "nearly_coincident": nearly_coincident,
    "box_faces": box_faces,
    "scaled": scaled,
    "aspect_1e6": aspect_1e6,
    "huge_integers": huge_integers,
    "relu_dead": relu_dead,
    "far_box": far_box,
    "generic": generic,
}


def all_cases() -> list[Case]:
    return [case for make in FAMILIES.values() for case in make()]


# --------------------------------------------------------------------------------------------- exact counting
def _frac_row(values) -> list[Fraction]:
    return [Fraction(float(v)) for v in values]


def _normalise(row: list[Fraction]) -> tuple[Fraction, ...]:
    """A hyperplane (w, c) scaled so that its first nonzero normal coefficient is 1 (both orientations agree)."""
    lead = next(v for v in row[:-1] if v != 0)
    return tuple(v / lead for v in row)


def _solve_flat(rows: list[tuple[Fraction, ...]], d: int) -> tuple[list[Fraction], list[list[Fraction]]] | None:
    """The flat {x : w.x + c = 0 for every (w, c) in rows}: (a point, a basis of its direction space), or None."""
    A = [list(r[:d]) + [-r[d]] for r in rows]
    pivots: list[int] = []
    row = 0
    for col in range(d):
        pr = next((i for i in range(row, len(A)) if A[i][col] != 0), None)
        if pr is None:
            continue
        A[row], A[pr] = A[pr], A[row]
        inv = 1 / A[row][col]
        A[row] = [v * inv for v in A[row]]
        for i in range(len(A)):
            if i != row and A[i][col] != 0:
                f = A[i][col]
                A[i] = [a - f * b for a, b in zip(A[i], A[row], strict=True)]
        pivots.append(col)
        row += 1
    if any(all(v == 0 for v in r[:d]) and r[d] != 0 for r in A[row:]):
        return None
    x0 = [Fraction(0)] * d
    for i, col in enumerate(pivots):
        x0[col] = A[i][d]
    free = [col for col in range(d) if col not in pivots]
    basis = []
    for f in free:
        v = [Fraction(0)] * d
        v[f] = Fraction(1)
        for i, col in enumerate(pivots):
            v[col] = -A[i][f]
        basis.append(v)
    return x0, basis


def _strictly_feasible(G: list[list[Fraction]], h: list[Fraction]) -> bool:
    """Whether {t : G t < h} (all strict) is nonempty, by Fourier-Motzkin elimination."""
    cons = [(list(g), hh) for g, hh in zip(G, h, strict=True)]
    k = len(G[0]) if G else 0
    for var in range(k - 1, -1, -1):
        pos, neg, rest = [], [], []
        for g, hh in cons:
            a = g[var]
            if a > 0:
                pos.append(([v / a for v in g[:var]], hh / a))  # t_var < (hh - g'.t) / a
            elif a < 0:
                neg.append(([v / -a for v in g[:var]], hh / -a))  # -t_var < (hh - g'.t) / -a
            else:
                rest.append((g[:var], hh))
        new = {(tuple(g), hh) for g, hh in rest}
        for gp, hp in pos:
            for gn, hn in neg:
                new.add((tuple(a + b for a, b in zip(gp, gn, strict=True)), hp + hn))
        cons = [(list(g), hh) for g, hh in new]
        if len(cons) > 200_000:
            raise RuntimeError("Fourier-Motzkin blew up")
    return all(hh > 0 for _, hh in cons)


def _meets_open_box(x0, basis, lo, hi) -> bool:
    d = len(x0)
    G, h = [], []
    for i in range(d):
        g = [b[i] for b in basis]
        G.append(g)  # x0_i + g.t < hi_i
        h.append(hi[i] - x0[i])
        G.append([-v for v in g])  # -(x0_i + g.t) < -lo_i
        h.append(x0[i] - lo[i])
    if not basis:
        return all(v > 0 for v in h)
    return _strictly_feasible(G, h)


def exact_cell_count(W, c, lo, hi) -> int:
    """The number of cells (with nonempty interior) that the hyperplanes W x + c = 0 cut the box [lo, hi] into,
    computed exactly with rational arithmetic on the given floats.

    Zaslavsky's theorem for an open convex set K: r = sum of |mu(R^d, X)| over the flats X of the intersection
    semilattice that meet K (an order ideal, so mu is the semilattice's own). Rows with a zero normal are
    constant bits; rows that are equal up to scale (either orientation) are one hyperplane. Cost: one exact
    elimination per flat; fine for m <= 12 in d <= 4.
    """
    W = np.asarray(W, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    d = W.shape[1]
    flo, fhi = _frac_row(lo), _frac_row(hi)
    planes: list[tuple[Fraction, ...]] = []
    seen = set()
    for w, cc in zip(W, c, strict=True):
        if not np.any(w):
            continue
        key = _normalise(_frac_row(list(w) + [cc]))
        if key not in seen:
            seen.add(key)
            planes.append(key)
    m = len(planes)

    def contains(j: int, x0, basis) -> bool:
        w, cc = planes[j][:d], planes[j][d]
        return sum(a * b for a, b in zip(w, x0, strict=True)) + cc == 0 and all(
            sum(a * b for a, b in zip(w, v, strict=True)) == 0 for v in basis
        )

    # flats keyed by their closure (every hyperplane containing them), found breadth first
    flats: dict[frozenset[int], tuple[list[Fraction], list[list[Fraction]]]] = {
        frozenset(): ([Fraction(0)] * d, [[Fraction(int(i == j)) for i in range(d)] for j in range(d)])
    }
    frontier = [frozenset()]
    while frontier:
        nxt = []
        for key in frontier:
            for j in range(m):
                if j in key:
                    continue
                solved = _solve_flat([planes[i] for i in sorted(key | {j})], d)
                if solved is None:
                    continue
                x0, basis = solved
                closure = frozenset(i for i in range(m) if contains(i, x0, basis))
                if closure not in flats:
                    flats[closure] = (x0, basis)
                    nxt.append(closure)
        frontier = nxt
    order = sorted(flats, key=len)
    mu: dict[frozenset[int], int] = {}
    total = 0
    for X in order:
        mu[X] = 1 if not X else -sum(mu[Y] for Y in order if len(Y) < len(X) and Y < X)
        x0, basis = flats[X]
        if _meets_open_box(x0, basis, flo, fhi):
            total += abs(mu[X])
    return total


# --------------------------------------------------------------------------------------------- networks
def relu_forward(case: Case, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patterns (N, n_bits) bool, distance bound (N,) to the nearest neuron boundary, outputs (N, n_out)).

    The distance of x to neuron k's boundary inside x's cell is |z_k(x)| / |grad z_k(x)| (z is affine on the
    cell); neurons with a zero gradient at x are constant there and do not count.
    """
    X = np.asarray(X, float)
    n, d = X.shape
    h, J = X, np.broadcast_to(np.eye(d), (n, d, d))
    hidden = len(case.weights) - (1 if case.output_layer else 0)
    bits, dist = [], np.full(n, np.inf)
    for layer in range(hidden):
        Wl, bl = case.weights[layer], case.biases[layer]
        z = h @ Wl.T + bl
        Jz = np.einsum("ok,nkd->nod", Wl, J)
        g = np.linalg.norm(Jz, axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(g > 0, np.abs(z) / g, np.inf)
        dist = np.minimum(dist, r.min(axis=1))
        on = z > 0
        bits.append(on)
        h = np.where(on, z, 0.0)
        J = Jz * on[:, :, None]
    if case.output_layer:
        h = h @ case.weights[-1].T + case.biases[-1]
    return np.concatenate(bits, axis=1), dist, h


# --------------------------------------------------------------------------------------------- invariants
def _lipschitz(case: Case, first: int = 1) -> float:
    """How much rounding of the input coordinates a case's functions amplify: 1 for (unit-normalised) hyperplanes;
    for a network the product of the infinity norms of its layers from ``first`` on (``first=1``: relative to its
    first layer's rows, as the distances to its boundaries are)."""
    if case.W is not None:
        return 1.0
    return float(np.prod([np.abs(w).sum(axis=1).max() for w in case.weights[first:]]))


def local_reach(lo: np.ndarray, hi: np.ndarray) -> float:
    """The largest |coordinate| of the box in the core's local coordinates: along each axis at most two widths (the
    core moves an axis with lo >= width, or hi <= -width, to start at 0)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return float(np.minimum(np.maximum(np.abs(lo), np.abs(hi)), 2 * (hi - lo)).max())


def check_invariants(part, case: Case, *, n_points: int = 400, seed: int = 0) -> list[str]:
    """The violated invariants of a partition of ``case`` (an empty list when all hold):

    volume sum = box volume (1e-9 relative), every cell volume > 0, labels sorted and unique, facet closure
    sum_F area_F n_F = 0 per cell (to 1e-9 of the cell's facet area, or to the precision float64 allows for a
    cell that thin: 64 ulp of the largest local coordinate, :func:`local_reach`, over the cell's thickness
    d vol / area), dihedral angles around each interior
    (d-2)-face summing to 2 pi (pi on a box facet, pi/2 on a box (d-2)-face), and ``locate`` agreeing with the sign
    pattern (of W x + c, or of the network) at random points farther than 1e-6 x diagonal from every boundary.
    """
    bad: list[str] = []
    n, d = part.n_cells, case.d
    vols = np.asarray(part.volumes)
    if n < 1 or vols.shape != (n,):
        return [f"{n} cells, volumes of shape {vols.shape}"]
    if not np.all(vols > 0):
        bad.append(f"a cell volume is not positive: min {vols.min():.3g}")
    total, box_volume = float(vols.sum()), case.box_volume
    if not abs(total - box_volume) <= 1e-9 * box_volume:
        bad.append(
            f"volumes sum to {total!r}, box volume {box_volume!r} (rel. {abs(total - box_volume) / box_volume:.2g})"
        )
    labels = list(part.labels)
    if labels != sorted(set(labels)):
        bad.append("labels are not sorted and unique")

    f = part.facets
    cells, areas, normals = np.asarray(f.cells), np.asarray(f.areas), np.asarray(f.normals)
    if not np.all(areas > 0):
        bad.append(f"a facet area is not positive: min {areas.min():.3g}")
    flux = np.zeros((n, d))
    area_sum = np.zeros(n)
    np.add.at(flux, cells[:, 0], areas[:, None] * normals)
    np.add.at(area_sum, cells[:, 0], areas)
    inner = cells[:, 1] >= 0
    np.add.at(flux, cells[inner, 1], -areas[inner, None] * normals[inner])
    np.add.at(area_sum, cells[inner, 1], areas[inner])
    residual = np.linalg.norm(flux, axis=1) / np.maximum(area_sum, np.finfo(float).tiny)
    # 1e-9, or the float64 precision of a cell this thin: its vertices are placed to ~ulp(largest coordinate of the
    # core's local coordinates x - c, at most two box widths per axis: rust/mlgeom-core/src/centred.rs), which is a
    # relative error of ulp / r on its facet areas (r = d vol / area, the inradius of a regular cell)
    reach = local_reach(case.lo, case.hi) + case.scale
    thickness = d * vols / np.maximum(area_sum, np.finfo(float).tiny)
    allowed = 1e-9 + 64 * np.finfo(float).eps * reach / np.maximum(thickness, np.finfo(float).tiny)
    if np.any(residual > allowed):
        i = int(np.argmax(residual / allowed))
        bad.append(f"cell {i} does not close: |sum area n| / sum area = {residual[i]:.3g} (allowed {allowed[i]:.3g})")

    if d >= 2 and part.has_ridges:
        r = part.ridges
        face, ang, rf = np.asarray(r.face), np.asarray(r.angles), np.asarray(r.facets)
        box_face = np.asarray(f.box_face)
        if len(face):
            sums = np.bincount(face, weights=ang)
            counts = np.bincount(face)
            touched: dict[int, set[int]] = {}
            for k, fid in enumerate(face.tolist()):
                for x in rf[k].tolist():
                    if box_face[x] >= 0:
                        touched.setdefault(fid, set()).add(int(box_face[x]))
            for fid in np.flatnonzero(counts).tolist():
                expected = {0: 2 * math.pi, 1: math.pi, 2: math.pi / 2}.get(len(touched.get(fid, ())), None)
                if expected is None or not math.isclose(sums[fid], expected, abs_tol=1e-9 * counts[fid]):
                    bad.append(f"angles around (d-2)-face {fid} sum to {sums[fid]!r}, expected {expected!r}")
                    break

    rng = np.random.default_rng(seed)
    X = rng.uniform(case.lo, case.hi, size=(n_points, d))
    if case.W is not None:
        W, c = case.W, case.c
        norms = np.linalg.norm(W, axis=1)
        nz = norms > 0
        dist = np.min(np.abs(X @ W[nz].T + c[nz]) / norms[nz], axis=1) if nz.any() else np.full(len(X), np.inf)
        pats = (X @ W.T + c) > 0
    else:
        pats, dist, _ = relu_forward(case, X)
    # numpy's patterns and outputs are computed in input coordinates: far from the origin they carry rounding of
    # ~eps |W| |x| (Higham's bound), so points that close to a boundary are not decided by this reference
    eps, reach = float(np.finfo(float).eps), float(np.abs(np.concatenate([case.lo, case.hi])).max())
    keep = dist > 1e-6 * case.scale + 64 * eps * reach * _lipschitz(case)
    got = np.asarray(part.locate(X[keep]))
    index = {lab: i for i, lab in enumerate(labels)}
    want = np.array([index.get("".join("1" if b else "0" for b in p), -2) for p in pats[keep]], dtype=np.int64)
    if not np.array_equal(got, want):
        k = int(np.flatnonzero(got != want)[0])
        missing = want[k] == -2
        bad.append(
            f"locate({X[keep][k].tolist()}) = {got[k]}, but the sign pattern there is "
            f"{''.join('1' if b else '0' for b in pats[keep][k])}"
            + (" (no cell has it)" if missing else f" (cell {want[k]})")
        )
    if case.W is None:
        _, _, out = relu_forward(case, X[keep])
        ev = part.evaluate(X[keep])
        atol = 1e-9 * max(1.0, float(np.abs(out).max(initial=0.0))) + 64 * eps * reach * _lipschitz(case, first=0)
        if not np.allclose(ev, out, rtol=1e-9, atol=atol):
            bad.append("the cells' affine maps do not reproduce the network's output")
    return bad


# --------------------------------------------------------------------------------------------- reference
def compare_reference(part, case: Case, *, deadline: float | None = None) -> list[str]:
    """Differences from the scipy reference (labels, volumes to 1e-7, interior adjacency pairs); hyperplanes only."""
    from reference import partition_reference

    ref = partition_reference(case.W, case.c, case.lo, case.hi, deadline=deadline)
    bad = []
    if list(part.labels) != list(ref.labels):
        bad.append(f"labels differ: {part.n_cells} cells, reference {ref.n_cells}")
        return bad
    vols = np.asarray(part.volumes)
    if not np.allclose(vols, ref.volumes, rtol=1e-7, atol=0):
        bad.append(f"volumes differ by up to {np.max(np.abs(vols - ref.volumes) / ref.volumes):.2g} (relative)")
    cells = np.asarray(part.facets.cells)
    ours = {tuple(p) for p in cells[cells[:, 1] >= 0].tolist()}
    if ours != set(ref.adjacency()):
        bad.append("interior adjacency differs")
    return bad


if __name__ == "__main__":  # pragma: no cover - a listing for humans
    for case in all_cases():
        exact = (
            exact_cell_count(*case.hyperplanes(), case.lo, case.hi) if case.hyperplanes() and case.exact_ok else None
        )
        print(f"{case.family:18s} {case.name:48s} intended={case.intended!s:5s} exact={exact}")
