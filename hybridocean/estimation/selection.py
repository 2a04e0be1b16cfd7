"""Model selection on held-out observations: one misfit, one selection loop, one OI tuner.

Used by the estimation benchmark (:func:`hybridocean.estimation.benchmark.tune_oi`) and the
mission (:mod:`hybridocean.mission`, the OI correlation length); no estimator ever sees the
held-out observations ``y_i`` they are scored on.

* :func:`held_rmse`: ``rmse = sqrt(mean_i (H(eta)_i - y_i)^2)`` [m], ``H`` bilinear in space
  (:class:`~hybridocean.observations.ObservationOperator`, cell centres), matched in time either
  to the map within ``+-half_window_s`` of each observation (``time_match="window"``) or linearly
  between the maps (``"linear"``).
* :func:`select_least_misfit`: ``k* = argmin_k misfit(fit(c_k))`` over candidates ``c_k``
  (the first wins ties; a candidate whose fit raises ``ValueError`` or whose misfit is not
  finite is recorded, never selected).
* :func:`select_oi`: that loop over the OI grid ``(Lx = Ly, Lt, noise_std)``; :func:`select_oi_folds`:
  the same, scored on several hold-out splits pooled (repeated block hold-out, for small records).
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import xarray as xr

from physics._checks import check_choice, check_positive
from physics.grid import Grid

TIME_MATCHES = ("window", "linear")
#: The keyword arguments of :class:`~hybridocean.estimation.oi.OptimalInterpolation` that
#: :func:`select_oi` tunes or fixes (the ``best`` dict it returns).
OI_KEYS = ("Lx", "Ly", "Lt", "noise_std", "signal_std", "prior_mean", "time_window")


def held_rmse(ds: xr.Dataset, held, grid: Grid, half_window_s: Optional[float] = None, *,
              time_match: str = "window") -> float:
    """RMS misfit [m] ``sqrt(mean_i (H(eta)_i - y_i)^2)`` of an estimate's SSH maps ``eta``
    (``ds[ds.attrs.get("ssh_variable", "ssh")]``, ``(T, ny, nx)`` on ``grid``, times ``ds["time"]``)
    to the held-out observations ``held`` (:class:`~hybridocean.observations.Observations`, values
    ``y_i`` [m]), ``H`` bilinear in space at the cell centres.

    ``time_match="window"`` (the benchmark's): map ``k`` is compared with the observations within
    ``|t_i - t_k| <= half_window_s`` (default half the smallest spacing of the maps; all of them
    for a single map) at its own time; NaN map values count as 0.
    ``time_match="linear"`` (the mission's): ``H`` is also linear in time between the maps
    (``half_window_s`` must stay ``None``); observations outside the maps' time span and those on
    NaN map values are dropped.
    Returns NaN when no observation is matched.
    """
    import torch

    from hybridocean.observations import ObservationOperator, Observations

    check_choice("time_match", time_match, TIME_MATCHES)
    if not isinstance(ds, xr.Dataset) or "time" not in ds.coords:
        raise TypeError(f"ds must be an xarray Dataset with a time coordinate, got {type(ds).__name__}")
    if not isinstance(held, Observations):
        raise TypeError(f"held must be hybridocean.observations.Observations, got {type(held).__name__}")
    name = ds.attrs.get("ssh_variable", "ssh")
    if time_match == "linear":
        if half_window_s is not None:
            raise ValueError(f"half_window_s: only for time_match='window', got {half_window_s!r}")
        t = np.asarray(ds["time"].values)
        sec = ((t - t[0]) / np.timedelta64(1, "s")).astype(float)
        op = ObservationOperator(held, grid, sec, time_origin=t[0], allow_empty=True)
        if not op.n_obs:
            return float("nan")
        val = op.expand(op(torch.as_tensor(ds[name].values))).numpy()  # NaN outside the maps' span
        keep = np.isfinite(val)
        return float(np.sqrt(np.mean((val[keep] - held.ds["ssh"].values[keep]) ** 2))) if keep.any() else float("nan")
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    if half_window_s is None:
        gaps = np.diff(times) / np.timedelta64(1, "s")
        half_window_s = 0.5 * float(gaps.min()) if gaps.size else np.inf
    else:
        half_window_s = check_positive("half_window_s", half_window_s)
    res = []
    for k, t in enumerate(times):
        dt = np.abs((held.time - t) / np.timedelta64(1, "s"))
        sel = dt <= half_window_s
        if not sel.any():
            continue
        op = ObservationOperator(held.subset(sel), grid, times[k:k + 1], loc="center", allow_empty=True,
                                 time_tolerance=float(dt[sel].max()))
        if op.n_obs:
            f = torch.as_tensor(np.nan_to_num(np.asarray(ds[name].values[k:k + 1], np.float64)))
            res.append((op(f) - op.observed("ssh")).numpy())
    return float(np.sqrt(np.mean(np.concatenate(res) ** 2))) if res else float("nan")


def select_least_misfit(candidates: Iterable[Dict[str, Any]], fit: Callable[[Dict[str, Any]], Any],
                        misfit: Callable[[Any], float], log: Optional[Callable[[Dict[str, Any]], None]] = None,
                        what: str = "candidate") -> Tuple[Dict[str, Any], List[Dict[str, Any]], Any]:
    """``(best record, every record, best fit)`` of ``k* = argmin_k misfit(fit(c_k))``.

    ``candidates``: dicts ``c_k`` (parameters); ``fit(c_k)``: the estimate (a ``ValueError`` --
    ill-conditioned, no observation -- records ``{**c_k, "error": message}`` and skips it);
    ``misfit(estimate)``: [m], recorded as ``{**c_k, "held_rmse_m": m, "seconds": s}`` (``s``: fit
    plus misfit wall time); only finite misfits compete, the first wins ties. ``log(record)`` is
    called on every scored record. ``ValueError`` naming ``what`` when no candidate is scored.
    """
    table: List[Dict[str, Any]] = []
    best: Optional[Dict[str, Any]] = None
    best_fit = None
    for c in candidates:
        t0 = time.perf_counter()
        try:
            est = fit(c)
        except ValueError as e:  # not a candidate
            table.append({**c, "error": str(e)})
            continue
        rec = {**c, "held_rmse_m": float(misfit(est)), "seconds": time.perf_counter() - t0}
        table.append(rec)
        if log is not None:
            log(rec)
        if np.isfinite(rec["held_rmse_m"]) and (best is None or rec["held_rmse_m"] < best["held_rmse_m"]):
            best, best_fit = rec, est
    if best is None:
        raise ValueError(f"no {what} could be computed and scored ({len(table)} tried)")
    return best, table, best_fit


def select_oi(train, held, grid: Grid, times: np.ndarray, lengths: Sequence[float], time_scales: Sequence[float],
              noises: Sequence[float] = (0.01, 0.03), signal_std: float = 0.1, obs_window_s: Optional[float] = None,
              misfit: Optional[Callable[[xr.Dataset], float]] = None,
              log: Optional[Callable[[Dict[str, Any]], None]] = None
              ) -> Tuple[Dict[str, Any], List[Dict[str, Any]], xr.Dataset]:
    """The OI (:class:`~hybridocean.estimation.oi.OptimalInterpolation` of ``train`` on ``grid`` at
    ``times``) of least held-out misfit over ``Lx = Ly`` in ``lengths`` [m], ``Lt`` in
    ``time_scales`` [s] and ``noise_std`` in ``noises`` [m] (``signal_std`` [m], ``prior_mean = 0``).

    ``obs_window_s``: observations within ``|dt| < obs_window_s`` of an output time enter its
    analysis (``time_window = obs_window_s / Lt``; default ``2 Lt``, the challenge's).
    ``misfit(estimate)`` [m]: default :func:`held_rmse` on ``held`` (``time_match="window"``).
    Returns ``(best OI keyword arguments (OI_KEYS), every candidate's record, best estimate)``
    (:func:`select_least_misfit`)."""
    score = misfit if misfit is not None else (lambda ds: held_rmse(ds, held, grid))
    return _select_oi(lambda kw: _oi(kw).estimate(train, grid, times), score, lengths, time_scales, noises,
                      signal_std, obs_window_s, log)


def select_oi_folds(folds: Sequence[Tuple[Any, Any]], grid: Grid, times: np.ndarray, lengths: Sequence[float],
                    time_scales: Sequence[float], noises: Sequence[float] = (0.01, 0.03), signal_std: float = 0.1,
                    obs_window_s: Optional[float] = None, half_window_s: Optional[float] = None,
                    log: Optional[Callable[[Dict[str, Any]], None]] = None
                    ) -> Tuple[Dict[str, Any], List[Dict[str, Any]], xr.Dataset]:
    """:func:`select_oi` scored on several splits ``folds = [(train_k, held_k), ...]`` of the same
    observations (repeated block hold-out): each candidate maps every ``train_k`` and is scored by
    the pooled misfit ``sqrt(sum_k n_k rmse_k^2 / sum_k n_k)`` [m], ``rmse_k`` :func:`held_rmse` of
    map ``k`` on ``held_k`` (``half_window_s`` passed on), ``n_k = len(held_k)``.

    One split of a small record holds out few blocks, and a selection on them follows their noise;
    pooling ``K`` splits scores each candidate on ``K`` times more blocks. Returns ``(best OI keyword
    arguments, every candidate's record, the best candidate's map of the first split's train)``."""
    folds = list(folds)
    if not folds:
        raise ValueError("folds: at least one (train, held) split is needed")
    weights = np.array([len(h) for _, h in folds], dtype=float)
    if weights.sum() <= 0:
        raise ValueError("folds: every held-out set is empty")

    def score(maps):
        r = np.array([held_rmse(ds, h, grid, half_window_s) for ds, (_, h) in zip(maps, folds)])
        if r.size == 1:  # one split: its misfit as it is (the same selection as select_oi's)
            return float(r[0])
        ok = np.isfinite(r) & (weights > 0)
        return float(np.sqrt(np.sum(weights[ok] * r[ok] ** 2) / weights[ok].sum())) if ok.any() else float("nan")

    best, table, maps = _select_oi(lambda kw: [_oi(kw).estimate(tr, grid, times) for tr, _ in folds], score,
                                   lengths, time_scales, noises, signal_std, obs_window_s, log)
    return best, table, maps[0]


def _oi(kw: Dict[str, Any]):
    from .oi import OptimalInterpolation

    return OptimalInterpolation(**kw)


def _select_oi(fit, score, lengths, time_scales, noises, signal_std, obs_window_s, log):
    """The loop of :func:`select_oi` / :func:`select_oi_folds` over the candidates ``(Lx = Ly, Lt, noise_std)``."""
    candidates = [dict(Lx=float(L), Ly=float(L), Lt=float(Lt), noise_std=float(noise), signal_std=float(signal_std),
                       prior_mean=0.0, time_window=2.0 if obs_window_s is None else float(obs_window_s) / Lt)
                  for L, Lt, noise in itertools.product(lengths, time_scales, noises)]
    best, table, est = select_least_misfit(candidates, fit, score, log=log, what="OI candidate")
    return {k: best[k] for k in OI_KEYS}, table, est


__all__ = ["TIME_MATCHES", "OI_KEYS", "held_rmse", "select_least_misfit", "select_oi", "select_oi_folds"]
