"""Laplacians of a weighted simplicial complex (paper.md §3), as functions of its boundary and mass
matrices; :class:`~mlgeom_rs.RiemannianComplex` calls them with its own B_k and M_k.

All assembly is sparse (``scipy.sparse``); dense linear algebra only for small eigenproblems. Masses
are diagonal vectors, except the up-mass of ``hodge`` which may be a (dihedral) sparse matrix. A zero
mass is inverted as zero (pseudo-inverse), which decouples that simplex in the random-walk and
symmetric forms.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse
import scipy.sparse.linalg

from .exceptions import InvalidInputError, NumericalError

__all__ = [
    "betti_numbers",
    "extended",
    "graph",
    "hodge",
    "min_eigenvalue",
    "pinv",
    "pinv_sqrt",
    "smallest_eigenpairs",
    "stiffness",
]

FloatArray = npt.NDArray[np.float64]
Sparse = scipy.sparse.csr_array


def pinv(m: FloatArray) -> FloatArray:
    """Entrywise pseudo-inverse of a diagonal: 1/m where m > 0, else 0."""
    m = np.asarray(m, dtype=np.float64)
    return np.divide(1.0, m, out=np.zeros_like(m), where=m > 0)


def pinv_sqrt(m: FloatArray) -> FloatArray:
    """m^{-1/2} where m > 0, else 0."""
    m = np.asarray(m, dtype=np.float64)
    return np.divide(1.0, np.sqrt(np.maximum(m, 0.0)), out=np.zeros_like(m), where=m > 0)


def _diag(v: FloatArray) -> Sparse:
    return scipy.sparse.diags_array(np.asarray(v, dtype=np.float64), format="csr")


def _scale(A: Sparse, left: FloatArray | None = None, right: FloatArray | None = None, copy: bool = False) -> Sparse:
    """diag(left) · A · diag(right) by scaling the stored entries (no sparse products); in place unless ``copy``."""
    A = scipy.sparse.csr_array(A, copy=copy)
    if left is not None:
        A.data *= np.repeat(np.asarray(left, dtype=np.float64), np.diff(A.indptr))
    if right is not None:
        A.data *= np.asarray(right, dtype=np.float64)[A.indices]
    return A


def stiffness(B: Sparse, w: FloatArray | Sparse) -> Sparse:
    """K = B W Bᵀ (W = diag(w) or a sparse matrix); for B = B_1, fᵀKf = Σ_e w_e (f_i − f_j)² (paper.md §3)."""
    if scipy.sparse.issparse(w):
        return scipy.sparse.csr_array(B @ w @ B.T)
    Bt = scipy.sparse.csr_array(B.T, copy=True)
    return scipy.sparse.csr_array(B @ _scale(Bt, left=w))


def hodge(
    Bk: Sparse | None,
    Bk1: Sparse | None,
    m_down: FloatArray | None,
    m: FloatArray,
    m_up: FloatArray | Sparse | None,
    form: Literal["random_walk", "symmetric", "stiffness"],
) -> Sparse:
    """Weighted Hodge Laplacian of degree k from B_k, B_{k+1} and the masses M_{k−1}, M_k, M_{k+1}.

    down = B_kᵀ M_{k−1}⁺ B_k, up = B_{k+1} M_{k+1} B_{k+1}ᵀ;
    random_walk: down·M_k + M_k⁺·up; symmetric: M_k^{1/2}·down·M_k^{1/2} + M_k^{+1/2}·up·M_k^{+1/2};
    stiffness: M_k·down·M_k + up.
    """
    if form not in ("random_walk", "symmetric", "stiffness"):
        raise InvalidInputError(f"unknown form {form!r}")
    n = m.shape[0]
    down = (
        stiffness(scipy.sparse.csr_array(Bk.T), pinv(m_down))
        if Bk is not None and Bk.shape[0] and m_down is not None
        else None
    )
    up = stiffness(Bk1, m_up) if Bk1 is not None and Bk1.shape[1] and m_up is not None else None
    terms = []
    if form == "random_walk":
        if down is not None:
            terms.append(_scale(down, right=m))
        if up is not None:
            terms.append(_scale(up, left=pinv(m)))
    elif form == "symmetric":
        s, si = np.sqrt(np.maximum(m, 0.0)), pinv_sqrt(m)
        if down is not None:
            terms.append(_scale(down, left=s, right=s))
        if up is not None:
            terms.append(_scale(up, left=si, right=si))
    else:
        if down is not None:
            terms.append(_scale(down, left=m, right=m))
        if up is not None:
            terms.append(up)
    if not terms:
        return scipy.sparse.csr_array((n, n), dtype=np.float64)
    out = terms[0] if len(terms) == 1 else scipy.sparse.csr_array(terms[0] + terms[1])
    out.sum_duplicates()
    return out


def graph(
    B1: Sparse | None,
    w: FloatArray,
    m0: FloatArray,
    form: Literal["combinatorial", "random_walk", "symmetric"],
    n0: int,
) -> Sparse:
    """Graph Laplacian D − A = B_1 diag(w) B_1ᵀ, optionally normalised by the vertex masses M_0."""
    if B1 is None or B1.shape[1] == 0:
        L = scipy.sparse.csr_array((n0, n0), dtype=np.float64)
    else:
        L = stiffness(B1, w)
    if form == "combinatorial":
        return L
    if form == "random_walk":
        return _scale(L, left=pinv(m0))
    if form == "symmetric":
        s = pinv_sqrt(m0)
        return _scale(L, left=s, right=s)
    raise InvalidInputError(f"form must be 'combinatorial', 'random_walk' or 'symmetric'; got {form!r}")


def extended(
    L0: Sparse,
    simplices: list[npt.NDArray[np.int64]],
    weights: list[FloatArray],
    alphas: FloatArray,
    centred: bool,
    n0: int,
) -> Sparse:
    """α_0 L0 + Σ_p α_p Σ_σ w_σ Q_σ, with Q_σ the centred clique Laplacian or the author's variant.

    Assembled in one COO pass per dimension: all (a, b) position pairs of every simplex at once.
    """
    coo = L0.tocoo()
    rows: list[npt.NDArray[np.int64]] = [coo.row.astype(np.int64)]
    cols: list[npt.NDArray[np.int64]] = [coo.col.astype(np.int64)]
    vals: list[FloatArray] = [alphas[0] * coo.data]
    for p, (S, w) in enumerate(zip(simplices, weights, strict=True), start=1):
        if S.shape[0] == 0 or alphas[p] == 0.0:
            continue
        size = S.shape[1]
        ga, gb = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        a, b = ga.reshape(-1), gb.reshape(-1)
        same = a == b
        diag_coef = (1.0 - 1.0 / size) if centred else 1.0
        coef = np.where(same, diag_coef, -1.0 / size)  # (size*size,)
        rows.append(S[:, a].reshape(-1))
        cols.append(S[:, b].reshape(-1))
        vals.append((alphas[p] * w[:, None] * coef[None, :]).reshape(-1))
    out = scipy.sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n0, n0))
    out.sum_duplicates()
    return out


def betti_numbers(boundaries: list[Sparse], sizes: list[int], dense_limit: int) -> tuple[int, ...]:
    """β_k = dim ker(B_kᵀB_k + B_{k+1}B_{k+1}ᵀ), cross-checked with n_k − rank B_k − rank B_{k+1}.

    ``boundaries[k]`` is B_k for k = 0..K+1 (B_0 and B_{K+1} empty); ``sizes[k]`` = n_k.
    """
    K = len(sizes) - 1
    if max(sizes) > dense_limit:
        import scipy.sparse.csgraph

        B1 = boundaries[1]
        adj = abs(B1 @ B1.T) if B1.shape[1] else scipy.sparse.csr_array((sizes[0], sizes[0]))
        n_comp = scipy.sparse.csgraph.connected_components(adj, directed=False)[0]
        raise InvalidInputError(
            f"betti() is dense and limited to {dense_limit} simplices per dimension (sizes {tuple(sizes)}); "
            f"beta_0 = {n_comp} by connected components. Use a smaller partition or max_dim"
        )
    ranks = []
    for k in range(K + 2):
        B = boundaries[k]
        ranks.append(int(np.linalg.matrix_rank(B.toarray())) if min(B.shape) > 0 else 0)
    out = []
    for k in range(K + 1):
        Bk, Bk1 = boundaries[k], boundaries[k + 1]
        L = (Bk.T @ Bk + Bk1 @ Bk1.T).toarray() if sizes[k] else np.zeros((0, 0))
        if sizes[k] == 0:
            out.append(0)
            continue
        ev = np.linalg.eigvalsh(L)
        tol = 1e-8 * max(1.0, float(np.abs(ev).max()))
        kernel = int(np.count_nonzero(ev < tol))
        by_rank = sizes[k] - ranks[k] - ranks[k + 1]
        if kernel != by_rank:
            raise NumericalError(
                f"beta_{k}: the Laplacian kernel has dimension {kernel} but the ranks of B_{k}, B_{k + 1} give {by_rank}"
            )
        out.append(kernel)
    return tuple(out)


def smallest_eigenpairs(A: Sparse, n: int, dense_limit: int) -> tuple[FloatArray, FloatArray]:
    """The n smallest eigenpairs of a symmetric PSD matrix: dense ``eigh``, or ``eigsh`` in shift-invert mode
    around a small negative shift (so that the factorised matrix A + δI is positive definite)."""
    size = A.shape[0]
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInputError(f"n must be a positive integer; got {n!r}")
    n = min(int(n), size)
    if size == 0:
        return np.zeros(0), np.zeros((0, 0))
    if size <= dense_limit or n >= size - 1:
        vals, vecs = np.linalg.eigh(A.toarray())
        return vals[:n], vecs[:, :n]
    scale = float(abs(A.diagonal()).mean()) or 1.0
    vals, vecs = scipy.sparse.linalg.eigsh(A.tocsc(), k=n, sigma=-1e-6 * scale, which="LM")
    order = np.argsort(vals)
    return vals[order], vecs[:, order]


def min_eigenvalue(A: Sparse, dense_limit: int = 3000) -> float:
    """The smallest eigenvalue of a symmetric matrix (dense up to ``dense_limit``, else ``eigsh`` 'SA')."""
    size = A.shape[0]
    if size == 0:
        return 0.0
    if size <= dense_limit:
        return float(np.linalg.eigvalsh(A.toarray()).min())
    return float(scipy.sparse.linalg.eigsh(A, k=1, which="SA", return_eigenvectors=False, tol=1e-8)[0])
