"""Gridded SSH maps: CMEMS/AVISO DUACS L4 products and simulations written by this library.

:func:`read_l4` (alias :func:`read_gridded_ssh`) reads

* DUACS L4 files (``dt_global_allsat_phy_l4_*.nc``, ``nrt_global_allsat_phy_l4_*.nc``,
  ``dt_med_allsat_phy_l4_*.nc``; product user manual CMEMS-SL-PUM-008-032-068): variables ``adt``,
  ``sla`` (int16/int32 packed with ``scale_factor`` 1e-4 m), ``ugos``, ``vgos`` (``ugosa``,
  ``vgosa``) in m/s, dims ``(time, latitude, longitude)``, ``time`` in days since 1950-01-01,
  longitudes 0..360 (global) or -180..180 (regional), land as ``_FillValue`` -- or, in the
  ``duacs_l4_sample`` files, as the netCDF default fill without a ``_FillValue`` attribute, which
  is caught by the plausibility check of :mod:`.ssh_vars` (|SSH| > 20 m is masked, with a warning);
* any CF file or Dataset with a recognisable SSH variable (:func:`.ssh_vars.ssh_variable`) on 1-D
  longitude/latitude coordinates (names or ``standard_name``), in m, cm or mm;
* simulations of :func:`hybridocean.io.states_to_dataset` (``eta`` on ``(time, y, x)`` in m,
  ``time`` in seconds since 2000-01-01): returned on ``(time, y, x)`` with their ``x``/``y``
  (and ``lon``/``lat``) coordinates and global attributes (grid spacing, boundary).

Output: an :class:`xarray.Dataset` with dims ``(time, latitude, longitude)`` (or ``(time, y, x)``),
``time`` datetime64, latitudes increasing, longitudes strictly increasing and evenly spaced (as
:meth:`physics.grid.Grid.from_lonlat` needs), the SSH variable(s) in metres float64 and velocities
in m/s float64, NaN on land / missing. CF attributes of the variables are kept; each decoded
variable gets ``n_implausible_masked`` and ``n_missing``; global attributes gain ``ssh_variable``
(the name :func:`.ssh_vars.ssh_variable` chooses) and ``source_files``.

Longitude convention of the result: the box ``bbox = (lon0, lon1, lat0, lat1)`` (the one
convention of :mod:`.bbox`, validated by :func:`.bbox.lonlat_box`) runs *east* from its west edge
``lon0`` to its east edge ``lon1`` (either convention: ``(350, 10, ...)`` and ``(-10, 10, ...)``
are the same 20-degree box across the 0/360 seam), and the cropped longitudes
are ``lon0 + ((lon - lon0) mod 360)``, mapped to ``[-180, 180)`` when that keeps them increasing
(so a box across the 180-degree meridian keeps values above 180). Without a box, a global map
starts at -180 and a regional map at its western edge.
"""
from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from .bbox import LonLatBox, lonlat_box, normalize_longitude
from .ssh_vars import (
    MAX_ABS_SSH_M,
    MAX_ABS_VELOCITY_M_S,
    ImplausibleValueWarning,
    _LENGTH_UNITS,
    _VELOCITY_UNITS,
    find_coordinate,
    length_to_metres,
    mask_implausible,
    ssh_candidates,
    ssh_variable,
    unpack,
    velocity_to_si,
)

PathLike = Union[str, os.PathLike]
Source = Union[PathLike, Sequence[PathLike], xr.Dataset, xr.DataArray]

#: Velocity variables read by default when present (DUACS L4 names).
VELOCITY_NAMES = ("ugos", "vgos", "ugosa", "vgosa")
_TOL_DEG = 1e-6  # box edges are inclusive to this tolerance (float32 coordinates are exact to ~1e-6 deg)


