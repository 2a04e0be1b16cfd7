"""Cyclogeostrophic estimator against the exact gradient wind of a Gaussian eddy."""
import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.estimation.cyclogeostrophic import (Cyclogeostrophic, CyclogeostrophyError,
                                                     CyclogeostrophyWarning, cyclogeostrophic_velocities)
from physics.grid import Grid

G = 9.81
F0 = 1e-4
R0 = 50e3  # eddy radius [m]
L = 400e3  # domain [m]: the SSH at the walls is exp(-16) of the peak


def _eddy(n, eta0):
    """Gaussian eddy eta = eta0 exp(-r^2/R0^2) on an n x n closed f-plane, with the exact
    geostrophic and gradient-wind velocities (cyclonic V > 0):
    V_g = (g/f) d eta/dr,  V^2/r + f V = f V_g  ->  V = 2 V_g / (1 + sqrt(1 + 4 V_g / (f r)))."""
    grid = Grid(n, n, Lx=L, Ly=L, boundary="closed", f0=F0)
    X, Y = grid.mesh("center")
    X, Y = X - L / 2, Y - L / 2
    r = torch.hypot(X, Y)
    eta = eta0 * torch.exp(-(r / R0) ** 2)
    vg = (G / F0) * eta * (-2 * r / R0**2)
    V = 2 * vg / (1 + torch.sqrt(1 + 4 * vg / (F0 * r)))
    return grid, eta, (-V * Y / r, V * X / r), (-vg * Y / r, vg * X / r), r


def _rms(a, b, mask):
    return float(torch.sqrt(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)[mask].mean()))


@pytest.mark.parametrize("eta0", [-0.2, 0.2])  # northern hemisphere: cyclone, anticyclone
def test_gaussian_eddy_matches_the_gradient_wind(eta0):
    errs = []
    for n in (48, 96):
        grid, eta, exact, geo, r = _eddy(n, eta0)
        u, v, ok, _ = cyclogeostrophic_velocities(eta, grid, g=G, tol=1e-6, equator_min_lat=0.0)
        assert bool(ok.all())  # the balance holds to 1e-6 m/s everywhere
        inner = r < 3 * R0
        errs.append(_rms((u, v), exact, inner))
        correction = _rms(exact, geo, inner)  # what geostrophy alone misses: 0.0087 / 0.0132 m/s
    # max |V_g / (f r)| = 0.157 (a 10-20 % correction of the speed). At dx = 4.2 km (12 cells
    # per radius) the error is 5.7 % (cyclone) / 6.3 % (anticyclone) of the correction: all of it
    # the O(dx^2) truncation of the stencils (next assert), none a solver error (|F| < 1e-6 m/s)
    assert errs[1] < 0.10 * correction, (errs, correction)
    # second-order convergence: halving dx divides the error by ~4 (measured 3.96 / 3.92); > 3.5
    assert errs[0] / errs[1] > 3.5, errs


def test_fixed_point_agrees_where_it_converges():
    grid, eta, exact, _, r = _eddy(64, -0.2)  # cyclone: the fixed point converges everywhere
    u, v, ok, it = cyclogeostrophic_velocities(eta, grid, g=G, tol=1e-6, method="fixed_point", equator_min_lat=0.0)
    uv, vv, okv, _ = cyclogeostrophic_velocities(eta, grid, g=G, tol=1e-6, equator_min_lat=0.0)
    assert bool(ok.all()) and bool(okv.all()) and it < 100
    # both solve F = 0 to |F| < 1e-6 m/s; contraction ~0.2 per sweep: solutions within ~1e-6
    assert float((u - uv).abs().max()) < 5e-6 and float((v - vv).abs().max()) < 5e-6


def test_no_balanced_solution_is_reported():
    # eta0 = 0.6 m anticyclone: 1 + 4 V_g / (f r) < 0 near the centre, no gradient-wind root
    grid, eta, _, _, r = _eddy(48, 0.6)
    _, _, ok, _ = cyclogeostrophic_velocities(eta, grid, g=G, tol=1e-4, max_iter=30, equator_min_lat=0.0)
    assert not bool(ok[r < R0 / 2].all())
    assert bool(ok[r > 3 * R0].all())  # far field: weak flow, converged
    ds = xr.Dataset({"ssh": (("time", "y", "x"), eta[None].numpy())},
                    coords={"time": [np.datetime64("2020-01-01T00:00:00", "ns")],
                            "x": grid.coords("center")[0].numpy(), "y": grid.coords("center")[1].numpy()},
                    attrs={"f0_per_s": F0})
    with pytest.raises(CyclogeostrophyError, match=r"^cyclogeostrophy \(fixed_point\) did not converge at \d+ of"):
        Cyclogeostrophic(solver="fixed_point", on_failure="raise", equator_min_lat=0.0).estimate(ds)
    with pytest.warns(CyclogeostrophyWarning, match="did not converge"):
        out = Cyclogeostrophic(solver="fixed_point", equator_min_lat=0.0).estimate(ds)
    flag = out["cyclogeostrophic_converged"].values[0]
    assert set(np.unique(flag)) == {0.0, 1.0} and out["u"].attrs["standard_name"] == "sea_water_x_velocity"
    masked = Cyclogeostrophic(solver="fixed_point", on_failure="mask", equator_min_lat=0.0).estimate(ds)
    assert np.isnan(masked["u"].values[0][flag == 0]).all() and np.isfinite(masked["u"].values[0][flag == 1]).all()


def test_estimator_on_a_lonlat_grid_and_bad_arguments():
    lon = np.arange(40) * 0.05 + 10.025
    lat = np.arange(40) * 0.05 + 39.025
    LO, LA = np.meshgrid(lon, lat)
    d2 = ((LO - 11.0) * np.cos(np.radians(40.0))) ** 2 + (LA - 40.0) ** 2  # degrees^2
    eta = -0.2 * np.exp(-d2 / 0.3**2)  # cyclone of ~33 km
    ds = xr.Dataset({"adt": (("time", "latitude", "longitude"), eta[None])},
                    coords={"time": [np.datetime64("2020-01-01T00:00:00", "ns")], "latitude": lat, "longitude": lon})
    out = Cyclogeostrophic(tol=1e-6).estimate(ds, staggered=True)
    assert out["u"].attrs["standard_name"] == "eastward_sea_water_velocity"
    assert (out["cyclogeostrophic_converged"].values == 1).all()
    geo = Cyclogeostrophic(tol=1e-6).estimate(ds).attrs
    assert geo["method"] == "cyclogeostrophic" and geo["param_solver"] == "variational"
    # a cyclone turns slower than geostrophy: |u_cg| < |u_g| at the speed maximum
    from hybridocean.estimation.geostrophic import Geostrophic
    g = Geostrophic().estimate(ds)
    speed = np.hypot(out["u"].values, out["v"].values).max()
    assert speed < np.hypot(g["u"].values, g["v"].values).max()
    assert out["u_c"].dims == ("time", "latitude", "longitude_u")
    for kw, name in ((dict(solver="newton"), "solver"), (dict(tol=0.0), "tol"), (dict(max_iter=0), "max_iter"),
                     (dict(on_failure="ignore"), "on_failure"), (dict(order=4), "order")):
        with pytest.raises(ValueError, match=f"^{name}"):
            Cyclogeostrophic(**kw)
