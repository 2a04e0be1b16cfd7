"""Hyper-parameters of APHYNITY training, one dataclass for every dataset (no per-dataset branches).

The objective (Yin, Le Guen et al., ICLR 2021, eq. 3 and Algorithm 1) is the constrained problem

    min ||F_a||   subject to   L_traj(theta) = 0,

solved by the adaptive Lagrangian ``L_lambda(theta) = ||F_a|| + lambda * L_traj(theta)``:

    repeat  (outer iteration j, one mini-batch)
        n_iter times:  theta <- theta - tau1 * grad_theta L_lambda_j(theta)     (Adam, lr tau1)
        lambda_{j+1} = lambda_j + tau2 * L_traj(theta_{j+1})

Two forms of the norm term, side by side (``objective``):

============  ==========================================  ==========================================
objective     loss                                        where from
============  ==========================================  ==========================================
``"paper"``   ``sqrt(mean ||F_a(X)||^2) + lambda*L_traj``  the paper's eq. (3): the L2 norm of F_a
``"squared"`` ``mean ||F_a(X)||^2 + lambda*L_traj``        the released code (``loss_op`` squared)
============  ==========================================  ==========================================

In both, ``L_traj`` is the mean squared error between the forecast from ``X(t_0)`` and the data
over all times, channels and grid points (``nn.MSELoss``; the paper's integral differs by a constant
factor absorbed into lambda), and ``mean ||F_a(X)||^2`` is the mean over the *data* states of the
batch (all times, grid points) of ``sum_channels F_a(X)^2``. With ``fa_norm="relative"`` each
state's ``||F_a(X)||`` is divided by ``||X|| + 1e-5`` (the released pendulum ``l2_normalized``).

``min_norm=False`` is plain joint training of physics and network: loss ``L_traj`` only, lambda
fixed (the "non-min-norm" ablation of the paper).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from physics._checks import check_choice, check_int, check_nonnegative, check_positive, check_real

from ..integrate import FIXED_STEP_METHODS

OBJECTIVES = ("paper", "squared")
FA_NORMS = ("absolute", "relative")
LAMBDA_UPDATES = ("updated", "last_step")
LR_DECAYS = ("cosine",)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class IntegratorConfig:
    """How forecasts are integrated (passed to :func:`hybridocean.integrate.odeint`).

    ``method``: torchdiffeq method; ``rtol``/``atol``: tolerances of adaptive methods;
    ``step_size``: step of fixed-step methods (``rk4``, ``euler``, ...) in model time units;
    ``adjoint``: continuous adjoint (memory O(1) in the horizon) instead of backprop through the solver.
    """

    method: str = "dopri5"
    rtol: float = 1e-6
    atol: float = 1e-8
    step_size: Optional[float] = None
    adjoint: bool = False

    def __post_init__(self) -> None:
        check_positive("rtol", self.rtol)
        check_positive("atol", self.atol)
        if self.step_size is not None:
            check_positive("step_size", self.step_size)
            if self.method not in FIXED_STEP_METHODS:
                raise ValueError(f"step_size needs a fixed-step method {FIXED_STEP_METHODS}, got method={self.method!r}")

    def kwargs(self) -> dict:
        """Keyword arguments for :func:`hybridocean.integrate.odeint`."""
        return dict(method=self.method, rtol=self.rtol, atol=self.atol, step_size=self.step_size, adjoint=self.adjoint)


@dataclass
class AphynityConfig:
    """Every hyper-parameter of :class:`hybridocean.training.AphynityTrainer`.

    Optimisation:
        lambda0: initial Lagrange multiplier ``lambda_0`` (> 0).
        tau1: Adam learning rate of all parameters (physical and network).
        tau2: step of the multiplier update ``lambda += tau2 * L_traj`` (>= 0; 0 = fixed lambda).
        n_iter: gradient steps per outer iteration (per multiplier update), each on the same batch.
        epochs: passes over the training set; one outer iteration per mini-batch.
        iterations: if set, the total number of outer iterations (overrides ``epochs``).
        batch_size: trajectories per mini-batch.
        objective: ``"paper"`` or ``"squared"`` (see the module docstring).
        fa_norm: ``"absolute"`` or ``"relative"`` (``||F_a(X)|| / (||X|| + 1e-5)``).
        min_norm: False = plain joint training (``L_traj`` only, no multiplier).
        lambda_update: ``"updated"`` uses ``L_traj(theta_{j+1})`` on the batch after the inner steps
            (Algorithm 1 of the paper; one extra gradient-free forecast), ``"last_step"`` the
            ``L_traj`` of the last inner step (the released code; no extra cost).
        grad_clip: if set, clip the global gradient norm to this value.
        lr_decay: ``None`` (constant learning rates) or ``"cosine"``: after the warm-up, at the
            ``j``-th of ``J`` outer iterations (``j = 0 .. J - 1``) every parameter group's rate is
            ``lr_0 * (r + (1 - r) (1 + cos(pi j / (J - 1))) / 2)`` with ``r = lr_final_ratio``, so
            ``lr_0`` first and ``r lr_0`` last (a function of ``j`` only, so resumed runs match). Late
            small steps let the physical parameters settle instead of jittering by ~lr.
        lr_final_ratio: ``r``, the last iteration's rate over the initial one (0 < r <= 1).
        physics_warmup: outer iterations, at the start, that fit the physical parameters alone
            (``F_a`` switched off, loss ``L_traj``, lambda frozen) before the APHYNITY iterations.
            A warm start, not a different objective: the constrained problem is unchanged, but
            the physical model (30-50x cheaper per step than the network on the PDE systems)
            explains what it can before ``F_a`` can claim it, which the min-norm term would
            otherwise have to hand back slowly. Counted in ``iterations``; the learning-rate
            schedule runs over the remaining iterations.
    Integration: ``integrator`` (:class:`IntegratorConfig`).
    Validation/model selection: ``validate_every`` outer iterations (default: once per epoch); the
        parameters with the lowest validation MSE are restored at the end of ``fit``.
        ``validate_initial``: also validate the starting parameters, before the first update
        (iteration 0), so they are a candidate: a model that starts at a first guess (e.g. the
        learned estimator's OI-based encoder) is then never selected worse, on the validation
        data, than that start. Off by default (histories without it stay as they were).
    Bookkeeping: ``checkpoint_every`` (0 = never) outer iterations into ``checkpoint_dir``;
        ``seed`` (mini-batch order); ``device``; ``dtype`` (``"float32"``/``"float64"``);
        ``log_every`` (progress-bar refresh); ``progress`` (None = only on a terminal).
    """

    lambda0: float = 1.0
    tau1: float = 1e-3
    tau2: float = 1.0
    n_iter: int = 1
    epochs: int = 10
    iterations: Optional[int] = None
    batch_size: int = 32
    objective: str = "squared"
    fa_norm: str = "absolute"
    min_norm: bool = True
    lambda_update: str = "updated"
    grad_clip: Optional[float] = None
    lr_decay: Optional[str] = None
    lr_final_ratio: float = 1e-2
    physics_warmup: int = 0
    integrator: IntegratorConfig = field(default_factory=IntegratorConfig)
    validate_every: Optional[int] = None
    validate_initial: bool = False
    eval_batch_size: int = 64
    checkpoint_every: int = 0
    checkpoint_dir: Optional[str] = None
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    log_every: int = 10
    progress: Optional[bool] = None

    def __post_init__(self) -> None:
        if isinstance(self.integrator, dict):
            self.integrator = IntegratorConfig(**self.integrator)
        check_positive("lambda0", self.lambda0)
        check_positive("tau1", self.tau1)
        check_nonnegative("tau2", self.tau2)
        # counts: physics._checks.check_int (bool and float refused, NumPy ints stored as int)
        for name, minimum in (("n_iter", 1), ("epochs", 1), ("batch_size", 1), ("eval_batch_size", 1),
                              ("log_every", 1), ("checkpoint_every", 0), ("physics_warmup", 0), ("seed", 0),
                              ("iterations", 1), ("validate_every", 1)):
            value = getattr(self, name)
            if value is not None or name not in ("iterations", "validate_every"):
                setattr(self, name, check_int(name, value, minimum))
        if not isinstance(self.validate_initial, bool):
            raise TypeError(f"validate_initial must be a bool, got {type(self.validate_initial).__name__}")
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)
        if self.lr_decay is not None:
            check_choice("lr_decay", self.lr_decay, LR_DECAYS)
        if not 0.0 < check_real("lr_final_ratio", self.lr_final_ratio) <= 1.0:
            raise ValueError(f"lr_final_ratio must be in (0, 1], got {self.lr_final_ratio}")
        check_choice("objective", self.objective, OBJECTIVES)
        check_choice("fa_norm", self.fa_norm, FA_NORMS)
        check_choice("lambda_update", self.lambda_update, LAMBDA_UPDATES)
        check_choice("dtype", self.dtype, tuple(DTYPES))
        if self.checkpoint_every and not self.checkpoint_dir:
            raise ValueError("checkpoint_dir must be set when checkpoint_every > 0")

    @property
    def torch_dtype(self) -> torch.dtype:
        """``dtype`` as a ``torch.dtype``."""
        return DTYPES[self.dtype]

    def lr_factor(self, iteration: int, total: int) -> float:
        """Learning-rate multiplier of outer iteration ``iteration`` (1-based) out of ``total``."""
        if self.lr_decay is None or iteration <= self.physics_warmup:
            return 1.0
        r, j, n = self.lr_final_ratio, iteration - 1 - self.physics_warmup, total - 1 - self.physics_warmup
        return r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * j / max(n, 1)))

    def to_dict(self) -> dict:
        """Plain-dict form (stored in checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AphynityConfig":
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


__all__ = ["AphynityConfig", "IntegratorConfig", "OBJECTIVES", "FA_NORMS", "LAMBDA_UPDATES", "LR_DECAYS"]
