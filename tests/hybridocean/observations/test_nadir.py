"""Nadir altimeters: 1 Hz along-track spacing from the orbit, white noise, region selection."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hybridocean.observations.ephemeris import read_ephemeris
from hybridocean.observations.nadir import in_bbox, nadir_points, passes_over
from hybridocean.observations.orbits import MISSIONS, RepeatOrbit, great_circle_distance, ground_speed


@pytest.mark.parametrize("name,km", [("jason3", 5.75), ("sentinel3a", 6.68), ("swot", 6.39), ("saral", 6.71)])
def test_1hz_spacing_is_the_ground_speed(name, km):
    o = RepeatOrbit(MISSIONS[name])
    tp = nadir_points(o, 0.0, MISSIONS[name].nodal_period_s, rate_hz=1.0)
    assert np.all(np.diff(tp.time_s) == pytest.approx(1.0))
    d = great_circle_distance(tp.lon[:-1], tp.lat[:-1], tp.lon[1:], tp.lat[1:])
    # mean spacing over one revolution = the ground speed; the figures of the nadir docstring
    assert d.mean() == pytest.approx(ground_speed(o), rel=1e-3)
    assert d.mean() / 1e3 == pytest.approx(km, abs=0.01)
    # the spacing varies along the track only through the Earth-rotation component
    # (<= 465 m/s at the equator, < 8 % of the ground speed)
    assert d.max() / d.min() < 1.16


def test_white_noise_statistics():
    o = RepeatOrbit(MISSIONS["jason3"])
    tp = nadir_points(o, 0.0, 86400.0, noise_std=0.03, rng=0)
    n = len(tp)
    assert n == 86401
    np.testing.assert_array_equal(tp.error_std, 0.03)
    # sample std of 86401 N(0, 0.03^2) draws: within 5 sigma = 5 * 0.03 / sqrt(2 n)
    assert abs(tp.noise.std() - 0.03) < 5 * 0.03 / math.sqrt(2 * n)
    again = nadir_points(o, 0.0, 86400.0, noise_std=0.03, rng=0)
    np.testing.assert_array_equal(tp.noise, again.noise)


def test_region_selection_misses_nothing():
    o = RepeatOrbit(MISSIONS["sentinel3a"], lon0_deg=12.0)
    box = (-10.0, 5.0, 35.0, 45.0)
    fast = nadir_points(o, 0.0, 2 * 86400.0, bbox=box)
    # brute force: every 1 Hz point of two days, then the box test
    t = np.arange(0.0, 2 * 86400.0 + 1)
    lon, lat = o.positions(t)
    keep = in_bbox(lon, lat, box)
    assert keep.sum() > 0
    np.testing.assert_array_equal(fast.time_s, t[keep])


def test_box_across_the_dateline():
    lon = np.array([179.0, -179.0, 0.0, 170.0, -169.0, -171.0])
    lat = np.zeros(6)
    want = [True, True, False, False, False, True]  # -171 = 189 E is inside, -169 = 191 E is not
    np.testing.assert_array_equal(in_bbox(lon, lat, (175.0, 190.0, -1, 1)), want)
    np.testing.assert_array_equal(in_bbox(lon, lat, (-185.0, -170.0, -1, 1)), want)  # same box


def test_bad_input():
    o = RepeatOrbit(MISSIONS["jason3"])
    with pytest.raises(ValueError, match="noise_std"):
        nadir_points(o, 0.0, 10.0, noise_std=-0.1)
    with pytest.raises(ValueError, match="bbox: lon1 - lon0"):
        nadir_points(o, 0.0, 10.0, bbox=(10.0, 10.0, 0.0, 10.0))  # empty; (10, 0, ...) is 350 deg wide
    with pytest.raises(ValueError, match="bbox: need -90 <= lat0 < lat1"):
        nadir_points(o, 0.0, 10.0, bbox=(0.0, 10.0, 10.0, 0.0))
    with pytest.raises(ValueError, match="t_end_s > t_start_s"):
        passes_over(o, 10.0, 0.0, (0.0, 10.0, 0.0, 10.0))


def test_swot_nadir_from_the_cropped_ephemeris(test_data):
    e = read_ephemeris(test_data / "swot_science_ephemeris_first4h.txt")
    tp = nadir_points(e, 0.0, 3600.0)
    d = great_circle_distance(tp.lon[:-1], tp.lat[:-1], tp.lon[1:], tp.lat[1:])
    # 1 Hz points of the SWOT science orbit: 6.39 km on average (generator), the ephemeris
    # agrees within 1 % (its altitude varies 895-921 km around the 890.6 km reference)
    assert d.mean() / 1e3 == pytest.approx(6.39, rel=0.01)
