"""APHYNITY training loop: adaptive Lagrangian, validation-based model selection, exact resume.

Algorithm (Yin, Le Guen et al., ICLR 2021, Algorithm 1), one outer iteration ``j`` per mini-batch:

    n_iter times:  theta <- Adam step (lr tau1) on  L_lambda_j = ||F_a|| + lambda_j * L_traj
    lambda_{j+1} = lambda_j + tau2 * L_traj(theta_{j+1})

``L_traj`` is the MSE of the forecast integrated from each trajectory's first state over all its
times; ``||F_a||`` is evaluated on the batch's *data* states (every time), as in the paper. See
:mod:`hybridocean.training.config` for the objective variants.
"""
from __future__ import annotations

import contextlib
import math
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

import torch
from tqdm.auto import tqdm

from ..hybrid import HybridModel
from ..integrate import odeint
from ..trajectories import Trajectories
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, rng_states, save_checkpoint, set_rng_states
from .config import AphynityConfig
from .history import History
from .objective import augmentation_norm2, lagrangian, trajectory_loss

Callback = Callable[[int, dict], None]
#: Config fields that may change between a run and its resumption without changing its course.
_RUN_LENGTH_KEYS = ("epochs", "iterations", "checkpoint_every", "checkpoint_dir", "progress", "log_every", "device")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN/Inf loss (or the solver's step size underflowed); names the iteration."""


def _to(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """``module`` on ``device`` with its real floating tensors in ``dtype`` and its complex ones (the
    ``ik``/``il`` of a spectral :class:`physics.qg.QG`) in the matching complex dtype:
    ``nn.Module.to(dtype=float64)`` casts complex tensors to the real dtype, silently dropping their
    imaginary part."""
    complex_dtype = torch.promote_types(dtype, torch.complex64)

    def cast(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point():
            return t.to(device=device, dtype=dtype)
        return t.to(device=device, dtype=complex_dtype if t.is_complex() else None)

    return module._apply(cast)


class TrajectoryTask:
    """The default data-fit term of :class:`AphynityTrainer`: full-state trajectories.

    A *task* tells the trainer what a data set is and how it is fitted, so that the trainer
    (adaptive lambda, checkpoints, exact resume, NaN stops, model selection, progress bar) is
    reused unchanged with another ``L_traj`` (e.g. the observation-only loss of the learned
    estimator, :mod:`hybridocean.estimation.obs_training`). A task provides:

    * ``module``: an extra ``nn.Module`` trained jointly with the model (e.g. an encoder), or
      ``None``; its parameters join the optimizer and its state the checkpoints;
    * ``prepare(trainer, data, name)``: the data set checked and moved to the trainer's
      device/dtype; it must support ``len(data)`` and ``data.subset(index)`` (mini-batches);
    * ``terms(trainer, batch) -> (L_traj, mean ||F_a||^2)`` with gradient;
    * ``data_loss(trainer, batch) -> float``: ``L_traj`` without gradient (the lambda update);
    * ``validation_loss(trainer, data) -> float``: the model-selection score (lower is better).

    Here: ``L_traj = mean (X_pred - X)^2`` of the forecast from each trajectory's first state
    (``(N, T, *state)`` :class:`Trajectories`), ``||F_a||`` on the data states, validation =
    :meth:`AphynityTrainer.evaluate`'s ``mse``.
    """

    module = None

    def prepare(self, trainer: "AphynityTrainer", data: Trajectories, name: str) -> Trajectories:
        if not isinstance(data, Trajectories):
            raise TypeError(f"{name} must be a Trajectories, got {type(data).__name__}")
        data = data.to(device=trainer.device, dtype=trainer.dtype)
        trainer.model._check_state(data.x[:1, 0])
        return data

    def terms(self, trainer: "AphynityTrainer", batch: Trajectories) -> tuple:
        pred = trainer.forecast(batch.x[:, 0], batch.t)
        l_traj = trajectory_loss(pred, batch.x)
        fa2 = augmentation_norm2(trainer.model, batch.x, relative=trainer.config.fa_norm == "relative")
        return l_traj, fa2

    def data_loss(self, trainer: "AphynityTrainer", batch: Trajectories) -> float:
        return float(trajectory_loss(trainer.forecast(batch.x[:, 0], batch.t, grad=False), batch.x))

    def validation_loss(self, trainer: "AphynityTrainer", data: Trajectories) -> float:
        return trainer.evaluate(data, _prepared=True)["mse"]


class AphynityTrainer:
    """Trains a :class:`HybridModel` with the APHYNITY objective (or plain joint training).

    Args:
        model: the hybrid vector field; moved to ``config.device``/``config.dtype``.
        config: :class:`AphynityConfig`.
        task: the data-fit term (default :class:`TrajectoryTask`: full-state trajectories); see
            :class:`TrajectoryTask` for the interface a task provides.

    Attributes:
        lam: the current Lagrange multiplier lambda.
        iteration: outer iterations done.
        optimizer: Adam over every parameter of ``model`` that requires grad (lr ``tau1``).
    """

    def __init__(self, model: HybridModel, config: AphynityConfig, task: Optional[TrajectoryTask] = None) -> None:
        if not isinstance(model, HybridModel):
            raise TypeError(f"model must be a HybridModel, got {type(model).__name__}")
        if not isinstance(config, AphynityConfig):
            raise TypeError(f"config must be an AphynityConfig, got {type(config).__name__}")
        if config.min_norm and model.physics is None:
            raise ValueError(
                "config.min_norm=True needs a physics model: minimising ||F_a|| of a pure Neural ODE "
                "(model.physics is None) only fights the data; use min_norm=False"
            )
        self.config = config
        self.device = torch.device(config.device)
        self.dtype = config.torch_dtype
        self.model = _to(model, self.device, self.dtype)
        self.task = TrajectoryTask() if task is None else task
        self.extra = getattr(self.task, "module", None)
        if self.extra is not None:
            if not isinstance(self.extra, torch.nn.Module):
                raise TypeError(f"task.module must be an nn.Module or None, got {type(self.extra).__name__}")
            _to(self.extra, self.device, self.dtype)
        params = [p for p in self._modules_parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no learnable parameter (nothing to train)")
        self.optimizer = torch.optim.Adam(params, lr=config.tau1, betas=(0.9, 0.999))
        if config.physics_warmup and not self.model.learnable_physics_parameters():
            raise ValueError(f"physics_warmup={config.physics_warmup} needs learnable physical parameters "
                             "(the model has none: a Neural ODE or a fixed prior); use physics_warmup=0")
        self.lam = float(config.lambda0)
        self.iteration = 0
        self.history = History()
        self._best_state: Optional[dict] = None
        self._best_extra: Optional[dict] = None

    def _modules_parameters(self) -> list:
        """Parameters of the model, then of the task's module (if any)."""
        extra = [] if self.extra is None else list(self.extra.parameters())
        return list(self.model.parameters()) + extra

    # ------------------------------------------------------------------ forecasts and losses
    def forecast(self, x0: torch.Tensor, t: torch.Tensor, grad: bool = True) -> torch.Tensor:
        """Integrate the model from ``x0 (N, *state)`` over ``t (T,)``; returns ``(N, T, *state)``."""
        kw = self.config.integrator.kwargs()
        if not grad:
            kw["adjoint"] = False
        return odeint(self.model, x0, t, **kw)

    def _terms(self, batch: Trajectories) -> tuple:
        return self.task.terms(self, batch)

    # ------------------------------------------------------------------ training
    def _prepare(self, data: Trajectories, name: str) -> Trajectories:
        return self.task.prepare(self, data, name)

    def _batch_indices(self, iteration: int, n: int) -> torch.Tensor:
        """Trajectories of outer iteration ``iteration`` (1-based): a function of (seed, epoch) only,
        so a resumed run draws exactly the batches an uninterrupted one would."""
        bs = self.config.batch_size
        per_epoch = math.ceil(n / bs)
        epoch, k = divmod(iteration - 1, per_epoch)
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(n, generator=gen)[k * bs : (k + 1) * bs]

    def _fail(self, what: str, inner: int) -> NonFiniteLossError:
        ckpt = self._checkpoint_path()
        kept = f"last good checkpoint: {ckpt}" if ckpt is not None and ckpt.exists() else "no checkpoint written"
        return NonFiniteLossError(
            f"{what} at iteration {self.iteration + 1} (inner step {inner + 1}); training stopped, {kept}"
        )

    @contextlib.contextmanager
    def _solver_guard(self, inner: int) -> Iterator[None]:
        """Turn torchdiffeq's step-size underflow (what a NaN field produces), or a task's
        ``FloatingPointError`` (e.g. a non-finite encoded state), into NonFiniteLossError."""
        try:
            yield
        except NonFiniteLossError:
            raise
        except FloatingPointError as err:
            raise self._fail(f"non-finite value ({err})", inner) from err
        except AssertionError as err:
            if "underflow" in str(err):
                raise self._fail(f"ODE solver failure ({err})", inner) from err
            raise

    def _set_learning_rates(self, total: int) -> None:
        """Scale every group's initial rate (``initial_lr``, stored in the optimizer state) by the schedule."""
        factor = self.config.lr_factor(self.iteration + 1, total)
        for group in self.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor

    @contextlib.contextmanager
    def _physics_only(self, on: bool) -> Iterator[None]:
        """Switch ``F_a`` off for the block (physics warm-up); restores the model's flag after."""
        saved = self.model.augment
        self.model.augment = saved and not on
        try:
            yield
        finally:
            self.model.augment = saved

    def _outer_step(self, batch: Trajectories) -> dict:
        cfg = self.config
        warmup = self.iteration < cfg.physics_warmup
        with self._physics_only(warmup):
            return self._inner_steps(batch, min_norm=cfg.min_norm and not warmup)

    def _inner_steps(self, batch: Trajectories, min_norm: bool) -> dict:
        cfg = self.config
        for s in range(cfg.n_iter):
            self.optimizer.zero_grad(set_to_none=True)
            with self._solver_guard(s):
                l_traj, fa2 = self._terms(batch)
                loss = lagrangian(l_traj, fa2, self.lam, cfg.objective, min_norm)
                if not bool(torch.isfinite(loss)):
                    raise self._fail(f"non-finite loss ({float(loss.detach())})", s)
                loss.backward()  # the adjoint's backward solve can underflow too
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self._modules_parameters(), cfg.grad_clip)
            self.optimizer.step()
        if min_norm:
            if cfg.lambda_update == "updated":
                with torch.no_grad(), self._solver_guard(cfg.n_iter - 1):
                    l_new = self.task.data_loss(self, batch)
            else:
                l_new = float(l_traj.detach())
            if not math.isfinite(l_new):
                raise self._fail(f"non-finite L_traj after the update ({l_new})", cfg.n_iter - 1)
            self.lam = self.lam + cfg.tau2 * l_new
        return dict(loss=float(loss.detach()), l_traj=float(l_traj.detach()), fa_norm2=float(fa2.detach()))

    def _checkpoint_path(self) -> Optional[Path]:
        d = self.config.checkpoint_dir
        return None if d is None else Path(d) / CHECKPOINT_NAME

    def _state(self) -> dict:
        return {
            "iteration": self.iteration,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lam": self.lam,
            "history": self.history.to_dict(),
            "best_state": self._best_state,
            "rng": rng_states(),
            "config": self.config.to_dict(),
            **({} if self.extra is None else {"task_module": self.extra.state_dict(), "best_task_module": self._best_extra}),
        }

    def save(self, path: Optional[Union[str, Path]] = None) -> Path:
        """Write a checkpoint (default ``checkpoint_dir/checkpoint.pt``) atomically."""
        path = Path(path) if path is not None else self._checkpoint_path()
        if path is None:
            raise ValueError("path must be given when config.checkpoint_dir is None")
        return save_checkpoint(path, self._state())

    def load(self, path: Union[str, Path]) -> None:
        """Restore model, optimizer, multiplier, iteration, history, best state and RNG states."""
        st = load_checkpoint(path, map_location="cpu")  # RNG states must stay CPU tensors
        stored = {k: v for k, v in st["config"].items() if k not in _RUN_LENGTH_KEYS}
        current = {k: v for k, v in self.config.to_dict().items() if k not in _RUN_LENGTH_KEYS}
        if stored != current:
            changed = sorted(k for k in current if stored.get(k) != current[k])
            warnings.warn(f"resuming with a config that differs from the checkpoint's in {changed}: "
                          "the continued run will not match an uninterrupted one", stacklevel=2)
        self.model.load_state_dict(st["model"])
        self.optimizer.load_state_dict(st["optimizer"])
        self.lam = float(st["lam"])
        self.iteration = int(st["iteration"])
        self.history = History.from_dict(st["history"])
        self._best_state = st["best_state"]
        if self.extra is not None:
            if "task_module" not in st:
                raise ValueError(f"checkpoint {path} holds no state of the task's module (written by another task?)")
            self.extra.load_state_dict(st["task_module"])
            self._best_extra = st["best_task_module"]
        set_rng_states(st["rng"])

    def _validate(self, val: Trajectories) -> None:
        mse = self.task.validation_loss(self, val)
        self.history.val_iteration.append(self.iteration)
        self.history.val_mse.append(mse)
        best = self.history.best_val_mse
        if math.isfinite(mse) and (best is None or mse < best):
            self.history.best_val_mse = mse
            self.history.best_iteration = self.iteration
            self._best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if self.extra is not None:
                self._best_extra = {k: v.detach().clone() for k, v in self.extra.state_dict().items()}

    def fit(
        self,
        train: Trajectories,
        val: Optional[Trajectories] = None,
        resume: Optional[Union[str, Path]] = None,
        callback: Optional[Callback] = None,
    ) -> History:
        """Train; return the :class:`History`.

        Args:
            train: training trajectories ``(N, T, *state)``; mini-batches of whole trajectories
                (or the data set of the trainer's ``task``, e.g. observation windows).
            val: validation trajectories for model selection (the best-validation parameters are
                restored at the end); ``None`` keeps the last parameters. Test data never enters.
            resume: a checkpoint file (or its folder) to continue from; the continued run follows
                exactly the sequence of an uninterrupted one (same batches, optimizer state, lambda).
            callback: ``callback(iteration, record)`` after every outer iteration (logging, early
                stop by raising).

        Raises:
            NonFiniteLossError: a NaN/Inf loss; the message names the iteration, and the last
                checkpoint written before it stays on disk.
        """
        cfg = self.config
        train = self._prepare(train, "train")
        val = self._prepare(val, "val") if val is not None else None
        per_epoch = math.ceil(len(train) / cfg.batch_size)
        total = cfg.iterations if cfg.iterations is not None else cfg.epochs * per_epoch
        validate_every = cfg.validate_every or per_epoch
        if resume is not None:
            self.load(resume)
        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        bar = tqdm(total=total, initial=self.iteration, disable=not show, desc="APHYNITY", leave=False)
        if cfg.validate_initial and val is not None and self.iteration == 0 and not self.history.val_iteration:
            self._validate(val)  # iteration 0: the starting parameters are a candidate (config docstring)
        try:
            while self.iteration < total:
                batch = train.subset(self._batch_indices(self.iteration + 1, len(train)))
                self._set_learning_rates(total)
                rec = self._outer_step(batch)
                self.iteration += 1
                params = self.model.physical_parameters()
                self.history.append(self.iteration, rec["loss"], rec["l_traj"], rec["fa_norm2"], self.lam, params)
                warm = self.iteration <= cfg.physics_warmup  # F_a untrained: not a candidate model
                if val is not None and not warm and (self.iteration % validate_every == 0 or self.iteration == total):
                    self._validate(val)
                if cfg.checkpoint_every and self.iteration % cfg.checkpoint_every == 0:
                    self.save()
                bar.update(1)
                if self.iteration % cfg.log_every == 0:
                    bar.set_postfix(loss=rec["loss"], l_traj=rec["l_traj"], fa2=rec["fa_norm2"], lam=self.lam)
                if callback is not None:
                    callback(self.iteration, self.history.last())
        finally:
            bar.close()
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
            if self.extra is not None and self._best_extra is not None:
                self.extra.load_state_dict(self._best_extra)
        return self.history

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, data: Trajectories, _prepared: bool = False) -> dict:
        """Forecast every trajectory from its first state; return metrics.

        Returns:
            ``mse``: mean squared forecast error over all trajectories, times, channels, points;
            ``log10_mse``; ``fa_norm2``: mean ``||F_a(X)||^2`` (absolute) over the data states;
            ``params``: physical parameters in physical units.
        """
        if not _prepared:
            data = self._prepare(data, "data")
        bs = self.config.eval_batch_size
        se, fa, count = 0.0, 0.0, 0
        for k in range(0, len(data), bs):
            chunk = data.subset(slice(k, k + bs))
            pred = self.forecast(chunk.x[:, 0], chunk.t, grad=False)
            n = len(chunk)
            se += float(trajectory_loss(pred, chunk.x)) * n
            fa += float(augmentation_norm2(self.model, chunk.x)) * n
            count += n
        mse = se / count
        return {
            "mse": mse,
            "log10_mse": math.log10(mse) if mse > 0 else float("-inf"),
            "fa_norm2": fa / count,
            "params": self.model.physical_parameters(),
        }


__all__ = ["AphynityTrainer", "NonFiniteLossError", "TrajectoryTask"]
