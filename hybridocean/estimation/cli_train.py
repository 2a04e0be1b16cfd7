"""``hybridocean train-estimator``: train the learned estimator once on an observation file, for reuse
by ``hybridocean estimate --method learned --checkpoint CKPT``; and the training / checkpoint
helpers that ``estimate --method learned`` (without ``--checkpoint``) uses too.

::

    hybridocean train-estimator --obs OBS.nc --out CKPT [--model {qg1.5,sw}] [--iterations N]
        [--seed S] [--resume TRAINING_CKPT] [--H H | --Ld LD] [--param NAME=VALUE ...] [grid/time options]

Training (:meth:`~hybridocean.estimation.learned.LearnedEstimator.fit`, Ayed et al. 2019 with
APHYNITY dynamics ``F_p + F_a``): on the observed values of ``--obs`` only (gaps are never read),
binned on the output frames of ``estimate`` (the same grid and time options: a gridded input's
times, or every ``--step-hours`` from ``--start`` to ``--end``; at least 2 regular frames).
Model selection (the iterate with the lowest held-out misfit is kept): on a held-out platform
-- the one with the fewest observations -- when the file has >= 2 platforms (encoded from the
others on the same frames, scored on it), else on 15 % of the observations held out in whole
blocks of passes, :data:`HOLDOUT_BLOCK_CELLS` model-grid cells long
(:func:`~hybridocean.observations.holdout.block_holdout`, seed ``--seed``: a point drawn at random
along a track is a near-copy of its kept neighbours); which one is written to the checkpoint's
metadata and the estimate's attributes (``learned_validation``). ``--iterations`` outer iterations (default 40: a demonstration length for
small grids, not a converged training -- 20 iterations take ~10 s on a 16 x 16 twin on a loaded
2-core CPU, tests/hybridocean/estimation/test_cli_learned.py), validated every 5;
the trainer's progress bar on stderr (on a terminal). Physics: ``--model`` ``qg1.5`` (default) or
``sw`` with ``--Ld``/``--H`` (:mod:`.cli_models`), integrated by RK4 with the step of
:func:`.cli_models.max_step`. ``--param`` passes :class:`LearnedEstimator` arguments
(``window``, ``horizon``, ``hidden``, ``layers``, ``hidden_weight``, ``balance``). Gravity: the
QG state map ``psi = g eta / f0`` uses ``--g`` (else the file's attribute, else 9.81), stored in
the checkpoint, so ``estimate --checkpoint`` must be given the same ``g``.

Output: ``--out`` (written atomically, :meth:`LearnedEstimator.save`) with metadata ``model``,
``physical_parameters``, ``model_grid``, ``validation``, ``obs_file``; the trainer's own
checkpoints go to ``<out>.training/checkpoint.pt`` every validation, and ``--resume`` continues
one of them with the trainer's exact resume (same options, more ``--iterations``; validation every
``VALIDATE_EVERY`` iterations whatever ``--iterations``, so the resumed run's configuration is the
original's; a run shorter than that still checkpoints at its end).

A checkpoint is refused (one line naming ``--checkpoint``) when it does not exist, is not a saved
estimator, or its grid (cells, spacing, boundary, Coriolis plane), model or frame spacing
differs from the input's; a ``--resume`` file that is not a training checkpoint of the same
options is refused naming ``--resume``; a training that stops on a NaN/Inf loss is a one-line
error naming the iteration (``--obs (learned training): ...``).
"""
from __future__ import annotations

import argparse
import math
import pickle
import time
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

DEFAULT_ITERATIONS = 40
#: validation (model selection) and training checkpoints every this many iterations: fixed, so
#: that a resumed run with more --iterations continues the uninterrupted one exactly
VALIDATE_EVERY = 5
HOLDOUT_FRACTION = 0.15
#: side [model-grid cells] of the held-out blocks of a single-platform file (:func:`split_validation`):
#: 8 cells exceed twice the encoder's widest first-guess length (``prior_sigmas`` 1.5 and 3 cells), so
#: a held-out block's centre is not filled in from its own pass's kept points (the benchmark's
#: :data:`~.benchmark.HOLDOUT_BLOCK_CELLS` too)
HOLDOUT_BLOCK_CELLS = 8
#: ``--param`` names passed to the LearnedEstimator.
LEARNED_ARGS = ("window", "horizon", "hidden", "layers", "hidden_weight", "hidden_scale", "balance")


