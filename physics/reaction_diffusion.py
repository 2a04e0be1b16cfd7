"""FitzHugh-Nagumo reaction-diffusion, the second APHYNITY reference system.

Equations (dimensionless activator ``u`` and inhibitor ``v`` on a doubly periodic square)::

    du/dt = a Lap(u) + u - u^3 - v - k
    dv/dt = b Lap(v) + u - v

``Lap`` is the five-point Laplacian of :func:`physics.operators.laplacian` on a periodic
:class:`physics.grid.Grid` (second order). Paper values (Yin, Le Guen et al., ICLR 2021):
``a = 1e-3``, ``b = 5e-3``, ``k = 5e-3`` on a ``32 x 32`` grid with ``dx = 2 / 32`` (domain ``[0, 2)^2``).

``reaction=False`` keeps only the diffusion terms (the paper's incomplete physical prior,
"Param PDE (a, b)"); then ``k`` is not a parameter.
"""
from __future__ import annotations

from typing import Mapping, Optional

import torch
from torch import nn

from ._checks import check_positive, check_state
from .grid import Grid, require_grid
from .operators import laplacian
from .parameters import Learnable, make_parameters

#: Channel order of the state ``(batch, 2, ny, nx)``.
CHANNELS = ("u", "v")

#: Paper parameter values.
TRUE_PARAMS = {"a": 1e-3, "b": 5e-3, "k": 5e-3}


def default_grid(dtype: torch.dtype = torch.float64) -> Grid:
    """The paper's grid: ``32 x 32`` cells, ``dx = dy = 2 / 32``, doubly periodic."""
    return Grid(32, 32, dx=2.0 / 32, dy=2.0 / 32, boundary="periodic", dtype=dtype)


class ReactionDiffusion(nn.Module):
    """Right-hand side of the FitzHugh-Nagumo system, ``forward(t, x) -> dx/dt``.

    Args:
        grid: a periodic :class:`Grid` (default :func:`default_grid`).
        a, b: diffusion coefficients of ``u`` and ``v`` [length^2 / time] (> 0).
        k: reaction threshold constant (> 0); only used when ``reaction=True``.
        reaction: include the reaction terms ``u - u^3 - v - k`` and ``u - v``.
        learnable: ``True`` (all: ``a, b``, and ``k`` when ``reaction``), ``False``, one name or
            names among ``("a", "b", "k")`` (:func:`physics.parameters.parse_learnable`).
        bounds: ``{name: (lower, upper)}`` for the parameters (default positive).

    State: ``(batch, 2, ny, nx)`` with channels :data:`CHANNELS`. dtype/device: the tendency
    follows the state (the parameters are 0-d float64 tensors, which do not promote it).
    """

    CHANNELS = CHANNELS

    def __init__(
        self,
        grid: Optional[Grid] = None,
        a: float = TRUE_PARAMS["a"],
        b: float = TRUE_PARAMS["b"],
        k: float = TRUE_PARAMS["k"],
        reaction: bool = True,
        learnable: Learnable = (),
        bounds: Optional[Mapping[str, tuple]] = None,
    ) -> None:
        super().__init__()
        self.grid = require_grid(default_grid() if grid is None else grid, "periodic", "reaction-diffusion")
        values = {"a": check_positive("a", a), "b": check_positive("b", b)}
        if reaction:
            values["k"] = check_positive("k", k)
        self.reaction = bool(reaction)
        off = {} if reaction else {"k": "reaction=False (no reaction term, so no k parameter)"}
        make_parameters(self, values, learnable=learnable, bounds=bounds, unavailable=off)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``dx/dt`` for ``x`` of shape ``(batch, 2, ny, nx)`` = (u, v); same shape out."""
        check_state("x", x, CHANNELS, self.grid.ny, self.grid.nx)
        u, v = x[:, 0], x[:, 1]
        du = self.params["a"].value * laplacian(u, self.grid)
        dv = self.params["b"].value * laplacian(v, self.grid)
        if self.reaction:
            du = du + u - u**3 - v - self.params["k"].value
            dv = dv + u - v
        return torch.stack((du, dv), dim=1)


__all__ = ["CHANNELS", "TRUE_PARAMS", "ReactionDiffusion", "default_grid"]
