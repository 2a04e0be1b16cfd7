"""Spectral primitives (hybridocean.metrics.spectral): periodograms, detrending, 0.5 crossings."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from hybridocean.metrics.spectral import contour_crossings, crossing_wavelength, detrend, periodogram_1d


def test_periodogram_matches_scipy_welch_of_back_to_back_segments():
    # compute_spectral_scores (2021a) runs welch(nperseg=npt, noverlap=0) on concatenated segments
    x = np.random.default_rng(3).standard_normal((7, 156))
    f, p = periodogram_1d(x, 6.38698)
    f2, p2 = scipy.signal.welch(x.ravel(), fs=1 / 6.38698, nperseg=156, noverlap=0, scaling="density")
    assert np.array_equal(f, f2)
    np.testing.assert_allclose(p.mean(axis=0), p2, rtol=1e-12)  # same sums, different order


@pytest.mark.parametrize("n", [64, 65])
def test_boxcar_periodogram_satisfies_parseval(n):
    # one-sided density without taper or detrend: sum(P) df = mean(x^2) (Parseval), to round-off
    x = np.random.default_rng(n).standard_normal(n)
    d = 2.5
    f, p = periodogram_1d(x, d, kind=None, detrend_kind=None)
    assert p.sum() * (1 / (n * d)) == pytest.approx(np.mean(x**2), rel=1e-12)


def test_linear_detrend_removes_a_plane_exactly():
    t, x = np.meshgrid(np.arange(6.0), np.arange(9.0), indexing="ij")
    rng = np.random.default_rng(0)
    resid = rng.standard_normal((4, 6, 9))
    resid = detrend(resid, "linear", (1, 2))  # make it orthogonal to planes
    block = resid + (1.5 + 0.3 * t - 2.0 * x)[None]
    np.testing.assert_allclose(detrend(block, "linear", (1, 2)), resid, atol=1e-12)  # round-off of lstsq
    np.testing.assert_allclose(detrend(block, "constant", (1, 2)).mean(axis=(1, 2)), 0.0, atol=1e-14)


def test_first_crossing_hand_computed():
    lam = np.array([400.0, 200.0, 100.0, 50.0])
    s = np.array([1.0, 0.8, 0.4, 0.1])
    # between 200 (0.8) and 100 (0.4): 200 + (0.5 - 0.8) (100 - 200) / (0.4 - 0.8) = 125
    assert crossing_wavelength(s, lam) == pytest.approx(125.0, abs=1e-12)
    assert crossing_wavelength(s, lam, method="challenge") == pytest.approx(125.0, abs=1e-12)
    assert crossing_wavelength(s[::-1], lam[::-1]) == pytest.approx(125.0, abs=1e-12)  # order-free


def test_challenge_crossing_reproduces_interp1d_on_a_non_monotone_score():
    lam = np.array([400.0, 200.0, 100.0, 50.0])
    s = np.array([1.0, 0.3, 0.6, 0.1])
    # first fall below 0.5: between 400 (1.0) and 200 (0.3): 400 - 0.5 * 200 / 0.7
    assert crossing_wavelength(s, lam) == pytest.approx(400 - 100 / 0.7, abs=1e-9)
    # interp1d sorts by score: bracket 0.3 (200) .. 0.6 (100): 200 - 0.2 * 100 / 0.3
    from scipy.interpolate import interp1d

    ref = float(interp1d(s, lam)(0.5))
    assert ref == pytest.approx(200 - 20 / 0.3, abs=1e-9)
    assert crossing_wavelength(s, lam, method="challenge") == pytest.approx(ref, abs=1e-9)


def test_crossing_bounds_when_the_score_never_crosses():
    lam = np.array([300.0, 200.0, 100.0])
    assert crossing_wavelength(np.array([0.9, 0.8, 0.7]), lam) == 100.0
    assert crossing_wavelength(np.array([0.4, 0.3, 0.1]), lam) == np.inf
    assert crossing_wavelength(np.array([0.9, 0.8, 0.7]), lam, method="challenge") == 100.0
    with pytest.raises(ValueError, match="method must be"):
        crossing_wavelength(lam, lam, method="median")


def test_contour_crossings_hand_computed():
    z = np.array([[1.0, 0.0], [1.0, 1.0]])  # rows: y = (10, 20); cols: x = (1, 3)
    xv, yv = contour_crossings(z, np.array([1.0, 3.0]), np.array([10.0, 20.0]), 0.5)
    pts = sorted(zip(xv.tolist(), yv.tolist()))
    # row y=10 crosses at x = 2; column x=3 crosses at y = 15
    assert pts == [(2.0, 10.0), (3.0, 15.0)]


@pytest.mark.peer
def test_contour_crossings_are_the_vertices_matplotlib_draws():
    # the challenge reads lambda_x, lambda_t off plt.contour(1/k, 1/w, score, [0.5]); our vertices
    # must be exactly matplotlib's (each once; matplotlib repeats the first vertex of closed lines)
    from matplotlib.figure import Figure

    rng = np.random.default_rng(4)
    k = np.arange(1, 20) / 40.0
    w = np.arange(1, 15) / 30.0
    K, W = np.meshgrid(k, w)
    z = 1.2 - 4 * K - 2 * W + 0.15 * rng.standard_normal(K.shape)  # wiggly, several pieces
    x, y = 1 / k, 1 / w
    xv, yv = contour_crossings(z, x, y, 0.5)
    ax = Figure().subplots()
    segs = ax.contour(x, y, z, [0.5]).allsegs[0]
    mpl = np.unique(np.round(np.concatenate(segs), 9), axis=0)
    ours = np.unique(np.round(np.column_stack([xv, yv]), 9), axis=0)
    assert len(segs) >= 1 and mpl.shape == ours.shape
    np.testing.assert_allclose(ours, mpl, rtol=1e-12)  # both interpolate linearly on the same edges
