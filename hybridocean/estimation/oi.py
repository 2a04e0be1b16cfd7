"""Optimal interpolation (OI) of SSH: the baseline of the SSH-mapping data challenges and of DUACS.

Analysis (Gauss-Markov / best linear unbiased estimate; Bretherton, Davis and Fandry 1976,
Deep-Sea Res. 23, 559-582; Le Traon, Nadal, Ducet 1998, J. Atmos. Oceanic Technol. 15, 522-534
for altimetry), for every output time ``t_k`` and output cell centre ``g``::

    eta_a(g) = m + C_go (C_oo + R)^-1 (y - m)

with ``y`` the observed SSH [m] of the observations within ``|t - t_k| < time_window * Lt``,
``m`` the prior mean, ``R = diag(noise_std^2 + error_std_i^2)`` (the measurement errors of the
:class:`~hybridocean.observations.Observations` are added only with ``use_error_std=True``) and
the space-time Gaussian covariance of the challenges' baseline::

    C(a, b) = signal_std^2 exp(-(dx / Lx)^2 - (dy / Ly)^2 - (dt / Lt)^2)

``dx``, ``dy`` the separations in the observations' coordinates: degrees of longitude (wrapped
to [-180, 180)) and latitude for lon/lat observations (as the challenge, no cos(lat) factor), or
metres for x/y observations (minimum image on periodic grids). Optional posterior error:
``sqrt(signal_std^2 - diag(C_go (C_oo + R)^-1 C_og))`` (``error=True``, variable
``ssh_error_std``). The currents are the geostrophic ones of ``eta_a`` (:mod:`.base`).

Defaults (the baseline OI of ``ocean-data-challenges/2020a_SSH_mapping_NATL60``,
``notebooks/baseline_oi.ipynb`` with ``src/mod_oi.py`` ``oi_core``): ``Lx = Ly = 1`` degree
(``111.195 km`` = ``R pi / 180`` on x/y grids), ``Lt = 7`` days, ``noise = 0.05`` (its comment:
"Noise level (5%)", added as ``noise^2`` to the diagonal of a unit-variance covariance, i.e.
``signal_std = 1`` m and ``noise_std = 0.05`` m), observations within ``|dt| < 2 Lt`` of each
output time, prior mean 0 (the challenge interpolates the SSH itself). ``prior_mean="obs"``
uses the mean of the selected observations instead (better for absolute dynamic topography).

Solvers
-------
``tile=None`` -- **dense**: one in-place Cholesky factorisation of ``C_oo + R`` over all
selected observations per output time (``n^3 / 3`` flops, one ``n x n`` float64 matrix:
3.2 GB at ``n = 2e4``), then ``C_go w`` by blocks of grid points.
``tile=(ty, tx)`` -- **tiled** (:mod:`.oi_tiles`): the output grid is cut into tiles of
``ty x tx`` cells; each tile solves the same analysis with the observations inside the tile
widened by ``margin`` correlation lengths on every side (``margin * Lx``, ``margin * Ly``).
At fixed observation density the number of observations per tile is fixed, so the cost is
``O(n_tiles m^3)``, linear in the number of observations. Measured
(``scripts/bench_estimation.py``, 1 thread on a shared 2-core machine, 20 obs/deg^2, 12-cell
tiles of 0.25 deg, margin 3): ~0.12-0.20 s per tile of ~1300-1400 observations; 1e4 / 2e4 /
3e4 / 1e5 observations in 6.1 / 14.5 / 22.5 / 117 s at a flat ~450 MB peak, against 16 / 109 s
and 1.9 / 6.4 GB for the dense solve at 1e4 / 2e4 (7.5x faster at 2e4).
The covariance beyond the margin is ``exp(-margin^2)`` (1.2e-4 at the default ``margin = 3``),
so tiles agree with the dense solve to that order; one tile covering the grid with a margin
reaching every observation *is* the dense solve (same observations, same order: equal to
round-off; tested).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from physics._checks import check_nonnegative, check_positive
from physics.lonlat import EARTH_RADIUS

from .base import EstimationInputs, Estimator
from .oi_tiles import BucketIndex, Tile, plan_tiles

DAY = 86400.0
#: 1 degree of great circle [m] (``R pi / 180``, ``R`` = :data:`physics.lonlat.EARTH_RADIUS`).
DEGREE_M = EARTH_RADIUS * math.pi / 180.0
#: Rows per block of a covariance matrix (bounds the temporaries to ``BLOCK x n`` floats).
BLOCK = 2048


def _wrap(d: np.ndarray, period: Optional[float]) -> np.ndarray:
    """Separations wrapped to ``[-period/2, period/2)`` when ``period`` is given (in place)."""
    if period is not None:
        d += period / 2
        np.mod(d, period, out=d)
        d -= period / 2
    return d


def _unwrapped(g: np.ndarray, o: np.ndarray, period: Optional[float]) -> Tuple[np.ndarray, np.ndarray, Optional[float]]:
    """``(g', o', period')``: on a periodic axis, grid and observation coordinates moved to within
    half a period of the grid's centre; when they then all lie within half a period, plain
    differences equal the wrapped ones and the period is dropped (``None``), which spares the
    wrapping of every covariance entry. Otherwise (or on a non-periodic axis) unchanged."""
    if period is None or g.size == 0:
        return g, o, period
    ref = 0.5 * (float(g.min()) + float(g.max()))
    gu, ou = ref + _wrap(g - ref, period), ref + _wrap(o - ref, period)
    lo, hi = min(gu.min(), ou.min(initial=np.inf)), max(gu.max(), ou.max(initial=-np.inf))
    return (gu, ou, None) if hi - lo < period / 2 else (g, o, period)


def gaussian_covariance(
    a: Tuple[np.ndarray, np.ndarray, np.ndarray], b: Tuple[np.ndarray, np.ndarray, np.ndarray],
    scales: Tuple[float, float, float], signal_var: float, periods: Sequence[Optional[float]] = (None, None),
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """``C[i, j] = signal_var exp(-(dx/Lx)^2 - (dy/Ly)^2 - (dt/Lt)^2)`` between points ``a = (x, y, t)``
    ``(n,)`` each and ``b`` ``(m,)`` each, ``(n, m)`` float64 (module docstring); ``scales = (Lx, Ly, Lt)``.

    Filled by blocks of :data:`BLOCK` rows so that the temporaries stay ``BLOCK x m``.
    """
    n, m = a[0].size, b[0].size
    out = np.empty((n, m)) if out is None else out
    for r0 in range(0, n, BLOCK):
        r1 = min(r0 + BLOCK, n)
        blk = out[r0:r1]
        blk[...] = 0.0
        for k in range(3):
            d = _wrap(a[k][r0:r1, None] - b[k][None, :], periods[k] if k < 2 else None)
            d /= scales[k]
            np.square(d, out=d)
            blk += d
        np.negative(blk, out=blk)
        np.exp(blk, out=blk)
        blk *= signal_var
    return out


class OptimalInterpolation(Estimator):
    """Space-time Gaussian OI of SSH, then geostrophy (module docstring).

    Args:
        Lx, Ly: correlation lengths [degrees for lon/lat observations, m for x/y ones]; default
            1 degree (or :data:`DEGREE_M` m).
        Lt: correlation time [s], default 7 days.
        noise_std: [m] white observation noise (default 0.05); signal_std: [m] prior std (default 1).
        time_window: observations with ``|t - t_k| < time_window * Lt`` enter the analysis at ``t_k``
            (default 2, the challenge's).
        tile: None (dense) or ``(ty, tx)`` / ``n`` cells per tile (tiled, :mod:`.oi_tiles`).
        margin: [correlation lengths] widening of each tile's observation window (default 3).
        prior_mean: ``0.0`` (default, the challenge's), another number [m], or ``"obs"`` (the mean
            of the observations selected for each output time).
        use_error_std: add the observations' ``error_std^2`` to ``R`` (default False).
        error: also return the posterior error std ``ssh_error_std`` [m] (default False).
        g, equator_min_lat: for the geostrophic currents.
    """

    method = "oi"
    velocity_kind = "geostrophic"

    def __init__(
        self, Lx: Optional[float] = None, Ly: Optional[float] = None, Lt: float = 7 * DAY,
        noise_std: float = 0.05, signal_std: float = 1.0, time_window: float = 2.0,
        tile: Union[None, int, Sequence[int]] = None, margin: float = 3.0,
        prior_mean: Union[float, str] = 0.0, use_error_std: bool = False, error: bool = False,
        g: float = 9.81, equator_min_lat: float = 5.0,
    ) -> None:
        self.Lx = None if Lx is None else check_positive("Lx", Lx)
        self.Ly = None if Ly is None else check_positive("Ly", Ly)
        self.Lt = check_positive("Lt", Lt)
        self.noise_std = check_nonnegative("noise_std", noise_std)
        self.signal_std = check_positive("signal_std", signal_std)
        self.time_window = check_positive("time_window", time_window)
        self.margin = check_nonnegative("margin", margin)
        if tile is not None:
            t = (tile, tile) if isinstance(tile, (int, np.integer)) and not isinstance(tile, bool) else tuple(tile)
            if len(t) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in t):
                raise ValueError(f"tile must be None or a positive int / (ty, tx) of cells, got {tile!r}")
            tile = (int(t[0]), int(t[1]))
        self.tile = tile
        if isinstance(prior_mean, str):
            if prior_mean != "obs":
                raise ValueError(f"prior_mean must be a number [m] or 'obs', got {prior_mean!r}")
        else:
            prior_mean = float(prior_mean)
            if not math.isfinite(prior_mean):
                raise ValueError(f"prior_mean must be finite, got {prior_mean!r}")
        self.prior_mean = prior_mean
        for name, flag in (("use_error_std", use_error_std), ("error", error)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        self.use_error_std, self.error = use_error_std, error
        self.g = check_positive("g", g)
        self.equator_min_lat = check_nonnegative("equator_min_lat", equator_min_lat)
        self.last_stats: Dict[str, Any] = {}

    # ------------------------------------------------------------------ interface
    def parameters(self) -> Dict[str, Any]:
        return {
            "Lx": "1 degree or 111.195 km" if self.Lx is None else self.Lx,
            "Ly": "1 degree or 111.195 km" if self.Ly is None else self.Ly,
            "Lt_s": self.Lt, "noise_std_m": self.noise_std, "signal_std_m": self.signal_std,
            "time_window_Lt": self.time_window, "solver": "dense" if self.tile is None else "tiled",
            "tile_cells": "none" if self.tile is None else list(self.tile), "margin_L": self.margin,
            "prior_mean": self.prior_mean, "use_error_std": self.use_error_std,
            "covariance": "s^2 exp(-(dx/Lx)^2 - (dy/Ly)^2 - (dt/Lt)^2)", "g": self.g,
            "equator_min_lat": self.equator_min_lat,
        }

    def time_margin(self) -> float:
        """An output time may lie up to ``Lt`` outside the observations' time span."""
        return self.Lt

    def scales(self, lonlat: bool) -> Tuple[float, float]:
        """``(Lx, Ly)`` in the observations' units (degrees if ``lonlat`` else metres)."""
        d = 1.0 if lonlat else DEGREE_M
        return (self.Lx or d), (self.Ly or d)

    # ------------------------------------------------------------------ geometry
    def _geometry(self, inputs: EstimationInputs):
        """Grid point and observation coordinates ``(gx (nx,), gy (ny,), ox, oy, periods)``."""
        grid, obs = inputs.grid, inputs.obs
        ox, oy = obs.positions()
        if obs.coords_kind == "lonlat":
            gx, gy = (a.cpu().numpy().astype(np.float64) for a in grid.lonlat("center"))
            periods = (360.0, None)
        else:
            gx, gy = (a.cpu().numpy().astype(np.float64) for a in grid.coords("center"))
            periods = (grid.Lx, grid.Ly) if grid.periodic else (None, None)
        return gx, gy, np.asarray(ox, np.float64), np.asarray(oy, np.float64), periods

    # ------------------------------------------------------------------ analysis
    def _solve(self, gx: np.ndarray, gy: np.ndarray, ox: np.ndarray, oy: np.ndarray, ot: np.ndarray,
               y: np.ndarray, r: np.ndarray, L: Tuple[float, float], periods) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Analysis at the grid points ``(gy[j], gx[i])`` (``(len(gy), len(gx))``) at time 0 from
        observations at ``(ox, oy)`` and times ``ot`` [s from the output time] with values ``y``
        (prior mean removed) and noise variances ``r``: one in-place Cholesky factorisation of
        ``C_oo + R``, then ``C_go w`` and the error by blocks of grid points."""
        s2 = self.signal_std ** 2
        scales = (L[0], L[1], self.Lt)
        gx, ox, px = _unwrapped(gx, ox, periods[0])
        gy, oy, py = _unwrapped(gy, oy, periods[1])
        periods = (px, py)
        C = gaussian_covariance((ox, oy, ot), (ox, oy, ot), scales, s2, periods)
        C[np.diag_indices_from(C)] += r
        Ct = torch.from_numpy(C)  # shares memory: factorised in place (torch's LAPACK honours
        info = torch.empty((), dtype=torch.int32)  # torch.set_num_threads, unlike SciPy's OpenBLAS)
        torch.linalg.cholesky_ex(Ct, out=(Ct, info))
        if int(info) != 0:
            raise ValueError(
                f"noise_std: the observation covariance is not positive definite (Cholesky failed at row {int(info)}; "
                f"{len(y)} observations); give noise_std > 0 or thin duplicate observations")
        Lc = Ct.tril_() if self.error else Ct  # cholesky_solve reads the lower triangle only
        w = torch.cholesky_solve(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float64))[:, None], Lc)[:, 0]
        GX, GY = (a.ravel() for a in np.meshgrid(gx, gy))
        zero = np.zeros(GX.size)
        out = np.empty(GX.size)
        err = np.empty(GX.size) if self.error else None
        for a in range(0, GX.size, BLOCK):
            b = min(a + BLOCK, GX.size)
            Cg = torch.from_numpy(gaussian_covariance((GX[a:b], GY[a:b], zero[a:b]), (ox, oy, ot), scales, s2, periods))
            out[a:b] = (Cg @ w).numpy()
            if err is not None:
                V = torch.linalg.solve_triangular(Lc, Cg.T, upper=False)
                err[a:b] = np.sqrt(np.clip(s2 - (V * V).sum(0).numpy(), 0.0, None))
        shape = (gy.size, gx.size)
        return out.reshape(shape), None if err is None else err.reshape(shape)

    def map_ssh(self, inputs: EstimationInputs):
        gx, gy, ox, oy, periods = self._geometry(inputs)
        L = self.scales(inputs.obs.coords_kind == "lonlat")
        ot = inputs.obs_times_s
        ssh = inputs.obs.ssh
        r = np.full(ssh.shape, self.noise_std ** 2) + (inputs.obs.error_std ** 2 if self.use_error_std else 0.0)
        T, ny, nx = inputs.times.size, inputs.grid.ny, inputs.grid.nx
        out = np.full((T, ny, nx), np.nan)
        err = np.full((T, ny, nx), np.nan) if self.error else None
        tiles = [Tile(slice(0, ny), slice(0, nx))] if self.tile is None else plan_tiles(ny, nx, self.tile)
        sizes = []
        for k, tk in enumerate(inputs.times_s):
            near = np.abs(ot - tk) < self.time_window * self.Lt
            if not near.any():
                raise ValueError(f"times: no observation within {self.time_window:g} Lt of output time {inputs.times[k]}")
            mean = float(np.mean(ssh[near])) if self.prior_mean == "obs" else float(self.prior_mean)
            idx = np.flatnonzero(near)
            if self.tile is not None:
                width = (self.tile[1] * abs(gx[1] - gx[0]) if gx.size > 1 else L[0],
                         self.tile[0] * abs(gy[1] - gy[0]) if gy.size > 1 else L[1])
                index = BucketIndex(ox[idx], oy[idx], (float(gx[0]), float(gy[0])), width, periods)
            for tile in tiles:
                if self.tile is None:
                    sel = idx
                else:
                    cand = index.candidates(*tile.box(gx, gy, L, self.margin))
                    sel = idx[cand[tile.selects(ox[idx[cand]], oy[idx[cand]], gx, gy, L, self.margin, periods)]]
                sizes.append(sel.size)
                if sel.size == 0:  # nothing within the margin: the prior
                    out[k, tile.rows, tile.cols] = mean
                    if err is not None:
                        err[k, tile.rows, tile.cols] = self.signal_std
                    continue
                a, e = self._solve(gx[tile.cols], gy[tile.rows], ox[sel], oy[sel], ot[sel] - tk, ssh[sel] - mean,
                                   r[sel], L, periods)
                out[k, tile.rows, tile.cols] = a + mean
                if err is not None:
                    err[k, tile.rows, tile.cols] = e
        self.last_stats = {"n_tiles": len(tiles), "obs_per_tile_max": int(max(sizes)), "obs_per_tile_mean": float(np.mean(sizes))}
        ssh_t = torch.as_tensor(out, dtype=torch.float64)
        if err is None:
            return ssh_t
        return ssh_t, {"ssh_error_std": (err, {"units": "m", "long_name": "OI posterior error standard deviation of the SSH"})}


__all__ = ["OptimalInterpolation", "gaussian_covariance", "DEGREE_M"]
