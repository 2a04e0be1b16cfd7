"""Tiny analytic cases shared by the estimate/evaluate CLI and figure tests (not a test module).

* :func:`eddy_truth` -- a Gaussian SSH eddy drifting east on a closed x/y beta-plane grid,
  written as :func:`hybridocean.io.states_to_dataset` writes model runs (``eta`` on
  ``(time, y, x)``, ``f0_per_s``/``beta_per_m_per_s`` attributes, plus ``y0_m``);
* :func:`lonlat_points` -- an :class:`~hybridocean.observations.Observations` cloud of a smooth
  lon/lat SSH field, for ``--bbox``/``--resolution`` runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import numpy as np
import torch

from hybridocean.io import states_to_dataset, write_netcdf
from hybridocean.observations import Observations
from physics.grid import Grid

NX, NY, DX = 24, 20, 10e3  # 240 km x 200 km, 10 km cells
F0, BETA, Y0 = 1e-4, 1.6e-11, 30e3  # y0 != Ly/2 on purpose: the file states where f = f0
DAY = 86400.0


def eddy_grid(y0: float = Y0) -> Grid:
    """The closed beta-plane grid of :func:`eddy_truth`."""
    return Grid(NX, NY, dx=DX, dy=DX, boundary="closed", f0=F0, beta=BETA, y0=y0)


def eddy_ssh(n_times: int = 5, amplitude: float = 0.3) -> np.ndarray:
    """``(T, ny, nx)`` SSH [m]: ``a exp(-r^2 / (2 L^2))``, L = 40 km, centre drifting 10 km/day east."""
    x, y = (c.numpy() for c in eddy_grid().coords("center"))
    X, Y = np.meshgrid(x, y)
    out = []
    for k in range(n_times):
        xc, yc = 100e3 + 10e3 * k, 100e3
        out.append(amplitude * np.exp(-((X - xc) ** 2 + (Y - yc) ** 2) / (2 * 40e3**2)))
    return np.stack(out)


def eddy_truth(path: Path, n_times: int = 5, ssh: np.ndarray = None, extra_attrs: dict = None) -> Path:
    """Write the eddy (or ``ssh``, same shape) as a model-run netCDF at daily times from
    2000-01-01 (float seconds since 2000-01-01); returns ``path``."""
    eta = eddy_ssh(n_times) if ssh is None else ssh
    ds = states_to_dataset(torch.as_tensor(eta)[:, None], torch.arange(eta.shape[0], dtype=torch.float64) * DAY,
                           eddy_grid(), ["eta"], attrs={"y0_m": Y0, **(extra_attrs or {})})
    write_netcdf(ds, path)
    return path


def lonlat_field(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A smooth SSH [m]: ``0.2 sin(20 lon) cos(30 lat)`` with lon, lat in radians (18 and 12 degree waves)."""
    return 0.2 * np.sin(np.radians(lon) * 20) * np.cos(np.radians(lat) * 30)


def lonlat_points(n: int = 4000, days: Sequence[str] = ("2019-01-01", "2019-01-02", "2019-01-03"),
                  box=(-64.0, -56.0, 34.0, 40.0), seed: int = 0) -> Observations:
    """``n`` random points per day in ``box`` (lon0, lon1, lat0, lat1), at 00:00 +- 6 h."""
    rng = np.random.default_rng(seed)
    parts: List[Observations] = []
    for d in days:
        lon = rng.uniform(box[0], box[1], n)
        lat = rng.uniform(box[2], box[3], n)
        t = np.datetime64(d, "ns") + (rng.uniform(-6, 6, n) * 3600e9).astype("timedelta64[ns]")
        parts.append(Observations.from_arrays(time=t, ssh=lonlat_field(lon, lat), platform="test",
                                              longitude=lon, latitude=lat, error_std=0.01))
    return Observations.concat(parts)
