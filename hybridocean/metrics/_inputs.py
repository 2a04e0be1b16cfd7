"""Validation of the gridded inputs every map metric takes (one place, shared by all metrics).

A *map* is an :class:`xarray.DataArray` whose last two dims are the horizontal ones, either
``(latitude, longitude)`` / ``(lat, lon)`` (1-D coordinates in degrees) or ``(y, x)`` (1-D
coordinates in metres), optionally led by ``time``. Time coordinates are ``datetime64`` or
numbers with CF ``units`` (``"seconds since ..."``, ``"hours since ..."``, ``"days since ..."``;
no units attribute: seconds, as :func:`hybridocean.io.states_to_dataset` writes them).
NaN marks land / missing values; each metric documents what it does with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import xarray as xr

#: Recognised horizontal dim pairs ``(y_dim, x_dim)`` and the unit of their coordinates.
HORIZONTAL_DIMS = {
    ("latitude", "longitude"): "degrees",
    ("lat", "lon"): "degrees",
    ("y", "x"): "m",
}

_TIME_UNITS_S = {"second": 1.0, "seconds": 1.0, "s": 1.0, "minutes": 60.0, "minute": 60.0,
                 "hours": 3600.0, "hour": 3600.0, "h": 3600.0, "days": 86400.0, "day": 86400.0, "d": 86400.0}


@dataclass(frozen=True)
class MapLayout:
    """The recognised layout of a map: dim names and coordinate unit (``"degrees"`` or ``"m"``)."""

    time_dim: Optional[str]
    y_dim: str
    x_dim: str
    unit: str

    @property
    def lonlat(self) -> bool:
        """True for (latitude, longitude) maps in degrees."""
        return self.unit == "degrees"


def layout(da: object, name: str, need_time: bool = True) -> MapLayout:
    """Check ``da`` is a map (see module docstring) and return its :class:`MapLayout`.

    Raises ``TypeError`` if ``da`` is not a DataArray and ``ValueError`` (naming ``name``)
    if its dims or coordinates are not those of a map.
    """
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{name} must be an xarray.DataArray, got {type(da).__name__}")
    dims = da.dims
    if len(dims) < 2 or tuple(dims[-2:]) not in HORIZONTAL_DIMS:
        raise ValueError(
            f"{name} must end with dims (latitude, longitude), (lat, lon) or (y, x), got {dims}"
        )
    y_dim, x_dim = dims[-2:]
    time_dim = None
    if need_time:
        if len(dims) != 3 or dims[0] != "time":
            raise ValueError(f"{name} must have dims (time, {y_dim}, {x_dim}), got {dims}")
        time_dim = "time"
        if da.sizes["time"] < 1:
            raise ValueError(f"{name} has an empty time dimension")
    for d in (y_dim, x_dim) + ((time_dim,) if time_dim else ()):
        if d not in da.coords:
            raise ValueError(f"{name} needs a 1-D coordinate on dim {d!r}")
    for d in (y_dim, x_dim):
        c = np.asarray(da[d].values, dtype=float)
        if c.size >= 2 and not np.all(np.diff(c) > 0):
            raise ValueError(f"{name}: coordinate {d!r} must be strictly increasing")
    return MapLayout(time_dim, y_dim, x_dim, HORIZONTAL_DIMS[(y_dim, x_dim)])


def time_days(da: xr.DataArray) -> np.ndarray:
    """The ``time`` coordinate of ``da`` as float days since its first entry, shape ``(T,)``."""
    t = da["time"]
    v = t.values
    if np.issubdtype(v.dtype, np.datetime64):
        return (v - v[0]) / np.timedelta64(1, "D")
    if not np.issubdtype(v.dtype, np.number):
        raise ValueError(f"time coordinate must be datetime64 or numeric, got dtype {v.dtype}")
    units = str(t.attrs.get("units", "seconds")).split(" since")[0].strip().lower()
    if units not in _TIME_UNITS_S:
        raise ValueError(f"time coordinate units {t.attrs.get('units')!r} not understood")
    v = np.asarray(v, dtype=float)
    return (v - v[0]) * _TIME_UNITS_S[units] / 86400.0


def _first_mismatch(a: np.ndarray, b: np.ndarray) -> Tuple[int, object, object]:
    i = int(np.argmax(~np.isclose(a, b, rtol=1e-9, atol=1e-9))) if a.dtype.kind == "f" else int(np.argmax(a != b))
    return i, a[i], b[i]


def check_same_map(estimate: xr.DataArray, truth: xr.DataArray, need_time: bool = True,
                   estimate_name: str = "estimate", truth_name: str = "truth") -> MapLayout:
    """Check ``estimate`` and ``truth`` are maps on the same grid and times; return the layout.

    Same dims (in order), same sizes, horizontal coordinates equal to 1e-9 (relative and
    absolute: identical grids written by different codes differ by round-off only), identical
    times (whenever ``truth`` has a ``time`` coordinate). The one-line ``ValueError`` names ``estimate_name`` and what differs.
    """
    lt = layout(truth, truth_name, need_time)
    le = layout(estimate, estimate_name, need_time)
    if le != lt:
        raise ValueError(f"{estimate_name} has dims {estimate.dims}, {truth_name} has {truth.dims}")
    if estimate.shape != truth.shape:
        raise ValueError(f"{estimate_name} has shape {estimate.shape}, {truth_name} has {truth.shape} (different grids)")
    for d in (lt.y_dim, lt.x_dim):
        a = np.asarray(estimate[d].values, dtype=float)
        b = np.asarray(truth[d].values, dtype=float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9):
            i, x, y = _first_mismatch(a, b)
            raise ValueError(f"{estimate_name} is on a different grid: {d}[{i}] = {x} vs {y} in {truth_name}")
    if "time" in truth.dims and "time" in truth.coords:
        if "time" not in estimate.coords:
            raise ValueError(f"{estimate_name} has no time coordinate, {truth_name} has one")
        a, b = estimate["time"].values, truth["time"].values
        same = a.dtype == b.dtype and (np.array_equal(a, b) if a.dtype.kind == "M" else np.allclose(a, b, rtol=1e-12, atol=1e-9))
        if not same:
            i, x, y = _first_mismatch(np.asarray(a), np.asarray(b)) if a.dtype == b.dtype else (0, a[0], b[0])
            raise ValueError(f"{estimate_name} is at different times: time[{i}] = {x} vs {y} in {truth_name}")
    return lt


def values(da: xr.DataArray) -> np.ndarray:
    """The data of ``da`` as a float64 numpy array (NaN kept)."""
    return np.asarray(da.values, dtype=np.float64)
