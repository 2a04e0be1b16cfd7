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


# ------------------------------------------------------------------ time grid in the dtype used
def test_time_grid_checked_in_the_state_dtype():
    """Distinct float64 times that round to the same float32 value are refused naming t (the old
    code validated float64 t, then cast it and failed inside torchdiffeq)."""
    t = torch.tensor([1e8, 1e8 + 0.5, 1e8 + 1], dtype=F64)  # float32 spacing at 1e8 is 8 s
    y0 = torch.ones(1, 1, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"t must be strictly increasing once cast to torch.float32.*given"):
        odeint(lambda t, x: -x, y0, t)
    with pytest.raises(ValueError, match=r"t contains non-finite values \(NaN or Inf\) once cast to torch.float32"):
        odeint(lambda t, x: -x, y0, torch.tensor([0.0, 1e39], dtype=F64))  # > float32 max 3.4e38
    # the same grid in float64 is fine and reaches the solver
    out = odeint(lambda t, x: -x, y0.double(), t, method="rk4", step_size=0.25)
    assert out.shape == (1, 3, 1) and out.dtype == F64


def test_integer_y0_is_refused_naming_y0():
    with pytest.raises(TypeError, match="y0 must be a floating-point tensor.*int64"):
        odeint(lambda t, x: -x, torch.ones(1, 1, dtype=torch.int64), torch.tensor([0.0, 1.0], dtype=F64))
    with pytest.raises(TypeError, match="t must hold real times"):
        odeint(lambda t, x: -x, torch.ones(1, 1, dtype=F64), torch.tensor([0, 1j]))


def test_fixed_step_list_is_physics_one_and_check_dt_runs_first():
    """One list of torchdiffeq fixed-step methods; a ShallowWater step beyond its CFL limit is
    refused before integrating (old code: "total depth H + eta must be > 0" deep in the solver)."""
    from hybridocean.integrate import FIXED_STEP_METHODS
    from physics.shallow_water import ShallowWater, gaussian_bump
    from physics.stepping import TORCHDIFFEQ_FIXED_STEP

    assert FIXED_STEP_METHODS is TORCHDIFFEQ_FIXED_STEP and {"heun2", "heun3"} <= set(FIXED_STEP_METHODS)
    grid = Grid(16, 16, Lx=1.6e6, Ly=1.6e6, f0=1e-4)
    model = ShallowWater(grid, H=100.0)
    y0 = gaussian_bump(grid, 1.0)
    t = torch.tensor([0.0, 43200.0], dtype=F64)  # no step_size: heun3 would take one 12-hour step
    with pytest.raises(ValueError, match=r"dt = 43200 s violates the CFL limit of method 'heun3'"):
        odeint(model, y0, t, method="heun3")
    cfl = r"CFL limit of method .rk4.: Courant number .* = 2.2\d > 1.41 .*sqrt\(g H\) = 31\.\d+ m/s"
    with pytest.raises(ValueError, match=cfl):
        odeint(model, y0, t, method="rk4", step_size=5000.0)
    dt = 0.5 * model.dt_max(y0, "rk4")
    out = odeint(model, y0, torch.tensor([0.0, 4 * dt], dtype=F64), method="rk4", step_size=dt)
    assert bool(torch.isfinite(out).all())
