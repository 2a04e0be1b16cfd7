"""Optimal interpolation: analytic posterior, dense vs tiled, twin experiment, bad input."""
import math

import numpy as np
import pytest
import xarray as xr

from hybridocean.estimation.oi import DEGREE_M, OptimalInterpolation
from hybridocean.estimation.oi_tiles import Tile, plan_tiles
from hybridocean.metrics import map_scores
from hybridocean.observations import Observations
from physics.grid import Grid

T0 = np.datetime64("2020-01-10T00:00:00", "ns")
DAY = 86400.0


def _at(seconds):
    return T0 + (np.asarray(seconds) * 1e9).astype("timedelta64[ns]")


def test_one_observation_gives_the_analytic_posterior():
    # one observation y at (x0, y0, t0 + dt): eta(g) = s^2 exp(-d^2) y / (s^2 + n^2), and the
    # posterior variance s^2 - s^4 exp(-2 d^2) / (s^2 + n^2), d^2 the scaled space-time distance
    grid = Grid(20, 16, dx=10e3, dy=10e3, boundary="closed", f0=1e-4)
    x0, y0, dt, yv = 83e3, 71e3, 2 * DAY, 0.37
    obs = Observations.from_arrays(time=_at([dt]), ssh=[yv], platform="j3", x=[x0], y=[y0])
    est = OptimalInterpolation(Lx=40e3, Ly=25e3, Lt=5 * DAY, noise_std=0.1, signal_std=0.5, error=True)
    ds = est.estimate(obs, grid, np.array([T0]))
    X, Y = (c.numpy() for c in grid.mesh("center"))
    d2 = ((X - x0) / 40e3) ** 2 + ((Y - y0) / 25e3) ** 2 + (dt / (5 * DAY)) ** 2
    s2, n2 = 0.25, 0.01
    expect = s2 * np.exp(-d2) * yv / (s2 + n2)
    var = s2 - s2**2 * np.exp(-2 * d2) / (s2 + n2)
    # closed forms evaluated in float64: agreement to round-off (1e-14 m on 0.3 m)
    np.testing.assert_allclose(ds["ssh"].values[0], expect, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ds["ssh_error_std"].values[0], np.sqrt(var), rtol=1e-12, atol=0)
    assert ds.attrs["method"] == "oi" and ds["u"].attrs["standard_name"] == "surface_geostrophic_sea_water_x_velocity"


def test_challenge_defaults_and_time_window():
    est = OptimalInterpolation()
    assert est.scales(True) == (1.0, 1.0) and est.scales(False) == (DEGREE_M, DEGREE_M)
    assert est.Lt == 7 * DAY and est.noise_std == 0.05 and est.signal_std == 1.0 and est.time_window == 2.0
    assert DEGREE_M == pytest.approx(111195.08, abs=0.01)  # R pi / 180, R = 6371008.8 m
    grid = Grid.from_lonlat(np.arange(10) * 0.25 + 300.125, np.arange(8) * 0.25 + 35.125)
    # an observation 15 days away (> 2 Lt = 14 days) is ignored, one 13 days away is not
    far = Observations.from_arrays(time=_at([0.0, 15 * DAY]), ssh=[0.0, 1.0], platform="j3",
                                   longitude=[301.0, 301.0], latitude=[36.0, 36.0])
    ds = est.estimate(far, grid, np.array([T0]))
    np.testing.assert_array_equal(ds["ssh"].values, 0.0)  # the 0 m observation at dt = 0 only
    near = Observations.from_arrays(time=_at([0.0, 13 * DAY]), ssh=[0.0, 1.0], platform="j3",
                                    longitude=[301.0, 301.0], latitude=[36.0, 36.0])
    assert np.abs(est.estimate(near, grid, np.array([T0]))["ssh"].values).max() > 0.0


def _truth(lon, lat, t):
    """Smooth twin truth [m]: scales of 3-5 degrees (OI correlation 1 degree), slow evolution."""
    return (0.3 * np.sin(2 * np.pi * lon / 4.0 + 0.3) * np.cos(2 * np.pi * lat / 5.0)
            + 0.2 * np.sin(2 * np.pi * (lon + lat) / 3.0 + t / (10 * DAY)))


