"""Physics of the three APHYNITY reference systems: pendulum, FitzHugh-Nagumo, damped wave.

Tested against physics: the linearised pendulum's analytic solution, discrete energy budgets
(summation by parts, exact to round-off), discrete eigenmodes of the Laplacians, conservation
of the mean under periodic / Neumann diffusion. All float64.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchdiffeq
from scipy.integrate import solve_ivp

from physics.grid import Grid
from physics.pendulum import ALPHA, OMEGA0_SQ, DampedPendulum
from physics.reaction_diffusion import ReactionDiffusion, default_grid as rd_grid
from physics.wave import DampedWave, default_grid as wave_grid

DT = torch.float64
EPS = torch.finfo(DT).eps


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    yield
    torch.set_default_dtype(old)


# ----------------------------------------------------------------------------- pendulum
def _dop853(model, x0, t: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Integrate the torch right-hand side with scipy's 8th-order Dormand-Prince; (T, 2)."""

    def rhs(time, y):
        with torch.no_grad():
            return model(time, torch.from_numpy(y)[None])[0].numpy()

    sol = solve_ivp(rhs, (t[0], t[-1]), x0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    assert sol.success
    return sol.y.T


def test_pendulum_small_angle_matches_damped_oscillator():
    """theta0 = 1e-5: sin(theta) = theta (1 - theta^2/6), so the nonlinear solution differs from the
    linear damped oscillator by O(theta0^2) ~ 1e-10 relative; DOP853 at rtol 1e-12 adds ~1e-11
    (measured 1.4e-11 over 20 s): tolerance 1e-9 relative."""
    model = DampedPendulum()
    theta0 = 1e-5
    t = np.linspace(0, 20, 81)
    x = _dop853(model, [theta0, 0.0], t, rtol=1e-12, atol=1e-20)
    w0, a = math.sqrt(OMEGA0_SQ), ALPHA
    wd = math.sqrt(w0**2 - a**2 / 4)
    theta = theta0 * np.exp(-a * t / 2) * (np.cos(wd * t) + a / (2 * wd) * np.sin(wd * t))
    assert np.abs(x[:, 0] - theta).max() <= 1e-9 * theta0


def test_pendulum_energy_budget_exact(device):
    """dE/dt = omega domega/dt + omega0^2 sin(theta) dtheta/dt = -alpha omega^2, an identity of the
    right-hand side: equal to round-off (relative to the size of the terms)."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 2, generator=gen) * 6 - 3).to(device).requires_grad_(True)
    for friction in (True, False):
        model = DampedPendulum(friction=friction).to(device)
        e = model.energy(x).sum()
        (grad_e,) = torch.autograd.grad(e, x)
        dedt = (grad_e * model(0.0, x)).sum(1)
        expected = -ALPHA * x[:, 1] ** 2 if friction else torch.zeros_like(dedt)
        scale = (grad_e.abs() * model(0.0, x).abs()).sum(1)
        assert torch.all((dedt - expected).abs() <= 16 * EPS * scale + 1e-300)


def test_pendulum_frictionless_conserves_energy():
    """Energy of the frictionless pendulum drifts < 1e-9 (relative) over 20 s with DOP853 at rtol
    1e-11 (local error control bounds the drift per step by ~rtol)."""
    model = DampedPendulum(friction=False)
    t = np.linspace(0, 20, 41)
    for x0 in ([2.0, 0.5], [-1.0, 1.5]):
        x = torch.from_numpy(_dop853(model, x0, t, rtol=1e-11, atol=1e-13))
        e = model.energy(x).detach()
        assert torch.all((e - e[0]).abs() <= 1e-9 * e[0].abs())


def test_pendulum_parameters_and_gradients():
    model = DampedPendulum(omega0_sq=2.0, alpha=0.3, learnable=("omega0_sq",))
    assert model.params["omega0_sq"].learnable and not model.params["alpha"].learnable
    assert float(model.params["omega0_sq"].value.detach()) == pytest.approx(2.0, rel=1e-15)
    out = model(0.0, torch.tensor([[1.0, 0.5]]))
    assert torch.allclose(out, torch.tensor([[0.5, -2.0 * math.sin(1.0) - 0.3 * 0.5]]), rtol=1e-15, atol=0)
    out[:, 1].sum().backward()
    assert model.params["omega0_sq"].raw.grad is not None
    assert "alpha" not in DampedPendulum(friction=False).params
    assert DampedPendulum.CHANNELS == ("theta", "omega")


def test_pendulum_bad_input():
    model = DampedPendulum()
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        model(0.0, torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        model(0.0, torch.zeros(2))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        model(0.0, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="omega0_sq"):
        DampedPendulum(omega0_sq=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        DampedPendulum(alpha=0.0)
    with pytest.raises(ValueError, match="friction=False"):
        DampedPendulum(friction=False, learnable=("omega0_sq", "alpha"))
    with pytest.raises(ValueError, match="learnable"):
        DampedPendulum(learnable=("beta",))


# ----------------------------------------------------------------------------- reaction-diffusion
def _fourier_mode(grid: Grid, mx: int, my: int) -> tuple:
    """cos(2 pi mx x / Lx) cos(2 pi my y / Ly) and its discrete-Laplacian eigenvalue."""
    X, Y = grid.mesh("center")
    f = torch.cos(2 * math.pi * mx * X / grid.Lx) * torch.cos(2 * math.pi * my * Y / grid.Ly)
    lam = 4 / grid.dx**2 * math.sin(math.pi * mx / grid.nx) ** 2 + 4 / grid.dy**2 * math.sin(math.pi * my / grid.ny) ** 2
    return f, lam


def test_rd_diffusion_of_a_fourier_mode_is_exact(device):
    """A periodic Fourier mode is an eigenvector of the five-point Laplacian: du/dt = -a lambda u."""
    grid = rd_grid().to(device=device)
    model = ReactionDiffusion(grid, reaction=False).to(device)
    fu, lu = _fourier_mode(grid, 3, 1)
    fv, lv = _fourier_mode(grid, 2, 5)
    x = torch.stack((fu, fv))[None]
    out = model(0.0, x)
    assert torch.allclose(out[0, 0], -1e-3 * lu * fu, rtol=0, atol=1e3 * EPS * 1e-3 * lu)
    assert torch.allclose(out[0, 1], -5e-3 * lv * fv, rtol=0, atol=1e3 * EPS * 5e-3 * lv)


def test_rd_uniform_state_reduces_to_the_reaction_ode():
    """No gradients: du/dt = u - u^3 - v - k, dv/dt = u - v exactly (Laplacian of a constant is 0)."""
    model = ReactionDiffusion()
    x = torch.empty(1, 2, 32, 32)
    x[:, 0], x[:, 1] = 0.7, -0.2
    out = model(0.0, x)
    assert torch.allclose(out[0, 0], torch.full((32, 32), 0.7 - 0.7**3 + 0.2 - 5e-3), rtol=0, atol=8 * EPS)
    assert torch.allclose(out[0, 1], torch.full((32, 32), 0.9), rtol=0, atol=8 * EPS)


def test_rd_diffusion_conserves_the_mean_and_is_translation_equivariant():
    """sum(Lap u) = 0 on a periodic grid: d/dt sum(u) = 0 to round-off (relative to sum |terms|);
    the model commutes with periodic shifts."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 2, 32, 32, generator=gen)
    model = ReactionDiffusion(reaction=False)
    out = model(0.0, x)
    assert torch.all(out.sum((-2, -1)).abs() <= 64 * EPS * out.abs().sum((-2, -1)))
    full = ReactionDiffusion()
    shifted = full(0.0, torch.roll(x, (5, -3), dims=(-2, -1)))
    assert torch.allclose(shifted, torch.roll(full(0.0, x), (5, -3), dims=(-2, -1)), rtol=0, atol=1e-12)


def test_rd_bad_input():
    model = ReactionDiffusion()
    with pytest.raises(ValueError, match="2 channels"):
        model(0.0, torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="spatial shape"):
        model(0.0, torch.zeros(1, 2, 16, 32))
    with pytest.raises(ValueError, match="4-D"):
        model(0.0, torch.zeros(2, 32, 32))
    x = torch.zeros(1, 2, 32, 32)
    x[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        model(0.0, x)
    with pytest.raises(ValueError, match="periodic"):
        ReactionDiffusion(Grid(32, 32, dx=1.0, dy=1.0, boundary="closed"))
    with pytest.raises(ValueError, match="k"):
        ReactionDiffusion(k=-1.0)
    with pytest.raises(TypeError, match="grid"):
        ReactionDiffusion(grid="periodic")
    assert "k" not in ReactionDiffusion(reaction=False).params


# ----------------------------------------------------------------------------- wave
def _neumann_mode(grid: Grid, mx: int, my: int) -> tuple:
    """cos(pi mx (i + 1/2) / nx) cos(pi my (j + 1/2) / ny) (a DCT-II vector) and its eigenvalue of
    the Neumann five-point Laplacian."""
    X, Y = grid.mesh("center")
    f = torch.cos(math.pi * mx * X / grid.Lx) * torch.cos(math.pi * my * Y / grid.Ly)
    lam = 4 / grid.dx**2 * math.sin(math.pi * mx / (2 * grid.nx)) ** 2 + 4 / grid.dy**2 * math.sin(math.pi * my / (2 * grid.ny)) ** 2
    return f, lam


def test_wave_standing_mode_is_exact(device):
    """A Neumann cosine mode with zero velocity: d(w_t)/dt = -c^2 lambda w, dw/dt = w_t = 0."""
    grid = wave_grid().to(device=device)
    model = DampedWave(grid).to(device)
    f, lam = _neumann_mode(grid, 3, 2)
    x = torch.stack((f, torch.zeros_like(f)))[None]
    out = model(0.0, x)
    assert torch.equal(out[0, 0], torch.zeros_like(f))
    assert torch.allclose(out[0, 1], -330.0**2 * lam * f, rtol=0, atol=1e3 * EPS * 330.0**2 * lam)


def test_wave_energy_budget_is_exact_summation_by_parts(device):
    """dE/dt = sum(w_t * acc) + c^2 sum(Dw . D w_t) = -k sum(w_t^2) because -Lap_N = D^T D: equal to
    round-off relative to the size of the terms; without damping dE/dt = 0."""
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(2, 2, 64, 64, generator=gen).to(device).requires_grad_(True)
    for damping in (True, False):
        model = DampedWave(damping=damping).to(device)
        e = model.energy(x).sum()
        (grad_e,) = torch.autograd.grad(e, x)
        rate = model(0.0, x)
        dedt = (grad_e * rate).sum((1, 2, 3))
        expected = -50.0 * (x[:, 1] ** 2).sum((-2, -1)) if damping else torch.zeros_like(dedt)
        scale = (grad_e.abs() * rate.abs()).sum((1, 2, 3))
        assert torch.all((dedt - expected).abs() <= 64 * EPS * scale)


def test_wave_neumann_walls_conserve_the_mean_velocity_budget():
    """sum(Lap_N w) = 0 (no flux through walls): d/dt sum(w_t) = -k sum(w_t) to round-off."""
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 2, 64, 64, generator=gen)
    out = DampedWave()(0.0, x)
    lhs = out[:, 1].sum((-2, -1))
    rhs = -50.0 * x[:, 1].sum((-2, -1))
    assert torch.all((lhs - rhs).abs() <= 64 * EPS * out[:, 1].abs().sum((-2, -1)))


def test_wave_undamped_energy_conserved_by_accurate_integration():
    """Time integration (dopri5, rtol 1e-10) of a Gaussian bump keeps E to 1e-8 over 25 frames."""
    model = DampedWave(damping=False)
    X, Y = model.grid.mesh("center")
    w = torch.exp(-((X - 30.5) ** 2 + (Y - 25.5) ** 2) / 40.0)
    x0 = torch.stack((w, torch.zeros_like(w)))[None]
    xs = torchdiffeq.odeint(model, x0, torch.arange(25) * 1e-3, method="dopri5", rtol=1e-10, atol=1e-12)
    e = torch.cat([model.energy(s) for s in xs])
    assert torch.all((e - e[0]).abs() <= 1e-8 * e[0])


def test_wave_stability_limit_and_bad_input():
    model = DampedWave()
    # omega_max = c sqrt(8) for dx = dy = 1; RK4 limit 2 sqrt(2): dt_max = 1 / c.
    assert model.max_stable_dt() == pytest.approx(1 / 330.0, rel=1e-14)
    with pytest.raises(ValueError, match="2 channels"):
        model(0.0, torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="spatial shape"):
        model(0.0, torch.zeros(1, 2, 32, 32))
    with pytest.raises(ValueError, match="closed"):
        DampedWave(Grid(64, 64, dx=1.0, dy=1.0, boundary="periodic"))
    with pytest.raises(ValueError, match="c must"):
        DampedWave(c=0.0)
    with pytest.raises(ValueError, match="learnable"):
        DampedWave(damping=False, learnable=("k",))
    assert DampedWave.CHANNELS == ("w", "w_t")
