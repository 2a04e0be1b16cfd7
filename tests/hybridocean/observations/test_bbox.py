"""The one lon/lat box convention (hybridocean.observations.bbox) and the three places that use it.

A date-line box 170 E .. 170 W must select the same grid cells in read_l4, the same points in
nadir.in_bbox and in Observations.select, whichever longitude convention (-180..180 or 0..360)
the box or the data are written in.
"""
import numpy as np
import pytest
import xarray as xr

from hybridocean.observations import Observations, read_l4
from hybridocean.observations.bbox import LonLatBox, lonlat_box
from hybridocean.observations.nadir import in_bbox

T0 = np.datetime64("2023-01-01T00:00:00", "ns")
LON = np.arange(-180.0, 180.0, 2.5)  # every 2.5 deg: 170, 172.5, ..., 177.5, -180, ..., -170 are grid points
LAT = np.arange(-20.0, 20.1, 2.5)
BOXES = [(170.0, -170.0, -5.0, 10.0), (170.0, 190.0, -5.0, 10.0), (-190.0, -170.0, -5.0, 10.0)]
# expected: longitudes 170 .. 190 (both edges included: 9 columns), latitudes -5 .. 10 (7 rows)
WANT_LON = np.arange(170.0, 190.1, 2.5) % 360.0
WANT_LAT = np.arange(-5.0, 10.1, 2.5)


def _keyset(lon, lat):
    return {(round(float(a) % 360.0, 6), round(float(b), 6)) for a, b in zip(np.ravel(lon), np.ravel(lat))}


WANT = _keyset(*np.meshgrid(WANT_LON, WANT_LAT))


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("data_lon", [LON, np.sort(LON % 360.0)], ids=["-180..180", "0..360"])
def test_dateline_box_selects_the_same_cells_in_l4_nadir_and_observations(box, data_lon):
    ssh = np.zeros((1, LAT.size, data_lon.size))
    ds = xr.Dataset({"adt": (("time", "latitude", "longitude"), ssh, {"units": "m"})},
                    coords={"time": [T0], "latitude": LAT, "longitude": data_lon})
    l4 = read_l4(ds, bbox=box)
    assert np.all(np.diff(l4.longitude.values) > 0)  # increasing across the date line
    glon, glat = np.meshgrid(l4.longitude.values, l4.latitude.values)
    assert _keyset(glon, glat) == WANT and glon.size == len(WANT) == 63

    plon, plat = (a.ravel() for a in np.meshgrid(data_lon, LAT))
    keep = in_bbox(plon, plat, box)
    assert _keyset(plon[keep], plat[keep]) == WANT

    obs = Observations.from_arrays(time=T0, ssh=np.zeros(plon.size), platform="p", longitude=plon, latitude=plat)
    sel = obs.select(bbox=box)
    assert _keyset(*sel.positions()) == WANT


def test_box_normal_form_and_containment():
    b = lonlat_box((170, -170, -5, 10))
    assert b == LonLatBox(west=170.0, width=20.0, south=-5.0, north=10.0) == lonlat_box((170, 190, -5, 10))
    assert b.as_tuple() == (170.0, 190.0, -5.0, 10.0) and not b.is_global
    assert lonlat_box((350, 10, 0, 1)) == lonlat_box((-10, 10, 0, 1))  # across Greenwich
    assert lonlat_box((-180, 180, -90, 90)).is_global and lonlat_box((0, 360, -90, 90)).is_global
    assert lonlat_box((10, 0, 0, 1)).width == 350.0  # lon0 > lon1: runs east the long way
    lon = np.array([169.99, 170.0, 180.0, -170.0, -169.99, 0.0])
    np.testing.assert_array_equal(b.contains(lon, np.zeros(6)), [False, True, True, True, False, False])
    # margins widen every edge by exactly the margin
    np.testing.assert_array_equal(b.contains(lon, np.zeros(6), lon_margin=0.02), [True, True, True, True, True, False])
    assert not b.contains(0.0, 10.5) and b.contains(0.0 + 175.0, 10.5, lat_margin=0.5)
    assert lonlat_box(None) is None


@pytest.mark.parametrize("bad, exc, match", [
    ((0, 1, 2), ValueError, "bbox must be 4 finite numbers"),
    ((0, np.nan, 0, 1), ValueError, "bbox must be 4 finite numbers"),
    ("0,1,0,1", TypeError, "bbox must be 4 finite numbers"),
    ((0, "1", 0, 1), TypeError, "bbox must be 4"),
    ((True, 1, 0, 1), TypeError, "bbox must be 4"),
    (5.0, TypeError, "bbox must be 4"),
    ((10, 10, 0, 1), ValueError, "lon1 - lon0 = 0"),
    ((0, 400, 0, 1), ValueError, "lon1 - lon0 = 400"),
    ((0, -360, 0, 1), ValueError, "lon1 - lon0 = -360"),
    ((0, 10, 5, 5), ValueError, "lat0 < lat1"),
    ((0, 10, -95, 5), ValueError, "-90 <= lat0"),
    ((0, 10, 0, 91), ValueError, "lat1 <= 90"),
])
def test_bad_boxes_name_the_argument(bad, exc, match):
    with pytest.raises(exc, match=match):
        lonlat_box(bad)
    with pytest.raises(exc, match="bbox"):  # the same message from every user of the convention
        in_bbox([0.0], [0.0], bad)
    with pytest.raises(exc, match=match):
        Observations.from_arrays(time=T0, ssh=[0.0], platform="p", longitude=[0.0], latitude=[0.0]).select(bbox=bad)
    with pytest.raises(exc, match="my_box"):
        lonlat_box(bad, name="my_box")
