"""Open boundaries for the shallow-water model: Flather radiation plus optional flow relaxation.

:class:`OpenBoundarySW` wraps a :class:`physics.shallow_water.ShallowWater` on a closed grid
(Cartesian or sphere, with or without land) and opens some of its four sides. On each open side
the normal velocity at the boundary faces is not a wall value 0 but the Flather (1976) radiation
condition ("A tidal model of the north-west European continental shelf", Mem. Soc. R. Sci.
Liege 10, 141-164), written for the *outward* normal velocity ``u_out``::

    u_out = u_out_b + sqrt(g / H) (eta - eta_b)

with ``eta`` the SSH of the boundary cell (half a cell inside the face) and ``(eta_b, u_b, v_b)``
the prescribed external values (outward: ``-u`` west, ``+u`` east, ``-v`` south, ``+v`` north).
It lets gravity waves leave at ``sqrt(g H)`` with little reflection (Chapman 1985, "Numerical
treatment of cross-shelf open boundaries in a barotropic coastal ocean model", J. Phys. Oceanogr.
15, 1060-1075; Carter & Merrifield 2007, "Open boundary conditions for regional tidal
simulations", Ocean Modelling 18, 194-209, compare it with the alternatives). The boundary face
carries the volume flux ``F = h_f u_out l`` [m^3/s] (``h_f = H + eta`` nonlinear, ``H`` linear;
``l`` the face length: ``dy`` on west/east faces, ``dx_j`` of the south/north edge on the sphere),
which leaves the boundary cell: ``d eta/dt -= F / A`` (``A`` its area). Land cells on an open side
stay closed. With ``face_momentum=True`` (default) the face velocities also enter the momentum
equations of the neighbouring velocities: their transports ``h_f u_out`` replace the walls' zero
flux in the Coriolis averages and their ``u_out^2`` enters the kinetic energy ``K`` of the
boundary cells (:class:`physics.sw_sphere.OpenFaces`,
:meth:`physics.shallow_water.ShallowWater.tendency`). In the nested
test of ``tests/physics/test_sw_open.py`` this divides the reflected energy by 1.8 (f = 1e-4, 0.075 %
-> 0.042 %, the f = 0 value) and 2.9 (sphere, 0.050 % -> 0.017 %), the SSH errors change by < 0.6 %
of themselves. The relative vorticity at the open corners still sees the wall (free slip) values.

External normal velocities: the west face ``u[:, 0]`` and south face ``v[0, :]`` are stored points
of a ``(ny, nx)`` C-grid field; the east/north faces (index ``nx``/``ny``) are not, so they are
extrapolated linearly from the last two stored faces, ``u_b[nx] = 2 u_b[nx-1] - u_b[nx-2]``
(second order; taking ``u_b[nx-1]`` instead tripled the error of the nested test of
``tests/physics/test_sw_open.py``, 5.2 % vs 1.7 %).

Flow relaxation (Davies 1976, "A lateral boundary formulation for multi-level prediction models",
Q. J. R. Meteorol. Soc. 102, 405-418), optional: within ``sponge_width`` cells of an open side
every channel is nudged to the external values,

    d X/dt += -w (X - X_b),    w = (1 / sponge_timescale) (1 - d / sponge_width)^2,

``d`` the distance from the open edge in cells (at the field's own staggered position; the
largest ``w`` of the open sides applies in a corner).

Mass budget: the closed model conserves ``sum A eta`` to round-off, so with open sides::

    d/dt sum A eta = -(net outward boundary flux) + (relaxation source sum A (-w (eta - eta_b)))

exactly (semi-discrete; :meth:`OpenBoundarySW.boundary_flux`, :meth:`OpenBoundarySW.relaxation_source`).

Boundary values (``boundary=``): ``None`` (the ocean at rest outside: radiation only); a tensor
``(3, ny, nx)`` or ``(B, 3, ny, nx)`` (constant, shared or per sample); with ``times`` ``(T,)`` a
tensor ``(T, 3, ny, nx)`` or, ``batched=True``, ``(B, T, 3, ny, nx)``, linearly interpolated in
time by :class:`physics.forcing.TimeField`; a ``TimeField``; or a callable ``t -> (3, ny, nx)`` or
``(B, 3, ny, nx)``. Channels ``(eta, u, v)`` at the staggered positions of :mod:`physics.grid` [m,
m/s]; only the boundary cells/faces and the sponge zone are read. They are differentiable inputs
(a tensor that requires grad keeps its graph; ``TimeField(..., learnable=True)`` makes them
parameters).
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from ._checks import check_choice, check_finite, check_int, check_positive
from .forcing import TimeField
from .grid import require_grid
from .shallow_water import ShallowWater
from .sphere_operators import metric
from .stepping import diffusive_limit
from .sw_sphere import OpenFaces, smallest_dx

SIDES = ("west", "east", "south", "north")
Boundary = Union[None, torch.Tensor, TimeField, Callable[[torch.Tensor], torch.Tensor]]


def _ramp(d: torch.Tensor, width: int) -> torch.Tensor:
    """``(1 - d / width)^2`` for ``0 <= d < width``, else 0 (``d`` in cells)."""
    s = (d / width).clamp(min=0.0)
    return torch.where(s < 1.0, (1.0 - s) ** 2, torch.zeros_like(s))


class OpenBoundarySW(nn.Module):
    """Shallow water with open sides, ``forward(t, state) -> d state / dt`` (drops into ``odeint``).

    Args:
        model: the :class:`~physics.shallow_water.ShallowWater` (closed grid) whose sides are opened.
        open_sides: names among :data:`SIDES` (default all four).
        boundary: external values ``(eta_b, u_b, v_b)`` (module docstring; ``None``: rest).
        times: ``(T,)`` times [s] of a tensor ``boundary`` given as a time series.
        batched: with ``times``, whether ``boundary`` is ``(B, T, 3, ny, nx)`` (one per sample).
        sponge_width: width of the relaxation zone in cells (0: Flather only).
        sponge_timescale: relaxation time [s] at the open edge (needed when ``sponge_width > 0``).
        face_momentum: the Flather face velocities also enter the Coriolis and kinetic-energy terms of
            the neighbouring velocities (module docstring); False: they see the wall value 0 there.

    ``CHANNELS``, ``grid`` and the parameters are the model's; :meth:`dt_max`/:meth:`check_dt` add
    the boundary damping rates to the model's CFL limit.
    """

    CHANNELS = ShallowWater.CHANNELS

    def __init__(
        self,
        model: ShallowWater,
        open_sides: Sequence[str] = SIDES,
        boundary: Boundary = None,
        times: Optional[torch.Tensor] = None,
        batched: bool = False,
        sponge_width: int = 0,
        sponge_timescale: Optional[float] = None,
        face_momentum: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(model, ShallowWater):
            raise TypeError(f"model must be a physics.shallow_water.ShallowWater, got {type(model).__name__}")
        require_grid(model.grid, boundary="closed", what="open boundaries (the sides of a closed box)")
        if isinstance(open_sides, str) or not isinstance(open_sides, (tuple, list)) or not open_sides:
            raise TypeError(f"open_sides must be a non-empty tuple/list of names among {SIDES}, got {open_sides!r}")
        self.open_sides = tuple(dict.fromkeys(check_choice("open_sides", s, SIDES) for s in open_sides))
        self.model = model
        self.grid = model.grid
        if not isinstance(face_momentum, bool):
            raise TypeError(f"face_momentum must be a bool, got {type(face_momentum).__name__}")
        self.face_momentum = face_momentum
        self.sponge_width = check_int("sponge_width", sponge_width, minimum=0)
        if self.sponge_width > 0:
            if sponge_timescale is None:
                raise ValueError("sponge_timescale [s] must be given when sponge_width > 0")
            self.sponge_timescale = check_positive("sponge_timescale", sponge_timescale)
        elif sponge_timescale is not None:
            raise ValueError("sponge_timescale needs sponge_width > 0 (the relaxation zone in cells)")
        self._user_callable = callable(boundary) and not isinstance(boundary, (TimeField, torch.Tensor))
        self.boundary_fn = self._boundary_source(boundary, times, batched)
        self._build_geometry()

    # ------------------------------------------------------------------ set-up
    def _boundary_source(self, boundary, times, batched) -> Optional[Callable]:
        ny, nx = self.grid.shape
        if boundary is None or isinstance(boundary, TimeField) or (callable(boundary) and not torch.is_tensor(boundary)):
            if times is not None:
                raise ValueError("times is only for a tensor boundary given as a time series")
            return boundary
        if not torch.is_tensor(boundary):
            raise TypeError("boundary must be None, a tensor, a physics.forcing.TimeField or a callable t -> "
                            f"(B, 3, ny, nx), got {type(boundary).__name__}")
        check_finite("boundary", boundary)
        if times is None:
            self._check_values("boundary", boundary)
            if boundary.requires_grad:
                return lambda t: boundary
            self.register_buffer("boundary_const", boundary, persistent=False)
            return lambda t: self.boundary_const
        layout = "(B, T, 3, ny, nx)" if batched else "(T, 3, ny, nx)"
        if boundary.dim() != (5 if batched else 4) or tuple(boundary.shape[-3:]) != (3, ny, nx):
            raise ValueError(f"boundary with times must be shaped {layout} = {layout.replace('ny, nx', f'{ny}, {nx}')}"
                             f" (channels eta, u, v), got {tuple(boundary.shape)}")
        return TimeField(times, boundary, batched=batched, name="boundary")

    def _check_values(self, name: str, b: torch.Tensor) -> None:
        ny, nx = self.grid.shape
        if not torch.is_tensor(b):
            raise TypeError(f"{name} must be a tensor (3, ny, nx) or (B, 3, ny, nx), got {type(b).__name__}")
        if b.dim() not in (3, 4) or tuple(b.shape[-3:]) != (3, ny, nx):
            raise ValueError(f"{name} must be shaped (3, ny, nx) or (B, 3, ny, nx) = (.., 3, {ny}, {nx}) "
                             f"(channels eta, u, v), got {tuple(b.shape)}")

    def _build_geometry(self) -> None:
        grid, ny, nx = self.grid, self.grid.ny, self.grid.nx
        like = torch.zeros((), dtype=grid.dtype, device=grid.device)
        ocean = self.model.mask_c.to(like)
        area = metric(grid, "center", "area", like)  # (ny, 1)
        # per side: (row/col selector of the boundary cells, face length / cell area) as (ny, nx) weights
        w = {s: torch.zeros(ny, nx, dtype=grid.dtype, device=grid.device) for s in self.open_sides}
        if "west" in w:
            w["west"][:, 0] = (grid.dy / area)[:, 0]
        if "east" in w:
            w["east"][:, -1] = (grid.dy / area)[:, 0]
        if "south" in w:
            w["south"][0, :] = float(metric(grid, "v", "dx", like)[0, 0] / area[0, 0])
        if "north" in w:
            w["north"][-1, :] = float(metric(grid, "center", "north", like)[-1, 0] / area[-1, 0])
        for s in w:
            self.register_buffer(f"lw_{s}", w[s] * ocean, persistent=False)
        self.register_buffer("area", area, persistent=False)
        if self.sponge_width > 0:
            jj, ii = torch.meshgrid(torch.arange(ny, dtype=grid.dtype), torch.arange(nx, dtype=grid.dtype), indexing="ij")
            offsets = {"center": (0.5, 0.5), "u": (0.0, 0.5), "v": (0.5, 0.0)}  # (x, y) as in physics.grid
            ws = []
            for loc, mask in zip(("center", "u", "v"), (ocean, self.model.mask_u, self.model.mask_v)):
                ox, oy = offsets[loc]
                dist = {"west": ii + ox, "east": nx - ii - ox, "south": jj + oy, "north": ny - jj - oy}
                r = torch.stack([_ramp(dist[s], self.sponge_width) for s in self.open_sides]).amax(0)
                ws.append(r.to(grid.device) * mask.to(like) / self.sponge_timescale)
            self.register_buffer("sponge", torch.stack(ws), persistent=False)  # (3, ny, nx) [1/s]
        else:
            self.sponge = None

    # ------------------------------------------------------------------ boundary values
    def boundary_values(self, t: Union[float, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """External ``(eta_b, u_b, v_b)`` at time ``t``, ``(1 or B, 3, ny, nx)`` in ``state``'s dtype."""
        if self.boundary_fn is None:
            return torch.zeros((1, 3) + self.grid.shape, dtype=state.dtype, device=state.device)
        b = self.boundary_fn(t)
        name = "boundary(t)" if self._user_callable else "boundary"
        self._check_values(name, b)
        check_finite(name, b)
        b = b if b.dim() == 4 else b[None]
        if b.shape[0] not in (1, state.shape[0]):
            raise ValueError(f"{name} has {b.shape[0]} samples but the state has batch {state.shape[0]}")
        return b.to(dtype=state.dtype, device=state.device)

    def _outward(self, state: torch.Tensor, b: torch.Tensor) -> dict:
        """Per open side: the Flather outward velocity ``u_out`` on the boundary cells, ``(B, ny, nx)``
        (broadcast along the side; only the boundary row/column is used)."""
        m = self.model
        g, H = m.p("g", state), m.p("H", state)
        c = torch.sqrt(g / H) * (state[:, 0] - b[:, 0])
        ub, vb = b[:, 1], b[:, 2]
        normal = {"west": -ub[..., :, :1], "south": -vb[..., :1, :],  # stored boundary faces
                  "east": 2 * ub[..., :, -1:] - ub[..., :, -2:-1], "north": 2 * vb[..., -1:, :] - vb[..., -2:-1, :]}
        return {s: normal[s] + c for s in self.open_sides}

    def _fluxes(self, t, state: torch.Tensor):
        """``(rate, b, faces)``: per-cell outflow rate ``F / A`` [m/s] ``(B, ny, nx)``, the boundary
        values and the open faces' (eastward/northward) velocities, :class:`~physics.sw_sphere.OpenFaces`."""
        b = self.boundary_values(t, state)
        out = self._outward(state, b)
        h = state[:, 0] + self.model.p("H", state) if self.model.nonlinear else self.model.p("H", state)
        rate = sum(h * out[s] * getattr(self, f"lw_{s}").to(state.dtype) for s in self.open_sides)
        ocean = self.model.mask_c.to(state.dtype)  # land cells on an open side keep a closed face
        faces = OpenFaces(
            west=-(out["west"][..., :, 0] * ocean[:, 0]) if "west" in out else None,
            east=out["east"][..., :, -1] * ocean[:, -1] if "east" in out else None,
            south=-(out["south"][..., 0, :] * ocean[0, :]) if "south" in out else None,
            north=out["north"][..., -1, :] * ocean[-1, :] if "north" in out else None,
        )
        return rate, b, faces

    # ------------------------------------------------------------------ dynamics
    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Tendency ``d(eta, u, v)/dt`` ``(B, 3, ny, nx)``: the closed model's, the Flather outflow
        ``-F / A`` on the open boundary cells and the relaxation terms."""
        rate, b, faces = self._fluxes(t, state)
        tend = self.model.tendency(t, state, faces if self.face_momentum else None)
        deta = tend[:, 0] - rate
        tend = torch.cat((deta[:, None], tend[:, 1:]), 1)
        if self.sponge is not None:
            tend = tend - self.sponge.to(state.dtype) * (state - b)
        return tend

    def boundary_flux(self, t: Union[float, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """Net outward volume flux through the open faces [m^3/s], ``(B,)`` (``sum F``)."""
        self.model._check(state)
        rate = self._fluxes(t, state)[0]
        return (rate * self.area.to(state.dtype)).sum((-2, -1))

    def relaxation_source(self, t: Union[float, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """Volume source of the sponge ``-sum A w (eta - eta_b)`` [m^3/s], ``(B,)`` (0 without one)."""
        self.model._check(state)
        if self.sponge is None:
            return torch.zeros(state.shape[0], dtype=state.dtype, device=state.device)
        b = self.boundary_values(t, state)
        src = -self.sponge[0].to(state.dtype) * (state[:, 0] - b[:, 0])
        return (src * self.area.to(state.dtype)).sum((-2, -1))

    # ------------------------------------------------------------------ time step
    def _damping_rate(self) -> float:
        """Largest boundary damping rate [1/s]: Flather ``sqrt(g H) / dx_min`` plus the sponge's
        ``1 / sponge_timescale`` (a real-axis eigenvalue bound of the boundary cells)."""
        g = float(self.model.params["g"].value.detach())
        H = float(self.model.params["H"].value.detach())
        dmin = min(smallest_dx(self.grid), self.grid.dy)
        return math.sqrt(g * H) / dmin + (1.0 / self.sponge_timescale if self.sponge is not None else 0.0)

    def dt_max(self, state: Optional[torch.Tensor] = None, method: Optional[str] = None) -> float:
        """``min`` of the model's CFL step and ``diffusive_limit(method) / damping rate`` [s]."""
        return min(self.model.dt_max(state, method), diffusive_limit(method) / self._damping_rate())

    def check_dt(self, dt: float, state: Optional[torch.Tensor] = None, method: Optional[str] = None) -> float:
        """The model's :meth:`~physics.shallow_water.ShallowWater.check_dt`, then the boundary
        damping limit (``ValueError`` naming ``dt``)."""
        dt = self.model.check_dt(dt, state, method)
        limit = diffusive_limit(method) / self._damping_rate()
        if dt > limit:
            raise ValueError(f"dt = {dt:.6g} s exceeds the open-boundary damping limit {limit:.6g} s of method "
                             f"{method!r} (Flather sqrt(g H)/dx + 1/sponge_timescale); use a smaller dt")
        return dt

    def extra_repr(self) -> str:
        return f"open_sides={self.open_sides}, sponge_width={self.sponge_width}"


__all__ = ["SIDES", "OpenBoundarySW"]
