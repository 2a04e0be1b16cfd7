"""Gridded views of observations: binning onto a model grid and time step, and back; grids of datasets.

* :func:`to_gridded` bins an :class:`~hybridocean.observations.core.Observations` onto the cells
  of a :class:`physics.grid.Grid` and a set of time bins: ``ssh (time, y, x)`` is the mean of the
  points in each cell and bin (NaN where none), ``count`` their number, ``mask`` (bool) where
  ``count > 0``, ``error_std`` the standard deviation of that mean for independent errors,
  ``sqrt(sum sigma_i^2) / count``.
* :func:`from_gridded` turns gridded SSH (a binned view, or gridded truth shaped
  ``(time, latitude, longitude)`` / ``(time, y, x)``) into one observation per observed cell centre.
* :func:`gridded_to_tensor` gives what convolutional encoders read: ``(T, 2, ny, nx)`` with
  channel 0 the SSH (gaps filled with ``fill``) and channel 1 the mask (1 observed, 0 gap).
* :func:`grid_from_dataset` rebuilds the :class:`~physics.grid.Grid` of a gridded dataset.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np
import torch
import xarray as xr

from hybridocean.io import grid_attrs, grid_coords
from physics.grid import BOUNDARIES, Grid

from .core import DEFAULT_TIME_ORIGIN, Observations, to_datetime64
from .operator import field_times_seconds, fractional_indices, periodic_axes

LON_NAMES = ("longitude", "lon")
LAT_NAMES = ("latitude", "lat")


def _lonlat_names(ds: Union[xr.Dataset, xr.DataArray]) -> Optional[Tuple[str, str]]:
    """Names of 1-D longitude/latitude coordinates (as dims, or along ``x``/``y``), else None."""
    lon = next((n for n in LON_NAMES if n in ds.coords and ds[n].ndim == 1), None)
    lat = next((n for n in LAT_NAMES if n in ds.coords and ds[n].ndim == 1), None)
    return (lon, lat) if lon and lat else None


def _spatial_dims(da: xr.DataArray) -> Tuple[str, str]:
    """``(ydim, xdim)`` of a gridded field: latitude/longitude (or lat/lon) or y/x."""
    for ydim, xdim in zip(LAT_NAMES + ("y",), LON_NAMES + ("x",)):
        if ydim in da.dims and xdim in da.dims:
            return ydim, xdim
    raise ValueError(f"gridded data must have dims (time, latitude, longitude) or (time, y, x), got {da.dims}")


def _regular(name: str, a: np.ndarray) -> float:
    d = np.diff(a)
    if a.size < 2 or not np.all(d > 0) or not np.allclose(d, d[0], rtol=1e-6, atol=0):
        raise ValueError(f"coordinate {name} must be >= 2 strictly increasing, evenly spaced values")
    return float(d.mean())


#: [cells] a 4-connected patch of cells never observed in the record is land from this size on
#: (:func:`never_observed_land`): coastlines and islands of an L4 map are many cells long, while the
#: cells a gappy record happens never to see (clouds, track gaps) form patches of a few cells
LAND_MIN_CELLS = 16


def never_observed_land(values: np.ndarray, min_cells: int = LAND_MIN_CELLS) -> Optional[np.ndarray]:
    """``(ny, nx)`` bool land mask of a gridded SSH record ``values`` ``(T, ny, nx)`` (or ``(ny, nx)``):
    the cells NaN at every time that form a 4-connected patch of at least ``min_cells`` cells; a
    smaller never-observed patch is an ocean gap (estimated like any gap). ``None`` when no cell is land."""
    from scipy import ndimage

    a = np.asarray(values, dtype=np.float64)
    if a.ndim not in (2, 3):
        raise ValueError(f"values must be (T, ny, nx) or (ny, nx), got shape {a.shape}")
    never = ~(np.isfinite(a).any(axis=0) if a.ndim == 3 else np.isfinite(a))
    labels, n = ndimage.label(never)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())
    land = np.isin(labels, np.flatnonzero(sizes >= int(min_cells))) & never
    return land if land.any() else None


def grid_from_dataset(
    ds: Union[xr.Dataset, xr.DataArray], boundary: Optional[str] = None, metric: str = "sphere"
) -> Grid:
    """The :class:`~physics.grid.Grid` of gridded SSH ``ds``.

    * dims ``latitude``/``longitude`` (or ``lat``/``lon``) in degrees ->
      ``Grid.from_lonlat(lon, lat, boundary, metric)`` (``metric``: ``"sphere"`` (default),
      ``"beta_plane"`` or ``"f_plane"``, see :meth:`physics.grid.Grid.from_lonlat`);
    * dims ``y``/``x`` in metres (cell centres at ``(i + 1/2) dx``, as
      :func:`hybridocean.io.states_to_dataset` writes) -> ``Grid(nx, ny, dx, dy, ...)`` with
      ``f0``/``beta`` from the ``f0_per_s``/``beta_per_m_per_s`` attributes and lon/lat from
      ``lon(x)``/``lat(y)`` coordinates when present.

    ``boundary`` defaults to the ``grid_boundary`` attribute, else ``"closed"``.
    """
    if not isinstance(ds, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"ds must be an xarray Dataset or DataArray, got {type(ds).__name__}")
    boundary = boundary or ds.attrs.get("grid_boundary", "closed")
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    dims = set(ds.dims)
    names = _lonlat_names(ds)
    if names and names[0] in dims and names[1] in dims:
        lon, lat = (np.asarray(ds[n].values, dtype=np.float64) for n in names)
        return Grid.from_lonlat(lon, lat, boundary=boundary, metric=metric)
    if not {"x", "y"} <= dims or "x" not in ds.coords or "y" not in ds.coords:
        raise ValueError(f"ds must have (latitude, longitude) or (y, x) coordinates, got dims {sorted(dims)}")
    x, y = (np.asarray(ds[n].values, dtype=np.float64) for n in ("x", "y"))
    dx, dy = _regular("x", x), _regular("y", y)
    for name, c, d in (("x", x, dx), ("y", y, dy)):
        if not np.isclose(c[0], 0.5 * d, rtol=1e-6, atol=1e-9 * d):
            raise ValueError(f"coordinate {name} must be cell centres (i + 1/2) d{name} from 0, starts at {c[0]}")
    lonlat = {}
    if names:
        lonlat = {"lon": np.asarray(ds[names[0]].values, float), "lat": np.asarray(ds[names[1]].values, float)}
    return Grid(
        x.size, y.size, dx=dx, dy=dy, boundary=boundary, f0=float(ds.attrs.get("f0_per_s", 0.0)),
        beta=float(ds.attrs.get("beta_per_m_per_s", 0.0)),
        y0=None if ds.attrs.get("y0_m") is None else float(ds.attrs["y0_m"]), **lonlat,
    )


def _time_bins(tf: np.ndarray, to: np.ndarray, window: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Nearest field time ``k`` of each observation and whether it falls in that bin."""
    T = tf.size
    if window is None:
        if T == 1:
            raise ValueError("window (bin width, seconds) is required with a single time")
        half = np.diff(tf) / 2
        lo, hi = tf - np.r_[half[0], half], tf + np.r_[half, half[-1]]
    else:
        lo, hi = tf - window / 2, tf + window / 2
    k = np.clip(np.searchsorted(tf, to), 0, T - 1)
    k = np.where((k > 0) & (np.abs(to - tf[np.maximum(k - 1, 0)]) <= np.abs(to - tf[k])), k - 1, k)
    ok = np.isfinite(to) & (to >= lo[k]) & (to <= hi[k])
    return k, ok


