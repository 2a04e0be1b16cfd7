#!/usr/bin/env python
"""Reproduce the APHYNITY experiments (Yin, Le Guen et al., ICLR 2021, Table 1).

    python scripts/reproduce_aphynity.py --system pendulum --prior complete --aug --seeds 3 --out DIR

trains ``F = F_p + F_a`` (or ``F_p`` alone with ``--no-aug``, or ``F_a`` alone with
``--prior none``) on the system's training set, selects the parameters with the lowest
validation MSE, and evaluates the forecasts of the test set from their first state. It writes

* ``DIR/metrics.json``: log10 test MSE (mean, std over seeds), parameter error in %, mean
  ``||F_a||^2`` on the test states, wall seconds, device, library versions, the paper's
  numbers, and the full configuration (atomically);
* ``DIR/trajectory.png``: a test trajectory, truth vs forecast (first seed);
* ``DIR/training.png``: loss, ``L_traj``, lambda and ``||F_a||^2`` during training (first seed;
  absent for the "true" prior without ``F_a``, which has nothing to train).

Hyper-parameters per system are the :data:`PRESETS`, which start from the released code
(github.com/yuan-yin/APHYNITY, ``train_aphynity.py``) and change what the comment above them lists
(objective, rates, physics warm-up, batch and window sizes, each with its measurement). Other
differences from the released code: forecasts are integrated
with RK4 on sub-steps of the data grid (the released code steps RK4 on the data grid itself,
which limits the true model's log10 MSE to about -5.6 on the pendulum and -7.4 on
reaction-diffusion); networks have no batch normalisation (see :mod:`hybridocean.networks`);
the model is selected on a validation split, not on the test set.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import hybridocean  # noqa: E402
from hybridocean.datasets import PRIORS, get_system, load_dataset, make_prior, systems  # noqa: E402
from hybridocean.hybrid import HybridModel  # noqa: E402
from hybridocean.integrate import odeint  # noqa: E402
from hybridocean.io import save_json  # noqa: E402
from hybridocean.networks import ConvResNet, MLP  # noqa: E402
from hybridocean.plots import plot_training_curves, savefig  # noqa: E402
from hybridocean.trajectories import Trajectories  # noqa: E402
from hybridocean.training import AphynityConfig, AphynityTrainer, History, IntegratorConfig  # noqa: E402


@dataclass(frozen=True)
class Preset:
    """Hyper-parameters of one system.

    ``network``: ``"mlp"`` or ``"conv"`` and its keyword arguments; ``config``: keyword arguments
    of :class:`AphynityConfig`; ``integrator``: of :class:`IntegratorConfig` (a ``"substeps"`` entry
    means RK4 with that many steps per data frame); ``iterations``: default number of outer
    iterations after the ``physics_warmup`` ones (which only models with learnable physical
    parameters do); ``tau1_physics``: Adam learning rate of the physical parameters (default ``tau1``);
    ``train_frames``: if set, training uses only the first ``train_frames`` frames of each training
    trajectory (a shorter, cheaper forecast); validation and test always use the whole horizon.
    """

    network: str
    network_kwargs: dict
    config: dict
    integrator: dict
    iterations: int
    dtype: str = "float64"
    tau1_physics: Optional[float] = None
    train_frames: Optional[int] = None


#: Starting point, the released ``train_aphynity.py``: (lambda0, tau1, tau2, n_iter, norm) = pendulum
#: (1, 1e-3, 1, 5, relative), reaction-diffusion (1, 1e-3, 1e-3, 1, absolute), wave (1, 1e-4, 1e-3,
#: 3, absolute); MLP 2 x 200 (orthogonal init, gain 0.2) for the pendulum, 16-channel CNN otherwise;
#: batch 25 (pendulum) / 64; lambda updated with the last inner step's L_traj; 50000 epochs.
#: Integrators (RK4, fixed cost), measured log10 test MSE of the true model: pendulum h = 0.5/3 ->
#: -9.25 (data grid: -5.63); RD h = 0.05 -> -10.3 (data grid: -7.5); wave h = 1e-3 (the data grid)
#: -> -7.8 (h = 5e-4: -10.2); float32 within 0.07 of float64.
#:
#: Our changes, each measured on this 2-core CPU (1 thread per run) to fit the issue's budgets
#: (pendulum 10 min, reaction-diffusion 30 min):
#: * the paper's norm objective ``||F_a|| + lambda L_traj``: with the squared norm the pull on F_a
#:   vanishes as F_a -> 0 and the pendulum network kept ~15% of the friction (alpha stalled at 0.17);
#: * one inner step per multiplier update, float32 (2x faster; the RK4 floors above stay);
#: * ``tau1_physics``: Adam at tau1 = 1e-3 moves a log- or sigmoid-parameterised physical
#:   parameter by at most ~0.1% per step (the released runs take 50000 epochs to get there);
#: * PDE systems: ``physics_warmup`` iterations fitting the physical parameters alone (a physics
#:   step is 30-50x cheaper than a network step: 0.2 s vs 3 s per RD iteration) -- without it the
#:   network first absorbs the dynamics and the min-norm term hands them back to the physics at
#:   ~1% of the parameter per iteration (RD: b still 0.0037 of 0.005 after 80 iterations); then
#:   cosine-decayed rates, so the parameters settle instead of jittering by ~tau1;
#: * ``zero_output``: F_a starts at exactly 0 (the hybrid starts as its physical model);
#: * mini-batches of 16 (RD) / 8 (wave) trajectories trained on their first 11 frames (the
#:   forecast cost is linear in both; validation and test use the whole 25-step horizon);
#: * lambda0 sized so that the equilibrium shrinkage of F_a under the norm term is small: in the
#:   paper form the optimum shrinks F_a by delta ~ 1 / (2 c lambda), c = dL_traj/d(delta^2)
#:   (~2 for RD over 2.5 time units, ~2e-4 for the wave over 0.024 s), hence 1e3 / 1e5.
PRESETS = {
    # Pendulum, tuned for a 10-minute CPU budget (measured here, 1 thread): the paper's norm
    # objective ||F_a|| + lambda L_traj (the squared norm's gradient vanishes as F_a -> 0, so the
    # network kept ~15% of the friction: alpha stalled at 0.17 after 300 iterations), one inner
    # step per lambda update, float32 (2x faster; the RK4 floor stays at log10 MSE -9.2), and
    # tau1_physics = 3e-2: alpha 0.1999, omega0^2 error 0.01% after 700 iterations (~6 min).
    "pendulum": Preset(
        network="mlp", network_kwargs=dict(hidden=200, layers=2, init_gain=0.2),
        config=dict(lambda0=1.0, tau1=1e-3, tau2=1.0, n_iter=1, batch_size=25, fa_norm="relative",
                    objective="paper", validate_every=50, lambda_update="last_step"),
        integrator=dict(substeps=3), iterations=700, dtype="float32", tau1_physics=3e-2,
    ),
    "reaction_diffusion": Preset(
        network="conv", network_kwargs=dict(hidden=16, layers=1, boundary="periodic", zero_output=True),
        config=dict(lambda0=1e3, tau1=1e-3, tau2=1e-3, n_iter=1, batch_size=16, fa_norm="absolute",
                    objective="paper", validate_every=50, lambda_update="last_step",
                    physics_warmup=300, lr_decay="cosine"),
        integrator=dict(substeps=2), iterations=200, dtype="float32", tau1_physics=5e-2, train_frames=11,
    ),
    "wave": Preset(
        network="conv", network_kwargs=dict(hidden=16, layers=1, boundary="neumann", zero_output=True),
        config=dict(lambda0=1e5, tau1=1e-3, tau2=1e-3, n_iter=1, batch_size=8, fa_norm="absolute",
                    objective="paper", validate_every=50, lambda_update="last_step",
                    physics_warmup=600, lr_decay="cosine"),
        integrator=dict(substeps=1), iterations=300, dtype="float32", tau1_physics=1e-2, train_frames=11,
    ),
}

#: Published numbers (ICLR 2021, Table 1): (system, prior, aug) -> (log10 MSE, param error %, ||F_a||^2).
PAPER = {
    ("pendulum", "complete", True): (-8.31, 0.39, 8.5),
    ("pendulum", "incomplete", False): (-0.14, 13.2, None),
    ("pendulum", "incomplete", True): (-7.86, 4.0, None),
    ("reaction_diffusion", "complete", True): (-9.35, 0.096, 1.5e-6),
    ("reaction_diffusion", "incomplete", True): (-5.10, 2.3, None),  # APHYNITY Param PDE (a, b)
    ("wave", "complete", True): (-6.09, 0.63, 4.35),
    ("wave", "incomplete", True): (-4.64, 0.3, None),
}


def build_model(system: str, prior: str, aug: bool) -> HybridModel:
    """``HybridModel(F_p of prior, F_a of the preset)``; ``F_a`` off with ``aug=False``."""
    spec, preset = get_system(system), PRESETS[system]
    physics = make_prior(system, prior, learnable=True)
    channels = spec.state_shape[0]
    net_cls = {"mlp": lambda: MLP(channels, **preset.network_kwargs),
               "conv": lambda: ConvResNet(channels, **preset.network_kwargs)}[preset.network]
    network = net_cls() if (aug or physics is None) else None
    return HybridModel(physics, network, augment=aug or physics is None)


def parameter_error(system: str, prior: str, params: dict) -> Optional[float]:
    """Mean over the prior's parameters of ``|p - p_true| / p_true``, in %; ``None`` without physics."""
    if prior == "none":
        return None
    true = get_system(system).true_params
    names = get_system(system).priors[prior].params
    return 100.0 * statistics.mean(abs(params[n] - true[n]) / abs(true[n]) for n in names)


