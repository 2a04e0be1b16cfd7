"""The three dynamics of the benchmark's ablation -- hybrid (physics + min-norm F_a), physics only
(``augment=False``), neural only (``physics=None``, the paper) -- train and estimate through the
same API with QG and shallow-water physics, and report ``|F_a|`` vs ``|F_p|``. Tiny twins of
``test_learned`` / ``test_learned_sw``, 3 iterations each (plumbing; the variants' skill, tau_uv on the
NaN-hidden twin: ``test_learned.test_ablation_variants_recover_the_currents_from_nan_hidden_data``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_learned import DT, twin
from test_learned_sw import STEPS, sw_model, sw_twin

from hybridocean.estimation.learned import LearnedEstimator, default_config
from hybridocean.estimation.obs_training import build_windows
from hybridocean.observations import to_gridded
from hybridocean.training.objective import augmentation_norm2
from physics.qg import QG


def cfg(steps: int, hybrid: bool):
    return default_config(DT, steps_per_frame=steps, lambda_update="last_step", iterations=3, progress=False,
                          batch_size=4, min_norm=hybrid)


CASES = [  # (physics family, variant)
    ("qg", "hybrid"), ("qg", "physics"), ("qg", "neural"), ("sw", "hybrid"), ("sw", "physics"), ("sw", "neural"),
]


@pytest.mark.parametrize("family,variant", CASES)
def test_variant_trains_estimates_and_reports(family, variant):
    """Each variant: finite training losses, a full estimate (SSH and currents finite, the velocity
    kind of its state), and a report whose F_a and F_p RMS agree with the variant (F_a = 0 exactly
    for physics only, F_p = 0 for neural only) and whose F_a RMS sums to the trainer's own
    ``mean ||F_a||^2`` over the same forecast states (1e-10 relative: the same squares summed
    in another order)."""
    if family == "qg":
        g, times, _, obs, _ = twin(8)
        physics, steps, kind = QG(g, Ld=4e4), 1, "geostrophic"
    else:
        g, times, _, obs, _ = sw_twin(8)
        physics, steps, kind = sw_model(), STEPS, "total"
    kw = dict(window=2, horizon=2, hidden=4, layers=1, seed=1)
    if variant == "neural":
        est, kind = LearnedEstimator(None, channels=3, **kw), "geostrophic"
    else:
        est = LearnedEstimator(physics, augment=variant == "hybrid", **kw)
    est.fit(obs, g, times, config=cfg(steps, variant == "hybrid"))
    assert all(math.isfinite(x) for x in est.history.l_traj)
    ds = est.estimate(obs, g, times)
    assert ds.attrs["velocity_kind"] == kind
    assert all(np.isfinite(ds[k].values).all() for k in ("ssh", "u", "v"))
    rep = est.dynamics_report()
    assert rep["mode"] == {"hybrid": "hybrid", "physics": "physics", "neural": "network"}[variant]
    assert len(rep["rms_fa"]) == len(rep["rms_fp"]) == est.state_channels
    if variant == "physics":
        assert all(a == 0.0 for a in rep["rms_fa"]) and all(r == 0.0 for r in rep["ratio"])
    if variant == "neural":
        assert all(p == 0.0 for p in rep["rms_fp"]) and math.isnan(rep["ratio_total"])
    if variant != "physics":
        assert any(a > 0 for a in rep["rms_fa"])
        view = to_gridded(obs, g, times)
        tr = est.trainer
        data = tr.task.prepare(tr, build_windows(view, view, 2, 2, DT, est.scale), "data")
        with torch.no_grad():
            _, states, _ = tr.task.forecast(tr, data, grad=False)
            fa2 = float(augmentation_norm2(tr.model, states))
        assert sum(a * a for a in rep["rms_fa"]) == pytest.approx(fa2, rel=1e-10)
    if variant == "hybrid":
        assert all(math.isfinite(r) for r in rep["ratio"]) and rep["physical_parameters"]


def test_report_needs_obs_after_load(tmp_path):
    g, times, _, obs, _ = twin(8)
    est = LearnedEstimator(QG(g, Ld=4e4), window=2, horizon=2, hidden=4, layers=1, seed=1)
    est.fit(obs, g, times, config=cfg(1, True))
    back = LearnedEstimator.load(est.save(tmp_path / "e.pt"), QG(g, Ld=4e4))
    with pytest.raises(ValueError, match="obs: required"):
        back.dynamics_report()
    assert back.dynamics_report(obs, times) == est.dynamics_report()
