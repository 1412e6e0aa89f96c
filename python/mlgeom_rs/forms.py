"""Through the layers of a ReLU network: pulled-back forms, metrics and volumes on data cells (paper.md §7).

With h_0 = x and h_l = ReLU(W_l h_{l-1} + b_l), every layer is affine on the cell of an activation
pattern s = (s_1, ..., s_l): with D_l = diag(s_l),

    h_l = J_l x + c_l,   J_l = D_l W_l J_{l-1},   c_l = D_l (W_l c_{l-1} + b_l),   J_0 = I, c_0 = 0.

The pre-activation z_{l,k} = a_{l,k}·x + (W_l c_{l-1} + b_l)_k pulls the 1-form dz_{l,k} back to
a_{l,k} = (W_l J_{l-1})_k, the metric of R^{w_l} back to g = J_l^T J_l, its volume form to the factor
sqrt(det g), and a constant k-form ω on R^{w_l} to (J_l^* ω)(v_1..v_k) = ω(J_l v_1, ..., J_l v_k),
whose coefficients are the k×k minors of J_l (Gajer & Ravel, arXiv 2508.02080: "a differential forms
approach that tracks geometric structure through layers via pullback operations, making computations
tractable by focusing on data-containing cells").

:class:`LayerTrace` groups the data by the patterns of layers 1..l for every l, so the cells form a
lineage tree (each cell of layer l lies in one cell of layer l-1), and evaluates the formulas above
per cell, batched over cells with numpy (stacked matrix products, parents shared), never per point.
:class:`ConstantForm` is a constant k-form, stored by its coefficients on sorted index k-tuples.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._format import format_table
from ._validate import as_float_array, as_points
from .exceptions import InvalidInputError, TooManyCellsError
from .partition import _readonly

__all__ = ["ConstantForm", "LayerCells", "LayerTrace", "TraceSummary", "pullback_form"]

#: float64 entries per batched block of Jacobians (2^24 = 128 MiB); bounds the memory of batched calls.
CHUNK_ENTRIES = 1 << 24
#: Largest number of k×k minors a pullback may evaluate (rows of ω times output k-tuples).
MAX_MINORS = 10_000_000

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


# ----------------------------------------------------------------------------------------- constant forms
def _combinations(n: int, k: int) -> I64:
    """All sorted k-tuples of range(n) in lexicographic order, int64 (C(n, k), k)."""
    count = math.comb(n, k)
    if count > MAX_MINORS:
        raise TooManyCellsError(
            f"a {k}-form on R^{n} has {count} coefficients (more than MAX_MINORS = {MAX_MINORS}); "
            "use a lower degree or a smaller layer"
        )
    out = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(n), k)), dtype=np.int64)
    return out.reshape(count, k)


class ConstantForm:
    """A constant differential k-form on R^n: ω = Σ_I ω_I dx_{i_1} ∧ ... ∧ dx_{i_k}.

    Stored sparsely: ``indices`` (m, k) are strictly increasing index tuples, ``coefficients`` (m,)
    the ω_I. Build one with :meth:`from_dict` (any order, with the sign of the sorting permutation),
    :meth:`volume` (dx_0 ∧ ... ∧ dx_{n-1}) or :meth:`from_dense` (coefficients on all sorted tuples
    in lexicographic order, the order :meth:`to_dense` returns).
    """

    __slots__ = ("_coefficients", "_dim", "_indices")

    def __init__(self, dim: int, indices: npt.ArrayLike, coefficients: npt.ArrayLike) -> None:
        if int(dim) != dim or dim < 0:
            raise InvalidInputError(f"dim must be a non-negative integer; got {dim!r}")
        dim = int(dim)
        idx = np.asarray(indices, dtype=np.int64)
        coef = as_float_array(coefficients, "coefficients").reshape(-1)
        if idx.ndim != 2 or idx.shape[0] != coef.shape[0]:
            raise InvalidInputError(
                f"indices must be (m, k) with one row per coefficient ({coef.shape[0]}); got shape {idx.shape}"
            )
        if idx.shape[1] > dim:
            raise InvalidInputError(f"a {idx.shape[1]}-form on R^{dim} is zero; the degree must be at most {dim}")
        if idx.size and (idx.min() < 0 or idx.max() >= dim):
            raise InvalidInputError(f"indices must lie in 0..{dim - 1}")
        if idx.shape[1] > 1 and np.any(np.diff(idx, axis=1) <= 0):
            raise InvalidInputError(
                "every index tuple must be strictly increasing; use ConstantForm.from_dict for unsorted tuples"
            )
        if np.unique(idx, axis=0).shape[0] != idx.shape[0]:
            raise InvalidInputError("index tuples must be distinct; use ConstantForm.from_dict to sum repeated ones")
        self._dim = dim
        self._indices = _readonly(np.ascontiguousarray(idx))
        self._coefficients = _readonly(coef.copy())

    @classmethod
    def from_dict(cls, terms: Mapping[Sequence[int], float], dim: int, *, degree: int | None = None) -> ConstantForm:
        """``{(i_1, ..., i_k): c}`` → Σ c dx_{i_1} ∧ ... ∧ dx_{i_k}.

        Tuples may be in any order (sorted with the sign of the permutation); a repeated index makes
        the term zero; equal tuples add up. ``degree`` is needed only for an empty dict.
        """
        degrees = {len(tuple(key)) for key in terms}
        if len(degrees) > 1:
            raise InvalidInputError(f"all index tuples must have the same length (the degree); got lengths {degrees}")
        k = degrees.pop() if degrees else degree
        if k is None:
            raise InvalidInputError("give degree= for an empty form")
        if degree is not None and degree != k:
            raise InvalidInputError(f"degree={degree} but the index tuples have length {k}")
        acc: dict[tuple[int, ...], float] = {}
        for key, value in terms.items():
            tup = tuple(int(i) for i in key)
            if len(set(tup)) < len(tup):
                continue
            order = np.argsort(tup)
            sign = _permutation_sign(order)
            sorted_key = tuple(tup[j] for j in order)
            acc[sorted_key] = acc.get(sorted_key, 0.0) + sign * float(value)
        indices = np.array(sorted(acc), dtype=np.int64).reshape(len(acc), k)
        coefs = np.array([acc[tuple(row)] for row in indices.tolist()], dtype=np.float64)
        return cls(dim, indices, coefs)

    @classmethod
    def volume(cls, dim: int) -> ConstantForm:
        """The volume form dx_0 ∧ ... ∧ dx_{dim-1} of R^dim."""
        return cls(dim, np.arange(dim, dtype=np.int64).reshape(1, dim), [1.0])

    @classmethod
    def from_dense(cls, dim: int, degree: int, coefficients: npt.ArrayLike) -> ConstantForm:
        """Coefficients on every sorted ``degree``-tuple of range(dim), in lexicographic order."""
        idx = _combinations(dim, degree)
        coef = as_float_array(coefficients, "coefficients").reshape(-1)
        if coef.shape[0] != idx.shape[0]:
            raise InvalidInputError(f"a {degree}-form on R^{dim} has {idx.shape[0]} coefficients; got {coef.shape[0]}")
        return cls(dim, idx, coef)

    @property
    def dim(self) -> int:
        """n: the form lives on R^n."""
        return self._dim

    @property
    def degree(self) -> int:
        """k."""
        return int(self._indices.shape[1])

    @property
    def indices(self) -> I64:
        """int64 (m, k), strictly increasing rows."""
        return self._indices

    @property
    def coefficients(self) -> F64:
        """float64 (m,)."""
        return self._coefficients

    def to_dict(self) -> dict[tuple[int, ...], float]:
        """The nonzero coefficients as ``{index tuple: value}``."""
        return {
            tuple(row): float(c)
            for row, c in zip(self._indices.tolist(), self._coefficients.tolist(), strict=True)
            if c
        }

    def to_dense(self) -> F64:
        """Coefficients on all C(n, k) sorted tuples, in lexicographic order."""
        all_idx = _combinations(self._dim, self.degree)
        out = np.zeros(all_idx.shape[0])
        if self._indices.shape[0]:
            pos = _tuple_positions(all_idx, self._indices)
            out[pos] = self._coefficients
        return out

    def __call__(self, *vectors: npt.ArrayLike) -> float:
        """ω(v_1, ..., v_k) = Σ_I ω_I det(V[I, :]), V = [v_1 ... v_k] (n × k)."""
        if len(vectors) != self.degree:
            raise InvalidInputError(f"a {self.degree}-form takes {self.degree} vectors; got {len(vectors)}")
        if not vectors:
            return float(self._coefficients.sum())
        V = np.stack([as_float_array(v, "vector").reshape(-1) for v in vectors], axis=1)
        if V.shape[0] != self._dim:
            raise InvalidInputError(f"vectors must have length {self._dim}; got {V.shape[0]}")
        return float(self._coefficients @ np.linalg.det(V[self._indices]))

    def pullback(self, jacobian: npt.ArrayLike) -> ConstantForm:
        """f^*ω for an affine f(x) = J x + c, J (n × d): (f^*ω)_K = Σ_I ω_I det J[I, K] (Cauchy–Binet minors).

        The result is a k-form on R^d with a coefficient on every sorted k-tuple K of range(d).
        Pullbacks compose contravariantly: (f∘g)^* ω = g^*(f^* ω).
        """
        J = as_float_array(jacobian, "jacobian")
        if J.ndim != 2 or J.shape[0] != self._dim:
            raise InvalidInputError(f"the Jacobian must be ({self._dim}, d) for a form on R^{self._dim}; got {J.shape}")
        out_idx = _combinations(J.shape[1], self.degree)
        coefs = _pullback_coefficients(self, J[None])[0]
        return ConstantForm(J.shape[1], out_idx, coefs)

    def __repr__(self) -> str:
        terms = " + ".join(
            f"{c:.6g} dx{'^dx'.join(str(i) for i in row)}" if row else f"{c:.6g}"
            for row, c in list(self.to_dict().items())[:6]
        )
        more = " + ..." if len(self.to_dict()) > 6 else ""
        return f"ConstantForm(dim={self._dim}, degree={self.degree}: {terms or '0'}{more})"


def pullback_form(omega: ConstantForm | Mapping[Sequence[int], float], jacobian: npt.ArrayLike) -> ConstantForm:
    """f^*ω for f(x) = J x + c; see :meth:`ConstantForm.pullback`. A dict is read with :meth:`ConstantForm.from_dict`."""
    J = as_float_array(jacobian, "jacobian")
    form = omega if isinstance(omega, ConstantForm) else ConstantForm.from_dict(omega, J.shape[0])
    return form.pullback(J)


def _permutation_sign(order: npt.NDArray[np.intp]) -> float:
    seen = np.zeros(len(order), dtype=bool)
    sign = 1.0
    for start in range(len(order)):
        length = 0
        j = start
        while not seen[j]:
            seen[j] = True
            j = int(order[j])
            length += 1
        if length and length % 2 == 0:
            sign = -sign
    return sign


def _tuple_positions(all_idx: I64, idx: I64) -> I64:
    """Row of ``all_idx`` (lexicographic combinations) equal to each row of ``idx``."""
    n = int(all_idx.max(initial=0)) + 1
    weights = n ** np.arange(all_idx.shape[1] - 1, -1, -1, dtype=np.int64)
    keys = all_idx @ weights
    pos: I64 = np.searchsorted(keys, idx @ weights).astype(np.int64)
    return pos


def _pullback_coefficients(omega: ConstantForm, J: F64) -> F64:
    """(B, C(d, k)) coefficients of J_b^*ω for a stack J (B, n, d): Σ_I ω_I det J_b[I, K]."""
    k, d = omega.degree, J.shape[2]
    coef, rows = omega.coefficients, omega.indices
    if k == 0:
        return np.full((J.shape[0], 1), float(coef.sum()))
    if k == 1:
        one: F64 = np.einsum("m,bmd->bd", coef, J[:, rows[:, 0], :])
        return one
    out_idx = _combinations(d, k)
    if k == 2:  # as an antisymmetric matrix Ω: the pullback is Jᵀ Ω J, read off above the diagonal
        n = J.shape[1]
        omega_mat = np.zeros((n, n))
        omega_mat[rows[:, 0], rows[:, 1]] = coef
        omega_mat -= omega_mat.T
        pulled = np.swapaxes(J, 1, 2) @ omega_mat @ J
        two: F64 = pulled[:, out_idx[:, 0], out_idx[:, 1]]
        return two
    m, p = rows.shape[0], out_idx.shape[0]
    if m * p > MAX_MINORS:
        raise TooManyCellsError(
            f"the pullback needs {m} × {p} minors of size {k} (more than MAX_MINORS = {MAX_MINORS}); "
            "use a sparser form or a lower degree"
        )
    sub = J[:, rows, :]  # (B, m, k, d)
    out = np.empty((J.shape[0], p))
    step = max(1, CHUNK_ENTRIES // max(1, J.shape[0] * m * k * k))
    for lo in range(0, p, step):
        cols = out_idx[lo : lo + step]  # (q, k)
        minors = sub[:, :, :, cols]  # (B, m, k, q, k)
        dets = np.linalg.det(np.moveaxis(minors, 3, 2))  # (B, m, q)
        out[:, lo : lo + step] = np.einsum("m,bmq->bq", coef, dets)
    return out


# ----------------------------------------------------------------------------------------- the trace
class LayerCells(NamedTuple):
    """The data cells of layers 1..l (see :meth:`LayerTrace.cells`)."""

    patterns: npt.NDArray[np.bool_]
    """bool (n_cells, w_1 + ... + w_l): the activation patterns of layers 1..l, lexicographically sorted."""
    counts: I64
    """int64 (n_cells,): data points per cell."""
    parent: I64
    """int64 (n_cells,): the layer-(l-1) cell containing each cell (-1 at layer 0)."""
    point_cell: I64
    """int64 (N,): the cell of every data point."""
    representatives: I64
    """int64 (n_cells,): the first data point of each cell."""


@dataclass(frozen=True)
class TraceSummary:
    """Per layer statistics of a :class:`LayerTrace` (one entry per layer 1..n_layers).

    ``rank``, ``sigma_max``, ``condition`` and ``log_volume`` describe J_l on the cells (over a seeded
    sample of ``sampled`` cells where a layer has more than ``max_cells``): mean rank, median largest
    singular value (the cell's Lipschitz constant of x ↦ h_l), median condition number σ_max/σ_min
    over the nonzero singular values, and mean log volume factor log sqrt(pdet J^T J) over cells of
    positive rank.
    """

    layer: I64
    width: I64
    cells: I64
    split: I64
    """Cells of layer l-1 that the neurons of layer l cut into two or more data cells."""
    new: I64
    """cells(l) - cells(l-1)."""
    rank: F64
    sigma_max: F64
    condition: F64
    log_volume: F64
    sampled: I64

    def rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                int(self.layer[k]),
                int(self.width[k]),
                int(self.cells[k]),
                int(self.split[k]),
                int(self.new[k]),
                f"{self.rank[k]:.3f}",
                f"{self.sigma_max[k]:.4g}",
                f"{self.condition[k]:.4g}",
                f"{self.log_volume[k]:.4g}",
                int(self.sampled[k]),
            )
            for k in range(self.layer.shape[0])
        ]

    def __str__(self) -> str:
        headers = ("layer", "width", "cells", "split", "new", "rank", "sigma_max", "condition", "log_volume", "sampled")
        return format_table(headers, self.rows())

    __repr__ = __str__


class LayerTrace:
    """Data-containing cells of a ReLU network after each layer, with their pulled-back geometry.

    Parameters
    ----------
    model : (weights, biases), torch Sequential or scikit-learn MLP
        Read by :func:`mlgeom_rs.models.relu_layers` (torch layout, ``weights[l]`` is (out, in)).
    X : array_like (N, d)
        The data; one forward pass in float64 groups it by pattern.
    output_layer : bool, optional
        Override whether the last layer is a linear output layer (default: as the model says).

    Layers are numbered l = 0 (the input: one cell, J_0 = I) to ``n_layers``. Layers 1..``n_hidden``
    are the ReLU layers; when the model has a linear output layer it is layer ``n_hidden + 1``: it
    splits nothing (its cells are those of layer ``n_hidden``) and has no ReLU (J = W J_L, c = W c_L + b).
    Cell i of layer l means row i of :meth:`cells` (l), numbered in lexicographic order of the
    patterns of layers 1..l; at the last hidden layer this is the numbering of
    :func:`mlgeom_rs.data_cells`.

    Cost: grouping is one float64 forward pass, O(N Σ_l w_l w_{l-1}), and one sort per layer. Jacobians
    are not stored; each query recomputes them from the patterns, batched over the requested cells in
    blocks (parents shared), O(w_l w_{l-1} d) per cell and layer. When the first layer is narrower than
    the input (w_1 < d) the products run in R^{w_1} (J_l = M_l W_1, M_l = D_l W_l ... W_2 D_1) and only the
    last step multiplies by W_1; boundary norms and singular values then use W_1 W_1ᵀ and never form J_l.
    """

    def __init__(self, model: Any, X: npt.ArrayLike, *, output_layer: bool | None = None) -> None:
        from .datacells import _network

        ws, bs, out = _network(model)
        if output_layer is not None:
            out = bool(output_layer)
        if out and len(ws) < 2:
            raise InvalidInputError("the network has no hidden layer (only an output layer); nothing splits the input")
        self._weights = [_readonly(np.array(w, dtype=np.float64)) for w in ws]
        self._biases = [_readonly(np.array(b, dtype=np.float64)) for b in bs]
        self._output = out
        self._n_hidden = len(ws) - 1 if out else len(ws)
        self._dim = int(ws[0].shape[1])
        # Factored Jacobians (see _left_pre): through W_1 when the first layer is narrower than the input.
        self._base = 1 if ws[0].shape[0] < self._dim else 0
        self._gram_r = self._weights[0] @ self._weights[0].T if self._base == 1 else None
        pts = as_points(X, self._dim, "X")
        if pts.shape[0] == 0:
            raise InvalidInputError("X has no rows; give at least one point")
        self._points = _readonly(pts.copy())
        n = pts.shape[0]
        # Layer 0: one cell holding every point.
        self._bits: list[npt.NDArray[np.bool_]] = [np.zeros((1, 0), dtype=bool)]
        self._parent: list[I64] = [np.array([-1], dtype=np.int64)]
        self._point_cell: list[I64] = [np.zeros(n, dtype=np.int64)]
        self._counts: list[I64] = [np.array([n], dtype=np.int64)]
        self._reps: list[I64] = [np.array([0], dtype=np.int64)]
        h = pts
        for w, b in zip(self._weights[: self._n_hidden], self._biases[: self._n_hidden], strict=True):
            z = h @ w.T + b
            on = z > 0.0
            h = np.where(on, z, 0.0)
            self._add_layer(on)

    def _add_layer(self, on: npt.NDArray[np.bool_]) -> None:
        """Split every cell of the previous layer by this layer's bits: unique (parent, bits) keys, sorted."""
        n = on.shape[0]
        parent_of_point = self._point_cell[-1]
        packed = np.packbits(on, axis=1)
        keys = np.empty((n, 8 + packed.shape[1]), dtype=np.uint8)
        keys[:, :8] = parent_of_point.astype(">i8").view(np.uint8).reshape(n, 8)
        keys[:, 8:] = packed
        void = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
        _, first, inverse, counts = np.unique(void, return_index=True, return_inverse=True, return_counts=True)
        self._bits.append(_readonly(on[first]))
        self._parent.append(_readonly(parent_of_point[first].astype(np.int64)))
        self._point_cell.append(_readonly(inverse.reshape(-1).astype(np.int64)))
        self._counts.append(_readonly(counts.astype(np.int64)))
        self._reps.append(_readonly(first.astype(np.int64)))

    # ------------------------------------------------------------------------------------ structure
    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return self._dim

    @property
    def n_points(self) -> int:
        return int(self._points.shape[0])

    @property
    def points(self) -> F64:
        """The data, float64 (N, d), read-only."""
        return self._points

    @property
    def n_hidden(self) -> int:
        """L, the number of ReLU layers."""
        return self._n_hidden

    @property
    def n_layers(self) -> int:
        """L, plus one when the model has a linear output layer."""
        return self._n_hidden + int(self._output)

    @property
    def output_layer(self) -> bool:
        """Whether layer ``n_hidden + 1`` is a linear output layer."""
        return self._output

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Widths w_1, ..., w_{n_layers} (w_0 = d)."""
        return tuple(int(w.shape[0]) for w in self._weights[: self.n_layers])

    def _width(self, l: int) -> int:
        return self._dim if l == 0 else int(self._weights[l - 1].shape[0])

    def _layer(self, l: int) -> int:
        if int(l) != l or not 0 <= l <= self.n_layers:
            raise IndexError(f"layer {l} out of range 0..{self.n_layers}")
        return int(l)

    def _split_layer(self, l: int) -> int:
        """The layer whose cells layer l uses (the output layer shares the last hidden layer's cells)."""
        return min(self._layer(l), self._n_hidden)

    def n_cells(self, l: int) -> int:
        """Number of data cells of layer l."""
        return int(self._counts[self._split_layer(l)].shape[0])

    def _cell(self, l: int, i: int) -> int:
        n = self.n_cells(l)
        if int(i) != i or not -n <= i < n:
            raise IndexError(f"cell {i} out of range for the {n} data cells of layer {l}")
        return int(i) % n

    def _cells(self, l: int, cells: npt.ArrayLike | None) -> I64:
        n = self.n_cells(l)
        if cells is None:
            return np.arange(n, dtype=np.int64)
        idx = np.asarray(cells, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"cell indices out of range for the {n} data cells of layer {l}")
        return idx % max(n, 1)

    def cells(self, l: int) -> LayerCells:
        """The data cells of layer l: patterns of layers 1..l, counts, parent cell at layer l-1, lineage.

        Every cell of layer l lies in exactly one cell of layer l-1 (its pattern extends the parent's),
        so ``parent`` arrays form a tree rooted at the single cell of layer 0.
        """
        s = self._split_layer(l)
        n = self.n_cells(l)
        if s == 0:
            patterns = np.zeros((1, 0), dtype=bool)
        else:
            blocks = []
            anc = np.arange(n, dtype=np.int64)
            for m in range(s, 0, -1):
                blocks.append(self._bits[m][anc])
                anc = self._parent[m][anc]
            patterns = np.concatenate(blocks[::-1], axis=1)
        parent = np.arange(n, dtype=np.int64) if self._layer(l) > s else self._parent[s]
        return LayerCells(_readonly(patterns), self._counts[s], _readonly(parent), self._point_cell[s], self._reps[s])

    def ancestor(self, l: int, i: int, m: int) -> int:
        """The cell of layer m ≤ l that contains cell i of layer l."""
        i = self._cell(l, i)
        m = self._layer(m)
        if m > self._layer(l):
            raise InvalidInputError(f"layer {m} is after layer {l}; an ancestor lies at a layer m <= l")
        for k in range(self._split_layer(l), self._split_layer(m), -1):
            i = int(self._parent[k][i])
        return i

    # ------------------------------------------------------------------------------------ affine maps
    # Jacobians are kept factored as J_l = M_l R: R = W_1 and M_1 = D_1 when w_1 < d ("base 1": the
    # products then run in the w_1-dimensional space and only the last step touches d), else R = I_d and
    # M_l = J_l ("base 0"). M_l = D_l W_l M_{l-1}; layer l's pre-activation forms are L_l R, L_l = W_l M_{l-1}.
    def _left_pre(self, l: int, parents: I64) -> F64:
        """L_l (B, w_l, k) on cells ``parents`` of layer l-1 (k = w_1 for base 1, d for base 0)."""
        w = self._weights[l - 1]
        B = parents.shape[0]
        if l == 1:
            eye_or_w = np.eye(w.shape[0]) if self._base == 1 else w
            return np.broadcast_to(eye_or_w, (B, *eye_or_w.shape))
        if l == 2 and self._base == 1:  # W_2 D_1: mask the columns of W_2
            return w[None, :, :] * self._bits[1][parents][:, None, :]
        uniq, inv = np.unique(parents, return_inverse=True)
        left: F64 = np.matmul(w, self._left_post(l - 1, uniq))[inv]
        return left

    def _left_post(self, l: int, cells: I64) -> F64:
        """M_l (B, w_l, k) on cells of layer l ≥ 1."""
        if l > self._n_hidden:  # the linear output layer: same cells, no ReLU
            return np.asarray(self._left_pre(l, cells))
        if l == 1 and self._base == 1:
            mask = self._bits[1][cells]
            return np.eye(mask.shape[1])[None, :, :] * mask[:, None, :]
        mask = self._bits[l][cells]
        return self._left_pre(l, self._parent[l][cells]) * mask[:, :, None]

    def _expand(self, left: F64) -> F64:
        """L R: the factored forms as (B, w, d) arrays (one GEMM over the whole block for base 1)."""
        if self._base == 0:
            return left
        B, w, k = left.shape
        full: F64 = (left.reshape(B * w, k) @ self._weights[0]).reshape(B, w, self._dim)
        return full

    def _offset_pre(self, l: int, parents: I64) -> F64:
        """W_l c_{l-1} + b_l (B, w_l) on cells ``parents`` of layer l-1."""
        w, b = self._weights[l - 1], self._biases[l - 1]
        if l == 1:
            return np.broadcast_to(b, (parents.shape[0], b.shape[0]))
        uniq, inv = np.unique(parents, return_inverse=True)
        off: F64 = (self._offset_post(l - 1, uniq) @ w.T + b)[inv]
        return off

    def _offset_post(self, l: int, cells: I64) -> F64:
        """c_l (B, w_l) on cells of layer l."""
        if l == 0:
            return np.zeros((cells.shape[0], self._dim))
        if l > self._n_hidden:
            return np.array(self._offset_pre(l, cells))
        return self._offset_pre(l, self._parent[l][cells]) * self._bits[l][cells]

    def _pre(self, l: int, parents: I64) -> tuple[F64, F64]:
        """Pre-activation forms of layer l on cells ``parents`` of layer l-1: (W_l J_{l-1}, W_l c_{l-1} + b_l)."""
        if l == 1:  # J_0 = I: read-only broadcasts, no copies
            w = self._weights[0]
            G: F64 = np.broadcast_to(w, (parents.shape[0], *w.shape))
        else:
            G = self._expand(self._left_pre(l, parents))
        return G, self._offset_pre(l, parents)

    def _post(self, l: int, cells: I64) -> tuple[F64, F64]:
        """(J_l, c_l) of h_l on cells of layer l."""
        if l == 0:
            B = cells.shape[0]
            return np.broadcast_to(np.eye(self._dim), (B, self._dim, self._dim)).copy(), np.zeros((B, self._dim))
        if l > self._n_hidden:
            G, off = self._pre(l, cells)
            return np.array(G), np.array(off)
        G, off = self._pre(l, self._parent[l][cells])
        mask = self._bits[l][cells]
        return G * mask[:, :, None], off * mask

    def _pre_norms(self, l: int, parents: I64) -> F64:
        """‖a_{l,k}‖ (B, w_l) on cells ``parents`` of layer l-1; for base 1 through the Gram matrix W_1 W_1ᵀ."""
        if l == 1:
            return np.broadcast_to(np.linalg.norm(self._weights[0], axis=1), (parents.shape[0], self.layer_sizes[0]))
        left = self._left_pre(l, parents)
        if self._base == 0:
            norms: F64 = np.linalg.norm(left, axis=2)
            return norms
        assert self._gram_r is not None
        sq = np.einsum("bij,bij->bi", left @ self._gram_r, left)
        roots: F64 = np.sqrt(np.clip(sq, 0.0, None))
        return roots

    def _chunks(self, l: int, cells: I64, width: int) -> Iterator[slice]:
        """Slices of ``cells`` small enough that one block of Jacobians (of any layer up to l) fits CHUNK_ENTRIES."""
        widest = max([width, *(self._width(m) for m in range(l + 1))])
        step = max(1, CHUNK_ENTRIES // max(1, widest * self._dim))
        for lo in range(0, cells.shape[0], step):
            yield slice(lo, lo + step)

    def jacobian(self, l: int, i: int) -> F64:
        """J_l (w_l, d) on cell i of layer l: h_l = J_l x + c_l there."""
        J: F64 = self._post(self._layer(l), np.array([self._cell(l, i)]))[0][0]
        return J

    def offset(self, l: int, i: int) -> F64:
        """c_l (w_l,) on cell i of layer l."""
        c: F64 = self._post(self._layer(l), np.array([self._cell(l, i)]))[1][0]
        return c

    def jacobians(self, l: int, cells: npt.ArrayLike | None = None) -> F64:
        """J_l on many cells of layer l (default all), float64 (n, w_l, d); batched, parents shared."""
        l = self._layer(l)
        idx = self._cells(l, cells)
        out = np.empty((idx.shape[0], self._width(l), self._dim))
        for sl in self._chunks(l, idx, self._width(l)):
            out[sl] = self._post(l, idx[sl])[0]
        return out

    def offsets(self, l: int, cells: npt.ArrayLike | None = None) -> F64:
        """c_l on many cells of layer l (default all), float64 (n, w_l)."""
        l = self._layer(l)
        idx = self._cells(l, cells)
        out = np.empty((idx.shape[0], self._width(l)))
        for sl in self._chunks(l, idx, self._width(l)):
            out[sl] = self._post(l, idx[sl])[1]
        return out

    def layer_map(self, l: int, i: int) -> tuple[F64, F64]:
        """The map h_{l-1} ↦ h_l on cell i of layer l ≥ 1 as (D_l W_l, D_l b_l) (no D for the output layer)."""
        l, i = self._layer(l), self._cell(l, i)
        if l == 0:
            raise InvalidInputError("layer 0 is the input; layer maps start at layer 1")
        w, b = self._weights[l - 1], self._biases[l - 1]
        if l > self._n_hidden:
            return w.copy(), b.copy()
        mask = self._bits[l][i]
        return w * mask[:, None], b * mask

    def boundary_forms(self, l: int, i: int) -> tuple[F64, F64]:
        """The neurons of layer l ≥ 1 on cell i of layer l: 1-forms a_{l,k} (w_l, d) and offsets (w_l,).

        z_{l,k}(x) = a_{l,k}·x + offset_k on the cell, with a_{l,k} = (W_l J_{l-1})_k (paper.md §7); they
        depend only on the parent cell. For one hidden layer they are the rows of (W_1, b_1).
        """
        l, i = self._layer(l), self._cell(l, i)
        if l == 0:
            raise InvalidInputError("layer 0 is the input and has no neurons; boundary forms start at layer 1")
        parent = i if l > self._n_hidden else int(self._parent[l][i])
        G, off = self._pre(l, np.array([parent]))
        return G[0].copy(), off[0].copy()

    def halfspaces(self, l: int, i: int) -> tuple[F64, F64]:
        """H-representation ``A x + b <= 0`` of cell i of layer l (no box): one row per neuron of layers 1..l.

        A neuron that is on contributes -(a·x + c) <= 0, one that is off a·x + c <= 0.
        """
        s = self._split_layer(l)
        i = self._cell(l, i)
        rows, offs = [], []
        for m in range(s, 0, -1):
            G, off = self.boundary_forms(m, i)
            sign = np.where(self._bits[m][i], -1.0, 1.0)
            rows.append(G * sign[:, None])
            offs.append(off * sign)
            i = int(self._parent[m][i])
        if not rows:
            return np.zeros((0, self._dim)), np.zeros(0)
        return np.concatenate(rows[::-1]), np.concatenate(offs[::-1])

    # ------------------------------------------------------------------------------------ metric and volume
    def metric(self, l: int, i: int) -> F64:
        """The pullback metric g = J_l^T J_l (d, d) on cell i of layer l."""
        J = self.jacobian(l, i)
        return J.T @ J

    def singular_values(self, l: int, cells: npt.ArrayLike | None = None) -> F64:
        """Singular values of J_l on many cells of layer l (default all), descending, float64 (n, min(w_l, d))."""
        l = self._layer(l)
        idx = self._cells(l, cells)
        out = np.empty((idx.shape[0], min(self._width(l), self._dim)))
        width = self._width(l)
        gram_path = self._base == 1 and l >= 1 and GRAM_MIN_SIZE < width <= self._dim
        for sl in self._chunks(l, idx, width):
            if gram_path:  # J Jᵀ = M (W_1 W_1ᵀ) Mᵀ without forming J
                assert self._gram_r is not None
                M = self._left_post(l, idx[sl])
                gram = M @ self._gram_r @ np.swapaxes(M, 1, 2)
                out[sl] = np.sqrt(np.clip(np.linalg.eigvalsh(gram)[:, ::-1], 0.0, None))
            else:
                out[sl] = _singular_values(self._post(l, idx[sl])[0])
        return out

    def ranks(self, l: int, cells: npt.ArrayLike | None = None) -> I64:
        """rank J_l on many cells: the number of singular values above the tolerance of :func:`_tolerance`
        (numpy's matrix_rank tolerance σ_max · max(w_l, d) · eps for small J_l)."""
        return _rank(self.singular_values(l, cells), max(self._width(l), self._dim))

    def volume_factors(self, l: int, cells: npt.ArrayLike | None = None) -> F64:
        """sqrt(pdet J_l^T J_l) on many cells: the product of the nonzero singular values of J_l.

        It is the factor by which x ↦ h_l scales r-dimensional volume on the cell, r = rank J_l (the
        image dimension); it equals sqrt(det J_l^T J_l) when J_l has full column rank, |det J_l| when
        square, and 1 (the empty product) on a cell that the layer collapses to a point.
        """
        sv = self.singular_values(l, cells)
        keep = sv > _tolerance(sv, max(self._width(l), self._dim))[:, None]
        factors: F64 = np.prod(np.where(keep, sv, 1.0), axis=1)
        return factors

    def volume_factor(self, l: int, i: int) -> float:
        """sqrt(pdet J_l^T J_l) on cell i of layer l; see :meth:`volume_factors`."""
        return float(self.volume_factors(l, [self._cell(l, i)])[0])

    # ------------------------------------------------------------------------------------ forms
    def _form(self, omega: ConstantForm | Mapping[Sequence[int], float], l: int) -> ConstantForm:
        width = self._width(l)
        form = omega if isinstance(omega, ConstantForm) else ConstantForm.from_dict(omega, width)
        if form.dim != width:
            raise InvalidInputError(f"the form lives on R^{form.dim} but layer {l} has width {width}")
        return form

    def pullback(self, omega: ConstantForm | Mapping[Sequence[int], float], l: int, i: int) -> ConstantForm:
        """Pull a constant k-form on layer l's space R^{w_l} back to the input on cell i: J_l^* ω.

        (J_l^* ω)_K = Σ_I ω_I det J_l[I, K] over sorted k-tuples (the k×k minors of J_l); for the
        volume form of a square J_l this is det J_l. A dict ``{(i_1, ..., i_k): c}`` is accepted.
        """
        l = self._layer(l)
        return self._form(omega, l).pullback(self.jacobian(l, i))

    def pullback_coefficients(
        self, omega: ConstantForm | Mapping[Sequence[int], float], l: int, cells: npt.ArrayLike | None = None
    ) -> F64:
        """J_l^* ω on many cells of layer l (default all): float64 (n, C(d, k)), columns in lexicographic
        order of the sorted k-tuples of range(d) (the order of :meth:`ConstantForm.to_dense`)."""
        l = self._layer(l)
        form = self._form(omega, l)
        idx = self._cells(l, cells)
        out = np.empty((idx.shape[0], math.comb(self._dim, form.degree)))
        for sl in self._chunks(l, idx, self._width(l)):
            out[sl] = _pullback_coefficients(form, self._post(l, idx[sl])[0])
        return out

    # ------------------------------------------------------------------------------------ data geometry
    def boundary_distance(self, l: int | None = None, *, return_neuron: bool = False) -> F64 | tuple[F64, I64]:
        """Distance from each data point to the boundary of its cell of layer l (default the last hidden layer).

        The cell is {x : (2 s_{m,k} - 1) z_{m,k}(x) ≥ 0, m ≤ l}, with z_{m,k} affine on it, so the distance
        from an interior point is exactly min_{m,k} |z_{m,k}(x)| / ‖a_{m,k}‖ (the box is ignored; a neuron
        that is constant on the cell bounds nothing). With ``return_neuron``, also the bit (hidden neurons
        of all layers concatenated) of the nearest boundary, -1 where none.
        """
        s = self._n_hidden if l is None else self._split_layer(l)
        n = self.n_points
        best = np.full(n, np.inf)
        which = np.full(n, -1, dtype=np.int64)
        h = self._points
        first = 0
        for m in range(1, s + 1):
            w, b = self._weights[m - 1], self._biases[m - 1]
            z = h @ w.T + b
            h = np.maximum(z, 0.0)
            parents = np.arange(self.n_cells(m - 1), dtype=np.int64)
            norms = np.empty((parents.shape[0], w.shape[0]))
            for sl in self._chunks(m, parents, w.shape[0]):
                norms[sl] = self._pre_norms(m, parents[sl])
            nrm = norms[self._point_cell[m - 1]]
            with np.errstate(divide="ignore", invalid="ignore"):
                dist = np.where(nrm > 0.0, np.abs(z) / nrm, np.inf)
            k = np.argmin(dist, axis=1)
            dk = dist[np.arange(n), k]
            better = dk < best
            best[better] = dk[better]
            which[better] = first + k[better]
            first += w.shape[0]
        return (best, which) if return_neuron else best

    def summary(self, *, max_cells: int = 1000, seed: int = 0) -> TraceSummary:
        """Per layer: data cells, splits, mean rank of J_l and distortion statistics (see :class:`TraceSummary`).

        Singular values are computed on at most ``max_cells`` cells per layer (a seeded uniform sample).
        """
        rng = np.random.default_rng(seed)
        cols: dict[str, list[Any]] = {k: [] for k in TraceSummary.__dataclass_fields__}
        for l in range(1, self.n_layers + 1):
            n, prev = self.n_cells(l), self.n_cells(l - 1)
            if l > self._n_hidden:
                split = 0
            else:
                children = np.bincount(self._parent[l], minlength=prev)
                split = int(np.count_nonzero(children >= 2))
            idx = np.arange(n) if n <= max_cells else np.sort(rng.choice(n, size=max_cells, replace=False))
            sv = self.singular_values(l, idx)
            width = max(self._width(l), self._dim)
            tol = _tolerance(sv, width)
            nz = sv > tol[:, None]
            rank = nz.sum(axis=1)
            pos = rank > 0
            smin = np.where(nz, sv, np.inf).min(axis=1)
            logvol = np.where(nz, np.log(np.where(nz, sv, 1.0)), 0.0).sum(axis=1)
            cols["layer"].append(l)
            cols["width"].append(self._width(l))
            cols["cells"].append(n)
            cols["split"].append(split)
            cols["new"].append(n - prev)
            cols["rank"].append(float(rank.mean()))
            cols["sigma_max"].append(float(np.median(sv[:, 0])) if sv.shape[1] else 0.0)
            cols["condition"].append(float(np.median(sv[pos, 0] / smin[pos])) if pos.any() else float("nan"))
            cols["log_volume"].append(float(logvol[pos].mean()) if pos.any() else float("nan"))
            cols["sampled"].append(int(idx.shape[0]))
        ints = {"layer", "width", "cells", "split", "new", "sampled"}
        arrays: dict[str, Any] = {
            k: np.asarray(v, dtype=np.int64 if k in ints else np.float64) for k, v in cols.items()
        }
        return TraceSummary(**arrays)

    def __repr__(self) -> str:
        counts = [self.n_cells(l) for l in range(1, self.n_layers + 1)]
        return (
            f"LayerTrace(n_points={self.n_points}, dim={self._dim}, layer_sizes={list(self.layer_sizes)}, "
            f"output_layer={self._output}, cells per layer={counts})"
        )


#: Above this size on both sides, singular values come from the eigenvalues of the smaller Gram matrix.
GRAM_MIN_SIZE = 32


def _singular_values(J: F64) -> F64:
    """Singular values of a stack J (B, w, d), descending.

    Small matrices use the SVD. When both w and d exceed GRAM_MIN_SIZE they are the square roots of the
    eigenvalues of the smaller Gram matrix (J Jᵀ or Jᵀ J): about 3× faster, and exact up to an absolute
    error of about σ_max · sqrt(size · eps), which :func:`_tolerance` then treats as zero.
    """
    if min(J.shape[1], J.shape[2]) <= GRAM_MIN_SIZE:
        sv: F64 = np.linalg.svd(J, compute_uv=False).astype(np.float64, copy=False)
        return sv
    JT = np.swapaxes(J, 1, 2)
    gram = J @ JT if J.shape[1] <= J.shape[2] else JT @ J
    roots: F64 = np.sqrt(np.clip(np.linalg.eigvalsh(gram)[:, ::-1], 0.0, None))
    return roots


def _tolerance(sv: F64, size: int) -> F64:
    """Rank tolerance per row of singular values: numpy's matrix_rank σ_max · size · eps for the SVD, and
    σ_max · sqrt(size · eps) when they come from a Gram matrix (see :func:`_singular_values`)."""
    smax = sv[:, 0] if sv.shape[1] else np.zeros(sv.shape[0])
    eps = np.finfo(np.float64).eps
    scale = size * eps if sv.shape[1] <= GRAM_MIN_SIZE else math.sqrt(size * eps)
    return smax * scale


def _rank(sv: F64, size: int) -> I64:
    ranks: I64 = (sv > _tolerance(sv, size)[:, None]).sum(axis=1).astype(np.int64)
    return ranks
