"""Layered quasi-geostrophic (QG) model: 1-layer, 1.5-layer and N-layer, periodic or closed.

State ``q`` ``(batch, N, ny, nx)``: the PV anomaly [1/s] of each layer at the grid corners
(``CHANNELS = ("q1", ..., "qN")``, top layer first). The streamfunction ``psi`` [m^2/s] solves

    q_i = Lap psi_i + sum_j S_ij psi_j          (S: physics.elliptic.stretching_matrix)

(1 layer: ``S = 0``, barotropic; 1.5 layers: ``S = -1/Ld^2``). With an imposed zonal flow
``U_i`` (pyqg's convention) the background PV gradient is ``Q_y = beta - S U`` and

    dq_i/dt = -J(psi_i, q_i) - U_i dq_i/dx - Q_y,i dpsi_i/dx
              - drag * delta_{i,N} zeta_N + nu Lap zeta_i - nu4 Lap^2 zeta_i + delta_{i,1} curl(tau)/(rho0 H_1)

with ``zeta = Lap psi``, ``J(a, b) = a_x b_y - a_y b_x`` and the double-gyre wind
``tau_x = -tau0 cos(2 pi y / Ly)``, i.e. ``curl(tau) = -(2 pi tau0 / Ly) sin(2 pi y / Ly)``.

Discretisation (``spectral=False``): Arakawa Jacobian, centred differences, five-point
Laplacian, exact discrete inversion (FFT or DST-I). ``spectral=True`` (periodic only):
pseudo-spectral like pyqg (exact wavenumbers, flux-form advection, no dealiasing, no filter).

Closed basins: ``psi = 0`` on every wall for every layer (no net-mass constraint). The wall
values of ``q`` are not prognostic: the inversion ignores them, the model treats them as
``q = zeta = 0`` (free slip; ``S psi = 0`` there) in the Jacobian and viscosity stencils, and
``dq/dt = 0`` on the walls. With this the semi-discrete energy and enstrophy are conserved by
the Jacobian, but not the total PV (Arakawa's stencil fluxes PV through the walls). A zonal
background flow through walls is inconsistent, so ``U != 0`` requires a periodic grid.

Land (``mask=``, closed grids, finite differences): the ocean mask at cell centres gives the
ocean corners (:func:`physics.masks.ocean_corner_mask`: a corner is ocean iff its four cells are).
Every land corner is treated like a wall: ``psi`` prescribed (inversion by :mod:`physics.capacitance`,
exact to round-off), ``q = zeta = 0`` (free slip) in the stencils, ``dq/dt = 0``. ``islands="zero"``
(default): ``psi = 0`` on every coast, islands included (no net transport between an island and the
mainland); the fields vanish off the ocean, so the Arakawa identities (``sum psi J = sum q J = 0``),
the antisymmetric beta term and the symmetric masked inverse conserve energy and enstrophy to
round-off on any mask (viscosity dissipates ``-nu sum_ocean zeta^2``). ``islands="circulation"``:
``psi = c_k(t)`` on island ``k``, fixed by the circulation ``Gamma_k`` around it (``circulation=``,
default 0; Kelvin's inviscid, unforced invariant -- the island rule of wind/drag/viscosity is not
implemented), :mod:`physics.islands`: enstrophy still exact, energy to truncation error.

Sphere (``grid.metric == "sphere"``, :meth:`physics.grid.Grid.from_lonlat`): the same model with
the spherical flux-form operators, the planetary gradient ``beta_j = 2 Omega cos(lat_j) / R`` per
row and constant-``f0`` stretching, inverted by :mod:`physics.sphere_elliptic`; see
:mod:`physics.qg_sphere` (equations, approximation, what is not available there).
"""
from __future__ import annotations

import contextlib
import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

