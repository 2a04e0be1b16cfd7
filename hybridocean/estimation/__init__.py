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

The exports are lazy (PEP 562, :func:`hybridocean._lazy.lazy_exports`): ``from
hybridocean.estimation import X`` imports only the submodule defining ``X``, so importing
``hybridocean.estimation.cli`` (when ``hybridocean --help`` builds its parser) stays light.
"""
from hybridocean._lazy import lazy_exports

#: submodule -> the public names this package re-exports from it.
_EXPORTS = {
    "base": ("Estimator", "EstimationInputs", "prepare_inputs", "estimate_dataset", "write_estimate",
             "geostrophic_currents", "SSH_NAMES", "VELOCITY_KINDS"),
    "geostrophic": ("Geostrophic", "harmonic_fill"),
    "cyclogeostrophic": ("Cyclogeostrophic", "cyclogeostrophic_velocities", "CyclogeostrophyError",
                         "CyclogeostrophyWarning"),
    "oi": ("OptimalInterpolation",),
    "background": ("GaussianCovariance",),
    "fourdvar": ("WindowProblem", "WindowResult"),
    "fourdvar_windows": ("FourDVar",),
    "learned": ("LearnedEstimator",),
    "learned_fourdvar": ("LearnedFourDVar",),
    "fourdvar_regional": ("RegionalFourDVar", "land_from_gridded"),
}


def _estimators() -> dict:
    """:data:`ESTIMATORS`: the classical estimators by the short name written to ``attrs["method"]``."""
    from .cyclogeostrophic import Cyclogeostrophic
    from .geostrophic import Geostrophic
    from .oi import OptimalInterpolation

    return {cls.method: cls for cls in (Geostrophic, Cyclogeostrophic, OptimalInterpolation)}


#: ESTIMATORS (built on first access, see :func:`_estimators`): the classical estimators by the
#: short name written to ``attrs["method"]`` (for the CLI).
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, computed={"ESTIMATORS": _estimators})
