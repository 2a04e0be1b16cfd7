"""Spectral helpers: FFT wavenumbers, discrete-Laplacian eigenvalues and a torch DST-I.

All functions are pure, batched over leading dims, differentiable and device-agnostic.

Periodic fields (``(..., ny, nx)``) use the real FFT ``torch.fft.rfft2``: the spectral array is
``(..., ny, nx // 2 + 1)`` with angular wavenumbers ``k = 2 pi m / Lx`` (``m = 0..nx//2``)
and ``l = 2 pi n / Ly`` (``n = 0..ny/2, -ny/2+1..-1``).

Closed basins keep ``psi = 0`` on the walls: the free corner points are ``i = 1..nx-1`` and
``j = 1..ny-1`` (stored index 0 and the ghost index ``n`` are walls, see :mod:`physics.grid`).
A field vanishing on the walls is expanded in ``sin(pi m i / n)``, ``m = 1..n-1``, i.e. the
type-I discrete sine transform (DST-I) of the free points.
"""
from __future__ import annotations

import math

import torch

from .grid import Grid


def fft_wavenumbers(grid: Grid) -> tuple:
    """Angular wavenumbers ``(k, l)`` [rad/m] of ``rfft2``: ``k`` shape ``(1, nx//2+1)``,
    ``l`` shape ``(ny, 1)`` (broadcast to the spectral array)."""
    kw = dict(dtype=grid.dtype, device=grid.device)
    k = 2 * math.pi * torch.fft.rfftfreq(grid.nx, d=grid.dx, **kw)
    l = 2 * math.pi * torch.fft.fftfreq(grid.ny, d=grid.dy, **kw)
    return k.unsqueeze(0), l.unsqueeze(1)


def laplacian_eigenvalues_fft(grid: Grid, spectral: bool = False) -> torch.Tensor:
    """Eigenvalues ``lambda(l, k)`` [1/m^2] of the periodic Laplacian on the ``rfft2`` modes.

    ``spectral=False``: the five-point Laplacian of :func:`physics.operators.laplacian`,
    ``lambda = -(4/dx^2) sin^2(k dx / 2) - (4/dy^2) sin^2(l dy / 2)``;
    ``spectral=True``: the exact Laplacian, ``lambda = -(k^2 + l^2)``. Shape ``(ny, nx//2+1)``.
    """
    k, l = fft_wavenumbers(grid)
    if spectral:
        return -(k**2 + l**2)
    return -(4 / grid.dx**2) * torch.sin(k * grid.dx / 2) ** 2 - (4 / grid.dy**2) * torch.sin(l * grid.dy / 2) ** 2


def centered_derivative_symbols(grid: Grid, spectral: bool = False) -> tuple:
    """Fourier symbols ``(i k~, i l~)`` of d/dx, d/dy on the ``rfft2`` modes (complex).

    ``spectral=True``: ``k~ = k`` except 0 at the Nyquist wavenumber (an odd derivative of a
    real field has no real Nyquist component); ``False``: the centred difference,
    ``k~ = sin(k dx) / dx``. Shapes ``(1, nx//2+1)`` and ``(ny, 1)``.
    """
    k, l = fft_wavenumbers(grid)
    if spectral:
        if grid.nx % 2 == 0:
            k = k.clone()
            k[..., -1] = 0
        if grid.ny % 2 == 0:
            l = l.clone()
            l[grid.ny // 2] = 0
    else:
        k = torch.sin(k * grid.dx) / grid.dx
        l = torch.sin(l * grid.dy) / grid.dy
    return 1j * k, 1j * l


def laplacian_eigenvalues_dst(grid: Grid) -> torch.Tensor:
    """Eigenvalues [1/m^2] of the five-point Dirichlet Laplacian on ``sin(pi m i/nx) sin(pi n j/ny)``:
    ``lambda = -(4/dx^2) sin^2(pi m / (2 nx)) - (4/dy^2) sin^2(pi n / (2 ny))``, shape ``(ny, nx)``
    indexed by ``(n, m)``; row/column 0 (no mode) are set to ``-inf`` so that dividing by them
    gives 0."""
    kw = dict(dtype=grid.dtype, device=grid.device)
    m = torch.arange(grid.nx, **kw)
    n = torch.arange(grid.ny, **kw)
    lx = -(4 / grid.dx**2) * torch.sin(math.pi * m / (2 * grid.nx)) ** 2
    ly = -(4 / grid.dy**2) * torch.sin(math.pi * n / (2 * grid.ny)) ** 2
    lam = ly.unsqueeze(1) + lx.unsqueeze(0)
    lam[0, :] = -math.inf
    lam[:, 0] = -math.inf
    return lam


def exponential_filter(grid: Grid, filterfac: float = 23.6, cphi: float = 0.65 * math.pi) -> torch.Tensor:
    """pyqg's spectral filter on the ``rfft2`` modes, shape ``(ny, nx//2+1)``:
    ``1`` where ``w = sqrt((k dx)^2 + (l dy)^2) <= cphi``, else ``exp(-filterfac (w - cphi)^4)``.
    Applied to the state after each step (e.g. ``integrate_fixed(post_step=...)``), it damps
    the grid-scale enstrophy cascade of the pseudo-spectral model."""
    k, l = fft_wavenumbers(grid)
    w = torch.sqrt((k * grid.dx) ** 2 + (l * grid.dy) ** 2)
    return torch.where(w <= cphi, torch.ones_like(w), torch.exp(-filterfac * (w - cphi) ** 4))


def dst1(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Type-I discrete sine transform along ``dim`` in the stored wall layout.

    With ``n = x.shape[dim]``, the input index 0 is a wall and is ignored (treated as 0):
    ``X[m] = sum_{i=1}^{n-1} x[i] sin(pi m i / n)`` for ``m = 1..n-1`` and ``X[0] = 0``.
    Computed with one real FFT of the odd extension of length ``2n`` (``O(n log n)``,
    differentiable). The inverse is ``(2 / n) * dst1``. Equals ``scipy.fft.dst(x[1:], type=1) / 2``.
    """
    dim = dim % x.dim()
    n = x.shape[dim]
    body = x.narrow(dim, 1, n - 1)
    zero = torch.zeros_like(x.narrow(dim, 0, 1))
    ext = torch.cat((zero, body, zero, -body.flip(dim)), dim=dim)  # odd extension, length 2n
    spec = torch.fft.rfft(ext, dim=dim)  # (..., n + 1, ...): X_m = -Im(spec_m) / 2
    out = -0.5 * spec.imag.narrow(dim, 0, n)
    # index 0 is exactly 0 already (sin(0) = 0): imag of the mean of an odd sequence.
    return out


def dst1_2d(x: torch.Tensor) -> torch.Tensor:
    """:func:`dst1` along both trailing dims ``(ny, nx)`` (walls at stored index 0)."""
    return dst1(dst1(x, -1), -2)


__all__ = [
    "fft_wavenumbers", "laplacian_eigenvalues_fft", "centered_derivative_symbols",
    "laplacian_eigenvalues_dst", "exponential_filter", "dst1", "dst1_2d",
]
