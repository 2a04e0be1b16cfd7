"""Sea-surface height (SSH) <-> streamfunction and geostrophic velocities on the C-grid.

Continuous relations (``f`` the local Coriolis parameter, ``g`` gravity)::

    u = -(g / f) d eta / dy,      v = (g / f) d eta / dx,      psi = g eta / f0 (QG, f-plane)

with ``x`` eastward and ``y`` northward; on a lon/lat sphere grid (:mod:`physics.grid`,
``metric="sphere"``) ``d/dx = (1 / (R cos lat)) d/dlon``, ``d/dy = (1 / R) d/dlat`` and
``f = 2 Omega sin(lat)``, so ``(u, v)`` are the eastward/northward surface geostrophic currents
(the ``ugos``/``vgos`` of the DUACS L4 products).

``method="centered"`` (default; valid on every grid)
----------------------------------------------------
Pointwise geostrophy with the local ``f`` of each output point (``f(y)`` on a beta-plane,
``2 Omega sin(lat)`` on the sphere) and the per-row ``dx`` of :meth:`~physics.grid.Grid.dx_at`.
The SSH gradient is taken at the centres: centred differences ``(eta[k+1] - eta[k-1]) / 2d``
inside (wrapping on periodic grids) and second-order one-sided differences
``(-3 eta[0] + 4 eta[1] - eta[2]) / 2d`` (mirrored at the far edge) on the first and last
rows/columns of a closed grid -- no ghost value, no mean removal, so the wall rows are as
accurate as the interior (O(d^2) everywhere). ``at="center"`` returns ``u, v`` there (the
points of the SSH, like the L4 products' ``ugos``/``vgos``); ``at="uv"`` (default) moves
``d eta/dy`` to the u-points and ``d eta/dx`` to the v-points by two-point averaging
(second-order linear extrapolation onto the stored west/south edge points of a closed grid,
``1.5 a[0] - 0.5 a[1]``). On a closed grid the wall-normal velocities ``u[..., 0]`` and
``v[..., 0, :]`` are the geostrophic values of the SSH, not zero: multiply by
``grid.mask("u")``/``grid.mask("v")`` to make a model state of them. ``order=4`` uses the
fourth-order versions of the same stencils (centred ``(eta[k-2] - 8 eta[k-1] + 8 eta[k+1] -
eta[k+2]) / 12d``, one-sided fourth-order ones on the two outer rows, four-point half-cell
interpolation): on the DUACS L4 0.25-degree map it matches the product's ``ugos``/``vgos``
better (tau_uv 99.1 vs 98.2 over 10-80 N; see the tests), at the price of NaN two cells from land.

Land and the equator: ``eta`` may hold NaN (land); every velocity whose stencil touches a NaN
is NaN (decided so that a coast never produces a silent wrong number), all others are
unaffected. Geostrophy fails where ``f -> 0``: output points with ``|lat| < equator_min_lat``
(default 5 degrees; on grids without lon/lat the equivalent latitude ``asin(f / (2 Omega))``)
raise ``ValueError`` (``equator="raise"``) or are set to NaN (``equator="mask"``).

``method="exact"`` (periodic Cartesian f-plane only)
----------------------------------------------------
The linear f-plane :class:`~physics.shallow_water.ShallowWater` model (any of its Coriolis
schemes: for constant ``q = f0 / H`` they all average the velocity over the four nearest
points) is steady iff ``div(u) = 0``, ``f0 A(v) = g dx(eta)`` at u-points and
``-f0 A(u) = g dy(eta)`` at v-points (``A`` the four-point average). Any corner
streamfunction ``psi`` with ``u = -dpsi/dy``, ``v = dpsi/dx``
(:func:`physics.operators.velocity_from_psi`) and ``eta = (f0 / g) Ac(psi)``, ``Ac`` the
four-corner average onto centres (:func:`psi_to_ssh` with ``loc="corner"``), satisfies these
three equations *exactly*. :func:`ssh_to_psi` with ``loc="corner"`` inverts ``Ac = Ay (x) Ax``
(separable): ``psi = (g/f0) pinv(Ay) eta pinv(Ax)^T``; on a periodic grid this reproduces
``eta`` exactly except for the grid-scale (Nyquist) component of an even-sized axis, which no
balanced state can carry. This balance is refused where it is not valid: on a closed grid it
would need ``psi = 0`` on the walls (SSH varying along a coast cannot satisfy that; the
least-squares fit then puts a grid-scale sawtooth into ``psi`` and velocities off by O(1)), on
a beta-plane (``f`` not constant) and on the sphere.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import torch

from . import operators as op
from ._checks import check_choice, check_field, check_finite, check_nonnegative, check_positive
from .grid import Grid
from .lonlat import OMEGA

LOCS = ("center", "corner")
METHODS = ("centered", "local", "exact")  # "local": former name of "centered"
AT = ("uv", "center")
EQUATOR = ("raise", "mask")


def _f0(grid: Grid) -> float:
    if grid.f0 == 0.0:
        raise ValueError("grid.f0 must be nonzero for SSH <-> streamfunction conversion (f0 = 0: equator)")
    return grid.f0


def _check(name: str, x: torch.Tensor, grid: Grid) -> None:
    check_field(name, x, grid.ny, grid.nx)
    check_finite(name, x)


def _require_exact_balance(grid: Grid, what: str) -> None:
    """The exact discrete balance holds only on a periodic Cartesian f-plane (module docstring)."""
    if not grid.periodic or grid.beta != 0.0 or grid.metric != "cartesian":
        raise ValueError(
            f"{what} (the exact discrete f-plane balance) needs a periodic Cartesian f-plane grid, got "
            f"boundary={grid.boundary!r}, beta={grid.beta:.3g}, metric={grid.metric!r}; "
            "use geostrophic_velocities(method='centered') / ssh_to_psi(loc='center')"
        )


@lru_cache(maxsize=32)
def _avg_pinv(n: int) -> torch.Tensor:
    """Pseudo-inverse of the periodic 1-D corner->centre average ``(P psi)_i = (psi_i + psi_{i+1}) / 2``
    (float64, ``(n, n)``)."""
    P = torch.zeros(n, n, dtype=torch.float64)
    idx = torch.arange(n)
    P[idx, idx] = 0.5
    P[idx, (idx + 1) % n] = 0.5
    return torch.linalg.pinv(P)


def _corner_from_center(eta: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Least-squares ``chi`` at corners with ``Ac(chi) = eta`` (periodic; module docstring)."""
    px = _avg_pinv(grid.nx).to(dtype=eta.dtype, device=eta.device)
    py = _avg_pinv(grid.ny).to(dtype=eta.dtype, device=eta.device)
    return py @ eta @ px.transpose(0, 1)


