"""hybridocean.integrate.odeint: accuracy, layout, adjoint == backprop gradients, input checks."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hybridocean.hybrid import HybridModel
from hybridocean.integrate import odeint
from hybridocean.networks import MLP, ConvResNet
from physics.grid import Grid
from physics.pendulum import DampedPendulum
from physics.reaction_diffusion import ReactionDiffusion

F64 = torch.float64


class Decay(nn.Module):
    """dx/dt = -k x, with a learnable rate k: exact solution x0 exp(-k t)."""

    def __init__(self, k: float = 0.7) -> None:
        super().__init__()
        self.k = nn.Parameter(torch.tensor(k, dtype=F64))

    def forward(self, t, x):
        return -self.k * x


def test_layout_and_exact_solution(device):
    x0 = torch.tensor([[1.0, -2.0], [0.5, 3.0], [0.0, 1.0]], dtype=F64, device=device)
    t = torch.linspace(0.0, 2.0, 7, dtype=F64, device=device)
    func = Decay().to(device)
    x = odeint(func, x0, t, rtol=1e-11, atol=1e-13)
    assert x.shape == (3, 7, 2)  # batch first: (batch, T, *state)
    assert torch.equal(x[:, 0], x0)
    exact = x0[:, None, :] * torch.exp(-0.7 * t)[None, :, None]
    # dopri5 at rtol 1e-11 over t in [0, 2] with |x| <= 3: global error well below 1e-9.
    torch.testing.assert_close(x, exact, rtol=0, atol=1e-9)


def test_fixed_step_rk4_is_fourth_order():
    """step_size reaches the solver: halving it divides the rk4 error by ~2^4 = 16."""
    x0 = torch.tensor([[1.0]], dtype=F64)
    t = torch.tensor([0.0, 2.0], dtype=F64)
    exact = math.exp(-0.7 * 2.0)
    with torch.no_grad():
        errs = [abs(float(odeint(Decay(), x0, t, method="rk4", step_size=h)[0, -1, 0]) - exact) for h in (0.2, 0.1)]
    order = math.log2(errs[0] / errs[1])
    # asymptotic regime (k h <= 0.14): the observed order is 4 to within a few percent.
    assert 3.8 < order < 4.2, (errs, order)


def _grads(model, x0, t, adjoint):
    for p in model.parameters():
        p.grad = None
    x0 = x0.clone().requires_grad_(True)
    x = odeint(model, x0, t, adjoint=adjoint, rtol=1e-12, atol=1e-12)
    # a loss with a non-trivial adjoint at every output time
    loss = (x**2).mean() + x[:, -1].sin().sum()
    loss.backward()
    return [x0.grad.clone()] + [p.grad.clone() for p in model.parameters() if p.requires_grad]


def _assert_same_grads(model, x0, t):
    direct = _grads(model, x0, t, adjoint=False)
    adj = _grads(model, x0, t, adjoint=True)
    assert len(direct) == len(adj) >= 3
    for g_d, g_a in zip(direct, adj):
        # both solve to rtol=atol=1e-12 in float64; the adjoint's error is O(tolerance), so
        # agreement to 1e-6 relative (atol 1e-9 for near-zero entries) is a strict check.
        torch.testing.assert_close(g_a, g_d, rtol=1e-6, atol=1e-9)


def test_adjoint_matches_backprop_pendulum_mlp():
    torch.manual_seed(0)
    phys = DampedPendulum(omega0_sq=1.0, alpha=0.3, learnable=("omega0_sq", "alpha"))
    model = HybridModel(phys, MLP(2, hidden=16, layers=2, activation="tanh")).to(F64)
    x0 = torch.tensor([[0.8, 0.0], [-0.5, 0.7]], dtype=F64)
    t = torch.linspace(0.0, 3.0, 5, dtype=F64)
    _assert_same_grads(model, x0, t)


def test_adjoint_matches_backprop_conv_field():
    torch.manual_seed(1)
    grid = Grid(8, 8, dx=2.0 / 8, dy=2.0 / 8, boundary="periodic", dtype=F64)
    phys = ReactionDiffusion(grid, reaction=False, learnable=("a", "b"))
    net = ConvResNet(2, hidden=4, layers=1, boundary="periodic", activation="tanh", init_gain=0.1)
    model = HybridModel(phys, net).to(F64)
    x0 = 0.5 * torch.randn(2, 2, 8, 8, dtype=F64)
    t = torch.linspace(0.0, 0.5, 3, dtype=F64)
    _assert_same_grads(model, x0, t)


def test_adjoint_with_plain_callable_gives_y0_gradient():
    x0 = torch.tensor([[1.0, 2.0]], dtype=F64, requires_grad=True)
    t = torch.tensor([0.0, 1.5], dtype=F64)
    out = odeint(lambda t, x: -0.5 * x, x0, t, adjoint=True, rtol=1e-12, atol=1e-12)
    out[:, -1].sum().backward()
    # d x(T) / d x0 = exp(-0.5 T)
    torch.testing.assert_close(x0.grad, torch.full_like(x0, math.exp(-0.75)), rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    "t, match",
    [
        (torch.tensor([0.0, 1.0, 1.0]), "t must be strictly increasing"),
        (torch.tensor([0.0, 2.0, 1.0]), r"t\[2\]"),
        (torch.tensor([[0.0, 1.0]]), "t must be 1-D"),
        (torch.tensor([0.0]), "t must be 1-D with at least 2"),
        (torch.tensor([0.0, float("nan")]), "t contains non-finite"),
    ],
)
def test_bad_time_grid(t, match):
    with pytest.raises(ValueError, match=match):
        odeint(Decay(), torch.ones(1, 1, dtype=F64), t.to(F64))


def test_bad_y0_and_options():
    t = torch.tensor([0.0, 1.0], dtype=F64)
    with pytest.raises(ValueError, match="y0 contains non-finite"):
        odeint(Decay(), torch.tensor([[float("nan")]], dtype=F64), t)
    with pytest.raises(ValueError, match=r"y0 must be shaped \(batch, \*state\)"):
        odeint(Decay(), torch.ones(3, dtype=F64), t)
    with pytest.raises(TypeError, match="y0 must be a torch.Tensor"):
        odeint(Decay(), [[1.0]], t)
    with pytest.raises(ValueError, match="step_size is for fixed-step methods"):
        odeint(Decay(), torch.ones(1, 1, dtype=F64), t, method="dopri5", step_size=0.1)
    with pytest.raises(ValueError, match="step_size must be a finite number > 0"):
        odeint(Decay(), torch.ones(1, 1, dtype=F64), t, method="rk4", step_size=-0.1)


def test_func_output_shape_checked():
    t = torch.tensor([0.0, 1.0], dtype=F64)
    with pytest.raises(ValueError, match=r"func must return dX/dt with the state's shape \(2, 3\)"):
        odeint(lambda t, x: x[:, :2], torch.ones(2, 3, dtype=F64), t)
