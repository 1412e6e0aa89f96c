"""Scale out on Dask: sharded partitions and data cells too large for one machine (optional; needs
``pip install mlgeom_rs[dask]``).

The single-machine functions take a ``client`` (a ``dask.distributed.Client``) and return the same answer
computed on a cluster::

    part = mg.partition_relu(weights, biases, box, client=client, out="cells/")  # Parquet per shard
    part.n_cells, part.total_volume, part.locate(X), part.adjacency()
    dc = mg.data_cells(model, X_dask_array, client=client)

Sharding needs no merging of cells: a shard is a sign vector on a few first-stage hyperplanes (first-layer
neurons), an independent subtree of the refinement; facets on those hyperplanes are joined across shards by
their face keys. Dask is imported only when a ``client`` is given (or a Dask array passed).
"""

from __future__ import annotations

from typing import Any

from ..exceptions import InvalidInputError
from .model import ModelSpec
from .plan import ShardPlan
from .sharded import ShardedPartition, partition_on_cluster

__all__ = ["ModelSpec", "ShardPlan", "ShardedPartition", "on_cluster", "partition_on_cluster"]


def on_cluster(
    spec: ModelSpec, box: Any, client: Any, *, out: Any, shards: Any, options: dict[str, Any]
) -> ShardedPartition:
    """Checks the arguments of the ``client=`` path of the partition functions and runs it."""
    if client is None:
        raise InvalidInputError("out= and shards= need client= (a dask.distributed.Client)")
    if not hasattr(client, "submit") or not hasattr(client, "gather"):
        raise InvalidInputError(f"client must be a dask.distributed.Client; got {type(client).__name__}")
    return partition_on_cluster(spec, box, client, out=out, shards=shards, options=options)
