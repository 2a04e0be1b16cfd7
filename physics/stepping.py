"""Fixed-step time integration for long runs, and a CFL check.

:func:`integrate_fixed` steps ``dx/dt = func(t, x)`` (any ``torchdiffeq``-style right-hand
side) with a constant ``dt``; it is differentiable (plain autograd through the steps, or, for
AB3 with a model that provides ``discrete_adjoint()``, one node running the exact transpose of
AB3, :mod:`physics.stepping_adjoint`) and checks every step for NaN/Inf. Methods:

* ``"euler"``: ``x+ = x + dt f(x)`` (1st order);
* ``"rk4"``: classical Runge-Kutta (4th order, 4 evaluations per step);
* ``"ab2"``: Adams-Bashforth 2, ``x+ = x + dt (3 f_n - f_{n-1}) / 2``, Euler start;
* ``"ab3"``: Adams-Bashforth 3, ``x+ = x + dt (23 f_n - 16 f_{n-1} + 5 f_{n-2}) / 12`` (one
  evaluation per step, 3rd order). ``start="rk4"`` (default) takes the first two steps with
  RK4, keeping 3rd-order global accuracy; ``start="ab"`` bootstraps with Euler then AB2 like
  pyqg (global error then 2nd order in the start-up, O(dt^2) from the first step).

The fixed-step methods of ``torchdiffeq`` (those that take ``options={"step_size": dt}``) are
listed ONCE, in :data:`TORCHDIFFEQ_FIXED_STEP`, and every method's linear stability limits in
:data:`STABILITY_LIMITS` (used by :func:`courant_limit` and the models' ``check_dt``). A right-hand
side with a ``check_dt(dt, state, method=...)`` method (e.g. :class:`physics.shallow_water.ShallowWater`)
has its step checked by :func:`integrate_fixed` before the first step.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch

from ._checks import check_choice, check_int, check_positive, check_real
from .stepping_adjoint import ab3_adjoint_steps, ab3_coefficients

METHODS = ("euler", "rk4", "ab2", "ab3")
"""Methods of :func:`integrate_fixed`."""

TORCHDIFFEQ_FIXED_STEP = ("euler", "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams")
"""torchdiffeq methods that take a ``step_size`` option (fixed grid) instead of adapting the step
(``torchdiffeq._impl.odeint.SOLVERS``, torchdiffeq 0.2.x). Without ``step_size`` they step on the
output times themselves."""

STABILITY_LIMITS = {
    "euler": (0.0, 2.0),
    "midpoint": (0.0, 2.0),
    "heun2": (0.0, 2.0),
    "heun3": (math.sqrt(3.0), 2.5127453),
    "rk4": (2.0 * math.sqrt(2.0), 2.7852936),
    "ab2": (0.0, 1.0),
    "ab3": (0.7236, 6.0 / 11.0),
}
"""``method: (imaginary, real)``: the largest ``|lambda dt|`` on the imaginary axis and on the
negative real axis for which ``dx/dt = lambda x`` stays bounded (absolute stability). Sources:
the stability polynomials ``R(z) = sum_{k<=s} z^k / k!`` of the explicit s-stage, order-s
Runge-Kutta methods (s = 1..4: euler; midpoint/heun2; heun3; rk4) and the characteristic
polynomials of Adams-Bashforth 2/3 (Durran 2010, *Numerical Methods for Fluid Dynamics*, 2nd ed.,
sections 2.3-2.4; Hairer & Wanner 1996, *Solving ODEs II*, section IV.2): RK3 ``sqrt(3)`` and
2.5127, RK4 ``2 sqrt(2)`` and 2.7853, AB3 0.7236 and 6/11, AB2 1 on the real axis. An imaginary
limit of 0 means the method amplifies undamped oscillations at every ``dt`` (weakly, by
``1 + O((omega dt)^2)`` (Euler) or ``O((omega dt)^4)`` (RK2, AB2) per step); torchdiffeq's
variable-order Adams methods are not tabulated. ``tests/physics/test_stepping_methods.py`` checks
every entry against the integrators themselves."""


def courant_limit(method: Optional[str] = None) -> float:
    """Largest Courant number ``C = c dt sqrt(1/dx^2 + 1/dy^2)`` of C-grid gravity waves for ``method``.

    The C-grid gravity waves have frequencies up to ``omega_max = 2 c sqrt(1/dx^2 + 1/dy^2)``
    (dispersion relation ``omega^2 = f^2 + 4 c^2 (sin^2(k dx/2)/dx^2 + sin^2(l dy/2)/dy^2)``,
    Mesinger & Arakawa 1976, GARP Publ. 17; ``f`` neglected), so the stable Courant number is
    half the imaginary-axis limit of :data:`STABILITY_LIMITS`. Where that limit is 0 or not
    tabulated (``None``: no method given; euler, midpoint, heun2, ab2, torchdiffeq's Adams
    methods) it is the Courant-Friedrichs-Lewy (1928) domain-of-dependence condition ``C <= 1``,
    necessary for any explicit five-point scheme but not sufficient for those methods.
    """
    imag = STABILITY_LIMITS.get(method, (0.0, 2.0))[0] if method is not None else 0.0
    return imag / 2.0 if imag > 0 else 1.0


def diffusive_limit(method: Optional[str] = None) -> float:
    """Largest ``|lambda| dt`` on the negative real axis for ``method`` (:data:`STABILITY_LIMITS`;
    forward Euler's 2 where not tabulated or ``None``)."""
    return STABILITY_LIMITS.get(method, (0.0, 2.0))[1] if method is not None else 2.0


STARTS = ("rk4", "ab")
ADJOINTS = ("auto", "autograd")

RHS = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class NonFiniteStateError(FloatingPointError):
    """Raised when the integrated state becomes NaN or Inf; names the step and time."""


def _rk4_step(func: RHS, t: torch.Tensor, x: torch.Tensor, dt: float, k1: torch.Tensor) -> torch.Tensor:
    k2 = func(t + dt / 2, x + (dt / 2) * k1)
    k3 = func(t + dt / 2, x + (dt / 2) * k2)
    k4 = func(t + dt, x + dt * k3)
    return x + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def integrate_fixed(
    func: RHS,
    state: torch.Tensor,
    dt: float,
    n_steps: int,
    save_every: int = 1,
    method: str = "ab3",
    t0: float = 0.0,
    start: str = "rk4",
    post_step: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    adjoint: str = "auto",
) -> tuple:
    """Integrate ``dx/dt = func(t, x)`` from ``t0`` for ``n_steps`` steps of ``dt`` [s].

    Args:
        func: right-hand side ``func(t, x) -> dx/dt`` (``t`` a 0-d tensor), same shape as ``x``.
        state: initial state ``x(t0)``, any shape (e.g. ``(B, C, ny, nx)``).
        dt: time step (> 0). n_steps: number of steps (>= 0).
        save_every: keep every ``save_every``-th state (the initial one always).
        method: one of ``METHODS`` (module doc). start: AB3 start-up, ``"rk4"`` or ``"ab"``.
        post_step: optional map applied to each new state (e.g. a spectral filter).
        adjoint: ``"auto"``: when gradients are needed, ``method="ab3"``, no ``post_step`` and
            ``func.discrete_adjoint()`` returns a vjp provider (e.g. :meth:`physics.qg.QG.discrete_adjoint`),
            the AB3 steps after the start-up run as ONE autograd node whose backward is the exact
            transpose of AB3 (:mod:`physics.stepping_adjoint`; same gradient to round-off);
            ``"autograd"``: always record the plain autograd graph.
    Returns:
        ``(times, states)``: ``times`` ``(S,)`` [s] and ``states`` ``(S, *state.shape)`` with
        ``S = 1 + n_steps // save_every`` (states at ``t0 + k * save_every * dt``).
    Raises:
        NonFiniteStateError: a step produced NaN/Inf; the message names the first bad step
        and its time.
        ValueError: from ``func.check_dt(dt, state, method=method)`` when ``func`` has one (e.g.
        :meth:`physics.shallow_water.ShallowWater.check_dt`: ``dt`` beyond the CFL limit of
        ``method``), before the first step.
    """
    check_choice("method", method, METHODS)
    check_choice("start", start, STARTS)
    check_choice("adjoint", adjoint, ADJOINTS)
    dt = check_positive("dt", dt)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    save_every = check_int("save_every", save_every, minimum=1)
    t0 = check_real("t0", t0)
    if not torch.is_tensor(state):
        raise TypeError(f"state must be a torch.Tensor, got {type(state).__name__}")
    if not bool(torch.isfinite(state).all()):
        raise NonFiniteStateError(f"initial state at t = {t0:g} s contains NaN or Inf")
    check_dt = getattr(func, "check_dt", None)
    if callable(check_dt):  # e.g. ShallowWater: a step beyond the CFL limit fails here, not deep in the run
        check_dt(dt, state, method=method)
    times = t0 + dt * torch.arange(n_steps + 1, dtype=torch.float64)
    tt = times.to(dtype=state.dtype if state.is_floating_point() else torch.float64, device=state.device)
    saved, saved_t = [state], [float(times[0])]

    def check(n: int, x_new: torch.Tensor) -> None:  # NaN/Inf propagate into the sum
        if not math.isfinite(float(x_new.detach().sum())):
            raise NonFiniteStateError(
                f"state became non-finite (NaN/Inf) at step {n + 1} of {n_steps}, t = {float(times[n + 1]):g} s "
                f"(method={method!r}, dt={dt:g} s); reduce dt (see check_cfl) or check the model"
            )

    # the discrete adjoint takes over once the AB3 history is full, if a graph would be recorded
    # and a state after that point is saved (else there is nothing to differentiate)
    try_adjoint = adjoint == "auto" and method == "ab3" and post_step is None and torch.is_grad_enabled()
    last_saved = (n_steps // save_every) * save_every
    x = state
    hist: list = []  # previous tendencies, newest first (multistep methods)
    for n in range(n_steps):
        if try_adjoint and len(hist) == 2:
            try_adjoint = False  # decided once
            get = getattr(func, "discrete_adjoint", None)
            adj = get() if callable(get) and last_saved > n and any(v.requires_grad for v in (x, *hist)) else None
            if adj is not None:
                saved.extend(ab3_adjoint_steps(adj, x, hist, tt, n, n_steps, dt, save_every, check))
                saved_t.extend(float(times[k]) for k in range(n + 1, n_steps + 1) if k % save_every == 0)
                break
        t = tt[n]
        f = func(t, x)
        order = {"euler": 1, "rk4": 0, "ab2": 2, "ab3": 3}[method]  # 0: Runge-Kutta
        if order == 3 and len(hist) < 2 and start == "rk4":
            order = 0
        order = min(order, len(hist) + 1) if order else 0  # multistep start-up: Euler, AB2
        if order == 0:
            x_new = _rk4_step(func, t, x, dt, f)
        elif order == 1:
            x_new = torch.add(x, f, alpha=dt)
        elif order == 2:
            x_new = torch.add(x, f, alpha=1.5 * dt).add_(hist[0], alpha=-0.5 * dt)
        else:  # fused: three ops, one new tensor
            b0, b1, b2 = ab3_coefficients(dt)
            x_new = torch.add(x, f, alpha=b0).add_(hist[0], alpha=b1).add_(hist[1], alpha=b2)
        if method in ("ab2", "ab3"):
            hist = ([f] + hist)[: 2 if method == "ab3" else 1]
        if post_step is not None:
            x_new = post_step(x_new)
        check(n, x_new)
        x = x_new
        if (n + 1) % save_every == 0:
            saved.append(x)
            saved_t.append(float(times[n + 1]))
    return torch.tensor(saved_t, dtype=torch.float64), torch.stack(saved)


def check_cfl(u_max: Union[float, torch.Tensor], dt: float, dx: float, cfl_max: float = 1.0) -> float:
    """Courant number ``C = u_max dt / dx``; raise ``ValueError`` naming ``dt`` if ``C > cfl_max``.

    ``u_max`` [m/s] is the largest signal speed (advection or wave speed), ``dx`` [m] the
    smallest grid spacing. Returns ``C``.
    """
    if isinstance(u_max, torch.Tensor):
        u_max = float(u_max.detach().abs().max())
    u_max = abs(check_real("u_max", u_max))
    dt = check_positive("dt", dt)
    dx = check_positive("dx", dx)
    cfl_max = check_positive("cfl_max", cfl_max)
    c = u_max * dt / dx
    if c > cfl_max:
        raise ValueError(
            f"dt = {dt:g} s violates the CFL condition: u_max * dt / dx = {c:.3g} > {cfl_max:g} "
            f"(u_max = {u_max:g} m/s, dx = {dx:g} m); use dt <= {cfl_max * dx / u_max:g} s"
        )
    return c


__all__ = [
    "METHODS", "ADJOINTS", "TORCHDIFFEQ_FIXED_STEP", "STABILITY_LIMITS", "courant_limit", "diffusive_limit",
    "NonFiniteStateError", "integrate_fixed", "check_cfl",
]