from ._checks import check_choice, check_nonnegative, check_positive, check_real, check_state
from .capacitance import CapacitanceSolver, capacitance_solve
from .elliptic import (
    VerticalModes, _safe_reciprocal, apply_inverse, helmholtz_multiplier, periodic_layer_inverse, stretching_matrix,
)
from .grid import Grid, require_grid
from .islands import ISLANDS, init_islands, island_correct
from .masks import ocean_corner_mask
from .operators import velocity_from_psi
from .parameters import Learnable, make_parameters
from .precision import FollowsStateDtype, check_state_precision, follows_state_dtype
from .qg_diagnostics import QGDiagnostics
from .qg_sphere import check_sphere_options, init_sphere_operators, sphere_masked_modes, sphere_psi, sphere_rhs
from .qg_terms import QGSpectralPath, fd_laplacian, fd_rhs
from .spectral import centered_derivative_symbols, laplacian_eigenvalues_dst, laplacian_eigenvalues_fft


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _land_corner_mask(grid: Grid, mask, spectral: bool) -> torch.Tensor:
    """The ocean corner mask of ``QG(mask=...)`` after checking what a land mask needs."""
    if grid.periodic or spectral:
        raise ValueError("mask (land) needs a closed grid and spectral=False, got "
                         f"boundary={grid.boundary!r}, spectral={spectral!r}")
    return ocean_corner_mask(grid, mask, "mask")


