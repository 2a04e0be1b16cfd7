"""SWOT L3 LR reader: the two real layouts of ../shared/data/swot_l3 and product-layout files written here."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _readers_nc import pack, raw_values, write

from hybridocean.observations.orbits import MISSIONS
from hybridocean.observations.swot_l3 import line_times_from_coverage, read_swot_l3

FILL32 = -2147483647
SSH_SCALE = 1e-4  # m per count of ssha_* (product layout)
TOL = SSH_SCALE / 2 + 1e-12  # packed values read back within half a quantum
N_LINES, N_PIX = 40, 69
XTD_KM = np.arange(-68.0, 69.0, 2.0)  # the 69 pixel centres of the L3 grid [km]
FLAG_VALUES = np.array([0, 3, 5, 10, 18, 19, 20, 30, 50, 70, 100, 101, 102], dtype="u1")
FLAG_MEANINGS = ("good eclipse local_outliers bad_quality_coast ocean_unsure ice_unsure ice soft_outliers "
                 "extremes mission_event bad_swath_extremities not_on_sea no_data")
FULL = "SWOT_L3_LR_SSH_Expert_026_165_20241229T165806_20241229T174933_v2.0.1.nc"
MED = "SWOT_L3_LR_SSH_Expert_003_v2.0.1-med.nc"


def swath(ascending=True):
    """Positions of a 40-line swath piece around 30 N (about 2 km between lines and pixels)."""
    k = np.arange(N_LINES)[:, None] * (1 if ascending else -1)
    lat = 30.0 + 0.018 * k + 0.004 * XTD_KM[None, :] / 2
    lon = np.mod(359.0 + 0.004 * k + XTD_KM[None, :] / (111.32 * np.cos(np.radians(30.0))), 360.0)
    ssha = 0.1 * np.sin(np.radians(20 * lat)) * np.cos(np.radians(10 * lon))
    ssha[:, np.abs(XTD_KM) < 10] = np.nan  # the nadir gap
    ssha[:, np.abs(XTD_KM) > 60] = np.nan  # beyond the swath
    return lat, lon, ssha


def write_full_layout(path, lat, lon, ssha, flag, nadir_lines, nadir_values, with_time=True):
    """The full-product layout: time per line, int32 packing, 1-D cross_track_distance, nadir indices."""
    ssha = ssha.copy()
    ssha[nadir_lines, 34] = nadir_values
    packed = {"scale_factor": SSH_SCALE, "units": "m", "_FillValue": np.int32(FILL32), "coordinates": "longitude latitude",
              "standard_name": "sea_surface_height_above_reference_ellipsoid"}
    variables = {
        "latitude": (("num_lines", "num_pixels"), pack(lat, 1e-6, None, "i4"), {"scale_factor": 1e-6, "standard_name": "latitude", "units": "degrees_north"}),
        "longitude": (("num_lines", "num_pixels"), pack(lon, 1e-6, None, "i4"), {"scale_factor": 1e-6, "standard_name": "longitude", "units": "degrees_east"}),
        "ssha_filtered": (("num_lines", "num_pixels"), pack(ssha, SSH_SCALE, FILL32, "i4"), packed),
        "ssha_unfiltered": (("num_lines", "num_pixels"), pack(ssha + 0.01, SSH_SCALE, FILL32, "i4"), packed),
        "cross_track_distance": (("num_pixels",), XTD_KM, {"units": "km", "long_name": "cross track distance", "valid_min": -75.0, "valid_max": 75.0}),
        "quality_flag": (("num_lines", "num_pixels"), flag.astype("u1"), {"flag_masks": FLAG_VALUES, "flag_meanings": FLAG_MEANINGS,
                                                                          "standard_name": "valid_flag_for_data"}),
        "i_num_line": (("num_nadir",), np.asarray(nadir_lines, "i2"), {"units": "count"}),
        "i_num_pixel": (("num_nadir",), np.full(len(nadir_lines), 34, "i1"), {"units": "count"}),
    }
    if with_time:
        variables["time"] = (("num_lines",), 7.888e8 + 0.3131 * np.arange(N_LINES),
                             {"units": "seconds since 2000-01-01 00:00:00.0", "calendar": "gregorian", "standard_name": "time"})
    write(path, {"num_lines": N_LINES, "num_pixels": N_PIX, "num_nadir": len(nadir_lines)}, variables,
          {"time_coverage_start": "2024-12-29T16:58:06Z", "time_coverage_end": "2024-12-29T17:49:33Z", "platform": "Swot"})


def test_full_layout_quality_flag_nadir_and_units(tmp_path):
    lat, lon, ssha = swath()
    flag = np.where(np.isfinite(ssha), 0, 102)
    flag[3, 10] = flag[4, 50] = 5  # local_outliers: rejected
    nadir_lines = np.arange(0, N_LINES, 4)
    nadir_values = 0.05 + 0.001 * nadir_lines
    p = tmp_path / "SWOT_L3_LR_SSH_Expert_001_001_test_v2.0.1.nc"
    write_full_layout(p, lat, lon, ssha, flag, nadir_lines, nadir_values)
    obs = read_swot_l3(p)
    n_karin = int(np.isfinite(ssha).sum()) - 2
    assert obs.ds.attrs["n_karin"] == n_karin and obs.ds.attrs["n_nadir"] == nadir_lines.size
    assert obs.ds.attrs["n_quality_rejected"] == 2
    karin = obs.select(platforms="swot_karin")
    rows, cols = karin.ds.line.values, karin.ds.pixel.values
    np.testing.assert_allclose(karin.ssh, ssha[rows, cols], rtol=0, atol=TOL)
    np.testing.assert_array_equal(karin.ds.cross_track_distance.values, XTD_KM[cols] * 1e3)  # km -> m, signed
    np.testing.assert_allclose(karin.ds.longitude.values, ((lon[rows, cols] + 180) % 360) - 180, rtol=0, atol=1e-6)
    assert not ((rows == 3) & (cols == 10)).any() and not ((rows == 4) & (cols == 50)).any()
    nadir = obs.select(platforms="swot_nadir")
    np.testing.assert_allclose(nadir.ssh, nadir_values, rtol=0, atol=TOL)  # kept although the KaRIn flag says no_data
    np.testing.assert_array_equal(nadir.ds.cross_track_distance.values, 0.0)
    t_line = np.datetime64("2000-01-01", "ns") + np.round((7.888e8 + 0.3131 * np.arange(N_LINES)) * 1e9).astype("int64").astype("timedelta64[ns]")
    assert np.abs((obs.time - t_line[obs.ds.line.values]).astype("int64")).max() <= 1000  # float64 s at 7.9e8: 0.1 us
    assert read_swot_l3(p, keep_nadir=False).platforms == ["swot_karin"]
    assert read_swot_l3(p, quality=False).ds.attrs["n_karin"] == n_karin + 2
    unf = read_swot_l3(p, variable="ssha_unfiltered", keep_nadir=False)
    np.testing.assert_allclose(unf.ssh, ssha[unf.ds.line.values, unf.ds.pixel.values] + 0.01, rtol=0, atol=TOL)
    err = read_swot_l3(p, error_std={"swot_karin": 0.01, "swot_nadir": 0.03})
    np.testing.assert_array_equal(err.error_std, np.where(err.platform == "swot_nadir", 0.03, 0.01))


@pytest.mark.parametrize("ascending", [True, False])
def test_subset_layout_without_time_is_dated_from_the_coverage(tmp_path, ascending):
    """The Mediterranean-subset layout: lat/lon names, lon float64 with NaN fill and no attributes,
    cross_track_distance stored transposed (num_pixels, num_lines) in km, no time variable."""
    lat, lon, ssha = swath(ascending)
    xtd = np.broadcast_to(XTD_KM[None, :], ssha.shape).copy()
    xtd[~np.isfinite(ssha)] = np.nan
    p = tmp_path / "SWOT_L3_LR_SSH_Expert_003_v2.0.1-sub.nc"
    write(p, {"num_lines": N_LINES, "num_pixels": N_PIX}, {
        "lat": (("num_lines", "num_pixels"), pack(lat, 1e-6, None, "i4"), {"scale_factor": 1e-6, "standard_name": "latitude", "units": "degrees_north"}),
        "lon": (("num_lines", "num_pixels"), lon, {"_FillValue": np.nan}),
        "ssha_filtered": (("num_lines", "num_pixels"), ssha, {"_FillValue": np.nan, "units": "m"}),
        "cross_track_distance": (("num_pixels", "num_lines"), xtd.T, {"_FillValue": np.nan, "units": "km"}),
    }, {"time_coverage_start": "2023-03-28T23:44:17Z", "time_coverage_end": "2023-03-29T00:35:22Z"})
    obs = read_swot_l3(p)
    rows, cols = obs.ds.line.values, obs.ds.pixel.values
    np.testing.assert_array_equal(obs.ssh, ssha[rows, cols])
    np.testing.assert_array_equal(obs.ds.cross_track_distance.values, XTD_KM[cols] * 1e3)
    expected = line_times_from_coverage(lat[:, 34], "2023-03-28T23:44:17", "2023-03-29T00:35:22")
    np.testing.assert_array_equal(obs.time, expected[rows])
    assert np.all(np.diff(expected).astype("int64") > 0)  # time runs with the lines either way
    assert expected[0] >= np.datetime64("2023-03-28T23:44:17") and expected[-1] <= np.datetime64("2023-03-29T00:35:22")
    assert "orbit geometry" in obs.ds.attrs["time_source"]


def test_bad_swot_inputs(tmp_path):
    lat, lon, ssha = swath()
    p = tmp_path / "empty.nc"
    write_full_layout(p, lat, lon, np.full_like(ssha, np.nan), np.full(ssha.shape, 102), np.arange(3), np.full(3, np.nan))
    with pytest.raises(ValueError, match="all values of 'ssha_filtered' are missing"):
        read_swot_l3(p)
    with pytest.raises(ValueError, match="variable='ssha_nope'"):
        read_swot_l3(p, variable="ssha_nope")
    no_time = tmp_path / "no_time.nc"
    write(no_time, {"num_lines": N_LINES, "num_pixels": N_PIX}, {
        "lat": (("num_lines", "num_pixels"), lat, {"units": "degrees_north"}),
        "lon": (("num_lines", "num_pixels"), lon, {"units": "degrees_east"}),
        "ssha": (("num_lines", "num_pixels"), ssha, {"_FillValue": np.nan, "units": "m"})})
    with pytest.raises(ValueError, match="time_coverage_start"):
        read_swot_l3(no_time)
    no_pos = xr.Dataset({"ssha": (("num_lines", "num_pixels"), ssha, {"units": "m"})})
    with pytest.raises(ValueError, match="no longitude/latitude"):
        read_swot_l3(no_pos)
    write_full_layout(p, lat, lon, ssha, np.where(np.isfinite(ssha), 0, 102), np.arange(3), np.full(3, 0.1))
    with pytest.raises(ValueError, match="error_std: no value for platforms"):
        read_swot_l3(p, error_std={"swot_karin": 0.01})


# ---------------------------------------------------------------- real files
def ground_track_line_spacing_s(lat_deg, lon_deg, mission):
    """Seconds between swath lines predicted from kinematics, independent of the reader's method:
    nadir speed relative to the rotating Earth on a sphere, v_rel^2 = (v cos a - 0)^2 + (v sin a - w R cos phi)^2
    with v = 2 pi R / T_nodal, eastward inertial component v sin a = v cos i / cos phi, divided into
    the mean haversine distance between consecutive nadir points."""
    p = MISSIONS[mission]
    r = 6371e3
    phi, lam = np.radians(lat_deg), np.radians(lon_deg)
    a = np.sin(np.diff(phi) / 2) ** 2 + np.cos(phi[1:]) * np.cos(phi[:-1]) * np.sin(np.diff(lam) / 2) ** 2
    dist = 2 * r * np.arcsin(np.sqrt(a)).mean()
    v = 2 * np.pi * r / p.nodal_period_s
    phim = phi.mean()
    east = v * np.cos(np.radians(p.inclination_deg)) / np.cos(phim)
    north = np.sqrt(v**2 - east**2)
    v_rel = np.hypot(north, east - 7.2921e-5 * r * np.cos(phim))
    return dist / v_rel


def test_line_times_from_coverage_match_the_real_time_variable(shared_data):
    """On the full product (which has the real time per line), the dating of the lines from
    time_coverage_start/_end only is checked against the truth, on the whole pass (even spread)
    and on 386-line pieces (the size of the Mediterranean subset; orbit geometry) at its start,
    middle and end. Tolerance 5 s: the coverage attributes are rounded to 1 s at each end
    (measured +0.88 s / -0.71 s) and the J2 short-periodic perturbations of the argument of
    latitude are O(J2 T / 2 pi) ~ 1 s; measured max 0.88 s (whole) and 1.9 s (pieces). An even
    spread of the coverage over a 386-line piece is off by 1500-3000 s."""
    path = shared_data / "swot_l3" / FULL
    with xr.open_dataset(path) as ds:
        lat = ds["latitude"].values[:, 34]
        truth = ds["time"].values
        start, end = ds.attrs["time_coverage_start"].rstrip("Z"), ds.attrs["time_coverage_end"].rstrip("Z")
    for sl in (slice(None), slice(0, 386), slice(3000, 3386), slice(4800, 5186), slice(9000, 9386)):
        est = line_times_from_coverage(lat[sl], start, end)
        err = np.abs((est - truth[sl]).astype("int64")) / 1e9
        assert err.max() < 5.0
    linear = np.datetime64(start, "ns") + (np.linspace(0, 1, 386) * (np.datetime64(end) - np.datetime64(start)).astype("timedelta64[ns]").astype("int64")).astype("int64").astype("timedelta64[ns]")
    assert (np.abs((linear - truth[3000:3386]).astype("int64")) / 1e9).max() > 600


def test_real_full_product_nadir_values(shared_data):
    path = shared_data / "swot_l3" / FULL
    obs = read_swot_l3(path)
    il, ip = raw_values(path, "i_num_line"), raw_values(path, "i_num_pixel")
    assert len(obs) == il.size == 726 and obs.platforms == ["swot_nadir"]  # KaRIn values removed upstream
    np.testing.assert_array_equal(obs.ds.pixel.values, ip)
    raw = raw_values(path, "ssha_filtered")[il, ip]
    np.testing.assert_allclose(obs.ssh, raw * SSH_SCALE, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(obs.ds.cross_track_distance.values, 0.0)
    with xr.open_dataset(path) as ds:
        np.testing.assert_array_equal(obs.time, ds["time"].values[il])
        lat = ds["latitude"].values[:, 34]
        lon = ds["longitude"].values[:, 34]
        dt = np.diff(ds["time"].values.astype("int64")) / 1e9
    # the real line spacing agrees with the kinematics of the science orbit at 1 % (spherical Earth)
    assert abs(np.median(dt) / ground_track_line_spacing_s(lat[3000:3386], lon[3000:3386], "swot") - 1) < 0.01
    assert obs.ds.attrs["time_source"].startswith("time variable")
    with pytest.raises(ValueError, match="all values of 'ssha_filtered' are missing.*keep_nadir=False"):
        read_swot_l3(path, keep_nadir=False)


def test_real_mediterranean_subset(shared_data):
    path = shared_data / "swot_l3" / MED
    obs = read_swot_l3(path)
    ssha = raw_values(path, "ssha_filtered")
    assert len(obs) == int(np.isfinite(ssha).sum()) == 17851 and obs.platforms == ["swot_karin"]
    xtd = np.abs(obs.ds.cross_track_distance.values)
    # swath geometry (../shared/data/README.md): 10-60 km either side of the nadir track
    assert xtd.min() >= 10e3 and xtd.max() <= 60e3
    assert (obs.ds.cross_track_distance.values < 0).any() and (obs.ds.cross_track_distance.values > 0).any()
    assert obs.time.min() >= np.datetime64("2023-03-28T23:44:17") and obs.time.max() <= np.datetime64("2023-03-29T00:35:22")
    line, t = obs.ds.line.values, obs.time_seconds()
    slope = np.polynomial.polynomial.polyfit(line, t, 1)[1]
    with xr.open_dataset(path) as ds:
        lat, lon = ds["lat"].values[:, 34], ds["lon"].values[:, 34]
    # seconds per line against the cal/val-orbit kinematics (measured: 0.1 % apart on the full
    # product's real times; 1 % allows for the spherical-Earth speed and haversine distance)
    assert abs(slope / ground_track_line_spacing_s(lat, lon, "swot_calval") - 1) < 0.01
