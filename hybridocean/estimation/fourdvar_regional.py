"""Regional 4D-Var of a bounded box (lon/lat sphere grid or Cartesian x/y), land, open boundaries from the OI.

:class:`RegionalFourDVar` is :class:`~.fourdvar_windows.FourDVar` (windows, ``B``, L-BFGS: see
:mod:`.fourdvar`) with the dynamics of a regional 1.5-layer QG model with an open outer ring,
:class:`~physics.qg_open.OpenBoundaryQG`, built from the observations themselves:

1. An optimal interpolation (:class:`~.oi.OptimalInterpolation`, its parameters the user's) maps
   the observations at boundary times ``t_b`` every ``boundary_dt`` (default 1 day) over the
   whole span of the windows: ``eta_OI(t_b)`` ``(T_b, ny, nx)`` at the centres.
2. Boundary values: ``eta_OI`` moved to every corner (:func:`~.fourdvar_models.open_centre_to_corner`),
   ``psi_b = g eta_OI / f0`` on the ring and on land (linear in time between the ``t_b``), inflow
   PV and the Davies sponge of :mod:`physics.qg_open` -- the boundary condition of the BFN-QG
   mapping of Le Guillou et al. (2021, "Mapping altimetry in the forthcoming SWOT era by
   back-and-forth nudging a one-layer quasigeostrophic model", J. Atmos. Oceanic Technol. 38,
   697-710), where the QG box takes its boundary from the DUACS OI.
3. Land: ``mask`` (ocean cells ``(ny, nx)``), or ``"auto"``: for a gridded input the patches of
   at least 16 cells NaN at every time (never observed: land in an L4-like map; smaller patches are
   ocean gaps, :func:`~hybridocean.observations.gridded.never_observed_land`), else all ocean. Land corners
   are fixed like the ring (``psi = psi_b``); the output SSH and currents are NaN on land.
4. Background: the first window's is the OI map at its start; with ``oi_every_window=True``
   every window's background (and first guess) is the OI map at its start instead of the previous
   window's forecast. Control: the initial-state SSH increment on the prognostic (interior ocean)
   corners -- zero on land and on the ring, where ``psi`` is prescribed -- and, with
   ``sigma_boundary`` [m], the ring SSH increment, constant over each window (:mod:`.fourdvar`).
5. Output SSH: the model's ``eta = f0 psi / g`` at the centres (ring and land values included);
   currents: the geostrophic ones of that SSH (:func:`~.base.geostrophic_currents`, local
   ``f`` and the spherical metric, as for the OI, so both are scored alike).

Grids: any closed :class:`~physics.grid.Grid` -- ``metric="sphere"`` (lon/lat: local ``f``, the
spherical operators of :mod:`physics.qg_sphere`) or Cartesian x/y (a tangent plane, ``f = f0 + beta (y - y0)``;
the OI then works in metres, so its ``Lx``, ``Ly`` are in m, not degrees).

``B`` (:class:`~.background.GaussianCovariance`) on a sphere grid uses the tangent-plane ``dx`` of
the box's central latitude for its x wavenumbers, so the zonal correlation length is exact at
that latitude and off by ``cos(lat) / cos(lat0) - 1`` elsewhere (+-4 % over 6 degrees at 38 N).
"""
from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
import xarray as xr

from hybridocean.observations import DEFAULT_TIME_ORIGIN, ssh_variable
from physics._checks import check_int, check_positive
from physics.masks import check_ocean_mask
from physics.qg_open import OpenBoundaryQG

from .base import EstimationInputs, Estimator
from .fourdvar_models import open_centre_to_corner
from .fourdvar_windows import FourDVar
from .oi import OptimalInterpolation


def land_from_gridded(obs: Union[xr.Dataset, xr.DataArray], variable: Optional[str] = None,
                      min_cells: Optional[int] = None) -> Optional[np.ndarray]:
    """Ocean mask ``(ny, nx)`` bool of a gridded SSH input ``(time, y, x)``: False on land, the
    patches of cells NaN at every time of at least ``LAND_MIN_CELLS`` cells
    (:func:`~hybridocean.observations.gridded.never_observed_land`; smaller ones are ocean gaps);
    ``None`` when no cell is land. ``min_cells=1``: every cell NaN at every time is land (a gap-free
    map such as an L4 product, whose only NaN are its coastline and islands)."""
    from hybridocean.observations.gridded import LAND_MIN_CELLS, never_observed_land

    da = obs if isinstance(obs, xr.DataArray) else obs[ssh_variable(obs, prefer=variable)]
    land = never_observed_land(da.values, LAND_MIN_CELLS if min_cells is None else min_cells)
    return None if land is None else ~land


