"""Differentiable, batched, device-agnostic ocean physics in PyTorch.

Grid and staggering: :mod:`physics.grid`; finite differences: :mod:`physics.operators`;
models: :class:`ShallowWater`, :class:`QG`; diagnostics: :func:`diagnostics`.
"""
from .diagnostics import diagnostics
from .grid import Grid
from .parameters import PhysicalParameter
from .qg import QG
from .shallow_water import ShallowWater

__all__ = ["Grid", "PhysicalParameter", "QG", "ShallowWater", "diagnostics"]
