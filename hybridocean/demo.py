"""``hybridocean demo`` (and ``make demo``): the mission by default, the physics checks with ``--physics``.

* default -- :func:`hybridocean.mission.run_mission`: a hidden shallow-water twin observed by
  SWOT and nadir altimeters, mapped by OI, geostrophy and the learned estimator, scored on SSH
  and currents (``truth.nc``, ``observations.nc``, ``estimate*.nc``, ``metrics.json``, PNGs);
* ``physics=True`` -- :func:`hybridocean.demo_physics.run_physics_checks`: geostrophic
  adjustment and two-layer baroclinic-instability growth checked against theory (``summary.json``).

The physics helpers are re-exported here for the code that imported them from this module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Union

import torch

from .demo_physics import (balanced_ssh, mode_kinetic_energy, pyqg_two_layer, run_adjustment, run_physics_checks,
                           run_qg, two_layer_growth_rate)


def run_demo(out: Union[str, Path], device: Union[str, torch.device] = "cpu", quick: bool = False,
             physics: bool = False, log: Optional[Callable[[str], None]] = None) -> dict:
    """Run the mission (default) or the physics checks (``physics=True``) into folder ``out``.

    Returns the summary written there (``metrics.json`` or ``summary.json``); ``quick``: the short
    version of either (tests); ``log``: the mission's progress lines (``None``: silent).
    """
    if not isinstance(physics, bool):
        raise TypeError(f"physics must be a bool, got {type(physics).__name__}")
    if physics:
        return run_physics_checks(out, device=device, quick=quick)
    from .mission import run_mission

    return run_mission(out, device=device, quick=quick, log=log)


__all__ = ["run_demo", "run_physics_checks", "run_adjustment", "run_qg", "balanced_ssh", "pyqg_two_layer",
           "two_layer_growth_rate", "mode_kinetic_energy"]
