"""The dtype and device a grid model computes in, decided by the state it is given.

Policy of :class:`physics.qg.QG` and :class:`physics.shallow_water.ShallowWater`: the model
**follows the state's dtype** -- a float32 state gives float32 work and a float32 tendency
whatever dtype the grid and the buffers were built in (buffers are cast on use or cached per
dtype; learnable parameters are cast inside the graph, so their gradients still reach the
float64 raw values). Only float32 and float64 are accepted (:data:`WORK_DTYPES`): half
precision (10-bit mantissa, ~3 decimal digits) cannot carry ``eta`` against ``H`` or a PV
anomaly against ``beta y``, and PyTorch's CPU FFTs have no float16. The **device** is not
followed: a state on another device than the model's buffers is refused with a ``ValueError``
naming ``state`` and both devices (moving buffers per call would hide a transfer per step).
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable

import torch
from torch import nn

WORK_DTYPES = (torch.float32, torch.float64)
"""State dtypes the grid models compute in."""


def check_state_precision(name: str, x: Any, reference: torch.Tensor, owner: str) -> torch.dtype:
    """Return ``x.dtype`` after checking it is a float32/float64 tensor on ``reference``'s device.

    Args:
        name: the argument's name in messages (e.g. ``"state"``; another name is followed by
            "(the state)" in the dtype and device messages).
        x: the state tensor, any shape.
        reference: a buffer of the model (its device is the model's device).
        owner: the model's name in messages (e.g. ``"QG"``).
    Raises:
        TypeError: ``x`` is not a tensor, or not floating point.
        ValueError: ``x`` is float16/bfloat16, or on another device than the model.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    label = name if name == "state" else f"{name} (the state)"
    if not x.is_floating_point():
        raise TypeError(f"{label} must be a floating-point tensor (float32 or float64), got dtype {x.dtype}")
    if x.dtype not in WORK_DTYPES:
        raise ValueError(
            f"{label} has dtype {x.dtype}, which {owner} does not support: use float32 or float64 "
            "(half precision cannot resolve the anomalies against the background fields)"
        )
    if x.device != reference.device:
        raise ValueError(
            f"{label} is on device {x.device} but the {owner} model's buffers and parameters are on "
            f"{reference.device}; move one to the other (model.to({str(x.device)!r}) or {name}.to(...))"
        )
    return x.dtype


class FollowsStateDtype(nn.Module):
    """Mixin of a model that follows the state's dtype with per-dtype copies of its buffers.

    The model names a reference buffer (``REFERENCE_BUFFER``, e.g. ``"mask"``) whose dtype and
    device are the model's, cached as the plain attributes ``_dtype``/``_device`` (kept in sync by
    ``.to()``/``.float()``/``.cuda()``; the subclass calls :meth:`_sync_reference` at the end of
    ``__init__``). :meth:`_in_dtype` returns the model with every floating buffer cast to a dtype
    (complex ones to the matching complex dtype) and the SAME submodules (parameters: gradients
    reach them through the casts in the graph); cached per dtype and rebuilt when a buffer is
    replaced or modified in place (its ``_version``). The copy is not a submodule:
    ``state_dict()``/``parameters()`` see only the original.
    """

    REFERENCE_BUFFER = "mask"

    def _sync_reference(self) -> None:
        ref = getattr(self, self.REFERENCE_BUFFER)
        self._dtype, self._device = ref.dtype, ref.device

    def _apply(self, fn, *args, **kwargs):  # .to(), .float(), .cuda(), ...: keep the cache in sync
        out = super()._apply(fn, *args, **kwargs)
        self._sync_reference()
        return out

    def _in_dtype(self, dtype: torch.dtype) -> "FollowsStateDtype":
        key = tuple((id(b), b._version) for b in self._buffers.values() if b is not None)
        cache = self.__dict__.setdefault("_dtype_copies", {})
        hit = cache.get(dtype)
        if hit is not None and hit[0] == key:
            return hit[1]
        m = copy.copy(self)  # shares _modules and _parameters; a new __dict__
        m.__dict__.pop("_dtype_copies", None)
        cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        with torch.no_grad():
            m._buffers = {k: b.to(cdtype if b.is_complex() else dtype)
                          if b is not None and (b.is_floating_point() or b.is_complex()) else b
                          for k, b in self._buffers.items()}
        m._sync_reference()
        cache[dtype] = (key, m)
        return m


def follows_state_dtype(method: Callable) -> Callable:
    """Decorate a public ``method(self, ..., q)`` of a :class:`FollowsStateDtype` model: check
    ``q`` (the last positional argument; :func:`check_state_precision`) and run the method on the
    model's copy in ``q``'s dtype."""

    @functools.wraps(method)
    def run(self, *args):
        q = args[-1]
        check_state_precision("q", q, getattr(self, self.REFERENCE_BUFFER), type(self).__name__)
        return method(self if q.dtype is self._dtype else self._in_dtype(q.dtype), *args)

    return run


__all__ = ["WORK_DTYPES", "check_state_precision", "FollowsStateDtype", "follows_state_dtype"]
