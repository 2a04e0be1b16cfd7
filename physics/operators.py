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

Input validation: every public operator checks, once per call, that ``grid`` is a ``Grid``,
each field is a tensor whose trailing shape is ``grid.shape == (ny, nx)``, ``axis`` is ``"x"``
or ``"y"`` and ``ghost`` one of :data:`GHOSTS` (``ValueError``/``TypeError`` naming the argument
and the choices). The checks are Python-level only -- an ``isinstance``, integer compares of
the trailing sizes and a tuple/dict lookup, no tensor op and no device sync -- and composite operators
validate their inputs once and then call the unchecked private kernels. Measured (CPU, 1
thread): a field check costs ~0.8 us; a nonlinear shallow-water right-hand side on 32^2 makes
10 field, 4 ghost and 4 axis checks, ~9 us, about 0.5-1.3% of the right-hand side.

Sphere grids (``grid.metric == "sphere"``, see :mod:`physics.grid`): every public operator
checks that one attribute and then runs the finite-volume kernels of
:mod:`physics.sphere_operators` (per-row ``dx_j``, face lengths and cell areas); the Cartesian
path is unchanged. x-differences there divide by ``dx_j`` of the rows of the field, so the
generic :func:`diff_forward`/:func:`diff_backward` along x, :func:`laplacian` and
:func:`arakawa_jacobian` take the field's location ``loc`` (ignored on a Cartesian grid).
"""
from __future__ import annotations

from typing import Optional

import torch

from .grid import LOCATIONS, Grid

GHOSTS = ("zero", "neumann")
AXES = ("x", "y")
_DIM = {"x": -1, "y": -2}


def _check_field(name: str, f: torch.Tensor, grid: Grid) -> None:
    """``grid`` must be a Grid and ``f`` a tensor shaped ``(..., ny, nx)`` of it (no tensor op, no sync)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor shaped (..., ny, nx), got {type(f).__name__}")
    s = f.shape  # integer compares: ~4x cheaper than slicing the torch.Size
    if len(s) < 2 or s[-1] != grid.nx or s[-2] != grid.ny:
        raise ValueError(
            f"{name} must have trailing shape (ny, nx) = {grid.shape} of the grid, got shape {tuple(f.shape)}"
        )


def _check_axis(axis: str) -> int:
    dim = _DIM.get(axis) if isinstance(axis, str) else None
    if dim is None:
        raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
    return dim


def _check_ghost(ghost: str) -> None:
    if ghost not in GHOSTS:  # a tuple compare: any non-str value fails it too
        raise ValueError(f"ghost must be one of {GHOSTS}, got {ghost!r}")


def shift(f: torch.Tensor, grid: Grid, axis: str, offset: int, ghost: str = "zero") -> torch.Tensor:
    """``g[..., k] = f[..., k + offset]`` along ``axis`` (``"x"`` or ``"y"``), ``offset = +-1``.

    Periodic grids wrap around; closed grids fill the one missing row/column with the
    ``ghost`` value (``"zero"`` or ``"neumann"``, the adjacent edge value). ``f``:
    ``(..., ny, nx)``; the result has the same shape.
    """
    _check_field("f", f, grid)
    _check_ghost(ghost)
    if offset != 1 and offset != -1:
        raise ValueError(f"offset must be +1 or -1, got {offset!r}")
    return _shift(f, grid, _check_axis(axis), offset, ghost)


def _shift(f: torch.Tensor, grid: Grid, dim: int, offset: int, ghost: str) -> torch.Tensor:
    """:func:`shift` without input checks (``dim`` = -1 for x, -2 for y)."""
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


def _spacing(grid: Grid, dim: int) -> float:
    return grid.dx if dim == -1 else grid.dy


def _check_loc(loc: Optional[str], default: Optional[str] = None) -> str:
    """Location of a field on a sphere grid (``default`` when ``loc`` is None, else an error)."""
    if loc is None:
        if default is None:
            raise ValueError(f"loc (the location of the field, one of {LOCATIONS}) is needed on a sphere grid")
        return default
    if loc not in LOCATIONS:
        raise ValueError(f"loc must be one of {LOCATIONS}, got {loc!r}")
    return loc


def _diff_forward(f: torch.Tensor, grid: Grid, dim: int, ghost: str) -> torch.Tensor:
    return (_shift(f, grid, dim, 1, ghost) - f) / _spacing(grid, dim)


def _diff_backward(f: torch.Tensor, grid: Grid, dim: int, ghost: str) -> torch.Tensor:
    return (f - _shift(f, grid, dim, -1, ghost)) / _spacing(grid, dim)


