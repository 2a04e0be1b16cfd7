"""Time-dependent, per-sample forcing: time-interpolated fields, wind stress, additive model forcing.

:class:`TimeField` is the one time-interpolated field of the package: values ``v_k`` given at
times ``t_0 < t_1 < ... < t_{T-1}`` [s] are linearly interpolated,

    f(t) = (1 - w) v_k + w v_{k+1},    w = (t - t_k) / (t_{k+1} - t_k),    t_k <= t <= t_{k+1},

for any trailing field shape (a wind map ``(ny, nx)``, a boundary ring ``(n_b,)``, several
channels ``(C, ny, nx)``), shared by a batch (``values`` ``(T, *F)`` -> ``f(t)`` ``(*F)``) or one
per sample (``batched=True``: ``values`` ``(B, T, *F)`` -> ``f(t)`` ``(B, *F)``, so each sample of a
training batch gets its own forcing and, through the open-boundary wrappers, its own boundary values).

Outside ``[t_0, t_{T-1}]`` the default ``outside="clamp"`` holds the end values (``f(t) = v_0``
before, ``v_{T-1}`` after): adaptive torchdiffeq solvers (``dopri5``) step past the last output time
and interpolate back, so a hard error would break them. ``outside="error"`` raises ``ValueError``
for a ``t`` further than ``1e-9 (t_{T-1} - t_0)`` outside the range (the slack absorbs the round-off
of a fixed-step grid that should end exactly on ``t_{T-1}``).

:class:`WindStress` is a :class:`TimeField` of ``(tau_x, tau_y)`` [N/m^2] at the u- and v-points of
:mod:`physics.grid` (or given at cell centres and averaged onto the faces); calling it returns the
pair, so it is directly the ``wind_stress=`` callable of :class:`physics.shallow_water.ShallowWater`
(per-sample ``(B, ny, nx)`` stresses broadcast against the ``(B, ny, nx)`` state fields there).

:class:`Forced` adds a forcing ``F(t)`` to any model, ``dx/dt = model(t, x) + F(t)`` (the
weak-constraint model error of 4D-Var, a source term); :class:`QGWindForcing` is the ``F`` of the
wind on the top QG layer, ``dq_1/dt += curl(tau)(t) / (rho0 H_1)`` with the curl at the corners
by :func:`physics.operators.vorticity` (circulation form with the per-row ``dx_j`` on sphere grids),
zero on walls and land corners (where ``q`` is not prognostic). :func:`wind_forced_qg` combines the
two. Gradients: the values are an ``nn.Parameter`` (``learnable=True`` or given as one; then they are
in ``module.parameters()``, which is what :func:`hybridocean.integrate.odeint` hands the continuous
adjoint), a buffer (fixed data), or any tensor that requires grad (e.g. a network's output; plain
autograd through ``odeint`` works, for ``adjoint=True`` pass it in ``adjoint_params``).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from . import operators as op
from ._checks import check_choice, check_finite, check_positive
from .grid import Grid, require_grid

OUTSIDE = ("clamp", "error")
_SLACK = 1e-9  # relative to the time span: round-off of a fixed-step grid ending on t_{T-1}

Times = Union[torch.Tensor, Sequence[float]]
Time = Union[float, torch.Tensor]  # a scalar time [s]


def _check_times(times: Times) -> torch.Tensor:
    """``times`` as a float64 1-D tensor (>= 1 entry), finite and strictly increasing."""
    if not torch.is_tensor(times):
        try:
            times = torch.as_tensor(times, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"times must be a 1-D tensor or sequence of times [s], got {type(times).__name__}") from None
    if times.is_complex() or times.dtype == torch.bool:
        raise TypeError(f"times must hold real times [s], got dtype {times.dtype}")
    times = times.detach().to(device="cpu", dtype=torch.float64)
    if times.dim() != 1 or times.numel() < 1:
        raise ValueError(f"times must be 1-D with at least one time [s], got shape {tuple(times.shape)}")
    if not bool(torch.isfinite(times).all()):
        raise ValueError("times contains non-finite values (NaN or Inf)")
    if times.numel() > 1 and not bool((times[1:] > times[:-1]).all()):
        k = int(torch.nonzero(times[1:] <= times[:-1])[0, 0])
        raise ValueError(f"times must be strictly increasing, but times[{k + 1}] = {float(times[k + 1])!r} "
                         f"<= times[{k}] = {float(times[k])!r}")
    return times


def _check_values(name: str, values: torch.Tensor, n_times: int, batched: bool) -> None:
    if not torch.is_tensor(values):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(values).__name__}")
    if not values.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {values.dtype}")
    tdim = 1 if batched else 0
    layout = "(batch, time, ...)" if batched else "(time, ...)"
    if values.dim() <= tdim or values.shape[tdim] != n_times:
        raise ValueError(f"{name} must be shaped {layout} with {n_times} times (one per entry of times), "
                         f"got shape {tuple(values.shape)}")
    if batched and values.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one sample, got shape {tuple(values.shape)}")
    if not bool(torch.isfinite(values.detach()).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or Inf)")


def _scalar_time(t) -> float:
    if torch.is_tensor(t):
        if t.numel() != 1:
            raise ValueError(f"t must be a scalar time [s], got shape {tuple(t.shape)}")
        return float(t.detach().reshape(()))
    try:
        return float(t)
    except (TypeError, ValueError):
        raise TypeError(f"t must be a real scalar time [s], got {type(t).__name__}") from None


class TimeField(nn.Module):
    """A field linearly interpolated in time (module docstring); ``field(t) -> (*F)`` or ``(B, *F)``.

    Args:
        times: ``(T,)`` strictly increasing times [s] (``T >= 1``; one time: a constant field).
        values: ``(T, *F)`` (shared by every sample) or, with ``batched=True``, ``(B, T, *F)`` (one
            per sample), floating point, finite; any units (the field's).
        batched: whether ``values`` has the leading sample dimension.
        outside: ``"clamp"`` (hold the end values) or ``"error"`` for a ``t`` outside the range.
        learnable: store ``values`` as a new ``nn.Parameter`` (a copy), to be trained or differentiated
            by the continuous adjoint. An ``nn.Parameter`` given as ``values`` is kept as is (gradients
            accumulate in it); a tensor that requires grad is kept in the graph; else a buffer.
        name: the argument name in error messages (e.g. ``"tau_x"``).

    ``field(t)`` is differentiable w.r.t. ``values``, not w.r.t. ``t`` (the weight ``w`` is computed as
    a Python float: torchdiffeq does not need ``d/dt`` unless the output times require grad).
    """

    def __init__(self, times: Times, values: torch.Tensor, batched: bool = False, outside: str = "clamp",
                 learnable: bool = False, name: str = "values") -> None:
        super().__init__()
        if not isinstance(batched, bool):
            raise TypeError(f"batched must be a bool, got {type(batched).__name__}")
        self.outside = check_choice("outside", outside, OUTSIDE)
        times = _check_times(times)
        _check_values(name, values, times.numel(), batched)
        self.batched = batched
        self.name = name
        self._t = times.tolist()  # python floats: the interval search costs no tensor op
        self.register_buffer("times", times.to(values.device), persistent=False)
        if learnable and not isinstance(values, nn.Parameter):
            values = nn.Parameter(values.detach().clone())
        if isinstance(values, nn.Parameter):
            self.values = values
        elif values.requires_grad:
            self.values = values  # a plain attribute: keeps the caller's graph (adjoint: adjoint_params)
        else:
            self.register_buffer("values", values)

    @property
    def batch_size(self) -> Optional[int]:
        """``B`` of a batched field, ``None`` for a shared one."""
        return int(self.values.shape[0]) if self.batched else None

    @property
    def field_shape(self) -> Tuple[int, ...]:
        """``F``: the trailing shape of ``field(t)`` (without the sample dimension)."""
        return tuple(self.values.shape[2 if self.batched else 1:])

    def interval(self, t: Time) -> Tuple[int, float]:
        """``(k, w)`` with ``f(t) = (1 - w) v_k + w v_{k+1}`` (``w = 0`` and ``k = T - 1`` past the end)."""
        s = _scalar_time(t)
        ts = self._t
        if self.outside == "error":
            slack = _SLACK * (ts[-1] - ts[0])
            if s < ts[0] - slack or s > ts[-1] + slack:
                raise ValueError(f"t = {s!r} s is outside the times of {self.name} [{ts[0]!r}, {ts[-1]!r}] "
                                 "(outside='error'; outside='clamp' holds the end values)")
        if s <= ts[0] or len(ts) == 1:
            return 0, 0.0
        if s >= ts[-1]:
            return len(ts) - 1, 0.0
        lo, hi = 0, len(ts) - 1  # bisection: ts[lo] <= s < ts[hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ts[mid] <= s:
                lo = mid
            else:
                hi = mid
        return lo, (s - ts[lo]) / (ts[hi] - ts[lo])

    def forward(self, t: Time) -> torch.Tensor:
        """``f(t)``: ``(*F)`` or ``(B, *F)`` in ``values``' dtype (``t`` a scalar time [s])."""
        k, w = self.interval(t)
        v = self.values
        a = v[:, k] if self.batched else v[k]
        if w == 0.0:
            return a
        b = v[:, k + 1] if self.batched else v[k + 1]
        return a + w * (b - a)

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, times={len(self._t)}, batch={self.batch_size}, field={self.field_shape}, "
                f"outside={self.outside!r}")


