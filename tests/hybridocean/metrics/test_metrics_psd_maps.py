"""PSD-based map scores (hybridocean.metrics.psd_maps): lambda_x and lambda_t on known answers.

Known answer: the truth is white noise (flat spectrum) and the estimate keeps exactly the
Fourier modes longer than L. The Hann taper spreads a mode over its two neighbours with power
weights (1/16, 1/4, 1/16) (squared coefficients -1/4, 1/2, -1/4), so the score is ~5/6 at the
last kept bin and ~1/6 at the first removed one: the 0.5 crossing lies between the two bins
around the cutoff, i.e. within one spectral bin of 1/L. That is the tolerance used below.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from _metric_fields import lonlat_map, lowpass, xy_map
from hybridocean.metrics import psd_isotropic_score, psd_spacetime_score, psd_temporal_score
from physics.grid import EARTH_RADIUS


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(7).standard_normal((64, 24, 128))


@pytest.mark.parametrize("quadrant", ["positive", "folded"])
def test_spacetime_lambda_x_of_a_spatial_lowpass_within_one_bin(noise, quadrant):
    dlon, keep = 0.25, 16
    L = noise.shape[2] * dlon / keep  # 2 degrees
    dk = 1 / (noise.shape[2] * dlon)
    r = psd_spacetime_score(lonlat_map(lowpass(noise, 2, keep), dlon=dlon), lonlat_map(noise, dlon=dlon),
                            quadrant=quadrant)
    assert r.x_unit == "degrees"
    assert abs(1 / r.lambda_x - 1 / L) <= dk
    lat = 30.0 + 0.25 * np.arange(24)
    km_per_deg = EARTH_RADIUS * math.cos(math.radians(0.5 * (lat[0] + lat[-1]))) * math.pi / 180 / 1e3
    assert r.lambda_x_km == pytest.approx(r.lambda_x * km_per_deg, rel=1e-12)


def test_spacetime_lambda_t_of_a_temporal_lowpass_within_one_bin(noise):
    keep = 8
    P = noise.shape[0] / keep  # 8 days
    r = psd_spacetime_score(lonlat_map(lowpass(noise, 0, keep)), lonlat_map(noise))
    assert abs(1 / r.lambda_t_days - 1 / P) <= 1 / noise.shape[0]


def test_spacetime_on_metres_grid_reports_metres(noise):
    dx, keep = 5e3, 16
    L = noise.shape[2] * dx / keep
    r = psd_spacetime_score(xy_map(lowpass(noise, 2, keep), dx=dx), xy_map(noise, dx=dx))
    assert r.x_unit == "m" and r.lambda_x_km == pytest.approx(r.lambda_x / 1e3)
    assert abs(1 / r.lambda_x - 1 / L) <= 1 / (noise.shape[2] * dx)


def test_spacetime_perfect_estimate_gives_the_grid_bound(noise):
    truth = lonlat_map(noise[:16, :4, :32])
    r = psd_spacetime_score(truth.copy(), truth)
    assert np.all(r.score == 1.0)
    assert r.lambda_x == pytest.approx(1 / r.freq_x.max()) and r.lambda_t_days == pytest.approx(1 / r.freq_t.max())


def test_challenge_quadrant_is_blind_to_eastward_propagation():
    # cos(2 pi (k x - f t)) (eastward phase speed) has power only at (k, -f) and (-k, f): the
    # challenge keeps freq_lon > 0, freq_time > 0 only, so missing that wave costs nothing there.
    nt, ny, nx = 32, 4, 64
    t = np.arange(nt)[:, None, None] / nt
    x = np.arange(nx)[None, None, :] / nx
    rng = np.random.default_rng(1)
    east = np.cos(2 * np.pi * (6 * x - 5 * t)) * np.ones((1, ny, 1))
    truth = 0.1 * rng.standard_normal((nt, ny, nx)) + east
    est = truth - east
    pos = psd_spacetime_score(lonlat_map(est), lonlat_map(truth), quadrant="positive")
    fold = psd_spacetime_score(lonlat_map(est), lonlat_map(truth), quadrant="folded")
    # the error's power in the kept quadrant is Hann-leakage-free round-off (exact bins)
    np.testing.assert_allclose(pos.score, 1.0, atol=1e-12)
    assert fold.score.min() < 0.0


def test_nan_rows_are_left_out_of_the_latitude_average(noise):
    truth = noise[:16, :6, :32].copy()
    est = lowpass(truth, 2, 4)
    full = truth.copy()
    full[:, 2, 5] = np.nan
    r_nan = psd_spacetime_score(lonlat_map(est), lonlat_map(full))
    keep = [0, 1, 3, 4, 5]
    ref_t, ref_e = truth[:, keep], est[:, keep]
    da_t = lonlat_map(ref_t).assign_coords(lat=30 + 0.25 * np.array(keep))
    da_e = lonlat_map(ref_e).assign_coords(lat=30 + 0.25 * np.array(keep))
    r_ref = psd_spacetime_score(da_e, da_t)
    np.testing.assert_allclose(r_nan.score, r_ref.score, rtol=1e-12)  # same rows, same sums


def test_isotropic_lambda_of_an_isotropic_lowpass_within_one_ring():
    rng = np.random.default_rng(11)
    nt, n, dx, keep = 6, 64, 10e3, 8
    truth = rng.standard_normal((nt, n, n))
    m = np.fft.fftfreq(n) * n
    radius = np.hypot(*np.meshgrid(m, m, indexing="ij"))
    est = np.real(np.fft.ifft2(np.fft.fft2(truth) * (radius <= keep)))
    r = psd_isotropic_score(xy_map(est, dx=dx, dy=dx), xy_map(truth, dx=dx, dy=dx))
    L = n * dx / keep
    assert abs(1 / r.lambda_x_m - 1 / L) <= 1 / (n * dx)
    assert r.lambda_x_km == pytest.approx(r.lambda_x_m / 1e3)


def test_temporal_lambda_of_a_temporal_lowpass_within_one_bin(noise):
    keep = 8
    r = psd_temporal_score(lonlat_map(lowpass(noise, 0, keep)), lonlat_map(noise))
    assert abs(1 / r.lambda_t_days - keep / noise.shape[0]) <= 1 / noise.shape[0]


def test_uneven_time_is_an_error_naming_truth_time(noise):
    truth = lonlat_map(noise[:8, :3, :16])
    t = truth.time.values.copy()
    t[-1] = t[-1] + np.timedelta64(12, "h")
    bad = truth.assign_coords(time=t)
    with pytest.raises(ValueError, match="truth time must be evenly spaced"):
        psd_spacetime_score(bad.copy(), bad)
    with pytest.raises(ValueError, match="quadrant must be"):
        psd_spacetime_score(truth, truth, quadrant="all")