def holdout_block(obs: Any, grid: Any, cells: int = HOLDOUT_BLOCK_CELLS) -> Tuple[float, str]:
    """``(block, unit)``: ``cells`` cells of ``grid`` in the position units of ``obs``
    (:func:`~hybridocean.observations.holdout.block_holdout`'s ``block``): ``cells max(dlon, dlat)``
    [degrees] for lon/lat observations, ``cells max(dx, dy)`` [m] for x/y ones. ``UserError``
    naming ``--obs`` for lon/lat observations on a grid without lon/lat."""
    from hybridocean.cli import UserError
    from hybridocean.observations.holdout import block_size

    try:
        return block_size(obs, grid, cells), "deg" if obs.coords_kind == "lonlat" else "m"
    except ValueError:  # lon/lat observations on an x/y grid
        raise UserError("--obs: lon/lat observations need a lon/lat grid to hold out blocks of cells") from None


def split_validation(obs: Any, seed: int, grid: Any) -> Tuple[Any, Any, str]:
    """``(train, held-out, description)`` of an :class:`~hybridocean.observations.Observations`
    binned on the model ``grid`` (module docstring): the platform with the fewest observations when
    there are >= 2, else :data:`HOLDOUT_FRACTION` of them in whole blocks of passes
    :data:`HOLDOUT_BLOCK_CELLS` cells long (:func:`holdout_block`,
    :func:`~hybridocean.observations.holdout.block_holdout`, ``seed``). ``UserError`` naming
    ``--obs`` when there are too few observations (or blocks) to hold some out."""
    from hybridocean.cli import UserError
    from hybridocean.observations.holdout import block_holdout

    plats = obs.platforms
    if len(plats) >= 2:
        counts = {p: int((obs.platform == p).sum()) for p in plats}
        held = min(plats, key=lambda p: (counts[p], p))
        return (obs.select(exclude=held), obs.select(platforms=held),
                f"held-out platform {held!r} ({counts[held]} of {len(obs)} observations)")
    block, unit = holdout_block(obs, grid)
    try:
        train, val = block_holdout(obs, HOLDOUT_FRACTION, block, seed=seed)
    except ValueError as e:  # fewer than 2 observations, or all of them in one block
        raise UserError(f"--obs: {len(obs)} observation(s) are too few to hold some out for model selection "
                        f"({e})") from None
    return (train, val, f"held-out blocks of passes ({len(val)} of {len(obs)} observations, {HOLDOUT_FRACTION:.0%}; "
                        f"blocks of {HOLDOUT_BLOCK_CELLS} cells = {block:g} {unit}, seed {seed})")


def frame_spacing(times: np.ndarray) -> float:
    """[s] the regular spacing of the output frames (``UserError`` naming ``--step-hours``)."""
    from hybridocean.cli import UserError

    t = np.asarray(times).astype("datetime64[ns]").astype(np.int64) / 1e9
    d = np.diff(t)
    if d.size == 0 or not np.allclose(d, d[0], rtol=1e-6):
        raise UserError("--step-hours/--start/--end: the learned estimator needs >= 2 regularly spaced output "
                        f"times, got {t.size} with spacings {np.unique(d)[:3]} s")
    return float(d[0])


#: what reading or applying a file that is not a training checkpoint of these options raises
#: (``torch.load`` of another file; a dict without the trainer's keys; another network size)
_RESUME_ERRORS = (pickle.UnpicklingError, EOFError, KeyError, AttributeError, RuntimeError)


def _is_resume_error(e: BaseException) -> bool:
    """Did ``e`` come from loading the ``--resume`` checkpoint (not from the training itself)?"""
    if isinstance(e, RuntimeError):
        return "state_dict" in str(e)  # load_state_dict of networks of another size
    return isinstance(e, _RESUME_ERRORS) or "resume" in str(e).lower() or "checkpoint" in str(e).lower()