def diff_forward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "zero", loc: Optional[str] = None) -> torch.Tensor:
    """``(f[k+1] - f[k]) / d`` along ``axis``: from a location to the one half a cell ahead.

    ``f``: ``(..., ny, nx)`` in units [F]; result ``(..., ny, nx)`` in [F/m], ``d`` = dx or dy [m]
    (on a sphere grid ``dx_j`` of the rows of ``loc``, the location of ``f``, needed along x).
    """
    _check_field("f", f, grid)
    _check_ghost(ghost)
    dim = _check_axis(axis)
    if grid.metric == "sphere" and dim == -1:
        return _sph.diff_x(f, grid, _check_loc(loc), 1, ghost)
    return _diff_forward(f, grid, dim, ghost)


def diff_backward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "neumann", loc: Optional[str] = None) -> torch.Tensor:
    """``(f[k] - f[k-1]) / d`` along ``axis``: from a location to the one half a cell behind.

    ``f``: ``(..., ny, nx)`` in units [F]; result ``(..., ny, nx)`` in [F/m], ``d`` = dx or dy [m]
    (on a sphere grid ``dx_j`` of the rows of ``loc``, the location of ``f``, needed along x).
    """
    _check_field("f", f, grid)
    _check_ghost(ghost)
    dim = _check_axis(axis)
    if grid.metric == "sphere" and dim == -1:
        return _sph.diff_x(f, grid, _check_loc(loc), -1, ghost)
    return _diff_backward(f, grid, dim, ghost)


def avg_forward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "zero") -> torch.Tensor:
    """``(f[k+1] + f[k]) / 2`` along ``axis``; ``f`` and the result ``(..., ny, nx)``, same units."""
    _check_field("f", f, grid)
    _check_ghost(ghost)
    return 0.5 * (_shift(f, grid, _check_axis(axis), 1, ghost) + f)


def avg_backward(f: torch.Tensor, grid: Grid, axis: str, ghost: str = "neumann") -> torch.Tensor:
    """``(f[k] + f[k-1]) / 2`` along ``axis``; ``f`` and the result ``(..., ny, nx)``, same units."""
    _check_field("f", f, grid)
    _check_ghost(ghost)
    return 0.5 * (f + _shift(f, grid, _check_axis(axis), -1, ghost))


