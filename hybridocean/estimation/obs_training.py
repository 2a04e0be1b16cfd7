"""Observation-only training of the learned estimator: the data set, the state maps and the task
that plugs the loss into the reused :class:`~hybridocean.training.AphynityTrainer`.

Ayed, de Bézenac, Pajot, Brajard, Gallinari, "Learning dynamical systems from partial
observations" (arXiv:1902.11136, 2019; ICASSP 2020). A sample is a window of ``W`` gridded
observation frames ``t_{k-W+1} .. t_k`` (the encoder's input) and the ``K`` frames
``t_k .. t_{k+K-1}`` of the forecast horizon (the targets). With ``z = E(window)`` the encoder
output, ``X_k = S(z)`` the state (a :class:`QGStateMap` or :class:`DirectStateMap` ``S``), the
forecast ``X_t = odeint(F_p + F_a, X_k)`` and ``H(X)`` the state's SSH at the cell centres,

    L_traj = sum_{n,t,pixels} m_t (H(X_t) - y_t)^2 / (s^2 sum m_t)  +  w_h R(z)

``m_t`` the mask of observed cells (1/0), ``y_t`` the cell-mean observed SSH [m], ``s`` [m] the
SSH scale (std of the training observations): a dimensionless masked MSE. Gaps are multiplied
by 0 *and* their values replaced by 0 before (``torch.where``), so a NaN in a gap -- unobserved
SSH, or velocities, never read at all -- cannot reach the loss or its gradient.

Regularisation of the hidden components ``R(z)`` (``w_h`` = ``hidden_weight``):

* 1.5-layer QG (:class:`QGStateMap`): ``R = 0``. The state ``q`` is built from the encoded SSH by
  :func:`physics.qg_state.ssh_to_qg_state` (geostrophic balance, ``psi = g eta / f0``), so the
  currents are no free unknown: the QG state has no component hidden from SSH.
* shallow water ``(eta, u, v)`` or the purely neural dynamics (:class:`DirectStateMap`):
  ``R = mean z_hidden^2`` (the encoder's hidden channels in their scaled units). Components
  that no observation in the horizon constrains (the null space of ``H`` composed with the flow)
  would otherwise be free and drift; the Tikhonov term picks the smallest hidden state among
  those that explain the observations equally well, and keeps the forecasts bounded.

``||F_a||`` (APHYNITY's minimal-norm term) is evaluated on the forecast states, detached: no
full state is observed to evaluate it on, and detaching keeps the term a constraint on
``theta_a`` only (the encoder is not pushed to states where ``F_a`` happens to be small).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import xarray as xr
from torch import nn

from hybridocean.networks import ConvResNet
from hybridocean.training.objective import augmentation_norm2
from physics.geostrophy import geostrophic_velocities
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state

from .encoder import window_features
from .obs_views import frame_spacing, gridded_frames, gridded_view  # noqa: F401 (re-exported)


class ScaledField(nn.Module):
    """``F_a(X) = (a / T) * net(X / a)``: a network on a state scaled to O(1).

    ``a`` ``(C,)`` per-channel state scales (state units), ``T`` [s] the time scale: a network of
    O(1) output gives a tendency of O(a / T). Shapes: ``(N, C, ny, nx) -> (N, C, ny, nx)``.
    """

    def __init__(self, net: nn.Module, scale: torch.Tensor, time_scale: float) -> None:
        super().__init__()
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0 [s], got {time_scale}")
        self.net = net
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64).view(1, -1, 1, 1))
        self.time_scale = float(time_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.scale.to(x)
        return (a / self.time_scale) * self.net(x / a)


def augmentation_field(state_map, state_channels: int, hidden: int, layers: int, grid, dt: float,
                       scale: float) -> "ScaledField":
    """``F_a`` of the learned estimator: a zero-output :class:`~hybridocean.networks.ConvResNet`
    (``hidden`` wide, ``layers`` blocks) in a :class:`ScaledField` of time scale ``dt`` [s],
    whose per-channel scales ``a`` are the RMS of the state of a unit SSH field of wavelength 8
    cells (eddy scale) ``sin(2 pi i / 8) sin(2 pi j / 8)`` through ``state_map`` (SSH scale ``s``)."""
    j, i = torch.meshgrid(torch.arange(grid.ny), torch.arange(grid.nx), indexing="ij")
    z = (torch.sin(2 * torch.pi * i / 8) * torch.sin(2 * torch.pi * j / 8)).to(torch.float64)
    z = z.expand(1, state_map.channels, grid.ny, grid.nx)
    with torch.no_grad():
        x = state_map.to_state(z, scale)
    a = x.pow(2).mean(dim=(0, 2, 3)).sqrt().clamp(min=torch.finfo(torch.float64).tiny)
    return ScaledField(ConvResNet(state_channels, hidden, layers, grid.boundary, zero_output=True), a, dt)


class QGStateMap:
    """1.5-layer (or layered) QG state from the encoder's one SSH channel.

    ``eta = s z`` [m] at the centres, ``q = ssh_to_qg_state(eta, model, loc="center")`` [1/s];
    ``H(q) = qg_state_to_ssh(q, model, loc="center")`` [m]. No hidden regulariser (module doc).
    """

    channels = 1

    def __init__(self, model: QG, g: float = 9.81) -> None:
        if not isinstance(model, QG):
            raise TypeError(f"model must be a physics.qg.QG, got {type(model).__name__}")
        self.model, self.g = model, float(g)

    def to_state(self, z: torch.Tensor, scale: float) -> torch.Tensor:
        """``(N, 1, ny, nx)`` encoder output -> ``(N, nlayers, ny, nx)`` PV ``q``."""
        return ssh_to_qg_state(scale * z[:, 0], self.model, g=self.g, loc="center")[1]

    def observe(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, nlayers, ny, nx)`` ``q`` -> ``(N, ny, nx)`` SSH [m] at the centres."""
        return qg_state_to_ssh(x, self.model, g=self.g, loc="center")

    def hidden_penalty(self, z: torch.Tensor) -> torch.Tensor:
        """0: the QG state is a function of SSH (nothing hidden to regularise)."""
        return z.new_zeros(())


