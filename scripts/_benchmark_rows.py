"""Rows of ``scripts/benchmark_estimation.py``: one function per estimator, each returning
``(estimate Dataset on the scored times, record)`` with ``train_s`` / ``estimate_s`` wall times.

Every row reads only the training observations ``ctx.train`` (90 % of the scenario's) and, for
tuning / model selection, the held-out ``ctx.held`` (10 %); never the truth.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

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
    tune_times = ctx.times[idx][np.unique(pick)]  # each scored on the held-out points of its own frame
    window = s["frame_s"] * 1.01 if ctx.scenario in ("i", "ii") else None  # dense gaps: +-1 frame
    sig = float(np.nanstd(ctx.train.ssh))  # prior std: that of the observations
    (best, table), sec = _timed(lambda: tune_oi(ctx.train, ctx.held, ctx.grid, tune_times, s["oi_lengths"],
                                                s["oi_time_scales"], signal_std=sig, obs_window_s=window))
    from hybridocean.io import save_json

    save_json({"best": best, "table": table, "seconds": sec, "tuning_times": [str(t) for t in tune_times]}, path)
    return best, table, sec


def row_geostrophy(ctx: Context):
    """Geostrophy of the harmonic gap fill of the observations binned per frame."""
    from hybridocean.estimation.geostrophic import Geostrophic

    est = Geostrophic(window=ctx.frame_s)
    ds, sec = _timed(lambda: est.estimate(ctx.train, ctx.grid, ctx.score_times))
    return ds, {"train_s": 0.0, "estimate_s": sec}


def row_oi(ctx: Context):
    """Space-time Gaussian OI tuned on the held-out observations (then geostrophy)."""
    from hybridocean.estimation.oi import OptimalInterpolation

    best, table, tune_s = _oi_params(ctx)
    ds, sec = _timed(lambda: OptimalInterpolation(**best).estimate(ctx.train, ctx.grid, ctx.score_times))
    return ds, {"train_s": tune_s, "estimate_s": sec, "oi_parameters": best, "oi_tuning": table}


def _pad_grid(ctx: Context):
    """``(padded grid, shift obs, crop estimate)``: the closed box widened by ``pad`` cells on every
    side. The QG and shallow-water models of the estimators have walls (``psi = 0``, no normal
    flow), while the truths' box boundaries are open; the walls are moved ``pad`` cells away from
    the scored box (no observation there), and the estimate is cropped back to the box."""
    from hybridocean.observations import Observations
    from physics.grid import Grid

    g, p = ctx.grid, int(ctx.settings["pad"])
    gp = Grid(g.nx + 2 * p, g.ny + 2 * p, dx=g.dx, dy=g.dy, boundary="closed", f0=g.f0, beta=g.beta)
    shift = lambda o: Observations(o.ds.assign(x=o.ds["x"] + p * g.dx, y=o.ds["y"] + p * g.dy))  # noqa: E731
    xc, yc = (c.numpy() for c in g.coords("center"))

    def crop(ds: xr.Dataset) -> xr.Dataset:
        out = ds.isel(x=slice(p, p + g.nx), y=slice(p, p + g.ny)).assign_coords(x=xc, y=yc)
        return out.drop_vars([v for v in ("u_c", "v_c") if v in out])

    return gp, shift, crop


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


def _fourdvar(ctx: Context, model: str):
    from hybridocean.estimation.fourdvar_windows import FourDVar

    s = ctx.settings
    best, _, tune_s = _oi_params(ctx)
    bg, bg_s = _timed(lambda: _oi_background(ctx))
    window = min(s["fourdvar_window_days"] * 86400.0, float((ctx.score_times[-1] - ctx.score_times[0]) / np.timedelta64(1, "s")))
    dt = s["qg_dt"] if model == "qg" else s["sw_dt"]
    save = max(1, int(round(s["fourdvar_save_s"] / dt)))
    window = math.floor(window / (save * dt)) * save * dt
    Ld = s["Ld"]
    kw = {"Ld": Ld} if model == "qg" else {"g": 9.81, "H": (ctx.grid.f0 * Ld) ** 2 / 9.81, "viscosity": s["sw_viscosity"]}
    est = FourDVar(model, window=window, dt=dt, save_every=save, sigma_b=best["signal_std"], length_b=best["Lx"],
                   obs_error=max(best["noise_std"], 0.005), max_iter=ctx.fourdvar_iters, background=bg,
                   model_kwargs=kw)
    gp, shift, crop = _pad_grid(ctx)
    p = int(s["pad"])
    est.background = np.pad(bg, p, mode="linear_ramp", end_values=0.0)  # decays to rest at the far walls
    ds, sec = _timed(lambda: crop(est.estimate(shift(ctx.train), gp, ctx.score_times)))
    evals = sum(w["n_eval"] for w in est.windows_)
    return ds, {"train_s": 0.0, "estimate_s": sec + bg_s, "fourdvar_windows": json.loads(ds.attrs["fourdvar_windows"]),
                "model_kwargs": kw, "dt_s": dt, "window_s": window, "n_evaluations": evals,
                "seconds_per_evaluation": sec / max(evals, 1), "pad_cells": p,
                "background": "OI map at the first scored time, ramped to 0 across the padding"}


def row_fourdvar_qg(ctx: Context):
    """Strong-constraint 4D-Var through the 1.5-layer QG model, OI background (windows of the settings)."""
    return _fourdvar(ctx, "qg")


def row_fourdvar_sw(ctx: Context):
    """Strong-constraint 4D-Var through reduced-gravity shallow water (``H = (f0 Ld)^2 / g``), OI background."""
    return _fourdvar(ctx, "sw")


def _physics(ctx: Context, kind: str, grid, ckpt: Path = None):
    """``F_p``: None (neural) or the 1.5-layer QG (``Ld`` learnable in the hybrid); rebuilt for a
    saved checkpoint with its stored fixed parameters (float32 training rounds them)."""
    from hybridocean.estimation.learned import LearnedEstimator
    from physics.qg import QG

    if kind == "neural":
        return None
    kw = {"Ld": ctx.settings["Ld"], "beta": grid.beta}
    if ckpt is not None and ckpt.exists():
        saved = LearnedEstimator.read_metadata(ckpt)["physics"]["parameters"]
        kw.update(Ld=saved["Ld"], beta=saved["beta"])
    return QG(grid, learnable=("Ld",) if kind == "hybrid" else (), **kw)


def _learned(ctx: Context, kind: str):
    """Train the learned estimator (or load its checkpoint) and estimate; ``kind`` neural/physics/hybrid."""
    from hybridocean.estimation.learned import LearnedEstimator, default_config

    s = ctx.settings
    gp, shift, crop = _pad_grid(ctx)
    ckpt = ctx.run_dir / f"learned_{kind}.pt"
    phys = _physics(ctx, kind, gp, ckpt)
    t_train = ctx.times[ctx.train_idx]
    end = t_train[-1] + np.timedelta64(int(ctx.frame_s // 2), "s")  # the last training frame's bin
    obs_t = shift(ctx.train.subset((ctx.train.time >= t_train[0]) & (ctx.train.time < end)))
    held_t = shift(ctx.held.subset((ctx.held.time >= t_train[0]) & (ctx.held.time < end)))
    kw = dict(window=s["window"], horizon=s["horizon"], hidden=s["hidden"], seed=0)
    if ckpt.exists():
        est, train_s = LearnedEstimator.load(ckpt, phys), float(LearnedEstimator.read_metadata(ckpt)["metadata"]["train_s"])
    else:
        est = LearnedEstimator(phys, augment=kind != "physics", **({"channels": 3} if kind == "neural" else {}), **kw)
        cfg = default_config(ctx.frame_s, steps_per_frame=s["steps_per_frame"], iterations=ctx.iterations,
                             validate_every=max(ctx.iterations // 6, 1), lambda_update="last_step", progress=False,
                             min_norm=kind == "hybrid", dtype=s["dtype"], batch_size=s["batch_size"])
        _, train_s = _timed(lambda: est.fit(obs_t, gp, t_train, val_obs=held_t, config=cfg))
        est.save(ckpt, metadata={"train_s": train_s, "truth": ctx.truth_name, "scenario": ctx.scenario})
    # encode the whole record (the windows ending at the scored frames read the days before them)
    # a frame's bin is +-dt/2 about it (to_gridded): output times may lie dt/2 beyond the observations
    est.time_margin = lambda: 0.5 * ctx.frame_s
    first = ctx.train.time.min() - np.timedelta64(int(ctx.frame_s // 2), "s")
    k0 = int(np.searchsorted(ctx.times, first))  # from the first frame the observations reach
    full, sec = _timed(lambda: est.estimate(shift(ctx.train), gp, ctx.times[k0:]))
    ds = crop(full.isel(time=ctx.score_idx - k0))
    rec: Dict[str, Any] = {"train_s": train_s, "estimate_s": sec * len(ctx.score_idx) / (len(ctx.times) - k0),
                           "inference_s_per_map": sec / (len(ctx.times) - k0), "checkpoint": str(ckpt),
                           "training_frames": int(len(t_train)), "pad_cells": int(s["pad"]), "n_train_obs": len(obs_t), "n_val_obs": len(held_t)}
    try:
        rep = est.dynamics_report(obs_t, t_train)
        rec["dynamics_report"] = {k: rep.get(k) for k in ("mode", "channels", "rms_fp", "rms_fa", "ratio", "ratio_total",
                                                          "physical_parameters", "lambda", "best_val_mse")}
    except (ValueError, RuntimeError) as e:  # informative only: keep the row
        rec["dynamics_report"] = {"error": str(e)}
    meta = LearnedEstimator.read_metadata(ckpt)
    rec["history_summary"] = meta.get("history_summary")
    rec["learned_physical_parameters"] = (meta.get("physics") or {}).get("parameters")
    return ds, rec


def row_learned_fourdvar(ctx: Context):
    """learned + 4D-Var: the hybrid learned estimator's map (row ``learned_hybrid``'s checkpoint,
    trained first if absent) as every window's background and first guess, then 4D-Var (QG)."""
    from hybridocean.estimation.learned import LearnedEstimator
    from hybridocean.estimation.learned_fourdvar import LearnedFourDVar

    s = ctx.settings
    ckpt = ctx.run_dir / "learned_hybrid.pt"
    if not ckpt.exists():
        _learned(ctx, "hybrid")
    gp, shift, crop = _pad_grid(ctx)
    learned = LearnedEstimator.load(ckpt, _physics(ctx, "hybrid", gp, ckpt))
    best = _oi_params(ctx)[0]
    k0 = max(int(ctx.score_idx[0]) - (s["window"] - 1), 0)  # the encoder's window behind the first scored frame
    times = ctx.times[k0:int(ctx.score_idx[-1]) + 1]
    dt = s["qg_dt"]
    save = max(1, int(round(s["fourdvar_save_s"] / dt)))
    span = float((times[-1] - times[0]) / np.timedelta64(1, "s"))
    window = math.floor(min(s["fourdvar_window_days"] * 86400.0, span) / (save * dt)) * save * dt
    est = LearnedFourDVar(learned, "qg", window=window, dt=dt, save_every=save, sigma_b=best["signal_std"],
                          length_b=best["Lx"], obs_error=max(best["noise_std"], 0.005), max_iter=ctx.fourdvar_iters,
                          model_kwargs={"Ld": s["Ld"]})
    ds, sec = _timed(lambda: est.estimate(shift(ctx.train), gp, times))
    ds = crop(ds.isel(time=ctx.score_idx - k0))
    evals = sum(w["n_eval"] for w in est.windows_)
    return ds, {"train_s": float(LearnedEstimator.read_metadata(ckpt)["metadata"]["train_s"]),
                "estimate_s": sec * len(ctx.score_idx) / len(times), "n_evaluations": evals, "window_s": window,
                "dt_s": dt, "pad_cells": int(s["pad"]), "background": "learned_hybrid map at every window start",
                "train_s_note": "the learned_hybrid row's training (shared checkpoint)"}


def row_learned_neural(ctx: Context):
    """Learned estimator, purely neural dynamics (Ayed et al. 2019)."""
    return _learned(ctx, "neural")


def row_learned_physics(ctx: Context):
    """Learned encoder + fixed 1.5-layer QG dynamics (no F_a)."""
    return _learned(ctx, "physics")


def row_learned_hybrid(ctx: Context):
    """Learned encoder + 1.5-layer QG (learnable Ld) + min-norm F_a (APHYNITY)."""
    return _learned(ctx, "hybrid")


ROWS: Dict[str, Callable[[Context], Tuple[xr.Dataset, Dict[str, Any]]]] = {
    "geostrophy": row_geostrophy,
    "oi": row_oi,
    "4dvar_qg": row_fourdvar_qg,
    "4dvar_sw": row_fourdvar_sw,
    "learned_neural": row_learned_neural,
    "learned_physics": row_learned_physics,
    "learned_hybrid": row_learned_hybrid,
    "learned_4dvar": row_learned_fourdvar,
}
