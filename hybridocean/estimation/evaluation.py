"""Score an estimate (the Dataset of :func:`~hybridocean.estimation.base.estimate_dataset`)
against a gridded truth with every metric of :mod:`hybridocean.metrics` -- the one place the
``hybridocean evaluate`` command and ``scripts/bench_estimation_real.py`` compute their numbers.

Steps (:func:`evaluate_estimate`):

1. **Align** (:func:`align_truth`): the truth's SSH is taken at the estimate's times (every
   estimate time must be one of the truth's: ``ValueError`` naming ``truth`` otherwise) and
   must lie on the estimate's grid (:func:`hybridocean.metrics._inputs.check_same_map`:
   same dims, sizes, coordinates to 1e-9): no regridding, no time interpolation.
2. **Truth currents**: ``truth_currents="geostrophic"`` (default) -- the surface geostrophic
   currents of the truth SSH, ``u = -(g/f) d eta/dy``, ``v = (g/f) d eta/dx``, with the same
   discretisation as the geostrophic estimator (:func:`physics.geostrophy.geostrophic_velocities`,
   centred differences of the estimate's ``order`` (default 2), the estimate's ``g``); so a
   perfect SSH estimate scores ``tau_uv = 100`` exactly. ``"file"``: the truth's own
   cell-centre velocities (``ugos``/``vgos`` of a DUACS L4 file, or ``u``/``v``).
3. **Scores** (definitions and sources in :mod:`hybridocean.metrics`):

   * ``ssh``: pooled RMSE [m], ``mu = 1 - RMSE / RMS(truth)``, ``sigma_t``, ``mu_t``
     (:func:`~hybridocean.metrics.map_scores`, ``2020a_SSH_mapping_NATL60``);
   * ``ssh_anomaly``: the same with the truth's space-time mean ``m`` removed from both maps,
     ``mu' = 1 - RMSE / RMS(truth - m)``. The challenge normalises by the RMS of the truth
     itself; with an absolute dynamic topography (ADT) truth that RMS contains the mean level
     (~0.3 m in the Gulf Stream box) and ``mu`` reads much closer to 1 than for an anomaly
     truth; ``mu'`` is the harder, offset-free number;
   * ``psd_spacetime``: the challenge's (time, x) PSD score, ``lambda_x`` (degrees of longitude
     or m) with ``lambda_x_km``, and ``lambda_t_days``; ``psd_isotropic``: the (y, x) ring score,
     ``lambda_x_km``; ``psd_temporal``: ``lambda_t_days`` (needs >= 4 times);
   * ``currents``: ``tau_uv``, ``tau_vorticity``, ``tau_strain`` (percent);
   * ``holdout`` (when held-out tracks are given): along-track RMSE, ``mu``, ``sigma_t`` and
     ``lambda_x_km`` through the observation operator (``2021a_SSH_mapping_OSE``).

   A score the data cannot support (too few times for a spectrum, every row holding NaN, no
   held-out point inside the map) is reported as ``{"error": "<why>"}`` instead of failing the
   others. JSON summaries (:meth:`Evaluation.summary`) write non-finite numbers as ``null``: a
   ``lambda`` of ``null`` without an ``error`` key is ``inf`` -- no scale reaches the 0.5 score.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch
import xarray as xr

from hybridocean.metrics import (current_scores, map_scores, psd_isotropic_score, psd_spacetime_score,
                                 psd_temporal_score, score_on_tracks)
from hybridocean.metrics._inputs import check_same_map, layout
from hybridocean.observations import Observations, grid_from_dataset
from hybridocean.observations.ssh_vars import ssh_variable
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid

from .base import SSH_NAMES

TRUTH_CURRENTS = ("geostrophic", "file")

#: Velocity names looked up in a truth file for ``truth_currents="file"`` (DUACS L4 first).
_VELOCITY_PAIRS = (("ugos", "vgos"), ("u", "v"), ("ugosa", "vgosa"))


def estimate_ssh_name(estimate: xr.Dataset) -> str:
    """Name of the SSH variable of an estimate Dataset (its ``ssh_variable`` attribute, else the
    first of :data:`~hybridocean.estimation.base.SSH_NAMES` present); ``ValueError`` naming
    ``estimate`` when it holds no SSH and currents ``u``, ``v``."""
    if not isinstance(estimate, xr.Dataset):
        raise TypeError(f"estimate must be an xarray.Dataset, got {type(estimate).__name__}")
    name = estimate.attrs.get("ssh_variable")
    if name not in estimate.data_vars:
        name = next((n for n in SSH_NAMES if n in estimate.data_vars), None)
    missing = [n for n in ("u", "v") if n not in estimate.data_vars]
    if name is None or missing:
        raise ValueError(f"estimate: not an estimate file (needs one of {SSH_NAMES} and u, v; has {sorted(estimate.data_vars)})")
    return str(name)


def estimate_grid(estimate: xr.Dataset) -> Grid:
    """The :class:`~physics.grid.Grid` of an estimate Dataset
    (:func:`~hybridocean.observations.grid_from_dataset`: coordinates, and on x/y grids ``f0``,
    ``beta`` and the ``y0`` at which ``f0`` holds from the file's attributes)."""
    return grid_from_dataset(estimate)


def align_truth(truth: xr.Dataset, estimate: xr.Dataset, variable: Optional[str] = None) -> xr.Dataset:
    """The truth at the estimate's times, checked to lie on the estimate's grid (module doc, step 1).

    Args:
        truth: gridded truth ``(time, latitude, longitude)`` / ``(time, y, x)`` (e.g. from
            :func:`~hybridocean.observations.read_l4`), times datetime64.
        estimate: estimate Dataset (times datetime64).
        variable: the truth's SSH variable (default :func:`~hybridocean.observations.ssh_variable`).
    Returns the truth Dataset restricted to the estimate's times (all its variables).
    Raises ``ValueError`` naming ``truth`` for missing times and a different grid.
    """
    if not isinstance(truth, xr.Dataset):
        raise TypeError(f"truth must be an xarray.Dataset, got {type(truth).__name__}")
    name = ssh_variable(truth, prefer=variable)
    est_name = estimate_ssh_name(estimate)
    if "time" not in truth[name].dims:
        raise ValueError(f"truth: {name!r} has no time dimension (dims {truth[name].dims})")
    te = np.asarray(estimate["time"].values).astype("datetime64[ns]")
    tt = np.asarray(truth["time"].values).astype("datetime64[ns]")
    missing = te[~np.isin(te, tt)]
    if missing.size:
        raise ValueError(
            f"truth and estimate are at different times: {missing.size} estimate time(s) "
            f"({missing[0]} .. {missing[-1]}) are not among the truth's {tt.size} times [{tt.min()}, {tt.max()}]"
        )
    out = truth.sel(time=te)
    try:
        check_same_map(estimate[est_name], out[name], estimate_name="estimate", truth_name="truth")
    except ValueError as e:
        raise ValueError(f"truth and estimate are on different grids: {e}") from None
    return out


def truth_currents(truth_ssh: xr.DataArray, grid: Grid, g: float = 9.81, order: int = 2,
                   equator_min_lat: float = 5.0) -> Tuple[xr.DataArray, xr.DataArray]:
    """Surface geostrophic ``(u, v)`` [m/s] of the truth SSH ``(T, ny, nx)`` [m] at the cell
    centres of ``grid`` (module doc, step 2), as DataArrays like ``truth_ssh``."""
    eta = torch.as_tensor(np.asarray(truth_ssh.values, dtype=np.float64))
    u, v = geostrophic_velocities(eta, grid, g=g, at="center", equator="mask", equator_min_lat=equator_min_lat,
                                  order=order)
    wrap = lambda a, n: xr.DataArray(a.numpy(), dims=truth_ssh.dims, coords=truth_ssh.coords, name=n,  # noqa: E731
                                     attrs={"units": "m s-1", "long_name": f"geostrophic {n} of the truth SSH"})
    return wrap(u, "u"), wrap(v, "v")


def _finite(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None (strict JSON), numpy scalars as Python."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@dataclass
class Evaluation:
    """Everything :func:`evaluate_estimate` computed (scores and the fields the figures draw).

    Attributes:
        scores: nested dict of scalar scores (module docstring, step 3).
        ssh_est, ssh_true: ``(T, ny, nx)`` SSH maps [m]; u_est, v_est, u_true, v_true: currents [m/s].
        results: the metric objects by name (``map``, ``psd_spacetime``, ``psd_isotropic``,
            ``psd_temporal``, ``holdout``), those that could be computed.
    """

    scores: Dict[str, Any]
    ssh_est: xr.DataArray = field(repr=False)
    ssh_true: xr.DataArray = field(repr=False)
    u_est: xr.DataArray = field(repr=False)
    v_est: xr.DataArray = field(repr=False)
    u_true: xr.DataArray = field(repr=False)
    v_true: xr.DataArray = field(repr=False)
    results: Dict[str, Any] = field(repr=False, default_factory=dict)

    def summary(self) -> Dict[str, Any]:
        """The scores as strict-JSON-ready plain types (non-finite numbers as None)."""
        return _finite(self.scores)

    def to_json(self) -> str:
        """:meth:`summary` as indented strict JSON."""
        return json.dumps(self.summary(), indent=2, allow_nan=False)


def _attempt(results: Dict[str, Any], key: str, fn: Callable[[], Any]) -> Dict[str, Any]:
    """Run one score; its ``as_dict()`` (kept in ``results``) or ``{"error": why}`` on ValueError."""
    try:
        res = fn()
    except ValueError as e:
        return {"error": " ".join(str(e).split())}
    results[key] = res
    return res.as_dict()


def evaluate_estimate(estimate: xr.Dataset, truth: xr.Dataset, holdout: Optional[Observations] = None, *,
                      truth_variable: Optional[str] = None, truth_currents_from: str = "geostrophic") -> Evaluation:
    """Score ``estimate`` against ``truth`` (and on ``holdout`` tracks) -- module docstring.

    Args:
        estimate: an estimate Dataset (:func:`~hybridocean.estimation.base.estimate_dataset`;
            read back with decoded datetime64 times).
        truth: gridded truth Dataset with datetime64 times (:func:`~hybridocean.observations.read_l4`).
        holdout: observations left out of the estimate (scored along track), optional.
        truth_variable: the truth's SSH variable (default recognised automatically).
        truth_currents_from: ``"geostrophic"`` (default) or ``"file"`` (step 2).
    Returns an :class:`Evaluation`. Raises ``ValueError`` naming ``truth`` / ``estimate`` /
    ``holdout`` for inputs that cannot be compared.
    """
    if truth_currents_from not in TRUTH_CURRENTS:
        raise ValueError(f"truth_currents_from must be one of {TRUTH_CURRENTS}, got {truth_currents_from!r}")
    if holdout is not None and not isinstance(holdout, Observations):
        raise TypeError(f"holdout must be Observations, got {type(holdout).__name__}")
    name = estimate_ssh_name(estimate)
    layout(estimate[name], "estimate")
    truth = align_truth(truth, estimate, truth_variable)
    tname = ssh_variable(truth, prefer=truth_variable)
    ssh_e, ssh_t = estimate[name], truth[tname]
    grid = estimate_grid(estimate)
    g = float(estimate.attrs.get("param_g", 9.81))
    order = int(estimate.attrs.get("param_order", 2))
    lat_min = float(estimate.attrs.get("param_equator_min_lat", 5.0))
    if truth_currents_from == "file":
        pair = next(((a, b) for a, b in _VELOCITY_PAIRS if a in truth and b in truth), None)
        if pair is None:
            raise ValueError(f"truth: no cell-centre velocities {_VELOCITY_PAIRS} in the truth file (has {sorted(truth.data_vars)})")
        u_t, v_t = truth[pair[0]], truth[pair[1]]
        origin = f"truth file {pair[0]}/{pair[1]}"
    else:
        u_t, v_t = truth_currents(ssh_t, grid, g=g, order=order, equator_min_lat=lat_min)
        origin = f"geostrophic currents of the truth {tname!r} (order {order}, g = {g} m s-2)"
    results: Dict[str, Any] = {}
    ms = map_scores(ssh_e, ssh_t)
    results["map"] = ms
    mean = float(np.nanmean(ssh_t.values))
    ma = map_scores(ssh_e - mean, ssh_t - mean)
    scores: Dict[str, Any] = {
        "estimate": {"method": estimate.attrs.get("method"), "estimator": estimate.attrs.get("estimator"),
                     "ssh_variable": name, "n_times": int(ssh_e.sizes["time"]),
                     "grid_shape": [int(ssh_e.shape[1]), int(ssh_e.shape[2])],
                     "times": [str(t) for t in np.asarray(estimate["time"].values).astype("datetime64[s]")]},
        "truth": {"ssh_variable": tname, "currents": origin},
        "ssh": {**ms.as_dict(), "mu_t": ms.mu_t.tolist()},
        "ssh_anomaly": {**ma.as_dict(), "removed_mean_m": mean},
        "psd_spacetime": _attempt(results, "psd_spacetime", lambda: psd_spacetime_score(ssh_e, ssh_t)),
        "psd_isotropic": _attempt(results, "psd_isotropic", lambda: psd_isotropic_score(ssh_e, ssh_t)),
        "psd_temporal": _attempt(results, "psd_temporal", lambda: psd_temporal_score(ssh_e, ssh_t)),
    }
    try:
        scores["currents"] = current_scores(estimate["u"], estimate["v"], u_t, v_t)
    except ValueError as e:
        scores["currents"] = {"error": " ".join(str(e).split())}
    if holdout is not None:
        times = np.asarray(estimate["time"].values).astype("datetime64[ns]")
        scores["holdout"] = {"platforms": list(holdout.platforms), **_attempt(
            results, "holdout", lambda: score_on_tracks(np.asarray(ssh_e.values, np.float64), grid, times, holdout))}
    return Evaluation(scores, ssh_e, ssh_t, estimate["u"], estimate["v"], u_t, v_t, results)


__all__ = ["evaluate_estimate", "Evaluation", "align_truth", "truth_currents", "estimate_grid", "estimate_ssh_name",
           "TRUTH_CURRENTS"]
