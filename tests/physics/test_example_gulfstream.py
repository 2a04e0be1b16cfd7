"""The Gulf Stream QG example (scripts/example_gulfstream_qg.py) on a short span, and its bad inputs."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from physics.grid import Grid

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "example_gulfstream_qg.py"
CROP = "duacs_l4_sample_gulfstream_crop.nc"
SEAM = "duacs_l4_sample_20181231_seam_crop.nc"  # 350..10 E, 30..46 N: Iberia, Morocco, the Med


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("example_gulfstream_qg", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_two_days_on_the_cropped_box_with_open_boundaries(example, test_data, tmp_path):
    s = example.run(test_data / CROP, tmp_path, days=2.0, report_every=1.0)
    assert s["n_maps"] == 4 and s["shape"] == [40, 40] and s["land_cells"] == 0 and s["grid_metric"] == "sphere"
    assert s["boundary"] == "open" and s["finite"] and s["energy_bounded"] and s["days"] == [0.0, 1.0, 2.0]
    # the boundary brings the observed evolution in, the interior evolves freely: the energy changes by
    # a few per cent over two days (measured 1.4005 -> 1.4022 -> 1.4018), not by its own size
    E = s["energy_m2_s2"]
    assert max(abs(e / E[0] - 1) for e in E) < 0.05, E
    # the Gulf Stream: geostrophic speeds of O(1-2 m/s) at 1/4 degree (max |u| 1.63 m/s on day 0)
    assert 1.0 < s["max_abs_velocity_m_s"][0] < 3.0
    # the CFL-chosen step: advective Courant number <= 0.5 on the initial state
    assert s["dt_s"] * s["max_abs_velocity_m_s"][0] / min(s["dx_min_m"], s["dy_m"]) <= 0.5 + 1e-12
    ds = xr.open_dataset(tmp_path / "gulfstream_qg.nc")
    assert ds["eta"].attrs["units"] == "m" and ds["eta"].attrs["standard_name"] == "sea_surface_height_above_geoid"
    assert ds["lon"].attrs["standard_name"] == "longitude" and ds["eta"].shape == (3, 40, 40)
    assert ds["psi1"].attrs["units"] == "m2 s-1" and ds["q1"].attrs["units"] == "s-1"
    assert float(ds["eta"].isel(time=0).std()) == pytest.approx(s["ssh_rms_m"][0], rel=0.05)
    assert (tmp_path / "gulfstream_qg.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "gulfstream_qg.json").read_text())["finite"] is True
    # the open ring carries the maps of days 0, 1, 2 at those times (TimeField at its nodes: exact)
    ssh, _, _, _, ocean = example.load_box(test_data / CROP)
    psi_maps = (example.G / s["f0_per_s"]) * example.corner_average(example.anomaly(ssh, ocean))
    ring = torch.ones(40, 40, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    for k in range(3):
        np.testing.assert_allclose(ds["psi1"].values[k][ring.numpy()], psi_maps[k][ring].numpy(), rtol=1e-12, atol=1e-9)
    assert not np.allclose(psi_maps[0][ring], psi_maps[2][ring])  # the boundary does change


def test_one_day_with_closed_walls(example, test_data):
    s = example.run(test_data / CROP, None, days=1.0, boundary="closed")
    assert s["boundary"] == "closed" and s["taper_cells"] == 3 and s["finite"] and s["energy_bounded"]
    # unforced, inviscid but for nu4 (damps the grid scale in ~1 day): the energy can only decay, and the
    # mesoscale holds nearly all of it (measured E(1 d) / E(0) = 0.9994; 0.95 leaves room for other setups)
    E = s["energy_m2_s2"]
    assert E[0] >= E[1] > 0.95 * E[0], E


def test_real_files_give_the_same_run_as_the_crop(example, shared_data, test_data):
    # the crop holds the real files' raw values unchanged: the two runs agree to round-off
    real = example.run(shared_data / "duacs_l4_sample", None, days=1.0)
    crop = example.run(test_data / CROP, None, days=1.0)
    assert real["n_maps"] == 4 and real["shape"] == [40, 40]
    np.testing.assert_allclose(real["energy_m2_s2"], crop["energy_m2_s2"], rtol=1e-12)


@pytest.mark.parametrize("boundary", ["open", "closed"])
def test_a_coastal_box_masks_land(example, test_data, tmp_path, boundary):
    # 350..10 E, 34..44 N: Iberia and Morocco -> land cells (closed: psi = 0 on the coasts; open: psi from
    # the map there); land stays NaN in the output
    s = example.run(test_data / SEAM, tmp_path, days=0.5, bbox=(350.0, 10.0, 34.0, 44.0), report_every=0.5,
                    boundary=boundary)
    assert s["land_cells"] > 100 and s["ocean_cells"] > 100 and s["finite"] and s["energy_bounded"]
    eta = xr.open_dataset(tmp_path / "gulfstream_qg.nc")["eta"].values
    ssh, _, _, _, ocean = example.load_box(test_data / SEAM, (350.0, 10.0, 34.0, 44.0))
    assert np.isnan(eta[:, ~ocean.numpy()]).all() and np.isfinite(eta[:, ocean.numpy()]).all()


def test_bad_inputs(example, test_data):
    with pytest.raises(ValueError, match="bbox latitudes"):
        example.run(test_data / CROP, None, bbox=(295.0, 305.0, 80.0, 95.0))  # crosses the north pole
    with pytest.raises(ValueError, match="bbox must be 4 finite"):
        example.check_bbox((295.0, 305.0, 33.0))
    with pytest.raises(ValueError, match="lat cells must lie within"):  # the grid refuses a cell beyond a pole
        Grid.from_lonlat(np.arange(4.0), np.array([88.0, 89.0, 90.0]))
    with pytest.raises(ValueError, match="holds no ocean cell"):  # inland Iberia
        example.load_box(test_data / SEAM, (354.0, 357.0, 38.0, 42.0))
    ssh, lon, lat, _, ocean = example.load_box(test_data / CROP)
    with pytest.raises(ValueError, match="mask must have shape \\(ny, nx\\) = \\(40, 40\\)"):
        example.build_model(lon, lat, ocean[:-1])
    with pytest.raises(ValueError, match="mask has no ocean cell"):
        example.build_model(lon, lat, torch.zeros_like(ocean))
    with pytest.raises(ValueError, match="report_every"):
        example.run(test_data / CROP, None, days=1.0, report_every=0.3)
    with pytest.raises(ValueError, match="boundary must be one of"):
        example.run(test_data / CROP, None, days=1.0, boundary="periodic")


def test_taper_is_zero_on_the_walls_and_one_inside(example):
    w = example.taper(10, 12, 3)
    assert float(w.max()) == 1.0 and float(w[5, 6]) == 1.0
    assert float(w[0, 6]) == pytest.approx(np.sin(np.pi / 12) ** 2) and float(w[:, 0].max()) < 0.07
