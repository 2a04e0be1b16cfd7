"""Held-out model selection (:mod:`hybridocean.estimation.selection`) shared by the benchmark and the
mission (their super-observations: ``tests/hybridocean/observations/test_superobs.py``)."""
import numpy as np
import pytest
import xarray as xr

from hybridocean.estimation.selection import held_rmse, select_least_misfit, select_oi, select_oi_folds
from hybridocean.observations import Observations
from physics.grid import Grid

DX = 1e4
T0 = np.datetime64("2020-01-01T00:00:00", "ns")
HOUR = np.timedelta64(3600, "s")


def _grid(n=8):
    return Grid(n, n, dx=DX, dy=DX, boundary="closed", f0=1e-4)


def _maps(grid, times, a=1e-6, b=2e-7, c=1e-6):
    """SSH ``a x + b y + c t`` [m] (``t`` [s] since T0) at the cell centres: linear in space and
    time, so bilinear-in-space, linear-in-time interpolation is exact."""
    x, y = (v.numpy() for v in grid.coords("center"))
    sec = (times - T0) / np.timedelta64(1, "s")
    ssh = a * x[None, None, :] + b * y[None, :, None] + c * sec[:, None, None]
    return xr.Dataset({"ssh": (("time", "y", "x"), ssh)}, coords={"time": times}), (a, b, c)


def _points(rng, n, times_s, grid):
    lo, hi = 0.5 * DX, (grid.nx - 0.5) * DX  # inside the hull of the cell centres
    return rng.uniform(lo, hi, n), rng.uniform(lo, hi, n), T0 + (np.asarray(times_s) * 1e9).astype("timedelta64[ns]")


def test_held_rmse_linear_is_exact_on_a_linear_field():
    grid, rng = _grid(), np.random.default_rng(0)
    times = T0 + np.arange(3) * 6 * HOUR
    ds, (a, b, c) = _maps(grid, times)
    sec = rng.uniform(0, 12 * 3600.0, 40)  # between the maps, not on them
    x, y, t = _points(rng, 40, sec, grid)
    d = rng.choice([-0.01, 0.01], 40)  # |misfit| = 1 cm at every point
    held = Observations.from_arrays(time=t, ssh=a * x + b * y + c * sec + d, x=x, y=y, platform="held")
    # exact interpolation of a linear field: float64 round-off of ~1e-2 m values
    assert held_rmse(ds, held, grid, time_match="linear") == pytest.approx(0.01, abs=1e-12)
    # the window match compares each point with its nearest map: the c dt (up to 3 h * 1e-6 m/s
    # = 1 cm) enters the misfit, which is then no longer 1 cm
    assert abs(held_rmse(ds, held, grid) - 0.01) > 1e-4
    late = Observations.from_arrays(time=t + 24 * HOUR, ssh=held.ssh, x=x, y=y, platform="held")
    assert np.isnan(held_rmse(ds, late, grid, time_match="linear"))  # outside the maps' span: none matched


def test_held_rmse_window_scores_each_map_on_its_own_frame():
    grid, rng = _grid(), np.random.default_rng(1)
    times = T0 + np.arange(3) * 24 * HOUR
    ds, (a, b, c) = _maps(grid, times)
    k = rng.integers(0, 3, 30)
    sec = k * 86400.0 + rng.uniform(-3600.0, 3600.0, 30)  # within 1 h of map k
    x, y, t = _points(rng, 30, sec, grid)
    held = Observations.from_arrays(time=t, ssh=a * x + b * y + c * k * 86400.0 - 0.02, x=x, y=y, platform="held")
    assert held_rmse(ds, held, grid) == pytest.approx(0.02, abs=1e-12)  # bilinear of a linear field: exact
    assert np.isnan(held_rmse(ds, held, grid, half_window_s=1.0))  # no point within 1 s of a map
    with pytest.raises(ValueError, match="time_match"):
        held_rmse(ds, held, grid, time_match="nearest")
    with pytest.raises(ValueError, match="half_window_s"):
        held_rmse(ds, held, grid, half_window_s=60.0, time_match="linear")
    with pytest.raises(TypeError, match="held must be"):
        held_rmse(ds, ds, grid)


def test_select_least_misfit_keeps_the_first_finite_minimum():
    def fit(c):
        if c["k"] == 0:
            raise ValueError("ill-conditioned")
        return c["k"]

    scores = {1: 0.5, 2: float("nan"), 3: 0.2, 4: 0.2, 5: 0.9}
    seen = []
    best, table, est = select_least_misfit([{"k": k} for k in range(6)], fit, scores.get, log=seen.append)
    assert best["k"] == 3 and est == 3 and best["held_rmse_m"] == 0.2  # 4 ties with 3: the first wins
    assert table[0] == {"k": 0, "error": "ill-conditioned"} and len(table) == 6 and len(seen) == 5
    with pytest.raises(ValueError, match="no model could be computed"):
        select_least_misfit([{"k": 0}, {"k": 2}], fit, scores.get, what="model")


