"""Shared pieces of the estimation benchmark's rows (``scripts/benchmark_estimation.py``): the
row :class:`Context`, timing, the OI tuning caches (the OI row's; the learned rows' first guess's,
tuned on the training period only), the padded closed box of the QG / shallow-water
estimators, the OI background map and the box's coastline.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import xarray as xr


@dataclass
class Context:
    """What a row needs: the grid, the observations, the times, the truth's settings."""

    truth_name: str
    scenario: str
    grid: Any
    train: Any
    held: Any
    times: np.ndarray          # every frame time (datetime64[ns])
    train_idx: np.ndarray      # frames of the learned estimator's training record
    score_idx: np.ndarray      # frames scored (held out in time)
    settings: Dict[str, Any]
    run_dir: Path              # OUT/runs/<truth>/<scenario>
    iterations: int = 60
    fourdvar_iters: int = 15
    threads: int = 1
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def frame_s(self) -> float:
        return float((self.times[1] - self.times[0]) / np.timedelta64(1, "s"))

    @property
    def score_times(self) -> np.ndarray:
        return self.times[self.score_idx]


def _timed(fn: Callable[[], Any]) -> Tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _oi_obs_window(ctx: Context) -> Optional[float]:
    """[s] half-width of the observations entering each OI map (``obs_window_s`` of ``tune_oi``)."""
    s = ctx.settings
    # observations entering each OI map: dense gaps (i, ii) +-1 frame; SWOT + nadirs (iv) +-3 days (the
    # swaths cover the box every few days, and ~700 KaRIn super-observations a day over +-2 Lt = 20 days
    # would make a 28k x 28k dense Cholesky per map, ~8 min and 6 GB); nadirs only (iii) +-2 Lt, the challenge's
    return {"i": s["frame_s"] * 1.01, "ii": s["frame_s"] * 1.01, "iv": 3 * 86400.0}.get(ctx.scenario)


def _oi_params(ctx: Context) -> Tuple[Dict[str, Any], list, float]:
    """The tuned OI parameters (cached in ``run_dir/oi_params.json``), their table and tuning time."""
    from hybridocean.estimation.benchmark import tune_oi

    path = ctx.run_dir / "oi_params.json"
    if path.exists():
        d = json.loads(path.read_text())
        return d["best"], d["table"], d["seconds"]
    s = ctx.settings
    # tuning times: in the training record (none for a record too short to train on: the scored times,
    # still with the held-out observations only)
    idx = ctx.train_idx if len(ctx.train_idx) > s["window"] else ctx.score_idx
    pick = np.arange(len(idx)) if len(idx) <= 4 else np.linspace(s["window"], len(idx) - 1, 3).astype(int)
    # each tuning map scored on the held-out points within half the spacing of the tuning maps (tune_oi)
    tune_times = ctx.times[idx][np.unique(pick)]
    window = _oi_obs_window(ctx)
    sig = float(np.nanstd(ctx.train.ssh))  # prior std: that of the observations
    folds = _folds(ctx, ctx.train, ctx.held)
    (best, table), sec = _timed(lambda: tune_oi(ctx.train, ctx.held, ctx.grid, tune_times, s["oi_lengths"],
                                                s["oi_time_scales"], signal_std=sig, obs_window_s=window,
                                                folds=folds))
    from hybridocean.io import save_json

    save_json({"best": best, "table": table, "seconds": sec, "tuning_times": [str(t) for t in tune_times],
               "splits": len(folds)}, path)
    return best, table, sec


def _folds(ctx: Context, train, held) -> list:
    """The splits a tuning is scored on (:func:`~hybridocean.estimation.benchmark.holdout_folds` of the
    benchmark's blocks: the one split, or more pooled when ``held`` holds few blocks)."""
    from hybridocean.estimation.benchmark import holdout_block, holdout_folds

    return holdout_folds(train, held, holdout_block(ctx.grid))


def _training_period(ctx: Context, obs):
    """``obs`` within the training frames' bins ``[t_0 - dt/2, t_{n_train-1} + dt/2)``
    (:func:`~hybridocean.estimation.learned_first_guess.record_observations`, the one definition
    the learned estimator's first guess uses too)."""
    from hybridocean.estimation.learned_first_guess import record_observations

    return record_observations(obs, ctx.times[ctx.train_idx], ctx.frame_s)


