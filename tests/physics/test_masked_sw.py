"""physics.shallow_water.ShallowWater with a land mask: zero normal flow on land faces, mass and
energy conserved to round-off on irregular masks.

Round-off tolerance as in tests/physics/test_shallow_water.py: RTOL = 1e-12 of sum|terms|
(~4500 eps); a face left open onto land, or the enstrophy scheme for energy, gives 1e-4..1
(negative control below).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _land import archipelago, peninsula_basin
from _sw_fields import smooth_state, tendency_of
from physics.grid import Grid
from physics.masks import staggered_masks
from physics.shallow_water import ShallowWater
from physics.stepping import integrate_fixed

RTOL = 1e-12


def relative_sum(terms: torch.Tensor) -> float:
    """``|sum terms| / sum |terms|`` per batch element, the max over the batch."""
    return float((terms.flatten(1).sum(1).abs() / terms.flatten(1).abs().sum(1)).max())


def _grid(boundary="closed", nx=20, ny=16, beta=2e-11):
    return Grid(nx, ny, dx=2e4, dy=2.5e4, boundary=boundary, f0=1e-4, beta=beta)


def _state(grid, ocean, seed):
    """Smooth random state with the land faces closed and eta = 0 on land."""
    s = smooth_state(np.random.default_rng(seed), grid, batch=2)
    m = staggered_masks(grid, ocean)
    return s * torch.stack((m.center, m.u, m.v))


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000), land=st.floats(0.05, 0.35), nonlinear=st.booleans(),
       scheme=st.sampled_from(["energy", "een"]), boundary=st.sampled_from(["closed", "periodic"]))
def test_mass_and_energy_conserved_on_random_archipelagos(seed, land, nonlinear, scheme, boundary):
    """Property: d(sum eta)/dt = 0 and, for the energy-conserving schemes, dE/dt = 0."""
    g = _grid(boundary)
    ocean = archipelago(g.ny, g.nx, seed=seed, land_fraction=land)
    model = ShallowWater(g, H=500.0, nonlinear=nonlinear, scheme=scheme, mask=ocean)
    state = _state(g, ocean, seed)
    assert relative_sum(tendency_of(model.mass, model, state)) < RTOL
    assert relative_sum(tendency_of(model.total_energy, model, state)) < RTOL


@pytest.mark.parametrize("nonlinear", [False, True])
def test_no_flow_through_land_faces_on_a_peninsula(nonlinear):
    """Normal velocity and its tendency are 0 on every face touching land, eta is inert on land,
    and mass is conserved also by the enstrophy scheme; that scheme does not conserve energy
    (negative control: the energy test can fail)."""
    g = _grid()
    ocean = peninsula_basin(g.ny, g.nx)
    model = ShallowWater(g, H=500.0, nonlinear=nonlinear, scheme="enstrophy", mask=ocean)
    state = smooth_state(np.random.default_rng(3), g, batch=2)  # land faces NOT closed in the input
    d = model(torch.zeros(()), state)
    closed_u = ~(ocean & torch.roll(ocean, 1, 1))
    closed_u[:, 0] = True
    closed_v = ~(ocean & torch.roll(ocean, 1, 0))
    closed_v[0, :] = True
    assert bool((d[:, 1][:, closed_u] == 0).all()) and bool((d[:, 2][:, closed_v] == 0).all())
    assert bool((d[:, 0][:, ~ocean] == 0).all())
    assert relative_sum(tendency_of(model.mass, model, state)) < RTOL
    if nonlinear:
        assert relative_sum(tendency_of(model.total_energy, model, _state(g, ocean, 3))) > 1e-6


def test_viscosity_and_drag_dissipate_on_a_masked_basin():
    g = _grid()
    for kw in ({"drag": 1e-5}, {"viscosity": 50.0}):
        ocean = peninsula_basin(g.ny, g.nx)
        model = ShallowWater(g, H=100.0, nonlinear=False, mask=ocean, **kw)
        assert float(tendency_of(model.total_energy, model, _state(g, ocean, 5)).sum()) < 0


def test_all_ocean_mask_matches_no_mask():
    """Without land the masks are the wall masks: same tendency (free slip zeta = 0 on walls)."""
    g = _grid()
    state = smooth_state(np.random.default_rng(2), g, batch=2)
    plain = ShallowWater(g, H=200.0, viscosity=30.0)
    masked = ShallowWater(g, H=200.0, viscosity=30.0, mask=torch.ones(g.shape, dtype=torch.bool))
    torch.testing.assert_close(masked(torch.zeros(()), state), plain(torch.zeros(()), state), rtol=0, atol=0)


def test_bad_mask_raises():
    g = _grid()
    with pytest.raises(ValueError, match="mask must have shape"):
        ShallowWater(g, mask=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask has no ocean cell"):
        ShallowWater(g, mask=torch.zeros(g.shape))


@pytest.mark.slow  # 270 RK4 steps on 120 x 44: ~4 s
def test_kelvin_wave_follows_the_coast_around_a_peninsula():
    """A Kelvin wave (f > 0: coast on its right) released on the south coast travels east at
    c = sqrt(g H) *along the coast*: up the west side of a peninsula, round its tip and down
    again (arc 116.5 cells), not across it (80.5 cells). Linear model, Ld = c / f = 6 cells,
    pulse e-folding 5 cells; arrival = peak time of eta at the sensor (parabolic fit).
    Tolerance 3 %: on a straight coast the same set-up arrives 0.9 % late (C-grid dispersion
    ~(k dx)^2 / 24 and the pulse reshaping at release); measured 1.0 % late round the peninsula;
    the shortcut would be 31 % early."""
    nx, ny, d, H, g_acc = 120, 44, 1e4, 10.0, 9.81
    c = math.sqrt(g_acc * H)
    grid = Grid(nx, ny, dx=d, dy=d, boundary="closed", f0=c / (6 * d))
    ocean = torch.ones(ny, nx, dtype=torch.bool)
    ocean[:3] = False  # south coast at y = 3 d
    ocean[3:21, 60:63] = False  # peninsula: 3 cells wide, 18 long (3 Ld), tip 3.8 Ld off the north wall
    m = staggered_masks(grid, ocean)

    def kelvin(loc):  # eta (and u = (g / c) eta) of a Kelvin wave on the coast y = 3 d
        X, Y = grid.mesh(loc)
        return 0.1 * torch.exp(-((X - 20 * d) / (5 * d)) ** 2) * torch.exp(-(Y - 3 * d).clamp(min=0) * (grid.f0 / c))

    state = torch.stack((kelvin("center") * m.center, (g_acc / c) * kelvin("u") * m.u, torch.zeros(ny, nx)))[None]
    model = ShallowWater(grid, g=g_acc, H=H, nonlinear=False, mask=ocean)
    dt = 500.0
    _, states = integrate_fixed(model, state, dt, 270, method="rk4")
    e = states[:, 0, 0, 3, 100]  # coast cell at x = 100.5 d
    k = int(e.argmax())
    assert 0 < k < len(e) - 1
    a, b, f = (float(v) for v in e[k - 1: k + 2])
    arrival = dt * (k + 0.5 * (a - f) / (a - 2 * b + f))
    arc = (60 - 20) + 18 + 3 + 18 + (100.5 - 63)  # cells along the coast
    assert abs(arrival * c / (arc * d) - 1) < 0.03, arrival * c / (arc * d)
