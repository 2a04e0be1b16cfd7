"""Bad input to physics.qg.QG fails loudly with a message naming the argument."""
from __future__ import annotations

import math

import pytest
import torch

from physics.grid import Grid
from physics.qg import QG

G = Grid(16, 12, dx=1e4, dy=1e4, f0=1e-4, beta=1e-11)
GC = Grid(16, 12, dx=1e4, dy=1e4, boundary="closed", f0=1e-4, beta=1e-11)
TWO = dict(H=[500.0, 2000.0], g_prime=[0.02])


def test_channels_constant():
    assert QG(G).CHANNELS == ("q1",)
    assert QG(G, **TWO).CHANNELS == ("q1", "q2")
    assert QG(G, H=[1.0, 2.0, 3.0], g_prime=[0.1, 0.1]).CHANNELS == ("q1", "q2", "q3")


@pytest.mark.parametrize(
    "q, match",
    [
        (torch.zeros(1, 3, 12, 16, dtype=torch.float64), "2 channels"),
        (torch.zeros(2, 12, 16, dtype=torch.float64), "4-D"),
        (torch.zeros(1, 2, 12, 15, dtype=torch.float64), "match the grid"),
        (torch.full((1, 2, 12, 16), math.nan, dtype=torch.float64), "non-finite"),
        (torch.full((1, 2, 12, 16), math.inf, dtype=torch.float64), "non-finite"),
    ],
)
def test_bad_state(q, match):
    m = QG(G, **TWO)
    for fn in (lambda x: m(0.0, x), m.streamfunction, m.total_energy, m.enstrophy):
        with pytest.raises(ValueError, match=match):
            fn(q)


def test_not_a_tensor():
    with pytest.raises(TypeError, match="q must be a torch.Tensor"):
        QG(G)(0.0, [[0.0]])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(H=[500.0, -1.0], g_prime=[0.02]), ValueError, r"H\[1\]"),
        (dict(H=[500.0, 0.0], g_prime=[0.02]), ValueError, r"H\[1\]"),
        (dict(H=[500.0, 2000.0], g_prime=[0.0]), ValueError, r"g_prime\[0\]"),
        (dict(H=[500.0, 2000.0], g_prime=[-0.02]), ValueError, r"g_prime\[0\]"),
        (dict(H=[500.0, 2000.0]), ValueError, "g_prime"),
        (dict(H=[500.0, 2000.0], g_prime=[0.1, 0.1, 0.1]), ValueError, "g_prime"),
        (dict(H=[500.0, 2000.0], g_prime=[0.02], f0=0.0), ValueError, "f0"),
        (dict(Ld=0.0), ValueError, "Ld"),
        (dict(Ld=-3e4), ValueError, "Ld"),
        (dict(Ld=3e4, H=[1.0, 2.0], g_prime=[0.1]), ValueError, "Ld"),
        (dict(H=[500.0, 2000.0], g_prime=[0.02], U=[0.1]), ValueError, "U"),
        (dict(drag=-1e-7), ValueError, "drag"),
        (dict(nu=-1.0), ValueError, "nu"),
        (dict(nu4=math.nan), ValueError, "nu4"),
        (dict(beta=math.inf), ValueError, "beta"),
        (dict(rho0=0.0), ValueError, "rho0"),
        (dict(tau0=0.1), ValueError, "H"),
        (dict(g_prime=[0.02]), ValueError, "H"),
        (dict(learnable=["drag"]), ValueError, "drag"),
        (dict(learnable=["kappa"]), ValueError, "kappa"),
        (dict(learnable=["Ld"]), ValueError, "Ld"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        QG(G, **kwargs)


def test_bad_boundary_combinations():
    with pytest.raises(ValueError, match="spectral=True needs boundary='periodic'"):
        QG(GC, spectral=True)
    with pytest.raises(ValueError, match="U .* closed basin"):
        QG(GC, U=[0.1])
    with pytest.raises(TypeError, match="grid"):
        QG("periodic")
    with pytest.raises(ValueError, match="boundary"):
        Grid(8, 8, dx=1.0, dy=1.0, boundary="channel")
