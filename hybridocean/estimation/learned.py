"""The learned estimator of Ayed et al., trained through observed SSH only.

Ayed, de Bézenac, Pajot, Brajard, Gallinari, "Learning dynamical systems from partial
observations" (arXiv:1902.11136, 2019; ICASSP 2020), with APHYNITY dynamics (Yin, Le Guen et al.,
ICLR 2021):

* an encoder (:class:`~.encoder.WindowEncoder`) maps a window of ``W`` gridded observation frames
  (values, mask, observation age) to the state ``X`` at the window's end -- or ``lookahead``
  frames before it (a two-sided window, as OI's and 4D-Var's); optionally from a normalised-
  convolution first guess that the network corrects (``prior_sigmas``), with dilated blocks;
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

Estimation (``estimate``): at each output time (spaced by the training ``dt``), the encoder's
state of its window (with ``ensemble = M``: averaged with the forecasts of the ``M - 1``
previous states by the trained dynamics); SSH is its observed part, the currents its own velocities: the
shallow-water state's ``u, v`` (hidden, never observed: inferred by the encoder so that the
dynamics forecast the later SSH; ``velocity_kind="total"``), the QG state's geostrophic
``-dpsi/dy, dpsi/dx``, or -- neural-only dynamics, whose hidden channels are latent -- the
geostrophic currents of the encoded SSH. All averaged from the C-grid faces to the centres.

Persistence: :meth:`LearnedEstimator.save` / :meth:`LearnedEstimator.load` /
:meth:`LearnedEstimator.read_metadata` (:mod:`.learned_io`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import xarray as xr
from torch import nn

from hybridocean.hybrid import HybridModel
from hybridocean.networks import ConvResNet
from hybridocean.observations import Observations, to_gridded
from hybridocean.training import AphynityConfig, AphynityTrainer, History, IntegratorConfig
from physics.grid import Grid
from physics.operators import velocity_from_psi
from physics.qg import QG

from .base import EstimationInputs, Estimator, estimate_dataset, prepare_inputs
from .encoder import WindowEncoder
from .fourdvar_models import faces_to_centres
from .learned_io import load_estimator, read_metadata, save_estimator
from .learned_report import dynamics_report
from .obs_training import (BalancedStateMap, DirectStateMap, ObservationTask, QGStateMap, ScaledField, build_windows,
                           frame_spacing, gridded_frames, gridded_view)

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
        balance: shallow-water physics: the velocities are the geostrophic ones of the encoded SSH
            plus the encoder's ageostrophic part (:class:`~.obs_training.BalancedStateMap`);
            False: the encoder outputs the velocities directly (:class:`DirectStateMap`).
        lookahead: ``F`` frames after the state time also read by the encoder (0: the paper's
            window ending at the state time; :func:`~.obs_training.build_windows`); default
            ``W // 2``, a centred window.
        dilations: one dilation per encoder block (wider receptive field; default all 1).
        ensemble: ``M`` states averaged per output time (:meth:`encode`; 1: the encoder's alone).
        prior_sigmas: lengths [cells] of the encoder's normalised-convolution first guess
            (:class:`~.encoder.NormalizedConvolution`; ``None``: none, the paper's encoder).
    """

    method = "learned"
    velocity_kind = "geostrophic"

    def __init__(
        self,
        physics: Optional[nn.Module],
        window: int = 8,
        horizon: int = 4,
        augment: bool = True,
        channels: int = 3,
        hidden: int = 16,
        layers: int = 2,
        hidden_weight: float = 1e-2,
        hidden_scale: float = 0.1,
        seed: int = 0,
        balance: bool = True,
        lookahead: Optional[int] = None,
        dilations: Optional[Sequence[int]] = None,
        ensemble: int = 1,
        prior_sigmas: Optional[Sequence[float]] = (1.5, 3.0),
    ) -> None:
        lookahead = window // 2 if lookahead is None and isinstance(window, int) else lookahead
        for name, v, lo in (("window", window, 1), ("horizon", horizon, 1), ("seed", seed, 0),
                            ("lookahead", lookahead, 0), ("ensemble", ensemble, 1)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if lookahead >= window:
            raise ValueError(f"lookahead must be < window = {window} (frames after the state time), got {lookahead}")
        if dilations is not None:
            dilations = [int(d) for d in dilations]
        self.lookahead, self.dilations, self.ensemble = lookahead, dilations, ensemble
        self.prior_sigmas = None if prior_sigmas is None else [float(x) for x in prior_sigmas]
        if physics is not None and not isinstance(physics, nn.Module):
            raise TypeError(f"physics must be an nn.Module or None, got {type(physics).__name__}")
        if physics is None and not augment:
            raise ValueError("augment=False needs a physics model (physics=None leaves no dynamics)")
        self.physics, self.window, self.horizon, self.augment = physics, window, horizon, bool(augment)
        self.hidden, self.layers, self.hidden_weight, self.seed = hidden, layers, float(hidden_weight), seed
        #: the constructor arguments but ``physics`` (stored by :meth:`save`)
        self.init_args: Dict[str, Any] = dict(window=window, horizon=horizon, augment=bool(augment), channels=channels,
                                              hidden=hidden, layers=layers, hidden_weight=float(hidden_weight),
                                              hidden_scale=float(hidden_scale), seed=seed, balance=bool(balance),
                                              lookahead=lookahead, dilations=dilations, ensemble=ensemble,
                                              prior_sigmas=self.prior_sigmas)
        #: the caller's metadata of a loaded estimator (:meth:`load`)
        self.metadata: Dict[str, Any] = {}
        if isinstance(physics, QG):
            self.state_map = QGStateMap(physics, g=self.g)
            self.state_channels = physics.nlayers
        else:
            n = channels if physics is None else len(getattr(physics, "CHANNELS", ()))
            if n < 1:
                raise ValueError("physics must define CHANNELS (SSH first) when it is not a QG model")
            sw = tuple(getattr(physics, "CHANNELS", ()))[:3] == ("eta", "u", "v") and hasattr(physics, "grid")
            if balance and sw and n == 3:
                self.state_map = BalancedStateMap(physics, hidden_scale)
            else:
                self.state_map = DirectStateMap(n, hidden_scale)
            self.state_channels = n
        # the state's own velocities: shallow water's (eta, u, v) and the QG streamfunction's
        self.state_velocities = isinstance(physics, QG) or tuple(getattr(physics, "CHANNELS", ()))[:3] == ("eta", "u", "v")
        self.velocity_kind = "total" if self.state_velocities and not isinstance(physics, QG) else "geostrophic"
        self.encoder: Optional[WindowEncoder] = None
        self.model: Optional[HybridModel] = None
        self.trainer: Optional[AphynityTrainer] = None
        self.scale: Optional[float] = None
        self.dt: Optional[float] = None
        self.grid: Optional[Grid] = None
        self._train_windows = None

    def _build(self, grid: Grid, dt: float, scale: float) -> None:
        torch.manual_seed(self.seed)
        self.encoder = WindowEncoder(self.window, self.state_map.channels, self.hidden, self.layers, grid.boundary,
                                     dilations=self.dilations, prior_sigmas=self.prior_sigmas)
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
        train, grid, t = gridded_view(obs_train, grid, times, "obs_train")
        dt = frame_spacing(t, "times")
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
        data = build_windows(train, train, self.window, self.horizon, dt, scale, lookahead=self.lookahead)
        self._train_windows = data
        val = None
        if val_obs is not None:
            if val_times is None:
                held, _, _ = gridded_view(val_obs, grid, t, "val_obs")
                val = build_windows(train, held, self.window, self.horizon, dt, scale, lookahead=self.lookahead)
            else:
                held, _, tv = gridded_view(val_obs, grid, val_times, "val_obs")
                if np.intersect1d(tv, t).size:
                    raise ValueError("val_times must not overlap the training times (held-out days)")
                if abs(frame_spacing(tv, "val_times") - dt) > 1e-6 * dt:
                    raise ValueError("val_times must have the spacing of times")
                val = build_windows(held, held, self.window, self.horizon, dt, scale, lookahead=self.lookahead)
        self.trainer = AphynityTrainer(self.model, config, task=self._task())
        self.trainer.fit(data, val, resume=resume, callback=callback)
        return self

    @property
    def history(self) -> History:
        """The training :class:`~hybridocean.training.History`."""
        self._require_fit()
        return self.trainer.history

    def _task(self) -> ObservationTask:
        return ObservationTask(self.encoder, self.state_map, self.scale, self.hidden_weight)

    def _require_fit(self) -> None:
        if self.trainer is None:
            raise RuntimeError("LearnedEstimator is not trained: call fit first (or load a saved one)")

    # ------------------------------------------------------------------ persistence
    def save(self, path: Union[str, Path], metadata: Optional[Dict[str, Any]] = None) -> Path:
        """Write the trained estimator to ``path`` atomically, with the caller's JSON-like
        ``metadata`` (:func:`~.learned_io.save_estimator`: arguments, grid, dt, scale, networks,
        learned physical parameters, history). Returns the path."""
        return save_estimator(self, path, metadata)

    @classmethod
    def load(cls, path: Union[str, Path], physics: Optional[nn.Module] = None) -> "LearnedEstimator":
        """The estimator saved at ``path``, on ``physics`` (rebuilt by the caller: same class,
        channels, grid and fixed parameters, see :meth:`read_metadata`; ``None`` for the neural
        dynamics). Estimates bit-identically to the saved one. ``ValueError`` naming ``path`` or
        ``physics`` (:func:`~.learned_io.load_estimator`)."""
        return load_estimator(cls, path, physics)

    @staticmethod
    def read_metadata(path: Union[str, Path]) -> Dict[str, Any]:
        """The saved estimator's metadata (:func:`~.learned_io.read_metadata`): ``physics``
        (class, module, grid, parameters), ``grid``, ``grid_attrs``, ``dt_s``, ``ssh_scale_m``,
        ``args``, ``history_summary``, the caller's ``metadata``."""
        return read_metadata(path)

    def misfit(self, obs: ObsLike, times: Any = None, inputs: Optional[ObsLike] = None) -> float:
        """Masked dimensionless misfit ``sum m (H(X) - y)^2 / (s^2 sum m)`` of ``obs`` over the
        forecast windows, encoded from ``inputs`` (default ``obs`` itself) on the same frames."""
        self._require_fit()
        target, _, t = gridded_view(obs, self.grid, times, "obs")
        src = target if inputs is None else gridded_view(inputs, self.grid, t, "inputs")[0]
        data = build_windows(src, target, self.window, self.horizon, frame_spacing(t, "times"), self.scale,
                             lookahead=self.lookahead)
        return self.trainer.task.validation_loss(self.trainer, self.trainer.task.prepare(self.trainer, data, "obs"))

    def dynamics_report(self, obs: Optional[ObsLike] = None, times: Any = None) -> Dict[str, Any]:
        """``|F_a|`` vs ``|F_p|`` (RMS per state channel over the forecast states) and the learned
        physical parameters (:func:`~.learned_report.dynamics_report`), over the windows of
        ``obs`` (default: the training observations of :meth:`fit`; required after :meth:`load`)."""
        self._require_fit()
        if obs is None:
            if self._train_windows is None:
                raise ValueError("obs: required (this estimator was loaded, its training data is not kept)")
            data = self._train_windows
        else:
            view, _, t = gridded_view(obs, self.grid, times, "obs")
            if abs(frame_spacing(t, "times") - self.dt) > 1e-6 * self.dt:
                raise ValueError(f"times must be spaced by the training dt = {self.dt} s")
            data = build_windows(view, view, self.window, self.horizon, self.dt, self.scale, lookahead=self.lookahead)
        return dynamics_report(self, data)

    # ------------------------------------------------------------------ estimation
    def time_margin(self) -> float:
        """[s] half a frame spacing once trained: a frame's observations are binned over
        ``+- dt / 2`` (:func:`~hybridocean.observations.to_gridded`), so the first and last frames
        of a record may lie that far outside its observations; 0 before training."""
        return 0.5 * self.dt if self.dt is not None else 0.0

    def parameters(self) -> Dict[str, Any]:
        p = {**super().parameters(), "physics": type(self.physics).__name__ if self.physics is not None else "none",
             "window": self.window, "horizon": self.horizon, "augment": self.augment,
             "hidden_weight": self.hidden_weight, "seed": self.seed, "balance": self.init_args["balance"],
             "lookahead": self.lookahead, "dilations": self.dilations, "ensemble": self.ensemble,
             "prior_sigmas": self.prior_sigmas,
             "state_map": type(self.state_map).__name__}
        if self.dt is not None:
            p.update(dt_s=self.dt, ssh_scale_m=self.scale)
        return p

    @torch.no_grad()
    def encode(self, inputs: EstimationInputs) -> torch.Tensor:
        """The estimated states ``(T, C, ny, nx)`` (state units, the trainer's dtype): at each
        output time ``t_k``, the encoder's state ``X_k`` of its window (``W`` frames, ``lookahead``
        of them after ``t_k``); with ``ensemble = M > 1``, the mean of ``X_k`` and the forecasts
        ``Phi_{j dt}(X_{k-j})``, ``j = 1 .. M-1`` (those with ``k - j >= 0``), by the trained
        dynamics -- the states the training loss made consistent with the later observations."""
        self._require_fit()
        if inputs.times.size == 1:
            raise ValueError("times: the learned estimator needs at least 2 output times (spaced by dt)")
        if abs(frame_spacing(inputs.times, "times") - self.dt) > 1e-6 * self.dt:
            raise ValueError(f"times must be spaced by the training dt = {self.dt} s")
        self.grid.check_compatible(inputs.grid, "grid")
        g = to_gridded(inputs.obs, inputs.grid, inputs.times)
        data = build_windows(g, g, self.window, 1, self.dt, self.scale, ends=np.arange(inputs.times.size),
                             lookahead=self.lookahead)
        tr = self.trainer
        z = self.encoder(data.features.to(device=tr.device, dtype=tr.dtype))
        x = self.state_map.to_state(z, self.scale)
        M = min(self.ensemble, x.shape[0])
        if M == 1:
            return x
        t = self.dt * torch.arange(M, dtype=tr.dtype, device=tr.device)
        fc = torch.cat([tr.forecast(x[i:i + 16], t, grad=False) for i in range(0, x.shape[0], 16)])  # (T, M, C, ...)
        out, count = torch.zeros_like(x), torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for j in range(M):
            out[j:] += fc[: x.shape[0] - j, j]
            count[j:] += 1
        return out / count.view(-1, 1, 1, 1)

    @torch.no_grad()  # a learnable physical parameter (e.g. Ld in the QG state map) must not leak a graph
    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        """SSH ``(T, ny, nx)`` [m]: the estimated state's SSH at each output time (:meth:`encode`)."""
        return self.state_map.observe(self.encode(inputs)).to(torch.float64).cpu()

    @torch.no_grad()
    def state_currents(self, states: torch.Tensor, at: str = "center") -> Tuple[torch.Tensor, torch.Tensor]:
        """The states' own velocities ``(u, v)`` ``(T, ny, nx)`` [m/s], float64 CPU: shallow water's
        ``u, v`` channels, or the QG streamfunction's ``u = -dpsi/dy``, ``v = dpsi/dx`` (first
        layer; geostrophic by construction); on the C-grid faces (``at="uv"``) or averaged to the
        centres (``at="center"``, :func:`~.fourdvar_models.faces_to_centres`)."""
        if not self.state_velocities:
            raise ValueError("state_currents: this estimator's state has no velocities (neural latent channels)")
        if at not in ("center", "uv"):
            raise ValueError(f"at must be 'center' or 'uv', got {at!r}")
        if isinstance(self.physics, QG):
            u, v = velocity_from_psi(self.physics.streamfunction(states)[:, 0], self.grid)  # C-grid faces
        else:
            u, v = states[:, 1], states[:, 2]
        u, v = u.to(torch.float64).cpu(), v.to(torch.float64).cpu()
        return faces_to_centres(u, v, self.grid) if at == "center" else (u, v)

    def estimate(self, obs: Any, grid: Optional[Grid] = None, times: Any = None, *, staggered: bool = False,
                 variable: Optional[str] = None) -> xr.Dataset:
        """SSH and currents (:meth:`Estimator.estimate`): the currents are the encoded state's own
        velocities (:meth:`state_currents`; ``velocity_kind`` ``"total"`` for shallow water,
        ``"geostrophic"`` for QG) -- with the neural-only dynamics (latent hidden channels), the
        geostrophic currents of the encoded SSH."""
        if not self.state_velocities:
            return super().estimate(obs, grid, times, staggered=staggered, variable=variable)
        if not isinstance(staggered, bool):
            raise TypeError(f"staggered must be a bool, got {type(staggered).__name__}")
        inputs = prepare_inputs(obs, grid, times, time_margin_s=self.time_margin(), variable=variable)
        states = self.encode(inputs)
        ssh = self.state_map.observe(states).to(torch.float64).cpu()
        u, v = self.state_currents(states, "center")
        u_c, v_c = self.state_currents(states, "uv") if staggered else (None, None)
        return estimate_dataset(
            ssh, u, v, inputs.grid, inputs.times, method=self.method, parameters=self.parameters(),
            ssh_name=inputs.ssh_name, velocity_kind=self.velocity_kind, u_c=u_c, v_c=v_c,
            attrs={"input": inputs.source, "n_observations": len(inputs.obs)}, estimator=type(self).__name__)


__all__ = ["LearnedEstimator", "default_config"]
