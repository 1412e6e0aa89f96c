"""Read a ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` layers (private; torch is imported lazily).

Nothing here runs at ``import mlgeom_rs``: :mod:`mlgeom_rs.models` imports this module only when it
is handed a torch object, and this module imports torch only inside its functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .exceptions import InvalidInputError, UnsupportedModelError

__all__ = ["TorchNet", "is_torch_object", "linear_layers", "read_torch"]

SUPPORTED = (
    "torch.nn.Sequential of Linear and ReLU layers, alternating and starting with Linear (a final ReLU "
    "is allowed; Flatten, Identity and Dropout in eval mode are skipped as no-ops), or a single torch.nn.Linear"
)

# L = Linear, R = ReLU: Linear, then (ReLU, Linear) pairs, then an optional trailing ReLU.
_ALTERNATING = re.compile(r"L(RL)*R?")


def is_torch_object(model: object) -> bool:
    """Whether ``model`` is (or subclasses) a torch class, decided without importing torch."""
    return any(klass.__module__.split(".")[0] == "torch" for klass in type(model).__mro__)


@dataclass(frozen=True)
class TorchNet:
    """The layers of a supported torch model, as float64 numpy arrays in torch layout (out, in)."""

    weights: list[npt.NDArray[np.float64]]
    biases: list[npt.NDArray[np.float64]]
    output_layer: bool
    """Whether the last Linear is an output layer (no ReLU after it)."""
    forward: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
    """The model's own forward pass on points (N, d), returned as float64 (N, n_outputs)."""
    eps: float
    """Machine epsilon of the model's parameter dtype (sets the tolerance of the check)."""


def _walk(module: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    from torch import nn

    for name, child in module.named_children():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Sequential):
            yield from _walk(child, path)
        else:
            yield path, child


def linear_layers(model: Any) -> tuple[list[Any], bool]:
    """The ``nn.Linear`` modules of a supported model, in order, and whether the last is an output layer
    (no ReLU after it); raise :class:`UnsupportedModelError` for anything else. The modules are the
    model's own (their parameters keep their gradients)."""
    from torch import nn

    if isinstance(model, nn.Linear):
        layers: list[tuple[str, Any]] = [("0", model)]
    elif isinstance(model, nn.Sequential):
        layers = list(_walk(model, ""))
    else:
        raise UnsupportedModelError(
            f"torch model of type {type(model).__name__} is not supported; supported: {SUPPORTED}. "
            "A custom nn.Module can often be rewritten as nn.Sequential(Linear, ReLU, ..., Linear)"
        )
    kept: list[tuple[str, Any]] = []
    for path, layer in layers:
        if isinstance(layer, nn.Identity):
            continue
        if isinstance(layer, nn.Flatten):
            if layer.start_dim not in (1, -1) or layer.end_dim != -1:
                raise UnsupportedModelError(
                    f"layer {path} is Flatten(start_dim={layer.start_dim}, end_dim={layer.end_dim}), which is not "
                    f"a no-op on a batch of points (N, d); only Flatten(start_dim=1, end_dim=-1) is skipped. "
                    f"Supported: {SUPPORTED}"
                )
            continue
        if isinstance(layer, nn.Dropout):
            if layer.training and layer.p > 0:
                raise InvalidInputError(
                    f"layer {path} is Dropout(p={layer.p}) in training mode, which makes the model random; "
                    "call model.eval() first"
                )
            continue
        if isinstance(layer, nn.Linear | nn.ReLU):
            kept.append((path, layer))
            continue
        raise UnsupportedModelError(
            f"layer {path} of type {type(layer).__name__} is not supported; supported: {SUPPORTED}"
        )
    kinds = "".join("L" if isinstance(layer, nn.Linear) else "R" for _, layer in kept)
    if not _ALTERNATING.fullmatch(kinds):
        got = ", ".join(type(layer).__name__ for _, layer in kept) or "no Linear or ReLU layer"
        raise UnsupportedModelError(
            f"the layers must alternate Linear and ReLU, starting with Linear; got {got}. Supported: {SUPPORTED}"
        )
    return [layer for _, layer in kept if isinstance(layer, nn.Linear)], kinds.endswith("L")


def read_torch(model: Any) -> TorchNet:
    """Read the Linear layers of ``model``; raise :class:`UnsupportedModelError` for anything else."""
    import torch

    linears, output_layer = linear_layers(model)
    weights, biases = [], []
    for layer in linears:
        weights.append(layer.weight.detach().cpu().double().numpy())
        if layer.bias is None:
            biases.append(np.zeros(layer.out_features, dtype=np.float64))
        else:
            biases.append(layer.bias.detach().cpu().double().numpy())
    param = linears[0].weight
    dtype, device = param.dtype, param.device

    def forward(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        with torch.no_grad():
            # A writable copy: interior_points is read-only, and torch warns about such arrays.
            out = model(torch.as_tensor(np.array(points), dtype=dtype, device=device))
        return np.asarray(out.detach().cpu().double().numpy(), dtype=np.float64).reshape(points.shape[0], -1)

    eps = float(torch.finfo(dtype).eps) if dtype.is_floating_point else float(np.finfo(np.float64).eps)
    return TorchNet(weights, biases, output_layer=output_layer, forward=forward, eps=eps)
