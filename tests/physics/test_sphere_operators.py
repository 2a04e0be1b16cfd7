"""Operators on a lon/lat grid (``metric="sphere"``): discrete invariants with area weights,
self-adjointness, exact identities, and second-order convergence to analytic spherical
derivatives (spherical harmonics).

Round-off scale (as in test_operators.py): a sum of N terms of size |t| that vanishes
analytically carries ~ N eps |t|, so it is compared with ``TOL * sum|terms|``, TOL = 1e-13
(~ 500 eps), 1e10 x below any O(1) violation.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from physics import operators as ops
from physics.grid import Grid
from physics.lonlat import EARTH_RADIUS as R

TOL = 1e-13
SETTINGS = settings(max_examples=20, deadline=None)


def sphere_grid(lon0: float, lat0: float, dlon: float, dlat: float, nx: int, ny: int) -> Grid:
    return Grid.from_lonlat(lon0 + dlon * np.arange(nx), lat0 + dlat * np.arange(ny))


boxes = st.builds(
    lambda lat0, dlat, dlon, nx, ny, lon0: (lon0, max(-89.9 + dlat / 2, min(lat0, 89.9 - dlat * (ny - 0.5))), dlon, dlat, nx, ny),
    lat0=st.floats(-85.0, 80.0), dlat=st.floats(0.05, 4.0), dlon=st.floats(0.05, 4.0),
    nx=st.integers(4, 14), ny=st.integers(4, 14), lon0=st.floats(-180.0, 180.0),
)


def random_fields(g: Grid, seed: int, batch: int = 2) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, g.ny, g.nx, generator=gen, dtype=torch.float64) for _ in range(2))


def _vanish(f: torch.Tensor, band: int) -> torch.Tensor:
    """Zero ``f`` on the stored walls (band 0: index 0) or a band of ``band + 1`` cells at every wall."""
    out = f.clone()
    out[..., : band + 1, :] = 0
    out[..., :, : band + 1] = 0
    if band:
        out[..., -band:, :] = 0
        out[..., :, -band:] = 0
    return out


def _zero_sum(terms: torch.Tensor) -> bool:
    return bool((terms.sum((-1, -2)).abs() <= TOL * terms.abs().sum((-1, -2))).all())


# ------------------------------------------------------------------------- discrete invariants
@SETTINGS
@given(box=boxes, seed=st.integers(0, 10_000))
def test_arakawa_sphere_conserves_with_area_weights(box, seed):
    """a, b = 0 on the walls (psi = 0, q = 0 there): sum A a J = sum A b J = 0 (energy and
    enstrophy); a, b = 0 within one cell of the walls (no flux through them): also sum A J = 0.
    Random fields (not smooth): the invariants are algebraic identities of the stencil. Fails
    with the Cartesian J (one dx dy): the row areas A_j then do not cancel."""
    g = sphere_grid(*box)
    A = g.cell_areas("corner")
    a, b = random_fields(g, seed)
    a0, b0 = _vanish(a, 0), _vanish(b, 0)
    J = ops.arakawa_jacobian(a0, b0, g)
    assert _zero_sum(A * a0 * J) and _zero_sum(A * b0 * J)
    a1, b1 = _vanish(a, 1), _vanish(b, 1)
    J1 = ops.arakawa_jacobian(a1, b1, g)
    assert _zero_sum(A * J1) and _zero_sum(A * a1 * J1) and _zero_sum(A * b1 * J1)


@SETTINGS
@given(box=boxes, seed=st.integers(0, 10_000))
def test_laplacian_sphere_self_adjoint(box, seed):
    """<a, L b>_A = <L a, b>_A for the centre (Neumann) and corner (Dirichlet) Laplacians on random
    fields: A L is a symmetric matrix (face length n_j of row j is s_{j+1} of the next row)."""
    g = sphere_grid(*box)
    a, b = random_fields(g, seed)
    for ghost, loc in (("neumann", "center"), ("zero", "corner")):
        A = g.cell_areas(loc)
        lhs, rhs = A * a * ops.laplacian(b, g, ghost), A * ops.laplacian(a, g, ghost) * b
        scale = (lhs.abs().sum((-1, -2)) + rhs.abs().sum((-1, -2)))
        assert ((lhs.sum((-1, -2)) - rhs.sum((-1, -2))).abs() <= TOL * scale).all()


@SETTINGS
@given(box=boxes, seed=st.integers(0, 10_000))
def test_sphere_divergence_identities(box, seed):
    """Flux form: sum A div(u, v) = 0 when the wall normal velocities vanish (telescoping);
    div(velocity_from_psi(psi)) = 0 for any psi vanishing on walls (the fluxes cancel exactly);
    the centre Laplacian equals div(grad) (the same fluxes)."""
    g = sphere_grid(*box)
    u, v = random_fields(g, seed)
    u[..., :, 0] = 0
    v[..., 0, :] = 0
    d = ops.divergence(u, v, g)
    assert _zero_sum(g.cell_areas("center") * d)
    psi = _vanish(u + v, 0)
    up, vp = ops.velocity_from_psi(psi, g)
    dp = ops.divergence(up, vp, g)
    flux_scale = (up.abs() * g.dy + vp.abs() * g.dx_at("v")).amax() / g.cell_areas("center").amin()
    assert dp.abs().max() <= TOL * flux_scale
    f = u + 2 * v
    lap, dg = ops.laplacian(f, g, "neumann"), ops.divergence(*ops.grad(f, g), g)
    assert (lap - dg).abs().max() <= TOL * lap.abs().max() * g.nx * g.ny


def test_vorticity_free_slip_walls_and_loc_required():
    g = sphere_grid(10.0, 30.0, 1.0, 1.0, 8, 6)
    u, v = random_fields(g, 1)
    u[..., :, 0] = 0  # no normal flow through the west/south walls
    v[..., 0, :] = 0
    z = ops.vorticity(u, v, g)
    # free slip: the ghost circulation equals the adjacent one, so zeta = 0 exactly on the walls
    assert z[..., 0, :].abs().max() == 0 and z[..., :, 0].abs().max() == 0
    with pytest.raises(ValueError, match="loc"):
        ops.diff_forward(u, g, "x")
    with pytest.raises(ValueError, match="loc must be one of"):
        ops.laplacian(u, g, loc="middle")
    # y differences need no location: dy = R dlat on every row
    assert torch.equal(ops.diff_forward(u, g, "y"), ops.diff_forward(u, g, "y", loc="u"))


# ------------------------------------------------------------------------- convergence (order 2)
LON0, LAT0, SPAN_LON, SPAN_LAT = -40.0, 15.0, 50.0, 45.0  # a mid-latitude box, 15-60 N


def _box(n: int) -> Grid:
    dlon, dlat = SPAN_LON / n, SPAN_LAT / n
    return sphere_grid(LON0 + dlon / 2, LAT0 + dlat / 2, dlon, dlat, n, n)


def _lonlat(g: Grid, loc: str) -> tuple:
    lon, lat = g.lonlat(loc)
    LAT, LON = torch.meshgrid(torch.deg2rad(lat), torch.deg2rad(lon), indexing="ij")
    return LON, LAT


def _y22(lam, phi):  # Re Y_2^2 ~ cos^2(phi) sin(2 lam): Laplacian -6/R^2 times itself
    return torch.cos(phi) ** 2 * torch.sin(2 * lam)


def _y21(lam, phi):  # Re Y_2^1 ~ sin(phi) cos(phi) cos(lam)
    return torch.sin(phi) * torch.cos(phi) * torch.cos(lam)


def _rates(errors: list) -> list:
    return [math.log2(e0 / e1) for e0, e1 in zip(errors, errors[1:])]


NS = (16, 32, 64)
INTERIOR = (slice(2, -2), slice(2, -2))  # away from the walls, whose ghosts are not the analytic field


@pytest.mark.parametrize("loc,ghost", [("center", "neumann"), ("corner", "zero")])
@pytest.mark.parametrize("field", [_y22, _y21])
def test_laplacian_of_spherical_harmonic(loc, ghost, field):
    """L Y_2^m = -l (l+1) / R^2 Y_2^m = -6/R^2 Y (interior points), error O(h^2): observed order
    in [1.8, 2.3] (a second-order stencil; 0.2 margin for the pre-asymptotic ratio at n = 16)."""
    errs = []
    for n in NS:
        g = _box(n)
        f = field(*_lonlat(g, loc))
        err = (ops.laplacian(f, g, ghost) + 6 / R**2 * f)[INTERIOR]
        errs.append(float(err.abs().max() / (6 / R**2 * f.abs().max())))
    assert errs[-1] < 1e-3
    assert all(1.8 <= r <= 2.3 for r in _rates(errs)), (errs, _rates(errs))


def test_gradient_and_vorticity_converge():
    """grad f = ((1/(R cos phi)) df/dlam, (1/R) df/dphi) at u/v points, and the vorticity of
    solid-body rotation u = U cos(phi) is 2 U sin(phi) / R at corners: order 2 (>= 1.8)."""
    eg, ev = [], []
    for n in NS:
        g = _box(n)
        lam, phi = _lonlat(g, "center")
        fx, fy = ops.grad(_y22(lam, phi), g)
        lu, pu = _lonlat(g, "u")
        lv, pv = _lonlat(g, "v")
        ex = 2 * torch.cos(pu) * torch.cos(2 * lu) / R  # (1/(R cos)) d/dlam cos^2 sin 2lam
        ey = -2 * torch.cos(pv) * torch.sin(pv) * torch.sin(2 * lv) / R
        eg.append(max(float((fx - ex)[INTERIOR].abs().max()), float((fy - ey)[INTERIOR].abs().max())) * R)
        u = torch.cos(pu).expand(g.ny, g.nx)
        _, pq = _lonlat(g, "corner")
        z = ops.vorticity(u, torch.zeros_like(u), g)
        ev.append(float((z - 2 * torch.sin(pq) / R)[INTERIOR].abs().max()) * R)
    for errs in (eg, ev):
        assert all(r >= 1.8 for r in _rates(errs)), (errs, _rates(errs))


def test_arakawa_jacobian_converges():
    """J(a, b) = (1/(R^2 cos phi)) (a_lam b_phi - a_phi b_lam) for a = Y_2^2, b = Y_2^1 at
    interior corners: order 2 (>= 1.8)."""
    errs = []
    for n in NS:
        g = _box(n)
        lam, phi = _lonlat(g, "corner")
        a, b = _y22(lam, phi), _y21(lam, phi)
        c, s = torch.cos(phi), torch.sin(phi)
        a_l, a_p = 2 * c**2 * torch.cos(2 * lam), -2 * c * s * torch.sin(2 * lam)
        b_l, b_p = -s * c * torch.sin(lam), (c**2 - s**2) * torch.cos(lam)
        exact = (a_l * b_p - a_p * b_l) / (R**2 * c)
        J = ops.arakawa_jacobian(a, b, g)
        errs.append(float((J - exact)[INTERIOR].abs().max() / exact.abs().max()))
    assert all(r >= 1.8 for r in _rates(errs)), (errs, _rates(errs))


def test_box_touching_the_south_pole():
    """A box whose south wall is the pole (corner row 0 at -90 deg, dx = 0 there): every operator
    stays finite, the x-derivative on the pole row is 0 (1/dx taken as 0), and the invariants hold."""
    g = Grid.from_lonlat(1.0 + 2.0 * np.arange(10), -89.0 + 2.0 * np.arange(8))
    a, b = random_fields(g, 5)
    for r in (ops.laplacian(a, g, "zero"), ops.laplacian(a, g), ops.vorticity(a, b, g), ops.divergence(a, b, g),
              ops.arakawa_jacobian(a, b, g), ops.dx_q2v(a, g)):
        assert torch.isfinite(r).all()
    assert ops.dx_q2v(a, g)[..., 0, :].abs().max() == 0
    a0, b0 = _vanish(a, 0), _vanish(b, 0)
    J, A = ops.arakawa_jacobian(a0, b0, g), g.cell_areas("corner")
    assert _zero_sum(A * a0 * J) and _zero_sum(A * b0 * J)
