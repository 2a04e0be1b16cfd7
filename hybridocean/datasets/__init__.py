"""The APHYNITY reference data sets and physical priors, behind one registry.

>>> train = load_dataset("pendulum", "train")            # Trajectories, t (40,), x (25, 40, 2)
>>> physics = make_prior("pendulum", "incomplete")        # frictionless, omega0^2 learnable

Systems: ``"pendulum"``, ``"reaction_diffusion"``, ``"wave"`` (see their modules for the
set-ups); priors: ``"none"``, ``"incomplete"``, ``"complete"``, ``"true"``.
"""
from __future__ import annotations

import os
from typing import Optional, Union

import torch
from torch import nn

from hybridocean.trajectories import Trajectories
from physics._checks import check_int

from . import pendulum, reaction_diffusion, wave  # noqa: F401  (register the systems)
from .base import PRIORS, SPLIT_IDS, PriorSpec, SystemSpec, get_system, systems, trajectory_rng
from .cache import cache_path, default_cache_dir, load_trajectories, save_trajectories


def make_prior(system: str, prior: str, learnable: bool = True) -> Optional[nn.Module]:
    """The physical model ``F_p`` of ``prior`` for ``system`` (``None`` for ``prior="none"``).

    ``"true"``: all terms, true parameters, fixed. ``"complete"``: all terms, parameters
    learned from the released code's initial guesses. ``"incomplete"``: the paper's reduced
    model (frictionless pendulum / diffusion only / undamped wave). ``learnable=False`` keeps
    the initial guesses fixed. Parameters are float64 and do not promote float32 states.
    """
    return get_system(system).make_physics(prior, learnable=learnable)


def generate(system: str, split: str, n: int, seed: int = 0) -> Trajectories:
    """Generate ``n`` trajectories of ``split`` (float64, deterministic in ``(seed, split, i)``)."""
    spec = get_system(system)
    n, seed = check_int("n", n, 1), check_int("seed", seed, 0)
    y0 = torch.stack([torch.from_numpy(spec.initial_state(trajectory_rng(seed, split, i))) for i in range(n)])
    t = spec.times()
    physics = spec.make_physics("true")
    x = spec.solve(physics, y0, t)
    return Trajectories(t, x)


def generator_settings(spec: SystemSpec) -> dict:
    """Everything the generated data depend on besides ``(split, seed, n)`` (hashed into cache names)."""
    return {
        "system": spec.name, "version": spec.version, "dt": spec.dt, "n_frames": spec.n_frames,
        "true_params": dict(spec.true_params), "solver": spec.solver, "state_shape": list(spec.state_shape),
    }


def load_dataset(
    system: str,
    split: str,
    n: Optional[int] = None,
    seed: int = 0,
    cache_dir: Union[str, os.PathLike, None] = None,
    preset: str = "paper",
    use_cache: bool = True,
) -> Trajectories:
    """Trajectories of ``split`` (``"train"``, ``"val"``, ``"test"``) of ``system``, float64.

    Args:
        n: number of trajectories; default the ``preset`` size (``"paper"`` or ``"small"``).
        seed: data seed (trajectory ``i`` depends only on ``(seed, split, i)``).
        cache_dir: netCDF cache folder (default :func:`default_cache_dir`).
        use_cache: read/write the cache; ``False`` always regenerates.

    Returns:
        ``Trajectories`` with ``t`` ``(T,)`` and ``x`` ``(n, T, *state_shape)``.
    """
    spec = get_system(system)
    if split not in SPLIT_IDS:
        raise ValueError(f"split must be one of {tuple(SPLIT_IDS)}, got {split!r}")
    n = spec.size(split, preset) if n is None else check_int("n", n, 1)
    seed = check_int("seed", seed, 0)
    if not use_cache:
        return generate(system, split, n, seed)
    settings = generator_settings(spec)
    path = cache_path(cache_dir or default_cache_dir(), system, split, seed, n, settings)
    if path.exists():
        return load_trajectories(path, spec.channels)
    traj = generate(system, split, n, seed)
    save_trajectories(path, traj, spec.channels, {**settings, "split": split, "seed": seed, "n": n})
    return traj


__all__ = [
    "PRIORS", "PriorSpec", "SystemSpec", "generate", "get_system", "load_dataset", "make_prior", "systems",
    "generator_settings",
]
