"""``hybridocean observe`` end to end on tiny truth files, and its one-line errors for bad input."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.io import states_to_dataset, write_netcdf
from hybridocean.cli import main
from hybridocean.observations.cli import PLATFORM_NAMES
from hybridocean.observations.constellation import platform_names
from hybridocean.observations.core import Observations
from physics.grid import OMEGA, Grid

ROOT = Path(__file__).resolve().parents[3]


def write_l4(path, ssh=None, name="adt", coords=("latitude", "longitude"), attrs=None):
    lon = np.arange(-20.0, 0.001, 0.25)
    lat = np.arange(30.0, 40.001, 0.25)
    t = np.datetime64("2019-01-01", "ns") + np.arange(3) * np.timedelta64(1, "D")
    if ssh is None:
        ssh = 0.1 + 0.01 * lon[None, None, :] + 0.02 * lat[None, :, None] + np.zeros((3, 1, 1))
    da = xr.DataArray(ssh, dims=("time",) + coords, name=name,
                      attrs=attrs if attrs is not None else {"units": "m", "standard_name": "sea_surface_height_above_geoid"})
    if coords == ("latitude", "longitude"):
        da = da.assign_coords(time=t, latitude=lat, longitude=lon)
    else:
        da = da.assign_coords(time=t)
    da.to_dataset().to_netcdf(path)
    return path


def run_cli(capsys, *args):
    rc = main(["observe", *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return rc, out, err


def test_observe_end_to_end_on_a_tiny_l4(tmp_path, capsys, test_data):
    truth = write_l4(tmp_path / "l4.nc")
    out = tmp_path / "sub" / "obs.nc"
    rc, stdout, err = run_cli(capsys, "--truth", truth, "--constellation", "swot,jason3,sentinel3a", "--start", "2019-01-01",
                              "--days", "2", "--seed", "3", "--out", out, "--nadir-noise", "0.02",
                              "--karin-noise", test_data / "karin_noise_v2.nc", "--roll-std", "0.01")
    assert rc == 0, err
    obs = Observations.open(out)
    assert len(obs) > 0 and set(obs.platforms) <= {"swot_karin", "swot_nadir", "jason3", "sentinel3a"}
    for p in obs.platforms:  # the printed per-platform counts are those of the file
        assert f"{p:<12s} {int((obs.platform == p).sum()):>10d} points" in stdout
    days = [l for l in stdout.splitlines() if l.strip().startswith("2019-01-0")]
    assert len(days) == 2
    assert obs.ds.attrs["seed"] == 3 and obs.ds.attrs["constellation"] == "swot,jason3,sentinel3a"
    assert [p.name for p in out.parent.iterdir()] == ["obs.nc"]  # atomic: no temporary left behind
    # same seed -> same file contents
    out2 = tmp_path / "obs2.nc"
    assert run_cli(capsys, "--truth", truth, "--constellation", "swot,jason3,sentinel3a", "--start", "2019-01-01", "--days", "2",
                   "--seed", "3", "--out", out2, "--nadir-noise", "0.02", "--karin-noise", test_data / "karin_noise_v2.nc",
                   "--roll-std", "0.01")[0] == 0
    np.testing.assert_array_equal(Observations.open(out2).ssh, obs.ssh)


def test_observe_a_library_simulation(tmp_path, capsys):
    grid = Grid(30, 20, dx=20e3, dy=20e3, boundary="closed", f0=2 * OMEGA * math.sin(math.radians(38.0)))
    X, Y = grid.mesh("center")
    t = torch.arange(3, dtype=torch.float64) * 86400.0
    eta = 0.1 + 1e-6 * X - 1e-6 * Y + 0 * t[:, None, None]
    sim = write_netcdf(states_to_dataset(eta[:, None], t, grid, ["eta"]), tmp_path / "sim.nc")
    out = tmp_path / "obs.nc"
    rc, stdout, err = run_cli(capsys, "--truth", sim, "--constellation", "swot,jason3,sentinel3a,sentinel3b,saral",
                              "--out", out, "--center=-30,38")
    assert rc == 0, err
    obs = Observations.open(out)
    assert obs.coords_kind == "xy"
    x, y = obs.ds["x"].values, obs.ds["y"].values
    np.testing.assert_allclose(obs.ssh, 0.1 + 1e-6 * x - 1e-6 * y, atol=1e-12)  # exact H, no noise
    assert obs.ds.attrs["domain_center_lonlat"] == "-30.0 38.0"


def _bad_cases(tmp_path, test_data):
    good = write_l4(tmp_path / "good.nc")
    nossh = write_l4(tmp_path / "nossh.nc", name="temperature", attrs={"units": "K"})
    nocoords = write_l4(tmp_path / "nocoords.nc", coords=("a", "b"), ssh=np.zeros((3, 41, 81)))
    allnan = write_l4(tmp_path / "allnan.nc", ssh=np.full((3, 41, 81), np.nan))
    bad_eph = tmp_path / "bad_ephem.txt"
    bad_eph.write_text("this is not an ephemeris\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    base = ["--constellation", "jason3", "--days", "1"]
    return {
        "no SSH variable": (["--truth", nossh, *base, "--out", tmp_path / "o.nc"], "ssh"),
        "no coordinates": (["--truth", nocoords, *base, "--out", tmp_path / "o.nc"], "coordinate"),
        "all missing": (["--truth", allnan, *base, "--out", tmp_path / "o.nc"], "missing"),
        "box outside": (["--truth", good, *base, "--bbox=100,120,-10,10", "--out", tmp_path / "o.nc"], "bbox"),
        "negative noise": (["--truth", good, *base, "--nadir-noise", "-0.1", "--out", tmp_path / "o.nc"], "--nadir-noise"),
        "unknown platform": (["--truth", good, "--constellation", "swot,topex9", "--out", tmp_path / "o.nc"], "topex9"),
        "bad ephemeris": (["--truth", good, "--constellation", "swot", "--ephemeris", bad_eph, "--out", tmp_path / "o.nc"], "bad_ephem.txt"),
        "unwritable out": (["--truth", good, *base, "--out", blocker / "obs.nc"], "--out"),
        "bad start": (["--truth", good, *base, "--start", "yesterday-ish", "--out", tmp_path / "o.nc"], "--start"),
        "missing truth file": (["--truth", tmp_path / "nope.nc", *base, "--out", tmp_path / "o.nc"], "nope.nc"),
    }


@pytest.mark.parametrize("case", ["no SSH variable", "no coordinates", "all missing", "box outside", "negative noise",
                                  "unknown platform", "bad ephemeris", "unwritable out", "bad start", "missing truth file"])
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path, capsys, test_data, case):
    args, word = _bad_cases(tmp_path, test_data)[case]
    rc, out, err = run_cli(capsys, *args)
    assert rc == 2
    lines = [l for l in err.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("hybridocean: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert word.lower() in errors[0].lower(), errors[0]
    assert not (tmp_path / "o.nc").exists()


def test_failed_run_leaves_an_existing_output_untouched(tmp_path, capsys):
    out = tmp_path / "obs.nc"
    out.write_bytes(b"previous contents")
    rc, _, _ = run_cli(capsys, "--truth", write_l4(tmp_path / "l4.nc"), "--constellation", "jason3", "--start", "2030-01-01",
                       "--days", "1", "--out", out)
    assert rc == 2
    assert out.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l4.nc", "obs.nc"]


@pytest.mark.slow  # a fresh interpreter importing torch: ~5-15 s on a loaded machine
def test_module_entry_point_exits_nonzero_without_traceback(tmp_path):
    truth = write_l4(tmp_path / "l4.nc")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "hybridocean.cli", "observe", "--truth", str(truth), "--constellation", "nosuchsat",
                        "--out", str(tmp_path / "o.nc")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip().startswith("hybridocean: error:")
    assert len(r.stderr.strip().splitlines()) == 1 and "nosuchsat" in r.stderr


def test_help_lists_every_platform():
    assert list(PLATFORM_NAMES) == platform_names()
