"""The observation operator H: adjoint, exactness, second order, seams, edges, batching, autograd."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridocean.observations import ObservationOperator, Observations, sample_fields
from physics.grid import LOCATIONS, Grid

T0 = np.datetime64("2020-01-01T00:00:00", "ns")
DAY = 86400.0


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every torch.randn below is reproducible."""
    torch.manual_seed(0)


def _xy_obs(grid, n, rng, t_max, platform="jason3"):
    """``n`` points uniform over the whole domain (some in the wall half cells) and [0, t_max] s."""
    return Observations.from_arrays(
        time=T0 + (rng.uniform(0, t_max, n) * 1e9).astype("timedelta64[ns]"),
        ssh=rng.normal(size=n), platform=platform, error_std=0.03,
        x=rng.uniform(0, grid.Lx, n), y=rng.uniform(0, grid.Ly, n),
    )


def _times(T, step=DAY):
    return T0 + (np.arange(T) * step * 1e9).astype("timedelta64[ns]")


def _lonlat_grid(nx=12, ny=10, lon0=-10.0, lat0=30.0, d=0.5):
    return Grid.from_lonlat(lon0 + d * (np.arange(nx) + 0.5), lat0 + d * (np.arange(ny) + 0.5))


@pytest.mark.parametrize("boundary", ["closed", "periodic"])
@pytest.mark.parametrize("loc", LOCATIONS)
def test_adjoint_identity_xy(boundary, loc):
    rng = np.random.default_rng(1)
    g = Grid(10, 12, dx=1e3, dy=2e3, boundary=boundary)
    op = ObservationOperator(_xy_obs(g, 500, rng, 3 * DAY), g, _times(4), loc=loc)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 4, 12, 10, dtype=torch.float64, generator=gen)
    y = torch.randn(2, op.n_obs, dtype=torch.float64, generator=gen)
    lhs, rhs = (op(x) * y).sum(), (x * op.adjoint(y)).sum()
    # Both sides sum the same ~8 * 2 * 500 products of O(1) numbers in a different order: the
    # difference is round-off, ~sqrt(8000) eps |terms| ~ 2e-14 of sum|terms|; 1e-13 gives 5x room.
    assert abs(lhs - rhs) <= 1e-13 * (op(x) * y).abs().sum()


def test_adjoint_identity_lonlat_seam():
    rng = np.random.default_rng(3)
    g = _lonlat_grid(nx=40, lon0=170.0)  # 170 E .. 190 E, across the date line
    n = 400
    obs = Observations.from_arrays(
        time=rng.uniform(0, 2 * DAY, n), time_origin=T0, ssh=np.zeros(n), platform="swot_nadir",
        longitude=rng.uniform(165, 195, n), latitude=rng.uniform(29, 36, n),
    )
    op = ObservationOperator(obs, g, _times(3), loc="corner")
    assert (obs.ds.longitude.values < 0).any() and op.inside[obs.ds.longitude.values < -171].any()
    x = torch.randn(3, 10, 40, dtype=torch.float64)
    y = torch.randn(op.n_obs, dtype=torch.float64)
    # same round-off argument as test_adjoint_identity_xy
    assert abs((op(x) * y).sum() - (x * op.adjoint(y)).sum()) <= 1e-13 * (op(x) * y).abs().sum()


def _trilinear(t, a, b):
    """A field bilinear in (a, b) and linear in t: interpolated exactly by H."""
    return 0.3 + 0.7 * a - 0.2 * b + 0.05 * a * b + t * (0.4 - 0.1 * a + 0.3 * b + 0.02 * a * b)


@pytest.mark.parametrize("loc", LOCATIONS)
def test_exact_on_trilinear_fields_xy(loc):
    rng = np.random.default_rng(4)
    g = Grid(9, 7, dx=2e3, dy=3e3, boundary="closed")
    obs = _xy_obs(g, 300, rng, 2 * DAY)
    op = ObservationOperator(obs, g, _times(3), loc=loc)
    X, Y = (c / 1e3 for c in g.mesh(loc))  # km
    tt = torch.arange(3, dtype=torch.float64).reshape(3, 1, 1)  # days
    f = _trilinear(tt, X, Y)
    x, y = (v / 1e3 for v in op.obs.positions())
    t = op.obs.time_seconds(T0) / DAY
    want = _trilinear(t, x, y)
    # exact in exact arithmetic; values are O(10): a few ulps of round-off, 1e-12 absolute is ~50 ulps.
    np.testing.assert_allclose(op(f).numpy(), want, rtol=0, atol=1e-12)
    assert 0 < op.n_obs < len(obs)  # the wall half cells of a closed grid hold dropped points


