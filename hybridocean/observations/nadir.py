"""Along-track sampling of a ground track: nadir altimeters at 1 Hz, and the time windows in which a
track passes over a region (shared with the SWOT swath of :mod:`.swot`).

An *orbit* here is anything with ``positions(t_s) -> (lon, lat)`` in degrees and a ``name``:
:class:`.orbits.RepeatOrbit` (published parameters) or :class:`.ephemeris.Ephemeris` (a file).
Times ``t_s`` are seconds on the orbit's clock (``t = 0``: the start of the experiment in
:mod:`.constellation`).

At 1 Hz the along-track spacing is the ground speed of the sub-satellite point:
5.75 km (Jason-3, 1336 km), 6.68 km (Sentinel-3, 814.5 km), 6.39 km (SWOT science orbit),
6.71 km (SARAL), 6.73 km (CryoSat-2), 6.47 km (HY-2) -- computed by
:func:`.orbits.ground_speed` from the generated tracks.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from physics.grid import EARTH_RADIUS

from .bbox import lonlat_box
from .noise import as_generator, check_std


@dataclasses.dataclass
class TrackPoints:
    """Observation points of one platform before the truth is sampled (all arrays ``(n,)``).

    ``time_s`` [s on the orbit clock], ``lon``/``lat`` [deg], ``error_std`` [m],
    ``noise`` [m] (one random draw of the error, added to the truth), optional signed
    ``cross_track`` [m] (swaths) and ``platform`` name.
    """

    platform: str
    time_s: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    error_std: np.ndarray
    noise: np.ndarray
    cross_track: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.time_s.size)


def in_bbox(lon, lat, bbox: Optional[Sequence[float]], margin_m: float = 0.0) -> np.ndarray:
    """Bool mask of points inside ``bbox`` widened by ``margin_m`` [m] on every edge.

    ``bbox = (lon0, lon1, lat0, lat1)`` [deg] in the convention of :mod:`.bbox`
    (:func:`.bbox.lonlat_box`; ``lon0 > lon1``: across the date line); None keeps every point.
    The margin is ``margin_m / R`` degrees of latitude and that over ``cos(lat)`` at the box's
    most poleward edge (capped at 89 deg) of longitude (:meth:`.bbox.LonLatBox.contains`).
    """
    box = lonlat_box(bbox)
    if box is None:
        return np.ones(np.shape(lon), bool)
    mlat = math.degrees(margin_m / EARTH_RADIUS)
    coslat = max(math.cos(math.radians(min(max(abs(box.south), abs(box.north)) + mlat, 89.0))), 1e-3)
    return box.contains(lon, lat, lon_margin=min(mlat / coslat, 180.0), lat_margin=mlat)


def passes_over(orbit, t_start_s: float, t_end_s: float, bbox=None, margin_m: float = 0.0,
                coarse_dt_s: float = 10.0) -> list:
    """Time intervals ``[(t0, t1), ...]`` [s] in which the nadir is within ``bbox`` + ``margin_m``.

    Found on a ``coarse_dt_s`` grid (widened by one coarse step on each side), so a caller sampling
    finely inside the intervals misses nothing that the bbox test on the fine grid would keep.
    """
    if not (math.isfinite(t_start_s) and math.isfinite(t_end_s) and t_end_s > t_start_s):
        raise ValueError(f"need t_end_s > t_start_s (seconds), got {t_start_s!r}, {t_end_s!r}")
    if bbox is None:
        return [(float(t_start_s), float(t_end_s))]
    t = np.arange(t_start_s, t_end_s + coarse_dt_s, coarse_dt_s)
    lon, lat = orbit.positions(t)
    ok = in_bbox(lon, lat, bbox, margin_m + 8e3 * coarse_dt_s)  # < 8 km/s ground speed
    out = []
    if not ok.any():
        return out
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):
        out.append((max(t_start_s, float(t[a]) - coarse_dt_s), min(t_end_s, float(t[b - 1]) + coarse_dt_s)))
    return out


def sample_times(intervals: list, dt_s: float, t_start_s: float) -> np.ndarray:
    """Times on the global grid ``t_start_s + k dt_s`` that fall in the ``intervals`` (sorted, unique)."""
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"sampling step must be > 0 seconds, got {dt_s!r}")
    parts = []
    for a, b in intervals:
        k0 = math.ceil((a - t_start_s) / dt_s - 1e-9)
        k1 = math.floor((b - t_start_s) / dt_s + 1e-9)
        if k1 >= k0:
            parts.append(t_start_s + dt_s * np.arange(k0, k1 + 1))
    if not parts:
        return np.zeros(0)
    return np.unique(np.concatenate(parts))


def nadir_points(orbit, t_start_s: float, t_end_s: float, noise_std: float = 0.0, rate_hz: float = 1.0,
                 bbox=None, rng=None, platform: Optional[str] = None) -> TrackPoints:
    """Nadir altimeter points at ``rate_hz`` (default 1 Hz) over ``[t_start_s, t_end_s]``.

    Positions ``orbit.positions(t)`` at ``t = t_start_s + k / rate_hz`` kept inside ``bbox``
    (``(lon_min, lon_max, lat_min, lat_max)`` or None); white noise ``N(0, noise_std^2)`` [m]
    (``noise_std >= 0``), seeded by ``rng`` (int or Generator); ``error_std = noise_std``.
    """
    std = check_std("noise_std", noise_std)
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be > 0, got {rate_hz!r}")
    g = as_generator(rng)
    t = sample_times(passes_over(orbit, t_start_s, t_end_s, bbox), 1.0 / rate_hz, t_start_s)
    lon, lat = orbit.positions(t)
    keep = in_bbox(lon, lat, bbox)
    t, lon, lat = t[keep], lon[keep], lat[keep]
    return TrackPoints(
        platform=platform or orbit.name, time_s=t, lon=lon, lat=lat,
        error_std=np.full(t.shape, std), noise=g.standard_normal(t.shape) * std,
    )
