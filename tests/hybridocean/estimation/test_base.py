"""The Estimator interface and its CF output Dataset (hybridocean.estimation.base)."""
import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.estimation import estimate_dataset, prepare_inputs, write_estimate
from hybridocean.estimation.geostrophic import Geostrophic
from hybridocean.io import read_netcdf
from hybridocean.observations import Observations, grid_from_dataset
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid

T0 = np.datetime64("2019-02-23T00:00:00", "ns")
DAY = np.timedelta64(1, "D")


def _lonlat_grid():
    return Grid.from_lonlat(np.arange(20) * 0.25 + 300.125, np.arange(16) * 0.25 + 30.125)


def _xy_grid(boundary="closed"):
    return Grid(24, 20, dx=5e3, dy=5e3, boundary=boundary, f0=1e-4, beta=1.6e-11)


def _fields(grid, T=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(T, grid.ny, grid.nx)) for _ in range(3)]


def test_lonlat_layout_and_cf_names():
    grid = _lonlat_grid()
    ssh, u, v = _fields(grid)
    ds = estimate_dataset(ssh, u, v, grid, np.array([T0, T0 + DAY]), method="test", parameters={"Lx": 1.0},
                          ssh_name="adt", u_c=u, v_c=v)
    assert ds["adt"].dims == ("time", "latitude", "longitude")
    assert ds["u"].dims == ds["v"].dims == ds["adt"].dims  # u, v at the SSH points
    np.testing.assert_array_equal(ds["longitude"].values, grid.lon)
    np.testing.assert_array_equal(ds["latitude"].values, grid.lat)
    assert ds["adt"].attrs["standard_name"] == "sea_surface_height_above_geoid"
    assert ds["u"].attrs["standard_name"] == "surface_geostrophic_eastward_sea_water_velocity"
    assert ds["v"].attrs["standard_name"] == "surface_geostrophic_northward_sea_water_velocity"
    assert ds["u"].attrs["units"] == "m s-1" and ds["adt"].attrs["units"] == "m"
    assert ds["longitude"].attrs["units"] == "degrees_east"
    # staggered fields on request: u half a cell west, v half a cell south
    assert ds["u_c"].dims == ("time", "latitude", "longitude_u")
    assert ds["v_c"].dims == ("time", "latitude_v", "longitude")
    np.testing.assert_allclose(ds["longitude_u"].values, grid.lon - 0.125, rtol=0, atol=1e-12)
    assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["method"] == "test"
    assert ds.attrs["param_Lx"] == 1.0 and '"Lx": 1.0' in ds.attrs["parameters"]
    assert "history" in ds.attrs and ds.attrs["ssh_variable"] == "adt"


def test_xy_layout_rebuilds_the_grid_and_round_trips(tmp_path):
    grid = _xy_grid()
    ssh, u, v = _fields(grid)
    ds = estimate_dataset(ssh, u, v, grid, [0.0, 86400.0], method="test", velocity_kind="cyclogeostrophic")
    assert ds["ssh"].dims == ("time", "y", "x")
    assert ds["u"].attrs["standard_name"] == "sea_water_x_velocity"  # not geostrophic: generic name
    assert ds["time"].values[1] == np.datetime64("2000-01-02T00:00:00", "ns")  # float s since 2000-01-01
    back = grid_from_dataset(ds)
    grid.check_compatible(back)
    assert back.f0 == grid.f0 and back.beta == grid.beta
    path = write_estimate(ds, tmp_path / "est.nc")
    with xr.open_dataset(path) as r:  # lossless, CF-decoded times
        np.testing.assert_array_equal(r["u"].values, u)
        np.testing.assert_array_equal(r["time"].values, ds["time"].values)
        assert r["ssh"].encoding["zlib"]
    assert read_netcdf(path).attrs["method"] == "test"


def test_builder_bad_input_names_the_argument():
    grid = _xy_grid()
    ssh, u, v = _fields(grid)
    with pytest.raises(ValueError, match="ssh_name"):
        estimate_dataset(ssh, u, v, grid, [0.0, 1.0], method="m", ssh_name="height")
    with pytest.raises(ValueError, match=r"^u must have shape \(2, 20, 24\)"):
        estimate_dataset(ssh, u[:, :-1], v, grid, [0.0, 1.0], method="m")
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        estimate_dataset(ssh, u, v, grid, [1.0, 0.0], method="m")
    with pytest.raises(ValueError, match="u_c and v_c"):
        estimate_dataset(ssh, u, v, grid, [0.0, 1.0], method="m", u_c=u)
    with pytest.raises(TypeError, match="grid"):
        estimate_dataset(ssh, u, v, "grid", [0.0, 1.0], method="m")


