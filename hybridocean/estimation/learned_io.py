"""Persistence of a trained :class:`~hybridocean.estimation.learned.LearnedEstimator`.

One file (``torch.save`` of a dict, written atomically by
:func:`hybridocean.training.checkpoint.save_checkpoint`) holds everything the estimator needs to
estimate again, bit for bit, without its training data:

* ``format`` = :data:`FORMAT`, ``version`` = :data:`VERSION`;
* ``meta`` (plain Python: read cheaply by :func:`read_metadata`): the constructor arguments,
  ``physics`` (class name and module, state channels, learned physical parameters in physical
  units -- :func:`physics.parameters.parameter_values`), ``grid`` (the constructor arguments of
  :class:`~physics.grid.Grid`, lon/lat included) and ``grid_attrs``
  (:func:`hybridocean.io.grid_attrs`), ``dt_s`` [s] (frame spacing), ``ssh_scale_m`` [m]
  (the SSH scale ``s``), the trainer's :class:`~hybridocean.training.AphynityConfig` (dict) and multiplier ``lambda``, the
  training :class:`~hybridocean.training.History` (dict) and its summary, ``first_guess`` (the
  first-guess estimator's class, module and constructor arguments,
  :func:`~.learned_first_guess.first_guess_spec`, or ``None``), and the caller's ``metadata``
  (JSON-like values);
* ``encoder`` and ``model`` state dicts (``model``: the :class:`~hybridocean.hybrid.HybridModel`,
  i.e. ``F_a`` and the physics model's learned parameters).

The file holds only tensors and plain Python values, so it is read with ``weights_only=True``
(no code is unpickled). The physics model is not pickled: the caller rebuilds it (the metadata
says which class, on which grid, with which parameters) and :func:`load_estimator` checks it.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch import nn

from hybridocean.io import grid_attrs
from hybridocean.training import AphynityConfig, AphynityTrainer, History
from hybridocean.training.checkpoint import save_checkpoint
from physics.grid import Grid
from physics.parameters import PhysicalParameter, parameter_values

from .learned_first_guess import check_first_guess, first_guess_spec, rebuild_first_guess

PathLike = Union[str, os.PathLike]

FORMAT = "hybridocean.LearnedEstimator"
"""The ``format`` entry of a saved estimator."""
VERSION = 1
"""The file layout version (bumped on an incompatible change)."""


def grid_to_dict(grid: Grid) -> Dict[str, Any]:
    """The constructor arguments of ``grid`` (plain Python; lon/lat as lists or ``None``)."""
    lonlat = {k: None if getattr(grid, k) is None else np.asarray(getattr(grid, k), dtype=np.float64).tolist()
              for k in ("lon", "lat")}
    return {"nx": grid.nx, "ny": grid.ny, "dx": grid.dx, "dy": grid.dy, "boundary": grid.boundary,
            "f0": grid.f0, "beta": grid.beta, "y0": grid.y0, "metric": grid.metric, **lonlat}


def grid_from_dict(d: Dict[str, Any]) -> Grid:
    """Inverse of :func:`grid_to_dict` (a float64 CPU grid)."""
    kw = dict(d)
    for k in ("lon", "lat"):
        if kw.get(k) is not None:
            kw[k] = np.asarray(kw[k], dtype=np.float64)
    return Grid(**kw)


def _plain(v: Any, name: str) -> Any:
    """``v`` as plain Python (dict/list/str/number/bool/None), or ``TypeError`` naming ``name``."""
    if isinstance(v, dict):
        return {str(k): _plain(x, f"{name}[{k!r}]") for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, f"{name}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    raise TypeError(f"{name} must hold only plain values (dict, list, str, number, bool, None), got {type(v).__name__}")


def history_summary(h: History) -> Dict[str, Any]:
    """``iterations``, last ``loss``/``l_traj``/``fa_norm2``/``lam``, ``best_iteration``,
    ``best_val_mse`` of a training history (``None`` where there is none)."""
    last = lambda a: a[-1] if a else None  # noqa: E731
    return {"iterations": len(h.iteration), "loss": last(h.loss), "l_traj": last(h.l_traj),
            "fa_norm2": last(h.fa_norm2), "lam": last(h.lam), "best_iteration": h.best_iteration,
            "best_val_mse": h.best_val_mse}


def _learnable_names(physics: nn.Module) -> list:
    """Names (as :func:`parameter_values` gives them) of the learnable physical parameters."""
    return sorted(m.name if name.startswith("params.") else name for name, m in physics.named_modules()
                  if isinstance(m, PhysicalParameter) and m.raw.requires_grad)


def _physics_meta(physics: Optional[nn.Module]) -> Optional[Dict[str, Any]]:
    if physics is None:
        return None
    grid = getattr(physics, "grid", None)
    return {"class": type(physics).__name__, "module": type(physics).__module__,
            "channels": list(getattr(physics, "CHANNELS", ())) or None,
            "nlayers": getattr(physics, "nlayers", None),
            "parameters": _plain(parameter_values(physics), "physics parameters"),
            "learnable": _learnable_names(physics),
            "grid": None if grid is None else grid_to_dict(grid)}


def save_estimator(est, path: PathLike, metadata: Optional[Dict[str, Any]] = None) -> Path:
    """Write the trained estimator ``est`` to ``path`` atomically (module docstring).

    Args:
        est: a fitted (or loaded) :class:`~hybridocean.estimation.learned.LearnedEstimator`.
        path: the file (parent folders are created); by convention ``*.pt``.
        metadata: the caller's JSON-like dict (e.g. the twin, the observation scenario).
    Returns the path written.
    """
    est._require_fit()
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    tr = est.trainer
    meta = {
        "args": {**est.init_args, "ensemble": int(est.ensemble)},  # ensemble may be changed after fit
        "physics": _physics_meta(est.physics),
        "grid": grid_to_dict(est.grid),
        "grid_attrs": _plain(grid_attrs(est.grid), "grid attributes"),
        "dt_s": float(est.dt),
        "ssh_scale_m": float(est.scale),
        "config": _plain(tr.config.to_dict(), "config"),
        "lambda": float(tr.lam),
        "history": _plain(tr.history.to_dict(), "history"),
        "history_summary": _plain(history_summary(tr.history), "history"),
        "first_guess": _plain(first_guess_spec(est.first_guess), "first_guess"),
        "metadata": _plain(dict(metadata or {}), "metadata"),
    }
    state = {"format": FORMAT, "version": VERSION, "meta": meta,
             "encoder": est.encoder.state_dict(), "model": est.model.state_dict()}
    return save_checkpoint(path, state)


def _read(path: PathLike) -> dict:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: {str(p)!r} does not exist (or is not a file)")
    try:
        st = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # a file torch cannot read at all
        raise ValueError(f"path: {str(p)!r} is not a saved LearnedEstimator ({type(e).__name__}: {e})") from None
    if not isinstance(st, dict) or st.get("format") != FORMAT:
        raise ValueError(f"path: {str(p)!r} is not a saved LearnedEstimator (no format {FORMAT!r}; "
                         "a training checkpoint is resumed with fit(resume=...))")
    if st.get("version") != VERSION:
        raise ValueError(f"path: {str(p)!r} has layout version {st.get('version')!r}, this library reads {VERSION}")
    return st


def read_metadata(path: PathLike) -> Dict[str, Any]:
    """The ``meta`` dict of a saved estimator (module docstring): what is needed to rebuild its
    physics model (``meta["physics"]``: class, module, grid, parameters) and check the grid
    (``meta["grid"]``, ``meta["grid_attrs"]``). ``ValueError`` naming ``path`` for another file."""
    return _read(path)["meta"]


def _check_physics(meta: dict, physics: Optional[nn.Module]) -> None:
    want = meta["physics"]
    if want is None:
        if physics is not None:
            raise ValueError(f"physics: the estimator was trained without physics (neural dynamics); "
                             f"got a {type(physics).__name__}, pass physics=None")
        return
    if physics is None:
        raise ValueError(f"physics: the estimator was trained with a {want['class']} ({want['module']}); "
                         "rebuild it (read_metadata(path)['physics'] gives its grid and parameters) and pass it")
    if not isinstance(physics, nn.Module):
        raise TypeError(f"physics must be an nn.Module or None, got {type(physics).__name__}")
    got = (type(physics).__module__, type(physics).__name__)
    if got != (want["module"], want["class"]):
        raise ValueError(f"physics must be a {want['module']}.{want['class']} (the trained kind), got {got[0]}.{got[1]}")
    if (list(getattr(physics, "CHANNELS", ())) or None) != want["channels"] or getattr(physics, "nlayers", None) != want["nlayers"]:
        raise ValueError(f"physics: state channels/layers differ from the trained model's "
                         f"({want['channels']}, nlayers={want['nlayers']})")
    if want["grid"] is not None:
        grid = getattr(physics, "grid", None)
        if not isinstance(grid, Grid):
            raise ValueError("physics has no grid, the trained model had one")
        ref = grid_from_dict(want["grid"])
        try:
            ref.check_compatible(grid, "physics.grid")
        except ValueError as e:
            raise ValueError(f"physics: its grid differs from the trained one: {e}") from None
        for k in ("f0", "beta", "y0"):
            a, b = getattr(grid, k), getattr(ref, k)
            if not math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0):
                raise ValueError(f"physics: grid.{k} = {a} differs from the trained grid's {b}")


def _first_guess(meta: dict, given: Any):
    """The first-guess estimator of a loaded file: ``given`` (checked against the stored class
    and, where both are plain values, constructor arguments) or rebuilt from the stored spec;
    ``None`` for a file without one."""
    spec = meta.get("first_guess")
    check_first_guess(given)
    if spec is None:
        if given is not None:
            raise ValueError(f"first_guess: the estimator was trained without a first guess; got a {type(given).__name__}")
        return None
    if given is None:
        return rebuild_first_guess(spec)
    if type(given).__name__ != spec["class"]:
        raise ValueError(f"first_guess must be a {spec['class']} (the trained one), got {type(given).__name__}")
    want, got = spec.get("kwargs"), (first_guess_spec(given) or {}).get("kwargs")
    if want is not None and got is not None:
        got = _plain(got, "first_guess")  # tuples -> lists, as stored
        diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        if diff:
            raise ValueError(f"first_guess: its arguments differ from the trained one's in {diff} "
                             f"(given {[got.get(k) for k in diff]}, stored {[want.get(k) for k in diff]})")
    return given


def load_estimator(cls, path: PathLike, physics: Optional[nn.Module] = None, first_guess: Any = None):
    """A ``cls`` (LearnedEstimator) rebuilt from ``path`` on the given ``physics`` model, with
    ``first_guess`` (default: the stored first-guess estimator rebuilt; ``ValueError`` naming
    ``first_guess`` for another class, other constructor arguments, or one that cannot be
    rebuilt). Files saved before the ``output`` argument load with ``output="state"``, the
    behaviour they were trained and estimated with.

    The physics model's learned parameters are restored from the file (they overwrite the ones
    ``physics`` was built with). ``ValueError`` naming ``path`` for a file that is not a saved
    estimator, naming ``physics`` for a model of another class, channel count or grid.
    """
    st = _read(path)
    meta = st["meta"]
    _check_physics(meta, physics)
    if physics is not None:  # fixed parameters must be the trained ones; learned ones are restored below
        got, want = parameter_values(physics), meta["physics"]["parameters"]
        for k in sorted(set(want) - set(meta["physics"]["learnable"])):
            a, b = np.asarray(got.get(k, np.nan), float), np.asarray(want[k], float)
            # rtol 1e-6: a float32-trained model stores its fixed parameters rounded to float32
            # (eps 6e-8, e.g. beta = 1.5999999936e-11); a genuinely different value differs far more
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=0.0):
                raise ValueError(f"physics: its fixed parameter {k} = {got.get(k)} differs from the trained "
                                 f"model's {want[k]} (read_metadata(path)['physics']['parameters'])")
    meta["args"].setdefault("output", "state")  # files from before the option: trained / estimated with "state"
    est = cls(physics, first_guess=_first_guess(meta, first_guess), **meta["args"])
    grid = grid_from_dict(meta["grid"])
    est.grid, est.dt, est.scale = grid, float(meta["dt_s"]), float(meta["ssh_scale_m"])
    est._build(grid, est.dt, est.scale)
    config = AphynityConfig.from_dict(meta["config"])
    est.trainer = AphynityTrainer(est.model, config, task=est._task())  # casts to the trained dtype
    try:
        est.encoder.load_state_dict(st["encoder"])
        est.model.load_state_dict(st["model"])
    except RuntimeError as e:
        raise ValueError(f"physics: the saved model state does not fit the given physics model ({e})") from None
    est.trainer.history = History.from_dict(meta["history"])
    est.trainer.lam = float(meta["lambda"])
    est.metadata = meta["metadata"]
    return est


__all__ = ["FORMAT", "VERSION", "save_estimator", "load_estimator", "read_metadata", "grid_to_dict",
           "grid_from_dict", "history_summary"]
