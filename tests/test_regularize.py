"""GeometricPenalty and neuron_geometry: the five penalties of paper.md §6 with autograd."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mlgeom_rs as mg  # noqa: E402
from mlgeom_rs.forms import LayerTrace  # noqa: E402
from mlgeom_rs.regularize import TERMS, GeometricPenalty, neuron_geometry  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The nets here are tiny: torch's thread pool only adds spin-waiting (badly so on a loaded 2-CPU runner)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mlp(sizes, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(dtype)


def _term(pen, net, x, name):
    """One unweighted term as a float (evaluated without building a graph)."""
    with torch.no_grad():
        return float(pen.terms(net, x, which=(name,))[name])


def _lines(normals, offsets, out=None, dtype=torch.float64):
    """A one-hidden-layer net whose neurons are the lines n·x + c = 0, with a linear output layer."""
    W = torch.tensor(normals, dtype=dtype)
    b = torch.tensor(offsets, dtype=dtype)
    V = torch.tensor(out if out is not None else [[1.0] * len(offsets)], dtype=dtype)
    return [W.requires_grad_(), V.requires_grad_()], [b.requires_grad_(), torch.zeros(V.shape[0], dtype=dtype)]


def test_import_is_lazy():
    code = (
        "import sys, mlgeom_rs, mlgeom_rs.regularize, mlgeom_rs.forms; mlgeom_rs.GeometricPenalty(); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_neuron_geometry_matches_autograd():
    model = _mlp([3, 6, 5, 2])
    x = torch.randn(7, 3, dtype=torch.float64)
    geo = neuron_geometry(model, x)
    assert geo.grad.shape == (7, 11, 3) and geo.out_grad.shape == (7, 2, 11)
    assert geo.layer.tolist() == [0] * 6 + [1] * 5
    for t in range(7):
        z1 = lambda v: model[0](v)  # noqa: E731
        z2 = lambda v: model[2](model[1](model[0](v)))  # noqa: E731
        jac = torch.cat([torch.autograd.functional.jacobian(z1, x[t]), torch.autograd.functional.jacobian(z2, x[t])])
        torch.testing.assert_close(geo.grad[t], jac)
        # u_k = ∂y/∂h_k: the output's derivative with respect to each hidden activation.
        h1 = torch.relu(model[0](x[t]))
        u1 = torch.autograd.functional.jacobian(lambda h: model[4](model[3](model[2](h))), h1)
        torch.testing.assert_close(geo.out_grad[t, :, :6], u1)
        torch.testing.assert_close(geo.out_grad[t, :, 6:], model[4].weight)
    dist = geo.pre.abs() / geo.grad.norm(dim=-1)
    torch.testing.assert_close(geo.distance, dist)


def test_fold_jump_is_rank_one():
    """Across neuron k's facet only bit k flips: A_j - A_i = ±u_k g_kᵀ, so ‖A_i - A_j‖² = ‖u_k‖² ‖g_k‖²."""
    model = _mlp([3, 6, 5, 2], seed=3)
    ws = [m.weight.detach().numpy() for m in model if isinstance(m, torch.nn.Linear)]
    x = torch.randn(20, 3, dtype=torch.float64)
    geo = neuron_geometry(model, x)
    for t in range(20):
        s = geo.pattern[t].numpy()
        for k in range(11):

            def output_jacobian(bits):
                D1, D2 = np.diag(bits[:6].astype(float)), np.diag(bits[6:].astype(float))
                return ws[2] @ D2 @ ws[1] @ D1 @ ws[0]

            flipped = s.copy()
            flipped[k] = not flipped[k]
            jump = np.sum((output_jacobian(flipped) - output_jacobian(s)) ** 2)
            expected = float(((geo.out_grad[t, :, k] ** 2).sum() * geo.grad_sq[t, k]).detach())
            assert jump == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_are_finite(dtype):
    model = _mlp([2, 16, 16, 1], dtype=dtype)
    with torch.no_grad():
        model[0].weight[3] = 0.0  # a dead neuron (zero gradient) and one with zero pre-activation too
        model[0].bias[3] = 0.0
        model[2].weight[5] = 0.0
    x = torch.randn(128, 2, dtype=dtype)
    pen = GeometricPenalty(1.0, 1.0, 1.0, 1.0, 1.0)
    loss = pen(model, x, sample_weight=torch.rand(128, dtype=dtype) + 0.5)
    assert loss.dtype == dtype and loss.ndim == 0
    loss.backward()
    assert set(pen.last_terms) == set(TERMS)
    for v in pen.last_terms.values():
        assert torch.isfinite(v) and float(v) >= 0 and not v.requires_grad
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) >= 4 and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    total = sum(pen.weights[k] * pen.last_terms[k] for k in TERMS)
    assert float(loss.detach()) == pytest.approx(float(total), rel=1e-5)


