"""RMSE-based map scores (hybridocean.metrics.maps) on known answers and hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from _metric_fields import lonlat_map, xy_map
from hybridocean.metrics import map_scores, rmse


def test_perfect_estimate_scores_one():
    truth = lonlat_map(np.random.default_rng(0).standard_normal((5, 6, 7)))
    s = map_scores(truth.copy(), truth)
    # exact arithmetic: e = 0 identically
    assert s.rmse == 0.0 and s.mu == 1.0 and s.sigma_t == 0.0
    assert np.all(s.mu_t == 1.0)
    assert rmse(truth, truth) == 0.0


def test_hand_computed_mu_is_pooled_and_sigma_t_is_std_of_daily_scores():
    # day 0: truth = 1, error 0.5 -> mu_0 = 1 - 0.5 / 1 = 0.5
    # day 1: truth = 2, error 0   -> mu_1 = 1
    # sigma_t = std([0.5, 1]) = 0.25 (ddof 0)
    # pooled: <e^2> = 4 * 0.25 / 8 = 0.125, <truth^2> = (4 + 16) / 8 = 2.5
    #         mu = 1 - sqrt(0.125 / 2.5) = 1 - sqrt(0.05)  (not the mean 0.75 of the daily scores)
    truth = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])
    est = truth + np.stack([0.5 * np.ones((2, 2)), np.zeros((2, 2))])
    s = map_scores(lonlat_map(est), lonlat_map(truth))
    # 1e-15: a handful of float64 operations on exact binary fractions
    assert s.mu_t == pytest.approx([0.5, 1.0], abs=1e-15)
    assert s.sigma_t == pytest.approx(0.25, abs=1e-15)
    assert s.mu == pytest.approx(1 - math.sqrt(0.05), abs=1e-15)
    assert s.rmse == pytest.approx(math.sqrt(0.125), abs=1e-15)
    assert s.rmse_xy.values == pytest.approx(np.full((2, 2), math.sqrt(0.125)), abs=1e-15)


def test_nan_skipped_separately_in_error_and_reference_means():
    # the challenge's xarray means skip NaN per term: <e^2> over 3 points, <truth^2> over 4
    truth = np.array([[[1.0, 1.0], [1.0, 3.0]]])
    est = np.array([[[2.0, 1.0], [1.0, np.nan]]])
    s = map_scores(lonlat_map(est), lonlat_map(truth))
    expected = 1 - math.sqrt(1.0 / 3.0) / math.sqrt(12.0 / 4.0)
    assert s.mu == pytest.approx(expected, abs=1e-15)
    assert s.rmse == pytest.approx(math.sqrt(1.0 / 3.0), abs=1e-15)


def test_white_noise_error_gives_predicted_rmse_and_mu():
    # truth: a plane wave with RMS exactly A / sqrt(2) on the grid (whole periods);
    # estimate: truth + white noise of std s -> RMSE -> s, mu -> 1 - s sqrt(2) / A
    rng = np.random.default_rng(42)
    nt, ny, nx, A, sig = 20, 64, 64, 0.3, 0.05
    x = np.arange(nx) / nx
    truth = np.broadcast_to(A * np.cos(2 * np.pi * 3 * x), (nt, ny, nx)).copy()
    est = truth + sig * rng.standard_normal(truth.shape)
    s = map_scores(xy_map(est), xy_map(truth))
    n = truth.size
    # the sample RMS of n Gaussian values has relative std 1/sqrt(2n); allow 5 of them
    tol = 5 / math.sqrt(2 * n)
    assert s.rmse == pytest.approx(sig, rel=tol)
    assert 1 - s.mu == pytest.approx(sig * math.sqrt(2) / A, rel=tol)


def test_different_grid_or_times_is_a_one_line_error_naming_estimate():
    truth = lonlat_map(np.zeros((3, 4, 5)))
    shifted = truth.assign_coords(lon=truth.lon + 0.1)
    with pytest.raises(ValueError, match=r"^estimate is on a different grid: lon\[0\]"):
        map_scores(shifted, truth)
    later = truth.assign_coords(time=truth.time + np.timedelta64(1, "h"))
    with pytest.raises(ValueError, match=r"^estimate is at different times"):
        map_scores(later, truth)
    with pytest.raises(ValueError, match="estimate has shape"):
        map_scores(lonlat_map(np.zeros((3, 4, 6))), truth)
    with pytest.raises(TypeError, match="estimate must be an xarray.DataArray"):
        map_scores(np.zeros((3, 4, 5)), truth)
    bad = xr.DataArray(np.zeros((3, 4, 5)), dims=("t", "a", "b"))
    with pytest.raises(ValueError, match="truth must end with dims"):
        map_scores(bad, bad)
