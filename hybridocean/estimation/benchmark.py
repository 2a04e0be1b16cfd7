"""Reusable pieces of the estimation benchmark (``scripts/benchmark_estimation.py``, issue 11 section 4).

Truths (every one on a closed Cartesian x/y box, SSH [m] on ``(time, y, x)``, so that every
estimator -- OI, 4D-Var, the learned one -- sees the same grid; :func:`truth_grid` rebuilds it):

* :func:`lonlat_box_truth` -- a box of real DUACS L4 maps moved onto its local tangent plane:
  ``x = R cos(phi0) (lon - lon_0)``, ``y = R (lat - lat_0)`` (``phi0`` the box's central latitude,
  ``f0 = 2 Omega sin(phi0)``, ``beta = 2 Omega cos(phi0) / R``; the same mapping as
  :meth:`~hybridocean.observations.Constellation.sample` applies to x/y truths with
  ``center_lonlat``). Across the 8-degree Mediterranean box centred at 36 N the true zonal spacing
  ``R cos(lat) dlon`` varies by +-4.6 % about the tangent plane's: the price of one Cartesian grid
  for every estimator (stated with the results). Land stays NaN (no observation there).
* the QG jet twin (b) of :mod:`.twins_qg`.

Scenarios (:func:`scenario_observations`):

* ``i`` -- 50 % random gaps per frame (:func:`~hybridocean.observations.gaps.random_pixel_mask`), no noise;
* ``ii`` -- 70 % missing in cloud-like blobs (:func:`~hybridocean.observations.gaps.cloud_mask`,
  correlation length ``cloud_length`` pixels, 2-frame time correlation) + 5 mm white noise;
* ``iii`` -- 4 nadir altimeters (Jason-3, Sentinel-3A/B, SARAL on their repeat orbits), error-free
  as in the SSH-mapping data challenge 2020a;
* ``iv`` -- SWOT (real science-orbit ephemeris, KaRIn noise table ``karin_noise_v2.nc`` at
  SWH 2 m) + the 4 nadirs; KaRIn pixels are averaged per grid cell and hour (:func:`superobs`).

Every scenario then holds out 10 % of its observations (:func:`holdout_split`) in whole blocks:
pieces :data:`HOLDOUT_BLOCK_CELLS` cells long of one satellite's pass, or tiles of that side of one
frame of gridded points (:func:`~hybridocean.observations.holdout.block_holdout`; scattered random
points would be predicted by their neighbours on the same pass). The estimators never see them; OI's parameters and
the learned estimator's model selection use them (never the truth).

OI tuning (:func:`tune_oi`): a small grid of ``(Lx = Ly, Lt, noise_std)`` candidates, each scored
by its RMS misfit to the held-out observations at a few times; the best is kept (the selection
and the misfit :func:`held_rmse` live in :mod:`.selection`, shared with the mission). A split whose
held-out set covers fewer than :data:`MIN_HELD_BLOCKS` blocks (the 4-day Gulf Stream record) is
pooled with :data:`HOLDOUT_SPLITS` ``- 1`` more block draws (:func:`holdout_folds`), so one
handful of blocks does not pick the scales.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import xarray as xr

from hybridocean.observations.superobs import cell_superobs  # noqa: F401 (re-exported: moved there)
from physics._checks import check_choice
from physics.grid import Grid
from physics.lonlat import EARTH_RADIUS, OMEGA

from .selection import held_rmse, select_oi_folds
from .twins_qg import box_grid, twin_attrs

SCENARIOS = ("i", "ii", "iii", "iv")
SCENARIO_TEXT = {
    "i": "50 % random gaps",
    "ii": "70 % missing in cloud-like blobs + 5 mm noise",
    "iii": "4 nadir altimeters",
    "iv": "SWOT + 4 nadirs + KaRIn noise",
}
NADIRS = "jason3,sentinel3a,sentinel3b,saral"
HOLDOUT_FRACTION = 0.1
#: side of the benchmark's held-out blocks [grid cells] (:func:`holdout_split`): 8 cells, 40-180 km
#: on its truths. Larger blocks put held points farther from their own pass's kept neighbours but
#: leave few, large blocks on a small box, and the selection gets noisy: measured on truth b iv,
#: blocks of twice the longest OI scale (120 km) picked Lx = 30 km and OI's tau_uv fell from 87.0
#: (8 cells) to 62.1; on b iii / a iii the 8-cell blocks and the earlier tiles agree within 1 point
HOLDOUT_BLOCK_CELLS = 8
#: a benchmark split whose held-out set holds fewer whole blocks than this is pooled with more splits
#: (:func:`holdout_folds`): the Gulf Stream record (40 x 40 cells, 4 days) holds out ~140 nadir points in
#: a handful of pieces, and one split's selection followed them (Lx 75 km instead of 150 km, OI tau_uv
#: on gulf iii 57.0 -> 40.6 when the blocks changed); the other truths hold out tens to hundreds of blocks
MIN_HELD_BLOCKS = 20
#: splits then pooled: the benchmark's own and ``HOLDOUT_SPLITS - 1`` more block draws
HOLDOUT_SPLITS = 5


def lonlat_box_truth(path: str, lon0: float, lat0: float, nx: int, ny: int, title: str) -> xr.Dataset:
    """``nx x ny`` cells of the L4 maps at ``path`` from the cell centred at (``lon0``, ``lat0``)
    [degrees], on the tangent-plane x/y box of the module docstring (``ssh`` [m], NaN on land).
    Attributes: the box grid and ``center_lonlat`` for the constellation sampling."""
    from hybridocean.observations import read_l4

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # land fill values are masked with a warning
        ds = read_l4(path)
    var = ds.attrs.get("ssh_variable", "adt")
    lon, lat = ds["longitude"].values, ds["latitude"].values
    lon0 = (lon0 - float(lon[0])) % 360.0 + float(lon[0])  # the maps' longitude convention (0..360 or -180..180)
    i0 = int(np.argmin(np.abs(lon - lon0)))
    j0 = int(np.argmin(np.abs(lat - lat0)))
    if i0 + nx > lon.size or j0 + ny > lat.size:
        raise ValueError(f"lon0/lat0: a {nx} x {ny} box from ({lon0}, {lat0}) leaves the maps")
    sub = ds[var].isel(longitude=slice(i0, i0 + nx), latitude=slice(j0, j0 + ny))
    blon, blat = sub["longitude"].values.astype(float), sub["latitude"].values.astype(float)
    phi0 = math.radians(0.5 * (blat[0] + blat[-1]))
    dx = EARTH_RADIUS * math.cos(phi0) * math.radians(blon[1] - blon[0])
    dy = EARTH_RADIUS * math.radians(blat[1] - blat[0])
    grid = Grid(nx, ny, dx=dx, dy=dy, boundary="closed", f0=2 * OMEGA * math.sin(phi0),
                beta=2 * OMEGA * math.cos(phi0) / EARTH_RADIUS)
    xc, yc = (c.numpy() for c in grid.coords("center"))
    attrs = twin_attrs(grid, source=str(path), lon_range=[float(blon[0]), float(blon[-1])],
                       lat_range=[float(blat[0]), float(blat[-1])])
    attrs.update(title=title, center_lonlat=[0.5 * (blon[0] + blon[-1]), 0.5 * (blat[0] + blat[-1])],
                 ocean_fraction=float(np.isfinite(sub.values[0]).mean()))
    return xr.Dataset({"ssh": (("time", "y", "x"), np.asarray(sub.values, np.float64), {"units": "m"})},
                      coords={"time": sub["time"].values, "y": ("y", yc, {"units": "m"}),
                              "x": ("x", xc, {"units": "m"})}, attrs=attrs)


def truth_grid(truth: xr.Dataset) -> Grid:
    """The closed x/y :class:`Grid` of a benchmark truth (its attributes and coordinates)."""
    return box_grid(truth)


def remove_offset(truth: xr.Dataset, offset: float, *observations) -> tuple:
    """``(truth - c, *(obs - c))`` for ``c = offset`` [m], the mean of the training observations
    (never the truth): the QG state of a closed box has ``psi = 0`` on its walls and cannot hold a
    uniform level, so every estimator works on SSH minus this constant (``lambda_x`` and
    ``tau_uv`` do not change; ``mu`` is then relative to the RMS of ``truth - c``)."""
    from hybridocean.observations import Observations

    c = float(offset)
    if not math.isfinite(c):
        raise ValueError(f"offset must be a finite number [m], got {offset!r}")
    out = truth.copy()
    out["ssh"] = truth["ssh"] - c
    out.attrs["removed_observation_mean_m"] = c
    return (out, *(Observations(o.ds.assign(ssh=o.ds["ssh"] - c)) for o in observations))


def _gridded_points(truth: xr.Dataset, keep: np.ndarray, noise_m: float, rng: np.random.Generator, platform: str):
    from hybridocean.observations import from_gridded

    ssh = truth["ssh"].where(np.isfinite(truth["ssh"]))
    if noise_m > 0:
        ssh = ssh + rng.normal(0.0, noise_m, ssh.shape)
    return from_gridded(xr.Dataset({"ssh": ssh}), platform=platform, error_std=noise_m or None, mask=keep)


def superobs(obs, grid: Grid, start: np.datetime64, days: float, hours: float = 1.0, platforms=("swot_karin",)):
    """KaRIn super-observations: the points of ``platforms`` averaged per grid cell and ``hours``
    time bin (:func:`cell_superobs`, bins from ``start`` over ``days``); other platforms
    unchanged. The 2 km KaRIn pixels are denser than the grid, and a pass crosses the box in
    minutes, so hourly cell means keep what the grid holds (DUACS also reduces along-track data
    before its OI) and keep the dense OI affordable."""
    from hybridocean.observations import Observations

    sel = np.isin(obs.platform, list(platforms))
    if hours <= 0 or not sel.any():
        return obs
    step = np.timedelta64(int(hours * 3600e9), "ns")
    centres = np.arange(start + step / 2, start + np.timedelta64(int(days * 86400e9), "ns") + step, step)
    binned = cell_superobs(obs.subset(sel), grid, centres, window=hours * 3600.0, platform="swot_karin_superobs")
    return Observations.concat([binned, obs.subset(~sel)]) if (~sel).any() else binned


def scenario_observations(truth: xr.Dataset, scenario: str, seed: int = 0, data: Optional[Path] = None,
                          cloud_length: float = 6.0) -> Tuple[Any, Dict[str, Any]]:
    """``(observations, info)`` of ``truth`` in ``scenario`` (module docstring); ``data`` the shared
    data folder (SWOT ephemeris and KaRIn noise table, scenario ``iv``). x/y observations."""
    from hybridocean.observations import Constellation
    from hybridocean.observations.gaps import cloud_mask, random_pixel_mask

    check_choice("scenario", scenario, SCENARIOS)
    rng = np.random.default_rng(seed)
    shape = truth["ssh"].shape
    info: Dict[str, Any] = {"scenario": scenario, "text": SCENARIO_TEXT[scenario], "seed": seed}
    if scenario == "i":
        obs = _gridded_points(truth, random_pixel_mask(shape, 0.5, rng), 0.0, rng, "random_pixels")
    elif scenario == "ii":
        keep = cloud_mask(shape, 0.7, cloud_length, rng, time_correlation=2.0)
        obs = _gridded_points(truth, keep, 0.005, rng, "cloud_gaps")
        info.update(cloud_length_pixels=cloud_length, cloud_time_correlation_frames=2.0, noise_m=0.005)
    else:
        times = truth["time"].values
        days = float((times[-1] - times[0]) / np.timedelta64(1, "D"))
        names = NADIRS if scenario == "iii" else "swot," + NADIRS
        kw: Dict[str, Any] = {}
        if scenario == "iv":
            if data is None:
                raise ValueError("data: the shared data folder is needed for SWOT (ephemeris, KaRIn noise)")
            orbit = Path(data) / "swot_orbit"
            kw = dict(ephemeris={"swot": str(orbit / "ephemeris_science_sept2015_ell.txt")},
                      karin_noise=str(orbit / "karin_noise_v2.nc"))
        const = Constellation(names, times[0], days, **kw)
        centre = truth.attrs.get("center_lonlat")
        centre = (float(centre[0]), float(centre[1])) if centre is not None else None
        raw = const.sample(xr.Dataset({"ssh": truth["ssh"]}, attrs=truth.attrs), seed=seed, center_lonlat=centre)
        info["raw_counts"] = {p: int((raw.platform == p).sum()) for p in raw.platforms}
        obs = superobs(raw, truth_grid(truth), times[0], days) if scenario == "iv" else raw
        info.update(platforms=names, nadir_noise_m=0.0, karin_noise="karin_noise_v2.nc, SWH 2 m" if scenario == "iv" else None,
                    superobs_hours=1.0 if scenario == "iv" else None)
    info["n_obs"] = len(obs)
    info["counts"] = {p: int((obs.platform == p).sum()) for p in obs.platforms}
    return obs, info


def holdout_block(grid: Grid) -> float:
    """[m] the side of the benchmark's held-out blocks on ``grid``: :data:`HOLDOUT_BLOCK_CELLS` ``dx``."""
    return HOLDOUT_BLOCK_CELLS * grid.dx


