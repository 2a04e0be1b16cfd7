"""State estimation from altimetry: SSH everywhere and the surface currents from observed SSH.

One interface, :class:`~hybridocean.estimation.base.Estimator` (``fit`` / ``estimate(obs, grid,
times) -> xr.Dataset``), one output layout (:func:`~hybridocean.estimation.base.estimate_dataset`:
``ssh``/``adt``/``sla``, ``u``, ``v`` at the cell centres, CF names and units), and the classical
baselines: geostrophic (:mod:`.geostrophic`), cyclogeostrophic (:mod:`.cyclogeostrophic`) and
optimal interpolation (:mod:`.oi`); strong- and weak-constraint 4D-Var through the library's
models (:mod:`.fourdvar`, :mod:`.fourdvar_windows`, background covariance :mod:`.background`) and
the learned estimator of Ayed et al. trained through observed SSH only (:mod:`.learned`).

Layer: imports :mod:`physics`, :mod:`hybridocean.io`, :mod:`hybridocean.observations`,
:mod:`hybridocean.metrics`; never the CLI.
"""
from .base import (SSH_NAMES, VELOCITY_KINDS, EstimationInputs, Estimator, estimate_dataset, geostrophic_currents,
                   prepare_inputs, write_estimate)
from .geostrophic import Geostrophic, harmonic_fill
from .cyclogeostrophic import (Cyclogeostrophic, CyclogeostrophyError, CyclogeostrophyWarning,
                               cyclogeostrophic_velocities)
from .oi import OptimalInterpolation
from .background import GaussianCovariance
from .fourdvar import WindowProblem, WindowResult
from .fourdvar_windows import FourDVar
from .learned import LearnedEstimator

#: The classical estimators by the short name written to ``attrs["method"]`` (for the CLI).
ESTIMATORS = {cls.method: cls for cls in (Geostrophic, Cyclogeostrophic, OptimalInterpolation)}

__all__ = [
    "Estimator", "EstimationInputs", "prepare_inputs", "estimate_dataset", "write_estimate",
    "geostrophic_currents", "SSH_NAMES", "VELOCITY_KINDS", "ESTIMATORS",
    "Geostrophic", "harmonic_fill", "Cyclogeostrophic", "cyclogeostrophic_velocities", "CyclogeostrophyError",
    "CyclogeostrophyWarning", "OptimalInterpolation", "GaussianCovariance", "WindowProblem", "WindowResult",
    "FourDVar", "LearnedEstimator",
]
