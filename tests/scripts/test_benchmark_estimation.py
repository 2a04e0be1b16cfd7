"""Smoke test of scripts/benchmark_estimation.py: the --quick path on one truth/scenario/row, and
the 4D-Var QG row's two paths (regional open box, closed padded box) on a tiny hand-made context."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_estimation.py"
DAY = 86400.0


def _script():
    spec = importlib.util.spec_from_file_location("benchmark_estimation", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_oi_row_writes_json_netcdf_and_table(tmp_path, capsys):
    bench = _script()
    argv = ["--quick", "--truths", "b", "--scenarios", "i", "--rows", "oi", "--out", str(tmp_path), "--no-figures"]
    assert bench.main(argv) == 0  # the row itself runs in a subprocess (its own peak memory)
    run = tmp_path / "runs" / "b_quick" / "i"
    row = json.loads((run / "oi.json").read_text())
    assert row["row"] == "oi" and row["oi_parameters"]["Lx"] > 0
    # a twin with 50 % of every frame seen without noise: OI maps it well (not a tuned bound: a
    # sanity floor far below the measured ~0.99 / 99.9 that fails if the estimate or the scoring breaks)
    assert row["mu"] > 0.8 and row["tau_uv"] > 50
    assert row["peak_rss_mb"] > 0 and row["estimate_s"] > 0 and row["observations"]["n_obs"] > 0
    assert (run / "oi.nc").exists() and (tmp_path / "truths" / "b_quick.nc").exists()
    assert "| b | i | oi |" in (tmp_path / "table.md").read_text()
    # resumable: a second call skips the row (its JSON is kept as is)
    mtime = (run / "oi.json").stat().st_mtime
    capsys.readouterr()
    assert bench.main(argv) == 0
    assert "done in" not in capsys.readouterr().out
    assert (run / "oi.json").stat().st_mtime == mtime
    assert json.loads((tmp_path / "benchmark.json").read_text())["rows"][0]["tau_uv"] == row["tau_uv"]


N = 16  # cells a side, 20 km: a Gaussian eddy (10 cm, radius 60 km) drifting west 3 km/day


def _eddy(t_s: np.ndarray, ocean: np.ndarray) -> np.ndarray:
    x = (np.arange(N) + 0.5) * 2e4
    X, Y = np.meshgrid(x, x)
    xc = 1.7e5 - 3e3 * np.asarray(t_s)[:, None, None] / DAY
    ssh = 0.1 * np.exp(-((X - xc) ** 2 + (Y - 1.6e5) ** 2) / 6e4 ** 2)
    return np.where(ocean, ssh, np.nan)


def _context(tmp_path, open_box: bool):
    """``(Context, truth SSH (T, N, N), ocean)``: 6 daily frames, 20 % of the ocean cells seen per day
    (1 cm noise), the OI parameters pre-tuned in ``run_dir`` (no tuning), a 3 x 3 island."""
    from _benchmark_common import Context
    from hybridocean.io import save_json
    from hybridocean.observations import DEFAULT_TIME_ORIGIN, Observations
    from physics.grid import Grid

    ocean = np.ones((N, N), bool)
    ocean[3:6, 10:13] = False
    ts = np.arange(6) * DAY
    truth = _eddy(ts, ocean)
    rng = np.random.default_rng(0)
    x = (np.arange(N) + 0.5) * 2e4
    X, Y = np.meshgrid(x, x)
    parts = []
    for k, tk in enumerate(ts):
        sel = ocean & (rng.random(ocean.shape) < 0.2)
        parts.append((np.full(sel.sum(), tk), X[sel], Y[sel], truth[k][sel] + 0.01 * rng.standard_normal(sel.sum())))
    t, ox, oy, v = (np.concatenate(c) for c in zip(*parts))
    obs = Observations.from_arrays(time=t, ssh=v, platform="twin", x=ox, y=oy, error_std=0.01)
    run_dir = tmp_path / "runs" / "tiny" / "ii"
    best = {"Lx": 6e4, "Ly": 6e4, "Lt": 3 * DAY, "noise_std": 0.01, "signal_std": 0.05, "prior_mean": 0.0, "time_window": 1.0}
    save_json({"best": best, "table": [], "seconds": 0.0}, run_dir / "oi_params.json")
    settings = dict(Ld=3e4, qg_dt=3 * 3600.0, sw_dt=600.0, pad=2, fourdvar_window_days=2.0, fourdvar_save_s=6 * 3600.0,
                    sw_viscosity=20.0, open=open_box)
    grid = Grid(N, N, dx=2e4, dy=2e4, boundary="closed", f0=8e-5, beta=2e-11)
    times = DEFAULT_TIME_ORIGIN + (ts * 1e9).astype("timedelta64[ns]")
    ctx = Context("tiny", "ii", grid, obs, obs, times, np.arange(1), np.arange(6), settings, run_dir, fourdvar_iters=4,
                  extra={"ocean": ocean})
    return ctx, truth, ocean


@pytest.mark.parametrize("open_box", [True, False])
def test_fourdvar_qg_row_regional_or_padded(tmp_path, open_box):
    """``settings["open"]``: regional 4D-Var on the box's own grid (OI ring, coastline land NaN,
    boundary cost recorded); else the closed box padded by ``pad`` cells (the former row, unchanged).
    Both must fit the eddy: rmse < 0.3 of its RMS after 4 iterations per window (measured 0.23 open, 0.21 padded:
    a sanity floor that fails if the model, the windows or the cropping break)."""
    _script()  # puts scripts/ on sys.path
    from _benchmark_fourdvar import row_fourdvar_qg

    ctx, truth, ocean = _context(tmp_path, open_box)
    ds, rec = row_fourdvar_qg(ctx)
    ssh = ds["ssh"].values
    assert ssh.shape == truth.shape and ds.sizes["x"] == N and "u_c" not in ds
    assert rec["n_evaluations"] > 0 and rec["seconds_per_evaluation"] > 0 and rec["estimate_s"] > 0
    assert len(rec["fourdvar_windows"]) == 3  # 5 days of scored span in 2-day windows
    if open_box:
        assert rec["pad_cells"] == 0 and rec["boundary"].startswith("open ring") and rec["boundary_oi_s"] > 0
        assert rec["n_boundary_maps"] == 7 and rec["ocean_fraction"] == float(ocean.mean())
        assert bool(np.isnan(ssh[:, ~ocean]).all())
    else:
        assert rec["pad_cells"] == 2 and rec["boundary"].startswith("closed")
    err = np.sqrt(np.nanmean((ssh - truth)[:, ocean] ** 2)) / np.sqrt(np.mean(truth[:, ocean] ** 2))
    print(f"open={open_box}: relative rmse {err:.3f}")
    assert bool(np.isfinite(ssh[:, ocean]).all()) and err < 0.3, err


def test_ocean_mask_reads_the_coastline_of_the_cached_truth(tmp_path):
    """The coastline = the cells NaN at every time of ``OUT/truths/<truth>.nc`` (a gap is not land);
    all ocean -> None; no cached truth and no ``ctx.extra["ocean"]`` -> an error naming the fix."""
    _script()
    from _benchmark_common import _ocean_mask

    ctx, truth, ocean = _context(tmp_path, True)
    ctx.extra.clear()
    with pytest.raises(FileNotFoundError, match="ctx.extra"):
        _ocean_mask(ctx)
    gappy = truth.copy()
    gappy[0, 0, 0] = np.nan  # a gap at one time only: still ocean
    (tmp_path / "truths").mkdir()
    xr.Dataset({"ssh": (("time", "y", "x"), gappy)}).to_netcdf(tmp_path / "truths" / "tiny.nc")
    assert (_ocean_mask(ctx) == ocean).all()
    xr.Dataset({"ssh": (("time", "y", "x"), np.zeros((2, N, N)))}).to_netcdf(tmp_path / "truths" / "tiny.nc")
    assert _ocean_mask(ctx) is None


def test_qg_rows_pad_by_qg_pad_and_name_their_files(tmp_path):
    """``_pad_grid(ctx)`` pads by ``settings["pad"]`` as before, ``_pad_grid(ctx, p)`` by ``p``
    (observations shifted and estimates cropped by the same ``p``); the QG rows' padding is
    ``qg_pad`` (default ``pad``), the neural row's ``pad``; checkpoints on another padding than
    ``pad`` are suffixed ``_pad<p>`` (a checkpoint of another grid is never reused)."""
    _script()
    from _benchmark_common import _pad_grid, _qg_pad
    from _benchmark_rows import _checkpoint, _row_pad

    ctx, _, _ = _context(tmp_path, False)
    ctx.settings["first_guess"] = None
    gp, shift, crop = _pad_grid(ctx)
    assert (gp.nx, gp.ny) == (N + 4, N + 4) and _qg_pad(ctx) == 2 and _row_pad(ctx, "hybrid") == 2
    assert _checkpoint(ctx, "hybrid").name == "learned_hybrid.pt"
    ctx.settings["qg_pad"] = 5
    gp, shift, crop = _pad_grid(ctx, _qg_pad(ctx))
    assert (gp.nx, gp.ny) == (N + 10, N + 10) and gp.boundary == "closed"
    moved = shift(ctx.train)
    assert np.allclose(moved.ds["x"].values - ctx.train.ds["x"].values, 5 * 2e4)
    xc = gp.coords("center")[0].numpy()
    ds = xr.Dataset({"ssh": (("time", "y", "x"), np.zeros((1, N + 10, N + 10)))}, coords={"x": xc, "y": xc})
    assert np.allclose(crop(ds)["x"].values, (np.arange(N) + 0.5) * 2e4)
    assert _row_pad(ctx, "physics") == 5 and _row_pad(ctx, "neural") == 2
    assert _checkpoint(ctx, "hybrid").name == "learned_hybrid_pad5.pt"
    assert _checkpoint(ctx, "neural").name == "learned_neural.pt"
    with pytest.raises(ValueError, match="pad must be an int >= 0"):
        _pad_grid(ctx, -1)


def test_first_guess_oi_is_tuned_on_the_training_period_only(tmp_path):
    """The learned rows' first-guess OI parameters read only the training period: observations
    of the scored days (here x10, so any leak changes the misfits) leave the table unchanged;
    tuning times are training frames; cached with its table; the maps and checkpoints are keyed
    by the parameters and ``n_train``; ``learned_neural`` never takes a first guess."""
    _script()
    import _benchmark_common as common
    from _benchmark_rows import _checkpoint, _first_guess_setting
    from hybridocean.observations import Observations

    def ctx_with(scale, run):
        ctx = _context(tmp_path / run, False)[0]
        ctx.train_idx, ctx.score_idx = np.arange(3), np.arange(3, 6)
        late = ctx.train.time >= ctx.times[3] - np.timedelta64(12, "h")
        ctx.train = Observations(ctx.train.ds.assign(ssh=ctx.train.ds["ssh"] * np.where(late, scale, 1.0)))
        ctx.held = ctx.train
        ctx.settings.update(window=2, oi_lengths=[6e4], oi_time_scales=[DAY], frame_s=DAY, first_guess="oi")
        return ctx

    a, b = ctx_with(1.0, "a"), ctx_with(10.0, "b")
    best_a, table_a, _ = common._first_guess_oi_params(a)
    best_b, table_b, _ = common._first_guess_oi_params(b)
    assert [r["held_rmse_m"] for r in table_a] == [r["held_rmse_m"] for r in table_b] and best_a == best_b
    saved = json.loads((a.run_dir / "first_guess_oi_params.json").read_text())
    assert saved["n_train"] == 3 and all(np.datetime64(t) <= a.times[2] for t in saved["tuning_times"])
    assert common._oi_params(a)[0]["signal_std"] == 0.05  # the OI row's own (pre-tuned) parameters untouched
    key = common._first_guess_key(a)
    assert len(key) == 8 and _checkpoint(a, "hybrid").name == f"learned_hybrid_fgoi_{key}.pt"
    assert _checkpoint(a, "neural").name == "learned_neural.pt" and _first_guess_setting(a, "neural") is None
    a.train_idx = np.arange(4)  # another split: another key (the cached parameters are the same)
    assert common._first_guess_key(a) != key


def test_prepare_offset_from_the_training_period_and_hold_out_checked(tmp_path):
    """The constant removed from every input is the mean of the training period's observations
    only (none of the scored period's), and a cache split by another hold-out is refused."""
    import argparse

    bench = _script()
    args = argparse.Namespace(out=str(tmp_path), data=str(tmp_path), quick=True, seed=0)
    truth0, train, held, info = bench.prepare("b", "i", args)
    raw = bench.load_truth("b", args)
    n_train = bench.settings("b", True)["n_train"]
    times = raw["time"].values
    end = times[n_train - 1] + (times[1] - times[0]) / 2
    t = np.asarray(train.time).astype("datetime64[ns]")
    # train is offset-removed: its training-period mean is 0, the scored period's is not constrained
    assert abs(float(np.mean(train.ssh[t < end]))) < 1e-12
    assert info["holdout"].startswith("whole blocks of passes") and info["n_held"] > 0
    assert np.allclose(truth0["ssh"].values, raw["ssh"].values - info["offset_m"])
    path = tmp_path / "runs" / "b_quick" / "i" / "info.json"
    path.write_text(json.dumps({**info, "holdout": "random points"}))
    with pytest.raises(ValueError, match="--out"):
        bench.prepare("b", "i", args)
    assert bench.prepare("b", "i", args, check=False)[3]["holdout"] == "random points"
