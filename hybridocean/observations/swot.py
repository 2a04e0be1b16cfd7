"""SWOT KaRIn swath sampling: two 50 km-wide swaths 10-60 km on each side of the nadir track.

Geometry (spherical Earth, radius :data:`physics.grid.EARTH_RADIUS`): at each along-track time
``t`` the nadir point ``(lon, lat)`` and the heading ``az`` (initial bearing from the nadir at
``t - 0.5 s`` to ``t + 0.5 s``) give the pixel at signed cross-track distance ``x`` (positive to
the right of the direction of flight) as the point at great-circle distance ``|x|`` on bearing
``az + 90 deg`` (``x > 0``) or ``az - 90 deg`` (``x < 0``)::

    delta = x / R,  theta = az + 90 deg
    lat_p = asin(sin lat cos delta + cos lat sin delta cos theta)
    lon_p = lon + atan2(sin theta sin delta cos lat, cos delta - sin lat sin lat_p)

(the direct geodesic problem on the sphere). Pixels are cell-centred on a ``step`` grid
(default 2 km): ``|x| = inner + step/2, ..., outer - step/2``, so the swath edges are exactly
``inner = 10 km`` and ``outer = 60 km`` (swot-simulator "requirement_bounds = [10, 60]"; AVISO SWOT
pages: "two 50 km swaths separated by a 20 km nadir gap"). Lines are ``step`` apart along track
(time step ``step / ground speed``).

Noise: KaRIn random noise from :class:`.noise.KarinNoise` (``karin_noise_v2.nc``) by cross-track
distance and a significant wave height (scalar, default 2 m), for ``step x step`` pixels; optional
roll error :func:`.noise.roll_error`.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from physics.grid import EARTH_RADIUS

from .nadir import TrackPoints, in_bbox, passes_over, sample_times
from .noise import KarinNoise, as_generator, check_std, roll_error
from .orbits import wrap_longitude

HALF_GAP_M = 10e3  #: inner edge of each swath [m] (distance from nadir)
HALF_SWATH_M = 60e3  #: outer edge of each swath [m]
PIXEL_M = 2e3  #: cross- and along-track pixel size [m]


def cross_track_grid(inner_m: float = HALF_GAP_M, outer_m: float = HALF_SWATH_M, step_m: float = PIXEL_M) -> np.ndarray:
    """Signed pixel-centre distances [m]: ``-(outer - step/2) .. -(inner + step/2)`` then the mirror.

    Shape ``(2 n,)`` with ``n = (outer - inner) / step`` (25 for the defaults), left swath first.
    """
    if not (0 <= inner_m < outer_m) or not (step_m > 0):
        raise ValueError(f"need 0 <= inner_m < outer_m and step_m > 0, got {inner_m}, {outer_m}, {step_m}")
    n = (outer_m - inner_m) / step_m
    if abs(n - round(n)) > 1e-9:
        raise ValueError(f"(outer_m - inner_m) / step_m must be an integer, got {n}")
    right = inner_m + step_m * (np.arange(int(round(n))) + 0.5)
    return np.concatenate([-right[::-1], right])


def heading(orbit, t_s: np.ndarray, dt: float = 0.5) -> np.ndarray:
    """Initial bearing [rad, clockwise from north] of the ground track at ``t_s`` (central difference)."""
    lon1, lat1 = (np.radians(a) for a in orbit.positions(np.asarray(t_s) - dt))
    lon2, lat2 = (np.radians(a) for a in orbit.positions(np.asarray(t_s) + dt))
    dl = lon2 - lon1
    y = np.sin(dl) * np.cos(lat2)
    x = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dl)
    return np.arctan2(y, x)


def offset_points(lon_deg, lat_deg, az_rad, cross_track_m) -> Tuple[np.ndarray, np.ndarray]:
    """Points at signed distance ``cross_track_m`` right of bearing ``az`` (module formula).

    ``lon_deg, lat_deg, az_rad``: ``(n,)``; ``cross_track_m``: ``(m,)``; returns ``(n, m)`` lon, lat [deg].
    """
    lat = np.radians(np.asarray(lat_deg, dtype=float))[:, None]
    lon = np.radians(np.asarray(lon_deg, dtype=float))[:, None]
    theta = np.asarray(az_rad, dtype=float)[:, None] + math.pi / 2
    delta = np.asarray(cross_track_m, dtype=float)[None, :] / EARTH_RADIUS
    sin_lat_p = np.sin(lat) * np.cos(delta) + np.cos(lat) * np.sin(delta) * np.cos(theta)
    lat_p = np.arcsin(np.clip(sin_lat_p, -1.0, 1.0))
    lon_p = lon + np.arctan2(np.sin(theta) * np.sin(delta) * np.cos(lat), np.cos(delta) - np.sin(lat) * sin_lat_p)
    return wrap_longitude(np.degrees(lon_p)), np.degrees(lat_p)


def swath_geometry(orbit, t_s: np.ndarray, cross_track_m: Optional[np.ndarray] = None):
    """``(lon, lat)`` [deg] of the swath pixels, each ``(n_lines, n_pixels)``, at along-track times ``t_s``."""
    x = cross_track_grid() if cross_track_m is None else np.asarray(cross_track_m, dtype=float)
    lon, lat = orbit.positions(np.asarray(t_s, dtype=float))
    return offset_points(lon, lat, heading(orbit, t_s), x)


def karin_points(orbit, t_start_s: float, t_end_s: float, karin: Optional[KarinNoise] = None, swh_m: float = 2.0,
                 noise_std: Optional[float] = None, roll_std_m: float = 0.0, roll_length_m: float = 1000e3,
                 ground_speed_m_s: float = 6400.0, bbox=None, rng=None, platform: str = "swot_karin",
                 inner_m: float = HALF_GAP_M, outer_m: float = HALF_SWATH_M, step_m: float = PIXEL_M) -> TrackPoints:
    """KaRIn pixels of ``orbit`` over ``[t_start_s, t_end_s]`` inside ``bbox``, with their errors.

    Lines every ``step_m / ground_speed_m_s`` seconds (2 km at the SWOT science-orbit ground speed
    6.39 km/s). Error std per pixel: ``karin.std(x, swh_m, step_km^2)`` (``karin`` given), else
    the constant ``noise_std`` [m] (>= 0; default 0 when neither is given). ``roll_std_m`` > 0
    adds the correlated roll error (std ``roll_std_m`` at 60 km, along-track correlation length
    ``roll_length_m``, see :func:`.noise.roll_error`). ``error_std`` is the marginal std of the
    total error, ``sqrt(sigma_karin(x)^2 + (roll_std_m |x| / 60 km)^2)``: right for a diagonal
    error covariance, although the roll part is correlated along and across track.
    """
    if noise_std is not None:
        noise_std = check_std("noise_std", noise_std)
    check_std("roll_std_m", roll_std_m)
    if not (ground_speed_m_s > 0):
        raise ValueError(f"ground_speed_m_s must be > 0, got {ground_speed_m_s!r}")
    g = as_generator(rng)
    x = cross_track_grid(inner_m, outer_m, step_m)
    t = sample_times(passes_over(orbit, t_start_s, t_end_s, bbox, margin_m=outer_m), step_m / ground_speed_m_s, t_start_s)
    lon, lat = swath_geometry(orbit, t, x)
    if karin is not None:
        std_x = karin.std(x, swh_m, (step_m / 1e3) ** 2)
    else:
        std_x = np.full(x.shape, 0.0 if noise_std is None else noise_std)
    std = np.broadcast_to(std_x, lon.shape)
    noise = g.standard_normal(lon.shape) * std
    if roll_std_m > 0 and t.size:
        noise = noise + roll_error(t * ground_speed_m_s, x, roll_std_m, roll_length_m, g, edge_m=HALF_SWATH_M)
        std = np.broadcast_to(np.hypot(std_x, roll_std_m * np.abs(x) / HALF_SWATH_M), lon.shape)
    keep = in_bbox(lon, lat, bbox)
    tt = np.broadcast_to(t[:, None], lon.shape)
    xx = np.broadcast_to(x[None, :], lon.shape)
    return TrackPoints(
        platform=platform, time_s=tt[keep], lon=lon[keep], lat=lat[keep], error_std=np.asarray(std)[keep],
        noise=noise[keep], cross_track=xx[keep],
    )
