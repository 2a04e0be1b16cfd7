"""Along-track scores (hybridocean.metrics.alongtrack): segmentation rules of the 2021a challenge,
the 1000 km PSD score on a known answer, daily RMSE scores by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hybridocean.metrics import alongtrack_psd_score, alongtrack_rmse_scores, alongtrack_segments
from hybridocean.metrics.alongtrack import DELTA_T_S, DELTA_X_KM


def _gappy_times(n: int, gaps_after=(), dt: float = 1.0, jump: float = 60.0) -> np.ndarray:
    t = np.arange(n) * dt
    for i in gaps_after:
        t[i + 1:] += jump
    return t


def test_challenge_segmentation_quirks_by_index():
    # npt = 10, step = int(2.5) = 2; gaps after points 14 and 29 -> indi = [14, 29], lengths [14, 15]
    t = _gappy_times(40, gaps_after=(14, 29))
    idx = np.arange(40.0)  # the SSH values are the point indices: segments reveal their starts
    kw = dict(length_scale_km=10.0, delta_x_km=1.0, max_gap_s=4.0)
    seg = alongtrack_segments(t, idx, idx, **kw)
    assert seg.npt == 10
    # piece 0: range(0, 14 - 10, 2); piece 1 starts AT the last point before the gap (14):
    # range(14, 29 - 10, 2); the piece after the last gap (30..39) is never used
    assert seg.ssh_true[:, 0].tolist() == [0, 2, 14, 16, 18]
    np.testing.assert_array_equal(seg.ssh_true, seg.ssh_est)
    clean = alongtrack_segments(t, idx, idx, rules="clean", **kw)
    # clean: pieces [0, 15), [15, 30), [30, 40), every full segment start
    assert clean.ssh_true[:, 0].tolist() == [0, 2, 4, 15, 17, 19, 30]
    assert np.all(np.diff(clean.ssh_true, axis=1) == 1)  # no segment spans a gap


def test_nonfinite_points_are_dropped_before_cutting():
    t = _gappy_times(40, gaps_after=(29,))
    idx = np.arange(40.0)
    est = idx.copy()
    est[5] = np.nan  # dropping point 5 opens a 2 s step (< 4 s): no new cut
    seg = alongtrack_segments(t, idx, est, length_scale_km=10.0, delta_x_km=1.0, max_gap_s=4.0)
    assert 5 not in seg.ssh_true
    # 39 points left, gap after (new) index 28: starts range(0, 28 - 10, 2), values skip 5
    assert seg.ssh_true[:, 0].tolist() == [0, 2, 4, 7, 9, 11, 13, 15, 17]


def test_challenge_rules_need_a_gap():
    t = np.arange(50.0)
    with pytest.raises(ValueError, match="no time gap"):
        alongtrack_segments(t, t, t, length_scale_km=10.0, delta_x_km=1.0)
    assert len(alongtrack_segments(t, t, t, length_scale_km=10.0, delta_x_km=1.0, rules="clean")) > 0


@pytest.mark.parametrize("rules", ["challenge", "clean"])
def test_psd_lambda_x_of_an_along_track_lowpass_within_one_bin(rules):
    # white-noise truth along a 1 Hz CryoSat-2-like track; estimate keeps exactly k <= 1/L.
    # Hann leakage (see test_metrics_psd_maps) puts the crossing between the two bins around
    # 1/L, so |1/lambda - 1/L| <= dk = 1 / (npt delta_x).
    rng = np.random.default_rng(5)
    n, L = 24000, 150.0
    t = _gappy_times(n, gaps_after=(7000, 15000), dt=DELTA_T_S)
    truth = rng.standard_normal(n)
    F = np.fft.rfft(truth)
    F[np.fft.rfftfreq(n, DELTA_X_KM) > 1 / L] = 0
    est = np.fft.irfft(F, n)
    seg = alongtrack_segments(t, truth, est, rules=rules)
    assert seg.npt == 156  # int(1000 / (6.77 * 0.9434))
    for crossing in ("challenge", "first"):
        r = alongtrack_psd_score(seg, crossing)
        assert abs(1 / r.lambda_x_km - 1 / L) <= 1 / (seg.npt * DELTA_X_KM)


def test_psd_perfect_and_zero_estimates():
    rng = np.random.default_rng(2)
    t = _gappy_times(3000, gaps_after=(1500,), dt=DELTA_T_S)
    truth = rng.standard_normal(3000)
    seg = alongtrack_segments(t, truth, truth)
    r = alongtrack_psd_score(seg)
    assert np.all(r.score[1:] == 1.0)  # psd_diff = 0 exactly
    assert r.lambda_x_km == pytest.approx(2 * DELTA_X_KM * seg.npt / (seg.npt - seg.npt % 2), rel=1e-12)
    zero = alongtrack_psd_score(alongtrack_segments(t, truth, 0 * truth))
    np.testing.assert_allclose(zero.score, 0.0, atol=1e-12)  # diff = -truth: equal spectra
    assert zero.lambda_x_km == math.inf


def test_daily_rmse_scores_hand_computed():
    day = 86400.0
    t = np.concatenate([d * day + np.linspace(0, 0.5 * day, n) for d, n in ((0, 10), (1, 12), (2, 5))])
    truth = np.concatenate([np.ones(10), 2 * np.ones(12), np.ones(5)])
    est = truth + np.concatenate([0.1 * np.ones(10), 0.4 * np.ones(12), np.ones(5)])
    r = alongtrack_rmse_scores(t, truth, est)
    # day 0: 1 - 0.1 / 1 = 0.9; day 1: 1 - 0.4 / 2 = 0.8; day 2: 5 points < 10 -> masked
    np.testing.assert_allclose(r.mu_day[:2], [0.9, 0.8], atol=1e-14)
    assert np.isnan(r.mu_day[2]) and r.count.tolist() == [10, 12, 5]
    assert r.mu == pytest.approx(0.85, abs=1e-14) and r.sigma_t == pytest.approx(0.05, abs=1e-14)
    assert r.rmse == pytest.approx(math.sqrt((10 * 0.01 + 12 * 0.16 + 5 * 1.0) / 27), abs=1e-14)


def test_daily_bins_are_calendar_days_for_datetimes():
    t0 = np.datetime64("2020-01-01T23:00:00", "ns")
    t = t0 + (np.arange(40) * 180e9).astype("timedelta64[ns]")  # 20 points before midnight, 20 after
    truth = np.ones(40)
    est = truth + np.where(np.arange(40) < 20, 0.1, 0.3)
    r = alongtrack_rmse_scores(t, truth, est)
    np.testing.assert_allclose(r.mu_day, [0.9, 0.7], atol=1e-14)


def test_bad_along_track_input_names_the_argument():
    t = np.arange(10.0)
    with pytest.raises(ValueError, match="ssh_est must have 10 entries"):
        alongtrack_rmse_scores(t, np.ones(10), np.ones(9))
    with pytest.raises(ValueError, match="delta_x_km must be a positive number"):
        alongtrack_segments(t, t, t, delta_x_km=0.0)
    with pytest.raises(TypeError, match="time must be datetime64 or float seconds"):
        alongtrack_rmse_scores(np.array(["a"] * 10), np.ones(10), np.ones(10))
