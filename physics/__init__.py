"""Differentiable, batched, device-agnostic ocean physics in PyTorch.

Grid and staggering: :mod:`physics.grid`; finite differences: :mod:`physics.operators`.
"""
from .grid import Grid
from .parameters import PhysicalParameter

__all__ = ["Grid", "PhysicalParameter"]
