"""Geometric regularization of ReLU networks during training (paper.md §6), in PyTorch.

Gajer & Ravel (arXiv 2508.02080) propose "geometric regularization that directly penalizes
problematic spatial configurations" of the partition a model induces. The five penalties here are
our reading of that claim (paper.md §6, tagged [R]): differentiable surrogates evaluated at the
points of a batch, i.e. on its data-containing cells.

At a point x_t every hidden neuron k has a pre-activation z_k(x_t) and an input gradient
g_k = ∇_x z_k, the pulled-back 1-form a_k of the point's cell (paper.md §7). Both are computed for the
whole batch at once by propagating the Jacobian through the layers with the activation pattern held
constant (straight-through: the pattern is recomputed every call and treated as a constant, and
gradients flow through z and g into the weights). From them:

* d_tk = |z_k(x_t)| / ‖g_k‖, the distance from x_t to neuron k's boundary inside its cell (the
  minimum over k is the exact distance to the cell's boundary);
* n_k = g_k / ‖g_k‖, the unit normal of that boundary;
* u_k = ∂y/∂h_k, the output's sensitivity to neuron k's activation with the pattern held. Across the
  facet that neuron k carries, only bit k flips, so the output Jacobian jumps by the rank-one matrix
  ±u_k g_kᵀ and ‖A_i − A_j‖²_F = ‖u_k‖² ‖g_k‖² exactly.

torch is imported only inside the functions; ``import mlgeom_rs`` does not import it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

from .exceptions import InvalidInputError, UnsupportedModelError

if TYPE_CHECKING:
    import torch

__all__ = ["GeometricPenalty", "NeuronGeometry", "neuron_geometry"]

TERMS = ("boundary_margin", "acute_angle", "boundary_area", "fold", "volume_balance")


class NeuronGeometry(NamedTuple):
    """Per point and hidden neuron (layers concatenated, K neurons) of a batch (B points); see :func:`neuron_geometry`."""

    pre: torch.Tensor
    """(B, K) pre-activations z_k(x_t)."""
    grad: torch.Tensor
    """(B, K, d) input gradients g_k = ∇_x z_k at x_t (the pulled-back 1-forms)."""
    grad_sq: torch.Tensor
    """(B, K) ‖g_k‖²."""
    distance: torch.Tensor
    """(B, K) |z_k| / ‖g_k‖, the distance to neuron k's boundary in x_t's cell; inf where g_k = 0."""
    live: torch.Tensor
    """(B, K) bool: g_k ≠ 0 (neuron k varies on x_t's cell, so it has a boundary there)."""
    pattern: torch.Tensor
    """(B, K) bool activation pattern z_k > 0 (no gradient)."""
    out_grad: torch.Tensor
    """(B, n_out, K) u_k = ∂y/∂h_k with the pattern held (y: the output layer, or the last hidden layer)."""
    layer: torch.Tensor
    """(K,) int64: the hidden layer (0-based) of each neuron."""


def _torch_layers(model: Any) -> tuple[list[tuple[Any, Any]], bool]:
    """[(W, b or None), ...] of a torch Sequential / Linear or a (weights, biases) pair of tensor lists."""
    from . import _torch

    if isinstance(model, tuple | list) and len(model) == 2 and all(isinstance(p, list | tuple) for p in model):
        ws, bs = model
        if len(ws) != len(bs) or not ws:
            raise InvalidInputError("give one weight tensor and one bias tensor per layer, at least one layer")
        return list(zip(ws, bs, strict=True)), True
    if _torch.is_torch_object(model):
        linears, output_layer = _torch.linear_layers(model)
        return [(lin.weight, lin.bias) for lin in linears], output_layer
    raise UnsupportedModelError(
        f"GeometricPenalty needs a torch model: a torch.nn.Sequential of Linear and ReLU layers or a (weights, "
        f"biases) pair of lists of tensors; got {type(model).__name__}"
    )


def neuron_geometry(model: Any, x: Any) -> NeuronGeometry:
    """Pre-activations, input gradients, boundary distances and output sensitivities of every hidden neuron.

    One batched pass, no loop over points: with s_l the (constant) pattern of layer l,
    z_l = W_l h_{l-1} + b_l, G_l = ∇_x z_l = W_l J_{l-1}, h_l = s_l ⊙ z_l, J_l = s_l ⊙ G_l (J_0 = I), and
    backwards U_L = W_out (or I), U_{l-1} = (U_l ⊙ s_l) W_l. Cost O(B d Σ_l w_l w_{l-1}).

    Parameters
    ----------
    model : torch.nn.Sequential of Linear/ReLU, or ([W_1, ...], [b_1, ...]) tensors (last layer linear)
    x : tensor or array (B, d)
        Converted to the dtype and device of the first weight.
    """
    import torch

    layers, output_layer = _torch_layers(model)
    W0 = layers[0][0]
    x = torch.as_tensor(x, dtype=W0.dtype, device=W0.device)
    if x.ndim != 2 or x.shape[1] != W0.shape[1]:
        raise InvalidInputError(f"x must have shape (B, {W0.shape[1]}); got {tuple(x.shape)}")
    hidden = layers[:-1] if output_layer else layers
    if not hidden:
        raise InvalidInputError("the network has no hidden layer; there are no neuron boundaries to regularize")
    B = x.shape[0]
    zs, gs, ss, masks = [], [], [], []
    # Jacobians are kept transposed, (B, d, w): then W_l J_{l-1} is one GEMM over the batch (B·d rows).
    h, JT = x, None
    for W, b in hidden:
        z = h @ W.T if b is None else torch.addmm(b, h, W.T)
        GT = W.T.unsqueeze(0).expand(B, -1, -1) if JT is None else JT @ W.T
        on = (z > 0).detach()
        s = on.to(z.dtype)
        h, JT = z * s, GT * s.unsqueeze(1)
        zs.append(z)
        gs.append(GT)
        ss.append(s)
        masks.append(on)
    if output_layer:
        U = layers[-1][0].unsqueeze(0).expand(B, -1, -1)
    else:
        w_last = hidden[-1][0].shape[0]
        U = torch.eye(w_last, dtype=x.dtype, device=x.device).unsqueeze(0).expand(B, -1, -1)
    us = [U]
    for l in range(len(hidden) - 1, 0, -1):
        U = torch.matmul(U * ss[l].unsqueeze(1), hidden[l][0])
        us.append(U)
    us.reverse()
    pre = torch.cat(zs, dim=1)
    grad_t = torch.cat(gs, dim=2)  # (B, d, K)
    grad_sq = (grad_t * grad_t).sum(1)
    grad = grad_t.transpose(1, 2)
    live = grad_sq > 0
    # Double-where: the dead entries never see a zero denominator, so no NaN reaches the gradients.
    norm = torch.sqrt(torch.where(live, grad_sq, torch.ones_like(grad_sq)))
    distance = torch.where(live, pre.abs() / norm, torch.full_like(pre, math.inf))
    layer = torch.cat([torch.full((z.shape[1],), l, dtype=torch.int64, device=x.device) for l, z in enumerate(zs)])
    return NeuronGeometry(pre, grad, grad_sq, distance, live, torch.cat(masks, dim=1), torch.cat(us, dim=2), layer)


class GeometricPenalty:
    """Differentiable penalties on the partition of a ReLU network near the data (paper.md §6).

    ``pen(model, xb)`` returns Σ_j weight_j · P_j over the terms with a nonzero weight, a scalar
    tensor to add to the task loss; ``pen.last_terms`` keeps the unweighted values (detached). With
    B points x_t, hidden neurons k, d_tk, n_k, u_k as in :mod:`mlgeom_rs.regularize`, per-point
    weights w_t (``sample_weight``, default 1; pass 1/p(x_t) to turn the data-weighted boundary
    measures into Lebesgue ones), τ = ``margin``, ρ = ``radius`` (default 4τ), ε = ``bandwidth``
    (default τ), δ_ε the Gaussian bump of width ε and β = ``sharpness``:

    1. ``boundary_margin`` P_1 = (1/B) Σ_t Σ_k softplus(β (1 − d_tk/τ)) / β: boundaries (sliver cells)
       within about τ of a data point; ≈ 1 per boundary through a point, ≈ 0 beyond 2τ.
    2. ``acute_angle`` P_2 = (1/B) Σ_t Σ_{k<l} ν_tk ν_tl relu(|n_k·n_l| − cos θ_0), ν = relu(1 − d/ρ)²:
       pairs of boundaries that both pass within ρ of a point and meet at less than θ_0 = ``min_angle``.
       The pairs are taken among each point's ``angle_neighbors`` nearest boundaries (exact whenever
       no more than that many pass within ρ of it), so the cost is O(B m²), not O(B K²).
    3. ``boundary_area`` P_3 = (1/B) Σ_t w_t Σ_k δ_ε(d_tk): the coarea estimate of Σ_k ∫_{z_k=0} p dS (with
       w = 1/p: of Σ_k vol_{d-1}{z_k = 0}). The paper's δ_ε(z)‖∇z‖ with the bump measured in distance.
    4. ``fold`` P_4 = (1/B) Σ_t w_t Σ_k δ_ε(d_tk) ‖u_k‖² ‖g_k‖²: the coarea estimate of
       Σ_{adjacent cells i,j} μ(F_ij) ‖A_i − A_j‖²_F (μ the data-weighted facet measure), using the exact
       rank-one jump of the output Jacobian across neuron k's facet. It is in output units: the logits
       of a classifier keep growing under cross-entropy, so there keep its weight small (or 0).
    5. ``volume_balance`` P_5 = Var_i log ρ_i over the batch's data cells, ρ_i = max_{t∈i} min_k d_tk (a
       ball inside cell i, so log vol C_i ≈ d log ρ_i + const; the factor d² is dropped).

    Cells and patterns are recomputed at every call and held constant (straight-through). Cost per call
    O(B d Σ w_l w_{l-1}) plus O(B m² d) for the angle term (m = ``angle_neighbors``); terms with weight 0
    are skipped. Works for any float dtype and device of the model.
    """

    def __init__(
        self,
        boundary_margin: float = 1.0,
        acute_angle: float = 0.1,
        boundary_area: float = 0.0,
        fold: float = 0.1,
        volume_balance: float = 0.0,
        margin: float = 0.05,
        *,
        min_angle: float = math.pi / 6,
        radius: float | None = None,
        bandwidth: float | None = None,
        sharpness: float = 5.0,
        angle_neighbors: int = 16,
    ) -> None:
        weights = dict(zip(TERMS, (boundary_margin, acute_angle, boundary_area, fold, volume_balance), strict=True))
        for name, value in weights.items():
            if not (math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{name} must be a finite weight >= 0; got {value!r}")
        scales: tuple[tuple[str, float | None], ...] = (
            ("margin", margin),
            ("sharpness", sharpness),
            ("radius", radius),
            ("bandwidth", bandwidth),
        )
        for name, scale in scales:
            if scale is not None and not (math.isfinite(scale) and scale > 0):
                raise InvalidInputError(f"{name} must be finite and > 0; got {scale!r}")
        if int(angle_neighbors) != angle_neighbors or angle_neighbors < 2:
            raise InvalidInputError(f"angle_neighbors must be an integer >= 2; got {angle_neighbors!r}")
        if not 0 < min_angle <= math.pi / 2:
            raise InvalidInputError(f"min_angle must be in (0, pi/2] radians; got {min_angle!r}")
        self.weights: dict[str, float] = {k: float(v) for k, v in weights.items()}
        self.margin = float(margin)
        self.min_angle = float(min_angle)
        self.radius = float(radius) if radius is not None else 4.0 * self.margin
        self.bandwidth = float(bandwidth) if bandwidth is not None else self.margin
        self.sharpness = float(sharpness)
        self.angle_neighbors = int(angle_neighbors)
        self.last_terms: dict[str, torch.Tensor] = {}

    def terms(
        self,
        model: Any,
        x: Any,
        *,
        sample_weight: Any = None,
        which: tuple[str, ...] | None = None,
    ) -> dict[str, torch.Tensor]:
        """The unweighted penalties (differentiable scalars), all five or those named in ``which``."""
        import torch

        names = TERMS if which is None else tuple(which)
        unknown = set(names) - set(TERMS)
        if unknown:
            raise InvalidInputError(f"unknown terms {sorted(unknown)}; the terms are {list(TERMS)}")
        geo = neuron_geometry(model, x)
        B = geo.pre.shape[0]
        dtype, device = geo.pre.dtype, geo.pre.device
        if sample_weight is None:
            w = torch.ones(B, dtype=dtype, device=device)
        else:
            w = torch.as_tensor(sample_weight, dtype=dtype, device=device).reshape(-1)
            if w.shape[0] != B:
                raise InvalidInputError(f"sample_weight must have one entry per point ({B}); got {w.shape[0]}")
        live = geo.live
        zero = torch.zeros_like(geo.pre)
        # Finite stand-in for the distance of dead neurons; every term masks them out with `live`.
        d = torch.where(live, geo.distance, zero)
        out: dict[str, torch.Tensor] = {}
        bump = None
        if "boundary_area" in names or "fold" in names:
            eps = self.bandwidth
            bump = torch.where(live, torch.exp(-0.5 * (d / eps) ** 2) / (eps * math.sqrt(2 * math.pi)), zero)
        for name in names:
            if name == "boundary_margin":
                beta = self.sharpness
                phi = torch.nn.functional.softplus(beta * (1.0 - d / self.margin)) / beta
                out[name] = torch.where(live, phi, zero).sum(1).mean()
            elif name == "acute_angle":
                out[name] = self._acute_angle(geo, d)
            elif name == "boundary_area":
                assert bump is not None
                out[name] = (w * bump.sum(1)).mean()
            elif name == "fold":
                assert bump is not None
                jump = (geo.out_grad**2).sum(1) * geo.grad_sq
                out[name] = (w * (bump * jump).sum(1)).mean()
            elif name == "volume_balance":
                out[name] = _volume_balance(geo)
        return out

    def _acute_angle(self, geo: NeuronGeometry, d: torch.Tensor) -> torch.Tensor:
        """P_2 over the ``angle_neighbors`` nearest boundaries of each point (all pairs within ρ when they are fewer)."""
        import torch

        K = geo.pre.shape[1]
        m = min(self.angle_neighbors, K)
        far = torch.full_like(d, math.inf)
        idx = torch.topk(torch.where(geo.live, d, far).detach(), m, dim=1, largest=False).indices  # (B, m)
        live = geo.live.gather(1, idx)
        dist = d.gather(1, idx)
        zero = torch.zeros_like(dist)
        nu = torch.where(live, torch.relu(1.0 - dist / self.radius) ** 2, zero)
        grad = geo.grad.gather(1, idx.unsqueeze(-1).expand(-1, -1, geo.grad.shape[2]))  # (B, m, d)
        sq = geo.grad_sq.gather(1, idx)
        norm = torch.sqrt(torch.where(live, sq, torch.ones_like(sq)))
        normals = grad / norm.unsqueeze(-1)
        cos = torch.matmul(normals, normals.transpose(1, 2)).abs()
        excess = torch.relu(cos - math.cos(self.min_angle))
        upper = torch.triu(torch.ones(m, m, dtype=torch.bool, device=d.device), diagonal=1)
        pair = nu.unsqueeze(2) * nu.unsqueeze(1) * excess
        return torch.where(upper, pair, torch.zeros_like(pair)).sum((1, 2)).mean()

    def __call__(self, model: Any, x: Any, *, sample_weight: Any = None) -> torch.Tensor:
        """Σ_j weight_j · P_j over the terms with a nonzero weight (a differentiable scalar tensor)."""
        import torch

        which = tuple(name for name in TERMS if self.weights[name] > 0)
        if not which:
            self.last_terms = {}
            first = _torch_layers(model)[0][0][0]
            return torch.zeros((), dtype=first.dtype, device=first.device)
        values = self.terms(model, x, sample_weight=sample_weight, which=which)
        self.last_terms = {k: v.detach() for k, v in values.items()}
        total = sum((self.weights[k] * v for k, v in values.items()), start=torch.zeros_like(values[which[0]]))
        return total

    def __repr__(self) -> str:
        w = ", ".join(f"{k}={v:g}" for k, v in self.weights.items())
        return (
            f"GeometricPenalty({w}, margin={self.margin:g}, min_angle={self.min_angle:.4g}, radius={self.radius:g}, "
            f"bandwidth={self.bandwidth:g}, sharpness={self.sharpness:g}, angle_neighbors={self.angle_neighbors})"
        )


def _volume_balance(geo: NeuronGeometry) -> torch.Tensor:
    """Var_i log ρ_i, ρ_i = max over the cell's points of their distance to the cell boundary."""
    import torch

    inf = torch.full_like(geo.pre, math.inf)
    r = torch.where(geo.live, geo.distance, inf).amin(1)  # exact distance to the cell boundary
    tiny = torch.finfo(r.dtype).tiny
    log_r = torch.log(r.clamp_min(tiny))
    _, cell = torch.unique(geo.pattern.to(torch.uint8), dim=0, return_inverse=True)
    n_cells = int(cell.max()) + 1
    log_rho = torch.full((n_cells,), -math.inf, dtype=r.dtype, device=r.device)
    log_rho = log_rho.scatter_reduce(0, cell, log_r, reduce="amax", include_self=False)
    ok = torch.isfinite(log_rho)
    vals = log_rho[ok]
    if vals.shape[0] < 2:
        return (vals * 0).sum()
    return ((vals - vals.mean()) ** 2).mean()
