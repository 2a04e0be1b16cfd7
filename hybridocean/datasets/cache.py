"""On-disk cache of generated trajectories as netCDF4 (via xarray), written atomically.

One file per ``(system, split, seed, n, generator settings)``; the settings are hashed into
the file name (:func:`cache_key`), so changing a parameter, the solver or the generator
version never reads a stale file. Values are stored as float64: reading back is exact.
Writing goes to a temporary file in the same folder renamed into place
(:func:`hybridocean.io.write_netcdf`), so concurrent readers never see a partial file.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
import xarray as xr

from hybridocean.io import read_netcdf, write_netcdf
from hybridocean.trajectories import Trajectories

PathLike = Union[str, os.PathLike]

#: Environment variable overriding the default cache folder.
CACHE_ENV = "HYBRIDOCEAN_CACHE"


def default_cache_dir() -> Path:
    """``$HYBRIDOCEAN_CACHE`` or ``~/.cache/hybridocean/datasets``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "hybridocean" / "datasets"


def cache_key(settings: dict) -> str:
    """A 12-hex-digit hash of the JSON of ``settings`` (sorted keys)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def cache_path(cache_dir: PathLike, system: str, split: str, seed: int, n: int, settings: dict) -> Path:
    """``cache_dir/<system>-<split>-seed<seed>-n<n>-<hash>.nc``."""
    return Path(cache_dir) / f"{system}-{split}-seed{seed}-n{n}-{cache_key(settings)}.nc"


def _state_dims(ndim: int) -> tuple:
    return ("channel",) if ndim == 1 else ("channel", "y", "x")


def save_trajectories(path: PathLike, traj: Trajectories, channels: Sequence[str], attrs: dict) -> Path:
    """Write ``traj`` (``x`` as variable ``x`` on dims ``(trajectory, time, channel[, y, x])``)."""
    x = traj.x.detach().cpu().numpy().astype(np.float64)
    dims = ("trajectory", "time") + _state_dims(x.ndim - 2)
    ds = xr.Dataset(
        {"x": (dims, x, {"long_name": "state"})},
        coords={
            "time": ("time", traj.t.detach().cpu().numpy().astype(np.float64), {"units": "s", "axis": "T"}),
            "channel": ("channel", np.asarray(list(channels), dtype=str)),
        },
        attrs={k: json.dumps(v) if isinstance(v, (dict, list, tuple)) else v for k, v in attrs.items()},
    )
    return write_netcdf(ds, path)


def load_trajectories(path: PathLike, channels: Optional[Sequence[str]] = None) -> Trajectories:
    """Read a file written by :func:`save_trajectories` (checks the channel names if given)."""
    ds = read_netcdf(path)
    if channels is not None and [str(c) for c in ds["channel"].values] != list(channels):
        raise ValueError(f"{path}: channels {list(ds['channel'].values)} differ from {list(channels)}")
    return Trajectories(torch.from_numpy(ds["time"].values.copy()), torch.from_numpy(ds["x"].values.copy()))