class QG(QGDiagnostics, QGSpectralPath, FollowsStateDtype, nn.Module):
    """Layered QG model; ``forward(t, q) -> dq/dt`` (``torchdiffeq.odeint`` compatible).

    Args:
        grid: the :class:`~physics.grid.Grid` (periodic: FFT inversion, closed: DST-I; a lon/lat
            box with ``metric="sphere"``: :mod:`physics.qg_sphere`).
        H: layer thicknesses [m], top first (``nlayers = len(H)``); optional for 1 layer.
        g_prime: reduced gravities [m/s^2] of the ``N-1`` interfaces (or ``N`` for a
            reduced-gravity model above a resting deep layer).
        f0: Coriolis parameter [1/s] for the stretching; default ``grid.f0`` (on a sphere grid the
            box's central latitude; the planetary gradient still follows ``f(lat)``).
        Ld: deformation radius [m] of the 1.5-layer model (1 layer only; ``None``: barotropic).
        U: background zonal velocity per layer [m/s] (default 0).
        beta: df/dy [1/(m s)]; default ``grid.beta`` (sphere: scales the profile ``2 Omega cos(lat_j) / R``).
        drag: linear bottom drag on the lowest layer [1/s]; nu: Laplacian viscosity [m^2/s];
        nu4: biharmonic viscosity [m^4/s]; tau0: wind stress amplitude [N/m^2]; rho0 [kg/m^3].
        spectral: pseudo-spectral path (periodic only).
        learnable: one name or names among ``beta, drag, nu, nu4, tau0, Ld`` to learn; ``True``:
            all that can be learned here (not a drag/nu/nu4 of 0, which switches its term off; Ld
            only when given; tau0 only with ``H``) -- :func:`physics.parameters.parse_learnable`.
        check_finite: reject NaN/Inf input in :meth:`forward` (one reduction per call).
        mask: optional ocean mask ``(ny, nx)`` at cell centres (bool, or 0/1) on a closed grid
            (:mod:`physics.masks`; land masks, module docstring). ``None``: the plain rectangle.
            With a mask, the buffer ``model.mask`` is the ocean *corner* mask it implies.
        islands: ``"zero"`` (``psi = 0`` on island coasts) or ``"circulation"`` (a constant per island
            fixed by its circulation, :mod:`physics.islands`; needs ``mask``).
        circulation: with ``islands="circulation"``: the circulation ``Gamma`` [m^2/s] around each
            island of each layer, ``(K,)`` (one layer) or ``(N, K)``; ``None``: 0
            (:func:`physics.islands.island_circulation` gives it for an initial ``psi``).

    dtype/device (:mod:`physics.precision`): the model follows the state's dtype. Its buffers
    are built in ``grid.dtype`` (or moved by ``.to(dtype)``); a state of the other dtype (float32
    or float64) runs on a copy of the buffers cast to that dtype, cached per dtype (rebuilt when a
    buffer changes), with the same parameters (cast inside the graph: gradients reach them), so a
    float32 state gives float32 work and a float32 ``dq/dt``. float16/bfloat16 are refused (no CPU
    FFT, too coarse for PV anomalies); a state on another device than the model raises
    ``ValueError`` naming the state and both devices.
    """

    def __init__(
        self,
        grid: Grid,
        H: Optional[Sequence[float]] = None,
        g_prime: Optional[Sequence[float]] = None,
        f0: Optional[float] = None,
        Ld: Optional[float] = None,
        U: Optional[Sequence[float]] = None,
        beta: Optional[float] = None,
        drag: float = 0.0,
        nu: float = 0.0,
        nu4: float = 0.0,
        tau0: float = 0.0,
        rho0: float = 1025.0,
        spectral: bool = False,
        learnable: Learnable = (),
        check_finite: bool = True,
        mask: Optional[torch.Tensor] = None,
        islands: str = "zero",
        circulation: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__()
        self.grid = require_grid(grid, what="QG")
        self._sphere = grid.metric == "sphere"
        self._masked = mask is not None
        self._ocean = None if mask is None else _land_corner_mask(grid, mask, spectral)  # until _init_operators
        self.islands = check_choice("islands", islands, ISLANDS)
        if self.islands == "circulation" and mask is None:
            raise ValueError("islands='circulation' needs a land mask (mask=...)")
        if circulation is not None and self.islands != "circulation":
            raise ValueError("circulation is only used with islands='circulation'")
        self._circulation, self._islands = circulation, False
        self.spectral = bool(spectral)
        if self.spectral and not grid.periodic:
            raise ValueError(f"spectral=True needs boundary='periodic', got boundary={grid.boundary!r}")
        self.check_finite = bool(check_finite)
        self.H = None if H is None else [check_positive(f"H[{i}]", h) for i, h in enumerate(H)]
        N = 1 if H is None else len(self.H)
        if N < 1:
            raise ValueError("H must list at least one layer thickness [m]")
        self.nlayers = N
        self.CHANNELS = tuple(f"q{i + 1}" for i in range(N))
        self.rho0 = check_positive("rho0", rho0)
        f0 = grid.f0 if f0 is None else check_real("f0", f0)
        self.f0 = float(f0)  # [1/s] of the stretching and of SSH = f0 psi_1 / g (physics.qg_state)
        S = self._stretching(N, g_prime, f0, Ld)
        kw = dict(dtype=grid.dtype, device=grid.device)
        U = [0.0] * N if U is None else [check_real(f"U[{i}]", u) for i, u in enumerate(U)]
        if len(U) != N:
            raise ValueError(f"U must have one velocity per layer ({N}), got {len(U)}")
        if any(u != 0 for u in U) and not grid.periodic:
            raise ValueError("U (background zonal flow) must be 0 in a closed basin (flow through walls)")
        self.register_buffer("U", torch.tensor(U, **kw).view(N, 1, 1))
        self._has_U = any(u != 0 for u in U)
        self.register_buffer("S", torch.as_tensor(S, **kw))
        self.register_buffer("SU", (self.S @ self.U.view(N)).view(N, 1, 1))
        self.modes = VerticalModes(S, self.H or [1.0] * N, **kw) if N > 1 else None
        if self.modes is not None:  # as buffers so that .to(device/dtype) moves them
            self.register_buffer("modes_P", self.modes.P)
            self.register_buffer("modes_Pinv", self.modes.Pinv)
        self._init_parameters(grid, beta, drag, nu, nu4, tau0, Ld, learnable)
        if self._sphere:
            check_sphere_options(self.spectral, self._learn_Ld)
        self._init_operators(grid, kw)
        self._sync_reference()
        if tau0 != 0 and self.H is None:
            raise ValueError("wind forcing (tau0 != 0) needs the top-layer thickness H [m]")

    # ------------------------------------------------------------------ construction
    def _stretching(self, N, g_prime, f0, Ld):
        if Ld is not None:
            if N != 1 or g_prime is not None:
                raise ValueError("Ld is the 1.5-layer deformation radius: give it for 1 layer and without g_prime")
            Ld = check_positive("Ld", Ld)
            return [[-1.0 / Ld**2]]
        if g_prime is not None and self.H is None:
            raise ValueError("g_prime needs the layer thicknesses H [m] (deformation radius g' H / f0^2)")
        if g_prime is None:
            if N > 1:
                raise ValueError(f"g_prime (reduced gravities, {N - 1} values [m/s^2]) is required for {N} layers")
            return [[0.0]]
        return stretching_matrix(self.H or [1.0], list(g_prime), f0)

    def _init_parameters(self, grid, beta, drag, nu, nu4, tau0, Ld, learnable):
        beta = grid.beta if beta is None else beta
        values = {"beta": check_real("beta", beta), "drag": check_nonnegative("drag", drag), "nu": check_nonnegative("nu", nu),
                  "nu4": check_nonnegative("nu4", nu4), "tau0": check_real("tau0", tau0)}
        missing = {} if Ld is not None else {"Ld": "Ld is learnable only when Ld is given (1.5-layer model)"}
        if self.H is None:  # no wind term without the top-layer thickness
            missing["tau0"] = "tau0 (wind forcing) needs the top-layer thickness H [m]"
        if Ld is not None:
            values["Ld"] = float(Ld)
        bounds = {"beta": (None, None), "tau0": (None, None)}
        with _default_dtype(grid.dtype):
            names = make_parameters(self, values, learnable=learnable, bounds=bounds,
                                    switchable=("drag", "nu", "nu4"), unavailable=missing)
        self.params.to(grid.device)
        self._learn_Ld = "Ld" in names
        self._learnable = names
        self._active = {k for k, v in values.items() if v != 0 or k in names}
        self._has_Qy = values["beta"] != 0 or bool((self.SU != 0).any())
        with torch.no_grad():
            self.register_buffer("neg_Qy", -self._background_gradient().detach().clone())

    def _init_operators(self, grid, kw):
        N = self.nlayers
        kappa2 = self.modes.kappa2 if self.modes is not None else -self.S.view(1)
        self.register_buffer("mask", grid.mask("corner") if self._ocean is None else self._ocean)
        if self._sphere:  # RowHelmholtz (+ capacitance) factors, planetary gradient profile
            init_sphere_operators(self, grid, kappa2.view(N, 1, 1))
        else:
            self.register_buffer("multiplier", helmholtz_multiplier(grid, kappa2.view(N, 1, 1), self.spectral))
        if self._learn_Ld:  # the eigenvalues lambda of helmholtz_multiplier = 1 / (lambda - 1/Ld^2)
            periodic = grid.periodic
            lam = laplacian_eigenvalues_fft(grid, self.spectral) if periodic else laplacian_eigenvalues_dst(grid)
            self.register_buffer("lap_eigenvalues", lam)
        if self._masked and self._learn_Ld:
            raise ValueError("mask (land) fixes the inversion at construction: Ld cannot be learnable with a mask")
        if self._masked and not self._sphere:  # capacitance correction of the DST solver, one matrix per mode
            solver = CapacitanceSolver(grid, self.mask, kappa2.view(N, 1, 1))
            self.register_buffer("cap_chol", solver.chol)
            self.register_buffer("cap_coast", solver.coast)
        if self.islands == "circulation":
            init_islands(self, self._masked_modes, self._circulation)
        del self._ocean, self._circulation
        self.register_buffer("drag_layers", torch.zeros(N, 1, 1, **kw).index_fill_(0, torch.tensor([N - 1], device=grid.device), 1.0))
        self.register_buffer("neg_drag", -float(self.p("drag").detach()) * self.drag_layers)
        self.register_buffer("neg_U", -self.U)
        _, y = grid.coords("corner")
        curl = torch.zeros(N, grid.ny, 1, **kw)
        if self.H is not None:
            curl[0, :, 0] = -(2 * math.pi / grid.Ly) * torch.sin(2 * math.pi * y / grid.Ly) / (self.rho0 * self.H[0])
        self.register_buffer("wind_shape", curl)  # curl(tau)/(rho0 H1) per unit tau0 [1/(s^2 Pa)]
        if self.spectral:
            ik, il = centered_derivative_symbols(grid, spectral=True)
            self.register_buffer("ik", ik)
            self.register_buffer("il", il)
            self.register_buffer("k2", -laplacian_eigenvalues_fft(grid, spectral=True))
        if grid.periodic and self.modes is not None:
            # per-wavenumber layer inverse M = P diag(1 / (lambda - kappa_m^2)) P^-1, (N, N, ny, nk):
            # psi^_i = sum_j M_ij q^_j in two ops instead of two mode projections
            M = torch.einsum("nm,myk,mj->njyk", self.modes.P, self.multiplier, self.modes.Pinv)
            self.register_buffer("layer_inverse", M)
        self._lin_cached = False
        if self.spectral and not ({"beta", "drag", "nu", "nu4"} & self._learnable):
            with torch.no_grad():
                self.register_buffer("spectral_lin", self._spectral_linear())
            self._lin_cached = True

    def p(self, name: str) -> torch.Tensor:
        """Value of physical parameter ``name`` in physical units."""
        return self.params[name].value

    # ------------------------------------------------------------------ inversion
    def _check(self, q: torch.Tensor, name: str = "q") -> None:
        if not (torch.is_tensor(q) and q.dtype is self._dtype and q.device == self._device):
            check_state_precision(name, q, self.mask, "QG")  # raises unless float32/64 on our device
        check_state(name, q, self.CHANNELS, self.grid.ny, self.grid.nx, finite=self.check_finite)

    def _multiplier(self) -> torch.Tensor:
        if self._learn_Ld:  # helmholtz_multiplier(grid, 1 / Ld^2) on the cached eigenvalues, in their dtype
            return _safe_reciprocal(self.lap_eigenvalues - 1.0 / self.p("Ld") ** 2).unsqueeze(0)
        return self.multiplier

    def _psi(self, q: torch.Tensor) -> torch.Tensor:
        """Inversion of a (wall-masked) ``q``; no input checks."""
        if self._sphere:
            return sphere_psi(self, q)
        if self._masked:
            return self._psi_masked(q)
        if self.modes is None:
            return apply_inverse(q, self.grid, self._multiplier())
        if self.grid.periodic:
            return periodic_layer_inverse(q, self._layer_inverse_complex())
        qm = torch.matmul(self.modes_Pinv, q.flatten(-2)).view_as(q)  # layer -> mode
        psim = apply_inverse(qm, self.grid, self.multiplier)
        return torch.matmul(self.modes_P, psim.flatten(-2)).view_as(psim)  # mode -> layer

    def _masked_modes(self, q: torch.Tensor) -> torch.Tensor:
        """Mode-space inversion with ``psi = 0`` on every coast (:mod:`physics.capacitance`)."""
        if self._sphere:
            return sphere_masked_modes(self, q)
        return capacitance_solve(q, self.grid, self.multiplier, self.mask, self.cap_coast, self.cap_chol)

    def _psi_masked(self, q: torch.Tensor) -> torch.Tensor:
        """Inversion on the land-masked basin, per vertical mode (+ island constants, :mod:`physics.islands`)."""
        if self.modes is not None:
            q = torch.matmul(self.modes_Pinv, q.flatten(-2)).view_as(q)
        psi = island_correct(self, self._masked_modes(q))
        if self.modes is not None:
            psi = torch.matmul(self.modes_P, psi.flatten(-2)).view_as(psi)
        return psi

    @follows_state_dtype
    def streamfunction(self, q: torch.Tensor) -> torch.Tensor:
        """``psi`` [m^2/s] ``(B, N, ny, nx)`` at corners solving ``Lap psi + S psi = q``."""
        self._check(q)
        return self._psi(q * self.mask)

    @follows_state_dtype
    def velocities(self, q: torch.Tensor) -> tuple:
        """Perturbation velocity ``(u, v)`` [m/s], ``u = -dpsi/dy``, ``v = dpsi/dx`` (excluding ``U``).

        Finite differences: on the C-grid u- and v-points (:func:`physics.operators.velocity_from_psi`);
        spectral: exact derivatives at the corners. Each ``(B, N, ny, nx)``.
        """
        psi = self.streamfunction(q)
        if not self.spectral:
            return velocity_from_psi(psi, self.grid)
        psih = torch.fft.rfft2(psi)
        return torch.fft.irfft2(-self.il * psih, s=self.grid.shape), torch.fft.irfft2(self.ik * psih, s=self.grid.shape)

    # ------------------------------------------------------------------ tendency
    def forward(self, t: Union[float, torch.Tensor], q: torch.Tensor) -> torch.Tensor:
        """``dq/dt`` [1/s^2] ``(B, N, ny, nx)`` of the equation in the module docstring (``t`` unused),
        in ``q``'s dtype (class docstring)."""
        self._check(q)
        if q.dtype is not self._dtype:
            return self._in_dtype(q.dtype)._tendency(q)
        return self._tendency(q)

    def _tendency(self, q: torch.Tensor) -> torch.Tensor:
        if not self.grid.periodic:
            q = q * self.mask
        if self.spectral:
            return self._rhs_spectral(q)
        return sphere_rhs(self, q) if self._sphere else self._rhs_fd(q)

    def _background_gradient(self) -> torch.Tensor:
        return self.p("beta") - self.SU  # Q_y (N, 1, 1)

    def _linear_coefficients(self) -> tuple:
        """``(c_dpsi, c_lap)``: ``-Q_y`` and ``-drag`` on the bottom layer, ``(N, 1, 1)`` or None.

        Fixed parameters use buffers precomputed at construction (no per-call arithmetic)."""
        learn = self._learnable
        if "beta" in learn:
            c_dpsi = -self._background_gradient()
        else:
            c_dpsi = self.neg_Qy if self._has_Qy else None
        c_lap = None
        if "drag" in self._active:
            c_lap = -self.p("drag") * self.drag_layers if "drag" in learn else self.neg_drag
        return c_dpsi, c_lap

    def _rhs_fd(self, q: torch.Tensor, psi: Optional[torch.Tensor] = None) -> torch.Tensor:
        g = self.grid
        psi = self._psi(q) if psi is None else psi
        c_dpsi, c_lap = self._linear_coefficients()
        visc = "nu" in self._active or "nu4" in self._active
        dq, zeta = fd_rhs(psi, q, g, c_dpsi, self.neg_U if self._has_U else None, c_lap, need_lap=visc)
        if visc:
            lap_zeta = fd_laplacian(zeta * self.mask, g)
            if "nu" in self._active:
                dq = dq + self.p("nu") * lap_zeta
            if "nu4" in self._active:
                dq = dq - self.p("nu4") * fd_laplacian(lap_zeta * self.mask, g)
        if "tau0" in self._active:
            dq = dq + self.p("tau0") * self.wind_shape
        return dq if g.periodic else dq * self.mask

    def discrete_adjoint(self):
        """A :class:`physics.qg_adjoint.QGDiscreteAdjoint` (exact hand-written vjp of :meth:`forward`,
        used by :func:`physics.stepping.integrate_fixed` for AB3 gradients), or ``None`` where it
        does not apply (closed or spectral grid, viscosity, or a parameter that requires grad)."""
        from .qg_adjoint import QGDiscreteAdjoint

        return QGDiscreteAdjoint.for_model(self)

    def extra_repr(self) -> str:
        return f"nlayers={self.nlayers}, boundary={self.grid.boundary!r}, spectral={self.spectral}"


__all__ = ["QG"]
