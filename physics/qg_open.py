"""Open boundaries for the layered QG model: prescribed, time-dependent boundary ``psi`` + sponge.

A regional QG domain whose outer ring of corners (stored rows/columns ``0`` and ``n - 1``) is
*open*: the streamfunction there is prescribed, ``psi = psi_b(t)``, e.g. from a sequence of
optimal-interpolation SSH maps (``psi_b = g eta_b / f0``, :mod:`physics.qg_state`) -- the
boundary condition of the BFN-QG mapping of Le Guillou et al. (2021, "Mapping altimetry in the
forthcoming SWOT era by back-and-forth nudging a one-layer quasigeostrophic model", J. Atmos.
Oceanic Technol. 38, 697-710), where the QG model runs inside a box with Dirichlet ``psi`` from
the DUACS/OI map. Land (``mask=``) is treated like the ring: ``psi = psi_b`` there too (the
boundary field supplies the coast value, so a net transport between coasts is allowed).

Prognostic points: the interior ocean corners ``m = 1`` (``OpenBoundaryQG.mask``). Every other
corner (ring, land) is *fixed*: ``psi = psi_b``, and its PV is the boundary PV

    q_b = L psi_b + S psi_b      (S the model's stretching matrix; ``L`` its Laplacian, with
                                   zero-gradient ghosts beyond the ring)

which is the PV carried in by inflow (the Arakawa Jacobian at the first interior corners uses
the ring values of ``psi`` and ``q``). Inversion (inhomogeneous Dirichlet, exact to round-off):
with the lift ``l = (1 - m) psi_b``,

    psi = l + G_m (m (q - (L + S) l))

where ``G_m`` is the masked inverse of :class:`physics.qg.QG` (capacitance correction of the
rectangle's solver, :mod:`physics.capacitance`, ``psi' = 0`` on every fixed corner), so
``(L + S) psi = q`` at every prognostic corner and ``psi = psi_b`` on every fixed one.

Sponge (flow relaxation, Davies 1976, "A lateral boundary formulation for multi-level prediction
models", Q. J. R. Meteorol. Soc. 102, 405-418; as in the ROMS open boundaries of Marchesiello,
McWilliams & Shchepetkin 2001, "Open boundary conditions for long-term integration of regional
oceanic models", Ocean Modelling 3, 1-20): in a band of ``sponge_width`` corners next to the ring

    dq/dt += -(w(d) / sponge_time) (q - q_b),     w(d) = cos^2(pi (d - 1) / (2 sponge_width)),

``d = 1 .. sponge_width`` the distance (in corners) from the ring (``w = 1`` next to the ring,
decreasing smoothly to 0). Elsewhere the tendency is the QG one of the wrapped model (Jacobian,
planetary gradient, drag, viscosity -- which sees ``zeta = 0`` on the fixed corners, as on a
wall -- and wind), on the Cartesian or the spherical grid alike.

Boundary values (``psi_b``, a differentiable input: gradients reach it through the interpolation,
the lift and ``q_b``): a tensor ``(ny, nx)`` (constant), ``(T, ny, nx)`` at ``times`` ``(T,)`` [s]
(linear in time between them by :class:`physics.forcing.TimeField`; ``t`` outside
``[times[0], times[-1]]`` raises), ``(B, T, ny, nx)``
(one sequence per batch sample), or a callable ``t -> (ny, nx) | (B, ny, nx)``: surface values;
with N >= 2 layers they give ``psi_i = w_i psi_b`` through the vertical structure ``vertical``
(:func:`physics.qg_state.vertical_weights`, default the first baroclinic mode, as for SSH maps).
Per-layer values: ``(B, T, N, ny, nx)``, or a callable returning ``(B, N, ny, nx)``. Only the
values on the fixed corners and, through ``q_b``, in the sponge are used. ``ssh=True``: the values
are SSH [m], converted by ``psi_b = g eta_b / f0`` (the model's ``f0``, as :mod:`physics.qg_state`).

Limitations: the discrete adjoint does not apply (autograd); nothing here is conserved (fluxes
through the ring); no radiation condition: ``psi_b`` is imposed as given, so boundary values that
do not carry the outgoing signal (e.g. rest) reflect it, and only the sponge absorbs it.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Union

import torch
from torch import nn

from . import operators as op
from ._checks import check_finite, check_int, check_positive
from .forcing import TimeField
from .grid import Grid
from .masks import check_ocean_mask
from .qg import QG
from .qg_sphere import sphere_rhs
from .qg_state import Vertical, vertical_weights

Boundary = Union[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def sponge_weight(ny: int, nx: int, width: int, **kw) -> torch.Tensor:
    """``w`` ``(ny, nx)``: ``cos^2(pi (d - 1) / (2 width))`` for ring distance ``d = 1..width``, else 0.

    ``ny``, ``nx`` >= 2 corners, ``width`` >= 0 corners; ``**kw``: ``dtype``/``device`` of the result."""
    ny, nx = check_int("ny", ny, minimum=2), check_int("nx", nx, minimum=2)
    width = check_int("width", width, minimum=0)
    j = torch.arange(ny, **kw).view(-1, 1)
    i = torch.arange(nx, **kw).view(1, -1)
    d = torch.minimum(torch.minimum(j, ny - 1 - j), torch.minimum(i, nx - 1 - i))
    w = torch.cos(math.pi * (d - 1) / (2 * max(width, 1))) ** 2
    return torch.where((d >= 1) & (d <= width), w, torch.zeros_like(w))


class OpenBoundaryQG(nn.Module):
    """QG with an open outer ring (module docstring); ``forward(t, q) -> dq/dt`` (odeint compatible).

    Args:
        grid: a closed :class:`~physics.grid.Grid` (Cartesian or ``metric="sphere"``).
        psi_b: boundary values (module docstring): ``(ny, nx)``, ``(T, ny, nx)``, ``(B, T, ny, nx)``
            [m^2/s] (or [m] with ``ssh=True``), ``(B, T, N, ny, nx)`` per layer, or a callable
            ``t -> (ny, nx) | (B, ny, nx) | (B, N, ny, nx)``.
        times: ``(T,)`` increasing times [s] of a time-dependent tensor ``psi_b``.
        sponge_width: relaxation band width [corners] (0: no sponge); at most
            ``(min(ny, nx) - 3) // 2`` so that the bands of opposite sides do not meet.
        sponge_time: relaxation time scale [s] at the ring (> 0).
        mask: optional ocean mask at cell centres ``(ny, nx)`` (land: fixed, ``psi = psi_b``).
        ssh: ``psi_b`` is SSH [m]; ``g``: gravity [m/s^2] of the conversion.
        vertical: structure of surface values below the top layer (N >= 2; ``"mode1"``,
            ``"barotropic"``, ``"surface"`` or N weights, :mod:`physics.qg_state`).
        **qg_kwargs: the :class:`~physics.qg.QG` arguments (``Ld`` or ``H``/``g_prime``, ``beta``, ``nu``,
            ``drag``, ...). The wrapped model is ``self.qg`` (its ``mask`` is the prognostic mask).

    State ``q`` ``(B, N, ny, nx)`` [1/s]: only the prognostic corners matter (``dq/dt = 0`` elsewhere);
    :meth:`full_pv` gives the PV with ``q_b`` on the fixed corners, :meth:`streamfunction` ``psi``.
    """

    def __init__(self, grid: Grid, psi_b: Boundary, times: Optional[torch.Tensor] = None, sponge_width: int = 4,
                 sponge_time: float = 86400.0, mask: Optional[torch.Tensor] = None, ssh: bool = False,
                 g: float = 9.81, vertical: Vertical = "mode1", **qg_kwargs) -> None:
        super().__init__()
        if not isinstance(grid, Grid) or grid.periodic:
            raise ValueError(f"grid must be a closed physics.grid.Grid for open boundaries, got {grid!r}")
        width = check_int("sponge_width", sponge_width, minimum=0)
        limit = (min(grid.ny, grid.nx) - 3) // 2
        if width > limit:
            raise ValueError(f"sponge_width = {width} corners is wider than the domain allows ({limit} for "
                             f"{grid.ny} x {grid.nx}: the sponges of opposite sides would overlap)")
        self.sponge_time = check_positive("sponge_time", sponge_time)
        ocean = torch.ones(grid.ny, grid.nx, dtype=torch.bool) if mask is None else check_ocean_mask(mask, grid, "mask").cpu()
        ocean = ocean.clone()
        ocean[-1, :] = False  # the north/east ring corners become fixed (ocean_corner_mask: a corner
        ocean[:, -1] = False  # needs its four cells); the south/west ring is the stored wall
        if qg_kwargs.get("islands", "zero") != "zero":
            raise ValueError("islands: land of an OpenBoundaryQG takes psi = psi_b (the boundary field supplies "
                             "each coast's value); islands='circulation' does not apply")
        self.qg = QG(grid, mask=ocean, **qg_kwargs)
        self.grid, self.CHANNELS = grid, self.qg.CHANNELS
        self.register_buffer("weights", vertical_weights(self.qg, vertical).view(-1, 1, 1))
        self.register_buffer("sponge", sponge_weight(grid.ny, grid.nx, width, dtype=grid.dtype, device=grid.device)
                             * self.qg.mask / self.sponge_time)
        self._has_sponge = width > 0
        if not isinstance(ssh, bool):
            raise TypeError(f"ssh must be a bool (psi_b given as SSH [m] or not), got {type(ssh).__name__}")
        if ssh and self.qg.f0 == 0:
            raise ValueError("ssh=True needs a nonzero f0 (psi_b = g eta_b / f0)")
        self.scale = (check_positive("g", g) / self.qg.f0) if ssh else 1.0
        self._set_boundary(psi_b, times)

    @property
    def mask(self) -> torch.Tensor:
        """Prognostic (interior ocean) corner mask ``(ny, nx)``."""
        return self.qg.mask

    # ------------------------------------------------------------------ boundary values
    def _set_boundary(self, psi_b: Boundary, times) -> None:
        ny, nx, N = self.grid.ny, self.grid.nx, self.qg.nlayers
        self.times = None
        self.__dict__["_field"] = None
        if callable(psi_b) and not isinstance(psi_b, torch.Tensor):
            if times is not None:
                raise ValueError("times must be None for a callable psi_b (it is evaluated at each t)")
            self.psi_b = psi_b
            return
        if not isinstance(psi_b, torch.Tensor) or not psi_b.is_floating_point():
            raise TypeError(f"psi_b must be a floating tensor or a callable t -> psi_b, got {type(psi_b).__name__}")
        if psi_b.dim() not in (2, 3, 4, 5) or tuple(psi_b.shape[-2:]) != (ny, nx) or (psi_b.dim() == 5 and psi_b.shape[2] != N):
            raise ValueError(f"psi_b must be (ny, nx), (T, ny, nx), (B, T, ny, nx) or (B, T, {N}, ny, nx) with "
                             f"(ny, nx) = ({ny}, {nx}), got shape {tuple(psi_b.shape)}")
        check_finite("psi_b", psi_b)
        if psi_b.dim() < 5:  # surface values: (B or 1, T, 1, ny, nx)
            psi_b = psi_b.reshape((1,) * (4 - psi_b.dim()) + tuple(psi_b.shape)).unsqueeze(2)
        T = psi_b.shape[1]
        if times is None:
            if T != 1:
                raise ValueError(f"times (T,) [s] is required for {T} boundary fields")
        elif T == 1:  # one field: constant in time (times checked, then unused)
            one = torch.as_tensor(times, dtype=torch.float64).flatten()
            if one.numel() != 1 or not bool(torch.isfinite(one).all()):
                raise ValueError(f"times must hold 1 finite time [s] for 1 boundary field, got {one.tolist()}")
        else:
            times = torch.as_tensor(times, dtype=torch.float64).flatten()
            if times.numel() != T or not bool(torch.isfinite(times).all()) or not bool((times.diff() > 0).all()):
                raise ValueError(f"times must be {T} finite, strictly increasing times [s], got {times.tolist()}")
            self.times = times
        self.psi_b = psi_b

    def _layers(self, psi: torch.Tensor) -> torch.Tensor:
        """``(B, 1 or N, ny, nx)`` -> ``(B, N, ny, nx)`` [m^2/s]: surface values times the vertical
        weights (:func:`physics.qg_state.vertical_weights`), times the SSH conversion factor."""
        if psi.shape[1] != self.qg.nlayers:
            psi = psi * self.weights.to(psi.dtype)
        return self.scale * psi

    def _time_field(self) -> TimeField:
        """The :class:`~physics.forcing.TimeField` of the tensor ``psi_b`` ``(B, T, 1 or N, ny, nx)``
        (rebuilt when ``psi_b`` is reassigned, as the 4D-Var boundary control does): ``outside="error"``
        for ``T >= 2`` fields at ``times`` (a ``t`` outside them raises), a constant for one field."""
        cached = self._field
        if cached is not None and cached.values is self.psi_b:
            return cached
        times = [0.0] if self.times is None else self.times
        outside = "clamp" if self.times is None else "error"
        field = TimeField(times, self.psi_b, batched=True, outside=outside, name="psi_b")
        self.__dict__["_field"] = field  # a cache, not a submodule: psi_b itself is a plain attribute
        return field

    def boundary_at(self, t: Union[float, torch.Tensor]) -> torch.Tensor:
        """``psi_b(t)`` [m^2/s] ``(B or 1, N, ny, nx)`` (linear in time between the given fields,
        :class:`~physics.forcing.TimeField`; ``ValueError`` for a ``t`` outside the boundary times)."""
        if not isinstance(self.psi_b, torch.Tensor):
            out = torch.as_tensor(self.psi_b(torch.as_tensor(t)))
            N = self.qg.nlayers
            if out.dim() not in (2, 3, 4) or tuple(out.shape[-2:]) != self.grid.shape or (out.dim() == 4 and out.shape[1] != N):
                raise ValueError(f"psi_b(t) must return (ny, nx), (B, ny, nx) or (B, {N}, ny, nx) with (ny, nx) = "
                                 f"{self.grid.shape}, got {tuple(out.shape)}")
            check_finite("psi_b(t)", out)
            return self._layers(out.reshape(-1, out.shape[1] if out.dim() == 4 else 1, *self.grid.shape))
        try:
            return self._layers(self._time_field()(t))
        except ValueError as err:
            ts = self.times
            if ts is None:
                raise
            raise ValueError(f"t is outside the boundary times [{float(ts[0]):.6g}, {float(ts[-1]):.6g}] s: {err}") from None

    # ------------------------------------------------------------------ inversion and tendency
    def _operator(self, qg: QG, psi: torch.Tensor, ghost: str) -> torch.Tensor:
        """``(L + S) psi`` with the model's Laplacian (``ghost`` values beyond the stored array)."""
        S = qg.stretching().to(psi.dtype)
        return op.laplacian(psi, self.grid, ghost, loc="corner") + torch.einsum("ij,bjyx->biyx", S, psi)

    def boundary_pv(self, psi_b: torch.Tensor) -> torch.Tensor:
        """``q_b = L psi_b + S psi_b`` [1/s] with zero-gradient ghosts beyond the ring."""
        return self._operator(self.qg, psi_b, "neumann")

    def _prepare(self, t, q: torch.Tensor) -> tuple:
        qg = self.qg if q.dtype is self.qg._dtype else self.qg._in_dtype(q.dtype)
        qg._check(q)
        psi_b = self.boundary_at(t).to(q.dtype)
        if psi_b.shape[0] not in (1, q.shape[0]):
            raise ValueError(f"psi_b has {psi_b.shape[0]} boundary sequences but q has batch {q.shape[0]}")
        m = qg.mask
        lift = psi_b * (1 - m)
        psi = lift + qg._psi((q - self._operator(qg, lift, "zero")) * m)
        return qg, psi, psi_b, m

    def streamfunction(self, t: Union[float, torch.Tensor], q: torch.Tensor) -> torch.Tensor:
        """``psi`` [m^2/s] ``(B, N, ny, nx)``: ``psi_b(t)`` on fixed corners, ``(L + S) psi = q`` inside."""
        return self._prepare(t, q)[1]

    def full_pv(self, t: Union[float, torch.Tensor], q: torch.Tensor) -> torch.Tensor:
        """``m q + (1 - m) q_b(t)`` [1/s] ``(B, N, ny, nx)``."""
        _, _, psi_b, m = self._prepare(t, q)
        return q * m + self.boundary_pv(psi_b) * (1 - m)

    def forward(self, t: Union[float, torch.Tensor], q: torch.Tensor) -> torch.Tensor:
        """``dq/dt`` [1/s^2] ``(B, N, ny, nx)``: QG tendency with the open ring, plus the sponge."""
        qg, psi, psi_b, m = self._prepare(t, q)
        q_b = self.boundary_pv(psi_b)
        q_full = q * m + q_b * (1 - m)
        dq = sphere_rhs(qg, q_full, psi) if self.grid.metric == "sphere" else qg._rhs_fd(q_full, psi)
        if self._has_sponge:
            dq = dq - self.sponge.to(q.dtype) * (q - q_b)
        return dq * m


__all__ = ["OpenBoundaryQG", "sponge_weight"]
