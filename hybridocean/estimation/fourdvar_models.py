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

* :class:`~physics.qg_open.OpenBoundaryQG` (a regional QG with an open outer ring and land,
  :mod:`.fourdvar_regional`): the control is the corner SSH increment on the PROGNOSTIC corners
  only (``eta' = m B v``, ``m = model.mask``: zero on the ring and on land, where ``psi`` is
  prescribed), ``q' = m (L + S) psi'``; SSH ``eta = f0 psi / g`` of ``model.streamfunction(t, q)``
  (ring and land values included) moved to the centres by the four-corner average with linearly
  extrapolated ghost corners beyond the north/east ring (:func:`open_corner_to_centre`); currents
  the geostrophic ones of that SSH (:func:`~hybridocean.estimation.base.geostrophic_currents`,
  local ``f``, spherical metric). Optional boundary control (``sigma_boundary`` [m]): an SSH
  increment on the ring corners, constant over the window, ``delta = r B_bnd v_bnd`` (``r`` the
  ring indicator, ``B_bnd`` Gaussian at the centres -- DCT-II, free at the edges -- with std
  ``sigma_boundary`` and length ``length_b``: the marginal on the ring of a smooth Gaussian field),
  added to the model's boundary SSH sequence (:meth:`_OpenQGAdapter.set_boundary`).

Every adapter is linear in the control (``increment``) and differentiable; ``ssh`` and
``currents`` take the saved states and their times [s] (only the open-boundary model uses them).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import nn

from physics import operators as op
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.qg import QG
from physics.qg_open import OpenBoundaryQG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.shallow_water import ShallowWater

from .background import GaussianCovariance
from .base import geostrophic_currents


def _extrapolated_pad(f: torch.Tensor, before: bool) -> torch.Tensor:
    """``f`` ``(..., ny, nx)`` with one linearly extrapolated row and column (``2 f_edge - f_next``)
    added before (south/west, ``before=True``) or after (north/east)."""
    for dim in (-2, -1):
        n = f.shape[dim]
        if before:
            edge = 2 * f.narrow(dim, 0, 1) - f.narrow(dim, 1, 1)
            f = torch.cat((edge, f), dim)
        else:
            edge = 2 * f.narrow(dim, n - 1, 1) - f.narrow(dim, n - 2, 1)
            f = torch.cat((f, edge), dim)
    return f


def open_centre_to_corner(eta: torch.Tensor) -> torch.Tensor:
    """Four-centre average onto EVERY corner of an open box, ``(..., ny, nx)`` (same units):
    ``(eta[j-1, i-1] + eta[j-1, i] + eta[j, i-1] + eta[j, i]) / 4`` with the missing centres south
    and west of the box linearly extrapolated (``eta[-1] = 2 eta[0] - eta[1]``), so the ring corners
    get second-order values (unlike :func:`physics.geostrophy.center_to_corner`, which sets the
    stored wall corners of a closed basin to 0). Needs ``ny, nx >= 2``."""
    p = _extrapolated_pad(eta, before=True)
    return 0.25 * (p[..., :-1, :-1] + p[..., :-1, 1:] + p[..., 1:, :-1] + p[..., 1:, 1:])


def open_corner_to_centre(psi: torch.Tensor) -> torch.Tensor:
    """Four-corner average onto the centres, ``(..., ny, nx)``: ``(psi[j, i] + psi[j, i+1] +
    psi[j+1, i] + psi[j+1, i+1]) / 4`` with the unstored corners north/east of the box (row ``ny``,
    column ``nx``) linearly extrapolated (second order; the adjoint-shaped partner of
    :func:`open_centre_to_corner`)."""
    p = _extrapolated_pad(psi, before=False)
    return 0.25 * (p[..., :-1, :-1] + p[..., :-1, 1:] + p[..., 1:, :-1] + p[..., 1:, 1:])


class _QGAdapter:
    """QG: control the corner SSH increment; state ``(1, N, ny, nx)`` PV."""

    velocity_kind = "geostrophic"

    def __init__(self, model: QG, sigma_b: float, length_b: float, g: float, **_: Any) -> None:
        self.model, self.g, self.grid = model, g, model.grid
        self.channels = model.nlayers
        self.B = [GaussianCovariance(model.grid, sigma_b, length_b, "corner")]

    def increment(self, v: torch.Tensor) -> torch.Tensor:
        return ssh_to_qg_state(self.B[0](v[0]), self.model, g=self.g, loc="corner")[1]

    def from_ssh(self, eta: torch.Tensor) -> torch.Tensor:
        return ssh_to_qg_state(eta, self.model, g=self.g, loc="center")[1]

    def ssh(self, states: torch.Tensor, times: Any = None) -> torch.Tensor:
        S = states.shape[0]
        return qg_state_to_ssh(states.reshape(S, *states.shape[2:]), self.model, g=self.g, loc="center")

    def currents(self, states: torch.Tensor, times: Any = None) -> Tuple[torch.Tensor, torch.Tensor]:
        psi = self.model.streamfunction(states.reshape(states.shape[0], *states.shape[2:]))[:, 0]
        return op.velocity_from_psi(psi, self.grid)


