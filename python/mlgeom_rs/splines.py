"""Simplicial splines on the cells of a partition, and model refinement (paper.md §4; Gajer & Ravel,
arXiv 2508.02080: "model refinement through extended Laplacians and simplicial splines").

A spline is one function per cell: a constant f_i (``kind="constant"``) or an affine map
f_i(x) = a_i + b_i·(x − c_i) around the cell centroid c_i (``kind="affine"``). It minimises

    Σ_t w_t (y_t − f_{cell(t)}(x_t))² + λ·Pen(f) + Σ_i r_i ‖θ_i − θ_i^prior‖²_{D_i}

* ``penalty="laplacian"``: constant: fᵀK_0f = Σ_e M_1[e](f_i − f_j)² with the complex's own edge masses
  (Lebesgue facet areas or band estimates); affine: Σ_e M_1[e]·[(f_i(m_e) − f_j(m_e))² + ℓ_e²‖b_i − b_j‖²],
  m_e the facet centroid, ℓ_e = ‖c_i − c_j‖. ``"face_jump"``: Σ_F ∫_F (f_i − f_j)² dS with Lebesgue facet
  moments (area, centroid, second moment), plus an optional bending term β Σ_F vol(F)‖b_i − b_j‖²; for
  constants it equals the Lebesgue ``"laplacian"``. ``"extended"``: the extended Laplacian (constants only).
  Any sparse matrix of the right size is accepted too.
* The last term is a ridge of weight r_i = ε (tiny, relative to the data) toward the global weighted
  least-squares fit (mean, or affine fit), plus ``prior_weight`` toward a given per-cell ``prior`` (e.g. the
  model's own predictions). It keeps cells without data determined and leaves the limits exact: λ → 0
  gives the cell means (cell least-squares fits); λ → ∞ the least-squares fit in the penalty's kernel: the
  global weighted mean (constants, connected complex), the global affine fit (affine ``"laplacian"``), or
  the continuous piecewise-affine spline on the partition (affine ``"face_jump"``, paper.md §4); constant
  data (affine data for the affine kinds) are reproduced for every λ; the fit is linear in y for fixed λ.
  D_i = diag(1, ℓ_i², …, ℓ_i²) with ℓ_i = vol(C_i)^{1/d}.

λ = None picks λ by generalized cross-validation, GCV(λ) = N·RSS(λ)/(N − tr H(λ))², tr H = tr(A⁻¹G)
(exact for ≤ 3000 unknowns, else a Hutchinson estimate with 16 fixed Rademacher probes, so the curve is
smooth in λ), on the grid λ_ref·10^{−6, −4, …, 6}, λ_ref = tr G / tr Pen, refined by a bounded scalar search
(about 15 sparse factorizations in all).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse
import scipy.sparse.linalg

from . import _nerve
from ._validate import as_float_array, as_points
from .exceptions import InvalidInputError, NumericalError

if TYPE_CHECKING:
    from .complex import RiemannianComplex
    from .partition import Partition

__all__ = ["RefinedModel", "SimplicialSpline", "facet_moments", "refine"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Exact traces of the hat matrix up to this many unknowns; Hutchinson beyond.
EXACT_TRACE_LIMIT = 3000
#: Rademacher probes of the Hutchinson trace estimate (beyond EXACT_TRACE_LIMIT unknowns).
HUTCHINSON_PROBES = 16
#: Relative weight of the ridge toward the global fit (keeps empty cells determined).
RIDGE = 1e-9


# ------------------------------------------------------------------------------------------- facet moments
def facet_moments(part: Partition) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Moments of the interior facets: (facet ids, areas (F,), centroids (F, d), second central moments (F, d, d)).

    The second moment is S_F = ∫_F (x − c_F)(x − c_F)ᵀ dS. Exact for d ≤ 3 and for box partitions (trees):
    d = 1: 0; d = 2: area³/12·t tᵀ, t the unit tangent; d = 3: fan triangulation of the facet polygon (its
    vertices are the first cell's vertices on the facet plane), Σ_T (A_T/12)(Σ a aᵀ + s sᵀ); boxes: the
    intersection box, area·diag(extent²/12). For d ≥ 4 a documented approximation: area·Cov(vertices)/3
    (exact for parallelotopes). The core reports areas and centroids, not second moments.
    """
    f = part.facets
    ids = np.flatnonzero(f.interior)
    areas = np.asarray(f.areas[ids], dtype=np.float64)
    cent = np.asarray(f.centroids[ids], dtype=np.float64)
    d = part.dim
    S = np.zeros((ids.shape[0], d, d))
    if d == 1 or ids.size == 0:
        return ids, areas, cent, S
    if hasattr(part, "cell_lo"):
        cells = f.cells[ids]
        lo = np.maximum(part.cell_lo[cells[:, 0]], part.cell_lo[cells[:, 1]])
        hi = np.minimum(part.cell_hi[cells[:, 0]], part.cell_hi[cells[:, 1]])  # type: ignore[attr-defined]
        ext = np.maximum(hi - lo, 0.0)
        S[:, np.arange(d), np.arange(d)] = areas[:, None] * ext**2 / 12.0
        return ids, areas, cent, S
    normals = f.normals[ids]
    if d == 2:
        t = np.column_stack([-normals[:, 1], normals[:, 0]])
        S = (areas**3 / 12.0)[:, None, None] * t[:, :, None] * t[:, None, :]
        return ids, areas, cent, S
    if part.n_vertices == 0:
        raise InvalidInputError("facet second moments need the partition's vertices: compute it with vertices=True")
    off = part._vertex_offsets
    coords = part._vertex_coords
    first = f.cells[ids, 0]
    cnt = off[first + 1] - off[first]
    fid = np.repeat(np.arange(ids.shape[0]), cnt)
    pos = np.arange(fid.shape[0]) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    v = coords[np.repeat(off[first], cnt) + pos] - cent[fid]
    on = np.abs(np.einsum("pd,pd->p", v, normals[fid])) <= 10.0 * part.tolerance + 1e-12
    fid, v = fid[on], v[on]
    if d >= 4:
        nv = np.bincount(fid, minlength=ids.shape[0]).astype(np.float64)
        outer = np.einsum("pi,pj->pij", v, v).reshape(fid.shape[0], -1)
        cov = np.stack([np.bincount(fid, weights=outer[:, q], minlength=ids.shape[0]) for q in range(d * d)], axis=1)
        cov_m = cov.reshape(-1, d, d) / np.maximum(nv, 1.0)[:, None, None]
        return ids, areas, cent, areas[:, None, None] * cov_m / 3.0
    # d == 3: sort each polygon's vertices by angle in its plane, then fan-triangulate from the first.
    n = normals[fid]
    axis = np.argmin(np.abs(normals), axis=1)
    e = np.zeros_like(normals)
    e[np.arange(e.shape[0]), axis] = 1.0
    u = np.cross(normals, e)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = np.cross(normals, u)
    ang = np.arctan2(np.einsum("pd,pd->p", v, w[fid]), np.einsum("pd,pd->p", v, u[fid]))
    del n
    order = np.lexsort((ang, fid))
    fid, v = fid[order], v[order]
    starts = np.searchsorted(fid, np.arange(ids.shape[0]))
    pos = np.arange(fid.shape[0]) - starts[fid]
    size = np.bincount(fid, minlength=ids.shape[0])
    tri = np.flatnonzero((pos >= 1) & (pos <= size[fid] - 2))
    a0, a1, a2 = v[starts[fid[tri]]], v[tri], v[tri + 1]
    area_t = 0.5 * np.linalg.norm(np.cross(a1 - a0, a2 - a0), axis=1)
    s = a0 + a1 + a2
    m2 = (area_t / 12.0)[:, None, None] * (
        np.einsum("pi,pj->pij", a0, a0)
        + np.einsum("pi,pj->pij", a1, a1)
        + np.einsum("pi,pj->pij", a2, a2)
        + np.einsum("pi,pj->pij", s, s)
    )
    g = fid[tri]
    flat = m2.reshape(g.shape[0], -1)
    M2 = np.stack([np.bincount(g, weights=flat[:, q], minlength=ids.shape[0]) for q in range(9)], axis=1)
    first_m = np.stack([np.bincount(g, weights=area_t * s[:, q] / 3.0, minlength=ids.shape[0]) for q in range(3)], 1)
    tot = np.bincount(g, weights=area_t, minlength=ids.shape[0])
    shift = np.divide(first_m, tot[:, None], out=np.zeros_like(first_m), where=tot[:, None] > 0)
    S = M2.reshape(-1, 3, 3) - tot[:, None, None] * np.einsum("pi,pj->pij", shift, shift)
    return ids, areas, cent, S


