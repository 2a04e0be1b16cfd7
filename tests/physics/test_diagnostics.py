"""The diagnostics entry point returns each model's own diagnostics."""
import pytest
import torch
from torch import nn

from physics.diagnostics import diagnostics
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater, gaussian_bump


def test_shallow_water_diagnostics_match_methods():
    g = Grid(16, 16, Lx=1e6, Ly=1e6, f0=1e-4)
    m = ShallowWater(g, H=100.0)
    s = gaussian_bump(g, 0.1).double()
    d = diagnostics(m, s)
    assert set(d) >= {"mass", "kinetic_energy", "potential_energy", "total_energy", "potential_enstrophy"}
    assert torch.equal(d["total_energy"], m.total_energy(s))
    # at rest the energy is all potential: rho0 g sum eta^2 / 2 dx dy
    assert torch.allclose(d["total_energy"], d["potential_energy"]) and float(d["kinetic_energy"]) == 0.0


def test_qg_diagnostics():
    g = Grid(16, 16, Lx=1e6, Ly=1e6, f0=1e-4, beta=1.5e-11)
    m = QG(g, H=[500.0, 2000.0], g_prime=[0.02])
    q = 1e-6 * torch.randn(2, 2, 16, 16, dtype=torch.float64)
    d = diagnostics(m, q)
    assert {"kinetic_energy", "available_potential_energy", "total_energy", "enstrophy"} <= set(d)
    assert d["total_energy"].shape == (2,)


def test_model_without_diagnostics():
    with pytest.raises(TypeError, match="none of the diagnostics"):
        diagnostics(nn.Identity(), torch.zeros(1, 1, 2, 2))
