"""``learnable`` of every physics model, parsed once (physics.parameters.parse_learnable).

For each model and each of its parameters, the single-name string form, the tuple form and
``True`` must make exactly those parameters ``nn.Parameter``s that receive a gradient and move
after one optimiser step; the other parameters stay fixed buffers. On the old code
``QG(..., learnable="Ld")`` silently never learned ``Ld`` and ``learnable=True`` raised for
``ShallowWater``/``QG`` with their default (switched-off) drag and viscosity.
"""
from __future__ import annotations

import math

import pytest
import torch

from physics.grid import Grid
from physics.parameters import make_parameters, parse_learnable
from physics.pendulum import DampedPendulum
from physics.qg import QG
from physics.reaction_diffusion import ReactionDiffusion
from physics.shallow_water import ShallowWater
from physics.wave import DampedWave

F64 = torch.float64


def _qg(learnable):
    # one layer with Ld (1.5-layer model) and H (wind forcing): all six parameters exist
    g = Grid(12, 10, dx=2e4, dy=2.5e4, boundary="periodic", f0=1e-4, beta=1.6e-11)
    return QG(g, H=[500.0], Ld=3e4, drag=1e-7, nu=20.0, nu4=1e9, tau0=0.1, learnable=learnable)


def _qg_state(m, gen):
    return 1e-5 * torch.randn(2, 1, 10, 12, generator=gen, dtype=F64)


def _sw(learnable):
    g = Grid(8, 6, dx=1e4, dy=1.2e4, boundary="closed", f0=1e-4, beta=2e-11)
    return ShallowWater(g, H=50.0, drag=1e-6, viscosity=5.0, learnable=learnable)


def _sw_state(m, gen):
    x = torch.randn(2, 3, 6, 8, generator=gen, dtype=F64) * torch.tensor([0.5, 0.1, 0.1], dtype=F64).view(1, 3, 1, 1)
    return x


def _rd(learnable):
    return ReactionDiffusion(Grid(8, 8, dx=0.25, dy=0.25), learnable=learnable)


def _wave(learnable):
    return DampedWave(Grid(8, 6, dx=1.0, dy=1.0, boundary="closed"), learnable=learnable)


def _field_state(shape):
    return lambda m, gen: torch.randn(*shape, generator=gen, dtype=F64)


MODELS = {
    "QG": (_qg, _qg_state, ("beta", "drag", "nu", "nu4", "tau0", "Ld")),
    "ShallowWater": (_sw, _sw_state, ("g", "H", "drag", "viscosity")),
    "DampedPendulum": (lambda lrn: DampedPendulum(learnable=lrn), _field_state((3, 2)), ("omega0_sq", "alpha")),
    "ReactionDiffusion": (_rd, _field_state((2, 2, 8, 8)), ("a", "b", "k")),
    "DampedWave": (_wave, _field_state((2, 2, 6, 8)), ("c", "k")),
}


def _values(m):
    return {k: m.params[k].value.detach().clone() for k in m.params}


def _check_learns(model_name, learnable, expected):
    make, state, names = MODELS[model_name]
    m = make(learnable)
    assert set(m.params) == set(names)
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {f"params.{k}.raw" for k in expected}, (learnable, trainable)
    gen = torch.Generator().manual_seed(3)
    x = state(m, gen)
    dx = m(torch.tensor(0.0, dtype=F64), x)
    w = torch.randn(dx.shape, generator=gen, dtype=F64)
    # normalised loss: every parameter's gradient is its term's relative size, not 1e-20 s^-2
    loss = (w * dx).sum() / dx.detach().abs().sum()
    loss.backward()
    for k in expected:
        grad = m.params[k].raw.grad
        assert grad is not None and bool(torch.isfinite(grad).all()) and float(grad.abs().sum()) > 0, k
    before = _values(m)
    # Adam's first step moves every raw value by lr * sign(grad) (eps negligible): a visible change
    torch.optim.Adam(m.parameters(), lr=1e-2, eps=1e-300).step()
    after = _values(m)
    for k in names:
        changed = not torch.equal(before[k], after[k])
        assert changed == (k in expected), (k, before[k], after[k])


@pytest.mark.parametrize("model_name, name", [(m, n) for m, (_, _, names) in MODELS.items() for n in names])
def test_single_name_string_learns_that_parameter(model_name, name):
    """``learnable="Ld"`` (a string, not a set of characters) learns ``Ld`` and nothing else."""
    _check_learns(model_name, name, {name})


