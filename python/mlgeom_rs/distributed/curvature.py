"""Ollivier–Ricci curvature of a large graph on a Dask cluster (per-edge transport problems distributed).

κ(x, y) = 1 − W₁(m_x, m_y)/d(x, y) is one transport problem per edge (Ollivier 2009; the definition of
:func:`mlgeom_rs.ollivier_ricci`). The core assigns each edge to one *owner* endpoint (smaller degree, then
smaller index) and solves it there; :func:`ollivier_on_cluster` sends the graph to every worker once and gives
each task a range of owner nodes, balanced by their stored entries, so every edge is solved exactly once and
with the same arithmetic as on one machine. The client assembles the edge values and the node means
(blockwise, one row range per task).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import scipy.sparse

__all__ = ["ollivier_on_cluster"]


def _owner_range(
    graph: tuple[Any, Any, Any], owners: tuple[int, int], engine: dict[str, Any], n_threads: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    import scipy.sparse

    from ..curvature import _run_engine

    indptr, indices, data = graph
    n = indptr.shape[0] - 1
    csr = scipy.sparse.csr_array((data, indices, indptr), shape=(n, n))
    edge, _ = _run_engine(csr, n_threads=n_threads, owners=owners, **engine)
    done = np.flatnonzero(~np.isnan(edge))
    return done, edge[done]


def ollivier_on_cluster(
    csr: scipy.sparse.csr_array, client: Any, *, engine: dict[str, Any], n_threads: int = 1, n_tasks: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(κ per stored entry of ``csr``, κ per node) computed by tasks over ranges of owner nodes."""
    n, nnz = csr.shape[0], csr.indptr[-1]
    if n_tasks is None:
        n_tasks = 4 * max(1, len(client.scheduler_info().get("workers", {})))
    cuts = np.unique(np.searchsorted(csr.indptr, np.linspace(0, nnz, n_tasks + 1), side="left"))
    cuts[0], cuts[-1] = 0, n
    ranges = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    graph = client.scatter(
        (
            np.ascontiguousarray(csr.indptr, dtype=np.int64),
            np.ascontiguousarray(csr.indices, dtype=np.int64),
            np.ascontiguousarray(csr.data, dtype=np.float64),
        ),
        broadcast=True,
        hash=False,  # a fresh key per call: an equal graph released by an earlier call may be on its way out
    )
    futures = [client.submit(_owner_range, graph, r, engine, n_threads, pure=False) for r in ranges]
    edge = np.full(nnz, np.nan)
    for done, values in client.gather(futures):
        edge[done] = values
    degree = np.diff(csr.indptr)
    sums = np.add.reduceat(edge, csr.indptr[:-1][degree > 0]) if nnz else np.zeros(0)
    node = np.full(n, np.nan)
    node[degree > 0] = sums / degree[degree > 0]
    return edge, node
