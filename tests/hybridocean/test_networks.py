"""hybridocean.networks: shapes, boundary-matched padding, no cross-sample dependence, input checks."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hybridocean.networks import MLP, ConvResNet, _pad_edges

F64 = torch.float64


def _conv(boundary: str, seed: int = 0) -> ConvResNet:
    torch.manual_seed(seed)
    return ConvResNet(3, hidden=8, layers=2, boundary=boundary, activation="tanh").to(F64)


def test_mlp_shapes_and_init_gain():
    torch.manual_seed(0)
    x = torch.randn(5, 2, dtype=F64)
    assert MLP(2, hidden=16, layers=2).to(F64)(x).shape == (5, 2)
    assert MLP(2, hidden=16, layers=2, out_dim=3).to(F64)(x).shape == (5, 3)
    # orthogonal weights, zero biases: the output is scaled by gain^(layers+1) = 0.2^4 exactly
    # for a positively homogeneous activation (ReLU) and the same orthogonal draws (same seed).
    torch.manual_seed(3)
    small = MLP(2, hidden=16, layers=3, init_gain=0.2).to(F64)
    torch.manual_seed(3)
    large = MLP(2, hidden=16, layers=3, init_gain=1.0).to(F64)
    # The weights are drawn in float32 (default dtype) and then cast, so the scaling holds to
    # float32 rounding of the weights (~6e-8 each, accumulated over 4 layers): rtol 1e-6.
    torch.testing.assert_close(small(x), 0.2**4 * large(x), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("shift", [(1, 0), (0, 3), (-2, 5)])
def test_periodic_net_commutes_with_roll(shift):
    net = _conv("periodic")
    x = torch.randn(2, 3, 8, 10, dtype=F64, generator=torch.Generator().manual_seed(1))
    rolled_in = net(torch.roll(x, shifts=shift, dims=(-2, -1)))
    rolled_out = torch.roll(net(x), shifts=shift, dims=(-2, -1))
    # circular padding makes every layer translation-equivariant on the torus: equal to round-off.
    torch.testing.assert_close(rolled_in, rolled_out, rtol=0, atol=1e-12)


def test_closed_net_does_not_commute_and_sees_walls():
    """Zero padding + the 'inside' channel: a zero field gives a non-uniform output (walls felt)."""
    net = _conv("closed")
    x = torch.randn(1, 3, 8, 8, dtype=F64, generator=torch.Generator().manual_seed(2))
    shift = (0, 3)
    assert not torch.allclose(net(torch.roll(x, shift, (-2, -1))), torch.roll(net(x), shift, (-2, -1)))
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 8, 8, dtype=F64))
    assert float((out[..., 0, 0] - out[..., 4, 4]).abs().max()) > 1e-6
    # interior points farther than the receptive-field radius (5 convs x 1) from every wall
    # do not see the walls: with a 16 x 16 field, point (8, 8) is 8 > 5 cells from all walls.
    big = net(torch.zeros(1, 3, 16, 16, dtype=F64))
    assert torch.allclose(big[..., 7, 8], big[..., 8, 8], rtol=0, atol=1e-14)


@pytest.mark.parametrize("boundary", ["periodic", "neumann"])
def test_uniform_field_stays_uniform(boundary):
    """Circular and replicate padding extend a constant field by the same constant."""
    net = _conv(boundary)
    out = net(torch.full((1, 3, 6, 7), 0.3, dtype=F64))
    torch.testing.assert_close(out, out[..., :1, :1].expand_as(out), rtol=0, atol=1e-13)


@pytest.mark.parametrize("boundary", ["periodic", "closed", "neumann"])
def test_no_cross_sample_dependence(boundary):
    net = _conv(boundary)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(4, 3, 6, 6, dtype=F64, generator=gen)
    y = x.clone()
    y[1:] = 10.0 * torch.randn(3, 3, 6, 6, dtype=F64, generator=gen)  # change every other sample
    assert torch.equal(net(x)[0], net(y)[0])
    # a batch of one gives the same result (to round-off: convolution kernels may block differently)
    torch.testing.assert_close(net(x[:1])[0], net(x)[0], rtol=0, atol=1e-13)
    net.train()
    a = net(x)
    net.eval()
    assert torch.equal(a, net(x))  # no batch statistics: train and eval modes agree
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


def test_network_input_checks():
    with pytest.raises(ValueError, match="boundary must be one of"):
        ConvResNet(2, boundary="open")
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvResNet(2, kernel_size=4)
    with pytest.raises(ValueError, match="channels must be >= 1"):
        ConvResNet(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(2, activation="swish")
    with pytest.raises(ValueError, match=r"x must be shaped \(batch, channels=2, ny, nx\)"):
        ConvResNet(2)(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"x must be shaped \(batch, in_dim=2\)"):
        MLP(2)(torch.zeros(4, 3))


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("boundary,mode", [("periodic", "circular"), ("neumann", "replicate")])
def test_edge_padding_matches_torch_pad(p, boundary, mode):
    """The concatenation padding equals ``F.pad`` (circular / replicate), values and gradients."""
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 7 + 2 * p, 9 + 2 * p, dtype=torch.float64)
    ours = _pad_edges(x, p, periodic=boundary == "periodic")
    ref = F.pad(x, (p, p, p, p), mode=mode)
    assert torch.equal(ours, ref)
    (g_ours,) = torch.autograd.grad((ours * w).sum(), x)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    assert torch.allclose(g_ours, g_ref, rtol=0, atol=1e-13)  # sums of the same terms, reordered


@pytest.mark.parametrize("make", [lambda: MLP(2, 16, 2, zero_output=True),
                                  lambda: ConvResNet(2, 8, 1, boundary="periodic", zero_output=True)])
def test_zero_output_starts_at_zero_and_learns(make):
    """``zero_output``: F_a = 0 exactly at start, yet one gradient step makes it non-zero."""
    torch.manual_seed(0)
    net = make().to(F64)
    x = torch.randn(3, 2, 6, 6, dtype=F64) if isinstance(net, ConvResNet) else torch.randn(3, 2, dtype=F64)
    assert torch.count_nonzero(net(x)) == 0
    target = torch.ones_like(x)
    ((net(x) - target) ** 2).mean().backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert torch.count_nonzero(net(x)) > 0
