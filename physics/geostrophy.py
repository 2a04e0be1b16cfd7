"""Sea-surface height (SSH) <-> streamfunction and geostrophic velocities on the C-grid.

Continuous relations (f-plane, ``f0 != 0``)::

    psi = g eta / f0,      u = -(g / f) d eta / dy,      v = (g / f) d eta / dx.

Discrete balance that is exact
------------------------------
The linear f-plane :class:`~physics.shallow_water.ShallowWater` model (any of its Coriolis
schemes: for constant ``q = f0 / H`` they all average the velocity over the four nearest
points) is steady iff ``div(u) = 0``, ``f0 A(v) = g dx(eta)`` at u-points and
``-f0 A(u) = g dy(eta)`` at v-points (``A`` the four-point average). Any corner
streamfunction ``psi`` with ``u = -dpsi/dy``, ``v = dpsi/dx`` (:func:`physics.operators.velocity_from_psi`)
and ``eta = (f0 / g) Ac(psi)``, ``Ac`` the four-corner average onto centres
(:func:`psi_to_ssh` with ``loc="corner"``), satisfies these three equations *exactly*
(differences and averages commute on the grid). On a closed grid ``psi = 0`` on the walls,
so the normal velocity vanishes there.

:func:`ssh_to_psi` with ``loc="corner"`` inverts ``Ac``: ``Ac = Ay (x) Ax`` is separable, so
``psi = (g/f0) pinv(Ay) eta pinv(Ax)^T`` is the least-squares corner streamfunction. On a
periodic grid it reproduces ``eta`` exactly except for the grid-scale (Nyquist) component of
an even-sized axis, which no balanced state can carry; on a closed grid ``eta`` minus its
mean is fitted with ``psi = 0`` on the walls (SSH that varies along a coast cannot be in
exact balance with zero normal flow). :func:`geostrophic_velocities` (``method="exact"``)
returns the velocities of that ``psi``, so ``(psi_to_ssh(psi), u, v)`` is an exact
discrete steady state; ``method="local"`` is the pointwise formula with local ``f(y)``
(second-order accurate, usable on a beta-plane, not an exact balance).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import torch

from . import operators as op
from ._checks import check_choice, check_field, check_finite, check_positive
from .grid import Grid

LOCS = ("center", "corner")


def _f0(grid: Grid) -> float:
    if grid.f0 == 0.0:
        raise ValueError("grid.f0 must be nonzero for SSH <-> streamfunction conversion (f0 = 0: equator)")
    return grid.f0


def _check(name: str, x: torch.Tensor, grid: Grid) -> None:
    check_field(name, x, grid.ny, grid.nx)
    check_finite(name, x)


@lru_cache(maxsize=32)
def _avg_pinv(n: int, periodic: bool) -> torch.Tensor:
    """Pseudo-inverse of the 1-D corner->centre average ``(P psi)_i = (psi_i + psi_{i+1}) / 2``
    (float64, ``(n, n)``); closed: ``psi_0 = psi_n = 0`` (walls)."""
    P = torch.zeros(n, n, dtype=torch.float64)
    idx = torch.arange(n)
    P[idx, idx] = 0.5
    if periodic:
        P[idx, (idx + 1) % n] = 0.5
    else:
        P[idx[:-1], idx[:-1] + 1] = 0.5
        P[:, 0] = 0.0  # the wall value psi_0 = 0 is not a free unknown
    return torch.linalg.pinv(P)


def _corner_from_center(eta: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Least-squares ``chi`` at corners with ``Ac(chi) = eta`` (see module docstring)."""
    px = _avg_pinv(grid.nx, grid.periodic).to(dtype=eta.dtype, device=eta.device)
    py = _avg_pinv(grid.ny, grid.periodic).to(dtype=eta.dtype, device=eta.device)
    if not grid.periodic:
        eta = eta - eta.mean((-2, -1), keepdim=True)
    return py @ eta @ px.transpose(0, 1)


