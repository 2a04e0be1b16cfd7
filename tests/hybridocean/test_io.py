"""CF netCDF round trip and atomic writes."""
import os

import numpy as np
import pytest
import torch

from physics.grid import Grid
from hybridocean.io import read_netcdf, save_json, states_to_dataset, write_netcdf


def _ds():
    g = Grid(6, 5, dx=2e3, dy=1e3, f0=1e-4, boundary="closed")
    states = torch.randn(4, 3, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return g, states, states_to_dataset(states, [0.0, 60.0, 120.0, 180.0], g, ("eta", "u", "v"), {"g": 9.81})


def test_cf_metadata_and_staggered_dims():
    g, _, ds = _ds()
    assert ds.attrs["Conventions"].startswith("CF-")
    assert ds["eta"].dims == ("time", "y", "x") and ds["eta"].attrs["units"] == "m"
    assert ds["u"].dims == ("time", "y", "x_u") and ds["u"].attrs["standard_name"] == "sea_water_x_velocity"
    assert ds["v"].dims == ("time", "y_v", "x")
    assert ds["x_u"].values[0] == 0.0 and ds["x"].values[0] == 1e3
    assert "since" in ds["time"].attrs["units"]


def test_netcdf_round_trip_exact(tmp_path):
    _, states, ds = _ds()
    path = write_netcdf(ds, tmp_path / "sub" / "out.nc")
    back = read_netcdf(path)
    np.testing.assert_array_equal(back["u"].values, states[:, 1].numpy())
    np.testing.assert_array_equal(back["time"].values, [0.0, 60.0, 120.0, 180.0])
    assert back.attrs["g"] == 9.81
    assert [p.name for p in path.parent.iterdir()] == ["out.nc"]  # no temp file left


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    _, _, ds = _ds()
    path = write_netcdf(ds, tmp_path / "out.nc")
    before = path.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(ds), "to_netcdf", boom)
    with pytest.raises(RuntimeError):
        write_netcdf(ds, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["out.nc"]


def test_bad_shapes():
    g = Grid(6, 5, dx=1.0, dy=1.0)
    with pytest.raises(ValueError, match="states"):
        states_to_dataset(torch.zeros(2, 2, 5, 6), [0, 1], g, ("eta", "u", "v"))
    with pytest.raises(ValueError, match="times"):
        states_to_dataset(torch.zeros(2, 3, 5, 6), [0], g, ("eta", "u", "v"))


def test_json(tmp_path):
    p = save_json({"a": torch.tensor([1.0, 2.0]), "b": np.float64(3)}, tmp_path / "m.json")
    assert '"a": [' in p.read_text()