class DirectStateMap:
    """A state whose channel 0 is SSH [m] and channels ``1..C-1`` are hidden (shallow water's
    ``u, v`` [m/s] on the C-grid, or latent channels of the purely neural dynamics).

    ``X_0 = s z_0``, ``X_c = hidden_scale z_c`` (c >= 1); ``H(X) = X_0`` (SSH at the centres: SW's
    ``eta`` is a centre field); ``R(z) = mean_{c>=1} z_c^2`` (module docstring).
    """

    def __init__(self, channels: int, hidden_scale: float = 0.1) -> None:
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1 (SSH first), got {channels!r}")
        if not hidden_scale > 0:
            raise ValueError(f"hidden_scale must be > 0 (units of the hidden channels), got {hidden_scale}")
        self.channels, self.hidden_scale = channels, float(hidden_scale)

    def to_state(self, z: torch.Tensor, scale: float) -> torch.Tensor:
        """``(N, C, ny, nx)`` encoder output -> state ``(N, C, ny, nx)`` (SSH [m], hidden units)."""
        return torch.cat([scale * z[:, :1], self.hidden_scale * z[:, 1:]], dim=1)

    def observe(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, ny, nx)`` state -> ``(N, ny, nx)`` SSH [m] (channel 0)."""
        return x[:, 0]

    def hidden_penalty(self, z: torch.Tensor) -> torch.Tensor:
        """``R(z) = mean z_{c>=1}^2`` (dimensionless; 0 with a single channel)."""
        return (z[:, 1:] ** 2).mean() if z.shape[1] > 1 else z.new_zeros(())


class BalancedStateMap(DirectStateMap):
    """Shallow-water state ``(eta, u, v)`` whose velocities start from geostrophic balance.

    ``eta = s z_0`` [m] (centres), ``u = (u_g(eta) + h z_1) m_u``, ``v = (v_g(eta) + h z_2) m_v``
    [m/s] on the C-grid faces, with ``(u_g, v_g) = (-(g/f) d eta/dy, (g/f) d eta/dx)``
    (:func:`physics.geostrophy.geostrophic_velocities` at the u/v points; ``g`` the model's own,
    read at every call so a learned ``g`` is followed, as a constant of the balance), ``h`` the ``hidden_scale`` [m/s] and
    ``m_u, m_v`` the model's face masks (walls). The encoder's hidden channels are thus the
    *ageostrophic* departure, and ``R(z) = mean z_{1,2}^2`` penalises the departure from balance
    (the mesoscale Rossby number is small, so balance is the prior of the hidden velocities --
    the same balanced control as the shallow-water 4D-Var adapter). ``H(X) = eta``.
    """

    def __init__(self, model: nn.Module, hidden_scale: float = 0.1) -> None:
        super().__init__(3, hidden_scale)
        if tuple(getattr(model, "CHANNELS", ())) != ("eta", "u", "v") or not hasattr(model, "grid"):
            raise TypeError(f"model must be a shallow-water model with CHANNELS (eta, u, v), got {type(model).__name__}")
        if model.grid.f0 == 0.0 and model.grid.beta == 0.0:
            raise ValueError("model: geostrophic balance needs a Coriolis parameter (grid f0 = beta = 0)")
        self.model = model

    def to_state(self, z: torch.Tensor, scale: float) -> torch.Tensor:
        """``(N, 3, ny, nx)`` encoder output -> ``(N, 3, ny, nx)`` state ``(eta, u, v)``."""
        m, h = self.model, self.hidden_scale
        eta = scale * z[:, 0]
        ug, vg = geostrophic_velocities(eta, m.grid, g=float(m.params["g"].value), at="uv")
        u = (ug + h * z[:, 1]) * m.mask_u.to(eta)
        v = (vg + h * z[:, 2]) * m.mask_v.to(eta)
        return torch.stack([eta, u, v], dim=1)


def state_map_for(physics, channels: int, balance: bool, hidden_scale: float, g: float) -> tuple:
    """``(state map, state channels)`` of the learned estimator's ``physics``: a QG model's
    :class:`QGStateMap` (gravity ``g`` [m/s^2]; its ``nlayers`` channels); shallow water
    ``(eta, u, v)`` with ``balance``: :class:`BalancedStateMap`; otherwise a :class:`DirectStateMap`
    of the model's ``CHANNELS`` (``channels`` for ``physics=None``)."""
    if isinstance(physics, QG):
        return QGStateMap(physics, g=g), physics.nlayers
    n = channels if physics is None else len(getattr(physics, "CHANNELS", ()))
    if n < 1:
        raise ValueError("physics must define CHANNELS (SSH first) when it is not a QG model")
    sw = tuple(getattr(physics, "CHANNELS", ()))[:3] == ("eta", "u", "v") and hasattr(physics, "grid")
    return (BalancedStateMap(physics, hidden_scale) if balance and sw and n == 3 else DirectStateMap(n, hidden_scale)), n


