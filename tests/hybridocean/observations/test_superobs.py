"""Super-observations (:func:`hybridocean.observations.superobs.cell_superobs`): cell and time-bin
means, shared by the benchmark (``hybridocean.estimation.benchmark`` re-exports it) and the mission."""
import numpy as np
import pytest

from hybridocean.observations import Observations
from hybridocean.observations.superobs import cell_superobs
from physics.grid import Grid

DX = 1e4
T0 = np.datetime64("2020-01-01T00:00:00", "ns")
HOUR = np.timedelta64(3600, "s")


def _obs(times=None):
    # four points in coarse cell (0, 0) (2 x 2 fine cells, 20 km) and one in coarse cell (1, 1)
    x = np.array([1e3, 1.5e4, 5e3, 1.9e4, 3.5e4])
    y = np.array([2e3, 3e3, 1.8e4, 1.1e4, 2.5e4])
    ssh = np.array([0.1, 0.2, 0.3, 0.4, -0.5])
    t = np.full(5, T0) if times is None else times
    return Observations.from_arrays(time=t, ssh=ssh, x=x, y=y, platform="p")


def test_cell_superobs_averages_coarse_cells_at_their_centres():
    grid = Grid(4, 4, dx=DX, dy=DX, boundary="closed", f0=1e-4)
    obs = _obs()
    so = cell_superobs(obs, grid, np.array([T0]), window=3600.0, factor=2)
    # the cell means of values summed exactly in float64 (0.1 + ... + 0.4): 1e-15 m is round-off
    np.testing.assert_allclose(so.ssh, [0.25, -0.5], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(so.ds["x"].values, [1e4, 3e4])
    np.testing.assert_array_equal(so.ds["y"].values, [1e4, 3e4])
    assert so.platforms == ["superobs"]
    assert len(cell_superobs(obs, grid, np.array([T0]), window=3600.0)) == 5  # factor 1: one per fine cell here
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="factor must be an integer"):
            cell_superobs(obs, grid, np.array([T0]), factor=bad)
    with pytest.raises(ValueError, match="factor: 8 leaves no cell"):
        cell_superobs(obs, grid, np.array([T0]), factor=8)


def test_cell_superobs_bins_by_time_and_names_the_platform():
    grid = Grid(4, 4, dx=DX, dy=DX, boundary="closed", f0=1e-4)
    # the first two points in the first hour, the others in the second: coarse cell (0, 0) splits in two
    obs = _obs(np.array([T0, T0, T0 + HOUR, T0 + HOUR, T0 + HOUR]))
    so = cell_superobs(obs, grid, np.array([T0, T0 + HOUR]), window=3600.0, platform="karin_so", factor=2)
    assert so.platforms == ["karin_so"] and len(so) == 3
    order = np.lexsort((so.ds["x"].values, so.ds["time"].values))
    np.testing.assert_allclose(so.ssh[order], [0.15, 0.35, -0.5], rtol=0, atol=1e-15)  # round-off, as above


def test_the_old_import_paths_still_work():
    import hybridocean.observations as observations
    from hybridocean.estimation import benchmark

    assert benchmark.cell_superobs is cell_superobs and observations.cell_superobs is cell_superobs
    assert "cell_superobs" in benchmark.__all__ and "cell_superobs" in observations.__all__