def test_select_oi_returns_the_table_minimum_and_its_estimate():
    from hybridocean.estimation.oi import OptimalInterpolation

    grid, rng = _grid(), np.random.default_rng(2)
    times = T0 + np.arange(2) * 24 * HOUR
    ds, _ = _maps(grid, times)
    x, y, t = _points(rng, 120, rng.uniform(0, 86400.0, 120), grid)
    obs = Observations.from_arrays(time=t, ssh=np.sin(x / 3e4) * np.cos(y / 2e4) * 0.1, x=x, y=y, platform="p")
    train, held = obs.subset(np.arange(120) % 5 != 0), obs.subset(np.arange(120) % 5 == 0)
    best, table, est = select_oi(train, held, grid, times, (1e4, 3e4), (86400.0,), noises=(0.01,))
    assert len(table) == 2 and best["Lx"] == min(table, key=lambda r: r["held_rmse_m"])["Lx"]
    again = OptimalInterpolation(**best).estimate(train, grid, times)
    np.testing.assert_array_equal(est["ssh"].values, again["ssh"].values)  # the estimate of `best`, not another
    assert held_rmse(est, held, grid) == min(r["held_rmse_m"] for r in table)


def _cloud(seed=2, n=120):
    grid, rng = _grid(), np.random.default_rng(seed)
    times = T0 + np.arange(2) * 24 * HOUR
    x, y, t = _points(rng, n, rng.uniform(0, 86400.0, n), grid)
    obs = Observations.from_arrays(time=t, ssh=np.sin(x / 3e4) * np.cos(y / 2e4) * 0.1, x=x, y=y, platform="p")
    return grid, times, obs


def test_select_oi_folds_pools_the_splits_misfits():
    from hybridocean.estimation.oi import OptimalInterpolation

    grid, times, obs = _cloud()
    k = np.arange(len(obs)) % 5
    folds = [(obs.subset(k != j), obs.subset(k == j)) for j in range(3)]
    one = select_oi(*folds[0], grid, times, (1e4, 3e4), (86400.0,), noises=(0.01,))
    alone = select_oi_folds(folds[:1], grid, times, (1e4, 3e4), (86400.0,), noises=(0.01,))
    # one split: select_oi's selection and misfits exactly
    assert alone[0] == one[0] and [r["held_rmse_m"] for r in alone[1]] == [r["held_rmse_m"] for r in one[1]]
    best, table, est = select_oi_folds(folds, grid, times, (1e4, 3e4), (86400.0,), noises=(0.01,))
    for rec in table:  # pooled: sqrt(sum n_k rmse_k^2 / sum n_k), each rmse_k the map of train_k on held_k
        kw = {key: rec[key] for key in best}
        r = [held_rmse(OptimalInterpolation(**kw).estimate(tr, grid, times), h, grid) for tr, h in folds]
        n = [len(h) for _, h in folds]
        assert rec["held_rmse_m"] == pytest.approx(np.sqrt(np.dot(n, np.square(r)) / sum(n)), rel=1e-12)
    assert best["Lx"] == min(table, key=lambda r: r["held_rmse_m"])["Lx"]
    again = OptimalInterpolation(**best).estimate(folds[0][0], grid, times)  # the map of the first split's train
    np.testing.assert_array_equal(est["ssh"].values, again["ssh"].values)
    with pytest.raises(ValueError, match="folds"):
        select_oi_folds([], grid, times, (1e4,), (86400.0,))


def test_holdout_folds_adds_splits_only_for_few_held_blocks():
    from hybridocean.estimation.benchmark import holdout_folds
    from hybridocean.observations.holdout import block_holdout, block_labels

    grid, times, obs = _cloud(n=400)
    train, held = block_holdout(obs, 0.1, 2e4, seed=0)  # runs of points < 600 s apart, cut in 20 km pieces
    n_blocks = np.unique(block_labels(obs.__class__.concat([train, held]), 2e4)[len(train):]).size
    assert holdout_folds(train, held, 2e4, min_blocks=n_blocks) == [(train, held)]
    folds = holdout_folds(train, held, 2e4, min_blocks=n_blocks + 1, splits=4)
    assert len(folds) == 4 and folds[0] == (train, held)
    for tr, h in folds[1:]:  # each another split of the same observations
        assert len(tr) + len(h) == len(obs) and 0 < len(h) < len(obs)
    assert not np.array_equal(np.sort(folds[1][1].ssh), np.sort(folds[2][1].ssh))
