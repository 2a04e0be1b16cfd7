"""Coriolis / vorticity-flux schemes of the rotating shallow-water model on the C-grid.

In vector-invariant form the momentum equations of :class:`physics.shallow_water.ShallowWater`
contain the term ``q k x (h u)``, i.e. at u-points ``+q V`` and at v-points ``-q U`` with
``q = (zeta + f) / h`` the potential vorticity at corners and ``U = h u``, ``V = h v`` the
mass fluxes at u- and v-points. On the C-grid ``q`` and the fluxes sit at different places, so
the product needs averaging; the choice decides what is conserved (periodic domain,
semi-discrete in time):

``"energy"`` -- Sadourny (1975) energy-conserving scheme (his "EN")::

    Cor_u = avg_y( q * avg_x(V) ),       Cor_v = -avg_x( q * avg_y(U) )

  ``sum(U Cor_u + V Cor_v) = 0`` for any ``q``: the Coriolis/vorticity term does no work, so
  total energy is conserved (nonlinear and linear, f- or beta-plane, periodic or closed).

``"enstrophy"`` -- Sadourny (1975) potential-enstrophy-conserving scheme ("ENS")::

    Cor_u = avg_y(q) * avg_xy(V),        Cor_v = -avg_x(q) * avg_xy(U)

  With ``q = (zeta + f) / h_q``, ``h_q`` the four-point average of ``h``, the potential
  enstrophy ``sum h_q q^2 / 2`` is conserved for general (divergent) flow on a periodic
  domain, f- or beta-plane. Energy is *not* conserved.

``"een"`` -- the energy- and enstrophy-conserving "EEN" scheme of Arakawa & Hsu (1990) (as
  used in NEMO): ``q`` is combined into four triads per cell (sums of three of its corner
  values) and each (U, V) pair of a cell is weighted by the triad of the corner between them::

    Cor_u[j,i] =  1/12 (tnw[j,i] V[j+1,i] + tsw[j,i] V[j,i] + tne[j,i-1] V[j+1,i-1] + tse[j,i-1] V[j,i-1])
    Cor_v[j,i] = -1/12 (tsw[j,i] U[j,i] + tse[j,i] U[j,i+1] + tnw[j-1,i] U[j-1,i] + tne[j-1,i] U[j-1,i+1])

  Every ``U V q`` product appears in ``Cor_u`` and ``Cor_v`` with opposite signs, so energy
  is conserved exactly for any ``q``; potential enstrophy is conserved when the mass flux
  is non-divergent (Arakawa & Hsu 1990). It is not the Arakawa & Lamb (1981) scheme (which
  also conserves enstrophy for divergent flow); that one is not implemented.

For a constant ``q`` all three reduce to ``Cor_u = q * (4-point average of V)``.

Implementation: fields are padded by one point on every side (index offset 1): periodic
grids wrap around; closed grids put zero fluxes outside and on the east/north walls, and
the caller supplies ``q`` on the wall corners. Values outside the basin only ever reach the
masked wall tendencies.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .grid import Grid

SCHEMES = ("energy", "enstrophy", "een")


def pad(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Pad the last two dims by one point on each side: wrap (periodic) or zeros (closed).

    ``(..., ny, nx) -> (..., ny + 2, nx + 2)`` with ``out[..., j + 1, i + 1] = f[..., j, i]``.
    """
    lead = f.shape[:-2]
    f4 = f.reshape((-1, 1) + tuple(f.shape[-2:]))
    if grid.periodic:
        out = F.pad(f4, (1, 1, 1, 1), mode="circular")
    else:
        out = F.pad(f4, (1, 1, 1, 1), mode="constant", value=0.0)
    return out.reshape(lead + out.shape[-2:])


def window(p: torch.Tensor, grid: Grid, dj: int, di: int) -> torch.Tensor:
    """``w[..., j, i] = f[j + dj, i + di]`` from a padded field ``p`` (``dj, di`` in -1..1)."""
    ny, nx = grid.shape
    return p[..., 1 + dj: 1 + dj + ny, 1 + di: 1 + di + nx]


