"""SSH <-> QG state (psi per layer, q): consistency with the model's own inversion and PV
definition, round trips, the vertical structures (analytic two-layer baroclinic mode), bad input."""
import math

import pytest
import torch

from physics import operators as op
from physics.grid import Grid
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state, vertical_weights

G, F0 = 9.81, 1e-4


def grid_of(boundary, n=(32, 24)):
    return Grid(*n, dx=2e4, dy=2.5e4, boundary=boundary, f0=F0, beta=1.5e-11)


def eddy_ssh(grid, loc="corner", offset=0.0):
    """A Gaussian SSH eddy, ~0 on the walls of a closed grid (e^-8 there)."""
    X, Y = grid.mesh(loc)
    return 0.3 * torch.exp(-((X - grid.Lx / 2) ** 2 + (Y - grid.Ly / 2) ** 2) / (2 * (grid.Ly / 8) ** 2)) + offset


MODELS = {
    "1layer": lambda g: QG(g),
    "1.5layer": lambda g: QG(g, Ld=3e4),
    "2layer": lambda g: QG(g, H=[500.0, 2000.0], g_prime=[0.02]),
    "3layer": lambda g: QG(g, H=[500.0, 1000.0, 2000.0], g_prime=[0.02, 0.01]),
    "2.5layer": lambda g: QG(g, H=[500.0, 1000.0], g_prime=[0.02, 0.01]),  # reduced gravity
    "1.5layer_spectral": lambda g: QG(g, Ld=3e4, spectral=True),  # periodic only
}
MODEL_GRIDS = [(m, b) for m in MODELS for b in ("periodic", "closed") if not (m.endswith("spectral") and b == "closed")]


@pytest.mark.parametrize("vertical", ["mode1", "barotropic", "surface"])
@pytest.mark.parametrize("name, boundary", MODEL_GRIDS)
def test_inversion_of_q_returns_psi_to_round_off(name, boundary, vertical):
    grid = grid_of(boundary)
    model = MODELS[name](grid)
    eta = torch.stack((eddy_ssh(grid), eddy_ssh(grid, offset=0.05)))  # a batch of 2, one with an offset
    psi, q = ssh_to_qg_state(eta, model, g=G, vertical=vertical)
    assert psi.shape == q.shape == (2, model.nlayers, grid.ny, grid.nx)
    # FFT/DST inversion of a well-conditioned operator on ~800 points: 1e-12 of max|psi|
    assert float((model.streamfunction(q) - psi).abs().max()) < 1e-12 * float(psi.abs().max())
    # the surface layer is g eta / f0 (up to the unrepresentable mean / the walls)
    w = vertical_weights(model, vertical)
    assert float(w[0]) == 1.0
    if boundary == "closed":
        assert float(psi[..., 0, :].abs().max()) == 0 and float(psi[..., :, 0].abs().max()) == 0
        inner = (slice(None), 0, slice(1, None), slice(1, None))
        assert torch.allclose(psi[inner], G * eta[:, 1:, 1:] / F0, rtol=1e-14, atol=0)


def test_q_is_the_models_pv_definition():
    # q_i = Lap psi_i + sum_j S_ij psi_j with the five-point Laplacian (physics.operators,
    # Dirichlet ghosts on a closed grid), computed independently here: round-off, 1e-12.
    for boundary in ("periodic", "closed"):
        grid = grid_of(boundary)
        model = QG(grid, H=[500.0, 1000.0, 2000.0], g_prime=[0.02, 0.01])
        psi, q = ssh_to_qg_state(eddy_ssh(grid), model, g=G)
        ghost = "neumann" if grid.periodic else "zero"
        expect = op.laplacian(psi, grid, ghost=ghost) + torch.einsum("ij,bjyx->biyx", model.S, psi)
        expect = expect * grid.mask("corner")
        assert float((q - expect).abs().max()) < 1e-12 * float(expect.abs().max())


def test_two_layer_first_baroclinic_mode_is_analytic():
    # Two layers (rigid lid): the baroclinic mode has H1 psi1 + H2 psi2 = 0, so w = (1, -H1/H2),
    # and q_1 = Lap psi_1 - (F1 + F2) psi_1 with F_i = f0^2 / (g' H_i) (Pedlosky 1987, 6.16).
    grid = grid_of("periodic")
    H1, H2, gp = 500.0, 2000.0, 0.02
    model = QG(grid, H=[H1, H2], g_prime=[gp])
    w = vertical_weights(model, "mode1")
    assert torch.allclose(w, torch.tensor([1.0, -H1 / H2], dtype=torch.float64), rtol=1e-12, atol=1e-15)
    psi, q = ssh_to_qg_state(eddy_ssh(grid), model, g=G)
    k2 = F0**2 / (gp * H1) + F0**2 / (gp * H2)
    expect = op.laplacian(psi[:, 0], grid) - k2 * psi[:, 0]
    assert float((q[:, 0] - expect).abs().max()) < 1e-12 * float(expect.abs().max())


