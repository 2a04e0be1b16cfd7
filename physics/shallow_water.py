"""Rotating shallow-water model on the Arakawa C-grid (linear or nonlinear), for ``odeint``.

Equations (``h = H + eta`` total depth [m], ``u, v`` [m/s], ``f = f0 + beta (y - y0)``)::

    d eta/dt = -div(h u)                                         (flux form, mass exact)
    d u/dt   = + q V~ - dB/dx - r u + nu Lap(u) + tau_x / (rho0 h)
    d v/dt   = - q U~ - dB/dy - r v + nu Lap(v) + tau_y / (rho0 h)

with the vector-invariant momentum terms: potential vorticity ``q = (zeta + f) / h_q`` at
corners (``zeta = dv/dx - du/dy``, ``h_q`` the four-point average of ``h``), mass fluxes
``U = h_u u``, ``V = h_v v`` (``h_u``, ``h_v`` two-point averages), Bernoulli function
``B = g eta + K``, ``K = (avg_x(u^2) + avg_y(v^2)) / 2`` at centres. ``q V~`` and ``-q U~``
are averaged by the Coriolis/vorticity scheme chosen with ``scheme`` (see
:mod:`physics.sw_schemes`: ``"energy"`` Sadourny 1975 EN, ``"enstrophy"`` Sadourny 1975 ENS,
``"een"`` Arakawa & Hsu 1990). The viscous term is ``nu Lap(u) = nu (grad D - curl zeta)``
with ``D = div u`` at centres and ``zeta`` at corners (free slip: zeta = 0 on walls).

``nonlinear=False`` linearises about rest: ``h -> H`` in the fluxes and wind stress,
``q -> f / H``, ``B -> g eta``.

Sphere grids (``metric="sphere"``): the same equations with the metric terms of
:mod:`physics.sw_sphere` (mass and energy stay invariants). Open boundaries: :mod:`physics.sw_open`.

Boundaries: periodic, or a closed basin (normal velocity zero on the walls, free slip):
``u``/``v`` on the stored west/south wall points are masked to zero in the input and in the
tendencies; the east/north walls are ghost points with zero normal flow.

Semi-discrete invariants (tested in ``tests/physics/test_shallow_water*.py``):
``sum eta`` (always); total energy :meth:`ShallowWater.total_energy` for ``"energy"`` and
``"een"`` (inviscid, unforced; periodic or closed); potential enstrophy
:meth:`ShallowWater.potential_enstrophy` for ``"enstrophy"`` (nonlinear, periodic).

Land (``mask=``, the ocean mask at cell centres; :mod:`physics.masks`): a u/v face is open iff
both its cells are ocean, so the normal velocity is zero on every land face (masked in the input
and the tendencies like the walls). Free slip: ``zeta = 0`` on every land corner (a corner
touching a land cell), in the PV and the viscous term (NEMO's ``rn_shlat = 0``, Madec and the
NEMO System Team, *NEMO ocean engine*, lateral boundary condition; no slip is not implemented).
Fluxes through land faces vanish, so ``sum eta`` is conserved to round-off; the ``"energy"``/``"een"`` Coriolis terms do no work for
any ``q`` and the pressure work sums by parts over open faces, so energy is conserved too.
``eta`` in land cells never changes (every face of a land cell is closed) and is best set to 0.

``CHANNELS = ("eta", "u", "v")``: state ``(batch, 3, ny, nx)`` with eta at centres, u at
u-points, v at v-points (see :mod:`physics.grid`).
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Tuple, Union

import torch
from torch import nn

from . import operators as op
from ._checks import check_choice, check_field, check_nonnegative, check_positive, check_real, check_state
from .grid import Grid, require_grid
from .masks import staggered_masks
from .parameters import Learnable, make_parameters
from .precision import check_state_precision
from .stepping import METHODS, TORCHDIFFEQ_FIXED_STEP
from .sw_schemes import SCHEMES, corner_depth, pad, window
from .sw_sphere import (OpenFaces, areas, coriolis_accelerations, kinetic_density, padded_coriolis, smallest_dx,
                        step_limits)

WindStress = Union[None, Tuple[torch.Tensor, torch.Tensor], Callable[[torch.Tensor], Tuple]]


class ShallowWater(nn.Module):
    """Rotating shallow water, ``forward(t, state) -> d state / dt`` (drops into ``odeint``).

    Args:
        grid: the :class:`~physics.grid.Grid`: Cartesian (periodic or closed; ``f0``, ``beta``
            from it) or a lon/lat ``metric="sphere"`` grid (closed; :mod:`physics.sw_sphere`).
        g: gravitational acceleration [m/s^2] (> 0).
        H: mean depth [m] (> 0).
        nonlinear: full (flux-form mass, vector-invariant momentum) or linearised equations.
        scheme: Coriolis/vorticity scheme, one of ``("energy", "enstrophy", "een")``.
        drag: linear bottom drag rate ``r`` [1/s] (>= 0).
        viscosity: lateral Laplacian viscosity ``nu`` [m^2/s] (>= 0).
        wind_stress: ``None``; ``(tau_x, tau_y)`` tensors [N/m^2] at u- and v-points,
            trailing shape ``(ny, nx)``; or a callable ``t -> (tau_x, tau_y)``.
        rho0: reference density [kg/m^3] (> 0).
        learnable: one name or names among ``("g", "H", "drag", "viscosity")`` to train (kept
            positive by :class:`~physics.parameters.PhysicalParameter`); ``True``: all that can be
            learned (a drag or viscosity of 0 switches its term off and stays a fixed 0).
        mask: optional ocean mask ``(ny, nx)`` at cell centres (bool or 0/1; module docstring).

    dtype/device (:mod:`physics.precision`): the model follows the state's dtype (float32 or
    float64; the buffers are cast on use, a float32 state gives a float32 tendency); a state on
    another device than the model raises ``ValueError``. Time steps: :meth:`dt_max` and
    :meth:`check_dt` give the CFL limit of each time-stepping method.
    """

    CHANNELS = ("eta", "u", "v")
    PARAMETERS = ("g", "H", "drag", "viscosity")

    def __init__(
        self,
        grid: Grid,
        g: float = 9.81,
        H: float = 1000.0,
        nonlinear: bool = True,
        scheme: str = "energy",
        drag: float = 0.0,
        viscosity: float = 0.0,
        wind_stress: WindStress = None,
        rho0: float = 1025.0,
        learnable: Learnable = (),
        mask: Optional[torch.Tensor] = None,
    ) -> None:
        super().__init__()
        require_grid(grid, what="ShallowWater")
        if not isinstance(nonlinear, bool):
            raise TypeError(f"nonlinear must be a bool, got {type(nonlinear).__name__}")
        self.grid = grid
        self.nonlinear = nonlinear
        self.scheme = check_choice("scheme", scheme, SCHEMES)
        self.rho0 = check_positive("rho0", rho0)
        values = {
            "g": check_positive("g", g),
            "H": check_positive("H", H),
            "drag": check_nonnegative("drag", drag),
            "viscosity": check_nonnegative("viscosity", viscosity),
        }
        # drag / viscosity = 0 switch their term off: a fixed zero, skipped in forward
        names = make_parameters(self, values, learnable=learnable, switchable=("drag", "viscosity"))
        self._active = {k: k in names or values[k] != 0.0 for k in ("drag", "viscosity")}
        self.register_buffer("mask_u", grid.mask("u"), persistent=False)
        self.register_buffer("mask_v", grid.mask("v"), persistent=False)
        self.register_buffer("mask_q", None, persistent=False)  # land corners (free slip), masked models only
        self.register_buffer("mask_c", grid.mask("center"), persistent=False)  # ocean cells (1 without land)
        if mask is not None:  # land: every face touching a land cell is closed (physics.masks)
            land = staggered_masks(grid, mask, "mask")
            self.mask_u, self.mask_v, self.mask_q, self.mask_c = land.u, land.v, land.corner, land.center
        self.register_buffer("f_pad", padded_coriolis(grid, self.mask_u), persistent=False)
        self.wind_stress_fn: Optional[Callable] = None
        self.register_buffer("tau_x", None, persistent=False)
        self.register_buffer("tau_y", None, persistent=False)
        if callable(wind_stress):
            self.wind_stress_fn = wind_stress
        elif wind_stress is not None:
            if not isinstance(wind_stress, (tuple, list)) or len(wind_stress) != 2:
                raise TypeError("wind_stress must be None, a (tau_x, tau_y) pair of tensors or a callable t -> pair")
            for name, tau in zip(("wind_stress[0] (tau_x)", "wind_stress[1] (tau_y)"), wind_stress):
                check_field(name, tau, grid.ny, grid.nx)
            self.register_buffer("tau_x", wind_stress[0].to(grid.dtype), persistent=False)
            self.register_buffer("tau_y", wind_stress[1].to(grid.dtype), persistent=False)

    # ------------------------------------------------------------------ helpers
    def p(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """Value of parameter ``name`` in physical units, on ``like``'s dtype/device."""
        return self.params[name].value.to(dtype=like.dtype, device=like.device)

    def _check(self, state: torch.Tensor) -> None:
        check_state_precision("state", state, self.mask_u, "ShallowWater")
        check_state("state", state, self.CHANNELS, self.grid.ny, self.grid.nx)

    def _fields(self, state: torch.Tensor):
        """``eta, u, v`` (walls masked) and the depths used in fluxes: ``h`` (centres) or ``H``."""
        eta, u, v = state.unbind(1)
        u = u * self.mask_u.to(state.dtype)
        v = v * self.mask_v.to(state.dtype)
        H = self.p("H", state)
        h = H + eta if self.nonlinear else H.expand_as(eta)
        return eta, u, v, h

    def _fluxes(self, u, v, h):
        if self.nonlinear:
            hu = op.avg_backward(h, self.grid, "x", "neumann")
            hv = op.avg_backward(h, self.grid, "y", "neumann")
        else:
            hu = hv = h
        return hu * u, hv * v, hu, hv

    def _padded_pv(self, zeta: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``q = (zeta + f) / h_q`` on padded corners (``f / H`` when linear)."""
        if self.nonlinear:
            return (pad(zeta, self.grid) + self.f_pad.to(h.dtype)) / corner_depth(h, self.grid)
        return (self.f_pad.to(h.dtype) / self.p("H", h)).expand(h.shape[:-2] + (self.grid.ny + 2, self.grid.nx + 2))

    def _wind(self, t, like: torch.Tensor):
        if self.wind_stress_fn is not None:
            tau_x, tau_y = self.wind_stress_fn(t)
            check_field("wind_stress(t)[0] (tau_x)", tau_x, self.grid.ny, self.grid.nx)
            check_field("wind_stress(t)[1] (tau_y)", tau_y, self.grid.ny, self.grid.nx)
            return tau_x.to(like), tau_y.to(like)
        if self.tau_x is not None:
            return self.tau_x.to(like), self.tau_y.to(like)
        return None

    # ------------------------------------------------------------------ dynamics
    def forward(self, t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Tendency ``d(eta, u, v)/dt``, shape ``(batch, 3, ny, nx)`` [m/s, m/s^2, m/s^2]."""
        return self.tendency(t, state)

    def tendency(self, t: torch.Tensor, state: torch.Tensor, faces: Optional[OpenFaces] = None) -> torch.Tensor:
        """:meth:`forward` with optional open-face velocities (the hook of :mod:`physics.sw_open`):
        ``faces`` (:class:`physics.sw_sphere.OpenFaces`) replace the walls' zero normal velocity in
        the Coriolis and kinetic-energy terms; the continuity equation is left to the caller."""
        self._check(state)
        grid = self.grid
        eta, u, v, h = self._fields(state)
        if self.nonlinear and bool((h <= 0).any()):
            raise ValueError("state: total depth H + eta must be > 0 everywhere (eta below -H); during a "
                             "time integration this usually means a step beyond the CFL limit (see check_dt)")
        U, V, hu, hv = self._fluxes(u, v, h)
        deta = -op.divergence(U, V, grid)
        zeta = op.vorticity(u, v, grid)
        if self.mask_q is not None:
            zeta = zeta * self.mask_q.to(zeta.dtype)  # free slip: zeta = 0 on land corners
        cor_u, cor_v = coriolis_accelerations(self.scheme, self._padded_pv(zeta, h), U, V, h, grid, faces)
        B = self.p("g", state) * eta
        if self.nonlinear:
            B = B + kinetic_density(u, v, grid, faces)
        du = cor_u - op.dx_c2u(B, grid)
        dv = cor_v - op.dy_c2v(B, grid)
        if self._active["drag"]:
            r = self.p("drag", state)
            du, dv = du - r * u, dv - r * v
        if self._active["viscosity"]:
            nu = self.p("viscosity", state)
            D = op.divergence(u, v, grid)
            du = du + nu * (op.dx_c2u(D, grid) - op.dy_q2u(zeta, grid))
            dv = dv + nu * (op.dy_c2v(D, grid) + op.dx_q2v(zeta, grid))
        wind = self._wind(t, state)
        if wind is not None:
            du = du + wind[0] / (self.rho0 * hu)
            dv = dv + wind[1] / (self.rho0 * hv)
        return torch.stack((deta, du * self.mask_u.to(du.dtype), dv * self.mask_v.to(dv.dtype)), dim=1)

    # ------------------------------------------------------------------ diagnostics
    def mass(self, state: torch.Tensor) -> torch.Tensor:
        """Volume anomaly ``sum A eta`` [m^3] (``A = dx dy``, or the exact cell areas on a sphere
        grid), shape ``(batch,)`` (total volume: add ``H sum A``)."""
        self._check(state)
        return self._integral(state[:, 0], "center")

    def _integral(self, f: torch.Tensor, loc: str) -> torch.Tensor:
        """``sum A f`` over the rows of ``loc`` (exact areas on the sphere), ``(batch,)``."""
        if self.grid.metric != "sphere":
            return f.sum((-2, -1)) * self.grid.cell_area
        return (f * areas(self.grid, loc, f)).sum((-2, -1))

    def kinetic_energy(self, state: torch.Tensor) -> torch.Tensor:
        """``rho0 sum A h K`` [J], ``(batch,)``, ``K = (avg_x(u^2) + avg_y(v^2)) / 2`` (sphere: the
        face-area-weighted ``K`` of :func:`physics.sw_sphere.kinetic_density`); ``h -> H`` when
        linear. This ``K`` is the one the Bernoulli function uses, which makes total energy an
        exact semi-discrete invariant of the ``"energy"`` scheme."""
        self._check(state)
        eta, u, v, h = self._fields(state)
        return self.rho0 * self._integral(h * kinetic_density(u, v, self.grid), "center")

    def potential_energy(self, state: torch.Tensor) -> torch.Tensor:
        """``rho0 g sum A eta^2 / 2`` [J], ``(batch,)`` (available potential energy)."""
        self._check(state)
        eta = state[:, 0]
        return self.rho0 * self.p("g", state) * 0.5 * self._integral(eta * eta, "center")

    def total_energy(self, state: torch.Tensor) -> torch.Tensor:
        """Kinetic + potential energy [J], ``(batch,)``."""
        return self.kinetic_energy(state) + self.potential_energy(state)

    def potential_vorticity(self, state: torch.Tensor) -> torch.Tensor:
        """``q = (zeta + f) / h_q`` at corners [1/(m s)], ``(batch, ny, nx)``, with the full
        depth ``h = H + eta`` (also for the linear model); ``zeta = 0`` on closed walls."""
        self._check(state)
        eta, u, v, _ = self._fields(state)
        h = self.p("H", state) + eta
        zeta = op.vorticity(u, v, self.grid)
        if self.mask_q is not None:
            zeta = zeta * self.mask_q.to(zeta.dtype)
        hq = window(corner_depth(h, self.grid), self.grid, 0, 0)
        f = self.f_pad.to(state.dtype)[1:-1]  # stored corner rows j = 0..ny-1
        return (zeta + f) / hq

    def potential_enstrophy(self, state: torch.Tensor) -> torch.Tensor:
        """``sum A_q h_q q^2 / 2`` over the stored corners [m^3/s^2], ``(batch,)`` (conserved by
        ``"enstrophy"`` on periodic Cartesian grids only)."""
        eta = state[:, 0]
        hq = window(corner_depth(self.p("H", state) + eta, self.grid), self.grid, 0, 0)
        q = self.potential_vorticity(state)
        return 0.5 * self._integral(hq * q * q, "corner")

    # ------------------------------------------------------------------ time step
    def dt_max(self, state: Optional[torch.Tensor] = None, method: Optional[str] = None) -> float:
        """Largest stable explicit step [s] of ``method`` (safety factor 1).

        Gravity waves (+ advection when nonlinear and ``state`` given), Courant number
        ``C = (sqrt(g h_max) + |u|_max) dt sqrt(1/dx^2 + 1/dy^2) <= C_max`` with ``C_max =``
        :func:`physics.stepping.courant_limit` ``(method)`` (1 without a method: the classical
        CFL condition, ``dt = dx / sqrt(2 g H)`` for ``dx = dy`` at rest; rk4 ``sqrt(2)``, heun3
        ``sqrt(3)/2``, ab3 0.36); ``dx`` is the smallest zonal spacing on a sphere grid (the poleward
        row, :func:`physics.sw_sphere.smallest_dx`); viscosity: ``nu dt 4 (1/dx^2 + 1/dy^2) <=`` the method's real-axis
        limit (:func:`physics.stepping.diffusive_limit`, 2 without a method).
        """
        return self._limits(state, method)[0]

    def _limits(self, state: Optional[torch.Tensor], method: Optional[str]) -> tuple:
        """``(dt_max, dt_wave, dt_visc, C_max, wave speed sqrt(g h_max), |u|_max, inv)``."""
        if method is not None:
            check_choice("method", method, tuple(dict.fromkeys(TORCHDIFFEQ_FIXED_STEP + METHODS)))
        g, H = float(self.params["g"].value.detach()), float(self.params["H"].value.detach())
        speed_extra = 0.0
        if state is not None:
            self._check(state)
            if self.nonlinear:
                H = H + max(float(state[:, 0].detach().max()), 0.0)
                speed_extra = float(state[:, 1:].detach().abs().max())
        nu = float(self.params["viscosity"].value.detach())
        dt_wave, dt_visc, c_max, inv = step_limits(self.grid, math.sqrt(g * H) + speed_extra, nu, method)
        return min(dt_wave, dt_visc), dt_wave, dt_visc, c_max, math.sqrt(g * H), speed_extra, inv

    def check_dt(self, dt: float, state: Optional[torch.Tensor] = None, method: Optional[str] = None) -> float:
        """Return ``dt`` after checking ``0 < dt <= dt_max(state, method)``.

        Raises ``ValueError`` naming ``dt``, saying CFL, the limit, the Courant number and the
        wave speed (or the viscous limit) -- called by :func:`geostrophic_adjustment`,
        :func:`physics.stepping.integrate_fixed` and :func:`hybridocean.integrate.odeint` before
        integrating, so that a too-long step does not surface later as a negative depth.
        """
        dt = check_positive("dt", dt)
        limit, dt_wave, dt_visc, c_max, c, u_max, inv = self._limits(state, method)
        how = f"method {method!r}" if method is not None else "the classical CFL condition"
        if dt > dt_wave:
            dx_min = smallest_dx(self.grid)
            adv = f" + advection |u|_max = {u_max:.3g} m/s" if u_max > 0 else ""
            raise ValueError(
                f"dt = {dt:.6g} s violates the CFL limit of {how}: Courant number "
                f"(sqrt(g H) + |u|) dt sqrt(1/dx^2 + 1/dy^2) = {(c + u_max) * dt * inv:.3g} > {c_max:.3g} "
                f"(gravity-wave speed sqrt(g H) = {c:.4g} m/s{adv}, dx = {dx_min:.6g} m, "
                f"dy = {self.grid.dy:.6g} m); use dt <= {dt_wave:.6g} s"
            )
        if dt > dt_visc:
            how = f"method {method!r}" if method is not None else "forward Euler (no method given)"
            raise ValueError(
                f"dt = {dt:.6g} s violates the viscous stability limit of {how}: dt_max = {dt_visc:.6g} s "
                f"(viscosity {float(self.params['viscosity'].value.detach()):.4g} m^2/s)"
            )
        return dt

    def extra_repr(self) -> str:
        return f"grid={self.grid!r}, nonlinear={self.nonlinear}, scheme={self.scheme!r}, rho0={self.rho0}"


def gaussian_bump(
    grid: Grid, amplitude: float = 1.0, radius: Optional[float] = None,
    x0: Optional[float] = None, y0: Optional[float] = None,
) -> torch.Tensor:
    """State ``(1, 3, ny, nx)`` at rest with ``eta = amplitude exp(-r^2 / (2 radius^2))`` [m].

    ``r`` is the distance to ``(x0, y0)`` [m] (default: domain centre); ``radius`` [m]
    defaults to ``min(Lx, Ly) / 10``.
    """
    radius = check_positive("radius", min(grid.Lx, grid.Ly) / 10 if radius is None else radius)
    x0 = grid.Lx / 2 if x0 is None else check_real("x0", x0)
    y0 = grid.Ly / 2 if y0 is None else check_real("y0", y0)
    X, Y = grid.mesh("center")
    eta = check_real("amplitude", amplitude) * torch.exp(-((X - x0) ** 2 + (Y - y0) ** 2) / (2 * radius**2))
    zero = torch.zeros_like(eta)
    return torch.stack((eta, zero, zero))[None]


def geostrophic_adjustment(
    grid: Grid, t: torch.Tensor, amplitude: float = 1.0, radius: Optional[float] = None,
    method: str = "rk4", dt: Optional[float] = None, **model_kwargs,
) -> Tuple["ShallowWater", torch.Tensor]:
    """Rossby adjustment: a Gaussian SSH bump released at rest (f-plane, Rossby 1938).

    Integrates :class:`ShallowWater` (``model_kwargs``: ``g``, ``H``, ``nonlinear``, ...)
    from :func:`gaussian_bump` with ``torchdiffeq.odeint``. Gravity waves radiate and the
    bump relaxes to a geostrophically balanced eddy of radius ~ the deformation radius
    ``Ld = sqrt(g H) / f0``. ``dt`` [s] (the fixed-step methods
    :data:`physics.stepping.TORCHDIFFEQ_FIXED_STEP` only) defaults to half of the smaller of the
    classical CFL step and the method's ``dt_max``; a ``dt`` beyond the method's limit raises the
    CFL ``ValueError`` of :meth:`ShallowWater.check_dt`.

    Returns ``(model, states)`` with ``states`` of shape ``(len(t), 1, 3, ny, nx)``.

    Example::

        grid = Grid(64, 64, Lx=2e6, Ly=2e6, f0=1e-4)       # periodic f-plane
        t = torch.linspace(0, 5 * 86400.0, 11, dtype=torch.float64)
        model, states = geostrophic_adjustment(grid, t, amplitude=1.0, radius=1e5, H=100.0)
        eta_final = states[-1, 0, 0]                         # adjusted SSH [m]
    """
    from torchdiffeq import odeint

    model = ShallowWater(grid, **model_kwargs).to(grid.device)
    state0 = gaussian_bump(grid, amplitude, radius).to(grid.device)
    options = None
    if method in TORCHDIFFEQ_FIXED_STEP:
        # default: half the classical CFL step, or of the method's own limit where that is smaller
        step = min(model.dt_max(state0), model.dt_max(state0, method)) / 2 if dt is None else dt
        options = {"step_size": model.check_dt(step, state0, method)}
    elif dt is not None:
        raise ValueError(f"dt is the step of the fixed-step methods {TORCHDIFFEQ_FIXED_STEP}; method {method!r} "
                         "adapts its own step")
    with torch.no_grad():
        states = odeint(model, state0, t, method=method, options=options)
    return model, states


__all__ = ["ShallowWater", "gaussian_bump", "geostrophic_adjustment"]
