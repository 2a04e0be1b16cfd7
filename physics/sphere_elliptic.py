"""Exact Helmholtz/Poisson inversion with per-row metrics (lon/lat boxes on the sphere).

Problem: ``(L - kappa^2) psi = q`` for corner fields ``(..., ny, nx)`` on a closed grid, with
``L`` the flux-form Laplacian of :func:`physics.operators.laplacian` (``ghost="zero"``,
``loc="corner"``; :mod:`physics.sphere_operators`) and ``psi = 0`` on the walls (stored index 0
and the ghost index ``n``), as in the closed DST solver of :mod:`physics.elliptic`. The free
points ``i = 1..nx-1``, ``j = 1..ny-1`` satisfy the equation to round-off; wall values of ``q``
are ignored and the returned ``psi`` is exactly 0 on the stored walls.

Separation: the metric depends on the row only, so multiplying by the cell area ``A_j``::

    (dy/dx_j) (psi[i+1] - 2 psi[i] + psi[i-1]) + (n_j (psi[j+1] - psi[j]) - s_j (psi[j] - psi[j-1])) / dy
        - kappa^2 A_j psi = A_j q

and a DST-I along x (``psi[i] = sum_m psi_m sin(pi m i / nx)``, ``delta_xx -> -mu_m``,
``mu_m = 4 sin^2(pi m / (2 nx))``) leaves, for every wavenumber ``m``, the symmetric
tridiagonal system along y ``(K - mu_m D) psi_m = A q_m``, ``K`` the y-part (off-diagonals
``n_j / dy``, diagonal ``-(n_j + s_j)/dy - kappa^2 A_j``) and ``D = diag(dy / dx_j) > 0``.
``K - mu D`` is negative definite, so both solvers below need no pivoting:

* ``method="thomas"``: a batched Thomas algorithm (LU of the tridiagonal factorised once per
  grid and ``kappa^2``, then one forward and one backward sweep of ``ny - 1`` vector steps per
  solve; differentiable through autograd). Cost ``O(nx ny)`` but ``2 ny`` small tensor ops.
* ``method="eig"`` (default): the symmetric-definite generalised eigenproblem ``K v = lambda D v``
  is solved once (``D^-1/2 K D^-1/2 = U diag(lambda) U^T``, ``V = D^-1/2 U``, ``V^T D V = I``), so
  ``psi_m = V diag(1 / (lambda - mu_m)) V^T A q_m``: the y-solve becomes two dense matrix
  products (``O(nx ny^2)``, a handful of tensor ops; fastest here, see ``scripts/bench_physics.py``).

Measured (``nice .venv/bin/python scripts/bench_physics.py --threads 1 --sphere-only --repeats 7``,
float64, batch 1, per solve, factors precomputed): the Cartesian 2-D DST solve 0.66 / 1.66 /
8.0 ms at 64^2 / 128^2 / 256^2; ``eig`` 0.77x / 0.76x / 0.95x of it, ``thomas`` 5.4x / 5.1x /
2.2x (the 2 ny Python-level steps dominate below 256^2). Forward + autograd backward of
``sum(psi^2)``: ``eig`` 0.81x / 0.73x and ``thomas`` 3.4x / 2.7x of the DST solve at 64^2 / 128^2,
so no hand-written transposed solve is needed for ``eig`` (its backward is the same products).

Both work on any closed grid with row metrics (Cartesian: constant factors, where they agree
with :func:`physics.elliptic.solve_helmholtz` to round-off).
"""
from __future__ import annotations

import math
from typing import Tuple, Union

import torch

from ._checks import check_choice, check_field
from .grid import Grid
from .sphere_operators import metric
from .spectral import dst1

Kappa2 = Union[float, torch.Tensor]
METHODS = ("eig", "thomas")