@pytest.mark.parametrize("loc", LOCATIONS)
def test_exact_on_trilinear_fields_lonlat_degrees(loc):
    rng = np.random.default_rng(5)
    g = _lonlat_grid()
    n = 300
    obs = Observations.from_arrays(
        time=rng.uniform(0, DAY, n), time_origin=T0, ssh=np.zeros(n), platform="sentinel3a",
        longitude=rng.uniform(-10, -4, n), latitude=rng.uniform(30, 35, n),
    )
    op = ObservationOperator(obs, g, _times(2), loc=loc)
    lon, lat = g.lonlat(loc)
    LAT, LON = torch.meshgrid(lat, lon, indexing="ij")
    f = _trilinear(torch.arange(2.0, dtype=torch.float64).reshape(2, 1, 1), LON, LAT - 30)
    lo, la = op.obs.positions()
    want = _trilinear(op.obs.time_seconds(T0) / DAY, lo, la - 30)
    # values O(10): round-off of a few ulps, as above
    np.testing.assert_allclose(op(f).numpy(), want, rtol=0, atol=1e-12)


def _smooth(t, x, y, L):
    return torch.sin(2 * np.pi * x / L + 0.3) * torch.cos(2 * np.pi * y / L) * torch.cos(2 * np.pi * t / 8.0)


def test_second_order_in_space_and_time():
    """Halving dx, dy and dt divides the interpolation error by 4 (bilinear/linear: O(h^2))."""
    rng = np.random.default_rng(6)
    L = 1e5
    pts = dict(x=rng.uniform(0, L, 2000), y=rng.uniform(0, L, 2000))
    t = rng.uniform(0, 8.0, 2000)  # days
    errs = []
    for n in (16, 32, 64):
        g = Grid(n, n, dx=L / n, dy=L / n, boundary="periodic")
        obs = Observations.from_arrays(time=t * DAY, time_origin=T0, ssh=np.zeros(t.size), platform="p", **pts)
        nt = n // 2 + 1  # dt = 8 days / (n / 2), halved with dx
        times = np.linspace(0.0, 8.0, nt)
        op = ObservationOperator(obs, g, T0 + (times * DAY * 1e9).astype("timedelta64[ns]"))
        X, Y = g.mesh()
        f = _smooth(torch.as_tensor(times).reshape(-1, 1, 1), X, Y, L)
        truth = _smooth(torch.as_tensor(t), torch.as_tensor(pts["x"]), torch.as_tensor(pts["y"]), L)
        errs.append(float((op(f) - truth).pow(2).mean().sqrt()))  # RMS: max over random points is noisy
    ratios = errs[0] / errs[1], errs[1] / errs[2]
    # Leading error ~h^2 f''/8 per direction, so RMS ratios -> 4; the finite sample of 2000 random
    # points scatters them (measured 3.82 .. 4.07 over 4 seeds, n = 16 .. 128): window 4 +- 10 %.
    # A first-order operator would give ~2, a third-order one ~8.
    assert all(3.6 < r < 4.4 for r in ratios), (errs, ratios)


def test_batched_shapes_and_consistency():
    rng = np.random.default_rng(7)
    g = Grid(8, 6, dx=1.0, dy=1.0, boundary="periodic")
    obs = Observations.from_arrays(time=rng.uniform(0, 3, 50), ssh=np.zeros(50), platform="p",
                                   x=rng.uniform(-3, 11, 50), y=rng.uniform(0, 6, 50))
    op = ObservationOperator(obs, g, np.arange(4.0) + 0.0)  # float seconds since the default origin
    assert op.n_obs == 50 and op.inside.all()  # periodic: x outside [0, Lx) wraps
    f = torch.randn(3, 2, 4, 6, 8, dtype=torch.float64)
    out = op(f)
    assert out.shape == (3, 2, 50)
    for b in range(3):
        torch.testing.assert_close(out[b, 1], op(f[b, 1]), rtol=0, atol=0)  # same arithmetic per slice
    assert op.adjoint(out).shape == (3, 2, 4, 6, 8)
    assert op(f[0, 0, :, :, :]).shape == (50,)


