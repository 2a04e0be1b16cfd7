"""Gridded SSH readers: DUACS L4 (real files and product-layout files), CF name/units rules, simulations."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from _readers_nc import pack, raw_values, write

from hybridocean.io import states_to_dataset, write_netcdf
from hybridocean.observations.l4 import read_gridded_ssh, read_l4
from hybridocean.observations.ssh_vars import (
    ImplausibleValueWarning,
    length_to_metres,
    ssh_candidates,
    ssh_variable,
    unpack,
)
from physics.grid import Grid

NC_FILL_INT = -2147483647  # netCDF default fill of int32 (netcdf.h NC_FILL_INT)
SCALE = 1e-4  # DUACS L4 packing of adt/sla [m per count] (product user manual)
# Reading a value packed with scale s is exact up to the rounding of the writer: |error| <= s/2,
# plus float64 round-off of raw * s (~1e-16 relative).
QUANTUM_TOL = SCALE / 2 + 1e-12


def analytic_adt(lon_deg, lat_deg, day):
    """A smooth, periodic-in-longitude test field [m]."""
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    return 0.5 * np.sin(lon)[None, :] * np.cos(lat)[:, None] + 0.1 * np.cos(3 * lon)[None, :] + 0.01 * day


def write_l4_layout(path, lon, lat, days=(25201.0,), units="m", scale=SCALE, land=None, fill=NC_FILL_INT, dtype="i4"):
    """A DUACS-L4-layout file (dims time/latitude/longitude, packed adt, time in days since 1950)."""
    adt = np.stack([analytic_adt(lon, lat, d - days[0]) for d in days])
    if land is not None:
        adt[:, land] = np.nan
    factor = {"m": 1.0, "cm": 100.0, "mm": 1000.0}[units]
    vattrs = {"units": units, "scale_factor": scale, "standard_name": "sea_surface_height_above_geoid",
              "long_name": "Absolute dynamic topography", "coordinates": "longitude latitude"}
    if fill is not None:
        vattrs["_FillValue"] = np.array(fill, dtype=dtype)
    write(path, {"time": len(days), "latitude": lat.size, "longitude": lon.size}, {
        "time": (("time",), np.asarray(days, "f4"), {"units": "days since 1950-01-01 00:00:00", "calendar": "gregorian", "standard_name": "time", "axis": "T"}),
        "latitude": (("latitude",), lat.astype("f4"), {"units": "degrees_north", "standard_name": "latitude", "axis": "Y"}),
        "longitude": (("longitude",), lon.astype("f4"), {"units": "degrees_east", "standard_name": "longitude", "axis": "X"}),
        "adt": (("time", "latitude", "longitude"), pack(adt * factor, scale, fill, dtype), vattrs),
    }, attrs={"title": "test file in the DUACS L4 layout", "Conventions": "CF-1.6"})
    return adt


GLOBAL_LON = np.arange(0.5, 360.0, 1.0)  # 0..360 convention, as the global DUACS maps
GLOBAL_LAT = np.arange(-59.5, 60.0, 1.0)


# ---------------------------------------------------------------- SSH variable recognition, units
def test_ssh_variable_prefers_standard_name_then_names_and_skips_mean_fields():
    y = ("y", np.zeros(3))
    ds = xr.Dataset({
        "eta": y,  # a usual name without attributes
        "height": ("y", np.zeros(3), {"standard_name": "sea_surface_height_above_sea_level", "units": "m"}),
        "mdt": ("y", np.zeros(3), {"standard_name": "sea_surface_height_above_geoid", "units": "m"}),
    })
    assert ssh_variable(ds) == "height"  # CF standard_name beats the name "eta"; mdt never chosen
    assert ssh_variable(ds.drop_vars("height")) == "eta"
    assert ssh_variable(ds, prefer=["nope", "eta"]) == "eta"
    both = xr.Dataset({k: ("y", np.zeros(3), {"standard_name": s}) for k, s in
                       (("sla", "sea_surface_height_above_sea_level"), ("adt", "sea_surface_height_above_geoid"))})
    assert ssh_candidates(both) == ["adt", "sla"]
    with pytest.raises(ValueError, match=r"no sea-surface-height variable.*temp"):
        ssh_variable(xr.Dataset({"temp": ("y", np.zeros(3), {"units": "K"})}))
    with pytest.raises(ValueError, match="prefer="):
        ssh_variable(ds, prefer="zos")


@pytest.mark.parametrize("units,factor", [("m", 1.0), ("cm", 1e-2), ("mm", 1e-3), ("metres", 1.0)])
def test_length_units_converted_to_metres(units, factor):
    da = xr.DataArray(np.array([1.0, -2.5]), dims="n", name="sla", attrs={"units": units})
    out = length_to_metres(da)
    np.testing.assert_array_equal(out.values, np.array([1.0, -2.5]) * factor)
    assert out.attrs["units"] == "m"


@pytest.mark.parametrize("attrs", [{"units": "ft"}, {}])
def test_unknown_or_missing_units_are_refused_naming_the_variable(attrs):
    da = xr.DataArray(np.zeros(2), dims="n", name="zos", attrs=attrs)
    with pytest.raises(ValueError, match="'zos'"):
        length_to_metres(da)


def test_unpack_applies_scale_offset_fill_and_packed_valid_range():
    raw = np.array([0, 100, -32767, 30000], dtype="i2")
    da = xr.DataArray(raw, dims="n", name="v", attrs={"scale_factor": 0.001, "add_offset": 1.0, "_FillValue": np.int16(-32767), "valid_max": np.int16(20000), "units": "m"})
    out = unpack(da)
    np.testing.assert_allclose(out.values[:2], [1.0, 1.1], rtol=0, atol=1e-15)
    assert np.isnan(out.values[2]) and np.isnan(out.values[3])  # fill, and above valid_max in packed units
    assert "scale_factor" not in out.attrs and out.attrs["units"] == "m"


# ---------------------------------------------------------------- product-layout files
def test_seam_box_is_the_same_in_both_conventions_and_monotonic(tmp_path):
    p360 = tmp_path / "l4_0_360.nc"
    write_l4_layout(p360, GLOBAL_LON, GLOBAL_LAT)
    lon180 = np.sort(((GLOBAL_LON + 180) % 360) - 180)  # the same grid stored in -180..180
    p180 = tmp_path / "l4_180.nc"
    write_l4_layout(p180, lon180, GLOBAL_LAT)
    a = read_l4(p360, bbox=(350, 10, -10.0, 10.0))
    b = read_l4(p180, bbox=(-10, 10, -10.0, 10.0))
    c = read_l4(p360, bbox=(-10, 10, -10.0, 10.0))
    expected_lon = np.arange(-9.5, 10.0, 1.0)
    for ds in (a, b, c):
        np.testing.assert_array_equal(ds.longitude.values, expected_lon)
        assert ds.adt.dims == ("time", "latitude", "longitude") and ds.adt.dtype == np.float64
        # the field is 360-periodic, so its values at the relabelled longitudes are the analytic ones
        np.testing.assert_allclose(ds.adt.values[0], analytic_adt(expected_lon, ds.latitude.values, 0), rtol=0, atol=QUANTUM_TOL)
    xr.testing.assert_identical(a.adt.reset_coords(drop=True), b.adt.reset_coords(drop=True))


def test_box_across_the_dateline_keeps_increasing_longitudes(tmp_path):
    p = tmp_path / "l4.nc"
    write_l4_layout(p, GLOBAL_LON, GLOBAL_LAT)
    ds = read_l4(p, bbox=(170, -170, 0, 5))
    np.testing.assert_array_equal(ds.longitude.values, np.arange(170.5, 190.0, 1.0))
    np.testing.assert_allclose(ds.adt.values[0], analytic_adt(ds.longitude.values, ds.latitude.values, 0), rtol=0, atol=QUANTUM_TOL)


def test_global_map_starts_at_minus_180_and_fill_is_land(tmp_path):
    p = tmp_path / "l4.nc"
    land = np.zeros((GLOBAL_LAT.size, GLOBAL_LON.size), bool)
    land[70:90, 10:40] = True
    adt = write_l4_layout(p, GLOBAL_LON, GLOBAL_LAT, land=land)
    ds = read_l4(p)
    assert ds.longitude.values[0] == -179.5 and np.all(np.diff(ds.longitude.values) == 1.0)
    assert int(np.isnan(ds.adt.values).sum()) == land.sum() == ds.adt.attrs["n_missing"]
    assert ds.adt.attrs["n_implausible_masked"] == 0  # a declared _FillValue is not "implausible"
    back = ds.adt.sel(longitude=normalize(GLOBAL_LON)).values[0]
    np.testing.assert_allclose(back, adt[0], rtol=0, atol=QUANTUM_TOL)  # NaN compared equal


def normalize(lon):
    return ((np.asarray(lon) + 180) % 360) - 180


@pytest.mark.parametrize("units", ["cm", "mm"])
def test_units_of_the_file_are_converted(tmp_path, units):
    p = tmp_path / f"l4_{units}.nc"
    scale = 0.01 if units == "cm" else 0.1  # 1e-4 m quantum in both
    write_l4_layout(p, GLOBAL_LON, GLOBAL_LAT, units=units, scale=scale)
    ds = read_l4(p, bbox=(0, 20, 0, 20))
    assert ds.adt.attrs["units"] == "m"
    np.testing.assert_allclose(ds.adt.values[0], analytic_adt(ds.longitude.values, ds.latitude.values, 0), rtol=0, atol=QUANTUM_TOL)


def test_daily_files_concatenate_in_time_order_and_time_window(tmp_path):
    paths = []
    for d in (25203.0, 25201.0, 25202.0):  # given out of order
        p = tmp_path / f"l4_{int(d)}.nc"
        write_l4_layout(p, GLOBAL_LON, GLOBAL_LAT, days=(d,))
        paths.append(p)
    ds = read_l4(paths, bbox=(0, 10, 0, 10))
    expected = np.datetime64("1950-01-01") + np.array([25201, 25202, 25203]).astype("timedelta64[D]")
    np.testing.assert_array_equal(ds.time.values, expected.astype("datetime64[ns]"))
    one = read_l4(str(tmp_path / "l4_*.nc"), bbox=(0, 10, 0, 10), time=slice("2019-01-01", "2019-01-01"))
    assert one.sizes["time"] == 1 and one.time.values[0] == np.datetime64("2019-01-01", "ns")


def test_bad_inputs_raise_one_line_errors(tmp_path):
    p = tmp_path / "l4.nc"
    land = np.zeros((GLOBAL_LAT.size, GLOBAL_LON.size), bool)
    land[:, :30] = True  # 0..30 E all land
    write_l4_layout(p, GLOBAL_LON, GLOBAL_LAT, land=land)
    with pytest.raises(ValueError, match="bbox=.*contains no grid point"):
        read_l4(p, bbox=(0, 10, 70, 80))  # north of the data (60 N)
    with pytest.raises(ValueError, match="all values of 'adt' are missing"):
        read_l4(p, bbox=(5, 25, 0, 10))
    with pytest.raises(ValueError, match="lat0"):
        read_l4(p, bbox=(0, 10, 10, 0))
    with pytest.raises(ValueError, match=r"time=.*selects no map; the data span"):
        read_l4(p, time=slice("2000-01-01", "2000-02-01"))
    with pytest.raises(ValueError, match="no such file"):
        read_l4(tmp_path / "missing.nc")
    no_ssh = xr.Dataset({"sst": (("time", "latitude", "longitude"), np.zeros((1, 2, 2)), {"units": "K"})},
                        coords={"time": [np.datetime64("2019-01-01")], "latitude": [0.0, 1.0], "longitude": [0.0, 1.0]})
    with pytest.raises(ValueError, match="no sea-surface-height variable"):
        read_l4(no_ssh)
    no_coords = xr.Dataset({"adt": (("time", "a", "b"), np.zeros((1, 2, 2)), {"units": "m"})}, coords={"time": [np.datetime64("2019-01-01")]})
    with pytest.raises(ValueError, match="no longitude/latitude coordinates"):
        read_l4(no_coords)


def test_simulation_output_reads_on_xy_in_metres(tmp_path):
    grid = Grid(8, 6, dx=1e4, dy=2e4)
    states = torch.randn(3, 3, 6, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sim = states_to_dataset(states, [0.0, 3600.0, 7200.0], grid, ("eta", "u", "v"))
    path = write_netcdf(sim, tmp_path / "sim.nc")
    for src in (sim, path):
        ds = read_gridded_ssh(src)
        assert ds.attrs["ssh_variable"] == "eta" and list(ds.data_vars) == ["eta"]
        assert ds.eta.dims == ("time", "y", "x") and ds.attrs["grid_dx_m"] == 1e4
        np.testing.assert_array_equal(ds.eta.values, states[:, 0].numpy())
        np.testing.assert_array_equal(ds.x.values, sim.x.values)
        expected = np.datetime64("2000-01-01T00:00", "ns") + np.array([0, 3600, 7200]).astype("timedelta64[s]")
        np.testing.assert_array_equal(ds.time.values, expected)
    with pytest.raises(ValueError, match="bbox is in degrees"):
        read_l4(sim, bbox=(0, 1, 0, 1))


# ---------------------------------------------------------------- the real DUACS files
def test_land_stored_without_fillvalue_is_masked_in_the_real_sample(test_data):
    """The DUACS L4 sample stores land as NC_FILL_INT without a _FillValue attribute (a crop of
    it across the 0/360 seam is in tests/data). Without the plausibility check land reads as
    -214748.3647 m; with it, exactly the stored NC_FILL_INT cells are masked, with a warning."""
    path = test_data / "duacs_l4_sample_20181231_seam_crop.nc"
    raw = raw_values(path, "adt")
    n_land = int((raw == NC_FILL_INT).sum())
    assert n_land > 0
    with pytest.warns(ImplausibleValueWarning, match=f"masked {n_land} values"):
        ds = read_l4(path)
    assert ds.adt.attrs["n_implausible_masked"] == n_land
    order = np.argsort(normalize(raw_values(path, "longitude")))  # stored 0..10, 350..360 -> -10..10
    np.testing.assert_array_equal(np.isnan(ds.adt.values), (raw == NC_FILL_INT)[..., order])
    assert np.nanmax(np.abs(ds.adt.values)) < 3.0  # open-ocean ADT (module docstring of ssh_vars)
    np.testing.assert_array_equal(ds.longitude.values, np.arange(-9.875, 10.0, 0.25))  # seam joined, increasing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImplausibleValueWarning)
        unchecked = read_l4(path, max_abs_ssh=None)  # the trap: land passes isfinite
    assert np.isfinite(unchecked.adt.values).all()
    np.testing.assert_allclose(np.nanmin(unchecked.adt.values), NC_FILL_INT * SCALE, rtol=0, atol=1e-9)


def test_real_global_sample_four_days(shared_data):
    with pytest.warns(ImplausibleValueWarning):
        ds = read_l4(shared_data / "duacs_l4_sample" / "dt_global_allsat_phy_l4_*.nc")
    assert ds.adt.shape == (4, 720, 1440)
    np.testing.assert_array_equal(ds.time.values, np.arange("2018-12-31", "2019-01-04", dtype="datetime64[D]").astype("datetime64[ns]"))
    land = sum(int((raw_values(p, "adt") == NC_FILL_INT).sum()) for p in sorted((shared_data / "duacs_l4_sample").glob("*.nc")))
    assert ds.adt.attrs["n_implausible_masked"] == land  # only the undeclared land, nothing oceanic
    assert np.nanmax(np.abs(ds.adt.values)) < 3.0


def test_real_mediterranean_series(shared_data):
    ds = read_l4(shared_data / "duacs_med_l4_2005" / "dt_med_allsat_phy_l4_2005T2.nc")
    assert ds.adt.shape == (91, 128, 344) and ds.adt.attrs["n_implausible_masked"] == 0
    assert np.all(np.diff(ds.time.values) == np.timedelta64(1, "D"))
    land = np.isnan(ds.adt.values)
    # coasts do not move: measured 27295 cells missing every day, 9 coastal cells on some days only
    assert (land.any(0) & ~land.all(0)).sum() < 1e-3 * land[0].size
    assert 0.3 < 1 - land.mean() < 0.5  # the box 30-46 N, 6 W-37 E is ~38 % sea on this grid
    np.testing.assert_allclose(np.diff(ds.longitude.values), 0.125, rtol=0, atol=1e-9)


def test_real_nrt_currents_are_geostrophic_with_the_read_adt(shared_data):
    """ugos/vgos of the NRT map against u = -(g/f) d(adt)/dy, v = (g/f) d(adt)/dx (centred
    differences on the sphere, R = 6371 km) in the North Atlantic 25-50 N: checks the reader's
    units, latitude order and longitude orientation on a real product."""
    ds = read_l4(shared_data / "duacs_nrt_l4_global" / "nrt_global_allsat_phy_l4_20190223_20190226.nc", bbox=(-70, -20, 25, 50))
    assert ds.ugos.attrs["units"] == "m s-1"
    eta = ds.adt.values[0]
    lat = np.radians(ds.latitude.values)[:, None]
    dlat, dlon = np.radians(0.25), np.radians(0.25)
    f = 2 * 7.2921e-5 * np.sin(lat)
    u = -(9.81 / f[1:-1]) * (eta[2:] - eta[:-2]) / (2 * 6371e3 * dlat)
    v = (9.81 / f) * (eta[:, 2:] - eta[:, :-2]) / (2 * 6371e3 * np.cos(lat) * dlon)
    for ours, product in ((u, ds.ugos.values[0][1:-1]), (v, ds.vgos.values[0][:, 1:-1])):
        m = np.isfinite(ours) & np.isfinite(product)
        # DUACS differentiates with a 9-point stencil (Arbic et al. 2012, product manual), not
        # centred 2-point differences: measured correlation 0.994 (u) / 0.997 (v), relative rms
        # difference 0.11 / 0.09; a flipped axis gives negative correlation, cm/s a 100x rms.
        assert np.corrcoef(ours[m], product[m])[0, 1] > 0.98
        assert np.sqrt(np.mean((ours[m] - product[m]) ** 2)) < 0.2 * np.sqrt(np.mean(product[m] ** 2))


def test_lat_lon_names_and_descending_latitude_in_memory():
    """A CF map with dims (time, lat, lon), latitude stored north to south, zos in cm."""
    lat = np.arange(10.5, -10.0, -1.0)
    lon = np.arange(-20.5, 20.0, 1.0)
    field = analytic_adt(lon, lat, 0)
    ds = xr.Dataset(
        {"zos": (("time", "lat", "lon"), 100 * field[None], {"units": "cm"})},
        coords={"time": [np.datetime64("2020-01-01")], "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
    )
    out = read_l4(ds, bbox=(-5, 5, -5, 5))
    assert out.attrs["ssh_variable"] == "zos" and out.zos.dims == ("time", "latitude", "longitude")
    np.testing.assert_array_equal(out.latitude.values, np.arange(-4.5, 5.0, 1.0))  # sorted south to north
    np.testing.assert_allclose(out.zos.values[0], analytic_adt(out.longitude.values, out.latitude.values, 0), rtol=0, atol=1e-15)
