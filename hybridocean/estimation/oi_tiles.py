"""Tiles of the output grid for the local (tiled) optimal interpolation of :mod:`.oi`.

A :class:`Tile` is a block of output cells ``rows x cols`` (slices of the ``(ny, nx)`` grid);
:func:`plan_tiles` cuts the grid into tiles of ``ty x tx`` cells (the last row/column of tiles
takes the remainder). A tile analyses its cells with the observations inside its bounding box
widened by ``margin`` correlation lengths (:meth:`Tile.selects`): with centre ``c`` and
half-width ``h`` of the tile's cell-centre coordinates along an axis, an observation at ``o``
is kept when ``|o - c| <= h + margin L`` (``o - c`` wrapped into ``[-P/2, P/2)`` on an axis of
period ``P``: longitude, or a periodic grid). Per tile the cost is one Cholesky factorisation
of its ``m x m`` observation covariance, ``m^3 / 3`` flops, plus ``ty tx m`` covariance
evaluations; ``m`` is the observation density times the widened area
``(tx dx + 2 margin Lx)(ty dy + 2 margin Ly)``, independent of the domain size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np


def _wrap(d: np.ndarray, period: Optional[float]) -> np.ndarray:
    return d if period is None else np.mod(d + period / 2, period) - period / 2


@dataclass(frozen=True)
class Tile:
    """A block of output cells: ``rows`` (slice of ``ny``) x ``cols`` (slice of ``nx``)."""

    rows: slice
    cols: slice

    def selects(
        self, ox: np.ndarray, oy: np.ndarray, gx: np.ndarray, gy: np.ndarray, L: Tuple[float, float],
        margin: float, periods: Sequence[Optional[float]],
    ) -> np.ndarray:
        """Bool mask of the observations ``(ox, oy)`` within the tile widened by ``margin * L``.

        Args:
            ox, oy: ``(n,)`` observation coordinates (degrees or metres, like ``gx``/``gy``).
            gx, gy: ``(nx,)``, ``(ny,)`` cell-centre coordinates of the whole grid.
            L: ``(Lx, Ly)`` correlation lengths in the same units.
            margin: widening in correlation lengths.
            periods: ``(Px, Py)``, the period of each axis or None.
        """
        keep = np.ones(ox.shape, dtype=bool)
        for o, g, sl, length, period in ((ox, gx, self.cols, L[0], periods[0]), (oy, gy, self.rows, L[1], periods[1])):
            c = g[sl]
            lo, hi = float(c.min()), float(c.max())
            centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
            if period is not None and 2 * (half + margin * length) >= period:
                continue  # the widened tile wraps all the way round: every observation is inside
            keep &= np.abs(_wrap(o - centre, period)) <= half + margin * length
        return keep


def plan_tiles(ny: int, nx: int, tile: Tuple[int, int]) -> List[Tile]:
    """Tiles of ``tile = (ty, tx)`` cells covering an ``ny x nx`` grid, row-major."""
    ty, tx = tile
    return [Tile(slice(j, min(j + ty, ny)), slice(i, min(i + tx, nx)))
            for j in range(0, ny, ty) for i in range(0, nx, tx)]


__all__ = ["Tile", "plan_tiles"]
