"""Options of the learned estimator's encoder and estimate: two-sided windows (``lookahead``),
dilated encoder blocks (``dilations``) and the state ensemble over the forecasts (``ensemble``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_learned import DT, qg_grid, small_config, twin

from hybridocean.estimation.base import prepare_inputs
from hybridocean.estimation.learned import LearnedEstimator
from hybridocean.estimation.obs_training import build_windows
from hybridocean.networks import ConvResNet
from hybridocean.observations import to_gridded
from physics.qg import QG


def test_lookahead_windows_read_the_right_frames():
    """Frame j of the window of state k is frame k + F - W + 1 + j, with age (t_k - t_j) / (W dt):
    checked on frames whose values are their own index (exact: small integers)."""
    g, times, _, obs, _ = twin(8)
    view = to_gridded(obs, g, times)
    T = len(times)
    view = view.assign(ssh=(view["ssh"].dims, np.broadcast_to(np.arange(T, dtype=float)[:, None, None] + 1.0,
                                                              view["ssh"].shape).copy()),
                       mask=(view["ssh"].dims, np.ones(view["ssh"].shape)))
    W, F, K = 4, 2, 3
    d = build_windows(view, view, W, K, DT, 1.0, lookahead=F)
    assert d.features.shape[0] == T - max(K, F + 1) + 1 - (W - 1 - F)  # full windows only
    for n, k in enumerate(range(W - 1 - F, W - 1 - F + len(d))):
        vals = d.features[n, 0::3, 0, 0]
        ages = d.features[n, 2::3, 0, 0]
        frames = k + F - W + 1 + np.arange(W)
        assert torch.equal(vals, torch.as_tensor(frames + 1.0))
        assert torch.allclose(ages, torch.as_tensor((k - frames) / W, dtype=torch.float64), rtol=0, atol=1e-15)
        assert torch.equal(d.target[n, :, 0, 0], torch.as_tensor(k + np.arange(K) + 1.0))
    e = build_windows(view, view, W, 2, DT, 1.0, ends=np.arange(T), lookahead=F)
    assert float(e.features[-1, 3 * (W - 1) + 1].abs().max()) == 0.0  # beyond the record: empty
    assert float(e.mask[-1, 1].abs().max()) == 0.0
    with pytest.raises(ValueError, match="lookahead"):
        build_windows(view, view, W, K, DT, 1.0, lookahead=W)


def test_dilated_blocks_reach_exactly_their_receptive_field():
    """A ConvResNet of 3x3 convolutions with block dilations (1, 2) has receptive field radius
    1 (lift) + 2 (1 + 2) + 1 (projection) = 8 cells: a point change moves the output 8 cells away
    and none 9 away; it still commutes with periodic translations (to 1e-12 of the output: the
    convolution's blocked sums may run in another order at another position)."""
    torch.manual_seed(0)
    net = ConvResNet(1, hidden=4, layers=2, dilations=(1, 2)).double()
    x = torch.randn(1, 1, 32, 32, dtype=torch.float64)
    y = x.clone()
    y[0, 0, 16, 16] += 1.0
    with torch.no_grad():
        diff = (net(y) - net(x)).abs()[0, 0]
        assert float(diff[16, 24]) > 0 and float(diff[16, 25]) == 0.0 and float(diff[16, 7]) == 0.0
        a, b = net(torch.roll(x, (3, 5), (-2, -1))), torch.roll(net(x), (3, 5), (-2, -1))
    assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max()))
    with pytest.raises(ValueError, match="dilations"):
        ConvResNet(1, layers=2, dilations=(1,))


