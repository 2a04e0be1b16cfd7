"""Input validation shared by every physics module.

Each check raises ``ValueError`` or ``TypeError`` whose message names the offending
argument and states what was expected, so bad input fails loudly and early.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch


def check_positive(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is a finite number > 0."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = float(value.detach())
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``float(value)`` after checking it is a finite number >= 0."""
    if isinstance(value, torch.Tensor):
        value = float(value.detach())
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


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
