"""Gridded views of the learned estimator's observations (:mod:`.obs_training`'s inputs): a point
cloud binned on the frames (:func:`~hybridocean.observations.to_gridded`) or a gridded Dataset used
as is, its ``(values, mask)`` frames, and the regular frame spacing ``dt`` [s] of its times.
"""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from hybridocean.observations import Observations, grid_from_dataset, gridded_to_tensor, to_gridded
from hybridocean.observations.core import seconds_since

from .output import as_times


def gridded_frames(ds: xr.Dataset) -> tuple:
    """``(values, mask)`` float64 ``(T, ny, nx)`` of a gridded view (``to_gridded``): reads only
    its ``ssh`` and ``mask`` (gaps set to 0 by :func:`~hybridocean.observations.gridded_to_tensor`)."""
    vm = gridded_to_tensor(ds, fill=0.0, dtype=torch.float64)
    return vm[:, 0], vm[:, 1]


def gridded_view(obs, grid, times, name: str) -> tuple:
    """``(gridded view, grid, times datetime64)`` of ``obs``: an
    :class:`~hybridocean.observations.Observations` point cloud binned on ``grid`` at ``times``
    (both required), or a gridded Dataset (:func:`~hybridocean.observations.to_gridded`) used as
    is (its grid by default; ``times``, if given, must be its times). Errors name ``name``."""
    if isinstance(obs, Observations):
        if grid is None or times is None:
            raise ValueError(f"{name}: grid and times are required with an Observations point cloud")
        t = as_times(times)
        return to_gridded(obs, grid, t), grid, t
    if isinstance(obs, xr.Dataset):
        if "ssh" not in obs or "time" not in obs.dims:
            raise ValueError(f"{name} must be a gridded view (to_gridded) with 'ssh' on (time, y, x)")
        t = as_times(obs["time"].values)
        if times is not None and not np.array_equal(as_times(times), t):
            raise ValueError(f"{name}: the gridded view's times differ from the times given")
        return obs, (grid_from_dataset(obs) if grid is None else grid), t
    raise TypeError(f"{name} must be Observations or a gridded Dataset, got {type(obs).__name__}")


def frame_spacing(t: np.ndarray, name: str) -> float:
    """The regular spacing [s] of the datetime64 times ``t`` (``ValueError`` naming ``name`` if
    fewer than 2 times or irregular to 1e-6 relative)."""
    s = np.diff(seconds_since(t, t[0]))
    if s.size == 0 or not np.allclose(s, s[0], rtol=1e-6):
        raise ValueError(f"{name} must be at least 2 regularly spaced times, got spacings {np.unique(s)[:4]} s")
    return float(s[0])


__all__ = ["gridded_frames", "gridded_view", "frame_spacing"]
