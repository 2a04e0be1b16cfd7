"""Bad input to :mod:`physics.operators` fails loudly, and the checks cost no tensor work.

Before: an unknown ghost name was used as ``"zero"`` (closed grids) or ignored (periodic), a
field of the wrong shape went through (or failed deep inside ``torch.cat``), ``axis="z"`` raised
``KeyError: 'z'`` and ``offset=2`` rolled by two cells on a periodic grid.
"""
from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from physics import operators as ops
from physics.grid import Grid

PERIODIC = Grid(6, 4, dx=1.0, dy=2.0)
CLOSED = Grid(6, 4, dx=1.0, dy=2.0, boundary="closed")
GRIDS = pytest.mark.parametrize("grid", [PERIODIC, CLOSED], ids=["periodic", "closed"])

F = torch.randn(2, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

#: every public operator taking ``ghost``, called with a given ghost
GHOSTED = {
    "shift": lambda f, g, gh: ops.shift(f, g, "x", 1, gh),
    "diff_forward": lambda f, g, gh: ops.diff_forward(f, g, "y", gh),
    "diff_backward": lambda f, g, gh: ops.diff_backward(f, g, "x", gh),
    "avg_forward": lambda f, g, gh: ops.avg_forward(f, g, "x", gh),
    "avg_backward": lambda f, g, gh: ops.avg_backward(f, g, "y", gh),
    "laplacian": lambda f, g, gh: ops.laplacian(f, g, gh),
    "arakawa_jacobian": lambda f, g, gh: ops.arakawa_jacobian(f, f, g, gh),
}

#: every public operator, called with field ``f`` in the argument named by the key's second item
FIELDS = {
    ("shift", "f"): lambda f, g: ops.shift(f, g, "y", -1),
    ("diff_forward", "f"): lambda f, g: ops.diff_forward(f, g, "x"),
    ("diff_backward", "f"): lambda f, g: ops.diff_backward(f, g, "y"),
    ("avg_forward", "f"): lambda f, g: ops.avg_forward(f, g, "y"),
    ("avg_backward", "f"): lambda f, g: ops.avg_backward(f, g, "x"),
    ("dx_c2u", "f"): ops.dx_c2u, ("dy_c2v", "f"): ops.dy_c2v,
    ("dx_u2c", "u"): ops.dx_u2c, ("dy_v2c", "v"): ops.dy_v2c,
    ("dx_v2q", "v"): ops.dx_v2q, ("dy_u2q", "u"): ops.dy_u2q,
    ("dx_q2v", "psi"): ops.dx_q2v, ("dy_q2u", "psi"): ops.dy_q2u,
    ("grad", "f"): ops.grad, ("velocity_from_psi", "psi"): ops.velocity_from_psi,
    ("laplacian", "f"): ops.laplacian,
    ("divergence", "u"): lambda f, g: ops.divergence(f, F, g),
    ("divergence", "v"): lambda f, g: ops.divergence(F, f, g),
    ("vorticity", "u"): lambda f, g: ops.vorticity(f, F, g),
    ("vorticity", "v"): lambda f, g: ops.vorticity(F, f, g),
    ("arakawa_jacobian", "a"): lambda f, g: ops.arakawa_jacobian(f, F, g),
    ("arakawa_jacobian", "b"): lambda f, g: ops.arakawa_jacobian(F, f, g),
}
BAD_SHAPES = [torch.zeros(2, 6, 4, dtype=torch.float64),  # (nx, ny): transposed
              torch.zeros(4, 5, dtype=torch.float64),     # one column short
              torch.zeros(6, dtype=torch.float64)]        # 1-D


@GRIDS
@pytest.mark.parametrize("name", list(GHOSTED))
@pytest.mark.parametrize("ghost", ["dirichlet", "Zero", None, 0])
def test_unknown_ghost_lists_the_choices(grid, name, ghost):
    with pytest.raises(ValueError, match=r"ghost must be one of \('zero', 'neumann'\), got"):
        GHOSTED[name](F, grid, ghost)


@GRIDS
@pytest.mark.parametrize("key", list(FIELDS), ids=["-".join(k) for k in FIELDS])
@pytest.mark.parametrize("bad", BAD_SHAPES, ids=["transposed", "short", "1d"])
def test_wrong_field_shape_names_field_and_expected_shape(grid, key, bad):
    with pytest.raises(ValueError, match=rf"^{key[1]} must have trailing shape \(ny, nx\) = \(4, 6\)"):
        FIELDS[key](bad, grid)


@pytest.mark.parametrize("key", list(FIELDS), ids=["-".join(k) for k in FIELDS])
def test_non_tensor_field_and_non_grid(key):
    with pytest.raises(TypeError, match=rf"^{key[1]} must be a torch.Tensor"):
        FIELDS[key](F[0].tolist(), CLOSED)
    with pytest.raises(TypeError, match="^grid must be a physics.grid.Grid"):
        FIELDS[key](F, "grid")


@GRIDS
@pytest.mark.parametrize("axis", ["z", "X", 0, None])
@pytest.mark.parametrize("op", [ops.diff_forward, ops.diff_backward, ops.avg_forward, ops.avg_backward])
def test_bad_axis_is_value_error(grid, axis, op):
    with pytest.raises(ValueError, match=r"axis must be one of \('x', 'y'\), got"):
        op(F, grid, axis)
    with pytest.raises(ValueError, match=r"axis must be one of \('x', 'y'\)"):
        ops.shift(F, grid, axis, 1)


@GRIDS
@pytest.mark.parametrize("offset", [0, 2, -2])
def test_bad_offset(grid, offset):
    with pytest.raises(ValueError, match="offset must be"):
        ops.shift(F, grid, "x", offset)


def test_leading_dims_still_free():
    # (...) leading dims of any number, including none: only the trailing (ny, nx) is checked
    for f in (F[0], F, F.reshape(1, 2, 4, 6)):
        assert ops.laplacian(f, CLOSED).shape == f.shape


class _Ops(TorchDispatchMode):
    """Records every ATen op dispatched (tensor arithmetic, copies, .item() syncs)."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(str(func))
        return func(*args, **(kwargs or {}))


def _aten_ops(fn):
    with _Ops() as rec:
        fn()
    return rec.names


@GRIDS
def test_validation_adds_no_tensor_op(grid):
    """The public operator dispatches exactly the ATen ops of its unchecked kernel (so the
    checks do no tensor work and no device sync), and a rejected call dispatches none."""
    checked = _aten_ops(lambda: ops.dx_u2c(F, grid))
    kernel = _aten_ops(lambda: ops._diff_forward(F, grid, -1, "zero"))
    assert checked == kernel and len(kernel) > 0
    assert _aten_ops(lambda: ops.shift(F, grid, "y", -1, "neumann")) == _aten_ops(
        lambda: ops._shift(F, grid, -2, -1, "neumann"))
    short = F[..., :5]
    for bad in (lambda: ops.dx_u2c(short, grid), lambda: ops.laplacian(F, grid, "nope"),
                lambda: ops.diff_forward(F, grid, "z")):
        with _Ops() as rec, pytest.raises(ValueError):
            bad()
        assert rec.names == []
