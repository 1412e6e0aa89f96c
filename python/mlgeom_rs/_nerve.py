"""Vectorised combinatorics of nerves (private): simplex rows, keys, lookups, subsets, cliques.

A k-simplex is a row of k+1 sorted vertex (cell) indices; a table of simplices is lexicographically
sorted and duplicate-free. Everything here works on whole tables with numpy (sorts, ``searchsorted``,
``np.repeat``), never with Python loops over simplices; the only loops run over small sets such as
the distinct sizes of the groups that subsets are drawn from.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import numpy.typing as npt
import scipy.sparse

__all__ = [
    "boundary_matrix",
    "sorted_unique",
    "clique_extend",
    "group_subsets",
    "lookup_rows",
    "row_keys",
    "unique_rows",
]

IntArray = npt.NDArray[np.int64]

_KEY_LIMIT = 2**62


def sorted_unique(a: IntArray) -> IntArray:
    """The distinct values of an integer array, ascending (a plain sort: faster than ``np.unique``'s hash path)."""
    s = np.sort(np.asarray(a, dtype=np.int64).reshape(-1))
    if s.size == 0:
        return s
    out: IntArray = s[np.concatenate([[True], s[1:] != s[:-1]])]
    return out


def row_keys(blocks: list[IntArray], n: int) -> list[IntArray]:
    """int64 keys for the rows of each block (all of the same width), equal iff the rows are equal
    and ordered like the rows (lexicographically). Entries must lie in ``0..n-1``.

    With ``n**w < 2**62`` the key is the base-n number of the row; otherwise the columns are folded
    in one at a time, each time replacing the prefix key by its dense rank (so it stays small).
    """
    sizes = [b.shape[0] for b in blocks]
    rows = np.concatenate([np.asarray(b, dtype=np.int64).reshape(-1, blocks[0].shape[1]) for b in blocks])
    w = rows.shape[1]
    base = max(int(n), 1)
    if w == 0:
        keys = np.zeros(rows.shape[0], dtype=np.int64)
    elif base**w < _KEY_LIMIT:
        keys = rows[:, 0].copy()
        for c in range(1, w):
            keys *= base
            keys += rows[:, c]
    else:
        keys = rows[:, 0].copy()
        for c in range(1, w):
            if (int(keys.max(initial=0)) + 1) * base >= _KEY_LIMIT:
                keys = np.unique(keys, return_inverse=True)[1].astype(np.int64)
            keys = keys * base + rows[:, c]
    return np.split(keys, np.cumsum(sizes)[:-1])


def unique_rows(rows: IntArray, n: int) -> tuple[IntArray, IntArray, IntArray]:
    """(sorted unique rows, inverse (row -> unique index), counts)."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.shape[0] == 0:
        return rows.reshape(0, rows.shape[1]), np.zeros(0, np.int64), np.zeros(0, np.int64)
    (keys,) = row_keys([rows], n)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.concatenate([[True], sk[1:] != sk[:-1]])
    heads = np.flatnonzero(start)
    inverse = np.empty(keys.shape[0], dtype=np.int64)
    inverse[order] = np.cumsum(start) - 1
    counts = np.diff(np.append(heads, keys.shape[0])).astype(np.int64)
    return rows[order[heads]], inverse, counts


def lookup_rows(table: IntArray, queries: IntArray, n: int) -> IntArray:
    """Index of every query row in ``table`` (sorted, unique rows), or -1 where it is missing."""
    queries = np.asarray(queries, dtype=np.int64)
    if queries.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if table.shape[0] == 0:
        return np.full(queries.shape[0], -1, dtype=np.int64)
    tkeys, qkeys = row_keys([table, queries], n)
    pos = np.searchsorted(tkeys, qkeys)
    pos_c = np.minimum(pos, tkeys.shape[0] - 1)
    found = tkeys[pos_c] == qkeys
    return np.where(found, pos_c, -1).astype(np.int64)


def group_subsets(indptr: IntArray, members: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """All ``size``-subsets of every group of a CSR grouping (members sorted within each group).

    Returns ``(rows, group)``: rows (M, size) sorted within each row, and the group of each row. The
    only loop is over the distinct group lengths.
    """
    lengths = np.diff(indptr)
    out_rows, out_groups = [], []
    for L in np.unique(lengths[lengths >= size]).tolist():
        groups = np.flatnonzero(lengths == L)
        mat = members[indptr[groups][:, None] + np.arange(L)]  # (g, L)
        comb = np.array(list(combinations(range(L), size)), dtype=np.int64).reshape(-1, size)
        sub = mat[:, comb]  # (g, C, size)
        out_rows.append(sub.reshape(-1, size))
        out_groups.append(np.repeat(groups, comb.shape[0]))
    if not out_rows:
        return np.zeros((0, size), dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_rows).astype(np.int64), np.concatenate(out_groups).astype(np.int64)


def clique_extend(simplices: IntArray, adj: scipy.sparse.csr_array, n: int) -> IntArray:
    """The (k+1)-cliques of the graph ``adj`` (symmetric, no diagonal) that extend the k-cliques
    ``simplices`` by a vertex larger than their last one: rows sorted, unique, lexicographic.

    For each row (v0..vk), candidates are the neighbours w > vk of v0; w is kept when every other
    (vi, w) is an edge too (checked by a key lookup, not by a loop).
    """
    k1 = simplices.shape[1]
    if simplices.shape[0] == 0:
        return np.zeros((0, k1 + 1), dtype=np.int64)
    adj = adj.tocsr()
    adj.sort_indices()
    indptr = adj.indptr.astype(np.int64)
    indices = adj.indices.astype(np.int64)
    owner = np.repeat(np.arange(adj.shape[0], dtype=np.int64), np.diff(indptr))
    v0, vk = simplices[:, 0], simplices[:, -1]
    # Keys of (owner, neighbour) are sorted (csr rows, sorted columns); (v0, vk) keyed alike.
    nkeys, qk = row_keys([np.column_stack([owner, indices]), np.column_stack([v0, vk])], n)
    start = np.searchsorted(nkeys, qk, side="right")
    end = indptr[v0 + 1]
    count = np.maximum(end - start, 0)
    rows = np.repeat(np.arange(simplices.shape[0], dtype=np.int64), count)
    offs = np.arange(rows.shape[0], dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    w = indices[np.repeat(start, count) + offs]
    cand = np.column_stack([simplices[rows], w])
    keep = np.ones(cand.shape[0], dtype=bool)
    edges = np.column_stack([owner, indices])
    for i in range(1, k1):
        keep &= lookup_rows(edges, np.column_stack([cand[:, i], cand[:, -1]]), n) >= 0
    cand = cand[keep]
    return unique_rows(cand, n)[0]


def faces_present(table_km1: IntArray, simplices: IntArray, n: int) -> npt.NDArray[np.bool_]:
    """Whether every facet (delete one vertex) of each row of ``simplices`` is a row of ``table_km1``."""
    ok = np.ones(simplices.shape[0], dtype=bool)
    for i in range(simplices.shape[1]):
        ok &= lookup_rows(table_km1, np.delete(simplices, i, axis=1), n) >= 0
    return ok


def boundary_matrix(faces: IntArray, simplices: IntArray, n: int) -> scipy.sparse.csr_array:
    """The boundary matrix B_k (n_{k-1}, n_k): ∂[v0..vk] = Σ_i (-1)^i [v0..v̂i..vk] (sorted orientation).

    For k = 1 this is B_1[v0, e] = -1, B_1[v1, e] = +1 (paper.md §3).
    """
    nk, k1 = simplices.shape
    rows, cols, vals = [], [], []
    col = np.arange(nk, dtype=np.int64)
    for i in range(k1):
        idx = lookup_rows(faces, np.delete(simplices, i, axis=1), n)
        if (idx < 0).any():
            raise AssertionError("a face of a simplex is missing: the complex is not closed")
        rows.append(idx)
        cols.append(col)
        vals.append(np.full(nk, -1.0 if i % 2 else 1.0))
    if k1 == 0 or nk == 0:
        return scipy.sparse.csr_array((faces.shape[0], nk), dtype=np.float64)
    return scipy.sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(faces.shape[0], nk)
    )
