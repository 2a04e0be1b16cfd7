"""Estimation figures: what each panel draws (observation dots per map time, the lambda_x marker
on the PSD curves), input checks, and the PNGs written by evaluation_figures."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import PathCollection

from hybridocean.estimation.figures import (draw_currents, draw_error_maps, draw_psd_scores, draw_ssh_maps,
                                            evaluation_figures, obs_near)
from hybridocean.metrics import psd_isotropic_score, psd_spacetime_score
from hybridocean.observations import Observations
from hybridocean.plots import plt

T0 = np.datetime64("2019-01-01", "ns")
DAY = np.timedelta64(1, "D")


def _maps(nt=3, lon0=295.125):
    lon = lon0 + 0.25 * np.arange(16)
    lat = 33.125 + 0.25 * np.arange(12)
    LON, LAT = np.meshgrid(lon, lat)
    vals = np.stack([0.3 * np.sin(np.radians(LON) * 40 + 0.2 * k) * np.cos(np.radians(LAT) * 30) for k in range(nt)])
    coords = {"time": T0 + np.arange(nt) * DAY, "latitude": lat, "longitude": lon}
    return xr.DataArray(vals, dims=("time", "latitude", "longitude"), coords=coords, name="adt", attrs={"units": "m"})


def _obs(counts, lon=-60.0):
    """``counts[k]`` points at map time k + 3 h (and 5 points 2 days after the last map: never drawn)."""
    parts = []
    for k, n in enumerate(list(counts) + [5]):
        t = T0 + k * DAY + np.timedelta64(3, "h") + (np.timedelta64(2, "D") if k == len(counts) else 0)
        parts.append(Observations.from_arrays(time=np.full(n, t), ssh=np.zeros(n), platform="p",
                                              longitude=np.full(n, lon), latitude=np.linspace(34, 35, n)))
    return Observations.concat(parts)


def test_ssh_maps_draw_the_observations_of_each_map_time():
    """Row k holds exactly the points within half a time step of map k, on both panels, at
    their longitude shifted into the map's 0..360 range (-60 -> 300)."""
    truth = _maps()
    fig = draw_ssh_maps(truth, truth + 0.01, obs=_obs([7, 11, 13]))
    try:
        axes = np.array([a for a in fig.axes if a.get_title().startswith("SSH")]).reshape(3, 2)  # not colour bars
        for r, n in enumerate([7, 11, 13]):
            for ax in axes[r]:
                (pts,) = [c for c in ax.collections if isinstance(c, PathCollection)]  # the scatter (maps are QuadMesh)
                off = np.asarray(pts.get_offsets())
                assert off.shape == (n, 2)
                np.testing.assert_allclose(off[:, 0], 300.0)
    finally:
        plt.close(fig)


def test_obs_near_selects_by_time_and_shifts_longitude():
    truth = _maps()
    x, y = obs_near(_obs([2, 4, 6]), truth, 1)
    assert x.size == 4 and np.all(x == 300.0) and np.all((y >= 34) & (y <= 35))
    assert obs_near(None, truth, 0)[0].size == 0


def test_psd_figure_marks_lambda_x():
    """The dashed vertical line of each curve sits at that score's lambda_x [km]."""
    truth = _maps(nt=4)
    rng = np.random.default_rng(0)
    est = truth + 0.05 * rng.standard_normal(truth.shape)
    iso, st = psd_isotropic_score(est, truth), psd_spacetime_score(est, truth)
    assert np.isfinite(iso.lambda_x_km) and np.isfinite(st.lambda_x_km)
    fig = draw_psd_scores(isotropic=iso, spacetime=st)
    try:
        for ax, lam in zip(fig.axes, (iso.lambda_x_km, st.lambda_x_km)):
            vlines = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
            assert len(vlines) == 1
            np.testing.assert_allclose(vlines[0].get_xdata(), lam, rtol=1e-12)
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        draw_psd_scores()


def test_figures_reject_mismatched_maps_and_bad_times():
    truth = _maps()
    other = _maps(lon0=296.125)
    with pytest.raises(ValueError, match="different grid"):
        draw_ssh_maps(truth, other)
    with pytest.raises(ValueError, match="times"):
        draw_ssh_maps(truth, truth, times=[5])
    with pytest.raises(ValueError, match="different grid"):
        draw_currents(truth, truth, other, other)
    with pytest.raises(ValueError, match="different grid"):
        draw_error_maps(truth, other, truth, truth, truth, truth)


def test_error_map_panel_values():
    """The first panel is ssh_est - ssh_true at the chosen time (a constant 0.02 m here)."""
    truth = _maps()
    fig = draw_error_maps(truth, truth + 0.02, truth, truth, truth, truth, time_index=1)
    try:
        mesh = fig.axes[0].collections[0]
        np.testing.assert_allclose(np.asarray(mesh.get_array()), 0.02, rtol=1e-12)
    finally:
        plt.close(fig)


def test_evaluation_figures_write_pngs(tmp_path):
    from types import SimpleNamespace

    truth = _maps(nt=4)
    iso = psd_isotropic_score(truth + 0.01 * np.cos(np.arange(16)), truth)
    ev = SimpleNamespace(ssh_true=truth, ssh_est=truth + 0.01, u_true=truth, v_true=truth, u_est=truth, v_est=truth,
                         results={"psd_isotropic": iso})
    paths = evaluation_figures(ev, tmp_path, obs=_obs([3, 3, 3, 3]))
    assert [p.name for p in paths] == ["ssh_maps.png", "currents.png", "errors.png", "psd_score.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted(p.name for p in paths)  # atomic: no temp files