def test_periodic_wrap_equals_shifted_point():
    g = Grid(8, 6, dx=1.0, dy=1.0, boundary="periodic")
    obs = Observations.from_arrays(time=[1.5, 1.5], ssh=[0.0, 0.0], platform="p", x=[0.2, 8.2], y=[5.9, -0.1])
    f = torch.randn(3, 6, 8, dtype=torch.float64)
    v = ObservationOperator(obs, g, [0.0, 1.0, 2.0])(f)
    # x = 8.2 is x = 0.2 and y = -0.1 is y = 5.9, but 8.2 mod 8 = 0.2 - 7e-16 (round-off of the
    # wrap, ~8 eps): weights differ by ~1e-15, times |f| <~ 4 over 8 terms: 1e-14
    torch.testing.assert_close(v[0], v[1], rtol=0, atol=1e-14)


def test_autograd_gradcheck_and_gradient_is_adjoint():
    rng = np.random.default_rng(8)
    g = Grid(5, 4, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=rng.uniform(0, 1, 6), ssh=np.zeros(6), platform="p",
                                   x=rng.uniform(0.5, 4.5, 6), y=rng.uniform(0.5, 3.5, 6))
    op = ObservationOperator(obs, g, [0.0, 1.0])
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op, (x,))
    assert torch.autograd.gradcheck(op, (torch.randn(3, 2, 4, 5, dtype=torch.float64, requires_grad=True),))
    y = torch.randn(op.n_obs, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op.adjoint, (y,))
    (grad,) = torch.autograd.grad((op(x) * y.detach()).sum(), x)
    torch.testing.assert_close(grad, op.adjoint(y.detach()), rtol=0, atol=1e-15)  # same sums


def test_outside_points_flagged_and_expanded():
    g = Grid(4, 4, dx=1.0, dy=1.0, boundary="closed")  # centre nodes at 0.5 .. 3.5
    obs = Observations.from_arrays(
        time=[0.5, 0.5, 0.5, 0.5, 1.5, -0.1, 0.5], ssh=np.zeros(7), platform="p",
        x=[0.5, 3.5, 0.4, 3.6, 2.0, 2.0, np.nan], y=[0.5, 3.5, 2.0, 2.0, 2.0, 2.0, 2.0],
    )
    op = ObservationOperator(obs, g, [0.0, 1.0])
    np.testing.assert_array_equal(op.inside, [True, True, False, False, False, False, False])
    f = torch.arange(32, dtype=torch.float64).reshape(2, 4, 4)
    full = sample_fields(f, g, [0.0, 1.0], obs)
    assert full.shape == (7,) and torch.isnan(full[2:]).all()
    # the corner nodes themselves: f[0] and f[1] averaged half-way in time
    torch.testing.assert_close(full[:2], torch.tensor([8.0, 23.0], dtype=torch.float64), rtol=0, atol=1e-14)
    assert len(op.obs) == op.n_obs == 2
    torch.testing.assert_close(op.observed("error_std"), torch.zeros(2, dtype=torch.float64))


def test_global_lon_grid_wraps_across_its_seam():
    lon = np.arange(0.25, 360, 0.5)  # 0..360 convention, closed sphere grid spanning the globe
    g = Grid.from_lonlat(lon, np.arange(-10.25, 10, 0.5) + 0.5)
    obs = Observations.from_arrays(time=0.0, ssh=[0.0, 0.0], platform="p", longitude=[-0.1, 359.9], latitude=[0.0, 0.0])
    op = ObservationOperator(obs, g, [0.0])
    assert op.inside.all()
    f = torch.randn(1, g.ny, g.nx, dtype=torch.float64)
    v = op(f)
    j = int(np.flatnonzero(np.isclose(g.lat, 0.25))[0])
    # lat 0 is half-way between rows j-1 and j; lon 359.9 is 0.3 of the way from 359.75 to 0.25
    col = lambda i: 0.5 * (f[0, j - 1, i] + f[0, j, i])  # noqa: E731
    want = 0.7 * col(g.nx - 1) + 0.3 * col(0)
    # the weight 0.3 comes from degrees O(360) / 0.5: round-off ~720 eps = 1.6e-13, times |f| <~ 4
    torch.testing.assert_close(v, want.repeat(2), rtol=0, atol=1e-12)


