"""First guess of the learned estimator's encoder: another estimator's SSH map (typically OI).

Design. The encoder of :class:`~.learned.LearnedEstimator` may be given an estimator ``E_0``
(``first_guess=``, typically :class:`~.oi.OptimalInterpolation` with its tuned parameters). At
each state frame ``t_k`` its SSH map ``eta_0(t_k)`` [m], computed only from the observations of
the record the encoder reads (below: "Which observations"), is

* an extra encoder input channel ``eta_0(t_k) / s`` (``s`` the training SSH scale), and
* the base of the encoder's SSH output: ``eta(t_k) = eta_0(t_k) + s * c_k``, ``c_k`` the network's
  correction, whose last layer starts at zero -- so the untrained estimator *is* the first guess
  and training learns a dynamically consistent correction of it (the forecast of the corrected
  state by ``F_p + F_a`` must fit the later observed SSH, which OI alone does not enforce).

Why: a network that maps sparse tracks to a full map from scratch spends its capacity (and our
40-iteration budgets) on interpolation that OI already does optimally for a Gaussian prior;
starting from OI leaves it the part OI cannot do (dynamics). The neural mappers of the SSH data
challenges start from the OI the same way: 4DVarNet (Fablet et al., "Learning variational data
assimilation models and solvers", JAMES 13, 2021; Beauchamp et al., "4DVarNet-SSH", GMD 16,
2023) starts its solver from the OI map and learns its correction, the baseline every mapper of
the SSH mapping data challenges (ocean-data-challenges) is scored against.

Which observations (no leak): training -- the training observations within the bins of the
training frames (``[t_0 - dt/2, t_{T-1} + dt/2)``, :func:`record_observations`); validation on a
held-out platform (same frames) -- still those training observations (the encoder reads them);
held-out days -- the validation observations within the bins of ``val_times``; estimation -- the
observations given. The first-guess estimator reads observations over its own time window around
each frame (OI: ``+-time_window * Lt``), which may include those of the forecast targets' frames
of the same record -- as the centred ``lookahead`` window of the encoder does -- but never
held-out observations nor times outside the record. Precomputed maps may be passed instead
(``first_guess_maps``: a ``(time, y, x)`` DataArray, or a Dataset with ``ssh``) so that a caller
computes the OI once and reuses it; they are checked against the grid and must contain every
frame time. NaN cells (land) read as 0 (the observations' mean level).

Persistence: :func:`first_guess_spec` stores the estimator's class, module and constructor
arguments (read back from its attributes of the same names) in the checkpoint;
:func:`rebuild_first_guess` rebuilds it (only classes of the ``hybridocean`` package are imported).
"""
from __future__ import annotations

import importlib
import inspect
import time
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
import xarray as xr

from physics.grid import Grid

from .base import Estimator
from .output import as_times

MapsLike = Union[xr.DataArray, xr.Dataset]


def _plain_value(v: Any) -> Tuple[bool, Any]:
    """``(ok, plain value)`` of a constructor argument (numbers, str, bool, None, tuples of them)."""
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        v = v.item()
    if v is None or isinstance(v, (bool, int, float, str)):
        return True, v
    if isinstance(v, (list, tuple)):
        items = [_plain_value(x) for x in v]
        return all(ok for ok, _ in items), [x for _, x in items]
    return False, None


def first_guess_spec(est: Optional[Estimator]) -> Optional[Dict[str, Any]]:
    """``{"class", "module", "kwargs"}`` of the first-guess estimator (``None`` without one).

    ``kwargs`` are its constructor arguments read from its attributes of the same names
    (``None`` when one cannot be read as a plain value: the caller then passes the estimator
    to :meth:`~.learned.LearnedEstimator.load`)."""
    if est is None:
        return None
    kwargs: Optional[Dict[str, Any]] = {}
    for name, p in inspect.signature(type(est).__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ok, v = _plain_value(getattr(est, name, None)) if hasattr(est, name) else (False, None)
        if not ok:
            kwargs = None
            break
        kwargs[name] = v
    return {"class": type(est).__name__, "module": type(est).__module__, "kwargs": kwargs}


def rebuild_first_guess(spec: Dict[str, Any]) -> Estimator:
    """The estimator of :func:`first_guess_spec`'s ``spec`` (``ValueError`` if it cannot be rebuilt)."""
    module, name, kwargs = spec.get("module", ""), spec.get("class", ""), spec.get("kwargs")
    if kwargs is None:
        raise ValueError(f"first_guess: the saved first guess ({name}) stored no constructor arguments; "
                         "pass first_guess=<the estimator> to load")
    if not (module == "hybridocean" or module.startswith("hybridocean.")):
        raise ValueError(f"first_guess: only hybridocean estimators are rebuilt, the file names {module}.{name}; "
                         "pass first_guess=<the estimator> to load")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise ValueError(f"first_guess: {module}.{name} is not an Estimator class")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})


def check_first_guess(est: Any) -> Optional[Estimator]:
    """``est`` if it is ``None`` or an :class:`~.base.Estimator`, else ``TypeError``."""
    if est is not None and not isinstance(est, Estimator):
        raise TypeError(f"first_guess must be an Estimator (e.g. OptimalInterpolation) or None, got {type(est).__name__}")
    return est


