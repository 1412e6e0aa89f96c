"""Export a partition to Apache Arrow tables and Parquet files (pyarrow, imported lazily).

Three tables, one row per cell, facet or ridge, with the same columns as the numpy arrays of
:class:`~mlgeom_rs.Partition`, :class:`~mlgeom_rs.FacetTable` and :class:`~mlgeom_rs.RidgeTable`:

``cells``
    ``cell`` (int64), ``label`` (string: the pattern bits), ``volume`` (float64), ``centroid`` and
    ``interior_point`` (fixed-size lists of d float64), and ``prediction`` for a partition made from
    a model (:func:`mlgeom_rs.partition`): the model's prediction at the interior point (a scalar
    column, or a fixed-size list for several outputs).
``facets``
    ``facet``, ``cell_a``, ``cell_b`` (-1 on the box boundary), ``area``, ``normal`` (unit, from
    ``cell_a`` to ``cell_b``), ``centroid``, ``hyperplane`` (-1 on the box), ``box_face`` (-1 inside).
``ridges``
    ``ridge``, ``cell``, ``facet_a``, ``facet_b``, ``face``, ``angle`` (interior dihedral angle,
    radians), ``volume`` ((d-2)-volume).

The schema's metadata records the dimension, the box and the number of hyperplanes, so a table
read back from Parquet is self-describing. pyarrow is an optional dependency
(``pip install mlgeom_rs[arrow]``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .exceptions import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from .partition import Partition

__all__ = ["TABLES", "to_arrow", "to_parquet"]

Table = Literal["cells", "facets", "ridges"]
TABLES: tuple[Table, ...] = ("cells", "facets", "ridges")


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "Arrow/Parquet export needs pyarrow: pip install pyarrow (or the extra: pip install mlgeom_rs[arrow])"
        ) from exc
    return pyarrow


def _vectors(pa: Any, arr: npt.NDArray[np.float64]) -> Any:
    """(n, k) float64 as a fixed-size list column of k float64."""
    n, k = arr.shape
    flat = pa.array(np.ascontiguousarray(arr, dtype=np.float64).reshape(-1), type=pa.float64())
    return pa.FixedSizeListArray.from_arrays(flat, k) if n or k else pa.array([], type=pa.list_(pa.float64(), k))


def _column(pa: Any, values: npt.NDArray[Any]) -> Any:
    if values.ndim == 2:
        if values.dtype.kind in "iub":
            flat = pa.array(values.reshape(-1))
            return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        return _vectors(pa, values.astype(np.float64))
    if values.dtype.kind in "OU":
        return pa.array([str(v) for v in values.tolist()], type=pa.string())
    return pa.array(values)


def _metadata(part: Partition, table: str) -> dict[bytes, bytes]:
    meta = {
        "table": table,
        "dim": part.dim,
        "n_hyperplanes": part.n_hyperplanes,
        "box_lo": part.box.lo.tolist(),
        "box_hi": part.box.hi.tolist(),
        "partition": type(part).__name__,
    }
    return {b"mlgeom_rs": json.dumps(meta).encode()}


def to_arrow(part: Partition, table: Table = "cells") -> pa.Table:
    """One table of ``part`` as a :class:`pyarrow.Table` (``'cells'``, ``'facets'`` or ``'ridges'``).

    Columns are described in :mod:`mlgeom_rs.export`. Raises :class:`InvalidInputError` for an
    unknown table, or for ``'ridges'`` of a partition computed with ``ridges=False``.
    """
    pa = _pyarrow()
    if table == "cells":
        n = part.n_cells
        cols: dict[str, Any] = {
            "cell": pa.array(np.arange(n, dtype=np.int64)),
            "label": pa.array(part.labels, type=pa.string()),
            "volume": pa.array(np.asarray(part.volumes)),
            "centroid": _vectors(pa, np.asarray(part.centroids)),
            "interior_point": _vectors(pa, np.asarray(part.interior_points)),
        }
        predictions = getattr(part, "predictions", None)
        if predictions is not None:
            cols["prediction"] = _column(pa, np.asarray(predictions))
    elif table == "facets":
        f = part.facets
        cells = np.asarray(f.cells)
        cols = {
            "facet": pa.array(np.arange(len(f), dtype=np.int64)),
            "cell_a": pa.array(cells[:, 0]),
            "cell_b": pa.array(cells[:, 1]),
            "area": pa.array(np.asarray(f.areas)),
            "normal": _vectors(pa, np.asarray(f.normals)),
            "centroid": _vectors(pa, np.asarray(f.centroids)),
            "hyperplane": pa.array(np.asarray(f.hyperplane)),
            "box_face": pa.array(np.asarray(f.box_face)),
        }
    elif table == "ridges":
        r = part.ridges
        facets = np.asarray(r.facets).reshape(-1, 2)
        cols = {
            "ridge": pa.array(np.arange(len(r), dtype=np.int64)),
            "cell": pa.array(np.asarray(r.cell)),
            "facet_a": pa.array(facets[:, 0]),
            "facet_b": pa.array(facets[:, 1]),
            "face": pa.array(np.asarray(r.face)),
            "angle": pa.array(np.asarray(r.angles)),
            "volume": pa.array(np.asarray(r.volumes)),
        }
    else:
        raise InvalidInputError(f"table must be one of {', '.join(map(repr, TABLES))}; got {table!r}")
    out = pa.table(cols)
    return out.replace_schema_metadata(_metadata(part, table))


def to_parquet(part: Partition, path: str | os.PathLike[str], table: Table = "cells", **kwargs: Any) -> None:
    """Write one table of ``part`` (see :func:`to_arrow`) to a Parquet file; ``kwargs`` go to
    :func:`pyarrow.parquet.write_table` (e.g. ``compression='zstd'``)."""
    _pyarrow()
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(part, table), os.fspath(path), **kwargs)