def _twin(n=900, seed=0):
    rng = np.random.default_rng(seed)
    lon = np.arange(40) * 0.2 + 300.1
    lat = np.arange(30) * 0.2 + 30.1
    grid = Grid.from_lonlat(lon, lat)
    olo, ola = rng.uniform(300, 308, n), rng.uniform(30, 36, n)
    ot = rng.uniform(-10, 10, n) * DAY
    obs = Observations.from_arrays(time=_at(ot), ssh=_truth(olo, ola, ot) + 0.01 * rng.standard_normal(n),
                                   platform="twin", longitude=olo, latitude=ola)
    times = np.array([T0, T0 + np.timedelta64(2, "D")])
    LO, LA = np.meshgrid(lon, lat)
    truth = xr.DataArray(np.stack([_truth(LO, LA, 0.0), _truth(LO, LA, 2 * DAY)]),
                         dims=("time", "latitude", "longitude"), coords={"time": times, "latitude": lat, "longitude": lon})
    return obs, grid, times, truth


def test_one_tile_covering_everything_is_the_dense_solve():
    obs, grid, times, _ = _twin(600)
    dense = OptimalInterpolation(prior_mean="obs").estimate(obs, grid, times)
    one = OptimalInterpolation(prior_mean="obs", tile=(grid.ny, grid.nx), margin=50.0).estimate(obs, grid, times)
    # same observations in the same order, same arithmetic: equal to round-off (1e-12 m)
    np.testing.assert_allclose(one["ssh"].values, dense["ssh"].values, rtol=0, atol=1e-12)
    assert one.attrs["param_solver"] == "tiled" and dense.attrs["param_solver"] == "dense"


def test_real_tiles_score_like_the_dense_solve():
    obs, grid, times, truth = _twin(900)
    dense = OptimalInterpolation(prior_mean="obs")
    tiled = OptimalInterpolation(prior_mean="obs", tile=8, margin=3.0)
    d = dense.estimate(obs, grid, times)
    t = tiled.estimate(obs, grid, times)
    mu_d, mu_t = map_scores(d["ssh"], truth).mu, map_scores(t["ssh"], truth).mu
    assert mu_d > 0.9  # the twin is well observed (measured 0.933; tiles 0.933, |diff| 4e-5)
    assert abs(mu_t - mu_d) < 0.005, (mu_t, mu_d)  # the bar
    # the neglected covariance is exp(-margin^2) = 1.2e-4 of the signal: differences of mm
    assert np.abs(t["ssh"].values - d["ssh"].values).max() < 5e-3
    assert tiled.last_stats["n_tiles"] == 20 and tiled.last_stats["obs_per_tile_max"] < len(obs)


def test_tile_selection_is_local_and_wraps():
    gx = np.arange(100) * 0.1 + 0.05  # degrees
    gy = np.arange(50) * 0.1 + 0.05
    tiles = plan_tiles(50, 100, (20, 30))
    assert len(tiles) == 3 * 4 and tiles[-1].rows == slice(40, 50) and tiles[-1].cols == slice(90, 100)
    tile = Tile(slice(0, 10), slice(0, 10))  # cells 0.05..0.95 degrees
    ox = np.array([0.5, 3.9, 4.1, 359.0, 356.0])
    oy = np.full(5, 0.5)
    keep = tile.selects(ox, oy, gx, gy, (1.0, 1.0), 3.0, (360.0, None))
    # within 0.45 + 3 degrees of the tile centre 0.5, across the 0/360 seam for 359 E
    np.testing.assert_array_equal(keep, [True, True, False, True, False])


