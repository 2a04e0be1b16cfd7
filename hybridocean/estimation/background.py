"""Background-error covariance ``B`` of 4D-Var as a square root ``U`` (``B = U U^T``), x/y grids.

Control variable transform (:mod:`.fourdvar`): ``dx = U v`` with ``v`` white, so that
``J_b = 1/2 (x0 - x_b)^T B^-1 (x0 - x_b) = 1/2 |v|^2`` and the minimisation is preconditioned
by ``B^{1/2}`` (the Hessian of ``J_b`` in ``v`` is the identity).

Model: a separable Gaussian correlation of length ``L`` and variance ``sigma^2``::

    B(r) ~ sigma^2 exp(-r^2 / (2 L^2)),     spectrum  s(k, l)^2 ~ exp(-(k^2 + l^2) L^2 / 2)

written in an orthonormal basis ``E`` of the field's boundary conditions on each axis::

    U v = E_y diag(s_y) v diag(s_x) E_x^T,     s_a(m) = c_a exp(-k_m^2 L^2 / 4)

(``v`` and ``U v`` of shape ``(..., ny, nx)``; ``v`` holds the mode amplitudes). Bases, per axis
and C-grid location (see :mod:`physics.grid`):

* periodic: the real Fourier basis (``1, cos(2 pi m j / n), sin(2 pi m j / n)``, Nyquist),
  ``k_m = 2 pi m / L_axis``; the variance is ``sigma^2`` at every point (homogeneous);
* closed, a field that vanishes on the walls (QG ``psi``/``eta`` at corners; ``u`` along x,
  ``v`` along y): DST-I, ``sin(pi m j / n)``, ``k_m = pi m / L_axis`` (the wall row gets 0);
* closed, a field free at the walls (``eta`` at centres; ``u`` along y, ``v`` along x): DCT-II,
  ``cos(pi m (j + 1/2) / n)``, ``k_m = pi m / L_axis`` (no flux through the walls).

``c_a`` normalises the variance averaged over the non-wall points of each axis to 1, so the
domain-mean variance of ``U v`` is ``sigma^2`` (on closed grids it tapers towards the walls where
the field vanishes, like the diffusion-operator covariances of Weaver & Courtier 2001, QJRMS 127,
1815-1846, which a sine/cosine basis reproduces for a Gaussian on a box).

Why this ``B``: a Gaussian is the smooth, isotropic, single-scale correlation used for mesoscale
SSH, its square root in these bases is exact and cheap (two
``(n, n)`` matrix products per field, no iterative diffusion solve), it lives in the same
boundary conditions as the model's state (a closed-basin increment keeps ``psi = 0`` on the
walls), and it damps the grid-scale modes (the corner checkerboard that the four-corner average
to the observed cell centres cannot see) by ``exp(-(pi L / dx)^2 / 4)``. ``sigma`` [field units]
and ``L`` [m] are the user's choice per region (:class:`.fourdvar.FourDVar` documents its defaults).
"""
from __future__ import annotations

import math
from typing import Tuple

import torch

from physics._checks import check_choice, check_positive
from physics.grid import LOCATIONS, Grid

#: Per location: does the field vanish on the (stored) wall along (y, x) in a closed basin.
_WALL = {"corner": (True, True), "u": (False, True), "v": (True, False), "center": (False, False)}


