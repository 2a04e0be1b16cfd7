"""Score a map on a held-out altimeter: interpolate it with the observation operator H onto the
points of a platform left out of the input, then apply the along-track scores of
:mod:`hybridocean.metrics.alongtrack` (the real-data protocol of
``ocean-data-challenges/2021a_SSH_mapping_OSE``: ``interp_on_alongtrack``, ``compute_stats``,
``compute_spectral_scores``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from hybridocean.observations import ObservationOperator, Observations
from hybridocean.observations.orbits import great_circle_distance
from physics.grid import Grid

from .alongtrack import (LENGTH_SCALE_KM, MIN_DAILY_COUNT, AlongTrackPSD, AlongTrackRMSE, Segments,
                         alongtrack_psd_score, alongtrack_rmse_scores, alongtrack_segments, _seconds)


def _spacing_km(a: np.ndarray, b: np.ndarray, lonlat: bool) -> np.ndarray:
    """Distance [km] between consecutive points: great circle
    (:func:`hybridocean.observations.orbits.great_circle_distance`) for (lon, lat) in degrees,
    Euclidean for (x, y) in metres."""
    if lonlat:
        return great_circle_distance(a[:-1], b[:-1], a[1:], b[1:]) / 1e3
    return np.hypot(np.diff(a), np.diff(b)) / 1e3


@dataclass
class TrackScores:
    """Scores of a map on held-out tracks.

    Attributes:
        rmse, mu, sigma_t: along-track RMSE [m], mean and std of the daily scores.
        lambda_x_km: along-track effective resolution [km] (NaN if no segment fits).
        n_points: held-out points inside the map's grid and time window; n_segments: PSD segments.
        delta_x_km, max_gap_s: spacing and gap threshold used.
        rmse_detail, psd: the full :class:`AlongTrackRMSE` / :class:`AlongTrackPSD` (``psd`` None
            when there is no segment).
        skipped_platforms: platforms left out of the PSD because ``rules="challenge"`` needs a
            time gap in each record (their points still count in the RMSE scores).
    """

    rmse: float
    mu: float
    sigma_t: float
    lambda_x_km: float
    n_points: int
    n_segments: int
    delta_x_km: float
    max_gap_s: float
    rmse_detail: AlongTrackRMSE = field(repr=False)
    psd: Optional[AlongTrackPSD] = field(repr=False, default=None)
    skipped_platforms: Tuple[str, ...] = ()

    def as_dict(self) -> Dict[str, float]:
        """Scalar results (JSON-ready)."""
        return {"rmse": self.rmse, "mu": self.mu, "sigma_t": self.sigma_t, "lambda_x_km": self.lambda_x_km,
                "n_points": self.n_points, "n_segments": self.n_segments}


def score_on_tracks(estimate_map, grid: Grid, times, holdout_obs, *, loc: str = "center",
                    length_scale_km: float = LENGTH_SCALE_KM, delta_x_km: Optional[float] = None,
                    max_gap_s: Optional[float] = None, rules: str = "challenge",
                    crossing: str = "challenge", min_count: int = MIN_DAILY_COUNT,
                    time_origin: Optional[np.datetime64] = None, time_tolerance: float = 0.0) -> TrackScores:
    """Interpolate ``estimate_map`` onto ``holdout_obs`` with H and score it along track.

    ``ssh_est = H(estimate_map)`` at the held-out points inside the grid and time window
    (``op.inside``; points where the map is NaN, e.g. land, are dropped by the scores),
    ``ssh_true = holdout_obs.ds["ssh"]`` there; then
    :func:`~hybridocean.metrics.alongtrack.alongtrack_rmse_scores` on all points and
    :func:`~hybridocean.metrics.alongtrack.alongtrack_psd_score` on the segments of every
    platform (segmented separately, spectra averaged together).

    Args:
        estimate_map: ``(T, ny, nx)`` SSH [m] (torch tensor, numpy array or DataArray values).
        grid: the map's :class:`physics.grid.Grid`; times: its ``T`` times (as H takes them).
        holdout_obs: :class:`hybridocean.observations.Observations` of the left-out platform(s).
        loc: C-grid location of the map (H's ``loc``).
        length_scale_km: PSD segment length [km].
        delta_x_km: along-track spacing [km]; ``None``: the median distance between
            consecutive points, as ``compute_median_dx`` (``2023a_SSH_mapping_OSE``,
            ``src/mod_spectral.py``) computes it over all consecutive pairs; here only pairs
            closer in time than ``max_gap_s`` count (jumps across gaps are not spacings),
            pooled over platforms.
        max_gap_s: track cut [s]; ``None``: 4 times the median time step (the challenge's
            "4 * delta_t"; 4 s for 1 Hz data).
        rules, crossing, min_count: as in :mod:`hybridocean.metrics.alongtrack`.
        time_origin, time_tolerance: passed to the operator (origin of float ``times``; seconds
            beyond the first/last field time still accepted).

    Raises ``ValueError`` if no held-out point lies inside the grid and time window.
    """
    if not isinstance(holdout_obs, Observations):
        raise TypeError(f"holdout_obs must be hybridocean.observations.Observations, got {type(holdout_obs).__name__}")
    fields = estimate_map.values if hasattr(estimate_map, "dims") else estimate_map
    fields = torch.as_tensor(np.asarray(fields) if not torch.is_tensor(fields) else fields).to(torch.float64)
    if fields.ndim != 3:
        raise ValueError(f"estimate_map must be (T, ny, nx), got shape {tuple(fields.shape)}")
    op = ObservationOperator(holdout_obs, grid, times, loc=loc, time_origin=time_origin,
                             time_tolerance=time_tolerance, allow_empty=True)
    with torch.no_grad():
        est = op(fields).detach().cpu().numpy()
    kept = op.obs  # the inside points, in H's output order (op.inside flags them in holdout_obs)
    if est.shape[-1] != len(kept):
        raise ValueError(f"H returned {est.shape[-1]} values for {len(kept)} observations inside the grid")
    ds = kept.ds
    truth = np.asarray(ds["ssh"].values, dtype=np.float64)
    time = np.asarray(ds["time"].values)
    lonlat = kept.coords_kind == "lonlat"
    a = np.asarray(ds["longitude" if lonlat else "x"].values, dtype=np.float64)
    b = np.asarray(ds["latitude" if lonlat else "y"].values, dtype=np.float64)
    platform = np.asarray(ds["platform"].values).astype(str)
    if truth.size == 0:
        raise ValueError("no held-out observation lies inside the map's grid and time window")
    detail = alongtrack_rmse_scores(time, truth, est, min_count=min_count)

    t_s = _seconds(time)
    groups = []
    steps, spacings = [], []
    for name in np.unique(platform):
        sel = np.nonzero(platform == name)[0]
        sel = sel[np.argsort(t_s[sel], kind="stable")]
        groups.append(sel)
        dt = np.diff(t_s[sel])
        steps.append(dt[dt > 0])
    all_steps = np.concatenate(steps) if steps else np.empty(0)
    if max_gap_s is None:
        max_gap_s = 4.0 * float(np.median(all_steps)) if all_steps.size else 1.0
    if delta_x_km is None:
        for sel in groups:
            dt = np.diff(t_s[sel])
            dist = _spacing_km(a[sel], b[sel], lonlat)
            spacings.append(dist[(dt > 0) & (dt <= max_gap_s)])
        pooled = np.concatenate(spacings) if spacings else np.empty(0)
        pooled = pooled[np.isfinite(pooled)]
        delta_x_km = float(np.median(pooled)) if pooled.size else float("nan")
    segs, skipped = [], []
    if np.isfinite(delta_x_km) and delta_x_km > 0:
        for sel in groups:
            if rules == "challenge" and not np.any(np.diff(t_s[sel]) > max_gap_s):
                skipped.append(str(platform[sel[0]]))  # the official segmentation needs a gap
                continue
            segs.append(alongtrack_segments(
                time[sel], truth[sel], est[sel], a[sel] if lonlat else None, b[sel] if lonlat else None,
                length_scale_km=length_scale_km, delta_x_km=delta_x_km, max_gap_s=max_gap_s, rules=rules))
    segs = [s for s in segs if len(s)]
    psd = None
    lam = float("nan")
    if segs:
        merged = Segments(np.concatenate([s.ssh_true for s in segs]), np.concatenate([s.ssh_est for s in segs]),
                          np.concatenate([s.lon for s in segs]), np.concatenate([s.lat for s in segs]),
                          segs[0].npt, float(delta_x_km))
        psd = alongtrack_psd_score(merged, crossing)
        lam = psd.lambda_x_km
    return TrackScores(detail.rmse, detail.mu, detail.sigma_t, lam, int(truth.size),
                       sum(len(s) for s in segs), float(delta_x_km), float(max_gap_s), detail, psd,
                       tuple(skipped))