def to_gridded(
    obs: Observations,
    grid: Grid,
    times: Any,
    window: Any = None,
    time_origin: Optional[np.datetime64] = None,
) -> xr.Dataset:
    """Bin ``obs`` onto the cells of ``grid`` and time bins centred on ``times`` (see module doc).

    Args:
        obs: the observations (lon/lat need a lon/lat grid; NaN SSH points are ignored).
        grid: cells ``[i dx, (i + 1) dx) x [j dy, (j + 1) dy)`` (or their lon/lat; periodic grids wrap,
            points outside a closed grid are dropped).
        times: ``(T,)`` bin centres, datetime64 or float seconds since ``time_origin``.
        window: full width of each bin [s or ``np.timedelta64``]; default: each point goes to the
            nearest time, the end bins extending half a spacing outward (required when ``T == 1``).
    Returns:
        Dataset ``ssh``, ``error_std``, ``count``, ``mask`` on ``(time, y, x)`` with coordinates
        ``time`` (as given), ``x``, ``y`` [m] (and ``lon(x)``, ``lat(y)`` for lon/lat grids).
    """
    if not isinstance(obs, Observations):
        raise TypeError(f"obs must be an Observations, got {type(obs).__name__}")
    if isinstance(window, np.timedelta64):
        window = window / np.timedelta64(1, "s")
    if window is not None and not (np.isfinite(window) and window > 0):
        raise ValueError(f"window must be a bin width > 0 seconds, got {window!r}")
    tf, to = field_times_seconds(times, obs, time_origin)
    k, okt = _time_bins(tf, to, None if window is None else float(window))
    fi, fj = fractional_indices(obs, grid, "corner")  # cell i spans corner indices [i, i + 1)
    ok = okt & np.isfinite(fi) & np.isfinite(fj) & np.isfinite(obs.ssh)
    fi, fj = np.where(ok, fi, 0.0), np.where(ok, fj, 0.0)
    px, py = periodic_axes(obs, grid)
    fi, fj = (np.mod(fi, grid.nx) if px else fi), (np.mod(fj, grid.ny) if py else fj)
    i = np.minimum(np.floor(fi).astype(np.int64), grid.nx - 1)
    j = np.minimum(np.floor(fj).astype(np.int64), grid.ny - 1)
    ok &= (fi >= 0) & (fi < grid.nx) & (fj >= 0) & (fj < grid.ny)
    if not ok.any():
        raise ValueError(f"obs: no finite observation falls in the grid and time bins (obs span {obs._extent()})")
    shape = (tf.size, grid.ny, grid.nx)
    flat = np.ravel_multi_index((k[ok], j[ok], i[ok]), shape)
    size = int(np.prod(shape))
    count = np.bincount(flat, minlength=size)
    total = np.bincount(flat, weights=obs.ssh[ok], minlength=size)
    var = np.bincount(flat, weights=obs.error_std[ok] ** 2, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
        err = np.where(count > 0, np.sqrt(var) / count, np.nan)
    dims = ("time", "y", "x")
    coords = {k_: v for k_, v in grid_coords(grid).items() if k_ in ("x", "y", "lon", "lat")}
    tcoord = np.asarray(times.detach().cpu().numpy() if torch.is_tensor(times) else times)
    tattrs = {"standard_name": "time", "axis": "T"}
    if not np.issubdtype(tcoord.dtype, np.datetime64):
        origin = np.datetime64(DEFAULT_TIME_ORIGIN if time_origin is None else time_origin, "s")
        tattrs["units"] = "seconds since " + np.datetime_as_string(origin, unit="s").replace("T", " ")
    coords["time"] = ("time", tcoord, tattrs)
    return xr.Dataset(
        {
            "ssh": (dims, mean.reshape(shape), {"units": "m", "long_name": "mean observed sea surface height in the cell and time bin"}),
            "error_std": (dims, err.reshape(shape), {"units": "m", "long_name": "standard deviation of the cell mean (independent errors)"}),
            "count": (dims, count.reshape(shape).astype(np.int32), {"long_name": "number of observations in the cell and time bin"}),
            "mask": (dims, count.reshape(shape) > 0, {"long_name": "cell observed (count > 0)"}),
        },
        coords=coords,
        attrs={
            "Conventions": "CF-1.10", **grid_attrs(grid), "platforms": ",".join(obs.platforms),
            "time_window_s": float(window) if window is not None else "nearest time",
        },
    )


def _time_values(da: xr.DataArray, time_origin: Optional[np.datetime64]) -> np.ndarray:
    """datetime64 times of a gridded field; float times use ``time_origin``, else their
    ``"seconds since ..."`` units, else :data:`DEFAULT_TIME_ORIGIN`."""
    t = np.asarray(da["time"].values)
    if np.issubdtype(t.dtype, np.datetime64) or time_origin is not None:
        return to_datetime64("time", t, time_origin)
    units = str(da["time"].attrs.get("units", ""))
    if units.startswith("seconds since "):
        origin = units[len("seconds since "):].strip().replace(" ", "T", 1)
        try:
            return to_datetime64("time", t, np.datetime64(origin, "ns"))
        except ValueError:
            raise ValueError(f"time: cannot read the origin of units {units!r}; pass time_origin") from None
    return to_datetime64("time", t)


def from_gridded(
    ds: Union[xr.Dataset, xr.DataArray],
    platform: str = "gridded",
    error_std: Optional[float] = None,
    mask: Any = None,
    variable: str = "ssh",
    time_origin: Optional[np.datetime64] = None,
) -> Observations:
    """One observation per observed cell centre of gridded SSH (``(time, lat, lon)`` or ``(time, y, x)``).

    A cell is observed where the value is finite, ``ds["mask"]`` (if present) is True and
    ``mask`` (bool ``(T, ny, nx)``, True = observed, e.g. from :mod:`.gaps`) is True. Positions
    are the cell-centre longitude/latitude when the data have them (as dims, or ``lon(x)``/``lat(y)``),
    else x/y [m]. ``error_std`` [m] defaults to ``ds["error_std"]`` when present, else 0.
    """
    if isinstance(ds, xr.DataArray):
        variable = ds.name or variable
        ds = ds.to_dataset(name=variable)
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray Dataset or DataArray, got {type(ds).__name__}")
    if variable not in ds:
        raise ValueError(f"variable {variable!r} not in ds (has {list(ds.data_vars)})")
    da = ds[variable]
    ydim, xdim = _spatial_dims(da)
    if "time" not in da.dims or da.ndim != 3:
        raise ValueError(f"{variable} must be 3-D (time, {ydim}, {xdim}), got dims {da.dims}")
    da = da.transpose("time", ydim, xdim)
    values = np.asarray(da.values, dtype=np.float64)
    seen = np.isfinite(values)
    if "mask" in ds and set(ds["mask"].dims) == set(da.dims):
        seen &= np.asarray(ds["mask"].transpose(*da.dims).values, dtype=bool)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != values.shape or m.dtype != bool:
            raise ValueError(f"mask must be a bool array of shape {values.shape} (True = observed), got {m.dtype} {m.shape}")
        seen &= m
    if not seen.any():
        raise ValueError(f"{variable}: all values are missing (no finite, unmasked cell)")
    kk, jj, ii = np.nonzero(seen)
    if error_std is None:
        err = np.asarray(ds["error_std"].transpose(*da.dims).values, float)[seen] if "error_std" in ds else 0.0
    else:
        err = error_std
    names = _lonlat_names(da)
    pos = {}
    if names:
        pos = {"longitude": np.asarray(da[names[0]].values, float)[ii], "latitude": np.asarray(da[names[1]].values, float)[jj]}
    else:
        pos = {"x": np.asarray(da[xdim].values, float)[ii], "y": np.asarray(da[ydim].values, float)[jj]}
    return Observations.from_arrays(
        time=_time_values(da, time_origin)[kk], ssh=values[seen], platform=platform, error_std=err,
        attrs={"source": f"hybridocean.observations.from_gridded({variable!r})"}, **pos,
    )


def gridded_to_tensor(
    ds: xr.Dataset, fill: float = 0.0, dtype: torch.dtype = torch.float32, device: Any = "cpu", variable: str = "ssh"
) -> torch.Tensor:
    """``(T, 2, ny, nx)`` network input from a gridded view: channel 0 = ``variable`` with gaps
    (NaN or ``mask`` False) set to ``fill`` [m], channel 1 = mask (1.0 observed, 0.0 gap)."""
    if not isinstance(ds, xr.Dataset) or variable not in ds:
        raise ValueError(f"ds must be a gridded Dataset with variable {variable!r} (see to_gridded)")
    da = ds[variable]
    ydim, xdim = _spatial_dims(da)
    values = np.asarray(da.transpose("time", ydim, xdim).values, dtype=np.float64)
    seen = np.isfinite(values)
    if "mask" in ds:
        seen &= np.asarray(ds["mask"].transpose("time", ydim, xdim).values, dtype=bool)
    out = np.stack([np.where(seen, values, fill), seen.astype(np.float64)], axis=1)
    return torch.as_tensor(out, dtype=dtype, device=device)