# ------------------------------------------------------------------------------------------- assembly
def _scatter(blocks: FloatArray, index: IntArray, size: int) -> scipy.sparse.csr_array:
    """Σ over rows of local matrices blocks[r] (q, q) placed at global indices index[r] (q,)."""
    q = index.shape[1]
    rows = np.repeat(index, q, axis=1).reshape(-1)
    cols = np.tile(index, (1, q)).reshape(-1)
    out = scipy.sparse.csr_array((blocks.reshape(-1), (rows, cols)), shape=(size, size))
    out.sum_duplicates()
    return out


def _pair_blocks(psi_i: FloatArray, psi_j: FloatArray, weight: FloatArray) -> FloatArray:
    """weight·v vᵀ for v = (ψ_i, −ψ_j): the local matrix of a squared jump (f_i − f_j)(x)² at one point."""
    v = np.concatenate([psi_i, -psi_j], axis=1)
    out: FloatArray = weight[:, None, None] * v[:, :, None] * v[:, None, :]
    return out


class SimplicialSpline:
    """A simplicial spline on the cells of a :class:`~mlgeom_rs.RiemannianComplex` (paper.md §4).

    Follows scikit-learn's estimator conventions (``get_params``/``set_params``, ``fit`` returns self,
    ``predict``, ``score`` = R²); fitted attributes end with an underscore. See the module notes for the
    objective.

    Parameters
    ----------
    complex : RiemannianComplex
        Built on a :class:`~mlgeom_rs.Partition` (points are located in its cells).
    kind : {"constant", "affine"}, default "constant"
    lam : float, optional
        Smoothing weight λ ≥ 0; None chooses it by GCV.
    penalty : {"laplacian", "face_jump", "extended"} or sparse matrix, default "laplacian"
    dim_weights : sequence of float, optional
        α_p of the extended Laplacian (``penalty="extended"``), default (1, 1, …) up to max_dim.
    bending : float, default 0.0
        β of the bending term Σ_F vol(F)‖b_i − b_j‖² (``kind="affine"``, ``penalty="face_jump"``).
    prior_weight : float, default 1.0
        Weight of the ``prior`` passed to :meth:`fit`, in data points per cell.

    Attributes
    ----------
    lam_ : float
        The λ used. ``gcv_`` : (lams, scores) evaluated when λ was chosen, else None.
    values_ : ndarray (n_0, q)
        Constant splines: the value per vertex of the complex. Affine: the value at the cell centroid.
    gradients_ : ndarray (n_0, q, d)
        Affine splines: the gradient per cell (zeros for constants).
    n_points_ : ndarray (n_0,)
        Training points per cell.
    """

    def __init__(
        self,
        complex: RiemannianComplex,
        kind: Literal["constant", "affine"] = "constant",
        lam: float | None = None,
        penalty: Literal["laplacian", "face_jump", "extended"] | scipy.sparse.sparray = "laplacian",
        dim_weights: npt.ArrayLike | None = None,
        bending: float = 0.0,
        prior_weight: float = 1.0,
    ) -> None:
        self.complex = complex
        self.kind = kind
        self.lam = lam
        self.penalty = penalty
        self.dim_weights = dim_weights
        self.bending = bending
        self.prior_weight = prior_weight

    # -- scikit-learn protocol ------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> SimplicialSpline:
        """Set constructor parameters; returns self (scikit-learn convention)."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise InvalidInputError(f"invalid parameter {key!r} for SimplicialSpline; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "complex")
        return f"SimplicialSpline({args})"

    # -- fitting --------------------------------------------------------------------------------------
    def _check(self) -> tuple[Partition, int, int]:
        from .complex import RiemannianComplex
        from .partition import Partition

        cx = self.complex
        if not isinstance(cx, RiemannianComplex):
            raise InvalidInputError(f"complex must be a RiemannianComplex; got {type(cx).__name__}")
        if not isinstance(cx.partition, Partition):
            raise InvalidInputError("splines need a complex built on a Partition (data cells cannot locate new points)")
        if self.kind not in ("constant", "affine"):
            raise InvalidInputError(f"kind must be 'constant' or 'affine'; got {self.kind!r}")
        p = 1 if self.kind == "constant" else cx.dim + 1
        return cx.partition, p, cx.shape[0]

    def _vertices(self, X: FloatArray) -> IntArray:
        """Vertex of the complex containing each point (raises outside the box or in a dropped cell)."""
        part = self.complex.partition
        cells = part.locate(X)  # type: ignore[union-attr]
        if (cells < 0).any():
            k = int(np.flatnonzero(cells < 0)[0])
            raise InvalidInputError(
                f"{int((cells < 0).sum())} points lie outside the box {part.box!r} (first: row {k}, {X[k].tolist()})"
            )
        kept = self.complex.cells
        if kept.shape[0] == part.n_cells:
            return cells
        v = np.searchsorted(kept, cells)
        bad = (v >= kept.shape[0]) | (kept[np.minimum(v, kept.shape[0] - 1)] != cells)
        if bad.any():
            raise InvalidInputError("some points lie in cells that the complex dropped (empty='drop')")
        return v

    def _design(self, X: FloatArray, verts: IntArray, p: int, n0: int) -> scipy.sparse.csr_array:
        N = X.shape[0]
        if p == 1:
            return scipy.sparse.csr_array((np.ones(N), (np.arange(N), verts)), shape=(N, n0))
        c = self._centres()[verts]
        phi = np.column_stack([np.ones(N), X - c])
        rows = np.repeat(np.arange(N), p)
        cols = (verts[:, None] * p + np.arange(p)).reshape(-1)
        return scipy.sparse.csr_array((phi.reshape(-1), (rows, cols)), shape=(N, n0 * p))

    def _centres(self) -> FloatArray:
        return np.asarray(self.complex.partition.centroids)[self.complex.cells]  # type: ignore[union-attr]

    def _scales(self) -> FloatArray:
        vol = np.asarray(self.complex.partition.volumes)[self.complex.cells]  # type: ignore[union-attr]
        out: FloatArray = np.maximum(vol, 1e-300) ** (1.0 / self.complex.dim)
        return out

    def _penalty(self, p: int, n0: int) -> scipy.sparse.csr_array:
        cx, pen = self.complex, self.penalty
        size = n0 * p
        if scipy.sparse.issparse(pen):
            P = scipy.sparse.csr_array(pen)
            if P.shape != (size, size):
                raise InvalidInputError(f"a penalty matrix must be {size} x {size}; got {P.shape}")
            return P
        if pen == "extended":
            if p != 1:
                raise InvalidInputError("penalty='extended' is defined for kind='constant'")
            alphas = self.dim_weights if self.dim_weights is not None else np.ones(cx.max_dim + 1)
            return cx.extended_laplacian(alphas)
        if pen == "laplacian":
            if p == 1:
                return cx.hodge_laplacian(0, "stiffness") if cx.max_dim >= 1 else scipy.sparse.csr_array((n0, n0))
            return self._laplacian_affine(n0)
        if pen == "face_jump":
            return self._face_jump(p, n0)
        raise InvalidInputError(f"penalty must be 'laplacian', 'face_jump', 'extended' or a sparse matrix; got {pen!r}")

    def _cell_to_vertex(self) -> IntArray:
        part = self.complex.partition
        out = np.full(part.n_cells, -1, dtype=np.int64)
        out[self.complex.cells] = np.arange(self.complex.cells.shape[0])
        return out

    def _face_jump(self, p: int, n0: int) -> scipy.sparse.csr_array:
        part = self.complex.partition
        f = part.facets  # type: ignore[union-attr]
        c2v = self._cell_to_vertex()
        if p == 1:
            inner = np.flatnonzero(f.interior)
            vi, vj = c2v[f.cells[inner, 0]], c2v[f.cells[inner, 1]]
            ok = (vi >= 0) & (vj >= 0)
            one = np.ones((int(ok.sum()), 1))
            blocks = _pair_blocks(one, one, f.areas[inner][ok])
            return _scatter(blocks, np.column_stack([vi[ok], vj[ok]]), n0)
        ids, areas, cent, S2 = facet_moments(part)  # type: ignore[arg-type]
        vi, vj = c2v[f.cells[ids, 0]], c2v[f.cells[ids, 1]]
        ok = (vi >= 0) & (vj >= 0)
        vi, vj, areas, cent, S2 = vi[ok], vj[ok], areas[ok], cent[ok], S2[ok]
        c = self._centres()
        ei, ej = cent - c[vi], cent - c[vj]
        psi_i = np.column_stack([np.ones(vi.shape[0]), ei])
        psi_j = np.column_stack([np.ones(vj.shape[0]), ej])
        blocks = _pair_blocks(psi_i, psi_j, areas)  # area × jump at the centroid
        d = self.complex.dim
        sec = np.zeros((vi.shape[0], 2 * p, 2 * p))  # + ∫ u uᵀ on the gradient parts: [[S, -S], [-S, S]]
        gi, gj = slice(1, p), slice(p + 1, 2 * p)
        sec[:, gi, gi], sec[:, gj, gj] = S2, S2
        sec[:, gi, gj], sec[:, gj, gi] = -S2, -S2
        blocks = blocks + sec
        beta = float(self.bending)
        if beta:
            eye = np.eye(d)
            bend = np.zeros_like(sec)
            bend[:, gi, gi], bend[:, gj, gj] = eye, eye
            bend[:, gi, gj], bend[:, gj, gi] = -eye, -eye
            blocks = blocks + beta * areas[:, None, None] * bend
        index = np.concatenate([vi[:, None] * p + np.arange(p), vj[:, None] * p + np.arange(p)], axis=1)
        return _scatter(blocks, index, n0 * p)

    def _laplacian_affine(self, n0: int) -> scipy.sparse.csr_array:
        cx = self.complex
        d, p = cx.dim, cx.dim + 1
        if cx.max_dim < 1:
            return scipy.sparse.csr_array((n0 * p, n0 * p))
        S1 = cx.simplices(1)
        w = cx.mass_vector(1)
        keep = w > 0
        S1, w = S1[keep], w[keep]
        part = cx.partition
        cells = cx.cells[S1]
        pairs, facet_of, _ = cx._facet_pairs
        fid = facet_of[_nerve.lookup_rows(pairs, cells, part.n_cells)]
        mid = part.facets.centroids[fid]  # type: ignore[union-attr]
        c = self._centres()
        vi, vj = S1[:, 0], S1[:, 1]
        psi_i = np.column_stack([np.ones(vi.shape[0]), mid - c[vi]])
        psi_j = np.column_stack([np.ones(vj.shape[0]), mid - c[vj]])
        blocks = _pair_blocks(psi_i, psi_j, w)
        ell2 = np.einsum("pd,pd->p", c[vj] - c[vi], c[vj] - c[vi])
        gi, gj = slice(1, p), slice(p + 1, 2 * p)
        eye = np.eye(d)
        grad = np.zeros_like(blocks)
        grad[:, gi, gi], grad[:, gj, gj] = eye, eye
        grad[:, gi, gj], grad[:, gj, gi] = -eye, -eye
        blocks = blocks + (w * ell2)[:, None, None] * grad
        index = np.concatenate([vi[:, None] * p + np.arange(p), vj[:, None] * p + np.arange(p)], axis=1)
        return _scatter(blocks, index, n0 * p)

    def _prior_coefs(self, prior: Any, q: int, p: int, n0: int) -> FloatArray:
        """A per-cell prior as centred coefficients (n0, p, q): values (n_cells[, q]) or AffineMaps-like pairs."""
        c = self._centres()
        cells = self.complex.cells
        if isinstance(prior, tuple) and len(prior) == 2:  # (jacobians (n, q, d), offsets (n, q))
            jac = as_float_array(prior[0], "prior jacobians")[cells]
            off = as_float_array(prior[1], "prior offsets")[cells]
            jac = jac.reshape(n0, q, -1)
            off = off.reshape(n0, q)
            value = off + np.einsum("nqd,nd->nq", jac, c)
            out = np.zeros((n0, p, q))
            out[:, 0, :] = value
            if p > 1:
                out[:, 1:, :] = np.transpose(jac, (0, 2, 1))
            return out
        vals = as_float_array(prior, "prior")
        if vals.shape[0] != self.complex.partition.n_cells:
            raise InvalidInputError(f"prior needs one row per cell of the partition; got shape {vals.shape}")
        vals = vals[cells].reshape(n0, q)
        out = np.zeros((n0, p, q))
        out[:, 0, :] = vals
        return out

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
        prior: Any = None,
    ) -> SimplicialSpline:
        """Fit the spline to points ``X`` (N, d) and targets ``y`` (N,) or (N, q).

        ``prior``: per-cell values (n_cells,) or (n_cells, q), or an ``(jacobians, offsets)`` pair of per-cell
        affine maps (e.g. a model's ``affine_maps``), pulled toward with weight ``prior_weight``.
        """
        part, p, n0 = self._check()
        pts = as_points(X, part.dim, "X")
        Y = as_float_array(y, "y")
        if Y.ndim not in (1, 2) or Y.shape[0] != pts.shape[0]:
            raise InvalidInputError(f"y must have shape ({pts.shape[0]},) or ({pts.shape[0]}, q); got {Y.shape}")
        self._y_ndim = Y.ndim
        Y = Y.reshape(pts.shape[0], -1)
        N, q = Y.shape
        if N == 0:
            raise InvalidInputError("X has no rows")
        w = np.ones(N) if sample_weight is None else as_float_array(sample_weight, "sample_weight").reshape(-1)
        if w.shape[0] != N or (w < 0).any() or w.sum() <= 0:
            raise InvalidInputError("sample_weight must be non-negative, one per row of X, not all zero")
        w = w * (N / w.sum())
        verts = self._vertices(pts)
        Phi = self._design(pts, verts, p, n0)
        WPhi = Phi.multiply(w[:, None]).tocsr()
        G = (Phi.T @ WPhi).tocsr()
        R = np.asarray(WPhi.T @ Y)
        P = self._penalty(p, n0).tocsr()

        # Ridge toward the global weighted least-squares fit (and the user's prior).
        if p == 1:
            glob = (w @ Y) / w.sum()
            target = np.broadcast_to(glob, (n0, 1, q)).copy()
        else:
            A1 = np.column_stack([np.ones(N), pts])
            coef, *_ = np.linalg.lstsq(A1 * np.sqrt(w)[:, None], Y * np.sqrt(w)[:, None], rcond=None)
            c = self._centres()
            target = np.zeros((n0, p, q))
            target[:, 0, :] = coef[0] + c @ coef[1:]
            target[:, 1:, :] = coef[1:][None, :, :]
        eps = RIDGE * float(G.diagonal().sum()) / max(n0, 1)
        ridge = np.full(n0, eps)
        if prior is not None:
            nu = float(self.prior_weight)
            if nu < 0:
                raise InvalidInputError(f"prior_weight must be >= 0; got {nu}")
            pc = self._prior_coefs(prior, q, p, n0)
            target = (eps * target + nu * pc) / (eps + nu) if eps + nu > 0 else target
            ridge = ridge + nu
        scale = np.ones((n0, p))
        if p > 1:
            scale[:, 1:] = (self._scales() ** 2)[:, None]
        rdiag = (ridge[:, None] * scale).reshape(-1)
        Rm = scipy.sparse.diags_array(rdiag, format="csr")
        rhs = R + (rdiag[:, None] * target.reshape(n0 * p, q))
        base = (G + Rm).tocsc()

        lam = self.lam
        self.gcv_: tuple[FloatArray, FloatArray] | None = None
        if lam is None:
            lam = self._gcv(base, P, G, rhs, Phi, Y, w)
        else:
            lam = float(lam)
            if not lam >= 0:
                raise InvalidInputError(f"lam must be >= 0 or None; got {lam}")
        theta = self._solve(base, P, lam, rhs)[0]
        self.lam_ = float(lam)
        self._theta = theta.reshape(n0, p, q)
        self.n_points_ = np.bincount(verts, weights=np.ones(N), minlength=n0)
        self.values_ = self._theta[:, 0, :].copy()
        self.gradients_ = (
            np.zeros((n0, q, part.dim)) if p == 1 else np.transpose(self._theta[:, 1:, :], (0, 2, 1)).copy()
        )
        self.n_features_in_ = part.dim
        return self

    @staticmethod
    def _solve(
        base: scipy.sparse.csc_array,
        P: scipy.sparse.csr_array,
        lam: float,
        rhs: FloatArray,
    ) -> tuple[FloatArray, Any]:
        A = (base + lam * P).tocsc()
        try:
            lu = scipy.sparse.linalg.splu(A)
        except RuntimeError as exc:  # singular
            raise NumericalError(f"the spline system is singular at lam={lam:g}: {exc}") from exc
        return lu.solve(rhs), lu

    def _gcv(self, base: Any, P: Any, G: Any, rhs: FloatArray, Phi: Any, Y: FloatArray, w: FloatArray) -> float:
        from scipy.optimize import minimize_scalar

        N = Y.shape[0]
        size = G.shape[0]
        trP = float(P.diagonal().sum())
        if trP <= 0:
            return 0.0
        ref = float(G.diagonal().sum()) / trP
        rng = np.random.default_rng(0)
        probes = rng.choice([-1.0, 1.0], size=(size, HUTCHINSON_PROBES)) if size > EXACT_TRACE_LIMIT else None
        rows = np.flatnonzero(np.diff(G.tocsr().indptr) > 0)

        def score(log_lam: float) -> float:
            lam = ref * 10.0**log_lam
            theta, lu = self._solve(base, P, lam, rhs)
            resid = Y - Phi @ theta
            rss = float(np.einsum("t,tq,tq->", w, resid, resid))
            if probes is None:
                E = np.zeros((size, rows.shape[0]))
                E[rows, np.arange(rows.shape[0])] = 1.0
                Z = lu.solve(E)  # columns of A^-1 for the rows where G is nonzero
                tr = float(G[rows].multiply(Z.T).sum())
            else:
                tr = float(np.einsum("ij,ij->", probes, lu.solve(G @ probes)) / probes.shape[1])
            denom = (1.0 - tr / N) ** 2
            return np.inf if denom <= 1e-12 else (rss / N) / denom

        grid = np.arange(-6.0, 6.01, 2.0)  # λ / λ_ref = 1e-6 .. 1e6, then a bounded search around the best
        scores = np.array([score(g) for g in grid])
        i = int(np.argmin(scores))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.shape[0] - 1)]
        best, best_score = grid[i], scores[i]
        if hi > lo:
            res = minimize_scalar(score, bounds=(lo, hi), method="bounded", options={"xatol": 0.05, "maxiter": 10})
            if res.fun < best_score:
                best, best_score = float(res.x), float(res.fun)
        self.gcv_ = (ref * 10.0**grid, scores)
        return float(ref * 10.0**best)

    # -- prediction -----------------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "_theta"):
            raise InvalidInputError("this SimplicialSpline is not fitted yet; call fit(X, y) first")

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """The spline at each row of ``X`` (N, d): (N,) for 1-D targets, else (N, q)."""
        self._fitted()
        part, p, n0 = self._check()
        pts = as_points(X, part.dim, "X")
        verts = self._vertices(pts)
        out = np.asarray(self._design(pts, verts, p, n0) @ self._theta.reshape(n0 * p, -1))
        return out[:, 0] if self._y_ndim == 1 else out

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None) -> float:
        """Coefficient of determination R² (averaged uniformly over outputs), as scikit-learn's regressors."""
        pred = self.predict(X).reshape(np.asarray(X).shape[0], -1)
        Y = as_float_array(y, "y").reshape(pred.shape[0], -1)
        w = np.ones(Y.shape[0]) if sample_weight is None else as_float_array(sample_weight, "sample_weight")
        mean = (w @ Y) / w.sum()
        ss_res = w @ (Y - pred) ** 2
        ss_tot = w @ (Y - mean) ** 2
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res > 0, 0.0, 1.0))
        return float(np.mean(r2))