def _paths(source: Any, arg: str = "paths_or_dataset") -> List[Path]:
    """Files named by a path, a glob pattern or a list of paths (``arg`` names the argument in errors)."""
    if isinstance(source, (str, os.PathLike)):
        s = str(source)
        if any(c in s for c in "*?["):
            found = sorted(glob.glob(s))
            if not found:
                raise ValueError(f"{arg}: the pattern {s!r} matches no file")
            return [Path(p) for p in found]
        return [Path(s)]
    if isinstance(source, Sequence) and source and all(isinstance(p, (str, os.PathLike)) for p in source):
        return [Path(p) for p in source]
    raise TypeError(
        f"{arg} must be a path, a glob pattern, a non-empty list of paths or an xarray.Dataset, "
        f"got {type(source).__name__}"
    )


def open_raw(path: PathLike) -> xr.Dataset:
    """``path`` loaded in memory with times decoded and packing *not* applied (see :func:`.ssh_vars.unpack`)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such file: {p}")
    try:
        with xr.open_dataset(p, engine="netcdf4", mask_and_scale=False, decode_times=True) as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {p} as netCDF ({err})") from None


def _datasets(source: Source) -> List[Tuple[str, xr.Dataset]]:
    if isinstance(source, xr.DataArray):
        source = source.to_dataset(name=source.name or "ssh")
    if isinstance(source, xr.Dataset):
        return [("<dataset>", xr.decode_cf(source, mask_and_scale=False, decode_times=True))]
    return [(p.name, open_raw(p)) for p in _paths(source)]


def _kind(da: xr.DataArray) -> str:
    units = " ".join(str(da.attrs.get("units", "")).strip().lower().split())
    if units in _VELOCITY_UNITS:
        return "velocity"
    if units in _LENGTH_UNITS or "units" not in da.attrs:
        return "length"  # no units: length_to_metres refuses it with a clear message
    raise ValueError(
        f"variable {da.name!r} has units {da.attrs['units']!r}; expected a length (m, cm, mm) or a velocity (m/s, cm/s)"
    )


def _lon_window(lon: np.ndarray, bbox: Optional[LonLatBox]) -> Tuple[np.ndarray, np.ndarray]:
    """Indices into ``lon`` (any convention) of the box, west to east, and their new longitudes."""
    lon_n = normalize_longitude(lon)
    if bbox is None:
        s = np.sort(lon_n)
        gaps = np.diff(np.concatenate([s, s[:1] + 360.0]))
        if s.size < 2 or gaps.max() <= 1.5 * np.median(gaps):  # covers the globe: start at -180
            lon0, width = -180.0, 360.0
        else:  # a regional map: start after its largest gap
            i = int(np.argmax(gaps))
            lon0, width = float(s[(i + 1) % s.size]), 360.0 - float(gaps[i])
    else:
        lon0, width = bbox.west, bbox.width
    d = LonLatBox(lon0, width, -90.0, 90.0).east_offset(lon_n, _TOL_DEG)  # >= -tol: on the west edge
    keep = np.flatnonzero(d <= width + _TOL_DEG) if width < 360.0 else np.arange(lon.size)
    order = keep[np.argsort(d[keep], kind="stable")]
    new = lon0 + d[order]
    wrapped = normalize_longitude(new)
    if np.all(np.diff(wrapped) > 0):
        new = wrapped
    return order, new


def _select_time(ds: xr.Dataset, time: Any) -> xr.Dataset:
    if time is None:
        return ds
    if isinstance(time, tuple) and len(time) == 2:
        time = slice(*time)
    if not isinstance(time, slice) or time.step is not None:
        raise TypeError(f"time must be a slice(start, stop) or a (start, stop) tuple of datetimes, got {time!r}")
    return ds.sortby("time").sel(time=time)


def _prepare_lonlat(ds: xr.Dataset, lon: str, lat: str, bbox: Optional[LonLatBox], where: str) -> xr.Dataset:
    lon_v, lat_v = unpack(ds[lon]), unpack(ds[lat])
    if lon_v.ndim != 1 or lat_v.ndim != 1:
        raise ValueError(f"{where}: longitude/latitude must be 1-D for a gridded map, got dims {lon_v.dims} and {lat_v.dims}")
    ds = ds.rename({lon_v.dims[0]: "longitude", lat_v.dims[0]: "latitude"})
    ds = ds.drop_vars([k for k in (lon, lat) if k in ds.variables and k not in ("longitude", "latitude")])
    lon_a, lat_a = lon_v.values, lat_v.values
    if not (np.isfinite(lon_a).all() and np.isfinite(lat_a).all()):
        raise ValueError(f"{where}: longitude/latitude contain missing values")
    ilon, new_lon = _lon_window(lon_a, bbox)
    ilat = np.flatnonzero((lat_a >= bbox.south - _TOL_DEG) & (lat_a <= bbox.north + _TOL_DEG)) if bbox is not None else np.arange(lat_a.size)
    ilat = ilat[np.argsort(lat_a[ilat], kind="stable")]
    if ilon.size == 0 or ilat.size == 0:
        raise ValueError(
            f"bbox={bbox.as_tuple()} contains no grid point of {where}: its longitudes span "
            f"[{lon_a.min():.6g}, {lon_a.max():.6g}] and latitudes [{lat_a.min():.6g}, {lat_a.max():.6g}] degrees"
        )
    ds = ds.isel(longitude=ilon, latitude=ilat)
    ds = ds.assign_coords(
        longitude=("longitude", new_lon, {**lon_v.attrs, "standard_name": "longitude", "units": "degrees_east"}),
        latitude=("latitude", lat_a[ilat], {**lat_v.attrs, "standard_name": "latitude", "units": "degrees_north"}),
    )
    return ds


def _read_one(
    where: str, ds: xr.Dataset, bbox: Optional[LonLatBox], variables: Optional[Sequence[str]], time: Any, max_abs_ssh: Optional[float]
) -> Tuple[Optional[xr.Dataset], dict]:
    """One source cropped and decoded, and its implausible-value counts; None if ``time`` selects nothing."""
    names = list(variables) if variables is not None else None
    if names is None:
        names = ssh_candidates(ds) or [ssh_variable(ds)]  # ssh_variable raises the listing error
        names += [k for k in VELOCITY_NAMES if k in ds.data_vars]
    missing = [k for k in names if k not in ds.data_vars]
    if missing:
        raise ValueError(f"variables={variables!r}: {missing} not in {where}; it has {sorted(ds.data_vars)}")
    if "time" not in ds.dims:
        if "time" in ds.coords and ds["time"].ndim == 0:
            ds = ds.expand_dims("time")
        else:
            raise ValueError(f"{where}: no 'time' dimension (a gridded SSH needs dims (time, lat, lon) or (time, y, x))")
    xy = "x" in ds.dims and "y" in ds.dims and all(set(ds[k].dims) == {"time", "y", "x"} for k in names)
    if xy:
        if bbox is not None:
            raise ValueError(f"bbox is in degrees but {where} is on model coordinates x/y [m]; crop it with .isel/.sel instead")
        keep_coords = [k for k in ("x", "y", "lon", "lat") if k in ds.variables]
        out = ds[names].reset_coords(drop=True).assign_coords({k: ds[k] for k in keep_coords})
        out = out.transpose("time", "y", "x")
    else:
        lon, lat = find_coordinate(ds, "lon"), find_coordinate(ds, "lat")
        if lon is None or lat is None:
            raise ValueError(
                f"{where}: no longitude/latitude coordinates found (by standard_name, units degrees_east/"
                f"degrees_north, or names lon/longitude, lat/latitude) and not on (time, y, x); variables: {sorted(ds.variables)}"
            )
        out = _prepare_lonlat(ds[names + [lon, lat]], lon, lat, bbox, where)
        out = out.reset_coords(drop=True).transpose("time", "latitude", "longitude")
    out = _select_time(out, time)
    if out.sizes["time"] == 0:
        return None, {}
    counts = {}
    for k in names:
        kind = _kind(out[k])
        da = unpack(out[k])
        da = velocity_to_si(da, k) if kind == "velocity" else length_to_metres(da, k)
        limit = MAX_ABS_VELOCITY_M_S if kind == "velocity" else max_abs_ssh
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImplausibleValueWarning)  # one warning for all files, below
            da, n = mask_implausible(da, limit, k)
        out[k] = da
        counts[k] = n
    return out, counts


def read_l4(
    paths_or_dataset: Source,
    bbox: Optional[Sequence[float]] = None,
    variables: Optional[Sequence[str]] = None,
    time: Any = None,
    max_abs_ssh: Optional[float] = MAX_ABS_SSH_M,
) -> xr.Dataset:
    """Read gridded SSH maps (DUACS L4, any CF lon/lat map, or a simulation) -- see the module docstring.

    Args:
        paths_or_dataset: a file, a glob pattern, a list of files (daily maps, concatenated along
            ``time`` in time order), or an in-memory Dataset / DataArray.
        bbox: ``(lon0, lon1, lat0, lat1)`` degrees: west edge, east edge (running east, across
            the 0/360 seam if ``lon0 > lon1``), south, north; edges included. None: everything.
        variables: names to read; default every SSH variable recognised (:func:`.ssh_vars.ssh_candidates`)
            plus ``ugos``, ``vgos``, ``ugosa``, ``vgosa`` when present.
        time: ``slice(start, stop)`` (or a tuple) of datetimes/strings, both ends included.
        max_abs_ssh: |SSH| above this [m] is masked as physically impossible (default 20 m, see
            :mod:`.ssh_vars`); None disables the check (velocities are always checked at 20 m/s).

    Returns:
        Dataset ``(time, latitude, longitude)`` [or ``(time, y, x)``], float64, metres / m s-1,
        NaN where missing, land or implausible.

    Raises ``ValueError`` naming the argument for: no file, no recognisable SSH variable or
    coordinates, units other than m/cm/mm (m/s, cm/s), a box outside the data, a time window
    with no map, all values missing, files on different grids. Warns
    :class:`.ssh_vars.ImplausibleValueWarning` with the count of masked impossible values.
    """
    box = lonlat_box(bbox)
    if max_abs_ssh is not None and not (np.isfinite(max_abs_ssh) and max_abs_ssh > 0):
        raise ValueError(f"max_abs_ssh must be a positive number of metres or None, got {max_abs_ssh!r}")
    parts, totals, names, span = [], {}, [], []
    for where, ds in _datasets(paths_or_dataset):
        out, counts = _read_one(where, ds, box, variables, time, max_abs_ssh)
        span += [ds["time"].values.min(), ds["time"].values.max()] if "time" in ds.variables else []
        if out is None:
            continue
        parts.append(out)
        names.append(where)
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
    if not parts:
        raise ValueError(f"time={time!r} selects no map; the data span [{min(span)}, {max(span)}]")
    if len(parts) == 1:
        out = parts[0]
    else:
        try:
            out = xr.concat(parts, dim="time", join="exact", combine_attrs="drop_conflicts").sortby("time")
        except ValueError as err:
            raise ValueError(f"paths_or_dataset: the files are not on one grid or variable set ({err})") from None
    for k, n in totals.items():
        out[k].attrs["n_implausible_masked"] = n
        out[k].attrs["n_missing"] = int(np.isnan(out[k].values).sum())
        if n:
            warnings.warn(
                f"{k}: masked {n} values with |value| > {out[k].attrs['implausible_limit']:g} {out[k].attrs['units']} "
                f"as physically impossible in {', '.join(names)} (land or gaps stored without a _FillValue)",
                ImplausibleValueWarning,
                stacklevel=2,
            )
    primary = ssh_variable(out) if ssh_candidates(out) else next(iter(totals))
    for k in totals:
        if np.isnan(out[k].values).all():
            raise ValueError(f"all values of {k!r} are missing (fill, land or implausible) in {', '.join(names)} within bbox={bbox!r}, time={time!r}")
    out.attrs["ssh_variable"] = primary
    out.attrs["source_files"] = ", ".join(names)
    return out


#: Same function under the name the estimation and CLI code use for "read a truth file".
read_gridded_ssh = read_l4
