"""physics.qg.QG with a land mask: masked inversion, conservation to round-off on irregular masks.

Round-off scale as in tests/physics/test_qg.py: a sum of N terms that vanishes analytically is
compared with TOL * sum|terms|, TOL = 1e-13 (~500 eps; measured ~3e-17, a stencil that is not
masked consistently gives 1e-3..1).
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from physics.capacitance import masked_helmholtz_operator
from physics.grid import Grid
from physics.qg import QG
from physics.stepping import integrate_fixed

from _land import archipelago, peninsula_basin

TOL = 1e-13
F0, BETA = 1e-4, 1.6e-11
CONFIGS = {
    "1-layer": dict(),
    "1.5-layer": dict(Ld=4e4),
    "2-layer": dict(H=[500.0, 2000.0], g_prime=[0.02]),
    "3-layer": dict(H=[300.0, 700.0, 2000.0], g_prime=[0.02, 0.01]),
}


def _grid(nx=24, ny=20):
    return Grid(nx, ny, dx=2e4, dy=2.5e4, boundary="closed", f0=F0, beta=BETA)


def _q(model, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = model.grid
    return 1e-5 * torch.randn(batch, model.nlayers, g.ny, g.nx, generator=gen, dtype=torch.float64)


def _inversion_residual(model, q):
    """max |Lap psi + S psi - q| over ocean corners, relative to max |q|."""
    psi, m = model.streamfunction(q), model.mask
    res = masked_helmholtz_operator(psi, model.grid, m) + torch.einsum("ij,bjyx->biyx", model.S, psi) * m - q * m
    return float(res.abs().max()) / float(q.abs().max())


def _vanishes(terms):
    return bool((terms.sum((-1, -2)).abs() <= TOL * terms.abs().sum((-1, -2))).all())


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000), land=st.floats(0.05, 0.35), name=st.sampled_from(list(CONFIGS)))
def test_energy_and_enstrophy_conserved_on_random_archipelagos(seed, land, name):
    """Property: on any random archipelago the inversion is exact (residual <= 1e-12 max|q|, the
    tolerance of test_capacitance.py), -sum psi dq/dt = 0 (energy, with beta) and sum q dq/dt = 0
    (enstrophy, f-plane) per layer to round-off (physics.qg docstring)."""
    g = _grid()
    ocean = archipelago(g.ny, g.nx, seed=seed, land_fraction=land)
    model = QG(g, mask=ocean, **CONFIGS[name])
    q = _q(model, seed=seed)
    assert _inversion_residual(model, q) <= 1e-12
    dE, scale = model.energy_tendency(q)
    assert (dE.abs() <= TOL * scale).all(), dE / scale
    f_plane = QG(g, mask=ocean, beta=0.0, **CONFIGS[name])
    assert _vanishes((q * f_plane.mask) * f_plane(0.0, q))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_inversion_and_conservation_on_a_peninsula_basin(name):
    """Lap psi_i + (S psi)_i = q_i at every ocean corner (modal capacitance path), psi = 0 and
    dq/dt = 0 on land, energy and enstrophy tendencies zero."""
    g = _grid()
    model = QG(g, mask=peninsula_basin(g.ny, g.nx), **CONFIGS[name])
    q = _q(model)
    psi, m = model.streamfunction(q), model.mask
    assert _inversion_residual(model, q) <= 1e-12  # test_capacitance.py TOL
    assert bool((psi[..., m == 0] == 0).all()) and bool((model(0.0, q)[..., m == 0] == 0).all())
    dE, scale = model.energy_tendency(q)
    assert (dE.abs() <= TOL * scale).all()
    f_plane = QG(g, mask=peninsula_basin(g.ny, g.nx), beta=0.0, **CONFIGS[name])
    assert _vanishes((q * m) * f_plane(0.0, q))


@pytest.mark.parametrize("term", [dict(nu=50.0), dict(drag=1e-6), dict(nu4=1e9)])
def test_dissipation_on_a_masked_basin(term):
    """Free slip (zeta = 0 on land): nu dissipates -nu <m zeta^2>, drag -drag <|grad psi|^2>
    (= drag <psi zeta>), nu4 -nu4 <|grad (m zeta)|^2> (= nu4 <m zeta Lap(m zeta)>), layer
    weights H_i/H; the difference with the inviscid tendency equals the closed form to round-off."""
    g = _grid()
    base = dict(H=[500.0, 2000.0], g_prime=[0.02], mask=archipelago(g.ny, g.nx, seed=4))
    q = _q(QG(g, **base))
    dE0, _ = QG(g, **base).energy_tendency(q)
    model = QG(g, **base, **term)
    dE, scale = model.energy_tendency(q)
    psi = model.streamfunction(q)
    zeta = model.laplacian(psi) * model.mask
    w = torch.tensor([0.2, 0.8], dtype=torch.float64).view(1, 2)
    if "nu" in term:
        expected = -term["nu"] * ((zeta**2).mean((-1, -2)) * w).sum(-1)
    elif "drag" in term:
        expected = term["drag"] * w[0, 1] * (psi[:, 1] * zeta[:, 1]).mean((-1, -2))
    else:
        expected = term["nu4"] * ((zeta * model.laplacian(zeta) * model.mask).mean((-1, -2)) * w).sum(-1)
    assert (expected < 0).all()
    torch.testing.assert_close(dE - dE0, expected, rtol=1e-10, atol=1e-12 * float(scale.max()))


def test_all_ocean_mask_is_bit_identical_to_no_mask():
    """An all-ocean mask has no coast point: same inversion and tendency as the plain basin."""
    g = _grid()
    q = _q(QG(g, H=[500.0, 2000.0], g_prime=[0.02]))
    plain = QG(g, H=[500.0, 2000.0], g_prime=[0.02], nu=30.0)
    masked = QG(g, H=[500.0, 2000.0], g_prime=[0.02], nu=30.0, mask=torch.ones(g.shape, dtype=torch.bool))
    assert torch.equal(plain(0.0, q), masked(0.0, q))


def test_time_integration_conserves_energy_and_is_differentiable():
    """RK4 over 20 one-hour steps on the archipelago: energy changes only by the O(dt^4) time
    error (measured 6e-15 relative, 6e-16 at dt/2), bounded by 1e-11; autograd reaches q0."""
    g = _grid()
    model = QG(g, mask=archipelago(g.ny, g.nx, seed=9), Ld=4e4)
    q0 = _q(model, batch=1).requires_grad_(True)
    _, qs = integrate_fixed(model, q0, 3600.0, 20, save_every=20, method="rk4")
    E0, E1 = model.total_energy(q0.detach()), model.total_energy(qs[-1].detach())
    assert float((E1 - E0).abs() / E0) <= 1e-11
    qs[-1].pow(2).sum().backward()
    assert q0.grad is not None and bool(torch.isfinite(q0.grad).all()) and float(q0.grad.abs().max()) > 0


def test_float32_state_on_a_masked_model():
    g = _grid()
    model = QG(g, mask=peninsula_basin(g.ny, g.nx))
    q = _q(model).float()
    assert model(0.0, q).dtype == torch.float32
    a, b = model(0.0, q).double(), model(0.0, q.double())
    # float32 round-off of the masked inversion and stencils: measured 4.9e-7 of max|dq/dt|; the
    # same 1e-5-of-max bound as tests/physics/test_dtype_device.py (~100x float32 eps)
    assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())


def test_bad_masks_raise():
    g = _grid()
    with pytest.raises(ValueError, match="mask must have shape"):
        QG(g, mask=torch.ones(g.nx, g.ny, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask has no ocean cell"):
        QG(g, mask=torch.zeros(g.shape, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask .land. needs a closed grid"):
        QG(Grid(24, 20, dx=2e4, dy=2e4), mask=torch.ones(20, 24, dtype=torch.bool))
    with pytest.raises(ValueError, match="Ld cannot be learnable with a mask"):
        QG(g, Ld=4e4, learnable="Ld", mask=torch.ones(g.shape, dtype=torch.bool))


def test_real_coasts_from_a_product_fill_value(shared_data):
    """The Aegean and Ionian seas (19-28 E, 35-41 N; Crete, the Cyclades, the Peloponnese) from
    the land _FillValue of the DUACS Mediterranean L4 map: exact masked inversion and energy
    conservation on a real coastline with many islands (tolerances as above)."""
    xr = pytest.importorskip("xarray")
    from physics.masks import ocean_mask_from_field

    path = shared_data / "duacs_med_l4_2005" / "dt_med_allsat_phy_l4_2005T2.nc"
    with xr.open_dataset(path) as ds:
        adt = ds.adt.isel(time=0).sel(longitude=slice(19.0, 28.0), latitude=slice(35.0, 41.0)).load()
    ocean = ocean_mask_from_field(adt)  # the fill value decodes to NaN
    assert 0.5 < float(ocean.double().mean()) < 0.8
    g = Grid.from_lonlat(adt.longitude.values, adt.latitude.values, metric="beta_plane")
    model = QG(g, mask=ocean, Ld=2e4)
    q = _q(model)
    psi = model.streamfunction(q)
    res = masked_helmholtz_operator(psi, g, model.mask, 1 / 2e4**2) - q * model.mask
    assert float(res.abs().max()) <= 1e-12 * float(q.abs().max())
    dE, scale = model.energy_tendency(q)
    assert (dE.abs() <= TOL * scale).all()
