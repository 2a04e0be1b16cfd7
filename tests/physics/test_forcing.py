"""Tests of physics.forcing: time interpolation, wind on QG / shallow water, gradients, bad input."""
from __future__ import annotations

import math

import pytest
import torch

from hybridocean.integrate import odeint
from physics.forcing import Forced, QGWindForcing, TimeField, WindStress, centers_to_faces, wind_forced_qg
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater

DAY = 86400.0
F64 = torch.float64
RHO0, H1 = 1025.0, 500.0


def _grid(n=12, L=1.2e6, beta=2e-11):
    return Grid(n, n, Lx=L, Ly=L, boundary="closed", f0=1e-4, beta=beta)


# ---------------------------------------------------------------------- TimeField
def test_linear_interpolation_exact_on_a_field_linear_in_time():
    # v(t) = a + b t at the nodes: the interpolant equals a + b t everywhere in range (round-off)
    times = torch.tensor([0.0, 1.0, 3.0, 7.0])
    a, b = torch.randn(2, 5, generator=torch.Generator().manual_seed(0), dtype=F64)
    field = TimeField(times, a + b * times.to(F64)[:, None])
    for t in (0.0, 0.25, 1.0, 2.2, 6.9, 7.0):
        torch.testing.assert_close(field(torch.tensor(t, dtype=F64)), a + b * t, rtol=0, atol=1e-14)
    k, w = field.interval(2.0)
    assert (k, w) == (1, 0.5)


def test_clamp_and_error_outside_the_range():
    v = torch.arange(6.0, dtype=F64).view(3, 2)
    clamp = TimeField([0.0, 1.0, 2.0], v)
    torch.testing.assert_close(clamp(-5.0), v[0], rtol=0, atol=0)
    torch.testing.assert_close(clamp(9.0), v[2], rtol=0, atol=0)
    strict = TimeField([0.0, 1.0, 2.0], v, outside="error", name="tau")
    with pytest.raises(ValueError, match="outside the times of tau"):
        strict(2.1)
    torch.testing.assert_close(strict(2.0 + 1e-12), v[2], rtol=0, atol=0)  # within the 1e-9 span slack
    one = TimeField([5.0], v[:1])  # one time: a constant field
    torch.testing.assert_close(one(100.0), v[0], rtol=0, atol=0)


def test_batched_field_gives_each_sample_its_own_values():
    v = torch.randn(3, 2, 4, 4, dtype=F64, generator=torch.Generator().manual_seed(1))  # (B, T, ny, nx)
    field = TimeField([0.0, 10.0], v, batched=True)
    assert field.batch_size == 3 and field.field_shape == (4, 4)
    out = field(torch.tensor(2.5))
    assert out.shape == (3, 4, 4)
    for b in range(3):
        torch.testing.assert_close(out[b], 0.75 * v[b, 0] + 0.25 * v[b, 1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(times=[0.0, 1.0], values=torch.zeros(3, 2)), ValueError, "values must be shaped \\(time"),
    (dict(times=[0.0, 1.0], values=torch.zeros(2, 3, 2), batched=True), ValueError, "values must be shaped \\(batch"),
    (dict(times=[0.0, 0.0], values=torch.zeros(2, 2)), ValueError, "times must be strictly increasing"),
    (dict(times=[1.0, 0.5], values=torch.zeros(2, 2)), ValueError, "times must be strictly increasing"),
    (dict(times=[0.0, float("nan")], values=torch.zeros(2, 2)), ValueError, "times contains non-finite"),
    (dict(times=[[0.0, 1.0]], values=torch.zeros(2, 2)), ValueError, "times must be 1-D"),
    (dict(times=[0.0, 1.0], values=torch.tensor([[0.0, float("inf")], [0.0, 0.0]])), ValueError, "values contains non-finite"),
    (dict(times=[0.0, 1.0], values=torch.zeros(2, 2, dtype=torch.int64)), TypeError, "values must be a floating"),
    (dict(times=[0.0, 1.0], values=[[0.0], [1.0]]), TypeError, "values must be a torch.Tensor"),
    (dict(times="ab", values=torch.zeros(2, 2)), TypeError, "times must be"),
    (dict(times=[0.0, 1.0], values=torch.zeros(2, 2), outside="extrapolate"), ValueError, "outside must be one of"),
    (dict(times=[0.0, 1.0], values=torch.zeros(2, 2), batched=1), TypeError, "batched must be a bool"),
])
def test_time_field_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        TimeField(**kwargs)


