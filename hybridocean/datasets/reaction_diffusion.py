"""FitzHugh-Nagumo reaction-diffusion data set (APHYNITY, Yin, Le Guen et al., ICLR 2021).

* Physics: :class:`physics.reaction_diffusion.ReactionDiffusion`, ``a = 1e-3``, ``b = 5e-3``,
  ``k = 5e-3``, ``32 x 32`` periodic grid, ``dx = 2 / 32``.
* Initial state: ``u, v ~ U[0, 1)`` independently at every grid point.
* Frames every ``dt = 0.1``; 26 frames ``t = 0 .. 2.5`` (forecasts scored over 25 steps, the
  paper's horizon). The released code builds each sample as an *independent* trajectory from
  its own random initial state (no windows of a long run), with 30 frames ``t = 0 .. 2.9``;
  we do the same with 26 frames.
* Sizes: paper 1600 train / 320 test (we add 64 validation trajectories from their own
  seeds; the released code selects models on the test set); ``small``: 64 / 16 / 32.
* Solver: fixed-step RK4 with 20 substeps per frame (``h = 5e-3``). Its max-norm error against
  adaptive dopri5 at ``rtol = 1e-11`` is 8e-9 over the 26 frames (1.4e-7 with 10 substeps,
  5e-10 with 40; fourth order). The paper's best test MSE is ~4e-10, far above it.
* Priors: true (fixed ``a, b, k``); complete "Param PDE (a, b, k)"; incomplete
  "Param PDE (a, b)" (diffusion only). Learned parameters start at
  ``0.01 * sigmoid(-2) ~= 1.19e-3`` and stay in ``(0, 0.01)`` (the released code).
"""
from __future__ import annotations

import math

import numpy as np

from physics.reaction_diffusion import CHANNELS, TRUE_PARAMS, ReactionDiffusion

from .base import PriorSpec, SystemSpec, register
from .solvers import rk4_substeps

SUBSTEPS = 20
_INIT = 0.01 / (1.0 + math.exp(2.0))  # 0.01 * sigmoid(-2)


def initial_state(rng: np.random.Generator) -> np.ndarray:
    """``(u, v)`` fields of i.i.d. ``U[0, 1)`` values, shape ``(2, 32, 32)``."""
    return rng.random((2, 32, 32))


SPEC = register(
    SystemSpec(
        name="reaction_diffusion",
        physics=ReactionDiffusion,
        channels=CHANNELS,
        state_shape=(2, 32, 32),
        true_params=dict(TRUE_PARAMS),
        init_params={"a": _INIT, "b": _INIT, "k": _INIT},
        bounds={"a": (0.0, 0.01), "b": (0.0, 0.01), "k": (0.0, 0.01)},
        priors={
            "true": PriorSpec("True PDE", params=("a", "b", "k"), fixed_true=True),
            "complete": PriorSpec("Param PDE (a, b, k)", params=("a", "b", "k")),
            "incomplete": PriorSpec("Param PDE (a, b)", params=("a", "b"), terms={"reaction": False}),
        },
        dt=0.1,
        n_frames=26,
        sizes={"train": 1600, "val": 64, "test": 320},
        small_sizes={"train": 64, "val": 16, "test": 32},
        initial_state=initial_state,
        solve=lambda physics, y0, t: rk4_substeps(physics, y0, t, SUBSTEPS),
        solver=f"RK4 fixed step, {SUBSTEPS} substeps per frame",
    )
)
