"""Finite-volume operators on a lon/lat C-grid (``grid.metric == "sphere"``).

The public operators of :mod:`physics.operators` dispatch here on a sphere grid (one
attribute check); every kernel below is unchecked (the caller validated its inputs) and uses
the same ghost conventions as the Cartesian ones (see :mod:`physics.operators`).

Metric (:meth:`physics.grid.Grid.row_metric`, pole-exact): a field at location ``loc`` has rows at latitudes
``phi_j`` (centre/u rows at ``lat[j]``, v/corner rows at ``lat[j] - dlat/2``). Its control
volume spans ``phi_j +- dlat/2`` and one longitude step, so per row::

    dx_j = R cos(phi_j) dlon                  zonal spacing (grid.dx_at(loc))
    n_j  = R cos(phi_j + dlat/2) dlon         north face length
    s_j  = R cos(phi_j - dlat/2) dlon         south face length
    dy   = R dlat                             meridional spacing (constant)
    A_j  = R^2 dlon (sin(phi_j + dlat/2) - sin(phi_j - dlat/2))   exact area (grid.cell_areas)

(cosines clipped at 0, so a row on a pole has ``dx_j = 0``; ``1/dx_j`` is then taken as 0).

Operators (finite-volume / flux form, Arakawa & Lamb 1977, "Computational design of the
basic dynamical processes of the UCLA general circulation model", Methods Comput. Phys. 17,
sec. III; the same metric factors as MITgcm's spherical-polar grid, ``dxG``, ``dyG``, ``rA``):

* ``d/dx`` along a row: ``(f[i+1] - f[i]) / dx_j`` with ``dx_j`` of the row (x-differences stay
  on their row); ``d/dy``: ``(f[j+1] - f[j]) / dy`` (unchanged).
* divergence at centres: ``(1/A) [dy (u[i+1] - u[i]) + (dx_v v)[j+1] - (dx_v v)[j]]``;
  ``sum A div`` telescopes to the wall fluxes.
* vorticity at corners (circulation): ``(1/A_q) [dy (v[i] - v[i-1]) - ((dx_u u)[j] - (dx_u u)[j-1])]``.
* Laplacian at ``loc`` (``div grad``): ``(1/A_j) [(dy/dx_j) (f[i+1] - 2 f[i] + f[i-1])
  + (n_j (f[j+1] - f[j]) - s_j (f[j] - f[j-1])) / dy]``; symmetric in the area-weighted inner
  product ``<a, L b>_A = sum A a L b`` (the bracket is a symmetric matrix; ``n_j = s_{j+1}``).
* Arakawa Jacobian: the 1966 nine-point stencil in index space (the Jacobian
  ``d(a, b)/d(i, j)``, which conserves ``sum J_ij``, ``sum a J_ij``, ``sum b J_ij``) divided by the
  cell area: ``J = (J++ + J+x + Jx+) / (12 A_j)``, the spherical form of Arakawa & Lamb 1981
  ("A potential enstrophy and energy conserving scheme for the shallow water equations",
  Mon. Wea. Rev. 109, 18-36, eq. (3.3)): ``J = (1 / (R^2 cos phi)) d(a, b)/d(lon, lat)`` with
  ``R^2 cos phi dlon dlat ~ A_j``, so ``sum A J = sum A a J = sum A b J = 0`` to round-off.
"""
from __future__ import annotations

import weakref
from typing import Dict

import numpy as np
import torch

from .grid import Grid
from .operators import _arakawa_raw, _shift

_CACHE: "weakref.WeakKeyDictionary[Grid, Dict[tuple, torch.Tensor]]" = weakref.WeakKeyDictionary()


def row_latitudes(grid: Grid, loc: str) -> np.ndarray:
    """Latitudes [degrees] of the rows of ``loc``, float64 ``(ny,)`` (see :meth:`Grid.lonlat`)."""
    return grid._row_lat(loc)