def test_as_times_parses_every_time_form_and_names_times():
    from hybridocean.estimation.output import as_times
    from hybridocean.observations import DEFAULT_TIME_ORIGIN

    want = np.array([T0, T0 + DAY])
    for given in (want, list(want), ["2019-02-23", "2019-02-24T00:00"], want.astype("datetime64[s]")):
        out = as_times(given)
        assert out.dtype == np.dtype("datetime64[ns]") and np.array_equal(out, want)
    assert np.array_equal(as_times(T0), [T0])  # a scalar is one time
    secs = (want - DEFAULT_TIME_ORIGIN) / np.timedelta64(1, "s")  # numbers: seconds since the origin
    assert np.array_equal(as_times(secs), want) and np.array_equal(as_times(torch.tensor(secs)), want)
    for bad, msg in (([], "non-empty 1-D"), (np.array([[T0, T0 + DAY]]), "non-empty 1-D"),
                     ([T0, np.datetime64("NaT", "ns")], "finite"), ([T0, T0], "strictly increasing"),
                     ([T0 + DAY, T0], "strictly increasing")):
        with pytest.raises(ValueError, match=f"^times must be.*{msg}"):
            as_times(bad)
    with pytest.raises(TypeError, match="times"):
        as_times([{"a": 1}])


def _map(grid, values, name="adt"):
    return xr.Dataset({name: (("time", "latitude", "longitude"), values, {"units": "m"})},
                      coords={"time": [T0], "latitude": grid.lat, "longitude": grid.lon})


def test_gridded_input_defaults_to_its_grid_and_times():
    grid = _lonlat_grid()
    lon, lat = np.meshgrid(grid.lon, grid.lat)
    eta = 0.1 * np.sin(np.radians(8 * lon)) * np.cos(np.radians(6 * lat))
    ds = Geostrophic().estimate(_map(grid, eta[None]))
    assert "adt" in ds and ds.attrs["ssh_variable"] == "adt" and ds.attrs["input"] == "gridded"
    np.testing.assert_array_equal(ds["adt"].values[0], eta)  # a complete map passes unchanged
    u, v = geostrophic_velocities(torch.as_tensor(eta), grid, at="center")
    # the same stencils on the same numbers: equal to round-off (float64)
    np.testing.assert_allclose(ds["u"].values[0], u.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ds["v"].values[0], v.numpy(), rtol=1e-12, atol=1e-15)


def test_no_observed_value_at_all():
    grid = _lonlat_grid()
    with pytest.raises(ValueError, match=r"^obs: no observed value at all"):
        Geostrophic().estimate(_map(grid, np.full((1, grid.ny, grid.nx), np.nan)))


def test_times_outside_the_observations():
    grid = _xy_grid()
    obs = Observations.from_arrays(time=np.array([T0, T0 + DAY]), ssh=[0.1, 0.2], platform="j3",
                                   x=[10e3, 20e3], y=[10e3, 20e3])
    with pytest.raises(ValueError, match=r"^times: 1 output time\(s\) \(2019-02-26"):
        Geostrophic().estimate(obs, grid, np.array([T0, T0 + 3 * DAY]))
    # half a window (12 h) beyond the last observation is still inside
    inputs = prepare_inputs(obs, grid, np.array([T0 + DAY + np.timedelta64(12, "h")]), time_margin_s=43200.0)
    assert inputs.times.size == 1


def test_point_cloud_needs_grid_and_times():
    obs = Observations.from_arrays(time=np.array([T0]), ssh=[0.1], platform="j3", x=[1e4], y=[1e4])
    with pytest.raises(ValueError, match="^grid: required"):
        Geostrophic().estimate(obs, None, np.array([T0]))
    with pytest.raises(ValueError, match="^times: required"):
        Geostrophic().estimate(obs, _xy_grid(), None)
    lonlat = Observations.from_arrays(time=np.array([T0]), ssh=[0.1], platform="j3", longitude=[1.0], latitude=[40.0])
    with pytest.raises(ValueError, match="^obs: lon/lat observations need a lon/lat grid"):
        Geostrophic().estimate(lonlat, _xy_grid(), np.array([T0]))
    with pytest.raises(TypeError, match="^obs must be"):
        Geostrophic().estimate(np.zeros(3), _xy_grid(), np.array([T0]))