def test_ensemble_averages_the_encoded_state_and_earlier_forecasts(tmp_path):
    """With ensemble M = 2 the state at t_k is (X_k + Phi_dt(X_{k-1})) / 2 (X_0 alone at the first
    time), by the trained dynamics: checked against the estimator's own encoder and trainer
    forecast (1e-12 relative); saving keeps the option."""
    g, times, _, obs, _ = twin(8)
    est = LearnedEstimator(QG(qg_grid(), Ld=4e4), window=3, horizon=2, hidden=4, layers=1, seed=0, lookahead=1)
    est.fit(obs, g, times, config=small_config(iterations=2))
    inputs = prepare_inputs(obs, g, times)
    x = est.encode(inputs)
    est.ensemble = 2
    xe = est.encode(inputs)
    with torch.no_grad():
        f = est.trainer.forecast(x[:-1], DT * torch.arange(2, dtype=torch.float64), grad=False)[:, 1]
    assert torch.equal(xe[0], x[0])
    assert torch.allclose(xe[1:], 0.5 * (x[1:] + f), rtol=1e-12, atol=0)
    back = LearnedEstimator.load(est.save(tmp_path / "e.pt"), QG(qg_grid(), Ld=4e4))
    assert back.ensemble == 2 and back.lookahead == 1
    assert torch.equal(back.encode(inputs), xe)


@pytest.mark.parametrize("boundary", ["periodic", "closed", "neumann"])
def test_normalized_convolution_reproduces_a_constant_through_gaps(boundary):
    """A constant observed field through random gaps (and beside walls) is returned exactly where
    any observation lies within reach (1e-14: a ratio of two smoothed sums of the same weights),
    0 where none does; the confidences are the smoothed mask fractions, in [0, 1]."""
    from hybridocean.estimation.encoder import NormalizedConvolution, window_features
    gen = torch.Generator().manual_seed(0)
    mask = (torch.rand(2, 3, 16, 16, generator=gen) < 0.2).to(torch.float64)
    mask[1] = 0.0
    mask[1, :, 3, 4] = 1.0  # one observed cell: reach 3 sigma = 3 cells of it
    values = torch.full_like(mask, 0.7)
    f = window_features(values, mask, torch.zeros(3, dtype=torch.float64), 1.0)
    out = NormalizedConvolution([1.0], boundary)(f)
    est, conf = out[:, 0], out[:, 1]
    reach = conf > 0
    assert torch.allclose(est[reach], torch.full_like(est[reach], 0.7), rtol=1e-14, atol=0)
    assert float(est[~reach].abs().max()) == 0.0 and bool(reach[1, 3, 4]) and not bool(reach[1, 10, 10])
    assert float(conf.min()) >= 0.0 and float(conf.max()) <= 1.0


def test_balanced_state_map_is_geostrophic_without_hidden_channels():
    """With the hidden channels 0 the shallow-water state's velocities are exactly the geostrophic
    ones of its SSH (masked walls); the hidden channels add h z (the ageostrophic part)."""
    from hybridocean.estimation.obs_training import BalancedStateMap
    from physics.geostrophy import geostrophic_velocities
    from physics.grid import Grid
    from physics.shallow_water import ShallowWater
    g = Grid(nx=12, ny=10, dx=2e4, dy=2e4, boundary="closed", f0=1e-4, beta=1.6e-11)
    sm = BalancedStateMap(ShallowWater(g, g=9.81, H=1.0), hidden_scale=0.1)
    z = torch.randn(2, 3, 10, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z0 = z.clone()
    z0[:, 1:] = 0
    x, x0 = sm.to_state(z, 0.05), sm.to_state(z0, 0.05)
    ug, vg = geostrophic_velocities(0.05 * z[:, 0], g, g=9.81, at="uv")
    assert torch.equal(x0[:, 1], ug * g.mask("u")) and torch.equal(x0[:, 2], vg * g.mask("v"))
    assert torch.allclose(x[:, 1] - x0[:, 1], 0.1 * z[:, 1] * g.mask("u"), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="Coriolis"):
        BalancedStateMap(ShallowWater(Grid(nx=8, ny=8, dx=2e4, dy=2e4, boundary="closed"), g=9.81, H=1.0))
