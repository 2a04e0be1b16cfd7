"""SWOT KaRIn swath geometry (edges at 10 and 60 km, nadir gap, perpendicular offsets) and noise
(the karin_noise_v2 table, its pixel-size scaling, the correlated roll error)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hybridocean.observations.noise import KarinNoise, ar1_series, roll_error
from hybridocean.observations.orbits import MISSIONS, RepeatOrbit, great_circle_distance
from hybridocean.observations.swot import cross_track_grid, heading, karin_points, swath_geometry


def test_cross_track_grid_edges_and_gap():
    x = cross_track_grid()
    assert x.size == 50  # two swaths of 25 pixels of 2 km
    right = x[x > 0]
    np.testing.assert_allclose(np.diff(right), 2e3, rtol=0, atol=1e-9)
    assert right.min() - 1e3 == pytest.approx(10e3, abs=1e-9)  # inner edge of the swath
    assert right.max() + 1e3 == pytest.approx(60e3, abs=1e-9)  # outer edge
    np.testing.assert_allclose(x[x < 0], -right[::-1])  # mirror image on the left
    assert (right.min() - 1e3) * 2 == pytest.approx(20e3)  # the 20 km nadir gap
    with pytest.raises(ValueError):
        cross_track_grid(10e3, 61e3, 2e3)


@pytest.mark.parametrize("t", [0.0, 1500.0, 3000.0, 4700.0])
def test_swath_pixels_are_at_their_cross_track_distance_perpendicular_to_the_track(t):
    o = RepeatOrbit(MISSIONS["swot"], lon0_deg=-30.0)
    tt = np.array([t])
    x = cross_track_grid()
    lon, lat = swath_geometry(o, tt, x)
    nlon, nlat = o.positions(tt)
    d = great_circle_distance(nlon[0], nlat[0], lon[0], lat[0])
    # the direct geodesic problem on the sphere is exact: round-off only (1 mm)
    np.testing.assert_allclose(d, np.abs(x), rtol=0, atol=1e-3)
    # bearing nadir -> pixel = heading + 90 deg (right, x > 0) or heading - 90 deg (left)
    az = float(heading(o, tt)[0])
    p1, p2 = np.radians(nlat[0]), np.radians(lat[0])
    dl = np.radians(lon[0] - nlon[0])
    b = np.arctan2(np.sin(dl) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl))
    want = az + np.where(x > 0, math.pi / 2, -math.pi / 2)
    err = np.angle(np.exp(1j * (b - want)))
    assert np.abs(err).max() < 1e-6  # initial bearing of the offset geodesic, round-off


def test_karin_table_units_and_scaling(test_data):
    k = KarinNoise.from_file(test_data / "karin_noise_v2.nc")
    assert k.cross_track_km[0] == pytest.approx(5.004, abs=1e-3) and k.cross_track_km[-1] == pytest.approx(62.0, abs=1e-3)
    np.testing.assert_array_equal(k.swh_m, np.arange(17) * 0.5)
    # at a table node, a 1 km^2 pixel has the table std, a 2x2 km pixel half of it
    x_m = k.cross_track_km[40] * 1e3
    assert float(k.std(x_m, 2.0, 1.0)) == pytest.approx(k.std_m[4, 40], rel=1e-12)
    assert float(k.std(-x_m, 2.0, 4.0)) == pytest.approx(k.std_m[4, 40] / 2, rel=1e-12)
    # linear in SWH between nodes
    mid = float(k.std(x_m, 2.25, 1.0))
    assert mid == pytest.approx(0.5 * (k.std_m[4, 40] + k.std_m[5, 40]), rel=1e-12)
    # the table: noise grows with SWH and towards nadir (the "smile" of swot-simulator)
    assert np.all(np.diff(k.std_m[:, 100]) > 0)
    assert k.std_m[4, 0] > k.std_m[4, 100]


def test_karin_noise_file_errors(tmp_path):
    bad = tmp_path / "karin.nc"
    bad.write_text("not netcdf")
    with pytest.raises(ValueError, match="karin.nc"):
        KarinNoise.from_file(bad)
    with pytest.raises(ValueError, match="swh_m"):
        KarinNoise([1.0, 2.0], [0.0, 1.0], np.ones((2, 2))).std(np.array([1e3]), -1.0)


def test_karin_points_noise_statistics_and_nadir_gap(test_data):
    k = KarinNoise.from_file(test_data / "karin_noise_v2.nc")
    o = RepeatOrbit(MISSIONS["swot"])
    tp = karin_points(o, 0.0, 600.0, karin=k, swh_m=2.0, ground_speed_m_s=6392.6, rng=1)
    assert np.abs(tp.cross_track).min() >= 10e3 and np.abs(tp.cross_track).max() <= 60e3
    z = tp.noise / tp.error_std
    # 600 s of lines = 1918 lines x 50 px ~ 96000 N(0, 1) draws: the sample std is within
    # 5 / sqrt(2 n) = 0.011 of 1 with overwhelming probability (5 sigma)
    assert abs(z.std() - 1.0) < 5 / math.sqrt(2 * z.size)
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    # consecutive lines are 2 km apart along track
    t = np.unique(tp.time_s)
    assert np.diff(t) == pytest.approx(2e3 / 6392.6)


def test_roll_error_is_linear_in_cross_track_and_correlated_along_track():
    s = np.arange(20000) * 2e3  # 40000 km of lines every 2 km
    x = cross_track_grid()
    e = roll_error(s, x, roll_std_m=0.05, length_m=500e3, rng=3)
    # exactly linear: e(x) = theta x on every line
    theta = e[:, -1] / x[-1]
    np.testing.assert_allclose(e, theta[:, None] * x[None, :], rtol=1e-12, atol=1e-15)
    # std at 60 km is roll_std: 80 correlation lengths -> relative sampling error ~ 1/sqrt(80)
    # of the variance; 25 % bound on the std covers > 3 sigma
    assert abs((theta * 60e3).std() / 0.05 - 1) < 0.25
    z = ar1_series(s, 500e3, 7)
    lag = 250  # 500 km = one correlation length: correlation e^-1
    r = np.corrcoef(z[:-lag], z[lag:])[0, 1]
    assert abs(r - math.exp(-1)) < 0.15  # ~80 independent lengths: sampling std of r ~ 0.1


def test_negative_noise_is_refused():
    o = RepeatOrbit(MISSIONS["swot"])
    with pytest.raises(ValueError, match="noise_std"):
        karin_points(o, 0.0, 10.0, noise_std=-0.01)
    with pytest.raises(ValueError, match="roll_std_m"):
        karin_points(o, 0.0, 10.0, roll_std_m=-1.0)


def test_error_std_includes_the_roll_error():
    o = RepeatOrbit(MISSIONS["swot"])
    # 1 day of lines = 552000 km along track = 552 correlation lengths of 1000 km
    tp = karin_points(o, 0.0, 86400.0, noise_std=0.01, roll_std_m=0.03, roll_length_m=1000e3,
                      ground_speed_m_s=6392.6, rng=2, step_m=10e3)
    want = np.hypot(0.01, 0.03 * np.abs(tp.cross_track) / 60e3)
    np.testing.assert_allclose(tp.error_std, want, rtol=1e-12)
    outer = np.abs(tp.cross_track) > 50e3
    z = tp.noise[outer] / tp.error_std[outer]
    # the roll part (90 % of the variance at 55 km) has ~552 independent amplitudes: relative
    # sampling std of the variance ~ sqrt(2 / 552) = 0.06, of the std 0.03; 0.15 is 5 sigma
    assert abs(z.std() - 1.0) < 0.15
