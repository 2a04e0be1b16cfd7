"""Finite-difference operators on the C-grid of :class:`physics.grid.Grid`.

Every function takes fields shaped ``(..., ny, nx)`` (any leading batch/channel dims) and a
``Grid``; all are pure, batched, autograd-safe and device/dtype-agnostic. See
:mod:`physics.grid` for where each location sits. Naming: ``d{x,y}_{from}2{to}`` is a
first difference between staggered locations (``c`` centre, ``u``, ``v``, ``q`` corner),
``avg_{x,y}_{from}2{to}`` the two-point average.

Closed boundaries use ghost values outside the stored array:

* ``"zero"`` -- Dirichlet: normal velocity on the east/north wall, streamfunction on walls;
* ``"neumann"`` -- the ghost equals the adjacent value: zero normal gradient (no flux of
  a centre field; free-slip tangential velocity, so zero vorticity on walls).
"""
from __future__ import annotations

import torch

from .grid import Grid

GHOSTS = ("zero", "neumann")
_DIM = {"x": -1, "y": -2}


def shift(f: torch.Tensor, grid: Grid, axis: str, offset: int, ghost: str = "zero") -> torch.Tensor:
    """``g[..., k] = f[..., k + offset]`` along ``axis`` (``"x"`` or ``"y"``), ``offset = +-1``.

    Periodic grids wrap around; closed grids fill the one missing row/column with the
    ``ghost`` value (``"zero"`` or ``"neumann"``, the adjacent edge value).
    """
    dim = _DIM[axis]
    if grid.periodic:
        return torch.roll(f, -offset, dims=dim)
    n = f.shape[dim]
    if offset == 1:
        body = f.narrow(dim, 1, n - 1)
        edge = f.narrow(dim, n - 1, 1)
        pad = edge if ghost == "neumann" else torch.zeros_like(edge)
        return torch.cat((body, pad), dim=dim)
    if offset == -1:
        body = f.narrow(dim, 0, n - 1)
        edge = f.narrow(dim, 0, 1)
        pad = edge if ghost == "neumann" else torch.zeros_like(edge)
        return torch.cat((pad, body), dim=dim)
    raise ValueError(f"offset must be +1 or -1, got {offset!r}")


def _spacing(grid: Grid, axis: str) -> float:
    return grid.dx if axis == "x" else grid.dy


def diff_forward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "zero") -> torch.Tensor:
    """``(f[k+1] - f[k]) / d`` along ``axis``: from a location to the one half a cell ahead."""
    return (shift(f, grid, axis, 1, ghost) - f) / _spacing(grid, axis)


def diff_backward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "neumann") -> torch.Tensor:
    """``(f[k] - f[k-1]) / d`` along ``axis``: from a location to the one half a cell behind."""
    return (f - shift(f, grid, axis, -1, ghost)) / _spacing(grid, axis)


def avg_forward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "zero") -> torch.Tensor:
    """``(f[k+1] + f[k]) / 2`` along ``axis``."""
    return 0.5 * (shift(f, grid, axis, 1, ghost) + f)


def avg_backward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "neumann") -> torch.Tensor:
    """``(f[k] + f[k-1]) / 2`` along ``axis``."""
    return 0.5 * (f + shift(f, grid, axis, -1, ghost))


