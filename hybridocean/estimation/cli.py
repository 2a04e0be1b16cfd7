"""``hybridocean estimate`` and ``hybridocean evaluate``: map SSH and currents from observations,
and score an estimate against a gridded truth.

::

    hybridocean estimate --obs OBS.nc --method {geostrophic,cyclogeostrophic,oi} --out EST.nc \\
        [--grid FILE | --bbox LON0 LON1 LAT0 LAT1 --resolution DEG] [--start T --end T --step-hours H] \\
        [--f0 F --beta B --y0 Y] [--g G] [--param NAME=VALUE ...] [--staggered]
    hybridocean evaluate --estimate EST.nc --truth TRUTH.nc [--holdout TRACKS.nc] [--obs OBS.nc] --out DIR

``estimate`` reads ``--obs``: an :class:`~hybridocean.observations.Observations` file (one
dimension ``obs``) or gridded SSH (NaN where unobserved; ``(time, latitude, longitude)`` in
degrees or ``(time, y, x)`` in metres; one or many times) read by
:func:`~hybridocean.observations.read_l4`. The output grid is the input's (gridded input),
``--grid FILE`` (the grid -- and, if it has any, the times -- of another gridded file), or
``--bbox`` + ``--resolution`` (a lon/lat grid of cell centres ``lon0 + (i + 1/2) res``). Output
times: the input's (gridded) or ``--grid``'s times; for a point cloud without them, or when
``--start``/``--end`` is given, every ``--step-hours`` (default 24) from ``--start`` (default the
first observation, rounded to a whole step since 2000-01-01: daily maps at 00:00) to
``--end`` (default the last observation, rounded likewise). Times farther outside the observations'
span than the method allows (:meth:`~hybridocean.estimation.base.Estimator.time_margin`) are
an error naming the option they came from.
On x/y grids, ``f0`` [1/s], ``beta`` [1/(m s)] and ``y0`` [m] (the ``y`` where ``f = f0``,
default ``Ly / 2``; ``f = f0 + beta (y - y0)``) come from ``--f0``/``--beta``/``--y0``, else
from the file's global attributes ``f0_per_s``, ``beta_per_m_per_s``, ``y0_m``; gravity ``g``
[m/s^2] from ``--g``, else the attribute ``g_m_per_s2`` (or ``g``), else 9.81. A flag given
for a lon/lat grid is an error (there ``f = 2 Omega sin(lat)``). ``--param NAME=VALUE`` passes
any other constructor argument of the estimator (values parsed as JSON, else kept as text).
The estimate (:func:`~hybridocean.estimation.base.estimate_dataset` layout) is written
atomically; its attributes record ``y0_m``, ``g_m_per_s2`` and the input file.

``evaluate`` scores the estimate with :func:`~hybridocean.estimation.evaluation.evaluate_estimate`
(RMSE, ``mu``, ``sigma_t``, PSD ``lambda_x``/``lambda_t``, ``tau_uv``, vorticity and strain
scores; along-track scores on ``--holdout``), prints the JSON and writes ``DIR/metrics.json``
and the figures of :mod:`hybridocean.estimation.figures` (``ssh_maps.png`` with the
observations of ``--obs`` -- default the estimate's ``obs_file`` attribute when that file
exists -- drawn over them, ``currents.png``, ``errors.png``, ``psd_score.png``). A lon/lat
truth is cropped to the estimate's box and taken at its times; it must then be on the same
grid and include every estimate time.

Bad input -- no observed value at all, output times outside the observations, truth and
estimate on different grids or times, an output path that cannot be written, unreadable
files -- is a one-line ``hybridocean: error:`` naming the option, exit status 2
(:func:`hybridocean.cli.main`). Registered in :data:`hybridocean.cli.SUBCOMMANDS` as
``hybridocean.estimation.cli:Estimate`` and ``hybridocean.estimation.cli_evaluate:Evaluate``
(:mod:`.cli_evaluate`).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

#: method name -> module defining its Estimator subclass (the class whose ``method`` equals the name).
METHODS: Dict[str, str] = {
    "geostrophic": "hybridocean.estimation.geostrophic",
    "cyclogeostrophic": "hybridocean.estimation.cyclogeostrophic",
    "oi": "hybridocean.estimation.oi",
}
DEFAULT_G = 9.81
#: global attributes read on x/y grids: option -> attribute names (first present wins).
XY_ATTRS = {"f0": ("f0_per_s",), "beta": ("beta_per_m_per_s",), "y0": ("y0_m",)}
G_ATTRS = ("g_m_per_s2", "g")


def _finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
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


def estimator_class(method: str) -> type:
    """The :class:`~hybridocean.estimation.base.Estimator` subclass of ``method`` (see :data:`METHODS`)."""
    from .base import Estimator

    if method not in METHODS:
        raise ValueError(f"--method must be one of {sorted(METHODS)}, got {method!r}")
    try:
        module = importlib.import_module(METHODS[method])
    except ImportError as e:
        raise ValueError(f"--method {method}: not available ({e})") from None
    found = [c for c in vars(module).values()
             if inspect.isclass(c) and issubclass(c, Estimator) and getattr(c, "method", None) == method]
    if not found:
        raise ValueError(f"--method {method}: {METHODS[method]} defines no Estimator with method = {method!r}")
    return found[0]


def _accepted(cls: type) -> List[str]:
    """Constructor argument names of ``cls`` (following ``**kwargs`` to its bases)."""
    names: List[str] = []
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        sig = inspect.signature(init)
        names += [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in
                  (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return names


def build_estimator(method: str, params: Dict[str, Any], g: Optional[float]) -> Any:
    """Construct the estimator of ``method`` with ``params`` (``--param``) and ``g`` (if set).

    ``UserError`` naming ``--param`` for a name the estimator does not take or a value it rejects.
    """
    from hybridocean.cli import UserError

    cls = estimator_class(method)
    accepted = _accepted(cls)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise UserError(f"--param {unknown[0]}: {method} takes no such parameter (it takes {', '.join(accepted)})")
    kwargs = dict(params)
    if g is not None:
        if "g" not in accepted:
            raise UserError(f"--g: the {method} estimator has no gravity parameter")
        kwargs.setdefault("g", g)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        from hybridocean.cli import one_line

        raise UserError(f"--param ({method}): {one_line(e)}") from None


# ------------------------------------------------------------------ reading inputs
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


def _notes(caught) -> None:
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
    _notes([w for w in caught if "impossible" not in str(w.message)])
    for k in ("f0_per_s", "beta_per_m_per_s", "y0_m", "grid_boundary") + G_ATTRS:
        if k in attrs:
            ds.attrs.setdefault(k, attrs[k])
    return ds, attrs


def _override(option: str, flag: Optional[float], attrs: Dict[str, Any], names: Tuple[str, ...]) -> Optional[float]:
    """The value of ``option``: the flag, else the first attribute of ``names``, else None."""
    file_value = next((float(attrs[n]) for n in names if n in attrs), None)
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
    vals = {k: _override(f"--{k}", getattr(args, k), attrs, names) for k, names in XY_ATTRS.items()}
    return Grid(grid.nx, grid.ny, dx=grid.dx, dy=grid.dy, boundary=grid.boundary,
                f0=grid.f0 if vals["f0"] is None else vals["f0"], beta=grid.beta if vals["beta"] is None else vals["beta"],
                y0=vals["y0"], lon=grid.lon, lat=grid.lat)


def _bbox_grid(args: argparse.Namespace) -> Any:
    """Lon/lat grid of ``--bbox LON0 LON1 LAT0 LAT1`` at ``--resolution`` degrees (cell centres)."""
    import numpy as np

    from hybridocean.cli import UserError
    from physics.grid import Grid

    lon0, lon1, lat0, lat1 = args.bbox
    res = args.resolution
    if res is None or not res > 0:
        raise UserError(f"--resolution: a cell size > 0 degrees is required with --bbox, got {res}")
    width = (lon1 - lon0) % 360.0 or (360.0 if lon1 != lon0 else 0.0)
    nx, ny = int(round(width / res)), int(round((lat1 - lat0) / res))
    if nx < 2 or ny < 2:
        raise UserError(f"--bbox {args.bbox}: at --resolution {res} the box holds {max(nx, 0)} x {max(ny, 0)} cells; need >= 2 x 2 (lat0 < lat1)")
    lon = lon0 + res * (np.arange(nx) + 0.5)
    wrapped = np.mod(lon + 180.0, 360.0) - 180.0  # [-180, 180) unless that breaks the order (180 E crossing)
    lon = wrapped if np.all(np.diff(wrapped) > 0) else lon
    lat = lat0 + res * (np.arange(ny) + 0.5)
    try:
        return Grid.from_lonlat(lon, lat, boundary="closed")
    except ValueError as e:
        raise UserError(f"--bbox {args.bbox}: {e}") from None


def _output_grid(obs: Any, attrs: Dict[str, Any], args: argparse.Namespace) -> Tuple[Any, Any, str]:
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


def _times(obs: Any, times: Any, source: str, args: argparse.Namespace, margin_s: float) -> Any:
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


class Estimate:
    """``hybridocean estimate`` (module docstring)."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``estimate`` and its options."""
        p = subparsers.add_parser("estimate", help="estimate SSH and surface currents from observations",
                                  description="Estimate SSH and surface currents on a grid from observed SSH "
                                              "(points or a gappy map) and write them as CF netCDF.")
        p.add_argument("--obs", required=True, help="Observations netCDF (dim 'obs') or gridded SSH with NaN gaps")
        p.add_argument("--method", required=True, choices=sorted(METHODS), help="estimation method")
        p.add_argument("--out", required=True, help="output estimate netCDF (written atomically)")
        p.add_argument("--variable", default=None, help="SSH variable of a gridded --obs (default: recognised)")
        p.add_argument("--grid", default=None, help="gridded file whose grid (and times, if any) the estimate uses")
        p.add_argument("--bbox", nargs=4, type=_finite_float, default=None, metavar=("LON0", "LON1", "LAT0", "LAT1"),
                       help="lon/lat output box [degrees] (with --resolution)")
        p.add_argument("--resolution", type=_finite_float, default=None, help="cell size of the --bbox grid [degrees]")
        p.add_argument("--start", default=None, help="first output time (default: the first observation)")
        p.add_argument("--end", default=None, help="last output time at most (default: the last observation)")
        p.add_argument("--step-hours", type=_finite_float, default=24.0, help="output time step [h] (default 24)")
        p.add_argument("--f0", type=_finite_float, default=None, help="x/y grids: Coriolis parameter at y0 [1/s]")
        p.add_argument("--beta", type=_finite_float, default=None, help="x/y grids: df/dy [1/(m s)]")
        p.add_argument("--y0", type=_finite_float, default=None, help="x/y grids: y where f = f0 [m] (default Ly/2)")
        p.add_argument("--g", type=_finite_float, default=None, help="gravity [m/s^2] (default: file attribute, else 9.81)")
        p.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                       help="another estimator argument (repeatable), e.g. --param window=172800")
        p.add_argument("--staggered", action="store_true", help="also write the C-grid velocities u_c, v_c")
        p.add_argument("--threads", type=_threads, default=1, help="torch CPU threads (default 1)")
        return p

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Read, estimate, write; prints a one-paragraph summary. Returns 0."""
        from hybridocean.cli import UserError, output_file
        from hybridocean.observations import Observations

        out = output_file(args.out)
        if args.step_hours <= 0:
            raise UserError(f"--step-hours must be > 0, got {args.step_hours:g}")
        params = dict(args.param)
        obs, attrs = read_obs(args.obs, args.variable)
        g = _override("--g", args.g, attrs, G_ATTRS)
        if g is not None and not g > 0:
            raise UserError(f"--g must be > 0 (m/s^2), got {g:g}")
        est = build_estimator(args.method, params, g)
        grid, times, source = _output_grid(obs, attrs, args)
        times = _times(obs, times, source, args, est.time_margin())
        import torch

        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = est.estimate(obs, grid, times, staggered=args.staggered, variable=args.variable)
        wall = time.perf_counter() - t0
        _notes([w for w in caught if issubclass(w.category, UserWarning)])
        ds.attrs.update({"g_m_per_s2": float(getattr(est, "g", DEFAULT_G)),
                         "obs_file": str(Path(args.obs).expanduser().resolve()), "wall_time_s": round(wall, 4),
                         "history": ds.attrs.get("history", "") + "\n" + _command_line(args)})
        from .output import write_estimate

        write_estimate(ds, out)
        kind = "points" if isinstance(obs, Observations) else "map"
        print(f"{args.method}: {ds.attrs.get('n_observations')} observed values ({kind}) -> {ds.sizes['time']} time(s) "
              f"on a {grid.ny} x {grid.nx} grid in {wall:.2f} s; wrote {out}")
        return 0


def _command_line(args: argparse.Namespace) -> str:
    """The ``hybridocean estimate`` call of ``args`` (for the ``history`` attribute)."""
    parts = ["hybridocean", "estimate"]
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


def _threads(text: str) -> int:
    from hybridocean.cli import positive_int

    return positive_int(text)


__all__ = ["Estimate", "METHODS", "estimator_class", "build_estimator", "read_obs"]