def test_time_field_bad_time_argument():
    field = TimeField([0.0, 1.0], torch.zeros(2, 2))
    with pytest.raises(ValueError, match="t must be a scalar"):
        field(torch.zeros(2))
    with pytest.raises(TypeError, match="t must be a real scalar"):
        field("noon")


# ---------------------------------------------------------------------- wind stress
def _linear_wind(grid, slopes, batched=False):
    """tau_x = s * (y - Ly/2) at u-points [N/m^2], tau_y = 0: curl = -s exactly on the C-grid."""
    y = grid.mesh("u")[1] - grid.Ly / 2
    tx = torch.stack([s * y for s in slopes])
    if batched:
        tx = tx.unsqueeze(1).expand(-1, 2, -1, -1).contiguous()
    return tx, torch.zeros_like(tx)


def test_resting_qg_response_is_curl_tau_over_rho0_H():
    # dq/dt at q = 0 is exactly curl(tau) / (rho0 H1): here -s / (rho0 H1) on every ocean corner, 0 on walls
    g = _grid()
    model = QG(g, H=[H1])
    tx, ty = _linear_wind(g, [1e-7, 3e-7])
    f = wind_forced_qg(model, WindStress([0.0, DAY], tx, ty, grid=g))
    dq = f(torch.tensor(0.5 * DAY), torch.zeros(1, 1, *g.shape, dtype=F64))
    expected = -2e-7 / (RHO0 * H1) * model.mask
    torch.testing.assert_close(dq[0, 0], expected, rtol=1e-12, atol=0)
    assert f.CHANNELS == model.CHANNELS and f.grid is g


def test_double_gyre_stress_matches_the_builtin_tau0_term_at_second_order():
    # tau_x = -tau0 cos(2 pi y / Ly) at u-points: its centred curl at the corners tends to QG's analytic
    # wind_shape at second order in dy (error ratio ~4 per halving; 3.5 allows the O(dy^4) remainder)
    errs = []
    for n in (16, 32):
        g = _grid(n)
        model = QG(g, H=[H1], tau0=0.1)
        y = g.mesh("u")[1]
        tx = (-0.1 * torch.cos(2 * math.pi * y / g.Ly)).unsqueeze(0)
        F = QGWindForcing(QG(g, H=[H1]), WindStress([0.0], tx, torch.zeros_like(tx), grid=g))(0.0)
        ref = 0.1 * model.wind_shape[0] * model.mask
        errs.append(float((F[0] - ref).abs().max() / ref.abs().max()))
    assert errs[1] < 0.05 and errs[0] / errs[1] > 3.5, errs


def test_centre_stress_is_averaged_onto_faces():
    g = _grid(8)
    tc = torch.randn(2, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(2))
    w = WindStress([0.0, 1.0], tc, 2 * tc, grid=g, loc="center")
    ux, vy = centers_to_faces(tc, 2 * tc, g)
    tx, ty = w(0.0)
    torch.testing.assert_close(tx, ux[0], rtol=0, atol=0)
    torch.testing.assert_close(tx[3, 4], 0.5 * (tc[0, 3, 3] + tc[0, 3, 4]), rtol=0, atol=1e-15)
    torch.testing.assert_close(ty, vy[0], rtol=0, atol=0)


def test_shallow_water_takes_a_per_sample_wind_directly():
    # linear SW at rest: du/dt = tau_x / (rho0 H) exactly, each sample with its own stress
    g = _grid(8)
    sw_H = 200.0
    tx, ty = _linear_wind(g, [1e-7, -2e-7, 5e-7], batched=True)
    w = WindStress([0.0, DAY], tx, ty, grid=g, batched=True)
    sw = ShallowWater(g, H=sw_H, nonlinear=False, wind_stress=w)
    d = sw(torch.tensor(0.3 * DAY), torch.zeros(3, 3, *g.shape, dtype=F64))
    torch.testing.assert_close(d[:, 1], tx[:, 0] * sw.mask_u / (RHO0 * sw_H), rtol=1e-13, atol=0)


