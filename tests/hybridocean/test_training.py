"""hybridocean.training: APHYNITY objective, multiplier update, learning, model selection, resume."""
from __future__ import annotations

import math

import pytest
import torch

from hybridocean.hybrid import HybridModel
from hybridocean.integrate import odeint
from hybridocean.networks import MLP
from hybridocean.trajectories import Trajectories
from hybridocean.training import (
    AphynityConfig,
    AphynityTrainer,
    IntegratorConfig,
    NonFiniteLossError,
    augmentation_norm2,
    lagrangian,
    load_checkpoint,
)
from physics.pendulum import ALPHA, OMEGA0_SQ, DampedPendulum

F64 = torch.float64
# rk4 with h = 0.5 (= the sampling step): the rk4 phase error per unit time is ~(omega0 h)^4 / 120
# ~ 6e-4 relative, which biases omega0^2 by < 0.1% -- well inside the 2% / 1% thresholds below.
RK4 = IntegratorConfig(method="rk4", step_size=0.5)


def pendulum_data(n: int, seed: int, T: int = 20, dt: float = 0.5) -> Trajectories:
    """``n`` damped-pendulum trajectories (paper values) integrated by dopri5 at rtol 1e-10."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, 2, generator=g, dtype=F64) * 2.0 - 1.0
    x0[:, 0] *= 2.0  # theta0 in [-2, 2] rad: well into the nonlinear regime
    t = torch.arange(T, dtype=F64) * dt
    with torch.no_grad():
        x = odeint(DampedPendulum().to(F64), x0, t, rtol=1e-10, atol=1e-12)
    return Trajectories(t, x)


@pytest.fixture(scope="module")
def splits():
    return pendulum_data(25, 0), pendulum_data(10, 1), pendulum_data(20, 2)


def hybrid(complete: bool, seed: int = 0, network: bool = True) -> HybridModel:
    torch.manual_seed(seed)
    if complete:
        phys = DampedPendulum(omega0_sq=0.7, alpha=0.4, learnable=("omega0_sq", "alpha"))
    else:
        phys = DampedPendulum(omega0_sq=0.7, friction=False, learnable=("omega0_sq",))
    return HybridModel(phys, MLP(2, hidden=64, layers=2, init_gain=0.2) if network else None)


def config(**kw) -> AphynityConfig:
    base = dict(tau1=3e-2, tau2=1.0, batch_size=25, fa_norm="relative", integrator=RK4, lambda_update="last_step")
    base.update(kw)
    return AphynityConfig(**base)


# ----------------------------------------------------------------------------- objective pieces
def test_lagrangian_forms():
    l, fa2 = torch.tensor(0.2, dtype=F64), torch.tensor(0.09, dtype=F64)
    assert float(lagrangian(l, fa2, 3.0, "paper", True)) == pytest.approx(0.3 + 0.6, rel=1e-12)
    assert float(lagrangian(l, fa2, 3.0, "squared", True)) == pytest.approx(0.09 + 0.6, rel=1e-12)
    assert float(lagrangian(l, fa2, 3.0, "paper", False)) == pytest.approx(0.2, rel=1e-12)
    z = torch.zeros((), dtype=F64, requires_grad=True)
    lagrangian(l, z, 1.0, "paper", True).backward()
    assert torch.isfinite(z.grad)  # sqrt at F_a = 0 keeps a finite gradient


def test_augmentation_norm2_matches_definition(splits):
    model = hybrid(False).to(F64)
    states = splits[0].x[:3]
    x = states.reshape(-1, 2)
    fa = model.network(x)
    expected = (fa**2).sum(1).mean()
    torch.testing.assert_close(augmentation_norm2(model, states), expected, rtol=1e-14, atol=0)
    rel = ((fa**2).sum(1) / (x.norm(dim=1) + 1e-5) ** 2).mean()
    torch.testing.assert_close(augmentation_norm2(model, states, relative=True), rel, rtol=1e-14, atol=0)
    model.augment = False
    assert float(augmentation_norm2(model, states)) == 0.0


def test_config_validation():
    with pytest.raises(ValueError, match="tau1 must be a finite number > 0"):
        AphynityConfig(tau1=-1.0)
    with pytest.raises(ValueError, match="objective must be one of"):
        AphynityConfig(objective="l1")
    with pytest.raises(ValueError, match="checkpoint_dir must be set"):
        AphynityConfig(checkpoint_every=5)
    with pytest.raises(ValueError, match="n_iter must be an int >= 1"):
        AphynityConfig(n_iter=0)
    with pytest.raises(ValueError, match="step_size needs a fixed-step method"):
        IntegratorConfig(method="dopri5", step_size=0.1)
    assert AphynityConfig.from_dict(config().to_dict()) == config()
    with pytest.raises(ValueError, match="min_norm=True needs a physics model"):
        AphynityTrainer(HybridModel(None, MLP(2, 8, 1)), AphynityConfig())
    with pytest.raises(TypeError, match="config must be an AphynityConfig"):
        AphynityTrainer(hybrid(True), {"tau1": 1e-3})
    with pytest.raises(ValueError, match=r"x \(the state\) must have 2 channels"):
        bad = Trajectories(torch.arange(3.0), torch.zeros(2, 3, 3))
        AphynityTrainer(hybrid(True), config(iterations=1)).fit(bad)


# ----------------------------------------------------------------------------- multiplier
def test_cosine_learning_rate_schedule(splits):
    """Rates follow lr_0 (r + (1 - r)(1 + cos(pi (j-1)/(J-1)))/2): lr_0 first, r lr_0 last, per group."""
    train, _, _ = splits
    trainer = AphynityTrainer(hybrid(False), config(iterations=5, batch_size=10, lr_decay="cosine", lr_final_ratio=0.1))
    seen = []
    trainer.fit(train, callback=lambda j, rec: seen.append(trainer.optimizer.param_groups[0]["lr"]))
    lr0 = trainer.config.tau1
    expected = [lr0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * j / 4))) for j in range(5)]
    assert seen == pytest.approx(expected, rel=1e-12)
    assert seen[0] == pytest.approx(lr0) and seen[-1] == pytest.approx(0.1 * lr0)
    with pytest.raises(ValueError, match="lr_final_ratio"):
        AphynityConfig(lr_final_ratio=0.0)
    with pytest.raises(ValueError, match="lr_decay"):
        AphynityConfig(lr_decay="step")


def test_physics_warmup_trains_physics_alone_then_aphynity(splits):
    """Warm-up iterations leave F_a untouched and lambda frozen, then APHYNITY takes over."""
    train, val, _ = splits
    model = hybrid(False)
    net0 = {k: v.clone() for k, v in model.network.state_dict().items()}
    trainer = AphynityTrainer(model, config(iterations=4, batch_size=25, physics_warmup=3, validate_every=1,
                                            lr_decay="cosine"))
    seen = []

    def snapshot(j, rec):
        seen.append((j, rec["fa_norm2"], rec["lam"], [torch.equal(v, net0[k]) for k, v in
                                                     trainer.model.network.state_dict().items()]))

    h = trainer.fit(train, val, callback=snapshot)
    for j, fa2, lam, unchanged in seen[:3]:
        assert fa2 == 0.0 and lam == trainer.config.lambda0 and all(unchanged)
    assert h.params[2]["omega0_sq"] != h.params[0]["omega0_sq"]  # the physics did learn
    j, fa2, lam, unchanged = seen[3]
    assert fa2 > 0 and lam > trainer.config.lambda0 and not all(unchanged)
    assert h.val_iteration == [4] and trainer.model.augment  # no warm-up model selected; F_a back on
    assert trainer.config.lr_factor(3, 4) == 1.0 and trainer.config.lr_factor(4, 4) == 1.0
    with pytest.raises(ValueError, match="physics_warmup=3 needs learnable physical parameters"):
        AphynityTrainer(HybridModel(None, MLP(2, 8, 1)), config(physics_warmup=3, min_norm=False))


def test_multiplier_update_rule(splits):
    """lambda_{j+1} = lambda_j + tau2 * L_traj(theta_{j+1}), checked in both update modes."""
    train = splits[0]
    cfg = config(iterations=3, n_iter=2, tau2=0.5, lambda0=2.0, lambda_update="last_step")
    h = AphynityTrainer(hybrid(True).to(F64), cfg).fit(train)
    lams = [2.0] + h.lam
    for j in range(3):  # "last_step": the L_traj of the last inner step, as recorded
        assert lams[j + 1] == pytest.approx(lams[j] + 0.5 * h.l_traj[j], rel=1e-14)
    cfg = config(iterations=1, n_iter=2, tau2=0.5, lambda0=2.0, lambda_update="updated")
    trainer = AphynityTrainer(hybrid(True).to(F64), cfg)
    trainer.fit(train)  # "updated": L_traj after the inner steps (one batch = the whole train set)
    l_after = trainer.evaluate(train)["mse"]
    assert trainer.lam == pytest.approx(2.0 + 0.5 * l_after, rel=1e-12)
    # joint training: lambda stays fixed and the loss is L_traj alone. The recorded loss of each
    # iteration is checked against an independent forecast, evaluate() (no-grad path, its own
    # batching), of the parameters that iteration started from -- one batch = the whole train set.
    plain = AphynityTrainer(hybrid(True).to(F64), config(iterations=2, min_norm=False))
    before = [plain.evaluate(train)["mse"]]
    h = plain.fit(train, callback=lambda j, rec: before.append(plain.evaluate(train)["mse"]))
    assert h.lam == [1.0, 1.0]
    # same forecast, mean taken in another order and chunking: round-off only (1e-12 relative)
    assert h.loss == pytest.approx(before[:2], rel=1e-12)
    assert before[1] < before[0]


# ----------------------------------------------------------------------------- learning
@pytest.mark.slow
def test_complete_prior_recovers_omega0(splits):
    train, val, test = splits
    trainer = AphynityTrainer(hybrid(True), config(iterations=120, validate_every=10))
    h = trainer.fit(train, val)
    m = trainer.evaluate(test)
    err = abs(m["params"]["omega0_sq"] - OMEGA0_SQ) / OMEGA0_SQ
    # Thresholds from measurements (this test: network seed 0; seeds 0/1/2 in brackets), each
    # ~3x the seed-0 value and above all three seeds, so a real regression (the start is 36 %
    # and 100 % off, MSE ~1e-1) fails while platform round-off in the optimisation does not:
    assert err < 5e-3, m["params"]  # measured 1.7e-3 (1.7e-3, 2.9e-3, 1.6e-3)
    assert abs(m["params"]["alpha"] - ALPHA) / ALPHA < 2e-2, m["params"]  # 7.5e-3 (7.5e-3, 1.0e-2, 7.3e-3)
    assert m["mse"] < 5e-6, m  # test-set forecast MSE: 6.9e-7 (6.9e-7, 3.2e-6, 1.1e-6)
    # model selection: the restored parameters are those of the best validation iteration
    assert h.best_val_mse == min(h.val_mse)
    assert m["params"] == pytest.approx(h.params[h.best_iteration - 1], rel=1e-12)


@pytest.mark.slow
def test_min_norm_beats_joint_training_with_incomplete_prior(splits):
    """Frictionless prior: F_a must model the friction. APHYNITY keeps F_a minimal and so
    identifies omega0^2; plain joint training lets F_a absorb part of the gravity term.

    No validation set here: the final parameters are compared (selection by validation MSE
    trades ||F_a|| for trajectory error and is tested above)."""
    train, _, test = splits
    out = {}
    for min_norm in (True, False):
        trainer = AphynityTrainer(hybrid(False), config(iterations=100, min_norm=min_norm))
        trainer.fit(train)
        m = trainer.evaluate(test)
        out[min_norm] = (abs(m["params"]["omega0_sq"] - OMEGA0_SQ) / OMEGA0_SQ, m["fa_norm2"], m["mse"])
    (err_a, fa_a, mse_a), (err_j, fa_j, mse_j) = out[True], out[False]
    # Measured with network seed 0 (seeds 0/1/2 in brackets); thresholds ~1.5-2x seed 0 and
    # above all three seeds:
    assert fa_a < 0.7 * fa_j, out  # ||F_a||^2 ratio 0.50 (0.50, 0.42, 0.51)
    assert err_a < 0.3 * err_j, out  # omega0^2 error ratio 0.09 (0.09, 0.10, 0.12)
    assert err_a < 0.02, out  # APHYNITY identifies omega0^2 with the wrong model: 1.1e-2 (1.1, 1.4, 1.3e-2)
    assert mse_a < 2.5e-3, out  # and still forecasts (start: ~1e-1): 1.2e-3 (1.2, 1.2, 1.4e-3)


# ----------------------------------------------------------------------------- checkpoints
class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("lr_decay", [None, "cosine"])
def test_resume_reproduces_uninterrupted_run(splits, tmp_path, lr_decay):
    train, val, _ = splits
    kw = dict(iterations=6, n_iter=2, batch_size=10, validate_every=2, checkpoint_every=2, lambda_update="updated",
              lr_decay=lr_decay)
    ref = AphynityTrainer(hybrid(False), config(checkpoint_dir=str(tmp_path / "a"), **kw))
    h_ref = ref.fit(train, val)

    def stop_at_5(iteration, record):
        if iteration == 5:
            raise _Interrupt

    cut = AphynityTrainer(hybrid(False), config(checkpoint_dir=str(tmp_path / "b"), **kw))
    with pytest.raises(_Interrupt):
        cut.fit(train, val, callback=stop_at_5)
    assert load_checkpoint(tmp_path / "b")["iteration"] == 4
    # a fresh process would rebuild the model from scratch (other init) before resuming
    resumed = AphynityTrainer(hybrid(False, seed=123), config(checkpoint_dir=str(tmp_path / "b"), **kw))
    h = resumed.fit(train, val, resume=tmp_path / "b" / "checkpoint.pt")
    assert h.iteration == list(range(1, 7))
    assert h.loss == h_ref.loss  # bit-identical sequence
    assert h.lam == h_ref.lam and h.params == h_ref.params and h.val_mse == h_ref.val_mse
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    other = AphynityTrainer(hybrid(False), config(checkpoint_dir=str(tmp_path / "b"), **{**kw, "tau1": 1e-3}))
    with pytest.warns(UserWarning, match=r"differs from the checkpoint's in \['tau1'\]"):
        other.load(tmp_path / "b")


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_non_finite_loss_stops_and_keeps_last_checkpoint(splits, tmp_path, method):
    integ = RK4 if method == "rk4" else IntegratorConfig(method="dopri5", rtol=1e-6, atol=1e-8)
    cfg = config(iterations=6, batch_size=25, checkpoint_every=2, checkpoint_dir=str(tmp_path), integrator=integ)
    trainer = AphynityTrainer(hybrid(False), cfg)

    def poison(iteration, record):
        if iteration == 3:
            with torch.no_grad():
                trainer.model.network.net[0].weight.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match="at iteration 4 .*last good checkpoint"):
        trainer.fit(splits[0], callback=poison)
    st = load_checkpoint(tmp_path)
    assert st["iteration"] == 2
    assert all(torch.isfinite(v).all() for v in st["model"].values())
    assert [f.name for f in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_neural_ode_and_param_ode_modes_learn(splits):
    train, _, test = splits
    torch.manual_seed(0)
    node = HybridModel(None, MLP(2, hidden=32, layers=2))
    tr = AphynityTrainer(node, config(iterations=30, min_norm=False, tau1=1e-2))
    before = tr.evaluate(test)["mse"]
    tr.fit(train)
    after = tr.evaluate(test)["mse"]
    # a Neural ODE learns in 30 steps: MSE ratio measured 0.17 (seeds 0/1/2: 0.17, 0.14, 0.18)
    assert after < 0.25 * before, (before, after)
    param = AphynityTrainer(hybrid(True, network=False), config(iterations=40))
    param.fit(train)
    m = param.evaluate(test)
    assert m["fa_norm2"] == 0.0
    # true model class, no network (deterministic): measured 2.66e-2, 7.98e-2 and MSE 1.97e-3 after
    # 40 steps from 36 % / 100 % off; thresholds 1.5x
    assert abs(m["params"]["omega0_sq"] - OMEGA0_SQ) / OMEGA0_SQ < 4e-2, m
    assert abs(m["params"]["alpha"] - ALPHA) / ALPHA < 0.12, m
    assert m["mse"] < 3e-3, m
    assert math.isfinite(m["log10_mse"]) and m["log10_mse"] == pytest.approx(math.log10(m["mse"]))


def test_paper_objective_with_progress_bar_and_adjoint(splits, capsys):
    """The "paper" form trains through the adjoint as well; the progress bar can be forced on.

    The adjoint run is compared with the same run by backpropagation through the solver (the
    exact discrete gradient): the adjoint's gradient differs only by the RK4 error of its
    backward solve, so the two runs must learn the same thing."""
    train = splits[0].subset(slice(0, 5))
    runs = {}
    for adjoint in (True, False):
        integ = IntegratorConfig(method="rk4", step_size=0.5, adjoint=adjoint)
        trainer = AphynityTrainer(hybrid(True), config(iterations=3, objective="paper", integrator=integ,
                                                       progress=adjoint))
        runs[adjoint] = trainer.fit(train)
    assert "APHYNITY" in capsys.readouterr().err  # tqdm wrote its bar to stderr
    h, ref = runs[True], runs[False]
    # loss = sqrt(fa_norm2) + lambda * L_traj, with lambda before this iteration's update
    lams = [1.0] + h.lam
    for j in range(3):
        assert h.loss[j] == pytest.approx(math.sqrt(h.fa_norm2[j]) + lams[j] * h.l_traj[j], rel=1e-12)
    # Learning: L_traj falls to 0.57 of its start in 3 iterations (network seeds 0/1/2: 0.57,
    # 0.52, 0.51); 0.65 requires most of that drop.
    assert h.l_traj[-1] < 0.65 * h.l_traj[0], h.l_traj
    # Same start, so the same first loss to round-off; then the adjoint's O(h^4) gradient error
    # moves the weights slightly: measured |dL_traj|/L_traj 1.1e-3 and physical parameters
    # 1.4e-5 apart after 3 iterations (seeds 0/1/2: up to 1.7e-3, 1.4e-5); thresholds ~5x.
    assert h.l_traj[0] == pytest.approx(ref.l_traj[0], rel=1e-12)
    assert h.l_traj[-1] == pytest.approx(ref.l_traj[-1], rel=5e-3)
    for name, value in ref.params[-1].items():
        assert h.params[-1][name] == pytest.approx(value, rel=1e-4), name


@pytest.mark.parametrize("name, bad, exc, match", [
    ("epochs", True, TypeError, "epochs must be an int, got bool"),
    ("batch_size", 4.0, TypeError, "batch_size must be an int, got float"),
    ("n_iter", "2", TypeError, "n_iter must be an int, got str"),
    ("iterations", 0, ValueError, "iterations must be an int >= 1, got 0"),
    ("validate_every", False, TypeError, "validate_every must be an int, got bool"),
    ("checkpoint_every", -1, ValueError, "checkpoint_every must be an int >= 0, got -1"),
    ("physics_warmup", 1.5, TypeError, "physics_warmup must be an int"),
    ("seed", -3, ValueError, "seed must be an int >= 0, got -3"),
    ("seed", None, TypeError, "seed must be an int, got NoneType"),
    ("log_every", torch.tensor(2.0), TypeError, "log_every must be an int"),
])
def test_config_counts_use_check_int(name, bad, exc, match):
    with pytest.raises(exc, match=match):
        AphynityConfig(**{name: bad})


def test_config_counts_accept_numpy_ints_and_store_python_ints():
    import numpy as np

    cfg = AphynityConfig(epochs=np.int64(3), seed=np.int32(5), iterations=None, validate_every=np.int16(2))
    assert (cfg.epochs, cfg.seed, cfg.validate_every) == (3, 5, 2)
    assert type(cfg.epochs) is int and type(cfg.seed) is int and cfg.iterations is None


# ----------------------------------------------------------------------------- validate_initial
def test_validate_initial_makes_the_start_a_candidate(splits):
    """``validate_initial=True`` validates the starting parameters at iteration 0; a start better
    than every update (here: the true physics with F_a = 0, then a learning rate so large that
    the updates only make it worse) is selected and restored. Default off: no iteration-0 entry."""
    train, val, _ = splits
    torch.manual_seed(0)
    phys = DampedPendulum(omega0_sq=OMEGA0_SQ, alpha=ALPHA, learnable=("omega0_sq", "alpha"))
    model = HybridModel(phys, MLP(2, hidden=16, layers=1, zero_output=True))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = AphynityTrainer(model, config(iterations=3, validate_every=1, tau1=0.5, validate_initial=True))
    h = trainer.fit(train, val)
    assert h.val_iteration[:1] == [0] and len(h.val_mse) == 4
    assert h.best_iteration == 0 and h.best_val_mse == h.val_mse[0] == min(h.val_mse)
    assert all(torch.equal(v, start[k]) for k, v in trainer.model.state_dict().items())  # the start, restored
    off = AphynityTrainer(hybrid(False), config(iterations=2, validate_every=1)).fit(train, val)
    assert off.val_iteration == [1, 2]
    with pytest.raises(TypeError, match="validate_initial must be a bool"):
        AphynityConfig(validate_initial=1)
