"""Rotating shallow water: semi-discrete conservation laws, autograd, batching, bad input.

Round-off tolerance (used throughout): a semi-discrete invariant's tendency is a sum of
N = 3 nx ny products, each exact to ~10 float64 eps (eps = 2.2e-16) relative to its own
size, so |sum| <= ~10 eps * sum|terms| (far less with random signs). RTOL = 1e-12 (~4500
eps) leaves margin for the longest stencils, yet is 7-8 orders of magnitude below the
O(1e-4) tendencies measured for a scheme that does *not* conserve the quantity (checked
below as negative controls, so these tests can fail).
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _sw_fields import smooth_state, tendency_of
from physics.grid import Grid
from physics.operators import velocity_from_psi
from physics.shallow_water import ShallowWater

RTOL = 1e-12
HYP = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def relative_sum(terms: torch.Tensor) -> float:
    """``|sum terms| / sum |terms|`` per batch element, the max over the batch."""
    num = terms.flatten(1).sum(1).abs()
    den = terms.flatten(1).abs().sum(1)
    return float((num / den).max())


grids = st.builds(
    lambda nx, ny, dx, dy, boundary, beta: Grid(
        nx, ny, dx=dx, dy=dy, boundary=boundary, f0=1e-4, beta=beta),
    nx=st.integers(4, 12), ny=st.integers(4, 12),
    dx=st.floats(1e3, 1e5), dy=st.floats(1e3, 1e5),
    boundary=st.sampled_from(["periodic", "closed"]),
    beta=st.sampled_from([0.0, 2e-11]),
)


@HYP
@given(grid=grids, seed=st.integers(0, 2**31 - 1), nonlinear=st.booleans(),
       scheme=st.sampled_from(["energy", "enstrophy", "een"]), H=st.floats(10.0, 4000.0))
def test_mass_tendency_is_zero(device, grid, seed, nonlinear, scheme, H):
    grid = grid.to(device=device)
    model = ShallowWater(grid, H=H, nonlinear=nonlinear, scheme=scheme).to(device)
    state = smooth_state(np.random.default_rng(seed), grid, batch=2, device=device)
    assert relative_sum(tendency_of(model.mass, model, state)) < RTOL


@HYP
@given(grid=grids, seed=st.integers(0, 2**31 - 1), nonlinear=st.booleans(),
       scheme=st.sampled_from(["energy", "een"]), H=st.floats(10.0, 4000.0))
def test_energy_tendency_is_zero_for_energy_conserving_schemes(device, grid, seed, nonlinear, scheme, H):
    # Inviscid, unforced; periodic or closed, f- or beta-plane, linear or nonlinear: the
    # Coriolis term does no work and the pressure/Bernoulli work telescopes (flux form).
    grid = grid.to(device=device)
    model = ShallowWater(grid, H=H, nonlinear=nonlinear, scheme=scheme).to(device)
    state = smooth_state(np.random.default_rng(seed), grid, batch=2, device=device)
    assert relative_sum(tendency_of(model.total_energy, model, state)) < RTOL


@HYP
@given(grid=grids.filter(lambda g: g.periodic), seed=st.integers(0, 2**31 - 1), H=st.floats(10.0, 4000.0))
def test_potential_enstrophy_tendency_is_zero_for_enstrophy_scheme(device, grid, seed, H):
    # Sadourny ENS, nonlinear, divergent flow, f- or beta-plane, periodic domain.
    grid = grid.to(device=device)
    model = ShallowWater(grid, H=H, nonlinear=True, scheme="enstrophy").to(device)
    state = smooth_state(np.random.default_rng(seed), grid, batch=2, device=device)
    assert relative_sum(tendency_of(model.potential_enstrophy, model, state)) < RTOL


@pytest.mark.parametrize("beta", [0.0, 2e-11])
def test_een_conserves_potential_enstrophy_for_nondivergent_flow(beta):
    # Arakawa & Hsu (1990): EEN conserves potential enstrophy when the mass flux is
    # non-divergent (eta = 0, velocity from a streamfunction).
    grid = Grid(12, 10, dx=2e4, dy=3e4, f0=1e-4, beta=beta)
    model = ShallowWater(grid, H=500.0, nonlinear=True, scheme="een")
    rng = np.random.default_rng(3)
    psi = torch.as_tensor(rng.standard_normal((10, 12))) * 1e4
    u, v = velocity_from_psi(psi, grid)
    state = torch.stack((torch.zeros_like(u), u, v))[None]
    assert relative_sum(tendency_of(model.potential_enstrophy, model, state)) < RTOL


def test_negative_controls_non_conserving_schemes_fail():
    # The enstrophy scheme does not conserve energy, the energy scheme not enstrophy: the
    # relative tendencies are O(1e-4), so the RTOL tests above are meaningful.
    grid = Grid(12, 10, dx=2e4, dy=3e4, f0=1e-4, beta=2e-11)
    state = smooth_state(np.random.default_rng(0), grid, eta_amp=20.0, vel_amp=2.0)
    ens = ShallowWater(grid, H=100.0, scheme="enstrophy")
    en = ShallowWater(grid, H=100.0, scheme="energy")
    assert relative_sum(tendency_of(ens.total_energy, ens, state)) > 1e-8
    assert relative_sum(tendency_of(en.potential_enstrophy, en, state)) > 1e-8


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_drag_and_viscosity_dissipate_energy(boundary):
    # Linear model: dE/dt = -rho0 (r sum H |u|^2 + nu H sum (D^2 + zeta^2)) dA <= 0.
    grid = Grid(10, 8, dx=1e4, dy=1e4, boundary=boundary, f0=1e-4)
    state = smooth_state(np.random.default_rng(1), grid)
    for kw in ({"drag": 1e-5}, {"viscosity": 50.0}):
        model = ShallowWater(grid, H=100.0, nonlinear=False, **kw)
        assert float(tendency_of(model.total_energy, model, state).sum()) < 0


def test_uniform_wind_spins_up_fluid_at_rest():
    # From rest, du/dt = tau_x / (rho0 H) exactly (no other force acts at t = 0).
    grid = Grid(6, 5, dx=1e4, dy=1e4, f0=1e-4)
    tau_x = torch.full((5, 6), 0.1, dtype=torch.float64)
    for wind in ((tau_x, torch.zeros_like(tau_x)), lambda t: (tau_x, torch.zeros_like(tau_x))):
        model = ShallowWater(grid, H=200.0, wind_stress=wind, rho0=1000.0)
        d = model(0.0, torch.zeros(1, 3, 5, 6, dtype=torch.float64))
        assert torch.allclose(d[0, 1], torch.full_like(tau_x, 0.1 / (1000.0 * 200.0)), rtol=1e-14, atol=0)
        assert d[0, 0].abs().max() == 0 and d[0, 2].abs().max() == 0


def test_closed_walls_have_zero_normal_velocity_tendency():
    grid = Grid(8, 7, dx=1e4, dy=1e4, boundary="closed", f0=1e-4, beta=1e-11)
    model = ShallowWater(grid, H=100.0, viscosity=10.0, drag=1e-6)
    d = model(0.0, smooth_state(np.random.default_rng(2), grid))
    assert d[:, 1, :, 0].abs().max() == 0 and d[:, 2, 0, :].abs().max() == 0


@pytest.mark.parametrize("nonlinear", [True, False])
def test_batched_forward_equals_per_sample(device, nonlinear):
    grid = Grid(9, 7, dx=1e4, dy=2e4, boundary="closed", f0=1e-4, beta=1e-11, device=device)
    model = ShallowWater(grid, H=100.0, nonlinear=nonlinear, scheme="een", viscosity=10.0).to(device)
    state = smooth_state(np.random.default_rng(4), grid, batch=3, device=device)
    batched = model(0.0, state)
    single = torch.cat([model(0.0, state[b:b + 1]) for b in range(3)])
    assert torch.allclose(batched, single, rtol=1e-13, atol=0)
    for diag in (model.mass, model.total_energy, model.potential_enstrophy):
        assert diag(state).shape == (3,)
    assert model.potential_vorticity(state).shape == (3, 7, 9)


def test_gradcheck_through_forward():
    grid = Grid(4, 5, dx=1e4, dy=1.2e4, boundary="closed", f0=1e-4, beta=2e-11)
    tau = (torch.full((5, 4), 0.05, dtype=torch.float64), torch.zeros(5, 4, dtype=torch.float64))
    model = ShallowWater(grid, H=50.0, scheme="een", drag=1e-6, viscosity=5.0, wind_stress=tau,
                         learnable=("g", "H", "drag", "viscosity"))
    state = smooth_state(np.random.default_rng(5), grid).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: model(0.0, s), (state,))
    # Parameters receive gradients too.
    model(0.0, state).pow(2).sum().backward()
    for name in ("g", "H", "drag", "viscosity"):
        assert model.params[name].raw.grad is not None and torch.isfinite(model.params[name].raw.grad)


def test_learnable_parameters_are_positive_and_in_grid_precision():
    grid = Grid(6, 6, dx=1e4, dy=1e4, f0=1e-4)
    model = ShallowWater(grid, g=9.81, H=123.0, learnable=True, drag=1e-6, viscosity=1.0)
    assert {n for n, _ in model.named_parameters()} == {f"params.{k}.raw" for k in ShallowWater.PARAMETERS}
    assert float(model.params["g"].value.detach()) == 9.81 and model.params["H"].value.dtype == torch.float64


def test_dt_max_and_check_dt():
    grid = Grid(10, 10, dx=1e4, dy=1e4, f0=1e-4)
    model = ShallowWater(grid, g=10.0, H=1000.0)
    expected = 1e4 / (100.0 * math.sqrt(2.0))  # dx / (sqrt(g H) sqrt(2))
    assert math.isclose(model.dt_max(), expected, rel_tol=1e-12)
    assert model.check_dt(0.9 * expected) == 0.9 * expected
    with pytest.raises(ValueError, match="dt"):
        model.check_dt(1.1 * expected)
    with pytest.raises(ValueError, match="dt"):
        model.check_dt(-1.0)


# ------------------------------------------------------------------ bad input
@pytest.fixture
def small():
    grid = Grid(6, 5, dx=1e4, dy=1e4, f0=1e-4)
    return grid, ShallowWater(grid, H=100.0)


def test_bad_state_raises(small):
    grid, model = small
    with pytest.raises(ValueError, match="3 channels"):
        model(0.0, torch.zeros(1, 2, 5, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="spatial shape"):
        model(0.0, torch.zeros(1, 3, 6, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="4-D"):
        model(0.0, torch.zeros(3, 5, 6, dtype=torch.float64))
    bad = torch.zeros(1, 3, 5, 6, dtype=torch.float64)
    bad[0, 1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        model(0.0, bad)
    with pytest.raises(TypeError, match="state"):
        model(0.0, np.zeros((1, 3, 5, 6)))
    dry = torch.zeros(1, 3, 5, 6, dtype=torch.float64)
    dry[0, 0, 1, 1] = -150.0
    with pytest.raises(ValueError, match="total depth"):
        model(0.0, dry)


@pytest.mark.parametrize("kw, exc, name", [
    ({"g": 0.0}, ValueError, "g"), ({"g": -9.81}, ValueError, "g"), ({"H": 0.0}, ValueError, "H"),
    ({"H": float("nan")}, ValueError, "H"), ({"drag": -1.0}, ValueError, "drag"),
    ({"viscosity": -1.0}, ValueError, "viscosity"), ({"scheme": "arakawa"}, ValueError, "scheme"),
    ({"scheme": 3}, TypeError, "scheme"), ({"nonlinear": "yes"}, TypeError, "nonlinear"),
    ({"rho0": 0.0}, ValueError, "rho0"), ({"learnable": ("gravity",)}, ValueError, "gravity"),
    ({"learnable": ("drag",)}, ValueError, "drag"),
    ({"wind_stress": (torch.zeros(4, 6), torch.zeros(5, 6))}, ValueError, "tau_x"),
    ({"wind_stress": 1.0}, TypeError, "wind_stress"),
])
def test_bad_constructor_arguments_raise(small, kw, exc, name):
    grid, _ = small
    with pytest.raises(exc, match=name):
        ShallowWater(grid, **{"H": 100.0, **kw})


def test_bad_grid_and_callable_wind_raise(small):
    grid, _ = small
    with pytest.raises(TypeError, match="grid"):
        ShallowWater("grid")
    model = ShallowWater(grid, H=100.0, wind_stress=lambda t: (torch.zeros(5, 5), torch.zeros(5, 6)))
    with pytest.raises(ValueError, match="tau_x"):
        model(0.0, torch.zeros(1, 3, 5, 6, dtype=torch.float64))
