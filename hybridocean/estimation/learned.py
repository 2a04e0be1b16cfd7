"""The learned estimator of Ayed et al., trained through observed SSH only.

Ayed, de Bézenac, Pajot, Brajard, Gallinari, "Learning dynamical systems from partial
observations" (arXiv:1902.11136, 2019; ICASSP 2020), with APHYNITY dynamics (Yin, Le Guen et al.,
ICLR 2021):

* an encoder (:class:`~.encoder.WindowEncoder`) maps a window of ``W`` gridded observation frames
  (values, mask, observation age) to the state ``X`` at the window's end -- or ``lookahead``
  frames before it (a two-sided window, as OI's and 4D-Var's); optionally from a normalised-
  convolution first guess that the network corrects (``prior_sigmas``), with dilated blocks;
  optionally (``first_guess``, e.g. the tuned OI) from another estimator's SSH map, computed
  from the observations of the record the encoder reads (over the OI's own time window, never
  held-out observations), as input and base of the encoded SSH: the network
  learns a dynamically consistent correction of it (:mod:`.learned_first_guess`);
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
previous states by the trained dynamics). Shallow water: SSH is its observed part, the currents
its own ``u, v`` (hidden, never observed: inferred by the encoder so that the dynamics forecast
the later SSH; ``velocity_kind="total"``), averaged from the C-grid faces to the centres. QG
(``output="encoder"``, the default): SSH is the encoder's map (the state's SSH before the state map
``SSH -> q``, whose walls force ``psi = 0``; :func:`~.learned_report.output_ssh`) and the currents its
geostrophic ones by the OI's operator (:func:`~.base.geostrophic_currents`); ``output="state"``: the
state's SSH ``H(X)`` and its own ``-dpsi/dy, dpsi/dx``. Neural-only dynamics (latent hidden
channels): the geostrophic currents of the encoded SSH.

Persistence: :meth:`LearnedEstimator.save` / :meth:`LearnedEstimator.load` /
:meth:`LearnedEstimator.read_metadata` (:mod:`.learned_io`).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import xarray as xr
from torch import nn

from hybridocean.hybrid import HybridModel
from hybridocean.observations import Observations, to_gridded
from hybridocean.training import AphynityConfig, AphynityTrainer, History, IntegratorConfig
from physics.grid import Grid
from physics.qg import QG

from .base import EstimationInputs, Estimator, estimate_dataset, prepare_inputs
from .encoder import WindowEncoder
from .learned_data import training_view, validation_windows
from .learned_first_guess import MapsLike, check_first_guess, first_guess_frames, record_observations
from .learned_io import load_estimator, read_metadata, save_estimator
from .learned_report import observation_misfit, output_ssh, report_over, resolve_output, state_velocities
from .obs_training import (ObservationTask, augmentation_field, build_windows, ensemble_mean, frame_spacing,
                           state_map_for)

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
        g: gravity [m/s^2] of the QG state map ``psi = g eta / f0`` (:class:`~.obs_training.QGStateMap`).
        first_guess: an :class:`~.base.Estimator` (typically the tuned
            :class:`~.oi.OptimalInterpolation`) whose SSH map at the state time, from the encoder's
            observations only, is an encoder input and the base of its SSH (untrained: the first
            guess exactly; :mod:`.learned_first_guess`). ``None``: none. Time spent computing its
            maps: :attr:`first_guess_seconds` (per call site).
        output: what :meth:`estimate` returns (:func:`~.learned_report.output_ssh`): ``"encoder"``
            (default for QG physics), the encoder's SSH map and, for QG, its geostrophic currents;
            ``"state"`` (default otherwise), the state's SSH and own velocities. Identical for
            shallow water and neural dynamics (their state's SSH is the encoder's). Training is
            the same either way.
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
        g: float = 9.81,
        first_guess: Optional[Estimator] = None,
        output: Optional[str] = None,
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
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or not g > 0:
            raise ValueError(f"g must be a finite gravity > 0 [m/s^2], got {g!r}")
        self.g, self.first_guess = float(g), check_first_guess(first_guess)
        self.output = resolve_output(output, isinstance(physics, QG))
        #: seconds spent computing first-guess maps, per argument name (the last call of each)
        self.first_guess_seconds: Dict[str, float] = {}
        self._maps_override: Optional[MapsLike] = None
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
                                              prior_sigmas=self.prior_sigmas, g=self.g, output=self.output)
        #: the caller's metadata of a loaded estimator (:meth:`load`)
        self.metadata: Dict[str, Any] = {}
        self.state_map, self.state_channels = state_map_for(physics, channels, balance, hidden_scale, self.g)
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
                                     dilations=self.dilations, prior_sigmas=self.prior_sigmas,
                                     first_guess=self.first_guess is not None)
        net = augmentation_field(self.state_map, self.state_channels, self.hidden, self.layers, grid, dt, scale) \
            if self.augment else None
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
        first_guess_maps: Optional[MapsLike] = None,
        val_first_guess_maps: Optional[MapsLike] = None,
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
            first_guess_maps: precomputed first-guess SSH ``(time, y, x)`` [m] of ``obs_train``
                on ``times`` (default: computed by ``first_guess`` from ``obs_train`` cut to the
                bins of ``times``, so held-out days never enter it); also the
                first guess of the held-out-platform validation (encoded from ``obs_train``).
            val_first_guess_maps: likewise for the held-out days, from ``val_obs`` on ``val_times``.
        Returns ``self``; the trainer's history is :attr:`history`.
        """
        train, grid, t, dt, scale = training_view(obs_train, grid, times)
        config = default_config(dt, min_norm=self.physics is not None) if config is None else config
        if not isinstance(config, AphynityConfig):
            raise TypeError(f"config must be an AphynityConfig, got {type(config).__name__}")
        self.scale, self.dt, self.grid = scale, dt, grid
        self._build(grid, dt, scale)
        fg = first_guess_frames(self.first_guess, first_guess_maps, record_observations(obs_train, t, dt), grid, t,
                                "first_guess_maps", self.first_guess_seconds)  # the record's bins only
        data = build_windows(train, train, self.window, self.horizon, dt, scale, lookahead=self.lookahead,
                             first_guess=fg)
        self._train_windows = data
        val = validation_windows(self, train, t, fg, val_obs, val_times, val_first_guess_maps)
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
    def load(cls, path: Union[str, Path], physics: Optional[nn.Module] = None,
             first_guess: Optional[Estimator] = None) -> "LearnedEstimator":
        """The estimator saved at ``path``, on ``physics`` (rebuilt by the caller: same class,
        channels, grid and fixed parameters, see :meth:`read_metadata`; ``None`` for the neural
        dynamics). ``first_guess``: default rebuilt from the file (class and arguments stored).
        Estimates bit-identically to the saved one. ``ValueError`` naming ``path``, ``physics``
        or ``first_guess`` (:func:`~.learned_io.load_estimator`)."""
        return load_estimator(cls, path, physics, first_guess)

    @staticmethod
    def read_metadata(path: Union[str, Path]) -> Dict[str, Any]:
        """The saved estimator's metadata (:func:`~.learned_io.read_metadata`): ``physics``
        (class, module, grid, parameters), ``grid``, ``grid_attrs``, ``dt_s``, ``ssh_scale_m``,
        ``args``, ``history_summary``, the caller's ``metadata``."""
        return read_metadata(path)

    def misfit(self, obs: ObsLike, times: Any = None, inputs: Optional[ObsLike] = None,
               first_guess_maps: Optional[MapsLike] = None) -> float:
        """Masked dimensionless misfit ``sum m (H(X) - y)^2 / (s^2 sum m)`` of ``obs`` over the
        forecast windows, encoded from ``inputs`` (default ``obs`` itself) on the same frames
        (first guess: of ``inputs``, or ``first_guess_maps``; :func:`~.learned_report.observation_misfit`)."""
        return observation_misfit(self, obs, times, inputs, first_guess_maps)

    def dynamics_report(self, obs: Optional[ObsLike] = None, times: Any = None,
                        first_guess_maps: Optional[MapsLike] = None) -> Dict[str, Any]:
        """``|F_a|`` vs ``|F_p|`` (RMS per state channel over the forecast states) and the learned
        physical parameters (:func:`~.learned_report.dynamics_report`), over the windows of
        ``obs`` (default: the training observations of :meth:`fit`; required after :meth:`load`)."""
        return report_over(self, obs, times, first_guess_maps)

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
             "prior_sigmas": self.prior_sigmas, "g": self.g, "output": self.output,
             "first_guess": "none" if self.first_guess is None else type(self.first_guess).__name__,
             "state_map": type(self.state_map).__name__}
        if self.dt is not None:
            p.update(dt_s=self.dt, ssh_scale_m=self.scale)
        return p

    @contextmanager
    def using_first_guess_maps(self, maps: Optional[MapsLike]) -> Iterator["LearnedEstimator"]:
        """Within the block, :meth:`encode` (so :meth:`map_ssh`, :meth:`estimate`, and callers such
        as :class:`~.learned_fourdvar.LearnedFourDVar`) reads its first guess from the precomputed
        ``maps`` (``(time, y, x)`` [m], every output time among theirs) instead of computing it."""
        previous, self._maps_override = self._maps_override, maps
        try:
            yield self
        finally:
            self._maps_override = previous

    @torch.no_grad()
    def encode(self, inputs: EstimationInputs, first_guess_maps: Optional[MapsLike] = None) -> torch.Tensor:
        """The estimated states ``(T, C, ny, nx)`` (state units, the trainer's dtype): at each
        output time ``t_k``, the encoder's state ``X_k`` of its window (``W`` frames, ``lookahead``
        of them after ``t_k``); with ``ensemble = M > 1``, the mean of ``X_k`` and the forecasts
        ``Phi_{j dt}(X_{k-j})``, ``j = 1 .. M-1`` (those with ``k - j >= 0``), by the trained
        dynamics -- the states the training loss made consistent with the later observations.
        First guess: ``first_guess_maps`` (or :meth:`using_first_guess_maps`'), else computed
        from ``inputs.obs``."""
        return ensemble_mean(self.trainer, self._encode(inputs, first_guess_maps)[0], self.dt, self.ensemble)

    @torch.no_grad()
    def _encode(self, inputs: EstimationInputs, first_guess_maps: Optional[MapsLike]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(X, z)``: each output time's encoded state ``(T, C, ny, nx)`` (no ensemble) and the
        encoder's output ``(T, channels, ny, nx)`` (SSH / ``s`` first)."""
        self._require_fit()
        if inputs.times.size == 1:
            raise ValueError("times: the learned estimator needs at least 2 output times (spaced by dt)")
        if abs(frame_spacing(inputs.times, "times") - self.dt) > 1e-6 * self.dt:
            raise ValueError(f"times must be spaced by the training dt = {self.dt} s")
        self.grid.check_compatible(inputs.grid, "grid")
        g = to_gridded(inputs.obs, inputs.grid, inputs.times)
        maps = self._maps_override if first_guess_maps is None else first_guess_maps
        fg = first_guess_frames(self.first_guess, maps, inputs.obs, inputs.grid, inputs.times, "first_guess_maps",
                                self.first_guess_seconds)
        data = build_windows(g, g, self.window, 1, self.dt, self.scale, ends=np.arange(inputs.times.size),
                             lookahead=self.lookahead, first_guess=fg)
        tr = self.trainer
        z = self.encoder(data.features.to(device=tr.device, dtype=tr.dtype))
        return self.state_map.to_state(z, self.scale), z

    @torch.no_grad()  # a learnable physical parameter (e.g. Ld in the QG state map) must not leak a graph
    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        """SSH ``(T, ny, nx)`` [m] at each output time: the encoder's map or the estimated state's
        (``output``; :func:`~.learned_report.output_ssh`)."""
        return output_ssh(self, *self._encode(inputs, self._maps_override))[0]

    def state_currents(self, states: torch.Tensor, at: str = "center") -> Tuple[torch.Tensor, torch.Tensor]:
        """The states' own velocities ``(u, v)`` ``(T, ny, nx)`` [m/s], float64 CPU, on the C-grid
        faces (``at="uv"``) or the centres (``"center"``; :func:`~.learned_report.state_velocities`)."""
        return state_velocities(self, states, at)

    def estimate(self, obs: Any, grid: Optional[Grid] = None, times: Any = None, *, staggered: bool = False,
                 variable: Optional[str] = None, first_guess_maps: Optional[MapsLike] = None) -> xr.Dataset:
        """SSH and currents (:meth:`Estimator.estimate`): SSH of :meth:`map_ssh`; the currents the
        encoded state's own velocities (:meth:`state_currents`; shallow water, ``"total"``; QG with
        ``output="state"``) or the geostrophic currents of the SSH (:meth:`~.base.Estimator.currents`,
        the OI's operator; QG with ``output="encoder"``, neural dynamics). ``first_guess_maps``:
        precomputed first-guess SSH ``(time, y, x)`` [m] (default computed from ``obs``; :meth:`encode`)."""
        if not isinstance(staggered, bool):
            raise TypeError(f"staggered must be a bool, got {type(staggered).__name__}")
        inputs = prepare_inputs(obs, grid, times, time_margin_s=self.time_margin(), variable=variable)
        maps = self._maps_override if first_guess_maps is None else first_guess_maps
        ssh, states = output_ssh(self, *self._encode(inputs, maps))
        if states is not None and self.state_velocities:
            currents = lambda at: self.state_currents(states, at)  # noqa: E731
        else:
            currents = lambda at: self.currents(ssh, inputs.grid, at=at)[:2]  # noqa: E731
        u, v = currents("center")
        u_c, v_c = currents("uv") if staggered else (None, None)
        return estimate_dataset(
            ssh, u, v, inputs.grid, inputs.times, method=self.method, parameters=self.parameters(),
            ssh_name=inputs.ssh_name, velocity_kind=self.velocity_kind, u_c=u_c, v_c=v_c,
            attrs={"input": inputs.source, "n_observations": len(inputs.obs)}, estimator=type(self).__name__)


__all__ = ["LearnedEstimator", "default_config"]
