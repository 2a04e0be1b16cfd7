"""Damped pendulum data set (APHYNITY, Sec. 4 / App. D of Yin, Le Guen et al., ICLR 2021).

* Physics: :class:`physics.pendulum.DampedPendulum`, ``omega0^2 = (2 pi / 6)^2`` (``T0 = 6 s``,
  as in the paper; the released code's later commits use ``T0 = 12``), ``alpha = 0.2``.
* Initial state (as the released code): a direction drawn from the square ``U(-1, 1)^2``,
  normalised, times a radius ``U(1.3, 2.3)``, in the ``(theta, omega)`` plane.
* Frames every ``dt = 0.5 s``, 40 frames: ``t = 0, 0.5, ..., 19.5`` (``np.arange(0, 20, 0.5)``
  in the released code).
* 25 trajectories per split (train / val / test), each from its own initial state.
* Solver: scipy DOP853, ``rtol = 1e-10``, ``atol = 1e-12``, per trajectory.
* Priors: true (fixed ``omega0^2, alpha``); complete "Param ODE (omega0, alpha)"; incomplete
  "Param ODE (omega0)", frictionless. Learned parameters start at ``omega0^2 = 0.8``,
  ``alpha = 0.1``: the released code starts at ``omega0^2 = 0.2`` for its ``T0 = 12 s`` truth
  (0.274); ``omega0^2`` scales as ``1 / T0^2``, so the same relative start for ``T0 = 6 s`` is
  ``4 x 0.2 = 0.8`` (73% of the truth). Starting at 0.2 (18% of the truth) the parameter barely
  moves in the first hundreds of iterations while ``F_a`` absorbs the missing dynamics.
"""
from __future__ import annotations

import numpy as np

from physics.pendulum import ALPHA, CHANNELS, OMEGA0_SQ, DampedPendulum

from .base import PriorSpec, SystemSpec, register
from .solvers import scipy_dop853

RTOL, ATOL = 1e-10, 1e-12


def initial_state(rng: np.random.Generator) -> np.ndarray:
    """``(theta, omega)``: random direction (normalised ``U(-1, 1)^2``) times radius ``U(1.3, 2.3)``."""
    direction = rng.uniform(-1.0, 1.0, size=2)
    radius = rng.uniform(1.3, 2.3)
    return direction / np.sqrt((direction**2).sum()) * radius


SPEC = register(
    SystemSpec(
        name="pendulum",
        physics=DampedPendulum,
        channels=CHANNELS,
        state_shape=(2,),
        true_params={"omega0_sq": OMEGA0_SQ, "alpha": ALPHA},
        init_params={"omega0_sq": 0.8, "alpha": 0.1},
        bounds={},
        priors={
            "true": PriorSpec("True ODE", params=("omega0_sq", "alpha"), fixed_true=True),
            "complete": PriorSpec("Param ODE (omega0, alpha)", params=("omega0_sq", "alpha")),
            "incomplete": PriorSpec("Param ODE (omega0)", params=("omega0_sq",), terms={"friction": False}),
        },
        dt=0.5,
        n_frames=40,
        sizes={"train": 25, "val": 25, "test": 25},
        small_sizes={"train": 8, "val": 4, "test": 8},
        initial_state=initial_state,
        solve=lambda physics, y0, t: scipy_dop853(physics, y0, t, rtol=RTOL, atol=ATOL),
        solver=f"scipy DOP853 rtol={RTOL} atol={ATOL}",
    )
)
