"""Super-observations: observations averaged per grid cell and time bin.

Dense observations (2 km KaRIn pixels, 7 km along-track nadir points, gridded points) sample a
cell many times per pass; their cell means keep what the grid can hold and make a dense OI solve
small (DUACS also reduces along-track data before its OI). For the cells ``c`` of ``grid``
coarsened ``factor`` times and time bins centred on the given times::

    y_c = mean_{i in c} y_i  [m],     sigma_c = sqrt(sum_{i in c} sigma_i^2) / n_c  [m]

one observation per observed cell, at its centre and bin time
(:func:`~.gridded.to_gridded` then :func:`~.gridded.from_gridded`).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from physics.grid import Grid

from .core import Observations
from .gridded import from_gridded, to_gridded


def cell_superobs(obs: Observations, grid: Grid, times: np.ndarray, window: Optional[float] = None,
                  platform: str = "superobs", factor: int = 1) -> Observations:
    """Super-observations: ``obs`` averaged per cell of ``grid`` coarsened ``factor`` times
    (``nx // factor`` by ``ny // factor`` cells of ``factor dx`` by ``factor dy``) and per time bin
    centred on ``times`` (datetime64 ``(T,)``; full width ``window`` [s], default: each point to
    the nearest time), ``y_c = mean_{i in c} y_i`` [m]
    (:func:`~hybridocean.observations.to_gridded`), one observation ``platform`` per observed cell
    at its centre and bin time (:func:`~hybridocean.observations.from_gridded`; ``error_std`` the
    cell mean's, ``sqrt(sum sigma_i^2) / n``). ``ValueError`` naming ``factor`` unless an integer
    ``>= 1`` that leaves at least one cell."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1 (cells per super-observation cell side), got {factor!r}")
    if factor > 1:
        if grid.nx // factor < 1 or grid.ny // factor < 1:
            raise ValueError(f"factor: {factor} leaves no cell of the {grid.nx} x {grid.ny} grid")
        grid = Grid(grid.nx // factor, grid.ny // factor, dx=grid.dx * factor, dy=grid.dy * factor,
                    boundary=grid.boundary, f0=grid.f0, beta=grid.beta, y0=grid.y0)
    return from_gridded(to_gridded(obs, grid, times, window=window), platform=platform)


__all__ = ["cell_superobs"]
