"""Discrete adjoint of AB3 + the hand-written QG vjp (physics.stepping_adjoint, physics.qg_adjoint).

The fast gradient path of ``integrate_fixed`` must give the gradient of the very same discrete
trajectory as plain autograd: checked against finite differences (gradcheck, float64) and
against autograd through the reference path (``adjoint="autograd"``).
"""
from __future__ import annotations

import math

import pytest
import torch

from physics.grid import Grid
from physics.qg import QG
from physics.stepping import NonFiniteStateError, integrate_fixed

# Non-dimensional O(1) setup so that finite differences in gradcheck are well conditioned.
LAYERS = {
    "1-layer": dict(),
    "2-layer": dict(H=[1.0, 2.0], g_prime=[1.0], U=[0.3, 0.0], drag=0.05, tau0=50.0),
    "3-layer": dict(H=[1.0, 1.5, 2.0], g_prime=[1.0, 0.5], U=[0.2, 0.1, 0.0], drag=0.05),
}


def _model(name, n=(8, 6), device="cpu", boundary="periodic", **kw):
    g = Grid(n[0], n[1], dx=1.0, dy=1.2, boundary=boundary, f0=1.0, beta=0.2, device=device)
    cfg = dict(LAYERS[name])
    if boundary == "closed":
        cfg.pop("U", None)
    return QG(g, **cfg, **kw)


def _q0(model, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = model.grid
    return (0.5 * torch.randn(batch, model.nlayers, g.ny, g.nx, generator=gen, dtype=torch.float64)).to(g.device)


def _graph_names(t: torch.Tensor) -> set:
    seen, stack, names = set(), [t.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.add(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    return names


def _projected_run(m, x, n_steps, save_every):
    """Saved states projected on fixed random fields, ``(S, B, N)``: few outputs keep gradcheck's
    one-backward-per-output cheap while every state entry still enters the checked vjp."""
    w = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    return lambda x: (w * integrate_fixed(m, x, 0.05, n_steps, save_every=save_every)[1]).sum((-2, -1))


def test_discrete_adjoint_gradcheck_periodic():
    """The whole AB3 run (RK4 start, then one adjoint node) against finite differences."""
    m = _model("2-layer")
    x = _q0(m, batch=1).requires_grad_()
    run = _projected_run(m, x, 8, 3)  # saves steps 0, 3, 6
    assert "_AB3AdjointBackward" in _graph_names(run(x))
    assert torch.autograd.gradcheck(run, (x,))


def test_closed_grid_uses_autograd_and_passes_gradcheck():
    """Closed basins have no hand-written adjoint (discrete_adjoint() is None): plain autograd."""
    m = _model("2-layer", boundary="closed")
    assert m.discrete_adjoint() is None
    x = _q0(m, batch=1).requires_grad_()
    run = _projected_run(m, x, 6, 3)
    assert "_AB3AdjointBackward" not in _graph_names(run(x))
    assert torch.autograd.gradcheck(run, (x,))


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("start", ["rk4", "ab"])
def test_matches_autograd_reference(name, start, device):
    """Same states bit for bit (same operations), same gradient to round-off: 40 steps of
    float64 with different summation order accumulate ~1e-14 relative; 1e-10 leaves margin
    while any wrong adjoint term gives O(1e-3..1)."""
    m = _model(name, n=(16, 12), device=device)
    q0 = _q0(m)
    w = torch.randn(q0.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64).to(device)
    res = {}
    for mode in ("autograd", "auto"):
        x = q0.clone().requires_grad_()
        _, qs = integrate_fixed(m, x, 0.05, 40, save_every=7, method="ab3", start=start, adjoint=mode)
        loss = (qs[-1] ** 2).sum() + (w * qs[2]).sum() + (qs[1] ** 3).sum()  # saved steps 35, 14, 7
        loss.backward()
        res[mode] = (qs.detach(), x.grad, _graph_names(qs))
    assert "_AB3AdjointBackward" in res["auto"][2] and "_AB3AdjointBackward" not in res["autograd"][2]
    assert torch.equal(res["auto"][0], res["autograd"][0])
    ref, got = res["autograd"][1], res["auto"][1]
    assert float((got - ref).abs().max() / ref.abs().max()) < 1e-10


def test_not_used_where_it_does_not_apply():
    """Viscosity, spectral models and learnable parameters fall back to plain autograd."""
    assert _model("2-layer", nu=0.01).discrete_adjoint() is None
    assert _model("2-layer", spectral=True).discrete_adjoint() is None
    m = _model("2-layer", learnable=["drag"])
    assert m.discrete_adjoint() is None
    x = _q0(m).requires_grad_()
    _, qs = integrate_fixed(m, x, 0.05, 5)
    qs[-1].sum().backward()
    assert m.params["drag"].raw.grad is not None and x.grad is not None


def test_nan_in_fast_path_names_the_step():
    """The adjoint path checks every step like the plain loop: the same first bad step."""
    m = _model("1-layer")
    q0 = 1e3 * _q0(m)
    msgs = []
    for mode in ("autograd", "auto"):
        with pytest.raises(NonFiniteStateError) as err:
            integrate_fixed(m, q0.clone().requires_grad_(), 5.0, 200, method="ab3", adjoint=mode)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1] and "step" in msgs[0] and not msgs[0].startswith("state became non-finite (NaN/Inf) at step 1 ")


def test_bad_adjoint_argument():
    with pytest.raises(ValueError, match="adjoint"):
        integrate_fixed(lambda t, x: -x, torch.ones(2, dtype=torch.float64), 0.1, 3, adjoint="magic")


def test_no_saved_state_after_start_and_no_grad():
    """Edge cases: nothing saved inside the AB3 phase, and a run without gradients."""
    m = _model("2-layer")
    x = _q0(m).requires_grad_()
    _, qs = integrate_fixed(m, x, 0.05, 5, save_every=10)  # only the initial state is saved
    assert qs.shape[0] == 1 and torch.equal(qs[0], x)
    with torch.no_grad():
        _, a = integrate_fixed(m, x, 0.05, 5)
    _, b = integrate_fixed(m, x, 0.05, 5)
    assert torch.equal(a, b.detach()) and math.isfinite(float(a.sum()))
