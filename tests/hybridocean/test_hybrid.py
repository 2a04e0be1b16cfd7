"""hybridocean.hybrid.HybridModel: F = F_p + F_a, its modes, physical parameters, input checks."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from hybridocean.hybrid import HybridModel
from hybridocean.integrate import odeint
from hybridocean.networks import MLP, ConvResNet
from physics.grid import Grid
from physics.pendulum import OMEGA0_SQ, DampedPendulum
from physics.reaction_diffusion import ReactionDiffusion

F64 = torch.float64


def _pendulum_hybrid(**kw) -> HybridModel:
    torch.manual_seed(0)
    phys = DampedPendulum(omega0_sq=1.3, alpha=0.1, learnable=("omega0_sq", "alpha"))
    return HybridModel(phys, MLP(2, hidden=8, layers=2), **kw).to(F64)


def test_forward_is_sum_of_terms_and_modes():
    model = _pendulum_hybrid()
    x = torch.tensor([[0.3, -0.2], [1.0, 0.5]], dtype=F64)
    t = torch.tensor(0.0, dtype=F64)
    fp = model.physics(t, x)
    fa = model.network(x)
    assert torch.equal(model.physics_term(t, x), fp)
    assert torch.equal(model.augmentation(t, x), fa)
    torch.testing.assert_close(model(t, x), fp + fa, rtol=0, atol=0)
    assert model.mode == "hybrid"
    model.augment = False  # F_a switched off: Param ODE forecasts from the same object
    assert model.mode == "physics"
    assert torch.equal(model(t, x), fp)
    assert torch.equal(model.augmentation(t, x), torch.zeros_like(x))
    node = HybridModel(None, model.network)  # Neural ODE
    assert node.mode == "network" and torch.equal(node(t, x), fa)
    assert node.physical_parameters() == {}
    param = HybridModel(model.physics, None)
    assert param.mode == "physics" and torch.equal(param(t, x), fp)
    # the pendulum RHS at x = (0.3, -0.2): (omega, -omega0^2 sin(theta) - alpha omega)
    torch.testing.assert_close(fp[0], torch.tensor([-0.2, -1.3 * torch.sin(torch.tensor(0.3, dtype=F64)) + 0.02], dtype=F64))


def test_physical_parameters_in_physical_units_and_gradients():
    model = _pendulum_hybrid()
    p = model.physical_parameters()
    assert p == pytest.approx({"omega0_sq": 1.3, "alpha": 0.1}, rel=1e-12)
    x0 = torch.tensor([[0.5, 0.0]], dtype=F64)
    x = odeint(model, x0, torch.linspace(0, 1, 3, dtype=F64), method="rk4", step_size=0.1)
    x.pow(2).sum().backward()
    assert model.physics.params["omega0_sq"].raw.grad is not None
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in model.network.parameters())
    true = HybridModel(DampedPendulum(), None)
    assert true.physical_parameters()["omega0_sq"] == pytest.approx(OMEGA0_SQ, rel=1e-6)  # float32 default


def test_field_hybrid_shapes():
    grid = Grid(8, 8, dx=0.25, dy=0.25, boundary="periodic", dtype=F64)
    model = HybridModel(ReactionDiffusion(grid, learnable=True), ConvResNet(2, hidden=4, layers=1)).to(F64)
    x = torch.randn(3, 2, 8, 8, dtype=F64)
    assert model(torch.tensor(0.0), x).shape == x.shape
    assert set(model.physical_parameters()) == {"a", "b", "k"}


class _WrongShape(nn.Module):
    def forward(self, x):
        return x[:, :1]


def test_bad_inputs_name_the_argument():
    model = _pendulum_hybrid()
    t = torch.tensor(0.0, dtype=F64)
    with pytest.raises(ValueError, match=r"x \(the state\) must have 2 channels \('theta', 'omega'\)"):
        model(t, torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="network output shape"):
        HybridModel(DampedPendulum(), _WrongShape())(t, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="physics and network cannot both be None"):
        HybridModel(None, None)
    with pytest.raises(TypeError, match="physics must be an nn.Module"):
        HybridModel(lambda t, x: x, None)
    with pytest.raises(TypeError, match="network must be an nn.Module"):
        HybridModel(DampedPendulum(), "mlp")
    # parameters of wrong sign or shape are refused by the physics model, naming the parameter
    with pytest.raises(ValueError, match="omega0_sq must be a finite number > 0"):
        DampedPendulum(omega0_sq=-1.0)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        DampedPendulum(alpha=torch.ones(3))
    with pytest.raises(ValueError, match="learnable names"):
        DampedPendulum(learnable=("beta",))


def test_learnable_physics_parameters():
    """theta_p: the learnable physics tensors only -- none for a Neural ODE or a fixed prior."""
    net = MLP(2, 8, 1)
    learn = HybridModel(DampedPendulum(learnable=("omega0_sq",)), net)
    fixed = HybridModel(DampedPendulum(learnable=()), net)
    assert len(learn.learnable_physics_parameters()) == 1
    assert all(p.requires_grad for p in learn.learnable_physics_parameters())
    assert not any(p is q for p in learn.learnable_physics_parameters() for q in net.parameters())
    assert fixed.learnable_physics_parameters() == [] and HybridModel(None, net).learnable_physics_parameters() == []