@torch.no_grad()
def ensemble_forecasts(trainer, x: torch.Tensor, dt: float, members: int) -> torch.Tensor:
    """``(T, M, C, ny, nx)``: the forecasts ``Phi_{j dt}(x[k])``, ``j = 0 .. M - 1`` (``M =
    min(members, T)``, ``dt`` [s] the frame spacing) of every state ``x[k]`` by the trainer's dynamics."""
    M = min(members, x.shape[0])
    t = dt * torch.arange(M, dtype=x.dtype, device=x.device)
    return torch.cat([trainer.forecast(x[i:i + 16], t, grad=False) for i in range(0, x.shape[0], 16)])


def ensemble_mean(trainer, x: torch.Tensor, dt: float, members: int) -> torch.Tensor:
    """``(T, C, ny, nx)``: at each output time ``k`` the mean of the state ``x[k]`` and the
    forecasts ``Phi_{j dt}(x[k - j])``, ``j = 1 .. M - 1`` with ``k - j >= 0`` (``M = members``,
    ``dt`` [s] the frame spacing) by the trainer's dynamics; ``x`` itself for ``M = 1``."""
    M = min(members, x.shape[0])
    if M == 1:
        return x
    fc = ensemble_forecasts(trainer, x, dt, M)  # (T, M, C, ...)
    out, count = torch.zeros_like(x), torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for j in range(M):
        out[j:] += fc[: x.shape[0] - j, j]
        count[j:] += 1
    return out / count.view(-1, 1, 1, 1)


