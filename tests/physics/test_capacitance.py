"""physics.capacitance: exact discrete inverse of (Lap - kappa^2) on irregular masked basins.

Round-off scale: the residual of the masked five-point operator is compared with max|q|.
Measured ~5e-15 (float64) on the masks below; TOL = 1e-12 leaves a factor ~200 for other
BLAS/FFT back ends, while a wrong coast set, sign or factor leaves O(1) residuals.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from physics.capacitance import CapacitanceSolver, coast_points, masked_helmholtz_operator
from physics.elliptic import solve_helmholtz
from physics.grid import Grid
from physics.masks import ocean_corner_mask

from _land import archipelago, peninsula_basin

TOL = 1e-12
MASKS = {"archipelago": archipelago, "peninsula": lambda ny, nx, seed=0: peninsula_basin(ny, nx)}


def _grid(nx=36, ny=30, dtype=torch.float64):
    return Grid(nx, ny, dx=2e4, dy=2.5e4, boundary="closed", dtype=dtype)


def _q(shape, seed=1, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return 1e-5 * torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("kappa2", [0.0, 1 / 3e4**2, "modes"])
@pytest.mark.parametrize("name", list(MASKS))
def test_residual_of_masked_operator_is_round_off(name, kappa2):
    """(Lap - kappa^2) psi = q at every ocean corner and psi = 0 on every land corner, batched
    over (batch, mode) with one capacitance matrix per kappa^2 (the 'modes' case)."""
    g = _grid()
    m = ocean_corner_mask(g, MASKS[name](g.ny, g.nx, seed=2))
    k2 = torch.tensor([0.0, 1 / 4e4**2, 1 / 1.5e4**2]).view(3, 1, 1) if kappa2 == "modes" else kappa2
    solver = CapacitanceSolver(g, m, k2)
    assert solver.coast.numel() > 50  # the masks really are irregular
    q = _q((2, 3, g.ny, g.nx))
    psi = solver.solve(q)
    res = masked_helmholtz_operator(psi, g, m, k2) - q * m
    assert float(res.abs().max()) <= TOL * float(q.abs().max())
    assert bool((psi[..., m == 0] == 0).all())


def test_agrees_with_a_sparse_direct_solve():
    """Independent check: scipy's sparse LU of the five-point operator on the ocean corners."""
    g = _grid(14, 12)
    m = ocean_corner_mask(g, archipelago(g.ny, g.nx, seed=5, land_fraction=0.2))
    k2 = 1 / 5e4**2
    idx = -np.ones(g.shape, dtype=int)
    pts = np.argwhere(m.numpy() != 0)
    idx[tuple(pts.T)] = np.arange(len(pts))
    A = sp.lil_matrix((len(pts), len(pts)))
    for r, (j, i) in enumerate(pts):
        A[r, r] = -2 / g.dx**2 - 2 / g.dy**2 - k2
        for dj, di, h in ((0, 1, g.dx), (0, -1, g.dx), (1, 0, g.dy), (-1, 0, g.dy)):
            jj, ii = j + dj, i + di
            if 0 <= jj < g.ny and 0 <= ii < g.nx and idx[jj, ii] >= 0:
                A[r, idx[jj, ii]] = 1 / h**2
    q = _q((g.ny, g.nx), seed=7)
    ref = spla.spsolve(A.tocsc(), q.numpy()[tuple(pts.T)])
    psi = CapacitanceSolver(g, m, k2).solve(q).numpy()[tuple(pts.T)]
    # both are backward stable; cond(A) ~ 1e2 here, so 1e-12 relative is round-off
    assert np.abs(psi - ref).max() <= 1e-12 * np.abs(ref).max()


def test_all_ocean_is_the_rectangle_solver():
    """No coast point: the capacitance correction vanishes and the DST solution is returned."""
    g = _grid(12, 10)
    solver = CapacitanceSolver(g, g.mask("corner"), 1e-9)
    assert solver.coast.numel() == 0
    q = _q((2, g.ny, g.nx))
    torch.testing.assert_close(solver.solve(q), solve_helmholtz(q, g, 1e-9), rtol=0, atol=0)


def test_inverse_is_symmetric_and_differentiable():
    """<a, G b> = <G a, b> (the masked operator is symmetric) and autograd through the solve
    equals the finite-difference Jacobian (gradcheck, float64 defaults)."""
    g = _grid(8, 7)
    m = ocean_corner_mask(g, peninsula_basin(g.ny, g.nx))
    solver = CapacitanceSolver(g, m, 1 / 3e4**2)
    a, b = _q((g.ny, g.nx), 3) * m, _q((g.ny, g.nx), 4) * m
    lhs, rhs = (a * solver.solve(b)).sum(), (solver.solve(a) * b).sum()
    assert abs(float(lhs - rhs)) <= TOL * float((a * solver.solve(b)).abs().sum())
    x = _q((1, g.ny, g.nx), 5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: solver.solve(t) * 1e-8, (x,))


