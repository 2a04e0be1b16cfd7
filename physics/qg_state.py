"""SSH <-> quasi-geostrophic state (``psi`` per layer and PV ``q``) of a :class:`physics.qg.QG` model.

Surface relation (hydrostatic top-layer pressure ``p_1 = rho0 g eta``, geostrophic
streamfunction ``psi_1 = p_1 / (rho0 f0)``)::

    psi_1 = g eta / f0,        eta = f0 psi_1 / g

with ONE ``f0`` (the model's, default ``grid.f0``), also on a sphere grid: QG's geostrophic
balance uses the constant ``f0`` of its stretching (:mod:`physics.qg_sphere`), so ``psi_1 = g eta / f0``
is the streamfunction the model inverts; a local ``f(lat)`` here would be inconsistent with it
(the difference, ``(f - f0)/f0 ~ (L/R) / tan(lat0)``, is part of the QG approximation). And the
model's own PV definition (:mod:`physics.qg`)::

    q_i = Lap psi_i + sum_j S_ij psi_j        (S = 0: 1 layer; -1/Ld^2: 1.5 layers)

computed with the model's Laplacian (five-point, spectral or spherical, as the model inverts) and
stretching matrix, so that ``model.streamfunction(q)`` returns ``psi`` to round-off.

Vertical structure (N >= 2 layers): one SSH map cannot determine N layers, so the others follow
a chosen structure ``psi_i = w_i psi_1`` (``w_1 = 1``):

* ``"mode1"`` (default): the first baroclinic vertical mode of the model's stretching matrix
  (the gravest mode with a nonzero deformation radius), scaled to 1 at the surface. Chosen as
  the default because surface (altimetric) eddy kinetic energy is dominated by the first
  baroclinic mode over most of the ocean (Wunsch 1997, "The vertical partition of oceanic
  horizontal kinetic energy", J. Phys. Oceanogr. 27, 1770-1794).
* ``"barotropic"``: equivalent barotropic, ``w_i = 1`` (depth-independent flow).
* ``"surface"``: ``w_i = 0`` for ``i > 1`` (lower layers at rest: the 1.5-layer picture).
* a sequence of ``N`` weights with ``w[0] = 1``.

Where the fields live: ``psi`` and ``q`` at the grid corners (the model's state). ``loc="corner"``:
``eta`` is given at the corners (exact round trip); ``loc="center"``: ``eta`` at the cell centres
(SSH maps), moved to the corners by the four-centre average and back by the four-corner average
(:func:`physics.geostrophy.center_to_corner` / :func:`~physics.geostrophy.corner_to_center`,
second order, so that round trip is O(dx^2), not exact).

Representability: in a closed basin ``psi = 0`` on every wall (the model's convention), so
``eta`` on the stored wall corners is dropped (give an SSH anomaly relative to its wall value).
On a periodic grid a mode with zero deformation radius (1 layer, or the barotropic mode) cannot
carry a spatial mean: that mean is removed from ``psi`` (an SSH offset carries no flow).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch

from ._checks import check_choice, check_field, check_finite, check_positive, check_real
from .elliptic import VerticalModes
from .geostrophy import center_to_corner, corner_to_center
from .qg import QG

VERTICAL = ("mode1", "barotropic", "surface")
Vertical = Union[str, Sequence[float]]


def _f0(model: QG, f0: Optional[float]) -> float:
    f0 = model.f0 if f0 is None else check_real("f0", f0)
    if f0 == 0.0:
        raise ValueError("f0 must be nonzero for SSH <-> QG streamfunction (give the f0 of the QG model)")
    return f0


def vertical_weights(model: QG, vertical: Vertical = "mode1") -> torch.Tensor:
    """Weights ``w`` ``(N,)`` with ``psi_i = w_i psi_1`` (``w_1 = 1``); see the module docstring."""
    N = model.nlayers
    kw = dict(dtype=model.S.dtype, device=model.S.device)
    if not isinstance(vertical, str):
        w = torch.as_tensor([check_real(f"vertical[{i}]", x) for i, x in enumerate(vertical)], **kw)
        if w.numel() != N or float(w[0]) != 1.0:
            raise ValueError(f"vertical must be {VERTICAL} or {N} weights with vertical[0] = 1, got {list(vertical)}")
        return w
    check_choice("vertical", vertical, VERTICAL)
    if N == 1 or vertical == "barotropic":
        return torch.ones(N, **kw)
    if vertical == "surface":
        return torch.zeros(N, **kw).index_fill_(0, torch.tensor([0], device=kw["device"]), 1.0)
    modes = VerticalModes(model.stretching().detach().cpu().numpy(), model.H or [1.0] * N, **kw)
    baroclinic = torch.nonzero(modes.kappa2 > 0).flatten()
    P = modes.P[:, int(baroclinic[0])]
    if abs(float(P[0])) <= 1e-12 * float(P.abs().max()):
        raise ValueError("the first baroclinic mode vanishes at the surface: choose another vertical structure")
    return P / P[0]


def _remove_unrepresentable_mean(psi: torch.Tensor, model: QG) -> torch.Tensor:
    """Periodic grids: drop the spatial mean of the zero-deformation-radius modes (module docstring)."""
    if not model.grid.periodic:
        return psi * model.mask.to(psi)  # the model's corner mask: walls, and land with mask=
    S = model.stretching()
    if model.nlayers == 1:
        return psi - psi.mean((-2, -1), keepdim=True) if float(S.detach().abs().max()) == 0 else psi
    modes = VerticalModes(S.detach().cpu().numpy(), model.H or [1.0] * model.nlayers, dtype=psi.dtype,
                          device=psi.device)
    free = (modes.kappa2 == 0).to(psi.dtype).view(-1, 1, 1)
    pm = modes.to_modes(psi)
    return modes.to_layers(pm - free * pm.mean((-2, -1), keepdim=True))


def ssh_to_qg_state(
    eta: torch.Tensor,
    model: QG,
    g: float = 9.81,
    loc: str = "corner",
    vertical: Vertical = "mode1",
    f0: Optional[float] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(psi, q)`` of ``model`` from SSH ``eta`` [m]; see the module docstring.

    Args:
        eta: SSH [m], ``(ny, nx)`` or ``(B, ny, nx)``, at ``loc`` (``"corner"`` or ``"center"``).
        model: the :class:`~physics.qg.QG` model (1, 1.5 or N layers; periodic or closed).
        g: gravity [m/s^2].
        vertical: structure of the layers below the surface (N >= 2): ``"mode1"``,
            ``"barotropic"``, ``"surface"`` or N weights.
        f0: Coriolis parameter [1/s] of ``psi_1 = g eta / f0``; default ``model.f0`` (the model's
            own, which defaults to ``grid.f0``).
    Returns:
        ``psi`` [m^2/s] and ``q`` [1/s], each ``(B, N, ny, nx)`` at the corners, with
        ``model.streamfunction(q) == psi`` to round-off (walls: ``psi = q = 0``).
    """
    if not isinstance(model, QG):
        raise TypeError(f"model must be a physics.qg.QG, got {type(model).__name__}")
    grid = model.grid
    check_field("eta", eta, grid.ny, grid.nx)
    check_finite("eta", eta)
    if eta.dim() not in (2, 3):
        raise ValueError(f"eta must be (ny, nx) or (B, ny, nx), got shape {tuple(eta.shape)}")
    g = check_positive("g", g)
    check_choice("loc", loc, ("corner", "center"))
    eta = eta.to(model.S.dtype).reshape(-1, 1, grid.ny, grid.nx)
    if loc == "center":
        eta = center_to_corner(eta, grid)
    w = vertical_weights(model, vertical).view(-1, 1, 1)
    psi = _remove_unrepresentable_mean((g / _f0(model, f0)) * eta * w, model)
    q = model.laplacian(psi) + torch.einsum("ij,bjyx->biyx", model.stretching().to(psi), psi)
    if not grid.periodic:
        q = q * model.mask.to(q)
    return psi, q


def qg_state_to_ssh(
    q: torch.Tensor, model: QG, g: float = 9.81, loc: str = "corner", f0: Optional[float] = None
) -> torch.Tensor:
    """SSH ``eta = f0 psi_1 / g`` [m] of a QG state ``q`` ``(B, N, ny, nx)`` [1/s].

    ``psi = model.streamfunction(q)`` (the model's inversion); returns ``(B, ny, nx)`` at the
    corners (``loc="corner"``) or their four-corner average at the centres (``loc="center"``).
    """
    if not isinstance(model, QG):
        raise TypeError(f"model must be a physics.qg.QG, got {type(model).__name__}")
    g = check_positive("g", g)
    check_choice("loc", loc, ("corner", "center"))
    eta = (_f0(model, f0) / g) * model.streamfunction(q)[:, 0]
    return eta if loc == "corner" else corner_to_center(eta, model.grid)


__all__ = ["ssh_to_qg_state", "qg_state_to_ssh", "vertical_weights", "VERTICAL"]
