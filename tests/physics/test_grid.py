"""Grid geometry, staggering, lon/lat metrics and bad input."""
import math

import numpy as np
import pytest
import torch

from physics.grid import EARTH_RADIUS, OMEGA, Grid


def test_spacing_from_length_and_coordinates():
    g = Grid(8, 4, Lx=8e3, Ly=2e3)
    assert g.dx == 1e3 and g.dy == 500.0 and g.shape == (4, 8)
    x, y = g.coords("center")
    assert torch.allclose(x, (torch.arange(8, dtype=torch.float64) + 0.5) * 1e3)
    xu, yu = g.coords("u")
    assert xu[0] == 0 and torch.allclose(yu, y)
    xv, yv = g.coords("v")
    assert yv[0] == 0 and torch.allclose(xv, x)
    X, Y = g.mesh("corner")
    assert X.shape == (4, 8) and X[0, 1] == 1e3 and Y[1, 0] == 500.0


def test_coriolis_beta_plane_centred():
    g = Grid(4, 10, dx=1.0, dy=1e4, f0=1e-4, beta=2e-11)
    f = g.coriolis("corner")
    _, y = g.coords("corner")
    assert f.shape == (10, 1)
    assert torch.allclose(f[:, 0], 1e-4 + 2e-11 * (y - 5e4))


def test_masks_closed_and_periodic():
    g = Grid(5, 4, dx=1.0, dy=1.0, boundary="closed")
    assert g.mask("u")[:, 0].sum() == 0 and g.mask("u")[:, 1:].min() == 1
    assert g.mask("v")[0].sum() == 0 and g.mask("v")[1:].min() == 1
    assert g.mask("corner")[0].sum() == 0 and g.mask("corner")[:, 0].sum() == 0
    assert g.mask("center").min() == 1
    assert Grid(5, 4, dx=1.0, dy=1.0).mask("corner").min() == 1


def test_from_lonlat_tangent_plane_metrics():
    lon = np.arange(-60.0, -50.0, 0.25) + 0.125
    lat = np.arange(30.0, 40.0, 0.25) + 0.125
    phi0 = math.radians(35.0)
    for g in (Grid.from_lonlat(lon, lat, metric="beta_plane"), Grid.from_lonlat(lon, lat, beta_plane=True),
              Grid.from_lonlat(lon, lat)):  # the sphere keeps the tangent-plane scalars
        # metrics of the local tangent plane at the box centre (exact formulas, round-off only)
        assert math.isclose(g.dy, EARTH_RADIUS * math.radians(0.25), rel_tol=1e-12)
        assert math.isclose(g.dx, EARTH_RADIUS * math.cos(phi0) * math.radians(0.25), rel_tol=1e-12)
        assert math.isclose(g.f0, 2 * OMEGA * math.sin(phi0), rel_tol=1e-12)
        assert math.isclose(g.beta, 2 * OMEGA * math.cos(phi0) / EARTH_RADIUS, rel_tol=1e-12)
        assert g.boundary == "closed" and g.shape == (lat.size, lon.size)
        np.testing.assert_allclose(g.lon, lon, rtol=0, atol=1e-12)
    assert Grid.from_lonlat(lon, lat, metric="beta_plane").metric == "cartesian"
    assert Grid.from_lonlat(lon, lat).metric == "sphere"  # the default: right for real data
    assert Grid.from_lonlat(lon, lat, metric="f_plane").beta == 0.0
    assert Grid.from_lonlat(lon, lat, beta_plane=False).beta == 0.0


