"""Choosing shards: sign vectors on a few first-stage hyperplanes, balanced by estimated work.

A shard is the region where some pattern bits of the model's *first stage* (the hyperplanes of an
arrangement, the first-layer neurons of a ReLU network) have fixed values. Refining only inside it is an
independent subtree of the binary-space-partition refinement (DESIGN §4), so every cell lies in exactly one
shard and no cell is ever merged. The shards are the leaves of a small decision tree over those bits.

Balance by work, not by count: a cheap first pass partitions the box by a subset of the first-stage
hyperplanes (at most ``coarse_cells`` cells by Buck's bound); the number of coarse cells in a region estimates
the density of final cells there (the cells of a random sub-arrangement follow the cell density of the whole,
Clarkson & Shor 1989). The heaviest leaf is split by the candidate bit that halves its coarse cells most evenly,
until there are ``n_shards`` leaves or no leaf can be split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..box import Box
from ..exceptions import InvalidInputError

__all__ = ["ShardPlan", "balanced_plan", "grid_plan"]

Shard = tuple[tuple[int, bool], ...]


@dataclass(frozen=True)
class ShardPlan:
    """The shards of a sharded partition: ``shards[s]`` is a tuple of (bit, value) constraints.

    ``estimates[s]`` is the estimated work of shard s (coarse cells inside it; 0 for shards known to be
    empty, NaN when not estimated). Shards are disjoint and cover the sign space of ``bits``.
    """

    shards: tuple[Shard, ...]
    estimates: npt.NDArray[np.float64]

    @property
    def bits(self) -> tuple[int, ...]:
        """Every pattern bit some shard constrains, ascending."""
        return tuple(sorted({j for shard in self.shards for j, _ in shard}))

    def route(self, patterns: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """The shard of each row of full bool ``patterns`` (N, m): int64 (N,), -1 if none matches."""
        out = np.full(patterns.shape[0], -1, dtype=np.int64)
        for s, shard in enumerate(self.shards):
            mask = np.ones(patterns.shape[0], dtype=bool)
            for j, value in shard:
                mask &= patterns[:, j] == value
            out[mask] = s
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "shards": [[[j, v] for j, v in shard] for shard in self.shards],
            "estimates": [None if math.isnan(e) else float(e) for e in self.estimates.tolist()],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ShardPlan:
        shards = tuple(tuple((int(j), bool(v)) for j, v in shard) for shard in data["shards"])  # type: ignore[attr-defined]
        est = np.array([np.nan if e is None else e for e in data["estimates"]], dtype=np.float64)  # type: ignore[attr-defined]
        return cls(shards, est)


def grid_plan(bits: list[int] | tuple[int, ...], n_bits: int) -> ShardPlan:
    """All 2^k sign vectors of the given bits (some may hold no cell), bit order as given."""
    bits = [int(j) for j in bits]
    if len(set(bits)) != len(bits) or any(not 0 <= j < n_bits for j in bits):
        raise InvalidInputError(f"shards must be distinct bit indices in [0, {n_bits}); got {bits}")
    if len(bits) > 16:
        raise InvalidInputError(f"{len(bits)} sharding bits make 2^{len(bits)} shards; use at most 16")
    shards = tuple(tuple((j, bool(s >> k & 1)) for k, j in enumerate(bits)) for s in range(1 << len(bits)))
    return ShardPlan(shards, np.full(len(shards), np.nan))


def _crossing(W: npt.NDArray[np.float64], c: npt.NDArray[np.float64], box: Box) -> npt.NDArray[np.int64]:
    """Rows whose hyperplane meets the open box (min < 0 < max of W x + c over the box)."""
    low = c + np.minimum(W * box.lo, W * box.hi).sum(axis=1)
    high = c + np.maximum(W * box.lo, W * box.hi).sum(axis=1)
    return np.flatnonzero((low < 0) & (high > 0) & W.any(axis=1))


def _subset_size(d: int, budget: int) -> int:
    r = 1
    while sum(math.comb(r + 1, k) for k in range(min(r + 1, d) + 1)) <= budget:
        r += 1
    return r


def balanced_plan(
    W: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    box: Box,
    n_shards: int,
    *,
    coarse_cells: int = 20_000,
) -> ShardPlan:
    """Up to ``n_shards`` shards over the first-stage hyperplanes ``W x + c = 0``, balanced by a coarse pass."""
    from ..partition import partition_hyperplanes

    crossing = _crossing(W, c, box)
    if n_shards <= 1 or crossing.size == 0:
        return ShardPlan(((),), np.ones(1))
    r = min(crossing.size, _subset_size(box.dim, coarse_cells))
    sub = crossing[np.linspace(0, crossing.size - 1, r).round().astype(np.int64)]
    sub = np.unique(sub)
    coarse = partition_hyperplanes(W[sub], c[sub], box, ridges=False, vertices=False, n_threads=1, progress=False)
    bits = np.asarray(coarse.patterns)  # (n_coarse, len(sub)): column k is bit sub[k]
    leaves: list[tuple[Shard, npt.NDArray[np.int64]]] = [((), np.arange(bits.shape[0]))]
    final: list[tuple[Shard, npt.NDArray[np.int64]]] = []
    while leaves and len(leaves) + len(final) < n_shards:
        leaves.sort(key=lambda leaf: -leaf[1].size)
        shard, members = leaves.pop(0)
        used = {j for j, _ in shard}
        ones = bits[members].sum(axis=0)
        balance = np.abs(2 * ones - members.size).astype(np.float64)
        balance[(ones == 0) | (ones == members.size)] = np.inf
        balance[[k for k, j in enumerate(sub.tolist()) if j in used]] = np.inf
        k = int(np.argmin(balance))
        if not np.isfinite(balance[k]):
            final.append((shard, members))
            continue
        j = int(sub[k])
        on = bits[members, k]
        leaves += [(shard + ((j, False),), members[~on]), (shard + ((j, True),), members[on])]
    done = sorted(leaves + final, key=lambda leaf: leaf[0])
    return ShardPlan(tuple(s for s, _ in done), np.array([m.size for _, m in done], dtype=np.float64))
