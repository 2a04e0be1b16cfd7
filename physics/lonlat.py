"""Earth constants and validation of regular lon/lat coordinates (used by :mod:`physics.grid`).

The spherical metric itself (per-row ``dx``, ``f``, cell areas) is defined once, in
:class:`physics.grid.Grid` (``metric="sphere"``); this module only holds what it needs:

* ``EARTH_RADIUS = 6 371 008.8 m``: the mean Earth radius ``R1 = (2a + b) / 3`` of the
  Geodetic Reference System 1980 (Moritz 2000, "Geodetic Reference System 1980",
  J. Geodesy 74, 128-133, table "derived geometric constants": R1 = 6 371 008.7714 m).
* ``OMEGA = 7.292115e-5 rad/s``: the nominal mean angular velocity of the Earth
  (IERS Conventions 2010, IERS Technical Note 36, table 1.1; the same value is GRS80's omega).

:func:`check_lonlat` validates 1-D cell-centre coordinates in degrees: lengths against the
grid, strictly increasing (a longitude axis crossing the date line or 0/360 is unwrapped),
evenly spaced within a tolerance set by the coordinates' own floating-point precision
(``float32`` 1/12-degree axes pass), longitudes spanning at most 360 degrees, and latitude
cells not reaching beyond a pole.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

EARTH_RADIUS = 6.3710088e6  # m, GRS80 mean radius R1 (Moritz 2000)
OMEGA = 7.292115e-5  # rad/s, IERS Conventions 2010 table 1.1


def _as_degrees(name: str, a) -> Tuple[np.ndarray, float]:
    """``(a as float64, eps)`` where ``eps`` is the machine epsilon of the input's own dtype."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a 1-D array of real numbers (degrees), got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a 1-D array of >= 2 cell-centre degrees, got shape {arr.shape}")
    eps = float(np.finfo(arr.dtype).eps) if arr.dtype.kind == "f" else 0.0
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite (degrees), got NaN or Inf")
    return out, eps


def spacing(name: str, a: np.ndarray, eps: float) -> float:
    """Even spacing ``d = (a[-1] - a[0]) / (n - 1)`` [degrees] of a strictly increasing axis.

    Accepted when every ``|diff(a) - d| <= max(4 eps max|a|, 1e-6 d)``: each stored value
    carries at most half an ulp of error, ``eps max|a| / 2`` (``eps`` of the input dtype), so a
    difference carries at most ``eps max|a|``; the factor 4 leaves room for coordinates that
    were themselves computed in that precision; ``1e-6 d`` admits axes printed with ~7 digits.
    """
    d = np.diff(a)
    if not np.all(d > 0):
        raise ValueError(f"{name} must be strictly increasing (degrees); reverse the array and the data")
    step = float(a[-1] - a[0]) / (a.size - 1)
    tol = max(4.0 * eps * float(np.abs(a).max()), 1e-6 * step)
    worst = float(np.abs(d - step).max())
    if worst > tol:
        raise ValueError(
            f"{name} must be evenly spaced: spacing {step:.9g} deg, largest deviation {worst:.3g} deg "
            f"exceeds the tolerance {tol:.3g} deg of its precision"
        )
    return step


def check_lonlat(
    lon, lat, nx: Optional[int] = None, ny: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray, float, float]:
    """Validate cell-centre ``lon`` ``(nx,)``, ``lat`` ``(ny,)`` [degrees].

    Returns ``(lon, lat, dlon, dlat)`` as float64, the axes regularised to exactly even spacing
    (:func:`_regular`; ``lon`` unwrapped to be increasing, e.g. ``[359.75, 0.25] -> [359.75, 360.25]``). Raises ``ValueError`` naming ``lon``/``lat`` when a
    length disagrees with ``nx``/``ny``, an axis is not increasing or not evenly spaced (see
    :func:`spacing`), the longitudes span more than 360 degrees, or a latitude cell
    ``lat +- dlat / 2`` lies beyond a pole.
    """
    lon, eps_lon = _as_degrees("lon", lon)
    lat, eps_lat = _as_degrees("lat", lat)
    for name, a, n, nname in (("lon", lon, nx, "nx"), ("lat", lat, ny, "ny")):
        if n is not None and a.size != n:
            raise ValueError(f"{name} has {a.size} values but the grid has {nname} = {n} cells")
    if np.any(np.diff(lon) <= 0):  # a longitude axis crossing 0/360 or the date line
        lon = lon[0] + np.mod(lon - lon[0], 360.0)
    dlon = spacing("lon", lon, eps_lon)
    dlat = spacing("lat", lat, eps_lat)
    tol_lon = max(4.0 * eps_lon * 360.0, 1e-6 * dlon)
    if lon.size * dlon > 360.0 + tol_lon:
        raise ValueError(f"lon spans {lon.size * dlon:.6g} degrees (> 360)")
    tol_lat = max(4.0 * eps_lat * 90.0, 1e-6 * dlat)
    if lat[0] - dlat / 2 < -90.0 - tol_lat or lat[-1] + dlat / 2 > 90.0 + tol_lat:
        raise ValueError(
            f"lat cells must lie within [-90, 90] degrees: got centres {lat[0]:.6g}..{lat[-1]:.6g} "
            f"with spacing {dlat:.6g} (a cell edge beyond a pole)"
        )
    return _regular(lon, dlon), _regular(lat, dlat), dlon, dlat


def _regular(a: np.ndarray, step: float) -> np.ndarray:
    """The exactly even axis closest to ``a`` (least-squares offset): ``mean(a) + step (k - (n-1)/2)``,
    so the stored coordinates are even to float64 round-off whatever precision they came in."""
    return float(a.mean()) + step * (np.arange(a.size) - (a.size - 1) / 2)


def crosses_equator(lat: np.ndarray, dlat: float) -> bool:
    """True when the latitude cells ``lat +- dlat/2`` [degrees] contain the equator."""
    return bool(lat[0] - dlat / 2 < 0.0 < lat[-1] + dlat / 2)


__all__ = ["EARTH_RADIUS", "OMEGA", "check_lonlat", "spacing", "crosses_equator"]