def check_resume(path: Path, option: str = "--resume") -> None:
    """``UserError`` naming ``option`` unless ``path`` is a trainer checkpoint (a dict with the
    model, optimizer and config the :class:`~hybridocean.training.AphynityTrainer` writes)."""
    from hybridocean.cli import UserError, one_line
    from hybridocean.training.checkpoint import load_checkpoint

    try:
        st = load_checkpoint(path)
    except (OSError, ValueError) + _RESUME_ERRORS as e:
        raise UserError(f"{option} {str(path)!r}: not a training checkpoint ({one_line(e)})") from None
    missing = [k for k in ("model", "optimizer", "config", "iteration") if not isinstance(st, dict) or k not in st]
    if missing:
        raise UserError(f"{option} {str(path)!r}: not a training checkpoint (no {', '.join(missing)})")


def train_learned(obs: Any, grid: Any, times: np.ndarray, physics: Any, args: argparse.Namespace,
                  params: Dict[str, Any], resume: Any = None, checkpoint_dir: Any = None,
                  g: Optional[float] = None) -> Tuple[Any, Dict[str, Any]]:
    """Train a :class:`LearnedEstimator` on the observations ``obs`` (Observations, finite SSH)
    binned on ``grid`` (the model grid) at ``times``; returns ``(estimator, info)``. ``g``
    [m/s^2]: gravity of the QG state map ``psi = g eta / f0`` (``None``: 9.81, the estimator's
    default). A NaN/Inf training loss is a ``UserError`` naming the iteration; a ``resume``
    checkpoint of other options (network sizes) one naming ``--resume``."""
    from hybridocean.cli import UserError, one_line
    from hybridocean.training import NonFiniteLossError

    from .cli_models import max_step, steps_in
    from .learned import LearnedEstimator, default_config

    unknown = sorted(set(params) - set(LEARNED_ARGS))
    if unknown:
        raise UserError(f"--param {unknown[0]}: the learned estimator takes no such parameter ({', '.join(LEARNED_ARGS)})")
    dt = frame_spacing(times)
    train, val, how = split_validation(obs, args.seed, grid)
    k = steps_in(dt, max_step(physics, "rk4"))
    # validation every VALIDATE_EVERY whatever --iterations (a resumed run's configuration is the
    # original's); checkpoints at least once in a short run (their interval is not part of it)
    every = min(VALIDATE_EVERY, args.iterations)
    try:
        est = LearnedEstimator(physics, seed=args.seed, **params, **({} if g is None else {"g": g}))
    except (ValueError, TypeError) as e:
        raise UserError(f"--param ({', '.join(f'{k}={v}' for k, v in params.items()) or 'defaults'}): {one_line(e)}") from None
    try:
        cfg = default_config(dt, steps_per_frame=k, iterations=args.iterations, validate_every=VALIDATE_EVERY,
                             lambda_update="last_step", seed=args.seed, progress=None,
                             checkpoint_every=every if checkpoint_dir else 0,
                             checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir))
        t0 = time.perf_counter()
        est.fit(train, grid, times, val_obs=val, config=cfg, resume=resume)
    except NonFiniteLossError as e:
        raise UserError(f"--obs (learned training): {one_line(e)} (other --param values, e.g. a smaller "
                        "hidden_scale, or fewer --iterations may help)") from None
    except (ValueError, TypeError) + _RESUME_ERRORS as e:
        if resume is not None and _is_resume_error(e):
            raise UserError(f"--resume {str(resume)!r}: not a training checkpoint of these options "
                            f"({one_line(e)[:300]})") from None
        if not isinstance(e, (ValueError, TypeError)):
            raise
        msg = one_line(e)
        named = next((k for k in params if msg.startswith(f"{k} ")), None)  # e.g. "hidden must be >= 1"
        raise UserError(f"--param {named}={params[named]}: {msg}" if named else f"--obs (learned training): {msg}") from None
    h = est.history
    info = {"learned_validation": how, "learned_iterations": len(h.loss), "learned_steps_per_frame": k,
            "learned_frame_s": dt, "learned_best_val_misfit": float(min(h.val_mse)) if h.val_mse else math.nan,
            "learned_train_s": round(time.perf_counter() - t0, 3)}
    return est, info


