"""Damped wave data set (APHYNITY, Yin, Le Guen et al., ICLR 2021).

* Physics: :class:`physics.wave.DampedWave`, ``c = 330``, ``k = 50``, ``64 x 64`` closed grid,
  ``dx = 1``, Neumann walls (the released code keeps a zero Laplacian on the edge ring instead).
* Initial state: a Gaussian bump ``w = exp(-r^2 / s)``, ``s ~ U(10, 100)``, centred on the
  cell centre ``(i, j)`` with ``i, j`` integers in ``[20, 40)``; ``w_t = 0``.
* Frames every ``dt = 1e-3 s``, 25 frames (``t = 0 .. 0.024``). Every sample is an
  independent trajectory from its own initial state. (The released code cuts overlapping
  25-frame windows from one long trajectory per split; windows share states, so we do not.)
* Sizes: paper 200 train / 50 test (+ 25 validation from their own seeds; validation only selects the model, and a forecast of each costs as much as a training sample); ``small``: 32 / 8 / 16.
* Solver: fixed-step RK4, 20 substeps per frame (``h = 5e-5 s``). CFL: ``c dt / dx = 0.33`` per
  frame; per substep the largest frequency ``c sqrt(8) / dx`` gives ``omega h = 0.047``, far
  inside RK4's stability limit ``2 sqrt(2)``. Error against dopri5 at ``rtol = 1e-12``: with 10
  substeps up to 1e-6 on ``w_t`` (of size ~120 for the narrowest bumps, ``s = 10``) and 3e-9 on
  ``w``; 20 substeps divide it by ~16 (fourth order).
* Priors: true (fixed ``c, k``); complete "Param PDE (c, k)"; incomplete "Param PDE (c)"
  (undamped). Learned parameters start at ``c = 360``, ``k = 45`` (the released code).
"""
from __future__ import annotations

import numpy as np

from physics.wave import CHANNELS, TRUE_PARAMS, DampedWave

from .base import PriorSpec, SystemSpec, register
from .solvers import rk4_substeps

SUBSTEPS = 20
SIZE = 64


def initial_state(rng: np.random.Generator) -> np.ndarray:
    """``(w, w_t)`` of shape ``(2, 64, 64)``: Gaussian bump ``exp(-r^2 / s)`` and zero velocity."""
    s = rng.uniform(10.0, 100.0)
    cx, cy = rng.integers(20, 40, size=2)
    j, i = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")  # (y, x) index grids
    w = np.exp(-((i - cx) ** 2 + (j - cy) ** 2) / s)
    return np.stack((w, np.zeros_like(w)))


SPEC = register(
    SystemSpec(
        name="wave",
        physics=DampedWave,
        channels=CHANNELS,
        state_shape=(2, SIZE, SIZE),
        true_params=dict(TRUE_PARAMS),
        init_params={"c": 360.0, "k": 45.0},
        bounds={},
        priors={
            "true": PriorSpec("True PDE", params=("c", "k"), fixed_true=True),
            "complete": PriorSpec("Param PDE (c, k)", params=("c", "k")),
            "incomplete": PriorSpec("Param PDE (c)", params=("c",), terms={"damping": False}),
        },
        dt=1e-3,
        n_frames=25,
        sizes={"train": 200, "val": 25, "test": 50},
        small_sizes={"train": 32, "val": 8, "test": 16},
        initial_state=initial_state,
        solve=lambda physics, y0, t: rk4_substeps(physics, y0, t, SUBSTEPS),
        solver=f"RK4 fixed step, {SUBSTEPS} substeps per frame",
    )
)