def test_boundary_margin_zero_far_positive_near():
    x = torch.rand(200, 2, dtype=torch.float64)  # in the unit square
    pen = GeometricPenalty(margin=0.05)
    far = _lines([[1.0, 0.0]], [-3.0])  # x = 3, 2 away from every point
    near = _lines([[1.0, 0.0]], [-0.5])  # x = 0.5 through the data
    p_far = _term(pen, far, x, "boundary_margin")
    p_near = _term(pen, near, x, "boundary_margin")
    assert p_far < 1e-12 and p_near > 0.01
    # A boundary through a point costs about one, whatever the weight scale (distances, not values).
    on = torch.tensor([[0.5, 0.3]], dtype=torch.float64)
    for scale in (1.0, 100.0):
        net = _lines([[scale, 0.0]], [-0.5 * scale])
        assert _term(pen, net, on, "boundary_margin") == pytest.approx(math.log1p(math.exp(5.0)) / 5.0)


def test_acute_angle_zero_for_wide_angles_positive_for_narrow():
    x = 0.02 * torch.randn(100, 2, dtype=torch.float64)  # data around the origin, where the lines cross
    pen = GeometricPenalty(min_angle=math.pi / 6)
    right = _lines([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    narrow = _lines([[1.0, 0.0], [math.cos(0.2), math.sin(0.2)]], [0.0, 0.0])  # 0.2 rad ≈ 11°
    far_narrow = _lines([[1.0, 0.0], [math.cos(0.2), math.sin(0.2)]], [-5.0, -5.0])
    a = {
        name: _term(pen, net, x, "acute_angle")
        for name, net in (("right", right), ("narrow", narrow), ("far", far_narrow))
    }
    assert a["right"] == 0.0 and a["far"] == 0.0 and a["narrow"] > 0.01
    wide = GeometricPenalty(min_angle=math.pi / 6, angle_neighbors=2)  # the two nearest boundaries: the same pairs
    assert _term(wide, narrow, x, "acute_angle") == pytest.approx(a["narrow"])


def test_boundary_area_is_the_coarea_estimate():
    """Uniform data on [0,1]²: (1/n) Σ_t Σ_k δ_ε(d_tk) ≈ Σ_k length of the line inside the square."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(40000, 2, dtype=torch.float64, generator=gen)
    pen = GeometricPenalty(bandwidth=0.02)
    one = _lines([[1.0, 0.0]], [-0.5])  # length 1
    two = _lines([[1.0, 0.0], [1.0, 1.0]], [-0.5, -1.0])  # lengths 1 and √2
    far = _lines([[1.0, 0.0]], [-4.0])
    area = lambda net: _term(pen, net, x, "boundary_area")  # noqa: E731
    assert area(one) == pytest.approx(1.0, rel=0.05)
    assert area(two) == pytest.approx(1.0 + math.sqrt(2.0), rel=0.05)
    assert area(far) < 1e-12


def test_fold_zero_without_a_jump_positive_with_one():
    x = torch.rand(300, 2, dtype=torch.float64)
    pen = GeometricPenalty()
    fold = lambda net: _term(pen, net, x, "fold")  # noqa: E731
    # The output ignores the neuron: the function does not bend across its boundary.
    assert fold(_lines([[1.0, 0.0]], [-0.5], out=[[0.0]])) == 0.0
    assert fold(_lines([[1.0, 0.0]], [-0.5], out=[[2.0]])) > 0.1
    assert fold(_lines([[1.0, 0.0]], [-3.0], out=[[2.0]])) < 1e-12
    # One hidden layer: the exact value (1/B) Σ_t Σ_k δ_ε(d_tk) ‖V_k‖² ‖W_k‖².
    W, V = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[0.5, -1.0], [2.0, 1.0]])
    c = np.array([-1.0, 0.2])
    net = _lines(W.tolist(), c.tolist(), out=V.tolist())
    X = x.numpy()
    d = np.abs(X @ W.T + c) / np.linalg.norm(W, axis=1)
    eps = pen.bandwidth
    bump = np.exp(-0.5 * (d / eps) ** 2) / (eps * math.sqrt(2 * math.pi))
    expected = np.mean(bump @ ((V**2).sum(0) * (W**2).sum(1)))
    assert fold(net) == pytest.approx(expected, rel=1e-10)


def test_volume_balance_zero_for_equal_cells_positive_for_unequal():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(400, 2, dtype=torch.float64, generator=gen)
    pen = GeometricPenalty()
    vb = lambda net: _term(pen, net, x, "volume_balance")  # noqa: E731
    assert vb(_lines([[1.0, 0.0]], [-3.0])) == 0.0  # one data cell
    balanced = vb(_lines([[1.0, 0.0]], [-0.5]))  # two halves: equal largest balls (up to sampling)
    unbalanced = vb(_lines([[1.0, 0.0]], [-0.95]))  # a sliver strip of width 0.05 beside a wide cell
    assert balanced < 0.01 and unbalanced > 1.0


def test_margin_steps_move_boundaries_away_from_the_data():
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_moons

    X, _ = make_moons(n_samples=300, noise=0.1, random_state=0)
    model = _mlp([2, 16, 16, 1], seed=2)
    pen = GeometricPenalty(boundary_margin=1.0, acute_angle=0.0, fold=0.0, margin=0.1)
    xt = torch.as_tensor(X)

    def measure():
        weights = [m.weight.detach().numpy() for m in model if isinstance(m, torch.nn.Linear)]
        biases = [m.bias.detach().numpy() for m in model if isinstance(m, torch.nn.Linear)]
        dist = LayerTrace((weights, biases), X).boundary_distance()
        return float(np.mean(dist)), int(np.sum(dist < 0.1))

    before_mean, before_close = measure()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    values = []
    for _ in range(30):
        opt.zero_grad()
        loss = pen(model, xt)
        loss.backward()
        opt.step()
        values.append(float(loss.detach()))
    after_mean, after_close = measure()
    assert values[-1] < 0.7 * values[0]
    assert after_mean > before_mean and after_close < before_close


def test_weights_and_validation():
    model = _mlp([2, 4, 1])
    x = torch.randn(10, 2, dtype=torch.float64)
    off = GeometricPenalty(0.0, 0.0, 0.0, 0.0, 0.0)
    assert float(off(model, x)) == 0.0 and off.last_terms == {}
    only = GeometricPenalty(boundary_margin=2.0, acute_angle=0.0, fold=0.0)
    value = only(model, x)
    assert set(only.last_terms) == {"boundary_margin"}
    assert float(value.detach()) == pytest.approx(2.0 * float(only.last_terms["boundary_margin"]))
    assert "boundary_margin=2" in repr(only)
    with pytest.raises(mg.InvalidInputError):
        GeometricPenalty(fold=-1.0)
    with pytest.raises(mg.InvalidInputError):
        GeometricPenalty(margin=0.0)
    with pytest.raises(mg.InvalidInputError):
        GeometricPenalty(min_angle=2.0)
    with pytest.raises(mg.InvalidInputError):
        only(model, torch.randn(10, 3, dtype=torch.float64))
    with pytest.raises(mg.InvalidInputError):
        only.terms(model, x, which=("curvature",))
    with pytest.raises(mg.UnsupportedModelError):
        only(object(), x)
    with pytest.raises(mg.InvalidInputError):
        only(torch.nn.Sequential(torch.nn.Linear(2, 1)).double(), x)  # no hidden neurons
