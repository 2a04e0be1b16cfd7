"""APHYNITY hybrid vector field ``dX/dt = F_p(t, X; theta_p) + F_a(X; theta_a)``.

Yin, Le Guen et al., "Augmenting physical models with deep networks for complex dynamics
forecasting", ICLR 2021. ``F_p`` is a (possibly incomplete) parametric physical model whose
parameters ``theta_p`` are learnable :class:`physics.parameters.PhysicalParameter`; ``F_a`` is a
neural network that only captures what the physics misses (its norm is minimised by
:class:`hybridocean.training.AphynityTrainer`).

Modes (the baselines of the paper):

* hybrid: ``physics`` and ``network`` given, ``augment=True`` -- APHYNITY;
* physics only (``network=None`` or ``augment=False``) -- "Param PDE"/"Param ODE";
* network only (``physics=None``) -- "Neural ODE".
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from physics.parameters import parameter_values


class HybridModel(nn.Module):
    """The vector field ``F(t, X) = F_p(t, X) + F_a(X)`` (either term may be absent).

    Args:
        physics: ``F_p``, an ``nn.Module`` with ``forward(t, x) -> dx/dt`` (same shape as ``x``);
            if it defines ``CHANNELS`` the state's channel count (dim 1) is checked against it.
        network: ``F_a``, an ``nn.Module`` mapping a state ``(batch, *state)`` to the same shape.
        augment: if False, ``F_a`` is switched off (physics-only forecasts from a hybrid model).

    State: ``x`` of shape ``(batch, C)`` (low-dimensional) or ``(batch, C, ny, nx)`` (fields), in the
    physics model's units; ``forward`` returns ``dx/dt`` of the same shape (units of x per unit time).
    """

    def __init__(self, physics: Optional[nn.Module], network: Optional[nn.Module], augment: bool = True) -> None:
        super().__init__()
        if physics is None and network is None:
            raise ValueError("physics and network cannot both be None: the model would have no dynamics")
        for name, m in (("physics", physics), ("network", network)):
            if m is not None and not isinstance(m, nn.Module):
                raise TypeError(f"{name} must be an nn.Module or None, got {type(m).__name__}")
        self.physics = physics
        self.network = network
        self.augment = bool(augment)

    @property
    def mode(self) -> str:
        """``"hybrid"``, ``"physics"`` (Param ODE/PDE) or ``"network"`` (Neural ODE)."""
        if self.physics is None:
            return "network"
        return "hybrid" if self.has_augmentation else "physics"

    @property
    def has_augmentation(self) -> bool:
        """True when ``F_a`` contributes to ``forward``."""
        return self.network is not None and self.augment

    def _check_state(self, x: torch.Tensor) -> None:
        if not torch.is_tensor(x):
            raise TypeError(f"x (the state) must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"x (the state) must be shaped (batch, C, ...), got {tuple(x.shape)}")
        channels = getattr(self.physics, "CHANNELS", None)
        if channels is not None and x.shape[1] != len(channels):
            raise ValueError(
                f"x (the state) must have {len(channels)} channels {tuple(channels)} of "
                f"{type(self.physics).__name__}, got {x.shape[1]} (shape {tuple(x.shape)})"
            )

    def physics_term(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``F_p(t, x)``; zeros when there is no physics model."""
        self._check_state(x)
        if self.physics is None:
            return torch.zeros_like(x)
        dx = self.physics(t, x)
        if dx.shape != x.shape:
            raise ValueError(
                f"physics returned shape {tuple(dx.shape)}, expected the state's shape {tuple(x.shape)}"
            )
        return dx

    def augmentation(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``F_a(x)`` (``t`` unused: the augmentation is autonomous); zeros when switched off."""
        self._check_state(x)
        if not self.has_augmentation:
            return torch.zeros_like(x)
        dx = self.network(x)
        if dx.shape != x.shape:
            raise ValueError(
                f"network output shape {tuple(dx.shape)} must equal the state shape {tuple(x.shape)} "
                f"({type(self.network).__name__} must map a state to a tendency of the same shape)"
            )
        return dx

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``dx/dt = F_p(t, x) + F_a(x)``, shape of ``x``."""
        if self.physics is None:
            return self.augmentation(t, x)
        fp = self.physics_term(t, x)
        if not self.has_augmentation:
            return fp
        return fp + self.augmentation(t, x)

    def physical_parameters(self) -> dict:
        """``{name: value}`` of the physics model's parameters in physical units (``{}`` if none)."""
        return {} if self.physics is None else parameter_values(self.physics)

    def learnable_physics_parameters(self) -> list:
        """The physics model's tensors that require grad, ``theta_p`` (``[]`` without physics or when fixed)."""
        return [] if self.physics is None else [p for p in self.physics.parameters() if p.requires_grad]

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, augment={self.augment}"


__all__ = ["HybridModel"]
