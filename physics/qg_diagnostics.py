"""Diagnostics of the layered QG model (:class:`physics.qg.QG`), beside it as in pyqg.

Energies are per unit mass and area means weighted by the layer thicknesses ``H_i / H``:
kinetic ``sum_i (H_i/H) <|grad psi_i|^2> / 2``, available potential ``-sum_i (H_i/H) <psi_i (S psi)_i> / 2``,
total ``-sum_i (H_i/H) <psi_i q_i> / 2``; potential enstrophy ``sum_i (H_i/H) <q_i^2> / 2``. A mixin:
it uses the model's ``streamfunction``, ``forward``, ``S``, ``H``, ``mask``, ``grid``, ``spectral``.

On a sphere grid (:mod:`physics.qg_sphere`) ``<.>`` is the area-weighted mean ``sum A f / sum A``
over the corner cells (``A_j`` of :func:`physics.sphere_operators.metric`) and the Laplacian the
spherical flux form, so the identities below (e.g. KE by summation by parts) hold as on the plane.
"""
from __future__ import annotations

import torch

from .precision import follows_state_dtype
from .qg_sphere import area_weights, sphere_laplacian
from .qg_terms import fd_laplacian


class QGDiagnostics:
    """Energy, enstrophy and PV diagnostics and the model's own ``laplacian`` / ``stretching``."""

    def stretching(self) -> torch.Tensor:
        """The stretching matrix ``S`` ``(N, N)`` [1/m^2] of ``q = Lap psi + S psi`` (a learnable
        ``Ld`` is read live: ``S = -1/Ld^2``, differentiable)."""
        if self._learn_Ld:
            return -(1.0 / self.p("Ld") ** 2).view(1, 1)
        return self.S

    def _weights(self) -> torch.Tensor:
        H = torch.tensor(self.H or [1.0], dtype=self.S.dtype, device=self.S.device)
        return (H / H.sum()).view(1, -1)

    def laplacian(self, psi: torch.Tensor) -> torch.Tensor:
        """The model's own Laplacian of ``psi`` ``(..., N, ny, nx)`` at corners [1/s for psi in
        m^2/s]: exact wavenumbers on the spectral path, the five-point stencil otherwise, the
        spherical flux form on a sphere grid (``q = Lap psi + S psi`` uses it)."""
        if self.spectral:
            return torch.fft.irfft2(-self.k2 * torch.fft.rfft2(psi), s=self.grid.shape)
        if self.grid.metric == "sphere":
            return sphere_laplacian(psi, self.grid)
        return fd_laplacian(psi, self.grid)

    def _layer_mean(self, f: torch.Tensor) -> torch.Tensor:
        if self.grid.metric == "sphere":
            f = f * area_weights(self.grid, f)
        return (f.mean(dim=(-2, -1)) * self._weights()).sum(-1)

    @follows_state_dtype
    def kinetic_energy(self, q: torch.Tensor) -> torch.Tensor:
        """KE per unit mass [m^2/s^2], ``(B,)``: ``sum_i (H_i/H) <|grad psi_i|^2> / 2``.

        ``<.>`` is the area mean; computed as ``-<psi Lap psi> / 2``, which equals the mean of
        the squared forward differences exactly (summation by parts, ``psi = 0`` on walls).
        """
        psi = self.streamfunction(q)
        return self._layer_mean(-0.5 * psi * self.laplacian(psi))

    @follows_state_dtype
    def available_potential_energy(self, q: torch.Tensor) -> torch.Tensor:
        """APE per unit mass [m^2/s^2], ``(B,)``: ``-sum_i (H_i/H) <psi_i (S psi)_i> / 2``
        ``= sum_interfaces f0^2 / (2 g' H) <(psi_i - psi_i+1)^2>`` (``<psi^2>/(2 Ld^2)`` at 1.5 layers)."""
        psi = self.streamfunction(q)
        S = self.stretching().to(psi.dtype)
        Spsi = torch.einsum("ij,bjyx->biyx", S, psi)
        return self._layer_mean(-0.5 * (psi * self.mask) * Spsi)  # ocean corners (islands: psi = c_k on land)

    @follows_state_dtype
    def total_energy(self, q: torch.Tensor) -> torch.Tensor:
        """KE + APE [m^2/s^2] ``= -sum_i (H_i/H) <psi_i q_i> / 2``, ``(B,)``.

        With ``islands="circulation"`` (``psi = c_k`` on island ``k``) the identity gains
        ``-sum_k c_k Gamma_k / 2``, so the sum ``KE + APE`` itself is returned."""
        if getattr(self, "islands", "zero") == "circulation":
            return self.kinetic_energy(q) + self.available_potential_energy(q)
        return self._layer_mean(-0.5 * self.streamfunction(q) * (q * self.mask))

    @follows_state_dtype
    def enstrophy(self, q: torch.Tensor) -> torch.Tensor:
        """Potential enstrophy [1/s^2], ``(B,)``: ``sum_i (H_i/H) <q_i^2> / 2`` (walls: q = 0)."""
        self._check(q)
        return self._layer_mean(0.5 * (q * self.mask) ** 2)

    @follows_state_dtype
    def potential_vorticity(self, q: torch.Tensor) -> torch.Tensor:
        """Thickness-weighted area-mean PV anomaly [1/s], ``(B,)``: ``sum_i (H_i/H) <q_i>``."""
        self._check(q)
        return self._layer_mean(q * self.mask)

    @follows_state_dtype
    def energy_tendency(self, q: torch.Tensor) -> tuple:
        """``(dE/dt, scale)``: ``dE/dt = -sum_i (H_i/H) <psi_i dq_i/dt>`` [m^2/s^3] and the same sum
        of absolute values (the round-off scale of the sum), each ``(B,)``."""
        terms = -self.streamfunction(q) * self.forward(0.0, q)
        return self._layer_mean(terms), self._layer_mean(terms.abs())


__all__ = ["QGDiagnostics"]
