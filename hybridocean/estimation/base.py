"""The :class:`Estimator` interface and the one builder of its CF output Dataset.

Every state estimator (the classical baselines of this package -- geostrophic, cyclogeostrophic,
optimal interpolation -- and the 4D-Var and learned estimators to come) maps observed sea
surface height (SSH) to SSH *and* surface currents on an output grid::

    est = SomeEstimator(**parameters)
    est.fit(...)                                   # only where something is learned (no-op here)
    ds = est.estimate(obs, grid=None, times=None)  # -> xr.Dataset (below)
    write_estimate(ds, "out.nc")                   # atomic, compressed netCDF4

Inputs (:func:`prepare_inputs`, run by :meth:`Estimator.estimate` before any estimator code)
    ``obs``: an :class:`~hybridocean.observations.Observations` point cloud (nadir tracks, SWOT
    pixels, ...) **or** a gridded SSH Dataset ``(time, latitude, longitude)`` / ``(time, y, x)``
    (an L4 map read by :func:`~hybridocean.observations.read_l4`, a binned view of
    :func:`~hybridocean.observations.to_gridded`, a simulation), turned into one observation per
    finite cell centre (:func:`~hybridocean.observations.from_gridded`).
    ``grid``: the output :class:`~physics.grid.Grid`; default the input's grid
    (:func:`~hybridocean.observations.grid_from_dataset`) -- required for a point cloud.
    ``times``: ``(T,)`` output times, datetime64 or float seconds since
    :data:`~hybridocean.observations.DEFAULT_TIME_ORIGIN` (2000-01-01); default the input map's
    times -- required for a point cloud.
    Bad input fails at once with a one-line ``ValueError``/``TypeError`` naming the argument:
    no finite observed value at all (``obs``), an output time farther than the estimator's
    :meth:`~Estimator.time_margin` outside the observations' time span (``times``), a point
    cloud whose positions do not fit the grid (``obs`` lon/lat vs an x/y-only ``grid``).

Output (:func:`estimate_dataset`; one layout for every estimator)
    Like the L4 products (``adt``, ``ugos``, ``vgos`` share one grid), SSH and both velocity
    components lie at the **same points and times**: the cell centres of the output grid.

    * lon/lat grid (:meth:`physics.grid.Grid.from_lonlat`): dims ``(time, latitude, longitude)``,
      coordinates ``latitude`` [degrees_north], ``longitude`` [degrees_east];
    * x/y grid: dims ``(time, y, x)``, coordinates ``x``, ``y`` [m] (cell centres ``(i + 1/2) dx``,
      as :func:`hybridocean.io.states_to_dataset` writes them, so
      :func:`~hybridocean.observations.grid_from_dataset` rebuilds the grid).

    Variables (float64, NaN on land / where undefined, e.g. ``|lat| <`` 5 degrees for geostrophy):

    ======  =====  ======================================================================
    name    units  standard_name (CF standard name table, version 86)
    ======  =====  ======================================================================
    ssh     m      ``sea_surface_height_above_geoid`` (absolute SSH; named ``adt`` when the
                   input was absolute dynamic topography); ``sla`` for an anomaly input:
                   ``sea_surface_height_above_mean_sea_level`` -- see :mod:`hybridocean.io`
    u       m s-1  lon/lat: ``surface_geostrophic_eastward_sea_water_velocity`` (geostrophic
                   estimators) or ``eastward_sea_water_velocity`` (others, e.g.
                   cyclogeostrophic); x/y: ``surface_geostrophic_sea_water_x_velocity`` or
                   ``sea_water_x_velocity``
    v      m s-1  the northward / y counterparts
    ======  =====  ======================================================================

    With ``staggered=True`` the C-grid fields are added as ``u_c`` on ``(time, <y>, <x>_u)`` and
    ``v_c`` on ``(time, <y>_v, <x>)`` (``x_u``/``y_v`` [m] or ``longitude_u``/``latitude_v``
    [degrees]: faces half a cell west/south of the centres; see :mod:`physics.grid`).
    ``time`` is datetime64[ns] (CF-encoded on writing, proleptic Gregorian calendar). Global attributes: ``Conventions = "CF-1.10"``, ``title``, ``source``,
    ``method`` (e.g. ``"oi"``), ``estimator`` (class name), ``parameters`` (JSON of the
    estimator's parameters) and each parameter as ``param_<name>``, ``ssh_variable`` (the name
    of the SSH variable), ``velocity_kind`` (``"geostrophic"`` / ``"cyclogeostrophic"`` / ...),
    ``grid_*`` (boundary, metric, spacing), ``history`` (UTC time and call).

Writing a new estimator: subclass :class:`Estimator`, set ``method`` (and ``velocity_kind``),
implement :meth:`Estimator.map_ssh` (``EstimationInputs -> (T, ny, nx)`` SSH tensor) and, when
the currents are not the geostrophic ones of that SSH, :meth:`Estimator.currents`; override
:meth:`Estimator.parameters` to report what is set, and :meth:`Estimator.fit` where something
is learned. Estimators that produce SSH and currents jointly (4D-Var on a model state) may
override :meth:`Estimator.estimate` itself, but must build their output with
:func:`estimate_dataset`.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import torch
import xarray as xr

from hybridocean.io import has_lonlat
from hybridocean.observations import DEFAULT_TIME_ORIGIN, Observations, from_gridded, grid_from_dataset
from hybridocean.observations.core import seconds_since
from hybridocean.observations.ssh_vars import ssh_variable
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid

from .output import SSH_NAMES, VELOCITY_KINDS, as_times, estimate_dataset, write_estimate  # noqa: F401 (re-exported)

@dataclass(frozen=True)
class EstimationInputs:
    """Validated inputs of an estimation (built by :func:`prepare_inputs`).

    Attributes:
        obs: the observations with a finite SSH (NaN points dropped), any order.
        grid: the output grid.
        times: ``(T,)`` datetime64[ns] output times (strictly increasing).
        times_s: ``(T,)`` float64 output times [s since :data:`DEFAULT_TIME_ORIGIN`].
        obs_times_s: ``(n,)`` float64 observation times [s since :data:`DEFAULT_TIME_ORIGIN`].
        ssh_name: name of the output SSH variable (one of :data:`SSH_NAMES`).
        source: ``"points"`` or ``"gridded"`` (what ``obs`` was given as).
    """

    obs: Observations
    grid: Grid
    times: np.ndarray
    times_s: np.ndarray
    obs_times_s: np.ndarray
    ssh_name: str
    source: str


def _ssh_name(label: Any) -> str:
    """Output SSH name from a variable name / ``ssh_variable`` attribute: adt, sla or ssh."""
    s = str(label or "").lower()
    if s.startswith("adt") or "+ mdt" in s:
        return "adt"
    if s.startswith("sla") or s.startswith("ssha"):
        return "sla"
    return "ssh"


def prepare_inputs(
    obs: Union[Observations, xr.Dataset, xr.DataArray],
    grid: Optional[Grid] = None,
    times: Any = None,
    time_margin_s: float = 0.0,
    variable: Optional[str] = None,
) -> EstimationInputs:
    """Check and normalise the arguments of :meth:`Estimator.estimate` (see the module docstring).

    Args:
        obs: observations (point cloud) or gridded SSH ``(time, lat, lon)`` / ``(time, y, x)``.
        grid: output grid; default the gridded input's grid (required for a point cloud).
        times: ``(T,)`` output times (datetime64 or float seconds since 2000-01-01); default the
            gridded input's times (required for a point cloud).
        time_margin_s: [s] how far outside the observations' time span an output time may lie.
        variable: the SSH variable of a gridded ``obs`` (default :func:`ssh_variable`).
    Raises ``ValueError`` naming ``obs`` when no finite SSH is observed, ``times`` when an output
    time lies outside ``[t_obs_min - margin, t_obs_max + margin]``, ``grid``/``times`` when missing.
    """
    if isinstance(obs, xr.DataArray):
        obs = obs.to_dataset(name=obs.name or (variable or "ssh"))
    if isinstance(obs, xr.Dataset) and "obs" in obs.dims:
        obs = Observations(obs)
    if isinstance(obs, xr.Dataset):
        name = ssh_variable(obs, prefer=variable)
        if not np.isfinite(np.asarray(obs[name].values, dtype=np.float64)).any():
            raise ValueError(f"obs: no observed value at all (every {name!r} value is NaN)")
        grid = grid_from_dataset(obs) if grid is None else grid
        if times is None:
            if "time" not in obs[name].dims:
                raise ValueError(f"times: required (obs {name!r} has no time dimension)")
            times = obs["time"].values
        ssh_name = _ssh_name(name if name in SSH_NAMES else obs.attrs.get("ssh_variable", name))
        points, source = from_gridded(obs, variable=name), "gridded"
    elif isinstance(obs, Observations):
        if grid is None:
            raise ValueError("grid: required when obs is a point cloud (Observations); give the output Grid")
        if times is None:
            raise ValueError("times: required when obs is a point cloud (Observations); give the output times")
        ssh_name = _ssh_name(obs.ds.attrs.get("ssh_variable", "ssh"))
        points, source = obs, "points"
    else:
        raise TypeError(f"obs must be Observations or a gridded xarray Dataset, got {type(obs).__name__}")
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
    finite = np.isfinite(points.ssh)
    if len(points) == 0 or not finite.any():
        raise ValueError("obs: no observed value at all (no finite SSH)")
    points = points if finite.all() else points.subset(finite)
    if points.coords_kind == "lonlat" and not has_lonlat(grid):
        raise ValueError("obs: lon/lat observations need a lon/lat grid (Grid.from_lonlat); grid has x/y only")
    t = as_times(times)
    ts = seconds_since(t, DEFAULT_TIME_ORIGIN)
    to = points.time_seconds()
    margin = float(time_margin_s)
    lo, hi = np.nanmin(to) - margin, np.nanmax(to) + margin
    out = (ts < lo) | (ts > hi)
    if out.any():
        bad = t[out]
        raise ValueError(
            f"times: {out.sum()} output time(s) ({bad[0]} .. {bad[-1]}) lie outside the observations' span "
            f"[{points.time.min()}, {points.time.max()}] widened by {margin / 86400:g} days"
        )
    return EstimationInputs(points, grid, t, ts, to, ssh_name, source)


def geostrophic_currents(
    ssh: torch.Tensor, grid: Grid, at: str = "center", g: float = 9.81, equator_min_lat: float = 5.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Surface geostrophic ``(u, v)`` [m/s] of SSH ``(T, ny, nx)`` [m]: ``u = -(g/f) d ssh/dy``,
    ``v = (g/f) d ssh/dx`` (:func:`physics.geostrophy.geostrophic_velocities`, centred second-order
    differences with the grid's metric, spherical on lon/lat grids); NaN within
    ``equator_min_lat`` degrees of the equator and beside NaN (land). ``at``: ``"center"`` or
    ``"uv"`` (C-grid points)."""
    return geostrophic_velocities(ssh, grid, g=g, at=at, equator="mask", equator_min_lat=equator_min_lat)