# ------------------------------------------------------------------ batched tridiagonal solver
def tridiagonal_factor(lower: torch.Tensor, diag: torch.Tensor, upper: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """LU factorisation (Thomas, no pivoting) of tridiagonal systems along dim ``-2``.

    Row ``k`` of each system reads ``lower[k] x[k-1] + diag[k] x[k] + upper[k] x[k+1] = r[k]``
    (``lower[0]`` and ``upper[n-1]`` unused); the coefficient tensors broadcast to ``(..., n, M)``
    (``M`` independent systems per leading index). Stable for diagonally dominant or
    symmetric-definite systems. Returns ``(lower, c, inv)``: ``c[k] = upper[k] inv[k]``,
    ``inv[k] = 1 / (diag[k] - lower[k] c[k-1])``, each ``(..., n, M)``, for :func:`tridiagonal_solve`.
    """
    for name, t in (("lower", lower), ("diag", diag), ("upper", upper)):
        if not isinstance(t, torch.Tensor) or t.dim() < 2:
            raise TypeError(f"{name} must be a tensor shaped (..., n, M), got {type(t).__name__}")
    lower, diag, upper = torch.broadcast_tensors(lower, diag, upper)
    lo, b, up = lower.unbind(-2), diag.unbind(-2), upper.unbind(-2)
    inv, c = [1.0 / b[0]], []
    c.append(up[0] * inv[0])
    for k in range(1, len(b)):
        inv.append(1.0 / (b[k] - lo[k] * c[k - 1]))
        c.append(up[k] * inv[k])
    return lower, torch.stack(c, -2), torch.stack(inv, -2)


def tridiagonal_solve(factor: Tuple[torch.Tensor, ...], rhs: torch.Tensor) -> torch.Tensor:
    """Solve the systems of :func:`tridiagonal_factor` for ``rhs`` ``(..., n, M)`` (broadcast with
    the factor); forward then backward sweep, differentiable through autograd. Returns ``x``."""
    lower, c, inv = factor
    if rhs.shape[-2] != c.shape[-2]:
        raise ValueError(f"rhs must have {c.shape[-2]} rows along dim -2 (the factor's n), got shape {tuple(rhs.shape)}")
    r, lo, cc, iv = rhs.unbind(-2), lower.unbind(-2), c.unbind(-2), inv.unbind(-2)
    n = len(r)
    d = [r[0] * iv[0]]
    for k in range(1, n):
        d.append((r[k] - lo[k] * d[k - 1]) * iv[k])
    x = [d[n - 1]]
    for k in range(n - 2, -1, -1):
        x.append(d[k] - cc[k] * x[-1])
    return torch.stack(x[::-1], -2)


def solve_tridiagonal(lower: torch.Tensor, diag: torch.Tensor, upper: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """:func:`tridiagonal_factor` then :func:`tridiagonal_solve` (systems along dim ``-2``)."""
    return tridiagonal_solve(tridiagonal_factor(lower, diag, upper), rhs)


# ------------------------------------------------------------------ Helmholtz on row metrics
def _check_kappa2(kappa2: Kappa2) -> torch.Tensor:
    k = torch.as_tensor(kappa2, dtype=torch.float64) if not isinstance(kappa2, torch.Tensor) else kappa2.detach()
    if not k.dtype.is_floating_point and k.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"kappa2 must be a real number or tensor (1/m^2), got dtype {k.dtype}")
    if (k.dim() >= 2 and (k.shape[-1] != 1 or k.shape[-2] != 1)) or (k.dim() == 1 and k.numel() != 1):
        raise ValueError(f"kappa2 must be a scalar or shaped (..., 1, 1), got shape {tuple(k.shape)}")
    if not bool(torch.isfinite(k).all()) or bool((k < 0).any()):
        raise ValueError("kappa2 must be finite and >= 0 (inverse squared length, 1/m^2)")
    return k.to(torch.float64)


class RowHelmholtz:
    """Precomputed exact inverse of ``(L - kappa^2)`` on corners of a closed row-metric grid.

    Args:
        grid: a closed :class:`~physics.grid.Grid` (``metric="sphere"`` or Cartesian).
        kappa2: ``kappa^2 >= 0`` [1/m^2], a float or a tensor ``(..., 1, 1)`` (e.g. one per
            vertical mode, ``(nmodes, 1, 1)``); the leading dims broadcast with those of ``q``.
        method: ``"eig"`` or ``"thomas"`` (module docstring).

    Calling it on ``q`` ``(..., ny, nx)`` returns ``psi`` ``(..., ny, nx)`` [q m^2],
    differentiable in ``q`` (``kappa2`` is a constant of the precomputation). The factors are
    built in float64 and stored in the grid's dtype/device.
    """

    def __init__(self, grid: Grid, kappa2: Kappa2 = 0.0, method: str = "eig") -> None:
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
        if grid.periodic:
            raise ValueError("grid must be closed (walls, psi = 0 on them) for RowHelmholtz; "
                             "periodic grids use physics.elliptic.solve_helmholtz")
        self.grid, self.method = grid, check_choice("method", method, METHODS)
        k2 = _check_kappa2(kappa2)
        lead = k2.shape[:-2] if k2.dim() >= 2 else ()
        k2 = k2.reshape(*lead, 1, 1) if k2.dim() >= 2 else k2.reshape(1, 1)
        like = torch.zeros((), dtype=torch.float64)
        sl = slice(1, grid.ny)  # free corner rows
        north, south = metric(grid, "corner", "north", like)[sl], metric(grid, "corner", "south", like)[sl]
        area, ratio = metric(grid, "corner", "area", like)[sl], metric(grid, "corner", "dy_over_dx", like)[sl]
        dy = grid.dy
        m = torch.arange(grid.nx, dtype=torch.float64)
        mu = 4 * torch.sin(math.pi * m / (2 * grid.nx)) ** 2  # (nx,): -delta_xx on sin(pi m i / nx)
        kdiag = -(north + south) / dy - k2 * area  # (..., n, 1)
        out = dict(dtype=grid.dtype, device=grid.device)
        self.area = area.to(**out)  # (n, 1)
        if self.method == "thomas":
            lower = (south / dy).expand_as(kdiag).clone()
            upper = (north / dy).expand_as(kdiag).clone()
            diag = kdiag - mu * ratio  # (..., n, nx)
            self.factor = tuple(t.to(**out) for t in tridiagonal_factor(lower, diag, upper))
            return
        off = (north[:-1, 0] / dy)  # coupling of rows j, j+1 (n_j = s_{j+1} up to round-off)
        K = torch.diag_embed(kdiag[..., 0]) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
        dm = ratio[:, 0].rsqrt()  # D^-1/2, (n,)
        lam, U = torch.linalg.eigh(dm[:, None] * K * dm[None, :])  # (..., n), (..., n, n)
        V = dm[:, None] * U  # V^T D V = I, V^T K V = diag(lam)
        denom = lam.unsqueeze(-1) - mu  # (..., n, nx), < 0
        mult = 1.0 / denom
        mult[..., 0] = 0.0  # m = 0 carries no sine mode
        self.V = V.to(**out)
        self.VtA = (V.transpose(-1, -2) * area[:, 0]).to(**out)  # V^T diag(A)
        self.mult = (mult * (2.0 / grid.nx)).to(**out)  # with the inverse-DST normalisation

    def __call__(self, q: torch.Tensor) -> torch.Tensor:
        check_field("q", q, self.grid.ny, self.grid.nx)
        if self.method == "eig":
            return row_helmholtz_apply(q, self.V, self.mult, self.VtA)
        qh = dst1(q.narrow(-2, 1, self.grid.ny - 1), -1)  # (..., n, nx), free rows, x-modes
        return _with_wall_row(dst1(tridiagonal_solve(self.factor, self.area * qh) * (2.0 / self.grid.nx), -1))


def _with_wall_row(psi: torch.Tensor) -> torch.Tensor:
    """Prepend the south wall row ``psi = 0`` to the free rows ``(..., ny - 1, nx)``."""
    return torch.cat((torch.zeros_like(psi.narrow(-2, 0, 1)), psi), dim=-2)


def row_helmholtz_apply(q: torch.Tensor, V: torch.Tensor, mult: torch.Tensor, VtA: torch.Tensor) -> torch.Tensor:
    """The ``method="eig"`` solve of :class:`RowHelmholtz` from its factors (no input checks).

    ``psi_m = V diag(mult_m) V^T A q_m`` per DST-I x-mode ``m`` of the free rows (module docstring),
    with ``V`` ``(..., n, n)``, ``mult`` ``(..., n, nx)`` (``1 / (lambda - mu_m)`` times the inverse-DST
    normalisation ``2 / nx``) and ``VtA = V^T diag(A)`` ``(..., n, n)``, ``n = ny - 1``; the factors'
    leading dims broadcast with those of ``q`` ``(..., ny, nx)``. A functional form so that a model
    can keep the factors as buffers (cast with the state's dtype). Returns ``psi`` ``(..., ny, nx)``.
    """
    qh = dst1(q.narrow(-2, 1, q.shape[-2] - 1), -1)  # (..., n, nx), free rows, x-modes
    return _with_wall_row(dst1(V @ (mult * (VtA @ qh)), -1))


def solve_helmholtz_rows(q: torch.Tensor, grid: Grid, kappa2: Kappa2 = 0.0, method: str = "eig") -> torch.Tensor:
    """Solve ``(L - kappa^2) psi = q`` (``psi = 0`` on walls) on a closed row-metric grid;
    ``q``, ``psi``: ``(..., ny, nx)`` at corners. Builds a :class:`RowHelmholtz` (precompute it
    when solving repeatedly on one grid)."""
    return RowHelmholtz(grid, kappa2, method)(q)


__all__ = ["tridiagonal_factor", "tridiagonal_solve", "solve_tridiagonal", "RowHelmholtz", "row_helmholtz_apply",
           "solve_helmholtz_rows"]
