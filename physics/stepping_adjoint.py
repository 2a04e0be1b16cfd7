"""Exact discrete adjoint (reverse mode) of Adams-Bashforth 3 for :func:`physics.stepping.integrate_fixed`.

AB3 with ``f_n = F(x_n)`` and ``b = dt (23, -16, 5) / 12``:

    x_{n+1} = x_n + b_0 f_n + b_1 f_{n-1} + b_2 f_{n-2}.

Its transpose, with ``lam_n = dL/dx_n`` (``lam_k = 0`` for ``k > N``) and ``g_n`` the loss
gradient injected at the saved states, runs backwards from ``lam_N = g_N``:

    mu_n  = b_0 lam_{n+1} + b_1 lam_{n+2} + b_2 lam_{n+3}        (= dL/df_n)
    lam_n = lam_{n+1} + F'(x_n)^T mu_n + g_n,

and the two start-up tendencies get ``dL/df_{s-1} = b_1 lam_{s+1} + b_2 lam_{s+2}``,
``dL/df_{s-2} = b_2 lam_{s+1}``. ``F'(x)^T`` is a hand-written vjp (e.g.
:class:`physics.qg_adjoint.QGDiscreteAdjoint`), so the forward pass records no autograd graph:
one node for the whole AB3 phase instead of ~5 per step. The result equals autograd through the
same steps to round-off (tested).
"""
from __future__ import annotations

from typing import Callable

import torch



def ab3_coefficients(dt: float) -> tuple:
    """``(b_0, b_1, b_2) = dt (23, -16, 5) / 12``, rounded exactly as in the plain stepping loop."""
    return 23 * dt / 12, -16 * dt / 12, 5 * dt / 12


class _AB3Adjoint(torch.autograd.Function):
    """Inputs ``(x_s, f_{s-1}, f_{s-2})``; outputs the states ``x_k`` saved for ``s < k <= N``."""

    @staticmethod
    def forward(ctx, x, f1, f2, adj, tt, s, n_steps, dt, save_every, check):
        b0, b1, b2 = ab3_coefficients(dt)
        saved, outs = [], []
        for n in range(s, n_steps):
            f, sv = adj.rhs(tt[n], x)
            saved.append(sv)
            x = torch.add(x, f, alpha=b0).add_(f1, alpha=b1).add_(f2, alpha=b2)
            check(n, x)
            f2, f1 = f1, f
            if (n + 1) % save_every == 0:
                outs.append(x)
        ctx.adj, ctx.saved, ctx.s, ctx.dt, ctx.save_every = adj, saved, s, dt, save_every
        return tuple(outs)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        adj, saved, s, every = ctx.adj, ctx.saved, ctx.s, ctx.save_every
        b0, b1, b2 = ab3_coefficients(ctx.dt)
        N = s + len(saved)
        g_at = {k: g for k, g in zip([k for k in range(s + 1, N + 1) if k % every == 0], grads)}
        l1 = g_at[N].clone() if N in g_at else torch.zeros_like(grads[0])  # lam_{n+1}
        l2 = l3 = None  # lam_{n+2}, lam_{n+3}
        for n in range(N - 1, s - 1, -1):
            mu = torch.mul(l1, b0)
            if l2 is not None:
                mu.add_(l2, alpha=b1)
            if l3 is not None:
                mu.add_(l3, alpha=b2)
            lam = adj.vjp(saved[n - s], mu).add_(l1)
            if n in g_at:
                lam.add_(g_at[n])
            l3, l2, l1 = l2, l1, lam
        g_f1 = torch.mul(l2, b1) if l2 is not None else None
        if g_f1 is not None and l3 is not None:
            g_f1.add_(l3, alpha=b2)
        g_f2 = torch.mul(l2, b2) if l2 is not None else None
        return (l1, g_f1, g_f2) + (None,) * 7


def ab3_adjoint_steps(adj, x: torch.Tensor, hist: list, tt: torch.Tensor, s: int, n_steps: int, dt: float,
                      save_every: int, check: Callable[[int, torch.Tensor], None]) -> tuple:
    """AB3 steps ``s .. n_steps-1`` from ``x = x_s`` and ``hist = [f_{s-1}, f_{s-2}]`` with the
    discrete adjoint above. ``check(n, x_{n+1})`` raises on a non-finite state. Returns the
    states saved at the steps ``k`` with ``s < k <= n_steps``, ``k % save_every == 0``, in order."""
    return _AB3Adjoint.apply(x, hist[0], hist[1], adj, tt, s, n_steps, dt, save_every, check)


__all__ = ["ab3_coefficients", "ab3_adjoint_steps"]
