"""Rows of ``scripts/benchmark_estimation.py``: one function per estimator, each returning
``(estimate Dataset on the scored times, record)`` with ``train_s`` / ``estimate_s`` wall times.

Every row reads only the training observations ``ctx.train`` (90 % of the scenario's) and, for
tuning / model selection, the held-out ``ctx.held`` (10 %); never the truth.

Learned rows: the learned estimator sees only the training period (frames ``train_idx`` and the
observations in their bins). With ``settings["first_guess"] = "oi"`` (the default; ``None`` for
the ablation) the encoder of ``learned_physics`` / ``learned_hybrid`` / ``learned_4dvar`` starts
from OI maps (:mod:`hybridocean.estimation.learned_first_guess`) with the first guess's own OI
parameters, tuned on the training period only (``_first_guess_oi_params``: not the OI row's, whose
tuning reads observations of the scored period), computed once per (truth, scenario) and cached in
``run_dir`` on the unpadded box, then ramped to 0 across the padding: the training record's from
the training-period observations only, the estimation record's from all training observations.
Tuning and maps are counted in ``train_s`` / ``estimate_s``; maps and checkpoints are suffixed by
a short hash of the parameters and ``n_train`` (``_first_guess_key``). ``learned_neural`` is the
paper's method (Ayed et al. 2019: the encoder reads the observations only) and never takes a first
guess, whatever ``settings["first_guess"]`` (checkpoint ``learned_neural.pt``).

Padding: the QG-based learned rows (``learned_physics``, ``learned_hybrid``, ``learned_4dvar``) run
on the box padded by ``settings["qg_pad"]`` (default ``pad``; truth a: 4 cells off its real walls,
where its SSH is not 0 but the QG state map imposes ``psi = 0``), the neural row by ``pad`` (no
wall condition in its state); checkpoints and cached maps on another padding than ``pad`` are
suffixed ``_pad<p>``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import xarray as xr

from _benchmark_common import (Context, _first_guess_key, _first_guess_oi_params, _oi_params, _pad_grid, _qg_pad,
                                _timed, _training_period)
from _benchmark_fourdvar import row_fourdvar_qg, row_fourdvar_sw


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


def _first_guess_setting(ctx: Context, kind: str) -> Optional[str]:
    """``"oi"`` or ``None`` for the learned row ``kind`` (``settings["first_guess"]``, default
    ``"oi"``; always ``None`` for ``"neural"``, the paper's method)."""
    fg = ctx.settings.get("first_guess", "oi")
    if fg not in ("oi", None, "none"):
        raise ValueError(f"settings['first_guess'] must be 'oi' or None, got {fg!r}")
    return None if fg in (None, "none") or kind == "neural" else fg


def _row_pad(ctx: Context, kind: str) -> int:
    """Padding [cells] of a learned row: ``qg_pad`` for the QG kinds, ``pad`` for the neural one."""
    return int(ctx.settings["pad"]) if kind == "neural" else _qg_pad(ctx)


def _pad_suffix(ctx: Context, pad: int) -> str:
    """``"_pad<p>"`` for a padding other than ``settings["pad"]`` (file names), else ``""``."""
    return "" if pad == int(ctx.settings["pad"]) else f"_pad{pad}"


def _checkpoint(ctx: Context, kind: str) -> Path:
    """The learned row's checkpoint (suffixed ``_fgoi_<key>`` when trained with the OI first guess,
    ``_pad<p>`` on another padding)."""
    fg = f"_fgoi_{_first_guess_key(ctx)}" if _first_guess_setting(ctx, kind) else ""
    return ctx.run_dir / f"learned_{kind}{fg}{_pad_suffix(ctx, _row_pad(ctx, kind))}.pt"


def _oi_maps(ctx: Context, name: str, obs, times: np.ndarray, pad: int) -> Tuple[xr.DataArray, float]:
    """First-guess OI SSH maps of ``obs`` at ``times`` on the box padded by ``pad`` cells (cached in
    ``run_dir/<name>_<key>[_pad<p>].nc``, key :func:`_first_guess_key`) and the seconds their
    computation took (stored with them)."""
    from hybridocean.estimation.oi import OptimalInterpolation

    path = ctx.run_dir / f"{name}_{_first_guess_key(ctx)}{_pad_suffix(ctx, pad)}.nc"
    if path.exists():
        with xr.open_dataarray(path) as da:
            da = da.load()
        return da, float(da.attrs["seconds"])
    best = _first_guess_oi_params(ctx)[0]
    ds, sec = _timed(lambda: OptimalInterpolation(**best).estimate(obs, ctx.grid, times))
    p = pad
    vals = np.pad(np.nan_to_num(ds["ssh"].values), ((0, 0), (p, p), (p, p)), mode="linear_ramp", end_values=0.0)
    gp = _pad_grid(ctx, p)[0]
    xc, yc = (c.numpy() for c in gp.coords("center"))
    da = xr.DataArray(vals, dims=("time", "y", "x"), coords={"time": np.asarray(times), "y": yc, "x": xc}, name="ssh",
                      attrs={"seconds": sec, "oi_parameters": str(best), "padding": f"{p} cells, linear ramp to 0"})
    tmp = path.with_suffix(".tmp.nc")
    da.to_netcdf(tmp)
    tmp.replace(path)
    return da, sec


def _first_guess(ctx: Context, kind: str, obs_train, t_train: np.ndarray, t_full: np.ndarray,
                 pad: int) -> Optional[Dict[str, Any]]:
    """The OI first guess of the learned row ``kind`` (module docstring) on the box padded by
    ``pad`` cells, ``None`` when switched off (always for ``"neural"``)."""
    if _first_guess_setting(ctx, kind) is None:
        return None
    from hybridocean.estimation.oi import OptimalInterpolation

    best, table, tune_s = _first_guess_oi_params(ctx)
    train, train_s = _oi_maps(ctx, "first_guess_oi_train", obs_train, t_train, pad)
    full, full_s = _oi_maps(ctx, "first_guess_oi_full", ctx.train, t_full, pad)
    return {"estimator": OptimalInterpolation(**best), "train": train, "full": full,
            "record": {"kind": "oi", "oi_parameters": best, "oi_tuning_s": tune_s, "oi_tuning": table,
                       "key": _first_guess_key(ctx), "n_train": int(len(t_train)),
                       "oi_parameters_provenance": "tuned on the training period only (first_guess_oi_params.json): "
                       "training and held-out observations in the training frames' bins, tuning times among the "
                       "training frames, each map scored on its own frame, signal_std of those observations",
                       "train_maps_s": train_s,
                       "estimate_maps_s": full_s, "train_maps": "training-period observations only",
                       "estimate_maps": "all training observations"}}


def _training_obs(ctx: Context) -> Tuple[np.ndarray, Any]:
    """``(training frame times, training observations within their bins)`` (unshifted box;
    :func:`_training_period`)."""
    return ctx.times[ctx.train_idx], _training_period(ctx, ctx.train)


def _learned(ctx: Context, kind: str):
    """Train the learned estimator (or load its checkpoint) and estimate; ``kind`` neural/physics/hybrid."""
    from hybridocean.estimation.learned import LearnedEstimator, default_config

    s = ctx.settings
    pad = _row_pad(ctx, kind)
    gp, shift, crop = _pad_grid(ctx, pad)
    ckpt = _checkpoint(ctx, kind)
    phys = _physics(ctx, kind, gp, ckpt)
    t_train, raw_t = _training_obs(ctx)
    obs_t = shift(raw_t)
    held_t = shift(_training_period(ctx, ctx.held))
    first = ctx.train.time.min() - np.timedelta64(int(ctx.frame_s // 2), "s")
    k0 = int(np.searchsorted(ctx.times, first))  # from the first frame the observations reach
    fg = _first_guess(ctx, kind, raw_t, t_train, ctx.times[k0:], pad)
    fg_train_s = 0.0 if fg is None else fg["record"]["train_maps_s"] + fg["record"]["oi_tuning_s"]
    kw = dict(window=s["window"], horizon=s["horizon"], hidden=s["hidden"], seed=0,
              first_guess=None if fg is None else fg["estimator"])
    if ckpt.exists():
        est = LearnedEstimator.load(ckpt, phys, first_guess=kw["first_guess"])
        train_s = float(LearnedEstimator.read_metadata(ckpt)["metadata"]["train_s"])
    else:
        est = LearnedEstimator(phys, augment=kind != "physics", **({"channels": 3} if kind == "neural" else {}), **kw)
        cfg = default_config(ctx.frame_s, steps_per_frame=s["steps_per_frame"], iterations=ctx.iterations,
                             validate_every=max(ctx.iterations // 6, 1), lambda_update="last_step", progress=False,
                             min_norm=kind == "hybrid", dtype=s["dtype"], batch_size=s["batch_size"],
                             validate_initial=fg is not None)  # the OI start is a candidate model
        _, fit_s = _timed(lambda: est.fit(obs_t, gp, t_train, val_obs=held_t, config=cfg,
                                          first_guess_maps=None if fg is None else fg["train"]))
        train_s = fit_s + fg_train_s
        est.save(ckpt, metadata={"train_s": train_s, "fit_s": fit_s, "truth": ctx.truth_name, "scenario": ctx.scenario})
    # encode the whole record (the windows ending at the scored frames read the days before them)
    # a frame's bin is +-dt/2 about it (to_gridded): output times may lie dt/2 beyond the observations
    # up to the last scored frame only (tracks may stop more than dt/2 before the record's last map)
    est.time_margin = lambda: 0.5 * ctx.frame_s
    t_est = ctx.times[k0:int(ctx.score_idx[-1]) + 1]
    full, sec = _timed(lambda: est.estimate(shift(ctx.train), gp, t_est,
                                            first_guess_maps=None if fg is None else fg["full"]))
    # per map: the network's encoding (over t_est) + the first-guess OI maps (computed over the record k0:)
    per_map = sec / len(t_est) + (0.0 if fg is None else fg["record"]["estimate_maps_s"] / (len(ctx.times) - k0))
    ds = crop(full.isel(time=ctx.score_idx - k0))
    rec: Dict[str, Any] = {"train_s": train_s, "estimate_s": per_map * len(ctx.score_idx), "inference_s_per_map": per_map,
                           "network_s_per_map": sec / len(t_est), "checkpoint": str(ckpt),
                           "training_frames": int(len(t_train)), "pad_cells": pad, "output": est.output, "n_train_obs": len(obs_t),
                           "n_val_obs": len(held_t), "first_guess": None if fg is None else fg["record"]}
    try:
        rep = est.dynamics_report(obs_t, t_train, first_guess_maps=None if fg is None else fg["train"])
        rec["dynamics_report"] = {k: rep.get(k) for k in ("mode", "channels", "rms_fp", "rms_fa", "ratio", "ratio_total",
                                                          "physical_parameters", "lambda", "best_val_mse")}
    except (ValueError, RuntimeError) as e:  # informative only: keep the row
        rec["dynamics_report"] = {"error": str(e)}
    meta = LearnedEstimator.read_metadata(ckpt)
    rec["history_summary"] = meta.get("history_summary")
    h = meta.get("history") or {}
    rec["validation"] = {"iterations": h.get("val_iteration"), "mse": h.get("val_mse")}
    rec["learned_physical_parameters"] = (meta.get("physics") or {}).get("parameters")
    return ds, rec


def row_learned_fourdvar(ctx: Context):
    """learned + 4D-Var: the hybrid learned estimator's map (row ``learned_hybrid``'s checkpoint,
    trained first if absent) as every window's background and first guess, then 4D-Var (QG)."""
    from hybridocean.estimation.learned import LearnedEstimator
    from hybridocean.estimation.learned_fourdvar import LearnedFourDVar

    s = ctx.settings
    ckpt = _checkpoint(ctx, "hybrid")
    if not ckpt.exists():
        _learned(ctx, "hybrid")
    pad = _qg_pad(ctx)
    gp, shift, crop = _pad_grid(ctx, pad)
    first = ctx.train.time.min() - np.timedelta64(int(ctx.frame_s // 2), "s")
    k_obs = int(np.searchsorted(ctx.times, first))
    t_train, raw_t = _training_obs(ctx)
    fg = _first_guess(ctx, "hybrid", raw_t, t_train, ctx.times[k_obs:], pad)  # maps cached by learned_hybrid
    learned = LearnedEstimator.load(ckpt, _physics(ctx, "hybrid", gp, ckpt), first_guess=None if fg is None else fg["estimator"])
    # B and R of the 4D-Var stage: the first guess's OI parameters (tuned on the training period only)
    # (never the OI row's: its tuning reads held-out observations of the scored period), also without a first guess
    best = _first_guess_oi_params(ctx)[0]
    k0 = max(int(ctx.score_idx[0]) - (s["window"] - 1), 0)  # the encoder's window behind the first scored frame
    times = ctx.times[k0:int(ctx.score_idx[-1]) + 1]
    dt = s["qg_dt"]
    save = max(1, int(round(s["fourdvar_save_s"] / dt)))
    span = float((times[-1] - times[0]) / np.timedelta64(1, "s"))
    window = math.floor(min(s["fourdvar_window_days"] * 86400.0, span) / (save * dt)) * save * dt
    est = LearnedFourDVar(learned, "qg", window=window, dt=dt, save_every=save, sigma_b=best["signal_std"],
                          length_b=best["Lx"], obs_error=max(best["noise_std"], 0.005), max_iter=ctx.fourdvar_iters,
                          model_kwargs={"Ld": s["Ld"]})
    with learned.using_first_guess_maps(None if fg is None else fg["full"]):
        ds, sec = _timed(lambda: est.estimate(shift(ctx.train), gp, times))
    ds = crop(ds.isel(time=ctx.score_idx - k0))
    evals = sum(w["n_eval"] for w in est.windows_)
    maps_s = 0.0 if fg is None else fg["record"]["estimate_maps_s"] * len(ctx.score_idx) / (len(ctx.times) - k_obs)
    return ds, {"train_s": float(LearnedEstimator.read_metadata(ckpt)["metadata"]["train_s"]),
                "estimate_s": sec * len(ctx.score_idx) / len(times) + maps_s, "n_evaluations": evals, "window_s": window,
                "first_guess": None if fg is None else fg["record"],
                "dt_s": dt, "pad_cells": pad, "background": "learned_hybrid map at every window start",
                "train_s_note": "the learned_hybrid row's training (shared checkpoint)"}


def row_learned_neural(ctx: Context):
    """Learned estimator, purely neural dynamics (Ayed et al. 2019), never a first guess (module docstring)."""
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