class RegionalFourDVar(FourDVar):
    """4D-Var of a regional box with open boundaries and background from the OI (module docstring).

    Args:
        oi: the :class:`~.oi.OptimalInterpolation` of the background and boundary values, or a dict
            of its arguments (default ``OptimalInterpolation()``; choose its parameters on held-out
            observations).
        mask: ocean cells ``(ny, nx)`` (bool or 0/1), ``"auto"`` (module docstring) or ``None``
            (all ocean).
        Ld: deformation radius [m] of the 1.5-layer QG (default 30 km); qg_kwargs: other
            :class:`~physics.qg.QG` arguments (``beta``, ``nu``, ``drag``...).
        sponge_width [corners], sponge_time [s]: the Davies sponge of :class:`~physics.qg_open.OpenBoundaryQG`.
        boundary_dt: spacing [s] of the OI boundary maps (linear in time between them).
        oi_every_window: every window's background is the OI map at its start (default: only the first).
        sigma_boundary: std [m] of the ring SSH increment in the control (``None``: not controlled).
        **kwargs: any other :class:`~.fourdvar_windows.FourDVar` argument (``window``, ``dt``,
            ``sigma_b``, ``length_b``, ``obs_error``, ``max_iter``...) but ``model``,
            ``background``, ``background_fn``, ``model_kwargs``.
    """

    method = "4dvar"
    velocity_kind = "geostrophic"

    def __init__(self, oi: Optional[OptimalInterpolation] = None, *, mask: Any = "auto", Ld: float = 3e4,
                 sponge_width: int = 4, sponge_time: float = 86400.0, boundary_dt: float = 86400.0,
                 oi_every_window: bool = False, qg_kwargs: Optional[Dict[str, Any]] = None, **kwargs: Any) -> None:
        for k in ("model", "background", "background_fn", "model_kwargs"):
            if k in kwargs:
                raise ValueError(f"{k}: set by RegionalFourDVar (the open-boundary QG and the OI); do not give it")
        super().__init__("qg", **kwargs)
        if isinstance(oi, dict):
            oi = OptimalInterpolation(**oi)
        if oi is not None and not isinstance(oi, OptimalInterpolation):
            raise TypeError(f"oi must be an OptimalInterpolation or a dict of its arguments, got {type(oi).__name__}")
        if not isinstance(oi_every_window, bool):
            raise TypeError(f"oi_every_window must be a bool, got {type(oi_every_window).__name__}")
        if isinstance(mask, str) and mask != "auto":
            raise ValueError(f"mask must be an ocean mask (ny, nx), 'auto' or None, got {mask!r}")
        self.oi, self.mask = oi or OptimalInterpolation(), mask
        self.Ld, self.boundary_dt = check_positive("Ld", Ld), check_positive("boundary_dt", boundary_dt)
        self.sponge_width = check_int("sponge_width", sponge_width, minimum=0)
        self.sponge_time = check_positive("sponge_time", sponge_time)
        self.oi_every_window, self.qg_kwargs = oi_every_window, dict(qg_kwargs or {})
        self._ocean: Optional[torch.Tensor] = None
        #: the OI boundary maps of the last run: times [s] ``(T_b,)`` and SSH ``(T_b, ny, nx)`` [m]
        self.boundary_times_: np.ndarray = np.empty(0)
        self.boundary_ssh_: torch.Tensor = torch.empty(0)
        #: wall time [s] of the last run's OI boundary maps (part of the estimate's time)
        self.boundary_seconds_: float = 0.0
        self.model_: Optional[OpenBoundaryQG] = None

    def parameters(self) -> Dict[str, Any]:
        p = super().parameters()
        p.update({"model": "qg1.5 open boundaries (OpenBoundaryQG)", "Ld_m": self.Ld, "sponge_width": self.sponge_width,
                  "sponge_time_s": self.sponge_time, "boundary_dt_s": self.boundary_dt,
                  "background": "OI every window" if self.oi_every_window else "OI (first window)",
                  "boundary": "OI", "oi": {k: v for k, v in self.oi.parameters().items() if np.isscalar(v)}})
        return p

    def _ocean_mask(self, inputs: EstimationInputs) -> Optional[torch.Tensor]:
        m = self._ocean if isinstance(self.mask, str) else self.mask
        return None if m is None else check_ocean_mask(m, inputs.grid, "mask").cpu()

    def _boundary_maps(self, inputs: EstimationInputs) -> None:
        """OI maps every ``boundary_dt`` over ``[first window start, last window end]`` (module docstring)."""
        starts = self.window_starts(inputs.times_s)
        t0, t1 = float(starts[0]), float(starts[-1] + self.n_steps * self.dt)
        n = max(1, int(np.ceil((t1 - t0) / self.boundary_dt - 1e-9)))
        tb = np.linspace(t0, t1, n + 1)
        times = DEFAULT_TIME_ORIGIN + (tb * 1e9).round().astype("timedelta64[ns]")
        t_start = time.perf_counter()
        out = self.oi.map_ssh(dataclasses.replace(inputs, times=times, times_s=tb))
        self.boundary_seconds_ = time.perf_counter() - t_start
        ssh = out[0] if isinstance(out, tuple) else out
        if not bool(torch.isfinite(ssh).all()):
            raise ValueError("oi: the OI boundary maps are not finite everywhere")
        self.boundary_times_, self.boundary_ssh_ = tb, ssh.to(inputs.grid.dtype)

    def _oi_at(self, t: float) -> torch.Tensor:
        tb = self.boundary_times_
        k = int(np.clip(np.searchsorted(tb, t, side="right") - 1, 0, max(tb.size - 2, 0)))
        if tb.size == 1:
            return self.boundary_ssh_[0]
        c = float(np.clip((t - tb[k]) / (tb[k + 1] - tb[k]), 0.0, 1.0))
        return (1 - c) * self.boundary_ssh_[k] + c * self.boundary_ssh_[k + 1]

    def build_model(self, inputs: EstimationInputs) -> OpenBoundaryQG:
        """The open-boundary QG of the box with the OI boundary values (module docstring, steps 1-3)."""
        grid = inputs.grid
        if grid.periodic:
            raise ValueError(f"grid: regional 4D-Var needs a closed (bounded) box, got {grid!r}")
        self._boundary_maps(inputs)
        psi_b = open_centre_to_corner(self.boundary_ssh_)
        return OpenBoundaryQG(grid, psi_b, times=torch.as_tensor(self.boundary_times_), sponge_width=self.sponge_width,
                              sponge_time=self.sponge_time, mask=self._ocean_mask(inputs), ssh=True, g=self.g,
                              **{"Ld": self.Ld, **self.qg_kwargs})

    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        """The SSH analysis ``(T, ny, nx)`` [m] at the centres, NaN on land."""
        model = self.build_model(inputs)
        self.model_ = model
        saved = self.model, self.background, self.background_fn
        try:
            self.model = model
            if self.oi_every_window:
                self.background, self.background_fn = None, self._oi_at
            else:
                self.background, self.background_fn = self._oi_at(float(inputs.times_s[0])), None
            ssh = self.run(inputs)[0]
        finally:
            self.model, self.background, self.background_fn = saved
        ocean = self._ocean_mask(inputs)
        if ocean is not None:
            ssh = torch.where(ocean.to(ssh.device), ssh, torch.full_like(ssh, float("nan")))
        return ssh

    def estimate(self, obs: Any, grid: Any = None, times: Any = None, *, staggered: bool = False,
                 variable: Optional[str] = None) -> xr.Dataset:
        """SSH (the model's) and geostrophic currents; the Dataset of
        :func:`~hybridocean.estimation.base.estimate_dataset` with the windows' diagnostics."""
        self._ocean = None
        if isinstance(self.mask, str) and isinstance(obs, (xr.Dataset, xr.DataArray)):
            self._ocean = land_from_gridded(obs, variable)
        ds = Estimator.estimate(self, obs, grid, times, staggered=staggered, variable=variable)
        summary = [{k: w[k] for k in ("start_s", "n_obs", "n_iter", "n_eval", "cost_obs", "cost_b", "wall_s")}
                   for w in self.windows_]

        ds.attrs.update({"n_windows": len(self.windows_), "fourdvar_windows": json.dumps(summary),
                         "n_boundary_maps": int(self.boundary_times_.size), "boundary_oi_s": self.boundary_seconds_})
        return ds


__all__ = ["RegionalFourDVar", "land_from_gridded"]
