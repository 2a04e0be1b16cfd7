"""The learned estimator of Ayed et al., trained through observed SSH only.

Ayed, de Bézenac, Pajot, Brajard, Gallinari, "Learning dynamical systems from partial
observations" (arXiv:1902.11136, 2019; ICASSP 2020), with APHYNITY dynamics (Yin, Le Guen et al.,
ICLR 2021):

* an encoder (:class:`~.encoder.WindowEncoder`) maps a window of ``W`` gridded observation frames
  (values, mask, observation age) to the state ``X`` at the window's end;
* the dynamics ``dX/dt = F_p(X; theta_p) + F_a(X; theta_a)`` (:class:`~hybridocean.hybrid.HybridModel`:
  ``F_p`` a library model -- 1.5-layer :class:`~physics.qg.QG`, shallow water -- or ``None``, the
  paper's purely neural dynamics; ``F_a`` a :class:`~hybridocean.networks.ConvResNet`, zero at the
  start) forecast it over ``K`` frames with :func:`hybridocean.integrate.odeint`;
* the loss reads only observed SSH (:mod:`.obs_training`, which also documents the regularisation
  of the hidden components); ``||F_a||`` is minimised under APHYNITY's adaptive multiplier by the
  reused :class:`~hybridocean.training.AphynityTrainer` (checkpoints, exact resume, NaN stops,
  validation-based model selection, progress bar).

Training data: a long record of observations (no truth) binned on ``times`` (regular spacing
``dt``). Model selection: held-out observations -- a platform left out on the same times (encoded
from the training observations, scored on the held-out ones), or held-out days (``val_times``:
encoded and scored on ``val_obs``) -- never the truth.

Estimation (``map_ssh``): at each output time (spaced by the training ``dt``), the encoder's SSH of
the window ending there; currents: geostrophic from that SSH (the QG state's own balance; for the
:class:`~.obs_training.DirectStateMap` states, the hidden velocities are not output yet).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import numpy as np
import torch
import xarray as xr
from torch import nn

from hybridocean.hybrid import HybridModel
from hybridocean.networks import ConvResNet
from hybridocean.observations import Observations, grid_from_dataset, to_gridded
from hybridocean.observations.core import seconds_since
from hybridocean.training import AphynityConfig, AphynityTrainer, History, IntegratorConfig
from physics.grid import Grid
from physics.qg import QG

from .base import EstimationInputs, Estimator, _as_times
from .encoder import WindowEncoder
from .obs_training import DirectStateMap, ObservationTask, QGStateMap, ScaledField, build_windows, gridded_frames

ObsLike = Union[Observations, xr.Dataset]


def default_config(dt: float, steps_per_frame: int = 2, **kw: Any) -> AphynityConfig:
    """An :class:`AphynityConfig` for observation training: RK4 with ``dt / steps_per_frame`` steps
    [s], float64; ``kw`` override any field."""
    base = dict(tau1=3e-3, tau2=1.0, lambda0=1.0, batch_size=8, iterations=100,
                integrator=IntegratorConfig(method="rk4", step_size=dt / steps_per_frame))
    base.update(kw)
    return AphynityConfig(**base)


class LearnedEstimator(Estimator):
    """Encoder + hybrid dynamics trained on observed SSH only (module docstring).

    Args:
        physics: ``F_p``: a :class:`~physics.qg.QG` model (state ``q``, :class:`QGStateMap`), any
            other model with ``CHANNELS`` whose channel 0 is SSH (e.g. shallow water ``(eta, u, v)``,
            :class:`DirectStateMap`), or ``None`` (purely neural dynamics on ``channels`` channels).
        window: ``W`` frames in the encoder's window.
        horizon: ``K`` frames forecast (the window end included).
        augment: use ``F_a`` (False: physics only, the encoder alone is learned).
        channels: state channels of the neural-only variant (SSH first).
        hidden, layers: widths of the encoder's and ``F_a``'s ConvResNets.
        hidden_weight: ``w_h`` of the hidden-component regulariser (:mod:`.obs_training`).
        hidden_scale: units of the hidden channels of a :class:`DirectStateMap` state (m/s for SW).
        seed: initialisation of the networks.
    """

    method = "learned"
    velocity_kind = "geostrophic"

    def __init__(
        self,
        physics: Optional[nn.Module],
        window: int = 4,
        horizon: int = 4,
        augment: bool = True,
        channels: int = 3,
        hidden: int = 16,
        layers: int = 2,
        hidden_weight: float = 1e-2,
        hidden_scale: float = 0.1,
        seed: int = 0,
    ) -> None:
        for name, v, lo in (("window", window, 1), ("horizon", horizon, 1), ("seed", seed, 0)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if physics is not None and not isinstance(physics, nn.Module):
            raise TypeError(f"physics must be an nn.Module or None, got {type(physics).__name__}")
        if physics is None and not augment:
            raise ValueError("augment=False needs a physics model (physics=None leaves no dynamics)")
        self.physics, self.window, self.horizon, self.augment = physics, window, horizon, bool(augment)
        self.hidden, self.layers, self.hidden_weight, self.seed = hidden, layers, float(hidden_weight), seed
        if isinstance(physics, QG):
            self.state_map = QGStateMap(physics, g=self.g)
            self.state_channels = physics.nlayers
        else:
            n = channels if physics is None else len(getattr(physics, "CHANNELS", ()))
            if n < 1:
                raise ValueError("physics must define CHANNELS (SSH first) when it is not a QG model")
            self.state_map = DirectStateMap(n, hidden_scale)
            self.state_channels = n
        self.encoder: Optional[WindowEncoder] = None
        self.model: Optional[HybridModel] = None
        self.trainer: Optional[AphynityTrainer] = None
        self.scale: Optional[float] = None
        self.dt: Optional[float] = None

    # ------------------------------------------------------------------ data
    @staticmethod
    def _gridded(obs: ObsLike, grid: Optional[Grid], times: Any, name: str) -> tuple:
        """``(gridded view, grid, times datetime64)``: binned ``Observations`` or a gridded Dataset."""
        if isinstance(obs, Observations):
            if grid is None or times is None:
                raise ValueError(f"{name}: grid and times are required with an Observations point cloud")
            t = _as_times(times)
            return to_gridded(obs, grid, t), grid, t
        if isinstance(obs, xr.Dataset):
            if "ssh" not in obs or "time" not in obs.dims:
                raise ValueError(f"{name} must be a gridded view (to_gridded) with 'ssh' on (time, y, x)")
            t = _as_times(obs["time"].values)
            if times is not None and not np.array_equal(_as_times(times), t):
                raise ValueError(f"{name}: the gridded view's times differ from the times given")
            return obs, (grid_from_dataset(obs) if grid is None else grid), t
        raise TypeError(f"{name} must be Observations or a gridded Dataset, got {type(obs).__name__}")

    @staticmethod
    def _spacing(t: np.ndarray, name: str) -> float:
        s = np.diff(seconds_since(t, t[0]))
        if s.size == 0 or not np.allclose(s, s[0], rtol=1e-6):
            raise ValueError(f"{name} must be at least 2 regularly spaced times, got spacings {np.unique(s)[:4]} s")
        return float(s[0])

    def _build(self, grid: Grid, dt: float, scale: float) -> None:
        torch.manual_seed(self.seed)
        self.encoder = WindowEncoder(self.window, self.state_map.channels, self.hidden, self.layers, grid.boundary)
        net = None
        if self.augment:
            # scale of each state channel: that of a unit field of wavelength 8 cells (eddy scale)
            j, i = torch.meshgrid(torch.arange(grid.ny), torch.arange(grid.nx), indexing="ij")
            z = (torch.sin(2 * torch.pi * i / 8) * torch.sin(2 * torch.pi * j / 8)).to(torch.float64)
            z = z.expand(1, self.state_map.channels, grid.ny, grid.nx)
            with torch.no_grad():
                x = self.state_map.to_state(z, scale)
            a = x.pow(2).mean(dim=(0, 2, 3)).sqrt().clamp(min=torch.finfo(torch.float64).tiny)
            cnn = ConvResNet(self.state_channels, self.hidden, self.layers, grid.boundary, zero_output=True)
            net = ScaledField(cnn, a, dt)
        self.model = HybridModel(self.physics, net)

    # ------------------------------------------------------------------ training
    def fit(
        self,
        obs_train: ObsLike,
        grid: Optional[Grid] = None,
        times: Any = None,
        val_obs: Optional[ObsLike] = None,
        val_times: Any = None,
        config: Optional[AphynityConfig] = None,
        resume: Optional[Union[str, Path]] = None,
        callback: Optional[Callable[[int, dict], None]] = None,
    ) -> "LearnedEstimator":
        """Train encoder and dynamics on ``obs_train`` binned on ``times`` (regular, spacing ``dt``).

        Args:
            obs_train: observations, or their gridded view (only ``ssh`` and ``mask`` are read).
            grid: the grid (default the gridded view's); times: ``(T,)`` frame times.
            val_obs: held-out observations for model selection. Without ``val_times``: on the
                same frames (a platform left out; encoded from ``obs_train``, scored on
                ``val_obs``); with ``val_times``: held-out days (encoded and scored on ``val_obs``).
            config: :class:`AphynityConfig` (default :func:`default_config`; ``min_norm=False``
                without physics: the purely neural dynamics has no ``F_p`` to defer to).
            resume: a checkpoint to continue from (exact resume).
            callback: ``callback(iteration, record)`` after every outer iteration (the trainer's).
        Returns ``self``; the trainer's history is :attr:`history`.
        """
        train, grid, t = self._gridded(obs_train, grid, times, "obs_train")
        dt = self._spacing(t, "times")
        values, mask = gridded_frames(train)
        seen = mask > 0
        if not bool(seen.any()):
            raise ValueError("obs_train: no observed cell")
        scale = float(values[seen].std())
        if not scale > 0:
            raise ValueError("obs_train: the observed SSH has no variance (scale would be 0)")
        config = default_config(dt, min_norm=self.physics is not None) if config is None else config
        if not isinstance(config, AphynityConfig):
            raise TypeError(f"config must be an AphynityConfig, got {type(config).__name__}")
        self.scale, self.dt, self.grid = scale, dt, grid
        self._build(grid, dt, scale)
        data = build_windows(train, train, self.window, self.horizon, dt, scale)
        val = None
        if val_obs is not None:
            if val_times is None:
                held, _, _ = self._gridded(val_obs, grid, t, "val_obs")
                val = build_windows(train, held, self.window, self.horizon, dt, scale)
            else:
                held, _, tv = self._gridded(val_obs, grid, val_times, "val_obs")
                if np.intersect1d(tv, t).size:
                    raise ValueError("val_times must not overlap the training times (held-out days)")
                if abs(self._spacing(tv, "val_times") - dt) > 1e-6 * dt:
                    raise ValueError("val_times must have the spacing of times")
                val = build_windows(held, held, self.window, self.horizon, dt, scale)
        task = ObservationTask(self.encoder, self.state_map, scale, self.hidden_weight)
        self.trainer = AphynityTrainer(self.model, config, task=task)
        self.trainer.fit(data, val, resume=resume, callback=callback)
        return self

    @property
    def history(self) -> History:
        """The training :class:`~hybridocean.training.History`."""
        self._require_fit()
        return self.trainer.history

    def _require_fit(self) -> None:
        if self.trainer is None:
            raise RuntimeError("LearnedEstimator is not trained: call fit first")

    def misfit(self, obs: ObsLike, times: Any = None, inputs: Optional[ObsLike] = None) -> float:
        """Masked dimensionless misfit ``sum m (H(X) - y)^2 / (s^2 sum m)`` of ``obs`` over the
        forecast windows, encoded from ``inputs`` (default ``obs`` itself) on the same frames."""
        self._require_fit()
        target, _, t = self._gridded(obs, self.grid, times, "obs")
        src = target if inputs is None else self._gridded(inputs, self.grid, t, "inputs")[0]
        data = build_windows(src, target, self.window, self.horizon, self._spacing(t, "times"), self.scale)
        return self.trainer.task.validation_loss(self.trainer, self.trainer.task.prepare(self.trainer, data, "obs"))

    # ------------------------------------------------------------------ estimation
    def parameters(self) -> Dict[str, Any]:
        p = {**super().parameters(), "physics": type(self.physics).__name__ if self.physics is not None else "none",
             "window": self.window, "horizon": self.horizon, "augment": self.augment,
             "hidden_weight": self.hidden_weight, "seed": self.seed}
        if self.dt is not None:
            p.update(dt_s=self.dt, ssh_scale_m=self.scale)
        return p

    @torch.no_grad()
    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        """SSH ``(T, ny, nx)`` [m]: the encoded state's SSH at each output time (window ending there)."""
        self._require_fit()
        if inputs.times.size > 1 and abs(self._spacing(inputs.times, "times") - self.dt) > 1e-6 * self.dt:
            raise ValueError(f"times must be spaced by the training dt = {self.dt} s")
        if inputs.times.size == 1:
            raise ValueError("times: the learned estimator needs at least 2 output times (spaced by dt)")
        g = to_gridded(inputs.obs, inputs.grid, inputs.times)
        T = inputs.times.size
        data = build_windows(g, g, self.window, 1, self.dt, self.scale, ends=np.arange(T))
        tr = self.trainer
        z = self.encoder(data.features.to(device=tr.device, dtype=tr.dtype))
        ssh = self.state_map.observe(self.state_map.to_state(z, self.scale))
        return ssh.to(torch.float64).cpu()


__all__ = ["LearnedEstimator", "default_config"]
