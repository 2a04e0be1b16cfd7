"""Longitude wrapping and THE lon/lat bounding-box convention of :mod:`hybridocean.observations`.

A box is ``bbox = (lon0, lon1, lat0, lat1)`` in degrees:

* ``lon0`` is the west edge and ``lon1`` the east edge; the box runs **east** from ``lon0`` to
  ``lon1``. Either longitude convention is accepted (``-180..180`` or ``0..360``): with
  ``s = lon1 - lon0``, the width is ``s`` if ``0 < s <= 360`` and ``s + 360`` if ``-360 < s < 0``,
  so ``lon0 > lon1`` means a box across the date line or the 0/360 seam. ``(170, -170, ...)`` and
  ``(170, 190, ...)`` are the same 20-degree box from 170 E to 170 W; ``(350, 10, ...)`` and
  ``(-10, 10, ...)`` the same 20-degree box across Greenwich; a width of 360 is every longitude.
  ``s = 0`` (an empty box) and ``|s| > 360`` (ambiguous) are refused.
* ``-90 <= lat0 < lat1 <= 90`` (south edge, north edge).
* Edges are included.

:func:`lonlat_box` validates a box once and returns a :class:`LonLatBox`; every reader and selector
(:func:`hybridocean.observations.l4.read_l4`, :func:`hybridocean.observations.nadir.in_bbox`,
:meth:`hybridocean.observations.core.Observations.select`) goes through it, so a box selects the
same points everywhere.
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Optional, Tuple

import numpy as np

_FORM = "4 finite numbers (lon0, lon1, lat0, lat1) in degrees"


def normalize_longitude(lon: Any) -> np.ndarray:
    """Longitudes mapped to ``[-180, 180)`` degrees: ``((lon + 180) mod 360) - 180`` (NaN stays NaN)."""
    lon = np.asarray(lon, dtype=np.float64)
    out = np.mod(lon + 180.0, 360.0) - 180.0
    return np.where(out >= 180.0, out - 360.0, out)  # mod can round up to 360 for tiny negatives


@dataclasses.dataclass(frozen=True)
class LonLatBox:
    """A validated lon/lat box (build it with :func:`lonlat_box`).

    Attributes:
        west: west edge [deg east], in ``[-180, 180)``.
        width: eastward extent [deg], in ``(0, 360]`` (the east edge is ``west + width``, which may
            exceed 180 for a box across the date line).
        south, north: latitude edges [deg north], ``-90 <= south < north <= 90``.
    """

    west: float
    width: float
    south: float
    north: float

    @property
    def is_global(self) -> bool:
        """True when the box spans every longitude (``width == 360``)."""
        return self.width >= 360.0

    def east_offset(self, lon: Any, lon_margin: float = 0.0) -> np.ndarray:
        """Eastward distance ``d`` [deg] of ``lon`` from the west edge, in ``[-lon_margin, 360 - lon_margin)``.

        ``d = (lon - west) mod 360``, minus 360 where ``d > 360 - m`` (``m = lon_margin >= 0``): a
        point up to ``m`` degrees west of the edge gets a small negative ``d`` instead of ``~360``
        (exact: no ``+ m - m`` round-off on the other points).
        """
        d = np.mod(np.asarray(lon, dtype=np.float64) - self.west, 360.0)
        return np.where(d > 360.0 - float(lon_margin), d - 360.0, d)

    def as_tuple(self) -> Tuple[float, float, float, float]:
        """``(west, east, south, north)`` [deg] with ``east = west + width`` (a valid ``bbox`` again)."""
        return (self.west, self.west + self.width, self.south, self.north)

    def contains(self, lon: Any, lat: Any, lon_margin: float = 0.0, lat_margin: float = 0.0) -> np.ndarray:
        """Bool mask (shape of ``lon``/``lat`` broadcast) of the points inside the box.

        The box is widened by ``lon_margin`` [deg] on the west and east edges and ``lat_margin``
        [deg] on the south and north edges (0: the box itself, edges included):
        ``south - lat_margin <= lat <= north + lat_margin`` and ``-lon_margin <= d <= width +
        lon_margin`` with ``d`` of :meth:`east_offset`; every longitude if ``width + 2 lon_margin >= 360``.
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        ok = (lat >= self.south - lat_margin) & (lat <= self.north + lat_margin)
        if self.width + 2.0 * lon_margin >= 360.0:
            return ok & np.isfinite(lon)
        return ok & (self.east_offset(lon, lon_margin) <= self.width + lon_margin)


def lonlat_box(bbox: Any, name: str = "bbox") -> Optional[LonLatBox]:
    """Validate ``bbox = (lon0, lon1, lat0, lat1)`` [deg] (convention: module docstring); None -> None.

    Raises:
        TypeError: ``bbox`` is not a sequence of real numbers (a string, None inside, ``bool``...).
        ValueError: not 4 values, a non-finite value, ``lon1 - lon0`` outside ``(-360, 0) U (0, 360]``,
            or latitudes not ``-90 <= lat0 < lat1 <= 90``. Messages name ``name``.
    """
    if bbox is None:
        return None
    if isinstance(bbox, (str, bytes)) or not hasattr(bbox, "__len__"):
        raise TypeError(f"{name} must be {_FORM}, got {type(bbox).__name__} {bbox!r}")
    vals = list(np.asarray(bbox, dtype=object).reshape(-1)) if isinstance(bbox, np.ndarray) else list(bbox)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in vals):
        raise TypeError(f"{name} must be {_FORM}, got {bbox!r}")
    b = [float(v) for v in vals]
    if len(b) != 4 or not all(np.isfinite(b)):
        raise ValueError(f"{name} must be {_FORM}, got {bbox!r}")
    lon0, lon1, lat0, lat1 = b
    span = lon1 - lon0
    if not (0.0 < span <= 360.0 or -360.0 < span < 0.0):
        raise ValueError(
            f"{name}: lon1 - lon0 = {span:g} degrees; the box runs east from lon0 to lon1 and needs "
            f"0 < lon1 - lon0 <= 360, or -360 < lon1 - lon0 < 0 for a box across the date line "
            f"(e.g. (170, -170, ...) = 170 E to 170 W), got {bbox!r}"
        )
    if not (-90.0 <= lat0 < lat1 <= 90.0):
        raise ValueError(f"{name}: need -90 <= lat0 < lat1 <= 90 (degrees north), got lat0 = {lat0:g}, lat1 = {lat1:g}")
    return LonLatBox(west=float(normalize_longitude(lon0)), width=span if span > 0 else span + 360.0,
                     south=lat0, north=lat1)
