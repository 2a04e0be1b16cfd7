"""4D-Var rows of ``scripts/benchmark_estimation.py`` (QG and shallow water), each returning
``(estimate Dataset on the scored times, record)``; they read only ``ctx.train`` (and the OI
tuning of ``ctx.held``; the regional QG row also the coastline: the cells NaN at every time of
the truth's SSH, known geography), never the truth's values.

* ``4dvar_qg`` on an open box (setting ``open``: truths b, med, gulf): :class:`~hybridocean.
  estimation.fourdvar_regional.RegionalFourDVar` on the box's own grid -- 1.5-layer QG with an
  open outer ring whose SSH is the tuned OI of the same observations (maps every day, linear in
  time, Davies sponge), land = the coastline, first background the OI map at the first window
  start, each later window's background the previous window's forecast.
* ``4dvar_qg`` on a closed basin (truth a) and ``4dvar_sw`` everywhere: :class:`~hybridocean.
  estimation.fourdvar_windows.FourDVar` in a closed box padded by ``pad`` cells (walls moved away
  from the open box edges, OI background of the first window ramped to 0 across the padding; the QG
  row by ``qg_pad``, which on truth a keeps ``psi = 0`` off the basin's real walls). The
  shallow-water row stays padded and closed: there is no open-boundary shallow-water 4D-Var yet
  (``physics.sw_open.OpenBoundarySW`` has Flather + relaxation boundaries, but ``FourDVar``'s SW
  control is not wired to it).
"""
from __future__ import annotations

import json
import math
from typing import Tuple

import numpy as np

from _benchmark_common import Context, _ocean_mask, _oi_background, _oi_params, _pad_grid, _qg_pad, _timed


def _window(ctx: Context, dt: float) -> Tuple[int, float]:
    """``(save_every, window [s])``: outputs every ``fourdvar_save_s`` (whole steps), windows of
    ``fourdvar_window_days`` shortened to the scored span and to whole output intervals."""
    s = ctx.settings
    window = min(s["fourdvar_window_days"] * 86400.0, float((ctx.score_times[-1] - ctx.score_times[0]) / np.timedelta64(1, "s")))
    save = max(1, int(round(s["fourdvar_save_s"] / dt)))
    return save, math.floor(window / (save * dt)) * save * dt


def _fourdvar(ctx: Context, model: str):
    """Closed padded box (module docstring)."""
    from hybridocean.estimation.fourdvar_windows import FourDVar

    s = ctx.settings
    best, _, tune_s = _oi_params(ctx)
    bg, bg_s = _timed(lambda: _oi_background(ctx))
    dt = s["qg_dt"] if model == "qg" else s["sw_dt"]
    save, window = _window(ctx, dt)
    Ld = s["Ld"]
    # reduced-gravity shallow water of the box's first baroclinic mode: c = f0 Ld, H = c^2 / g; its
    # thickness anomaly over H is g eta / c^2 (whatever g' is), so where SSH reaches c^2 / g (med: 0.11 m,
    # gulf: 0.7 m) the nonlinear layer outcrops (H + eta < 0): there the linear model (settings
    # ``sw_nonlinear``), a Rossby/gravity-wave model without advection
    kw = {"Ld": Ld} if model == "qg" else {"g": 9.81, "H": (ctx.grid.f0 * Ld) ** 2 / 9.81, "viscosity": s["sw_viscosity"],
                                           "nonlinear": bool(s.get("sw_nonlinear", True))}
    est = FourDVar(model, window=window, dt=dt, save_every=save, sigma_b=best["signal_std"], length_b=best["Lx"],
                   obs_error=max(best["noise_std"], 0.005), max_iter=ctx.fourdvar_iters, background=bg,
                   model_kwargs=kw)
    p = _qg_pad(ctx) if model == "qg" else int(s["pad"])  # QG: psi = 0 walls off a closed basin's real ones
    gp, shift, crop = _pad_grid(ctx, p)
    est.background = np.pad(bg, p, mode="linear_ramp", end_values=0.0)  # decays to rest at the far walls
    ds, sec = _timed(lambda: crop(est.estimate(shift(ctx.train), gp, ctx.score_times)))
    evals = sum(w["n_eval"] for w in est.windows_)
    return ds, {"train_s": 0.0, "estimate_s": sec + bg_s, "fourdvar_windows": json.loads(ds.attrs["fourdvar_windows"]),
                "model_kwargs": kw, "dt_s": dt, "window_s": window, "n_evaluations": evals,
                "seconds_per_evaluation": sec / max(evals, 1), "pad_cells": p, "boundary": f"closed walls {p} cells out",
                "background": "OI map at the first scored time, ramped to 0 across the padding"}


def _regional_qg(ctx: Context):
    """Open box, boundary and first background from the tuned OI (module docstring)."""
    from hybridocean.estimation.fourdvar_regional import RegionalFourDVar
    from hybridocean.estimation.oi import OptimalInterpolation

    s = ctx.settings
    best = _oi_params(ctx)[0]
    dt = s["qg_dt"]
    save, window = _window(ctx, dt)
    ocean = _ocean_mask(ctx)
    est = RegionalFourDVar(OptimalInterpolation(**best), mask=ocean, Ld=s["Ld"], window=window, dt=dt, save_every=save,
                           sigma_b=best["signal_std"], length_b=best["Lx"], obs_error=max(best["noise_std"], 0.005),
                           max_iter=ctx.fourdvar_iters)
    ds, sec = _timed(lambda: est.estimate(ctx.train, ctx.grid, ctx.score_times))
    ds = ds.drop_vars([v for v in ("u_c", "v_c") if v in ds])
    evals = sum(w["n_eval"] for w in est.windows_)
    oi_s = est.boundary_seconds_
    return ds, {"train_s": 0.0, "estimate_s": sec, "fourdvar_windows": json.loads(ds.attrs["fourdvar_windows"]),
                "model_kwargs": {"Ld": s["Ld"]}, "dt_s": dt, "window_s": window, "n_evaluations": evals,
                "seconds_per_evaluation": (sec - oi_s) / max(evals, 1), "pad_cells": 0,
                "boundary": (f"open ring (OpenBoundaryQG, sponge {est.sponge_width} corners / {est.sponge_time:g} s): "
                             f"tuned-OI SSH maps every {est.boundary_dt:g} s, linear in time"),
                "background": "tuned-OI map at the first window start; later windows: the previous window's forecast",
                "boundary_oi_s": oi_s, "n_boundary_maps": int(est.boundary_times_.size),
                "ocean_fraction": 1.0 if ocean is None else float(np.mean(ocean)), "oi_parameters": best}


def row_fourdvar_qg(ctx: Context):
    """Strong-constraint 4D-Var through the 1.5-layer QG model: regional (open ring and background
    from the tuned OI, coastline land) if ``settings["open"]``, else the closed padded box."""
    return _regional_qg(ctx) if ctx.settings.get("open", False) else _fourdvar(ctx, "qg")


def row_fourdvar_sw(ctx: Context):
    """Strong-constraint 4D-Var through reduced-gravity shallow water (``H = (f0 Ld)^2 / g``), OI
    background, in the closed padded box on every truth (no open-boundary SW 4D-Var yet: module docstring)."""
    return _fourdvar(ctx, "sw")
