"""score_on_tracks: a map scored on a held-out platform through the observation operator H."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridocean.metrics import score_on_tracks
from hybridocean.metrics.alongtrack import DELTA_T_S, VELOCITY_KM_S
from physics.grid import Grid

obs_mod = pytest.importorskip("hybridocean.observations")

DAY = 86400.0


@pytest.fixture(scope="module")
def setup():
    """A periodic 640 km grid, 3 daily smooth maps, and a 1 Hz track crossing it diagonally
    (wrapping) for two passes a day apart, each ~2000 km long; a gap between the passes."""
    n, dx = 64, 10e3
    grid = Grid(n, n, dx=dx, dy=dx, boundary="periodic")
    X, Y = (g.numpy() for g in grid.mesh("center"))
    k = 2 * np.pi / grid.Lx
    maps = np.stack([0.2 * np.cos(3 * k * X + p) * np.sin(2 * k * Y) + 0.05 * np.cos(7 * k * (X + Y) - p)
                     for p in (0.0, 0.4, 0.8)])
    times = np.array([0.0, DAY, 2 * DAY])
    npts = 300
    t_pass = np.arange(npts) * DELTA_T_S
    t = np.concatenate([0.2 * DAY + t_pass, 1.3 * DAY + t_pass])
    s = VELOCITY_KM_S * 1e3 * np.concatenate([t_pass, t_pass])
    x = (1e3 + s * np.cos(0.3)) % grid.Lx
    y = (5e3 + s * np.sin(0.3)) % grid.Ly
    probe = obs_mod.Observations.from_arrays(time=t, ssh=np.zeros(t.size), platform="jason3", x=x, y=y)
    op = obs_mod.ObservationOperator(probe, grid, times)
    truth = op(torch.from_numpy(maps)).numpy()
    held = obs_mod.Observations.from_arrays(time=t, ssh=truth, platform="jason3", x=x, y=y)
    return grid, times, maps, held


def test_perfect_map_scores_one_and_half_map_scores_one_half(setup):
    grid, times, maps, held = setup
    r = score_on_tracks(maps, grid, times, held, min_count=10, rules="clean", length_scale_km=1000.0)
    assert r.n_points == len(held)
    assert r.rmse == pytest.approx(0.0, abs=1e-15) and r.mu == pytest.approx(1.0, abs=1e-15)
    # delta_x: median distance between 1 Hz points = 6.77 km/s * 0.9434 s (to round-off)
    assert r.delta_x_km == pytest.approx(VELOCITY_KM_S * DELTA_T_S, rel=1e-9)
    assert r.n_segments > 0 and r.lambda_x_km == pytest.approx(2 * r.delta_x_km, rel=1e-12)  # grid bound
    h = score_on_tracks(0.5 * maps, grid, times, held, rules="clean")
    # every daily score is 1 - RMS(truth / 2) / RMS(truth) = 0.5 exactly (to round-off)
    np.testing.assert_allclose(h.rmse_detail.mu_day, 0.5, atol=1e-14)
    assert h.mu == pytest.approx(0.5, abs=1e-14) and h.sigma_t == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(h.psd.score[1:], 0.75, atol=1e-12)  # PSD of truth/2 is a quarter


def test_challenge_rules_use_the_gap_between_passes(setup):
    grid, times, maps, held = setup
    r = score_on_tracks(maps, grid, times, held)  # rules="challenge": one gap, the second pass is dropped
    clean = score_on_tracks(maps, grid, times, held, rules="clean")
    assert 0 < r.n_segments < clean.n_segments and r.skipped_platforms == ()


def test_points_outside_the_time_window_are_not_scored(setup):
    grid, times, maps, held = setup
    r = score_on_tracks(maps[:2], grid, times[:2], held, rules="clean")
    assert r.n_points == 300  # only the first pass lies within [0, 1 day]
    with pytest.raises(ValueError, match="estimate_map must be"):
        score_on_tracks(maps[0], grid, times[:1], held)
    with pytest.raises(TypeError, match="holdout_obs must be"):
        score_on_tracks(maps, grid, times, held.ds)


def test_lonlat_track_spacing_is_the_great_circle_distance():
    # a meridional 1 Hz track with dlat = 0.05 deg per point: spacing R dlat exactly (haversine)
    from physics.grid import EARTH_RADIUS

    lon, lat = np.arange(-70, -30, 0.25), np.arange(20, 50, 0.25)
    grid = Grid.from_lonlat(lon, lat)
    LON, LAT = np.meshgrid(lon, lat)
    maps = np.stack([0.3 * np.sin(np.radians(3 * LON + p)) * np.cos(np.radians(4 * LAT)) for p in (0, 10)])
    times = np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]")
    n = 400
    t = np.datetime64("2020-01-01T06:00", "ns") + (np.arange(n) * 1e9).astype("timedelta64[ns]")
    la = 25.0 + 0.05 * np.arange(n)
    probe = obs_mod.Observations.from_arrays(time=t, ssh=np.zeros(n), platform="s3a", longitude=-50.0, latitude=la)
    truth = obs_mod.ObservationOperator(probe, grid, times)(torch.from_numpy(maps)).numpy()
    held = obs_mod.Observations.from_arrays(time=t, ssh=truth, platform="s3a", longitude=-50.0, latitude=la)
    r = score_on_tracks(0.8 * maps, grid, times, held, rules="clean")
    assert r.delta_x_km == pytest.approx(EARTH_RADIUS * np.radians(0.05) / 1e3, rel=1e-9)  # haversine round-off
    assert r.mu == pytest.approx(0.8, abs=1e-14) and r.max_gap_s == pytest.approx(4.0)
