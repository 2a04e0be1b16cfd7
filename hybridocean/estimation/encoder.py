"""Encoder of the learned estimator: a window of gridded observations -> the state at its end.

Ayed, de Bézenac, Pajot, Brajard, Gallinari, "Learning dynamical systems from partial
observations" (arXiv:1902.11136, 2019; ICASSP 2020): the unobserved state at the start of a
forecast is not given but *inferred* by a network from the observations of the preceding window.

Input (:func:`window_features`): for each of the ``W`` frames ``k`` of a window ending at ``t_e``,
three channels on the grid ``(ny, nx)``:

* ``m_k * y_k / s`` -- observed SSH [m] scaled by ``s`` (the training observations' std), 0 in gaps;
* ``m_k`` -- the mask (1 observed, 0 gap);
* ``m_k * (t_e - t_k) / L`` -- the observation's age at the window end over the window length
  ``L = W dt`` (dimensionless, in [0, 1)).

so ``3 W`` channels. Output: ``C`` state channels (e.g. SSH for the 1.5-layer QG state map).
"""
from __future__ import annotations

import torch
from torch import nn

from ..networks import ConvResNet

FEATURES_PER_FRAME = 3
"""Channels per window frame: scaled value, mask, age (see the module docstring)."""


def window_features(values: torch.Tensor, mask: torch.Tensor, ages: torch.Tensor, scale: float) -> torch.Tensor:
    """Encoder input ``(N, 3 W, ny, nx)`` of ``N`` windows.

    Args:
        values: ``(N, W, ny, nx)`` observed SSH [m] (any finite value in gaps: it is masked out).
        mask: ``(N, W, ny, nx)`` 1.0 observed, 0.0 gap.
        ages: ``(W,)`` ``(t_e - t_k) / L`` of each frame (dimensionless).
        scale: ``s`` [m] > 0, the SSH scale.
    """
    if values.shape != mask.shape or values.dim() != 4:
        raise ValueError(f"values and mask must both be (N, W, ny, nx), got {tuple(values.shape)} and {tuple(mask.shape)}")
    if ages.shape != (values.shape[1],):
        raise ValueError(f"ages must be (W={values.shape[1]},), got {tuple(ages.shape)}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0 [m], got {scale}")
    v = torch.where(mask > 0, values, torch.zeros_like(values)) / scale
    a = mask * ages.to(mask).view(1, -1, 1, 1)
    return torch.stack([v, mask, a], dim=2).flatten(1, 2)


class WindowEncoder(nn.Module):
    """``(N, 3 W, ny, nx) -> (N, C, ny, nx)``: a :class:`~hybridocean.networks.ConvResNet` on the
    ``3 W`` feature channels followed by a 1x1 convolution to the ``C`` state channels (output in
    the units the caller scales it to; see :class:`~hybridocean.estimation.learned.LearnedEstimator`).

    Args:
        window: number of frames ``W`` (>= 1).
        out_channels: ``C``.
        hidden, layers, boundary, activation: of the ConvResNet (``boundary`` the grid's).
    """

    def __init__(
        self,
        window: int,
        out_channels: int,
        hidden: int = 16,
        layers: int = 2,
        boundary: str = "periodic",
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int >= 1 (frames), got {window!r}")
        if not isinstance(out_channels, int) or out_channels < 1:
            raise ValueError(f"out_channels must be an int >= 1, got {out_channels!r}")
        self.window = window
        self.in_channels = FEATURES_PER_FRAME * window
        self.out_channels = out_channels
        self.body = ConvResNet(self.in_channels, hidden=hidden, layers=layers, boundary=boundary, activation=activation)
        self.head = nn.Conv2d(self.in_channels, out_channels, kernel_size=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, 3 W, ny, nx) -> (N, C, ny, nx)``."""
        if features.dim() != 4 or features.shape[1] != self.in_channels:
            raise ValueError(f"features must be (N, {self.in_channels}, ny, nx), got {tuple(features.shape)}")
        return self.head(self.body(features))


__all__ = ["WindowEncoder", "window_features", "FEATURES_PER_FRAME"]
