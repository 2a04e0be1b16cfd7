"""Fixed-step methods: one list, stability limits checked against the integrators, SW CFL errors."""
from __future__ import annotations

import math

import pytest
import torch
import torchdiffeq

from physics.grid import Grid
from physics.shallow_water import ShallowWater, gaussian_bump, geostrophic_adjustment
from physics.stepping import (
    STABILITY_LIMITS, TORCHDIFFEQ_FIXED_STEP, courant_limit, diffusive_limit, integrate_fixed,
)

F64 = torch.float64
OWN = ("euler", "rk4", "ab2", "ab3")  # integrate_fixed's methods; the rest run through torchdiffeq


def _run(method, A, dt, n):
    """|x_n| / |x_0| for dx/dt = A x (2x2) after n steps of ``method``."""
    x0 = torch.tensor([[1.0, 0.0]], dtype=F64)
    rhs = lambda t, x: x @ A.T  # noqa: E731
    with torch.no_grad():
        if method in OWN:
            xn = integrate_fixed(rhs, x0, dt, n, save_every=n, method=method)[1][-1]
        else:
            t = torch.tensor([0.0, n * dt], dtype=F64)
            xn = torchdiffeq.odeint(rhs, x0, t, method=method, options={"step_size": dt})[-1]
    return float(xn.norm() / x0.norm())


def _oscillator(omega):
    return torch.tensor([[0.0, -omega], [omega, 0.0]], dtype=F64)  # eigenvalues +- i omega


def _decay(a):
    return torch.tensor([[-a, 0.0], [0.0, -a]], dtype=F64)  # eigenvalue -a


@pytest.mark.parametrize("method", sorted(STABILITY_LIMITS))
def test_stability_limits_match_the_integrators(method):
    """Each tabulated |lambda dt| limit separates bounded from growing solutions of the actual
    integrator: at 0.97 x the limit the amplitude does not grow over 400 steps, at 1.03 x it grows
    by > 1.5 (RK4 at 1.03 x 2 sqrt 2: |R| ~ 1.19 per step; AB3's weakest case still > 1.001 per step,
    so 400 steps give > 1.5). Bounded: |x_n| <= 1 + 1e-9 (round-off of 400 steps of O(1) values)."""
    imag, real = STABILITY_LIMITS[method]
    n = 400
    for lim, system in ((imag, _oscillator), (real, _decay)):
        if lim == 0:  # weakly unstable for oscillations at any step: growth over 1000 small steps
            assert system is _oscillator
            assert _run(method, system(1.0), 0.3, 1000) > 1.0 + 1e-3, method
            continue
        assert _run(method, system(1.0), 0.97 * lim, n) <= 1.0 + 1e-9, (method, lim)
        assert _run(method, system(1.0), 1.03 * lim, n) > 1.5, (method, lim)


def test_courant_and_diffusive_limits():
    assert courant_limit() == 1.0 and diffusive_limit() == 2.0
    assert math.isclose(courant_limit("rk4"), math.sqrt(2.0), rel_tol=1e-15)
    assert math.isclose(courant_limit("heun3"), math.sqrt(3.0) / 2, rel_tol=1e-15)
    assert courant_limit("ab3") == 0.7236 / 2
    assert courant_limit("euler") == courant_limit("explicit_adams") == 1.0  # untabulated/0: classical CFL
    assert set(STABILITY_LIMITS) >= set(TORCHDIFFEQ_FIXED_STEP) - {"explicit_adams", "implicit_adams"}


def _linear_periodic_sw():
    # f0 = 0: the largest C-grid gravity-wave frequency is exactly 2 c sqrt(1/dx^2 + 1/dy^2)
    grid = Grid(16, 12, dx=1e4, dy=1.5e4, boundary="periodic", f0=0.0, beta=0.0)
    model = ShallowWater(grid, g=9.81, H=100.0, nonlinear=False)
    state = 0.1 * torch.randn(1, 3, 12, 16, generator=torch.Generator().manual_seed(0), dtype=F64)
    return model, state


