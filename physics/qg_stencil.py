"""Preallocated execution plan of the fused QG finite-difference stencil (no-graph calls only).

:func:`physics.qg_terms._fd_rhs_fields` builds ~50 strided views and ~25 fresh tensors per call;
at 64^2 on a CPU that bookkeeping costs more than the arithmetic. When no autograd graph is
recorded (``torch.no_grad``, inside custom autograd nodes, the discrete adjoint), the same
arithmetic runs here on buffers allocated once per shape, with every stencil window built once:

    Dx f = f_e - f_w,  Dy f = f_n - f_s                         (all C padded channels)
    fx = a Dy b - b Dy a,  fy = b Dx a - a Dx b                  (N channel pairs (a, b))
    12 dx dy J = Dx a Dy b - Dy a Dx b + Dx fx + Dy fy           (Arakawa, regrouped)
    rhs = -J + c_dpsi Dx a / (2 dx) + c_dq Dx b / (2 dx) + c_lap Lap a

Only the returned tensors are fresh; the plan's buffers are scratch reused by the next call on
the same thread (plans are thread-local), so nothing returned aliases them.
"""
from __future__ import annotations

import threading
from typing import Optional, Sequence

import torch

_LOCAL = threading.local()
_MAX_PLANS = 16


def _win(flat: torch.Tensor, c0: int, nc: int, off: int, length: int) -> torch.Tensor:
    """``flat[:, c0:c0 + nc, off:off + length]`` of a contiguous ``(B, C, L)`` buffer."""
    return flat[:, c0:c0 + nc, off:off + length]


