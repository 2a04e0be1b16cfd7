"""``hybridocean evaluate``: every metric against analytic expectations on a tiny x/y case
(perfect estimate, constant SSH offset, held-out tracks), the JSON and PNG outputs, and bad input
(one ``hybridocean: error:`` line naming the option, exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from _cli_cases import DAY, NX, NY, eddy_ssh, eddy_truth
from hybridocean import cli
from hybridocean.io import states_to_dataset, write_netcdf
from hybridocean.observations import from_gridded
from physics.grid import Grid

PNG = b"\x89PNG\r\n\x1a\n"
OFFSET = 0.05  # [m] constant error added to the SSH of the estimate


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hybridocean: error: "), err
    return err[0]


@pytest.fixture
def case(tmp_path):
    """Truth (5 daily eddy maps), its perfect geostrophic estimate, an offset estimate, held-out
    points at 60 random cell centres per time, and their paths."""
    truth = eddy_truth(tmp_path / "truth.nc", n_times=5)
    est = tmp_path / "est.nc"
    assert cli.main(["estimate", "--obs", str(truth), "--method", "geostrophic", "--out", str(est)]) == 0
    with xr.open_dataset(est) as ds:
        off = ds.load()
    off["ssh"] = off["ssh"] + OFFSET
    off.attrs["obs_file"] = str(tmp_path / "no-such-obs.nc")  # a default that is not there: nothing drawn
    write_netcdf(off, tmp_path / "offset.nc")
    with xr.open_dataset(truth) as t:
        tds = t.load()
    rng = np.random.default_rng(3)
    keep = np.zeros((5, NY, NX), bool)
    keep.reshape(5, -1)[:, rng.choice(NY * NX, 60, replace=False)] = True
    hold = from_gridded(tds, variable="eta", mask=keep, platform="holdout")
    hold.to_netcdf(tmp_path / "hold.nc")
    return {"truth": truth, "est": est, "offset": tmp_path / "offset.nc", "hold": tmp_path / "hold.nc",
            "ssh": eddy_ssh(5), "dir": tmp_path}


def test_perfect_estimate_scores_and_figures(case, capsys):
    """Estimate == truth: RMSE 0, mu 1, tau_uv 100 (truth currents use the estimate's own
    stencil, so equality is exact), every PSD score 1 at all scales (lambda_x at the grid bound),
    held-out RMSE 0 (points at cell centres, where bilinear H is exact; round-off only, 1e-12 m).
    Four PNGs are written and the observations (the estimate's obs_file, a gridded map) drawn."""
    out = case["dir"] / "ev"
    assert cli.main(["evaluate", "--estimate", str(case["est"]), "--truth", str(case["truth"]),
                     "--holdout", str(case["hold"]), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    m = json.loads((out / "metrics.json").read_text())
    assert printed == m
    assert m["ssh"]["rmse"] == 0.0 and m["ssh"]["mu"] == 1.0 and m["ssh"]["sigma_t"] == 0.0
    assert m["currents"]["tau_uv"] == 100.0 and m["currents"]["tau_vorticity"] == 100.0
    assert m["holdout"]["rmse"] < 1e-12 and m["holdout"]["n_points"] == 300
    # score 1 at every scale: lambda_x is the grid's bound, the shortest wavelength scored --
    # isotropic rings |k| = i / 200 km, i <= 10 (k_max = 1 / (2 dx)): 20 km; space-time: the
    # positive FFT bins k / 240 km, k <= 11, of the 24 x-points: 240 / 11 km.
    assert m["psd_isotropic"]["lambda_x_km"] == pytest.approx(20.0, rel=1e-12)
    assert m["psd_spacetime"]["lambda_x_km"] == pytest.approx(240.0 / 11, rel=1e-12)
    for name in ("ssh_maps.png", "currents.png", "errors.png", "psd_score.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert m["figures"] == ["ssh_maps.png", "currents.png", "errors.png", "psd_score.png"]
    assert m["files"]["obs"] is not None


def test_offset_estimate_metrics_match_their_definitions(case, capsys):
    """SSH + c with unchanged currents: RMSE = c, mu = 1 - c / RMS(truth), the anomaly score
    mu' = 1 - c / RMS(truth - mean), sigma_t = std_t(1 - c / RMS_t(truth)), tau_uv = 100,
    held-out RMSE = c -- each to float64 round-off (rtol 1e-12)."""
    out = case["dir"] / "ev2"
    assert cli.main(["evaluate", "--estimate", str(case["offset"]), "--truth", str(case["truth"]),
                     "--holdout", str(case["hold"]), "--out", str(out), "--no-figures"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    s = case["ssh"]
    assert m["ssh"]["rmse"] == pytest.approx(OFFSET, rel=1e-12)
    assert m["ssh"]["mu"] == pytest.approx(1 - OFFSET / np.sqrt(np.mean(s**2)), rel=1e-12)
    assert m["ssh_anomaly"]["mu"] == pytest.approx(1 - OFFSET / np.sqrt(np.mean((s - s.mean()) ** 2)), rel=1e-12)
    mu_t = 1 - OFFSET / np.sqrt(np.mean(s**2, axis=(1, 2)))
    assert m["ssh"]["sigma_t"] == pytest.approx(np.std(mu_t), rel=1e-9, abs=1e-15)
    assert m["currents"]["tau_uv"] == 100.0
    assert m["holdout"]["rmse"] == pytest.approx(OFFSET, rel=1e-12)
    assert m["files"]["obs"] is None and "figures" not in m


def _other_truths(d: Path):
    s = eddy_ssh(5)
    coarse = Grid(NX // 2, NY // 2, dx=20e3, dy=20e3, boundary="closed", f0=1e-4, beta=1.6e-11)
    ds = states_to_dataset(torch.as_tensor(s[:, ::2, ::2])[:, None], torch.arange(5.0) * DAY, coarse, ["eta"])
    write_netcdf(ds, d / "coarse.nc")
    shifted = states_to_dataset(torch.as_tensor(s)[:, None], torch.arange(5.0) * DAY + DAY / 2,
                                Grid(NX, NY, dx=10e3, dy=10e3, boundary="closed"), ["eta"])
    write_netcdf(shifted, d / "shifted.nc")
    return d / "coarse.nc", d / "shifted.nc"


def test_bad_input_is_one_line_naming_the_option(case, capsys):
    coarse, shifted = _other_truths(case["dir"])
    blocker = case["dir"] / "blocker"
    blocker.write_text("a file")
    e, t, o = str(case["est"]), str(case["truth"]), str(case["dir"] / "bad")
    cases = [
        (["--estimate", e, "--truth", str(coarse), "--out", o], "--truth/--estimate", "different grids"),
        (["--estimate", e, "--truth", str(shifted), "--out", o], "--truth/--estimate", "different times"),
        (["--estimate", e, "--truth", t, "--out", str(blocker / "sub")], "--out", "is not a directory"),
        (["--estimate", t, "--truth", t, "--out", o], "--estimate", "not an estimate file"),
        (["--estimate", e, "--truth", str(case["dir"] / "none.nc"), "--out", o], "--truth", "no such file"),
        (["--estimate", e, "--truth", t, "--holdout", t, "--out", o], "--holdout", "not an observations file"),
        (["--estimate", str(case["dir"] / "none.nc"), "--truth", t, "--out", o], "--estimate", "no such file"),
    ]
    for argv, option, what in cases:
        assert cli.main(["evaluate", *argv, "--no-figures"]) == 2, argv
        line = _err_line(capsys)
        assert option in line and what in line, (argv, line)
        assert not (case["dir"] / "bad" / "metrics.json").exists()


def test_truth_currents_from_file_on_the_real_nrt_map(shared_data, tmp_path):
    """The DUACS NRT L4 map of 2019-02-23 in the Gulf Stream box (33-43 N, 295-305 E): its ``adt``
    -> geostrophic estimate, scored against the product's own ``ugos``/``vgos``
    (``--truth-currents file``): tau_uv 99.3 measured; > 98 required (the two second-order
    stencils differ in the sharp jet, cf. the estimator's own docstring: 98.3-99.1 over
    10-80 N). Against the truth's geostrophy with the estimate's stencil it is exactly 100."""
    from hybridocean.observations import read_l4

    nrt = shared_data / "duacs_nrt_l4_global" / "nrt_global_allsat_phy_l4_20190223_20190226.nc"
    write_netcdf(read_l4(nrt, bbox=(295, 305, 33, 43)), tmp_path / "box.nc")
    est = tmp_path / "est.nc"
    assert cli.main(["estimate", "--obs", str(tmp_path / "box.nc"), "--method", "geostrophic", "--out", str(est)]) == 0
    for mode, check in (("file", lambda t: 98.0 < t < 100.0), ("geostrophic", lambda t: t == 100.0)):
        out = tmp_path / mode
        assert cli.main(["evaluate", "--estimate", str(est), "--truth", str(nrt), "--truth-currents", mode,
                         "--out", str(out), "--no-figures"]) == 0
        m = json.loads((out / "metrics.json").read_text())
        assert check(m["currents"]["tau_uv"]), (mode, m["currents"])
        assert m["ssh"]["rmse"] == 0.0