@pytest.mark.parametrize("method", ["rk4", "heun3", "ab3"])
def test_sw_dt_max_is_the_stability_limit_of_the_model(method):
    """The ShallowWater limit dt_max(method) is the real one: random (all-wavenumber) linear waves
    on a periodic grid keep their energy over 300 steps at 0.97 dt_max (the linear scheme conserves
    energy; the time stepper only damps) and blow up (x10) at 1.05 dt_max. The checkerboard mode
    sits exactly at the bound, so the margins only need to exceed the 1e-9 round-off growth."""
    model, x0 = _linear_periodic_sw()
    rhs = lambda t, x: model(t, x)  # noqa: E731  (no check_dt attribute: run past the limit on purpose)
    e0 = float(model.total_energy(x0))
    for factor, stable in ((0.97, True), (1.05, False)):
        dt = factor * model.dt_max(method=method)
        with torch.no_grad():
            if method == "ab3":
                xn = integrate_fixed(rhs, x0, dt, 300, save_every=300, method="ab3")[1][-1]
            else:
                t = torch.tensor([0.0, 300 * dt], dtype=F64)
                xn = torchdiffeq.odeint(rhs, x0, t, method=method, options={"step_size": dt})[-1]
        ratio = float(model.total_energy(xn)) / e0
        assert (ratio <= 1.0 + 1e-9) if stable else (ratio > 10.0), (method, factor, ratio)


def test_check_dt_says_cfl_dt_limit_and_wave_speed():
    grid = Grid(10, 10, dx=1e4, dy=1e4, f0=1e-4)
    model = ShallowWater(grid, g=10.0, H=1000.0)  # c = 100 m/s
    base = 1e4 / (100.0 * math.sqrt(2.0))
    assert math.isclose(model.dt_max(), base, rel_tol=1e-12)
    assert math.isclose(model.dt_max(method="rk4"), math.sqrt(2.0) * base, rel_tol=1e-12)
    with pytest.raises(ValueError, match=r"dt = 150 s violates the CFL limit of method 'ab3': Courant number .* "
                                         r"= 2.12 > 0.362 \(gravity-wave speed sqrt\(g H\) = 100 m/s.*dt <= 25.5"):
        model.check_dt(150.0, method="ab3")
    # advective: a 50 m/s current adds to the wave speed of the nonlinear model
    state = torch.zeros(1, 3, 10, 10, dtype=F64)
    state[:, 1] = 50.0
    assert math.isclose(model.dt_max(state), base * 100.0 / 150.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match=r"advection \|u\|_max = 50 m/s"):
        model.check_dt(0.9 * base, state)
    with pytest.raises(ValueError, match="method must be one of"):
        model.dt_max(method="leapfrog")
    visc = ShallowWater(grid, g=10.0, H=1000.0, viscosity=1e6)  # dt_visc = 2 / (4 nu 2e-8) = 25 s
    with pytest.raises(ValueError, match=r"viscous stability limit of forward Euler \(no method given\): dt_max = 25 s"):
        visc.check_dt(30.0)


def test_too_long_step_is_a_cfl_error_before_integrating():
    """Old code: integrate_fixed ran and failed later (NaN or "total depth H + eta must be > 0")."""
    grid = Grid(16, 16, Lx=1.6e6, Ly=1.6e6, f0=1e-4)
    model = ShallowWater(grid, H=100.0)
    x0 = gaussian_bump(grid, 50.0)
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(ValueError, match="violates the CFL limit of method 'ab3'"):
        integrate_fixed(model, x0, 4 * model.dt_max(x0), 50, method="ab3")
    assert calls == []  # refused before the first evaluation
    t = torch.tensor([0.0, 86400.0], dtype=F64)
    with pytest.raises(ValueError, match="violates the CFL limit of method 'rk4'"):
        geostrophic_adjustment(grid, t, method="rk4", dt=3 * model.dt_max(), H=100.0)
    with pytest.raises(ValueError, match="dt is the step of the fixed-step methods"):
        geostrophic_adjustment(grid, t, method="dopri5", dt=100.0, H=100.0)


@pytest.mark.parametrize("method, tol", [("heun3", 1e-2), ("heun2", 0.1), ("midpoint", 0.1)])
def test_geostrophic_adjustment_takes_its_steps_for_every_fixed_step_method(method, tol):
    """heun2/heun3 (missing from the old list: one 6-hour step, then a "total depth" error) step at
    half the CFL limit and agree with rk4 after 6 h. Measured: heun3 2.6e-3, heun2/midpoint 4.9e-2
    of max |eta| (rk4 itself moves 3e-4 when dt -> 30 s). Bounds: 1e-2 for third order, 0.1 for
    the second-order methods at omega dt ~ 1 on the shortest waves; a blow-up fails both."""
    grid = Grid(16, 16, Lx=1.6e6, Ly=1.6e6, f0=1e-4)
    t = torch.tensor([0.0, 6 * 3600.0], dtype=F64)
    _, ref = geostrophic_adjustment(grid, t, radius=2e5, H=100.0, method="rk4")
    _, out = geostrophic_adjustment(grid, t, radius=2e5, H=100.0, method=method)
    eta, eta_ref = out[-1, 0, 0], ref[-1, 0, 0]
    assert float((eta - eta_ref).abs().max()) <= tol * float(eta_ref.abs().max())