def corner_to_center(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Four-corner average ``Ac`` of a corner field onto centres, ``(..., ny, nx)`` (same units):
    ``(psi[j, i] + psi[j, i+1] + psi[j+1, i] + psi[j+1, i+1]) / 4`` (closed: zero ghost corners
    on the east/north walls, where a streamfunction vanishes)."""
    return op.avg_forward(op.avg_forward(psi, grid, "x", "zero"), grid, "y", "zero")


def center_to_corner(eta: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Four-centre average of a centre field onto corners, ``(..., ny, nx)`` (same units):
    ``(eta[j-1, i-1] + eta[j-1, i] + eta[j, i-1] + eta[j, i]) / 4``, second-order accurate.
    Periodic: wrapped; closed: the stored wall corners (``i = 0`` or ``j = 0``) are set to 0.
    Built from the operators' backward averages (:func:`physics.operators.avg_backward` in x then
    y), the adjoint-shaped partner of :func:`corner_to_center`."""
    check_field("eta", eta, grid.ny, grid.nx)
    c = op.avg_backward(op.avg_backward(eta, grid, "x", "zero"), grid, "y", "zero")
    return c if grid.periodic else c * grid.mask("corner").to(c)


def ssh_to_psi(eta: torch.Tensor, grid: Grid, g: float = 9.81, loc: str = "center") -> torch.Tensor:
    """Streamfunction [m^2/s] from SSH ``eta`` [m] at centres, shape ``(..., ny, nx)``.

    ``loc="center"``: ``psi = g eta / f0`` pointwise at centres (``f0 = grid.f0``, the QG
    reference value on a beta-plane or sphere grid).
    ``loc="corner"``: the corner ``psi`` whose four-corner average is ``g eta / f0`` (least
    squares): the streamfunction of the exactly balanced C-grid geostrophic flow; periodic
    Cartesian f-plane grids only (``ValueError`` otherwise, see the module docstring).
    """
    _check("eta", eta, grid)
    g = check_positive("g", g)
    check_choice("loc", loc, LOCS)
    scale = g / _f0(grid)
    if loc == "center":
        return scale * eta
    _require_exact_balance(grid, "ssh_to_psi(loc='corner')")
    return scale * _corner_from_center(eta, grid)


def psi_to_ssh(psi: torch.Tensor, grid: Grid, g: float = 9.81, loc: str = "center") -> torch.Tensor:
    """SSH [m] at centres from a streamfunction ``psi`` [m^2/s] at ``loc``, ``(..., ny, nx)``.

    ``loc="center"``: ``eta = f0 psi / g``; ``loc="corner"``: ``eta = f0 Ac(psi) / g``, the
    SSH in exact discrete balance with ``velocity_from_psi(psi)`` on a periodic f-plane.
    """
    _check("psi", psi, grid)
    g = check_positive("g", g)
    check_choice("loc", loc, LOCS)
    scale = _f0(grid) / g
    if loc == "center":
        return scale * psi
    return scale * corner_to_center(psi, grid)


# ---------------------------------------------------------------------------- centred geostrophy
# Stencils as (offset, weight) lists, applied to ``count`` consecutive points from ``start``.
# Derivative per index (centred, and one-sided at the first points; the far edge mirrors them
# with the sign flipped) and the value half a cell back (interpolation / extrapolation).
# Weights: Fornberg (1988), "Generation of finite difference formulas on arbitrarily spaced
# grids", Math. Comp. 51, 699-706 (derivatives); Lagrange interpolation (half points).
_D = {2: {"centred": [(-1, -1 / 2), (1, 1 / 2)],
          "edge": [[(0, -3 / 2), (1, 2), (2, -1 / 2)]]},
      4: {"centred": [(-2, 1 / 12), (-1, -8 / 12), (1, 8 / 12), (2, -1 / 12)],
          "edge": [[(0, -25 / 12), (1, 4), (2, -3), (3, 4 / 3), (4, -1 / 4)],
                   [(-1, -1 / 4), (0, -10 / 12), (1, 3 / 2), (2, -1 / 2), (3, 1 / 12)]]}}
_H = {2: {"centred": [(-1, 1 / 2), (0, 1 / 2)], "edge": [[(0, 3 / 2), (1, -1 / 2)]]},
      4: {"centred": [(-2, -1 / 16), (-1, 9 / 16), (0, 9 / 16), (1, -1 / 16)],
          "edge": [[(0, 35 / 16), (1, -35 / 16), (2, 21 / 16), (3, -5 / 16)],
                   [(-1, 5 / 16), (0, 15 / 16), (1, -5 / 16), (2, 1 / 16)]]}}


def _apply(a: torch.Tensor, dim: int, stencil, start: int, count: int) -> torch.Tensor:
    return sum(w * a.narrow(dim, start + off, count) for off, w in stencil)


def _stencil_along(a: torch.Tensor, dim: int, table: dict, periodic: bool, derivative: bool) -> torch.Tensor:
    """Apply ``table`` along ``dim``: the centred stencil everywhere on a periodic axis (wrapped);
    on a closed axis the first points use the one-sided ``edge`` stencils and the last ones
    their mirror images (a derivative at ``n-1-k`` with offsets ``-off`` and the sign flipped; a
    half-point value at ``n-k`` with offsets ``-1-off``, for the edge stencils ``k >= 1``)."""
    if periodic:
        return sum(w * torch.roll(a, -off, dims=dim) for off, w in table["centred"])
    n, edges = a.shape[dim], table["edge"]
    lo = [_apply(a, dim, st, k, 1) for k, st in enumerate(edges)]
    if derivative:
        hi = [-_apply(a, dim, [(-off, w) for off, w in st], n - 1 - k, 1) for k, st in enumerate(edges)]
        stop = n - len(edges)
    else:
        hi = [_apply(a, dim, [(-1 - off, w) for off, w in st], n - k, 1) for k, st in enumerate(edges) if k >= 1]
        stop = n - len(edges) + 1
    inner = [_apply(a, dim, table["centred"], len(edges), stop - len(edges))] if stop > len(edges) else []
    return torch.cat(lo + inner + hi[::-1], dim=dim)


def _equator_rows(grid: Grid, loc: str, min_lat: float) -> torch.Tensor:
    """Bool ``(ny, 1)``: rows of ``loc`` closer to the equator than ``min_lat`` degrees."""
    if grid.lat is not None:
        _, lat = grid.lonlat(loc)
        lat = lat.to(torch.float64)
    else:
        s = (grid.coriolis(loc).to(torch.float64) / (2 * OMEGA)).clamp(-1.0, 1.0)
        lat = torch.rad2deg(torch.asin(s))[:, 0]
    return (lat.abs() < min_lat).unsqueeze(-1)


def _coriolis_checked(grid: Grid, loc: str, min_lat: float, equator: str, like: torch.Tensor):
    """``f`` ``(ny, 1)`` at the rows of ``loc``; rows near the equator raise or become NaN."""
    bad = _equator_rows(grid, loc, min_lat).to(like.device)
    f = grid.coriolis(loc).to(like)
    if bool(bad.any()):
        if equator == "raise":
            rows = torch.nonzero(bad[:, 0]).flatten().tolist()
            raise ValueError(
                f"grid: geostrophy is undefined near the equator: {len(rows)} rows of {loc!r} points lie within "
                f"equator_min_lat = {min_lat} degrees of it (rows {rows[0]}..{rows[-1]}); pass equator='mask' "
                "for NaN there, or use an equatorial treatment"
            )
        f = torch.where(bad, torch.full_like(f, float("nan")), f)
    return f


def geostrophic_velocities(
    eta: torch.Tensor,
    grid: Grid,
    g: float = 9.81,
    method: str = "centered",
    at: str = "uv",
    equator_min_lat: float = 5.0,
    equator: str = "raise",
    order: int = 2,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Surface geostrophic ``(u, v)`` [m/s] from SSH ``eta`` [m] at centres, ``(..., ny, nx)`` each.

    ``u = -(g/f) d eta/dy``, ``v = (g/f) d eta/dx`` (eastward/northward on a lon/lat grid).

    Args:
        eta: SSH [m], ``(..., ny, nx)`` at cell centres; NaN marks land (NaN velocities beside it).
        grid: any :class:`~physics.grid.Grid` (Cartesian f- or beta-plane, periodic or closed;
            lon/lat sphere).
        g: gravity [m/s^2].
        method: ``"centered"`` (default, second order everywhere, local ``f``; ``"local"`` is an
            alias) or ``"exact"`` (the exact discrete f-plane balance; periodic Cartesian
            f-plane only, ``at="uv"`` only). See the module docstring.
        at: ``"uv"`` -- ``u`` at u-points, ``v`` at v-points (C-grid); ``"center"`` -- both at
            the SSH points.
        equator_min_lat: [degrees] output points with ``|lat|`` below it are refused (or masked).
        equator: ``"raise"`` (ValueError naming the rows) or ``"mask"`` (NaN there).
        order: 2 (default) or 4, the accuracy of ``method="centered"`` (differences and the
            half-cell moves onto u/v points; one-sided stencils of the same order at the edges).
            Order 4 reaches further (2 cells) and so puts NaN 2 cells from land.
    """
    check_field("eta", eta, grid.ny, grid.nx)
    if bool(torch.isinf(eta).any()):
        raise ValueError("eta contains Inf (NaN is accepted as land; Inf is not)")
    g = check_positive("g", g)
    check_choice("method", method, METHODS)
    check_choice("at", at, AT)
    check_choice("equator", equator, EQUATOR)
    min_lat = check_nonnegative("equator_min_lat", equator_min_lat)
    if method == "exact":
        _require_exact_balance(grid, "geostrophic_velocities(method='exact')")
        if at != "uv":
            raise ValueError("at must be 'uv' for method='exact' (the balance lives on the C-grid points)")
        if order != 2:
            raise ValueError(f"order applies to method='centered' only, got order={order!r} with method='exact'")
        check_finite("eta", eta)
        return op.velocity_from_psi(ssh_to_psi(eta, grid, g, loc="corner"), grid)
    if order not in _D or isinstance(order, bool):
        raise ValueError(f"order must be one of {tuple(_D)} (accuracy of the differences), got {order!r}")
    need = order + 1  # points of the widest one-sided stencil
    if not grid.periodic and min(grid.nx, grid.ny) < need:
        raise ValueError(f"grid must have nx, ny >= {need} for one-sided order-{order} edge differences, got {grid.shape}")
    periodic = grid.periodic
    # d eta/dx, d eta/dy at the centres [m/m]
    ex = _stencil_along(eta, -1, _D[order], periodic, True) / grid.dx_at("center").to(eta)
    ey = _stencil_along(eta, -2, _D[order], periodic, True) / grid.dy
    if at == "center":
        f = _coriolis_checked(grid, "center", min_lat, equator, eta)
        return -g / f * ey, g / f * ex
    f_u = _coriolis_checked(grid, "u", min_lat, equator, eta)
    f_v = _coriolis_checked(grid, "v", min_lat, equator, eta)
    u = -g / f_u * _stencil_along(ey, -1, _H[order], periodic, False)
    v = g / f_v * _stencil_along(ex, -2, _H[order], periodic, False)
    return u, v


__all__ = ["ssh_to_psi", "psi_to_ssh", "geostrophic_velocities", "corner_to_center", "center_to_corner"]
