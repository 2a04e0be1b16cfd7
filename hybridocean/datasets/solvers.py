"""Reference solvers used by the data generators (float64, no gradients).

* :func:`scipy_dop853` -- scipy's 8th-order Dormand-Prince, one trajectory at a time, for
  low-dimensional systems (the released APHYNITY code does the same for the pendulum).
* :func:`rk4_substeps` -- classical fixed-step RK4 (torchdiffeq ``"rk4"``, the 3/8 rule) with
  ``substeps`` steps per frame, for fields. Fixed steps make every trajectory independent
  of the others in its batch, so a data set of ``n`` is exactly the first ``n`` of a larger one.
"""
from __future__ import annotations

import numpy as np
import torch
import torchdiffeq
from scipy.integrate import solve_ivp
from torch import nn

from physics._checks import check_int


def scipy_dop853(physics: nn.Module, y0: torch.Tensor, t: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    """Integrate ``dx/dt = physics(t, x)`` for each row of ``y0`` ``(n, *state)`` with DOP853.

    Returns ``(n, T, *state)`` float64 at the times ``t`` ``(T,)`` (``t[0]`` is the initial time).
    """
    y0 = y0.to(torch.float64)
    t_np = t.detach().cpu().numpy().astype(np.float64)
    state_shape = tuple(y0.shape[1:])

    def rhs(time: float, y: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(y).reshape((1,) + state_shape)
        return physics(torch.tensor(time, dtype=torch.float64), x).reshape(-1).numpy()

    out = []
    with torch.no_grad():
        for y in y0:
            sol = solve_ivp(rhs, (t_np[0], t_np[-1]), y.reshape(-1).cpu().numpy(), method="DOP853",
                            t_eval=t_np, rtol=rtol, atol=atol)
            if not sol.success:
                raise RuntimeError(f"DOP853 failed: {sol.message}")
            out.append(torch.from_numpy(sol.y.T.copy()).reshape((len(t_np),) + state_shape))
    return torch.stack(out)


def rk4_substeps(physics: nn.Module, y0: torch.Tensor, t: torch.Tensor, substeps: int, chunk: int = 128) -> torch.Tensor:
    """Fixed-step RK4 with step ``(t[1] - t[0]) / substeps`` on the uniform frame times ``t``.

    ``y0``: ``(n, *state)``; returns ``(n, T, *state)`` float64. Integrates ``chunk``
    trajectories at a time to bound memory.
    """
    substeps, chunk = check_int("substeps", substeps, 1), check_int("chunk", chunk, 1)
    t = t.to(torch.float64)
    h = float(t[1] - t[0]) / substeps
    out = []
    with torch.no_grad():
        for k in range(0, y0.shape[0], chunk):
            ys = torchdiffeq.odeint(physics, y0[k : k + chunk].to(torch.float64), t, method="rk4",
                                    options={"step_size": h})
            out.append(ys.transpose(0, 1))
    return torch.cat(out)