class StencilPlan:
    """Buffers and views for fields ``(B, C, ny, nx)``: ``a`` = channels ``[0, N)``, ``b`` =
    ``[b0, C)``, ``N = C - b0``; ``periodic`` wrap or zero ghosts (closed walls)."""

    def __init__(self, B: int, C: int, b0: int, ny: int, nx: int, periodic: bool, dtype, device) -> None:
        N, W = C - b0, nx + 4
        L1, L2 = (ny + 2) * W, ny * W
        self.B, self.N, self.ny, self.nx, self.periodic = B, N, ny, nx, periodic
        kw = dict(dtype=dtype, device=device)
        self.p = torch.zeros(B, C, ny + 4, nx + 4, **kw)  # ghosts stay 0 on closed grids
        self.interior = self.p[..., 2:-2, 2:-2]
        P = self.p
        # periodic wrap: rows first (interior columns), then whole columns (fills the corners)
        self.wraps = ((P[..., :2, 2:-2], P[..., ny:ny + 2, 2:-2]), (P[..., -2:, 2:-2], P[..., 2:4, 2:-2]),
                      (P[..., :, :2], P[..., :, nx:nx + 2]), (P[..., :, -2:], P[..., :, 2:4]))
        p = P.view(B, C, -1)
        self.dx, self.dy = torch.empty(B, C, L1, **kw), torch.empty(B, C, L1, **kw)
        self.fx, self.fy = torch.empty(B, N, L1, **kw), torch.empty(B, N, L1, **kw)
        self.j = torch.empty(B, N, L2, **kw)
        self.lap = torch.empty(B, N, L2, **kw)
        self.p_e, self.p_w = _win(p, 0, C, W + 1, L1), _win(p, 0, C, W - 1, L1)
        self.p_n, self.p_s = _win(p, 0, C, 2 * W, L1), _win(p, 0, C, 0, L1)
        a1, b1 = _win(p, 0, N, W, L1), _win(p, b0, N, W, L1)
        dx, dy = self.dx, self.dy
        self.fx_terms = (a1, _win(dy, b0, N, 0, L1), b1, _win(dy, 0, N, 0, L1))
        self.fy_terms = (b1, _win(dx, 0, N, 0, L1), a1, _win(dx, b0, N, 0, L1))
        self.dxa, self.dxb = _win(dx, 0, N, W, L2), _win(dx, b0, N, W, L2)
        self.j_terms = (self.dxa, _win(dy, b0, N, W, L2), _win(dy, 0, N, W, L2), self.dxb)
        fx, fy = self.fx, self.fy
        self.div_terms = (_win(fx, 0, N, W + 1, L2), _win(fx, 0, N, W - 1, L2),
                          _win(fy, 0, N, 2 * W, L2), _win(fy, 0, N, 0, L2))
        self.lap_terms = tuple(_win(p, 0, N, o, L2) for o in (2 * W + 1, 2 * W - 1, 3 * W, W, 2 * W))

    def _unflat(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, ny W)`` buffer -> ``(B, N, ny, nx)`` view without the pad columns."""
        return x.view(self.B, -1, self.ny, self.nx + 4)[..., 2:-2]

    def run(self, fields: Sequence[torch.Tensor], dx: float, dy: float, c_dpsi=None, c_dq=None, c_lap=None,
            need_lap: bool = False, return_dpsi_dx: bool = False) -> tuple:
        """Same contract as ``physics.qg_terms._fd_rhs_fields`` for ``torch.cat(fields, 1)``."""
        c0 = 0
        for f in fields:
            self.interior[:, c0:c0 + f.shape[1]].copy_(f)
            c0 += f.shape[1]
        if self.periodic:
            for dst, src in self.wraps:
                dst.copy_(src)
        torch.sub(self.p_e, self.p_w, out=self.dx)
        torch.sub(self.p_n, self.p_s, out=self.dy)
        a1, dyb, b1, dya = self.fx_terms
        torch.mul(a1, dyb, out=self.fx).addcmul_(b1, dya, value=-1)
        b1, dxa, a1, dxb = self.fy_terms
        torch.mul(b1, dxa, out=self.fy).addcmul_(a1, dxb, value=-1)
        dxa_i, dyb_i, dya_i, dxb_i = self.j_terms
        fx_e, fx_w, fy_n, fy_s = self.div_terms
        j = torch.mul(dxa_i, dyb_i, out=self.j).addcmul_(dya_i, dxb_i, value=-1)
        j.add_(fx_e).sub_(fx_w).add_(fy_n).sub_(fy_s).mul_(-1.0 / (12.0 * dx * dy))
        if c_dpsi is not None:
            j.addcmul_(c_dpsi.view(-1, 1) * (0.5 / dx), self.dxa)
        if c_dq is not None:
            j.addcmul_(c_dq.view(-1, 1) * (0.5 / dx), self.dxb)
        lap = None
        if c_lap is not None or need_lap:
            e, w, n, s, c = self.lap_terms
            lap = torch.add(e, w, out=self.lap).mul_(1.0 / dx**2).add_(n, alpha=1.0 / dy**2).add_(s, alpha=1.0 / dy**2)
            lap.sub_(c, alpha=2.0 / dx**2 + 2.0 / dy**2)
            if c_lap is not None:
                j.addcmul_(c_lap.view(-1, 1), lap)
            lap = self._unflat(lap).clone(memory_format=torch.contiguous_format)
        rhs = self._unflat(j).clone(memory_format=torch.contiguous_format)
        if return_dpsi_dx:
            return rhs, lap, self._unflat(self.dxa) * (0.5 / dx)
        return rhs, lap


def get_plan(fields: Sequence[torch.Tensor], b0: int, periodic: bool) -> StencilPlan:
    """The thread-local :class:`StencilPlan` for these fields' shape, dtype and device."""
    B, _, ny, nx = fields[0].shape
    C = sum(f.shape[1] for f in fields)
    key = (B, C, b0, ny, nx, periodic, fields[0].dtype, fields[0].device)
    plans = getattr(_LOCAL, "plans", None)
    if plans is None:
        plans = _LOCAL.plans = {}
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= _MAX_PLANS:
            plans.clear()
        plan = plans[key] = StencilPlan(B, C, b0, ny, nx, periodic, fields[0].dtype, fields[0].device)
    return plan


def records_graph(*tensors: Optional[torch.Tensor]) -> bool:
    """Whether an op on ``tensors`` would be recorded by autograd."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


__all__ = ["StencilPlan", "get_plan", "records_graph"]
