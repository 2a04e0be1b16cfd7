"""Hand-written discrete adjoint of the periodic finite-difference QG tendency (:mod:`physics.qg`).

For ``F(q) = R(psi(q), q)`` with the inversion ``psi = A q`` (``A = F^-1 M F``, per-wavenumber
layer matrix ``M``, :func:`physics.elliptic.periodic_layer_inverse`) and the fused right-hand
side ``R`` (:func:`physics.qg_terms.fd_rhs`), the vector-Jacobian product is

    F'(q)^T lam = R_q^T lam + A^T R_psi^T lam,        A^T = F^-1 M^T F   (layers swapped),

with ``R_psi^T lam = -J(q, lam) - c_dpsi Dx lam + c_lap Lap lam`` and
``R_q^T lam = J(psi, lam) - c_dq Dx lam`` (:func:`physics.qg_terms.fd_rhs_vjp`). The wind forcing
is constant in ``q``. :func:`physics.stepping.integrate_fixed` uses this object to run the exact
transpose of AB3 (:mod:`physics.stepping_adjoint`) instead of recording an autograd graph.
"""
from __future__ import annotations

from typing import Optional

import torch

from .elliptic import apply_inverse, periodic_layer_inverse
from .qg_terms import fd_rhs_vjp


class QGDiscreteAdjoint:
    """``rhs(t, q) -> (dq/dt, saved)`` without autograd, and ``vjp(saved, lam) -> F'(q)^T lam``.

    Shapes ``(B, N, ny, nx)``; ``saved = (psi, q)``. Valid only for the cases accepted by
    :meth:`for_model` (periodic finite differences, no viscosity, no parameter requiring grad).
    """

    def __init__(self, model) -> None:
        self.model = model
        self._by_dtype = {model._dtype: self}  # a state of another dtype: the model's copy in it
        with torch.no_grad():
            c_dpsi, c_lap = model._linear_coefficients()
        self.coefs = (c_dpsi, model.neg_U if model._has_U else None, c_lap)
        self.M_T = model._layer_inverse_complex().transpose(0, 1).contiguous() if model.modes is not None else None

    @classmethod
    def for_model(cls, model) -> Optional["QGDiscreteAdjoint"]:
        if not model.grid.periodic or model.spectral or {"nu", "nu4"} & model._active:
            return None
        if any(p.requires_grad for p in model.parameters()):
            return None  # parameter gradients: plain autograd (the custom nodes handle them)
        return cls(model)

    @torch.no_grad()
    def rhs(self, t: torch.Tensor, q: torch.Tensor) -> tuple:
        """``(dq/dt, (psi, q))`` -- the same operations as ``model(t, q)``."""
        m = self.model
        m._check(q)
        if q.dtype is not m._dtype:
            return self._in_dtype(q.dtype).rhs(t, q)
        psi = m._psi(q)
        return m._rhs_fd(q, psi), (psi, q)

    @torch.no_grad()
    def vjp(self, saved: tuple, lam: torch.Tensor) -> torch.Tensor:
        """``F'(q)^T lam`` (module docstring), ``(B, N, ny, nx)``."""
        psi, q = saved
        if psi.dtype is not self.model._dtype:
            return self._in_dtype(psi.dtype).vjp(saved, lam)
        g_psi, g_q = fd_rhs_vjp(psi, q, lam, self.model.grid, *self.coefs)
        if self.M_T is None:  # one layer: A is symmetric (real, even multiplier)
            return g_q.add_(apply_inverse(g_psi, self.model.grid, self.model._multiplier()))
        return g_q.add_(periodic_layer_inverse(g_psi, self.M_T))

    def _in_dtype(self, dtype: torch.dtype) -> "QGDiscreteAdjoint":
        if dtype not in self._by_dtype:
            self._by_dtype[dtype] = QGDiscreteAdjoint(self.model._in_dtype(dtype))
        return self._by_dtype[dtype]


__all__ = ["QGDiscreteAdjoint"]
