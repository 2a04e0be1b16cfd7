"""Model adapters of 4D-Var (:mod:`.fourdvar`): control increment -> model state, state -> SSH, currents.

* :class:`~physics.qg.QG` (1 or 1.5 layers; N layers with the first-mode vertical structure of
  :func:`physics.qg_state.ssh_to_qg_state`): the control is the SSH increment ``eta'`` [m] at the
  corners, ``B`` Gaussian at the corners (DST-I on closed grids, so ``psi' = 0`` on the walls),
  ``q' = Lap psi' + S psi'`` with ``psi' = g eta' / f0``; SSH ``eta = f0 psi_1 / g`` averaged to
  the centres; currents ``u = -dpsi/dy``, ``v = dpsi/dx`` on the C-grid faces (geostrophic).
* :class:`~physics.shallow_water.ShallowWater`: the control is ``(eta', u_a, v_a)``: ``eta'`` at
  the centres (``B_eta``) and ``u' = u_g(eta') + u_a``, ``v' = v_g(eta') + v_a`` -- a
  geostrophically balanced part (``balance=True``, :func:`physics.geostrophy.geostrophic_velocities`
  on the C-grid: the mesoscale is close to geostrophy, so SSH observations correct the currents
  too) plus an independent ageostrophic part (``sigma_uv`` [m/s], same length) that the dynamics
  (gravity waves, adjustment) must determine from the SSH's evolution. SSH is the model's ``eta``
  (centres); currents the model's ``u, v`` (faces, walls masked).

Every adapter is linear in the control (``increment``) and differentiable.
"""
from __future__ import annotations

from typing import Any, Tuple

import torch
from torch import nn

from physics import operators as op
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.shallow_water import ShallowWater

from .background import GaussianCovariance


class _QGAdapter:
    """QG: control the corner SSH increment; state ``(1, N, ny, nx)`` PV."""

    velocity_kind = "geostrophic"

    def __init__(self, model: QG, sigma_b: float, length_b: float, g: float, **_: Any) -> None:
        self.model, self.g, self.grid = model, g, model.grid
        self.B = [GaussianCovariance(model.grid, sigma_b, length_b, "corner")]

    def increment(self, v: torch.Tensor) -> torch.Tensor:
        return ssh_to_qg_state(self.B[0](v[0]), self.model, g=self.g, loc="corner")[1]

    def from_ssh(self, eta: torch.Tensor) -> torch.Tensor:
        return ssh_to_qg_state(eta, self.model, g=self.g, loc="center")[1]

    def ssh(self, states: torch.Tensor) -> torch.Tensor:
        S = states.shape[0]
        return qg_state_to_ssh(states.reshape(S, *states.shape[2:]), self.model, g=self.g, loc="center")

    def currents(self, states: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        psi = self.model.streamfunction(states.reshape(states.shape[0], *states.shape[2:]))[:, 0]
        return op.velocity_from_psi(psi, self.grid)


class _SWAdapter:
    """Shallow water: control ``(eta', u_a, v_a)``; state ``(1, 3, ny, nx)``."""

    velocity_kind = "total"

    def __init__(self, model: ShallowWater, sigma_b: float, length_b: float, g: float, sigma_uv: float = 0.01,
                 balance: bool = True) -> None:
        self.model, self.grid = model, model.grid
        self.g = float(model.params["g"].value.detach())
        if balance and model.grid.f0 == 0.0:
            raise ValueError("balance: geostrophic balance needs f0 != 0 (grid.f0 = 0); use balance=False")
        self.balance = bool(balance)
        self.B = [GaussianCovariance(model.grid, sigma_b, length_b, "center"),
                  GaussianCovariance(model.grid, sigma_uv, length_b, "u"),
                  GaussianCovariance(model.grid, sigma_uv, length_b, "v")]
        self.mask_u, self.mask_v = model.grid.mask("u"), model.grid.mask("v")

    def _balanced(self, eta: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if not self.balance:
            z = torch.zeros_like(eta)
            return z, z
        return geostrophic_velocities(eta, self.grid, g=self.g, at="uv")

    def increment(self, v: torch.Tensor) -> torch.Tensor:
        eta = self.B[0](v[0])
        ug, vg = self._balanced(eta)
        u = (ug + self.B[1](v[1])) * self.mask_u.to(eta)
        w = (vg + self.B[2](v[2])) * self.mask_v.to(eta)
        return torch.stack([eta, u, w]).unsqueeze(0)

    def from_ssh(self, eta: torch.Tensor) -> torch.Tensor:
        eta = eta.reshape(self.grid.ny, self.grid.nx)
        ug, vg = self._balanced(eta)
        return torch.stack([eta, ug * self.mask_u.to(eta), vg * self.mask_v.to(eta)]).unsqueeze(0)

    def ssh(self, states: torch.Tensor) -> torch.Tensor:
        return states[:, 0, 0]

    def currents(self, states: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return states[:, 0, 1] * self.mask_u.to(states), states[:, 0, 2] * self.mask_v.to(states)


def adapter_for(model: nn.Module, **kw: Any):
    """The adapter of ``model`` (QG or ShallowWater); ``kw``: sigma_b, length_b, g, sigma_uv, balance."""
    if isinstance(model, QG):
        return _QGAdapter(model, **kw)
    if isinstance(model, ShallowWater):
        return _SWAdapter(model, **kw)
    raise TypeError(f"model must be a physics.qg.QG or physics.shallow_water.ShallowWater, got {type(model).__name__}")


def faces_to_centres(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> Tuple[torch.Tensor, torch.Tensor]:
    """C-grid ``u`` (u-points) and ``v`` (v-points) ``(..., ny, nx)`` [m/s] averaged onto the cell
    centres: ``u_c[j, i] = (u[j, i] + u[j, i+1]) / 2``, ``v_c[j, i] = (v[j, i] + v[j+1, i]) / 2``
    (closed grids: the unstored east/north wall values are 0, no normal flow)."""
    return op.avg_forward(u, grid, "x", "zero"), op.avg_forward(v, grid, "y", "zero")


__all__ = ["adapter_for", "faces_to_centres"]
