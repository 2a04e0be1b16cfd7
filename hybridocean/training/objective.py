"""The two terms of the APHYNITY objective: trajectory error ``L_traj`` and the norm of ``F_a``.

See :mod:`hybridocean.training.config` for how they are combined (``"paper"`` / ``"squared"``).
"""
from __future__ import annotations

import torch

from ..hybrid import HybridModel

RELATIVE_EPS = 1e-5
"""Added to ``||X||`` in the relative norm (the released code's ``_EPSILON``) to avoid 0/0."""


def trajectory_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L_traj = mean (X_pred - X)^2`` over batch, times, channels and grid points (scalar)."""
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} must equal target shape {tuple(target.shape)}")
    return torch.mean((pred - target) ** 2)


def augmentation_norm2(model: HybridModel, states: torch.Tensor, relative: bool = False) -> torch.Tensor:
    """``mean_{n,t,points} sum_c F_a(X_{n,t})_c^2`` over the data states ``(N, T, *state)`` (scalar).

    ``relative``: each point's ``||F_a(X)||_c`` is divided by ``||X||_c + RELATIVE_EPS`` first
    (``_c`` = Euclidean norm over the channel dim). Zero when the model has no active ``F_a``.
    """
    if not model.has_augmentation:
        return states.new_zeros(())
    x = states.reshape(-1, *states.shape[2:])
    fa = model.augmentation(states.new_zeros(()), x)
    sq = (fa**2).sum(dim=1)
    if relative:
        sq = sq / (torch.linalg.vector_norm(x, dim=1) + RELATIVE_EPS) ** 2
    return sq.mean()


def lagrangian(l_traj: torch.Tensor, fa_norm2: torch.Tensor, lam: float, objective: str, min_norm: bool) -> torch.Tensor:
    """``||F_a|| + lambda L_traj`` (paper), ``||F_a||^2 + lambda L_traj`` (squared), or ``L_traj``.

    The paper form's square root has an infinite derivative at ``F_a = 0``; it is taken of
    ``fa_norm2 + tiny`` so the gradient stays finite (``tiny`` = smallest normal of the dtype).
    """
    if not min_norm:
        return l_traj
    if objective == "paper":
        norm = torch.sqrt(fa_norm2 + torch.finfo(fa_norm2.dtype).tiny)
    else:
        norm = fa_norm2
    return norm + lam * l_traj


__all__ = ["trajectory_loss", "augmentation_norm2", "lagrangian", "RELATIVE_EPS"]
