"""Physical parameters that can be fixed or learned, always inside their physical range.

A learnable parameter ``p`` is stored as an unconstrained tensor ``r`` and mapped to its
physical range by a smooth bijection:

* lower bound only (``p > lower``): ``p = lower + exp(r) * scale`` (log-parameterisation:
  relative steps, scale-free gradients);
* both bounds (``lower < p < upper``): ``p = lower + (upper - lower) * sigmoid(r)``;
* no bound: ``p = r * scale``.

``scale`` is the initial magnitude, so ``r`` is O(1) whatever the units. ``.value`` always
returns the parameter in physical units (same shape as the initial value).

Every model's ``learnable`` argument is parsed by ONE function, :func:`parse_learnable`
(through :func:`make_parameters`): ``True`` (all that can be learned in the model's
configuration), ``False``/``None``, one name (``"Ld"``) or an iterable of names.
"""
from __future__ import annotations

from typing import FrozenSet, Iterable, Mapping, Optional, Union

import torch
from torch import nn

Number = Union[float, int, torch.Tensor]


class PhysicalParameter(nn.Module):
    """A scalar or tensor physical parameter, fixed (buffer) or learnable (``nn.Parameter``).

    Args:
        name: name used in error messages (e.g. ``"beta"``).
        value: initial value in physical units (float or tensor).
        learnable: if True the raw value is an ``nn.Parameter``.
        lower: strict lower bound (``None`` for none). Default 0: positive parameters.
        upper: strict upper bound (``None`` for none).
    """

    def __init__(
        self,
        name: str,
        value: Number,
        learnable: bool = False,
        lower: Optional[float] = 0.0,
        upper: Optional[float] = None,
    ) -> None:
        super().__init__()
        self.name = name
        # Python numbers are kept in float64: a 0-dim float64 tensor does not promote float32
        # fields (torch type promotion), so one parameter serves float32 and float64 models.
        dtype = value.dtype if torch.is_tensor(value) and value.is_floating_point() else torch.float64
        v = torch.as_tensor(value, dtype=dtype).detach().clone()
        if not torch.isfinite(v).all():
            raise ValueError(f"{name} must be finite, got {value!r}")
        if lower is not None and bool((v <= lower).any()):
            raise ValueError(f"{name} must be > {lower}, got {value!r}")
        if upper is not None and bool((v >= upper).any()):
            raise ValueError(f"{name} must be < {upper}, got {value!r}")
        self.lower = lower
        self.upper = upper
        self.learnable = bool(learnable)
        if lower is not None and upper is None:
            scale = torch.clamp((v - lower).abs(), min=torch.finfo(v.dtype).tiny)
            self._kind = "log"
            raw = torch.zeros_like(v)
        elif lower is not None and upper is not None:
            scale = torch.ones_like(v)
            frac = (v - lower) / (upper - lower)
            raw = torch.log(frac) - torch.log1p(-frac)
            self._kind = "sigmoid"
        else:
            scale = torch.where(v == 0, torch.ones_like(v), v.abs())
            raw = v / scale
            self._kind = "linear"
        self.register_buffer("scale", scale)
        if self.learnable:
            self.raw = nn.Parameter(raw)
        else:
            self.register_buffer("raw", raw)

    @property
    def value(self) -> torch.Tensor:
        """The parameter in physical units (differentiable w.r.t. ``raw``)."""
        if self._kind == "log":
            return self.lower + torch.exp(self.raw) * self.scale
        if self._kind == "sigmoid":
            return self.lower + (self.upper - self.lower) * torch.sigmoid(self.raw)
        return self.raw * self.scale

    def forward(self) -> torch.Tensor:  # pragma: no cover - alias
        return self.value

    def extra_repr(self) -> str:
        v = self.value.detach()
        shown = f"{float(v):.6g}" if v.numel() == 1 else f"tensor{tuple(v.shape)}"
        return f"{self.name}={shown}, learnable={self.learnable}"


Learnable = Union[bool, None, str, Iterable[str]]


