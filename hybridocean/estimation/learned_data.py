"""The training and validation data of :meth:`~.learned.LearnedEstimator.fit`: the gridded
training frames with their SSH scale ``s`` [m], and the held-out windows of model selection.

Model selection reads held-out observations only, never the truth: a platform left out on the
training frames (encoded from the training observations, scored on the held-out ones), or
held-out days (``val_times``: encoded and scored on ``val_obs``, with their own first guess).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import torch
import xarray as xr

from physics.grid import Grid

from .learned_first_guess import MapsLike, first_guess_frames, record_observations
from .obs_training import ObservationWindows, build_windows
from .obs_views import frame_spacing, gridded_frames, gridded_view


def training_view(obs_train: Any, grid: Optional[Grid],
                  times: Any) -> Tuple[xr.Dataset, Grid, np.ndarray, float, float]:
    """``(gridded view, grid, times (T,) datetime64, dt [s], s [m])`` of ``obs_train``
    (:func:`~.obs_views.gridded_view`, regular ``dt``; ``s`` the std of the observed cell-mean
    SSH, the loss's scale). ``ValueError`` naming ``obs_train`` without an observed cell or
    without SSH variance (``s = 0``), naming ``times`` if irregular."""
    train, grid, t = gridded_view(obs_train, grid, times, "obs_train")
    dt = frame_spacing(t, "times")
    values, mask = gridded_frames(train)
    seen = mask > 0
    if not bool(seen.any()):
        raise ValueError("obs_train: no observed cell")
    scale = float(values[seen].std())
    if not scale > 0:
        raise ValueError("obs_train: the observed SSH has no variance (scale would be 0)")
    return train, grid, t, dt, scale


def validation_windows(est, train: xr.Dataset, t: np.ndarray, fg: Optional[torch.Tensor], val_obs: Any,
                       val_times: Any, val_first_guess_maps: Optional[MapsLike]) -> Optional[ObservationWindows]:
    """The model-selection windows of ``est`` (a :class:`~.learned.LearnedEstimator` whose
    ``grid``, ``dt`` [s] and ``scale`` [m] are set), ``None`` without ``val_obs``.

    Without ``val_times``: ``val_obs`` on the training frames ``t`` (a platform left out),
    encoded from ``train`` with its first guess ``fg`` ``(T, ny, nx)`` [m]; with ``val_times`` (held-out days,
    disjoint from ``t``, spacing ``dt``): encoded and scored on ``val_obs``, first guess
    ``val_first_guess_maps`` or computed from ``val_obs``. ``ValueError`` naming the argument."""
    if val_first_guess_maps is not None and (val_obs is None or val_times is None):
        raise ValueError("val_first_guess_maps: only with held-out days (val_obs and val_times)")
    if val_obs is None:
        return None
    grid, dt, scale = est.grid, est.dt, est.scale
    if val_times is None:
        held, _, _ = gridded_view(val_obs, grid, t, "val_obs")
        return build_windows(train, held, est.window, est.horizon, dt, scale, lookahead=est.lookahead,
                             first_guess=fg)  # encoded from the training observations
    held, _, tv = gridded_view(val_obs, grid, val_times, "val_obs")
    if np.intersect1d(tv, t).size:
        raise ValueError("val_times must not overlap the training times (held-out days)")
    if abs(frame_spacing(tv, "val_times") - dt) > 1e-6 * dt:
        raise ValueError("val_times must have the spacing of times")
    fv = first_guess_frames(est.first_guess, val_first_guess_maps, record_observations(val_obs, tv, dt),
                            grid, tv, "val_first_guess_maps", est.first_guess_seconds)
    return build_windows(held, held, est.window, est.horizon, dt, scale, lookahead=est.lookahead, first_guess=fv)


__all__ = ["training_view", "validation_windows"]
