"""The learned estimator's ``output`` option (:func:`hybridocean.estimation.learned_report.output_ssh`):
the encoder's SSH map and its geostrophic currents (default for QG) or the QG state's own, on the
tiny 16x16 QG twin of ``test_learned``."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_learned import DT, qg_grid, small_config, twin
from test_learned_first_guess import OI_KW, estimator, untrained

from hybridocean.estimation.base import prepare_inputs
from hybridocean.estimation.learned import LearnedEstimator
from hybridocean.estimation.oi import OptimalInterpolation
from physics.qg import QG


@pytest.fixture(scope="module")
def data():
    g, times, ssh, obs, held = twin(8)
    oi = OptimalInterpolation(**OI_KW).estimate(obs, g, times, staggered=True)
    return g, times, obs, held, oi


def _max_err(a: np.ndarray, b: np.ndarray) -> float:
    """Max |a - b| relative to the RMS of ``b``."""
    return float(np.max(np.abs(a - b)) / np.sqrt(np.mean(b ** 2)))


def test_untrained_encoder_output_is_the_first_guess_and_its_geostrophic_currents(data):
    """Zero-initialised head, QG physics, default ``output="encoder"``: the estimate's SSH is the
    OI map (``s * (eta / s)``: 1e-14 of its RMS, float64 rounding) and its currents, centred and
    staggered, the OI's geostrophic currents of it (the same operator on SSH equal to rounding:
    1e-12 of their RMS, the difference quotient over a 20 km cell amplifies the 1e-16 relative
    rounding by L / dx ~ a few). ``output="state"`` is the OI through the QG state map: not the
    OI's currents (the face velocities of ``psi`` averaged to the centres; >1 % off)."""
    g, times, obs, _, oi = data
    est = untrained(estimator(OptimalInterpolation(**OI_KW)), obs, g, times)
    assert est.output == "encoder" and est.parameters()["output"] == "encoder"
    ds = est.estimate(obs, g, times, staggered=True)
    assert ds.attrs["velocity_kind"] == "geostrophic"
    assert _max_err(ds["ssh"].values, oi["ssh"].values) <= 1e-14
    for name in ("u", "v", "u_c", "v_c"):
        assert _max_err(ds[name].values, oi[name].values) <= 1e-12, name
    state = untrained(estimator(OptimalInterpolation(**OI_KW), output="state"), obs, g, times).estimate(obs, g, times)
    assert _max_err(state["u"].values, oi["u"].values) > 1e-2
    assert _max_err(state["ssh"].values, oi["ssh"].values) > 1e-6  # H(S(eta)) smooths the grid scale


def test_encoder_output_with_an_ensemble_averages_the_forecasts_ssh(data):
    """``ensemble = 2``, ``output="encoder"``: SSH at ``t_k`` is ``(s z_0[k] + H(Phi_dt(X_{k-1}))) / 2``
    (the encoder's map alone at ``t_0``), checked against the estimator's own encoder and trainer
    forecast (1e-12 relative: the same float64 operations, another grouping); the currents are its
    geostrophic ones. ``map_ssh`` returns the same SSH."""
    g, times, obs, held, _ = data
    est = estimator(None).fit(obs, g, times, config=small_config(iterations=2, dtype="float64"))
    est.ensemble = 2
    inputs = prepare_inputs(obs, g, times)
    x, z = est._encode(inputs, None)
    with torch.no_grad():
        f = est.trainer.forecast(x[:-1], DT * torch.arange(2, dtype=torch.float64), grad=False)[:, 1]
        want = est.scale * z[:, 0]
        want[1:] = 0.5 * (want[1:] + est.state_map.observe(f))
    ds = est.estimate(obs, g, times)
    assert torch.equal(est.map_ssh(inputs), torch.as_tensor(ds["ssh"].values))
    assert _max_err(ds["ssh"].values, want.numpy()) <= 1e-12
    u, v = est.currents(torch.as_tensor(ds["ssh"].values), g)
    assert np.array_equal(ds["u"].values, u.numpy()) and np.array_equal(ds["v"].values, v.numpy())


def test_output_is_saved_and_checked(data, tmp_path):
    """Save/load keeps ``output`` (estimates bit for bit); neural dynamics default to ``"state"``,
    identical to ``"encoder"`` (its state's SSH channel is the encoder's); bad values are refused."""
    g, times, obs, _, _ = data
    for output in ("state", "encoder"):
        est = estimator(None, output=output).fit(obs, g, times, config=small_config(iterations=1))
        path = est.save(tmp_path / f"{output}.pt")
        assert LearnedEstimator.read_metadata(path)["args"]["output"] == output
        back = LearnedEstimator.load(path, QG(qg_grid(), Ld=4e4))
        assert back.output == output
        a, b = est.estimate(obs, g, times), back.estimate(obs, g, times)
        for name in ("ssh", "u", "v"):
            assert np.array_equal(a[name].values, b[name].values), (output, name)
    neural = [untrained(estimator(None, physics=False, **kw), obs, g, times) for kw in ({}, {"output": "encoder"})]
    assert neural[0].output == "state"
    a, b = (n.estimate(obs, g, times) for n in neural)
    for name in ("ssh", "u", "v"):
        assert np.array_equal(a[name].values, b[name].values), name
    with pytest.raises(ValueError, match="output must be one of"):
        estimator(None, output="forecast")
