"""Islands in the masked QG inversion: a constant streamfunction per island, fixed by its circulation.

On a closed grid with an ocean corner mask ``m`` (:func:`physics.masks.ocean_corner_mask`) the land
corners split into connected components (four-neighbour connectivity, the coupling of the five-point
Laplacian): the *mainland* -- every component touching the outer walls -- and the *islands*
``I_1 .. I_K`` (components off the walls). The streamfunction is constant on each coast, but only
the mainland constant can be set to 0; on island ``k`` it is an unknown ``c_k(t)`` (a net transport
between the island and the mainland is allowed). Per vertical mode (``kappa^2`` of the mode)::

    (L - kappa^2) psi = q     at every ocean corner
    psi = 0 on the mainland,  psi = c_k on island k,
    Gamma_k(psi) = Gamma_k    (k = 1..K)

with the discrete circulation around island ``k`` (the discrete Stokes theorem of the model's own
flux-form Laplacian ``L``, zero ghosts: the sum over the island's corners of ``A L psi`` telescopes
to the fluxes through the island's coast edges, since ``psi`` is constant inside the island)::

    Gamma_k(psi) = sum_{j in I_k} A_j (L psi)_j = sum_{coast edges e of I_k} (l_e / d_e) (psi_out(e) - c_k)
                 ~ oint_{coast k} u . dl        (anticlockwise; [m^2/s]; A_j the corner area [m^2])

Solution (McWilliams 1977, "A note on a consistent quasigeostrophic model in a multiply connected
domain", Dyn. Atmos. Oceans 1, 427-441): with ``psi_0`` the solution with ``psi = 0`` on every
coast (:mod:`physics.capacitance`) and the homogeneous solutions ``psi_l = chi_l + G(-m L chi_l)``
(``chi_l`` the indicator of island ``l``, ``G`` the masked inverse: ``(L - kappa^2) psi_l = 0`` in the
ocean, ``psi_l = 1`` on island ``l``, 0 on the other coasts)::

    psi = psi_0 + sum_l c_l psi_l,      sum_l Gamma_k(psi_l) c_l = Gamma_k - Gamma_k(psi_0)

a dense ``K x K`` system per mode, precomputed and inverted once (``Gamma_k(psi_l)`` is minus the
energy inner product of ``psi_k`` and ``psi_l``: symmetric negative definite, so invertible). A solve
costs one Laplacian and two contractions over ``K x ny x nx`` on top of ``psi_0``; it is
differentiable in ``q``. Precomputation: ``K`` masked solves per mode (one batched call) and ``psi_l``
stored as ``(N, K, ny, nx)`` (e.g. 100 islands, one layer, 500 x 500 corners: 200 MB in float64), so
a mask with very many islands is costly: merge or fill tiny islands first, or use ``islands="zero"``.

What is conserved and what is neglected: Kelvin's theorem makes ``Gamma_k`` a constant of the
inviscid, unforced continuous dynamics (no normal flow on the coast), which is what is implemented:
``Gamma_k`` fixed at construction (``QG(..., islands="circulation", circulation=...)``, default 0;
:func:`island_circulation` gives it for an initial ``psi``). With wind, bottom drag or viscosity the
circulation evolves by the island rule (Godfrey 1989, "A Sverdrup model of the depth-integrated flow
for the world ocean allowing for island circulations", Geophys. Astrophys. Fluid Dyn. 45, 89-112):
``dGamma_k/dt = oint (tau / (rho0 H) - drag u + nu grad zeta) . dl`` -- NOT implemented (the forcing
and dissipation along the coast are neglected; ``Gamma_k`` stays at its initial value). Discretely,
the fixed ``Gamma_k`` makes the energy conserved only to truncation error (the Arakawa Jacobian
summed over an island's corners is a second-order-small flux, not exactly 0), while the enstrophy
``sum_ocean q^2`` stays conserved to round-off (``q = 0`` on land).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn
from scipy import ndimage

from . import operators as op
from .grid import Grid
from .sphere_operators import metric

ISLANDS = ("zero", "circulation")


def island_labels(corner_mask: torch.Tensor) -> torch.Tensor:
    """Island number of each corner ``(ny, nx)`` (int64): ``k = 1..K`` on the land corners of island
    ``k`` (a four-connected land component touching none of the four array edges), 0 on ocean and
    mainland corners. Islands are numbered in the order of their first corner (row-major)."""
    land = (corner_mask.detach().cpu().numpy() == 0)
    lab, n = ndimage.label(land)  # default structure: four-neighbour connectivity
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    keep = np.setdiff1d(np.arange(1, n + 1), edge)  # ndimage numbers components in raster order
    lut = np.zeros(n + 1, dtype=np.int64)
    lut[keep] = np.arange(1, keep.size + 1)
    return torch.as_tensor(lut[lab], dtype=torch.int64, device=corner_mask.device)


def circulation_weights(grid: Grid, corner_mask: torch.Tensor) -> torch.Tensor:
    """``W`` ``(K, ny, nx)`` [m^2]: ``A_j`` on the corners of island ``k``, 0 elsewhere, so that
    ``Gamma_k(psi) = sum_j W_kj (L psi)_j`` (module docstring)."""
    lab = island_labels(corner_mask)
    K = int(lab.max())
    chi = (lab.unsqueeze(0) == torch.arange(1, K + 1, device=lab.device).view(-1, 1, 1))
    area = metric(grid, "corner", "area", torch.zeros((), dtype=grid.dtype, device=grid.device))
    return chi.to(grid.dtype) * area


def circulation_of(psi: torch.Tensor, grid: Grid, weights: torch.Tensor) -> torch.Tensor:
    """``Gamma`` ``(..., K)`` [m^2/s] of ``psi`` ``(..., ny, nx)`` [m^2/s] (``weights`` of
    :func:`circulation_weights`): ``sum_j W_kj (L psi)_j``, ``L`` the zero-ghost corner Laplacian."""
    lap = op.laplacian(psi, grid, "zero", loc="corner")
    return torch.einsum("...yx,kyx->...k", lap, weights.to(psi.dtype))


def island_circulation(psi: torch.Tensor, grid: Grid, corner_mask: torch.Tensor) -> torch.Tensor:
    """The circulation ``Gamma`` ``(..., K)`` [m^2/s] around each island of ``corner_mask`` of a
    streamfunction ``psi`` ``(..., ny, nx)`` [m^2/s] (e.g. per layer ``(B, N, ny, nx)`` -> ``(B, N, K)``):
    the value to give ``QG(..., islands="circulation", circulation=Gamma)`` to start from ``psi``.
    ``psi`` is expected constant on each island (as the model's is); the formula is the module's."""
    if not torch.is_tensor(psi) or not psi.is_floating_point() or psi.dim() < 2 or tuple(psi.shape[-2:]) != grid.shape:
        raise ValueError(f"psi must be a floating tensor (..., ny, nx) with (ny, nx) = {grid.shape}, "
                         f"got {type(psi).__name__} {tuple(getattr(psi, 'shape', ()))}")
    return circulation_of(psi, grid, circulation_weights(grid, corner_mask).to(psi.device))


def check_circulation(circulation: Any, n_layers: int, n_islands: int) -> torch.Tensor:
    """``circulation`` as a float64 ``(N, K)`` tensor [m^2/s]: ``None`` -> zeros; ``(K,)`` (one layer)
    or ``(N, K)``. ``ValueError`` naming ``circulation`` for another shape or non-finite values."""
    if circulation is None:
        return torch.zeros(n_layers, n_islands, dtype=torch.float64)
    try:
        g = torch.as_tensor(circulation, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"circulation must be a tensor or sequence of circulations [m^2/s], "
                        f"got {type(circulation).__name__}") from None
    if g.dim() == 1 and n_layers == 1:
        g = g.unsqueeze(0)
    if tuple(g.shape) != (n_layers, n_islands):
        want = f"({n_islands},) or ({n_layers}, {n_islands})" if n_layers == 1 else f"({n_layers}, {n_islands})"
        raise ValueError(f"circulation must have shape {want} (layers, islands: the mask has {n_islands} "
                         f"island(s)), got {tuple(g.shape)}")
    if not bool(torch.isfinite(g).all()):
        raise ValueError("circulation contains non-finite values (NaN or Inf)")
    return g


def init_islands(model: nn.Module, solve: Callable[[torch.Tensor], torch.Tensor], circulation: Optional[Any]) -> None:
    """Register the island buffers of a masked QG ``model`` (``N`` layers, modes ``model.modes``):
    ``island_W`` ``(K, ny, nx)``, ``island_psi`` ``(N, K, ny, nx)`` (the ``psi_l`` of each mode),
    ``island_gram_inv`` ``(N, K, K)`` (the inverse of ``Gamma_k(psi_l)`` per mode) and ``island_gamma``
    ``(N, K)`` (the prescribed circulations in mode space, ``P^-1 Gamma``). ``solve``: the masked
    mode-space inverse ``(..., N, ny, nx) -> (..., N, ny, nx)`` with ``psi = 0`` on every coast."""
    grid, N = model.grid, model.nlayers
    W = circulation_weights(grid, model.mask)
    K = W.shape[0]
    gamma = check_circulation(circulation, N, K)
    model.n_islands = K
    if K == 0:
        model._islands = False
        return
    with torch.no_grad():
        W64, g64 = W.double(), grid.to(dtype=torch.float64)
        chi = (W64 != 0).to(torch.float64)  # (K, ny, nx)
        m = model.mask.to(torch.float64)
        src = -m * op.laplacian(chi, g64, "zero", loc="corner")  # (K, ny, nx)
        dt = model.mask.dtype
        homog = chi.unsqueeze(1) + solve(src.unsqueeze(1).expand(K, N, *grid.shape).to(dt)).double()  # (K, N, ny, nx)
        gram = torch.einsum("lnyx,kyx->nkl", op.laplacian(homog, g64, "zero", loc="corner"), W64)  # (N, K, K)
        gram_inv = torch.linalg.inv(0.5 * (gram + gram.transpose(-1, -2)))
        if model.modes is not None:
            gamma = model.modes_Pinv.double().cpu() @ gamma  # layer -> mode circulations
    kw = dict(dtype=grid.dtype, device=grid.device)
    model.register_buffer("island_W", W.to(**kw))
    model.register_buffer("island_psi", homog.transpose(0, 1).contiguous().to(**kw))
    model.register_buffer("island_gram_inv", gram_inv.to(**kw))
    model.register_buffer("island_gamma", gamma.to(**kw))
    model._islands = True


def island_correct(model: nn.Module, psi0: torch.Tensor) -> torch.Tensor:
    """``psi_0 + sum_l c_l psi_l`` (module docstring) for the mode-space ``psi_0`` ``(B, N, ny, nx)``
    of the masked solve; ``psi_0`` itself when the model has no island constants to fix."""
    if not getattr(model, "_islands", False):
        return psi0
    r = model.island_gamma - circulation_of(psi0, model.grid, model.island_W)  # (B, N, K)
    c = torch.einsum("nkl,bnl->bnk", model.island_gram_inv, r)
    return psi0 + torch.einsum("bnk,nkyx->bnyx", c, model.island_psi)


__all__ = ["ISLANDS", "island_labels", "circulation_weights", "circulation_of", "island_circulation",
           "check_circulation", "init_islands", "island_correct"]
