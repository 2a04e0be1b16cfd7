"""SSH <-> streamfunction and geostrophic velocities: exact discrete balance with the linear
f-plane shallow-water model, round trips, accuracy of the local formula, bad input."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _sw_fields import smooth_field
from physics import operators as op
from physics.geostrophy import geostrophic_velocities, psi_to_ssh, ssh_to_psi
from physics.grid import Grid
from physics.shallow_water import ShallowWater

HYP = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
G = 9.81


def momentum_residual(model: ShallowWater, state: torch.Tensor) -> tuple:
    """``(|tendency|_max, scale)`` per channel, scale = max of the balanced individual terms
    (``H |div|`` terms for eta: ``H |du/dx|``; ``f |v|`` and ``g |d eta/dx|`` for u, v)."""
    grid = model.grid
    eta, u, v = state[:, 0], state[:, 1], state[:, 2]
    d = model(0.0, state)
    ex, ey = op.grad(eta, grid)
    scales = (
        100.0 * max(float(op.dx_u2c(u, grid).abs().max()), float(op.dy_v2c(v, grid).abs().max())),
        G * float(ex.abs().max()),
        G * float(ey.abs().max()),
    )
    return [float(d[:, k].abs().max()) for k in range(3)], scales


@HYP
@given(nx=st.integers(4, 14), ny=st.integers(4, 14), dx=st.floats(1e3, 1e5), dy=st.floats(1e3, 1e5),
       boundary=st.sampled_from(["periodic", "closed"]), seed=st.integers(0, 2**31 - 1),
       scheme=st.sampled_from(["energy", "enstrophy", "een"]), f0=st.sampled_from([1e-4, -7e-5]))
def test_geostrophic_state_is_an_exact_steady_state(device, nx, ny, dx, dy, boundary, seed, scheme, f0):
    grid = Grid(nx, ny, dx=dx, dy=dy, boundary=boundary, f0=f0, device=device)
    rng = np.random.default_rng(seed)
    eta = smooth_field(rng, grid, "center") + 0.1 * torch.as_tensor(rng.standard_normal((ny, nx)), device=device)
    u, v = geostrophic_velocities(eta, grid, g=G)
    eta_b = psi_to_ssh(ssh_to_psi(eta, grid, g=G, loc="corner"), grid, g=G, loc="corner")
    model = ShallowWater(grid, g=G, H=100.0, nonlinear=False, scheme=scheme).to(device)
    residual, scale = momentum_residual(model, torch.stack((eta_b, u, v))[None])
    # Each tendency is a difference of O(scale) terms computed with ~10 roundings: 1e-12.
    for r, s in zip(residual, scale):
        assert r <= 1e-12 * s
    if boundary == "closed":  # no normal flow through the walls
        assert u[:, 0].abs().max() == 0 and v[0, :].abs().max() == 0


@pytest.mark.parametrize("n", [(9, 7), (12, 10)])
def test_periodic_round_trip_is_exact_without_nyquist_component(n):
    # Odd sizes: the four-point average is invertible. Even sizes: exact for every field
    # whose Nyquist (checkerboard) component is zero, e.g. smooth fields.
    nx, ny = n
    grid = Grid(nx, ny, dx=1e4, dy=2e4, f0=1e-4)
    eta = smooth_field(np.random.default_rng(0), grid, "center", n_modes=5)
    if nx % 2 and ny % 2:
        eta = eta + 0.1 * torch.as_tensor(np.random.default_rng(1).standard_normal((ny, nx)))
    back = psi_to_ssh(ssh_to_psi(eta, grid, g=G, loc="corner"), grid, g=G, loc="corner")
    assert torch.allclose(back, eta, rtol=0, atol=1e-12 * float(eta.abs().max()))


def test_nyquist_component_is_removed_and_not_balanced():
    grid = Grid(8, 6, dx=1e4, dy=1e4, f0=1e-4)
    i = torch.arange(8, dtype=torch.float64)
    checker = torch.cos(math.pi * i).expand(6, 8)  # (-1)^i: no geostrophic velocity exists
    u, v = geostrophic_velocities(checker, grid)
    assert u.abs().max() < 1e-12 and v.abs().max() < 1e-12


def test_pointwise_psi_round_trip_and_value():
    grid = Grid(5, 4, dx=1e4, dy=1e4, f0=1e-4)
    eta = smooth_field(np.random.default_rng(2), grid, "center")
    psi = ssh_to_psi(eta, grid, g=G)
    assert torch.allclose(psi, G * eta / 1e-4, rtol=1e-15, atol=0)
    assert torch.allclose(psi_to_ssh(psi, grid, g=G), eta, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("method", ["exact", "local"])
def test_velocities_converge_to_continuous_geostrophy(method):
    # eta = A sin(kx x) sin(ky y) on a periodic f-plane: u = -(g/f) A ky sin(kx x) cos(ky y),
    # v = (g/f) A kx cos(kx x) sin(ky y). Both methods are second order: error ratio ~4.
    errs = []
    for n in (16, 32, 64):
        grid = Grid(n, n, Lx=1e6, Ly=1e6, f0=1e-4)
        kx = ky = 2 * math.pi / 1e6
        Xc, Yc = grid.mesh("center")
        (Xu, Yu), (Xv, Yv) = grid.mesh("u"), grid.mesh("v")
        u, v = geostrophic_velocities(torch.sin(kx * Xc) * torch.sin(ky * Yc), grid, g=G, method=method)
        s = G / 1e-4
        u_ex = -s * ky * torch.sin(kx * Xu) * torch.cos(ky * Yu)
        v_ex = s * kx * torch.cos(kx * Xv) * torch.sin(ky * Yv)
        errs.append(max(float((u - u_ex).abs().max()), float((v - v_ex).abs().max())) / float(u_ex.abs().max()))
    assert all(3.5 < e1 / e2 < 4.5 for e1, e2 in zip(errs, errs[1:])), errs


def test_local_method_uses_local_coriolis_on_beta_plane():
    grid = Grid(8, 40, dx=1e4, dy=1e4, boundary="closed", f0=1e-4, beta=2e-11)
    _, Y = grid.mesh("center")
    eta = 1e-3 * Y / grid.Ly  # uniform SSH slope: u = -(g/f(y)) d eta/dy
    u, v = geostrophic_velocities(eta, grid, g=G, method="local")
    f_u = grid.coriolis("u")
    inner = slice(1, -1)  # rows whose 4-point stencil does not reach the wall ghost
    expected = -G / f_u * 1e-3 / grid.Ly
    assert torch.allclose(u[inner, 1:], expected[inner].expand(38, 7), rtol=1e-12, atol=0)
    assert v.abs().max() < 1e-18


def test_bad_input_raises():
    grid = Grid(6, 5, dx=1e4, dy=1e4, f0=1e-4)
    eta = torch.zeros(5, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="eta"):
        geostrophic_velocities(torch.zeros(4, 6), grid)
    with pytest.raises(ValueError, match="non-finite"):
        ssh_to_psi(torch.full((5, 6), float("nan")), grid)
    with pytest.raises(ValueError, match="f0"):
        ssh_to_psi(eta, Grid(6, 5, dx=1e4, dy=1e4, f0=0.0))
    with pytest.raises(ValueError, match="g"):
        psi_to_ssh(eta, grid, g=-1.0)
    with pytest.raises(ValueError, match="loc"):
        ssh_to_psi(eta, grid, loc="u")
    with pytest.raises(ValueError, match="method"):
        geostrophic_velocities(eta, grid, method="spectral")
    with pytest.raises(TypeError, match="psi"):
        psi_to_ssh(np.zeros((5, 6)), grid)
    with pytest.raises(ValueError, match="equator"):
        geostrophic_velocities(eta, Grid(6, 5, dx=1e4, dy=1e4, f0=0.0, beta=1e-11), method="local")
