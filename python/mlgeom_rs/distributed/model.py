"""What a shard task needs to know about the model: a small picklable spec (private module).

``ModelSpec`` holds the inputs of :func:`mlgeom_rs.partition_hyperplanes` or :func:`mlgeom_rs.partition_relu`
(small arrays, shipped to every task), builds the partition of one shard, and computes the sign pattern of
points (bit j = ``W[j]·x + c[j] > 0``, or the network's pre-activation > 0), which routes points to shards and
to cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..box import Box
from ..partition import Partition, _readonly

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """``kind='hyperplanes'``: ``weights=[W]``, ``biases=[c]``. ``kind='relu'``: the layers, torch layout."""

    kind: str
    weights: tuple[npt.NDArray[np.float64], ...]
    biases: tuple[npt.NDArray[np.float64], ...]
    output_layer: bool = True

    @property
    def n_bits(self) -> int:
        if self.kind == "hyperplanes":
            return int(self.weights[0].shape[0])
        hidden = self.weights[:-1] if self.output_layer else self.weights
        return int(sum(w.shape[0] for w in hidden))

    @property
    def first_stage(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The hyperplanes the shards are cut along (bits 0..len-1 of the pattern)."""
        return self.weights[0], self.biases[0]

    def partition(self, box: Box, shard: list[tuple[int, bool]] | None, **options: Any) -> Partition:
        """The partition of one shard (all of the box for ``shard=None``), as the single-machine API builds it."""
        from .. import _core
        from ..relu import ReluPartition

        if self.kind == "hyperplanes":
            native = _core.partition_hyperplanes(
                self.weights[0], self.biases[0], box.lo, box.hi, shard=shard, **options
            )
            return Partition(native, box, _readonly(self.weights[0].copy()), _readonly(self.biases[0].copy()))
        native = _core.partition_relu(
            list(self.weights),
            list(self.biases),
            box.lo,
            box.hi,
            output_layer=self.output_layer,
            shard=shard,
            **options,
        )
        hidden = self.weights[:-1] if self.output_layer else self.weights
        return ReluPartition(
            native,
            box,
            [w.shape[0] for w in hidden],
            list(self.weights),
            list(self.biases),
            output_layer=self.output_layer,
        )

    def patterns(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Bool (N, n_bits) sign patterns of the rows of ``X`` (pre-activations > 0, layers in order)."""
        if self.kind == "hyperplanes":
            return np.asarray(X @ self.weights[0].T + self.biases[0] > 0)
        hidden = self.weights[:-1] if self.output_layer else self.weights
        h, bits = X, []
        for w, b in zip(hidden, self.biases, strict=False):
            z = h @ w.T + b
            bits.append(z > 0)
            h = np.maximum(z, 0.0)
        return np.concatenate(bits, axis=1) if bits else np.zeros((X.shape[0], 0), dtype=bool)
