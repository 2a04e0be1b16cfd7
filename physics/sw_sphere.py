"""Metric pieces of the shallow-water model on orthogonal curvilinear (lon/lat) C-grids.

:class:`physics.shallow_water.ShallowWater` runs on a Cartesian grid and on a ``metric="sphere"``
grid (:mod:`physics.grid`) with the same vector-invariant equations; on the sphere the metric
terms come out of the discrete operators (finite-volume form, Arakawa & Lamb 1977, "Computational
design of the basic dynamical processes of the UCLA general circulation model", Methods Comput.
Phys. 17; Sadourny 1975, "The dynamics of finite-difference models of the shallow-water
equations", J. Atmos. Sci. 32, 680-689; the scale-factor form of Madec and the NEMO System Team,
*NEMO ocean engine*, Notes du Pole de modelisation de l'IPSL 27, chapter "Ocean dynamics", vector
invariant vorticity term (ENE/EEN schemes), with ``e1 = dx_j``, ``e2 = dy``). With ``dx_u``, ``dx_v`` the zonal lengths at the u/v rows, ``dy = R dlat`` and
``A_T``, ``A_q`` the exact centre/corner cell areas (:mod:`physics.sphere_operators`)::

    d eta/dt = -(1/A_T) [dy (U[i+1] - U[i]) + (dx_v V)[j+1] - (dx_v V)[j]]    (op.divergence)
    zeta     =  (1/A_q) [dy (v[i] - v[i-1]) - (dx_u u)[j] + (dx_u u)[j-1]]    (op.vorticity, circulation)
    d u/dt   = Cor_u - (B[i] - B[i-1]) / dx_u,     d v/dt = Cor_v - (B[j] - B[j-1]) / dy

The Coriolis/vorticity term ``q k x (h u)`` of :mod:`physics.sw_schemes` is applied to the
*transports* across the faces: ``Cor_u = C_u(q, dx_v V) / dx_u`` and ``Cor_v = C_v(q, dy U) / dy``
(``C_u``, ``C_v`` the scheme's averages; NEMO's ``ENE``/``EEN`` use the same ``e1v V / e1u``
weighting), with ``f_j = 2 Omega sin(lat_j)`` per corner row. The kinetic energy at centres weights
each face by its scale-factor area ``a_u = dx_u dy``, ``a_v = dx_v dy``::

    K_T = (1 / (4 A_T)) [a_u u[i]^2 + a_u u[i+1]^2 + a_v[j] v[j]^2 + a_v[j+1] v[j+1]^2]

(on a Cartesian grid ``K = (avg_x(u^2) + avg_y(v^2)) / 2``, the previous definition). Then
``E = sum A_T (g eta^2 / 2 + h K_T)`` is a semi-discrete invariant of the ``"energy"`` and
``"een"`` schemes (inviscid, unforced, closed or with land): summing by parts, the pressure
work ``sum A_T B d eta/dt = sum dy U dB + sum dx_v V dB`` cancels ``sum a_u U du + sum a_v V dv``
of the gradient terms, and ``sum a_u U Cor_u + sum a_v V Cor_v = 0`` term by term for any ``q``.
The mass ``sum A_T eta`` is conserved to round-off (the flux divergence telescopes). The
``"enstrophy"`` scheme is generalised the same way, but enstrophy conservation on the sphere
is not claimed (the Sadourny ENS proof needs equal cell areas).

Open faces (:class:`OpenFaces`, the hook of :mod:`physics.sw_open`): on a closed grid the normal
velocity of the boundary faces is the wall value 0 in the Coriolis term (the padded transports of
:func:`physics.sw_schemes.pad`) and in ``K_T``. Given the face velocities of open sides (west
``u[:, 0]``, east ``u[:, nx]``, south ``v[0, :]``, north ``v[ny, :]``), :func:`coriolis_accelerations`
puts their transports ``h_b u_b`` (``h_b`` the depth of the boundary cell, ``H`` when linear; times
the face's zonal length for ``V`` on the sphere) into those padded points and
:func:`kinetic_density` adds their ``a u_b^2`` to the boundary cells' ``K_T``; without faces both
are exactly the closed-grid terms above.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
import torch

from . import operators as op
from .grid import Grid
from .lonlat import OMEGA
from .sphere_operators import metric
from .stepping import courant_limit, diffusive_limit
from .sw_schemes import coriolis_terms, corner_coriolis, pad

_LOCS = ("center", "u", "v", "corner")


def is_sphere(grid: Grid) -> bool:
    """True for a ``metric="sphere"`` grid."""
    return grid.metric == "sphere"


def padded_coriolis(grid: Grid, like: torch.Tensor) -> torch.Tensor:
    """Coriolis parameter [1/s] on the padded corner rows ``j = -1..ny``, shape ``(ny + 2, 1)``.

    Cartesian: :func:`physics.sw_schemes.corner_coriolis` (beta-plane). Sphere:
    ``f_j = 2 Omega sin(lat_q0 + j dlat)`` with ``lat_q0 = lat[0] - dlat / 2`` the south-wall
    corner row (the padded rows lie half a cell outside the box and only reach masked tendencies).
    """
    if not is_sphere(grid):
        return corner_coriolis(grid, like)
    lat = grid.lat[0] - grid.dlat / 2 + grid.dlat * np.arange(-1, grid.ny + 1)
    f = 2 * OMEGA * np.sin(np.radians(np.clip(lat, -90.0, 90.0)))
    return torch.as_tensor(f, dtype=like.dtype, device=like.device).unsqueeze(-1)


def areas(grid: Grid, loc: str, like: torch.Tensor) -> torch.Tensor:
    """Exact cell areas ``A_j`` [m^2] of the rows of ``loc``, ``(ny, 1)`` (``dx dy`` when Cartesian)."""
    return metric(grid, loc, "area", like)


def zonal_lengths(grid: Grid, loc: str, like: torch.Tensor) -> torch.Tensor:
    """Zonal spacing ``dx_j`` [m] of the rows of ``loc``, ``(ny, 1)`` (``dx`` when Cartesian)."""
    return metric(grid, loc, "dx", like)


class OpenFaces(NamedTuple):
    """Normal velocities [m/s] on the open boundary faces of a closed grid (None: a wall).

    ``west``/``east``: eastward ``u`` on the faces ``i = 0`` / ``i = nx``, shape ``(B or 1, ny)``;
    ``south``/``north``: northward ``v`` on the faces ``j = 0`` / ``j = ny``, shape ``(B or 1, nx)``.
    """

    west: Optional[torch.Tensor] = None
    east: Optional[torch.Tensor] = None
    south: Optional[torch.Tensor] = None
    north: Optional[torch.Tensor] = None


def edge_lengths(grid: Grid, like: torch.Tensor) -> tuple:
    """Zonal lengths [m] of the south (``j = 0``) and north (``j = ny``) boundary v-faces (``dx`` when
    Cartesian), as two 0-d tensors."""
    return metric(grid, "v", "dx", like)[0, 0], metric(grid, "center", "north", like)[-1, 0]


def kinetic_density(u: torch.Tensor, v: torch.Tensor, grid: Grid, faces: Optional[OpenFaces] = None) -> torch.Tensor:
    """``K_T`` [m^2/s^2] at centres from C-grid ``u``, ``v`` ``(..., ny, nx)`` (module docstring).

    Cartesian: ``(avg_x(u^2) + avg_y(v^2)) / 2`` (east/north ghosts 0). Sphere: the
    face-area-weighted average ``(dy / (2 A_T)) (dx_u avg_x(u^2) + avg_y(dx_v v^2))``. ``faces``
    (:class:`OpenFaces`): the open faces' velocities replace the wall values 0 (west/south: the
    stored points ``u[..., 0]``/``v[..., 0, :]``; east/north: the ghosts ``i = nx``/``j = ny``).
    """
    if faces is not None:
        u, v = _with_stored_faces(u, v, faces)
    if not is_sphere(grid):
        k = 0.5 * (op.avg_forward(u * u, grid, "x") + op.avg_forward(v * v, grid, "y"))
        return k if faces is None else k + _ghost_energy(faces, k, 0.25, 0.25)
    ku = zonal_lengths(grid, "u", u) * op.avg_forward(u * u, grid, "x")
    kv = op.avg_forward(zonal_lengths(grid, "v", v) * (v * v), grid, "y")
    if faces is not None:  # a_u = dx_u dy on the east faces, a_v = dx_north dy on the north faces
        ku = ku + _ghost_energy(faces, ku, 0.5 * zonal_lengths(grid, "u", u), 0.0)
        kv = kv + _ghost_energy(faces, kv, 0.0, 0.5 * edge_lengths(grid, v)[1])
    return (ku + kv) * (0.5 * grid.dy / areas(grid, "center", u))


def _with_stored_faces(u: torch.Tensor, v: torch.Tensor, faces: OpenFaces) -> tuple:
    """``u``, ``v`` with the west/south open faces' velocities in their stored points."""
    if faces.west is not None:
        u = torch.cat((faces.west[..., :, None].expand(u.shape[:-1] + (1,)), u[..., 1:]), -1)
    if faces.south is not None:
        v = torch.cat((faces.south[..., None, :].expand(v.shape[:-2] + (1, v.shape[-1])), v[..., 1:, :]), -2)
    return u, v


