"""Damped wave equation, the third APHYNITY reference system.

Equation (displacement ``w``, time in s, lengths in grid units of ``dx``)::

    d2w/dt2 - c^2 Lap(w) + k dw/dt = 0

as the first-order system on ``x = (w, w_t)``::

    dw/dt   = w_t
    dw_t/dt = c^2 Lap(w) - k w_t          (damping term absent when damping=False)

``Lap`` is the five-point Laplacian of :func:`physics.operators.laplacian` on a closed
:class:`physics.grid.Grid` with ``ghost="neumann"`` (zero normal gradient of ``w`` on the
walls, reflecting boundaries). Paper values: ``c = 330``, ``k = 50`` on a ``64 x 64`` grid with
``dx = 1``. Without damping the semi-discrete energy
``E = 1/2 sum(w_t^2) + c^2/2 sum |D w|^2`` (``D`` the one-sided differences across interior
faces, ``-Lap = D^T D``) is exactly conserved in continuous time; with damping
``dE/dt = -k sum(w_t^2)``.

Explicit integration: the largest frequency of ``c^2 Lap`` is ``c sqrt(4/dx^2 + 4/dy^2)``;
classical RK4 is stable for ``omega * dt <= 2 sqrt(2)`` (see :meth:`DampedWave.max_stable_dt`).
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

import torch
from torch import nn

from ._checks import check_positive, check_state
from .grid import Grid, require_grid
from .operators import diff_forward, laplacian
from .parameters import Learnable, make_parameters
from .stepping import STABILITY_LIMITS

#: Channel order of the state ``(batch, 2, ny, nx)``.
CHANNELS = ("w", "w_t")

#: Paper parameter values.
TRUE_PARAMS = {"c": 330.0, "k": 50.0}

#: Imaginary-axis stability limit of classical RK4: ``|omega dt| <= 2 sqrt(2)`` (physics.stepping.STABILITY_LIMITS).
RK4_IMAG_LIMIT = STABILITY_LIMITS["rk4"][0]


def default_grid(dtype: torch.dtype = torch.float64) -> Grid:
    """The paper's grid: ``64 x 64`` cells of size ``dx = dy = 1``, closed walls."""
    return Grid(64, 64, dx=1.0, dy=1.0, boundary="closed", dtype=dtype)


class DampedWave(nn.Module):
    """Right-hand side of the damped wave equation, ``forward(t, x) -> dx/dt``.

    Args:
        grid: a closed :class:`Grid` (default :func:`default_grid`).
        c: wave speed [dx / s] (> 0).
        k: damping rate [1/s] (> 0); only used when ``damping=True``.
        damping: include the ``-k w_t`` term.
        learnable: ``True`` (all: ``c``, and ``k`` when ``damping``), ``False``, one name or names
            among ``("c", "k")`` (:func:`physics.parameters.parse_learnable`).
        bounds: ``{name: (lower, upper)}`` (default positive).

    State: ``(batch, 2, ny, nx)`` with channels :data:`CHANNELS`. dtype/device: the tendency
    follows the state (the parameters are 0-d float64 tensors, which do not promote it).
    """

    CHANNELS = CHANNELS

    def __init__(
        self,
        grid: Optional[Grid] = None,
        c: float = TRUE_PARAMS["c"],
        k: float = TRUE_PARAMS["k"],
        damping: bool = True,
        learnable: Learnable = (),
        bounds: Optional[Mapping[str, tuple]] = None,
    ) -> None:
        super().__init__()
        self.grid = require_grid(default_grid() if grid is None else grid, "closed",
                                 "the wave equation (walls with Neumann ghosts)")
        values = {"c": check_positive("c", c)}
        if damping:
            values["k"] = check_positive("k", k)
        self.damping = bool(damping)
        off = {} if damping else {"k": "damping=False (no damping term, so no k parameter)"}
        make_parameters(self, values, learnable=learnable, bounds=bounds, unavailable=off)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``dx/dt`` for ``x`` of shape ``(batch, 2, ny, nx)`` = (w, w_t); same shape out."""
        check_state("x", x, CHANNELS, self.grid.ny, self.grid.nx)
        w, w_t = x[:, 0], x[:, 1]
        acc = self.params["c"].value ** 2 * laplacian(w, self.grid, ghost="neumann")
        if self.damping:
            acc = acc - self.params["k"].value * w_t
        return torch.stack((w_t, acc), dim=1)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Semi-discrete energy ``1/2 sum(w_t^2) + c^2/2 sum(|D w|^2)`` per sample, shape ``(batch,)``.

        ``D`` are forward differences across interior faces (the Neumann ghost face gives 0).
        """
        check_state("x", x, CHANNELS, self.grid.ny, self.grid.nx)
        w, w_t = x[:, 0], x[:, 1]
        gx = diff_forward(w, self.grid, "x", ghost="neumann")
        gy = diff_forward(w, self.grid, "y", ghost="neumann")
        grad2 = (gx**2).sum((-2, -1)) + (gy**2).sum((-2, -1))
        return 0.5 * (w_t**2).sum((-2, -1)) + 0.5 * self.params["c"].value ** 2 * grad2

    def max_stable_dt(self) -> float:
        """Largest RK4 step for the undamped operator: ``2 sqrt(2) / (c sqrt(4/dx^2 + 4/dy^2))`` [s]."""
        c = float(self.params["c"].value.detach())
        omega = c * math.sqrt(4.0 / self.grid.dx**2 + 4.0 / self.grid.dy**2)
        return RK4_IMAG_LIMIT / omega


__all__ = ["CHANNELS", "TRUE_PARAMS", "DampedWave", "default_grid", "RK4_IMAG_LIMIT"]
