"""Numeric arguments a new user passes: one parser (``physics._checks.check_real``) for all.

Accepted: Python int/float, NumPy scalars of any real dtype (``np.float32(1e3)``), 0-d arrays
and 0-d tensors. Refused with ``TypeError`` naming the argument: strings (``f0='1e-4'``), bools,
None, complex numbers, arrays/tensors of more than one value. ``ValueError``: NaN and +-inf.
The model-level cases are the places in ``physics/`` that validate numbers (Grid, QG,
ShallowWater, stretching_matrix, integrate_fixed, check_cfl, gaussian_bump).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from physics._checks import check_int, check_nonnegative, check_nonzero, check_positive, check_real
from physics.elliptic import stretching_matrix
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater, gaussian_bump
from physics.stepping import check_cfl, integrate_fixed

NUMBERS = [
    (3, 3.0), (2.5, 2.5), (np.float32(1e3), float(np.float32(1e3))), (np.float16(0.5), 0.5),
    (np.float64(1e-4), 1e-4), (np.int64(4), 4.0), (np.uint8(7), 7.0), (np.array(2.0), 2.0),
    (np.array(5, dtype=np.int32), 5.0), (torch.tensor(3.5), 3.5), (torch.tensor(2), 2.0),
    (torch.tensor(1.25, dtype=torch.float32, requires_grad=True), 1.25), (Fraction(1, 4), 0.25),
]
NOT_NUMBERS = [
    "1e-4", "3", True, np.bool_(False), None, [1.0], (1.0,), complex(1, 0), np.complex64(1),
    np.array([1.0]), np.array([1.0, 2.0]), torch.tensor([1.0]), torch.ones(2, 2),
    torch.tensor(True), torch.tensor(1 + 0j), object(),
]
NON_FINITE = [
    math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("inf"), torch.tensor(math.nan),
    np.array(-math.inf), 10**400,
]


@pytest.mark.parametrize("value, expected", NUMBERS)
def test_real_accepts_python_numpy_and_0d_tensors(value, expected):
    out = check_real("x", value)
    assert type(out) is float and out == expected


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_real_refuses_non_numbers_with_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^beta must be a real number"):
        check_real("beta", value)


@pytest.mark.parametrize("value", NON_FINITE)
def test_real_refuses_non_finite(value):
    with pytest.raises(ValueError, match=r"^y0 must be a finite number"):
        check_real("y0", value)


def test_sign_checks_share_the_parser():
    assert check_positive("dx", np.float32(2.0)) == 2.0
    assert check_nonnegative("drag", np.float32(0.0)) == 0.0
    assert check_nonzero("f0", np.float32(-1e-4)) == float(np.float32(-1e-4))
    for fn, bad in ((check_positive, 0.0), (check_nonnegative, -1e-9), (check_nonzero, 0)):
        with pytest.raises(ValueError, match="^v must be"):
            fn("v", bad)
        with pytest.raises(TypeError, match="^v must be a real number"):
            fn("v", "1")
        with pytest.raises(ValueError, match="^v must be a finite number"):
            fn("v", math.nan)


@pytest.mark.parametrize("value", [4, np.int64(4), np.int8(4), np.array(4), torch.tensor(4)])
def test_int_accepts_integers(value):
    out = check_int("nx", value, minimum=2)
    assert type(out) is int and out == 4


@pytest.mark.parametrize("value", [4.0, np.float32(4), "4", True, None, torch.tensor(4.0), np.array([4])])
def test_int_refuses_non_integers(value):
    with pytest.raises(TypeError, match="^nx must be an int"):
        check_int("nx", value)


def test_int_minimum():
    with pytest.raises(ValueError, match="nx must be an int >= 2, got 1"):
        check_int("nx", np.int64(1), minimum=2)


# ------------------------------------------------------------------ the Grid
def test_grid_takes_numpy_scalars():
    g = Grid(np.int64(8), 6, dx=np.float32(1e3), Ly=np.float64(6e3), f0=np.float32(1e-4),
             beta=np.float32(1.6e-11), y0=np.float32(2e3))
    assert (g.nx, g.dx, g.dy) == (8, float(np.float32(1e3)), 1e3)
    assert g.f0 == float(np.float32(1e-4)) and g.beta == float(np.float32(1.6e-11)) and g.y0 == 2e3
    assert all(type(v) is float for v in (g.dx, g.dy, g.f0, g.beta, g.y0))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(f0="1e-4"), TypeError, "^f0 must be a real number"),
        (dict(beta="0"), TypeError, "^beta must be a real number"),
        (dict(y0="0"), TypeError, "^y0 must be a real number"),
        (dict(y0=math.nan), ValueError, "^y0 must be a finite number"),
        (dict(y0=np.float32("inf")), ValueError, "^y0 must be a finite number"),
        (dict(beta=-math.inf), ValueError, "^beta must be a finite number"),
        (dict(f0=np.float32("nan")), ValueError, "^f0 must be a finite number"),
        (dict(dx="1e3"), TypeError, "^dx must be a real number"),
        (dict(dx=math.inf), ValueError, "^dx must be a finite number"),
        (dict(dx=None, Lx=np.float32("nan")), ValueError, "^Lx must be a finite number"),
        (dict(dx=True), TypeError, "^dx must be a real number"),
    ],
)
def test_grid_refuses_strings_and_non_finite(kwargs, error, match):
    args = {**dict(nx=4, ny=4, dx=1e3, dy=1e3), **kwargs}
    with pytest.raises(error, match=match):
        Grid(**args)


def test_grid_y0_nan_no_longer_gives_nan_coriolis():
    # the old Grid accepted y0=nan and handed out an all-NaN f; now the constructor refuses it
    with pytest.raises(ValueError, match="y0"):
        Grid(4, 4, dx=1.0, dy=1.0, f0=1e-4, beta=1e-11, y0=float("nan"))


# ------------------------------------------------------------------ models and helpers
G = Grid(8, 8, dx=1e4, dy=1e4, f0=1e-4, beta=1e-11)


def test_models_take_numpy_scalars():
    sw = ShallowWater(G, g=np.float32(9.81), H=np.float32(100.0), drag=np.float64(0.0))
    assert float(sw.params["H"].value) == 100.0
    qg = QG(G, H=[np.float32(500.0), 2000.0], g_prime=[np.float32(0.02)], beta=np.float32(1e-11),
            U=[np.float32(0.01), 0.0], tau0=np.float64(0.0))
    assert qg.nlayers == 2
    S = stretching_matrix([500.0, 2000.0], [0.02], np.float32(1e-4))
    f0 = float(np.float32(1e-4))
    # F1 = f0^2 / (H1 g'): exact formula, so equal to the last bits of the float64 arithmetic
    assert S[0, 0] == pytest.approx(-f0**2 / (500.0 * 0.02), rel=1e-15)
    _, xs = integrate_fixed(lambda t, x: -x, torch.ones(2, dtype=torch.float64), np.float32(0.5),
                            np.int64(4), save_every=np.int64(2), t0=np.float32(1.0))
    assert xs.shape == (3, 2)
    assert check_cfl(np.float32(1.0), dt=np.float32(1.0), dx=np.float32(4.0)) == 0.25


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: QG(G, U=["0.1"]), TypeError, r"^U\[0\] must be a real number"),
        (lambda: QG(G, beta="1e-11"), TypeError, "^beta must be a real number"),
        (lambda: QG(G, beta=math.nan), ValueError, "^beta must be a finite number"),
        (lambda: QG(G, H=[500.0], tau0="0.1"), TypeError, "^tau0 must be a real number"),
        (lambda: ShallowWater(G, g="9.81", H=100.0), TypeError, "^g must be a real number"),
        (lambda: stretching_matrix([500.0, 2000.0], [0.02], "1e-4"), TypeError, "^f0"),
        (lambda: stretching_matrix([500.0, 2000.0], [0.02], 0.0), ValueError, "^f0"),
        (lambda: gaussian_bump(G, amplitude="1"), TypeError, "^amplitude must be a real number"),
        (lambda: gaussian_bump(G, x0=math.inf), ValueError, "^x0 must be a finite number"),
        (lambda: integrate_fixed(lambda t, x: x, torch.ones(1), 0.1, 3.0), TypeError, "^n_steps must be an int"),
        (lambda: integrate_fixed(lambda t, x: x, torch.ones(1), 0.1, 3, t0="0"), TypeError, "^t0 must be"),
        (lambda: check_cfl("1", dt=1.0, dx=1.0), TypeError, "^u_max must be a real number"),
    ],
)
def test_models_refuse_strings_and_non_finite(build, error, match):
    with pytest.raises(error, match=match):
        build()
