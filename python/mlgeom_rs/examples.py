"""Built-in arrangements: Figure 1 of Gajer & Ravel (arXiv 2508.02080) and seeded random ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from .box import Box
from .partition import Partition, partition_hyperplanes

__all__ = ["Example", "demo_examples", "figure1", "random_arrangement"]


@dataclass(frozen=True, eq=False)
class Example:
    """A named arrangement: hyperplanes ``normals @ x + offsets = 0`` in ``box``."""

    name: str
    description: str
    normals: npt.NDArray[np.float64]
    offsets: npt.NDArray[np.float64]
    box: Box

    def partition(self, **options: Any) -> Partition:
        """``partition_hyperplanes(normals, offsets, box, **options)``."""
        # options without client= give a Partition (the first overload)
        return cast("Partition", partition_hyperplanes(self.normals, self.offsets, self.box, **options))


def figure1(a: float = 0.3, b: float = 0.6) -> Example:
    """Figure 1: the unit square cut by the lines x1 = a and x2 = b.

    Bit 1 is ``x1 > a``, bit 2 is ``x2 > b``; the cells ``00, 01, 10, 11`` have areas
    ``ab, a(1-b), (1-a)b, (1-a)(1-b)`` (0.18, 0.12, 0.42, 0.28 for the defaults).
    """
    return Example(
        name="figure1",
        description=f"Figure 1: lines x1={a:g}, x2={b:g} in the unit square",
        normals=np.array([[1.0, 0.0], [0.0, 1.0]]),
        offsets=np.array([-a, -b]),
        box=Box(0.0, 1.0, dim=2),
    )


def random_arrangement(m: int, d: int, seed: int = 0) -> Example:
    """m random hyperplanes in the unit cube [0, 1]^d, each through a uniform point of the cube
    with a uniformly random unit normal, so every one of them crosses the box."""
    rng = np.random.default_rng(seed)
    normals = rng.standard_normal((m, d))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    points = rng.uniform(0.0, 1.0, (m, d))
    offsets = -np.einsum("ij,ij->i", normals, points)
    return Example(
        name=f"random-{d}d",
        description=f"{m} random hyperplanes in [0,1]^{d} (seed {seed})",
        normals=normals,
        offsets=offsets,
        box=Box(0.0, 1.0, dim=d),
    )


def demo_examples(seed: int = 0) -> tuple[Example, ...]:
    """The examples that ``python -m mlgeom_rs demo`` runs."""
    return (
        figure1(),
        random_arrangement(40, 2, seed),
        random_arrangement(12, 3, seed),
    )