def coriolis_terms(scheme: str, qp: torch.Tensor, Up: torch.Tensor, Vp: torch.Tensor, grid: Grid):
    """``(Cor_u, Cor_v)``: the ``+q V`` (u-points) and ``-q U`` (v-points) terms [m/s^2].

    Args:
        scheme: one of :data:`SCHEMES`.
        qp: padded corner potential vorticity ``(..., ny+2, nx+2)`` [1/(m s)], correct on
            every wall corner of a closed grid (see :func:`pad`/:func:`window`).
        Up, Vp: padded mass fluxes ``h u``, ``h v`` [m^2/s] (zero on and beyond walls).
    Returns:
        two ``(..., ny, nx)`` tensors at u- and v-points.
    """
    def q(dj, di):
        return window(qp, grid, dj, di)

    def U(dj, di):
        return window(Up, grid, dj, di)

    def V(dj, di):
        return window(Vp, grid, dj, di)

    if scheme == "energy":
        xq = q(0, 0) * (V(0, -1) + V(0, 0))           # q * 2 avg_x(V) at corner (j, i)
        xq_n = q(1, 0) * (V(1, -1) + V(1, 0))         # ... at corner (j + 1, i)
        yq = q(0, 0) * (U(-1, 0) + U(0, 0))           # q * 2 avg_y(U) at corner (j, i)
        yq_e = q(0, 1) * (U(-1, 1) + U(0, 1))         # ... at corner (j, i + 1)
        return 0.25 * (xq + xq_n), -0.25 * (yq + yq_e)
    if scheme == "enstrophy":
        v4 = 0.25 * (V(0, -1) + V(0, 0) + V(1, -1) + V(1, 0))
        u4 = 0.25 * (U(-1, 0) + U(0, 0) + U(-1, 1) + U(0, 1))
        return 0.5 * (q(0, 0) + q(1, 0)) * v4, -0.5 * (q(0, 0) + q(0, 1)) * u4
    if scheme == "een":
        # Triads of the cell (j, i) whose corners are SW q(0,0), SE q(0,1), NW q(1,0), NE q(1,1).
        def triads(dj, di):
            sw, se, nw, ne = q(dj, di), q(dj, di + 1), q(dj + 1, di), q(dj + 1, di + 1)
            return nw + ne + se, sw + nw + ne, ne + se + sw, se + sw + nw  # tne, tnw, tse, tsw

        tne, tnw, tse, tsw = triads(0, 0)
        tne_w, _, tse_w, _ = triads(0, -1)      # cell (j, i - 1): west of the u-point
        tne_s, tnw_s, _, _ = triads(-1, 0)      # cell (j - 1, i): south of the v-point
        cor_u = (tnw * V(1, 0) + tsw * V(0, 0) + tne_w * V(1, -1) + tse_w * V(0, -1)) / 12.0
        cor_v = -(tsw * U(0, 0) + tse * U(0, 1) + tnw_s * U(-1, 0) + tne_s * U(-1, 1)) / 12.0
        return cor_u, cor_v
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def corner_depth(h: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Four-point average of a centre field onto padded corners, ``(..., ny+2, nx+2)``.

    Corner ``(j, i)`` (padded index ``j + 1, i + 1``) averages centres ``(j-1..j, i-1..i)``.
    Periodic grids wrap; closed grids replicate the edge cells (zero normal gradient), so the
    east/north wall corners are filled too (the low padded row/column lies outside the
    basin and only reaches masked tendencies).
    """
    lead = h.shape[:-2]
    h4 = h.reshape((-1, 1) + tuple(h.shape[-2:]))
    mode = "circular" if grid.periodic else "replicate"
    hp = F.pad(h4, (1, 1, 1, 1), mode=mode)               # centres -1..n
    hq = 0.25 * (hp[..., :-1, :-1] + hp[..., :-1, 1:] + hp[..., 1:, :-1] + hp[..., 1:, 1:])  # corners 0..n
    if grid.periodic:
        hq = F.pad(hq[..., :-1, :-1], (1, 1, 1, 1), mode="circular")
    else:
        hq = F.pad(hq, (1, 0, 1, 0), mode="replicate")    # corners -1..n (row/col -1 unused)
    return hq.reshape(lead + hq.shape[-2:])


def corner_coriolis(grid: Grid, like: torch.Tensor) -> torch.Tensor:
    """``f = f0 + beta (y - y0)`` on the padded corners ``j = -1..ny``, shape ``(ny+2, 1)``."""
    j = torch.arange(-1, grid.ny + 1, dtype=like.dtype, device=like.device)
    f = grid.f0 + grid.beta * (j * grid.dy - grid.y0)
    if grid.periodic:  # wrapped rows carry the wrapped f, consistent with the stored corners
        f = torch.cat((f[-2:-1], f[1:-1], f[1:2]))
    return f.unsqueeze(-1)


__all__ = ["SCHEMES", "pad", "window", "coriolis_terms", "corner_depth", "corner_coriolis"]
