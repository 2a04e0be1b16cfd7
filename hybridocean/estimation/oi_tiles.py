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

    def box(self, gx: np.ndarray, gy: np.ndarray, L: Tuple[float, float], margin: float) -> Tuple[float, ...]:
        """``(xlo, xhi, ylo, yhi)``: the tile's cell centres widened by ``margin * L``."""
        cx, cy = gx[self.cols], gy[self.rows]
        return (float(cx.min()) - margin * L[0], float(cx.max()) + margin * L[0],
                float(cy.min()) - margin * L[1], float(cy.max()) + margin * L[1])

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


class BucketIndex:
    """Observations binned into rectangular buckets, to find a tile's candidates in ``O(m)``.

    Bucket ``(ky, kx)`` holds the observations with ``floor((o - origin) / width) = k`` per axis
    (``o - origin`` first wrapped into ``[0, P)`` on an axis of period ``P``; ``ceil(P / width)``
    buckets round it). :meth:`candidates` returns, in increasing index order, every observation
    of the buckets that meet a coordinate box -- a superset of the box's observations, which
    :meth:`Tile.selects` then filters exactly. Building costs one sort, ``O(n log n)``.
    """

    def __init__(self, ox: np.ndarray, oy: np.ndarray, origin: Tuple[float, float], width: Tuple[float, float],
                 periods: Sequence[Optional[float]]) -> None:
        self.origin, self.width, self.periods = origin, width, tuple(periods)
        self.nper = tuple(None if p is None else int(np.ceil(p / w)) for p, w in zip(periods, width))
        kx, ky = self._k(ox, 0), self._k(oy, 1)
        self.kx0, self.ky0 = (int(k.min()) if k.size else 0 for k in (kx, ky))
        self.nkx = (int(kx.max()) - self.kx0 + 1) if kx.size else 1
        key = (ky - self.ky0) * self.nkx + (kx - self.kx0)
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]

    def _k(self, o: np.ndarray, axis: int) -> np.ndarray:
        d = np.asarray(o, dtype=np.float64) - self.origin[axis]
        if self.periods[axis] is not None:
            d = np.mod(d, self.periods[axis])
        return np.floor(d / self.width[axis]).astype(np.int64)

    def _range(self, lo: float, hi: float, axis: int) -> np.ndarray:
        w, n = self.width[axis], self.nper[axis]
        if n is not None and hi - lo >= self.periods[axis]:
            return np.arange(n)
        ks = np.arange(np.floor((lo - self.origin[axis]) / w), np.floor((hi - self.origin[axis]) / w) + 1).astype(np.int64)
        return np.unique(np.mod(ks, n)) if n is not None else ks

    def candidates(self, xlo: float, xhi: float, ylo: float, yhi: float) -> np.ndarray:
        """Indices (ascending) of the observations in the buckets meeting ``[xlo, xhi] x [ylo, yhi]``."""
        kx = self._range(xlo, xhi, 0) - self.kx0
        ky = self._range(ylo, yhi, 1) - self.ky0
        kx = kx[(kx >= 0) & (kx < self.nkx)]
        ky = ky[ky >= 0]
        if not kx.size or not ky.size:
            return np.zeros(0, dtype=np.int64)
        parts = []
        for j in ky:  # consecutive kx of one bucket row are one run of sorted keys
            lo = np.searchsorted(self.keys, j * self.nkx + kx[0], "left")
            hi = np.searchsorted(self.keys, j * self.nkx + kx[-1], "right")
            if hi > lo:
                seg = self.order[lo:hi]
                if kx.size != kx[-1] - kx[0] + 1:  # a wrapped (non-contiguous) set of columns
                    seg = seg[np.isin(self.keys[lo:hi] - j * self.nkx, kx)]
                parts.append(seg)
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def plan_tiles(ny: int, nx: int, tile: Tuple[int, int]) -> List[Tile]:
    """Tiles of ``tile = (ty, tx)`` cells covering an ``ny x nx`` grid, row-major."""
    ty, tx = tile
    return [Tile(slice(j, min(j + ty, ny)), slice(i, min(i + tx, nx)))
            for j in range(0, ny, ty) for i in range(0, nx, tx)]


__all__ = ["Tile", "BucketIndex", "plan_tiles"]
