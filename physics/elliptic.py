"""Elliptic solvers: Helmholtz/Poisson inversion and vertical modes for layered QG.

Horizontal problem: ``(Lap - kappa^2) psi = q`` for corner fields ``(..., ny, nx)``.

* periodic grids (FFT): the five-point Laplacian of :func:`physics.operators.laplacian` is
  inverted exactly on its discrete eigenvalues, so ``laplacian(psi) - kappa^2 psi = q`` to
  round-off; ``spectral=True`` inverts the exact Laplacian ``-(k^2 + l^2)`` instead (the
  pseudo-spectral path). For ``kappa = 0`` the mean of ``q`` is not representable: it is
  dropped and ``psi`` has zero mean (so ``laplacian(psi) = q - mean(q)``).
* closed grids (DST-I): ``psi = 0`` on the walls (stored index 0 and the ghost index ``n``);
  the free points ``i = 1..nx-1, j = 1..ny-1`` satisfy
  ``laplacian(psi, ghost="zero") - kappa^2 psi = q`` there to round-off; wall values of
  ``q`` are ignored and the returned ``psi`` is exactly 0 on the stored walls.

Vertical problem (layered QG): ``q_i = Lap psi_i + sum_j S_ij psi_j`` with the stretching
matrix ``S`` of :func:`stretching_matrix`. ``H S`` is symmetric and negative semi-definite,
so ``S = P diag(-kappa_m^2) P^-1`` with real ``kappa_m^2 >= 0`` (:class:`VerticalModes`);
the modal amplitudes ``psi_m`` solve one Helmholtz problem each, with ``kappa_m^2`` the
inverse squared deformation radii (0 for the barotropic mode).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._checks import check_field, check_nonzero, check_positive
from .grid import Grid
from .spectral import dst1_2d, laplacian_eigenvalues_dst, laplacian_eigenvalues_fft

Kappa2 = Union[float, torch.Tensor]


def _safe_reciprocal(denom: torch.Tensor) -> torch.Tensor:
    """``1 / denom`` with 0 where ``denom == 0`` (NaN-free gradients)."""
    zero = denom == 0
    return torch.where(zero, torch.zeros_like(denom), 1.0 / torch.where(zero, torch.ones_like(denom), denom))


def helmholtz_multiplier(grid: Grid, kappa2: Kappa2 = 0.0, spectral: bool = False) -> torch.Tensor:
    """Spectral multiplier ``1 / (lambda - kappa^2)`` of the Helmholtz inverse.

    Periodic: on the ``rfft2`` modes, shape ``(..., ny, nx//2+1)``; closed: on the DST-I
    modes, shape ``(..., ny, nx)`` (0 on the wall row/column, which carry no mode).
    ``kappa2`` [1/m^2] is a float or a tensor broadcasting against ``(..., 1, 1)`` (e.g.
    ``(nmodes, 1, 1)``); the leading dims of the result are those of ``kappa2``.
    """
    if grid.periodic:
        lam = laplacian_eigenvalues_fft(grid, spectral=spectral)
    else:
        if spectral:
            raise ValueError("spectral=True needs a periodic grid; closed basins use the discrete DST solver")
        lam = laplacian_eigenvalues_dst(grid)
    return _safe_reciprocal(lam - kappa2)


def apply_inverse(q: torch.Tensor, grid: Grid, multiplier: torch.Tensor) -> torch.Tensor:
    """``psi`` from ``q`` (``(..., ny, nx)``) with a precomputed :func:`helmholtz_multiplier`."""
    if grid.periodic:
        qh = torch.fft.rfft2(q)
        return torch.fft.irfft2(qh * multiplier, s=grid.shape)
    norm = 4.0 / (grid.nx * grid.ny)  # DST-I is its own inverse up to 2/n per axis
    return dst1_2d(dst1_2d(q) * multiplier) * norm


def solve_helmholtz(q: torch.Tensor, grid: Grid, kappa2: Kappa2 = 0.0, spectral: bool = False) -> torch.Tensor:
    """Solve ``(Lap - kappa^2) psi = q`` for ``psi`` [units of q * m^2]; see the module doc.

    Args:
        q: right-hand side at corners, shape ``(..., ny, nx)``.
        grid: the grid (periodic: FFT, closed: DST-I with ``psi = 0`` on walls).
        kappa2: ``kappa^2 >= 0`` [1/m^2], float or tensor broadcasting to ``(..., 1, 1)``.
        spectral: invert the exact (not five-point) Laplacian; periodic grids only.
    Returns:
        ``psi``, shape ``(..., ny, nx)`` (broadcast with the leading dims of ``kappa2``).
    """
    check_field("q", q, grid.ny, grid.nx)
    if isinstance(kappa2, torch.Tensor):
        if bool((kappa2.detach() < 0).any()):
            raise ValueError("kappa2 must be >= 0 (inverse squared length, 1/m^2)")
    elif kappa2 < 0:
        raise ValueError(f"kappa2 must be >= 0 (inverse squared length, 1/m^2), got {kappa2!r}")
    return apply_inverse(q, grid, helmholtz_multiplier(grid, kappa2, spectral))


def solve_poisson(q: torch.Tensor, grid: Grid, spectral: bool = False) -> torch.Tensor:
    """Solve ``Lap psi = q`` (:func:`solve_helmholtz` with ``kappa = 0``)."""
    return solve_helmholtz(q, grid, 0.0, spectral)


# ------------------------------------------------------------------------- vertical modes
def stretching_matrix(H: Sequence[float], g_prime: Sequence[float], f0: float) -> np.ndarray:
    """Layer stretching matrix ``S`` [1/m^2] of ``q_i = Lap psi_i + sum_j S_ij psi_j``.

    ``H`` (N layer thicknesses [m], top first), ``g_prime`` reduced gravities [m/s^2] of the
    N-1 interfaces (rigid lid, flat bottom), or of N interfaces where the last one sits above
    a resting, infinitely deep layer (reduced-gravity "N.5-layer" model), ``f0`` [1/s]::

        S[i, i-1] =  f0^2 / (H_i g'_{i-1}),   S[i, i+1] = f0^2 / (H_i g'_i),
        S[i, i]   = -f0^2 / H_i (1/g'_{i-1} + 1/g'_i)   (missing interfaces omitted).

    For two layers ``S = [[-F1, F1], [F2, -F2]]`` with ``F_i = f0^2 / (H_i g')`` (pyqg's F1, F2).
    """
    H = [check_positive(f"H[{i}]", h) for i, h in enumerate(H)]
    n = len(H)
    if n < 1:
        raise ValueError("H must list at least one layer thickness")
    gp = [check_positive(f"g_prime[{i}]", g) for i, g in enumerate(g_prime)]
    if len(gp) not in (n - 1, n):
        raise ValueError(f"g_prime must have {n - 1} (rigid lid/flat bottom) or {n} (reduced gravity) entries for {n} layers, got {len(gp)}")
    f0 = check_nonzero("f0 (the Coriolis parameter [1/s] of layer stretching)", f0)
    S = np.zeros((n, n))
    for i, g in enumerate(gp):  # interface i lies between layer i and layer i+1 (if any)
        S[i, i] -= f0**2 / (H[i] * g)
        if i + 1 < n:
            S[i, i + 1] += f0**2 / (H[i] * g)
            S[i + 1, i + 1] -= f0**2 / (H[i + 1] * g)
            S[i + 1, i] += f0**2 / (H[i + 1] * g)
    return S


class VerticalModes:
    """Eigen-decomposition ``S = P diag(-kappa2) P^-1`` of a stretching matrix.

    ``H S`` is symmetric, so with ``D = diag(sqrt(H))`` the matrix ``D S D^-1`` is symmetric:
    ``D S D^-1 = V diag(-kappa2) V^T`` and ``P = D^-1 V``, ``P^-1 = V^T D``. Modes are sorted by
    ``kappa2`` (barotropic first when the lid is rigid). Deformation radii ``1/sqrt(kappa2)``.

    Attributes (torch, ``dtype``/``device`` of the grid): ``kappa2`` ``(N,)`` [1/m^2],
    ``P`` ``(N, N)`` (layer from mode), ``Pinv`` ``(N, N)`` (mode from layer).
    """

    def __init__(self, S: np.ndarray, H: Sequence[float], dtype: torch.dtype = torch.float64, device="cpu") -> None:
        S = np.asarray(S, dtype=float)
        H = np.asarray(H, dtype=float)
        d = np.sqrt(H)
        A = (d[:, None] * S) / d[None, :]
        A = 0.5 * (A + A.T)  # symmetric up to round-off by construction
        evals, V = np.linalg.eigh(A)
        order = np.argsort(-evals)  # -evals = kappa2 ascending
        evals, V = evals[order], V[:, order]
        kappa2 = np.clip(-evals, 0.0, None)
        kappa2[np.abs(evals) <= 1e-12 * max(np.abs(evals).max(), 1e-300)] = 0.0  # exact barotropic mode
        kw = dict(dtype=dtype, device=device)
        self.kappa2 = torch.as_tensor(kappa2, **kw)
        self.P = torch.as_tensor(V / d[:, None], **kw)
        self.Pinv = torch.as_tensor(V.T * d[None, :], **kw)

    @property
    def deformation_radii(self) -> torch.Tensor:
        """``1 / sqrt(kappa2)`` [m] per mode (``inf`` for the barotropic mode)."""
        return 1.0 / torch.sqrt(self.kappa2)

    def to_modes(self, x: torch.Tensor) -> torch.Tensor:
        """Layer field ``(B, N, ny, nx)`` -> modal amplitudes ``(B, N, ny, nx)`` (``P^-1 x``)."""
        return torch.matmul(self.Pinv, x.flatten(-2)).view_as(x)  # one bmm, no permutes

    def to_layers(self, x: torch.Tensor) -> torch.Tensor:
        """Modal amplitudes ``(B, N, ny, nx)`` -> layer field (``P x``)."""
        return torch.matmul(self.P, x.flatten(-2)).view_as(x)


class _PeriodicLayerInverse(torch.autograd.Function):
    """``psi = irfft2(sum_j M_ij rfft2(q_j))`` with its adjoint written out.

    ``M`` ``(N, N, ny, nx//2+1)`` is real and even in the wavenumbers, so the real-space operator
    is ``R = F^-1 M F`` and its transpose is ``F^-1 M^T F`` (swap the layer indices): the backward
    pass is one more inversion instead of autograd's chain through both FFTs.
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(M)
        return _apply_layer_inverse(q, M)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (M,) = ctx.saved_tensors
        return _apply_layer_inverse(grad, M.transpose(0, 1)), None


def _apply_layer_inverse(q: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    qh = torch.fft.rfft2(q)
    return torch.fft.irfft2((M * qh.unsqueeze(1)).sum(2), s=q.shape[-2:])


def periodic_layer_inverse(q: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """Layered periodic inversion ``psi_i = F^-1 sum_j M_ij F q_j`` for ``q`` ``(B, N, ny, nx)``
    and a real per-wavenumber matrix ``M`` ``(N, N, ny, nx//2+1)`` (or its complex copy with zero
    imaginary part, which skips a dtype promotion per call) that is even in ``(k, l)``
    (e.g. ``P diag(helmholtz_multiplier) P^-1``). Differentiable in ``q`` (``M`` is a constant)."""
    if torch.is_grad_enabled() and q.requires_grad:
        return _PeriodicLayerInverse.apply(q, M)
    return _apply_layer_inverse(q, M)


def solve_layers(q: torch.Tensor, grid: Grid, modes: VerticalModes, multiplier: Optional[torch.Tensor] = None,
                 spectral: bool = False) -> torch.Tensor:
    """Layered inversion: ``psi`` ``(B, N, ny, nx)`` with ``Lap psi_i + (S psi)_i = q_i``.

    Projects on vertical modes, solves ``(Lap - kappa_m^2) psi_m = q_m`` per mode (FFT or DST),
    projects back. ``multiplier`` is ``helmholtz_multiplier(grid, modes.kappa2[:, None, None])``
    when precomputed.
    """
    if multiplier is None:
        multiplier = helmholtz_multiplier(grid, modes.kappa2[:, None, None], spectral)
    return modes.to_layers(apply_inverse(modes.to_modes(q), grid, multiplier))


__all__ = [
    "helmholtz_multiplier", "apply_inverse", "solve_helmholtz", "solve_poisson",
    "stretching_matrix", "VerticalModes", "solve_layers", "periodic_layer_inverse",
]
