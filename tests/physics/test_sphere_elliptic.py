"""Exact Helmholtz solves with per-row (spherical) metrics: residual of the discrete operator to
round-off, agreement with the Cartesian DST solver, second-order convergence to an analytic
spherical solution, gradcheck; the batched Thomas solver against a dense solve.

Residual tolerance: the solve is a DST, two products with an orthonormal-like basis (or two
Thomas sweeps) and a division, each ~ n eps relative; re-applying the operator amplifies that
by at most its condition number ``cond ~ max|lambda| / min|lambda|`` (<= ~ (2 n / pi)^2 x the
metric ratio dx_max/dx_min here), so ``|L psi - q| <= 50 cond n eps max|q|`` bounds round-off,
the bound of test_elliptic.py; a wrong operator or boundary gives O(1). Measured 1e-16..1e-14.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from physics.elliptic import solve_helmholtz
from physics.grid import Grid
from physics.lonlat import EARTH_RADIUS as R
from physics.operators import laplacian
from physics.sphere_elliptic import RowHelmholtz, solve_helmholtz_rows, solve_tridiagonal

EPS = torch.finfo(torch.float64).eps
SETTINGS = settings(max_examples=20, deadline=None)


def sphere_grid(lon0, lat0, dlon, dlat, nx, ny) -> Grid:
    return Grid.from_lonlat(lon0 + dlon * np.arange(nx), lat0 + dlat * np.arange(ny))


def _bound(g: Grid) -> float:
    dx = g.dx_at("corner")[1:]
    ratio = float(dx.max() / dx.min())
    n = max(g.nx, g.ny)
    return 50 * (2 * n / math.pi) ** 2 * ratio * (g.dy / float(dx.min()) + float(dx.max()) / g.dy) * n * EPS


def _residual(psi, q, g, kappa2):
    return (laplacian(psi, g, "zero", loc="corner") - kappa2 * psi - q)[..., 1:, 1:]


@SETTINGS
@given(lat0=st.floats(-80.0, 70.0), dlat=st.floats(0.05, 2.0), dlon=st.floats(0.05, 2.0), nx=st.integers(3, 24),
       ny=st.integers(3, 24), k2dy2=st.sampled_from([0.0, 1e-3, 1.0]), method=st.sampled_from(["eig", "thomas"]),
       seed=st.integers(0, 1000))
def test_residual_round_off(lat0, dlat, dlon, nx, ny, k2dy2, method, seed):
    """Random boxes (the equator and high latitudes included), random q: the free points satisfy
    (L - kappa^2) psi = q to round-off; psi is exactly 0 on the stored walls."""
    lat0 = min(lat0, 89.0 - dlat * ny)
    g = sphere_grid(5.0, lat0, dlon, dlat, nx, ny)
    kappa2 = k2dy2 / g.dy**2
    q = torch.randn(2, ny, nx, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    psi = solve_helmholtz_rows(q, g, kappa2, method)
    assert _residual(psi, q, g, kappa2).abs().max() <= _bound(g) * q.abs().max()
    assert psi[..., 0, :].abs().max() == 0 and psi[..., :, 0].abs().max() == 0


def test_kappa2_per_mode_and_methods_agree():
    """kappa2 (nmodes, 1, 1) broadcasts like physics.elliptic; eig and thomas agree to round-off
    (both exact: 1e-12 relative is ~ 5000 eps, far below any discretisation difference)."""
    g = sphere_grid(-30.0, -10.0, 0.5, 0.4, 17, 21)  # crosses the equator
    k2 = torch.tensor([0.0, 1e-10, 1e-9], dtype=torch.float64).view(3, 1, 1)
    q = torch.randn(2, 3, g.ny, g.nx, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pe, pt = RowHelmholtz(g, k2, "eig")(q), RowHelmholtz(g, k2, "thomas")(q)
    assert pe.shape == q.shape
    assert (pe - pt).abs().max() <= 1e-12 * pe.abs().max()
    for m in range(3):
        assert _residual(pe[:, m], q[:, m], g, float(k2[m])).abs().max() <= _bound(g) * q.abs().max()


@pytest.mark.parametrize("method", ["eig", "thomas"])
def test_cartesian_closed_matches_dst_solver(method):
    """On a Cartesian closed grid the row solver is the 2-D DST solver of physics.elliptic
    (same operator, same walls): 1e-12 relative ~ 5000 eps."""
    g = Grid(20, 13, dx=1e4, dy=2.5e4, boundary="closed")
    q = torch.randn(3, g.ny, g.nx, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for kappa2 in (0.0, 3e-9):
        a, b = solve_helmholtz_rows(q, g, kappa2, method), solve_helmholtz(q, g, kappa2)
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()


def test_poisson_converges_to_analytic_spherical_solution():
    """psi = sin(a (lam - lam_w)) sin(b (phi - phi_s)) vanishes on the walls of the box; its
    spherical Laplacian is [-a^2 psi / cos^2 phi - tan(phi) psi_phi - b^2 psi] / R^2. Solving the
    discrete problem with that q recovers psi with error O(h^2): observed order >= 1.8."""
    errs = []
    for n in (16, 32, 64):
        dlon, dlat = 40.0 / n, 30.0 / n
        g = sphere_grid(-20.0 + dlon / 2, 20.0 + dlat / 2, dlon, dlat, n, n)
        lon, lat = g.lonlat("corner")
        phi, lam = torch.meshgrid(torch.deg2rad(lat), torch.deg2rad(lon), indexing="ij")
        a, b = math.pi / math.radians(40.0), math.pi / math.radians(30.0)
        sx, sy = torch.sin(a * (lam - math.radians(-20.0))), b * (phi - math.radians(20.0))
        psi = sx * torch.sin(sy)
        psi_phi = b * sx * torch.cos(sy)
        q = (-a**2 * psi / torch.cos(phi) ** 2 - torch.tan(phi) * psi_phi - b**2 * psi) / R**2
        errs.append(float((solve_helmholtz_rows(q, g) - psi).abs().max()))
    rates = [math.log2(e0 / e1) for e0, e1 in zip(errs, errs[1:])]
    assert errs[-1] < 1e-3 and all(r >= 1.8 for r in rates), (errs, rates)


@pytest.mark.parametrize("method", ["eig", "thomas"])
def test_gradcheck(method):
    g = sphere_grid(0.0, 40.0, 1.0, 1.0, 6, 5)
    solver = RowHelmholtz(g, 1e-11, method)
    q = torch.randn(2, g.ny, g.nx, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: solver(x) * 1e-10, (q,))


def test_tridiagonal_against_dense_solve():
    """Batched Thomas vs torch.linalg.solve on random diagonally dominant systems (no pivoting
    needed): 1e-12 relative; differentiable (gradcheck w.r.t. the right-hand side and the diagonal)."""
    gen = torch.Generator().manual_seed(3)
    n, M = 9, 4
    lo, up = torch.randn(n, M, generator=gen, dtype=torch.float64), torch.randn(n, M, generator=gen, dtype=torch.float64)
    d = 3.0 + lo.abs() + up.abs()
    rhs = torch.randn(2, n, M, generator=gen, dtype=torch.float64)
    x = solve_tridiagonal(lo, d, up, rhs)
    dense = torch.diag_embed(d.T) + torch.diag_embed(up.T[:, :-1], 1) + torch.diag_embed(lo.T[:, 1:], -1)  # (M, n, n)
    ref = torch.linalg.solve(dense, rhs.transpose(-1, -2).unsqueeze(-1)).squeeze(-1).transpose(-1, -2)
    assert (x - ref).abs().max() <= 1e-12 * ref.abs().max()
    d.requires_grad_(), rhs.requires_grad_()
    assert torch.autograd.gradcheck(lambda dd, r: solve_tridiagonal(lo, dd, up, r), (d, rhs))


def test_bad_inputs():
    g = sphere_grid(0.0, 40.0, 1.0, 1.0, 6, 5)
    with pytest.raises(ValueError, match="closed"):
        RowHelmholtz(Grid(6, 5, dx=1.0, dy=1.0), 0.0)
    with pytest.raises(ValueError, match="kappa2"):
        RowHelmholtz(g, -1.0)
    with pytest.raises(ValueError, match="kappa2"):
        RowHelmholtz(g, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="kappa2"):
        RowHelmholtz(g, torch.zeros(3))
    with pytest.raises(ValueError, match="method"):
        RowHelmholtz(g, 0.0, "lu")
    with pytest.raises(TypeError, match="grid"):
        RowHelmholtz("grid", 0.0)
    with pytest.raises(ValueError, match="q"):
        RowHelmholtz(g)(torch.zeros(4, 6))
