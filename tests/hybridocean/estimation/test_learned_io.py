"""Persistence of the learned estimator: save -> load estimates bit for bit; bad files and wrong
physics models are refused by name. Tiny 16x16 QG twin of ``test_learned`` (2 training iterations:
persistence does not depend on how well the networks are trained)."""
from __future__ import annotations

import numpy as np
import pytest
from test_learned import DT, qg_grid, small_config, small_estimator, twin

from hybridocean.estimation.learned import LearnedEstimator
from hybridocean.training.checkpoint import save_checkpoint
from physics.grid import Grid
from physics.qg import QG


@pytest.fixture(scope="module")
def trained():
    g, times, _, obs, held = twin(8)
    est = small_estimator().fit(obs, g, times, val_obs=held, config=small_config(iterations=2, validate_every=1))
    return est, g, times, obs


def test_loaded_estimator_estimates_bit_identically(trained, tmp_path):
    """SSH and currents of the loaded estimator equal the saved one's exactly (same weights, same
    dtype, same operations); metadata, grid, dt, scale and history round-trip."""
    est, g, times, obs = trained
    path = est.save(tmp_path / "sub" / "est.pt", metadata={"twin": "qg16", "seed": np.int64(3)})
    assert path.is_file() and not list(path.parent.glob(".*.tmp"))
    meta = LearnedEstimator.read_metadata(path)
    assert meta["metadata"] == {"twin": "qg16", "seed": 3}
    assert meta["physics"]["class"] == "QG" and meta["grid"]["nx"] == 16 and meta["dt_s"] == DT
    assert meta["grid_attrs"]["grid_boundary"] == "periodic" and meta["history_summary"]["iterations"] == 2
    physics = QG(Grid(**{k: meta["grid"][k] for k in ("nx", "ny", "dx", "dy", "boundary", "f0", "beta")}),
                 Ld=meta["physics"]["parameters"]["Ld"])
    back = LearnedEstimator.load(path, physics)
    assert back.metadata == meta["metadata"] and back.scale == est.scale and back.dt == est.dt
    assert back.history.to_dict() == est.history.to_dict()
    a, b = est.estimate(obs, g, times), back.estimate(obs, g, times)
    for name in ("ssh", "u", "v"):
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
    assert a.attrs["parameters"] == b.attrs["parameters"]


def test_load_refuses_other_files_and_wrong_physics(trained, tmp_path):
    est, g, _, _ = trained
    path = est.save(tmp_path / "est.pt")
    other = save_checkpoint(tmp_path / "ck.pt", {"iteration": 1, "model": {}})
    with pytest.raises(ValueError, match="path.*not a saved LearnedEstimator"):
        LearnedEstimator.load(other, QG(g, Ld=4e4))
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="path"):
        LearnedEstimator.read_metadata(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError, match="path"):
        LearnedEstimator.load(tmp_path / "missing.pt", QG(g, Ld=4e4))
    with pytest.raises(ValueError, match="physics.*trained with a QG"):
        LearnedEstimator.load(path, None)
    big = Grid(nx=32, ny=32, dx=2e4, dy=2e4, boundary="periodic", f0=1e-4, beta=1.6e-11)
    with pytest.raises(ValueError, match="physics: its grid"):
        LearnedEstimator.load(path, QG(big, Ld=4e4))
    with pytest.raises(ValueError, match="physics: its fixed parameter Ld"):
        LearnedEstimator.load(path, QG(qg_grid(), Ld=3e4))
    from physics.shallow_water import ShallowWater
    with pytest.raises(ValueError, match="physics must be a physics.qg.QG"):
        LearnedEstimator.load(path, ShallowWater(qg_grid()))
    with pytest.raises(TypeError, match="metadata"):
        est.save(tmp_path / "x.pt", metadata=[1, 2])
    with pytest.raises(TypeError, match="metadata"):
        est.save(tmp_path / "x.pt", metadata={"a": object()})
    with pytest.raises(RuntimeError, match="fit"):
        small_estimator().save(tmp_path / "y.pt")


def test_neural_only_round_trip(tmp_path):
    """The purely neural variant (physics=None) saves and loads without a physics model."""
    g, times, _, obs, _ = twin(8)
    est = LearnedEstimator(None, channels=3, window=2, horizon=3, hidden=8, layers=1, seed=3)
    est.fit(obs, g, times, config=small_config(iterations=2, min_norm=False))
    back = LearnedEstimator.load(est.save(tmp_path / "n.pt"), None)
    with pytest.raises(ValueError, match="physics: the estimator was trained without physics"):
        LearnedEstimator.load(tmp_path / "n.pt", QG(g, Ld=4e4))
    a, b = est.estimate(obs, g, times), back.estimate(obs, g, times)
    assert all(np.array_equal(a[k].values, b[k].values, equal_nan=True) for k in ("ssh", "u", "v"))


def test_time_margin_is_half_a_frame_and_float32_rounded_parameters_load(trained, tmp_path):
    """A frame bins observations over +- dt/2, so output times may lie dt/2 outside them; a fixed
    parameter that differs only by float32 rounding (relative 1e-8 < 1e-6) is the same model, a
    1e-4 difference is not."""
    est, g, _, _ = trained
    assert small_estimator().time_margin() == 0.0 and est.time_margin() == 0.5 * DT
    path = est.save(tmp_path / "est.pt")
    Ld = LearnedEstimator.read_metadata(path)["physics"]["parameters"]["Ld"]
    LearnedEstimator.load(path, QG(qg_grid(), Ld=Ld * (1 + 1e-8)))
    with pytest.raises(ValueError, match="fixed parameter Ld"):
        LearnedEstimator.load(path, QG(qg_grid(), Ld=Ld * (1 + 1e-4)))


def test_learnable_physics_parameter_leaks_no_graph_into_the_map():
    """With a learnable Ld (the QG state map reads it), map_ssh returns a plain tensor: learned+4D-Var
    turns it into its background with numpy (this raised "Can't call numpy() on Tensor that
    requires grad" before map_ssh ran under no_grad)."""
    from hybridocean.estimation.base import prepare_inputs
    from hybridocean.estimation.learned_fourdvar import LearnedFourDVar

    g, times, _, obs, held = twin(8)
    est = LearnedEstimator(QG(qg_grid(), Ld=4e4, learnable="Ld"), window=2, horizon=3, hidden=8, layers=1, seed=3)
    est.fit(obs, g, times, val_obs=held, config=small_config(iterations=1, validate_every=1))
    ssh = est.map_ssh(prepare_inputs(obs, g, times, time_margin_s=est.time_margin()))
    assert not ssh.requires_grad and np.isfinite(ssh.numpy()).all()
    ds = LearnedFourDVar(est, "qg", window=2 * DT, dt=DT / 2, max_iter=1, obs_error=0.01,
                         model_kwargs={"Ld": 4e4}).estimate(obs, g, times)
    assert np.isfinite(ds["ssh"].values).all()


def test_old_checkpoint_without_output_loads_as_state(trained, tmp_path):
    """A file saved before the ``output`` argument (no ``output`` in its stored args) loads with
    ``output="state"``, the behaviour it was trained and estimated with (the default is now
    ``"encoder"``)."""
    import torch

    est = trained[0]
    path = est.save(tmp_path / "est.pt")
    st = torch.load(path, map_location="cpu", weights_only=True)
    st["meta"]["args"].pop("output", None)
    old = tmp_path / "old.pt"
    torch.save(st, old)
    back = LearnedEstimator.load(old, QG(trained[1], Ld=LearnedEstimator.read_metadata(old)["physics"]["parameters"]["Ld"]))
    assert back.output == "state"
