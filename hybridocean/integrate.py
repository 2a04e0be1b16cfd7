"""The trajectory-integration entry point of ``hybridocean``: :func:`odeint` over torchdiffeq.

(The other one, :func:`physics.stepping.integrate_fixed`, is the fixed-step, time-first stepper
for long physics runs; README "Time integration" compares the two.)

It solves the initial-value problem

    dX/dt = func(t, X),    X(t[0]) = y0,

and returns the states at every time of ``t`` **batch first**, ``(batch, T, *state)``, the layout
of :class:`hybridocean.trajectories.Trajectories.x`. Gradients flow either by plain backprop through
the solver's operations (memory grows with the number of steps) or by the continuous adjoint
(``adjoint=True``: :func:`torchdiffeq.odeint_adjoint` re-solves the augmented system backwards in
time; memory independent of the horizon, gradients exact up to the solver tolerance).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import torch
import torchdiffeq
from torch import nn

from physics._checks import check_finite, check_positive
from physics.stepping import TORCHDIFFEQ_FIXED_STEP

FIXED_STEP_METHODS = TORCHDIFFEQ_FIXED_STEP
"""torchdiffeq methods that take a ``step_size`` option instead of adapting the step (the one list,
:data:`physics.stepping.TORCHDIFFEQ_FIXED_STEP`)."""


class _CheckedField(nn.Module):
    """Wraps ``func`` so that every evaluation is checked to return a tensor of the state's shape.

    Being an ``nn.Module`` that owns ``func`` (when ``func`` is one), its ``parameters()`` are
    exactly ``func``'s: what the adjoint needs to integrate the parameter gradients.
    """

    def __init__(self, func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.func = func  # registered as a submodule when it is an nn.Module

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        dx = self.func(t, x)
        if not torch.is_tensor(dx) or dx.shape != x.shape:
            got = tuple(dx.shape) if torch.is_tensor(dx) else type(dx).__name__
            raise ValueError(
                f"func must return dX/dt with the state's shape {tuple(x.shape)}, got {got}"
            )
        return dx


def check_time_grid(t: Any, name: str = "t", dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Return ``t`` (cast to ``dtype`` when given) after checking it is a finite 1-D tensor of at
    least 2 strictly increasing times -- checked in the dtype that will be used, so times that are
    distinct in float64 but round to the same float32 value (``1e8`` and ``1e8 + 0.5``) are refused.

    Raises:
        TypeError: ``t`` is not a tensor, or not of a real (integer or floating) dtype.
        ValueError: naming ``t``: not 1-D with >= 2 entries, non-finite (also after the cast),
            not strictly increasing (also after the cast; the message gives both values).
    """
    if not torch.is_tensor(t):
        raise TypeError(f"{name} must be a 1-D torch.Tensor of times, got {type(t).__name__}")
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold real times, got dtype {t.dtype}")
    if t.dim() != 1 or t.numel() < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 times, got shape {tuple(t.shape)}")
    checked = [(t, "")]
    if dtype is not None and dtype != t.dtype:
        checked.append((t.to(dtype), f" once cast to {dtype} (the dtype of the state)"))
    for tt, how in checked:
        if not bool(torch.isfinite(tt).all()):
            raise ValueError(f"{name} contains non-finite values (NaN or Inf){how}")
        if not bool((tt[1:] > tt[:-1]).all()):
            k = int(torch.nonzero(tt[1:] <= tt[:-1])[0, 0])
            raise ValueError(
                f"{name} must be strictly increasing{how}, but {name}[{k + 1}] = {float(tt[k + 1])!r} <= "
                f"{name}[{k}] = {float(tt[k])!r}"
                + (f" (given {float(t[k + 1])!r} and {float(t[k])!r})" if how else "")
            )
    return checked[-1][0]