# ------------------------------------------------------------------------------------------- refinement
class RefinedModel:
    """A trained model's partition with a simplicial spline fitted on it; returned by :func:`refine`.

    ``predict`` gives values (regression) or classes (the argmax of the smoothed class indicators);
    ``predict_proba`` the smoothed indicators clipped to [0, 1] and renormalised; ``score`` R² or accuracy.
    """

    def __init__(
        self,
        partition: Partition,
        complex: RiemannianComplex,
        spline: SimplicialSpline,
        classes: npt.NDArray[Any] | None,
    ) -> None:
        self.partition_ = partition
        self.complex_ = complex
        self.spline_ = spline
        self.classes_ = classes

    @property
    def lam_(self) -> float:
        return self.spline_.lam_

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        if self.classes_ is None:
            raise InvalidInputError("predict_proba is for classifiers")
        P = np.clip(self.spline_.predict(X).reshape(np.asarray(X).shape[0], -1), 0.0, 1.0)
        s = P.sum(axis=1, keepdims=True)
        out: FloatArray = np.divide(P, s, out=np.full_like(P, 1.0 / P.shape[1]), where=s > 0)
        return out

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        if self.classes_ is None:
            return self.spline_.predict(X)
        raw = self.spline_.predict(X).reshape(np.asarray(X).shape[0], -1)
        out: npt.NDArray[Any] = self.classes_[np.argmax(raw, axis=1)]
        return out

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        if self.classes_ is None:
            return self.spline_.score(X, y)
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def __repr__(self) -> str:
        return f"RefinedModel(n_cells={self.partition_.n_cells}, lam={self.spline_.lam_:.3g}, spline={self.spline_!r})"