# -------------------------------------------------------------- staggered named operators
def dx_c2u(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a centre field at u-points, ``(f[i] - f[i-1]) / dx``; 0 on the west wall."""
    return diff_backward(f, grid, "x", "neumann")


def dy_c2v(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a centre field at v-points, ``(f[j] - f[j-1]) / dy``; 0 on the south wall."""
    return diff_backward(f, grid, "y", "neumann")


def dx_u2c(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a u-field at centres, ``(u[i+1] - u[i]) / dx``; east-wall ``u = 0``."""
    return diff_forward(u, grid, "x", "zero")


def dy_v2c(v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a v-field at centres, ``(v[j+1] - v[j]) / dy``; north-wall ``v = 0``."""
    return diff_forward(v, grid, "y", "zero")


def dx_v2q(v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a v-field at corners, ``(v[i] - v[i-1]) / dx``; free slip (0) at walls."""
    return diff_backward(v, grid, "x", "neumann")


def dy_u2q(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a u-field at corners, ``(u[j] - u[j-1]) / dy``; free slip (0) at walls."""
    return diff_backward(u, grid, "y", "neumann")


def dx_q2v(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a corner field at v-points, ``(psi[i+1] - psi[i]) / dx``; east-wall ghost 0."""
    return diff_forward(psi, grid, "x", "zero")


def dy_q2u(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a corner field at u-points, ``(psi[j+1] - psi[j]) / dy``; north-wall ghost 0."""
    return diff_forward(psi, grid, "y", "zero")


# -------------------------------------------------------------- vector calculus
def grad(f: torch.Tensor, grid: Grid) -> tuple:
    """Gradient of a centre field: ``(df/dx at u-points, df/dy at v-points)``.

    On a closed grid the components vanish on the west/south walls (zero normal gradient).
    """
    return dx_c2u(f, grid), dy_c2v(f, grid)


def divergence(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """``du/dx + dv/dy`` at centres from C-grid velocities (walls: normal velocity 0).

    ``sum(divergence) * dx * dy`` telescopes to the net boundary flux: exactly 0 on a
    periodic grid, and on a closed grid when ``u[..., 0] = v[..., 0, :] = 0``.
    """
    return dx_u2c(u, grid) + dy_v2c(v, grid)


def vorticity(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Relative vorticity ``zeta = dv/dx - du/dy`` at corners [1/s] (free-slip walls)."""
    return dx_v2q(v, grid) - dy_u2q(u, grid)


def velocity_from_psi(psi: torch.Tensor, grid: Grid) -> tuple:
    """Non-divergent velocity ``u = -dpsi/dy`` (u-points), ``v = dpsi/dx`` (v-points) of a
    corner streamfunction ``psi`` [m^2/s]."""
    return -dy_q2u(psi, grid), dx_q2v(psi, grid)


def laplacian(f: torch.Tensor, grid: Grid, ghost: str = "neumann") -> torch.Tensor:
    """Five-point Laplacian ``(f[i+1] - 2 f[i] + f[i-1]) / dx^2 + (same in y) / dy^2``.

    The result sits where ``f`` sits. Closed grids: ``ghost="neumann"`` gives the
    zero-flux (conservative) Laplacian of a centre field; ``ghost="zero"`` the Dirichlet
    Laplacian of a corner field vanishing on walls (mask the wall rows afterwards).
    Second-order accurate.
    """
    fx = shift(f, grid, "x", 1, ghost) + shift(f, grid, "x", -1, ghost) - 2 * f
    fy = shift(f, grid, "y", 1, ghost) + shift(f, grid, "y", -1, ghost) - 2 * f
    return fx / grid.dx**2 + fy / grid.dy**2


def arakawa_jacobian(a: torch.Tensor, b: torch.Tensor, grid: Grid, ghost: str = "zero") -> torch.Tensor:
    """Arakawa (1966) Jacobian ``J(a, b) = da/dx db/dy - da/dy db/dx``.

    ``J = (J++ + J+x + Jx+) / 3`` on the nine-point stencil, with ``a`` and ``b`` at the same
    location. On a periodic grid ``sum J = sum a J = sum b J = 0`` to round-off, so with
    ``a = psi`` it conserves energy and enstrophy. Second-order accurate.
    """
    def s(f, ox, oy):
        if ox:
            f = shift(f, grid, "x", ox, ghost)
        if oy:
            f = shift(f, grid, "y", oy, ghost)
        return f

    a_e, a_w, a_n, a_s = s(a, 1, 0), s(a, -1, 0), s(a, 0, 1), s(a, 0, -1)
    b_e, b_w, b_n, b_s = s(b, 1, 0), s(b, -1, 0), s(b, 0, 1), s(b, 0, -1)
    a_ne, a_nw, a_se, a_sw = s(a_e, 0, 1), s(a_w, 0, 1), s(a_e, 0, -1), s(a_w, 0, -1)
    b_ne, b_nw, b_se, b_sw = s(b_e, 0, 1), s(b_w, 0, 1), s(b_e, 0, -1), s(b_w, 0, -1)

    jpp = (a_e - a_w) * (b_n - b_s) - (a_n - a_s) * (b_e - b_w)
    jpx = (
        a_e * (b_ne - b_se) - a_w * (b_nw - b_sw) - a_n * (b_ne - b_nw) + a_s * (b_se - b_sw)
    )
    jxp = (
        b_n * (a_ne - a_nw) - b_s * (a_se - a_sw) - b_e * (a_ne - a_se) + b_w * (a_nw - a_sw)
    )
    return (jpp + jpx + jxp) / (12.0 * grid.dx * grid.dy)


__all__ = [
    "shift", "diff_forward", "diff_backward", "avg_forward", "avg_backward",
    "dx_c2u", "dy_c2v", "dx_u2c", "dy_v2c", "dx_v2q", "dy_u2q", "dx_q2v", "dy_q2u",
    "grad", "divergence", "vorticity", "velocity_from_psi", "laplacian", "arakawa_jacobian",
]
