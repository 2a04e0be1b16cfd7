"""APHYNITY reference data sets: seeded generators, netCDF cache, physical priors, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from hybridocean.datasets import PRIORS, generate, get_system, load_dataset, make_prior, systems
from hybridocean.datasets.base import trajectory_rng
from hybridocean.hybrid import HybridModel
from hybridocean.integrate import odeint
from hybridocean.networks import MLP, ConvResNet

SYSTEMS = ("pendulum", "reaction_diffusion", "wave")
#: Max-norm agreement between each generator and the "true" prior integrated independently by
#: hybridocean.integrate.odeint (dopri5, rtol 1e-10): pendulum -- DOP853 at rtol 1e-10 vs dopri5 at
#: rtol 1e-10 on states of size ~2 over 40 frames; RD -- the generator's RK4 with h = 5e-3 has max
#: error 8e-9 (measured against dopri5 rtol 1e-11); wave -- RK4 with h = 5e-5 has 6.5e-8 on w_t of
#: size ~120 (2e-10 on w of size 1), and dopri5 at rtol 1e-10 itself differs from rtol 1e-12 by
#: 1.6e-8. Each bound is ~3x the measured error.
REPRODUCE_ATOL = {"pendulum": 1e-8, "reaction_diffusion": 3e-8, "wave": 2e-7}
N_SMALL = {"pendulum": 3, "reaction_diffusion": 2, "wave": 1}


def test_registry_and_specs():
    assert set(systems()) == set(SYSTEMS)
    for name in SYSTEMS:
        spec = get_system(name)
        assert spec.physics.CHANNELS == spec.channels
        assert set(spec.priors) == {"true", "complete", "incomplete"}
        t = spec.times()
        assert t.shape == (spec.n_frames,) and float(t[1] - t[0]) == pytest.approx(spec.dt, rel=1e-12)
    pend = get_system("pendulum")
    assert pend.n_frames == 40 and float(pend.times()[-1]) == 19.5
    assert pend.sizes == {"train": 25, "val": 25, "test": 25}
    assert get_system("reaction_diffusion").sizes["train"] == 1600
    assert get_system("reaction_diffusion").sizes["test"] == 320
    assert float(get_system("reaction_diffusion").times()[-1]) == pytest.approx(2.5)
    assert get_system("wave").n_frames == 25 and get_system("wave").state_shape == (2, 64, 64)


@pytest.mark.parametrize("system", SYSTEMS)
def test_generator_is_seeded_deterministic_and_prefix_stable(system):
    spec = get_system(system)
    a = generate(system, "train", 2, seed=0)
    assert a.x.shape == (2, spec.n_frames) + spec.state_shape
    assert a.x.dtype == torch.float64 and torch.isfinite(a.x).all()
    # each trajectory depends only on (seed, split, index): a smaller set is an exact prefix, and a
    # second generation gives bit-identical data
    assert torch.equal(generate(system, "train", 1, seed=0).x[0], a.x[0])
    assert not torch.equal(a.x[0], a.x[1])
    # initial states differ between splits and seeds
    x0 = spec.initial_state(trajectory_rng(0, "train", 0))
    assert np.array_equal(x0, a.x[0, 0].numpy())
    assert not np.array_equal(x0, spec.initial_state(trajectory_rng(0, "test", 0)))
    assert not np.array_equal(x0, spec.initial_state(trajectory_rng(1, "train", 0)))


def test_initial_state_distributions():
    pend = get_system("pendulum")
    r = np.array([np.hypot(*pend.initial_state(trajectory_rng(0, "train", i))) for i in range(200)])
    assert r.min() >= 1.3 and r.max() <= 2.3 and r.max() - r.min() > 0.8
    rd = get_system("reaction_diffusion").initial_state(trajectory_rng(0, "train", 0))
    assert rd.shape == (2, 32, 32) and rd.min() >= 0 and rd.max() < 1 and abs(rd.mean() - 0.5) < 0.05
    for i in range(20):
        w = get_system("wave").initial_state(trajectory_rng(0, "val", i))
        j, k = np.unravel_index(np.argmax(w[0]), w[0].shape)
        assert w[0].max() == 1.0 and 20 <= j < 40 and 20 <= k < 40
        assert np.all(w[1] == 0)


@pytest.mark.parametrize("system", SYSTEMS)
def test_true_prior_reproduces_the_data(system):
    """F_a off, true parameters: an independent adaptive integration matches the generator."""
    data = generate(system, "test", N_SMALL[system], seed=3)
    spec = get_system(system)
    boundary = "periodic" if system == "reaction_diffusion" else "neumann"
    net = MLP(2, hidden=8) if len(spec.state_shape) == 1 else ConvResNet(2, hidden=4, boundary=boundary)
    model = HybridModel(make_prior(system, "true"), net.double(), augment=False)
    pred = odeint(model, data.x[:, 0], data.t, method="dopri5", rtol=1e-10, atol=1e-12)
    err = (pred - data.x).abs().max().item()
    assert err <= REPRODUCE_ATOL[system], f"{system}: max error {err:.3g}"


def test_wrong_parameters_do_not_reproduce_the_data():
    """The check above can fail: the incomplete (frictionless) prior misses the data by O(1)."""
    data = generate("pendulum", "test", 2, seed=3)
    model = make_prior("pendulum", "incomplete")
    with torch.no_grad():
        model.params["omega0_sq"].raw.fill_(math.log(get_system("pendulum").true_params["omega0_sq"] / 0.2))
    pred = odeint(model, data.x[:, 0], data.t, method="dopri5", rtol=1e-8, atol=1e-10)
    assert (pred - data.x).abs().max() > 0.1


def test_cache_round_trips_exactly_through_netcdf(tmp_path):
    first = load_dataset("pendulum", "val", n=4, seed=5, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".nc"  # no temporary file left behind
    with xr.open_dataset(files[0], engine="netcdf4") as ds:
        assert ds["x"].dtype == np.float64 and ds.attrs["system"] == "pendulum"
        assert list(ds["channel"].values) == ["theta", "omega"]
    again = load_dataset("pendulum", "val", n=4, seed=5, cache_dir=tmp_path)
    assert torch.equal(first.x, again.x) and torch.equal(first.t, again.t)
    fresh = load_dataset("pendulum", "val", n=4, seed=5, use_cache=False)
    assert torch.equal(first.x, fresh.x)
    field = load_dataset("wave", "val", n=1, seed=0, cache_dir=tmp_path)
    assert torch.equal(field.x, load_dataset("wave", "val", n=1, seed=0, cache_dir=tmp_path).x)
    assert len(list(tmp_path.glob("*.nc"))) == 2


def test_cache_reads_the_stored_file(tmp_path):
    """A second load comes from disk: altering the file's values shows up in what is loaded."""
    load_dataset("pendulum", "train", n=2, seed=0, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.nc")
    with xr.open_dataset(path, engine="netcdf4") as ds:
        ds = ds.load()
    ds["x"].values[:] = 7.0
    ds.to_netcdf(path, engine="netcdf4")
    assert torch.all(load_dataset("pendulum", "train", n=2, seed=0, cache_dir=tmp_path).x == 7.0)


@pytest.mark.parametrize("system", SYSTEMS)
def test_priors(system):
    spec = get_system(system)
    assert make_prior(system, "none") is None
    true = make_prior(system, "true")
    assert set(true.params) == set(spec.true_params)
    assert not any(p.requires_grad for p in true.parameters())
    for name, v in spec.true_params.items():
        assert float(true.params[name].value) == pytest.approx(v, rel=1e-14)
    complete = make_prior(system, "complete")
    assert set(complete.params) == set(spec.true_params)
    assert all(complete.params[n].learnable for n in complete.params)
    for name, v in spec.init_params.items():
        assert float(complete.params[name].value.detach()) == pytest.approx(v, rel=1e-12)
    incomplete = make_prior(system, "incomplete")
    assert set(incomplete.params) == set(spec.priors["incomplete"].params) < set(spec.true_params)
    fixed = make_prior(system, "complete", learnable=False)
    assert not any(p.requires_grad for p in fixed.parameters())


def test_incomplete_priors_drop_the_papers_terms():
    assert not make_prior("pendulum", "incomplete").friction
    assert not make_prior("reaction_diffusion", "incomplete").reaction
    assert not make_prior("wave", "incomplete").damping


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="system must be one of"):
        load_dataset("lorenz", "train", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="split must be one of"):
        load_dataset("pendulum", "training", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        load_dataset("pendulum", "train", n=0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        load_dataset("pendulum", "train", n=1, seed=-1, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="preset must be one of"):
        load_dataset("pendulum", "train", preset="huge", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="prior must be one of"):
        make_prior("pendulum", "partial")
    with pytest.raises(ValueError, match="system must be one of"):
        make_prior("pendulm", "true")
    with pytest.raises(TypeError, match="prior must be a string"):
        make_prior("wave", None)
    model = make_prior("wave", "true")
    with pytest.raises(ValueError, match="2 channels"):
        model(0.0, torch.zeros(1, 3, 64, 64, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        make_prior("pendulum", "complete")(0.0, torch.zeros(4, dtype=torch.float64))
    assert set(PRIORS) == {"none", "incomplete", "complete", "true"}


@pytest.mark.parametrize("kw, exc, match", [
    (dict(n=True), TypeError, "n must be an int, got bool"),
    (dict(n=2.0), TypeError, "n must be an int, got float"),
    (dict(n=1, seed=1.0), TypeError, "seed must be an int, got float"),
    (dict(n=1, seed=False), TypeError, "seed must be an int, got bool"),
    (dict(n=1, seed="0"), TypeError, "seed must be an int, got str"),
])
def test_integer_arguments_use_check_int(tmp_path, kw, exc, match):
    with pytest.raises(exc, match=match):
        load_dataset("pendulum", "train", cache_dir=tmp_path, **kw)
    with pytest.raises(exc, match=match):
        generate("pendulum", "train", **{"n": 1, **kw})
    assert not list(tmp_path.iterdir())  # refused before any cache file is written


def test_trajectory_rng_and_solver_counts():
    from hybridocean.datasets.solvers import rk4_substeps

    assert trajectory_rng(np.int64(2), "val", 3).random() == np.random.default_rng([2, 1, 3]).random()
    with pytest.raises(ValueError, match="index must be an int >= 0, got -1"):
        trajectory_rng(0, "train", -1)
    with pytest.raises(TypeError, match="substeps must be an int, got float"):
        rk4_substeps(make_prior("pendulum", "true"), torch.zeros(1, 2, dtype=torch.float64),
                     torch.tensor([0.0, 0.5], dtype=torch.float64), 2.5)
