"""``hybridocean demo``: the mission (``--quick``) runs end to end; the physics checks (``--physics``) hold."""
import json

import numpy as np
import pytest

from hybridocean.cli import main
from hybridocean.io import read_netcdf


@pytest.mark.slow  # ~20 s on one core: one simulated year of 64 x 64 two-layer QG (4380 AB3 steps)
def test_demo_physics_quick_writes_results_and_conserves(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick", "--physics"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    for name in summary["files"]:
        assert (tmp_path / name).stat().st_size > 0
    sw = summary["shallow_water_adjustment"]
    # sum(eta) changes only by the telescoping flux sum: round-off in float64
    assert sw["mass_relative_drift"] < 1e-12
    # RK4 at dt_max/2 over 2 days on 32^2: measured 1.5e-4 (time-truncation, shrinks as dt^4)
    assert sw["energy_relative_drift"] < 1e-3
    # the adjusted SSH (mean over the last inertial period) is the PV-inversion prediction up to
    # the inertia-gravity waves still sloshing in the inviscid periodic domain: measured 0.074
    assert sw["balanced_ssh_error_vs_pv_inversion"] < 0.15
    # The released bump is at rest: its geostrophic residual ||(u, v) - (u_g, v_g)|| / ||(u_g, v_g)||
    # is exactly 1. After adjustment, the mean over the last inertial period is balanced up to the
    # inertia-gravity waves that keep circulating in the inviscid periodic domain (frequencies
    # above f0, so one inertial period does not average them out): measured 0.29 at 32^2 after
    # 2 days; 0.45 (1.5x) still requires most of the adjustment to balance.
    assert sw["geostrophic_residual_of_mean_state"] < 0.45
    qgs = summary["qg_turbulence"]
    # Baroclinic instability: the energy of the fastest mode of the discrete linear theory
    # (demo.two_layer_growth_rate, 1/sigma = 188 days on 64^2) grows at 2 sigma. Fit over days
    # 90-365: measured 0.9865 of the theory (the decaying partner eigenvector and nonlinear
    # transfer bias the fit by ~1%); 5% is 3.7x that, while the continuous theory without
    # the grid's viscosity and finite differences (1/sigma = 149 days) is 26% off.
    assert qgs["fastest_mode"] == [7, 0]
    ratio = qgs["fastest_mode_ke_growth_rate_per_day_days_90_365"] / qgs["linear_theory_ke_growth_rate_per_day"]
    assert abs(ratio - 1) < 0.05, ratio
    # and the total KE grows once the initial grid-scale noise has decayed: measured x4.97 from
    # its minimum (day ~80) to day 365; 3x requires sustained growth
    assert qgs["kinetic_energy_growth_from_minimum"] > 3.0
    ds = read_netcdf(tmp_path / "sw_adjustment.nc")
    assert ds["eta"].attrs["units"] == "m" and ds.sizes["time"] > 10
    qg = read_netcdf(tmp_path / "qg_turbulence.nc")
    assert {"q1", "q2", "psi1", "psi2", "kinetic_energy", "kinetic_energy_fastest_mode"} <= set(qg.variables)
    assert np.isfinite(qg["q1"].values).all()


MISSION_FILES = {"truth.nc", "observations.nc", "estimate.nc", "estimate_oi.nc", "estimate_geostrophic.nc",
                 "metrics.json", "ssh_maps.png", "currents.png", "errors.png", "oi/ssh_maps.png"}


@pytest.mark.slow  # ~25-45 s on a loaded 2-core host: a 32 x 32 twin, 3 OI analyses, 2 training iterations
def test_mission_quick_end_to_end(tmp_path, capsys):
    """The quick mission writes its files, prints the table, and every score is finite.

    Floors (measured on the quick run: OI mu = 0.65, tau_uv = 83 %; learned after only 2
    iterations mu = 0.54, tau_uv = 68 %; geostrophy of the binned obs mu = 0.19, tau_uv = 37 %):
    OI above mu = 0.5 and tau_uv = 70 % (a mapping that works), the learned one above mu = 0.35
    and tau_uv = 50 % -- above the geostrophic floor by a wide margin, so a sign error, a diverged
    state, velocities read from the wrong grid or a lost first guess (mu = 0.02 without
    ``prior_sigmas``, measured) all fail it. The truth's velocities reach no estimator: the
    observations file holds SSH only."""
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["table"] in out and "learned" in out and "OI" in out
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert MISSION_FILES <= written and set(m["files"]) == written
    rows = {r["method"]: r for r in m["scores"]}
    assert set(rows) == {"oi", "geostrophic", "learned"}
    for r in rows.values():
        assert np.isfinite(r["mu"]) and np.isfinite(r["tau_uv"]) and np.isfinite(r["tau_vorticity"]), r
    assert rows["oi"]["mu"] > 0.5 and rows["oi"]["tau_uv"] > 70.0, rows["oi"]
    assert rows["learned"]["mu"] > 0.35 and rows["learned"]["tau_uv"] > 50.0, rows["learned"]
    assert 0.1 <= m["truth"]["rossby_number"] <= 0.3 and m["truth"]["mass_relative_drift"] < 1e-12
    obs = read_netcdf(tmp_path / "observations.nc")
    assert "u" not in obs and "v" not in obs and set(obs["platform"].values) >= {"swot_karin", "saral"}
    est = read_netcdf(tmp_path / "estimate.nc")
    assert est.attrs["velocity_kind"] == "total" and est.sizes["time"] == m["scored_days"]


def test_mission_refuses_a_device_it_would_not_use(tmp_path):
    """The mission runs on the CPU: another device is an error naming ``device``, not ignored."""
    from hybridocean.mission import run_mission

    with pytest.raises(ValueError, match="device"):
        run_mission(tmp_path, device="meta")
    assert not any(tmp_path.iterdir())  # refused before writing anything


def test_growth_rate_refuses_models_it_does_not_describe():
    """two_layer_growth_rate is the finite-difference, nu-free linear theory: a spectral QG or
    one with Laplacian viscosity would get a wrong rate silently, so it is refused by name."""
    from hybridocean.demo_physics import pyqg_two_layer, two_layer_growth_rate
    from physics.grid import Grid
    from physics.qg import QG

    grid = Grid(16, 16, dx=2.5e4, dy=2.5e4, boundary="periodic", f0=1e-4)
    model = pyqg_two_layer(grid)
    sigma, m, l = two_layer_growth_rate(model)
    assert sigma > 0 and 1 <= m <= 8  # the sheared pyqg default is baroclinically unstable
    with pytest.raises(ValueError, match="model: spectral=True"):
        two_layer_growth_rate(pyqg_two_layer(grid, spectral=True))
    g_prime = 1e-4**2 * (1 + 0.25) * 15.0e3**2 / 500.0  # pyqg_two_layer's: f0^2 / (F1 H1), rd = 15 km
    viscous = QG(grid, H=[500.0, 2000.0], g_prime=[g_prime], f0=1e-4, U=[0.025, 0.0], beta=1.5e-11, drag=5.787e-7,
                 nu=10.0)
    with pytest.raises(ValueError, match="model: Laplacian viscosity nu"):
        two_layer_growth_rate(viscous)
    with pytest.raises(TypeError, match="model must be a physics.qg.QG"):
        two_layer_growth_rate(grid)
