"""Along-track L3 reader on files written here in the CMEMS SEALEVEL L3 layout.

No real along-track L3 file of another mission is available offline (../shared/data/README.md):
these files reproduce the product's names, dims, dtypes, packing and attributes
(see hybridocean/observations/l3.py) and are read back.
"""
from __future__ import annotations

import numpy as np
import pytest
from _readers_nc import pack, write

from hybridocean.observations.l3 import mission_name, read_l3_nadir
from hybridocean.observations.ssh_vars import ImplausibleValueWarning

SLA_SCALE = 1e-3  # m per count of sla_* / mdt in the L3 product
FILL16 = 32767
# a value packed with quantum q reads back within q/2 (writer rounding) + float64 round-off
TOL = SLA_SCALE / 2 + 1e-12
DAY0 = 25201.0  # 2018-12-31 in days since 1950-01-01


def track(n=240, lon0=350.0):
    """An ascending track segment across the 0/360 seam, 1 Hz (time in days since 1950)."""
    k = np.arange(n)
    lat = -40.0 + 0.05 * k
    lon = np.mod(lon0 + 0.1 * k, 360.0)
    t = DAY0 + 0.3 + k / 86400.0
    sla = 0.1 * np.sin(np.radians(4 * lat)) + 0.05 * np.cos(np.radians(8 * lon))
    mdt = 0.2 + 0.001 * lat
    return lon, lat, t, sla, mdt


def write_l3(path, lon, lat, t, sla, mdt, platform="Jason-3", units="m", scale=SLA_SCALE, extra_sla=None):
    """A file in the CMEMS L3 along-track layout (module docstring of hybridocean.observations.l3)."""
    n = lon.size
    factor = {"m": 1.0, "cm": 100.0}[units]

    def sla_var(values, long_name):
        return (("time",), pack(values * factor, scale, FILL16, "i2"), {
            "_FillValue": np.int16(FILL16), "coordinates": "longitude latitude", "long_name": long_name,
            "scale_factor": scale, "standard_name": "sea_surface_height_above_sea_level", "units": units})

    variables = {
        "time": (("time",), t.astype("f8"), {"axis": "T", "calendar": "gregorian", "long_name": "Time of measurement",
                                              "standard_name": "time", "units": "days since 1950-01-01 00:00:00"}),
        "longitude": (("time",), pack(lon, 1e-6, None, "i4"), {"long_name": "Longitude of measurement", "scale_factor": 1e-6,
                                                              "standard_name": "longitude", "units": "degrees_east"}),
        "latitude": (("time",), pack(lat, 1e-6, None, "i4"), {"long_name": "Latitude of measurement", "scale_factor": 1e-6,
                                                             "standard_name": "latitude", "units": "degrees_north"}),
        "cycle": (("time",), np.full(n, 123, "i2"), {"long_name": "Cycle the measurement belongs to", "units": "1"}),
        "track": (("time",), np.full(n, 42, "i2"), {"long_name": "Track in cycle the measurement belongs to", "units": "1"}),
        "sla_unfiltered": sla_var(sla if extra_sla is None else extra_sla, "Sea level anomaly not-filtered not-subsampled with dac, ocean_tide and lwe correction applied"),
        "sla_filtered": sla_var(sla, "Sea level anomaly filtered not-subsampled with dac, ocean_tide and lwe correction applied"),
        "mdt": (("time",), pack(mdt, SLA_SCALE, FILL16, "i2"), {"_FillValue": np.int16(FILL16), "long_name": "Mean dynamic topography",
                                                                "scale_factor": SLA_SCALE, "units": "m", "coordinates": "longitude latitude"}),
    }
    for corr in ("dac", "ocean_tide", "internal_tide", "lwe"):
        variables[corr] = (("time",), np.zeros(n, "i2"), {"_FillValue": np.int16(FILL16), "scale_factor": SLA_SCALE, "units": "m", "long_name": corr})
    attrs = {"Conventions": "CF-1.6", "title": "DT test Global Ocean Along track SSALTO/DUACS Sea Surface Height L3 product",
             "institution": "CLS, CNES", "processing_level": "L3"}
    if platform is not None:
        attrs["platform"] = platform
    write(path, {"time": n}, variables, attrs)


def test_cmems_layout_round_trip(tmp_path):
    lon, lat, t, sla, mdt = track()
    sla[[5, 50, 51]] = np.nan  # fill values
    p = tmp_path / "dt_global_j3_phy_l3_20181231_20210603.nc"
    write_l3(p, lon, lat, t, sla, mdt)
    obs = read_l3_nadir(p)
    ok = np.isfinite(sla)
    assert len(obs) == ok.sum() and obs.platforms == ["jason3"]
    np.testing.assert_allclose(obs.ssh, sla[ok], rtol=0, atol=TOL)
    lon_e = ((lon[ok] + 180) % 360) - 180
    np.testing.assert_allclose(obs.ds.longitude.values, lon_e, rtol=0, atol=1e-6)  # int32 * 1e-6 packing
    assert obs.ds.longitude.min() >= -180 and obs.ds.longitude.max() < 180
    np.testing.assert_allclose(obs.ds.latitude.values, lat[ok], rtol=0, atol=1e-6)
    expected_t = np.datetime64("1950-01-01", "ns") + np.round(t[ok] * 86400e9).astype("int64").astype("timedelta64[ns]")
    # float64 days near 25201 resolve 25201 * 2.2e-16 d = 0.5 us: allow 2 us
    assert np.abs((obs.time - expected_t).astype("int64")).max() <= 2000
    np.testing.assert_array_equal(obs.ds.cycle.values, 123)
    np.testing.assert_array_equal(obs.ds.track.values, 42)
    np.testing.assert_allclose(obs.ds.mdt.values, mdt[ok], rtol=0, atol=TOL)
    assert obs.ds.attrs["ssh_variable"] == "sla_filtered"


