"""RMSE-based scores of an SSH map against a gridded truth, as the SSH-mapping data challenges
define them.

Definitions (``e = estimate - truth``, ``<.>`` a mean over the points where it is finite):

* ``RMSE = sqrt(<e^2>_{t,y,x})``  [m], pooled over time and space;
* ``mu = 1 - sqrt(<e^2>_{t,y,x}) / sqrt(<truth^2>_{t,y,x})`` (dimensionless): the leaderboard
  "normalised RMSE score", **pooled** over time and space (not the mean of daily scores);
* ``mu(t) = 1 - sqrt(<e^2>_{y,x}) / sqrt(<truth^2>_{y,x})``: the score of each map;
* ``sigma_t = std_t(mu(t))`` (population std, ``ddof = 0``): the "temporal stability of the
  mapping error";
* ``RMSE(y, x) = sqrt(<e^2>_t)`` [m]: the map of the error.

Source: ``ocean-data-challenges/2020a_SSH_mapping_NATL60``, ``src/mod_eval.py``,
``rmse_based_scores`` (the same function in ``2023_SSH_mapping_train_eNATL60_test_NATL60``).
The reference there is the RMS of the truth itself (not of its anomaly): with an SSH
*anomaly* truth both coincide, with absolute dynamic topography the score is much closer
to 1 — normalise your truth as the challenge you compare with does.

NaN (land, missing): as in the challenge code, every mean skips NaN (xarray ``skipna``)
*separately*: ``<e^2>`` runs over the points where both maps are finite and ``<truth^2>``
over the points where the truth is finite. A map with no finite point gives ``mu(t) = NaN``
and is skipped by ``sigma_t`` (again as xarray's ``std`` does). The challenge rounds its
leaderboard numbers to 2 decimals; these functions do not round.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict

import numpy as np
import xarray as xr

from ._inputs import check_same_map, values


def _nanmean(a: np.ndarray, axis=None) -> np.ndarray:
    """Mean over finite entries; NaN (no warning) where there is none."""
    finite = np.isfinite(a)
    n = finite.sum(axis=axis)
    s = np.where(finite, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def rmse(estimate: xr.DataArray, truth: xr.DataArray) -> float:
    """``sqrt(<(estimate - truth)^2>)`` [m] over every time and grid point where both are finite.

    Args:
        estimate, truth: maps ``(time, y, x)`` or ``(time, latitude, longitude)`` on the same
            grid and times (``ValueError`` naming ``estimate`` otherwise).
    """
    check_same_map(estimate, truth)
    e = values(estimate) - values(truth)
    return float(np.sqrt(_nanmean(e**2)))


@dataclass
class MapScores:
    """The RMSE-based scores of one map sequence (see the module docstring for definitions).

    Attributes:
        rmse: pooled RMSE [m].
        mu: pooled normalised score ``1 - RMSE / RMS(truth)``.
        sigma_t: population std over time of ``mu_t``.
        mu_t: ``(T,)`` score of each time step.
        rmse_xy: ``(y, x)`` RMSE over time [m] (DataArray on the truth's horizontal grid).
    """

    rmse: float
    mu: float
    sigma_t: float
    mu_t: np.ndarray
    rmse_xy: xr.DataArray = field(repr=False)

    def as_dict(self) -> Dict[str, float]:
        """The scalar scores as plain floats (for JSON summaries)."""
        return {"rmse": self.rmse, "mu": self.mu, "sigma_t": self.sigma_t}


def map_scores(estimate: xr.DataArray, truth: xr.DataArray) -> MapScores:
    """RMSE, ``mu``, ``mu(t)``, ``sigma_t`` and ``RMSE(y, x)`` of ``estimate`` against ``truth``.

    Exactly ``rmse_based_scores`` of the 2020a NATL60 challenge (``src/mod_eval.py``)::

        mu(t)   = 1 - sqrt(<e^2>_{y,x}) / sqrt(<truth^2>_{y,x})
        sigma_t = std_t(mu(t))                       (ddof = 0, NaN days skipped)
        mu      = 1 - sqrt(<e^2>_{t,y,x}) / sqrt(<truth^2>_{t,y,x})    (pooled)

    Args:
        estimate, truth: maps ``(time, y, x)`` / ``(time, latitude, longitude)``, same grid and
            times (one-line ``ValueError`` naming ``estimate`` otherwise). Units: metres.

    Returns:
        :class:`MapScores`.
    """
    lt = check_same_map(estimate, truth)
    ref = values(truth)
    e = values(estimate) - ref
    e2, r2 = e**2, ref**2
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_t = 1.0 - np.sqrt(_nanmean(e2, axis=(1, 2))) / np.sqrt(_nanmean(r2, axis=(1, 2)))
        mu = float(1.0 - np.sqrt(_nanmean(e2)) / np.sqrt(_nanmean(r2)))
    finite = mu_t[np.isfinite(mu_t)]
    sigma_t = float(np.std(finite)) if finite.size else float("nan")
    rmse_xy = xr.DataArray(
        np.sqrt(_nanmean(e2, axis=0)), dims=(lt.y_dim, lt.x_dim),
        coords={lt.y_dim: truth[lt.y_dim].values, lt.x_dim: truth[lt.x_dim].values},
        name="rmse_xy", attrs={"units": "m", "long_name": "RMSE over time"},
    )
    return MapScores(float(np.sqrt(_nanmean(e2))), mu, sigma_t, mu_t, rmse_xy)
