"""Held-out observations for model selection: whole blocks of passes, not scattered points.

Points along one altimeter pass (1-7 km apart) or inside one observed cloud gap are nearly copies
of their neighbours: a point drawn at random and held out is predicted by the points beside it,
so a random-point hold-out rewards estimators that interpolate noise (short length scales, small
error variances). :func:`block_holdout` holds out whole *blocks* instead:

* a pass is a run of points of one *satellite* (:func:`satellite_of`: ``swot_karin`` and
  ``swot_nadir`` are one satellite, seen at the same instants) with no time gap over ``max_gap_s``;
* a moving pass (a track, a swath) is cut into pieces ``block`` long along its principal axis
  (the track direction, whatever the swath's cross-track spread), so a block is never a corner
  clipped by a tile;
* a pass whose points share one instant (gridded points of one frame) is cut into ``block x block``
  tiles of the plane.

A held-out block is predicted from other passes, other frames, and points of its own pass
``block / 4`` away on average, as an independent platform would be (the OSE SSH-mapping data
challenge scores maps on an altimeter left out of the mapping, Cryosat-2:
ocean-data-challenges/2021a_SSH_mapping_OSE). A larger ``block`` moves held points farther from
their pass's kept neighbours but leaves fewer blocks, so a selection on them is noisier: size it to
the domain (many blocks) as well as to the correlation scales.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from physics._checks import check_positive

from .core import Observations

#: [s] a pass's points are within seconds of each other; passes of one platform over a regional box
#: are hours apart (a nadir crosses 1000 km in ~150 s at ~6.5 km/s ground speed)
MAX_GAP_S = 600.0


def satellite_of(platform: np.ndarray) -> np.ndarray:
    """``(n,)`` satellite names of platform names: the part before the first ``"_"``
    (``"swot_karin"``, ``"swot_karin_superobs"``, ``"swot_nadir"`` -> ``"swot"``; ``"jason3"`` unchanged)."""
    return np.array([str(p).split("_", 1)[0] for p in np.asarray(platform).reshape(-1)], dtype=str)


def block_size(obs: Observations, grid: Any, cells: float) -> float:
    """``cells`` cells of ``grid`` in the position units of ``obs`` (:func:`block_holdout`'s
    ``block``): ``cells max(dlon, dlat)`` [degrees] for lon/lat observations, ``cells max(dx, dy)``
    [m] for x/y ones. ``ValueError`` naming ``grid`` for lon/lat observations on a grid without
    lon/lat spacings."""
    check_positive("cells", cells)
    if obs.coords_kind == "lonlat":
        if getattr(grid, "dlon", None) is None:
            raise ValueError("grid: lon/lat observations need a lon/lat grid to hold out blocks of cells")
        return float(cells) * max(grid.dlon, grid.dlat)
    return float(cells) * max(grid.dx, grid.dy)


def pass_index(obs: Observations, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """``(n,)`` int64 pass id of every observation: runs of one satellite (:func:`satellite_of`), in
    time order, with no gap over ``max_gap_s`` [s] between successive points (ids 0, 1, ... in that order)."""
    check_positive("max_gap_s", max_gap_s)
    n = len(obs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    plat = satellite_of(obs.platform)
    t = obs.time.astype("datetime64[ns]").astype(np.int64)
    order = np.lexsort((t, plat))
    new = np.ones(n, dtype=bool)
    new[1:] = (plat[order][1:] != plat[order][:-1]) | (np.diff(t[order]) > max_gap_s * 1e9)
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def block_labels(obs: Observations, block: float, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """``(n,)`` int64 block id (0, 1, ...) of every observation: pieces ``block`` long of each moving
    pass, ``block x block`` tiles of each pass at one instant (module docstring; ``block`` in the
    observations' position units)."""
    check_positive("block", block)
    if len(obs) == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = obs.positions()
    keys = np.stack([pass_index(obs, max_gap_s), *_pieces(obs, a, b, block, max_gap_s)], axis=1)
    return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def block_holdout(obs: Observations, fraction: float, block: float, seed: int = 0,
                  max_gap_s: float = MAX_GAP_S) -> Tuple[Observations, Observations]:
    """``(kept, held_out)``: whole blocks, drawn at random until they hold ``fraction`` of the points.

    A block is a piece ``block`` long of one moving pass (:func:`pass_index`), or a
    ``block x block`` tile of a pass at one instant (module docstring); ``block`` in the
    observations' position units: metres on x/y, degrees on lon/lat. Blocks are taken in a random order (``seed``) until
    the held-out count reaches ``fraction * n``, so the held-out share is ``fraction`` to within one
    block. Deterministic for a given ``seed``.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    check_positive("block", block)
    n = len(obs)
    if n < 2:
        raise ValueError(f"obs: {n} observation(s) are too few to hold some out")
    group = block_labels(obs, block, max_gap_s)
    counts = np.bincount(group)
    if counts.size < 2:
        raise ValueError(f"block: {block} puts every observation in one block; choose a smaller block")
    order = np.random.default_rng(seed).permutation(counts.size)
    take = np.cumsum(counts[order]) <= max(fraction * n, counts[order[0]])
    take[0] = True  # at least one block
    held = np.isin(group, order[take])
    return obs.subset(~held), obs.subset(held)


def _pieces(obs: Observations, a: np.ndarray, b: np.ndarray, block: float, max_gap_s: float) -> tuple:
    """Two ``(n,)`` int64 keys per point: ``(piece along the pass, -1)`` for a moving pass (its
    points' coordinate along the pass's principal axis -- the track direction of a nadir track or a
    swath, whatever the cross-track spread -- from its first point, ``// block``), ``(tile x, tile y)``
    for a pass at one instant."""
    ids = pass_index(obs, max_gap_s)
    t = obs.time.astype("datetime64[ns]").astype(np.int64)
    k1 = np.floor(a / block).astype(np.int64)
    k2 = np.floor(b / block).astype(np.int64)
    order = np.argsort(ids, kind="stable")
    bounds = np.flatnonzero(np.diff(ids[order])) + 1
    for idx in np.split(order, bounds):
        if t[idx].min() == t[idx].max():
            continue  # one instant: tiles of the plane
        p = np.stack([a[idx] - a[idx].mean(), b[idx] - b[idx].mean()])
        axis = np.linalg.eigh(p @ p.T)[1][:, -1]  # principal direction of the pass
        s = axis @ p
        k1[idx] = np.floor((s - s.min()) / block).astype(np.int64)
        k2[idx] = -1
    return k1, k2


__all__ = ["MAX_GAP_S", "block_holdout", "block_labels", "block_size", "pass_index", "satellite_of"]
