"""Atomic training checkpoints (temporary file in the target folder, fsync, then ``os.replace``).

A checkpoint is a dict (model and optimizer ``state_dict``, Lagrange multiplier, iteration,
history, best-validation state, every RNG state, config). ``os.replace`` is atomic on POSIX, so
the file on disk is always either the previous complete checkpoint or the new complete one --
never a half-written file, even if the process is killed while saving.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from ..io import atomic_write

PathLike = Union[str, os.PathLike]
CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: PathLike, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (:func:`hybridocean.io.atomic_write`)."""
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Uses ``weights_only=False`` because the file holds Python RNG states and the history: only
    load checkpoints you wrote yourself.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {str(path)!r} does not exist")
    return torch.load(path, map_location=map_location, weights_only=False)


def rng_states() -> dict:
    """Every global RNG state (torch CPU, CUDA when available, Python ``random``, NumPy)."""
    out = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_states(states: dict) -> None:
    """Restore the states returned by :func:`rng_states`."""
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


__all__ = ["save_checkpoint", "load_checkpoint", "rng_states", "set_rng_states", "CHECKPOINT_NAME"]
