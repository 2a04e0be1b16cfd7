"""The :class:`FourDVar` estimator: strong-constraint 4D-Var over a long period by (overlapping) windows.

Windows of ``window`` seconds start every ``window - overlap`` seconds from the first output
time until one reaches the last; each is one :class:`~hybridocean.estimation.fourdvar.WindowProblem`
(cost, control, ``B``, minimiser: see :mod:`.fourdvar`). Window ``k``'s analysis, forecast by
the model to window ``k+1``'s start, is window ``k+1``'s background ``x_b``; the first background
is ``background`` (an SSH map ``(ny, nx)`` [m] at the cell centres, e.g. an OI map, turned into a
model state: QG ``q`` of ``psi = g eta / f0``; SW ``eta`` with its geostrophic ``u, v``) or rest.
With ``background_fn`` (``t0_s -> SSH (ny, nx)``, e.g. a learned estimator's map, see
:mod:`.learned_fourdvar`) EVERY window's background -- and first guess, the minimisation starting
from the zero increment -- is the model state of ``background_fn(t0)`` at its start ``t0`` [s
since 2000-01-01] instead of the previous window's forecast.

Output (:func:`~hybridocean.estimation.base.estimate_dataset`): at each output time ``t`` the
latest window that started at or before ``t`` gives the state, linear in time between its saved
states; SSH at the centres and ``u, v`` averaged from the C-grid faces to the centres --
QG: the geostrophic velocities of the model's ``psi`` (``velocity_kind="geostrophic"``); shallow
water: the model's own ``u, v`` (``"total"``). ``staggered=True`` adds the face values.
Observations on a closed grid within half a cell of its walls -- inside the grid's cells (as
every estimator's inputs may be) but outside ``H``'s bilinear interpolation between the outermost
cell centres -- are not used, with a ``UserWarning`` saying how many.

Diagnostics per window (cost history, iterations, evaluations, wall time) are kept in
:attr:`FourDVar.windows_` and written to the ``fourdvar_windows`` attribute (JSON). Progress:
a bar on stderr over the windows' L-BFGS iterations (``progress``; default only on a terminal).

Regional boxes (open boundaries and background from the OI, land, sphere metric):
:class:`~.fourdvar_regional.RegionalFourDVar`, built on this class.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from hybridocean.observations import ObservationOperator
from physics._checks import check_choice, check_int, check_nonnegative, check_positive
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater
from physics.stepping import METHODS, integrate_fixed

from .base import EstimationInputs, Estimator, estimate_dataset, prepare_inputs
from .fourdvar import WindowProblem, faces_to_centres

ModelSpec = Union[str, nn.Module, Callable[[Grid], nn.Module]]


def _interp(times: np.ndarray, fields: torch.Tensor, t: float) -> torch.Tensor:
    """``fields`` ``(S, ...)`` at ``times`` ``(S,)`` linearly interpolated to ``t`` (clamped at the ends)."""
    k = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 2)) if times.size > 1 else 0
    if times.size == 1:
        return fields[0]
    c = float(np.clip((t - times[k]) / (times[k + 1] - times[k]), 0.0, 1.0))
    return (1 - c) * fields[k] + c * fields[k + 1]


class FourDVar(Estimator):
    """Strong-constraint 4D-Var estimator (module docstring; one window: :mod:`.fourdvar`).

    Args:
        model: ``"qg"`` (1.5-layer :class:`~physics.qg.QG`, ``Ld`` from ``model_kwargs``, default
            30 km), ``"sw"`` (:class:`~physics.shallow_water.ShallowWater` with ``model_kwargs``),
            a callable ``grid -> model``, or a model built on the output grid.
        window: window length [s] (default 10 days); overlap: [s] shared by consecutive windows.
        dt: model step [s] (choose by CFL: QG advection ``|u|max dt / dx``, SW ``check_dt``).
        save_every: steps between saved states (H is linear in time between them).
        stepping: time-stepping method (:data:`physics.stepping.METHODS`).
        sigma_b [m], length_b [m]: background SSH error std and Gaussian correlation length
            (:class:`~hybridocean.estimation.background.GaussianCovariance`); defaults 0.1 m (a
            mesoscale SSH anomaly amplitude) and 100 km: tune both per region.
        sigma_uv [m/s], balance: SW velocity increments (:class:`.fourdvar.WindowProblem`).
        obs_error: observation error std [m] (default: the observations' ``error_std``).
        max_iter: L-BFGS iterations per window.
        control_parameters, parameter_sigma: physical parameters controlled (model built learnable).
        background: first background SSH ``(ny, nx)`` [m] at the centres (default: rest).
        background_fn: ``t0_s -> SSH (ny, nx)`` [m] at the centres: every window's background and
            first guess (module docstring); excludes ``background``.
        g: gravity [m/s^2]; model_kwargs: keyword arguments of the model built from a string.
        model_error: weak constraint per window ([m], :class:`.fourdvar.WindowProblem`); the
            forecast to the next window's start runs the model alone.
        sigma_boundary: open-boundary models only: std [m] of the ring SSH increment controlled
            in each window (:class:`.fourdvar.WindowProblem`); ``None``: not controlled.
        progress: a progress bar on stderr over the L-BFGS iterations of every window (``None``:
            only when stderr is a terminal).
    """

    method = "4dvar"
    velocity_kind = "geostrophic"

    def __init__(
        self,
        model: ModelSpec = "qg",
        *,
        window: float = 10 * 86400.0,
        overlap: float = 0.0,
        dt: float = 3600.0,
        save_every: int = 1,
        stepping: str = "ab3",
        sigma_b: float = 0.1,
        length_b: float = 1e5,
        sigma_uv: float = 0.01,
        balance: bool = True,
        obs_error: Optional[float] = None,
        max_iter: int = 30,
        control_parameters: Sequence[str] = (),
        parameter_sigma: float = 0.5,
        background: Optional[Any] = None,
        g: float = 9.81,
        model_kwargs: Optional[Mapping[str, Any]] = None,
        model_error: Optional[float] = None,
        background_fn: Optional[Callable[[float], Any]] = None,
        sigma_boundary: Optional[float] = None,
        progress: Optional[bool] = None,
    ) -> None:
        if isinstance(model, str):
            check_choice("model", model, ("qg", "sw"))
        elif not (isinstance(model, nn.Module) or callable(model)):
            raise TypeError(f"model must be 'qg', 'sw', a callable grid -> model or a model, got {type(model).__name__}")
        self.model, self.model_kwargs = model, dict(model_kwargs or {})
        self.window, self.dt = check_positive("window", window), check_positive("dt", dt)
        self.overlap = check_nonnegative("overlap", overlap)
        if self.overlap >= self.window:
            raise ValueError(f"overlap ({overlap:g} s) must be shorter than window ({window:g} s)")
        self.save_every = check_int("save_every", save_every, minimum=1)
        self.n_steps = int(round(self.window / self.dt))
        self.stride = int(round((self.window - self.overlap) / self.dt))
        if abs(self.n_steps * self.dt - self.window) > 1e-6 * self.dt or self.n_steps % self.save_every:
            raise ValueError(f"window ({window:g} s) must be a whole number of save_every * dt = {self.save_every * self.dt:g} s")
        if self.stride < 1 or abs(self.stride * self.dt - (self.window - self.overlap)) > 1e-6 * self.dt:
            raise ValueError(f"window - overlap ({self.window - self.overlap:g} s) must be a whole number (>= 1) of dt = {dt:g} s")
        self.stepping = check_choice("stepping", stepping, METHODS)
        self.sigma_b, self.length_b = check_positive("sigma_b", sigma_b), check_positive("length_b", length_b)
        self.sigma_uv, self.balance = check_positive("sigma_uv", sigma_uv), bool(balance)
        self.obs_error = None if obs_error is None else check_positive("obs_error", obs_error)
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.control_parameters, self.parameter_sigma = tuple(control_parameters), check_positive("parameter_sigma", parameter_sigma)
        self.background, self.g = background, check_positive("g", g)
        self.model_error = None if model_error is None else check_positive("model_error", model_error)
        if background_fn is not None and not callable(background_fn):
            raise TypeError(f"background_fn must be a callable t0_s -> SSH (ny, nx), got {type(background_fn).__name__}")
        if background_fn is not None and background is not None:
            raise ValueError("background and background_fn: give one (background_fn sets every window's background)")
        self.background_fn = background_fn
        self.sigma_boundary = None if sigma_boundary is None else check_positive("sigma_boundary", sigma_boundary)
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"progress must be a bool or None, got {type(progress).__name__}")
        self.progress = progress
        self.windows_: List[Dict[str, Any]] = []

    def parameters(self) -> Dict[str, Any]:
        name = self.model if isinstance(self.model, str) else type(self.model).__name__
        return {"model": name, "window_s": self.window, "overlap_s": self.overlap, "dt_s": self.dt,
                "save_every": self.save_every, "stepping": self.stepping, "sigma_b_m": self.sigma_b,
                "length_b_m": self.length_b, "sigma_uv_m_per_s": self.sigma_uv, "balance": self.balance,
                "obs_error_m": self.obs_error if self.obs_error is not None else "error_std",
                "max_iter": self.max_iter, "control_parameters": list(self.control_parameters), "g": self.g,
                "model_error_m": self.model_error if self.model_error is not None else "none (strong constraint)",
                "sigma_boundary_m": self.sigma_boundary if self.sigma_boundary is not None else "none (not controlled)"}

    def time_margin(self) -> float:
        """A window: output times may lie up to one window beyond the observations."""
        return self.window

    # ------------------------------------------------------------------ the run
    def window_starts(self, times_s: np.ndarray) -> np.ndarray:
        """Window start times [s] covering the output times ``times_s`` (module docstring)."""
        span = self.n_steps * self.dt
        n_win = 1 + max(0, math.ceil((times_s[-1] - times_s[0] - span) / (self.stride * self.dt) - 1e-9))
        return times_s[0] + self.stride * self.dt * np.arange(n_win)

    def _build_model(self, grid: Grid) -> nn.Module:
        if self.model == "qg":
            return QG(grid, **{"Ld": 3e4, **self.model_kwargs})
        if self.model == "sw":
            return ShallowWater(grid, **self.model_kwargs)
        model = self.model if isinstance(self.model, nn.Module) else self.model(grid)
        mg = getattr(model, "grid", None)
        if not isinstance(mg, Grid) or mg.shape != grid.shape or mg.boundary != grid.boundary \
                or abs(mg.dx - grid.dx) > 1e-9 * grid.dx or abs(mg.dy - grid.dy) > 1e-9 * grid.dy:
            raise ValueError(f"model: its grid {mg!r} does not match the output grid {grid!r}")
        return model

    def _first_background(self, problem_shape: Tuple[int, ...], adapter, grid: Grid, ssh: Any = None,
                          name: str = "background") -> torch.Tensor:
        """The model state of the ``background`` SSH map (or of ``ssh``; module docstring)."""
        ssh = self.background if ssh is None else ssh
        b = torch.as_tensor(np.asarray(ssh, dtype=np.float64), dtype=grid.dtype)
        if tuple(b.shape) != (grid.ny, grid.nx) or not bool(torch.isfinite(b).all()):
            what = "must be" if name == "background" else "must give"
            raise ValueError(f"{name} {what} a finite SSH map of shape (ny, nx) = {(grid.ny, grid.nx)}, got {tuple(b.shape)}")
        return adapter.from_ssh(b.unsqueeze(0)).reshape(problem_shape)

    @staticmethod
    def usable_observations(inputs: EstimationInputs) -> EstimationInputs:
        """``inputs`` without the observations outside ``H``'s domain on a closed grid (between the
        outermost cell centres; module docstring), with a ``UserWarning`` giving their number."""
        obs, grid = inputs.obs, inputs.grid
        t = inputs.obs_times_s
        span = np.array([t.min(), t.max()]) if t.size and t.max() > t.min() else np.array([t.min() if t.size else 0.0])
        inside = ObservationOperator(obs, grid, span, loc="center", allow_empty=True).inside
        n_out = int((~inside).sum())
        if not n_out:
            return inputs
        warnings.warn(f"obs: {n_out} of {len(obs)} observations lie within half a cell of the closed grid's walls, "
                      "outside 4D-Var's bilinear H between the outermost cell centres: not used", UserWarning,
                      stacklevel=3)
        return dataclasses.replace(inputs, obs=obs.subset(inside), obs_times_s=t[inside])

    def run(self, inputs: EstimationInputs) -> Tuple[torch.Tensor, ...]:
        """All windows; returns ``(ssh, u, v, u_c, v_c)``, each ``(T, ny, nx)`` at ``inputs.times``."""
        inputs = self.usable_observations(inputs)
        grid, ts = inputs.grid, inputs.times_s
        model = self._build_model(grid)
        starts = self.window_starts(ts)
        n_win = starts.size
        kw = dict(sigma_b=self.sigma_b, length_b=self.length_b, sigma_uv=self.sigma_uv, balance=self.balance,
                  obs_error=self.obs_error, save_every=self.save_every, method=self.stepping, g=self.g,
                  control_parameters=self.control_parameters, parameter_sigma=self.parameter_sigma,
                  model_error=self.model_error, sigma_boundary=self.sigma_boundary)
        self.windows_, trajectories = [], []
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        bar = tqdm(total=n_win * self.max_iter, disable=not show, desc="4D-Var", unit="iter", leave=False)
        try:
            self._windows(inputs, model, starts, kw, bar, trajectories)
        finally:
            bar.close()
        self.velocity_kind = self._velocity_kind
        out = []
        for t in ts:
            k = int(np.clip(np.searchsorted(starts, t + 1e-6, side="right") - 1, 0, n_win - 1))
            out.append([_interp(trajectories[k][0], f, t) for f in trajectories[k][1:]])
        ssh, uf, vf = (torch.stack([o[i] for o in out]) for i in range(3))
        u, v = faces_to_centres(uf, vf, grid)
        return ssh, u, v, uf, vf

    def _windows(self, inputs: EstimationInputs, model: nn.Module, starts: np.ndarray, kw: Dict[str, Any],
                 bar: Any, trajectories: List[Tuple[Any, ...]]) -> None:
        """Minimise every window in turn (module docstring), appending ``(times, ssh, u, v)`` of its
        analysed trajectory to ``trajectories`` and its diagnostics to :attr:`windows_`."""
        grid, xb, n_win = inputs.grid, None, starts.size
        for k, t0 in enumerate(starts):
            P = WindowProblem(model, inputs.obs, t0, self.dt, self.n_steps, background=xb, **kw)
            if self.background_fn is not None:
                P.background = self._first_background(P.state_shape, P.adapter, grid, self.background_fn(float(t0)),
                                                       "background_fn")
            elif xb is None and self.background is not None:
                P.background = self._first_background(P.state_shape, P.adapter, grid)
            bar.set_postfix_str(f"window {k + 1}/{n_win}")
            done = [0]

            def step(it: int, J: float) -> None:
                done[0] = it
                bar.update(1)

            res = P.minimize(max_iter=self.max_iter, callback=step)
            bar.update(max(self.max_iter - done[0], 0))  # a window that converged early
            with torch.no_grad():
                traj = P.trajectory(torch.as_tensor(res.v, dtype=grid.dtype))
                ssh = P.adapter.ssh(traj, P.times)
                uf, vf = P.adapter.currents(traj, P.times)
                xb = integrate_fixed(model, res.x0, self.dt, self.stride, self.stride, method=self.stepping,
                                     t0=float(t0))[1][-1]
            trajectories.append((P.times, ssh, uf, vf))
            self.windows_.append({"start_s": float(t0), "n_obs": P.n_obs, "n_iter": res.n_iter, "n_eval": res.n_eval,
                                  "cost": res.cost, "cost_obs": res.cost_obs, "cost_b": res.cost_b,
                                  "parameters": res.parameters, "wall_s": res.wall_s, "message": res.message})
        self._velocity_kind = P.adapter.velocity_kind

    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        """The SSH analysis ``(T, ny, nx)`` [m] at the centres (:meth:`run`)."""
        return self.run(inputs)[0]

    def estimate(self, obs: Any, grid: Optional[Grid] = None, times: Any = None, *, staggered: bool = False,
                 variable: Optional[str] = None):
        """SSH and currents from the model state (module docstring); the Dataset of
        :func:`~hybridocean.estimation.base.estimate_dataset`."""
        if not isinstance(staggered, bool):
            raise TypeError(f"staggered must be a bool, got {type(staggered).__name__}")
        inputs = prepare_inputs(obs, grid, times, time_margin_s=self.time_margin(), variable=variable)
        ssh, u, v, uf, vf = self.run(inputs)
        summary = [{k: w[k] for k in ("start_s", "n_obs", "n_iter", "n_eval", "cost_obs", "cost_b", "parameters", "wall_s")}
                   for w in self.windows_]
        return estimate_dataset(
            ssh, u, v, inputs.grid, inputs.times, method=self.method, parameters=self.parameters(),
            ssh_name=inputs.ssh_name, velocity_kind=self.velocity_kind, u_c=uf if staggered else None,
            v_c=vf if staggered else None, estimator=type(self).__name__,
            attrs={"input": inputs.source, "n_observations": len(inputs.obs), "n_windows": len(self.windows_),
                   "fourdvar_windows": json.dumps(summary)},
        )


__all__ = ["FourDVar"]