def test_per_sample_wind_equals_separate_runs_through_odeint():
    g = _grid(10)
    model = QG(g, H=[H1], drag=1e-7)
    tx = 1e-2 * torch.randn(3, 3, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(3))
    ty = 1e-2 * torch.randn(3, 3, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(4))
    times = torch.tensor([0.0, DAY, 2 * DAY], dtype=F64)
    q0 = 1e-6 * torch.randn(3, 1, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(5))
    t = torch.linspace(0, 2 * DAY, 3, dtype=F64)
    batched = odeint(wind_forced_qg(model, WindStress(times, tx, ty, grid=g, batched=True)), q0, t,
                     method="rk4", step_size=3600.0)
    for b in range(3):
        one = odeint(wind_forced_qg(model, WindStress(times, tx[b], ty[b], grid=g)), q0[b:b + 1], t,
                     method="rk4", step_size=3600.0)
        # the samples are independent tensor ops: equal up to the summation order of the batched kernels
        torch.testing.assert_close(batched[b:b + 1], one, rtol=1e-12, atol=1e-20)


def test_adjoint_gradient_wrt_the_wind_equals_autograd():
    # d loss / d tau by the continuous adjoint (odeint_adjoint) vs backprop through the same solver (RK4,
    # 1 h steps, aligned with the forcing's time nodes). They differ by the O(dt^4) error of RK4 on the
    # adjoint equation: measured 1.1e-11 relative at 1 h, 6.8e-13 at 30 min (/16); the check allows 1e-8
    g = _grid(6, beta=1.5e-11)
    model = QG(g, H=[H1], drag=2e-7)
    tx = 1e-2 * torch.randn(3, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(6))
    ty = 1e-2 * torch.randn(3, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(7))
    q0 = 1e-6 * torch.randn(1, 1, *g.shape, dtype=F64, generator=torch.Generator().manual_seed(8))
    t = torch.tensor([0.0, DAY, 2 * DAY], dtype=F64)
    grads = []
    for adjoint in (False, True):
        f = wind_forced_qg(model, WindStress([0.0, DAY, 2 * DAY], tx, ty, grid=g, learnable=True))
        out = odeint(f, q0, t, adjoint=adjoint, method="rk4", step_size=3600.0)
        (out[:, 1:] ** 2).sum().mul(1e10).backward()
        grads.append(f.forcing.wind.field.values.grad.clone())
    assert float(grads[0].abs().max()) > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=0, atol=1e-8 * float(grads[0].abs().max()))