def _ghost_energy(faces: OpenFaces, like: torch.Tensor, wu, wv) -> torch.Tensor:
    """``wu u_east^2`` on the last column plus ``wv v_north^2`` on the last row, shaped like ``like``."""
    out = torch.zeros_like(like)
    if faces.east is not None:
        w = wu[..., :, 0] if torch.is_tensor(wu) else wu
        out = out + torch.nn.functional.pad((w * faces.east ** 2)[..., :, None], (like.shape[-1] - 1, 0))
    if faces.north is not None:
        out = out + torch.nn.functional.pad((wv * faces.north ** 2)[..., None, :], (0, 0, like.shape[-2] - 1, 0))
    return out


def coriolis_accelerations(scheme: str, qp: torch.Tensor, U: torch.Tensor, V: torch.Tensor, h: torch.Tensor,
                           grid: Grid, faces: Optional[OpenFaces] = None) -> tuple:
    """``(Cor_u, Cor_v)`` [m/s^2] at u- and v-points, ``(..., ny, nx)`` each (module docstring).

    ``Cor_u = C_u(q, dx_v V) / dx_u``, ``Cor_v = C_v(q, U)`` with ``C`` the scheme's averages
    (:func:`physics.sw_schemes.coriolis_terms`; ``dx = 1`` factors when Cartesian), ``qp`` the
    padded corner PV, ``U = h_u u``, ``V = h_v v`` the mass fluxes [m^2/s] and ``h`` the depth at
    centres [m] (``H`` when linear). ``faces``: the transports ``h_b u_b`` of the open faces (the
    boundary cell's ``h``; ``dx_v`` / the north edge length for ``V`` on the sphere) take the
    place of the walls' zero fluxes in the padded ``U``, ``V``.
    """
    Up, Vp = pad(U, grid), pad(transport_v(V, grid), grid)
    if faces is not None:
        Up, Vp = Up.clone(), Vp.clone()
        lead = Up.shape[:-2]
        ls, ln = edge_lengths(grid, V) if is_sphere(grid) else (1.0, 1.0)
        if faces.west is not None:
            Up[..., 1:-1, 1] = (h[..., :, 0] * faces.west).expand(lead + (grid.ny,))
        if faces.east is not None:
            Up[..., 1:-1, -1] = (h[..., :, -1] * faces.east).expand(lead + (grid.ny,))
        if faces.south is not None:
            Vp[..., 1, 1:-1] = (ls * h[..., 0, :] * faces.south).expand(lead + (grid.nx,))
        if faces.north is not None:
            Vp[..., -1, 1:-1] = (ln * h[..., -1, :] * faces.north).expand(lead + (grid.nx,))
    cor_u, cor_v = coriolis_terms(scheme, qp, Up, Vp, grid)
    return coriolis_u_scale(cor_u, grid), cor_v