def _basis(n: int, length: float, periodic: bool, wall: bool) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """``(E, k, n_free)``: orthonormal basis columns ``E`` ``(n, n)`` (float64; a zero column for
    the DST-I mode 0), their wavenumbers ``k`` ``(n,)`` [rad/m] and the number of non-wall points."""
    j = torch.arange(n, dtype=torch.float64)
    m = torch.arange(n, dtype=torch.float64)
    if periodic:
        E = torch.zeros(n, n, dtype=torch.float64)
        k = torch.zeros(n, dtype=torch.float64)
        E[:, 0] = 1.0 / math.sqrt(n)
        col = 1
        for p in range(1, (n - 1) // 2 + 1):
            E[:, col] = math.sqrt(2.0 / n) * torch.cos(2 * math.pi * p * j / n)
            E[:, col + 1] = math.sqrt(2.0 / n) * torch.sin(2 * math.pi * p * j / n)
            k[col] = k[col + 1] = 2 * math.pi * p / length
            col += 2
        if n % 2 == 0:
            E[:, col] = torch.cos(math.pi * j) / math.sqrt(n)
            k[col] = math.pi * n / length
        return E, k, n
    if wall:  # DST-I on the stored layout: index 0 is the wall (0), mode 0 is empty
        E = math.sqrt(2.0 / n) * torch.sin(math.pi * j[:, None] * m[None, :] / n)
        E[:, 0] = 0.0
        return E, math.pi * m / length, n - 1
    c = torch.full((n,), math.sqrt(2.0 / n), dtype=torch.float64)
    c[0] = math.sqrt(1.0 / n)
    E = c[None, :] * torch.cos(math.pi * m[None, :] * (j[:, None] + 0.5) / n)
    return E, math.pi * m / length, n


class GaussianCovariance:
    """Square root ``U`` of the Gaussian background covariance of the module docstring.

    Args:
        grid: the x/y :class:`~physics.grid.Grid` (periodic or closed).
        sigma: background-error standard deviation (domain mean), in the field's units (> 0).
        length: correlation length ``L`` [m] (> 0) of ``exp(-r^2 / (2 L^2))``.
        loc: C-grid location of the field (``"center"``, ``"u"``, ``"v"``, ``"corner"``): sets
            the basis on closed grids (module docstring).

    ``U(v)``: ``(..., ny, nx)`` -> ``(..., ny, nx)``, linear, differentiable, in ``v``'s dtype.
    """

    def __init__(self, grid: Grid, sigma: float, length: float, loc: str = "corner") -> None:
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.sigma = check_positive("sigma", sigma)
        self.length = check_positive("length", length)
        self.loc = check_choice("loc", loc, LOCATIONS)
        wy, wx = _WALL[loc]
        factors = []
        for n, L, wall in ((grid.ny, grid.Ly, wy), (grid.nx, grid.Lx, wx)):
            E, k, n_free = _basis(n, L, grid.periodic, wall)
            s = torch.exp(-(k * self.length) ** 2 / 4)
            s = torch.where(E.abs().sum(0) > 0, s, torch.zeros_like(s))
            s = s / torch.sqrt((s**2).sum() / n_free)  # mean variance 1 over the non-wall points
            factors.append(E * s[None, :])
        self._Ey, self._Ex = factors[0] * self.sigma, factors[1]
        self._cache = {}

    def _factors(self, like: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = (self._Ey.to(**dict(zip(("dtype", "device"), key))),
                                self._Ex.to(**dict(zip(("dtype", "device"), key))))
        return self._cache[key]

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        """``U v = E_y diag(s_y) v diag(s_x) E_x^T`` (module docstring), ``(..., ny, nx)``."""
        if not torch.is_tensor(v) or not v.dtype.is_floating_point:
            raise TypeError(f"v must be a floating torch.Tensor, got {type(v).__name__}")
        if v.dim() < 2 or tuple(v.shape[-2:]) != (self.grid.ny, self.grid.nx):
            raise ValueError(f"v must have trailing shape (ny, nx) = {(self.grid.ny, self.grid.nx)}, got {tuple(v.shape)}")
        Ey, Ex = self._factors(v)
        return Ey @ v @ Ex.transpose(0, 1)

    def variance(self) -> torch.Tensor:
        """Pointwise variance ``diag(B)`` ``(ny, nx)`` [units^2] (float64)."""
        return (self._Ey**2).sum(1)[:, None] * (self._Ex**2).sum(1)[None, :]

    def __repr__(self) -> str:
        return f"GaussianCovariance(sigma={self.sigma:g}, length={self.length:g} m, loc={self.loc!r}, boundary={self.grid.boundary!r})"


__all__ = ["GaussianCovariance"]