def test_both_factorisations_agree(monkeypatch):
    """The matrix-product and DST constructions of -C (physics.capacitance._factor) agree to
    the round-off of their sums (1e-10 relative; a wrong index or scale differs by O(1))."""
    import physics.capacitance as cap

    g = _grid(20, 16)
    m = ocean_corner_mask(g, archipelago(g.ny, g.nx, seed=8))
    k2 = torch.tensor([0.0, 1 / 3e4**2]).view(2, 1, 1)
    by_matmul = CapacitanceSolver(g, m, k2).chol
    monkeypatch.setattr(cap, "MATMUL_MAX_COAST", 0)
    by_dst = CapacitanceSolver(g, m, k2).chol
    torch.testing.assert_close(by_dst, by_matmul, rtol=1e-10, atol=1e-10 * float(by_matmul.abs().max()))


def test_float32_grid():
    """A float32 grid factors in float64 and solves in float32 (residual ~ float32 eps x cond)."""
    g = _grid(dtype=torch.float32)
    m = ocean_corner_mask(g, archipelago(g.ny, g.nx, seed=1))
    solver = CapacitanceSolver(g, m)
    q = _q((1, g.ny, g.nx), dtype=torch.float32)
    psi = solver.solve(q)
    assert psi.dtype == torch.float32
    res = masked_helmholtz_operator(psi, g, m) - q * m
    assert float(res.abs().max()) <= 1e-3 * float(q.abs().max())  # eps32 = 1.2e-7, cond(C) ~ 1e3


def test_coast_points_are_land_next_to_ocean():
    m = torch.zeros(5, 6)
    m[2, 3] = 1
    assert coast_points(m).tolist() == sorted([1 * 6 + 3, 3 * 6 + 3, 2 * 6 + 2, 2 * 6 + 4])


def test_bad_input():
    g = _grid(8, 6)
    with pytest.raises(ValueError, match="grid must be closed"):
        CapacitanceSolver(Grid(8, 6, dx=1.0, dy=1.0), torch.ones(6, 8))
    with pytest.raises(ValueError, match=r"corner_mask must have trailing shape"):
        CapacitanceSolver(g, torch.ones(8, 6))
    with pytest.raises(ValueError, match="no ocean corner"):
        CapacitanceSolver(g, torch.zeros(6, 8))
    with pytest.raises(ValueError, match="kappa2 must be a finite number >= 0"):
        CapacitanceSolver(g, torch.ones(6, 8), -1.0)
    with pytest.raises(ValueError, match="q must have trailing shape"):
        CapacitanceSolver(g, torch.ones(6, 8)).solve(torch.zeros(6, 7))


def _sphere_grid(nx=30, ny=24, dtype=torch.float64):
    return Grid.from_lonlat(-70 + 0.5 * (np.arange(nx) + 0.5), 30 + 0.5 * (np.arange(ny) + 0.5), dtype=dtype)


@pytest.mark.parametrize("kappa2", [0.0, "modes"])
@pytest.mark.parametrize("name", list(MASKS))
def test_spherical_base_solver_residual_is_round_off(name, kappa2):
    """The same correction on top of the spherical RowHelmholtz (default base on a sphere grid): the
    masked flux-form operator (L - kappa^2) psi = q at every ocean corner, psi = 0 on land; the
    thomas base gives the same psi (both exact)."""
    from physics.sphere_elliptic import RowHelmholtz

    g = _sphere_grid()
    m = ocean_corner_mask(g, MASKS[name](g.ny, g.nx, seed=2))
    k2 = torch.tensor([0.0, 1 / 4e4**2, 1 / 1.5e4**2]).view(3, 1, 1) if kappa2 == "modes" else kappa2
    solver = CapacitanceSolver(g, m, k2)
    assert solver.coast.numel() > 40 and solver.multiplier is None
    q = _q((2, 3, g.ny, g.nx))
    psi = solver.solve(q)
    res = masked_helmholtz_operator(psi, g, m, k2) - q * m
    assert float(res.abs().max()) <= TOL * float(q.abs().max())
    assert bool((psi[..., m == 0] == 0).all())
    thomas = CapacitanceSolver(g, m, k2, base=RowHelmholtz(g, k2, method="thomas"))
    assert torch.allclose(thomas.solve(q), psi, rtol=0, atol=TOL * float(psi.abs().max()))


def test_spherical_masked_inverse_is_symmetric_in_the_area_product():
    """G A^-1 symmetric: <a, G b>_A = <G a, b>_A with the corner areas (what makes C symmetric)."""
    g = _sphere_grid(16, 12)
    m = ocean_corner_mask(g, archipelago(g.ny, g.nx, seed=5))
    solver = CapacitanceSolver(g, m, 1 / 3e4**2)
    a, b = _q((g.ny, g.nx), 3) * m, _q((g.ny, g.nx), 4) * m
    A = g.cell_areas("corner")
    lhs, rhs = float((A * a * solver.solve(b)).sum()), float((A * solver.solve(a) * b).sum())
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)


def test_bad_base_solver():
    from physics.sphere_elliptic import RowHelmholtz

    g = _sphere_grid(16, 12)
    with pytest.raises(TypeError, match="base must be a physics.sphere_elliptic.RowHelmholtz"):
        CapacitanceSolver(g, torch.ones(12, 16), base=RowHelmholtz(_sphere_grid(18, 12)))
