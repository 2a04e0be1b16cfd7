"""The QG jet twin (truth (b) of the estimation benchmark) and the benchmark's scenario builders."""
import numpy as np
import pytest

from hybridocean.estimation.benchmark import (holdout_split, remove_offset, scenario_observations, truth_grid,
                                              tune_oi)
from hybridocean.estimation.twins_qg import qg_jet_twin

G = 9.81


@pytest.fixture(scope="module")
def tiny():
    return qg_jet_twin(n_box=16, n_domain=32, dx=1e4, n_frames=4, spinup_days=0.5, dt=1800.0, U0=0.3, width=4e4)


def test_initial_jet_speed_and_geostrophic_currents():
    ds = qg_jet_twin(n_box=16, n_domain=32, dx=1e4, n_frames=1, spinup_days=0.0, dt=1800.0, U0=0.3, width=4e4)
    u = ds["u"].values[0]
    # the box is centred on the eastward jet: its peak speed is U0 up to the random PV perturbation
    # (5 % of max |q|, white, inverted by the Laplacian + stretching: a few % of the velocity) and
    # the two-face average of the Gaussian's peak over 1/4 of a width (exp(-1/32) ~ 3 %): 10 %.
    assert u.max() == pytest.approx(0.3, rel=0.1)
    assert abs(u.min()) < 0.1 * 0.3 or u.min() > -0.1  # the westward jet lies outside the box
    # SSH is f0 psi_1 / g: its centred geostrophic currents match the model's upper-layer ones
    # away from the cut edges, to the O(dx^2) difference of the two stencils (here < 5 % RMS)
    eta, f0, dx = ds["ssh"].values[0], ds.attrs["f0_per_s"], ds.attrs["dx_m"]
    ug = -(G / f0) * np.gradient(eta, dx, axis=0)
    inner = (slice(2, -2), slice(2, -2))
    err = np.sqrt(np.mean((ug[inner] - u[inner]) ** 2)) / np.sqrt(np.mean(u[inner] ** 2))
    assert err < 0.05


def test_twin_layout_and_evolution(tiny):
    assert tiny["ssh"].dims == ("time", "y", "x") and tiny["ssh"].shape == (4, 16, 16)
    assert np.all(np.diff(tiny["time"].values) == np.timedelta64(1, "D"))
    assert np.isfinite(tiny["ssh"].values).all()
    assert not np.allclose(tiny["ssh"].values[0], tiny["ssh"].values[-1])  # the flow evolves
    g = truth_grid(tiny)
    assert (g.nx, g.ny, g.boundary) == (16, 16, "closed") and g.dx == pytest.approx(1e4)


@pytest.mark.parametrize("kw, what", [(dict(n_box=40, n_domain=32), "n_box"), (dict(frame_s=1000.0), "frame_s"),
                                      (dict(U0=-1.0), "U0"), (dict(spinup_days=-1.0), "spinup_days")])
def test_bad_input(kw, what):
    with pytest.raises(ValueError, match=what):
        qg_jet_twin(**{"n_box": 16, "n_domain": 32, "n_frames": 2, "spinup_days": 0.0, **kw})


def test_gap_scenarios_and_holdout(tiny):
    obs, info = scenario_observations(tiny, "i", seed=0)
    assert len(obs) == 0.5 * tiny["ssh"].size  # exactly half of every frame
    obs2, _ = scenario_observations(tiny, "ii", seed=0)
    assert len(obs2) == pytest.approx(0.3 * tiny["ssh"].size, abs=4)
    # 5 mm noise: residual to the truth at the observed cells (std of 0.3 * 1024 draws: +-5 %, 20 % margin)
    resid = obs2.ssh - tiny["ssh"].interp(time=xr_time(obs2), x=xr_pos(obs2, "x"), y=xr_pos(obs2, "y")).values
    assert np.std(resid) == pytest.approx(0.005, rel=0.2)
    kept, held = holdout_split(obs, seed=0)
    assert len(kept) + len(held) == len(obs) and 0.05 < len(held) / len(obs) < 0.15
    t0, k0, h0 = remove_offset(tiny, 0.25, kept, held)
    assert np.allclose(t0["ssh"].values, tiny["ssh"].values - 0.25) and np.allclose(k0.ssh, kept.ssh - 0.25)
    with pytest.raises(ValueError, match="scenario"):
        scenario_observations(tiny, "v")


def xr_time(obs):
    import xarray as xr

    return xr.DataArray(obs.time, dims="obs")


def xr_pos(obs, name):
    import xarray as xr

    return xr.DataArray(obs.ds[name].values, dims="obs")


def test_tune_oi_selects_least_held_out_misfit(tiny):
    obs, _ = scenario_observations(tiny, "i", seed=1)
    kept, held = holdout_split(obs, seed=1)
    best, table = tune_oi(kept, held, truth_grid(tiny), tiny["time"].values[1:3], (2e4, 8e4), (86400.0,),
                          noises=(0.01,), signal_std=0.1, obs_window_s=86400.0 * 1.01)
    ok = [r for r in table if "held_rmse_m" in r]
    assert len(ok) == 2 and best["Lx"] == min(ok, key=lambda r: r["held_rmse_m"])["Lx"]
