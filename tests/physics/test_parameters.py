"""Physical-parameter reparameterisation: range, units, gradients, errors."""
import pytest
import torch
from torch import nn

from physics.parameters import PhysicalParameter, make_parameters, parameter_values


def test_positive_parameter_stays_positive_under_any_raw_value():
    p = PhysicalParameter("g", 9.81, learnable=True)
    assert torch.isclose(p.value, torch.tensor(9.81, dtype=p.value.dtype))
    with torch.no_grad():
        p.raw.fill_(-50.0)
    assert p.value > 0


def test_bounded_parameter_and_gradient():
    p = PhysicalParameter("alpha", 0.3, learnable=True, lower=0.0, upper=1.0)
    assert abs(float(p.value.detach()) - 0.3) < 1e-12
    p.value.backward()
    assert p.raw.grad is not None and float(p.raw.grad) > 0
    with torch.no_grad():
        p.raw.fill_(100.0)
    assert float(p.value.detach()) <= 1.0


def test_fixed_parameter_is_a_buffer():
    p = PhysicalParameter("H", 500.0)
    assert len(list(p.parameters())) == 0 and float(p.value) == 500.0


def test_make_parameters_and_values():
    m = nn.Module()
    make_parameters(m, {"a": 1e-3, "b": 5e-3}, learnable=("a",))
    assert m.params["a"].learnable and not m.params["b"].learnable
    vals = parameter_values(m)
    assert vals == pytest.approx({"a": 1e-3, "b": 5e-3})


@pytest.mark.parametrize("value, kw, match", [
    (-1.0, {}, "must be > 0"),
    (float("nan"), {}, "finite"),
    (2.0, {"lower": 0.0, "upper": 1.0}, "< 1.0"),
])
def test_bad_values(value, kw, match):
    with pytest.raises(ValueError, match=match):
        PhysicalParameter("x", value, **kw)


def test_unknown_learnable_name():
    with pytest.raises(ValueError, match="learnable"):
        make_parameters(nn.Module(), {"a": 1.0}, learnable=("c",))
