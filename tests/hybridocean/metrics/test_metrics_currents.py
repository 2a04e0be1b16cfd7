"""Current scores (hybridocean.metrics.currents): tau_uv, vorticity and strain on known answers."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from _metric_fields import lonlat_map, xy_map
from hybridocean.metrics import current_scores, relative_vorticity, strain, strain_score, tau_uv, vorticity_score
from physics.grid import EARTH_RADIUS


@pytest.fixture
def eddy():
    """A Gaussian eddy's velocity on a 10 km (y, x) grid, two times."""
    n, dx = 40, 10e3
    u0 = xy_map(np.zeros((2, n, n)), dx=dx, dy=dx)
    X, Y = np.meshgrid(u0.x.values, u0.y.values)
    r2 = ((X - 200e3) ** 2 + (Y - 200e3) ** 2) / (60e3) ** 2
    psi = 1e4 * np.exp(-r2)
    u = -np.gradient(psi, dx, axis=0)
    v = np.gradient(psi, dx, axis=1)
    amp = np.array([1.0, 0.7])[:, None, None]
    return u0.copy(data=amp * u), u0.copy(data=amp * v)


def test_perfect_estimate_scores_100_and_zero_estimate_scores_0(eddy):
    u, v = eddy
    # exact: the error is zero / equal to minus the truth point by point
    assert current_scores(u.copy(), v.copy(), u, v) == {"tau_uv": 100.0, "tau_vorticity": 100.0, "tau_strain": 100.0}
    z = current_scores(0 * u, 0 * v, u, v)
    assert z == {"tau_uv": 0.0, "tau_vorticity": 0.0, "tau_strain": 0.0}


def test_half_amplitude_estimate_scores_75(eddy):
    # estimate = truth / 2: every score is 100 (1 - 1/4) since all are quadratic in a linear map
    u, v = eddy
    for key, val in current_scores(0.5 * u, 0.5 * v, u, v).items():
        assert val == pytest.approx(75.0, abs=1e-12), key
    assert strain_score(0.5 * u, 0.5 * v, u, v, kind="magnitude") == pytest.approx(75.0, abs=1e-12)


def test_tau_uv_hand_computed():
    ut = xy_map(np.array([[[1.0, 0.0], [2.0, 0.0]]]))
    vt = xy_map(np.array([[[0.0, 1.0], [0.0, 1.0]]]))
    ue = ut + 0.5
    # sum |e|^2 = 4 * 0.25 = 1; sum |u_true|^2 = 1 + 1 + 4 + 1 = 7 -> 100 (1 - 1/7)
    assert tau_uv(ue, vt.copy(), ut, vt) == pytest.approx(100 * (1 - 1 / 7), abs=1e-12)


def test_solid_rotation_and_pure_strain_on_a_metric_grid():
    # centred differences are exact on linear fields: zeta = 2 Omega, strain = 0 for
    # (u, v) = Omega (-y, x); zeta = 0, S_n = 2a, S_s = 0 for (u, v) = a (x, -y)
    base = xy_map(np.zeros((1, 6, 7)), dx=3e3, dy=2e3)
    X, Y = np.meshgrid(base.x.values, base.y.values)
    om, a = 1e-5, 3e-6
    zeta = relative_vorticity(base.copy(data=-om * Y[None]), base.copy(data=om * X[None])).values[:, 1:-1, 1:-1]
    np.testing.assert_allclose(zeta, 2 * om, rtol=1e-12)  # round-off on O(1) m/s differences
    sn, ss, mag = strain(base.copy(data=a * X[None]), base.copy(data=-a * Y[None]))
    np.testing.assert_allclose(sn.values[:, 1:-1, 1:-1], 2 * a, rtol=1e-12)
    np.testing.assert_allclose(ss.values[:, 1:-1, 1:-1], 0.0, atol=1e-20)
    edge = relative_vorticity(base, base).values
    assert np.isnan(edge[0, 0, :]).all() and np.isnan(edge[0, :, -1]).all()  # edges undefined


def test_sphere_metric_per_row():
    # on a lon/lat grid v = c R cos(lat) lon_rad has dv/dx = (1 / (R cos lat)) dv/dlon = c on
    # every row; u = -c R lat_rad has du/dy = -c: zeta = 2c exactly where defined
    base = lonlat_map(np.zeros((1, 8, 9)), dlon=0.5, dlat=0.5, lat0=40.0)
    lon, lat = np.meshgrid(np.radians(base.lon.values), np.radians(base.lat.values))
    c = 2e-5
    v = base.copy(data=(c * EARTH_RADIUS * np.cos(lat) * lon)[None])
    u = base.copy(data=(-c * EARTH_RADIUS * lat)[None])
    zeta = relative_vorticity(u, v).values[:, 1:-1, 1:-1]
    np.testing.assert_allclose(zeta, 2 * c, rtol=1e-10)  # round-off on ~1e3 m/s products of R


def test_different_grids_are_rejected_naming_the_argument(eddy):
    u, v = eddy
    with pytest.raises(ValueError, match="^u_est is on a different grid"):
        tau_uv(u.assign_coords(x=u.x + 1.0), v, u, v)
    with pytest.raises(ValueError, match="^v_true has shape"):
        tau_uv(u, v, u, v.isel(x=slice(1, None)))
    with pytest.raises(ValueError, match="kind must be"):
        strain_score(u, v, u, v, kind="shear")
    with pytest.raises(ValueError, match="at least 3 x 3"):
        relative_vorticity(u.isel(x=slice(0, 2)), v.isel(x=slice(0, 2)))
    with pytest.raises(TypeError):
        vorticity_score(u.values, v, u, v)
