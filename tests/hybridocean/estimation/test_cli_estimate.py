"""``hybridocean estimate``: end to end on tiny cases for every method, the grid/Coriolis/gravity
options, and bad input (one ``hybridocean: error:`` line naming the option, exit 2, nothing written).

Runs in process through :func:`hybridocean.cli.main` (one subprocess case checks the real console
behaviour: no traceback).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from _cli_cases import BETA, F0, NX, NY, Y0, eddy_grid, eddy_ssh, eddy_truth, lonlat_points
from hybridocean import cli
from hybridocean.estimation.cli import METHODS
from hybridocean.estimation.cli_models import MODEL_METHODS
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid

REPO = Path(__file__).resolve().parents[3]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hybridocean: error: ") and "Traceback" not in err
    return lines[0]


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as ds:
        return ds.load()


def _methods():
    """The classical methods (the model-based ones: test_cli_fourdvar.py, test_cli_learned.py)."""
    out = []
    for m in sorted(set(METHODS) - set(MODEL_METHODS)):
        try:
            __import__(METHODS[m])
            out.append(m)
        except ImportError:  # an estimator not written yet: listed, skipped
            out.append(pytest.param(m, marks=pytest.mark.skip(reason=f"{METHODS[m]} not importable yet")))
    return out


@pytest.mark.parametrize("method", _methods())
def test_every_method_end_to_end_on_gappy_map(tmp_path, method, capsys):
    """A gappy x/y map (a third of the cells NaN) -> an estimate on the same grid and times,
    with the CF layout, finite SSH on every cell and the input's observed values kept (to the
    method's tolerance), written atomically (no temporary file left beside it)."""
    ssh = eddy_ssh(3)
    rng = np.random.default_rng(1)
    gaps = rng.random(ssh.shape) < 1 / 3
    # a few cells unobserved at every time (isolated: ocean gaps, filled like the others; a patch of
    # >= 16 such cells would be land, observations.never_observed_land)
    gaps[:, 5, 7] = gaps[:, 12, 3] = gaps[:, 12, 4] = True
    gappy = np.where(gaps, np.nan, ssh)
    src = eddy_truth(tmp_path / "gappy.nc", ssh=gappy)
    out = tmp_path / "est" / "est.nc"
    assert cli.main(["estimate", "--obs", str(src), "--method", method, "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    ds = _open(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["est.nc"]
    assert ds.attrs["method"] == method and ds["ssh"].dims == ("time", "y", "x")
    assert ds["ssh"].shape == (3, NY, NX) and {"u", "v"} <= set(ds.data_vars)
    np.testing.assert_array_equal(ds["time"].values, np.datetime64("2000-01-01", "ns") + np.arange(3) * np.timedelta64(1, "D"))
    assert np.isfinite(ds["ssh"].values).all()
    seen = np.isfinite(gappy)
    err = np.abs(ds["ssh"].values[seen] - gappy[seen]).max()
    # geostrophic/cyclogeostrophic keep observed cells exactly (binning of one value per cell);
    # the OI analysis is no interpolant: with its 0.05 m noise std it departs from each
    # observation by a fraction of that (measured 0.012 m); bound 0.03 m.
    assert err <= (1e-12 if method != "oi" else 0.03), err
    # gap cells: within 10 % of the 0.3 m eddy amplitude (measured 0.016 m harmonic fill, 0.013 m OI)
    assert np.abs(ds["ssh"].values[~seen] - ssh[~seen]).max() < 0.03
    assert ds.attrs["y0_m"] == Y0 and ds.attrs["f0_per_s"] == F0 and ds.attrs["beta_per_m_per_s"] == BETA


def test_xy_coriolis_and_g_from_file_attributes_then_flags(tmp_path):
    """On an x/y grid f0, beta, the y0 where f = f0 and g come from the file's attributes; the
    currents are exactly those of physics.geostrophy on that beta-plane (same stencil: float64
    round-off, rtol 1e-12). Flags override: halving g halves u, v exactly; --f0/--beta/--y0 match
    physics on the flagged plane. Fails if y0 were dropped (the default Ly/2 = 100 km != 30 km)."""
    ssh = eddy_ssh(2)
    src = eddy_truth(tmp_path / "t.nc", ssh=ssh, extra_attrs={"g_m_per_s2": 9.8})
    a, b, c = tmp_path / "a.nc", tmp_path / "b.nc", tmp_path / "c.nc"
    assert cli.main(["estimate", "--obs", str(src), "--method", "geostrophic", "--out", str(a)]) == 0
    u, v = geostrophic_velocities(torch.as_tensor(ssh), eddy_grid(), g=9.8, at="center", equator="mask")
    ds = _open(a)
    np.testing.assert_allclose(ds["u"].values, u.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ds["v"].values, v.numpy(), rtol=1e-12, atol=1e-15)
    assert ds.attrs["g_m_per_s2"] == 9.8
    u_mid, _ = geostrophic_velocities(torch.as_tensor(ssh), eddy_grid(y0=NY * 5e3), g=9.8, at="center")
    assert np.abs(u_mid.numpy() - ds["u"].values).max() > 1e-3 * np.abs(ds["u"].values).max()  # y0 matters
    assert cli.main(["estimate", "--obs", str(src), "--method", "geostrophic", "--out", str(b), "--g", "4.9"]) == 0
    np.testing.assert_allclose(_open(b)["u"].values, ds["u"].values / 2, rtol=1e-12, atol=1e-15)
    assert cli.main(["estimate", "--obs", str(src), "--method", "geostrophic", "--out", str(c),
                     "--f0", "2e-4", "--beta", "0", "--y0", "0"]) == 0
    grid = Grid(NX, NY, dx=10e3, dy=10e3, boundary="closed", f0=2e-4, beta=0.0, y0=0.0)
    u2, v2 = geostrophic_velocities(torch.as_tensor(ssh), grid, g=9.8, at="center")
    np.testing.assert_allclose(_open(c)["v"].values, v2.numpy(), rtol=1e-12, atol=1e-15)


def test_points_on_bbox_grid_and_output_times(tmp_path):
    """A lon/lat point cloud -> the --bbox/--resolution grid (cell centres lon0 + (i + 1/2) res)
    at --step-hours steps from --start to --end; a --grid file gives its grid and times."""
    obs = lonlat_points(n=3000)
    p = obs.to_netcdf(tmp_path / "obs.nc")
    out = tmp_path / "est.nc"
    assert cli.main(["estimate", "--obs", str(p), "--method", "geostrophic", "--out", str(out),
                     "--bbox", "296", "304", "34", "40", "--resolution", "0.5",
                     "--start", "2019-01-02", "--end", "2019-01-03T06", "--step-hours", "24"]) == 0
    ds = _open(out)
    np.testing.assert_allclose(ds["longitude"].values, -64 + 0.5 * (np.arange(16) + 0.5), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ds["latitude"].values, 34 + 0.5 * (np.arange(12) + 0.5), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ds["time"].values, np.array(["2019-01-02", "2019-01-03"], "datetime64[ns]"))
    assert np.isfinite(ds["ssh"].values).all()
    out3 = tmp_path / "est3.nc"  # default times: whole days nearest the first/last observation (00:00 +- 6 h)
    assert cli.main(["estimate", "--obs", str(p), "--method", "geostrophic", "--out", str(out3),
                     "--bbox", "296", "304", "34", "40", "--resolution", "2"]) == 0
    np.testing.assert_array_equal(_open(out3)["time"].values,
                                  np.array(["2019-01-01", "2019-01-02", "2019-01-03"], "datetime64[ns]"))
    out2 = tmp_path / "est2.nc"
    assert cli.main(["estimate", "--obs", str(p), "--method", "geostrophic", "--out", str(out2), "--grid", str(out)]) == 0
    ds2 = _open(out2)
    np.testing.assert_array_equal(ds2["time"].values, ds["time"].values)
    np.testing.assert_array_equal(ds2["longitude"].values, ds["longitude"].values)


def _bad_cases(tmp_path: Path):
    good = eddy_truth(tmp_path / "good.nc", n_times=2)
    nan = eddy_truth(tmp_path / "nan.nc", ssh=np.full((2, NY, NX), np.nan))
    pts = lonlat_points(n=50, days=("2019-01-01",)).to_netcdf(tmp_path / "pts.nc")
    xr.Dataset({"a": ("q", [1.0])}).to_netcdf(tmp_path / "junk.nc")
    (tmp_path / "text.nc").write_text("not netcdf")
    badf0, nof0 = tmp_path / "badf0.nc", tmp_path / "nof0.nc"
    with xr.open_dataset(good) as ds:
        ds.load().assign_attrs(f0_per_s="abc").to_netcdf(badf0)
    with xr.open_dataset(good) as ds:
        d = ds.load()
        d.attrs = {k: v for k, v in d.attrs.items() if k not in ("f0_per_s", "beta_per_m_per_s")}
        d.to_netcdf(nof0)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    base = ["estimate", "--method", "geostrophic"]
    o = str(tmp_path / "o.nc")
    return [
        (base + ["--obs", str(nan), "--out", o], "--obs", "no observed value at all"),
        (base + ["--obs", str(good), "--out", o, "--start", "2030-01-01", "--end", "2030-01-02"],
         "--start/--end", "outside the observations' span"),
        (base + ["--obs", str(good), "--out", str(blocker / "x.nc")], "--out", "is not a directory"),
        (base + ["--obs", str(good), "--out", str(tmp_path)], "--out", "is a directory"),
        (base + ["--obs", str(tmp_path / "missing.nc"), "--out", o], "--obs", "no such file"),
        (base + ["--obs", str(tmp_path / "text.nc"), "--out", o], "--obs", "cannot read it as netCDF"),
        (base + ["--obs", str(tmp_path / "junk.nc"), "--out", o], "--obs", ""),
        (base + ["--obs", str(good), "--out", o, "--param", "nosuch=1"], "--param nosuch", "takes no such parameter"),
        (base + ["--obs", str(good), "--out", o, "--param", "window=-5"], "--param", "window"),
        (base + ["--obs", str(good), "--out", o, "--g", "-1"], "--g", "> 0"),
        (base + ["--obs", str(pts), "--out", o], "--grid or --bbox", "required"),
        (base + ["--obs", str(pts), "--out", o, "--bbox", "296", "304", "34", "40", "--resolution", "0.5", "--f0", "1e-4"],
         "--f0", "x/y grids only"),
        (base + ["--obs", str(pts), "--out", o, "--bbox", "296", "304", "34", "40"], "--resolution", "required"),
        (base + ["--obs", str(good), "--out", o, "--step-hours", "0"], "--step-hours", "> 0"),
        (["estimate", "--method", "nosuch", "--obs", str(good), "--out", o], "--method", "invalid choice"),
        (base + ["--obs", str(good), "--out", o, "--start", "yesterday-ish"], "--start", "not a date"),
        # --out naming an input would overwrite it
        (base + ["--obs", str(good), "--out", str(good)], "--out", "is the --obs input file"),
        (base + ["--obs", str(good), "--out", str(tmp_path / "." / "good.nc")], "--out", "is the --obs input file"),
        (base + ["--obs", str(pts), "--out", str(good), "--grid", str(good)], "--out", "is the --grid input file"),
        # x/y Coriolis parameter: a bad attribute, or none at all
        (base + ["--obs", str(badf0), "--out", o], "--f0", "f0_per_s = 'abc' is not a finite number"),
        (base + ["--obs", str(nof0), "--out", o], "--f0", "needs the Coriolis parameter"),
    ]


def test_bad_input_is_one_line_naming_the_option(tmp_path, capsys):
    for argv, option, what in _bad_cases(tmp_path):
        code = cli.main(argv)
        line = _one_error_line(capsys.readouterr().err)
        assert code == 2, (argv, line)
        assert option in line and what in line, (argv, line)
        assert not (tmp_path / "o.nc").exists(), argv
    with xr.open_dataset(tmp_path / "good.nc") as ds:  # the input named by --out is untouched
        assert "eta" in ds and "u" not in ds


def test_console_error_has_no_traceback(tmp_path):
    """The installed entry point: a rejected run exits 2 with one line and no traceback."""
    nan = eddy_truth(tmp_path / "nan.nc", ssh=np.full((2, NY, NX), np.nan))
    r = subprocess.run([sys.executable, "-m", "hybridocean.cli", "estimate", "--obs", str(nan), "--method", "oi",
                        "--out", str(tmp_path / "o.nc")], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2
    assert "--obs" in _one_error_line(r.stderr)


#: tau_uv [%] asked of each classical method on the QG twin's gappy map (test_cli_fourdvar.write_twin):
#: measured geostrophic 86.2, cyclogeostrophic 86.1 (harmonic fill of 45 % of the cells; the
#: gradient-wind correction is negligible at these Rossby numbers), OI 98.0 (smooth Gaussian SSH, its
#: statistics near the OI's defaults); asked 6 and 5 points lower, so another BLAS summation order
#: cannot flip them, far above the 0 % of zero currents.
TWIN_TAU = {"geostrophic": 80.0, "cyclogeostrophic": 80.0, "oi": 93.0}


@pytest.mark.parametrize("method", sorted(TWIN_TAU))
def test_classical_methods_recover_the_hidden_currents_of_the_twin(tmp_path, method, capsys):
    """Each classical method, on the gappy map of the tiny QG twin whose velocities are hidden,
    recovers the currents above its stated tau_uv (TWIN_TAU), within a few seconds."""
    from test_cli_fourdvar import score, write_twin

    tw = write_twin(tmp_path / "tw")
    out = tmp_path / "est.nc"
    assert cli.main(["estimate", "--obs", str(tw["map"]), "--method", method, "--out", str(out)]) == 0
    capsys.readouterr()
    tau = score(_open(out), tw)
    assert tau > TWIN_TAU[method], (method, tau)
