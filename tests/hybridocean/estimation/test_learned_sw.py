"""The learned estimator with shallow-water physics outputs the hidden velocities of its state.

Truth: a 16x16 periodic f-plane shallow-water flow (f0 = 1e-4 s-1, g = 9.81 m s-2, H = 1 m: a
1.5-layer-like deformation radius sqrt(gH)/f0 = 31 km, dx = 20 km), SSH from a Gaussian
covariance (10 cm, 60 km), velocities geostrophic at t = 0, integrated by the library (RK4, 6
steps per 6-hourly frame: gravity-wave Courant 3.1 m/s * 3600 s / 20 km = 0.56); the flow
evolves by 37 % of its SSH std in 24 frames (nonlinear advection, u_rms = 0.18 m/s). Observed:
30 % random cells per frame ("train"), 15 % held out ("val"). Velocities never observed.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_learned import DT, sample, tau_uv

from hybridocean.estimation.background import GaussianCovariance
from hybridocean.estimation.fourdvar_models import faces_to_centres
from hybridocean.estimation.learned import LearnedEstimator, default_config
from hybridocean.estimation.base import geostrophic_currents, prepare_inputs
from hybridocean.integrate import odeint
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.shallow_water import ShallowWater

STEPS = 6  # RK4 steps per frame (module docstring)


def sw_grid() -> Grid:
    return Grid(nx=16, ny=16, dx=2e4, dy=2e4, boundary="periodic", f0=1e-4, beta=0.0)


def sw_model() -> ShallowWater:
    return ShallowWater(sw_grid(), g=9.81, H=1.0)


def sw_twin(T: int):
    """``(grid, times [s], truth (T, 3, ny, nx), train obs, held-out obs)``."""
    g, m = sw_grid(), sw_model()
    gen = torch.Generator().manual_seed(0)
    eta0 = GaussianCovariance(g, 0.1, 6e4, "center")(torch.randn(g.ny, g.nx, generator=gen, dtype=torch.float64))
    u0, v0 = geostrophic_velocities(eta0, g, g=9.81, at="uv")
    t = torch.arange(T, dtype=torch.float64) * DT
    with torch.no_grad():
        traj = odeint(m, torch.stack([eta0, u0, v0])[None], t, method="rk4", step_size=DT / STEPS)[0]
    r = np.random.default_rng(1).random((T, g.ny * g.nx))
    times = t.numpy()
    return g, times, traj, sample(g, times, traj[:, 0], r < 0.3, "train"), \
        sample(g, times, traj[:, 0], (r >= 0.3) & (r < 0.45), "val")


@pytest.fixture(scope="module")
def fitted():
    g, times, traj, obs, held = sw_twin(20)
    est = LearnedEstimator(sw_model(), window=4, horizon=3, hidden=8, layers=1, seed=0)
    cfg = default_config(DT, steps_per_frame=STEPS, lambda_update="last_step", iterations=24, validate_every=8,
                         progress=False)
    est.fit(obs, g, times, val_obs=held, config=cfg)
    return est, g, times, traj, obs


@pytest.mark.slow  # ~12 s on a loaded 2-core host: 24 iterations through 12 RK4 steps
def test_velocities_are_the_states_and_score(fitted):
    """The Dataset's u, v are the encoded state's own velocities (C-grid faces averaged to the
    centres, exactly), tagged ``velocity_kind="total"`` with the generic CF names, and not the
    geostrophy of the output SSH; against the true velocities they reach tau_uv = 85.0 % after the
    first W frames (measured; 24 iterations, held-out misfit 0.075 -> 0.051; 75.0 % with the
    paper's one-sided encoder, 55 % without the balanced state map), asked > 75 %: 10 points of
    margin for another BLAS summation order, far above the 0 % of a zero estimate."""
    est, g, times, traj, obs = fitted
    ds = est.estimate(obs, g, times, staggered=True)
    assert ds.attrs["velocity_kind"] == "total" and ds["u"].attrs["standard_name"] == "sea_water_x_velocity"
    assert all(math.isfinite(x) for x in est.history.l_traj)
    states = est.encode(prepare_inputs(obs, g, times))
    uc, vc = faces_to_centres(states[:, 1], states[:, 2], g)
    assert np.array_equal(ds["u"].values, uc.numpy()) and np.array_equal(ds["v"].values, vc.numpy())
    assert np.array_equal(ds["u_c"].values, states[:, 1].numpy())
    ug, _ = geostrophic_currents(torch.as_tensor(ds["ssh"].values), g)
    assert not np.allclose(ds["u"].values, ug.numpy(), rtol=0, atol=1e-6)
    ut, vt = (a.numpy() for a in faces_to_centres(traj[:, 1], traj[:, 2], g))
    W = est.window
    tau = tau_uv(ds["u"].values[W:], ds["v"].values[W:], ut[W:], vt[W:])
    assert tau > 75.0, (tau, est.history.val_mse)
