"""Data-induced curvature: vertex curvature of cells and (statistical) Ricci curvature of edges.

Gajer & Ravel, "The Geometry of Machine Learning Models" (arXiv 2508.02080), define "discrete
curvature measures for vertices that quantify local geometric complexity and statistical Ricci
curvature for edges that captures pairwise relationships between cells". Their formulas were not
available; this module implements the readings reconstructed in paper.md §5 (tagged [R] there) and
says in every docstring which one it computes.

Two layers:

* :func:`ollivier_ricci` and :func:`forman_curvature` work on any weighted graph (a scipy.sparse
  adjacency or a networkx graph). :func:`ollivier_ricci` reproduces GraphRicciCurvature's exact
  ("OTD") Ollivier–Ricci curvature value for value, computed in Rust: Dijkstra distances restricted
  to what each transport needs, an exact transportation simplex for W₁, rayon over edges.
* :func:`edge_curvature`, :func:`vertex_curvature` and :func:`curvature_report` work on a
  :class:`~mlgeom_rs.Partition` (or anything holding one as ``.partition``, such as a Riemannian
  complex), with Lebesgue measure or with the empirical measure of data ``X``.

>>> import mlgeom_rs as mg, numpy as np
>>> part = mg.partition_hyperplanes([[1, 0], [0, 1]], [-0.5, -0.5], mg.Box(0, 1, dim=2))
>>> mg.vertex_curvature(part, kind="angle_defect").tolist()   # flat: no defect
[0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt

from . import _core
from ._progress import ProgressArg, progress_callback
from ._validate import as_float_array, as_points, resolve_n_threads
from .exceptions import InvalidInputError

if TYPE_CHECKING:
    import networkx as nx
    import scipy.sparse

    from .partition import Partition

__all__ = [
    "curvature_report",
    "edge_curvature",
    "forman_curvature",
    "ollivier_ricci",
    "vertex_curvature",
    "with_curvature",
]

EdgeKind = Literal["statistical_ricci", "ollivier", "forman"]
VertexKind = Literal["forman", "angle_defect", "mass_defect"]

EDGE_KINDS: tuple[str, ...] = ("statistical_ricci", "ollivier", "forman")
VERTEX_KINDS: tuple[str, ...] = ("forman", "angle_defect", "mass_defect")

#: Quantile levels reported by :func:`curvature_report`.
QUANTILE_LEVELS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


# ------------------------------------------------------------------------------------------------
# Graph level
# ------------------------------------------------------------------------------------------------


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InvalidInputError(f"{name} must be a finite real number; got {value!r}")
    return float(value)


def _as_graph(adjacency: Any, weight: str) -> tuple[scipy.sparse.csr_array, list[Any] | None]:
    """A canonical csr_array (sorted rows, no duplicates, no diagonal) and the node list of a networkx graph."""
    import scipy.sparse

    nodes: list[Any] | None = None
    if hasattr(adjacency, "nodes") and hasattr(adjacency, "edges") and hasattr(adjacency, "is_directed"):
        import networkx as nx

        if adjacency.is_directed():
            raise InvalidInputError(
                "ollivier_ricci works on undirected graphs; pass G.to_undirected() (or a symmetric matrix)"
            )
        if adjacency.is_multigraph():
            raise InvalidInputError("multigraphs are not supported; collapse parallel edges into nx.Graph first")
        nodes = list(adjacency.nodes())
        matrix = nx.to_scipy_sparse_array(adjacency, nodelist=nodes, weight=weight, format="coo")
    elif scipy.sparse.issparse(adjacency):
        matrix = cast(Any, adjacency).tocoo()
    else:
        dense = as_float_array(adjacency, "adjacency")
        if dense.ndim != 2:
            raise InvalidInputError(f"adjacency must be a square matrix or a networkx graph; got shape {dense.shape}")
        matrix = scipy.sparse.coo_array(dense)  # the nonzero entries are the edges
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InvalidInputError(f"adjacency must be square; got shape {matrix.shape}")
    if matrix.dtype.kind not in "iuf":
        raise InvalidInputError(f"adjacency must hold real edge lengths; got dtype {matrix.dtype}")
    rows = np.asarray(matrix.row if hasattr(matrix, "row") else matrix.coords[0])
    cols = np.asarray(matrix.col if hasattr(matrix, "col") else matrix.coords[1])
    data = np.asarray(matrix.data, dtype=np.float64)
    off = rows != cols  # self-loops are ignored, as GraphRicciCurvature removes them
    n = matrix.shape[0]
    csr = scipy.sparse.csr_array((data[off], (rows[off], cols[off])), shape=(n, n))
    csr.sum_duplicates()
    csr.sort_indices()
    if not np.isfinite(csr.data).all() or (csr.data < 0).any():
        raise InvalidInputError("edge lengths must be finite and non-negative")
    return csr, nodes


def _run_engine(
    csr: scipy.sparse.csr_array,
    *,
    alpha: float,
    base: float = math.e,
    exp_power: float = 2.0,
    self_mass: npt.NDArray[np.float64] | None = None,
    nbr_mass: npt.NDArray[np.float64] | None = None,
    method: str = "exact",
    reg: float = 0.1,
    n_threads: Any = None,
    owners: tuple[int, int] | None = None,
    progress: ProgressArg = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if method not in ("exact", "sinkhorn"):
        raise InvalidInputError(f"method must be 'exact' or 'sinkhorn'; got {method!r}")
    alpha = _real(alpha, "alpha")
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"alpha must lie in [0, 1]; got {alpha}")
    base, exp_power, reg = _real(base, "base"), _real(exp_power, "exp_power"), _real(reg, "reg")
    threads = resolve_n_threads(n_threads)
    with progress_callback(progress, "Ollivier curvature", "edges") as report:
        return _core.ollivier_ricci_csr(
            np.ascontiguousarray(csr.indptr, dtype=np.int64),
            np.ascontiguousarray(csr.indices, dtype=np.int64),
            np.ascontiguousarray(csr.data, dtype=np.float64),
            alpha=alpha,
            base=base,
            exp_power=exp_power,
            self_mass=self_mass,
            nbr_mass=nbr_mass,
            method=method,
            reg=reg,
            n_threads=threads,
            owners=owners,
            progress=report,
        )


def ollivier_ricci(
    adjacency: Any,
    alpha: float = 0.5,
    exp_power: float = 2,
    base: float = math.e,
    n_threads: int | None = None,
    *,
    weight: str = "weight",
    method: Literal["exact", "sinkhorn"] = "exact",
    reg: float = 0.1,
    client: Any = None,
    progress: ProgressArg = None,
) -> tuple[scipy.sparse.csr_array, npt.NDArray[np.float64]]:
    """Ollivier–Ricci curvature of every edge and node of a weighted undirected graph.

    The definition is GraphRicciCurvature's ``OllivierRicci(G, alpha, method="OTD", base,
    exp_power)`` (Ni et al. 2015, 2019; Ollivier 2009), reproduced value for value:

    * edge weights are **lengths**; d(x, y) is the weighted shortest-path distance;
    * m_x(x) = α and m_x(v) = (1−α)·base^(−w_xv^exp_power) / Σ_{u∼x} base^(−w_xu^exp_power) for the
      neighbours v of x (equal shares when that sum is at most 1e-7; an isolated node keeps all
      its mass). ``exp_power=0`` gives the lazy uniform random walk;
    * κ(x, y) = 1 − W₁(m_x, m_y) / d(x, y), with the shortest-path d(x, y) (which may be shorter than
      the edge) in the denominator, and κ = 0 when d(x, y) < 1e-7. W₁ is solved exactly by a
      transportation simplex (``method="sinkhorn"``: POT's entropic ``sinkhorn2`` with ``reg``,
      as GraphRicciCurvature's ``method="Sinkhorn"``);
    * the curvature of a node is the mean curvature of its edges (NaN for an isolated node).

    GraphRicciCurvature keeps only the 3000 heaviest neighbours of a node; this function uses all
    of them, which is the same for degrees up to 3000.

    Parameters
    ----------
    adjacency : scipy.sparse matrix/array, networkx.Graph, or dense array (n, n)
        Symmetric matrix of edge lengths: every stored off-diagonal entry is an edge (an explicit
        zero is an edge of length 0; in a dense array the nonzero entries are the edges). Diagonal
        entries (self-loops) are ignored. A networkx graph uses the edge attribute ``weight``
        (1.0 where it is missing) and its nodes in ``G.nodes()`` order.
    alpha : float in [0, 1]
        Mass each node keeps.
    exp_power, base : float
        Shape of the neighbour weights base^(−length^exp_power).
    n_threads : int, optional
        Worker threads (default: ``$MLGEOM_NUM_THREADS``, else all cores). Results do not depend on it.
    client : dask.distributed.Client, optional
        Distribute the per-edge transport problems: the graph goes to every worker once, each task solves
        the edges owned by a range of nodes (balanced by their stored entries); the values are identical
        (:mod:`mlgeom_rs.distributed.curvature`). ``n_threads`` then applies per task (default 1).
    progress : bool or callable, optional
        Report finished edges: ``True`` a bar on stderr, a callable is called as
        ``progress(n_edges_done)`` about every 50 ms (default: a bar only on a terminal, after a
        second). Ctrl-C (``KeyboardInterrupt``) stops the work within about 50 ms in any case.

    Returns
    -------
    edge_curvature : scipy.sparse.csr_array (n, n)
        κ at every edge, in both (i, j) and (j, i), with the adjacency's sparsity pattern (minus
        the diagonal).
    node_curvature : ndarray (n,)
        Mean κ of each node's edges; for a networkx graph in ``G.nodes()`` order.

    Raises
    ------
    InvalidInputError
        A non-square or non-symmetric matrix, a negative or non-finite length, α outside [0, 1].

    Examples
    --------
    >>> import networkx as nx, mlgeom_rs as mg
    >>> ek, nk = mg.ollivier_ricci(nx.complete_graph(5), alpha=0.0)
    >>> round(float(ek[0, 1]), 12)   # (n - 2) / (n - 1)
    0.75
    """
    import scipy.sparse

    csr, _nodes = _as_graph(adjacency, weight)
    engine: dict[str, Any] = {"alpha": alpha, "base": base, "exp_power": exp_power, "method": method, "reg": reg}
    if client is not None:
        from .distributed.curvature import ollivier_on_cluster

        edge, node = ollivier_on_cluster(csr, client, engine=engine, n_threads=n_threads or 1)
    else:
        edge, node = _run_engine(csr, n_threads=n_threads, progress=progress, **engine)
    return scipy.sparse.csr_array((edge, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape), node


def forman_curvature(
    adjacency: Any, node_weights: npt.ArrayLike | None = None, *, weight: str = "weight"
) -> tuple[scipy.sparse.csr_array, npt.NDArray[np.float64]]:
    """Weighted Forman curvature of every edge and node of a graph (paper.md §5(b), [R]).

    With vertex weights w_i and edge weights w_e (the adjacency's values, all positive)::

        F(e=[i,j]) = w_e ( w_i/w_e + w_j/w_e − Σ_{e'∋i, e'≠e} w_i/√(w_e w_e') − Σ_{e'∋j, e'≠e} w_j/√(w_e w_e') )
        F(i)       = Σ_{e∋i} F(e) / deg(i)        (NaN for an isolated node)

    (Forman 2003; Sreejith et al. 2016). With all weights 1 this is F(e) = 4 − deg(i) − deg(j).
    F is homogeneous of degree 1 in the vertex weights and of degree 0 in the edge weights.

    Parameters
    ----------
    adjacency : scipy.sparse matrix/array, networkx.Graph, or dense array (n, n)
        Symmetric positive edge weights (see :func:`ollivier_ricci` for the accepted forms).
    node_weights : array_like (n,), optional
        Vertex weights; default all 1.

    Returns
    -------
    edge_curvature : scipy.sparse.csr_array (n, n)
        F(e) in both (i, j) and (j, i), with the adjacency's pattern (minus the diagonal).
    node_curvature : ndarray (n,)
    """
    import scipy.sparse

    csr, _nodes = _as_graph(adjacency, weight)
    n = csr.shape[0]
    if (csr.data <= 0).any():
        raise InvalidInputError("Forman curvature needs positive edge weights (1/sqrt(w_e) enters the formula)")
    asymmetry = scipy.sparse.csr_array(csr - csr.T)
    asymmetry.eliminate_zeros()
    if asymmetry.nnz:
        raise InvalidInputError("the adjacency must be symmetric (an undirected graph)")
    wv = np.ones(n) if node_weights is None else as_float_array(node_weights, "node_weights")
    if wv.shape != (n,):
        raise InvalidInputError(f"node_weights must have shape ({n},); got {wv.shape}")
    edge, node = _forman(csr, wv)
    return scipy.sparse.csr_array((edge, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape), node


def _forman(
    csr: scipy.sparse.csr_array, wv: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """F(e) per stored entry and F(i) per node for a canonical symmetric csr with positive data."""
    n = csr.shape[0]
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    cols = csr.indices
    we = csr.data
    inv_sqrt = 1.0 / np.sqrt(we)
    s = np.bincount(rows, weights=inv_sqrt, minlength=n)  # S_i = Σ_{e∋i} 1/√w_e
    # F(e) = 2 w_i + 2 w_j − √w_e (w_i S_i + w_j S_j): the e' = e terms of the sums cancel 2 of the 4.
    edge = 2.0 * wv[rows] + 2.0 * wv[cols] - np.sqrt(we) * (wv[rows] * s[rows] + wv[cols] * s[cols])
    deg = np.diff(csr.indptr)
    with np.errstate(invalid="ignore", divide="ignore"):
        node = np.bincount(rows, weights=edge, minlength=n) / deg
    return edge, node


# ------------------------------------------------------------------------------------------------
# Partition level
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """What the partition-level curvatures need: the graph, the cell measures, the geometry."""

    part: Partition
    edges: npt.NDArray[np.int64]  # (E, 2), i < j
    face: npt.NDArray[np.float64]  # (E,) (d-1)-volume of the shared facet, 0 if none
    volumes: npt.NDArray[np.float64]  # (n,) Lebesgue volumes
    mass: npt.NDArray[np.float64]  # (n,) cell measure, sums to 1 (data fractions or volume fractions)
    centres: npt.NDArray[np.float64]  # (n, d) data centroids (cell centroids for empty cells)
    data: bool  # whether mass/centres come from data


def _partition_of(obj: Any) -> tuple[Partition, npt.NDArray[np.int64] | None]:
    """The partition and, for a complex, its edges (duck-typed: ``.partition`` and ``.simplices(1)``)."""
    inner = getattr(obj, "partition", None)
    if inner is not None and not callable(inner) and hasattr(inner, "adjacency"):
        simplices = getattr(obj, "simplices", None)
        edges = np.asarray(simplices(1), dtype=np.int64) if callable(simplices) else None
        cells = getattr(obj, "cells", None)
        if edges is not None and cells is not None:  # vertex k of a complex is cell cells[k]
            edges = np.asarray(cells, dtype=np.int64)[edges]
        return inner, edges
    if hasattr(obj, "adjacency") and hasattr(obj, "locate") and hasattr(obj, "facets"):
        return obj, None
    raise InvalidInputError(
        f"expected a mlgeom_rs Partition or a complex built on one (with a .partition); got {type(obj).__name__}"
    )


def _setting(obj: Any, X: npt.ArrayLike | None) -> _Setting:
    part, edges = _partition_of(obj)
    adj = part.adjacency("area")
    n = part.n_cells
    upper = adj.tocoo()
    keep = upper.row < upper.col
    pairs = np.stack([upper.row[keep], upper.col[keep]], axis=1).astype(np.int64)
    areas = upper.data[keep].astype(np.float64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs, areas = pairs[order], areas[order]
    if edges is None:
        edges, face = pairs, areas
    else:
        edges = np.sort(edges.reshape(-1, 2), axis=1)
        key = pairs[:, 0] * n + pairs[:, 1]
        want = edges[:, 0] * n + edges[:, 1]
        pos = np.searchsorted(key, want)
        pos = np.minimum(pos, max(len(key) - 1, 0))
        hit = (key[pos] == want) if len(key) else np.zeros(len(want), dtype=bool)
        face = np.where(hit, areas[pos] if len(key) else 0.0, 0.0)
    volumes = np.asarray(part.volumes, dtype=np.float64)
    centroids = np.asarray(part.centroids, dtype=np.float64)
    if X is None:
        mass = volumes / volumes.sum()
        return _Setting(part, edges, face, volumes, mass, centroids, data=False)
    pts = as_points(X, part.dim, "X")
    cell = part.locate(pts)
    inside = cell >= 0
    if not inside.any():
        raise InvalidInputError("no point of X lies in the partition's box; the data measure would be empty")
    cell, pts = cell[inside], pts[inside]
    counts = np.bincount(cell, minlength=n).astype(np.float64)
    mass = counts / counts.sum()
    sums = np.stack([np.bincount(cell, weights=pts[:, k], minlength=n) for k in range(part.dim)], axis=1)
    centres = centroids.copy()
    full = counts > 0
    centres[full] = sums[full] / counts[full, None]
    return _Setting(part, edges, face, volumes, mass, centres, data=True)


def _edge_csr(n: int, edges: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> scipy.sparse.csr_array:
    import scipy.sparse

    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    csr = scipy.sparse.csr_array((np.concatenate([values, values]), (rows, cols)), shape=(n, n))
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def _entry_positions(csr: scipy.sparse.csr_array, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]) -> Any:
    """Positions of the stored entries (rows[k], cols[k]) of a canonical csr (sorted rows, all present)."""
    n = csr.shape[0]
    key = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr)) * n + csr.indices
    return np.searchsorted(key, rows * n + cols)


def _edge_values(
    csr: scipy.sparse.csr_array, values: npt.NDArray[np.float64], edges: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The value of the entry (i, j) for each edge, where ``values`` is aligned with ``csr.data``."""
    return np.asarray(values[_entry_positions(csr, edges[:, 0], edges[:, 1])], dtype=np.float64)


def _ollivier_on(
    s: _Setting,
    *,
    lengths: npt.NDArray[np.float64],
    nbr_weight: npt.NDArray[np.float64] | None,
    alpha: float,
    method: str,
    n_threads: Any,
    progress: ProgressArg = None,
) -> npt.NDArray[np.float64]:
    """Ollivier κ on the setting's edges with the given edge lengths and neighbour weights
    (m_i(j) ∝ nbr_weight of the entry (i, j); None = uniform)."""
    n = s.part.n_cells
    if len(s.edges) == 0:
        return np.zeros(0)
    # κ is invariant under scaling all lengths; scaling to a unit median keeps the 1e-7 zero-distance
    # threshold of the engine meaningful in any box.
    scale = float(np.median(lengths[lengths > 0])) if (lengths > 0).any() else 1.0
    csr = _edge_csr(n, s.edges, lengths / scale)
    if nbr_weight is None:
        edge, _node = _run_engine(
            csr, alpha=alpha, exp_power=0.0, method=method, n_threads=n_threads, progress=progress
        )
    else:
        raw = _edge_csr(n, s.edges, np.ones(len(s.edges)))
        raw.data[:] = _entry_weights(raw, s.edges, nbr_weight)
        self_mass, nbr_mass = _measures(raw, alpha)
        edge, _node = _run_engine(
            csr,
            alpha=alpha,
            self_mass=self_mass,
            nbr_mass=nbr_mass,
            method=method,
            n_threads=n_threads,
            progress=progress,
        )
    return _edge_values(csr, edge, s.edges)


def _entry_weights(
    raw: scipy.sparse.csr_array, edges: npt.NDArray[np.int64], directed: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Scatter per-edge directed weights ``directed`` (E, 2): [:, 0] for (i→j), [:, 1] for (j→i)."""
    out = np.zeros(len(raw.data))
    out[_entry_positions(raw, edges[:, 0], edges[:, 1])] = directed[:, 0]
    out[_entry_positions(raw, edges[:, 1], edges[:, 0])] = directed[:, 1]
    return out


def _measures(raw: scipy.sparse.csr_array, alpha: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """m_i(i) = α and m_i(j) = (1−α)·r_ij / Σ_k r_ik from raw neighbour weights r (per stored entry).

    A node whose raw weights sum to 0 spreads its (1−α) equally; an isolated node keeps mass 1.
    """
    n = raw.shape[0]
    deg = np.diff(raw.indptr)
    rows = np.repeat(np.arange(n), deg)
    total = np.bincount(rows, weights=raw.data, minlength=n)
    nbr = np.empty(len(raw.data))
    pos = total[rows] > 0
    nbr[pos] = (1.0 - alpha) * raw.data[pos] / total[rows][pos]
    nbr[~pos] = (1.0 - alpha) / deg[rows][~pos]
    self_mass = np.where(deg > 0, alpha, 1.0)
    return np.ascontiguousarray(self_mass), np.ascontiguousarray(nbr)


def edge_curvature(
    cx: Any,
    kind: EdgeKind = "statistical_ricci",
    X: npt.ArrayLike | None = None,
    alpha: float = 0.5,
    *,
    method: Literal["exact", "sinkhorn"] = "exact",
    n_threads: int | None = None,
    return_edges: bool = False,
    progress: ProgressArg = None,
) -> Any:
    """Curvature of every edge (pair of adjacent cells) of a partition or complex.

    Edges are the sorted cell pairs (i < j) sharing a facet, in lexicographic order (the upper
    triangle of ``part.adjacency()``), or, for a complex ``cx`` (anything with ``cx.partition`` and
    ``cx.simplices(1)``), the complex's edges in its order; a complex edge whose cells share no facet
    has face measure 0. ``return_edges=True`` also returns these pairs.

    The cell measure μ is the empirical measure of ``X`` (the fraction of the points of ``X`` in
    each cell; points outside the box are dropped) or, with ``X=None``, Lebesgue measure (each
    cell's share of the box volume). Cell positions c_i are the data centroids (mean of the cell's
    points; the cell centroid for an empty cell), or the cell centroids with ``X=None``.

    kind="statistical_ricci" (default; paper.md §5, [R]: Ollivier type with data-driven measures)
        κ(i, j) = 1 − W₁(m_i, m_j) / d(i, j) with m_i(i) = α and
        m_i(j) = (1−α)·w_ij μ(C_j) / Σ_{k∼i} w_ik μ(C_k), where w_ij is the (d−1)-volume of the shared
        facet; d is the shortest-path distance with edge length ‖c_i − c_j‖. If no neighbour of i
        carries mass, its (1−α) is shared equally. W₁ is exact (transportation simplex, in Rust, in
        parallel over edges) unless ``method="sinkhorn"``. This is :func:`ollivier_ricci`'s engine
        with these measures and lengths.
    kind="ollivier"
        Classical Ollivier–Ricci curvature of the cell adjacency graph: the lazy uniform random walk
        m_i(i) = α, m_i(j) = (1−α)/deg(i), the same lengths ‖c_i − c_j‖. It ignores the cell measure
        (X moves only the centroids).
    kind="forman" (paper.md §5(b), [R])
        Weighted Forman curvature (:func:`forman_curvature`) with edge weights w_e = facet
        (d−1)-volumes and vertex weights w_i = n·μ(C_i), the cell measure relative to the mean cell
        (so a partition into equal cells with equal faces gives exactly 4 − deg(i) − deg(j)).
        Edges without a facet (measure 0) get NaN.

    ``progress`` reports the edges done by the Ollivier engine (the two Ollivier kinds), and Ctrl-C
    stops it, as in :func:`ollivier_ricci`.

    Returns
    -------
    ndarray (n_edges,), or (edges (n_edges, 2) int64, ndarray) with ``return_edges=True``.
    """
    if kind not in EDGE_KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(map(repr, EDGE_KINDS))}; got {kind!r}")
    s = _setting(cx, X)
    values = _edge_kind(s, kind, alpha=alpha, method=method, n_threads=n_threads, progress=progress)
    return (s.edges, values) if return_edges else values


def _edge_kind(
    s: _Setting, kind: str, *, alpha: float, method: str, n_threads: Any, progress: ProgressArg = None
) -> npt.NDArray[np.float64]:
    if len(s.edges) == 0:
        return np.zeros(0)
    lengths = np.linalg.norm(s.centres[s.edges[:, 0]] - s.centres[s.edges[:, 1]], axis=1)
    if kind == "statistical_ricci":
        directed = np.stack([s.face * s.mass[s.edges[:, 1]], s.face * s.mass[s.edges[:, 0]]], axis=1)
        return _ollivier_on(
            s, lengths=lengths, nbr_weight=directed, alpha=alpha, method=method, n_threads=n_threads, progress=progress
        )
    if kind == "ollivier":
        return _ollivier_on(
            s, lengths=lengths, nbr_weight=None, alpha=alpha, method=method, n_threads=n_threads, progress=progress
        )
    return _forman_edges(s)[0]


def _forman_edges(s: _Setting) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Forman F(e) on the setting's edges (NaN for edges without a facet) and F(i) per cell."""
    n = s.part.n_cells
    wv = n * s.mass
    real = s.face > 0
    out = np.full(len(s.edges), np.nan)
    if not real.any():
        return out, np.full(n, np.nan)
    csr = _edge_csr(n, s.edges[real], s.face[real])
    edge, node = _forman(csr, wv)
    out[real] = _edge_values(csr, edge, s.edges[real])
    return out, node


def vertex_curvature(
    cx: Any,
    kind: VertexKind = "forman",
    X: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Curvature of every cell (vertex of the nerve) of a partition or complex, shape (n_cells,).

    The cell measure μ and the data are as in :func:`edge_curvature` (Lebesgue with ``X=None``).

    kind="forman" (paper.md §5(b), [R])
        F(i) = Σ_{e∋i} F(e) / deg(i), the mean weighted Forman curvature of the cell's facets
        (see :func:`edge_curvature`); NaN for a cell without neighbours.
    kind="angle_defect" (paper.md §5(a), [R])
        At each (d−2)-face r inside the box, the angle around r measured with the cell measure,
        Θ(r) = Σ_cells θ_c ρ_c, where θ_c is the cell's interior dihedral angle at r (from the core)
        and ρ_c = (μ(C_c)/vol(C_c)) / (μ(box)/vol(box)) its density relative to the mean density;
        the defect is κ(r) = 2π − Θ(r). With Lebesgue measure ρ = 1 and κ = 0 at every interior
        face (flatness of R^d); with data, κ(r) > 0 where the data around r are sparser than average
        and < 0 where denser. A cell receives the defects of the interior faces on its boundary,
        each in proportion to its share of the angle and times the face's (d−2)-volume:
        K(i) = Σ_{r∋i} (θ_i(r)/Σ_c θ_c(r)) · κ(r) · vol_{d−2}(r), so Σ_i K(i) = Σ_r κ(r) vol_{d−2}(r)
        (discrete Gauss–Bonnet). Faces on the box boundary are left out. Needs the partition's
        ridges (``ridges=True``; forest partitions have none); for d = 1 all zeros.
    kind="mass_defect" (paper.md §5(c), [R]; needs ``X``)
        κ(i) = 1 − μ_n(C_i) / (vol(C_i) · Σ_j w_ij μ_n(C_j) / Σ_j w_ij vol(C_j)), with w_ij the facet
        (d−1)-volumes: the cell's empirical density relative to the face-weighted density of its
        neighbours. 0 for uniform data (in expectation); NaN where the neighbours hold no data.
    """
    if kind not in VERTEX_KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(map(repr, VERTEX_KINDS))}; got {kind!r}")
    if kind == "mass_defect" and X is None:
        raise InvalidInputError("kind='mass_defect' compares empirical densities: pass the data X")
    s = _setting(cx, X)
    return _vertex_kind(s, kind)


def _vertex_kind(s: _Setting, kind: str) -> npt.NDArray[np.float64]:
    if kind == "forman":
        return _forman_edges(s)[1]
    if kind == "angle_defect":
        return _angle_defect(s)
    return _mass_defect(s)


def _angle_defect(s: _Setting) -> npt.NDArray[np.float64]:
    part = s.part
    n = part.n_cells
    if part.dim < 2:
        return np.zeros(n)
    ridges = part.ridges  # raises InvalidInputError when the partition has none
    if len(ridges) == 0:
        return np.zeros(n)
    facets = part.facets
    interior_row = facets.interior[ridges.facets[:, 0]] & facets.interior[ridges.facets[:, 1]]
    n_faces = int(ridges.face.max()) + 1
    boundary_rows = np.bincount(ridges.face, weights=~interior_row, minlength=n_faces)
    face_inside = boundary_rows == 0
    density = np.ones(n)  # Lebesgue measure: exactly 1
    if s.data:
        with np.errstate(invalid="ignore", divide="ignore"):
            density = np.where(s.volumes > 0, (s.mass / s.volumes) * (s.volumes.sum() / s.mass.sum()), 1.0)
    theta = ridges.angles
    angle_sum = np.bincount(ridges.face, weights=theta, minlength=n_faces)
    measured = np.bincount(ridges.face, weights=theta * density[ridges.cell], minlength=n_faces)
    defect = np.where(face_inside, 2.0 * np.pi - measured, 0.0)
    face_volume = np.zeros(n_faces)
    face_volume[ridges.face] = ridges.volumes
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(angle_sum[ridges.face] > 0, theta / angle_sum[ridges.face], 0.0)
    contribution = share * defect[ridges.face] * face_volume[ridges.face]
    return np.bincount(ridges.cell, weights=contribution, minlength=n).astype(np.float64)


def _mass_defect(s: _Setting) -> npt.NDArray[np.float64]:
    n = s.part.n_cells
    e, w = s.edges, s.face
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    ww = np.concatenate([w, w])
    nbr_mass = np.bincount(rows, weights=ww * s.mass[cols], minlength=n)
    nbr_vol = np.bincount(rows, weights=ww * s.volumes[cols], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        nbr_density = nbr_mass / nbr_vol
        expected = s.volumes * nbr_density
        out = 1.0 - s.mass / expected
    return np.where(nbr_density > 0, out, np.nan)


def curvature_report(
    cx: Any,
    X: npt.ArrayLike | None = None,
    *,
    alpha: float = 0.5,
    n_threads: int | None = None,
    progress: ProgressArg = None,
) -> dict[str, Any]:
    """Every curvature of a partition or complex, with quantiles: a plain dict of numpy arrays.

    ``progress`` and Ctrl-C as in :func:`ollivier_ricci` (for each of the two Ollivier kinds).

    Keys:

    * ``"edges"``: (n_edges, 2) int64, the cell pairs (see :func:`edge_curvature`);
    * ``"vertex"``: dict kind → (n_cells,) for "forman", "angle_defect" (when the partition has
      ridges) and "mass_defect" (when ``X`` is given);
    * ``"edge"``: dict kind → (n_edges,) for "statistical_ricci", "ollivier", "forman";
    * ``"quantile_levels"``: the levels (0, 0.05, 0.25, 0.5, 0.75, 0.95, 1);
    * ``"vertex_quantiles"``, ``"edge_quantiles"``: dict kind → quantiles over the finite values
      (NaN if there are none), and ``"vertex_nan"``, ``"edge_nan"``: dict kind → count of NaN values;
    * ``"measure"``: "data" or "lebesgue"; ``"alpha"``.

    Attach the values to ``part.to_networkx()`` with :func:`with_curvature`.
    """
    s = _setting(cx, X)
    vertex: dict[str, npt.NDArray[np.float64]] = {"forman": _vertex_kind(s, "forman")}
    if s.part.dim < 2 or s.part.has_ridges:
        vertex["angle_defect"] = _vertex_kind(s, "angle_defect")
    if s.data:
        vertex["mass_defect"] = _vertex_kind(s, "mass_defect")
    edge = {
        k: _edge_kind(s, k, alpha=alpha, method="exact", n_threads=n_threads, progress=progress) for k in EDGE_KINDS
    }
    levels = np.asarray(QUANTILE_LEVELS)

    def quantiles(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        finite = values[np.isfinite(values)]
        return np.quantile(finite, levels) if finite.size else np.full(levels.shape, np.nan)

    return {
        "edges": s.edges,
        "vertex": vertex,
        "edge": edge,
        "quantile_levels": levels,
        "vertex_quantiles": {k: quantiles(v) for k, v in vertex.items()},
        "edge_quantiles": {k: quantiles(v) for k, v in edge.items()},
        "vertex_nan": {k: int(np.isnan(v).sum()) for k, v in vertex.items()},
        "edge_nan": {k: int(np.isnan(v).sum()) for k, v in edge.items()},
        "measure": "data" if s.data else "lebesgue",
        "alpha": float(alpha),
    }


def with_curvature(graph: nx.Graph[Any], report: dict[str, Any]) -> nx.Graph[Any]:
    """Attach a :func:`curvature_report` to a cell graph (e.g. ``part.to_networkx()``) in place.

    Node i gets one attribute per vertex kind (``"forman"``, ``"angle_defect"``, ``"mass_defect"``)
    and edge (i, j) one per edge kind (``"statistical_ricci"``, ``"ollivier"``, ``"forman"``),
    as floats. Edges of the report missing from the graph are skipped. Returns the graph.
    """
    import networkx as nx

    for kind, values in report["vertex"].items():
        nx.set_node_attributes(graph, dict(enumerate(np.asarray(values, dtype=float).tolist())), kind)
    pairs = [tuple(p) for p in np.asarray(report["edges"]).tolist()]
    for kind, values in report["edge"].items():
        nx.set_edge_attributes(graph, dict(zip(pairs, np.asarray(values, dtype=float).tolist(), strict=True)), kind)
    return graph
