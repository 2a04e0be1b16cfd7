"""The preallocated stencil plan (physics.qg_stencil) and the cached complex layer inverse:
same numbers as the differentiable path to round-off, fresh outputs, correct invalidation."""
from __future__ import annotations

import pytest
import torch

from physics.grid import Grid
from physics.qg import QG
from physics.qg_stencil import get_plan
from physics.qg_terms import _fd_rhs_fields, fd_rhs

# Same products, different association (in-place accumulation, Laplacian terms added one by
# one): results agree to a few ulps of the largest term; 1e-14 relative leaves margin while a
# wrong window or ghost gives O(1) errors.
TOL = 1e-14


def _fields(ny, nx, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 2, ny, nx, generator=gen, dtype=torch.float64).to(device) for _ in range(3)]


def _rel(a, b):
    return float((a - b).abs().max() / a.abs().max())


@pytest.mark.parametrize("boundary", ["periodic", "closed"])
def test_plan_matches_differentiable_path(boundary, device):
    g = Grid(9, 7, dx=1.3, dy=0.8, boundary=boundary, device=device)
    psi, q, lam = _fields(7, 9, device)
    c = [torch.tensor([[[0.3]], [[-0.7]]], dtype=torch.float64, device=device) for _ in range(3)]
    with torch.no_grad():  # plan path
        got = fd_rhs(psi, q, g, *c, need_lap=True)
    ref = fd_rhs(psi.requires_grad_(), q, g, *c, need_lap=True)  # graph-recording path
    for a, b in zip(ref, got):
        assert _rel(a.detach(), b) < TOL and b.is_contiguous()
    # overlapping channel windows (the adjoint's [q, lam, psi] layout)
    ref = _fd_rhs_fields(torch.cat((q, lam, psi.detach()), 1), 2, g, need_lap=True, return_dpsi_dx=True)
    got = get_plan((q, lam, psi.detach()), 2, g.periodic).run((q, lam, psi.detach()), g.dx, g.dy, need_lap=True,
                                                             return_dpsi_dx=True)
    for a, b in zip(ref, got):
        assert _rel(a, b) < TOL


def test_plan_outputs_are_fresh():
    """A later call reuses the scratch buffers but never overwrites earlier results."""
    g = Grid(8, 8, dx=1.0, dy=1.0)
    psi, q, _ = _fields(8, 8, "cpu")
    with torch.no_grad():
        first, lap = fd_rhs(psi, q, g, need_lap=True)
        keep, keep_lap = first.clone(), lap.clone()
        fd_rhs(2 * psi, -q, g, need_lap=True)
    assert torch.equal(first, keep) and torch.equal(lap, keep_lap)


def test_complex_layer_inverse_cache_follows_dtype():
    g = Grid(8, 6, dx=1.0, dy=1.2, f0=1.0, beta=0.2)
    m = QG(g, H=[1.0, 2.0], g_prime=[1.0])
    assert m._layer_inverse_complex().dtype == torch.complex128
    q = torch.randn(1, 2, 6, 8, dtype=torch.float64)
    psi64 = m.streamfunction(q)
    m = m.to(torch.float32)
    assert m._layer_inverse_complex().dtype == torch.complex64
    psi32 = m.streamfunction(q.float())
    assert psi32.dtype == torch.float32 and _rel(psi64, psi32.double()) < 1e-5  # float32 round-off
