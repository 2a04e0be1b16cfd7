"""Masked Helmholtz inversion by a capacitance-matrix correction of the rectangle's DST solver.

Problem: on a closed grid with an ocean corner mask ``m`` (:func:`physics.masks.ocean_corner_mask`,
1 at ocean corners, 0 on land, coasts and walls) find ``psi`` ``(..., ny, nx)`` with::

    (Lap - kappa^2) psi = q    at every ocean corner (five-point Laplacian, ghosts psi = 0)
    psi = 0                    at every land corner (coasts and walls)

Method (Buzbee, Dorr, George & Golub 1971, SIAM J. Numer. Anal. 8, 722; Proskurowski & Widlund
1976, Math. Comp. 30, 433). Let ``G`` be the rectangle's exact discrete inverse
(:func:`physics.elliptic.apply_inverse`, DST-I, ``psi = 0`` on the walls) and ``P`` the set of
*coast points*: land corners off the walls that are a five-point neighbour of an ocean corner
(only they enter the ocean equations). With ``q0 = m q``, look for
``psi = G (q0 + sum_p sigma_p e_p)``: the equations hold at every ocean corner for any ``sigma``
(the extra sources sit on land), and ``psi_P = 0`` requires::

    C sigma = -(G q0)_P,        C = G_PP  (|P| x |P|, the capacitance matrix)

``G`` is symmetric negative definite, so is ``C``: ``-C = L L^T`` is factored once (Cholesky,
float64) at construction. A solve is then two DST inversions and two triangular solves,
batched over leading dims and over the ``kappa^2`` of several vertical modes, and differentiable
(plain torch ops: autograd goes through DSTs and ``cholesky_solve``). Points of land away from the
coast receive junk from ``G`` and are set to 0 by the final ``m psi``.

Other base solvers (``CapacitanceSolver(..., base=...)``; the default on a ``metric="sphere"``
grid): any exact rectangle inverse ``G = (L - kappa^2)^-1`` works the same way. With the spherical
:class:`physics.sphere_elliptic.RowHelmholtz`, ``L = A^-1 M`` (``M`` symmetric, ``A`` the corner
areas), so ``G`` itself is not symmetric but ``G A^-1 = (M - kappa^2 A)^-1`` is (and negative
definite): the sources are written ``sigma_p = s_p / A_p`` and ``C = (G A^-1)_PP`` is factored
(Cholesky again), its columns computed by applying the base solver to ``e_p / A_p`` (``|P|``
solves, ``chunk`` at a time). ``coast_scale = 1 / A_P`` carries the rescaling into the solve.

Islands: this solver sets ``psi = 0`` on *every* coast point, islands included (what
``QG(..., islands="zero")`` uses: no net transport between an island and the mainland). The correct
treatment, ``psi = c_k`` on island ``k`` with ``c_k`` fixed by Kelvin's circulation condition on the
island's coast (McWilliams 1977, Dyn. Atmos. Oceans 1, 427), is built on top of this solve by
:mod:`physics.islands` (``QG(..., islands="circulation")``).
Precomputation costs ``|P|`` DST inversions and ``|P|^2`` memory per mode (``|P|`` is the coast
length in points: ~4 x 10^3 points = 130 MB in float64).
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

from . import operators as op
from ._checks import check_field, check_int, check_nonnegative
from .elliptic import apply_inverse, helmholtz_multiplier
from .grid import Grid, require_grid
from .sphere_elliptic import RowHelmholtz
from .sphere_operators import metric
from .spectral import dst1_2d

Kappa2 = Union[float, torch.Tensor]
MATMUL_MAX_COAST = 512  # above: capacitance columns by DST (cheaper when P > ~500, measured on CPU)


def coast_points(corner_mask: torch.Tensor) -> torch.Tensor:
    """Flat indices ``j * nx + i`` (``(P,)``, int64, ascending) of the land corners off the
    stored walls (``i, j >= 1``) with an ocean corner among their four neighbours."""
    ocean = (corner_mask != 0).to(torch.float64)[None, None]
    near = F.conv2d(F.pad(ocean, (1, 1, 1, 1)), torch.tensor([[[[0.0, 1, 0], [1, 0, 1], [0, 1, 0]]]],
                                                               dtype=ocean.dtype, device=ocean.device))[0, 0]
    coast = (near > 0) & (corner_mask == 0)
    coast[0, :] = False
    coast[:, 0] = False
    return coast.flatten().nonzero().flatten()


def masked_helmholtz_operator(psi: torch.Tensor, grid: Grid, corner_mask: torch.Tensor,
                              kappa2: Kappa2 = 0.0) -> torch.Tensor:
    """The masked discrete operator: ``m ((Lap - kappa^2)(m psi))`` [units of psi / m^2],
    ``(..., ny, nx)`` (five-point Laplacian, zero ghosts beyond the east/north walls).

    Its ocean-corner values are the left side of the module's problem; the solver's residual
    ``masked_helmholtz_operator(solve(q)) - m q`` is 0 to round-off.
    """
    m = corner_mask.to(psi.dtype)
    pm = psi * m  # zero on land and on the stored walls, so zero ghosts close the stencil
    return m * (op.laplacian(pm, grid, "zero", loc="corner") - kappa2 * pm)


def capacitance_solve(q: torch.Tensor, grid: Grid, multiplier: torch.Tensor, corner_mask: torch.Tensor,
                      coast: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """``psi`` from ``q`` (``(..., ny, nx)``) with precomputed pieces (see :class:`CapacitanceSolver`).

    ``multiplier`` is :func:`physics.elliptic.helmholtz_multiplier` (leading dims ``K`` for ``K``
    values of ``kappa^2``, matching ``q``'s dim -3), ``coast`` the indices of :func:`coast_points`,
    ``chol`` ``(K, P, P)`` (or ``(P, P)``) the Cholesky factor of ``-C``.
    """
    return capacitance_correct(q, lambda f: apply_inverse(f, grid, multiplier), corner_mask, coast, chol)


def capacitance_correct(q: torch.Tensor, inverse: Callable[[torch.Tensor], torch.Tensor], corner_mask: torch.Tensor,
                        coast: torch.Tensor, chol: torch.Tensor, coast_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The masked solve on top of any exact rectangle inverse ``inverse: q -> G q`` (``(..., ny, nx)``).

    ``psi = m G (m q + sum_p sigma_p e_p)`` with ``(-C) s = (G m q)_P`` (``chol`` the Cholesky factor of
    ``-C``, ``(K, P, P)`` or ``(P, P)``) and ``sigma = coast_scale * s`` (``coast_scale`` ``(P,)``: ``1 / A_P``
    for the spherical base solver, ``None`` for the symmetric DST one; module docstring).
    """
    m = corner_mask.to(q.dtype)
    psi0 = inverse(q * m)
    if coast.numel() == 0:
        return psi0 * m
    flat = psi0.flatten(-2)
    r = flat.index_select(-1, coast)  # (..., K, P) or (..., P)
    sigma = _solve_factored(r, chol)  # (-C) sigma = psi0_P
    if coast_scale is not None:
        sigma = sigma * coast_scale
    src = torch.zeros_like(flat).index_add(-1, coast, sigma).view_as(psi0)
    return (psi0 + inverse(src)) * m


def _solve_factored(r: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """``(-C)^-1 r`` for ``r`` ``(..., K, P)`` and ``chol`` ``(K, P, P)`` (or ``(..., P)`` and ``(P, P)``):
    the batch goes into the right-hand-side columns, so ``chol`` is never broadcast (copied)."""
    P = chol.shape[-1]
    if chol.dim() == 2:
        R = r.reshape(-1, P).transpose(0, 1)
        return torch.cholesky_solve(R, chol).transpose(0, 1).reshape(r.shape)
    K = chol.shape[0]
    R = r.reshape(-1, K, P).permute(1, 2, 0)  # (K, P, M)
    return torch.cholesky_solve(R, chol).permute(2, 0, 1).reshape(r.shape)


class CapacitanceSolver:
    """Exact discrete inverse of ``(Lap - kappa^2)`` on a masked closed basin (module docstring).

    Args:
        grid: a closed :class:`~physics.grid.Grid`.
        corner_mask: ocean corner mask ``(ny, nx)`` (:func:`physics.masks.ocean_corner_mask`;
            any ``(ny, nx)`` 0/1 tensor with an ocean corner; the wall row/column is forced to land).
        kappa2: ``kappa^2 >= 0`` [1/m^2], a float or a tensor broadcasting to ``(K, 1, 1)``
            (one capacitance matrix per value, e.g. per vertical mode).

        base: the rectangle inverse to correct: ``None`` -- the DST solver of
            :func:`physics.elliptic.apply_inverse` on a Cartesian grid, a
            :class:`~physics.sphere_elliptic.RowHelmholtz` of ``kappa2`` on a sphere grid -- or a
            ``RowHelmholtz`` built on ``grid`` with the same ``kappa2`` (e.g. ``method="thomas"``).

    Attributes: ``mask`` ``(ny, nx)``, ``coast`` ``(P,)``, ``multiplier`` ``(..., ny, nx)`` (DST base
    only, else None), ``base`` (RowHelmholtz base, else None), ``coast_scale`` ``(P,)`` (``1 / A_P``,
    RowHelmholtz base, else None), ``chol`` ``((K,) P, P)``, in ``grid.dtype`` (factorised in float64).
    ``chunk``: rows of DST modes per block of the precomputation (memory ``P x chunk x nx``, or ``chunk x K x nx x ny`` above 512 coast points).
    """

    def __init__(self, grid: Grid, corner_mask: torch.Tensor, kappa2: Kappa2 = 0.0, chunk: int = 64,
                 base: Optional[RowHelmholtz] = None) -> None:
        require_grid(grid, boundary="closed", what="the capacitance solver (masks need walls; periodic masks are not supported)")
        check_field("corner_mask", corner_mask, grid.ny, grid.nx)
        chunk = check_int("chunk", chunk, minimum=1)
        mask = (corner_mask != 0).to(dtype=grid.dtype, device=grid.device) * grid.mask("corner")
        if not bool(mask.any()):
            raise ValueError("corner_mask has no ocean corner off the walls: no streamfunction unknown")
        if isinstance(kappa2, torch.Tensor):
            if bool((kappa2.detach() < 0).any()):
                raise ValueError("kappa2 must be >= 0 (inverse squared length, 1/m^2)")
            k64 = kappa2.detach().to(dtype=torch.float64, device=grid.device)
        else:
            k64 = check_nonnegative("kappa2", kappa2)
        self.grid, self.mask = grid, mask
        self.coast = coast_points(mask)
        self.base = self.coast_scale = self.multiplier = None  # set by the base in use
        if base is not None or grid.metric == "sphere":
            self._init_row_base(grid, k64, chunk, base)
            return
        g64 = grid.to(dtype=torch.float64)
        mult64 = helmholtz_multiplier(g64, k64)
        self.multiplier = mult64.to(grid.dtype)
        self.chol = self._factor(g64, mult64, chunk).to(grid.dtype)

    def _init_row_base(self, grid: Grid, k64: Kappa2, chunk: int, base: Optional[RowHelmholtz]) -> None:
        """Factor ``-C = -(G A^-1)_PP`` of a :class:`RowHelmholtz` base (module docstring): its columns
        are the base solves of ``e_b / A_b`` read at the coast points, ``chunk`` sources per batch."""
        if base is None:  # columns in float64, solves in the grid's dtype
            k = k64.reshape(-1, 1, 1) if isinstance(k64, torch.Tensor) and k64.dim() >= 1 else k64
            base = RowHelmholtz(grid.to(dtype=torch.float64), k)
            self.base = base if grid.dtype == torch.float64 else RowHelmholtz(grid, k)
        elif not isinstance(base, RowHelmholtz) or base.grid.shape != grid.shape or base.grid.metric != grid.metric:
            raise TypeError(f"base must be a physics.sphere_elliptic.RowHelmholtz on this grid, got {type(base).__name__}")
        area = metric(grid, "corner", "area", torch.zeros((), dtype=torch.float64, device=grid.device)).expand(grid.ny, grid.nx)
        inv_a = 1.0 / area.flatten().index_select(0, self.coast)  # (P,)
        P, n = self.coast.numel(), grid.ny * grid.nx
        lead = base.V.shape[:-2] if base.method == "eig" else base.factor[1].shape[:-2]
        cols = []
        for b0 in range(0, P, chunk):
            idx = self.coast[b0:b0 + chunk]
            src = torch.zeros(idx.numel(), n, dtype=torch.float64, device=grid.device)
            src[torch.arange(idx.numel()), idx] = inv_a[b0:b0 + chunk]
            src = src.view((idx.numel(),) + (1,) * len(lead) + grid.shape)
            cols.append(base(src.to(base.grid.dtype)).double().flatten(-2).index_select(-1, self.coast))
        negC = -(torch.cat(cols, 0).movedim(0, -1) if P else torch.zeros(lead + (0, 0), dtype=torch.float64))
        self.chol = torch.linalg.cholesky(0.5 * (negC + negC.transpose(-1, -2))).to(grid.dtype)
        self.coast_scale = inv_a.to(grid.dtype)
        self.base = self.base or base

    def _factor(self, g64: Grid, mult64: torch.Tensor, chunk: int) -> torch.Tensor:
        """Cholesky factor of ``-C``, ``C[k, a, b] = (G_k e_b)[a]`` over coast points ``a, b``.

        With the DST-I eigenvectors ``phi_nm(j, i) = sin(pi n j / ny) sin(pi m i / nx)`` the
        rectangle inverse is ``G = (4 / (nx ny)) sum_nm phi_nm mult_nm phi_nm^T``, so
        ``-C = B W B^T`` with ``B[a, nm] = phi_nm(coast a)`` and ``W = -(4 / (nx ny)) mult >= 0``.
        Up to 512 coast points: one matrix product per block of ``chunk`` rows ``n``
        (``P^2 nx ny`` flops); more: column ``b`` is ``DST2(W phi(coast b))`` at the coast points
        (``P`` transforms of ``nx ny log(nx ny)``), ``chunk`` columns at a time.
        """
        P = self.coast.numel()
        lead = mult64.shape[:-2]
        if P == 0:
            return torch.zeros(lead + (0, 0), dtype=torch.float64, device=g64.device)
        ny, nx = g64.ny, g64.nx
        ja = torch.div(self.coast, nx, rounding_mode="floor").to(torch.float64)
        ia = (self.coast % nx).to(torch.float64)
        kw = dict(dtype=torch.float64, device=g64.device)
        sy = torch.sin(torch.pi * ja[:, None] * torch.arange(ny, **kw) / ny)  # (P, ny)
        sx = torch.sin(torch.pi * ia[:, None] * torch.arange(nx, **kw) / nx)  # (P, nx)
        W = -mult64 * (4.0 / (nx * ny))
        if P > MATMUL_MAX_COAST:
            cols = []
            for b0 in range(0, P, chunk):
                outer = sy[b0:b0 + chunk, :, None] * sx[b0:b0 + chunk, None, :]  # DST2 of unit vectors
                outer = outer.view((outer.shape[0],) + (1,) * len(lead) + (ny, nx))
                cols.append(dst1_2d(W * outer).flatten(-2).index_select(-1, self.coast))  # (c, K.., P)
            negC = torch.cat(cols, 0).movedim(0, -1)
            return torch.linalg.cholesky(0.5 * (negC + negC.transpose(-1, -2)))
        rows = max(1, chunk // max(1, nx // 64))
        negC = torch.zeros(lead + (P, P), dtype=torch.float64, device=g64.device)
        for n0 in range(0, ny, rows):
            B = (sy[:, n0:n0 + rows, None] * sx[:, None, :]).flatten(1)  # (P, rows nx)
            Wb = W[..., n0:n0 + rows, :].flatten(-2).unsqueeze(-2)  # (K.., 1, rows nx)
            negC = negC + (B * Wb) @ B.T
        return torch.linalg.cholesky(0.5 * (negC + negC.transpose(-1, -2)))

    def solve(self, q: torch.Tensor) -> torch.Tensor:
        """``psi`` ``(..., ny, nx)`` of the masked problem for ``q`` ``(..., ny, nx)`` (land values of
        ``q`` are ignored; ``psi`` is exactly 0 on land)."""
        check_field("q", q, self.grid.ny, self.grid.nx)
        if self.base is not None:
            return capacitance_correct(q, self.base, self.mask, self.coast, self.chol.to(q.dtype),
                                       self.coast_scale.to(q.dtype))
        return capacitance_solve(q, self.grid, self.multiplier.to(q.dtype), self.mask, self.coast, self.chol.to(q.dtype))


__all__ = ["coast_points", "masked_helmholtz_operator", "capacitance_solve", "capacitance_correct", "CapacitanceSolver"]
