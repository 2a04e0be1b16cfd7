"""The built-in default case (``hybridocean demo --quick``) runs and its physics checks hold."""
import json

import numpy as np

from hybridocean.cli import main
from hybridocean.io import read_netcdf


def test_demo_quick_writes_results_and_conserves(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
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
    ds = read_netcdf(tmp_path / "sw_adjustment.nc")
    assert ds["eta"].attrs["units"] == "m" and ds.sizes["time"] > 10
    qg = read_netcdf(tmp_path / "qg_turbulence.nc")
    assert {"q1", "q2", "psi1", "psi2", "kinetic_energy"} <= set(qg.variables)
    assert np.isfinite(qg["q1"].values).all()