def test_steady_wind_spins_up_a_clockwise_western_intensified_gyre():
    # Stommel (1948, "The westward intensification of wind-driven ocean currents"): a negative curl
    # tau_x = -tau0 cos(pi y / L) on a beta-plane spins up a clockwise gyre (psi > 0) whose interior
    # flow is the Sverdrup (1947) transport v = curl(tau) / (rho0 H beta) (southward), returned in a
    # western boundary layer of width r / beta. After 40 days (>> 1/r = 5.8 d and the barotropic Rossby
    # crossing time ~2 d) the state is steady; the interior v is within 25 % of Sverdrup (measured 0.80-0.88 of it; the friction
    # term r Lap psi is ~ (r/beta) (pi/L) ~ 15 % of beta v here, plus O(dx^2) differences).
    L, n, r, beta, tau0 = 3.0e6, 30, 2e-6, 2e-11, 0.1
    g = _grid(n, L=L, beta=beta)
    model = QG(g, H=[H1], drag=r)
    y = g.mesh("u")[1]
    tx = (-tau0 * torch.cos(math.pi * y / L)).unsqueeze(0)
    f = wind_forced_qg(model, WindStress([0.0], tx, torch.zeros_like(tx), grid=g))
    q = odeint(f, torch.zeros(1, 1, n, n, dtype=F64), torch.tensor([0.0, 40 * DAY], dtype=F64),
               method="rk4", step_size=4 * 3600.0)[:, -1]
    psi = model.streamfunction(q)[0, 0]
    u, v = model.velocities(q)
    v = v[0, 0]
    assert float(psi[1:, 1:].min()) > -1e-6 * float(psi.max()) and float(psi.max()) > 0  # clockwise gyre
    j = n // 2
    yv = (j * g.dy)
    sverdrup = -tau0 * (math.pi / L) * math.sin(math.pi * yv / L) / (RHO0 * H1 * beta)
    interior = v[j, n // 3: 2 * n // 3]
    assert float((interior / sverdrup - 1).abs().max()) < 0.25, interior / sverdrup
    assert float(v[j, : n // 6].max()) > 3 * abs(sverdrup)  # northward western boundary current


# ---------------------------------------------------------------------- bad input
def test_forced_bad_input():
    g = _grid(6)
    model = QG(g, H=[H1])
    q = torch.zeros(2, 1, *g.shape, dtype=F64)
    with pytest.raises(ValueError, match="forcing must have the state's shape"):
        Forced(model, torch.zeros(3, 1, *g.shape, dtype=F64))(0.0, q)  # batch size mismatch
    with pytest.raises(ValueError, match="forcing must have the state's shape"):
        Forced(model, TimeField([0.0, 1.0], torch.zeros(3, 2, 1, *g.shape, dtype=F64), batched=True))(0.0, q)
    with pytest.raises(ValueError, match="forcing contains non-finite"):
        Forced(model, torch.full((1, *g.shape), float("nan"), dtype=F64))
    with pytest.raises(TypeError, match="forcing must be a tensor or a callable"):
        Forced(model, 3.0)
    with pytest.raises(TypeError, match="model must be a callable"):
        Forced(3, torch.zeros(1, *g.shape))
    torch.testing.assert_close(Forced(model, torch.ones(1, *g.shape, dtype=F64))(0.0, q), torch.ones_like(q))


def test_wind_bad_input():
    g = _grid(6)
    z = torch.zeros(2, *g.shape, dtype=F64)
    with pytest.raises(ValueError, match="tau_x must be shaped \\(time, ny, nx\\)"):
        WindStress([0.0, 1.0], z[0], z[0])
    with pytest.raises(ValueError, match="tau_y must have the shape of tau_x"):
        WindStress([0.0, 1.0], z, torch.zeros(2, 6, 5, dtype=F64))
    with pytest.raises(ValueError, match="trailing shape \\(ny, nx\\) = \\(7, 7\\)"):
        WindStress([0.0, 1.0], z, z, grid=_grid(7))
    with pytest.raises(ValueError, match="grid is needed for loc='center'"):
        WindStress([0.0, 1.0], z, z, loc="center")
    with pytest.raises(ValueError, match="tau_x, tau_y must be shaped \\(time"):
        WindStress([0.0, 1.0, 2.0], z, z)
    with pytest.raises(ValueError, match="H1 \\(top-layer thickness"):
        QGWindForcing(QG(g), WindStress([0.0, 1.0], z, z))
    with pytest.raises(TypeError, match="model must be a physics.qg.QG"):
        QGWindForcing(torch.nn.Linear(2, 2), WindStress([0.0, 1.0], z, z))
    bad = QGWindForcing(QG(g, H=[H1]), lambda t: (torch.zeros(5, 5), torch.zeros(5, 5)))
    with pytest.raises(ValueError, match="wind\\(t\\)\\[0\\] \\(tau_x\\) must be a tensor"):
        bad(0.0)


def test_generic_forcing_on_shallow_water_and_its_gradient_by_both_routes():
    # the 4D-Var weak-constraint use: dx/dt = model(t, x) + F with F a control tensor (requires grad);
    # at rest the tendency is F exactly; d loss / d F by odeint_adjoint (adjoint_params=(F,)) equals
    # backprop through odeint: the system is linear and autonomous, so an RK4 step is a polynomial
    # p(dt A) and the adjoint's RK4 step p(dt A^T) is exactly its transpose -- equal to round-off
    # (measured 7e-16 relative; the check allows 1e-12)
    g = _grid(6)
    sw = ShallowWater(g, H=100.0, nonlinear=False)
    gen = torch.Generator().manual_seed(9)
    F0 = 1e-6 * torch.randn(1, 3, *g.shape, dtype=F64, generator=gen)
    F0[:, 1] *= sw.mask_u
    F0[:, 2] *= sw.mask_v
    x0 = torch.zeros(1, 3, *g.shape, dtype=F64)
    torch.testing.assert_close(Forced(sw, F0)(0.0, x0), F0, rtol=0, atol=0)
    t = torch.tensor([0.0, 600.0, 1200.0], dtype=F64)
    grads = []
    for adjoint in (False, True):
        F = F0.clone().requires_grad_()
        out = odeint(Forced(sw, F), x0, t, adjoint=adjoint, method="rk4", step_size=300.0,
                     adjoint_params=(F,) if adjoint else None)
        (out[:, -1, 0] ** 2).sum().backward()
        grads.append(F.grad.clone())
    assert float(grads[0].abs().max()) > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=0, atol=1e-12 * float(grads[0].abs().max()))
    # a time-dependent forcing given as a TimeField is added at the right time, cast to the state's dtype
    ramp = Forced(sw, TimeField([0.0, 100.0], torch.stack((0 * F0[0], F0[0]))))
    torch.testing.assert_close(ramp(torch.tensor(25.0), x0.float()), 0.25 * F0.float(), rtol=1e-6, atol=0)


def test_wind_curl_on_a_sphere_grid_converges_to_the_spherical_curl():
    # on the sphere curl(tau) = (1/(R cos phi)) [d tau_y/d lambda - d(tau_x cos phi)/d phi]; for
    # tau_x = tau0 cos(phi), tau_y = 0 it is 2 tau0 sin(phi) / R (R = physics.lonlat.EARTH_RADIUS). The
    # circulation form is second order in dphi: error ratio ~4 per halving (3.5 allows the remainder)
    import numpy as np

    from physics.lonlat import EARTH_RADIUS

    errs = []
    for n in (12, 24):
        d = 10.0 / n
        lon = 295.0 + d * (np.arange(n) + 0.5)
        lat = 33.0 + d * (np.arange(n) + 0.5)
        g = Grid.from_lonlat(lon, lat, metric="sphere")
        model = QG(g, H=[H1])
        _, lat_u = g.lonlat("u")
        tx = (0.1 * torch.cos(torch.deg2rad(lat_u)))[:, None].expand(n, n).unsqueeze(0)
        F = QGWindForcing(model, WindStress([0.0], tx, torch.zeros_like(tx), grid=g))(0.0)[0]
        _, lat_q = g.lonlat("corner")
        ref = (2 * 0.1 * torch.sin(torch.deg2rad(lat_q)) / EARTH_RADIUS / (RHO0 * H1))[:, None] * model.mask
        errs.append(float((F - ref).abs().max() / ref.abs().max()))
    assert errs[1] < 1e-4 and errs[0] / errs[1] > 3.5, errs  # measured 2.6e-5, 6.6e-6


def test_per_sample_boundary_values_through_the_open_boundary_wrapper():
    # one TimeField of boundary psi per training sample, handed to physics.qg_open.OpenBoundaryQG as its
    # callable psi_b: the batched run equals the separate runs (independent samples, round-off only)
    from physics.qg_open import OpenBoundaryQG

    g = _grid(10)
    gen = torch.Generator().manual_seed(10)
    psi_b = 1e3 * torch.randn(2, 3, *g.shape, dtype=F64, generator=gen)  # (B, T, ny, nx) [m^2/s]
    times = [0.0, 0.5 * DAY, DAY]
    t = torch.tensor([0.0, DAY], dtype=F64)

    def run(values, batched):
        model = OpenBoundaryQG(g, TimeField(times, values, batched=batched), sponge_width=2, Ld=30e3)
        q0 = model.boundary_pv(model.boundary_at(0.0)) * model.mask
        return odeint(model, q0, t, method="rk4", step_size=3600.0)

    both = run(psi_b, True)
    assert both.shape == (2, 2, 1, *g.shape)
    for b in range(2):
        torch.testing.assert_close(both[b:b + 1], run(psi_b[b], False), rtol=1e-12, atol=1e-20)
    assert float((both[0, -1] - both[1, -1]).abs().max()) > 0


def test_callable_wind_returning_non_finite_or_integer_stress_raises():
    """A callable wind is checked at each call (a WindStress at construction): NaN or integer stresses."""
    g = _grid(6)
    nan = torch.full(g.shape, math.nan, dtype=F64)
    with pytest.raises(ValueError, match="tau_x\\) contains non-finite"):
        QGWindForcing(QG(g, H=[H1]), lambda t: (nan, torch.zeros_like(nan)))(0.0)
    with pytest.raises(TypeError, match="tau_y\\) must be a floating-point tensor"):
        QGWindForcing(QG(g, H=[H1]), lambda t: (torch.zeros_like(nan), torch.zeros(g.shape, dtype=torch.int64)))(0.0)
