"""The CLI's one numeric parser, ``cli_inputs.finite_number``: what it accepts and what it refuses."""
import math

import numpy as np
import pytest

from hybridocean.estimation.cli_inputs import finite_number


@pytest.mark.parametrize("value, expected", [(3, 3.0), (-2.5, -2.5), (0, 0.0), ("1e3", 1000.0), (" 4.5 ", 4.5),
                                             (np.float32(0.25), 0.25), (np.int64(7), 7.0), (np.array(2.0), 2.0)])
def test_finite_numbers_are_returned_as_float(value, expected):
    out = finite_number(value)
    assert isinstance(out, float) and out == expected


@pytest.mark.parametrize("value", [None, True, False, np.bool_(True), "abc", "", [1.0], (1.0, 2.0), {"a": 1},
                                   math.nan, math.inf, -math.inf, "nan", "inf", np.float64("nan"), 10 ** 400])
def test_everything_else_is_none(value):
    assert finite_number(value) is None


@pytest.mark.parametrize("value", [0, 0.0, -1, "-3", -1e-300])
def test_positive_refuses_zero_and_negatives(value):
    assert finite_number(value, positive=True) is None
    assert finite_number(value) is not None  # the same values pass without positive


def test_positive_keeps_positive_values():
    assert finite_number("2.5e4", positive=True) == 2.5e4
    assert finite_number(1e-300, positive=True) == 1e-300