def integrator_config(spec, preset: Preset, substeps: Optional[int]) -> IntegratorConfig:
    """The preset's integrator; ``substeps`` (or a preset ``substeps`` entry) means RK4 with ``dt / substeps``."""
    kw = dict(preset.integrator)
    n = substeps or kw.pop("substeps", None)
    if n:
        kw = dict(method="rk4", step_size=spec.dt / n)
    return IntegratorConfig(**kw)


def split_optimizer(model: HybridModel, tau1: float, tau1_physics: float) -> torch.optim.Optimizer:
    """Adam with learning rate ``tau1_physics`` on the physical parameters and ``tau1`` on the rest."""
    phys = model.learnable_physics_parameters()
    ids = {id(p) for p in phys}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups = [{"params": g, "lr": lr} for g, lr in ((rest, tau1), (phys, tau1_physics)) if g]
    return torch.optim.Adam(groups, lr=tau1, betas=(0.9, 0.999))


class FixedModel:
    """Forecasts of a model without learnable parameters ("true" prior, no ``F_a``): nothing to train."""

    def __init__(self, model: HybridModel, config: AphynityConfig) -> None:
        self.config, self.device, self.dtype = config, torch.device(config.device), config.torch_dtype
        self.model = model.to(device=self.device, dtype=self.dtype)

    def forecast(self, x0: torch.Tensor, t: torch.Tensor, grad: bool = False) -> torch.Tensor:
        return odeint(self.model, x0, t, **self.config.integrator.kwargs())

    @torch.no_grad()
    def evaluate(self, data) -> dict:
        data = data.to(device=self.device, dtype=self.dtype)
        mse = float(torch.mean((self.forecast(data.x[:, 0], data.t) - data.x) ** 2))
        return {"mse": mse, "log10_mse": math.log10(mse) if mse > 0 else float("-inf"), "fa_norm2": 0.0,
                "params": self.model.physical_parameters()}


