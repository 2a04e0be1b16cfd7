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

so ``3 W`` channels; with a first-guess estimator (:mod:`.learned_first_guess`) one more, last:
its SSH map at the state time over ``s``. Output: ``C`` state channels (e.g. SSH for the 1.5-layer
QG state map).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..networks import ConvResNet, _pad_edges

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


class NormalizedConvolution(nn.Module):
    """Gaussian normalised convolution of a window's observations (Knutsson & Westin,
    "Normalized and differential convolution", CVPR 1993): for each length ``sigma_s`` [cells]

        ``e_s = G_s * (sum_j m_j y_j) / (G_s * (sum_j m_j))``,  ``c_s = G_s * (sum_j m_j) / W``

    (``G_s`` the normalised 2-D Gaussian of std ``sigma_s`` cells, truncated at ``3 sigma_s``;
    sums over the ``W`` frames of the window; periodic grids wrap, closed grids pad with zeros --
    exact for both sums: no observation beyond a wall -- Neumann grids replicate the edge).
    ``e_s`` is the local weighted mean of the observed values (0 where ``c_s = 0``): a cheap,
    differentiable first guess of the SSH map, which the encoder corrects.

    Input: the :func:`window_features` ``(N, 3 W, ny, nx)``; output ``(N, 2 S, ny, nx)``:
    ``e_1 .. e_S`` (in the features' units, SSH / s), then ``c_1 .. c_S``.
    """

    def __init__(self, sigmas, boundary: str = "periodic") -> None:
        super().__init__()
        sig = [float(x) for x in sigmas]
        if not sig or any(not x > 0 for x in sig):
            raise ValueError(f"prior_sigmas must be positive lengths [cells], got {sigmas!r}")
        self.boundary, self.sigmas = boundary, sig
        for k, x in enumerate(sig):
            r = int(math.ceil(3 * x))
            g = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / x) ** 2)
            self.register_buffer(f"kernel{k}", (g / g.sum()).view(1, 1, -1))

    def _smooth(self, f: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian of ``f (N, 1, ny, nx)`` with the boundary's padding."""
        r = kernel.shape[-1] // 2
        if self.boundary == "closed":
            f = F.pad(f, (r, r, r, r))
        else:
            f = _pad_edges(f, r, periodic=self.boundary == "periodic")
        N, _, Y, X = f.shape
        k = kernel.to(f)
        f = F.conv1d(f.reshape(N * Y, 1, X), k).reshape(N, 1, Y, X - 2 * r)
        f = F.conv1d(f.transpose(-1, -2).reshape(N * (X - 2 * r), 1, Y), k)
        return f.reshape(N, 1, X - 2 * r, Y - 2 * r).transpose(-1, -2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, 3 W, ny, nx) -> (N, 2 S, ny, nx)`` (class docstring)."""
        v, m = features[:, 0::FEATURES_PER_FRAME], features[:, 1::FEATURES_PER_FRAME]
        W = v.shape[1]
        num, den = (v * m).sum(1, keepdim=True), m.sum(1, keepdim=True)
        est, conf = [], []
        for k in range(len(self.sigmas)):
            kern = getattr(self, f"kernel{k}")
            n_s, d_s = self._smooth(num, kern), self._smooth(den, kern)
            tiny = torch.finfo(d_s.dtype).eps
            est.append(torch.where(d_s > tiny, n_s / d_s.clamp(min=tiny), torch.zeros_like(n_s)))
            conf.append(d_s / W)
        return torch.cat(est + conf, dim=1)


class WindowEncoder(nn.Module):
    """``(N, 3 W, ny, nx) -> (N, C, ny, nx)``: a :class:`~hybridocean.networks.ConvResNet` on the
    ``3 W`` feature channels followed by a 1x1 convolution to the ``C`` state channels (output in
    the units the caller scales it to; see :class:`~hybridocean.estimation.learned.LearnedEstimator`).

    Args:
        window: number of frames ``W`` (>= 1).
        out_channels: ``C``.
        hidden, layers, boundary, activation, dilations: of the ConvResNet (``boundary`` the
            grid's; ``dilations`` one per block widen the receptive field for sparse tracks).
        prior_sigmas: if given, lengths [cells] of a :class:`NormalizedConvolution` first guess:
            its maps and confidences are added to the ConvResNet's input, and channel 0 (SSH)
            is ``e_1 + `` the network's output, whose last layer starts at zero (the encoder
            starts as the first guess ``e_1`` of the first length and learns its correction).
        first_guess: the input has one more channel, last: an external first guess ``eta_0 / s``
            of the SSH at the state time (:mod:`.learned_first_guess`, e.g. OI); channel 0 is then
            ``eta_0 / s + `` the network's output (zero-initialised last layer, as above): the
            untrained encoder returns the first guess exactly. It takes precedence over ``e_1``
            as the base (the normalised convolution's maps stay inputs).
    """

    def __init__(
        self,
        window: int,
        out_channels: int,
        hidden: int = 16,
        layers: int = 2,
        boundary: str = "periodic",
        activation: str = "tanh",
        dilations=None,
        prior_sigmas=None,
        first_guess: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int >= 1 (frames), got {window!r}")
        if not isinstance(out_channels, int) or out_channels < 1:
            raise ValueError(f"out_channels must be an int >= 1, got {out_channels!r}")
        if not isinstance(first_guess, bool):
            raise TypeError(f"first_guess must be a bool, got {type(first_guess).__name__}")
        self.window, self.first_guess = window, first_guess
        self.in_channels = FEATURES_PER_FRAME * window + int(first_guess)
        self.out_channels = out_channels
        self.prior = None if prior_sigmas is None else NormalizedConvolution(prior_sigmas, boundary)
        width = self.in_channels + (0 if self.prior is None else 2 * len(self.prior.sigmas))
        self.body = ConvResNet(width, hidden=hidden, layers=layers, boundary=boundary, activation=activation,
                               dilations=dilations)
        self.head = nn.Conv2d(width, out_channels, kernel_size=1)
        if self.prior is not None or first_guess:  # start exactly at the first guess: the network learns the correction
            with torch.no_grad():
                self.head.weight.zero_()
                self.head.bias.zero_()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, 3 W (+1 with a first guess), ny, nx) -> (N, C, ny, nx)``."""
        if features.dim() != 4 or features.shape[1] != self.in_channels:
            raise ValueError(f"features must be (N, {self.in_channels}, ny, nx), got {tuple(features.shape)}")
        if self.prior is None and not self.first_guess:
            return self.head(self.body(features))
        x, base = features, None
        if self.prior is not None:
            p = self.prior(features[:, :FEATURES_PER_FRAME * self.window])
            x, base = torch.cat([features, p], dim=1), p[:, :1]
        if self.first_guess:
            base = features[:, -1:]
        out = self.head(self.body(x))
        return torch.cat([out[:, :1] + base, out[:, 1:]], dim=1)


__all__ = ["WindowEncoder", "NormalizedConvolution", "window_features", "FEATURES_PER_FRAME"]
