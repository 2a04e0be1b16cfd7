"""Physics of physics.qg.QG: discrete conservation, Rossby waves, diagnostics, dissipation.

Round-off scale: a sum of N terms that vanishes analytically is compared with
TOL * sum|terms|, TOL = 1e-13 (~500 eps for accumulation; violations are O(1e-3..1)).
"""
from __future__ import annotations

import math

import pytest
import torch

from physics.grid import Grid
from physics.qg import QG
from physics.stepping import integrate_fixed

TOL = 1e-13
F0, BETA = 1e-4, 1.6e-11
CONFIGS = {
    "1-layer": dict(),
    "1.5-layer": dict(Ld=4e4),
    "2-layer": dict(H=[500.0, 2000.0], g_prime=[0.02]),
    "3-layer": dict(H=[300.0, 700.0, 2000.0], g_prime=[0.02, 0.01]),
}


def _grid(boundary="periodic", n=(24, 20), device="cpu"):
    return Grid(n[0], n[1], dx=2e4, dy=2.5e4, boundary=boundary, f0=F0, beta=BETA, device=device)


def _random_q(model, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = model.grid
    q = 1e-5 * torch.randn(batch, model.nlayers, g.ny, g.nx, generator=gen, dtype=torch.float64)
    return q.to(g.device)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_inviscid_energy_tendency_is_zero(name, boundary, device):
    """dE/dt = -sum H_i psi_i dq_i/dt = 0: Arakawa conserves energy (sum psi J = 0), the beta
    term is an antisymmetric centred difference, and Lap + S is symmetric (H-weighted) with
    psi = 0 on walls -- so it holds in the closed basin too (walls: q = 0, see physics.qg)."""
    model = QG(_grid(boundary, device=device), **CONFIGS[name])
    dE, scale = model.energy_tendency(_random_q(model))
    assert (dE.abs() <= TOL * scale).all(), (dE / scale)


def test_energy_conserved_with_uniform_background_flow():
    """One layer: U d/dx q + (beta + U/Ld^2) d/dx psi is Galilean; sum psi D_x Lap psi = 0."""
    model = QG(_grid(), Ld=3e4, U=[0.1])
    dE, scale = model.energy_tendency(_random_q(model))
    assert (dE.abs() <= TOL * scale).all()


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_inviscid_enstrophy_tendency_is_zero_on_f_plane(boundary):
    """sum q J(psi, q) = 0 (Arakawa); with beta = 0 and U = 0 layer enstrophy is conserved."""
    model = QG(_grid(boundary), beta=0.0, H=[500.0, 2000.0], g_prime=[0.02])
    q = _random_q(model)
    terms = (q * model.mask) * model(0.0, q)
    assert (terms.sum((-1, -2)).abs() <= TOL * terms.abs().sum((-1, -2))).all()


@pytest.mark.parametrize("spectral", [False, True])
def test_rossby_wave_dispersion(spectral):
    """psi = A cos(kx + ly - w t), 1.5 layers: the Jacobian of a single mode vanishes exactly,
    so the semi-discrete solution is that wave with w = -beta k~ / (K~^2 + Ld^-2), where
    k~ = sin(k dx)/dx (centred d/dx) and K~^2 the five-point-Laplacian eigenvalue (finite
    differences), or k~ = k, K~^2 = k^2 + l^2 (spectral). RK4 with w dt = 0.02 over 1/4
    period: phase error ~ (w T)(w dt)^4 / 120 ~ 2e-9, so 1e-7 relative bounds the time error.
    The FD wave is slower than the continuous one by O((k dx)^2) ~ 3% here -- we check
    that the continuous w is off by more than that tolerance, i.e. the test resolves it."""
    g = Grid(32, 32, Lx=1.2e6, Ly=1.2e6, f0=F0, beta=BETA)
    Ld = 5e4
    model = QG(g, Ld=Ld, spectral=spectral)
    X, Y = g.mesh("corner")
    k, l = 2 * math.pi * 3 / g.Lx, 2 * math.pi * 2 / g.Ly
    if spectral:
        kt, K2 = k, k**2 + l**2
    else:
        kt = math.sin(k * g.dx) / g.dx
        K2 = 4 / g.dx**2 * math.sin(k * g.dx / 2) ** 2 + 4 / g.dy**2 * math.sin(l * g.dy / 2) ** 2
    w = -BETA * kt / (K2 + Ld**-2)
    w_cont = -BETA * k / (k**2 + l**2 + Ld**-2)
    A = 1e4
    psi = lambda t, om: A * torch.cos(k * X + l * Y - om * t)  # noqa: E731
    q0 = (-K2 - Ld**-2) * psi(0.0, w)
    T = 0.25 * 2 * math.pi / abs(w)
    n = math.ceil(abs(w) * T / 0.02)
    _, qs = integrate_fixed(model, q0[None, None], T / n, n, save_every=n, method="rk4")
    psi_T = model.streamfunction(qs[-1])[0, 0]
    err = (psi_T - psi(T, w)).abs().max() / A
    assert err < 1e-7
    if not spectral:
        assert (psi_T - psi(T, w_cont)).abs().max() / A > 1e-3
    else:
        assert math.isclose(w, w_cont, rel_tol=1e-15)


def test_diagnostics_identities():
    """KE = mean of squared forward differences / 2 (summation by parts), APE = the interface
    form f0^2/(2 g' H) <(psi1 - psi2)^2>, KE + APE = -<H psi q>/(2H) -- exact discrete identities."""
    g = _grid()
    H, gp = [500.0, 2000.0], 0.02
    model = QG(g, H=H, g_prime=[gp])
    q = _random_q(model)
    psi = model.streamfunction(q)
    dxp = (torch.roll(psi, -1, -1) - psi) / g.dx
    dyp = (torch.roll(psi, -1, -2) - psi) / g.dy
    w = torch.tensor(H, dtype=torch.float64).view(1, 2) / sum(H)
    ke = ((0.5 * (dxp**2 + dyp**2)).mean((-1, -2)) * w).sum(-1)
    ape = F0**2 / (2 * gp * sum(H)) * ((psi[:, 0] - psi[:, 1]) ** 2).mean((-1, -2))
    assert torch.allclose(model.kinetic_energy(q), ke, rtol=1e-12)
    assert torch.allclose(model.available_potential_energy(q), ape, rtol=1e-12)
    assert torch.allclose(model.total_energy(q), ke + ape, rtol=1e-12)
    assert torch.allclose(model.enstrophy(q), ((0.5 * q**2).mean((-1, -2)) * w).sum(-1), rtol=1e-14)
    assert torch.allclose(model.potential_vorticity(q), (q.mean((-1, -2)) * w).sum(-1), rtol=1e-12)
    assert model.total_energy(q).shape == (2,)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
@pytest.mark.parametrize("term", [dict(drag=1e-6), dict(nu=50.0), dict(nu4=1e9)])
def test_dissipation_removes_energy(term, boundary):
    """Drag: dE/dt = (H_N/H) drag <psi_N zeta_N> = -drag (H_N/H) <|grad psi_N|^2> < 0;
    nu: -nu <zeta^2> < 0; nu4: -nu4 <|grad zeta|^2> < 0. Checked against the inviscid model:
    the difference of tendencies must equal the closed-form rate to round-off."""
    g = _grid(boundary)
    base = dict(H=[500.0, 2000.0], g_prime=[0.02])
    q = _random_q(QG(g, **base))
    dE0, _ = QG(g, **base).energy_tendency(q)
    m = QG(g, **base, **term)
    dE, scale = m.energy_tendency(q)
    psi = m.streamfunction(q)
    zeta = m.laplacian(psi) * m.mask
    w = torch.tensor([0.2, 0.8], dtype=torch.float64).view(1, 2)
    if "drag" in term:
        expected = term["drag"] * w[0, 1] * (psi[:, 1] * zeta[:, 1]).mean((-1, -2))
    elif "nu" in term:
        expected = -term["nu"] * ((zeta**2).mean((-1, -2)) * w).sum(-1)
    else:
        lz = m.laplacian(zeta) * m.mask
        expected = term["nu4"] * ((zeta * lz).mean((-1, -2)) * w).sum(-1)
    assert (expected < 0).all()
    assert torch.allclose(dE - dE0, expected, rtol=1e-10, atol=1e-12 * float(scale.max()))


def test_wind_forcing_double_gyre():
    """With q = 0 the tendency is the wind curl / (rho0 H1) in the top layer only."""
    g = _grid("closed")
    tau0, rho0, H1 = 0.1, 1025.0, 500.0
    m = QG(g, H=[H1, 2000.0], g_prime=[0.02], tau0=tau0, rho0=rho0, beta=0.0)
    dq = m(0.0, torch.zeros(1, 2, g.ny, g.nx, dtype=torch.float64))
    _, Y = g.mesh("corner")
    curl = -(2 * math.pi * tau0 / g.Ly) * torch.sin(2 * math.pi * Y / g.Ly)
    assert torch.allclose(dq[0, 0], curl / (rho0 * H1) * g.mask("corner"), rtol=1e-14, atol=0)
    assert dq[0, 1].abs().max() == 0


def test_works_with_torchdiffeq_and_batch_independence():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    m = QG(_grid(), H=[500.0, 2000.0], g_prime=[0.02], U=[0.05, 0.0], drag=1e-7)
    q = _random_q(m, batch=3)
    t = torch.tensor([0.0, 3600.0, 7200.0], dtype=torch.float64)
    out = torchdiffeq.odeint(m, q, t, method="rk4", options=dict(step_size=1800.0))
    assert out.shape == (3, 3, 2, 20, 24)
    single = torchdiffeq.odeint(m, q[1:2], t, method="rk4", options=dict(step_size=1800.0))
    assert torch.allclose(out[:, 1:2], single, rtol=1e-12, atol=0)


def test_learnable_parameters_get_gradients():
    m = QG(_grid(), Ld=3e4, drag=1e-7, nu4=1e8, learnable=["beta", "drag", "Ld", "nu4"])
    q = _random_q(m)
    m(0.0, q).pow(2).sum().backward()
    for name in ("beta", "drag", "Ld", "nu4"):
        assert m.params[name].raw.grad is not None and m.params[name].raw.grad.abs() > 0, name
    assert abs(float(m.p("beta").detach()) - BETA) < 1e-25


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_fused_rhs_equals_reference_operators(boundary, device):
    """physics.qg_terms.fd_rhs (flux-grouped Arakawa on flat padded rows) against the plain
    physics.operators stencils: identical to round-off (1e-13 of the largest term)."""
    from physics import operators as ops
    from physics.qg_terms import fd_rhs

    g = _grid(boundary, n=(13, 11), device=device)
    gen = torch.Generator().manual_seed(5)
    m = g.mask("corner")
    psi, q = (torch.randn(2, 3, 11, 13, generator=gen, dtype=torch.float64).to(device) * m for _ in range(2))
    c1, c2, c3 = (torch.randn(3, 1, 1, generator=gen, dtype=torch.float64).to(device) for _ in range(3))
    rhs, lap = fd_rhs(psi, q, g, c1, c2, c3)

    def ddx(f):
        return (ops.shift(f, g, "x", 1, "zero") - ops.shift(f, g, "x", -1, "zero")) / (2 * g.dx)

    lap_ref = ops.laplacian(psi, g, "zero")
    ref = -ops.arakawa_jacobian(psi, q, g, "zero") + c1 * ddx(psi) + c2 * ddx(q) + c3 * lap_ref
    scale = max(ref.abs().max().item(), 1e-300)
    assert (rhs - ref).abs().max() <= 1e-13 * scale
    assert (lap - lap_ref).abs().max() <= 1e-13 * lap_ref.abs().max()
    assert rhs.is_contiguous() and rhs.shape == psi.shape


def test_periodic_mean_pv_tendency_is_zero_with_all_terms():
    """Every term is a difference (J, d/dx, Lap, Lap^2) or zero-mean (sin(2 pi y / Ly) wind) on a
    periodic grid, so d<q_i>/dt = 0 per layer to round-off (relative to the sum of |dq/dt|)."""
    model = QG(_grid(), H=[500.0, 2000.0], g_prime=[0.02], U=[0.1, -0.02], drag=1e-6, nu=20.0,
               nu4=1e9, tau0=0.1)
    dq = model(0.0, _random_q(model))
    assert (dq.sum((-1, -2)).abs() <= TOL * dq.abs().sum((-1, -2))).all()


@pytest.mark.parametrize("spectral", [False, True])
def test_reduced_gravity_layer_equals_ld(spectral):
    """One layer above a resting deep layer (g_prime with N entries) is the 1.5-layer model with
    Ld^2 = g' H / f0^2."""
    H, gp = 800.0, 0.03
    g = _grid()
    a = QG(g, H=[H], g_prime=[gp], f0=F0, spectral=spectral)
    b = QG(g, Ld=math.sqrt(gp * H) / F0, spectral=spectral)
    q = _random_q(a)
    assert torch.allclose(a(0.0, q), b(0.0, q), rtol=1e-12, atol=0)


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_fused_rhs_gradcheck(boundary, device):
    """Periodic grids use the hand-written adjoint of physics.qg_terms._PeriodicFDRHS (Arakawa
    cyclic identity); closed grids plain autograd. gradcheck compares with finite differences."""
    from physics.qg_terms import fd_rhs

    g = Grid(7, 6, dx=1.3, dy=0.8, boundary=boundary, device=device)
    gen = torch.Generator().manual_seed(1)

    def r(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(device).requires_grad_()

    args = (r(2, 2, 6, 7), r(2, 2, 6, 7), r(2, 1, 1), r(2, 1, 1), r(2, 1, 1))
    assert torch.autograd.gradcheck(lambda *a: fd_rhs(*a[:2], g, *a[2:], need_lap=True), args)
    assert torch.autograd.gradcheck(lambda a, b: fd_rhs(a, b, g)[0], args[:2])


def test_model_gradcheck_periodic_and_closed():
    """End-to-end: d(dq/dt)/d(q, beta, drag) through inversion + fused rhs, both boundaries."""
    for boundary in ("periodic", "closed"):
        g = Grid(8, 6, dx=1e4, dy=1.2e4, boundary=boundary, f0=F0, beta=BETA)
        m = QG(g, H=[500.0, 2000.0], g_prime=[0.02], drag=1e-6, nu=10.0, learnable=["beta", "drag", "nu"])
        q = (1e-5 * torch.randn(1, 2, 6, 8, dtype=torch.float64)).requires_grad_()
        assert torch.autograd.gradcheck(lambda x: m(0.0, x), (q,))
        m(0.0, q).pow(2).sum().backward()
        assert all(m.params[k].raw.grad is not None for k in ("beta", "drag", "nu"))


def test_learnable_true_and_move_dtype():
    """learnable=True learns every non-zero parameter (and Ld where given); .to(dtype) moves
    the vertical-mode buffers with the model."""
    m = QG(_grid("closed"), H=[500.0, 2000.0], g_prime=[0.02], drag=1e-7, nu=1.0, nu4=1e6, tau0=0.1,
           learnable=True)
    assert all(p.raw.requires_grad for p in m.params.values())
    q = _random_q(m)
    m32 = QG(_grid("closed"), H=[500.0, 2000.0], g_prime=[0.02]).to(torch.float32)
    ref = QG(_grid("closed"), H=[500.0, 2000.0], g_prime=[0.02]).streamfunction(q)
    psi32 = m32.streamfunction(q.float())
    assert psi32.dtype == torch.float32
    assert torch.allclose(psi32.double(), ref, rtol=0, atol=1e-5 * ref.abs().max().item())  # float32 round-off


@pytest.mark.parametrize("amplitude", [1.0, 1e5])
def test_eddy_centroid_drifts_west_at_beta_ld2(amplitude):
    """1.5 layers, closed basin, a Gaussian eddy psi (radius Ld = 2 dx, centred on a corner
    point 30 Ld from every wall). With q = Lap psi - psi/Ld^2 and dq/dt = -J(psi, q) - beta d_x psi:
    sum(x Lap f) = 0 and sum(x d_x psi) = -sum(psi) by summation by parts, so
    d/dt sum(x psi) = -beta Ld^2 sum(psi): the westward drift at the long-Rossby-wave speed
    (Cushman-Roisin, Chassignet & Tang 1990, JPO 20, 758; exact for the linear dynamics). The
    Jacobian adds nothing: J changes sign under y -> 2 y0 - y for an eddy symmetric about y0, so
    sum(x J) = 0 at any amplitude (1 m^2/s: linear; 1e5 m^2/s: U ~ 4 m/s >> beta Ld^2 = 0.01 m/s).
    The tendency alone, no time stepping. The summations by parts leave wall terms of
    d(psi)/dt, whose inversion decays like exp(-r/Ld): measured relative error 1.1e-3 with the
    walls at 10 Ld, 1.4e-7 at 20 Ld, < 1e-9 at 30 Ld (here). 1e-9 is that wall term; a
    factor-2 error in beta, or in 1/Ld^2, is an O(1) error."""
    Ld, beta = 2.5e4, BETA
    n, d = 120, 12.5e3
    g = Grid(n, n, dx=d, dy=d, boundary="closed", f0=F0, beta=beta)
    model = QG(g, Ld=Ld)
    X, Y = g.mesh("corner")
    x0 = y0 = (n // 2) * d
    psi = amplitude * torch.exp(-((X - x0) ** 2 + (Y - y0) ** 2) / Ld**2) * g.mask("corner")
    from physics import operators as ops

    q = (ops.laplacian(psi, g, "zero") - psi / Ld**2) * g.mask("corner")
    q = q[None, None]
    assert torch.allclose(model.streamfunction(q)[0, 0], psi, rtol=0, atol=1e-12 * amplitude)  # q is psi's PV
    dpsi = model.streamfunction(model(0.0, q))[0, 0]
    drift = float((X * dpsi).sum() / psi.sum())
    assert abs(drift / (-beta * Ld**2) - 1) < 1e-9, drift / (beta * Ld**2)
