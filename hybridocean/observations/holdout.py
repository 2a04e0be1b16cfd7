"""Held-out observations for model selection: whole blocks of passes, not scattered points.

Points along one altimeter pass (1-7 km apart) or inside one observed cloud gap are nearly copies
of their neighbours: a point drawn at random and held out is predicted by the points beside it,
so a random-point hold-out rewards estimators that interpolate noise (short length scales, small
error variances). :func:`block_holdout` holds out whole *blocks* instead: the observations of one
platform's pass (a run of points of that platform with no time gap over ``max_gap_s``; gridded
points of one frame share a time and form one run) that fall in one ``block x block`` tile of the
plane. A held-out block is predicted from other passes, other frames and points at least about
``block / 2`` away, as an independent platform would be (the data challenges score on a left-out
altimeter: Ballarotta et al. 2019, Ocean Sci. 15, 1091, section 2.3).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from physics._checks import check_positive

from .core import Observations

#: [s] a pass's points are within seconds of each other; passes of one platform over a regional box
#: are hours apart (a nadir crosses 1000 km in ~150 s at ~6.5 km/s ground speed)
MAX_GAP_S = 600.0


def pass_index(obs: Observations, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """``(n,)`` int64 pass id of every observation: runs of one platform, in time order, with no gap
    over ``max_gap_s`` [s] between successive points (ids numbered 0, 1, ... in that order)."""
    check_positive("max_gap_s", max_gap_s)
    n = len(obs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    plat = np.asarray(obs.platform).astype(str)
    t = obs.time.astype("datetime64[ns]").astype(np.int64)
    order = np.lexsort((t, plat))
    new = np.ones(n, dtype=bool)
    new[1:] = (plat[order][1:] != plat[order][:-1]) | (np.diff(t[order]) > max_gap_s * 1e9)
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def block_holdout(obs: Observations, fraction: float, block: float, seed: int = 0,
                  max_gap_s: float = MAX_GAP_S) -> Tuple[Observations, Observations]:
    """``(kept, held_out)``: whole blocks, drawn at random until they hold ``fraction`` of the points.

    A block is the set of points of one pass (:func:`pass_index`) inside one tile
    ``floor(x / block), floor(y / block)`` of the plane (``block`` in the observations' position
    units: metres on x/y, degrees on lon/lat). Blocks are taken in a random order (``seed``) until
    the held-out count reaches ``fraction * n``, so the held-out share is ``fraction`` to within one
    block. Deterministic for a given ``seed``.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    check_positive("block", block)
    n = len(obs)
    if n < 2:
        raise ValueError(f"obs: {n} observation(s) are too few to hold some out")
    a, b = obs.positions()
    keys = np.stack([pass_index(obs, max_gap_s), np.floor(a / block).astype(np.int64),
                     np.floor(b / block).astype(np.int64)], axis=1)
    _, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    if counts.size < 2:
        raise ValueError(f"block: {block} puts every observation in one block; choose a smaller block")
    order = np.random.default_rng(seed).permutation(counts.size)
    take = np.cumsum(counts[order]) <= max(fraction * n, counts[order[0]])
    take[0] = True  # at least one block
    held = np.isin(group, order[take])
    if held.all():
        raise ValueError(f"block: {block} is too large to keep any observation")
    return obs.subset(~held), obs.subset(held)


__all__ = ["MAX_GAP_S", "block_holdout", "pass_index"]
