"""Damped pendulum, the first APHYNITY reference system (Yin, Le Guen et al., ICLR 2021).

Equation (angle ``theta`` in radians, time ``t`` in seconds)::

    d2theta/dt2 + omega0^2 sin(theta) + alpha dtheta/dt = 0

written as the first-order system on the state ``x = (theta, omega)`` with ``omega = dtheta/dt``::

    dtheta/dt = omega
    domega/dt = -omega0^2 sin(theta) - alpha omega        (alpha term absent when friction=False)

Paper values: period ``T0 = 6 s`` so ``omega0^2 = (2 pi / T0)^2 ~= 1.0966 s^-2`` and ``alpha = 0.2 s^-1``.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

import torch
from torch import nn

from ._checks import check_finite, check_positive
from .parameters import Learnable, make_parameters

#: Order of the state components, shape ``(batch, 2)``.
CHANNELS = ("theta", "omega")

#: Paper values (T0 = 6 s, alpha = 0.2 s^-1).
OMEGA0_SQ = (2.0 * math.pi / 6.0) ** 2
ALPHA = 0.2


class DampedPendulum(nn.Module):
    """Right-hand side of the (optionally damped) pendulum, ``forward(t, x) -> dx/dt``.

    Args:
        omega0_sq: squared angular frequency ``omega0^2`` in s^-2 (> 0).
        alpha: friction coefficient in s^-1 (> 0); ignored (and not created) when ``friction=False``.
        friction: include the ``-alpha omega`` term.
        learnable: ``True`` (all: ``omega0_sq``, and ``alpha`` when ``friction``), ``False``, one
            name or names among ``("omega0_sq", "alpha")`` (:func:`physics.parameters.parse_learnable`).
        bounds: ``{name: (lower, upper)}`` for the parameters (default positive).

    Parameters live in ``self.params`` (positive, see :func:`physics.parameters.make_parameters`);
    ``self.params["omega0_sq"].value`` is in physical units.

    dtype/device: the tendency follows the state ``x`` (the parameters are 0-d float64 tensors,
    which neither promote a float32/float16 ``x`` nor tie it to their device).
    """

    CHANNELS = CHANNELS

    def __init__(
        self,
        omega0_sq: float = OMEGA0_SQ,
        alpha: float = ALPHA,
        friction: bool = True,
        learnable: Learnable = (),
        bounds: Optional[Mapping[str, tuple]] = None,
    ) -> None:
        super().__init__()
        values = {"omega0_sq": check_positive("omega0_sq", omega0_sq)}
        if friction:
            values["alpha"] = check_positive("alpha", alpha)
        self.friction = bool(friction)
        off = {} if friction else {"alpha": "friction=False (no friction term, so no alpha parameter)"}
        make_parameters(self, values, learnable=learnable, bounds=bounds, unavailable=off)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Return ``dx/dt`` of shape ``(batch, 2)`` for ``x`` of shape ``(batch, 2)`` = (theta, omega)."""
        if not torch.is_tensor(x):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"x must have shape (batch, 2) with channels {CHANNELS}, got {tuple(x.shape)}")
        theta, omega = x[:, 0], x[:, 1]
        domega = -self.params["omega0_sq"].value * torch.sin(theta)
        if self.friction:
            domega = domega - self.params["alpha"].value * omega
        return torch.stack((omega, domega), dim=1)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Mechanical energy per unit ``m l^2``: ``E = omega^2 / 2 + omega0^2 (1 - cos theta)``, shape ``(batch,)``.

        Conserved when ``friction=False``; ``dE/dt = -alpha omega^2`` otherwise.
        """
        check_finite("x", x)
        return 0.5 * x[:, 1] ** 2 + self.params["omega0_sq"].value * (1.0 - torch.cos(x[:, 0]))


__all__ = ["CHANNELS", "DampedPendulum", "OMEGA0_SQ", "ALPHA"]
