"""Gridded views: binning, back to points, network tensors, grids of datasets (incl. real DUACS L4)."""
import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.io import states_to_dataset
from hybridocean.observations import (
    ObservationOperator, Observations, from_gridded, grid_from_dataset, gridded_to_tensor, to_gridded,
)
from hybridocean.observations.gaps import cloud_mask
from physics.grid import Grid

T0 = np.datetime64("2005-04-01T00:00:00", "ns")
DAY = np.timedelta64(1, "D")


def _sorted(obs):
    """(time, position, ssh, error_std) sorted: from_gridded orders points by (time, y, x)."""
    a, b = obs.positions()
    keys = np.lexsort((a, b, obs.time_seconds(T0)))
    return [np.asarray(v)[keys] for v in (obs.time, a, b, obs.ssh, obs.error_std)]


def _centre_points(grid, times, n, rng, lonlat):
    """``n`` distinct (time, cell) picks, one point at each picked cell centre."""
    T = len(times)
    flat = rng.choice(T * grid.ny * grid.nx, n, replace=False)
    k, j, i = np.unravel_index(flat, (T, grid.ny, grid.nx))
    if lonlat:
        pos = dict(longitude=grid.lon[i], latitude=grid.lat[j])
    else:
        x, y = (c.numpy() for c in grid.coords("center"))
        pos = dict(x=x[i], y=y[j])
    return Observations.from_arrays(time=times[k], ssh=rng.normal(size=n), platform="swot_karin",
                                    error_std=rng.uniform(0.01, 0.03, n), **pos)


@pytest.mark.parametrize("lonlat", [False, True])
def test_round_trip_points_at_cell_centres(lonlat):
    rng = np.random.default_rng(0)
    if lonlat:  # grid stored 0..360, points normalised to [-180, 180): the seam is crossed
        g = Grid.from_lonlat(np.arange(350.0, 370.0, 0.5) + 0.25, 30.0 + 0.5 * np.arange(12) + 0.25)
    else:
        g = Grid(10, 8, dx=5e3, dy=4e3, boundary="closed")
    times = T0 + np.arange(3) * DAY
    obs = _centre_points(g, times, 60, rng, lonlat)
    ds = to_gridded(obs, g, times)
    assert ds.ssh.dims == ("time", "y", "x") and int(ds["count"].sum()) == 60 and int(ds.mask.sum()) == 60
    back = from_gridded(ds, platform="swot_karin")
    assert back.coords_kind == obs.coords_kind and len(back) == 60
    for got, want in zip(_sorted(back), _sorted(obs)):
        if got.dtype.kind == "M":
            np.testing.assert_array_equal(got, want)
        else:  # positions are the grid's own centre coordinates; one cell per point: values exact
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_binning_mean_count_error_and_windows():
    g = Grid(4, 3, dx=1.0, dy=1.0, boundary="closed")
    times = T0 + np.arange(2) * DAY
    hour = np.timedelta64(1, "h")
    obs = Observations.from_arrays(
        time=[times[0], times[0] + 3 * hour, times[1] - 11 * hour, times[1] + 13 * hour],
        ssh=[1.0, 2.0, 5.0, 7.0], error_std=[0.3, 0.4, 0.1, 0.1], platform="p",
        x=[1.1, 1.9, 3.99, 0.0], y=[0.2, 0.9, 2.5, 0.0],
    )
    ds = to_gridded(obs, g, times)  # nearest time; end bins extend half a day outward
    assert ds["count"].values[0, 0, 1] == 2 and ds.ssh.values[0, 0, 1] == 1.5
    np.testing.assert_allclose(ds.error_std.values[0, 0, 1], np.hypot(0.3, 0.4) / 2, rtol=1e-15)
    assert ds.ssh.values[1, 2, 3] == 5.0 and int(ds["count"].sum()) == 3  # t1 + 13 h is past the last bin
    assert np.isnan(ds.ssh.values[1, 0, 0]) and not ds.mask.values[1, 0, 0]
    narrow = to_gridded(obs, g, times, window=np.timedelta64(12, "h"))  # |t - t_k| <= 6 h
    assert int(narrow["count"].sum()) == 2
    one = to_gridded(obs, g, times[:1], window=np.timedelta64(1, "D"))
    assert int(one["count"].sum()) == 2