def odeint(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    adjoint: bool = False,
    method: str = "dopri5",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    options: Optional[Mapping[str, Any]] = None,
    step_size: Optional[float] = None,
    adjoint_params: Optional[Sequence[torch.Tensor]] = None,
) -> torch.Tensor:
    """Integrate ``dX/dt = func(t, X)`` from ``X(t[0]) = y0``; return ``X`` at all ``t``, batch first.

    Args:
        func: right-hand side ``(t: scalar tensor, X: (batch, *state)) -> (batch, *state)``; an
            ``nn.Module`` (e.g. :class:`hybridocean.hybrid.HybridModel`) or any callable.
        y0: initial states ``(batch, *state)``, finite, of a floating dtype.
        t: times ``(T,)``, strictly increasing -- also once cast to ``y0``'s dtype and device, which
            is what the solver uses (:func:`check_time_grid`).
        adjoint: if True use :func:`torchdiffeq.odeint_adjoint` (memory O(1) in the number of
            steps); the parameters whose gradients it integrates are ``func.parameters()`` when
            ``func`` is an ``nn.Module``, else ``adjoint_params`` (default none: only ``y0``).
        method: any torchdiffeq method (``"dopri5"``, ``"rk4"``, ``"euler"``, ...).
        rtol, atol: tolerances of adaptive methods (also used for the adjoint solve).
        options: solver options passed through (e.g. ``{"step_size": 0.1}``, ``{"first_step": ...}``).
        step_size: shortcut for ``options["step_size"]`` of fixed-step methods.
        adjoint_params: explicit parameters for the adjoint (overrides ``func.parameters()``).

    Returns:
        ``(batch, T, *state)`` states; ``[:, 0]`` equals ``y0``.

    Before integrating with a fixed-step method, ``func.check_dt(step, y0, method=method)`` is
    called when ``func`` has one (e.g. :meth:`physics.shallow_water.ShallowWater.check_dt`: a step
    beyond the CFL limit fails here, naming ``dt``); the step is ``step_size``, or without it the
    largest spacing of ``t`` (the steps torchdiffeq then takes).

    Raises:
        ValueError/TypeError naming ``t`` (not 1-D / not strictly increasing, also in ``y0``'s
        dtype), ``y0`` (not a tensor, not floating point, no batch dim, non-finite), ``step_size``
        (non-positive or given to an adaptive method), ``func`` (output shape differs from the
        state's), ``dt`` (``func.check_dt``).
    """
    if not torch.is_tensor(y0):
        raise TypeError(f"y0 must be a torch.Tensor (batch, *state), got {type(y0).__name__}")
    if y0.dim() < 2:
        raise ValueError(f"y0 must be shaped (batch, *state) with at least 2 dims, got {tuple(y0.shape)}")
    if not y0.is_floating_point():
        raise TypeError(f"y0 must be a floating-point tensor (e.g. float32 or float64), got dtype {y0.dtype}")
    check_finite("y0", y0)
    t = check_time_grid(t, "t", dtype=y0.dtype).to(device=y0.device)
    opts = dict(options or {})
    if step_size is not None:
        opts["step_size"] = check_positive("step_size", step_size)
    if "step_size" in opts and method not in FIXED_STEP_METHODS:
        raise ValueError(
            f"step_size is for fixed-step methods {FIXED_STEP_METHODS}; method {method!r} adapts its step "
            "(use rtol/atol, or options={'first_step': ...})"
        )
    check_positive("rtol", rtol)
    check_positive("atol", atol)
    check_dt = getattr(func, "check_dt", None)
    if method in FIXED_STEP_METHODS and callable(check_dt) and "grid_constructor" not in opts:
        step = opts["step_size"] if "step_size" in opts else float((t[1:] - t[:-1]).max())
        check_dt(step, y0, method=method)
    field = _CheckedField(func)
    kwargs = dict(rtol=rtol, atol=atol, method=method, options=opts or None)
    if adjoint:
        if adjoint_params is None:
            adjoint_params = tuple(field.parameters())
        out = torchdiffeq.odeint_adjoint(field, y0, t, adjoint_params=tuple(adjoint_params), **kwargs)
    else:
        out = torchdiffeq.odeint(field, y0, t, **kwargs)
    return out.movedim(0, 1)


__all__ = ["odeint", "check_time_grid", "FIXED_STEP_METHODS"]