@pytest.mark.parametrize("model_name", MODELS)
def test_tuple_form_learns_the_named_parameters(model_name):
    names = MODELS[model_name][2]
    chosen = names[::2]  # every other parameter: learned and fixed ones side by side
    _check_learns(model_name, tuple(chosen), set(chosen))
    _check_learns(model_name, list(chosen), set(chosen))


@pytest.mark.parametrize("model_name", MODELS)
def test_true_learns_every_parameter_and_false_none(model_name):
    _check_learns(model_name, True, set(MODELS[model_name][2]))
    m = MODELS[model_name][0](False)
    assert list(m.parameters()) == []


def test_true_skips_switched_off_terms_with_default_arguments():
    """Default drag = viscosity = 0 (QG: drag = nu = nu4 = 0, no H): True learns what CAN be learned."""
    g = Grid(8, 6, dx=1e4, dy=1e4, f0=1e-4, beta=2e-11)
    sw = ShallowWater(g, learnable=True)
    assert {n for n, _ in sw.named_parameters()} == {"params.g.raw", "params.H.raw"}
    qg = QG(g, learnable=True)
    assert {n for n, _ in qg.named_parameters()} == {"params.beta.raw"}
    # a 0 term stays a fixed zero and is skipped
    assert float(sw.params["drag"].value) == 0.0 and not sw._active["drag"]
    assert DampedPendulum(friction=False, learnable=True).params["omega0_sq"].learnable
    assert {n for n, _ in ReactionDiffusion(reaction=False, learnable=True).named_parameters()} == {
        "params.a.raw", "params.b.raw"}


@pytest.mark.parametrize("make, name, match", [
    (lambda: ShallowWater(Grid(6, 5, dx=1e4, dy=1e4, f0=1e-4), learnable="drag"), "drag", "drag must be > 0"),
    (lambda: QG(Grid(6, 5, dx=1e4, dy=1e4), learnable=("nu4",)), "nu4", "nu4 must be > 0"),
    (lambda: QG(Grid(6, 5, dx=1e4, dy=1e4), learnable="Ld"), "Ld", "only when Ld is given"),
    (lambda: QG(Grid(6, 5, dx=1e4, dy=1e4), learnable="tau0"), "tau0", "needs the top-layer thickness"),
    (lambda: DampedPendulum(friction=False, learnable="alpha"), "alpha", "friction=False"),
    (lambda: ReactionDiffusion(reaction=False, learnable="k"), "k", "reaction=False"),
    (lambda: DampedWave(damping=False, learnable=["k"]), "k", "damping=False"),
])
def test_naming_an_unavailable_parameter_says_why(make, name, match):
    with pytest.raises(ValueError, match=f"learnable name '{name}' cannot be learned here: .*{match}"):
        make()


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"\['kappa'\] are not parameters of QG; expected a subset of "
                                         r"\['beta', 'drag', 'nu', 'nu4', 'tau0', 'Ld'\]"):
        _qg("kappa")
    with pytest.raises(ValueError, match=r"\['gravity'\] are not parameters of ShallowWater"):
        _sw(("g", "gravity"))


@pytest.mark.parametrize("bad", [1, 0.5, [1], ("g", None), torch.tensor(1)])
def test_bad_learnable_types(bad):
    with pytest.raises(TypeError, match="learnable"):
        parse_learnable(bad, ("g", "H"), "ShallowWater")


def test_parser_forms():
    names = ("a", "bb", "ccc")
    assert parse_learnable("bb", names) == {"bb"}  # not set("bb") == {"b"}
    assert parse_learnable(("a", "ccc"), names) == {"a", "ccc"}
    assert parse_learnable(iter(["a"]), names) == {"a"}  # any iterable, consumed once
    assert parse_learnable(True, names, unavailable={"bb": "off"}) == {"a", "ccc"}
    assert parse_learnable(False, names) == parse_learnable(None, names) == parse_learnable((), names) == set()
    m = torch.nn.Module()
    assert make_parameters(m, {"a": 1.0, "bb": 0.0}, learnable=True, switchable=("bb",)) == {"a"}
    assert not m.params["bb"].learnable and float(m.params["bb"].value) == 0.0
    assert math.isclose(float(m.params["a"].value.detach()), 1.0)
