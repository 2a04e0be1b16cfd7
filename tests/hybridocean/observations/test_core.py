"""The Observations point cloud: construction, CF attributes, netCDF round trip, select, concat, bad input."""
import numpy as np
import pytest
import xarray as xr

from hybridocean.observations import DEFAULT_TIME_ORIGIN, Observations, normalize_longitude

T0 = np.datetime64("2023-03-28T12:00:00", "ns")


def _swath(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return Observations.from_arrays(
        time=T0 + np.arange(n).astype("timedelta64[s]") + np.timedelta64(7, "ns"),
        ssh=rng.normal(size=n), platform="swot_karin", error_std=rng.uniform(0.01, 0.02, n),
        longitude=np.linspace(178.0, 183.0, n), latitude=np.linspace(-5.0, 5.0, n),
        cross_track_distance=np.linspace(-60e3, 60e3, n), attrs={"source": "test"},
        extra={"cycle": np.full(n, 474)},
    )


def _nadir(n=4):
    return Observations.from_arrays(
        time=T0 + np.arange(n).astype("timedelta64[h]"), ssh=np.arange(n) * 0.1,
        platform="jason3", error_std=0.03, longitude=np.full(n, -30.0), latitude=np.linspace(10, 13, n),
    )


def test_from_arrays_layout_dtypes_and_cf_attributes():
    obs = _swath()
    ds = obs.ds
    assert set(ds.dims) == {"obs"} and len(obs) == 6
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert ds.ssh.dtype == ds.error_std.dtype == ds.cross_track_distance.dtype == np.float64
    assert ds.ssh.attrs["units"] == "m" and ds.ssh.attrs["standard_name"].startswith("sea_surface_height")
    assert ds.longitude.attrs["units"] == "degrees_east" and ds.latitude.attrs["standard_name"] == "latitude"
    assert ds.cross_track_distance.attrs["units"] == "m"
    assert obs.platforms == ["swot_karin"] and obs.coords_kind == "lonlat"
    assert ds.cycle.values.tolist() == [474] * 6 and ds.attrs["source"] == "test"
    # 178..183 E: the points past 180 are normalised into [-180, 180)
    np.testing.assert_allclose(ds.longitude.values, [178, 179, 180 - 360, 181 - 360, 182 - 360, 183 - 360], atol=1e-12)


def test_normalize_longitude_convention():
    out = normalize_longitude([-180.0, 180.0, 359.9, -0.0, 540.0, -190.0, np.nan, -1e-17])
    np.testing.assert_allclose(out[:6], [-180, -180, -0.1, 0, -180, 170], atol=1e-12)
    assert np.isnan(out[6]) and -180 <= out[7] < 180


def test_float_seconds_use_the_documented_origin():
    obs = Observations.from_arrays(time=[0.0, 1.5, 86400.0], ssh=[1.0, 2.0, 3.0], platform="sim", x=[0, 1, 2], y=[0, 0, 0])
    assert obs.time[0] == DEFAULT_TIME_ORIGIN == np.datetime64("2000-01-01T00:00:00")
    np.testing.assert_array_equal(obs.time_seconds(), [0.0, 1.5, 86400.0])  # exact: multiples of 0.5 s
    other = Observations.from_arrays(time=[10.0], ssh=[1.0], platform="sim", x=[0], y=[0], time_origin=T0)
    assert other.time[0] == T0 + np.timedelta64(10, "s") and other.time_seconds(T0).tolist() == [10.0]
    assert obs.coords_kind == "xy" and obs.ds.x.attrs["units"] == "m"


def test_netcdf_round_trip_is_exact_and_atomic(tmp_path):
    obs = Observations.concat([_swath(), _nadir()])
    path = obs.to_netcdf(tmp_path / "sub" / "obs.nc")
    assert [p.name for p in path.parent.iterdir()] == ["obs.nc"]  # no temporary file left
    back = Observations.open(path)
    xr.testing.assert_identical(back.ds.drop_attrs(), obs.ds.drop_attrs())
    assert (back.time == obs.time).all() and back.time[0] - T0 == np.timedelta64(7, "ns")  # ns kept
    assert back.platform.tolist() == ["swot_karin"] * 6 + ["jason3"] * 4
    assert back.ds.attrs["source"] == "test" and back.ds.ssh.attrs["units"] == "m"
    with xr.open_dataset(path, decode_times=False) as raw:  # CF-encoded time on disk
        assert raw.time.attrs["units"].startswith("nanoseconds since 2000-01-01")
        assert raw.ssh.encoding["zlib"] and raw.error_std.encoding["zlib"]  # deflated (netcdf_encoding)


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = _nadir().to_netcdf(tmp_path / "obs.nc")
    before = path.read_bytes()

    def boom(self, *a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(RuntimeError):
        _swath().to_netcdf(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["obs.nc"]


def test_concat_fills_variables_missing_from_some_platforms():
    both = Observations.concat([_nadir(), _swath()])
    assert len(both) == 10 and both.platforms == ["jason3", "swot_karin"]
    ctd = both.ds.cross_track_distance.values
    assert np.isnan(ctd[:4]).all() and np.isfinite(ctd[4:]).all()
    assert np.isnan(both.ds.cycle.values[:4].astype(float)).all()
    xy = Observations.from_arrays(time=T0, ssh=[0.0], platform="p", x=[0.0], y=[0.0])
    with pytest.raises(ValueError, match="different positions"):
        Observations.concat([xy, _nadir()])
    with pytest.raises(TypeError, match="concat"):
        Observations.concat([])


def test_select_by_platform_time_and_box():
    obs = Observations.concat([_swath(), _nadir()])
    assert len(obs.select(platforms="jason3")) == 4 and len(obs.select(exclude=["jason3"])) == 6
    late = obs.select(time=slice(T0 + np.timedelta64(1, "h"), None))
    assert late.platforms == ["jason3"] and len(late) == 3  # both ends included
    assert len(obs.select(time=slice("2023-03-28T12:00:00", "2023-03-28T12:00:02"))) == 1 + 2
    # a box across the date line: 179 E .. 178 W, written either way round
    for box in ((179.0, -178.0, -10, 10), (179.0, 182.0, -10, 10)):
        assert len(obs.select(bbox=box)) == 4
    assert len(obs.select(bbox=(-40, -20, 11.5, 20))) == 2
    xy = Observations.from_arrays(time=T0, ssh=[0.0, 1.0, 2.0], platform="p", x=[0.0, 5.0, 10.0], y=[0.0, 5.0, 10.0])
    assert xy.select(bbox=(4, 10, 0, 5)).ssh.tolist() == [1.0]


def test_select_errors():
    obs = _nadir()
    with pytest.raises(ValueError, match="matches no observation.*latitude"):
        obs.select(bbox=(100, 110, 10, 13))  # a box outside the data
    assert len(obs.select(bbox=(100, 110, 10, 13), allow_empty=True)) == 0
    with pytest.raises(ValueError, match="platforms"):
        obs.select(platforms="sentinel3a")
    with pytest.raises(ValueError, match="bbox"):
        obs.select(bbox=(0, 1, 2))
    with pytest.raises(ValueError, match="lat0 < lat1"):
        obs.select(bbox=(0, 1, 3, 2))
    xy = Observations.from_arrays(time=T0, ssh=[0.0], platform="p", x=[0.0], y=[0.0])
    with pytest.raises(ValueError, match="ymin <= ymax"):
        xy.select(bbox=(0, 1, 3, 2))
    with pytest.raises(TypeError, match="time"):
        obs.select(time=(T0, T0))


def _arrays(**over):
    kw = dict(time=[0.0, 1.0], ssh=[0.1, 0.2], platform="jason3", error_std=0.02, longitude=[0.0, 1.0], latitude=[0.0, 1.0])
    kw.update(over)
    return kw


@pytest.mark.parametrize(
    "over, exc, match",
    [
        (dict(error_std=-0.01), ValueError, "error_std"),  # negative noise
        (dict(error_std=[0.01, np.nan]), ValueError, "error_std"),
        (dict(ssh=[np.nan, np.nan]), ValueError, "ssh: all values are missing"),
        (dict(ssh=[[0.1, 0.2]]), ValueError, "ssh must be a 1-D"),
        (dict(latitude=[0.0, 95.0]), ValueError, "latitude"),
        (dict(longitude=[0.0, 1.0, 2.0]), ValueError, "longitude"),
        (dict(x=[0.0, 1.0], y=[0.0, 1.0]), ValueError, "exactly one position pair"),
        (dict(latitude=None), ValueError, "longitude and latitude together"),
        (dict(time=["a", "b"]), TypeError, "time"),
        (dict(extra={"ssh": [1.0, 2.0]}), ValueError, "clashes"),
    ],
)
def test_bad_arrays_raise_naming_the_argument(over, exc, match):
    with pytest.raises(exc, match=match):
        Observations.from_arrays(**_arrays(**over))


def test_bad_datasets_raise():
    good = Observations.from_arrays(**_arrays()).ds
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset"):
        Observations({"ssh": [1.0]})
    with pytest.raises(ValueError, match="lacks the variables.*error_std"):
        Observations(good.drop_vars("error_std"))
    with pytest.raises(ValueError, match="single dimension 'obs'"):
        Observations(good.assign(extra=(("k",), [1, 2, 3])))
    with pytest.raises(ValueError, match="position pair"):
        Observations(good.drop_vars(["longitude", "latitude"]))
    with pytest.raises(TypeError, match="time must be datetime64"):
        Observations(good.assign(time=("obs", [0.0, 1.0])))
    with pytest.raises(TypeError, match="ssh must be real"):
        Observations(good.assign(ssh=("obs", ["a", "b"])))