# -------------------------------------------------------------- staggered named operators
def dx_c2u(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a centre field at u-points, ``(f[i] - f[i-1]) / dx``; 0 on the west wall."""
    _check_field("f", f, grid)
    if grid.metric == "sphere":
        return _sph.diff_x(f, grid, "center", -1, "neumann")
    return _diff_backward(f, grid, -1, "neumann")


def dy_c2v(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a centre field at v-points, ``(f[j] - f[j-1]) / dy``; 0 on the south wall."""
    _check_field("f", f, grid)
    return _diff_backward(f, grid, -2, "neumann")


def dx_u2c(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a u-field at centres, ``(u[i+1] - u[i]) / dx``; east-wall ``u = 0``."""
    _check_field("u", u, grid)
    if grid.metric == "sphere":
        return _sph.diff_x(u, grid, "u", 1, "zero")
    return _diff_forward(u, grid, -1, "zero")


def dy_v2c(v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a v-field at centres, ``(v[j+1] - v[j]) / dy``; north-wall ``v = 0``."""
    _check_field("v", v, grid)
    return _diff_forward(v, grid, -2, "zero")


def dx_v2q(v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a v-field at corners, ``(v[i] - v[i-1]) / dx``; free slip (0) at walls."""
    _check_field("v", v, grid)
    if grid.metric == "sphere":
        return _sph.diff_x(v, grid, "v", -1, "neumann")
    return _diff_backward(v, grid, -1, "neumann")


def dy_u2q(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a u-field at corners, ``(u[j] - u[j-1]) / dy``; free slip (0) at walls."""
    _check_field("u", u, grid)
    return _diff_backward(u, grid, -2, "neumann")


def dx_q2v(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dx of a corner field at v-points, ``(psi[i+1] - psi[i]) / dx``; east-wall ghost 0."""
    _check_field("psi", psi, grid)
    if grid.metric == "sphere":
        return _sph.diff_x(psi, grid, "corner", 1, "zero")
    return _diff_forward(psi, grid, -1, "zero")


def dy_q2u(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """d/dy of a corner field at u-points, ``(psi[j+1] - psi[j]) / dy``; north-wall ghost 0."""
    _check_field("psi", psi, grid)
    return _diff_forward(psi, grid, -2, "zero")


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
    Sphere grid: the flux form ``(1/A) [dy (u[i+1] - u[i]) + (dx_v v)[j+1] - (dx_v v)[j]]``
    (``A`` centre-cell areas, ``dx_v`` v-face lengths), so ``sum(A * divergence)`` telescopes.
    """
    if getattr(grid, "metric", None) == "sphere":  # a non-Grid falls through to the checks
        _check_field("u", u, grid)
        _check_field("v", v, grid)
        return _sph.divergence(u, v, grid)
    return dx_u2c(u, grid) + dy_v2c(v, grid)


def vorticity(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Relative vorticity ``zeta = dv/dx - du/dy`` at corners [1/s] (free-slip walls).

    Sphere grid: circulation per corner-cell area,
    ``(1/A_q) [dy (v[i] - v[i-1]) - ((dx_u u)[j] - (dx_u u)[j-1])]`` (0 on the west/south walls).
    """
    if getattr(grid, "metric", None) == "sphere":  # a non-Grid falls through to the checks
        _check_field("u", u, grid)
        _check_field("v", v, grid)
        return _sph.vorticity(u, v, grid)
    return dx_v2q(v, grid) - dy_u2q(u, grid)


def velocity_from_psi(psi: torch.Tensor, grid: Grid) -> tuple:
    """Non-divergent velocity ``u = -dpsi/dy`` (u-points), ``v = dpsi/dx`` (v-points) of a
    corner streamfunction ``psi`` [m^2/s]."""
    return -dy_q2u(psi, grid), dx_q2v(psi, grid)


def laplacian(f: torch.Tensor, grid: Grid, ghost: str = "neumann", loc: Optional[str] = None) -> torch.Tensor:
    """Five-point Laplacian ``(f[i+1] - 2 f[i] + f[i-1]) / dx^2 + (same in y) / dy^2``.

    The result sits where ``f`` sits. Closed grids: ``ghost="neumann"`` gives the
    zero-flux (conservative) Laplacian of a centre field; ``ghost="zero"`` the Dirichlet
    Laplacian of a corner field vanishing on walls (mask the wall rows afterwards).
    Second-order accurate. ``f``: ``(..., ny, nx)`` in [F]; result in [F/m^2].

    Sphere grid: the flux form ``div(grad f)`` at ``loc`` (default ``"center"`` for
    ``ghost="neumann"``, ``"corner"`` for ``"zero"``), ``(1/A_j) [(dy/dx_j) (f[i+1] - 2 f[i] + f[i-1])
    + (n_j (f[j+1] - f[j]) - s_j (f[j] - f[j-1])) / dy]`` with the face lengths ``n_j``, ``s_j``
    of :mod:`physics.sphere_operators`; symmetric w.r.t. ``sum A a b``.
    """
    _check_field("f", f, grid)
    _check_ghost(ghost)
    if grid.metric == "sphere":
        return _sph.laplacian(f, grid, _check_loc(loc, "center" if ghost == "neumann" else "corner"), ghost)
    fx = _shift(f, grid, -1, 1, ghost) + _shift(f, grid, -1, -1, ghost) - 2 * f
    fy = _shift(f, grid, -2, 1, ghost) + _shift(f, grid, -2, -1, ghost) - 2 * f
    return fx / grid.dx**2 + fy / grid.dy**2


def arakawa_jacobian(
    a: torch.Tensor, b: torch.Tensor, grid: Grid, ghost: str = "zero", loc: Optional[str] = None
) -> torch.Tensor:
    """Arakawa (1966) Jacobian ``J(a, b) = da/dx db/dy - da/dy db/dx``.

    ``J = (J++ + J+x + Jx+) / 3`` on the nine-point stencil, with ``a`` and ``b`` at the same
    location. On a periodic grid ``sum J = sum a J = sum b J = 0`` to round-off, so with
    ``a = psi`` it conserves energy and enstrophy. Second-order accurate. ``a``, ``b``:
    ``(..., ny, nx)`` (broadcastable leading dims) in [A], [B]; result in [A B / m^2].

    Sphere grid: the same index-space stencil over ``12 A_j`` (cell areas of the rows of ``loc``,
    default ``"corner"``), so ``sum A J = sum A a J = sum A b J = 0`` to round-off (periodic in
    index space, or fields vanishing on the walls); see :mod:`physics.sphere_operators`.
    """
    _check_field("a", a, grid)
    _check_field("b", b, grid)
    _check_ghost(ghost)
    if grid.metric == "sphere":
        return _sph.arakawa_jacobian(a, b, grid, _check_loc(loc, "corner"), ghost)
    return _arakawa_raw(a, b, grid, ghost) / (12.0 * grid.dx * grid.dy)


def _arakawa_raw(a: torch.Tensor, b: torch.Tensor, grid: Grid, ghost: str) -> torch.Tensor:
    """``J++ + J+x + Jx+`` of Arakawa (1966) in index space (12 x ``d(a, b)/d(i, j)``), unchecked."""

    def s(f, ox, oy):
        if ox:
            f = _shift(f, grid, -1, ox, ghost)
        if oy:
            f = _shift(f, grid, -2, oy, ghost)
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
    return jpp + jpx + jxp


__all__ = [
    "shift", "diff_forward", "diff_backward", "avg_forward", "avg_backward",
    "dx_c2u", "dy_c2v", "dx_u2c", "dy_v2c", "dx_v2q", "dy_u2q", "dx_q2v", "dy_q2u",
    "grad", "divergence", "vorticity", "velocity_from_psi", "laplacian", "arakawa_jacobian",
]

from . import sphere_operators as _sph  # noqa: E402  (the sphere kernels import _shift from here)