def select_first_guess(maps: MapsLike, grid: Grid, times: np.ndarray, name: str) -> torch.Tensor:
    """``(T, ny, nx)`` float64 SSH [m] of precomputed ``maps`` at ``times`` (datetime64).

    ``maps``: a DataArray on ``(time, <y>, <x>)`` or a Dataset with ``ssh``; every one of
    ``times`` must be among its times (exactly), its last two sizes ``(ny, nx)`` of ``grid`` and,
    where it has ``x``/``y`` coordinates [m], these the grid's cell centres (to 1e-6 of a cell).
    NaN cells read as 0. ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(maps, xr.Dataset):
        if "ssh" not in maps:
            raise ValueError(f"{name}: a Dataset of first-guess maps must hold 'ssh'")
        maps = maps["ssh"]
    if not isinstance(maps, xr.DataArray):
        raise TypeError(f"{name} must be an xarray DataArray (time, y, x) or a Dataset with 'ssh', got {type(maps).__name__}")
    if maps.ndim != 3 or maps.dims[0] != "time":
        raise ValueError(f"{name} must be (time, y, x), got dims {maps.dims}")
    if tuple(maps.shape[1:]) != (grid.ny, grid.nx):
        raise ValueError(f"{name}: maps are {tuple(maps.shape[1:])} cells, the grid is ({grid.ny}, {grid.nx})")
    xc, yc = (c.detach().cpu().numpy() for c in grid.coords("center"))
    for dim, want, d in ((maps.dims[2], xc, grid.dx), (maps.dims[1], yc, grid.dy)):
        if dim in ("x", "y") and dim in maps.coords:
            got = np.asarray(maps[dim].values, dtype=np.float64)
            if not np.allclose(got, want, rtol=0.0, atol=1e-6 * d):
                raise ValueError(f"{name}: its {dim} coordinates differ from the grid's cell centres "
                                 f"(first {got[0]:.6g} m vs {want[0]:.6g} m): maps of another box or padding")
    have = as_times(maps["time"].values)
    if have.size == 0 or np.any(np.diff(have) <= np.timedelta64(0, "ns")):
        raise ValueError(f"{name}: its times must be non-empty and strictly increasing")
    pos = np.clip(np.searchsorted(have, times), 0, have.size - 1)
    missing = have[pos] != times
    if np.any(missing):
        raise ValueError(f"{name}: no map at {np.asarray(times)[missing][0]} (the maps cover {have[0]}..{have[-1]}, "
                         f"{have.size} times); precompute them on the frames of the record")
    values = np.asarray(maps.values[pos], dtype=np.float64)
    return torch.from_numpy(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0))


def compute_first_guess(est: Estimator, obs: Any, grid: Grid, times: np.ndarray, name: str) -> torch.Tensor:
    """``(T, ny, nx)`` float64 SSH [m] of ``est.estimate(obs, grid, times)`` (NaN -> 0)."""
    from hybridocean.observations import Observations

    if not isinstance(obs, Observations):
        raise ValueError(f"{name}: the first guess is computed from an Observations point cloud; with a "
                         f"gridded view ({type(obs).__name__}) pass precomputed first_guess_maps")
    ds = est.estimate(obs, grid, times)
    return select_first_guess(ds["ssh"], grid, as_times(times), name)


def first_guess_frames(est: Optional[Estimator], maps: Optional[MapsLike], obs: Any, grid: Grid,
                       times: Any, name: str, timings: Optional[Dict[str, float]] = None) -> Optional[torch.Tensor]:
    """The first-guess SSH ``(T, ny, nx)`` [m] at ``times`` for an encoder reading ``obs``:
    ``None`` without a first-guess estimator (``maps`` then refused), the precomputed ``maps``
    if given, else computed from ``obs``. ``timings[name]`` receives the seconds spent."""
    if est is None:
        if maps is not None:
            raise ValueError(f"{name}: given, but this estimator has no first guess (first_guess=None)")
        return None
    t0 = time.perf_counter()
    t = as_times(times)
    out = select_first_guess(maps, grid, t, name) if maps is not None else compute_first_guess(est, obs, grid, t, name)
    if timings is not None:
        timings[name] = time.perf_counter() - t0
    return out


def record_observations(obs: Any, times: Any, dt: float) -> Any:
    """The observations of ``obs`` within the bins of the frames ``times`` (spacing ``dt`` [s]):
    ``t_0 - dt/2 <= t_i < t_{T-1} + dt/2``, the span :func:`~hybridocean.observations.to_gridded`
    bins on them -- what the first guess of a record may read. A gridded view (Dataset) is
    returned as is (it holds only its own frames)."""
    from hybridocean.observations import Observations

    if not isinstance(obs, Observations):
        return obs
    t = as_times(times)
    half = np.timedelta64(int(round(0.5 * float(dt) * 1e9)), "ns")
    return obs.subset((obs.time >= t[0] - half) & (obs.time < t[-1] + half))


__all__ = ["first_guess_spec", "rebuild_first_guess", "check_first_guess", "select_first_guess",
           "compute_first_guess", "first_guess_frames", "record_observations"]
