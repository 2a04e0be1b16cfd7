"""Random smooth C-grid fields shared by the shallow-water and geostrophy tests."""
from __future__ import annotations

import math

import numpy as np
import torch

from physics.grid import Grid


def smooth_field(rng: np.random.Generator, grid: Grid, loc: str, amplitude: float = 1.0,
                 n_modes: int = 3, device=None) -> torch.Tensor:
    """``sum_k a_k cos(2 pi (m_k x / Lx + n_k y / Ly) + phi_k)`` at ``loc``, shape ``(ny, nx)``.

    Integer wavenumbers ``m, n`` in 0..2 keep the field smooth and periodic; amplitudes are
    uniform in ``[-amplitude, amplitude]``.
    """
    X, Y = grid.mesh(loc)
    out = torch.zeros_like(X)
    for _ in range(n_modes):
        m, n = rng.integers(0, 3, size=2)
        a, phi = rng.uniform(-amplitude, amplitude), rng.uniform(0, 2 * math.pi)
        out = out + a * torch.cos(2 * math.pi * (m * X / grid.Lx + n * Y / grid.Ly) + phi)
    return out if device is None else out.to(device)


def smooth_state(rng: np.random.Generator, grid: Grid, batch: int = 1, eta_amp: float = 1.0,
                 vel_amp: float = 0.5, device=None) -> torch.Tensor:
    """``(batch, 3, ny, nx)`` state (eta, u, v) of smooth random fields, walls masked."""
    states = []
    for _ in range(batch):
        eta = smooth_field(rng, grid, "center", eta_amp)
        u = smooth_field(rng, grid, "u", vel_amp) * grid.mask("u")
        v = smooth_field(rng, grid, "v", vel_amp) * grid.mask("v")
        states.append(torch.stack((eta, u, v)))
    out = torch.stack(states)
    return out if device is None else out.to(device)


def tendency_of(functional, model, state: torch.Tensor):
    """Semi-discrete ``d functional / dt`` terms: ``grad(functional) * forward(state)``.

    Returns the per-point products (same shape as ``state``); their sum is the exact
    time derivative of ``functional(state).sum()`` along the model's flow (chain rule).
    """
    state = state.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(functional(state).sum(), state)
    with torch.no_grad():
        return grad * model(torch.zeros((), dtype=state.dtype), state)