def test_regional_grid_across_date_line_matches_unwrapped_field():
    g = _lonlat_grid(nx=40, lon0=170.0)
    obs = Observations.from_arrays(time=0.0, ssh=[0.0, 0.0, 0.0], platform="p",
                                   longitude=[-175.0, 185.0, 171.0], latitude=[32.0, 32.0, 32.0])
    assert obs.ds.longitude.values[1] == -175.0  # normalised to [-180, 180)
    lon, _ = g.lonlat("center")
    f = lon.reshape(1, 1, -1).expand(1, g.ny, g.nx).contiguous()  # the grid's own (unwrapped) longitude
    # linear in longitude: exact up to the round-off of degrees O(100)
    torch.testing.assert_close(ObservationOperator(obs, g, [0.0])(f), torch.tensor([185.0, 185.0, 171.0], dtype=torch.float64), rtol=0, atol=1e-12)


def test_nan_field_gives_nan_only_at_neighbouring_points():
    g = Grid(6, 6, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=0.0, ssh=np.zeros(5), platform="p",
                                   x=[2.2, 3.4, 5.0, 1.5, 2.0], y=[2.2, 2.8, 5.0, 2.5, 1.5])
    f = torch.ones(1, 6, 6, dtype=torch.float64)
    f[0, 2, 2] = float("nan")  # node at (2.5, 2.5): weighs on points 0 and 1 only
    v = ObservationOperator(obs, g, [0.0])(f)
    # point 3 (on the node west of it) and point 4 (on the cell edge south of it) have it in their
    # stencils at zero weight only
    assert torch.isnan(v[:2]).all() and (v[2:] == 1.0).all()


def test_dtype_and_device_follow_the_fields(device):
    rng = np.random.default_rng(9)
    g = Grid(8, 8, dx=1.0, dy=1.0, boundary="periodic")
    obs = Observations.from_arrays(time=rng.uniform(0, 1, 20), ssh=np.zeros(20), platform="p",
                                   x=rng.uniform(0, 8, 20), y=rng.uniform(0, 8, 20))
    op = ObservationOperator(obs, g, [0.0, 1.0])
    f64 = torch.randn(2, 8, 8, dtype=torch.float64)
    v32 = op(f64.to(device=device, dtype=torch.float32))
    assert v32.dtype == torch.float32 and v32.device.type == device.type
    # float32 weights and values: relative round-off ~ 8 eps_32 |f| ~ 1e-6 for |f| ~ 3
    torch.testing.assert_close(v32.cpu().double(), op(f64), rtol=0, atol=1e-5)
    assert op.adjoint(v32).shape == (2, 8, 8) and op.adjoint(v32).device.type == device.type


def test_single_time_needs_tolerance():
    g = Grid(4, 4, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=[0.0, 3600.0], ssh=[0.0, 0.0], platform="p", x=[2.0, 2.0], y=[2.0, 2.0])
    assert ObservationOperator(obs, g, [0.0]).inside.tolist() == [True, False]
    op = ObservationOperator(obs, g, [0.0], time_tolerance=np.timedelta64(1, "h"))
    assert op.inside.all()
    torch.testing.assert_close(op(torch.full((1, 4, 4), 2.0, dtype=torch.float64)), torch.full((2,), 2.0, dtype=torch.float64))