def holdout_split(obs, fraction: float = HOLDOUT_FRACTION, seed: int = 0, block: Optional[float] = None):
    """``(kept, held_out)``: ``fraction`` of the observations held out -- whole blocks of passes
    ``block`` wide (:func:`~hybridocean.observations.holdout.block_holdout`; the benchmark's
    :data:`HOLDOUT_BLOCK_CELLS` grid cells), or, with ``block=None``, points drawn at random."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    if block is not None:
        from hybridocean.observations.holdout import block_holdout

        return block_holdout(obs, fraction, block, seed=seed + 7919)
    held = np.random.default_rng(seed + 7919).random(len(obs)) < fraction
    return obs.subset(~held), obs.subset(held)


def holdout_folds(train, held, block: float, seed: int = 0, fraction: float = HOLDOUT_FRACTION,
                  min_blocks: int = MIN_HELD_BLOCKS, splits: int = HOLDOUT_SPLITS) -> List[Tuple[Any, Any]]:
    """The splits a selection is scored on (repeated block hold-out): ``[(train, held)]`` when
    ``held`` covers at least ``min_blocks`` blocks ``block`` wide
    (:func:`~hybridocean.observations.holdout.block_labels` of ``train + held``); else that split and
    ``splits - 1`` more :func:`~hybridocean.observations.holdout.block_holdout` draws of
    ``fraction`` of ``train + held`` (seeds ``seed + 7919 + k``). Used with
    :func:`~hybridocean.estimation.selection.select_oi_folds`; the estimates still map ``train``."""
    from hybridocean.observations import Observations
    from hybridocean.observations.holdout import block_holdout, block_labels

    if len(held) == 0 or len(train) == 0:
        return [(train, held)]
    every = Observations.concat([train, held])
    if np.unique(block_labels(every, block)[len(train):]).size >= min_blocks:
        return [(train, held)]
    return [(train, held)] + [block_holdout(every, fraction, block, seed=seed + 7919 + k) for k in range(1, splits)]


def tune_oi(train, held, grid: Grid, times: np.ndarray, lengths: Sequence[float], time_scales: Sequence[float],
            noises: Sequence[float] = (0.01, 0.03), signal_std: float = 0.1,
            obs_window_s: Optional[float] = None, folds: Optional[Sequence[Tuple[Any, Any]]] = None
            ) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The OI parameters with the least held-out RMS misfit at ``times`` (module docstring):
    :func:`~hybridocean.estimation.selection.select_oi` scored by
    :func:`~hybridocean.estimation.selection.held_rmse` with its default window (each tuning map
    against the held-out points within half the spacing between the tuning maps of its time --
    not only its own frame: with maps spaced by many frames this reaches well beyond it), without
    the estimate. A caller that must score each map on its own frame only calls ``select_oi``
    with ``misfit=lambda ds: held_rmse(ds, held, grid, half_window_s=dt / 2)``.

    ``obs_window_s``: observations within ``|dt| < obs_window_s`` of an output time enter its
    analysis (default ``2 Lt``, the challenge's); dense gap scenarios set it to ~1 frame to keep
    the dense Cholesky small. ``folds``: the splits to score on (:func:`holdout_folds`: more
    pooled when ``held`` holds few blocks; their first must be ``(train, held)``); ``None``: the one
    split. Returns ``(best kwargs of OptimalInterpolation, every candidate)``."""
    folds = [(train, held)] if folds is None else list(folds)
    best, table, _ = select_oi_folds(folds, grid, times, lengths, time_scales, noises=noises, signal_std=signal_std,
                                     obs_window_s=obs_window_s)
    return best, table


__all__ = ["SCENARIOS", "SCENARIO_TEXT", "lonlat_box_truth", "truth_grid", "remove_offset", "scenario_observations",
           "holdout_block", "holdout_split", "holdout_folds", "held_rmse", "tune_oi", "superobs", "cell_superobs"]
