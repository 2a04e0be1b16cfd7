"""Model states as CF-annotated xarray Datasets, and atomic netCDF4 / HDF5 writing.

A state tensor ``(T, C, ny, nx)`` of a model whose channel order is ``CHANNELS`` becomes a
Dataset with one variable per channel on its C-grid location (see :mod:`physics.grid`):

=========  ==============  ===========================  ========
location   dims            x                            y
=========  ==============  ===========================  ========
center     (time, y, x)    (i + 1/2) dx                 (j + 1/2) dy
u          (time, y, x_u)  i dx                         (j + 1/2) dy
v          (time, y_v, x)  (i + 1/2) dx                 j dy
corner     (time, y_v, x_u)  i dx                       j dy
=========  ==============  ===========================  ========

Attributes follow the CF conventions (``standard_name``, ``units``, ``long_name``; axes
``X``/``Y``/``T``; ``Conventions = "CF-1.10"``). Files are written to a temporary name in the
same folder and renamed into place, so a crash never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import xarray as xr

from physics.grid import Grid

PathLike = Union[str, os.PathLike]

#: CF metadata per variable name: (location, units, standard_name or None, long_name).
VARIABLES = {
    "eta": ("center", "m", "sea_surface_height_above_geoid", "sea surface height anomaly"),
    "ssh": ("center", "m", "sea_surface_height_above_geoid", "sea surface height"),
    "h": ("center", "m", "sea_floor_depth_below_sea_surface", "layer thickness"),
    "u": ("u", "m s-1", "sea_water_x_velocity", "velocity along x"),
    "v": ("v", "m s-1", "sea_water_y_velocity", "velocity along y"),
    "psi": ("corner", "m2 s-1", None, "geostrophic streamfunction"),
    "zeta": ("corner", "s-1", None, "relative vorticity"),
    "q": ("corner", "s-1", None, "quasi-geostrophic potential vorticity anomaly"),
}

_DIMS = {"center": ("y", "x"), "u": ("y", "x_u"), "v": ("y_v", "x"), "corner": ("y_v", "x_u")}


def variable_attrs(name: str) -> dict:
    """CF attributes and grid location of a state channel (``q1``, ``psi2`` -> layered ``q``/``psi``)."""
    base = name.rstrip("0123456789")
    if base not in VARIABLES:
        return {"location": "center", "attrs": {"long_name": name}}
    loc, units, std, long = VARIABLES[base]
    attrs = {"units": units, "long_name": long if base == name else f"{long} in layer {name[len(base):]}"}
    if std:
        attrs["standard_name"] = std
    return {"location": loc, "attrs": attrs}


def grid_coords(grid: Grid) -> dict:
    """CF coordinate variables of ``grid``: ``x, y`` (centres), ``x_u``, ``y_v`` (faces/corners) [m]."""
    xc, yc = (a.cpu().numpy() for a in grid.coords("center"))
    xq, yq = (a.cpu().numpy() for a in grid.coords("corner"))

    coords = {
        "x": ("x", xc, {"units": "m", "axis": "X", "standard_name": "projection_x_coordinate", "long_name": "x of cell centres"}),
        "y": ("y", yc, {"units": "m", "axis": "Y", "standard_name": "projection_y_coordinate", "long_name": "y of cell centres"}),
        "x_u": ("x_u", xq, {"units": "m", "axis": "X", "long_name": "x of cell faces (u points, corners)", "c_grid_axis_shift": -0.5}),
        "y_v": ("y_v", yq, {"units": "m", "axis": "Y", "long_name": "y of cell faces (v points, corners)", "c_grid_axis_shift": -0.5}),
    }
    if grid.lon is not None and grid.lat is not None:
        coords["lon"] = ("x", grid.lon, {"units": "degrees_east", "standard_name": "longitude"})
        coords["lat"] = ("y", grid.lat, {"units": "degrees_north", "standard_name": "latitude"})
    return coords


def states_to_dataset(
    states: torch.Tensor,
    times: Union[torch.Tensor, Sequence[float]],
    grid: Grid,
    channels: Sequence[str],
    attrs: Optional[Mapping] = None,
) -> xr.Dataset:
    """Wrap model states as a CF Dataset.

    Args:
        states: ``(T, C, ny, nx)`` (or ``(C, ny, nx)`` for one time) in SI units.
        times: ``(T,)`` model times [s since the start of the run].
        grid: the grid of the states (gives coordinates and staggering).
        channels: names of the ``C`` channels, e.g. ``ShallowWater.CHANNELS``.
        attrs: global attributes to add (model parameters, provenance).
    """
    if states.dim() == 3:
        states = states.unsqueeze(0)
    times = torch.as_tensor(times, dtype=torch.float64).reshape(-1)
    if states.dim() != 4 or states.shape[1] != len(channels) or tuple(states.shape[-2:]) != grid.shape:
        raise ValueError(
            f"states must be (T, C={len(channels)}, ny={grid.ny}, nx={grid.nx}) for channels "
            f"{tuple(channels)}, got {tuple(states.shape)}"
        )
    if times.numel() != states.shape[0]:
        raise ValueError(f"times must have T={states.shape[0]} entries, got {times.numel()}")
    data = states.detach().cpu().numpy()
    variables = {}
    for c, name in enumerate(channels):
        meta = variable_attrs(name)
        variables[name] = (("time",) + _DIMS[meta["location"]], data[:, c], {**meta["attrs"], "grid_location": meta["location"]})
    coords = grid_coords(grid)
    coords["time"] = ("time", times.numpy(), {"units": "seconds since 2000-01-01 00:00:00", "standard_name": "time", "axis": "T", "calendar": "proleptic_gregorian", "long_name": "model time"})
    ds = xr.Dataset(variables, coords=coords)
    ds.attrs.update(
        {
            "Conventions": "CF-1.10",
            "source": "hybridocean",
            "grid_boundary": grid.boundary,
            "grid_dx_m": grid.dx,
            "grid_dy_m": grid.dy,
            "f0_per_s": grid.f0,
            "beta_per_m_per_s": grid.beta,
        }
    )
    if attrs:
        ds.attrs.update({k: _attr_value(v) for k, v in attrs.items()})
    return ds


def _attr_value(v):
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (list, tuple)):
        return np.asarray(v)
    return v if isinstance(v, (int, float, str, np.ndarray, np.number)) else str(v)


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success fsync it and rename it onto ``path``.

    A failure inside the block (or a crash) leaves any previous ``path`` untouched and no
    temporary file behind::

        with atomic_write("out.nc") as tmp:
            ds.to_netcdf(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_netcdf(ds: xr.Dataset, path: PathLike) -> Path:
    """Write ``ds`` as netCDF4 atomically (:func:`atomic_write`); returns the path.

    ``time`` is stored as float64 seconds with its CF units.
    """
    enc = {"time": {"dtype": "float64"}} if "time" in ds.variables else {}
    with atomic_write(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=enc)
    return Path(path)


def read_netcdf(path: PathLike) -> xr.Dataset:
    """Open a netCDF file written by :func:`write_netcdf` (loaded in memory, file closed)."""
    with xr.open_dataset(path, engine="netcdf4", decode_times=False) as ds:
        return ds.load()


def save_json(obj, path: PathLike) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default))
    return Path(path)


def _json_default(o):
    if isinstance(o, torch.Tensor):
        return o.detach().cpu().tolist()
    if isinstance(o, (np.ndarray, np.number)):
        return o.tolist()
    return str(o)
