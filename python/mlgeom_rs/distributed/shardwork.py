"""One shard task: refine the shard, turn it into Arrow tables, write them atomically (private module).

Runs on a Dask worker (no Dask import needed here). The tables are those of :mod:`mlgeom_rs.export` with
shard-local cell and facet ids, plus what the final join needs: ``pattern`` (packed bits) per cell, and per
facet ``cut`` (the facet lies on the shard boundary; its other cell is in another shard) with the 128-bit face
key (``key_hi``, ``key_lo``) that both sides share; per ridge the key of its (d-2)-face. ``cuts`` repeats the
cut facets' key, cell and geometry, plus a bound on each one's area error (``area_error``), so that the join
reads nothing else.

A shard written to ``out`` goes to a temporary directory first and is renamed to ``shard-NNNNN`` only when
every file is complete, so a task killed mid-write never leaves a shard that looks finished; a rerun of a
task whose shard exists already (Dask may run a task twice after a worker loss) keeps the existing copy
(the result is deterministic).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
import uuid
from typing import Any

import numpy as np

from ..box import Box
from ..export import to_arrow
from .model import ModelSpec

__all__ = ["TABLE_NAMES", "run_shard", "shard_dir"]

TABLE_NAMES = ("cells", "facets", "ridges", "cuts")


def shard_dir(out: str, s: int) -> str:
    return os.path.join(out, f"shard-{s:05d}")


def _tables(
    spec: ModelSpec, box: Box, shard: list[tuple[int, bool]], options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shard's Arrow tables, and its float-mode audit (``snapped`` decisions, ``tolerance``)."""
    import pyarrow as pa

    part = spec.partition(box, shard, **options)
    native = part._native
    cells = to_arrow(part, "cells")
    nbytes = (spec.n_bits + 7) // 8
    packed = np.ascontiguousarray(part.packed_patterns).reshape(-1)
    cells = cells.append_column(
        "pattern",
        pa.FixedSizeBinaryArray.from_buffers(pa.binary(nbytes), part.n_cells, [None, pa.py_buffer(packed.tobytes())])
        if nbytes
        else pa.array([b""] * part.n_cells, type=pa.binary()),
    )
    if spec.kind == "relu":
        jac, off = part.affine_maps  # type: ignore[attr-defined]
        out = np.einsum("nod,nd->no", jac, np.asarray(part.interior_points)) + off
        flat = pa.array(out.reshape(-1))
        cells = cells.append_column("prediction", pa.FixedSizeListArray.from_arrays(flat, out.shape[1]))
    facets = to_arrow(part, "facets")
    n_f = facets.num_rows
    cut = np.zeros(n_f, dtype=bool)
    keys = np.zeros((n_f, 2), dtype=np.uint64)
    cut_ids = native.cut_facets()
    cut[cut_ids] = True
    keys[cut_ids] = native.cut_keys()
    facets = facets.append_column("cut", pa.array(cut))
    facets = facets.append_column("key_hi", pa.array(keys[:, 0])).append_column("key_lo", pa.array(keys[:, 1]))
    # The cut facets again, alone: the join reads only these. ``area_error`` bounds the error of each one's area
    # measured from its cell here (cut facet ids ascend, as the filter keeps them), so the join can require the
    # two shards' areas of one facet to agree to the sum of their bounds.
    cuts = facets.filter(pa.array(cut)).select(
        ["key_hi", "key_lo", "cell_a", "area", "normal", "centroid", "hyperplane"]
    )
    cuts = cuts.append_column("area_error", pa.array(native.cut_area_errors()))
    tables = {"cells": cells, "facets": facets, "cuts": cuts}
    if part.has_ridges:
        ridges = to_arrow(part, "ridges")
        rkeys = native.ridge_keys()
        ridges = ridges.append_column("key_hi", pa.array(rkeys[:, 0])).append_column("key_lo", pa.array(rkeys[:, 1]))
        tables["ridges"] = ridges
    audit = {
        "snapped": int(native.snapped),
        "tolerance": float(native.tolerance),
        # What the volume sum over all shards may be off by (``_core.volume_sum_allowance``).
        "facet_area_sum": float(native.cell_facet_area_sum),
        "local_reach": float(native.local_reach),
    }
    return tables, audit


def run_shard(
    spec: ModelSpec,
    box: Box,
    s: int,
    shard: list[tuple[int, bool]],
    options: dict[str, Any],
    out: str | None,
) -> dict[str, Any]:
    """Compute shard ``s``; write it under ``out`` (returning its metadata) or return its tables in memory."""
    start, cpu_start = time.perf_counter(), time.process_time()
    tables, audit = _tables(spec, box, shard, options)
    cells = tables["cells"]
    meta: dict[str, Any] = {
        "shard": s,
        **audit,
        "n_cells": cells.num_rows,
        "volume": float(np.asarray(cells.column("volume")).sum()) if cells.num_rows else 0.0,
        "n_facets": tables["facets"].num_rows,
        "n_cut": int(np.asarray(tables["facets"].column("cut")).sum()),
        "bytes": int(sum(t.nbytes for t in tables.values())),
        "seconds": time.perf_counter() - start,
        # CPU seconds of the worker process meanwhile (the task's own work on a worker with one thread).
        "cpu_seconds": time.process_time() - cpu_start,
        # Peak resident memory of this worker process so far (KiB on Linux).
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "pid": os.getpid(),
    }
    if out is None:
        return {"meta": meta, "tables": tables}
    import pyarrow.parquet as pq

    final = shard_dir(out, s)
    if os.path.isdir(final):
        with open(os.path.join(final, "meta.json")) as fh:  # done by a previous run of this task
            done: dict[str, Any] = json.load(fh)
        return done
    tmp = os.path.join(out, f".tmp-shard-{s:05d}-{uuid.uuid4().hex}")
    os.makedirs(tmp)
    try:
        for name, table in tables.items():
            pq.write_table(table, os.path.join(tmp, f"{name}.parquet"))
        with open(os.path.join(tmp, "meta.json"), "w") as fh:
            json.dump(meta, fh)
        try:
            os.rename(tmp, final)
        except OSError:
            if not os.path.isdir(final):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another run of this task finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta
