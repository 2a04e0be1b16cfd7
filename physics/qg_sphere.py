"""The layered QG model of :mod:`physics.qg` on a lon/lat box on the sphere (``grid.metric == "sphere"``).

Equations (closed box, finite differences; fields ``(B, N, ny, nx)`` at the corners)::

    q_i = L psi_i + sum_j S_ij psi_j                                  (S with the constant f0)
    dq_i/dt = -J(psi_i, q_i) - beta_j v_i - drag delta_{i,N} zeta_N + nu L zeta_i - nu4 L^2 zeta_i
              + delta_{i,1} curl(tau) / (rho0 H_1)

with ``L`` the flux-form spherical Laplacian, ``J`` the area-weighted spherical Arakawa Jacobian
(both :mod:`physics.sphere_operators`), ``zeta = L psi``, ``v = (psi[i+1] - psi[i-1]) / (2 dx_j)``
(the centred zonal derivative on each corner row, ``dx_j = R cos(phi_j) dlon``) and the planetary
PV gradient of the true Coriolis parameter ``f(phi) = 2 Omega sin(phi)`` per corner row::

    beta_j = df/dy = 2 Omega cos(phi_j) / R          (R = EARTH_RADIUS, Omega = OMEGA, physics.lonlat)

i.e. ``dq/dt = -J(psi, q) - (df/dy) dpsi/dx``, the advection of the planetary PV ``f - f0`` by the
geostrophic flow. The model's ``beta`` parameter scales this profile:
``beta_j = beta cos(phi_j) / cos(phi_0)`` with ``phi_0`` the box's central latitude, so the default
``beta = grid.beta = 2 Omega cos(phi_0) / R`` gives ``df/dy`` exactly, ``beta = 0`` an "f-sphere"
(metric terms only, no planetary gradient), and a learnable ``beta`` rescales the gradient.

Approximation (QG on the sphere with constant-f0 stretching): the PV anomaly is the QG one with
the stretching ``S`` built from ONE Coriolis parameter ``f0`` (default ``grid.f0 = 2 Omega sin(phi_0)``,
the central latitude of the box; ``QG(f0=...)`` to choose), while the planetary gradient and the
metric (``dx_j``, face lengths, cell areas) follow the sphere. Neglected: the variation of ``f``
in the stretching term and in the geostrophic balance (``f psi`` vs ``f0 psi``; relative error
``(f - f0)/f0 ~ (L/R) / tan(phi_0)`` across a box of meridional size ``L``), and the metric terms
of the momentum equations beyond the flux-form operators (``u tan(phi) / R`` terms, relative size
``L/R``): the standard consistent QG ordering for boxes with ``L << R`` away from the equator
(Pedlosky 1987, "Geophysical Fluid Dynamics", 2nd ed., Springer, ch. 6, "Quasigeostrophic motion
of a stratified fluid on a sphere"). A box crossing the equator has ``f0 ~ 0``: QG does not apply there.
The built-in double-gyre wind (``tau0``, :mod:`physics.qg`) keeps its closed-form curl
``-(2 pi tau0 / Ly) sin(2 pi y / Ly)`` in the meridional distance ``y = j dy``: the spherical curl of
``tau_x(y)`` adds ``tau_x tan(phi) / R`` (relative size ``Ly tan(phi) / (2 pi R)``, ~2 % for a 10 degree
box at 35 N), neglected like the other ``L/R`` metric terms; :class:`physics.forcing.QGWindForcing`
takes the discrete spherical curl of any stress field.

Conservation (inviscid, unforced; fields vanish on the walls and on land, as in :mod:`physics.qg`):
``sum A psi J(psi, q) = sum A q J(psi, q) = 0`` (the Arakawa identities in index space divided by
``A_j``), the beta term is antisymmetric along each row (``sum_i psi_i (psi_{i+1} - psi_{i-1}) = 0``)
and ``L + S`` is symmetric in the area- and thickness-weighted product, so the energy
``-sum_i (H_i/H) sum A psi_i q_i / 2`` is conserved to round-off, and the enstrophy
``sum A q^2 / 2`` too when ``beta = 0`` (the planetary term exchanges enstrophy with ``f``).

Inversion: :class:`physics.sphere_elliptic.RowHelmholtz` (``method="eig"``) per vertical mode,
exact to round-off; with a land mask, the capacitance correction of that solver
(:class:`physics.capacitance.CapacitanceSolver` with a RowHelmholtz base), and with
``islands="circulation"`` the island constants of :mod:`physics.islands` (area-weighted circulation). Not available on a
sphere grid: ``spectral=True`` and periodic boundaries (a lon/lat box is closed), a learnable
``Ld`` (the inversion is factored once), a background flow ``U`` (closed box). The discrete
adjoint of :mod:`physics.qg_adjoint` is Cartesian-periodic only (``discrete_adjoint()`` returns
``None``: autograd).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from . import sphere_operators as sph
from .capacitance import CapacitanceSolver, capacitance_correct
from .grid import Grid
from .islands import island_correct
from .lonlat import EARTH_RADIUS, OMEGA
from .operators import _shift
from .sphere_elliptic import RowHelmholtz, row_helmholtz_apply


def check_sphere_options(spectral: bool, learnable_ld: bool) -> None:
    """Refuse the options the spherical QG model does not have (module docstring)."""
    if spectral:
        raise ValueError("spectral=True is Cartesian-periodic only; a sphere grid (lon/lat box) uses "
                         "finite differences (spectral=False)")
    if learnable_ld:
        raise ValueError("Ld cannot be learnable on a sphere grid (the spherical inversion is factored "
                         "once at construction); give a fixed Ld")


def init_sphere_operators(model: nn.Module, grid: Grid, kappa2: torch.Tensor) -> None:
    """Register the spherical buffers of ``model``: the RowHelmholtz factors ``row_V``, ``row_mult``,
    ``row_VtA`` of each vertical mode (``kappa2`` ``(N, 1, 1)`` [1/m^2]), with a mask the capacitance
    pieces ``cap_coast``, ``cap_chol``, ``cap_scale``, and ``beta_shape`` ``(ny, 1)``
    (``cos(phi_j) / cos(phi_0)`` on the corner rows; ``beta_j = beta * beta_shape``)."""
    if model._masked:
        solver = CapacitanceSolver(grid, model.mask, kappa2)
        base = solver.base
        model.register_buffer("cap_chol", solver.chol)
        model.register_buffer("cap_coast", solver.coast)
        model.register_buffer("cap_scale", solver.coast_scale)
    else:
        base = RowHelmholtz(grid, kappa2)
    model.register_buffer("row_V", base.V)
    model.register_buffer("row_mult", base.mult)
    model.register_buffer("row_VtA", base.VtA)
    phi = torch.as_tensor(sph.row_latitudes(grid, "corner"), dtype=torch.float64) * (math.pi / 180)
    dfdy = 2 * OMEGA * torch.cos(phi) / EARTH_RADIUS
    shape = dfdy / grid.beta if grid.beta != 0 else torch.zeros_like(dfdy)
    model.register_buffer("beta_shape", shape.to(dtype=grid.dtype, device=grid.device).unsqueeze(-1))


def _row_inverse(model: nn.Module, f: torch.Tensor) -> torch.Tensor:
    return row_helmholtz_apply(f, model.row_V, model.row_mult, model.row_VtA)


def sphere_masked_modes(model: nn.Module, q: torch.Tensor) -> torch.Tensor:
    """Mode-space ``psi`` ``(B, N, ny, nx)`` of a masked model with ``psi = 0`` on every coast: the
    capacitance correction (:func:`physics.capacitance.capacitance_correct`) of the RowHelmholtz solver."""
    return capacitance_correct(q, lambda f: _row_inverse(model, f), model.mask, model.cap_coast, model.cap_chol,
                               model.cap_scale)


def sphere_psi(model: nn.Module, q: torch.Tensor) -> torch.Tensor:
    """``psi`` of a (wall-masked) ``q`` ``(B, N, ny, nx)``: per vertical mode, RowHelmholtz (+ capacitance)."""
    if model.modes is not None:
        q = torch.matmul(model.modes_Pinv, q.flatten(-2)).view_as(q)  # layer -> mode
    if model._masked:  # psi = 0 on every coast, then the island constants (physics.islands)
        psi = island_correct(model, sphere_masked_modes(model, q))
    else:
        psi = _row_inverse(model, q)
    if model.modes is not None:
        psi = torch.matmul(model.modes_P, psi.flatten(-2)).view_as(psi)  # mode -> layer
    return psi


def sphere_laplacian(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """The flux-form spherical Laplacian of a corner field vanishing on the walls (zero ghosts)."""
    return sph.laplacian(f, grid, "corner", "zero")


def zonal_derivative(psi: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Centred ``dpsi/dx = (psi[i+1] - psi[i-1]) / (2 dx_j)`` at the corners (zero ghosts) [psi/m]."""
    inv = sph.metric(grid, "corner", "inv_dx", psi)
    return (_shift(psi, grid, -1, 1, "zero") - _shift(psi, grid, -1, -1, "zero")) * (0.5 * inv)


def _fused_terms(psi: torch.Tensor, q: torch.Tensor, grid: Grid, c_dpsi: Optional[torch.Tensor],
                 need_lap: bool) -> tuple:
    """``(-J(psi, q) + c_dpsi dpsi/dx, L psi or None)`` from ONE zero-padded copy of ``[psi, q]``.

    The same arithmetic as :func:`physics.sphere_operators.arakawa_jacobian` (the Arakawa 1966 stencil
    of :func:`physics.operators._arakawa_raw` over ``12 A_j``), :func:`zonal_derivative` and
    :func:`sphere_laplacian`, with every neighbour a view of the padded tensor instead of a shifted
    copy (equal to round-off, tested by the conservation tests; ~3x fewer tensor operations)."""
    N = psi.shape[-3]
    p = F.pad(torch.cat((psi, q), -3), (1, 1, 1, 1))  # zero ghosts = psi = q = 0 beyond the walls

    def v(dj: int, di: int, lo: int) -> torch.Tensor:
        ny, nx = psi.shape[-2:]
        return p[..., lo:lo + N, 1 + dj:1 + dj + ny, 1 + di:1 + di + nx]

    a_c, a_e, a_w, a_n, a_s = v(0, 0, 0), v(0, 1, 0), v(0, -1, 0), v(1, 0, 0), v(-1, 0, 0)
    a_ne, a_nw, a_se, a_sw = v(1, 1, 0), v(1, -1, 0), v(-1, 1, 0), v(-1, -1, 0)
    b_e, b_w, b_n, b_s = v(0, 1, N), v(0, -1, N), v(1, 0, N), v(-1, 0, N)
    b_ne, b_nw, b_se, b_sw = v(1, 1, N), v(1, -1, N), v(-1, 1, N), v(-1, -1, N)
    dxa = a_e - a_w
    raw = (dxa * (b_n - b_s) - (a_n - a_s) * (b_e - b_w)
           + a_e * (b_ne - b_se) - a_w * (b_nw - b_sw) - a_n * (b_ne - b_nw) + a_s * (b_se - b_sw)
           + b_n * (a_ne - a_nw) - b_s * (a_se - a_sw) - b_e * (a_ne - a_se) + b_w * (a_nw - a_sw))
    rhs = raw * (sph.metric(grid, "corner", "inv_area", psi) * (-1.0 / 12.0))
    if c_dpsi is not None:
        rhs = rhs + c_dpsi * dxa * (0.5 * sph.metric(grid, "corner", "inv_dx", psi))
    lap = None
    if need_lap:
        fx = (a_e + a_w - 2 * a_c) * sph.metric(grid, "corner", "dy_over_dx", psi)
        fy = ((a_n - a_c) * sph.metric(grid, "corner", "north", psi)
              - (a_c - a_s) * sph.metric(grid, "corner", "south", psi)) * (1.0 / grid.dy)
        lap = (fx + fy) * sph.metric(grid, "corner", "inv_area", psi)
    return rhs, lap


def sphere_rhs(model: nn.Module, q: torch.Tensor, psi: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``dq/dt`` ``(B, N, ny, nx)`` [1/s^2] of the module's equation for a wall-masked ``q``."""
    g, m = model.grid, model.mask
    psi = sphere_psi(model, q) if psi is None else psi
    c_dpsi, c_lap = model._linear_coefficients()  # -beta (N, 1, 1) and -drag on the bottom layer
    visc = "nu" in model._active or "nu4" in model._active
    dq, zeta = _fused_terms(psi, q, g, None if c_dpsi is None else c_dpsi * model.beta_shape,
                            c_lap is not None or visc)
    if c_lap is not None:
        dq = dq + c_lap * zeta
    if visc:
        lap_zeta = sphere_laplacian(zeta * m, g)
        if "nu" in model._active:
            dq = dq + model.p("nu") * lap_zeta
        if "nu4" in model._active:
            dq = dq - model.p("nu4") * sphere_laplacian(lap_zeta * m, g)
    if "tau0" in model._active:
        dq = dq + model.p("tau0") * model.wind_shape
    return dq * m


def area_weights(grid: Grid, like: torch.Tensor) -> torch.Tensor:
    """Corner-row weights ``A_j / mean(A)`` ``(ny, 1)``: ``mean(w f)`` is the area-weighted mean."""
    a = sph.metric(grid, "corner", "area", like)
    return a / a.mean()


__all__ = ["check_sphere_options", "init_sphere_operators", "sphere_masked_modes", "sphere_psi", "sphere_rhs", "sphere_laplacian",
           "zonal_derivative", "area_weights"]