def test_cost_per_tile_is_independent_of_the_domain_size():
    # fixed density: doubling the domain doubles the tiles, not the observations of a tile
    rng = np.random.default_rng(3)
    counts = []
    for size in (10.0, 20.0):
        n = int(200 * size * size)
        ox, oy = rng.uniform(0, size, n), rng.uniform(0, size, n)
        g = np.arange(int(size / 0.25)) * 0.25 + 0.125
        tiles = plan_tiles(g.size, g.size, (8, 8))
        inner = [t for t in tiles if 4.0 < g[t.cols].min() and g[t.cols].max() < size - 4.0
                 and 4.0 < g[t.rows].min() and g[t.rows].max() < size - 4.0]
        counts.append(np.mean([t.selects(ox, oy, g, g, (1.0, 1.0), 3.0, (None, None)).sum() for t in inner]))
    # an interior tile (cell centres spanning 7 x 0.25 deg, widened by 3 deg on each side) sees
    # density x (1.75 + 6)^2 deg^2 = 12012 observations in both domains (1 interior tile in the
    # small domain, 36 in the large); the Poisson scatter of one count is 0.9 %: 3 % is 3.3 sigma
    assert counts[1] == pytest.approx(counts[0], rel=0.03)
    assert counts[0] == pytest.approx(200 * 7.75**2, rel=0.03)


def test_bad_input():
    obs, grid, times, _ = _twin(50)
    with pytest.raises(ValueError, match=r"^times: 1 output time\(s\)"):
        OptimalInterpolation().estimate(obs, grid, np.array([T0 + np.timedelta64(30, "D")]))
    with pytest.raises(ValueError, match="^obs: no observed value at all"):
        nan = xr.Dataset({"sla": (("time", "latitude", "longitude"), np.full((1, grid.ny, grid.nx), np.nan))},
                         coords={"time": [T0], "latitude": grid.lat, "longitude": grid.lon})
        OptimalInterpolation().estimate(nan)
    for kw, name in ((dict(Lx=0.0), "Lx"), (dict(Lt=-1.0), "Lt"), (dict(tile=0), "tile"), (dict(tile=(2, 2, 2)), "tile"),
                     (dict(prior_mean="median"), "prior_mean"), (dict(noise_std=-0.1), "noise_std")):
        with pytest.raises(ValueError, match=f"^{name}"):
            OptimalInterpolation(**kw)
    with pytest.raises(TypeError, match="^error"):
        OptimalInterpolation(error=1)
    # two identical observations without noise: singular covariance, one clear error
    dup = Observations.from_arrays(time=_at([0.0, 0.0]), ssh=[0.1, 0.1], platform="j3",
                                   longitude=[301.0, 301.0], latitude=[31.0, 31.0])
    with pytest.raises(ValueError, match="^noise_std: the observation covariance is not positive definite"):
        OptimalInterpolation(noise_std=0.0).estimate(dup, grid, np.array([T0]))
    assert math.isfinite(OptimalInterpolation().estimate(dup, grid, np.array([T0]))["ssh"].values.max())


@pytest.mark.parametrize("periods", [(None, None), (360.0, None)])
def test_bucket_index_finds_every_observation_of_a_tile(periods):
    from hybridocean.estimation.oi_tiles import BucketIndex
    rng = np.random.default_rng(5)
    gx = np.arange(60) * 0.5 + 0.25 + (300.0 if periods[0] is None else 0.0)  # a global ring when periodic
    gx = gx if periods[0] is None else np.arange(720) * 0.5 + 0.25
    gy = np.arange(40) * 0.5 + 20.25
    ox = rng.uniform(gx[0] - 5, gx[-1] + 5, 4000)
    ox = ox if periods[0] is None else np.mod(ox, 360.0) - 180.0  # points in [-180, 180), grid in [0, 360)
    oy = rng.uniform(15, 45, 4000)
    index = BucketIndex(ox, oy, (gx[0], gy[0]), (6 * 0.5, 6 * 0.5), periods)
    for tile in plan_tiles(gy.size, gx.size, (6, 6))[::7]:
        brute = np.flatnonzero(tile.selects(ox, oy, gx, gy, (1.0, 1.0), 3.0, periods))
        cand = index.candidates(*tile.box(gx, gy, (1.0, 1.0), 3.0))
        fast = cand[tile.selects(ox[cand], oy[cand], gx, gy, (1.0, 1.0), 3.0, periods)]
        np.testing.assert_array_equal(fast, brute)  # same observations, same (ascending) order
