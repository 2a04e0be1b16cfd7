"""CF netCDF round trip, atomic writes, file modes, compression and CF standard names."""
import os
import stat

import netCDF4
import numpy as np
import pytest
import torch

from physics.grid import Grid
from hybridocean.io import (
    DEFLATE_LEVEL, atomic_write, current_umask, netcdf_encoding, read_netcdf, save_json, states_to_dataset,
    variable_attrs, write_netcdf,
)


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


# ------------------------------------------------------------------ file modes follow the umask
@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards)."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o027, 0o640)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, mode):
    """The temporary file of atomic_write is 0600 (mkstemp); the result must be 0o666 & ~umask,
    like any file a program creates (the old code left 0600: unreadable by colleagues)."""
    umask(mask)
    _, _, ds = _ds()
    paths = [write_netcdf(ds, tmp_path / "a.nc"), save_json({"a": 1}, tmp_path / "m.json")]
    with atomic_write(tmp_path / "raw.bin") as tmp:
        tmp.write_bytes(b"x")
    paths.append(tmp_path / "raw.bin")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # a file created normally: the reference
    for p in paths + [plain]:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p.name
    assert current_umask() == mask  # reading it leaves it unchanged


def test_umask_without_proc(monkeypatch, umask):
    """Off Linux (no /proc/self/status) the umask is read with os.umask and restored."""
    import hybridocean.io as hio

    def no_proc(*a, **k):
        raise OSError("no /proc here")

    monkeypatch.setattr(hio, "open", no_proc, raising=False)
    umask(0o007)
    assert hio.current_umask() == 0o007 and hio.current_umask() == 0o007


# ------------------------------------------------------------------ compression
def _fields_ds(nt=24, n=64):
    """A smooth O(1) field (sin) and a Gaussian bump whose tails span many decades (the case
    where the byte-shuffle filter hurts), float64, on an n^2 grid."""
    g = Grid(n, n, dx=1e4, dy=1e4, f0=1e-4)
    X, Y = (a.numpy() for a in g.mesh())
    t = np.linspace(0.0, 1.0, nt)[:, None, None]
    smooth = np.sin(2 * np.pi * (X / g.Lx + t)) * np.cos(2 * np.pi * Y / g.Ly)
    r2 = ((X - g.Lx / 2) ** 2 + (Y - g.Ly / 2) ** 2) / (0.1 * g.Lx) ** 2
    bump = 0.2 * np.exp(-r2) * np.cos(2 * np.pi * t)
    states = torch.from_numpy(np.stack([bump, smooth, smooth[:, ::-1].copy()], axis=1))
    return states_to_dataset(states, np.arange(nt) * 60.0, g, ("eta", "u", "v"))


def test_netcdf_is_compressed_losslessly(tmp_path):
    ds = _fields_ds()
    raw = write_netcdf(ds, tmp_path / "raw.nc", compress=False)
    packed = write_netcdf(ds, tmp_path / "packed.nc")
    back = read_netcdf(packed)
    for k in ds.variables:  # deflate is lossless: bit for bit
        np.testing.assert_array_equal(back[k].values, ds[k].values)
    with netCDF4.Dataset(packed) as f, netCDF4.Dataset(raw) as r:
        for k in ("eta", "u", "v"):
            assert f[k].filters()["zlib"] and f[k].filters()["complevel"] == DEFLATE_LEVEL
            assert not r[k].filters()["zlib"]
    # measured 0.22 of the raw size (shuffle on everything: 0.29, off: 0.32); 0.4 leaves room
    # for other zlib builds, while an uncompressed file is 1.0
    assert packed.stat().st_size < 0.4 * raw.stat().st_size


def test_shuffle_auto_picks_the_smaller_per_variable(tmp_path):
    ds = _fields_ds()
    enc = netcdf_encoding(ds)
    assert enc["u"]["shuffle"] and enc["v"]["shuffle"] and not enc["eta"]["shuffle"]
    size = {sh: write_netcdf(ds, tmp_path / f"{sh}.nc", shuffle=sh).stat().st_size for sh in ("auto", True, False)}
    # the per-variable choice beats either global one (measured 0.22 vs 0.29 / 0.32 of raw);
    # 1% slack covers chunk/heap bookkeeping
    assert size["auto"] <= 1.01 * min(size[True], size[False])


def test_chunks_are_whole_snapshots_of_about_a_mebibyte():
    ds = _fields_ds(nt=300, n=64)  # 64^2 float64 snapshot = 32 KiB -> 32 per MiB chunk
    assert netcdf_encoding(ds)["eta"]["chunksizes"] == (32, 64, 64)
    assert netcdf_encoding(_fields_ds(nt=3))["eta"]["chunksizes"] == (3, 64, 64)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [(dict(compress="yes"), TypeError, "compress"), (dict(level=0), ValueError, "level"),
     (dict(level=10), ValueError, "level"), (dict(level=True), ValueError, "level"),
     (dict(shuffle="maybe"), ValueError, "shuffle"), (dict(shuffle=1), ValueError, "shuffle")],
)
def test_bad_compression_arguments(tmp_path, kwargs, error, match):
    _, _, ds = _ds()
    with pytest.raises(error, match=match):
        write_netcdf(ds, tmp_path / "x.nc", **kwargs)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ CF standard names
def test_cf_standard_names_mean_what_is_stored():
    g = Grid(6, 5, dx=2e3, dy=1e3, f0=1e-4)
    ds = states_to_dataset(torch.zeros(1, 4, 5, 6), [0.0], g, ("eta", "h", "u", "v"))
    # eta: free-surface height above the resting surface z = 0, the geoid of an ocean model
    # in the CF table's definition; h = H + eta: the vertical extent of the model cell
    assert ds["eta"].attrs["standard_name"] == "sea_surface_height_above_geoid"
    assert ds["h"].attrs["standard_name"] == "cell_thickness"
    assert ds["u"].attrs["standard_name"] == "sea_water_x_velocity"
    assert ds["v"].attrs["standard_name"] == "sea_water_y_velocity"
    assert "lon" not in ds.coords
    assert variable_attrs("sla")["attrs"]["standard_name"] == "sea_surface_height_above_mean_sea_level"
    assert "standard_name" not in variable_attrs("q2")["attrs"]
    assert variable_attrs("q2")["attrs"]["long_name"].endswith("in layer 2")


def test_lonlat_grid_gets_eastward_northward_names_and_coordinates(tmp_path):
    lon, lat = np.arange(-30.0, -26.0) + 0.5, np.arange(30.0, 33.0) + 0.5
    g = Grid.from_lonlat(lon, lat)
    ds = states_to_dataset(torch.zeros(1, 3, 3, 4, dtype=torch.float64), [0.0], g, ("eta", "u", "v"))
    assert ds["u"].attrs["standard_name"] == "eastward_sea_water_velocity"
    assert ds["v"].attrs["standard_name"] == "northward_sea_water_velocity"
    back = read_netcdf(write_netcdf(ds, tmp_path / "ll.nc"))
    for name, dim, units, std, values in (
        ("lon", "x", "degrees_east", "longitude", lon), ("lat", "y", "degrees_north", "latitude", lat),
        ("lon_u", "x_u", "degrees_east", "longitude", lon - 0.5), ("lat_v", "y_v", "degrees_north", "latitude", lat - 0.5),
    ):
        c = back[name]
        assert c.dims == (dim,) and c.attrs["units"] == units and c.attrs["standard_name"] == std
        np.testing.assert_array_equal(c.values, values)