def test_periodic_binning_wraps_and_closed_drops():
    obs = Observations.from_arrays(time=T0, ssh=[1.0, 2.0], platform="p", x=[4.5, -0.5], y=[0.5, 0.5])
    per = to_gridded(obs, Grid(4, 2, dx=1.0, dy=1.0, boundary="periodic"), [T0], window=60.0)
    assert per.ssh.values[0, 0, 0] == 1.0 and per.ssh.values[0, 0, 3] == 2.0
    with pytest.raises(ValueError, match="no finite observation falls"):
        to_gridded(obs, Grid(4, 2, dx=1.0, dy=1.0, boundary="closed"), [T0], window=60.0)


def test_network_tensor_values_and_mask():
    g = Grid(4, 3, dx=1.0, dy=1.0, boundary="closed")
    obs = Observations.from_arrays(time=T0, ssh=[0.7], platform="p", x=[2.5], y=[1.5])
    ds = to_gridded(obs, g, [T0], window=60.0)
    t = gridded_to_tensor(ds, fill=-9.0, dtype=torch.float64)
    assert t.shape == (1, 2, 3, 4) and t.dtype == torch.float64
    assert t[0, 0, 1, 2] == 0.7 and t[0, 1, 1, 2] == 1.0
    assert t[0, 1].sum() == 1.0 and (t[0, 0][t[0, 1] == 0] == -9.0).all()