def _checkpoint_meta(path: str) -> Dict[str, Any]:
    """The metadata of the saved estimator ``path`` (``UserError`` naming ``--checkpoint``)."""
    from hybridocean.cli import UserError, one_line

    from .learned import LearnedEstimator

    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"--checkpoint {path!r}: no such file")
    try:
        return LearnedEstimator.read_metadata(p)
    except (ValueError, OSError) as e:
        raise UserError(f"--checkpoint {path!r}: not a saved learned estimator ({one_line(e)})") from None


def checkpoint_model(path: str) -> str:
    """The ``--model`` (``qg1.5``/``sw``) the checkpoint ``path`` was trained with."""
    from hybridocean.cli import UserError

    meta = _checkpoint_meta(path)
    kind = (meta.get("metadata") or {}).get("model")
    cls = (meta.get("physics") or {}).get("class")
    kind = kind or {"QG": "qg1.5", "ShallowWater": "sw"}.get(cls)
    if kind is None:
        raise UserError(f"--checkpoint {path!r}: its physics ({cls}) is not one of the CLI's models (qg1.5, sw)")
    return kind


def load_learned(path: str, grid: Any, times: np.ndarray, kind: Any, phys_flags: Dict[str, Any], g: float) -> Tuple[Any, Dict[str, Any]]:
    """The estimator saved at ``path`` (``--checkpoint``), checked against the input's model
    ``grid``, the output frames ``times`` and ``--model kind`` (None: the checkpoint's);
    returns ``(estimator, info)`` with its training metadata."""
    from hybridocean.cli import UserError, one_line

    from .cli_models import build_physics, depth_to_radius, physical_parameters
    from .learned import LearnedEstimator
    from .learned_io import grid_from_dict

    p = Path(path).expanduser()
    meta = _checkpoint_meta(path)
    saved_kind = checkpoint_model(path)
    mine = meta.get("metadata") or {}
    if kind is not None and kind != saved_kind:
        raise UserError(f"--checkpoint {path!r}: trained with --model {saved_kind}, not --model {kind}")
    ref = grid_from_dict(meta["grid"])
    try:
        ref.check_compatible(grid, "grid")
        for k in ("f0", "beta", "y0"):
            if not math.isclose(getattr(ref, k), getattr(grid, k), rel_tol=1e-9, abs_tol=1e-30):
                raise ValueError(f"grid.{k} = {getattr(grid, k):g} differs from {getattr(ref, k):g}")
        for k in ("lon", "lat"):
            a, b = getattr(ref, k), getattr(grid, k)
            if (a is None) != (b is None) or (a is not None and not np.allclose(np.asarray(a), np.asarray(b), atol=1e-9)):
                raise ValueError(f"its {k} differ from the input's")
    except ValueError as e:
        raise UserError(f"--checkpoint {path!r}: its grid ({ref.ny} x {ref.nx}, dx {ref.dx:g} m) does not match "
                        f"the input's ({grid.ny} x {grid.nx}, dx {grid.dx:g} m): {one_line(e)}") from None
    dt = frame_spacing(times)
    if abs(dt - float(meta["dt_s"])) > 1e-6 * dt:
        raise UserError(f"--step-hours: the checkpoint was trained on frames every {float(meta['dt_s']) / 3600:g} h; "
                        f"the output times are {dt / 3600:g} h apart")
    saved = (meta.get("physics") or {}).get("parameters") or {}
    phys = physical_parameters(saved_kind, grid, g, phys_flags.get("H"), phys_flags.get("Ld"))
    if saved_kind == "qg1.5":
        phys["Ld_m"] = float(saved.get("Ld", phys["Ld_m"]))
    else:  # the saved depth fixes Ld too (so a --Ld that differs from it is refused below)
        phys["H_m"], phys["g_m_per_s2"] = float(saved.get("H", phys["H_m"])), float(saved.get("g", g))
        phys["Ld_m"], phys["H_source"] = depth_to_radius(grid, phys["g_m_per_s2"], phys["H_m"]), "checkpoint"
    phys["Ld_source"] = "checkpoint"
    for flag, key in (("Ld", "Ld_m"), ("H", "H_m")):
        given = phys_flags.get(flag)
        if given is not None and key in phys and not math.isclose(given, phys[key], rel_tol=1e-9):
            raise UserError(f"--{flag} {given:g}: the checkpoint's model has {key[:-2]} = {phys[key]:g}")
    try:
        est = LearnedEstimator.load(p, build_physics(saved_kind, grid, phys))
    except (ValueError, TypeError) as e:
        raise UserError(f"--checkpoint {path!r}: {one_line(e)}") from None
    info = {"learned_checkpoint": str(p.resolve()), "learned_validation": mine.get("validation", "unknown"),
            "learned_iterations": (meta.get("history_summary") or {}).get("iterations")}
    return est, {"kind": saved_kind, "phys": phys, "info": info}