@dataclass
class ObservationWindows:
    """``N`` training samples (windows) of gridded observations on a common time grid.

    Attributes:
        features: ``(N, 3 W, ny, nx)`` encoder input (:func:`~.encoder.window_features`).
        target: ``(N, K, ny, nx)`` observed SSH [m] of the horizon frames, 0 in gaps.
        mask: ``(N, K, ny, nx)`` 1.0 observed, 0.0 gap.
        t: ``(K,)`` forecast times [s] from the window end (``t[0] = 0``).
    """

    features: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    t: torch.Tensor

    def __len__(self) -> int:
        """``N``, the number of windows."""
        return self.features.shape[0]

    def subset(self, index) -> "ObservationWindows":
        """The windows selected by ``index`` (slice, list or tensor of indices)."""
        return ObservationWindows(self.features[index], self.target[index], self.mask[index], self.t)

    def to(self, device=None, dtype=None) -> "ObservationWindows":
        """Move/cast every tensor."""
        return ObservationWindows(*(a.to(device=device, dtype=dtype) for a in (self.features, self.target, self.mask, self.t)))


def build_windows(
    inputs: xr.Dataset, targets: xr.Dataset, window: int, horizon: int, dt: float, scale: float,
    ends: Optional[np.ndarray] = None, lookahead: int = 0, first_guess: Optional[torch.Tensor] = None,
) -> ObservationWindows:
    """Windows whose encoder input comes from ``inputs`` and targets from ``targets`` (two gridded
    views on the same times and grid: the same one for training, the training view and a
    held-out platform's for validation).

    The state of sample ``k`` is at frame ``k`` (its forecast targets are frames ``k .. k+K-1``);
    the encoder reads the ``W`` frames ``k + F - W + 1 .. k + F`` with ``F = lookahead``
    (``0 <= F < W``): ``F = 0`` is the paper's window ending at the state time; ``F > 0`` also
    reads ``F`` later frames (a smoother, like OI's and 4D-Var's two-sided windows), with ages
    ``(t_k - t_j) / (W dt)`` negative for them. ``ends``: the state frames ``k`` (default every
    ``k`` whose window and horizon lie in the record); frames outside the record are empty (mask 0).
    ``first_guess``: ``(T, ny, nx)`` SSH [m] of a first-guess estimator at the frames (computed
    from ``inputs`` only, :mod:`.learned_first_guess`): sample ``k`` gets ``first_guess[k] / s``
    as one more, last, feature channel.
    """
    if not isinstance(lookahead, int) or not 0 <= lookahead < window:
        raise ValueError(f"lookahead must be an int in [0, window={window}), got {lookahead!r}")
    v_in, m_in = gridded_frames(inputs)
    v_out, m_out = gridded_frames(targets)
    if v_in.shape != v_out.shape:
        raise ValueError(f"inputs and targets must be gridded on the same times and grid, got {tuple(v_in.shape)} and {tuple(v_out.shape)}")
    T = v_in.shape[0]
    if T < horizon:
        raise ValueError(f"the record has {T} frames, fewer than horizon={horizon}")
    before, after = window - 1 - lookahead, lookahead
    if ends is None:
        ends = np.arange(before, T - max(horizon, lookahead + 1) + 1)
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size == 0:
        raise ValueError(f"the record ({T} frames) is shorter than window + horizon - 1 = {window + horizon - 1}")
    if ends.min() < 0 or ends.max() > T - 1:
        raise ValueError(f"ends must be frame indices in [0, {T - 1}]")
    shape = tuple(v_in.shape[1:])
    z0, z1 = torch.zeros((before,) + shape, dtype=torch.float64), torch.zeros((after,) + shape, dtype=torch.float64)
    vp, mp = torch.cat([z0, v_in, z1]), torch.cat([z0, m_in, z1])
    idx = torch.as_tensor(ends)[:, None] + torch.arange(window)[None, :]  # padded index of frame k-before+j
    ages = (before - torch.arange(window, dtype=torch.float64)) / window
    feats = window_features(vp[idx], mp[idx], ages, scale)
    if first_guess is not None:
        if tuple(first_guess.shape) != tuple(v_in.shape):
            raise ValueError(f"first_guess must be (T, ny, nx) = {tuple(v_in.shape)} like the inputs, got {tuple(first_guess.shape)}")
        fg = first_guess.to(torch.float64)[torch.as_tensor(ends)] / scale
        feats = torch.cat([feats, fg[:, None]], dim=1)
    out = torch.as_tensor(ends)[:, None] + torch.arange(horizon)[None, :]
    if int(out.max()) > T - 1:  # estimation windows near the record's end: targets beyond it are empty
        pad = int(out.max()) - T + 1
        v_out = torch.cat([v_out, torch.zeros((pad,) + shape, dtype=torch.float64)])
        m_out = torch.cat([m_out, torch.zeros((pad,) + shape, dtype=torch.float64)])
    return ObservationWindows(feats, v_out[out], m_out[out], dt * torch.arange(horizon, dtype=torch.float64))


