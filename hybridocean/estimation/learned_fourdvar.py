"""The ``learned+4dvar`` estimator: 4D-Var whose every window starts from the learned estimator's map.

:class:`LearnedFourDVar` runs :class:`~.fourdvar_windows.FourDVar` with
``background_fn(t0) = `` the SSH of a trained :class:`~.learned.LearnedEstimator` (its
``map_ssh`` of the observation windows at the output times -- for QG by default the encoder's
map, ``output="encoder"`` -- linear in time between them) at
each window start ``t0``: that map, turned into a model state (QG ``q`` of ``psi = g eta / f0``,
SW ``eta`` with its geostrophic ``u, v``; :mod:`.fourdvar_models`), is the window's background
``x_b`` AND its first guess (the minimisation starts from the zero increment). The 4D-Var then
corrects it by fitting the window's observations through the model dynamics, so the learned map
is a prior, not the answer -- the idea of using a learned estimate as the background of a
variational analysis (e.g. Fablet, Chapron, Drumetz, Memin, Pannekoucke & Rousseau 2021,
"Learning variational data assimilation models and solvers", JAMES 13, e2021MS002572).

Output times must be those of the learned estimator (spaced by its training ``dt``, at least 2);
they may not lie outside the observations' span (the learned map needs observations behind it).
Everything else -- windows, ``B``, the minimiser, the output layout -- is :class:`FourDVar`'s.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np
import torch

from .base import EstimationInputs
from .fourdvar_windows import FourDVar, ModelSpec, _interp
from .learned import LearnedEstimator


class LearnedFourDVar(FourDVar):
    """4D-Var from the learned estimator's SSH (module docstring).

    Args:
        learned: a trained (or loaded) :class:`~.learned.LearnedEstimator` on the output grid.
        model: the 4D-Var model (as :class:`FourDVar`: ``"qg"``, ``"sw"``, a model or a callable).
        **kwargs: any other :class:`FourDVar` argument but ``background``/``background_fn``.
    """

    method = "learned+4dvar"

    def __init__(self, learned: LearnedEstimator, model: ModelSpec = "qg", **kwargs: Any) -> None:
        if not isinstance(learned, LearnedEstimator):
            raise TypeError(f"learned must be a LearnedEstimator, got {type(learned).__name__}")
        learned._require_fit()
        for k in ("background", "background_fn"):
            if kwargs.get(k) is not None:
                raise ValueError(f"{k}: set by the learned estimator in learned+4dvar; do not give it")
        super().__init__(model, **kwargs)
        self.learned = learned
        #: the learned SSH ``(T, ny, nx)`` [m] at the output times of the last run
        self.learned_ssh_: torch.Tensor = torch.empty(0)

    def time_margin(self) -> float:
        """[s] the learned estimator's own margin (half a frame once trained: its first and last
        frames bin the observations over ``+- dt / 2``): the learned map, every window's background,
        needs observations behind every output time, not a 4D-Var window's extrapolation."""
        return float(self.learned.time_margin())

    def parameters(self) -> Dict[str, Any]:
        p = super().parameters()
        p.update({"background": "learned estimator (every window)",
                  "learned": {k: v for k, v in self.learned.parameters().items() if np.isscalar(v)}})
        return p

    def run(self, inputs: EstimationInputs) -> Tuple[torch.Tensor, ...]:
        """The learned SSH at ``inputs.times``, then :meth:`FourDVar.run` with it as every
        window's background (its value at the window start, linear in time between outputs)."""
        ssh = self.learned.map_ssh(inputs).to(inputs.grid.dtype)
        self.learned_ssh_ = ssh
        ts = np.asarray(inputs.times_s, dtype=np.float64)
        self.background_fn = lambda t0: _interp(ts, ssh, float(t0))
        try:
            return super().run(inputs)
        finally:
            self.background_fn = None


__all__ = ["LearnedFourDVar"]
