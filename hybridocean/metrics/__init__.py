"""Metrics of SSH and surface-current estimates, as the ocean data challenges define them.

* :mod:`~hybridocean.metrics.maps` — RMSE, ``mu = 1 - RMSE / RMS(truth)`` (pooled) and its
  temporal std ``sigma_t`` on maps (``2020a_SSH_mapping_NATL60``, ``src/mod_eval.py``).
* :mod:`~hybridocean.metrics.psd_maps` — PSD scores on maps: the challenge's space-time
  (time, lon) score with ``lambda_x`` and ``lambda_t``, an isotropic spatial score and a
  temporal score.
* :mod:`~hybridocean.metrics.alongtrack` — along-track daily RMSE scores and the 1000 km segment
  PSD score (``2021a_SSH_mapping_OSE``, ``src/mod_spectral.py``, ``src/mod_write.py``).
* :mod:`~hybridocean.metrics.holdout` — :func:`score_on_tracks`: a map scored on a held-out
  platform through the observation operator H.
* :mod:`~hybridocean.metrics.currents` — ``tau_uv`` and the same score on vorticity and strain.
* :mod:`~hybridocean.metrics.spectral` — windows, periodograms, 0.5 crossings.

Layer: imports ``physics`` and ``hybridocean.observations`` only (never estimation or cli).
"""
from .alongtrack import (AlongTrackPSD, AlongTrackRMSE, Segments, alongtrack_psd_score, alongtrack_rmse_scores,
                         alongtrack_segments)
from .currents import (current_scores, relative_vorticity, strain, strain_score, tau_scalar, tau_uv,
                       vorticity_score)
from .holdout import TrackScores, score_on_tracks
from .maps import MapScores, map_scores, rmse
from .psd_maps import (IsotropicScore, SpaceTimeScore, TemporalScore, psd_isotropic_score, psd_spacetime_score,
                       psd_temporal_score)
from .spectral import contour_crossings, crossing_wavelength, periodogram_1d

__all__ = [
    "rmse", "map_scores", "MapScores",
    "psd_spacetime_score", "psd_isotropic_score", "psd_temporal_score",
    "SpaceTimeScore", "IsotropicScore", "TemporalScore",
    "alongtrack_segments", "alongtrack_psd_score", "alongtrack_rmse_scores",
    "Segments", "AlongTrackPSD", "AlongTrackRMSE",
    "score_on_tracks", "TrackScores",
    "tau_uv", "tau_scalar", "vorticity_score", "strain_score", "current_scores", "relative_vorticity", "strain",
    "crossing_wavelength", "contour_crossings", "periodogram_1d",
]