class _SWAdapter:
    """Shallow water: control ``(eta', u_a, v_a)``; state ``(1, 3, ny, nx)``."""

    velocity_kind = "total"

    def __init__(self, model: ShallowWater, sigma_b: float, length_b: float, g: float, sigma_uv: float = 0.01,
                 balance: bool = True) -> None:
        self.model, self.grid = model, model.grid
        self.channels = len(model.CHANNELS)
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

    def ssh(self, states: torch.Tensor, times: Any = None) -> torch.Tensor:
        return states[:, 0, 0]

    def currents(self, states: torch.Tensor, times: Any = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return states[:, 0, 1] * self.mask_u.to(states), states[:, 0, 2] * self.mask_v.to(states)


class _OpenQGAdapter:
    """OpenBoundaryQG: control the prognostic-corner SSH increment (and optionally the ring SSH);
    state ``(1, N, ny, nx)`` PV (module docstring)."""

    velocity_kind = "geostrophic"

    def __init__(self, model: OpenBoundaryQG, sigma_b: float, length_b: float, g: float,
                 sigma_boundary: Optional[float] = None, **_: Any) -> None:
        if not isinstance(model.psi_b, torch.Tensor):
            raise ValueError("model: 4D-Var needs an OpenBoundaryQG built with tensor boundary values psi_b "
                             "(a callable psi_b cannot take the boundary increment)")
        if abs(model.scale * model.qg.f0 - g) > 1e-12 * g:
            raise ValueError(f"model: build the OpenBoundaryQG with ssh=True and g={g:g} (the 4D-Var's g)")
        self.model, self.g, self.grid = model, g, model.grid
        self.channels, self.f0 = model.qg.nlayers, model.qg.f0
        self.m = model.mask.to(model.grid.dtype)
        self.B = [GaussianCovariance(model.grid, sigma_b, length_b, "corner")]
        if not hasattr(model, "_fourdvar_psi_b"):  # the boundary values the model was built with
            model._fourdvar_psi_b = model.psi_b.detach().clone()
        self.psi_b0 = model._fourdvar_psi_b
        self.B_boundary = []
        if sigma_boundary is not None:
            ny, nx = self.grid.shape
            ring = torch.zeros(ny, nx, dtype=self.grid.dtype)
            ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = 1.0
            self.ring = ring
            self.B_boundary = [GaussianCovariance(model.grid, sigma_boundary, length_b, "center")]

    def _pv(self, eta_corner: torch.Tensor) -> torch.Tensor:
        """``m (L + S) psi`` of a corner SSH ``(1, ny, nx)``: the state whose inversion returns
        ``psi = g eta / f0`` where the fixed corners hold the same boundary values."""
        psi = (self.g / self.f0) * eta_corner.reshape(1, 1, *self.grid.shape) * self.model.weights.to(eta_corner)
        return self.model.boundary_pv(psi) * self.m.to(psi)

    def increment(self, v: torch.Tensor) -> torch.Tensor:
        return self._pv(self.B[0](v[0]) * self.m.to(v))

    def from_ssh(self, eta: torch.Tensor) -> torch.Tensor:
        return self._pv(open_centre_to_corner(eta.reshape(*self.grid.shape)))

    def boundary_increment(self, vb: torch.Tensor) -> torch.Tensor:
        """The ring SSH increment ``r B_bnd v_bnd`` [m] ``(ny, nx)`` at the corners."""
        return self.ring.to(vb) * self.B_boundary[0](vb[0])

    def set_boundary(self, vb: Optional[torch.Tensor]) -> None:
        """Boundary values of the model = the built ones + the ring increment of ``vb`` (None: none)."""
        base = self.psi_b0
        self.model.psi_b = base if vb is None else base + self.boundary_increment(vb).to(base.dtype)

    def _psi(self, states: torch.Tensor, times: Any) -> torch.Tensor:
        if times is None or len(times) != states.shape[0]:
            raise ValueError("times: the open-boundary model needs the time [s] of every saved state")
        return torch.cat([self.model.streamfunction(float(t), s)[:, 0] for t, s in zip(times, states)])

    def ssh(self, states: torch.Tensor, times: Any = None) -> torch.Tensor:
        return open_corner_to_centre((self.f0 / self.g) * self._psi(states, times))

    def currents(self, states: torch.Tensor, times: Any = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return geostrophic_currents(self.ssh(states, times), self.grid, at="uv", g=self.g)


def adapter_for(model: nn.Module, **kw: Any):
    """The adapter of ``model`` (QG, OpenBoundaryQG or ShallowWater); ``kw``: sigma_b, length_b, g,
    sigma_uv, balance, sigma_boundary (OpenBoundaryQG only: the ring SSH control, None: none)."""
    sigma_boundary = kw.pop("sigma_boundary", None)
    if isinstance(model, OpenBoundaryQG):
        return _OpenQGAdapter(model, sigma_boundary=sigma_boundary, **kw)
    if sigma_boundary is not None:
        raise ValueError("sigma_boundary: the boundary control needs an OpenBoundaryQG model")
    if isinstance(model, QG):
        return _QGAdapter(model, **kw)
    if isinstance(model, ShallowWater):
        return _SWAdapter(model, **kw)
    raise TypeError("model must be a physics.qg.QG or physics.shallow_water.ShallowWater (or a "
                    f"physics.qg_open.OpenBoundaryQG), got {type(model).__name__}")


def faces_to_centres(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> Tuple[torch.Tensor, torch.Tensor]:
    """C-grid ``u`` (u-points) and ``v`` (v-points) ``(..., ny, nx)`` [m/s] averaged onto the cell
    centres: ``u_c[j, i] = (u[j, i] + u[j, i+1]) / 2``, ``v_c[j, i] = (v[j, i] + v[j+1, i]) / 2``
    (closed grids: the unstored east/north wall values are 0, no normal flow)."""
    return op.avg_forward(u, grid, "x", "zero"), op.avg_forward(v, grid, "y", "zero")


__all__ = ["adapter_for", "faces_to_centres", "open_centre_to_corner", "open_corner_to_centre"]