def _first_guess_oi_params(ctx: Context) -> Tuple[Dict[str, Any], list, float]:
    """The learned rows' first-guess OI parameters, tuned on the training period only (cached in
    ``run_dir/first_guess_oi_params.json``), their table and tuning time [s].

    Unlike :func:`_oi_params` (the OI row may use every observation): training and held-out
    observations cut to the training frames' bins (:func:`_training_period`), tuning times among
    the training frames, each tuning map scored on the held-out points of its own frame
    (``held_rmse(half_window_s = dt/2)``), ``signal_std`` the std of the training-period
    observations -- nothing of the scored period enters the learned rows."""
    from hybridocean.estimation.selection import select_oi_folds

    path = ctx.run_dir / "first_guess_oi_params.json"
    s, n = ctx.settings, len(ctx.train_idx)
    if path.exists():
        d = json.loads(path.read_text())
        if d.get("n_train") == n:  # tuned on this split's training period (else re-tuned)
            return d["best"], d["table"], d["seconds"]
    train, held = _training_period(ctx, ctx.train), _training_period(ctx, ctx.held)
    pick = np.arange(n) if n <= 4 else np.linspace(min(s["window"], n - 1), n - 1, 3).astype(int)
    tune_times = ctx.times[ctx.train_idx][np.unique(pick)]
    sig = float(np.nanstd(train.ssh))
    half = 0.5 * ctx.frame_s
    folds = _folds(ctx, train, held)
    (best, table, _), sec = _timed(lambda: select_oi_folds(
        folds, ctx.grid, tune_times, s["oi_lengths"], s["oi_time_scales"], signal_std=sig,
        obs_window_s=_oi_obs_window(ctx), half_window_s=half))
    from hybridocean.io import save_json

    save_json({"best": best, "table": table, "seconds": sec, "tuning_times": [str(t) for t in tune_times],
               "n_train": n, "splits": len(folds), "provenance": "training period only: observations and held-out observations in the "
               "training frames' bins, each tuning map scored on its own frame, signal_std of those observations"},
              path)
    return best, table, sec


def _first_guess_key(ctx: Context) -> str:
    """Short hash of the first-guess OI parameters and ``n_train`` (suffix of the cached maps and
    checkpoints, so a re-tuning or another split never reuses stale ones)."""
    key = json.dumps({"oi": _first_guess_oi_params(ctx)[0], "n_train": int(len(ctx.train_idx))}, sort_keys=True)
    return hashlib.sha1(key.encode()).hexdigest()[:8]


def _pad_grid(ctx: Context, pad: Optional[int] = None):
    """``(padded grid, shift obs, crop estimate)``: the closed box widened by ``pad`` cells on every
    side (default ``settings["pad"]``; :func:`_qg_pad` for the QG estimators). The QG and
    shallow-water models of the estimators have walls (``psi = 0``, no normal flow), while the
    truths' box boundaries are open; the walls are moved ``pad`` cells away from the scored box (no
    observation there), and the estimate is cropped back to the box."""
    from hybridocean.observations import Observations
    from physics.grid import Grid

    p = int(ctx.settings["pad"]) if pad is None else pad
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0:
        raise ValueError(f"pad must be an int >= 0 (cells), got {pad!r}")
    g, p = ctx.grid, int(p)
    gp = Grid(g.nx + 2 * p, g.ny + 2 * p, dx=g.dx, dy=g.dy, boundary="closed", f0=g.f0, beta=g.beta)
    shift = lambda o: Observations(o.ds.assign(x=o.ds["x"] + p * g.dx, y=o.ds["y"] + p * g.dy))  # noqa: E731
    xc, yc = (c.numpy() for c in g.coords("center"))

    def crop(ds: xr.Dataset) -> xr.Dataset:
        out = ds.isel(x=slice(p, p + g.nx), y=slice(p, p + g.ny)).assign_coords(x=xc, y=yc)
        return out.drop_vars([v for v in ("u_c", "v_c") if v in out])

    return gp, shift, crop


def _qg_pad(ctx: Context) -> int:
    """Cells of padding of the QG-based rows (``settings["qg_pad"]``, default ``settings["pad"]``).
    Truth a's basin walls are real (``pad = 0`` for shallow water, whose no-normal-flow walls are
    the basin's), but its SSH is not 0 there, so the QG wall condition ``psi = 0`` must not sit on
    them: the QG rows move it ``qg_pad`` cells out, across which the OI maps are ramped to 0."""
    return int(ctx.settings.get("qg_pad", ctx.settings["pad"]))


def _oi_background(ctx: Context) -> np.ndarray:
    """The OI SSH map at the first scored time (the OI row's estimate if written, else computed)."""
    from hybridocean.estimation.oi import OptimalInterpolation

    path = ctx.run_dir / "oi.nc"
    if path.exists():
        with xr.open_dataset(path) as ds:
            return np.nan_to_num(ds["ssh"].values[0])
    best = _oi_params(ctx)[0]
    ds = OptimalInterpolation(**best).estimate(ctx.train, ctx.grid, ctx.score_times[:1])
    return np.nan_to_num(ds["ssh"].values[0])


def _ocean_mask(ctx: Context) -> Optional[np.ndarray]:
    """Ocean cells ``(ny, nx)`` bool of the box, ``None`` if all ocean: ``ctx.extra["ocean"]`` if
    given, else the cells not NaN at every time of the truth's SSH (the coastline of an L4 map:
    known geography, none of the truth's values), read from the truth cached by the benchmark in
    ``OUT/truths/<run_dir.parent.name>.nc`` (``run_dir = OUT/runs/<truth>/<scenario>``)."""
    from hybridocean.estimation.fourdvar_regional import land_from_gridded

    if "ocean" in ctx.extra:
        m = ctx.extra["ocean"]
        return None if m is None else np.asarray(m, dtype=bool)
    path = ctx.run_dir.parents[2] / "truths" / f"{ctx.run_dir.parent.name}.nc"
    if not path.exists():
        raise FileNotFoundError(f"ctx.run_dir: no cached truth {path} to read the coastline from; "
                                "set ctx.extra['ocean'] (ocean mask (ny, nx) or None)")
    with xr.open_dataset(path) as ds:
        return land_from_gridded(ds["ssh"], min_cells=1)  # a gap-free L4 map: every NaN cell is land (islands too)
