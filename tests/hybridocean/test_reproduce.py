"""Smoke test of scripts/reproduce_aphynity.py: a few iterations on tiny data sets."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reproduce_aphynity.py"
KEYS = {
    "system", "prior", "aug", "model", "n_seeds", "log10_mse_mean", "log10_mse_std", "param_error_pct_mean",
    "param_error_pct_std", "fa_norm2_mean", "paper", "wall_s", "device", "versions", "data", "integrator",
    "command", "seeds", "preset",
}


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("reproduce_aphynity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _run(script, tmp_path, *extra, pngs=("trajectory.png", "training.png")):
    out = tmp_path / "out"
    argv = ["--system", "pendulum", "--out", str(out), "--size", "small", "--n-train", "2", "--n-val", "1",
            "--n-test", "2", "--iterations", "2", "--validate-every", "1", "--cache-dir", str(tmp_path / "cache"),
            "--substeps", "1", *extra]
    metrics = script.main(argv)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    for png in pngs:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    return metrics


def test_reproduce_pendulum_complete_aug(script, tmp_path):
    m = _run(script, tmp_path, "--prior", "complete", "--aug", "--seeds", "2")
    assert KEYS <= set(m)
    assert m["n_seeds"] == 2 and len(m["seeds"]) == 2
    assert m["paper"] == {"log10_mse": -8.31, "param_error_pct": 0.39, "fa_norm2": 8.5}
    assert m["data"]["train"] == 2 and m["data"]["test"] == 2 and m["data"]["frames"] == 40
    assert all(r["iterations"] == 2 and r["param_error_pct"] > 0 for r in m["seeds"])
    assert m["log10_mse_std"] >= 0 and m["fa_norm2_mean"] > 0


def test_reproduce_true_prior_without_augmentation_is_exact(script, tmp_path):
    """Nothing to learn: the true ODE forecasts the data to the integrator's accuracy (RK4 with 4
    steps per 0.5 s frame: log10 MSE -10.2 measured; RK4 on the data grid gives -5.6), with zero
    parameter error and no F_a (no training curves). float64: the preset's float32 would round
    the true parameters themselves (1e-6 % error)."""
    m = _run(script, tmp_path, "--prior", "true", "--no-aug", "--substeps", "4", "--dtype", "float64",
             pngs=("trajectory.png",))
    assert -10.5 < m["log10_mse_mean"] < -9.5 and m["param_error_pct_mean"] == 0 and m["fa_norm2_mean"] == 0


def test_reproduce_rejects_bad_arguments(script, tmp_path):
    with pytest.raises(SystemExit):
        script.main(["--system", "pendulum", "--prior", "none", "--no-aug", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        script.main(["--system", "lorenz", "--prior", "true", "--out", str(tmp_path)])


def test_reproduce_field_system_with_warmup_and_table(script, tmp_path):
    """A PDE system through every preset option (physics warm-up, cosine rates, shorter training
    window, zero-initialised F_a), then the Markdown table of its metrics."""
    out = tmp_path / "rd"
    m = script.main(["--system", "reaction_diffusion", "--prior", "complete", "--aug", "--out", str(out),
                     "--size", "small", "--n-train", "2", "--n-val", "1", "--n-test", "1", "--iterations", "1",
                     "--physics-warmup", "2", "--validate-every", "1", "--train-frames", "3", "--substeps", "1",
                     "--cache-dir", str(tmp_path / "cache")])
    rec = m["seeds"][0]
    assert rec["iterations"] == 3 and rec["best_iteration"] == 3  # 2 warm-up + 1; warm-up states are not candidates
    assert rec["config"]["physics_warmup"] == 2 and rec["config"]["lr_decay"] == "cosine"
    spec = importlib.util.spec_from_file_location("aphynity_table", SCRIPT.with_name("aphynity_table.py"))
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    text = table.main([str(out / "metrics.json"), "--out", str(tmp_path / "table.md")])
    row = text.splitlines()[2]
    assert row.startswith("| reaction_diffusion | complete | yes | APHYNITY Param PDE (a, b, k) |")
    assert "(-9.35)" in row and "(0.096)" in row
    assert (tmp_path / "table.md").read_text() == text + "\n"