def refine(
    model: Any,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    box: Any = None,
    *,
    lam: float | None = None,
    kind: Literal["constant", "affine"] = "constant",
    penalty: Literal["laplacian", "face_jump", "extended"] = "laplacian",
    nerve: Literal["adjacency", "full"] = "adjacency",
    measure: Literal["lebesgue", "data"] = "lebesgue",
    model_weight: float = 0.0,
    **partition_options: Any,
) -> RefinedModel:
    """Smooth a trained model's predictions over its own partition with a simplicial spline (paper.md §4).

    The model's cells (:func:`mlgeom_rs.partition`) become the vertices of a :class:`RiemannianComplex`;
    a :class:`SimplicialSpline` is fitted to ``(X, y)`` on them (λ by GCV when ``lam`` is None), so each
    cell's value borrows strength from its neighbours across shared facets. Classifiers are smoothed as
    class indicators (one column per class of ``model.classes_``). ``model_weight`` > 0 also pulls every
    cell toward the model's own prediction there (class probabilities or values; the cell's affine map for
    ``kind="affine"`` on an affine model), worth that many data points per cell.

    ``box`` defaults to ``Box.from_data(X)``; ``partition_options`` go to :func:`mlgeom_rs.partition`.
    """
    from .box import Box
    from .complex import RiemannianComplex
    from .models import partition as model_partition

    n_features = getattr(model, "n_features_in_", None)
    pts = as_points(X, int(n_features) if n_features is not None else int(np.asarray(X).shape[1]), "X")
    dom = Box.from_data(pts) if box is None else box
    part = model_partition(model, dom, **partition_options)
    classes = getattr(part, "classes", None)
    yy = np.asarray(y)
    if classes is not None:
        classes = np.asarray(classes)
        idx = np.searchsorted(classes, yy)
        if (idx >= classes.shape[0]).any() or (classes[np.minimum(idx, classes.shape[0] - 1)] != yy).any():
            raise InvalidInputError("y holds labels that are not among the model's classes_")
        target = np.zeros((yy.shape[0], classes.shape[0]))
        target[np.arange(yy.shape[0]), idx] = 1.0
    else:
        target = as_float_array(yy, "y")
    cx = RiemannianComplex(
        part,
        measure=measure,
        nerve=nerve,
        max_dim=2 if penalty == "extended" else 1,
        X=pts if measure == "data" else None,
    )
    spline = SimplicialSpline(cx, kind=kind, lam=lam, penalty=penalty, prior_weight=float(model_weight))
    prior = _model_prior(model, part, classes, kind) if model_weight > 0 else None
    spline.fit(pts, target, prior=prior)
    return RefinedModel(part, cx, spline, classes)


def _model_prior(model: Any, part: Any, classes: Any, kind: str) -> Any:
    """The model's own per-cell prediction, as the spline's prior."""
    if classes is not None:
        proba = getattr(part, "probabilities", None)
        if isinstance(proba, np.ndarray):
            return proba
        if hasattr(model, "predict_proba"):
            return np.asarray(model.predict_proba(part.interior_points))
        preds = np.asarray(part.predictions)
        return (preds[:, None] == classes[None, :]).astype(np.float64)
    if kind == "affine" and hasattr(part, "affine_maps"):
        return tuple(part.affine_maps)
    return np.asarray(part.predictions, dtype=np.float64)