class ObservationTask:
    """The trainer task (:class:`hybridocean.training.trainer.TrajectoryTask` interface) of the
    observation-only loss (module docstring).

    Args:
        encoder: the :class:`~.encoder.WindowEncoder` (trained with the model: ``module``).
        state_map: :class:`QGStateMap` or :class:`DirectStateMap`.
        scale: ``s`` [m].
        hidden_weight: ``w_h`` >= 0.
    """

    def __init__(self, encoder: nn.Module, state_map, scale: float, hidden_weight: float = 0.0) -> None:
        if not hidden_weight >= 0:
            raise ValueError(f"hidden_weight must be >= 0, got {hidden_weight}")
        self.module, self.state_map, self.scale, self.hidden_weight = encoder, state_map, float(scale), float(hidden_weight)

    def prepare(self, trainer, data: ObservationWindows, name: str) -> ObservationWindows:
        """``data`` checked and moved to the trainer's device/dtype (``TypeError`` naming ``name``)."""
        if not isinstance(data, ObservationWindows):
            raise TypeError(f"{name} must be an ObservationWindows, got {type(data).__name__}")
        return data.to(device=trainer.device, dtype=trainer.dtype)

    def forecast(self, trainer, batch: ObservationWindows, grad: bool = True) -> tuple:
        """``(z, states (N, K, C, ny, nx), ssh (N, K, ny, nx))`` of the batch."""
        z = self.module(batch.features)
        if not bool(torch.isfinite(z).all()):
            raise FloatingPointError("the encoder returned a non-finite state")
        x0 = self.state_map.to_state(z, self.scale)
        states = trainer.forecast(x0, batch.t, grad=grad)
        ssh = self.state_map.observe(states.flatten(0, 1)).view(batch.target.shape)
        return z, states, ssh

    def misfit(self, ssh: torch.Tensor, batch: ObservationWindows) -> torch.Tensor:
        """``sum m (ssh - y)^2 / (s^2 sum m)`` (dimensionless; gaps never read)."""
        seen = batch.mask > 0
        r = torch.where(seen, ssh - batch.target, torch.zeros_like(ssh))
        return (r**2).sum() / (self.scale**2 * seen.sum().clamp(min=1))

    def terms(self, trainer, batch: ObservationWindows) -> tuple:
        """``(L_traj, mean ||F_a||^2)`` with gradient (module docstring)."""
        z, states, ssh = self.forecast(trainer, batch)
        l_traj = self.misfit(ssh, batch) + self.hidden_weight * self.state_map.hidden_penalty(z)
        fa2 = augmentation_norm2(trainer.model, states.detach(), relative=trainer.config.fa_norm == "relative")
        return l_traj, fa2

    @torch.no_grad()
    def data_loss(self, trainer, batch: ObservationWindows) -> float:
        """``L_traj`` of the batch without gradient (the multiplier update)."""
        z, _, ssh = self.forecast(trainer, batch, grad=False)
        return float(self.misfit(ssh, batch) + self.hidden_weight * self.state_map.hidden_penalty(z))

    @torch.no_grad()
    def validation_loss(self, trainer, data: ObservationWindows) -> float:
        """Masked misfit of the held-out observations over all windows (model selection)."""
        se, n = 0.0, 0.0
        for k in range(0, len(data), trainer.config.eval_batch_size):
            b = data.subset(slice(k, k + trainer.config.eval_batch_size))
            try:
                _, _, ssh = self.forecast(trainer, b, grad=False)
            except FloatingPointError:
                return float("nan")  # a non-finite model is no candidate (the trainer skips NaN)
            w = float((b.mask > 0).sum())
            se += float(self.misfit(ssh, b)) * w
            n += w
        return se / n if n > 0 else float("nan")


__all__ = ["augmentation_field", "state_map_for", "ensemble_forecasts", "ensemble_mean", "ObservationWindows", "ObservationTask", "QGStateMap", "DirectStateMap", "BalancedStateMap", "ScaledField",
           "build_windows", "gridded_frames", "gridded_view", "frame_spacing"]