def _center_from_corner(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Four-corner average onto centres (closed: zero ghost corners on east/north walls)."""
    return op.avg_forward(op.avg_forward(psi, grid, "x", "zero"), grid, "y", "zero")


def ssh_to_psi(eta: torch.Tensor, grid: Grid, g: float = 9.81, loc: str = "center") -> torch.Tensor:
    """Streamfunction [m^2/s] from SSH ``eta`` [m] at centres, shape ``(..., ny, nx)``.

    ``loc="center"``: ``psi = g eta / f0`` pointwise at centres.
    ``loc="corner"``: the corner ``psi`` whose four-corner average is ``g eta / f0`` (least
    squares, zero on closed walls; see the module docstring): the streamfunction of the
    exactly balanced C-grid geostrophic flow.
    """
    _check("eta", eta, grid)
    g = check_positive("g", g)
    check_choice("loc", loc, LOCS)
    scale = g / _f0(grid)
    if loc == "center":
        return scale * eta
    return scale * _corner_from_center(eta, grid)


def psi_to_ssh(psi: torch.Tensor, grid: Grid, g: float = 9.81, loc: str = "center") -> torch.Tensor:
    """SSH [m] at centres from a streamfunction ``psi`` [m^2/s] at ``loc``, ``(..., ny, nx)``.

    ``loc="center"``: ``eta = f0 psi / g``; ``loc="corner"``: ``eta = f0 Ac(psi) / g``, the
    SSH in exact discrete balance with ``velocity_from_psi(psi)``.
    """
    _check("psi", psi, grid)
    g = check_positive("g", g)
    check_choice("loc", loc, LOCS)
    scale = _f0(grid) / g
    if loc == "center":
        return scale * psi
    return scale * _center_from_corner(psi, grid)


def geostrophic_velocities(
    eta: torch.Tensor, grid: Grid, g: float = 9.81, method: str = "exact"
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Geostrophic ``(u, v)`` [m/s] at u- and v-points from SSH ``eta`` [m] at centres.

    ``u = -(g/f) d eta/dy``, ``v = (g/f) d eta/dx``; shapes ``(..., ny, nx)``.

    ``method="exact"`` (f-plane ``f0``): ``velocity_from_psi(ssh_to_psi(eta, loc="corner"))``;
    with ``eta_b = psi_to_ssh(psi, loc="corner")`` the state ``(eta_b, u, v)`` is an exact
    steady state of the linear f-plane shallow-water model (``eta_b = eta`` whenever
    ``eta`` is balanceable, e.g. any periodic field without a Nyquist component).
    ``method="local"``: ``u = -(g/f_u) A(dy eta)``, ``v = (g/f_v) A(dx eta)`` with the
    local ``f(y)`` and ``A`` the four-point average (beta-plane capable, O(dx^2) balance).
    Closed grids: normal velocity is zero on the walls in both methods.
    """
    _check("eta", eta, grid)
    g = check_positive("g", g)
    check_choice("method", method, ("exact", "local"))
    if method == "exact":
        return op.velocity_from_psi(ssh_to_psi(eta, grid, g, loc="corner"), grid)
    f_u = grid.coriolis("u").to(eta)
    f_v = grid.coriolis("v").to(eta)
    if bool((f_u == 0).any()) or bool((f_v == 0).any()):
        raise ValueError("grid: f vanishes inside the domain; geostrophy is undefined at the equator")
    ex, ey = op.grad(eta, grid)  # at u- and v-points
    ey_at_u = op.avg_forward(op.avg_backward(ey, grid, "x", "neumann"), grid, "y", "zero")
    ex_at_v = op.avg_backward(op.avg_forward(ex, grid, "x", "zero"), grid, "y", "neumann")
    u = -g / f_u * ey_at_u * grid.mask("u").to(eta)
    v = g / f_v * ex_at_v * grid.mask("v").to(eta)
    return u, v


__all__ = ["ssh_to_psi", "psi_to_ssh", "geostrophic_velocities"]
