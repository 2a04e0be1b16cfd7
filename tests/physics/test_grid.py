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


def test_from_lonlat_metrics():
    lon = np.arange(-60.0, -50.0, 0.25) + 0.125
    lat = np.arange(30.0, 40.0, 0.25) + 0.125
    g = Grid.from_lonlat(lon, lat)
    phi0 = math.radians(35.0)
    # metrics of the local tangent plane at the box centre (exact formulas, round-off only)
    assert math.isclose(g.dy, EARTH_RADIUS * math.radians(0.25), rel_tol=1e-12)
    assert math.isclose(g.dx, EARTH_RADIUS * math.cos(phi0) * math.radians(0.25), rel_tol=1e-12)
    assert math.isclose(g.f0, 2 * OMEGA * math.sin(phi0), rel_tol=1e-12)
    assert math.isclose(g.beta, 2 * OMEGA * math.cos(phi0) / EARTH_RADIUS, rel_tol=1e-12)
    assert g.boundary == "closed" and g.shape == (lat.size, lon.size)
    assert np.array_equal(g.lon, lon)


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


def test_bad_lonlat():
    with pytest.raises(ValueError, match="lon"):
        Grid.from_lonlat([0.0, 1.0, 3.0], [10.0, 11.0])
    with pytest.raises(ValueError, match="lat"):
        Grid.from_lonlat([0.0, 1.0], [89.5, 90.5])
    with pytest.raises(ValueError, match="loc"):
        Grid(4, 4, dx=1.0, dy=1.0).mask("w")


def test_require_grid():
    from physics.grid import require_grid

    g = Grid(4, 4, dx=1.0, dy=1.0)
    assert require_grid(g, "periodic") is g
    with pytest.raises(ValueError, match="grid must be closed for the wave"):
        require_grid(g, "closed", "the wave")
    with pytest.raises(TypeError, match="grid"):
        require_grid("not a grid")