def test_grid_from_states_dataset_and_operator_on_truth():
    g = Grid(6, 5, dx=2e3, dy=1e3, boundary="periodic", f0=1e-4, beta=2e-11)
    states = torch.randn(3, 1, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ds = states_to_dataset(states, [0.0, 3600.0, 7200.0], g, ("ssh",))
    g2 = grid_from_dataset(ds)
    g.check_compatible(g2)
    assert (g2.f0, g2.beta) == (g.f0, g.beta)
    pts = from_gridded(ds, platform="truth")  # float seconds since 2000-01-01 from the units attribute
    assert pts.time[30] == np.datetime64("2000-01-01T01:00:00") and len(pts) == 90
    op = ObservationOperator(pts, g2, ds.time.values)
    # every point sits on a node at a field time: H returns that node's value (weights 1 and 0)
    torch.testing.assert_close(op(states[:, 0]), torch.as_tensor(pts.ssh), rtol=0, atol=1e-15)


def test_mask_from_gaps_and_errors():
    g = Grid(8, 8, dx=1.0, dy=1.0, boundary="closed")
    truth = xr.Dataset({"ssh": (("time", "y", "x"), np.ones((2, 8, 8)))},
                       coords={"time": T0 + np.arange(2) * DAY, "x": np.arange(8) + 0.5, "y": np.arange(8) + 0.5})
    mask = cloud_mask((2, 8, 8), 0.25, 2.0, rng=0)
    assert len(from_gridded(truth, mask=mask)) == mask.sum() == 96
    with pytest.raises(ValueError, match="mask must be a bool array"):
        from_gridded(truth, mask=mask[0])
    with pytest.raises(ValueError, match="all values are missing"):
        from_gridded(truth, mask=np.zeros((2, 8, 8), bool))
    with pytest.raises(ValueError, match="variable 'adt'"):
        from_gridded(truth, variable="adt")
    with pytest.raises(ValueError, match="dims"):
        from_gridded(truth.rename(x="lon_index"))
    with pytest.raises(ValueError, match="window"):
        to_gridded(from_gridded(truth), g, [T0], window=-1.0)
    with pytest.raises(ValueError, match="window .* required"):
        to_gridded(from_gridded(truth), g, [T0])
    with pytest.raises(ValueError, match="cell centres"):
        grid_from_dataset(truth.assign_coords(x=np.arange(8.0)))


def test_real_duacs_l4_crop(shared_data):
    path = shared_data / "duacs_med_l4_2005" / "dt_med_allsat_phy_l4_2005T2.nc"
    with xr.open_dataset(path) as ds:  # 1/8 degree, land as _FillValue -> NaN
        crop = ds["adt"].isel(time=slice(0, 3), latitude=slice(60, 80), longitude=slice(100, 140)).load()
    grid = grid_from_dataset(crop)
    assert grid.metric == "sphere" and grid.shape == (20, 40)
    pts = from_gridded(crop, platform="duacs_l4")
    n_land = int(np.isnan(crop.values).sum())
    assert n_land > 0 and len(pts) == crop.size - n_land  # land cells (NaN) dropped
    op = ObservationOperator(pts, grid, crop.time.values)
    assert op.inside.all()
    # On the nodes at the map times H returns the map's own values, coastal ones too (the land
    # neighbours have zero weight). Weights come from degrees O(10) / 0.125: ~100 eps of
    # round-off, times |adt| ~ 1 m: 1e-12 m leaves 40x room.
    v = op(torch.as_tensor(crop.values)).numpy()
    np.testing.assert_allclose(v, pts.ssh, rtol=0, atol=1e-12)


def test_float_second_times_carry_their_origin_through_the_gridded_view():
    g = Grid(4, 4, dx=1.0, dy=1.0, boundary="closed")
    origin = np.datetime64("2010-06-01T00:00:00", "ns")
    obs = Observations.from_arrays(time=[30.0, 3600.0], time_origin=origin, ssh=[1.0, 2.0], platform="p",
                                   x=[0.5, 1.5], y=[0.5, 0.5])
    ds = to_gridded(obs, g, [0.0, 3600.0], time_origin=origin)
    assert ds.time.attrs["units"] == "seconds since 2010-06-01 00:00:00"
    back = from_gridded(ds)  # reads the origin from the units
    np.testing.assert_array_equal(np.sort(back.time), [origin, origin + np.timedelta64(3600, "s")])
    with pytest.raises(ValueError, match="time_origin"):
        from_gridded(ds.assign_coords(time=ds.time.assign_attrs(units="seconds since tomorrow")))


def test_grid_round_trips_through_the_file_attributes_including_y0():
    # every writer puts hybridocean.io.grid_attrs on its files; grid_from_dataset reads them back,
    # including the y0 at which f = f0 (a beta-plane whose f0 is not at mid-domain)
    import torch

    from hybridocean.io import states_to_dataset
    from physics.grid import Grid

    g = Grid(8, 6, dx=1e4, dy=2e4, boundary="closed", f0=1e-4, beta=2e-11, y0=3.0e4)
    ds = states_to_dataset(torch.zeros(2, 1, 6, 8, dtype=torch.float64), torch.tensor([0.0, 3600.0]), g, ("eta",))
    back = grid_from_dataset(ds)
    assert back.y0 == g.y0 and back.f0 == g.f0 and back.beta == g.beta
    assert torch.equal(back.coriolis("center"), g.coriolis("center"))


def test_never_observed_land_is_the_large_patches_only():
    from hybridocean.observations.gridded import never_observed_land

    a = np.random.default_rng(0).normal(size=(4, 10, 12))
    a[:, 0:4, 0:5] = np.nan   # a 20-cell coast: land
    a[:, 7, 9] = np.nan       # one cell never observed: an ocean gap
    a[:2, 8, 2] = np.nan      # seen at some times: ocean
    land = never_observed_land(a)
    want = np.zeros((10, 12), bool)
    want[0:4, 0:5] = True
    np.testing.assert_array_equal(land, want)
    assert never_observed_land(a, min_cells=1)[7, 9]  # every never-observed cell with min_cells=1
    assert never_observed_land(a[:, 5:, 6:]) is None  # no land patch
    with pytest.raises(ValueError, match="values"):
        never_observed_land(np.zeros(5))
