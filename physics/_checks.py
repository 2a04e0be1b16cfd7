"""Input validation shared by every physics module.

Each check raises ``ValueError`` or ``TypeError`` whose message names the offending
argument and states what was expected, so bad input fails loudly and early.

Numbers: every scalar argument goes through ONE parser, :func:`check_real` (used by
:func:`check_positive`, :func:`check_nonnegative`, :func:`check_nonzero`). It accepts what a
user naturally passes -- Python ``int``/``float`` (any :class:`numbers.Real`), NumPy scalars of
any real dtype (``np.float32(1e3)``, ``np.int64(4)``, 0-d arrays) and 0-d torch tensors -- and
refuses with ``TypeError`` strings (``'1e-4'`` is not silently parsed), ``bool``, ``None``,
complex numbers and arrays/tensors with more than a scalar; NaN and +-inf give ``ValueError``.
Integers (grid sizes, step counts) go through :func:`check_int`.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np
import torch

_NUMBER = "a real number (int, float, NumPy scalar or 0-d tensor)"


def _describe(value: Any) -> str:
    """``type name`` plus a short repr, for error messages."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def check_real(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is one finite real number.

    Accepted: ``int``/``float`` (any :class:`numbers.Real` but ``bool``), NumPy scalars and 0-d
    arrays of integer or floating dtype, 0-d torch tensors of integer or floating dtype
    (detached; on a GPU this costs one device sync -- call it at construction, not in a time
    loop). ``TypeError`` (naming ``name``) for anything else; ``ValueError`` for NaN/inf.
    """
    v = value
    if isinstance(v, torch.Tensor):
        if v.dim() != 0:
            raise TypeError(f"{name} must be {_NUMBER}, got a tensor of shape {tuple(v.shape)}")
        if v.dtype == torch.bool or v.is_complex():
            raise TypeError(f"{name} must be {_NUMBER}, got a {v.dtype} tensor")
        v = float(v.detach())
    elif isinstance(v, np.ndarray):
        if v.ndim != 0:
            raise TypeError(f"{name} must be {_NUMBER}, got an array of shape {v.shape}")
        v = v[()]  # 0-d array -> NumPy scalar, checked below
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be {_NUMBER}, got {_describe(value)}")
    try:
        out = float(v)
    except OverflowError:  # a Python int beyond float range
        raise ValueError(f"{name} must be a finite number, got an int too large for a float") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {out!r}")
    return out


def check_positive(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is a finite number > 0 (see :func:`check_real`)."""
    v = check_real(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return v


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is a finite number >= 0 (see :func:`check_real`)."""
    v = check_real(name, value)
    if v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return v


def check_nonzero(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is a finite number != 0 (see :func:`check_real`)."""
    v = check_real(name, value)
    if v == 0:
        raise ValueError(f"{name} must be a finite non-zero number, got {v!r}")
    return v


def check_int(name: str, value: Any, minimum: Optional[int] = None) -> int:
    """Return ``int(value)`` after checking it is an integer (``>= minimum`` if given).

    Accepted: Python ``int`` (not ``bool``), NumPy integer scalars / 0-d integer arrays and 0-d
    integer tensors. A float, even ``4.0``, is a ``TypeError`` (a size or a count is never
    fractional, and silently truncating ``4.7`` would hide a bug); below ``minimum``: ``ValueError``.
    """
    v = value
    if isinstance(v, torch.Tensor) and v.dim() == 0 and not v.is_floating_point() and not v.is_complex() \
            and v.dtype != torch.bool:
        v = int(v)
    elif isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {v}")
    return v


def check_finite(name: str, x: torch.Tensor) -> None:
    """Raise ``ValueError`` if tensor ``x`` holds NaN or Inf."""
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or Inf)")


def check_field(name: str, x: torch.Tensor, ny: int, nx: int) -> None:
    """Check that ``x`` is a tensor whose last two dims are ``(ny, nx)``."""
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2 or tuple(x.shape[-2:]) != (ny, nx):
        raise ValueError(
            f"{name} must have trailing shape (ny, nx) = ({ny}, {nx}) matching the grid, "
            f"got shape {tuple(x.shape)}"
        )


def check_state(
    name: str, x: torch.Tensor, channels: Sequence[str], ny: int, nx: int, finite: bool = True
) -> None:
    """Check a model state shaped ``(batch, len(channels), ny, nx)``.

    The message lists the expected channel order so a wrong channel count is
    self-explaining.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    nc = len(channels)
    if x.dim() != 4:
        raise ValueError(
            f"{name} must be 4-D (batch, channel, y, x) with channels {tuple(channels)}, "
            f"got shape {tuple(x.shape)}"
        )
    if x.shape[1] != nc:
        raise ValueError(
            f"{name} must have {nc} channels {tuple(channels)}, got {x.shape[1]} (shape {tuple(x.shape)})"
        )
    if tuple(x.shape[-2:]) != (ny, nx):
        raise ValueError(
            f"{name} spatial shape must match the grid (ny, nx) = ({ny}, {nx}), got {tuple(x.shape[-2:])}"
        )
    if finite:
        check_finite(name, x)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {tuple(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value