def progress_printer(every: int, seed: int, t0: float):
    """A ``fit`` callback printing one JSON line every ``every`` outer iterations (0: silent)."""

    def callback(iteration: int, record: dict) -> None:
        if every and iteration % every == 0:
            keep = {k: record[k] for k in ("loss", "l_traj", "fa_norm2", "lam", "params")}
            print(json.dumps({"seed": seed, "iteration": iteration, "elapsed_s": round(time.perf_counter() - t0, 1),
                              **keep}), flush=True)

    return callback


def run_seed(args, seed: int, data: dict) -> tuple:
    """Train and test one seed; returns ``(record, trainer, history)``."""
    preset = PRESETS[args.system]
    spec = get_system(args.system)
    torch.manual_seed(seed)
    model = build_model(args.system, args.prior, args.aug)
    min_norm = model.physics is not None and model.has_augmentation
    cfg = dict(preset.config)
    if args.physics_warmup is not None:
        cfg["physics_warmup"] = args.physics_warmup
    warmup = cfg.get("physics_warmup", 0) if model.learnable_physics_parameters() else 0  # else nothing to warm up
    cfg["physics_warmup"] = warmup
    cfg.update(iterations=warmup + (args.iterations or preset.iterations), seed=seed, device=args.device,
               dtype=args.dtype or preset.dtype, min_norm=min_norm, progress=False,
               integrator=integrator_config(spec, preset, args.substeps))
    if args.validate_every:
        cfg["validate_every"] = args.validate_every
    if args.batch_size:
        cfg["batch_size"] = args.batch_size
    for name in ("lambda0", "tau1", "tau2", "n_iter"):
        if getattr(args, name) is not None:
            cfg[name] = getattr(args, name)
    if args.lr_decay:
        cfg["lr_decay"] = None if args.lr_decay == "none" else args.lr_decay
    config = AphynityConfig(**cfg)
    train = data["train"]
    frames = args.train_frames or preset.train_frames
    if frames:
        if not 2 <= frames <= train.t.numel():
            raise ValueError(f"train_frames must be in [2, {train.t.numel()}], got {frames}")
        train = Trajectories(train.t[:frames], train.x[:, :frames])
    t0 = time.perf_counter()
    if any(p.requires_grad for p in model.parameters()):
        trainer = AphynityTrainer(model, config)
        tau1_physics = args.tau1_physics or preset.tau1_physics
        if tau1_physics and model.physics is not None:
            trainer.optimizer = split_optimizer(trainer.model, config.tau1, tau1_physics)
        history = trainer.fit(train, data["val"], callback=progress_printer(args.log_every, seed, t0))
    else:
        trainer, history = FixedModel(model, config), History()
    wall = time.perf_counter() - t0
    test = trainer.evaluate(data["test"])
    record = {
        "seed": seed, "mse": test["mse"], "log10_mse": test["log10_mse"], "fa_norm2": test["fa_norm2"],
        "params": test["params"], "param_error_pct": parameter_error(args.system, args.prior, test["params"]),
        "train_wall_s": wall, "iterations": history.iteration[-1] if history.iteration else 0,
        "best_iteration": history.best_iteration, "best_val_mse": history.best_val_mse,
        "config": config.to_dict(),
    }
    return record, trainer, history


