"""Export a :class:`~mlgeom_rs.RiemannianComplex` to Arrow/Parquet, networkx and TopoNetX.

The complex is the nerve of a partition with its compatible inner products (paper.md §2.2–§2.3):
vertex i is cell ``cx.cells[i]``, a k-simplex σ is a row of ``cx.simplices(k)`` and its inner
product is the diagonal mass M_k[σ, σ] (vol_d(C_i) for a vertex, vol_{d−k}(∩_{i∈σ} C_i) for a
generic k-simplex, or the data estimates of ``measure="data"``). Three tables, one row per simplex:

``vertices``
    ``vertex``, ``cell`` (int64), ``label`` (the cell's pattern bits), ``mass`` (M_0), ``centroid``
    (fixed-size list of d float64; for data cells the data centroid, when the complex has ``X``).
``edges``
    ``edge``, ``v0``, ``v1`` (vertex indices, v0 < v1), ``mass`` (M_1), ``intersection_dim``
    (dim ∩ C_i, d − 1 for cells sharing a facet).
``triangles``
    ``triangle``, ``v0``, ``v1``, ``v2``, ``mass`` (M_2), ``intersection_dim``.

With ``curvature=True`` (the default) the vertex table also gets ``curvature_forman`` (and
``curvature_angle_defect`` when the partition has ridges) and the edge table
``curvature_forman`` and ``curvature_statistical_ricci``, from :func:`mlgeom_rs.vertex_curvature`
and :func:`mlgeom_rs.edge_curvature` on the complex (paper.md §5, with the complex's data when it
has ``X``); complexes of data cells carry none (curvature needs the partition's facets).
``columns`` adds any per-simplex arrays. The schema's metadata records the dimension, the nerve,
the measure and the complex's shape.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .exceptions import InvalidInputError, MissingDependencyError

if TYPE_CHECKING:
    import networkx as nx
    import pyarrow as pa

    from .complex import RiemannianComplex

__all__ = ["COMPLEX_TABLES", "to_arrow", "to_networkx", "to_parquet", "to_toponetx"]

ComplexTable = Literal["vertices", "edges", "triangles"]
COMPLEX_TABLES: dict[str, int] = {"vertices": 0, "edges": 1, "triangles": 2}


def _curvature_columns(cx: RiemannianComplex, k: int) -> dict[str, npt.NDArray[np.float64]]:
    from .curvature import edge_curvature, vertex_curvature
    from .partition import Partition

    part = cx.partition
    if not isinstance(part, Partition) or k > 1 or cx.max_dim < 1:
        return {}
    X = cx._X if cx.measure == "data" else None
    if k == 0:
        cells = np.asarray(cx.cells)
        out = {"curvature_forman": vertex_curvature(cx, "forman", X)[cells]}
        if part.dim >= 2 and part.has_ridges:
            out["curvature_angle_defect"] = vertex_curvature(cx, "angle_defect", X)[cells]
        return out
    return {
        "curvature_forman": edge_curvature(cx, "forman", X),
        "curvature_statistical_ricci": edge_curvature(cx, "statistical_ricci", X, progress=False),
    }


def _vertex_positions(cx: RiemannianComplex) -> npt.NDArray[np.float64] | None:
    try:
        return np.asarray(cx._centroids(), dtype=np.float64)[np.asarray(cx.cells)]
    except InvalidInputError:  # data cells without their points
        return None


def to_arrow(
    cx: RiemannianComplex,
    table: ComplexTable = "vertices",
    *,
    curvature: bool = True,
    columns: dict[str, npt.ArrayLike] | None = None,
) -> pa.Table:
    """One table of the complex as a :class:`pyarrow.Table`: ``'vertices'``, ``'edges'`` or ``'triangles'``.

    Columns are described in :mod:`mlgeom_rs.complex_export`; ``columns`` maps extra column names
    to arrays with one row per simplex. Raises :class:`InvalidInputError` for an unknown table, a
    table above ``max_dim``, or an extra column of the wrong length.
    """
    from .export import _column, _pyarrow, _vectors

    pa = _pyarrow()
    if table not in COMPLEX_TABLES:
        raise InvalidInputError(f"table must be one of {', '.join(map(repr, COMPLEX_TABLES))}; got {table!r}")
    k = COMPLEX_TABLES[table]
    if k > cx.max_dim:
        raise InvalidInputError(f"this complex has simplices up to dimension {cx.max_dim} (max_dim); no {table}")
    S = np.asarray(cx.simplices(k))
    n = S.shape[0]
    cols: dict[str, Any] = {table[:-1] if table != "vertices" else "vertex": pa.array(np.arange(n, dtype=np.int64))}
    if k == 0:
        cells = np.asarray(cx.cells)
        cols["cell"] = pa.array(cells)
        labels = cx.partition.labels
        cols["label"] = pa.array([labels[c] for c in cells.tolist()], type=pa.string())
    else:
        for j in range(k + 1):
            cols[f"v{j}"] = pa.array(np.ascontiguousarray(S[:, j]))
    cols["mass"] = pa.array(np.asarray(cx.mass_vector(k)))
    if k == 0:
        positions = _vertex_positions(cx)
        if positions is not None:
            cols["centroid"] = _vectors(pa, positions)
    else:
        cols["intersection_dim"] = pa.array(np.asarray(cx.intersection_dim(k)))
    extra: dict[str, Any] = dict(_curvature_columns(cx, k)) if curvature else {}
    extra.update(columns or {})
    for name, values in extra.items():
        arr = np.asarray(values)
        if arr.ndim == 0 or arr.shape[0] != n:
            raise InvalidInputError(f"column {name!r} needs {n} rows (one per simplex); got shape {arr.shape}")
        cols[str(name)] = _column(pa, arr)
    meta = {
        "table": table,
        "complex": "RiemannianComplex",
        "dim": cx.dim,
        "nerve": cx.nerve,
        "measure": cx.measure,
        "max_dim": cx.max_dim,
        "shape": list(cx.shape),
    }
    return pa.table(cols).replace_schema_metadata({b"mlgeom_rs": json.dumps(meta).encode()})


def to_parquet(
    cx: RiemannianComplex, path: str | os.PathLike[str], table: ComplexTable = "vertices", **kwargs: Any
) -> None:
    """Write one table of the complex (see :func:`to_arrow`) to a Parquet file; ``curvature`` and
    ``columns`` go to :func:`to_arrow`, other keywords to :func:`pyarrow.parquet.write_table`."""
    from .export import _pyarrow

    _pyarrow()
    import pyarrow.parquet as pq

    options = {key: kwargs.pop(key) for key in ("curvature", "columns") if key in kwargs}
    pq.write_table(to_arrow(cx, table, **options), os.fspath(path), **kwargs)


def to_networkx(cx: RiemannianComplex) -> nx.Graph[int]:
    """The 1-skeleton of the complex as a :class:`networkx.Graph`.

    Nodes are the vertices 0..n_0−1 with attributes ``cell``, ``label``, ``mass`` (M_0) and
    ``centroid`` (tuple; when known); edges carry ``mass`` (M_1, the facet area for the Lebesgue
    measure) and ``intersection_dim``. The graph attributes hold ``dim``, ``nerve``, ``measure``,
    ``shape`` and, when ``max_dim >= 2``, ``triangles`` (a list of vertex triples).
    """
    import networkx as nx

    graph: nx.Graph[int] = nx.Graph(dim=cx.dim, nerve=cx.nerve, measure=cx.measure, shape=cx.shape)
    cells = np.asarray(cx.cells).tolist()
    labels = cx.partition.labels
    mass0 = cx.mass_vector(0).tolist()
    positions = _vertex_positions(cx)
    centroid = positions.tolist() if positions is not None else None
    graph.add_nodes_from(
        (
            i,
            {"cell": c, "label": labels[c], "mass": mass0[i]}
            | ({"centroid": tuple(centroid[i])} if centroid is not None else {}),
        )
        for i, c in enumerate(cells)
    )
    if cx.max_dim >= 1:
        graph.add_edges_from(
            (a, b, {"mass": m, "intersection_dim": k})
            for (a, b), m, k in zip(
                cx.simplices(1).tolist(), cx.mass_vector(1).tolist(), cx.intersection_dim(1).tolist(), strict=True
            )
        )
    if cx.max_dim >= 2:
        graph.graph["triangles"] = [tuple(t) for t in cx.simplices(2).tolist()]
    return graph


def to_toponetx(cx: RiemannianComplex) -> Any:
    """The complex as a TopoNetX ``SimplicialComplex`` (``pip install toponetx``).

    Every simplex of dimension 0..max_dim is added (isolated vertices too), labelled by vertex
    index; each carries the attribute ``mass`` (its diagonal inner product M_k[σ, σ]) and vertices
    also ``cell``. Raises :class:`MissingDependencyError` when TopoNetX is not installed.
    """
    try:
        from toponetx.classes import SimplicialComplex
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "toponetx":
            raise
        raise MissingDependencyError(
            "RiemannianComplex.to_toponetx needs TopoNetX, which is not installed: pip install toponetx "
            "(or the extra: pip install mlgeom_rs[topology])",
            name="toponetx",
        ) from exc
    sc = SimplicialComplex()
    for k in range(cx.max_dim + 1):
        rows = [tuple(s) for s in cx.simplices(k).tolist()]
        if not rows:
            continue
        sc.add_simplices_from(rows)
        sc.set_simplex_attributes(dict(zip(rows, cx.mass_vector(k).tolist(), strict=True)), name="mass")
    cells = np.asarray(cx.cells).tolist()
    sc.set_simplex_attributes({(i,): c for i, c in enumerate(cells)}, name="cell")
    return sc
