"""Sampling a gridded truth with a constellation: exact values for fields H reproduces exactly,
land dropped, x/y simulations placed on the sphere, seeding, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.io import states_to_dataset
from hybridocean.observations.constellation import Constellation, daily_coverage, parse_platforms
from hybridocean.observations.l4 import read_l4
from physics.grid import OMEGA, Grid

START = np.datetime64("2019-01-01T00:00:00", "ns")


def lonlat_truth(nan_box=None):
    """SSH = 0.1 + 0.01 lon + 0.02 lat + 0.05 t[days] on a 0.25-deg box, 4 daily maps."""
    lon = np.arange(-20.0, 0.001, 0.25)
    lat = np.arange(30.0, 45.001, 0.25)
    t = START + np.arange(4) * np.timedelta64(1, "D")
    days = np.arange(4.0)
    ssh = 0.1 + 0.01 * lon[None, None, :] + 0.02 * lat[None, :, None] + 0.05 * days[:, None, None]
    ssh = np.broadcast_to(ssh, (4, lat.size, lon.size)).copy()
    if nan_box is not None:
        x0, x1, y0, y1 = nan_box
        ssh[:, (lat >= y0) & (lat <= y1), :][:, :, (lon >= x0) & (lon <= x1)] = np.nan  # no-op view
        ssh[np.ix_(np.arange(4), (lat >= y0) & (lat <= y1), (lon >= x0) & (lon <= x1))] = np.nan
    da = xr.DataArray(ssh, dims=("time", "latitude", "longitude"),
                      coords={"time": t, "latitude": lat, "longitude": lon}, name="adt",
                      attrs={"units": "m", "standard_name": "sea_surface_height_above_geoid"})
    return da.to_dataset()


def exact(obs):
    lon, lat = obs.ds["longitude"].values, obs.ds["latitude"].values
    days = obs.time_seconds(START) / 86400.0
    return 0.1 + 0.01 * lon + 0.02 * lat + 0.05 * days


def test_noise_free_sampling_is_exact_for_a_linear_truth():
    c = Constellation("swot,jason3,sentinel3a", START, 3.0)
    obs = c.sample(lonlat_truth(), seed=0)
    assert set(obs.platforms) == {"jason3", "sentinel3a", "swot_karin", "swot_nadir"}
    # bilinear-in-space, linear-in-time H is exact for a field linear in lon, lat, t;
    # float64 round-off on values ~1 m
    np.testing.assert_allclose(obs.ssh, exact(obs), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(obs.error_std, 0.0)
    lon, lat = obs.ds["longitude"].values, obs.ds["latitude"].values
    assert lon.min() >= -20.0 and lon.max() <= 0.0 and lat.min() >= 30.0 and lat.max() <= 45.0
    karin = obs.select(platforms="swot_karin")
    x = np.abs(karin.ds["cross_track_distance"].values)
    assert x.min() >= 10e3 and x.max() <= 60e3  # nadir gap and outer edge


def test_points_over_land_are_dropped():
    box = (-10.0, -5.0, 35.0, 40.0)
    obs = Constellation("swot,jason3,sentinel3a,sentinel3b", START, 3.0).sample(lonlat_truth(nan_box=box), seed=0)
    lon, lat = obs.ds["longitude"].values, obs.ds["latitude"].values
    inside = (lon > box[0]) & (lon < box[1]) & (lat > box[2]) & (lat < box[3])
    assert not inside.any()
    assert np.isfinite(obs.ssh).all()
    # the points next to the land box (stencil clear of it) are kept and exact
    near = (lon > box[0] - 1) & (lon < box[1] + 1) & (lat > box[2] - 1) & (lat < box[3] + 1)
    assert near.sum() > 0
    np.testing.assert_allclose(obs.ssh, exact(obs), rtol=0, atol=1e-12)


def test_noise_is_seeded_and_has_the_recorded_std(test_data):
    c = Constellation("swot,jason3", START, 3.0, nadir_noise_std=0.03, karin_noise=test_data / "karin_noise_v2.nc")
    a = c.sample(lonlat_truth(), seed=5)
    b = c.sample(lonlat_truth(), seed=5)
    d = c.sample(lonlat_truth(), seed=6)
    np.testing.assert_array_equal(a.ssh, b.ssh)
    assert len(a) == len(d) and not np.array_equal(a.ssh, d.ssh)
    z = (a.ssh - exact(a)) / a.error_std
    # tens of thousands of N(0, 1) draws: std within 5 sigma of 1
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * z.size)
    nad = a.select(platforms="jason3")
    np.testing.assert_array_equal(nad.error_std, 0.03)


def test_xy_simulation_is_placed_on_the_sphere():
    lat_c = 35.0
    grid = Grid(40, 30, dx=10e3, dy=10e3, boundary="closed", f0=2 * OMEGA * math.sin(math.radians(lat_c)))
    X, Y = grid.mesh("center")
    t = torch.arange(4, dtype=torch.float64) * 86400.0 + 19 * 365.25 * 86400  # ~2019 in s since 2000
    eta = 0.2 + 1e-6 * X + 2e-6 * Y + 1e-6 * (t[:, None, None] - t[0])  # 0.2 .. 0.8 m
    ds = read_l4(states_to_dataset(eta[:, None], t, grid, ["eta"]))
    start = ds["time"].values[0]
    obs = Constellation("swot,jason3,sentinel3a,sentinel3b,saral,hy2b", start, 3.0).sample(ds, seed=0)
    assert obs.coords_kind == "xy"
    x, y = obs.ds["x"].values, obs.ds["y"].values
    # H interpolates between the first and last cell centres only
    assert x.min() >= grid.dx / 2 - 1e-6 and x.max() <= grid.Lx - grid.dx / 2 + 1e-6
    assert y.min() >= grid.dy / 2 - 1e-6 and y.max() <= grid.Ly - grid.dy / 2 + 1e-6
    ts = obs.time_seconds(start)
    # H is exact for a field linear in x, y, t; round-off of values < 1 m and of times
    # (ns resolution: 1e-9 s * 1e-6 m/s)
    np.testing.assert_allclose(obs.ssh, 0.2 + 1e-6 * x + 2e-6 * y + 1e-6 * ts, rtol=0, atol=1e-12)
    assert obs.ds.attrs["domain_center_lonlat"] == f"0.0 {math.degrees(math.asin(grid.f0 / (2 * OMEGA)))}"


def test_daily_coverage_counts_cells():
    ds = lonlat_truth()
    obs = Constellation("swot", START, 2.0).sample(ds, seed=0)
    cov = daily_coverage(obs, ds, START, 2.0)
    assert [r["day"] for r in cov] == ["2019-01-01", "2019-01-02"]
    assert sum(r["n_obs"] for r in cov) == len(obs)
    for r in cov:
        assert 0 < r["fraction_grid"] <= 1 and r["fraction_ocean"] == pytest.approx(r["fraction_grid"])  # no land


def test_swot_from_an_ephemeris_file(test_data):
    # the 4-hour crop: keep the window inside it (1 h: the track runs south from (-144.7 E, 0 N))
    c = Constellation("swot", START, 1 / 24, ephemeris=test_data / "swot_science_ephemeris_first4h.txt")
    lon = np.arange(-150.0, -130.0, 0.5)
    lat = np.arange(-30.0, 10.001, 0.5)
    t = START + np.arange(2) * np.timedelta64(1, "D")
    ssh = np.zeros((2, lat.size, lon.size)) + 0.3
    da = xr.DataArray(ssh, dims=("time", "latitude", "longitude"), coords={"time": t, "latitude": lat, "longitude": lon}, name="ssh")
    obs = c.sample(da, seed=0)
    assert obs.platforms == ["swot_karin", "swot_nadir"]
    np.testing.assert_allclose(obs.ssh, 0.3, atol=1e-12)
    nadir = obs.select(platforms="swot_nadir")
    # from the start on the equator to the south edge of the box (-30 N), within one 1-Hz step
    assert nadir.ds["latitude"].values.max() < 0.1 and nadir.ds["latitude"].values.min() < -29.9


def test_bad_input():
    ds = lonlat_truth()
    with pytest.raises(ValueError, match="unknown platform"):
        parse_platforms("swot,topex9")
    with pytest.raises(ValueError, match="nadir_noise_std"):
        Constellation("jason3", START, 1.0, nadir_noise_std=-0.01)
    with pytest.raises(ValueError, match="days"):
        Constellation("jason3", START, 0.0)
    with pytest.raises(ValueError, match="start"):
        Constellation("jason3", "not-a-date", 1.0)
    with pytest.raises(ValueError, match="does not overlap"):
        Constellation("jason3", "2030-01-01", 1.0).sample(ds)
    empty = ds.copy(deep=True)
    empty["adt"][:] = np.nan
    with pytest.raises(ValueError, match="all values are missing"):
        Constellation("jason3", START, 1.0).sample(empty)
    with pytest.raises(ValueError, match="no observation"):
        Constellation("jason3", START, 0.0005).sample(ds)  # 43 s: the track is elsewhere


def test_simulation_on_a_lonlat_grid_keeps_lonlat_positions():
    # a run on Grid.from_lonlat is written with lon(x)/lat(y) coordinates: tracks use them
    grid = Grid.from_lonlat(np.arange(-20.0, -10.0, 0.25), np.arange(30.0, 38.0, 0.25))
    t = torch.arange(3, dtype=torch.float64) * 86400.0
    lon = torch.as_tensor(grid.lon)[None, None, :]
    lat = torch.as_tensor(grid.lat)[None, :, None]
    eta = 0.1 + 0.01 * lon + 0.02 * lat + 0 * t[:, None, None]
    ds = read_l4(states_to_dataset(eta[:, None], t, grid, ["eta"]))
    obs = Constellation("swot,jason3,sentinel3a", ds["time"].values[0], 2.0).sample(ds, seed=0)
    assert obs.coords_kind == "lonlat"
    lo, la = obs.ds["longitude"].values, obs.ds["latitude"].values
    np.testing.assert_allclose(obs.ssh, 0.1 + 0.01 * lo + 0.02 * la, rtol=0, atol=1e-12)  # exact H
