"""The one time-integration entry point of ``hybridocean``: :func:`odeint` over torchdiffeq.

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

FIXED_STEP_METHODS = ("euler", "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams")
"""torchdiffeq methods that take a ``step_size`` option instead of adapting the step."""


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


def check_time_grid(t: Any, name: str = "t") -> None:
    """Raise unless ``t`` is a finite 1-D tensor of at least 2 strictly increasing times."""
    if not torch.is_tensor(t):
        raise TypeError(f"{name} must be a 1-D torch.Tensor of times, got {type(t).__name__}")
    if t.dim() != 1 or t.numel() < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 times, got shape {tuple(t.shape)}")
    check_finite(name, t)
    if not bool((t[1:] > t[:-1]).all()):
        k = int(torch.nonzero(t[1:] <= t[:-1])[0, 0])
        raise ValueError(
            f"{name} must be strictly increasing, but {name}[{k + 1}] = {float(t[k + 1])!r} <= "
            f"{name}[{k}] = {float(t[k])!r}"
        )


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
        y0: initial states ``(batch, *state)``, finite.
        t: times ``(T,)``, strictly increasing, same dtype/device as ``y0`` (cast if not).
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

    Raises:
        ValueError/TypeError naming ``t`` (not 1-D / not strictly increasing), ``y0`` (not a
        tensor, no batch dim, non-finite), ``step_size`` (non-positive or given to an adaptive
        method), ``func`` (output shape differs from the state's).
    """
    if not torch.is_tensor(y0):
        raise TypeError(f"y0 must be a torch.Tensor (batch, *state), got {type(y0).__name__}")
    if y0.dim() < 2:
        raise ValueError(f"y0 must be shaped (batch, *state) with at least 2 dims, got {tuple(y0.shape)}")
    check_finite("y0", y0)
    check_time_grid(t, "t")
    t = t.to(dtype=y0.dtype, device=y0.device)
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