class TrainEstimator:
    """``hybridocean train-estimator`` (module docstring)."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``train-estimator`` and its options (the grid/time options of ``estimate``)."""
        from .cli import add_input_options
        from .cli_models import add_model_options

        p = subparsers.add_parser("train-estimator", help="train the learned estimator on an observation file",
                                  description="Train the learned SSH/current estimator on the observed values of an "
                                              "observation file and save it for 'estimate --method learned --checkpoint'.")
        p.add_argument("--obs", required=True, help="Observations netCDF (dim 'obs') or gridded SSH with NaN gaps")
        p.add_argument("--out", required=True, help="the checkpoint to write (atomically), e.g. learned.pt")
        p.add_argument("--resume", default=None, help="a training checkpoint (<out>.training/checkpoint.pt) to continue")
        add_input_options(p)
        add_model_options(p, checkpoint=False)
        return p

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Read, train, save; prints a one-line summary. Returns 0."""
        from hybridocean.cli import UserError, output_file

        from .cli import model_inputs
        from .cli_inputs import notes

        out = output_file(args.out, inputs={"--obs": args.obs, "--grid": getattr(args, "grid", None)})
        args.method = "learned"
        args.iterations = DEFAULT_ITERATIONS if args.iterations is None else args.iterations
        resume = None
        if args.resume is not None:
            from .learned import LearnedEstimator

            resume = Path(args.resume).expanduser()
            if not resume.is_file():
                raise UserError(f"--resume {args.resume!r}: no such file")
            try:
                LearnedEstimator.read_metadata(resume)
                raise UserError(f"--resume {args.resume!r}: a saved estimator, not a training checkpoint "
                                f"(give {out}.training/checkpoint.pt)")
            except ValueError:
                pass
            check_resume(resume)
        mi = model_inputs(args)
        with warnings.catch_warnings(record=True) as caught:  # e.g. a resumed config that differs: one note line
            warnings.simplefilter("always")
            est, info = train_learned(mi["points"], mi["model_grid"], mi["times"], mi["physics"], args, mi["params"],
                                      resume=resume, checkpoint_dir=Path(str(out) + ".training"), g=mi["g"])
        notes([w for w in caught if issubclass(w.category, UserWarning)])
        meta = {"model": mi["kind"], "physical_parameters": mi["phys"], "model_grid": mi["model_grid_kind"],
                "validation": info["learned_validation"], "obs_file": str(Path(args.obs).expanduser().resolve()),
                "iterations": info["learned_iterations"]}
        est.save(out, metadata=meta)
        print(f"train-estimator: {mi['kind']} on {len(mi['points'])} observed values, {len(mi['times'])} frames "
              f"every {info['learned_frame_s'] / 3600:g} h, {info['learned_iterations']} iterations in "
              f"{info['learned_train_s']:.1f} s; model selection on the {info['learned_validation']} "
              f"(best misfit {info['learned_best_val_misfit']:.3g}); wrote {out}")
        return 0


__all__ = ["TrainEstimator", "train_learned", "load_learned", "split_validation", "holdout_block", "check_resume",
           "DEFAULT_ITERATIONS", "HOLDOUT_BLOCK_CELLS"]
