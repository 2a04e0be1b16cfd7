"""Smoke test of scripts/benchmark_estimation.py: the --quick path on one truth/scenario/row."""
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_estimation.py"


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
