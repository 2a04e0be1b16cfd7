"""Input helpers of ``hybridocean estimate`` / ``train-estimator`` (:mod:`.cli`, :mod:`.cli_train`):
argparse types, reading the observation file, the output grid (``--grid``, ``--bbox``, the
input's), the x/y Coriolis planes and gravity from flags or the file's global attributes, the
output times, and the ``history`` line of a call.

Every problem is a :class:`hybridocean.cli.UserError` naming the option it came from (the CLI
prints it as one ``hybridocean: error:`` line, exit status 2). See :mod:`.cli` for the options.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

DEFAULT_G = 9.81
#: global attributes read on x/y grids: option -> attribute names (first present wins).
XY_ATTRS = {"f0": ("f0_per_s",), "beta": ("beta_per_m_per_s",), "y0": ("y0_m",)}
G_ATTRS = ("g_m_per_s2", "g")


def _finite_float(text: str) -> float:
    """argparse ``type=``: a finite number (:func:`finite_number`)."""
    v = finite_number(text)
    if v is None:
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """argparse ``type=`` (``--H``, ``--Ld``): a finite number > 0 (:func:`finite_number`)."""
    v = finite_number(text, positive=True)
    if v is None:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def _param(text: str) -> Tuple[str, Any]:
    name, eq, raw = text.partition("=")
    if not eq or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"must be NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value



def _open(path: str, option: str) -> Any:
    """The Dataset of netCDF file ``path`` (loaded, closed); ``UserError`` naming ``option``."""
    import xarray as xr

    from hybridocean.cli import UserError, one_line

    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{option} {path!r}: no such file")
    try:
        with xr.open_dataset(p) as ds:
            return ds.load()
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError(f"{option} {path!r}: cannot read it as netCDF ({one_line(e)})") from None


def notes(caught) -> None:
    for w in caught:
        print(f"hybridocean: note: {str(w.message).splitlines()[0]}", file=sys.stderr)


def read_obs(path: str, variable: Optional[str] = None) -> Tuple[Any, Dict[str, Any]]:
    """``(obs, attrs)``: an :class:`Observations` (file with dim ``obs``) or a gridded Dataset
    (:func:`~hybridocean.observations.read_l4`), and the file's global attributes.

    ``UserError`` naming ``--obs`` for an unreadable file or one without any finite SSH."""
    import numpy as np

    from hybridocean.cli import UserError, one_line
    from hybridocean.observations import Observations, read_l4

    raw = _open(path, "--obs")
    attrs = dict(raw.attrs)
    if "obs" in raw.dims:
        try:
            obs = Observations(raw)
        except (ValueError, TypeError) as e:
            raise UserError(f"--obs {path!r}: not a valid observations file ({one_line(e)})") from None
        if not np.isfinite(obs.ssh).any():
            raise UserError(f"--obs {path!r}: no observed value at all (every ssh is NaN)")
        return obs, attrs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = read_l4(raw, variables=[variable] if variable else None)
        except ValueError as e:
            msg = one_line(e)
            if "missing" in msg:
                raise UserError(f"--obs {path!r}: no observed value at all ({msg})") from None
            raise UserError(f"--obs {path!r}: {msg}") from None
    notes([w for w in caught if "impossible" not in str(w.message)])
    for key, names in XY_ATTRS.items():  # named errors before the grid reads them
        attribute_number(attrs, names[0], f"--{key}")
    for k in ("f0_per_s", "beta_per_m_per_s", "y0_m", "grid_boundary") + G_ATTRS:
        if k in attrs:
            ds.attrs.setdefault(k, attrs[k])
    return ds, attrs


def finite_number(value: Any, positive: bool = False) -> Optional[float]:
    """``value`` as a float when it is one finite real number (a Python or NumPy scalar, or
    numeric text) and, with ``positive``, ``> 0``; else ``None`` (booleans, other text, ``None``,
    containers, NaN/Inf, values <= 0 with ``positive``). The one parser of the CLI's numeric
    options and attributes: callers raise their own error naming the option or attribute."""
    if isinstance(value, bool) or getattr(value, "dtype", None) == bool:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) and (v > 0 or not positive) else None


def attribute_number(attrs: Dict[str, Any], name: str, option: str, positive: bool = False) -> Optional[float]:
    """The global attribute ``name`` of the ``--obs`` file as a float (a number, a one-element
    array or numeric text, :func:`finite_number`), ``None`` when absent. ``UserError`` naming the
    attribute (and ``option``, the flag that replaces it) for anything else: text that is not a
    number, a boolean, several values, NaN/Inf, or with ``positive`` a value <= 0."""
    import numpy as np

    from hybridocean.cli import UserError

    if name not in attrs:
        return None
    raw = attrs[name]
    try:
        arr = np.asarray(raw)
        item = arr.reshape(()).item() if arr.size == 1 else None  # netCDF gives one-element arrays
    except (TypeError, ValueError):
        item = None
    value = finite_number(item, positive)
    if value is None:
        want = "a finite number > 0" if positive else "a finite number"
        shown = raw.item() if isinstance(raw, np.generic) else raw  # 0.0, not np.float64(0.0)
        raise UserError(f"--obs: the file's global attribute {name} = {shown!r} is not {want}; fix it or give {option}")
    return value


def override(option: str, flag: Optional[float], attrs: Dict[str, Any], names: Tuple[str, ...]) -> Optional[float]:
    """The value of ``option``: the flag, else the first attribute of ``names`` present
    (:func:`attribute_number`), else None; a note on stderr when the flag differs from it."""
    file_value = next((attribute_number(attrs, n, option) for n in names if n in attrs), None)
    if flag is not None and file_value is not None and not math.isclose(flag, file_value, rel_tol=1e-12):
        print(f"hybridocean: note: {option} {flag:g} overrides the file's {names[0]} = {file_value:g}", file=sys.stderr)
    return flag if flag is not None else file_value


def _with_planes(grid: Any, args: argparse.Namespace, attrs: Dict[str, Any]) -> Any:
    """``grid`` with f0/beta/y0 from the flags / attributes on x/y grids (error on lon/lat ones)."""
    from hybridocean.cli import UserError
    from physics.grid import Grid

    given = [f"--{k}" for k in XY_ATTRS if getattr(args, k) is not None]
    if grid.metric == "sphere":
        if given:
            raise UserError(f"{given[0]}: applies to x/y grids only; a lon/lat grid uses f = 2 Omega sin(lat)")
        return grid
    vals = {k: override(f"--{k}", getattr(args, k), attrs, names) for k, names in XY_ATTRS.items()}
    if (grid.f0 if vals["f0"] is None else vals["f0"]) == 0:
        raise UserError("--f0: an x/y grid needs the Coriolis parameter f0 [1/s] for the currents; give --f0 or "
                        "the --obs file's global attribute f0_per_s (e.g. 1e-4 at 43 N)")
    return Grid(grid.nx, grid.ny, dx=grid.dx, dy=grid.dy, boundary=grid.boundary,
                f0=grid.f0 if vals["f0"] is None else vals["f0"], beta=grid.beta if vals["beta"] is None else vals["beta"],
                y0=vals["y0"], lon=grid.lon, lat=grid.lat)


def _bbox_grid(args: argparse.Namespace) -> Any:
    """Lon/lat grid of ``--bbox LON0 LON1 LAT0 LAT1`` at ``--resolution`` degrees (cell centres)."""
    import numpy as np

    from hybridocean.cli import UserError
    from physics.grid import Grid

    from hybridocean.observations.bbox import lonlat_box

    res = args.resolution
    if res is None or not res > 0:
        raise UserError(f"--resolution: a cell size > 0 degrees is required with --bbox, got {res}")
    try:  # the package's one lon/lat box convention (east from lon0; lon0 > lon1 crosses the date line)
        box = lonlat_box(tuple(args.bbox), name="--bbox")
    except (TypeError, ValueError) as e:
        raise UserError(str(e)) from None
    nx, ny = int(round(box.width / res)), int(round((box.north - box.south) / res))
    if nx < 2 or ny < 2:
        raise UserError(f"--bbox {args.bbox}: at --resolution {res} the box holds {max(nx, 0)} x {max(ny, 0)} cells; need >= 2 x 2")
    lon = box.west + res * (np.arange(nx) + 0.5)
    wrapped = np.mod(lon + 180.0, 360.0) - 180.0  # [-180, 180) unless that breaks the order (180 E crossing)
    lon = wrapped if np.all(np.diff(wrapped) > 0) else lon
    lat = box.south + res * (np.arange(ny) + 0.5)
    try:
        return Grid.from_lonlat(lon, lat, boundary="closed")
    except ValueError as e:
        raise UserError(f"--bbox {args.bbox}: {e}") from None


def output_grid(obs: Any, attrs: Dict[str, Any], args: argparse.Namespace) -> Tuple[Any, Any, str]:
    """``(grid, times or None, where the times come from)`` of the estimate."""
    from hybridocean.cli import UserError, one_line
    from hybridocean.observations import Observations, grid_from_dataset

    times, source = None, "--obs"
    if args.grid is not None and args.bbox is not None:
        raise UserError("--grid and --bbox: give one of them")
    if args.grid is not None:
        gds = _open(args.grid, "--grid")
        try:
            grid = grid_from_dataset(gds)
        except ValueError as e:
            raise UserError(f"--grid {args.grid!r}: {one_line(e)}") from None
        grid = _with_planes(grid, args, dict(gds.attrs))
        if "time" in gds.coords and gds["time"].size:
            times, source = gds["time"].values, "--grid"
        return grid, times, source
    if args.bbox is not None:
        return _with_planes(_bbox_grid(args), args, {}), None, source
    if isinstance(obs, Observations):
        raise UserError("--grid or --bbox/--resolution: required when --obs holds observation points (not a map)")
    grid = _with_planes(grid_from_dataset(obs), args, attrs)
    return grid, obs["time"].values, source


def output_times(obs: Any, times: Any, source: str, args: argparse.Namespace, margin_s: float) -> Any:
    """Output times (datetime64[ns]), checked against the observations' span +- ``margin_s``."""
    import numpy as np

    from hybridocean.cli import UserError
    from hybridocean.observations import Observations, ssh_variable

    if isinstance(obs, Observations):
        tobs = obs.time[np.isfinite(obs.ssh)]
    else:
        da = obs[obs.attrs.get("ssh_variable") or ssh_variable(obs)]
        seen = np.isfinite(np.asarray(da.values, dtype=np.float64)).reshape(da.sizes["time"], -1).any(axis=1)
        tobs = np.asarray(obs["time"].values).astype("datetime64[ns]")[seen]
    lo, hi = tobs.min(), tobs.max()
    explicit = args.start is not None or args.end is not None
    if times is None or explicit:
        def when(opt: str, text: Optional[str], default: Any) -> Any:
            if text is None:
                return default
            try:
                return np.datetime64(text, "ns")
            except ValueError:
                raise UserError(f"{opt}: not a date/time (e.g. 2019-01-01 or 2019-01-01T12:00), got {text!r}") from None
        step = np.timedelta64(int(round(args.step_hours * 3600e9)), "ns")
        margin = np.timedelta64(int(round(margin_s * 1e9)), "ns")
        # defaults: the whole steps (since 2000-01-01) nearest the first / last observation,
        # moved one step inward when that falls beyond what the method allows
        origin = np.datetime64("2000-01-01", "ns")
        t_lo = origin + np.round((lo - origin) / step) * step
        t_lo = t_lo + step if t_lo < lo - margin else t_lo
        t_hi = origin + np.round((hi - origin) / step) * step
        t_hi = t_hi - step if t_hi > hi + margin else t_hi
        start, end = when("--start", args.start, t_lo), when("--end", args.end, max(t_hi, t_lo))
        if end < start:
            raise UserError(f"--end {end} is before --start {start}")
        times = np.arange(start, end + np.timedelta64(1, "ns"), step)
        source = "--start/--end" if explicit else "the observations' span"
    times = np.asarray(times).astype("datetime64[ns]")
    margin = np.timedelta64(int(round(margin_s * 1e9)), "ns")
    bad = times[(times < lo - margin) | (times > hi + margin)]
    if bad.size:
        opt = source if source.startswith("--") else "--start/--end"
        raise UserError(f"{opt}: {bad.size} output time(s) ({bad[0]} .. {bad[-1]}) lie outside the observations' "
                        f"span [{lo}, {hi}] (+- {margin_s / 86400:g} days allowed by this method)")
    return times


def command_line(args: argparse.Namespace) -> str:
    """The ``hybridocean <command>`` call of ``args`` (for the ``history`` attribute)."""
    parts = ["hybridocean", str(getattr(args, "command", None) or "estimate")]
    for k, v in vars(args).items():
        if k.startswith("_") or k in ("command", "traceback") or v is None or v is False or v == []:
            continue
        opt = "--" + k.replace("_", "-")
        if v is True:
            parts.append(opt)
        elif k == "param":
            parts += [f"--param {n}={json.dumps(x)}" for n, x in v]
        else:
            parts.append(f"{opt} {' '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}")
    return " ".join(parts)


def threads(text: str) -> int:
    from hybridocean.cli import positive_int

    return positive_int(text)


__all__ = ["DEFAULT_G", "XY_ATTRS", "G_ATTRS", "finite_number", "positive_float", "attribute_number", "override", "read_obs", "output_grid", "output_times", "command_line", "threads"]
