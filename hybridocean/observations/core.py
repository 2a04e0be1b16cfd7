"""The :class:`Observations` point cloud: sea-surface-height observations with one dimension ``obs``.

An :class:`Observations` wraps an :class:`xarray.Dataset` whose every variable lies on the single
dimension ``obs`` (one entry per measured point, in any order):

======================  ================  ==========================================================
variable                dtype / units     meaning
======================  ================  ==========================================================
``time``                datetime64[ns]    time of the measurement (CF-encoded on disk)
``ssh``                 float64, m        measured sea surface height (NaN = missing, e.g. land)
``error_std``           float64, m        standard deviation of the measurement error (>= 0)
``platform``            str               e.g. ``"swot_karin"``, ``"swot_nadir"``, ``"jason3"``
``longitude``           float64, deg E    in ``[-180, 180)`` after normalisation } one pair of
``latitude``            float64, deg N    in ``[-90, 90]``                       } the two:
``x``, ``y``            float64, m        model-domain coordinates (see :mod:`physics.grid`)
``cross_track_distance``  float64, m      optional; signed, negative left / positive right of track
======================  ================  ==========================================================

Other variables on ``obs`` (e.g. ``cycle``, ``pass``, ``mdt``) are kept as they are.
Times given as float seconds are counted from :data:`DEFAULT_TIME_ORIGIN` (2000-01-01T00:00:00,
the origin :func:`hybridocean.io.states_to_dataset` writes for model runs) unless another
``time_origin`` is given.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from hybridocean.io import write_netcdf

from .bbox import lonlat_box, normalize_longitude

PathLike = Union[str, os.PathLike]

#: Origin of float-second times (the one :func:`hybridocean.io.states_to_dataset` uses).
DEFAULT_TIME_ORIGIN = np.datetime64("2000-01-01T00:00:00", "ns")

REQUIRED = ("time", "ssh", "error_std", "platform")
POSITIONS = {"lonlat": ("longitude", "latitude"), "xy": ("x", "y")}

#: CF attributes given to the standard variables (kept when the input already has them).
CF_ATTRS = {
    "time": {"standard_name": "time", "long_name": "time of the measurement", "axis": "T"},
    "ssh": {"standard_name": "sea_surface_height_above_geoid", "long_name": "observed sea surface height", "units": "m"},
    "error_std": {"long_name": "standard deviation of the measurement error", "units": "m"},
    "platform": {"long_name": "observing platform (instrument) name"},
    "longitude": {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"},
    "latitude": {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
    "x": {"standard_name": "projection_x_coordinate", "long_name": "x in the model domain", "units": "m"},
    "y": {"standard_name": "projection_y_coordinate", "long_name": "y in the model domain", "units": "m"},
    "cross_track_distance": {"long_name": "signed cross-track distance (negative left, positive right)", "units": "m"},
}


def to_datetime64(name: str, t: Any, time_origin: Optional[np.datetime64] = None) -> np.ndarray:
    """``t`` as datetime64[ns]: datetimes (and ISO 8601 strings) are converted, real numbers are
    seconds since ``time_origin``.

    ``time_origin`` defaults to :data:`DEFAULT_TIME_ORIGIN`. Raises ``TypeError`` naming ``name``
    for anything else.
    """
    a = np.asarray(t)
    if np.issubdtype(a.dtype, np.datetime64):
        return a.astype("datetime64[ns]")
    if a.dtype == object or a.dtype.kind in "US":  # datetime objects, ISO 8601 strings
        try:
            return a.astype("datetime64[ns]")
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be datetime64, ISO 8601 strings or float seconds ({err})") from None
    if np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.complexfloating):
        origin = DEFAULT_TIME_ORIGIN if time_origin is None else np.datetime64(time_origin, "ns")
        a = a.astype(np.float64)
        ns = np.round(a * 1e9)
        out = origin + np.where(np.isfinite(ns), ns, 0).astype("int64").astype("timedelta64[ns]")
        return np.where(np.isfinite(a), out, np.datetime64("NaT"))
    raise TypeError(f"{name} must be datetime64 or float seconds since time_origin, got dtype {a.dtype}")


def seconds_since(t: np.ndarray, origin: Any) -> np.ndarray:
    """float64 seconds from ``origin`` (datetime64) to the datetime64 array ``t`` (NaT -> NaN)."""
    t = np.asarray(t).astype("datetime64[ns]")
    d = (t - np.datetime64(origin, "ns")).astype("int64").astype(np.float64) / 1e9
    return np.where(np.isnat(t), np.nan, d)


class Observations:
    """A validated cloud of SSH observations (one dimension ``obs``; see the module docstring).

    ``Observations(ds)`` checks ``ds`` and normalises it (float64 values, longitudes in
    ``[-180, 180)``, ``platform`` as str, CF attributes added where missing); the wrapped Dataset is
    ``obs.ds``. Raises ``ValueError``/``TypeError`` naming the variable at fault.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
        self._ds = _validated(ds)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        *,
        time: Any,
        ssh: Any,
        platform: Union[str, Sequence[str], np.ndarray],
        error_std: Any = 0.0,
        longitude: Any = None,
        latitude: Any = None,
        x: Any = None,
        y: Any = None,
        cross_track_distance: Any = None,
        attrs: Optional[Mapping[str, Any]] = None,
        time_origin: Optional[np.datetime64] = None,
        extra: Optional[Mapping[str, Any]] = None,
    ) -> "Observations":
        """Build observations from 1-D arrays (scalars broadcast to the length of ``ssh``).

        Args:
            time: datetime64 values, or float seconds since ``time_origin``
                (default :data:`DEFAULT_TIME_ORIGIN`, 2000-01-01T00:00:00).
            ssh: ``(n,)`` sea surface height [m]; NaN marks a missing value, but not all may be NaN.
            platform: one name for all points or ``(n,)`` names.
            error_std: measurement-error standard deviation [m], ``>= 0``, scalar or ``(n,)``.
            longitude, latitude: degrees (east, north); or ``x``, ``y`` [m] -- exactly one pair.
            cross_track_distance: signed cross-track distance [m] (swaths), optional.
            attrs: global attributes (provenance).
            extra: more ``(n,)`` variables to carry (e.g. ``{"cycle": cycles}``).
        """
        ssh_a = np.asarray(ssh, dtype=np.float64)
        if ssh_a.ndim != 1:
            raise ValueError(f"ssh must be a 1-D array of values [m], got shape {ssh_a.shape}")
        n = ssh_a.size
        if n and not np.isfinite(ssh_a).any():
            raise ValueError("ssh: all values are missing (NaN or Inf); nothing observed")

        def col(name: str, v: Any, dtype=np.float64) -> np.ndarray:
            a = np.asarray(v) if dtype is None else np.asarray(v, dtype=dtype)
            if a.ndim == 0:
                a = np.full(n, a[()], dtype=a.dtype)
            if a.shape != (n,):
                raise ValueError(f"{name} must be a scalar or have shape ({n},) like ssh, got {a.shape}")
            return a

        if (longitude is None) != (latitude is None) or (x is None) != (y is None):
            raise ValueError("give longitude and latitude together, or x and y together")
        if (longitude is None) == (x is None):
            raise ValueError("give exactly one position pair: longitude/latitude (degrees) or x/y (m)")
        variables = {
            "time": col("time", to_datetime64("time", time, time_origin), dtype=None),
            "ssh": ssh_a,
            "error_std": col("error_std", error_std),
            "platform": col("platform", np.asarray(platform).astype(str), dtype=None),
        }
        pair = ("longitude", "latitude", longitude, latitude) if x is None else ("x", "y", x, y)
        variables[pair[0]] = col(pair[0], pair[2])
        variables[pair[1]] = col(pair[1], pair[3])
        if cross_track_distance is not None:
            variables["cross_track_distance"] = col("cross_track_distance", cross_track_distance)
        for k, v in (extra or {}).items():
            if k in variables:
                raise ValueError(f"extra variable {k!r} clashes with a standard variable")
            variables[k] = col(f"extra[{k!r}]", v, dtype=None)
        ds = xr.Dataset({k: ("obs", v) for k, v in variables.items()}, attrs=dict(attrs or {}))
        return cls(ds)

    @classmethod
    def concat(cls, items: Iterable["Observations"]) -> "Observations":
        """All points of ``items`` in one cloud (in order). Variables missing from some items are
        filled with NaN (floats) or ``""`` (strings), e.g. ``cross_track_distance`` for nadir points.
        Global attributes of the first item are kept. All must share one ``coords_kind``."""
        items = list(items)
        if not items or not all(isinstance(o, Observations) for o in items):
            raise TypeError("concat expects a non-empty list of Observations")
        kinds = {o.coords_kind for o in items}
        if len(kinds) > 1:
            raise ValueError(f"cannot concat observations with different positions {sorted(kinds)}")
        names = []
        for o in items:
            names += [k for k in o.ds.data_vars if k not in names]
        out = {}
        for k in names:
            proto = next(o.ds[k] for o in items if k in o.ds)
            fill = "" if proto.dtype.kind in "OUS" else np.datetime64("NaT", "ns") if proto.dtype.kind == "M" else np.nan
            parts = [np.asarray(o.ds[k].values) if k in o.ds else np.full(len(o), fill) for o in items]
            out[k] = ("obs", np.concatenate(parts), dict(proto.attrs))
        return cls(xr.Dataset(out, attrs=dict(items[0].ds.attrs)))

    # ------------------------------------------------------------------ views
    @property
    def ds(self) -> xr.Dataset:
        """The wrapped, validated Dataset (dimension ``obs``)."""
        return self._ds

    def __len__(self) -> int:
        return int(self._ds.sizes.get("obs", 0))

    def __repr__(self) -> str:
        return f"Observations(n={len(self)}, platforms={self.platforms}, coords={self.coords_kind!r})"

    @property
    def platforms(self) -> list:
        """Sorted unique platform names."""
        return sorted(set(np.unique(self._ds["platform"].values).tolist()))

    @property
    def coords_kind(self) -> str:
        """``"lonlat"`` (longitude/latitude in degrees) or ``"xy"`` (x/y in metres)."""
        return "lonlat" if "longitude" in self._ds else "xy"

    time = property(lambda self: self._ds["time"].values, doc="``(n,)`` datetime64[ns] times.")
    ssh = property(lambda self: self._ds["ssh"].values, doc="``(n,)`` float64 SSH [m] (NaN = missing).")
    error_std = property(lambda self: self._ds["error_std"].values, doc="``(n,)`` float64 error std [m].")
    platform = property(lambda self: self._ds["platform"].values, doc="``(n,)`` platform names (str).")

    def positions(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(longitude, latitude)`` [degrees] or ``(x, y)`` [m], each ``(n,)`` float64."""
        a, b = POSITIONS[self.coords_kind]
        return self._ds[a].values, self._ds[b].values

    def time_seconds(self, origin: Any = None) -> np.ndarray:
        """``(n,)`` float64 seconds since ``origin`` (datetime64; default :data:`DEFAULT_TIME_ORIGIN`)."""
        return seconds_since(self.time, DEFAULT_TIME_ORIGIN if origin is None else origin)

    def subset(self, keep: np.ndarray) -> "Observations":
        """The points where the boolean ``(n,)`` array ``keep`` is True (or at integer indices ``keep``)."""
        keep = np.asarray(keep)
        if keep.dtype == bool and keep.shape != (len(self),):
            raise ValueError(f"keep must be a boolean array of shape ({len(self)},), got {keep.shape}")
        return Observations._trusted(self._ds.isel(obs=keep))

    # ------------------------------------------------------------------ selection
    def select(
        self,
        platforms: Union[None, str, Sequence[str]] = None,
        exclude: Union[None, str, Sequence[str]] = None,
        time: Optional[slice] = None,
        bbox: Optional[Sequence[float]] = None,
        allow_empty: bool = False,
    ) -> "Observations":
        """The points matching every criterion given.

        Args:
            platforms: keep only these platform names (a name or a list).
            exclude: drop these platform names.
            time: ``slice(start, stop)`` of datetimes (either end may be None), both ends included.
            bbox: lon/lat clouds: ``(lon0, lon1, lat0, lat1)`` degrees, the one convention of
                :mod:`.bbox` (west edge, east edge running east, ``lon0 > lon1``: across the date
                line; :func:`.bbox.lonlat_box`); x/y clouds: ``(xmin, xmax, ymin, ymax)`` metres.
                Edges included.
            allow_empty: if False (default) an empty result raises ``ValueError`` (e.g. a box
                outside the data), stating the data's extent.
        """
        keep = np.ones(len(self), dtype=bool)
        names = set(self.platforms)
        if platforms is not None:
            want = [platforms] if isinstance(platforms, str) else list(platforms)
            unknown = set(want) - names
            if unknown:
                raise ValueError(f"platforms: {sorted(unknown)} not in the observations {sorted(names)}")
            keep &= np.isin(self.platform, want)
        if exclude is not None:
            drop = [exclude] if isinstance(exclude, str) else list(exclude)
            keep &= ~np.isin(self.platform, drop)
        if time is not None:
            if not isinstance(time, slice) or time.step is not None:
                raise TypeError(f"time must be a slice(start, stop) of datetimes, got {time!r}")
            if time.start is not None:
                keep &= self.time >= to_datetime64("time.start", time.start)
            if time.stop is not None:
                keep &= self.time <= to_datetime64("time.stop", time.stop)
        if bbox is not None:
            keep &= self._in_bbox(bbox)
        if not allow_empty and not keep.any():
            raise ValueError(
                f"select(platforms={platforms!r}, exclude={exclude!r}, time={time!r}, bbox={bbox!r}) "
                f"matches no observation; the data span {self._extent()}"
            )
        return self.subset(keep)

    def _in_bbox(self, bbox: Sequence[float]) -> np.ndarray:
        a, c = self.positions()
        if self.coords_kind != "xy":  # lon/lat: the one convention of :mod:`.bbox`
            return lonlat_box(bbox).contains(a, c)
        b = np.asarray(bbox, dtype=np.float64)
        if b.shape != (4,) or not np.isfinite(b).all():
            raise ValueError(f"bbox must be 4 finite numbers (xmin, xmax, ymin, ymax) in metres, got {bbox!r}")
        if b[0] > b[1] or b[2] > b[3]:
            raise ValueError(f"bbox: need xmin <= xmax and ymin <= ymax (metres), got {bbox!r}")
        return (a >= b[0]) & (a <= b[1]) & (c >= b[2]) & (c <= b[3])

    def _extent(self) -> str:
        if not len(self):
            return "nothing (no observation)"
        a, b = self.positions()
        na, nb = POSITIONS[self.coords_kind]
        return (
            f"{na} [{np.nanmin(a):.6g}, {np.nanmax(a):.6g}], {nb} [{np.nanmin(b):.6g}, {np.nanmax(b):.6g}], "
            f"time [{self.time.min()}, {self.time.max()}], platforms {self.platforms}"
        )

    # ------------------------------------------------------------------ files
    def to_netcdf(self, path: PathLike) -> Path:
        """Write CF netCDF4 atomically (:func:`hybridocean.io.write_netcdf`); returns the path.

        ``time`` is stored as int64 nanoseconds since :data:`DEFAULT_TIME_ORIGIN` (exact round trip),
        ``platform`` as a variable-length string; numeric variables are deflated losslessly
        (:func:`hybridocean.io.netcdf_encoding`).
        """
        ds = self._ds.copy()
        enc = {"time": {"units": "nanoseconds since 2000-01-01 00:00:00", "calendar": "proleptic_gregorian",
                        "dtype": "int64"}}
        for k in ds.data_vars:
            if ds[k].dtype.kind in "OU":
                ds[k] = ds[k].astype(str).astype(object)
                enc[k] = {"dtype": str}
        ds.attrs.setdefault("Conventions", "CF-1.10")
        ds.attrs.setdefault("featureType", "point")
        return write_netcdf(ds, path, encoding=enc)

    @classmethod
    def open(cls, path: PathLike) -> "Observations":
        """Read a file written by :meth:`to_netcdf` (loaded in memory, file closed)."""
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return cls(ds.load())

    @classmethod
    def _trusted(cls, ds: xr.Dataset) -> "Observations":
        obj = cls.__new__(cls)
        obj._ds = ds
        return obj


def _validated(ds: xr.Dataset) -> xr.Dataset:
    """A normalised copy of ``ds`` after checking the layout described in the module docstring."""
    if set(ds.dims) - {"obs"}:
        raise ValueError(f"ds must have the single dimension 'obs', got dims {dict(ds.sizes)}")
    for k in ds.coords:
        if k not in ds.dims:
            ds = ds.reset_coords(k)
    missing = [k for k in REQUIRED if k not in ds]
    if missing:
        raise ValueError(f"ds lacks the variables {missing} (needs {list(REQUIRED)} and a position pair)")
    for k in ds.variables:
        if ds[k].dims != ("obs",):
            raise ValueError(f"variable {k!r} must lie on dimension 'obs', got dims {ds[k].dims}")
    kinds = [k for k, (a, b) in POSITIONS.items() if a in ds or b in ds]
    if len(kinds) != 1:
        raise ValueError("ds must hold exactly one position pair: longitude/latitude or x/y")
    a, b = POSITIONS[kinds[0]]
    if a not in ds or b not in ds:
        raise ValueError(f"ds has only one of {a!r}/{b!r}; give both")
    ds = ds.copy()
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise TypeError(f"time must be datetime64 (use Observations.from_arrays for seconds), got {ds['time'].dtype}")
    ds["time"] = ds["time"].astype("datetime64[ns]")
    floats = ["ssh", "error_std", a, b] + (["cross_track_distance"] if "cross_track_distance" in ds else [])
    for k in floats:
        if ds[k].dtype.kind not in "fiu":
            raise TypeError(f"{k} must be real numbers, got dtype {ds[k].dtype}")
        ds[k] = ds[k].astype(np.float64)
    err = ds["error_std"].values
    if not np.all(np.isfinite(err)) or np.any(err < 0):
        raise ValueError(f"error_std must be finite and >= 0 [m], got min {np.nanmin(err) if err.size else None}")
    if kinds[0] == "lonlat":
        lat = ds["latitude"].values
        if np.any(np.abs(lat[np.isfinite(lat)]) > 90):
            raise ValueError("latitude must lie in [-90, 90] degrees_north")
        ds["longitude"] = ("obs", normalize_longitude(ds["longitude"].values), ds["longitude"].attrs)
    ds["platform"] = ("obs", np.asarray(ds["platform"].values).astype(str), ds["platform"].attrs)
    for k, cf in CF_ATTRS.items():
        if k in ds:
            ds[k].attrs = {**cf, **ds[k].attrs, **({"units": cf["units"]} if "units" in cf else {})}
    ds["time"].attrs.pop("units", None)  # encoding owns units of datetimes
    ds["time"].attrs.pop("calendar", None)
    return ds
