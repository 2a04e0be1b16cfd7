"""Physical parameters that can be fixed or learned, always inside their physical range.

A learnable parameter ``p`` is stored as an unconstrained tensor ``r`` and mapped to its
physical range by a smooth bijection:

* lower bound only (``p > lower``): ``p = lower + exp(r) * scale`` (log-parameterisation:
  relative steps, scale-free gradients);
* both bounds (``lower < p < upper``): ``p = lower + (upper - lower) * sigmoid(r)``;
* no bound: ``p = r * scale``.

``scale`` is the initial magnitude, so ``r`` is O(1) whatever the units. ``.value`` always
returns the parameter in physical units (same shape as the initial value).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Optional, Union

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


def make_parameters(
    module: nn.Module,
    values: Mapping[str, Number],
    learnable: Union[bool, Iterable[str]] = (),
    bounds: Optional[Mapping[str, tuple]] = None,
) -> None:
    """Attach a :class:`PhysicalParameter` per entry of ``values`` to ``module``.

    Each is reachable as ``module.params[name]``, its value in physical units as
    ``module.params[name].value``. ``learnable`` is ``True`` (all), ``False`` or a collection of names.
    ``bounds[name] = (lower, upper)``; default ``(0, None)`` (positive).
    Unknown names in ``learnable`` raise ``ValueError``.
    """
    bounds = dict(bounds or {})
    if learnable is True:
        names = set(values)
    elif learnable is False or learnable is None:
        names = set()
    else:
        if isinstance(learnable, str):
            learnable = (learnable,)
        names = set(learnable)
        unknown = names - set(values)
        if unknown:
            raise ValueError(
                f"learnable names {sorted(unknown)} are not parameters of "
                f"{type(module).__name__}; expected a subset of {sorted(values)}"
            )
    module.params = nn.ModuleDict(
        {
            k: PhysicalParameter(k, v, learnable=k in names, **_bounds_kw(bounds.get(k, (0.0, None))))
            for k, v in values.items()
        }
    )


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


__all__ = ["PhysicalParameter", "make_parameters", "parameter_values"]
