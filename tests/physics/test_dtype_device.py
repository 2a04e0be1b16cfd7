"""Models follow the state's dtype (float32 work, float32 tendencies) and refuse a device mismatch.

Old code: a float32 state given to a float64-built QG or ShallowWater came back float64 (float64
buffers promoted every product), and a state on another device failed deep inside torch.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from physics.grid import Grid
from physics.pendulum import DampedPendulum
from physics.qg import QG
from physics.reaction_diffusion import ReactionDiffusion
from physics.shallow_water import ShallowWater, gaussian_bump
from physics.stepping import integrate_fixed
from physics.wave import DampedWave

F32, F64 = torch.float32, torch.float64


class _WideOps(TorchDispatchMode):
    """Records every op whose output is a float64/complex128 tensor with at least one dim
    (0-d float64 parameter values are fine: they never promote a float32 field)."""

    def __init__(self):
        super().__init__()
        self.wide = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if torch.is_tensor(o) and o.dtype in (F64, torch.complex128) and o.dim() > 0:
                self.wide.append(str(func))
        return out


def _qg_cases():
    g = Grid(16, 12, dx=2e4, dy=2.5e4, boundary="periodic", f0=1e-4, beta=1.6e-11)
    gc = Grid(16, 12, dx=2e4, dy=2.5e4, boundary="closed", f0=1e-4, beta=1.6e-11)
    two = dict(H=[500.0, 2000.0], g_prime=[0.02], drag=1e-7)
    return {
        "fd-periodic-2layer": QG(g, U=[0.05, 0.0], nu4=1e9, **two),
        "fd-closed-2layer-wind": QG(gc, tau0=0.1, nu=20.0, **two),
        "spectral-2layer": QG(g, spectral=True, U=[0.05, 0.0], **two),
        "fd-1.5layer-learn-Ld": QG(g, Ld=3e4, drag=1e-7, learnable=("Ld", "drag", "beta")),
    }


def _q(model, dtype=F64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = 1e-5 * torch.randn(2, model.nlayers, model.grid.ny, model.grid.nx, generator=gen, dtype=F64)
    return q.to(dtype)


@pytest.mark.parametrize("case", list(_qg_cases()))
def test_qg_float32_state_gives_float32_work_and_tendency(case):
    m = _qg_cases()[case]
    q64 = _q(m)
    ref = m(0.0, q64).detach()
    with _WideOps() as mode:
        out = m(0.0, q64.float()).detach()
    assert out.dtype == F32 and mode.wide == [], mode.wide[:5]
    # float32 round-off (eps 6e-8) on inputs, buffers and the ~10-term stencil sums: 1e-5 of the
    # largest tendency leaves a 100x margin over the ~1e-7 measured, and fails on any float16-like loss
    assert float((out.double() - ref).abs().max()) <= 1e-5 * float(ref.abs().max())
    for diag in (m.streamfunction, m.total_energy, m.enstrophy, m.kinetic_energy, m.available_potential_energy):
        d32, d64 = diag(q64.float()).detach(), diag(q64).detach()
        assert d32.dtype == F32
        assert float((d32.double() - d64).abs().max()) <= 1e-5 * float(d64.abs().max())
    # the float32 copy is not part of the model
    assert all(v.dtype not in (F32, torch.complex64) for v in m.state_dict().values())


def test_qg_float32_gradients_reach_the_float64_parameters():
    m = _qg_cases()["fd-1.5layer-learn-Ld"]
    grads = {}
    for dtype in (F64, F32):
        m.zero_grad()
        q = _q(m, dtype)
        m(0.0, q).pow(2).sum().mul(1e20).backward()
        grads[dtype] = {k: m.params[k].raw.grad.clone() for k in ("Ld", "drag", "beta")}
    for k, g64 in grads[F64].items():
        g32 = grads[F32][k]
        assert g32.dtype == F64 and float(g64.abs()) > 0
        # a sum of O(1e3) float32 products: 1e-4 relative is ~100x the float32 accumulation error
        assert math.isclose(float(g32), float(g64), rel_tol=1e-4), (k, float(g32), float(g64))


def test_qg_float32_ab3_discrete_adjoint_in_float32():
    """integrate_fixed's AB3 discrete adjoint (physics.qg_adjoint) also follows the state's dtype."""
    m = _qg_cases()["fd-periodic-2layer"]
    grads = {}
    for dtype in (F64, F32):
        q0 = _q(m, dtype).requires_grad_(True)
        _, qs = integrate_fixed(m, q0, 3600.0, 6, save_every=6, method="ab3")
        assert qs.dtype == dtype
        (qs[-1] ** 2).sum().mul(1e10).backward()
        grads[dtype] = q0.grad
    assert grads[F32].dtype == F32
    # 6 steps of float32 arithmetic forward and back: 1e-4 of the largest entry (measured ~1e-6)
    assert float((grads[F32].double() - grads[F64]).abs().max()) <= 1e-4 * float(grads[F64].abs().max())


def test_qg_float32_copy_tracks_buffer_changes():
    m = _qg_cases()["fd-closed-2layer-wind"]
    q = _q(m, F32)
    before = m(0.0, q)
    with torch.no_grad():
        m.wind_shape.mul_(3.0)  # in place: the cached float32 buffers must be rebuilt
    after = m(0.0, q)
    forced = m(0.0, q.double())
    assert not torch.equal(before, after)
    assert float((after.double() - forced).abs().max()) <= 1e-5 * float(forced.abs().max())


def test_sw_float32_state_gives_float32_work_and_tendency():
    grid = Grid(12, 10, dx=1e4, dy=1.2e4, boundary="closed", f0=1e-4, beta=2e-11)
    tau = (torch.full((10, 12), 0.05, dtype=F64), torch.zeros(10, 12, dtype=F64))
    model = ShallowWater(grid, H=50.0, scheme="een", drag=1e-6, viscosity=5.0, wind_stress=tau, learnable=("g", "H"))
    x64 = gaussian_bump(grid, 0.5)
    x64[:, 1:] = 0.1 * torch.randn(1, 2, 10, 12, generator=torch.Generator().manual_seed(2), dtype=F64)
    ref = model(0.0, x64).detach()
    with _WideOps() as mode:
        out = model(0.0, x64.float()).detach()
    assert out.dtype == F32 and mode.wide == [], mode.wide[:5]
    # float32 round-off on O(1) fields and O(10)-term sums: 1e-5 of the largest tendency (measured ~1e-7)
    assert float((out.double() - ref).abs().max()) <= 1e-5 * float(ref.abs().max())
    assert model.total_energy(x64.float()).dtype == F32


def test_reference_systems_follow_the_state_dtype():
    for model, x in ((DampedPendulum(), torch.randn(3, 2)),
                     (ReactionDiffusion(Grid(8, 8, dx=0.25, dy=0.25)), torch.randn(1, 2, 8, 8)),
                     (DampedWave(Grid(8, 6, dx=1.0, dy=1.0, boundary="closed")), torch.randn(1, 2, 6, 8))):
        assert model(0.0, x.float()).dtype == F32 and model(0.0, x.double()).dtype == F64


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused(dtype):
    m = _qg_cases()["fd-periodic-2layer"]
    with pytest.raises(ValueError, match=f"q \\(the state\\) has dtype {dtype}, which QG does not support"):
        m(0.0, _q(m, dtype))
    with pytest.raises(ValueError, match=f"q \\(the state\\) has dtype {dtype}"):
        m.total_energy(_q(m, dtype))
    grid = Grid(6, 5, dx=1e4, dy=1e4, f0=1e-4)
    with pytest.raises(ValueError, match=f"state has dtype {dtype}, which ShallowWater does not support"):
        ShallowWater(grid, H=100.0)(0.0, torch.zeros(1, 3, 5, 6, dtype=dtype))


def test_integer_state_is_a_type_error():
    m = _qg_cases()["fd-periodic-2layer"]
    with pytest.raises(TypeError, match="q \\(the state\\) must be a floating-point tensor"):
        m(0.0, torch.zeros(1, 2, 12, 16, dtype=torch.int64))
    with pytest.raises(TypeError, match="state must be a floating-point tensor"):
        ShallowWater(Grid(6, 5, dx=1e4, dy=1e4), H=100.0)(0.0, torch.zeros(1, 3, 5, 6, dtype=torch.int32))


def test_device_mismatch_names_the_state_and_both_devices():
    """A 'meta' tensor stands in for a GPU state: the check runs before any arithmetic."""
    m = _qg_cases()["fd-periodic-2layer"]
    with pytest.raises(ValueError, match=r"q \(the state\) is on device meta but the QG model's buffers "
                                         r"and parameters are on cpu"):
        m(0.0, torch.zeros(1, 2, 12, 16, dtype=F64, device="meta"))
    with pytest.raises(ValueError, match="is on device meta"):
        m.streamfunction(torch.zeros(1, 2, 12, 16, dtype=F32, device="meta"))
    sw = ShallowWater(Grid(6, 5, dx=1e4, dy=1e4), H=100.0)
    with pytest.raises(ValueError, match=r"state is on device meta but the ShallowWater model's buffers .* on cpu"):
        sw(0.0, torch.zeros(1, 3, 5, 6, dtype=F64, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_model_cuda_state():
    m = _qg_cases()["fd-periodic-2layer"]
    with pytest.raises(ValueError, match=r"is on device cuda:0 but the QG model's buffers and parameters are on cpu"):
        m(0.0, _q(m).cuda())
    out = m.to("cuda")(0.0, _q(m, F32).cuda())
    assert out.dtype == F32 and out.device.type == "cuda"