def test_sparse_matrix_equals_operator():
    rng = np.random.default_rng(10)
    g = Grid(5, 5, dx=1.0, dy=1.0, boundary="periodic")
    obs = Observations.from_arrays(time=rng.uniform(0, 1, 9), ssh=np.zeros(9), platform="p",
                                   x=rng.uniform(0, 5, 9), y=rng.uniform(0, 5, 9))
    op = ObservationOperator(obs, g, [0.0, 1.0])
    f = torch.randn(2, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(op.to_sparse() @ f.reshape(-1), op(f), rtol=0, atol=1e-14)  # same 8-term sums


def test_bad_inputs_name_the_argument():
    g = Grid(4, 4, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=0.5, ssh=[0.0], platform="p", x=[2.0], y=[2.0])
    op = ObservationOperator(obs, g, [0.0, 1.0])
    with pytest.raises(ValueError, match="fields"):
        op(torch.zeros(3, 4, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="fields"):
        op(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="values"):
        op.adjoint(torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="loc"):
        ObservationOperator(obs, g, [0.0, 1.0], loc="w")
    with pytest.raises(ValueError, match="times"):
        ObservationOperator(obs, g, [1.0, 0.0])
    with pytest.raises(ValueError, match="time_tolerance"):
        ObservationOperator(obs, g, [0.0, 1.0], time_tolerance=-1.0)
    with pytest.raises(TypeError, match="obs"):
        ObservationOperator(obs.ds, g, [0.0, 1.0])
    with pytest.raises(ValueError, match="no observation lies inside"):
        ObservationOperator(obs, g, [10.0, 11.0])
    assert ObservationOperator(obs, g, [10.0, 11.0], allow_empty=True).n_obs == 0
    lonlat = Observations.from_arrays(time=0.5, ssh=[0.0], platform="p", longitude=[2.0], latitude=[2.0])
    with pytest.raises(ValueError, match="lon/lat"):
        ObservationOperator(lonlat, g, [0.0, 1.0])
    with pytest.raises(ValueError, match="sphere"):
        ObservationOperator(obs, _lonlat_grid(), [0.0, 1.0])


def test_expand_and_observed_on_batches():
    g = Grid(4, 4, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=0.0, ssh=[1.0, 2.0, 3.0], error_std=[0.1, 0.2, 0.3], platform="p",
                                   x=[3.0, 9.0, 1.0], y=[1.0, 1.0, 3.0])
    op = ObservationOperator(obs, g, [0.0])
    assert op.n_obs == 2 and op.observed().tolist() == [1.0, 3.0] and op.observed("error_std").tolist() == [0.1, 0.3]
    full = op.expand(torch.ones(5, 2, dtype=torch.float64), fill=-1.0)
    assert full.shape == (5, 3) and (full[:, 1] == -1).all() and (full[:, [0, 2]] == 1).all()
    with pytest.raises(ValueError, match="name"):
        op.observed("adt")
    with pytest.raises(ValueError, match="values"):
        op.expand(torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("loc", LOCATIONS)
def test_location_lonlat_agree_with_the_grid(loc):
    from hybridocean.observations.operator import grid_lonlat

    g = _lonlat_grid()
    lon, lat = grid_lonlat(g, loc)
    glon, glat = g.lonlat(loc)
    # both shift the same float64 centres by half a cell: equal to round-off of degrees O(30)
    np.testing.assert_allclose(lon, glon.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(lat, glat.numpy(), rtol=0, atol=1e-12)


@settings(max_examples=25)
@given(
    nx=st.integers(2, 9), ny=st.integers(2, 9), T=st.integers(1, 4), n=st.integers(1, 60),
    boundary=st.sampled_from(["closed", "periodic"]), loc=st.sampled_from(LOCATIONS), seed=st.integers(0, 2**31),
)
def test_adjoint_identity_property(nx, ny, T, n, boundary, loc, seed):
    rng = np.random.default_rng(seed)
    g = Grid(nx, ny, dx=1.0, dy=1.0, boundary=boundary)
    obs = Observations.from_arrays(time=rng.uniform(-0.5, T - 0.5, n), ssh=np.zeros(n), platform="p",
                                   x=rng.uniform(-1, nx + 1, n), y=rng.uniform(-1, ny + 1, n))
    op = ObservationOperator(obs, g, np.arange(float(T)), loc=loc, time_tolerance=0.5 if T == 1 else 0.0, allow_empty=True)
    x = torch.as_tensor(rng.normal(size=(T, ny, nx)))
    y = torch.as_tensor(rng.normal(size=op.n_obs))
    # same round-off argument as test_adjoint_identity_xy (a few hundred terms here)
    assert abs((op(x) * y).sum() - (x * op.adjoint(y)).sum()) <= 1e-13 * ((op(x) * y).abs().sum() + 1e-300)