def _split(out: Tuple) -> Tuple[Any, Any, Dict[str, Any]]:
    """``(u, v)`` or ``(u, v, extra)`` -> ``(u, v, extra or {})``."""
    return (out[0], out[1], dict(out[2] or {})) if len(out) == 3 else (out[0], out[1], {})


class Estimator(abc.ABC):
    """An SSH + surface-current estimator (interface; see the module docstring).

    Subclasses set :attr:`method` and :attr:`velocity_kind`, implement :meth:`map_ssh`, and
    override :meth:`currents`, :meth:`parameters`, :meth:`time_margin` and :meth:`fit` as needed.
    """

    #: short method name written to ``attrs["method"]``.
    method: ClassVar[str] = "estimator"
    #: kind of the currents (:data:`VELOCITY_KINDS`): decides their CF standard names.
    velocity_kind: ClassVar[str] = "geostrophic"
    #: gravity [m/s^2] used by the currents.
    g: float = 9.81
    #: [degrees] geostrophy is NaN closer to the equator than this.
    equator_min_lat: float = 5.0

    def fit(self, *args: Any, **kwargs: Any) -> "Estimator":
        """Learn what the estimator learns (networks, covariances); classical baselines learn
        nothing and return ``self``."""
        return self

    def parameters(self) -> Dict[str, Any]:
        """The estimator's parameters (written to the output's global attributes)."""
        return {"g": self.g, "equator_min_lat": self.equator_min_lat}

    def time_margin(self) -> float:
        """[s] how far outside the observations' time span an output time may lie (default 0)."""
        return 0.0

    @abc.abstractmethod
    def map_ssh(self, inputs: EstimationInputs) -> Union[torch.Tensor, Tuple[torch.Tensor, Mapping[str, Any]]]:
        """The SSH estimate [m], ``(T, ny, nx)`` float64 at the cell centres of ``inputs.grid``
        and times ``inputs.times`` (NaN where not estimated, e.g. land); or ``(ssh, extra)`` with
        ``extra = {name: ((T, ny, nx) array, attrs)}`` more output variables (e.g. the OI error std)."""

    def currents(self, ssh: torch.Tensor, grid: Grid, at: str = "center") -> Tuple[torch.Tensor, ...]:
        """Surface currents ``(u, v)`` [m/s] of the SSH estimate ``(T, ny, nx)``; default the
        geostrophic ones (:func:`geostrophic_currents`); ``at`` = ``"center"`` or ``"uv"``. May
        return ``(u, v, extra)`` with more centre output variables (e.g. a convergence mask)."""
        return geostrophic_currents(ssh, grid, at=at, g=self.g, equator_min_lat=self.equator_min_lat)

    def estimate(
        self,
        obs: Union[Observations, xr.Dataset, xr.DataArray],
        grid: Optional[Grid] = None,
        times: Any = None,
        *,
        staggered: bool = False,
        variable: Optional[str] = None,
    ) -> xr.Dataset:
        """Estimate SSH and currents on ``grid`` at ``times`` from ``obs`` (module docstring).

        Args:
            obs: observations or gridded SSH (see :func:`prepare_inputs`).
            grid: output grid (default: the gridded input's).
            times: ``(T,)`` output times (default: the gridded input's).
            staggered: also return the C-grid velocities ``u_c``, ``v_c``.
            variable: SSH variable of a gridded ``obs`` (default recognised automatically).
        Returns the Dataset of :func:`estimate_dataset`.
        """
        if not isinstance(staggered, bool):
            raise TypeError(f"staggered must be a bool, got {type(staggered).__name__}")
        inputs = prepare_inputs(obs, grid, times, time_margin_s=self.time_margin(), variable=variable)
        out = self.map_ssh(inputs)
        ssh, extra = out if isinstance(out, tuple) else (out, None)
        if tuple(ssh.shape) != (inputs.times.size, inputs.grid.ny, inputs.grid.nx):
            raise RuntimeError(f"{type(self).__name__}.map_ssh returned shape {tuple(ssh.shape)}")
        u, v, more = _split(self.currents(ssh, inputs.grid, at="center"))
        extra = {**(extra or {}), **more}
        u_c = v_c = None
        if staggered:
            u_c, v_c, _ = _split(self.currents(ssh, inputs.grid, at="uv"))
        return estimate_dataset(
            ssh, u, v, inputs.grid, inputs.times, method=self.method, parameters=self.parameters(),
            ssh_name=inputs.ssh_name, velocity_kind=self.velocity_kind, u_c=u_c, v_c=v_c,
            extra=extra, attrs={"input": inputs.source, "n_observations": len(inputs.obs)},
            estimator=type(self).__name__,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.parameters().items())})"