def transport_v(V: torch.Tensor, grid: Grid) -> torch.Tensor:
    """The meridional transport ``dx_v V`` the u-Coriolis term averages (``V`` itself when Cartesian)."""
    return V * zonal_lengths(grid, "v", V) if is_sphere(grid) else V


def coriolis_u_scale(cor_u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """``C_u(q, dx_v V) / dx_u`` on the sphere (identity when Cartesian): see :func:`transport_v`."""
    return cor_u / zonal_lengths(grid, "u", cor_u) if is_sphere(grid) else cor_u


def step_limits(grid: Grid, speed: float, nu: float, method=None) -> tuple:
    """Explicit-step limits of the shallow-water model on ``grid``: ``(dt_wave, dt_visc, C_max, inv)``.

    ``inv = sqrt(1/dx_min^2 + 1/dy^2)`` [1/m] with ``dx_min`` = :func:`smallest_dx` (the poleward row
    on a sphere grid); waves: ``dt_wave = C_max / (speed inv)`` [s] with ``speed`` [m/s] the fastest
    signal (``sqrt(g h_max) + |u|_max``) and ``C_max`` = :func:`physics.stepping.courant_limit`
    ``(method)``; viscosity ``nu`` [m^2/s]: ``dt_visc = diffusive_limit(method) / (4 nu inv^2)`` (inf for 0).
    """
    inv = math.sqrt(1.0 / smallest_dx(grid) ** 2 + 1.0 / grid.dy**2)
    c_max = courant_limit(method)
    dt_visc = diffusive_limit(method) / (4.0 * nu * inv**2) if nu > 0 else math.inf
    return c_max / (speed * inv), dt_visc, c_max, inv


def smallest_dx(grid: Grid) -> float:
    """The smallest positive zonal spacing [m] over the rows of every location (the poleward row
    on a sphere grid; ``dx`` when Cartesian): the spacing of the CFL limit."""
    if not is_sphere(grid):
        return grid.dx
    like = torch.zeros((), dtype=torch.float64)
    dx = torch.cat([zonal_lengths(grid, loc, like).flatten() for loc in _LOCS])
    dx = dx[dx > 0]
    return float(dx.min()) if dx.numel() else math.inf


__all__ = ["is_sphere", "padded_coriolis", "areas", "zonal_lengths", "kinetic_density", "transport_v",
           "coriolis_u_scale", "smallest_dx", "step_limits", "OpenFaces", "edge_lengths", "coriolis_accelerations"]
