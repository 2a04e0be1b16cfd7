"""One entry point for the diagnostics every model carries beside it.

Each model implements its diagnostics as methods in physical units (pyqg style):

* :class:`~physics.shallow_water.ShallowWater`: ``mass`` [m^3] (``sum eta dx dy``),
  ``kinetic_energy``, ``potential_energy``, ``total_energy`` [J], ``potential_enstrophy``;
* :class:`~physics.qg.QG`: ``kinetic_energy``, ``available_potential_energy``,
  ``total_energy`` [m^2/s^2, layer-thickness-weighted domain means], ``enstrophy`` [1/s^2].

:func:`diagnostics` evaluates whichever of them the model has.
"""
from __future__ import annotations

from typing import Dict

import torch
from torch import nn

#: Scalar diagnostics looked up on a model, in this order; each maps ``(batch, C, ny, nx)``
#: to ``(batch,)``.
SCALAR_DIAGNOSTICS = (
    "mass",
    "kinetic_energy",
    "potential_energy",
    "available_potential_energy",
    "total_energy",
    "enstrophy",
    "potential_enstrophy",
)


def diagnostics(model: nn.Module, state: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``{name: (batch,) tensor}`` for every scalar diagnostic ``model`` defines.

    Raises ``TypeError`` if the model defines none of :data:`SCALAR_DIAGNOSTICS`.
    """
    out = {name: getattr(model, name)(state) for name in SCALAR_DIAGNOSTICS if callable(getattr(model, name, None))}
    if not out:
        raise TypeError(f"model {type(model).__name__} defines none of the diagnostics {SCALAR_DIAGNOSTICS}")
    return out


__all__ = ["SCALAR_DIAGNOSTICS", "diagnostics"]