def plot_trajectory(trainer: AphynityTrainer, test, system: str, path: Path, title: str) -> Path:
    """Truth vs forecast of the first test trajectory: curves (pendulum) or snapshots (fields)."""
    spec = get_system(system)
    one = test.subset(slice(0, 1)).to(device=trainer.device, dtype=trainer.dtype)
    with torch.no_grad():
        pred = trainer.forecast(one.x[:, 0], one.t, grad=False)[0].cpu().double().numpy()
    truth, t = one.x[0].cpu().double().numpy(), one.t.cpu().double().numpy()
    if truth.ndim == 2:
        fig, axes = plt.subplots(1, truth.shape[1], figsize=(4.2 * truth.shape[1], 3.2), squeeze=False)
        for c, ax in enumerate(axes[0]):
            ax.plot(t, truth[:, c], "k-", label="truth")
            ax.plot(t, pred[:, c], "r--", label="forecast")
            ax.set_xlabel("t [s]")
            ax.set_title(spec.channels[c])
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=8)
    else:
        frames = sorted({0, len(t) // 2, len(t) - 1})
        fig, axes = plt.subplots(3, len(frames), figsize=(3.2 * len(frames), 8.6), squeeze=False)
        lim = np.abs(truth[:, 0]).max()
        for k, f in enumerate(frames):
            for r, (name, field_) in enumerate((("truth", truth[f, 0]), ("forecast", pred[f, 0]),
                                                ("error", pred[f, 0] - truth[f, 0]))):
                vmax = lim if r < 2 else max(np.abs(field_).max(), 1e-30)
                im = axes[r, k].imshow(field_, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                axes[r, k].set_title(f"{name} {spec.channels[0]}, t={t[f]:.3g}", fontsize=9)
                fig.colorbar(im, ax=axes[r, k], shrink=0.8)
    fig.suptitle(title)
    fig.tight_layout()
    return savefig(fig, path)


def device_name(device: str) -> str:
    """Human-readable device (CUDA name, or CPU with its thread count)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _mean_std(values: Sequence[Optional[float]]) -> tuple:
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return None, None
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", required=True, choices=systems())
    p.add_argument("--prior", required=True, choices=PRIORS, help="physical model F_p (none: Neural ODE)")
    p.add_argument("--aug", action=argparse.BooleanOptionalAction, default=True, help="use F_a (default on)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds 0..N-1 (network init, batch order)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--size", choices=("paper", "small"), default="paper", help="data set sizes (default paper)")
    p.add_argument("--n-train", type=int, default=None, help="override the number of training trajectories")
    p.add_argument("--n-val", type=int, default=None, help="override the number of validation trajectories")
    p.add_argument("--n-test", type=int, default=None, help="override the number of test trajectories")
    p.add_argument("--iterations", type=int, default=None, help="outer APHYNITY iterations, after any physics warm-up (default: the preset's)")
    p.add_argument("--batch-size", type=int, default=None, help="trajectories per mini-batch (default: the preset's)")
    p.add_argument("--validate-every", type=int, default=None, help="outer iterations between validations")
    p.add_argument("--lambda0", type=float, default=None, help="initial multiplier (default: the preset's)")
    p.add_argument("--tau1", type=float, default=None, help="Adam rate of the network (default: the preset's)")
    p.add_argument("--tau2", type=float, default=None, help="multiplier step (default: the preset's)")
    p.add_argument("--n-iter", type=int, default=None, help="inner steps per multiplier update (default: the preset's)")
    p.add_argument("--physics-warmup", type=int, default=None, help="physics-only iterations first (default: the preset's)")
    p.add_argument("--train-frames", type=int, default=None, help="train on the first N frames (default: the preset's)")
    p.add_argument("--lr-decay", choices=("none", "cosine"), default=None, help="learning-rate schedule (default: the preset's)")
    p.add_argument("--tau1-physics", type=float, default=None, help="Adam rate of the physical parameters (default: the preset's)")
    p.add_argument("--substeps", type=int, default=None, help="RK4 steps per data frame (default: the preset's)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None, help="default: the preset's")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the generated data")
    p.add_argument("--cache-dir", default=None, help="data cache folder (default $HYBRIDOCEAN_CACHE or ~/.cache)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--log-every", type=int, default=0, help="print progress every N outer iterations (0: never)")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    if args.prior == "none" and not args.aug:
        p.error("--prior none needs --aug (a model needs some dynamics)")
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the experiment; returns the metrics written to ``OUT/metrics.json``."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    sizes = {"train": args.n_train, "val": args.n_val, "test": args.n_test}
    data = {s: load_dataset(args.system, s, n=n, seed=args.data_seed, cache_dir=args.cache_dir, preset=args.size)
            for s, n in sizes.items()}
    records, first = [], None
    for seed in range(args.seeds):
        record, trainer, history = run_seed(args, seed, data)
        records.append(record)
        print(json.dumps({k: record[k] for k in ("seed", "log10_mse", "param_error_pct", "fa_norm2", "train_wall_s")}),
              flush=True)
        if first is None:
            first = (trainer, history)
    label = f"{args.system} prior={args.prior} {'aug' if args.aug else 'no-aug'}"
    trainer, history = first
    plot_trajectory(trainer, data["test"], args.system, out / "trajectory.png", label)
    if history.iteration:  # a model without learnable parameters has no training curves
        plot_training_curves({"loss": history.loss, "L_traj": history.l_traj, "lambda": history.lam,
                              "||F_a||^2": history.fa_norm2}, out / "training.png", label)
    lm, ls = _mean_std([r["log10_mse"] for r in records])
    pm, ps = _mean_std([r["param_error_pct"] for r in records])
    fm, fs = _mean_std([r["fa_norm2"] for r in records])
    paper = PAPER.get((args.system, args.prior, args.aug))
    spec = get_system(args.system)
    metrics = {
        "system": args.system, "prior": args.prior, "aug": args.aug,
        "model": "Neural ODE" if args.prior == "none" else spec.priors[args.prior].description,
        "n_seeds": args.seeds, "log10_mse_mean": lm, "log10_mse_std": ls,
        "param_error_pct_mean": pm, "param_error_pct_std": ps, "fa_norm2_mean": fm, "fa_norm2_std": fs,
        "paper": None if paper is None else dict(zip(("log10_mse", "param_error_pct", "fa_norm2"), paper)),
        "wall_s": time.perf_counter() - t_start, "device": device_name(args.device),
        "versions": {"hybridocean": getattr(hybridocean, "__version__", None) or importlib.metadata.version("hybridocean"), "torch": torch.__version__, "python": platform.python_version()},
        "data": {s: len(d) for s, d in data.items()} | {"frames": int(data["test"].t.numel()), "dt": spec.dt,
                                                       "seed": args.data_seed, "solver": spec.solver},
        "integrator": asdict(integrator_config(spec, PRESETS[args.system], args.substeps)),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]) if argv is None else " ".join(argv),
        "seeds": records, "preset": asdict(PRESETS[args.system]),
    }
    save_json(metrics, out / "metrics.json")
    return metrics


if __name__ == "__main__":
    main()