def metric(grid: Grid, loc: str, name: str, like: torch.Tensor) -> torch.Tensor:
    """Per-row metric factor ``name`` of location ``loc`` as a ``(ny, 1)`` tensor with the dtype
    and device of ``like`` (cached per grid). ``name``: ``"dx"``, ``"inv_dx"`` [1/m],
    ``"dy_over_dx"``, ``"north"``/``"south"`` face lengths [m], ``"area"`` [m^2], ``"inv_area"``.
    On a Cartesian grid each is the constant (``dx``, ``dx dy``, ...). Values:
    :meth:`physics.grid.Grid.row_metric`."""
    key = (loc, name, like.dtype, like.device)
    store = _CACHE.setdefault(grid, {})
    t = store.get(key)
    if t is None:
        t = torch.as_tensor(grid.row_metric(loc, name), dtype=like.dtype, device=like.device).unsqueeze(-1)
        store[key] = t
    return t


def _floating(f: torch.Tensor) -> torch.Tensor:
    return f if f.is_floating_point() else torch.zeros((), dtype=torch.get_default_dtype(), device=f.device)


# ------------------------------------------------------------------ kernels (unchecked)
def diff_x(f: torch.Tensor, grid: Grid, loc: str, offset: int, ghost: str) -> torch.Tensor:
    """``(f[i+1] - f[i]) / dx_j`` (``offset=+1``) or ``(f[i] - f[i-1]) / dx_j`` (``-1``), ``dx_j``
    of the rows of ``loc`` (the location of ``f`` and of the result)."""
    inv = metric(grid, loc, "inv_dx", _floating(f))
    if offset == 1:
        return (_shift(f, grid, -1, 1, ghost) - f) * inv
    return (f - _shift(f, grid, -1, -1, ghost)) * inv


def divergence(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Flux divergence at centres [1/s]: ``(1/A) [dy du + d(dx_v v)]``, east/north ghosts 0."""
    fv = v * metric(grid, "v", "dx", _floating(v))
    flux = grid.dy * (_shift(u, grid, -1, 1, "zero") - u) + (_shift(fv, grid, -2, 1, "zero") - fv)
    return flux * metric(grid, "center", "inv_area", _floating(flux))


def vorticity(u: torch.Tensor, v: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Circulation per area at corners [1/s], free slip (ghost circulation = adjacent)."""
    cu = u * metric(grid, "u", "dx", _floating(u))
    circ = grid.dy * (v - _shift(v, grid, -1, -1, "neumann")) - (cu - _shift(cu, grid, -2, -1, "neumann"))
    return circ * metric(grid, "corner", "inv_area", _floating(circ))


def laplacian(f: torch.Tensor, grid: Grid, loc: str, ghost: str) -> torch.Tensor:
    """Flux-form Laplacian at ``loc`` (module docstring) [F/m^2]."""
    like = _floating(f)
    fx = (_shift(f, grid, -1, 1, ghost) + _shift(f, grid, -1, -1, ghost) - 2 * f) * metric(grid, loc, "dy_over_dx", like)
    fn, fs = _shift(f, grid, -2, 1, ghost), _shift(f, grid, -2, -1, ghost)
    fy = ((fn - f) * metric(grid, loc, "north", like) - (f - fs) * metric(grid, loc, "south", like)) / grid.dy
    return (fx + fy) * metric(grid, loc, "inv_area", like)


def arakawa_jacobian(a: torch.Tensor, b: torch.Tensor, grid: Grid, loc: str, ghost: str) -> torch.Tensor:
    """``J(a, b) = (J++ + J+x + Jx+) / (12 A_j)`` [A B / m^2] with ``A_j`` the areas of ``loc`` rows."""
    raw = _arakawa_raw(a, b, grid, ghost)
    return raw * (metric(grid, loc, "inv_area", _floating(raw)) / 12.0)


__all__ = ["row_latitudes", "metric", "diff_x", "divergence", "vorticity", "laplacian", "arakawa_jacobian"]