def test_sphere_metric_accessors():
    # dx_j = R cos(lat_j) dlon, dy = R dlat, f_j = 2 Omega sin(lat_j), cell areas, at the rows
    # of each location (v/corner rows half a cell south). Closed-form values: round-off (1e-12).
    lon = np.arange(280.0, 290.0, 0.25) + 0.125
    lat = np.arange(33.0, 43.0, 0.25) + 0.125
    g = Grid.from_lonlat(lon, lat)
    d = math.radians(0.25)
    for loc, shift in (("center", 0.0), ("u", 0.0), ("v", 0.125), ("corner", 0.125)):
        rows = np.radians(lat - shift)
        assert g.dx_at(loc).shape == (lat.size, 1) and g.coriolis(loc).shape == (lat.size, 1)
        np.testing.assert_allclose(g.dx_at(loc)[:, 0].numpy(), EARTH_RADIUS * np.cos(rows) * d, rtol=1e-12)
        np.testing.assert_allclose(g.coriolis(loc)[:, 0].numpy(), 2 * OMEGA * np.sin(rows), rtol=1e-12)
        lo, la = g.lonlat(loc)
        np.testing.assert_allclose(la.numpy(), lat - shift, rtol=0, atol=1e-12)
        np.testing.assert_allclose(lo.numpy(), lon - (0.125 if loc in ("u", "corner") else 0.0), rtol=0, atol=1e-12)
    assert math.isclose(g.dy, EARTH_RADIUS * d, rel_tol=1e-12)
    # across 33-43 N the true dx varies by 13 % (1 - cos 43 / cos 33 = 12.8 %)
    dx = g.dx_at("center")[:, 0]
    assert 0.12 < 1 - float(dx[-1] / dx[0]) < 0.14
    # the cell areas tile the box exactly: R^2 dlon_total (sin 43 - sin 33)
    box = EARTH_RADIUS**2 * math.radians(10.0) * (math.sin(math.radians(43)) - math.sin(math.radians(33)))
    assert math.isclose(float(g.cell_areas().sum()) * lon.size, box, rel_tol=1e-12)
    # Cartesian grids: the same accessors give the constants
    c = Grid(4, 3, dx=2.0, dy=5.0, f0=1e-4, beta=1e-11)
    assert c.metric == "cartesian" and torch.equal(c.dx_at("v"), torch.full((3, 1), 2.0, dtype=torch.float64))
    assert torch.equal(c.cell_areas("u"), torch.full((3, 1), 10.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="lon/lat"):
        c.lonlat()


def test_row_metric_is_exact_at_the_poles_and_agrees_with_the_accessors():
    # a box from the south pole: corner/v rows of j = 0 lie on -90 (lat - dlat/2)
    g = Grid.from_lonlat(1.0 + 2.0 * np.arange(10), -89.0 + 2.0 * np.arange(8))
    for loc in ("center", "u", "v", "corner"):
        dx = g.row_metric(loc, "dx")
        assert dx.dtype == np.float64 and dx.shape == (8,)
        # dx_at and cell_areas are these rows as float64 columns: equal bit for bit, the pole included
        assert np.array_equal(g.dx_at(loc)[:, 0].numpy(), dx)
        assert np.array_equal(g.cell_areas(loc)[:, 0].numpy(), g.row_metric(loc, "area"))
        rows = np.radians(g.lat - (g.dlat / 2 if loc in ("v", "corner") else 0.0))
        # the closed form R cos(lat) dlon away from the pole, to round-off (1e-12 relative)
        np.testing.assert_allclose(dx[1:], EARTH_RADIUS * np.cos(rows[1:]) * np.radians(g.dlon), rtol=1e-12)
        np.testing.assert_allclose(g.row_metric(loc, "south")[1:], g.row_metric(loc, "north")[:-1], rtol=1e-12)
    on_pole = g.row_metric("corner", "dx")[0]
    assert on_pole == 0.0  # exactly, although cos(-pi/2) is 6e-17 in floating point
    assert g.row_metric("corner", "inv_dx")[0] == 0.0 and g.row_metric("v", "dy_over_dx")[0] == 0.0
    assert g.row_metric("center", "south")[0] == 0.0  # the centre row's south face is the pole
    c = Grid(4, 3, dx=2.0, dy=5.0)
    np.testing.assert_array_equal(c.row_metric("u", "inv_area"), np.full(3, 0.1))
    with pytest.raises(ValueError, match="name"):
        g.row_metric("center", "dy")
    with pytest.raises(ValueError, match="loc"):
        g.row_metric("w", "dx")


def test_lonlat_coordinates_in_float32_and_across_the_date_line():
    # 1/12-degree float32 axes (CMEMS 1/12 products) are evenly spaced to their own precision:
    # each value carries ~eps32 * 300 deg = 2e-5 deg of error, 2.6e-4 of the spacing (the old
    # rtol=1e-6 check refused them).
    lon = (280.0 + (np.arange(120) + 0.5) / 12).astype(np.float32)
    lat = (30.0 + (np.arange(96) + 0.5) / 12).astype(np.float32)
    g = Grid.from_lonlat(lon, lat)
    # stored as an exactly even float64 axis, so copies (.to) validate again
    assert np.abs(np.diff(g.lon, 2)).max() < 1e-12 and g.to(dtype=torch.float32).metric == "sphere"
    np.testing.assert_allclose(g.lon, lon, rtol=0, atol=4e-5)  # within 2 float32 ulps at 290 deg
    # spacing from the end points: each off by half an ulp (1.5e-5 deg at 290 deg) over 119
    # steps, 3e-6 of the spacing: rel_tol 1e-5
    assert math.isclose(g.dlon, 1 / 12, rel_tol=1e-5) and math.isclose(g.dlat, 1 / 12, rel_tol=1e-5)
    # but a real gap is refused
    with pytest.raises(ValueError, match="lon must be evenly spaced"):
        Grid.from_lonlat(np.delete(lon, 50), lat)
    # a box across 0/360 (or the date line) is unwrapped, increasing
    g = Grid.from_lonlat(np.array([359.25, 359.75, 0.25, 0.75]), np.array([40.25, 40.75]))
    np.testing.assert_allclose(g.lon, [359.25, 359.75, 360.25, 360.75])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Grid.from_lonlat([0.0, 1.0, 3.0], [10.0, 11.0]), "lon must be evenly spaced"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [12.0, 11.0]), "lat must be strictly increasing"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [89.0, 90.0]), "lat cells must lie within"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [10.0, np.nan]), "lat must be finite"),
        (lambda: Grid.from_lonlat(np.arange(0, 400, 10.0), [10.0, 11.0]), "lon spans"),
        (lambda: Grid.from_lonlat([[0.0, 1.0]], [10.0, 11.0]), "lon must be a 1-D"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [-0.5, 0.5], metric="beta_plane"), "contains the equator"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [-0.5, 0.5], metric="f_plane"), "contains the equator"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [10.0, 11.0], metric="mercator"), "metric"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [10.0, 11.0], metric="sphere", beta_plane=True), "contradicts"),
        (lambda: Grid.from_lonlat([0.0, 1.0], [10.0, 11.0], boundary="periodic"), "closed"),
        (lambda: Grid(3, 2, dx=1.0, dy=1.0, lon=[0.0, 1.0], lat=[10.0, 11.0]), "lon has 2 values but the grid has nx = 3"),
        (lambda: Grid(2, 3, dx=1.0, dy=1.0, lon=[0.0, 1.0], lat=[10.0, 11.0]), "lat has 2 values but the grid has ny = 3"),
        (lambda: Grid(2, 2, dx=1.0, dy=1.0, lon=[0.0, 1.0]), "both lon and lat"),
        (lambda: Grid(2, 2, dx=1.0, dy=1.0, boundary="closed", metric="sphere"), "needs lon and lat"),
        (lambda: Grid(2, 2, dx=1.0, dy=1.0, boundary="closed", metric="sphere", lon=[0.0, 1.0], lat=[10.0, 11.0]),
         "disagrees with R dlat"),
        (lambda: Grid(4, 4, dx=1.0, dy=1.0).mask("w"), "loc"),
    ],
)
def test_bad_lonlat(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lonlat_of_strings_is_a_type_error():
    with pytest.raises(TypeError, match="lon must be a 1-D array of real numbers"):
        Grid.from_lonlat(["a", "b"], [10.0, 11.0])


def test_sphere_grid_is_accepted_by_the_models_and_kept_by_to():
    from physics.qg import QG
    from physics.shallow_water import ShallowWater

    g = Grid.from_lonlat(np.arange(0, 8, 0.5) + 0.25, np.arange(30, 38, 0.5) + 0.25)
    for model in (QG, ShallowWater):  # both run on the sphere (physics.qg_sphere, physics.sw_sphere)
        assert model(g).grid.metric == "sphere"
    QG(Grid.from_lonlat(g.lon, g.lat, metric="beta_plane"))  # the tangent plane is accepted too
    g32 = g.to(dtype=torch.float32)
    assert g32.metric == "sphere" and g32.dx_at().dtype == torch.float32
    assert torch.allclose(g32.coriolis().double(), g.coriolis(), rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="mismatch"):
        g.check_compatible(Grid.from_lonlat(g.lon, g.lat, metric="beta_plane"))


def test_to_device_dtype_keeps_geometry():
    g = Grid(6, 6, dx=2.0, dy=3.0, f0=1e-4).to(dtype=torch.float32)
    assert g.coords()[0].dtype == torch.float32 and g.dx == 2.0 and g.f0 == 1e-4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(nx=1, ny=4, dx=1.0, dy=1.0), "nx"),
        (dict(nx=4, ny=4.0, dx=1.0, dy=1.0), "ny"),
        (dict(nx=4, ny=4, dx=-1.0, dy=1.0), "dx"),
        (dict(nx=4, ny=4, dx=1.0, dy=0.0), "dy"),
        (dict(nx=4, ny=4, dy=1.0), "dx or Lx"),
        (dict(nx=4, ny=4, dx=1.0, dy=1.0, boundary="walls"), "boundary"),
        (dict(nx=4, ny=4, dx=1.0, dy=1.0, f0=float("nan")), "f0"),
        (dict(nx=4, ny=4, dx=1.0, dy=1.0, dtype=torch.int32), "dtype"),
        (dict(nx=4, ny=4, dx=1.0, Lx=5.0, dy=1.0), "dx"),
    ],
)
def test_bad_grid_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Grid(**kwargs)


def test_require_grid():
    from physics.grid import require_grid

    g = Grid(4, 4, dx=1.0, dy=1.0)
    assert require_grid(g, "periodic") is g
    with pytest.raises(ValueError, match="grid must be closed for the wave"):
        require_grid(g, "closed", "the wave")
    with pytest.raises(TypeError, match="grid"):
        require_grid("not a grid")
    with pytest.raises(ValueError, match="grid must have metric='cartesian' for the wave"):
        require_grid(Grid.from_lonlat([0.5, 1.5], [30.5, 31.5]), what="the wave", metric="cartesian")