def test_ssh_round_trip():
    for boundary in ("periodic", "closed"):
        grid = grid_of(boundary)
        eta = eddy_ssh(grid) * grid.mask("corner")  # closed: an anomaly that vanishes on the walls
        for model in (QG(grid, Ld=3e4), QG(grid, H=[500.0, 2000.0], g_prime=[0.02])):
            _, q = ssh_to_qg_state(eta, model, g=G)
            back = qg_state_to_ssh(q, model, g=G)[0]
            assert float((back - eta).abs().max()) < 1e-12 * float(eta.abs().max())  # round-off
    # 1 layer, periodic: the mean of psi carries no flow and cannot be represented
    grid = grid_of("periodic")
    model = QG(grid)
    eta = eddy_ssh(grid, offset=0.05)
    _, q = ssh_to_qg_state(eta, model, g=G)
    back = qg_state_to_ssh(q, model, g=G)[0]
    assert float((back - (eta - eta.mean())).abs().max()) < 1e-12 * float(eta.abs().max())


def test_centre_ssh_is_interpolated_to_second_order():
    # eta at the centres -> psi at the corners by the four-centre average: O(dx^2), ratio ~4
    # per halving (1 - cos^2(k h / 2) for a single Fourier mode: 3.99 from n = 16 to 32).
    errs = []
    for n in (16, 32):
        grid = Grid(n, n, Lx=1e6, Ly=1e6, f0=F0)
        k = 2 * math.pi / 1e6
        Xc, Yc = grid.mesh("center")
        Xq, Yq = grid.mesh("corner")
        model = QG(grid, Ld=3e4)
        psi, _ = ssh_to_qg_state(0.1 * torch.cos(k * Xc) * torch.cos(k * Yc), model, g=G, loc="center")
        exact = G / F0 * 0.1 * torch.cos(k * Xq) * torch.cos(k * Yq)
        errs.append(float((psi[0, 0] - exact).abs().max() / exact.abs().max()))
    assert errs[1] < (k * 1e6 / 32) ** 2 / 4  # (k h)^2 / 4: twice the leading term
    assert 3.8 < errs[0] / errs[1] < 4.2, errs
    eta_c = qg_state_to_ssh(ssh_to_qg_state(0.1 * torch.cos(k * Xc), model, loc="center")[1], model, loc="center")
    assert eta_c.shape == (1, 32, 32)


def test_state_is_differentiable_in_the_ssh():
    grid = Grid(6, 5, dx=2e4, dy=2e4, f0=F0)
    model = QG(grid, H=[500.0, 2000.0], g_prime=[0.02])
    eta = (0.1 * torch.rand(5, 6, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda e: ssh_to_qg_state(e, model)[1], (eta,))


def test_bad_input():
    grid = grid_of("periodic")
    model = QG(grid, H=[500.0, 2000.0], g_prime=[0.02])
    eta = eddy_ssh(grid)
    with pytest.raises(TypeError, match="model"):
        ssh_to_qg_state(eta, object())
    with pytest.raises(ValueError, match="eta"):
        ssh_to_qg_state(eta[:-1], model)
    with pytest.raises(ValueError, match="eta"):
        ssh_to_qg_state(eta[None, None], model)
    with pytest.raises(ValueError, match="non-finite"):
        ssh_to_qg_state(torch.full_like(eta, float("nan")), model)
    with pytest.raises(ValueError, match="vertical"):
        ssh_to_qg_state(eta, model, vertical=[1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match="vertical"):
        ssh_to_qg_state(eta, model, vertical=[0.5, 0.5])
    with pytest.raises(ValueError, match="vertical"):
        ssh_to_qg_state(eta, model, vertical="mode2")
    with pytest.raises(ValueError, match="f0"):
        ssh_to_qg_state(eta, model, f0=0.0)
    with pytest.raises(ValueError, match="loc"):
        qg_state_to_ssh(torch.zeros(1, 2, *grid.shape, dtype=torch.float64), model, loc="u")
    closed = QG(grid_of("closed"), H=[500.0, 2000.0], g_prime=[0.02])  # no mean to remove
    psi, _ = ssh_to_qg_state(eta, closed, vertical=[1.0, 0.3])  # explicit weights
    assert torch.allclose(psi[:, 1], 0.3 * psi[:, 0], rtol=1e-12, atol=1e-12 * float(psi.abs().max()))


def test_masked_model_state_is_zero_on_land_and_inverts_to_round_off():
    # A QG with land (mask=): psi and q must vanish on every land corner, as the model's own
    # inversion imposes, so that model.streamfunction(q) == psi (capacitance solve: round-off,
    # 1e-12 of max|psi|). Before the fix the walls' mask was used: the error was O(psi) on land.
    from _land import peninsula_basin

    grid = grid_of("closed")
    model = QG(grid, Ld=4e4, mask=peninsula_basin(grid.ny, grid.nx))
    psi, q = ssh_to_qg_state(eddy_ssh(grid), model, g=G)
    land = model.mask == 0
    assert float(psi[..., land].abs().max()) == 0 and float(q[..., land].abs().max()) == 0
    assert float((model.streamfunction(q) - psi).abs().max()) < 1e-12 * float(psi.abs().max())
