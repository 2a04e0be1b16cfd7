"""SWOT KaRIn L3 LR SSH files (AVISO/DUACS "L3_LR_SSH" Basic/Expert, v1.0 to v2.0.1).

Layout (DUACS SWOT L3 handbook, https://www.aviso.altimetry.fr/fileadmin/documents/data/tools/hdbk_duacs_SWOT_L3.pdf):
a half revolution (pass) on a swath grid ``num_lines x num_pixels`` (2 km x 2 km, 69 pixels, the
centre pixel 34 on the nadir track), with

* SSH anomalies ``ssha_filtered`` (v2, noise-reduced), ``ssha_noiseless`` (v1 name of it),
  ``ssha_unfiltered``, ``ssha`` [m] (int32 * 1e-4 or float64 with NaN fill); the first of these
  present is read unless ``variable`` says otherwise;
* ``latitude``/``longitude`` (or ``lat``/``lon``) 2-D, longitudes 0..360;
* ``cross_track_distance`` [km] per pixel (1-D ``num_pixels``; 2-D and possibly stored transposed
  ``num_pixels x num_lines`` in subsets), negative left and positive right of the track; stored
  here in metres;
* ``time`` per line (seconds since 2000-01-01) -- or, in subsets without it, only the global
  attributes ``time_coverage_start`` / ``time_coverage_end`` of the whole pass;
* ``quality_flag`` (uint8, values ``0 good, 3 eclipse, 5 local_outliers, 10 bad_quality_coast,
  ... 101 not_on_sea, 102 no_data`` listed in its ``flag_meanings``); with ``quality=True`` only
  the KaRIn pixels flagged ``good`` are kept;
* ``i_num_line`` / ``i_num_pixel`` (dim ``num_nadir``): where the nadir altimeter values are
  stored in the swath grid (in the nadir gap, where KaRIn has no data and the KaRIn
  ``quality_flag`` reads ``no_data``, so the flag is not applied to them). Those points get the
  platform ``"swot_nadir"``; all other points ``"swot_karin"``.

Times of the lines without a ``time`` variable (:func:`line_times_from_coverage`): a pass runs
from the southernmost to the northernmost point of the orbit (ascending) or back (descending),
the argument of latitude ``u`` of a circular orbit grows linearly in time and
``sin(lat_c) = sin(i) sin(u)`` (``lat_c``: geocentric latitude of the satellite). A *linear* spread
of the coverage over the lines is only right for a whole pass: the Mediterranean subset holds 386
of the ~9900 lines of its pass, and spreading them over the pass's 51 min would be off by up to
~25 min. The lines are evenly spaced in time (0.3131 s apart in the full product, to 1e-5 s), so
``t_k = t_0 + k dt`` is fitted by least squares to the geometric times of the lines where
``|sin(lat_c) / sin(i)| < 0.95`` (away from the turning points where ``du/dlat`` diverges). When
the lines reach both turning points (``|sin(lat_c) / sin(i)| > 0.999`` at the first and last line,
a whole pass) they are spread evenly over the coverage instead. Checked against the real ``time``
of the full product: 0.88 s at most over the whole pass, 0.2-1.9 s on 386-line pieces of it
(start, middle, end), where an even spread would be off by 1500-3000 s.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Union

import numpy as np
import xarray as xr

from .core import Observations
from .l4 import open_raw
from .orbits import E2, MISSIONS, R_EQUATOR
from .ssh_vars import MAX_ABS_SSH_M, find_coordinate, length_to_metres, mask_implausible, ssh_variable, unpack

PathLike = Union[str, os.PathLike]

#: SSH variables of the SWOT L3 product, in the order they are looked for.
SWOT_SSH_NAMES = ("ssha_filtered", "ssha_noiseless", "ssha_unfiltered", "ssha")
_WELL_CONDITIONED = 0.95  # |sin(lat_c)/sin(i)| below which a line's latitude fixes its time well
_TURNING_POINT = 0.999  # |sin(lat_c)/sin(i)| of end lines at the orbit's extreme latitudes (whole pass)


def _coverage(ds: xr.Dataset, key: str) -> np.datetime64:
    v = ds.attrs.get(key)
    if v is None:
        raise ValueError(f"the file has neither a 'time' variable nor the global attribute {key!r}; cannot date the lines")
    try:
        return np.datetime64(str(v).strip().rstrip("Z").replace(" ", "T"), "ns")
    except ValueError:
        raise ValueError(f"global attribute {key}={v!r} is not an ISO date") from None


def line_times_from_coverage(
    nadir_lat_deg: Any, start: Any, end: Any, inclination_deg: float = MISSIONS["swot"].inclination_deg,
    altitude_m: float = MISSIONS["swot"].altitude_m,
) -> np.ndarray:
    """Times of the lines of a (part of a) pass from its nadir latitudes and the pass's time coverage.

    With geodetic nadir latitude ``phi``, ``N = a / sqrt(1 - e^2 sin^2 phi)`` (WGS84 ``a``, ``e^2``)
    and altitude ``h``, the satellite's geocentric latitude is
    ``tan(lat_c) = (N (1 - e^2) + h) / (N + h) tan(phi)``, its argument of latitude
    ``u = asin(sin(lat_c) / sin(i))`` (ascending; ``pi - u`` descending), and
    ``t = start + (u + pi/2) / pi * (end - start)`` over the half revolution. A straight line
    ``t_k = t_0 + k dt`` is then fitted to the well-conditioned lines, or, when the lines span the
    whole pass, ``t_k = start + k / (n - 1) (end - start)`` (module docstring).
    Default ``i = 77.6 deg``, ``h = 890.582 km`` (SWOT science orbit, :data:`.orbits.MISSIONS`; the
    cal/val orbit has the same inclination and h = 857 km, a 1e-4 relative change of the factor).

    Args:
        nadir_lat_deg: ``(n_lines,)`` geodetic latitudes of the nadir points [deg], in line order.
        start, end: ``time_coverage_start`` / ``_end`` of the whole pass (datetime64 or ISO str).
    Returns ``(n_lines,)`` datetime64[ns].
    """
    lat = np.asarray(nadir_lat_deg, dtype=np.float64)
    if lat.ndim != 1 or lat.size == 0 or not np.isfinite(lat).all():
        raise ValueError(f"nadir_lat_deg must be a non-empty 1-D array of finite degrees, got shape {lat.shape}")
    t0, t1 = np.datetime64(start, "ns"), np.datetime64(end, "ns")
    duration = (t1 - t0).astype("int64") / 1e9
    if not duration > 0:
        raise ValueError(f"time coverage end {t1} must be after start {t0}")
    phi = np.radians(lat)
    n = R_EQUATOR / np.sqrt(1.0 - E2 * np.sin(phi) ** 2)
    lat_c = np.arctan((n * (1.0 - E2) + altitude_m) / (n + altitude_m) * np.tan(phi))
    s = np.sin(lat_c) / np.sin(np.radians(inclination_deg))
    u = np.arcsin(np.clip(s, -1.0, 1.0))
    ascending = lat.size < 2 or lat[-1] >= lat[0]
    frac = (u + np.pi / 2) / np.pi if ascending else (np.pi / 2 - u) / np.pi
    secs = frac * duration
    k = np.arange(lat.size, dtype=np.float64)
    whole = lat.size >= 2 and min(abs(s[0]), abs(s[-1])) > _TURNING_POINT and s[0] * s[-1] < 0
    good = np.abs(s) < _WELL_CONDITIONED
    if good.sum() < 2:
        good = np.ones_like(good)
    if whole:  # the lines span the whole pass: evenly spread over the coverage
        secs = k / (lat.size - 1) * duration
    elif lat.size >= 2:
        a, b = np.polynomial.polynomial.polyfit(k[good], secs[good], 1)
        secs = a + b * k
    return t0 + np.round(secs * 1e9).astype("int64").astype("timedelta64[ns]")


def _on_grid(da: xr.DataArray, line: str, pixel: str, shape: tuple, name: str) -> np.ndarray:
    """``da`` as a ``(num_lines, num_pixels)`` array (transposed or broadcast as needed)."""
    if da.dims == (line, pixel):
        return da.values
    if da.dims == (pixel, line):
        return da.values.T
    if da.dims == (pixel,):
        return np.broadcast_to(da.values[None, :], shape)
    if da.dims == (line,):
        return np.broadcast_to(da.values[:, None], shape)
    raise ValueError(f"{name} has dims {da.dims}; expected ({line}, {pixel}), ({pixel}, {line}), ({pixel},) or ({line},)")


def _good_flag_value(flag: xr.DataArray) -> int:
    names = str(flag.attrs.get("flag_meanings", "")).split()
    values = np.atleast_1d(flag.attrs.get("flag_values", flag.attrs.get("flag_masks", [])))
    if "good" in names and len(values) == len(names):
        return int(values[names.index("good")])
    return 0


def read_swot_l3(
    path: Union[PathLike, xr.Dataset],
    variable: Optional[str] = None,
    keep_nadir: bool = True,
    quality: bool = True,
    error_std: Union[float, Mapping[str, float]] = 0.0,
    max_abs_ssh: Optional[float] = MAX_ABS_SSH_M,
) -> Observations:
    """Read one SWOT L3 LR SSH file (either real layout, see the module docstring) into :class:`.Observations`.

    Args:
        path: the file (or a Dataset opened with ``mask_and_scale=False``).
        variable: SSH variable; default the first of :data:`SWOT_SSH_NAMES` present.
        keep_nadir: keep the nadir-altimeter values (platform ``"swot_nadir"``).
        quality: keep only KaRIn pixels whose ``quality_flag`` is ``good`` (when the file has one).
        error_std: measurement-error standard deviation [m], one value or ``{platform: value}``.
        max_abs_ssh: |SSH| above this [m] is dropped as physically impossible (:mod:`.ssh_vars`).

    Returns observations with ``time`` (per line), ``ssh`` [m], ``longitude`` in [-180, 180),
    ``latitude``, ``platform`` (``swot_karin`` / ``swot_nadir``), ``cross_track_distance`` [m]
    when the file has it, and the extra variables ``line``, ``pixel`` (indices in the swath grid);
    missing values dropped. The global attributes record the counts (``n_karin``, ``n_nadir``,
    ``n_quality_rejected``, ``n_implausible_masked``) and ``time_source``.
    """
    ds = xr.decode_cf(path, mask_and_scale=False) if isinstance(path, xr.Dataset) else open_raw(path)
    where = "<dataset>" if isinstance(path, xr.Dataset) else os.path.basename(str(path))
    if variable is None:
        variable = next((k for k in SWOT_SSH_NAMES if k in ds.data_vars), None) or ssh_variable(ds)
    elif variable not in ds.data_vars:
        raise ValueError(f"variable={variable!r} is not in {where}; it has {sorted(ds.data_vars)}")
    ssh = length_to_metres(unpack(ds[variable]), variable)
    if ssh.ndim != 2:
        raise ValueError(f"{where}: {variable!r} must be 2-D (num_lines, num_pixels), got dims {ssh.dims}")
    line, pixel = ssh.dims
    shape = ssh.shape
    ssh, n_bad = mask_implausible(ssh, max_abs_ssh, variable, where)
    lon_name, lat_name = find_coordinate(ds, "lon"), find_coordinate(ds, "lat")
    if lon_name is None or lat_name is None:
        raise ValueError(f"{where}: no longitude/latitude variables (names or standard_name); it has {sorted(ds.variables)}")
    lon = _on_grid(unpack(ds[lon_name]), line, pixel, shape, lon_name)
    lat = _on_grid(unpack(ds[lat_name]), line, pixel, shape, lat_name)
    xtd = None
    if "cross_track_distance" in ds.variables:
        xtd = _on_grid(length_to_metres(unpack(ds["cross_track_distance"]), "cross_track_distance", distance=True),
                       line, pixel, shape, "cross_track_distance")
    if "time" in ds.variables:
        t_line = np.asarray(ds["time"].values)
        if ds["time"].dims != (line,) or not np.issubdtype(t_line.dtype, np.datetime64):
            raise ValueError(f"{where}: 'time' must be dated values on ({line},), got dims {ds['time'].dims}, dtype {t_line.dtype}")
        time_source = "time variable (per line)"
    else:
        centre = lat[:, shape[1] // 2]
        nadir_lat = np.where(np.isfinite(centre), centre, np.nanmean(np.where(np.isfinite(lat), lat, np.nan), axis=1))
        t_line = line_times_from_coverage(nadir_lat, _coverage(ds, "time_coverage_start"), _coverage(ds, "time_coverage_end"))
        time_source = "time_coverage_start/_end and circular-orbit geometry (see hybridocean.observations.swot_l3)"
    times = np.broadcast_to(t_line[:, None], shape)
    valid = np.isfinite(ssh.values) & np.isfinite(lon) & np.isfinite(lat) & ~np.isnat(times)
    nadir = np.zeros(shape, dtype=bool)
    if "i_num_line" in ds.variables and "i_num_pixel" in ds.variables:
        il = unpack(ds["i_num_line"]).values.astype(np.int64)
        ip = unpack(ds["i_num_pixel"]).values.astype(np.int64)
        if il.shape != ip.shape or il.min(initial=0) < 0 or il.max(initial=0) >= shape[0] or ip.min(initial=0) < 0 or ip.max(initial=0) >= shape[1]:
            raise ValueError(f"{where}: i_num_line/i_num_pixel must index the {shape} swath grid")
        nadir[il, ip] = True
    karin = valid & ~nadir
    n_rejected = 0
    if quality and "quality_flag" in ds.variables:
        flag = _on_grid(ds["quality_flag"], line, pixel, shape, "quality_flag")
        good = flag == _good_flag_value(ds["quality_flag"])
        n_rejected = int((karin & ~good).sum())
        karin &= good
    take = karin | (valid & nadir) if keep_nadir else karin
    if not take.any():
        raise ValueError(
            f"all values of {variable!r} are missing in {where} (valid KaRIn pixels: {int(karin.sum())}, "
            f"nadir values: {int((valid & nadir).sum())}, keep_nadir={keep_nadir}, quality rejected {n_rejected})"
        )
    idx = np.flatnonzero(take.ravel())
    platform = np.where(nadir.ravel()[idx], "swot_nadir", "swot_karin")
    if isinstance(error_std, Mapping):
        missing = sorted(set(platform) - set(error_std))
        if missing:
            raise ValueError(f"error_std: no value for platforms {missing}")
        err = np.array([float(error_std[p]) for p in platform])
    else:
        err = float(error_std)
    rows, cols = np.unravel_index(idx, shape)
    attrs = {
        "source_files": where,
        "ssh_variable": variable,
        "n_karin": int((platform == "swot_karin").sum()),
        "n_nadir": int((platform == "swot_nadir").sum()),
        "n_quality_rejected": n_rejected,
        "n_implausible_masked": n_bad,
        "time_source": time_source,
        "swath_shape": f"{shape[0]} x {shape[1]}",
    }
    for key in ("time_coverage_start", "time_coverage_end", "title", "product_version"):
        if key in ds.attrs:
            attrs[key] = str(ds.attrs[key])
    return Observations.from_arrays(
        time=times.ravel()[idx], ssh=ssh.values.ravel()[idx], platform=platform, error_std=err,
        longitude=lon.ravel()[idx], latitude=lat.ravel()[idx],
        cross_track_distance=None if xtd is None else xtd.ravel()[idx],
        attrs=attrs, extra={"line": rows, "pixel": cols},
    )