def centers_to_faces(tau_x: torch.Tensor, tau_y: torch.Tensor, grid: Grid) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cell-centre stresses onto the faces: ``tau_x`` at u-points ``(tau_x[i-1] + tau_x[i]) / 2``,
    ``tau_y`` at v-points ``(tau_y[j-1] + tau_y[j]) / 2`` (:func:`physics.operators.avg_backward`;
    closed grids: the west/south wall face takes the adjacent value, a normal velocity that the models
    mask anyway). Shapes ``(..., ny, nx)`` in, the same out, units unchanged."""
    return op.avg_backward(tau_x, grid, "x", "neumann"), op.avg_backward(tau_y, grid, "y", "neumann")


class WindStress(nn.Module):
    """Wind stress ``(tau_x, tau_y)`` [N/m^2] linearly interpolated in time; ``wind(t) -> (tau_x, tau_y)``.

    Args:
        times: ``(T,)`` times [s] (see :class:`TimeField`).
        tau_x, tau_y: ``(T, ny, nx)`` or, with ``batched=True``, ``(B, T, ny, nx)`` each: the eastward and
            northward stresses at u- and v-points (``loc="uv"``) or at cell centres (``loc="center"``,
            averaged onto the faces by :func:`centers_to_faces` once, at construction; needs ``grid``).
        grid: the model's :class:`~physics.grid.Grid`: checks the trailing ``(ny, nx)``; required for
            ``loc="center"``.
        batched, outside, learnable: as in :class:`TimeField` (``learnable``: the face values are the
            parameter).

    Each call returns ``(ny, nx)`` (shared) or ``(B, ny, nx)`` (per sample) tensors at u/v points.
    """

    def __init__(self, times: Times, tau_x: torch.Tensor, tau_y: torch.Tensor, grid: Optional[Grid] = None,
                 loc: str = "uv", batched: bool = False, outside: str = "clamp", learnable: bool = False) -> None:
        super().__init__()
        loc = check_choice("loc", loc, ("uv", "center"))
        for name, tau in (("tau_x", tau_x), ("tau_y", tau_y)):
            if not torch.is_tensor(tau):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(tau).__name__}")
            if tau.dim() != (4 if batched else 3):
                layout = "(batch, time, ny, nx)" if batched else "(time, ny, nx)"
                raise ValueError(f"{name} must be shaped {layout}, got shape {tuple(tau.shape)}")
        if tau_x.shape != tau_y.shape:
            raise ValueError(f"tau_y must have the shape of tau_x {tuple(tau_x.shape)}, got {tuple(tau_y.shape)}")
        if grid is not None:
            require_grid(grid)
            if tuple(tau_x.shape[-2:]) != grid.shape:
                raise ValueError(f"tau_x, tau_y must have trailing shape (ny, nx) = {grid.shape} of grid, "
                                 f"got {tuple(tau_x.shape[-2:])}")
        if loc == "center":
            if grid is None:
                raise ValueError("grid is needed for loc='center' (to average the stresses onto the faces)")
            tau_x, tau_y = centers_to_faces(tau_x, tau_y, grid)
        self.loc = loc
        self.field = TimeField(times, torch.stack((tau_x, tau_y), dim=-3), batched=batched, outside=outside,
                               learnable=learnable, name="tau_x, tau_y")

    @property
    def batch_size(self) -> Optional[int]:
        """``B`` of a per-sample wind, ``None`` for a shared one."""
        return self.field.batch_size

    def forward(self, t: Time) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(tau_x, tau_y)`` at time ``t`` [s], at u- and v-points, ``(ny, nx)`` or ``(B, ny, nx)`` [N/m^2]."""
        tau = self.field(t)
        return tau[..., 0, :, :], tau[..., 1, :, :]