def parse_learnable(
    learnable: Learnable,
    names: Iterable[str],
    owner: str = "model",
    unavailable: Optional[Mapping[str, str]] = None,
) -> FrozenSet[str]:
    """The ONE parser of every model's ``learnable`` argument: the set of names to learn.

    Args:
        learnable: ``True`` (every parameter that CAN be learned in this configuration),
            ``False``/``None`` (none), one name (``"Ld"``) or an iterable of names.
        names: the parameters the model has in this configuration (e.g. ``("g", "H")``).
        owner: model name used in error messages (e.g. ``"QG"``).
        unavailable: ``{name: reason}`` for parameters of the model that cannot be learned in
            this configuration (a term switched off by a value of 0, a parameter the chosen
            variant lacks). ``True`` skips them; naming one raises ``ValueError`` with ``reason``.
    Returns:
        ``frozenset`` of names, a subset of ``names``.
    Raises:
        TypeError: ``learnable`` (or one of its items) is not a bool, a string or strings.
        ValueError: an unknown name (the message lists the valid ones), or an unavailable one.
    """
    names = tuple(names)
    unavailable = dict(unavailable or {})
    if learnable is True:
        return frozenset(n for n in names if n not in unavailable)
    if learnable is False or learnable is None:
        return frozenset()
    if isinstance(learnable, str):
        asked = (learnable,)
    elif isinstance(learnable, Iterable) and not torch.is_tensor(learnable):
        asked = tuple(learnable)
    else:
        raise TypeError(
            f"learnable must be True, False, a parameter name or an iterable of names, got "
            f"{type(learnable).__name__}"
        )
    for a in asked:
        if not isinstance(a, str):
            raise TypeError(f"learnable must contain parameter names (str), got {a!r} ({type(a).__name__})")
    for a in asked:
        if a in unavailable:
            raise ValueError(f"learnable name {a!r} cannot be learned here: {unavailable[a]}")
    unknown = sorted(set(asked) - set(names))
    if unknown:
        valid = [n for n in names if n not in unavailable]
        raise ValueError(
            f"learnable names {unknown} are not parameters of {owner}; expected a subset of {valid}"
        )
    return frozenset(asked)


def switched_off(values: Mapping[str, Number], switchable: Iterable[str]) -> dict:
    """``{name: reason}`` for the ``switchable`` entries of ``values`` that are exactly 0.

    A 0 switches a term off (e.g. ``drag=0``: no drag); a log-parameterised value cannot leave
    0, so such a parameter is a fixed zero, not learnable (see :func:`make_parameters`).
    """
    return {
        k: f"{k} must be > 0 to be learnable (it is log-parameterised), got 0"
        for k in switchable if k in values and float(values[k]) == 0.0
    }


def make_parameters(
    module: nn.Module,
    values: Mapping[str, Number],
    learnable: Learnable = (),
    bounds: Optional[Mapping[str, tuple]] = None,
    switchable: Iterable[str] = (),
    unavailable: Optional[Mapping[str, str]] = None,
) -> FrozenSet[str]:
    """Attach a :class:`PhysicalParameter` per entry of ``values`` to ``module``; return the learned names.

    Each is reachable as ``module.params[name]``, its value in physical units as
    ``module.params[name].value``. ``learnable`` is parsed by :func:`parse_learnable` (``True``:
    all that can be learned, ``False``/``None``, one name, or names). ``bounds[name] = (lower,
    upper)``; default ``(0, None)`` (positive). ``switchable`` names a term switched off by a
    value of 0 (:func:`switched_off`): it becomes a fixed, unbounded zero that ``True`` does not
    learn and that raises when named. ``unavailable``: further ``{name: reason}`` (see
    :func:`parse_learnable`). Unknown names raise ``ValueError``.
    """
    bounds = dict(bounds or {})
    off = switched_off(values, switchable)
    for k in off:
        bounds[k] = (None, None)  # a fixed zero (a log-parameterisation cannot represent 0)
    names = parse_learnable(learnable, values, type(module).__name__, {**off, **dict(unavailable or {})})
    module.params = nn.ModuleDict(
        {
            k: PhysicalParameter(k, v, learnable=k in names, **_bounds_kw(bounds.get(k, (0.0, None))))
            for k, v in values.items()
        }
    )
    return names


def _bounds_kw(b: tuple) -> dict:
    lower, upper = b
    return {"lower": lower, "upper": upper}


def parameter_values(module: nn.Module) -> dict:
    """Return ``{name: float or list}`` of every :class:`PhysicalParameter` in ``module``."""
    out = {}
    for name, m in module.named_modules():
        if isinstance(m, PhysicalParameter):
            v = m.value.detach().cpu()
            out[m.name if name.startswith("params.") else name] = float(v) if v.numel() == 1 else v.tolist()
    return out


__all__ = ["PhysicalParameter", "Learnable", "parse_learnable", "switched_off", "make_parameters", "parameter_values"]
