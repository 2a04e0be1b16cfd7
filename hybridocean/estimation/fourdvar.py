"""Strong-constraint 4D-Var through the library's differentiable models (x/y grids, periodic or closed).

One assimilation window ``[t0, t0 + n_steps dt]`` (:class:`WindowProblem`)::

    J(v, w) = 1/2 sum_i ((H M_{0->t_i}(x0) - y_i) / sigma_i)^2 + 1/2 |v|^2 + 1/2 |w|^2
    x0      = x_b + K(U v),       p = p_b + sigma_p w   (optional physical parameters)

* ``M`` -- the model stepped by :func:`physics.stepping.integrate_fixed` (AB3 by default; on a
  periodic finite-difference QG model its gradient runs the exact discrete adjoint of
  :mod:`physics.stepping_adjoint`, elsewhere autograd through the steps);
* ``H`` -- :class:`~hybridocean.observations.ObservationOperator` on the saved trajectory's SSH
  at the cell centres (bilinear in space, linear in time between saved states);
* ``U`` -- the square root of the Gaussian background covariance ``B = U U^T``
  (:class:`~hybridocean.estimation.background.GaussianCovariance`): the control variable
  transform, so ``J_b = 1/2 |v|^2`` and the minimisation is preconditioned by ``B^{1/2}``;
* ``K`` -- the (linear) map from the SSH-space increment to the model state
  (:mod:`.fourdvar_models`): QG controls the corner SSH increment (``q' = Lap psi' + S psi'``,
  ``psi' = g eta' / f0``); shallow water controls ``(eta', u_a, v_a)`` with velocity increments
  geostrophically balanced with ``eta'`` plus an independent ageostrophic part (``sigma_uv``).
* ``sigma_i`` -- the observation error [m]: the observations' ``error_std`` or ``obs_error``
  (``R`` diagonal).
* ``p`` -- optional physical parameters of the model (``control_parameters``, e.g. ``("Ld",)``
  for QG or ``("drag",)``), which the model must have been built ``learnable``; controlled on the
  model's unconstrained (log) scale ``raw`` with a Gaussian background ``N(raw_b, sigma_p^2)``.

Minimiser: :func:`scipy.optimize.minimize` ``L-BFGS-B`` (limited-memory BFGS, Byrd, Lu, Nocedal
& Zhu 1995, SIAM J. Sci. Comput. 16, 1190) on the flattened float64 control: its line search
accepts a step only on sufficient decrease, so the cost recorded at each iteration
(:attr:`WindowResult.cost`) decreases monotonically (tested).

Long periods (:class:`FourDVar`): windows of ``window`` seconds starting every
``window - overlap``; window ``k``'s analysis, forecast to window ``k+1``'s start, is window
``k+1``'s background. Each output time is taken from the latest window that started at or before
it (linear in time between saved states). The first background is ``background`` (an SSH map at
the centres) or rest (``eta = 0``).

Scope: Cartesian or lon/lat sphere grids, periodic or closed basins, and regional boxes with an
open outer ring and land (:class:`~physics.qg_open.OpenBoundaryQG`; the regional estimator with
OI background and boundary values is :mod:`.fourdvar_regional`).

Boundary control (``sigma_boundary`` [m], OpenBoundaryQG only): an SSH increment on the open ring,
constant over the window, ``delta = r B_bnd v_bnd`` (:mod:`.fourdvar_models`), joins the control
and ``J`` gains ``1/2 |v_bnd|^2``; the gradient reaches it through the model's boundary values.

Weak constraint (optional, ``model_error`` [m]): a model-error tendency ``F``, constant over the
window, joins the control, ``dx/dt = M(x) + F`` with ``F = K(U v_F) (model_error / sigma_b) / T``
(``T`` the window length): the same correlations as ``B``, scaled so that ``F`` alone changes the
SSH by ``model_error`` (std) over the window; ``J`` gains ``1/2 |v_F|^2``. Gradients then go
through autograd (the wrapped model has no discrete adjoint).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.optimize
import torch
from torch import nn

from hybridocean.observations import ObservationOperator, Observations
from physics._checks import check_choice, check_int, check_positive
from physics.forcing import Forced
from physics.stepping import ADJOINTS, METHODS, integrate_fixed

from .fourdvar_models import adapter_for, faces_to_centres


# ---------------------------------------------------------------------- one window
@dataclass
class WindowResult:
    """Outcome of :meth:`WindowProblem.minimize`.

    Attributes:
        v: the optimal control (flat float64 numpy array, length :attr:`WindowProblem.n_control`).
        x0: the analysed initial state ``(1, C, ny, nx)``.
        cost: ``J`` at the start and after each L-BFGS iteration (non-increasing).
        cost_obs, cost_b: ``J_o`` and ``J_b`` (incl. parameters) at the optimum.
        n_iter, n_eval: L-BFGS iterations and cost+gradient evaluations.
        parameters: the controlled physical parameters at the optimum (physical units).
        wall_s: wall time [s]; message: the optimiser's stop message.
    """

    v: np.ndarray
    x0: torch.Tensor
    cost: List[float]
    cost_obs: float
    cost_b: float
    n_iter: int
    n_eval: int
    parameters: Dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    message: str = ""


class WindowProblem:
    """The 4D-Var cost of one window (module docstring) and its L-BFGS minimisation.

    Args:
        model: a :class:`~physics.qg.QG`, :class:`~physics.qg_open.OpenBoundaryQG` or
            :class:`~physics.shallow_water.ShallowWater` (Cartesian or sphere grid).
        obs: :class:`~hybridocean.observations.Observations` of SSH [m] (x/y; or lon/lat on a
            tangent-plane grid with lon/lat, ``Grid.from_lonlat(..., metric="beta_plane")``); those in the window
            ``[t0, t0 + n_steps dt]`` are used (``ValueError`` naming ``obs`` if none, or if any of
            them lies outside the grid).
        t0: window start [s since 2000-01-01]. dt: model step [s]. n_steps: steps in the window.
        background: ``x_b``, a model state ``(1, C, ny, nx)``; default rest (zeros).
        sigma_b: background SSH error std [m]; length_b: its correlation length [m].
        sigma_uv: SW only: ageostrophic velocity error std [m/s]; balance: SW only, geostrophic
            velocity increments from the SSH increment.
        obs_error: observation error std [m] for every observation; default the obs' ``error_std``
            (which must then be > 0).
        save_every: store every ``save_every``-th step (H interpolates linearly between them).
        method: time stepping (:data:`physics.stepping.METHODS`).
        g: gravity [m/s^2] of ``eta = f0 psi / g`` (QG).
        control_parameters: names of learnable model parameters to control; parameter_sigma:
            background std of their raw (log) value.
        adjoint: ``"auto"`` (the exact AB3 discrete adjoint where the model provides one) or
            ``"autograd"`` (:func:`physics.stepping.integrate_fixed`).
        model_error: weak constraint: std [m] of the SSH change over the window due to a constant
            model-error tendency in the control (module docstring); ``None``: strong constraint.
        sigma_boundary: OpenBoundaryQG only: background std [m] of the ring SSH increment in the
            control (module docstring); ``None``: the boundary values are not controlled.
    """

    def __init__(
        self,
        model: nn.Module,
        obs: Observations,
        t0: float,
        dt: float,
        n_steps: int,
        background: Optional[torch.Tensor] = None,
        *,
        sigma_b: float = 0.1,
        length_b: float = 1e5,
        sigma_uv: float = 0.01,
        balance: bool = True,
        obs_error: Optional[float] = None,
        save_every: int = 1,
        method: str = "ab3",
        g: float = 9.81,
        control_parameters: Sequence[str] = (),
        parameter_sigma: float = 0.5,
        adjoint: str = "auto",
        model_error: Optional[float] = None,
        sigma_boundary: Optional[float] = None,
    ) -> None:
        sigma_boundary = None if sigma_boundary is None else check_positive("sigma_boundary", sigma_boundary)
        self.adapter = adapter_for(model, sigma_b=check_positive("sigma_b", sigma_b),
                                length_b=check_positive("length_b", length_b), g=check_positive("g", g),
                                sigma_uv=check_positive("sigma_uv", sigma_uv), balance=balance,
                                sigma_boundary=sigma_boundary)
        self.model, self.grid = model, model.grid
        self.dt, self.t0 = check_positive("dt", dt), float(t0)
        self.n_steps = check_int("n_steps", n_steps, minimum=1)
        self.save_every = check_int("save_every", save_every, minimum=1)
        if self.n_steps % self.save_every:
            raise ValueError(f"n_steps ({self.n_steps}) must be a multiple of save_every ({self.save_every})")
        self.method = check_choice("method", method, METHODS)
        self.adjoint = check_choice("adjoint", adjoint, ADJOINTS)
        C, ny, nx = self.adapter.channels, self.grid.ny, self.grid.nx
        self.state_shape = (1, C, ny, nx)
        if background is None:
            background = torch.zeros(self.state_shape, dtype=self.grid.dtype)
        if not torch.is_tensor(background) or tuple(background.shape) != self.state_shape:
            raise ValueError(f"background must be a model state tensor of shape {self.state_shape}, "
                             f"got {tuple(background.shape) if torch.is_tensor(background) else type(background).__name__}")
        self.background = background.detach().to(self.grid.dtype)
        self.times = self.t0 + self.dt * self.save_every * np.arange(self.n_steps // self.save_every + 1)
        self._init_obs(obs, obs_error)
        self._init_parameters(tuple(control_parameters), check_positive("parameter_sigma", parameter_sigma))
        self.n_fields = len(self.adapter.B)
        self.model_error = None if model_error is None else check_positive("model_error", model_error)
        self.n_boundary = len(getattr(self.adapter, "B_boundary", ()))
        self.n_blocks = self.n_fields * (1 if self.model_error is None else 2) + self.n_boundary
        self.n_control = self.n_blocks * ny * nx + len(self.param_names)
        self._sigma_b = sigma_b

    def _init_obs(self, obs: Observations, obs_error: Optional[float]) -> None:
        if not isinstance(obs, Observations):
            raise TypeError(f"obs must be an Observations, got {type(obs).__name__}")
        if obs.coords_kind != "xy" and getattr(self.grid, "lon", None) is None:
            raise ValueError("obs: lon/lat observations need a grid with lon/lat (a tangent-plane Grid.from_lonlat("
                             "..., metric='beta_plane')); this x/y grid takes observations with x/y positions [m]")
        t = obs.time_seconds()
        inwin = np.isfinite(t) & (t >= self.times[0]) & (t <= self.times[-1]) & np.isfinite(obs.ssh)
        if not inwin.any():
            raise ValueError(f"obs: no observation in the assimilation window [{self.times[0]:.0f}, {self.times[-1]:.0f}] s "
                             f"since 2000-01-01 (observations span [{np.nanmin(t):.0f}, {np.nanmax(t):.0f}] s)")
        obs = obs.subset(inwin)
        self.H = ObservationOperator(obs, self.grid, self.times, loc="center", allow_empty=True)
        if not self.H.inside.all():
            raise ValueError(f"obs: {int((~self.H.inside).sum())} of {len(obs)} observations in the window lie outside "
                             f"the grid (x in [0, {self.grid.Lx:g}] m, y in [0, {self.grid.Ly:g}] m between the "
                             "outermost cell centres of a closed grid)")
        self.y = self.H.observed("ssh", dtype=self.grid.dtype)
        if obs_error is not None:
            self.sigma_o = torch.full_like(self.y, check_positive("obs_error", obs_error))
        else:
            self.sigma_o = self.H.observed("error_std", dtype=self.grid.dtype)
            if not bool((self.sigma_o > 0).all()):
                raise ValueError("obs_error: some observations have error_std <= 0; give obs_error [m] (R = obs_error^2 I)")
        self.n_obs = self.H.n_obs

    def _init_parameters(self, names: Tuple[str, ...], sigma: float) -> None:
        params = getattr(self.model, "params", {})
        for n in names:
            if n not in params or not params[n].learnable:
                raise ValueError(f"control_parameters: {n!r} is not a learnable parameter of the model "
                                 f"(build it with learnable=({n!r},)); learnable: "
                                 f"{[k for k in params if params[k].learnable]}")
        self.param_names, self.param_sigma = names, sigma
        self.raw_b = {n: params[n].raw.detach().clone() for n in names}

    # ------------------------------------------------------------------ cost
    def split(self, v: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]:
        """Flat control ``(n_control,)`` -> initial-state fields ``(n_fields, ny, nx)``, model-error
        fields ``(n_fields, ny, nx)`` (``None`` for a strong constraint) and parameters ``(n_params,)``."""
        nf = self.n_blocks * self.grid.ny * self.grid.nx
        blocks = v[:nf].reshape(self.n_blocks, self.grid.ny, self.grid.nx)
        forcing = blocks[self.n_fields:2 * self.n_fields] if self.model_error is not None else None
        return blocks[: self.n_fields], forcing, v[nf:]

    def boundary_control(self, v: torch.Tensor) -> Optional[torch.Tensor]:
        """The boundary-control fields ``(n_boundary, ny, nx)`` of a flat control (``None``: none)."""
        if not self.n_boundary:
            return None
        nf = self.n_blocks * self.grid.ny * self.grid.nx
        return v[:nf].reshape(self.n_blocks, self.grid.ny, self.grid.nx)[self.n_blocks - self.n_boundary:]

    def forcing(self, v: torch.Tensor) -> Optional[torch.Tensor]:
        """The model-error tendency ``F`` ``(1, C, ny, nx)`` of a flat control (``None``: strong constraint)."""
        vf = self.split(v)[1]
        if vf is None:
            return None
        return self.adapter.increment(vf) * (self.model_error / self._sigma_b / (self.n_steps * self.dt))

    def initial_state(self, v: torch.Tensor) -> torch.Tensor:
        """``x0 = x_b + K(U v)`` ``(1, C, ny, nx)`` of a flat control ``v``."""
        return self.background + self.adapter.increment(self.split(v)[0])

    def _set_controls(self, v: torch.Tensor) -> None:
        """Set the model's controlled parameters and (differentiably) boundary values from ``v``."""
        self._set_parameters(self.split(v)[2].detach())
        if self.n_boundary:
            self.adapter.set_boundary(self.boundary_control(v))

    def _set_parameters(self, w: torch.Tensor) -> None:
        with torch.no_grad():
            for i, n in enumerate(self.param_names):
                self.model.params[n].raw.copy_(self.raw_b[n] + self.param_sigma * w[i])

    def trajectory(self, v: torch.Tensor) -> torch.Tensor:
        """Saved states ``(S, 1, C, ny, nx)`` at :attr:`times` of the control ``v`` (sets the parameters)."""
        self._set_controls(v)
        F = self.forcing(v)
        func = self.model if F is None else Forced(self.model, F)  # dx/dt = M(x) + F (weak constraint)
        return integrate_fixed(func, self.initial_state(v), self.dt, self.n_steps, self.save_every,
                               method=self.method, t0=self.t0, adjoint=self.adjoint)[1]

    def cost(self, v: Any, grad: bool = True) -> Tuple[float, float, float, Optional[np.ndarray]]:
        """``(J, J_o, J_b, dJ/dv)`` at the flat control ``v`` (numpy or tensor; gradient float64 numpy)."""
        v = torch.as_tensor(np.asarray(v, dtype=np.float64) if not torch.is_tensor(v) else v.detach(), dtype=self.grid.dtype)
        if v.shape != (self.n_control,):
            raise ValueError(f"v must have shape ({self.n_control},), got {tuple(v.shape)}")
        v = v.clone().requires_grad_(grad)
        params = getattr(self.model, "params", {})
        frozen = [p for k, m in params.items() if k not in self.param_names for p in m.parameters() if p.requires_grad]
        for p in frozen:  # uncontrolled parameters: no gradient (and the QG discrete adjoint applies)
            p.requires_grad_(False)
        raws = [params[n].raw for n in self.param_names]
        for r in raws:
            r.grad = None
        try:
            with torch.set_grad_enabled(grad):
                d = (self.H(self.adapter.ssh(self.trajectory(v), self.times)) - self.y) / self.sigma_o
                Jo = 0.5 * (d * d).sum()
                Jb = 0.5 * (v * v).sum()
                J = Jo + Jb
            g = None
            if grad:
                J.backward()
                g = v.grad.detach().clone()
                for i, r in enumerate(raws):  # raw = raw_b + sigma_p w: dJ/dw = sigma_p dJ/draw
                    if r.grad is not None:
                        g[g.numel() - len(raws) + i] += self.param_sigma * r.grad.reshape(())
                g = g.cpu().numpy().astype(np.float64)
        finally:
            for p in frozen:
                p.requires_grad_(True)
        return float(J.detach()), float(Jo.detach()), float(Jb.detach()), g

    def minimize(self, max_iter: int = 50, v0: Optional[np.ndarray] = None, gtol: float = 1e-8,
                 ftol: float = 1e-12, history_size: int = 30,
                 callback: Optional[Callable[[int, float], None]] = None) -> WindowResult:
        """Minimise ``J`` with L-BFGS-B from ``v0`` (default 0: the background); see the module docstring.

        ``gtol``: stop when every gradient component is below it; ``ftol``: on a relative decrease
        of ``J`` below it; ``history_size``: number of L-BFGS correction pairs; ``callback(k, J)``
        after each iteration ``k = 1, 2, ...`` with its cost (e.g. a progress bar).
        """
        max_iter = check_int("max_iter", max_iter, minimum=1)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be a callable (iteration, J) -> None, got {type(callback).__name__}")
        v0 = np.zeros(self.n_control) if v0 is None else np.asarray(v0, dtype=np.float64).reshape(-1)
        if v0.shape != (self.n_control,):
            raise ValueError(f"v0 must have {self.n_control} values, got {v0.size}")
        evals: List[Tuple[np.ndarray, float, float, float]] = []  # (v, J, J_o, J_b) of every evaluation
        start = time.perf_counter()

        def fun(x: np.ndarray) -> Tuple[float, np.ndarray]:
            J, Jo, Jb, g = self.cost(x)
            evals.append((x.copy(), J, Jo, Jb))
            return J, g

        def lookup(xk: np.ndarray) -> Tuple[float, float, float]:
            for x, *js in reversed(evals):  # the accepted point is an evaluated one
                if np.array_equal(x, xk):
                    return tuple(js)
            return self.cost(xk, grad=False)[:3]

        history: List[float] = []

        def after_iteration(xk: np.ndarray) -> None:
            history.append(lookup(xk)[0])
            if callback is not None:
                callback(len(history), history[-1])

        res = scipy.optimize.minimize(fun, v0, jac=True, method="L-BFGS-B", callback=after_iteration,
                                      options={"maxiter": max_iter, "gtol": gtol, "ftol": ftol, "maxcor": history_size})
        history.insert(0, evals[0][1])  # J(v0): the first evaluation
        J, Jo, Jb = lookup(res.x)
        vt = torch.as_tensor(res.x, dtype=self.grid.dtype)
        with torch.no_grad():
            self._set_controls(vt)
            x0 = self.initial_state(vt)
        params = {n: float(self.model.params[n].value.detach()) for n in self.param_names}
        return WindowResult(res.x, x0, history, Jo, Jb, int(res.nit), int(res.nfev), params,
                            time.perf_counter() - start, str(res.message))


__all__ = ["WindowProblem", "WindowResult", "faces_to_centres"]  # faces_to_centres: from .fourdvar_models
