"""Registry of the APHYNITY reference systems: one :class:`SystemSpec` per system.

A spec bundles everything the data generator, the physical priors and the reproduction
script need to know about a system, so that no caller branches on the system name:

* the physics module (``physics.pendulum`` ...) and its true parameter values;
* the physical priors of the paper (``"true"``, ``"complete"``, ``"incomplete"``) as
  :class:`PriorSpec` entries, and ``"none"`` (no physics);
* the data set-up: frame spacing ``dt``, frames per trajectory, split sizes, how an
  initial state is drawn and how trajectories are integrated.

Seeding: trajectory ``i`` of split ``s`` under ``seed`` is drawn from
``numpy.random.default_rng([seed, SPLIT_IDS[s], i])``, so every trajectory depends only on
``(seed, split, i)``: splits never share an initial state and the first ``n`` trajectories
of a larger set are the same as a set of ``n``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import nn

from physics._checks import check_choice, check_int

#: Names of the data splits and the integer mixed into their seeds.
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
#: Names of the physical priors (``"none"``: no physical model, pure data-driven).
PRIORS = ("none", "incomplete", "complete", "true")


@dataclass(frozen=True)
class PriorSpec:
    """One physical prior of a system.

    Attributes:
        description: the paper's name for it, e.g. ``"Param ODE (omega0)"``.
        terms: keyword arguments switching terms of the physics module (``friction=False`` ...).
        params: names of the parameters the prior's model has (the others' terms are off).
        fixed_true: the parameters are fixed at the true values (the "True PDE" prior);
            otherwise they start from the initial guesses and are learned.
    """

    description: str
    params: Tuple[str, ...]
    terms: Mapping[str, bool] = field(default_factory=dict)
    fixed_true: bool = False


@dataclass(frozen=True)
class SystemSpec:
    """Everything about one reference system (see the module docstring).

    Attributes:
        name: registry key (``"pendulum"``, ``"reaction_diffusion"``, ``"wave"``).
        physics: the physics ``nn.Module`` class; called as ``physics(**terms, **values, learnable=...)``.
        channels: state channel order (the physics module's ``CHANNELS``).
        state_shape: shape of one state, ``(2,)`` or ``(2, ny, nx)``.
        true_params: parameter values that generate the data.
        init_params: initial guesses of learned parameters (the released code's values).
        bounds: ``{name: (lower, upper)}`` kept by the learnable reparameterisation.
        priors: ``{"true" | "complete" | "incomplete": PriorSpec}``.
        dt: time between frames [s].
        n_frames: frames per trajectory (``t = 0, dt, ..., (n_frames - 1) dt``).
        sizes: the paper's number of trajectories per split.
        small_sizes: a small set-up for tests and benchmarks.
        initial_state: ``(rng) -> np.ndarray`` of shape ``state_shape`` (float64).
        solve: ``(physics, y0 (n, *state), t (T,)) -> (n, T, *state)`` float64 reference solver.
        solver: human-readable description of ``solve`` and its accuracy.
        version: bump when the generator changes (invalidates caches).
    """

    name: str
    physics: Callable[..., nn.Module]
    channels: Tuple[str, ...]
    state_shape: Tuple[int, ...]
    true_params: Mapping[str, float]
    init_params: Mapping[str, float]
    bounds: Mapping[str, tuple]
    priors: Mapping[str, PriorSpec]
    dt: float
    n_frames: int
    sizes: Mapping[str, int]
    small_sizes: Mapping[str, int]
    initial_state: Callable[[np.random.Generator], np.ndarray]
    solve: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
    solver: str
    version: int = 1

    def times(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Frame times ``k * dt`` for ``k = 0 .. n_frames - 1``, shape ``(n_frames,)``."""
        return torch.arange(self.n_frames, dtype=dtype) * self.dt

    def size(self, split: str, preset: str = "paper") -> int:
        """Number of trajectories of ``split`` in the ``"paper"`` or ``"small"`` set-up."""
        check_choice("split", split, tuple(SPLIT_IDS))
        check_choice("preset", preset, ("paper", "small"))
        return int((self.sizes if preset == "paper" else self.small_sizes)[split])

    def make_physics(self, prior: str, learnable: bool = True) -> Optional[nn.Module]:
        """The physical model of ``prior`` (``None`` for ``"none"``).

        ``"true"`` keeps the true values fixed; ``"complete"``/``"incomplete"`` start from
        :attr:`init_params` and learn all their parameters when ``learnable`` is True (else
        keep the initial guesses fixed).
        """
        check_choice("prior", prior, PRIORS)
        if prior == "none":
            return None
        spec = self.priors[prior]
        source = self.true_params if spec.fixed_true else self.init_params
        values = {n: source[n] for n in spec.params}
        learned = tuple(spec.params) if (learnable and not spec.fixed_true) else ()
        return self.physics(**spec.terms, **values, learnable=learned, bounds=dict(self.bounds))


def trajectory_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of trajectory ``index`` of ``split`` (see the module docstring)."""
    check_choice("split", split, tuple(SPLIT_IDS))
    seed, index = check_int("seed", seed, 0), check_int("index", index, 0)
    return np.random.default_rng([seed, SPLIT_IDS[split], index])


_REGISTRY: Dict[str, SystemSpec] = {}


def register(spec: SystemSpec) -> SystemSpec:
    """Add ``spec`` to the registry (its name must be new)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"system {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_system(name: str) -> SystemSpec:
    """The :class:`SystemSpec` registered as ``name``."""
    return _REGISTRY[check_choice("system", name, tuple(_REGISTRY))]


def systems() -> Tuple[str, ...]:
    """Names of the registered systems."""
    return tuple(_REGISTRY)