WindLike = Union[WindStress, Callable[[torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]]
ForcingLike = Union[torch.Tensor, TimeField, Callable[[torch.Tensor], torch.Tensor]]


class QGWindForcing(nn.Module):
    """The wind source of the top QG layer: ``F(t)`` ``(N, ny, nx)`` or ``(B, N, ny, nx)`` [1/s^2] with

        F_1 = mask_q * curl(tau)(t) / (rho0 H_1),   F_i = 0 for i > 1,

    ``curl(tau) = d tau_y/dx - d tau_x/dy`` at the corners (:func:`physics.operators.vorticity`: on a
    sphere grid the circulation of ``tau`` around each corner cell over its area, with per-row
    ``dx_j``) and ``mask_q`` the model's corner mask (walls, land: ``dq/dt = 0``).

    Args:
        model: a :class:`physics.qg.QG` (its ``grid``, ``mask``, ``nlayers``, ``rho0`` and ``H[0]``).
        wind: a :class:`WindStress` or any callable ``t -> (tau_x, tau_y)`` at u/v points [N/m^2].
        H1: top-layer thickness [m] when the model has none (``QG(grid, Ld=...)`` without ``H``).
    """

    def __init__(self, model: nn.Module, wind: WindLike, H1: Optional[float] = None) -> None:
        super().__init__()
        for attr in ("grid", "mask", "nlayers", "rho0"):
            if not hasattr(model, attr):
                raise TypeError(f"model must be a physics.qg.QG (no attribute {attr!r}), got {type(model).__name__}")
        if not callable(wind):
            raise TypeError(f"wind must be a WindStress or a callable t -> (tau_x, tau_y), got {type(wind).__name__}")
        H = getattr(model, "H", None)
        if H1 is None and H is None:
            raise ValueError("H1 (top-layer thickness [m]) is needed: the model has no H")
        self.H1 = check_positive("H1", H1) if H1 is not None else float(H[0])
        self.model_ref = (model,)  # not a submodule: Forced owns the model once
        self.wind = wind
        self.scale = 1.0 / (float(model.rho0) * self.H1)

    def forward(self, t: Time) -> torch.Tensor:
        """``F(t)`` ``(N, ny, nx)`` (shared wind) or ``(B, N, ny, nx)`` (per-sample wind) [1/s^2]."""
        model = self.model_ref[0]
        grid = model.grid
        out = self.wind(t)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError("wind(t) must return a (tau_x, tau_y) pair of tensors")
        tau_x, tau_y = out
        for name, tau in (("wind(t)[0] (tau_x)", tau_x), ("wind(t)[1] (tau_y)", tau_y)):
            if not torch.is_tensor(tau) or tau.dim() not in (2, 3) or tuple(tau.shape[-2:]) != grid.shape:
                got = tuple(tau.shape) if torch.is_tensor(tau) else type(tau).__name__
                raise ValueError(f"{name} must be a tensor (ny, nx) or (B, ny, nx) with (ny, nx) = {grid.shape}, got {got}")
            if not isinstance(self.wind, WindStress):  # a WindStress was checked at construction
                if not tau.is_floating_point():
                    raise TypeError(f"{name} must be a floating-point tensor [N/m^2], got dtype {tau.dtype}")
                check_finite(name, tau)
        curl = op.vorticity(tau_x, tau_y, grid) * (self.scale * model.mask.to(tau_x.dtype))
        top = curl.unsqueeze(-3)
        if model.nlayers == 1:
            return top
        rest = torch.zeros(top.shape[:-3] + (model.nlayers - 1,) + top.shape[-2:], dtype=top.dtype, device=top.device)
        return torch.cat((top, rest), dim=-3)


class Forced(nn.Module):
    """``forward(t, x) = model(t, x) + F(t)``: an additive forcing on any model state.

    Args:
        model: any ``nn.Module`` with ``forward(t, x)`` (``CHANNELS``, ``grid`` and ``check_dt`` are passed
            through when it has them).
        forcing: ``F``: a tensor ``(C, ny, nx)`` (constant, shared) or ``(B, C, ny, nx)`` (per sample), a
            :class:`TimeField` / callable ``t -> `` such a tensor (e.g. :class:`QGWindForcing`), in the
            state's units per second. It is added as is: zero it where the model's state is not
            prognostic (QG walls and land: :class:`QGWindForcing` does).

    The forcing is cast to the state's dtype; a shape that is neither the state's nor its trailing
    ``(C, ny, nx)`` raises ``ValueError`` naming ``forcing`` (so a per-sample forcing of the wrong
    batch size fails).
    """

    def __init__(self, model: nn.Module, forcing: ForcingLike) -> None:
        super().__init__()
        if not callable(model):
            raise TypeError(f"model must be a callable (t, x) -> dx/dt, got {type(model).__name__}")
        if not (torch.is_tensor(forcing) or callable(forcing)):
            raise TypeError(f"forcing must be a tensor or a callable t -> tensor, got {type(forcing).__name__}")
        if torch.is_tensor(forcing):
            if not forcing.is_floating_point():
                raise TypeError(f"forcing must be a floating-point tensor, got dtype {forcing.dtype}")
            if not bool(torch.isfinite(forcing.detach()).all()):
                raise ValueError("forcing contains non-finite values (NaN or Inf)")
        self.model = model
        if torch.is_tensor(forcing) and not forcing.requires_grad:
            self.register_buffer("forcing", forcing, persistent=False)  # moves with .to(device)
        else:  # a module (TimeField, QGWindForcing) is registered with its parameters; a tensor that
            self.forcing = forcing  # requires grad (a 4D-Var control) stays in the caller's graph

    @property
    def CHANNELS(self) -> tuple:  # noqa: N802 (the models' attribute)
        """The wrapped model's ``CHANNELS``."""
        return self.model.CHANNELS

    @property
    def grid(self) -> Grid:
        """The wrapped model's grid."""
        return self.model.grid

    def check_dt(self, *args, **kwargs) -> Optional[float]:
        """The wrapped model's ``check_dt`` (CFL), when it has one."""
        check = getattr(self.model, "check_dt", None)
        return check(*args, **kwargs) if callable(check) else None

    def force(self, t: Time, x: torch.Tensor) -> torch.Tensor:
        """``F(t)`` checked against the state ``x`` and cast to its dtype."""
        F = self.forcing(t) if callable(self.forcing) and not torch.is_tensor(self.forcing) else self.forcing
        if not torch.is_tensor(F):
            raise TypeError(f"forcing(t) must return a tensor, got {type(F).__name__}")
        if tuple(F.shape) not in (tuple(x.shape), tuple(x.shape[1:])):
            raise ValueError(f"forcing must have the state's shape {tuple(x.shape)} or its trailing "
                             f"{tuple(x.shape[1:])} (batch size {x.shape[0]}), got {tuple(F.shape)}")
        return F.to(x.dtype)

    def forward(self, t: Time, x: torch.Tensor) -> torch.Tensor:
        """``model(t, x) + F(t)``, shaped like ``x``."""
        return self.model(t, x) + self.force(t, x)


def wind_forced_qg(model: nn.Module, wind: WindLike, H1: Optional[float] = None) -> Forced:
    """``Forced(model, QGWindForcing(model, wind, H1))``: a QG model driven by a time-dependent wind."""
    return Forced(model, QGWindForcing(model, wind, H1))


__all__ = ["TimeField", "WindStress", "centers_to_faces", "QGWindForcing", "Forced", "wind_forced_qg", "OUTSIDE"]
