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
``X``/``Y``/``T``; ``Conventions = "CF-1.10"``). Standard names are those of the CF standard
name table (version 86) that mean what is stored:

* ``eta`` (and ``ssh``, ``adt``): ``sea_surface_height_above_geoid`` -- the height of the free
  surface above the model's resting surface ``z = 0``. The table's definition says "In an ocean
  GCM the geoid is the surface of zero depth, or the rigid lid if the model uses that
  approximation", and CMIP6's model sea level ``zos`` uses this name. Not
  ``..._above_mean_sea_level``: mean sea level is the *time mean* of the local sea surface,
  which a model anomaly is not referenced to. ``sla`` (an altimetry sea level anomaly, SSH
  minus a multi-year mean, as DUACS distributes it) is ``sea_surface_height_above_mean_sea_level``.
* ``h`` (shallow-water layer thickness ``H + eta``): ``cell_thickness`` ("'Thickness' means
  the vertical extent of a layer. 'Cell' refers to a model grid-cell"); not
  ``sea_floor_depth_below_sea_surface``, which is a depth, not a layer's extent.
* ``u``/``v``: ``sea_water_x_velocity``/``sea_water_y_velocity`` on a Cartesian grid;
  ``eastward_sea_water_velocity``/``northward_sea_water_velocity`` on a grid with lon/lat
  (:meth:`physics.grid.Grid.from_lonlat`: ``x`` points east and ``y`` north). ``lon``/``lat``
  (and ``lon_u``/``lat_v`` of the staggered faces) carry ``degrees_east``/``degrees_north`` and
  the standard names ``longitude``/``latitude``.
* ``psi``, ``zeta``, ``q``: no standard name (the table has none for a QG streamfunction or a QG
  PV anomaly); ``long_name`` and ``units`` only.

Files are written to a temporary name in the same folder, given the permissions of a normally
created file (``0o666 & ~umask``) and renamed into place, so a crash never leaves a half-written
file. :func:`write_netcdf` compresses every numeric data variable (zlib deflate level 4 with the
byte shuffle filter, lossless) unless ``compress=False``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import xarray as xr

from physics.grid import Grid

PathLike = Union[str, os.PathLike]

#: CF metadata per variable name: (location, units, standard_name or None, long_name).
#: Why each standard name: see the module docstring (CF standard name table, version 86).
VARIABLES = {
    "eta": ("center", "m", "sea_surface_height_above_geoid",
            "sea surface height above the resting surface z = 0 (the model geoid)"),
    "ssh": ("center", "m", "sea_surface_height_above_geoid", "sea surface height above the geoid"),
    "adt": ("center", "m", "sea_surface_height_above_geoid", "absolute dynamic topography"),
    "sla": ("center", "m", "sea_surface_height_above_mean_sea_level", "sea level anomaly"),
    "h": ("center", "m", "cell_thickness", "layer thickness"),
    "u": ("u", "m s-1", "sea_water_x_velocity", "velocity along x"),
    "v": ("v", "m s-1", "sea_water_y_velocity", "velocity along y"),
    "psi": ("corner", "m2 s-1", None, "geostrophic streamfunction"),
    "zeta": ("corner", "s-1", None, "relative vorticity"),
    "q": ("corner", "s-1", None, "quasi-geostrophic potential vorticity anomaly"),
}

#: On a grid with lon/lat, x is eastward and y northward: (standard_name, long_name).
_LONLAT_VELOCITY = {
    "u": ("eastward_sea_water_velocity", "eastward velocity"),
    "v": ("northward_sea_water_velocity", "northward velocity"),
}

_DIMS = {"center": ("y", "x"), "u": ("y", "x_u"), "v": ("y_v", "x"), "corner": ("y_v", "x_u")}


def variable_attrs(name: str, lonlat: bool = False) -> dict:
    """CF attributes and grid location of a state channel (``q1``, ``psi2`` -> layered ``q``/``psi``).

    Args:
        name: the channel name, e.g. ``"eta"``, ``"u"``, ``"q2"``.
        lonlat: the grid has lon/lat coordinates (``x`` east, ``y`` north): velocities get the
            ``eastward_``/``northward_sea_water_velocity`` standard names.
    Returns ``{"location": <C-grid location>, "attrs": {"units", "long_name"[, "standard_name"]}}``;
    an unknown name gets location ``"center"`` and only a ``long_name``.
    """
    base = name.rstrip("0123456789")
    if base not in VARIABLES:
        return {"location": "center", "attrs": {"long_name": name}}
    loc, units, std, long = VARIABLES[base]
    if lonlat and base in _LONLAT_VELOCITY:
        std, long = _LONLAT_VELOCITY[base]
    attrs = {"units": units, "long_name": long if base == name else f"{long} in layer {name[len(base):]}"}
    if std:
        attrs["standard_name"] = std
    return {"location": loc, "attrs": attrs}


def has_lonlat(grid: Grid) -> bool:
    """True when ``grid`` carries lon/lat coordinates (built by :meth:`Grid.from_lonlat`)."""
    return getattr(grid, "lon", None) is not None and getattr(grid, "lat", None) is not None


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
    if has_lonlat(grid):
        lon, lat = (a.cpu().numpy() for a in grid.lonlat("center"))
        lon_u, lat_v = (a.cpu().numpy() for a in grid.lonlat("corner"))  # faces: half a cell west/south
        east = {"units": "degrees_east", "standard_name": "longitude"}
        north = {"units": "degrees_north", "standard_name": "latitude"}
        coords["lon"] = ("x", lon, {**east, "long_name": "longitude of cell centres"})
        coords["lat"] = ("y", lat, {**north, "long_name": "latitude of cell centres"})
        coords["lon_u"] = ("x_u", lon_u, {**east, "long_name": "longitude of cell faces (u points, corners)"})
        coords["lat_v"] = ("y_v", lat_v, {**north, "long_name": "latitude of cell faces (v points, corners)"})
    return coords


def grid_attrs(grid: Grid) -> dict:
    """The global attributes that describe an x/y :class:`~physics.grid.Grid` in every file the
    library writes (read back by :func:`hybridocean.observations.grid_from_dataset`):
    ``grid_boundary``, ``grid_metric``, ``grid_dx_m``, ``grid_dy_m`` [m], ``f0_per_s`` [1/s],
    ``beta_per_m_per_s`` [1/(m s)] and ``y0_m`` [m], the ``y`` at which ``f = f0``."""
    return {"grid_boundary": grid.boundary, "grid_metric": grid.metric, "grid_dx_m": grid.dx, "grid_dy_m": grid.dy,
            "f0_per_s": grid.f0, "beta_per_m_per_s": grid.beta, "y0_m": grid.y0}


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
    lonlat = has_lonlat(grid)
    for c, name in enumerate(channels):
        meta = variable_attrs(name, lonlat=lonlat)
        variables[name] = (("time",) + _DIMS[meta["location"]], data[:, c], {**meta["attrs"], "grid_location": meta["location"]})
    coords = grid_coords(grid)
    coords["time"] = ("time", times.numpy(), {"units": "seconds since 2000-01-01 00:00:00", "standard_name": "time", "axis": "T", "calendar": "proleptic_gregorian", "long_name": "model time"})
    ds = xr.Dataset(variables, coords=coords)
    ds.attrs.update(
        {
            "Conventions": "CF-1.10",
            "source": "hybridocean",
            **grid_attrs(grid),
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


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (e.g. ``0o022``), read without changing it where possible.

    Linux >= 4.7 reports it in ``/proc/self/status`` (``Umask:``), read without side effects.
    Elsewhere the only POSIX way is ``os.umask``, which *sets* the mask while returning the old
    one: it is set to the value just read at once (two calls under a lock), so the window in
    which another thread could create a file with the wrong mask is two system calls long.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            m = re.search(r"^Umask:\s*([0-7]+)\s*$", f.read(), re.MULTILINE)
        if m:
            return int(m.group(1), 8)
    except OSError:
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success fsync it and rename it onto ``path``.

    A failure inside the block (or a crash) leaves any previous ``path`` untouched and no
    temporary file behind::

        with atomic_write("out.nc") as tmp:
            ds.to_netcdf(tmp)

    The final file has the mode of a file created normally, ``0o666 & ~umask``
    (:func:`current_umask`; ``0o644`` under the usual ``0o022``), not the ``0o600`` of the
    temporary file (:func:`tempfile.mkstemp`), so results in a shared folder stay readable
    by the colleagues the user's umask lets read them. Missing parent folders are created.
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
        # the block may have replaced the file (netCDF recreates it): set the mode by path
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


#: zlib deflate level of :func:`write_netcdf` (1 fastest .. 9 smallest). Measured on the 64^2
#: shallow-water demo file (24.25 MB raw, float64, shuffle on): level 1 -> 20.13 MB, 4 -> 20.00 MB,
#: 9 -> 19.89 MB at 1.5x the time of 4, so higher levels buy almost nothing; with the default
#: ``shuffle="auto"`` level 4 gives 16.25 MB. (CMOR 3 defaults to level 1, PCMDI/cmor#403.)
DEFLATE_LEVEL = 4

#: Target chunk size along the leading (time) dim: chunks of whole snapshots of about 1 MiB, so
#: reading one snapshot inflates ~1 MiB, not the whole variable (netCDF's default for a
#: fixed-size variable is one chunk of all of it).
CHUNK_BYTES = 2**20


def _shuffle_helps(var: xr.DataArray, level: int) -> bool:
    """Whether the byte-shuffle filter makes ``var`` deflate smaller, judged on a sample.

    Shuffle (all first bytes, then all second bytes, ...) helps smooth O(1) fields (a float64
    ``sin`` field: 0.19 of raw with it vs 0.62 without) but hurts fields spanning many decades,
    like the far-field tails of the demo's adjustment run (its ``eta``: 0.80 with, 0.54 without),
    so both are tried with :func:`zlib.compress` on up to 8 evenly spaced leading-dim slices.
    """
    if var.dtype.itemsize == 1:
        return False
    n = var.shape[0]
    sample = np.ascontiguousarray(var.isel({var.dims[0]: np.unique(np.linspace(0, n - 1, min(n, 8)).astype(int))}).values)
    raw = sample.tobytes()
    shuffled = sample.reshape(-1).view(np.uint8).reshape(-1, sample.dtype.itemsize).T.tobytes()
    return len(zlib.compress(shuffled, level)) < len(zlib.compress(raw, level))


def netcdf_encoding(
    ds: xr.Dataset, compress: bool = True, level: int = DEFLATE_LEVEL, shuffle: Union[bool, str] = "auto"
) -> dict:
    """The netCDF4 ``encoding`` of :func:`write_netcdf` for ``ds`` (for ``Dataset.to_netcdf``).

    ``time`` (if present) is stored as float64 seconds with its CF units. With ``compress``,
    every numeric data variable of >= 1 dim (integer, unsigned, float; not strings, not
    coordinates) is deflated losslessly: ``{"zlib": True, "complevel": level, "shuffle": ...}``,
    ``shuffle`` True/False or ``"auto"`` (per variable, whichever deflates a sample smaller:
    :func:`_shuffle_helps`), in chunks of whole trailing slices of about :data:`CHUNK_BYTES`.
    """
    if not isinstance(compress, bool):
        raise TypeError(f"compress must be a bool, got {type(compress).__name__}")
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 1 <= level <= 9:
        raise ValueError(f"level must be an int deflate level in 1..9, got {level!r}")
    if not (isinstance(shuffle, bool) or (isinstance(shuffle, str) and shuffle == "auto")):
        raise ValueError(f"shuffle must be True, False or 'auto', got {shuffle!r}")
    enc = {"time": {"dtype": "float64"}} if "time" in ds.variables else {}
    if compress:
        for name, var in ds.data_vars.items():
            if var.dtype.kind not in "iuf" or var.ndim == 0 or var.size == 0:
                continue
            slice_bytes = max(1, var.dtype.itemsize * var.size // var.shape[0])
            chunks = (max(1, min(var.shape[0], CHUNK_BYTES // slice_bytes)),) + tuple(var.shape[1:])
            use_shuffle = _shuffle_helps(var, level) if shuffle == "auto" else shuffle
            enc[name] = {**enc.get(name, {}), "zlib": True, "complevel": int(level), "shuffle": use_shuffle,
                         "chunksizes": chunks}
    return enc


def write_netcdf(
    ds: xr.Dataset, path: PathLike, compress: bool = True, level: int = DEFLATE_LEVEL,
    shuffle: Union[bool, str] = "auto", encoding: Optional[Mapping[str, dict]] = None,
) -> Path:
    """Write ``ds`` as netCDF4 atomically (:func:`atomic_write`); returns the path.

    ``compress`` (default True): zlib-deflate every numeric data variable at ``level``, with
    the byte-shuffle filter where it helps (``shuffle="auto"``; see :func:`netcdf_encoding`).
    Lossless: values read back bit for bit. ``compress=False`` writes them uncompressed.
    ``time`` is stored as float64 seconds with its CF units. ``encoding``: per-variable entries
    merged over (and winning against) those of :func:`netcdf_encoding` (e.g. an int64 ``time``).
    """
    enc = netcdf_encoding(ds, compress=compress, level=level, shuffle=shuffle)
    for k, v in (encoding or {}).items():
        enc[k] = {**enc.get(k, {}), **v}
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