def test_add_mdt_gives_absolute_dynamic_topography(tmp_path):
    lon, lat, t, sla, mdt = track()
    p = tmp_path / "nrt_global_j3_phy_l3_20181231_20190107.nc"
    write_l3(p, lon, lat, t, sla, mdt)
    adt = read_l3_nadir(p, add_mdt=True)
    np.testing.assert_allclose(adt.ssh, sla + mdt, rtol=0, atol=2 * TOL)  # two packed terms


def test_unfiltered_and_two_missions_concatenated(tmp_path):
    lon, lat, t, sla, mdt = track(100)
    noisy = sla + 0.02 * np.random.default_rng(0).standard_normal(sla.size)
    p1 = tmp_path / "dt_global_j3_phy_l3_20181231_20210603.nc"
    p2 = tmp_path / "dt_global_s3a_phy_l3_20181231_20210603.nc"
    write_l3(p1, lon, lat, t, sla, mdt, extra_sla=noisy)
    write_l3(p2, lon, lat, t, sla, mdt, platform="Sentinel-3A", extra_sla=noisy)
    obs = read_l3_nadir([p1, p2], variable="sla_unfiltered", error_std=0.03)
    assert obs.platforms == ["jason3", "sentinel3a"] and len(obs) == 200
    np.testing.assert_allclose(obs.ssh, np.concatenate([noisy, noisy]), rtol=0, atol=TOL)
    np.testing.assert_array_equal(obs.error_std, 0.03)
    assert obs.ds.attrs["source_files"] == f"{p1.name}, {p2.name}"
    assert len(read_l3_nadir(str(tmp_path / "dt_global_*_phy_l3_*.nc"))) == 200  # a glob pattern


@pytest.mark.parametrize("fname,expected", [
    ("nrt_global_s3a_phy_l3_20190101_20190107.nc", "sentinel3a"),
    ("dt_global_alg_phy_l3_20190101_20210603.nc", "saral"),
    ("dt_europe_c2n_phy_l3_20190101_20210603.nc", "cryosat2"),
    ("dt_global_s6a-lr_phy_l3_20220101_20230101.nc", "sentinel6a"),
])
def test_mission_from_the_file_name_when_no_platform_attribute(tmp_path, fname, expected):
    lon, lat, t, sla, mdt = track(20)
    p = tmp_path / fname
    write_l3(p, lon, lat, t, sla, mdt, platform=None)
    assert read_l3_nadir(p).platforms == [expected]
    assert read_l3_nadir(p, mission="other").platforms == ["other"]


def test_units_in_centimetres_are_converted(tmp_path):
    lon, lat, t, sla, mdt = track(50)
    p = tmp_path / "dt_global_j3_phy_l3_20181231_20210603.nc"
    write_l3(p, lon, lat, t, sla, mdt, units="cm", scale=0.1)  # 1 mm quantum
    np.testing.assert_allclose(read_l3_nadir(p).ssh, sla, rtol=0, atol=TOL)


def test_implausible_values_dropped_with_a_warning(tmp_path):
    lon, lat, t, sla, mdt = track(50)
    sla[7] = 30.0  # 30 m fits in int16 * 1e-3 but is no sea level anomaly
    p = tmp_path / "dt_global_j3_phy_l3_20181231_20210603.nc"
    write_l3(p, lon, lat, t, sla, mdt)
    with pytest.warns(ImplausibleValueWarning, match="masked 1 of 50"):
        obs = read_l3_nadir(p)
    assert len(obs) == 49 and obs.ds.attrs["n_implausible_masked"] == 1


def test_bad_inputs(tmp_path):
    lon, lat, t, sla, mdt = track(20)
    p = tmp_path / "some_file.nc"
    write_l3(p, lon, lat, t, sla, mdt, platform="Unknown-Sat")
    with pytest.raises(ValueError, match="mission"):
        read_l3_nadir(p)
    with pytest.raises(ValueError, match="variable='sla_nope'"):
        read_l3_nadir(p, variable="sla_nope", mission="x")
    empty = tmp_path / "dt_global_j3_phy_l3_20181231_20210603.nc"
    write_l3(empty, lon, lat, t, np.full_like(sla, np.nan), mdt)
    with pytest.raises(ValueError, match="all values of 'sla_filtered' are missing"):
        read_l3_nadir(empty)
    with pytest.raises(ValueError, match="no such file"):
        read_l3_nadir(tmp_path / "absent.nc")
    with pytest.raises(ValueError, match="error_std"):
        read_l3_nadir(empty, error_std=-1.0)


def test_mission_name_table():
    import xarray as xr

    assert mission_name(xr.Dataset(attrs={"platform": "OSTM/Jason-2"})) == "jason2"
    assert mission_name(xr.Dataset(attrs={"platform": "SARAL/AltiKa"})) == "saral"
    assert mission_name(xr.Dataset(), "nrt_global_h2b_phy_l3_20190101_20190107.nc") == "hy2b"
    assert mission_name(xr.Dataset(), "random.nc") is None
