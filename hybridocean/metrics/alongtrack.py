"""Scores of an SSH map on held-out along-track altimetry (the data challenges' real-data protocol).

The map is interpolated onto the points of a platform left out of the input
(:func:`score_on_tracks`, through :class:`hybridocean.observations.ObservationOperator`), then:

* **RMSE scores** (:func:`alongtrack_rmse_scores`), exactly ``write_timeserie_stat`` of
  ``ocean-data-challenges/2021a_SSH_mapping_OSE`` (``src/mod_stats.py`` / ``mod_write.py``):
  points are binned by calendar day (``resample(time='1D')``); for each day
  ``mu_d = 1 - RMS(ssh_est - ssh_true) / RMS(ssh_true)``; days with fewer than 10 points are
  masked (``nb_min_obs = 10``); ``mu = mean_d mu_d`` and ``sigma_t = std_d mu_d`` (ddof = 0).
  Unlike the map score (:func:`hybridocean.metrics.maps.map_scores`, pooled), the along-track
  leaderboard ``mu`` is the **mean of the daily scores**.
* **PSD score** (:func:`alongtrack_segments`, :func:`alongtrack_psd_score`), exactly
  ``compute_segment_alongtrack`` + ``compute_spectral_scores`` (``src/mod_spectral.py``) and
  ``find_wavelength_05_crossing`` (``src/mod_plot.py``) of the same challenge: the track is cut
  where two consecutive times differ by more than ``max_gap`` (4 s there: "4 * delta_t" of the
  1 Hz products); 1000 km segments of ``npt = int(1000 km / delta_x)`` points start every
  ``int(0.25 npt)`` points (75 % overlap; the official variable is named
  ``segment_overlapping``); each segment's PSD is ``scipy.signal.welch`` of one block
  (mean removed, periodic Hann window, density), averaged over the segments, for the truth and
  the difference; ``score = 1 - PSD(diff) / PSD(truth)`` and ``lambda_x`` is its 0.5 crossing,
  interpolated linearly in wavelength. Challenge constants (CryoSat-2, the 2021a notebooks):
  ``delta_t = 0.9434 s``, ground speed ``6.77 km/s``, so ``delta_x = 6.3868 km`` and
  ``npt = 156``.

Quirks of the official segmentation, reproduced with ``rules="challenge"`` (the default):
each piece between gaps starts at the *last point before the gap* (``indi[k-1]``, so one point
of the previous pass), the piece after the last gap is never used, the last possible segment
start of each piece is skipped (``range(start, end - npt, step)``), and a record without any gap
makes the 2021a code fail (here: ``ValueError``; the 2023a rewrite ``compute_segment`` returns no
segment instead, with the same rules otherwise and a 2 s gap threshold). ``rules="clean"`` cuts exactly at gaps,
keeps every piece and every start. Points where the truth or the estimate is not finite are
dropped before segmenting (as ``interp_on_alongtrack`` does), and points are put in time order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .spectral import CROSSINGS, crossing_wavelength, periodogram_1d

#: CryoSat-2 1 Hz along-track sampling interval [s] (2021a_SSH_mapping_OSE notebooks, "C2 parameter").
DELTA_T_S = 0.9434
#: CryoSat-2 ground-track speed [km/s] (same source).
VELOCITY_KM_S = 6.77
#: Along-track spacing [km] = velocity * delta_t.
DELTA_X_KM = VELOCITY_KM_S * DELTA_T_S
#: Segment length [km] (same source, ``lenght_scale = 1000``).
LENGTH_SCALE_KM = 1000.0
#: Track cut threshold [s] (``max_delta_t_gap = 4 s`` in ``compute_segment_alongtrack``).
MAX_GAP_S = 4.0
#: Minimum number of points for a daily RMSE score (``nb_min_obs = 10`` in ``write_timeserie_stat``).
MIN_DAILY_COUNT = 10
RULES = ("challenge", "clean")


def _seconds(time: np.ndarray, name: str = "time") -> np.ndarray:
    t = np.asarray(time)
    if np.issubdtype(t.dtype, np.datetime64):
        return (t - np.datetime64("1970-01-01T00:00:00")) / np.timedelta64(1, "s")
    if np.issubdtype(t.dtype, np.number):
        return t.astype(np.float64)
    raise TypeError(f"{name} must be datetime64 or float seconds, got dtype {t.dtype}")


def _as_1d(name: str, a, n: Optional[int] = None) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name} must have {n} entries (as time), got {a.size}")
    return a


def _median_lon(lon: np.ndarray) -> float:
    """Median longitude of a short track piece, robust to the dateline; in [-180, 180)."""
    unwrapped = (lon - lon[0] + 180.0) % 360.0 - 180.0 + lon[0]
    return float((np.median(unwrapped) + 180.0) % 360.0 - 180.0)


@dataclass
class Segments:
    """Along-track segments of :func:`alongtrack_segments`.

    Attributes:
        ssh_true, ssh_est: ``(n_segments, npt)`` [m].
        lon, lat: ``(n_segments,)`` median position of each segment [degrees] (NaN if none given).
        npt: points per segment; delta_x_km: along-track spacing [km].
    """

    ssh_true: np.ndarray = field(repr=False)
    ssh_est: np.ndarray = field(repr=False)
    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    npt: int
    delta_x_km: float

    def __len__(self) -> int:
        return int(self.ssh_true.shape[0])


def alongtrack_segments(time, ssh_true, ssh_est, lon=None, lat=None, *,
                        length_scale_km: float = LENGTH_SCALE_KM, delta_x_km: float = DELTA_X_KM,
                        max_gap_s: float = MAX_GAP_S, step_fraction: float = 0.25,
                        rules: str = "challenge") -> Segments:
    """Cut along-track data into overlapping ``length_scale_km`` segments (module docstring).

    Args:
        time: ``(n,)`` datetime64 or float seconds.
        ssh_true, ssh_est: ``(n,)`` held-out SSH and the map interpolated there [m].
        lon, lat: optional ``(n,)`` positions [degrees] (only for the segment positions).
        length_scale_km: segment length [km]; delta_x_km: along-track spacing [km]
            (``npt = int(length_scale_km / delta_x_km)``).
        max_gap_s: a time step larger than this cuts the track [s].
        step_fraction: segments start every ``int(step_fraction * npt)`` points.
        rules: ``"challenge"`` (official quirks) or ``"clean"``.
    """
    if rules not in RULES:
        raise ValueError(f"rules must be one of {RULES}, got {rules!r}")
    for name, v in (("length_scale_km", length_scale_km), ("delta_x_km", delta_x_km),
                    ("max_gap_s", max_gap_s), ("step_fraction", step_fraction)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    t = _seconds(_as_1d("time", time))
    n = t.size
    yt = _as_1d("ssh_true", ssh_true, n).astype(np.float64)
    ye = _as_1d("ssh_est", ssh_est, n).astype(np.float64)
    lo = np.full(n, np.nan) if lon is None else _as_1d("lon", lon, n).astype(np.float64)
    la = np.full(n, np.nan) if lat is None else _as_1d("lat", lat, n).astype(np.float64)
    keep = np.isfinite(yt) & np.isfinite(ye) & np.isfinite(t)
    order = np.argsort(t[keep], kind="stable")
    t, yt, ye, lo, la = (a[keep][order] for a in (t, yt, ye, lo, la))
    npt = int(length_scale_km / delta_x_km)
    step = int(npt * step_fraction)
    if npt < 2 or step < 1:
        raise ValueError(f"length_scale_km / delta_x_km = {npt} points is too few for a segment")
    indi = np.nonzero(np.diff(t) > max_gap_s)[0]
    starts = []
    if rules == "challenge":
        if indi.size == 0:
            raise ValueError(f"no time gap > max_gap_s = {max_gap_s} s: the challenge's segmentation needs one (use rules='clean')")
        lengths = np.insert(np.diff(indi), 0, indi[0])
        for k in np.nonzero(lengths >= npt)[0]:
            a = indi[k - 1] if k >= 1 else 0
            starts.extend(range(int(a), int(indi[k]) - npt, step))
    else:
        bounds = np.concatenate([[0], indi + 1, [t.size]])
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a >= npt:
                starts.extend(range(int(a), int(b) - npt + 1, step))
    idx = np.asarray(starts, dtype=int)[:, None] + np.arange(npt)[None, :]
    seg_lon = np.array([_median_lon(lo[i]) if np.isfinite(lo[i]).all() else np.nan for i in idx])
    seg_lat = np.array([np.median(la[i]) for i in idx])
    return Segments(yt[idx], ye[idx], seg_lon.reshape(-1), seg_lat.reshape(-1), npt, float(delta_x_km))


@dataclass
class AlongTrackPSD:
    """Segment-averaged along-track spectra and the PSD score.

    Attributes:
        wavenumber: ``(nk,)`` [cycles / km], from 0.
        psd_ref, psd_study, psd_diff: ``(nk,)`` [m^2 km] of the truth, estimate and difference.
        score: ``1 - psd_diff / psd_ref``.
        lambda_x_km: effective resolution [km]; n_segments: number of segments averaged.
    """

    wavenumber: np.ndarray
    psd_ref: np.ndarray = field(repr=False)
    psd_study: np.ndarray = field(repr=False)
    psd_diff: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    lambda_x_km: float
    n_segments: int


def alongtrack_psd_score(segments: Segments, crossing: str = "challenge") -> AlongTrackPSD:
    """Welch spectra of the segments and the 0.5 crossing ``lambda_x`` [km].

    ``PSD = mean_s welch_1block(x_s)`` (mean removed, periodic Hann, density, ``fs = 1/delta_x``);
    ``score = 1 - PSD(est - true) / PSD(true)``. ``crossing="challenge"`` reproduces
    ``interp1d(score, 1/k)(0.5)`` on every bin including ``k = 0`` (wavelength ``inf``);
    ``"first"`` takes the first crossing from long to short wavelengths over ``k > 0``
    (see :func:`hybridocean.metrics.spectral.crossing_wavelength`).
    """
    if not isinstance(segments, Segments):
        raise TypeError(f"segments must be a Segments (from alongtrack_segments), got {type(segments).__name__}")
    if crossing not in CROSSINGS:
        raise ValueError(f"crossing must be one of {CROSSINGS}, got {crossing!r}")
    if len(segments) == 0:
        raise ValueError(f"no along-track segment of {segments.npt} points: the tracks are too short or too gappy")
    d = segments.delta_x_km
    k, p_ref = periodogram_1d(segments.ssh_true, d)
    _, p_study = periodogram_1d(segments.ssh_est, d)
    _, p_diff = periodogram_1d(segments.ssh_est - segments.ssh_true, d)
    p_ref, p_study, p_diff = (p.mean(axis=0) for p in (p_ref, p_study, p_diff))
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 1.0 - p_diff / p_ref
        lam = 1.0 / k
    sel = slice(None) if crossing == "challenge" else slice(1, None)
    lam_x = crossing_wavelength(score[sel], lam[sel], 0.5, crossing)
    return AlongTrackPSD(k, p_ref, p_study, p_diff, score, lam_x, len(segments))


@dataclass
class AlongTrackRMSE:
    """Daily along-track RMSE scores (module docstring).

    Attributes:
        rmse: pooled RMSE over every point [m]; mu, sigma_t: mean and std of the daily scores.
        day: ``(n_days,)`` bin index (days since 1970-01-01 for datetime input, since t = 0 for
            seconds); mu_day, count: per-day score and number of points (``mu_day`` NaN where
            ``count < min_count``).
    """

    rmse: float
    mu: float
    sigma_t: float
    day: np.ndarray = field(repr=False)
    mu_day: np.ndarray = field(repr=False)
    count: np.ndarray = field(repr=False)


def alongtrack_rmse_scores(time, ssh_true, ssh_est, min_count: int = MIN_DAILY_COUNT) -> AlongTrackRMSE:
    """Daily normalised RMSE scores of along-track values, as ``write_timeserie_stat`` (2021a).

    ``mu_d = 1 - sqrt(<(est - true)^2>_d) / sqrt(<true^2>_d)`` per calendar day ``d``;
    ``mu = mean_d mu_d``, ``sigma_t = std_d mu_d`` over days with ``>= min_count`` points.
    Non-finite pairs are dropped first. Returns :class:`AlongTrackRMSE`.
    """
    t = _seconds(_as_1d("time", time))
    yt = _as_1d("ssh_true", ssh_true, t.size).astype(np.float64)
    ye = _as_1d("ssh_est", ssh_est, t.size).astype(np.float64)
    keep = np.isfinite(yt) & np.isfinite(ye) & np.isfinite(t)
    if not keep.any():
        raise ValueError("no finite (ssh_true, ssh_est) pair to score")
    t, yt, ye = t[keep], yt[keep], ye[keep]
    day = np.floor(t / 86400.0).astype(np.int64)
    days, inv = np.unique(day, return_inverse=True)
    count = np.bincount(inv)
    e2 = np.bincount(inv, weights=(ye - yt) ** 2) / count
    r2 = np.bincount(inv, weights=yt**2) / count
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_day = 1.0 - np.sqrt(e2) / np.sqrt(r2)
    mu_day = np.where(count >= min_count, mu_day, np.nan)
    ok = mu_day[np.isfinite(mu_day)]
    mu = float(ok.mean()) if ok.size else float("nan")
    sigma = float(ok.std()) if ok.size else float("nan")
    return AlongTrackRMSE(float(np.sqrt(np.mean((ye - yt) ** 2))), mu, sigma, days, mu_day, count)
