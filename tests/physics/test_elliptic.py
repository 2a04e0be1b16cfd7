"""Elliptic solvers invert the discrete operators to round-off; DST-I; vertical modes.

Residual tolerance: the solve is two transforms and a division (error ~ n eps relative in
each mode); re-applying the five-point stencil to check it amplifies that by at most the
condition number ``cond = max|lambda - kappa^2| / min|lambda - kappa^2|`` (:func:`_cond`).
So ``|L psi - q| <= 50 cond n eps max|q|`` bounds round-off (factor 50 for the constant of
the transform error); any real inversion error is O(1) relative. Measured: 1e-16..1e-13.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch
from hypothesis import given, settings, strategies as st

from physics.elliptic import (
    VerticalModes, helmholtz_multiplier, periodic_layer_inverse, solve_helmholtz, solve_layers, solve_poisson,
    stretching_matrix,
)
from physics.grid import Grid
from physics.operators import laplacian
from physics.spectral import dst1

SETTINGS = settings(max_examples=25, deadline=None)
EPS = torch.finfo(torch.float64).eps


def _residual(psi, q, g, kappa2):
    ghost = "neumann" if g.periodic else "zero"  # periodic: ghost unused
    r = laplacian(psi, g, ghost) - kappa2 * psi - q
    return r if g.periodic else r[..., 1:, 1:]


def _cond(g, kappa2):
    lam_max = 4 / g.dx**2 + 4 / g.dy**2 + kappa2
    if g.periodic:
        lam_min = min(4 / g.dx**2 * math.sin(math.pi / g.nx) ** 2, 4 / g.dy**2 * math.sin(math.pi / g.ny) ** 2) + kappa2
    else:
        lam_min = 4 / g.dx**2 * math.sin(math.pi / (2 * g.nx)) ** 2 + 4 / g.dy**2 * math.sin(math.pi / (2 * g.ny)) ** 2 + kappa2
    return lam_max / lam_min


@SETTINGS
@given(
    boundary=st.sampled_from(["periodic", "closed"]),
    nx=st.integers(3, 24), ny=st.integers(3, 24),
    dx=st.floats(1e3, 1e5), aspect=st.floats(0.1, 10.0),
    kappa_scale=st.sampled_from([0.0, 0.1, 1.0, 10.0]),
    seed=st.integers(0, 10_000),
)
def test_solver_inverts_discrete_operator(boundary, nx, ny, dx, aspect, kappa_scale, seed):
    g = Grid(nx, ny, dx=dx, dy=dx * aspect, boundary=boundary)
    kappa2 = (kappa_scale / dx) ** 2
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 3, ny, nx, generator=gen, dtype=torch.float64)
    if boundary == "periodic" and kappa2 == 0:
        q = q - q.mean((-1, -2), keepdim=True)  # the mean is not in the range of Lap
    psi = solve_helmholtz(q, g, kappa2)
    cond = _cond(g, kappa2)
    tol = 50 * cond * max(nx, ny) * EPS  # see module doc; <= 1e-11 for the drawn grids
    assert _residual(psi, q, g, kappa2).abs().max() <= tol * q.abs().max()
    if boundary == "closed":  # psi = 0 on the stored walls, exactly
        assert psi[..., 0, :].abs().max() == 0 and psi[..., :, 0].abs().max() == 0


def test_periodic_poisson_drops_mean():
    g = Grid(8, 6, dx=1.0, dy=1.0)
    q = torch.randn(6, 8, dtype=torch.float64) + 3.0
    psi = solve_poisson(q, g)
    assert abs(float(psi.mean())) < 1e-14 * float(psi.abs().max())
    assert torch.allclose(laplacian(psi, g), q - q.mean(), atol=1e-13)


def test_closed_ignores_wall_values():
    g = Grid(9, 7, dx=1.0, dy=2.0, boundary="closed")
    q = torch.randn(7, 9, dtype=torch.float64)
    q2 = q.clone()
    q2[0, :] = 100.0
    q2[:, 0] = -50.0
    assert torch.equal(solve_poisson(q, g), solve_poisson(q2, g))


def test_spectral_option_exact_for_fourier_mode():
    """spectral=True inverts the exact Laplacian: a Fourier mode gives psi = -q / (k^2 + l^2 + kappa^2)."""
    g = Grid(16, 12, Lx=2 * math.pi, Ly=3.0)
    X, Y = g.mesh("corner")
    k, l = 3.0, 2 * math.pi * 2 / 3.0
    q = torch.cos(k * X + l * Y)
    psi = solve_helmholtz(q, g, kappa2=0.5, spectral=True)
    assert torch.allclose(psi, -q / (k**2 + l**2 + 0.5), atol=1e-14)
    psi_fd = solve_helmholtz(q, g, kappa2=0.5)  # five-point: -q / (|lambda_d| + kappa^2) differs
    assert (psi_fd - psi).abs().max() > 1e-3


def test_dst1_matches_scipy_and_is_involution():
    x = torch.randn(3, 4, 11, dtype=torch.float64)
    ref = scipy.fft.dst(x[..., 1:].numpy(), type=1, axis=-1) / 2
    out = dst1(x, -1)
    assert out[..., 0].abs().max() == 0
    np.testing.assert_allclose(out[..., 1:].numpy(), ref, rtol=0, atol=1e-13)
    x0 = x.clone()
    x0[..., 0] = 0
    assert torch.allclose(dst1(dst1(x, -1), -1) * (2 / 11), x0, atol=1e-14)


def test_batched_kappa2_tensor_and_broadcast():
    g = Grid(10, 8, dx=1.0, dy=1.0, boundary="closed")
    q = torch.randn(4, 2, 8, 10, dtype=torch.float64)
    k2 = torch.tensor([0.0, 0.7], dtype=torch.float64).view(2, 1, 1)
    psi = solve_helmholtz(q, g, k2)
    for m in range(2):
        assert torch.allclose(psi[:, m], solve_helmholtz(q[:, m], g, float(k2[m])), atol=1e-14)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_gradcheck_solvers(boundary, device):
    g = Grid(6, 5, dx=1.1, dy=0.9, boundary=boundary, device=device)
    q = torch.randn(2, 5, 6, dtype=torch.float64, device=device).requires_grad_()
    k2 = torch.tensor(0.3, dtype=torch.float64, device=device).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: solve_helmholtz(a, g, b), (q, k2))
    if boundary == "periodic":
        assert torch.autograd.gradcheck(lambda a: solve_helmholtz(a, g, 0.0, spectral=True), (q,))


def test_solver_on_device(device):
    g = Grid(12, 10, dx=1.0, dy=1.0, boundary="closed", device=device)
    q = torch.randn(1, 10, 12, dtype=torch.float64, device=device)
    psi = solve_helmholtz(q, g, 0.2)
    assert psi.device.type == device.type
    assert _residual(psi, q, g, 0.2).abs().max() < 1e-12 * q.abs().max()


def test_bad_inputs():
    g = Grid(8, 8, dx=1.0, dy=1.0)
    with pytest.raises(ValueError, match="trailing shape"):
        solve_poisson(torch.zeros(7, 8, dtype=torch.float64), g)
    with pytest.raises(ValueError, match="kappa2"):
        solve_helmholtz(torch.zeros(8, 8, dtype=torch.float64), g, -1.0)
    with pytest.raises(ValueError, match="spectral"):
        solve_poisson(torch.zeros(8, 8, dtype=torch.float64), Grid(8, 8, dx=1.0, dy=1.0, boundary="closed"), spectral=True)
    with pytest.raises(ValueError, match="g_prime"):
        stretching_matrix([100.0, 200.0], [0.01, 0.02, 0.03], 1e-4)
    with pytest.raises(ValueError, match=r"H\[1\]"):
        stretching_matrix([100.0, -200.0], [0.01], 1e-4)
    with pytest.raises(ValueError, match="f0"):
        stretching_matrix([100.0, 200.0], [0.01], 0.0)


# ------------------------------------------------------------------------- vertical modes
def test_two_layer_stretching_matches_pyqg_F1_F2_and_modes():
    """pyqg: F1 = rd^-2 / (1 + delta), F2 = delta F1, baroclinic kappa^2 = F1 + F2 = rd^-2."""
    H1, H2, rd, f0 = 500.0, 2000.0, 15e3, 1e-4
    delta = H1 / H2
    F1 = rd**-2 / (1 + delta)
    gp = f0**2 / (F1 * H1)
    S = stretching_matrix([H1, H2], [gp], f0)
    np.testing.assert_allclose(S, [[-F1, F1], [delta * F1, -delta * F1]], rtol=1e-14)
    m = VerticalModes(S, [H1, H2])
    np.testing.assert_allclose(m.kappa2.numpy(), [0.0, rd**-2], rtol=1e-12, atol=1e-30)
    np.testing.assert_allclose((m.P @ torch.diag(-m.kappa2) @ m.Pinv).numpy(), S, rtol=0, atol=1e-12 * abs(S).max())
    np.testing.assert_allclose((m.P @ m.Pinv).numpy(), np.eye(2), atol=1e-14)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
@pytest.mark.parametrize("gp", [[0.02, 0.01], [0.02, 0.01, 0.005]])  # rigid lid / reduced gravity
def test_layered_inversion_inverts_discrete_operator(boundary, gp):
    H = [300.0, 700.0, 2000.0]
    f0 = 1e-4
    g = Grid(16, 12, dx=2e4, dy=3e4, boundary=boundary)
    S = torch.as_tensor(stretching_matrix(H, gp, f0))
    modes = VerticalModes(S.numpy(), H)
    q = torch.randn(2, 3, 12, 16, dtype=torch.float64) * 1e-5
    if boundary == "periodic" and len(gp) == 2:  # barotropic mode (kappa = 0) drops the mean
        q = q - q.mean((-1, -2), keepdim=True)
    psi = solve_layers(q, g, modes)
    ghost = "neumann" if g.periodic else "zero"
    r = laplacian(psi, g, ghost) + torch.einsum("ij,bjyx->biyx", S, psi) - q
    r = r if g.periodic else r[..., 1:, 1:]
    # condition number ~ (n/pi)^2 < 1e3 and ~10 flops per point: 1e-11 bounds round-off
    assert r.abs().max() <= 1e-11 * q.abs().max()


@pytest.mark.parametrize("shape", [(6, 5), (7, 8)])  # odd/even: rfft Nyquist handling
def test_periodic_layer_inverse_adjoint(shape):
    """The hand-written adjoint (transposed layer matrix) matches finite differences, and the
    forward equals solve_layers."""
    nx, ny = shape
    g = Grid(nx, ny, dx=1e4, dy=1.3e4)
    H = [300.0, 700.0, 2000.0]
    modes = VerticalModes(stretching_matrix(H, [0.02, 0.01], 1e-4), H)
    mult = helmholtz_multiplier(g, modes.kappa2[:, None, None])
    M = torch.einsum("nm,myk,mj->njyk", modes.P, mult, modes.Pinv)
    q = torch.randn(2, 3, ny, nx, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: periodic_layer_inverse(x, M), (q,))
    ref = solve_layers(q.detach(), g, modes)
    assert torch.allclose(periodic_layer_inverse(q.detach(), M), ref, rtol=0, atol=1e-12 * ref.abs().max().item())
