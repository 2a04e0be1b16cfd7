"""physics.masks: the staggering rule of the land masks, fill values, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from physics.grid import Grid
from physics.masks import check_ocean_mask, ocean_corner_mask, ocean_mask_from_field, staggered_masks

from _land import archipelago


def _grid(boundary="closed", nx=7, ny=5):
    return Grid(nx, ny, dx=1e3, dy=1e3, boundary=boundary)


@pytest.mark.parametrize("boundary", ["closed", "periodic"])
def test_rule_matches_a_loop_over_cells(boundary):
    """Each u/v face is open iff both its cells are ocean, a corner iff its 4 cells are; outside a
    closed grid is land, a periodic one wraps (brute-force loop over every point)."""
    g = _grid(boundary)
    ocean = archipelago(g.ny, g.nx, seed=3, land_fraction=0.3)

    def cell(j, i):
        if boundary == "periodic":
            return bool(ocean[j % g.ny, i % g.nx])
        return 0 <= j < g.ny and 0 <= i < g.nx and bool(ocean[j, i])

    m = staggered_masks(g, ocean)
    for j in range(g.ny):
        for i in range(g.nx):
            assert m.center[j, i] == cell(j, i)
            assert m.u[j, i] == (cell(j, i - 1) and cell(j, i))
            assert m.v[j, i] == (cell(j - 1, i) and cell(j, i))
            assert m.corner[j, i] == (cell(j - 1, i - 1) and cell(j - 1, i) and cell(j, i - 1) and cell(j, i))


def test_all_ocean_gives_the_wall_masks():
    """Without land the masks are exactly Grid.mask (walls of a closed grid, ones when periodic)."""
    for boundary in ("closed", "periodic"):
        g = _grid(boundary)
        m = staggered_masks(g, torch.ones(g.shape, dtype=torch.bool))
        for loc in ("center", "u", "v", "corner"):
            assert torch.equal(m.at(loc), g.mask(loc)), (boundary, loc)


def test_mask_from_fill_values_and_nan():
    ssh = np.arange(12.0).reshape(3, 4)
    ssh[0, 1] = np.nan
    ssh[2, 3] = -9999.0
    m = ocean_mask_from_field(ssh, fill_value=-9999.0)
    # a netCDF _FillValue arrives as a numpy scalar
    assert torch.equal(ocean_mask_from_field(ssh, fill_value=np.float32(-9999.0)), m)
    expect = np.ones((3, 4), bool)
    expect[0, 1] = expect[2, 3] = False
    assert torch.equal(m, torch.as_tensor(expect))
    xr = pytest.importorskip("xarray")
    assert torch.equal(ocean_mask_from_field(xr.DataArray(ssh), fill_value=-9999.0), m)
    masked = np.ma.masked_array(np.zeros((3, 4)), mask=~expect)
    assert torch.equal(ocean_mask_from_field(masked), torch.as_tensor(expect))


def test_bad_masks_raise_naming_the_argument():
    g = _grid()
    with pytest.raises(ValueError, match=r"mask must have shape \(ny, nx\) = \(5, 7\)"):
        check_ocean_mask(torch.ones(7, 5, dtype=torch.bool), g)
    with pytest.raises(ValueError, match="mask has no ocean cell"):
        check_ocean_mask(torch.zeros(5, 7), g)
    with pytest.raises(ValueError, match="only 0 .land. and 1"):
        check_ocean_mask(torch.full((5, 7), 0.5), g)
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        check_ocean_mask("land", g)
    checker = torch.zeros(5, 7, dtype=torch.bool)
    checker[::2, ::2] = True  # isolated one-cell seas: no corner has 4 ocean cells
    with pytest.raises(ValueError, match="land_mask leaves no ocean corner"):
        ocean_corner_mask(g, checker, name="land_mask")
    with pytest.raises(TypeError, match="fill_value must be a real number"):
        ocean_mask_from_field(np.zeros((2, 2)), fill_value="nan")
    with pytest.raises(ValueError, match="at least 2-D"):
        ocean_mask_from_field(np.zeros(3))


def test_max_abs_finds_land_stored_without_a_fill_value(test_data):
    # the sample maps store land as NC_FILL_INT * 1e-4 = -2.1e5 m with no _FillValue: finite after
    # decoding, so only a plausibility bound (max_abs) finds it; it must agree with the NaN land of
    # hybridocean.observations.l4.read_l4 (which masks |SSH| > 20 m), ocean iff finite on every map
    import warnings

    xr = pytest.importorskip("xarray")
    from hybridocean.observations.l4 import read_l4
    from hybridocean.observations.ssh_vars import ImplausibleValueWarning

    seam = test_data / "duacs_l4_sample_20181231_seam_crop.nc"  # 350..10 E, 30..46 N: Iberia, Morocco, the Med
    raw = xr.open_dataset(seam)["adt"].isel(time=0)
    assert float(raw.min()) < -2e5 and bool(ocean_mask_from_field(raw).all())  # the trap
    bounded = ocean_mask_from_field(raw, max_abs=20.0)
    assert 0 < int(bounded.sum()) < bounded.numel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImplausibleValueWarning)
        ssh = read_l4(str(seam), bbox=(0.0, 9.9, 30.0, 46.0), variables=["adt"])["adt"].values
    ocean = ocean_mask_from_field(torch.from_numpy(ssh)).all(0)
    assert bool(ocean_mask_from_field(raw.sel(longitude=slice(0.0, 9.9)), max_abs=20.0).eq(ocean).all())
    with pytest.raises(ValueError, match="max_abs must be a finite number > 0"):
        ocean_mask_from_field(raw, max_abs=0.0)
    with pytest.raises(TypeError, match="field must be real"):
        ocean_mask_from_field(torch.zeros(3, 3, dtype=torch.complex64))
