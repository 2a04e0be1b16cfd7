"""physics.qg_open.OpenBoundaryQG: inhomogeneous Dirichlet psi + sponge, float64.

Reference test: an eddy in a 32 x 32 box on the sphere must reproduce, inside that box, a run on
the 96 x 96 box that contains it when the boundary values come from the large run.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physics import operators as op
from physics.grid import Grid
from physics.lonlat import EARTH_RADIUS
from physics.qg import QG
from physics.qg_open import OpenBoundaryQG, sponge_weight
from physics.stepping import integrate_fixed

from _land import archipelago

DAY = 86400.0


def _axes(n, d=0.25, lon0=-60.0, lat0=40.0):
    c = d * (np.arange(n) + 0.5 - n / 2)
    return lon0 + c, lat0 + c


def _grid(n=16, metric="sphere", d=0.25):
    lon, lat = _axes(n, d)
    return Grid.from_lonlat(lon, lat, metric=metric)


def _random(shape, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


LAYERS = {"1.5-layer": dict(Ld=3e4), "2-layer": dict(H=[500.0, 2000.0], g_prime=[0.02]),
          "3-layer": dict(H=[300.0, 700.0, 2000.0], g_prime=[0.02, 0.01])}


@pytest.mark.parametrize("metric", ["sphere", "beta_plane"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("layers", list(LAYERS))
def test_inversion_is_the_inhomogeneous_dirichlet_problem(metric, masked, layers):
    """psi = psi_b on every fixed corner (ring, land) and (L + S) psi = q at every prognostic one,
    to round-off (relative 1e-12: measured ~1e-15, a few DSTs and a capacitance solve deep); per-layer
    boundary values ``(B, T, N, ny, nx)``."""
    g = _grid(metric=metric)
    mask = archipelago(g.ny, g.nx, seed=2) if masked else None
    N = len(LAYERS[layers].get("H", [0]))
    psi_b = _random((1, 1, N, g.ny, g.nx), 1, 1e3)
    model = OpenBoundaryQG(g, psi_b, mask=mask, **LAYERS[layers])
    m = model.mask
    q = _random((2, N, g.ny, g.nx), 2, 1e-5) * m
    psi = model.streamfunction(0.0, q)
    assert float(((psi - psi_b[0]) * (1 - m)).abs().max()) <= 1e-12 * float(psi_b.abs().max())
    lhs = op.laplacian(psi, g, "zero", loc="corner") + torch.einsum("ij,bjyx->biyx", model.qg.S, psi)
    assert float(((lhs - q) * m).abs().max()) <= 1e-12 * float(q.abs().max() + lhs.abs().max())
    assert float(m[0].abs().max() + m[-1].abs().max() + m[:, 0].abs().max() + m[:, -1].abs().max()) == 0


def test_surface_boundary_values_follow_the_vertical_structure():
    """N >= 2 with surface values: psi_i = w_i psi_b (physics.qg_state.vertical_weights), also from SSH."""
    from physics.qg_state import vertical_weights

    g = _grid(12)
    kw = LAYERS["2-layer"]
    eta = _random((g.ny, g.nx), 9, 0.1)
    for vertical in ("mode1", "barotropic", [1.0, 0.3]):
        model = OpenBoundaryQG(g, eta, ssh=True, vertical=vertical, **kw)
        w = vertical_weights(model.qg, vertical).view(-1, 1, 1)
        assert torch.allclose(model.boundary_at(0.0)[0], (9.81 / model.qg.f0) * eta * w, rtol=1e-14, atol=0)


def _eddy_runs():
    """The 96 x 96 reference run and the 32 x 32 runs nested in its centre (module docstring): a linear-ish
    1.5-layer eddy (Ld = 150 km, Gaussian psi of radius Ld, max |u| 0.06 m/s) at the centre of the small
    box at 40 N drifts west (beta Ld^2 = 0.39 m/s for the longest waves) and radiates Rossby waves."""
    N, d, Ld = 32, 0.25, 1.5e5
    lon, lat = _axes(3 * N, d)
    big_grid, s = Grid.from_lonlat(lon, lat), slice(N, 2 * N)
    small_grid = Grid.from_lonlat(lon[s], lat[s])
    big = QG(big_grid, Ld=Ld)
    lo, la = big_grid.lonlat("corner")
    LA, LO = torch.meshgrid(torch.as_tensor(la), torch.as_tensor(lo), indexing="ij")
    x = EARTH_RADIUS * torch.cos(torch.deg2rad(LA)) * torch.deg2rad(LO - float(lo[N + N // 2]))
    y = EARTH_RADIUS * torch.deg2rad(LA - float(la[N + N // 2]))
    psi0 = 1e4 * torch.exp(-(x**2 + y**2) / Ld**2)[None, None] * big.mask
    q0 = (big.laplacian(psi0) - psi0 / Ld**2) * big.mask
    dt, steps = DAY, 100  # 100 days (omega_max dt = beta Ld dt / 2 = 0.11, RK4)
    times, Q = integrate_fixed(big, q0, dt=dt, n_steps=steps, save_every=1, method="rk4")
    ref = torch.stack([big.streamfunction(Q[k])[0, 0] for k in range(Q.shape[0])])[:, s, s]  # (S, 32, 32)

    def energy(psi):  # KE + APE in the small box, forward differences, corner areas
        A, dx = small_grid.cell_areas("corner"), small_grid.dx_at("corner")
        ex = ((psi[..., :, 1:] - psi[..., :, :-1]) / dx) ** 2
        ey = ((psi[..., 1:, :] - psi[..., :-1, :]) / small_grid.dy) ** 2
        return 0.5 * float((ex * A).sum() + (ey * A[1:]).sum() + (psi**2 * A).sum() / Ld**2)

    rest = torch.zeros(N, N, dtype=torch.float64)
    cases = {"nested": (ref, 4), "rest": (rest, 4), "rest_no_sponge": (rest, 0)}
    out, every = {}, 10
    for name, (values, width) in cases.items():
        model = OpenBoundaryQG(small_grid, values, times=times if values.dim() == 3 else None,
                               sponge_width=width, sponge_time=2 * DAY, Ld=Ld)
        _, Qs = integrate_fixed(model, q0[..., s, s] * model.mask, dt=dt, n_steps=steps, save_every=every, method="rk4")
        psis = [model.streamfunction(k * every * dt, Qs[k])[0, 0] for k in range(Qs.shape[0])]
        refs = [ref[k * every] for k in range(Qs.shape[0])]
        E0 = energy(ref[0])
        out[name] = dict(err=max(float((p - r).norm() / ref[0].norm()) for p, r in zip(psis, refs)),
                         reflected=(energy(psis[-1]) - energy(refs[-1])) / E0, energy_ref=energy(refs[-1]) / E0)
    return out


@pytest.mark.slow
def test_eddy_leaving_a_nested_box_matches_the_large_domain():
    """Nested box, boundary values from the large run (every 1-day RK4 step, linear in time; sponge 4
    corners, 2 days): max relative L2 error of psi inside over 100 days measured 1.4e-3 (the RK4 stages
    see the boundary linearly interpolated between steps, an O(dt^2 psi_tt) error); reflected energy
    fraction (E_small - E_ref) / E0 at day 100 measured -3e-6 while 75 % of the initial energy has left
    the box (E_ref = 0.25 E0). Asserted: error < 1e-2, |reflected| < 2e-3 (7x and 600x margins: the
    error bound is set by the boundary interpolation, which a finer dt reduces).
    Boundary values = rest (psi_b = 0, q_b = 0): psi = 0 on the ring is a wall for the normal flow, so
    outgoing waves reflect; the sponge absorbs most of it: reflected fraction at day 100 measured 0.23
    with the sponge against 0.75 without (the energy then stays trapped). Asserted: reflected with the
    sponge < 0.5 x without, and < 0.35."""
    out = _eddy_runs()
    nested, rest, bare = out["nested"], out["rest"], out["rest_no_sponge"]
    assert nested["err"] < 1e-2, nested
    assert abs(nested["reflected"]) < 2e-3, nested
    assert nested["energy_ref"] < 0.3, nested  # the eddy has mostly left the small box
    assert rest["reflected"] < 0.5 * bare["reflected"] and rest["reflected"] < 0.35, (rest, bare)


def test_gradient_reaches_the_boundary_values():
    """d loss / d psi_b by autograd through RK4 and the lift, checked against a central finite difference
    along a random direction (relative 1e-6: the loss is quadratic in psi_b, so the central difference is
    exact up to round-off of the step, measured ~1e-9)."""
    g = _grid(12)
    T = torch.tensor([0.0, DAY])
    psi_b = _random((2, g.ny, g.nx), 3, 1e3).requires_grad_(True)

    def loss(pb):
        model = OpenBoundaryQG(g, pb, times=T, sponge_width=2, sponge_time=DAY, Ld=3e4)
        q = _random((1, 1, g.ny, g.nx), 4, 1e-6) * model.mask
        _, traj = integrate_fixed(model, q, dt=DAY / 4, n_steps=4, method="rk4")
        return (model.streamfunction(DAY, traj[-1]) ** 2).sum()

    loss(psi_b).backward()
    grad = psi_b.grad
    assert grad is not None and float(grad.abs().max()) > 0
    v = _random(psi_b.shape, 5)
    h = 1e-2
    with torch.no_grad():
        fd = (loss(psi_b + h * v) - loss(psi_b - h * v)) / (2 * h)
    assert abs(float(fd) - float((grad * v).sum())) <= 1e-6 * abs(float(fd))


def test_batched_and_callable_boundaries_agree_with_single_runs():
    """(B, T, ny, nx): sample b uses its own sequence; a callable gives the same tendency as a tensor."""
    g = _grid(12, metric="beta_plane")
    T = torch.tensor([0.0, DAY])
    seqs = _random((2, 2, g.ny, g.nx), 6, 1e3)
    batched = OpenBoundaryQG(g, seqs, times=T, Ld=3e4)
    q = _random((2, 1, g.ny, g.nx), 7, 1e-6) * batched.mask
    t = 0.3 * DAY
    dq = batched(t, q)
    for b in range(2):
        single = OpenBoundaryQG(g, seqs[b], times=T, Ld=3e4)
        assert torch.allclose(dq[b:b + 1], single(t, q[b:b + 1]), rtol=0, atol=1e-14 * float(dq.abs().max()))
        fn = OpenBoundaryQG(g, lambda tt, s=seqs[b]: s[0] + (float(tt) / DAY) * (s[1] - s[0]), Ld=3e4)
        assert torch.allclose(fn(t, q[b:b + 1]), dq[b:b + 1], rtol=0, atol=1e-13 * float(dq.abs().max()))
    rest = OpenBoundaryQG(g, torch.zeros(g.ny, g.nx, dtype=torch.float64), sponge_width=0, Ld=3e4)
    ocean = torch.ones(g.ny, g.nx, dtype=torch.bool)
    ocean[-1, :] = ocean[:, -1] = False
    closed = QG(g, Ld=3e4, mask=ocean)
    # rest boundary, no sponge: the closed model on the box whose last row/column is also a wall
    expected = closed(0.0, q)
    assert torch.allclose(rest(0.0, q), expected, rtol=0, atol=1e-13 * float(expected.abs().max()))


def test_ssh_boundary_values_use_f0_over_g():
    g = _grid(12)
    eta = _random((g.ny, g.nx), 8, 0.1)
    a = OpenBoundaryQG(g, eta, ssh=True, Ld=3e4)
    b = OpenBoundaryQG(g, 9.81 / a.qg.f0 * eta, Ld=3e4)
    assert torch.allclose(a.boundary_at(0.0), b.boundary_at(0.0), rtol=1e-15, atol=0)


def test_bad_input_raises():
    g = _grid(12)
    ok = torch.zeros(g.ny, g.nx, dtype=torch.float64)
    with pytest.raises(ValueError, match="psi_b must be"):
        OpenBoundaryQG(g, torch.zeros(3, g.ny + 1, g.nx, dtype=torch.float64), times=[0, 1, 2])
    bad = ok.clone()
    bad[3, 3] = math.nan
    with pytest.raises(ValueError, match="psi_b"):
        OpenBoundaryQG(g, bad)
    with pytest.raises(ValueError, match="sponge_width"):
        OpenBoundaryQG(g, ok, sponge_width=5)
    with pytest.raises(ValueError, match="times"):
        OpenBoundaryQG(g, torch.zeros(3, g.ny, g.nx, dtype=torch.float64), times=[0.0, 1.0])
    with pytest.raises(ValueError, match="times"):
        OpenBoundaryQG(g, torch.zeros(2, g.ny, g.nx, dtype=torch.float64))
    with pytest.raises(ValueError, match="psi_b must be"):  # per-layer values with the wrong layer count
        OpenBoundaryQG(g, torch.zeros(1, 1, 3, g.ny, g.nx, dtype=torch.float64), H=[500.0, 2000.0], g_prime=[0.02])
    with pytest.raises(ValueError, match=r"psi_b\(t\) must return"):
        OpenBoundaryQG(g, lambda t: torch.zeros(g.ny, g.nx + 1, dtype=torch.float64))(0.0, torch.zeros(
            1, 1, g.ny, g.nx, dtype=torch.float64))
    with pytest.raises(TypeError, match="psi_b"):
        OpenBoundaryQG(g, np.zeros((g.ny, g.nx)))
    model = OpenBoundaryQG(g, torch.zeros(2, g.ny, g.nx, dtype=torch.float64), times=[0.0, DAY])
    q = torch.zeros(1, 1, g.ny, g.nx, dtype=torch.float64)
    with pytest.raises(ValueError, match="outside the boundary times"):
        model(2 * DAY, q)
    with pytest.raises(ValueError, match="batch"):
        OpenBoundaryQG(g, torch.zeros(3, 1, g.ny, g.nx, dtype=torch.float64))(0.0, torch.zeros(2, 1, g.ny, g.nx,
                                                                                             dtype=torch.float64))


def test_two_layer_nested_run_matches_the_large_domain():
    """2 layers, 16 x 16 box nested in a 48 x 48 run on the sphere, a baroclinic eddy (layer 2 opposite
    to layer 1) near the box's west side, per-layer boundary values from the large run every 3 h,
    10 days: the nested psi matches the large run inside to 7.8e-5 (relative L2, both layers, measured),
    asserted < 1e-3; measured with deliberate errors: ring PV q_b = 0 gives 6.5e-2, a lift without its
    (L + S) l correction 2.8e-2, so the bound separates a correct open boundary from a wrong one."""
    N, d = 16, 0.25
    kw = dict(H=[500.0, 2000.0], g_prime=[0.02])
    lon, lat = _axes(3 * N, d)
    big_grid, s = Grid.from_lonlat(lon, lat), slice(N, 2 * N)
    big = QG(big_grid, **kw)
    lo, la = big_grid.lonlat("corner")
    LA, LO = torch.meshgrid(torch.as_tensor(la), torch.as_tensor(lo), indexing="ij")
    x = EARTH_RADIUS * torch.cos(torch.deg2rad(LA)) * torch.deg2rad(LO - float(lo[N + 5]))
    y = EARTH_RADIUS * torch.deg2rad(LA - float(la[N + N // 2]))
    shape = torch.exp(-(x**2 + y**2) / 6e4**2)
    psi0 = torch.stack((shape, -0.3 * shape))[None] * 2e3 * big.mask
    q0 = (big.laplacian(psi0) + torch.einsum("ij,bjyx->biyx", big.S, psi0)) * big.mask
    dt, steps = 3 * 3600.0, 80
    times, Q = integrate_fixed(big, q0, dt=dt, n_steps=steps, method="rk4")
    ref = torch.stack([big.streamfunction(Q[k])[0] for k in range(Q.shape[0])])[..., s, s]  # (S, 2, 16, 16)
    model = OpenBoundaryQG(Grid.from_lonlat(lon[s], lat[s]), ref[None], times=times, sponge_width=2,
                           sponge_time=DAY, **kw)
    _, Qs = integrate_fixed(model, q0[..., s, s] * model.mask, dt=dt, n_steps=steps, save_every=steps, method="rk4")
    psi = model.streamfunction(times[-1], Qs[-1])[0]
    err = float((psi - ref[-1]).norm() / ref[0].norm())
    assert err < 1e-3, err


def test_one_field_times_and_ssh_flag_are_checked():
    """A single (constant) boundary field still refuses a non-finite ``times``, and ``ssh`` must be a bool
    (a string such as ``"no"`` is truthy and would silently scale psi_b by g / f0)."""
    g = _grid(12)
    ok = torch.zeros(1, g.ny, g.nx, dtype=torch.float64)
    with pytest.raises(ValueError, match="times must hold 1 finite time"):
        OpenBoundaryQG(g, ok, times=[math.nan])
    with pytest.raises(TypeError, match="ssh must be a bool"):
        OpenBoundaryQG(g, ok[0], ssh="no")


def test_sponge_weight_profile_and_bad_input():
    """The Davies weight is 1 next to the ring, cos^2 inside the band, 0 on the ring and beyond the band."""
    w = sponge_weight(12, 10, 3, dtype=torch.float64)
    assert float(w[0].abs().max()) == 0.0 and float(w[:, -1].abs().max()) == 0.0  # the fixed ring
    assert float(w[1, 5]) == 1.0 and float(w[4, 5]) == 0.0  # d = 1 and d = 4 > width
    assert abs(float(w[3, 5]) - math.cos(math.pi / 3) ** 2) <= 1e-15  # d = 3: cos^2(pi 2 / 6)
    with pytest.raises(ValueError, match="width"):
        sponge_weight(12, 10, -1)
    with pytest.raises(TypeError, match="ny must be an int"):
        sponge_weight(2.5, 10, 1)
