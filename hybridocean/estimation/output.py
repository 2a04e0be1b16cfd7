"""The one output layout of every estimator: :func:`estimate_dataset` and :func:`write_estimate`.

SSH, u and v at the cell centres of the output grid (C-grid ``u_c``/``v_c`` only on request),
dims ``(time, latitude, longitude)`` in degrees on lon/lat grids (eastward / northward CF names)
or ``(time, y, x)`` in metres on x/y grids, with the grid's attributes so that
:func:`hybridocean.observations.grid_from_dataset` rebuilds the grid; see
:mod:`hybridocean.estimation.base` for the interface that calls it.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

import numpy as np
import torch
import xarray as xr

from hybridocean.io import PathLike, grid_attrs, has_lonlat, variable_attrs, write_netcdf
from hybridocean.observations.core import to_datetime64
from physics.grid import Grid


def as_times(times: Any) -> np.ndarray:
    """``times`` as a strictly increasing 1-D datetime64[ns] array ``(T,)``, ``T >= 1`` (a scalar is
    one time): datetime64 values, datetimes, ISO 8601 strings, or numbers [s] since
    :data:`~hybridocean.observations.DEFAULT_TIME_ORIGIN` (:func:`~hybridocean.observations.core.to_datetime64`;
    a tensor is read on the CPU). The one parser of the estimators' output times. ``ValueError``
    naming ``times`` if empty, not 1-D, NaT or not strictly increasing; ``TypeError`` naming it for
    values that are no times."""
    if torch.is_tensor(times):
        times = times.detach().cpu().numpy()
    a = np.atleast_1d(np.asarray(times))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array of output times, got shape {a.shape}")
    t = to_datetime64("times", a)
    if np.isnat(t).any():
        raise ValueError("times must be finite (no NaN/NaT)")
    if np.any(np.diff(t.astype("int64")) <= 0):
        raise ValueError("times must be strictly increasing")
    return t


#: Names the output SSH variable may take (CF metadata from :data:`hybridocean.io.VARIABLES`).
SSH_NAMES = ("ssh", "adt", "sla")

#: ``velocity_kind`` values of :func:`estimate_dataset`.
VELOCITY_KINDS = ("geostrophic", "cyclogeostrophic", "total")

#: CF standard names of the velocity components: [lonlat?][geostrophic?] -> (u, v).
#: ``surface_geostrophic_*`` are the CF names of currents diagnosed from SSH (as the DUACS L4
#: ``ugos``/``vgos``); other estimates (cyclogeostrophic: geostrophy plus the centrifugal term)
#: have no specific CF name and use the generic velocity names.
_VELOCITY_STD = {
    (True, True): ("surface_geostrophic_eastward_sea_water_velocity", "surface_geostrophic_northward_sea_water_velocity"),
    (True, False): ("eastward_sea_water_velocity", "northward_sea_water_velocity"),
    (False, True): ("surface_geostrophic_sea_water_x_velocity", "surface_geostrophic_sea_water_y_velocity"),
    (False, False): ("sea_water_x_velocity", "sea_water_y_velocity"),
}


def _numpy(a: Any, name: str, shape: Tuple[int, ...]) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().to(torch.float64).numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (time, ny, nx), got {a.shape}")
    return a


def _attr(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, float, str, np.integer, np.floating)):
        return v
    return json.dumps(v, default=str)


def estimate_dataset(
    ssh: Any,
    u: Any,
    v: Any,
    grid: Grid,
    times: Any,
    *,
    method: str,
    parameters: Optional[Mapping[str, Any]] = None,
    ssh_name: str = "ssh",
    velocity_kind: str = "geostrophic",
    u_c: Any = None,
    v_c: Any = None,
    extra: Optional[Mapping[str, Tuple[Any, Mapping[str, Any]]]] = None,
    attrs: Optional[Mapping[str, Any]] = None,
    estimator: str = "",
) -> xr.Dataset:
    """The CF Dataset of an estimate (layout in the module docstring; used by every estimator).

    Args:
        ssh, u, v: ``(T, ny, nx)`` SSH [m] and velocity components [m/s] at the cell centres of
            ``grid`` (tensors or arrays; NaN allowed: land, undefined points).
        grid: the output grid (lon/lat dims if it has lon/lat, else x/y [m]).
        times: ``(T,)`` datetime64 or float seconds since 2000-01-01.
        method: short name of the method (``"geostrophic"``, ``"oi"``, ...).
        parameters: the estimator's parameters (numbers/strings; others JSON-encoded).
        ssh_name: ``"ssh"``, ``"adt"`` or ``"sla"`` (CF names of :data:`hybridocean.io.VARIABLES`).
        velocity_kind: ``"geostrophic"`` (``surface_geostrophic_*`` standard names),
            ``"cyclogeostrophic"`` or ``"total"`` (generic velocity names).
        u_c, v_c: optional C-grid velocities ``(T, ny, nx)`` at u- and v-points (``staggered``).
        extra: more centre variables ``{name: (array (T, ny, nx), attrs)}``, e.g. an OI error std.
        attrs: more global attributes.
        estimator: class name recorded in ``attrs["estimator"]``.
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
    if ssh_name not in SSH_NAMES:
        raise ValueError(f"ssh_name must be one of {SSH_NAMES}, got {ssh_name!r}")
    if velocity_kind not in VELOCITY_KINDS:
        raise ValueError(f"velocity_kind must be one of {VELOCITY_KINDS}, got {velocity_kind!r}")
    t = as_times(times)
    shape = (t.size, grid.ny, grid.nx)
    lonlat = has_lonlat(grid)
    ydim, xdim = ("latitude", "longitude") if lonlat else ("y", "x")
    dims = ("time", ydim, xdim)
    if lonlat:
        lon, lat = (a.cpu().numpy().astype(np.float64) for a in grid.lonlat("center"))
        lon_u, lat_v = (a.cpu().numpy().astype(np.float64) for a in grid.lonlat("corner"))
        east, north = {"units": "degrees_east", "standard_name": "longitude", "axis": "X"}, \
            {"units": "degrees_north", "standard_name": "latitude", "axis": "Y"}
        coords = {
            "longitude": ("longitude", lon, {**east, "long_name": "longitude of cell centres"}),
            "latitude": ("latitude", lat, {**north, "long_name": "latitude of cell centres"}),
        }
        stag = {
            "longitude_u": ("longitude_u", lon_u, {"units": "degrees_east", "long_name": "longitude of u points (cell faces)", "c_grid_axis_shift": -0.5}),
            "latitude_v": ("latitude_v", lat_v, {"units": "degrees_north", "long_name": "latitude of v points (cell faces)", "c_grid_axis_shift": -0.5}),
        }
    else:
        x, y = (a.cpu().numpy().astype(np.float64) for a in grid.coords("center"))
        xq, yq = (a.cpu().numpy().astype(np.float64) for a in grid.coords("corner"))
        coords = {
            "x": ("x", x, {"units": "m", "axis": "X", "standard_name": "projection_x_coordinate", "long_name": "x of cell centres"}),
            "y": ("y", y, {"units": "m", "axis": "Y", "standard_name": "projection_y_coordinate", "long_name": "y of cell centres"}),
        }
        stag = {
            "x_u": ("x_u", xq, {"units": "m", "long_name": "x of u points (cell faces)", "c_grid_axis_shift": -0.5}),
            "y_v": ("y_v", yq, {"units": "m", "long_name": "y of v points (cell faces)", "c_grid_axis_shift": -0.5}),
        }
    coords["time"] = ("time", t, {"standard_name": "time", "axis": "T", "long_name": "time of the estimate"})
    std_u, std_v = _VELOCITY_STD[(lonlat, velocity_kind == "geostrophic")]
    kind = velocity_kind if velocity_kind != "total" else "surface"
    comp = ("eastward", "northward") if lonlat else ("x", "y")
    meta = variable_attrs(ssh_name)["attrs"]
    variables = {
        ssh_name: (dims, _numpy(ssh, ssh_name, shape), {**meta, "grid_location": "center"}),
        "u": (dims, _numpy(u, "u", shape), {"units": "m s-1", "standard_name": std_u, "long_name": f"{kind} {comp[0]} velocity", "grid_location": "center"}),
        "v": (dims, _numpy(v, "v", shape), {"units": "m s-1", "standard_name": std_v, "long_name": f"{kind} {comp[1]} velocity", "grid_location": "center"}),
    }
    if (u_c is None) != (v_c is None):
        raise ValueError("u_c and v_c (C-grid velocities) must be given together")
    if u_c is not None:
        xu, yv = list(stag)
        variables["u_c"] = (("time", ydim, xu), _numpy(u_c, "u_c", shape), {**variables["u"][2], "grid_location": "u"})
        variables["v_c"] = (("time", yv, xdim), _numpy(v_c, "v_c", shape), {**variables["v"][2], "grid_location": "v"})
        coords.update(stag)
    for name, (arr, a) in (extra or {}).items():
        if name in variables:
            raise ValueError(f"extra variable {name!r} clashes with an output variable")
        variables[name] = (dims, _numpy(arr, name, shape), dict(a))
    ds = xr.Dataset(variables, coords=coords)
    ds["time"].encoding.update({"calendar": "proleptic_gregorian"})
    params = dict(parameters or {})
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ds.attrs.update({
        "Conventions": "CF-1.10",
        "title": f"SSH and surface currents estimated by {method}",
        "source": "hybridocean.estimation",
        "method": method,
        "estimator": estimator or method,
        "parameters": json.dumps(params, default=str, sort_keys=True),
        "ssh_variable": ssh_name,
        "velocity_kind": velocity_kind,
        **grid_attrs(grid),
        "history": f"{now} hybridocean.estimation {estimator or method}({', '.join(f'{k}={params[k]!r}' for k in sorted(params))})",
    })
    ds.attrs.update({f"param_{k}": _attr(v) for k, v in params.items()})
    ds.attrs.update({k: _attr(v) for k, v in (attrs or {}).items()})
    return ds


def write_estimate(ds: xr.Dataset, path: PathLike) -> Path:
    """Write an estimate Dataset with :func:`hybridocean.io.write_netcdf` (atomic, lossless deflate)."""
    if not isinstance(ds, xr.Dataset) or "method" not in ds.attrs:
        raise TypeError("ds must be a Dataset built by estimate_dataset (it has no 'method' attribute)")
    return write_netcdf(ds, path)


__all__ = ["SSH_NAMES", "VELOCITY_KINDS", "as_times", "estimate_dataset", "write_estimate"]
