"""Twin truth (a) of the estimation benchmark: nonlinear shallow water on a beta-plane basin.

A twin experiment needs a truth whose currents are *not* the geostrophic currents of its SSH,
otherwise every SSH map is a perfect current map and the benchmark cannot tell a method that
learns the dynamics from one that only maps SSH. This truth is the first baroclinic mode of a
mid-latitude ocean written as one nonlinear shallow-water layer
(:class:`physics.shallow_water.ShallowWater`, C-grid, flux-form mass, vector-invariant momentum,
the Arakawa & Hsu 1990 "een" Coriolis scheme) with an *equivalent depth* ``H`` (Gill 1982,
*Atmosphere-Ocean Dynamics*, section 6.11): ``c = sqrt(g H)`` is the first baroclinic gravity-wave
speed and ``Ld = c / f0`` the first deformation radius. The defaults ``H = 1 m``, ``g = 9.81``
give ``c = 3.1 m/s`` and ``Ld = 31 km`` at ``f0 = 1e-4 1/s``, within the 20-40 km that Chelton et
al. 1998 (J. Phys. Oceanogr. 28, 433-460, "Geographical variability of the first baroclinic Rossby
radius of deformation") map at mid-latitudes (~43 N). Equations (``h = H + eta``, ``f = f0 + beta (y - y0)``)::

    d eta/dt = -div(h u)
    d u/dt   = (zeta + f) v~ - d(g eta + K)/dx + nu Lap u
    d v/dt   = -(zeta + f) u~ - d(g eta + K)/dy + nu Lap v

in a closed square basin (free-slip walls), ``beta = 1.6e-11 1/(m s)`` (43 N), Laplacian
viscosity ``nu`` [m^2/s] (default ``50 (dx / 10 km)^2`` m^2/s: the grid-scale mode ``k = pi/dx``
is damped in ``dx^2 / (pi^2 nu)`` = 2.3 days, an eddy of radius 30 km in ``(30 km)^2 / nu`` ~ 200
days), no wind, no drag: the eddies decay slowly, drift west (beta) and interact.

Initial state and spin-up: SSH drawn from the Gaussian covariance
:class:`hybridocean.estimation.background.GaussianCovariance` (rms ``amplitude`` [m], correlation
length ``length`` [m], the cosine basis of a closed basin), tapered to 0 within ``3 length`` of
the walls (:func:`wall_taper`; why: :func:`balanced_eddies`), its mean removed, with the
geostrophic velocities of that SSH (:func:`physics.geostrophy.geostrophic_velocities`, walls
masked). This state is *not* a solution: the nonlinear terms (cyclo-geostrophy), beta and the
walls put it out of balance, so during ``spinup_days`` it adjusts -- inertia-gravity waves
radiate, eddies take their gradient-wind balance, Rossby waves and Kelvin waves along the
walls start -- and only then are frames saved, every ``frame_s`` seconds (default daily).
Fields in the frames are dynamically consistent model states. Measured (seed 0, defaults):
64 x 64 cells, 10 days of spin-up + 10 days: ``Ro = rms(zeta)/f0 = 0.14`` (``max |zeta|/f0 =
0.88``, in the cyclones), ageostrophic share of kinetic energy 4 %, rms speed 0.27 m/s, rms SSH
7 cm; 48 x 48, 10 + 20 days (``hybridocean demo``): Ro 0.11, share 3.4 %; 32 x 32, 3 + 3 days
(the tests): Ro 0.17, share 2.8 %; 128 x 128, 10 + 60 days at amplitude 0.1 m: Ro 0.099, share
2.6 %, hence the benchmark preset's 0.12 m: Ro 0.115 (max 1.04), share 3.5 %, rms speed 0.29 m/s
(175 s on a loaded 2-core host). Time step: RK4 at 0.8 of its CFL limit.

Output (:func:`shallow_water_twin`): a CF Dataset with ``ssh`` [m], ``u``, ``v`` [m/s] on
``(time, y, x)`` at the cell centres (C-grid velocities averaged from the faces,
:func:`~hybridocean.estimation.fourdvar_models.faces_to_centres`), ``x``/``y`` [m] (cell centres
from 0), datetime64 times, and the grid as :func:`hybridocean.io.grid_attrs` writes it
(``grid_boundary="closed"``, ``f0_per_s``, ``beta_per_m_per_s``, ``y0_m``, ...). It has no lon/lat:
:meth:`hybridocean.observations.Constellation.sample` places it on the sphere centred at longitude
0 and the latitude ``asin(f0 / 2 Omega)`` (43.3 N for the default ``f0``).

Diagnostics (attributes ``twin_*`` and :func:`twin_diagnostics`): the Rossby number
``Ro = rms(zeta) / f0`` (``zeta`` the model's corner vorticity, over all frames) and
``max|zeta| / f0``; the ageostrophic share of kinetic energy
``sum |u - u_g|^2 / sum |u|^2`` with ``u_g`` the geostrophic velocity of the true SSH computed the
way the scoring does (:func:`hybridocean.estimation.evaluation.truth_currents`): a perfect SSH map
scores ``tau_uv = 100 (1 - share)`` at best against these currents; and the relative mass drift
``|sum eta(t) - sum eta(0)| / sum |eta(0)|`` (round-off: the flux form conserves mass exactly).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional

import numpy as np
import torch
import xarray as xr

from physics import operators as op
from physics._checks import check_choice, check_int, check_positive
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.shallow_water import ShallowWater
from physics.stepping import integrate_fixed

from ..io import grid_attrs, variable_attrs
from .background import GaussianCovariance
from .evaluation import truth_currents
from .fourdvar_models import faces_to_centres

DAY = 86400.0

#: Preset sizes: ``"demo"`` (``make demo``, tests, tutorial 04) and ``"benchmark"``.
SIZES: Dict[str, Dict[str, float]] = {
    "demo": {"n": 64, "dx": 10e3, "days": 30.0, "amplitude": 0.1},
    "benchmark": {"n": 128, "dx": 10e3, "days": 60.0, "amplitude": 0.12},
}


def twin_model(grid: Grid, g: float = 9.81, H: float = 1.0, viscosity: float = 50.0) -> ShallowWater:
    """The nonlinear shallow-water model of the module docstring on ``grid`` ("een" scheme)."""
    return ShallowWater(grid, g=g, H=H, nonlinear=True, scheme="een", viscosity=viscosity)


def wall_taper(grid: Grid, width: float) -> torch.Tensor:
    """``w(x) w(y)`` at the cell centres ``(ny, nx)``, ``w = (1 - cos(pi min(d / width, 1))) / 2``
    with ``d`` [m] the distance to the nearer wall: 0 on the walls (with a zero normal
    derivative), 1 farther than ``width`` [m] from them."""
    xc, yc = grid.coords("center")
    ramp = lambda c, L: 0.5 * (1 - torch.cos(math.pi * torch.clamp(torch.minimum(c, L - c) / width, max=1.0)))  # noqa: E731
    return ramp(yc, grid.Ly)[:, None] * ramp(xc, grid.Lx)[None, :]


def balanced_eddies(grid: Grid, amplitude: float, length: float, g: float, seed: int,
                    taper: Optional[float] = None) -> torch.Tensor:
    """Initial state ``(1, 3, ny, nx)``: random SSH [m] (Gaussian covariance, rms ``amplitude``,
    correlation length ``length`` [m]) times :func:`wall_taper` of width ``taper`` [m] (default
    ``3 length``), mean removed, and its geostrophic velocities on the C-grid faces
    (``u = -(g/f) d eta/dy``, ``v = (g/f) d eta/dx``, walls masked).

    Why the taper: geostrophic flow cannot cross a wall, so SSH varying along a wall is out of
    balance there; untapered, the adjustment radiates inertia-gravity waves that fill the closed
    basin and never leave (measured: 30 % of the kinetic energy ageostrophic after 6 hours at
    ``amplitude`` 5 cm, against 2.5 % on a periodic domain)."""
    gen = torch.Generator().manual_seed(seed)
    white = torch.randn(grid.ny, grid.nx, generator=gen, dtype=torch.float64)
    eta = GaussianCovariance(grid, amplitude, length, "center")(white)
    eta = eta * wall_taper(grid, 3.0 * length if taper is None else check_positive("taper", taper))
    eta = eta - eta.mean()
    u, v = geostrophic_velocities(eta, grid, g=g, at="uv")
    return torch.stack((eta, u * grid.mask("u"), v * grid.mask("v")))[None]


def shallow_water_twin(
    size: str = "demo",
    n: Optional[int] = None,
    dx: Optional[float] = None,
    days: Optional[float] = None,
    seed: int = 0,
    spinup_days: float = 10.0,
    frame_s: float = DAY,
    amplitude: Optional[float] = None,
    length: float = 3.0e4,
    H: float = 1.0,
    g: float = 9.81,
    f0: float = 1.0e-4,
    beta: float = 1.6e-11,
    viscosity: Optional[float] = None,
    start: str = "2020-01-01",
) -> xr.Dataset:
    """Truth (a) of the module docstring: ``ssh`` [m], ``u``, ``v`` [m/s] on ``(time, y, x)``.

    Args:
        size: preset of :data:`SIZES` (``"demo"``: 64 x 64 cells of 10 km, 30 days;
            ``"benchmark"``: 128 x 128 cells of 10 km, 60 days); ``n``, ``dx``, ``days`` override it.
        n: cells per side of the square basin; dx: cell size [m]; days: length of the saved record
            [days] (``days * 86400 / frame_s`` frames, the first one at ``start``).
        seed: the random initial SSH (the run is deterministic for a seed).
        spinup_days: [days] integrated before the first frame (adjustment, module docstring).
        frame_s: frame spacing [s]. amplitude: rms initial SSH [m] (default: the preset's, 0.1 m for
            ``"demo"``, 0.12 m for ``"benchmark"``: at 0.1 m its 60-day record has Ro = 0.099). length:
            its correlation length [m].
        H: equivalent depth [m]; g [m/s^2]; f0 [1/s], beta [1/(m s)]: the beta-plane (f = f0 at y = Ly/2).
        viscosity: Laplacian viscosity [m^2/s]; default ``50 (dx / 10 km)^2`` (module docstring).
        start: ISO date of the first frame.
    Returns the Dataset (attributes: grid, settings ``twin_*`` and the diagnostics
    ``twin_rossby_number``, ``twin_rossby_number_max``, ``twin_ageostrophic_ke_share``,
    ``twin_mass_relative_drift``, ``twin_dt_s``).
    """
    size = check_choice("size", size, tuple(SIZES))
    preset = SIZES[size]
    n = check_int("n", preset["n"] if n is None else n, minimum=8)
    dx = check_positive("dx", preset["dx"] if dx is None else dx)
    days = check_positive("days", preset["days"] if days is None else days)
    amplitude = check_positive("amplitude", preset["amplitude"] if amplitude is None else amplitude)
    seed = check_int("seed", seed)
    frame_s = check_positive("frame_s", frame_s)
    if not (isinstance(spinup_days, (int, float)) and math.isfinite(spinup_days) and spinup_days >= 0):
        raise ValueError(f"spinup_days must be a number >= 0, got {spinup_days!r}")
    for name, val in (("length", length), ("H", H), ("g", g), ("f0", f0)):
        check_positive(name, val)
    n_frames = int(round(days * DAY / frame_s))
    if n_frames < 2:
        raise ValueError(f"days ({days:g}) must hold at least 2 frames of frame_s = {frame_s:g} s")
    nu = 50.0 * (dx / 1e4) ** 2 if viscosity is None else check_positive("viscosity", viscosity)
    grid = Grid(n, n, dx=dx, dy=dx, boundary="closed", f0=f0, beta=beta)
    model = twin_model(grid, g=g, H=H, viscosity=nu)
    state = balanced_eddies(grid, amplitude, length, g, seed)
    # RK4 at 0.8 of its CFL limit (gravity waves + advection of the initial state): the step that
    # divides frame_s into a whole number of steps
    per_frame = int(math.ceil(frame_s / (0.8 * model.dt_max(state, "rk4"))))
    dt = frame_s / per_frame
    n_spin = int(round(spinup_days * DAY / dt))
    with torch.no_grad():
        if n_spin:
            state = integrate_fixed(model, state, dt, n_spin, save_every=n_spin, method="rk4")[1][-1]
        model.check_dt(dt, state, "rk4")  # the spun-up flow still satisfies the CFL condition
        _, traj = integrate_fixed(model, state, dt, per_frame * (n_frames - 1), save_every=per_frame, method="rk4")
    traj = traj[:, 0]  # (T, 3, ny, nx)
    eta, uf, vf = traj.unbind(1)
    u, v = faces_to_centres(uf * grid.mask("u"), vf * grid.mask("v"), grid)
    zeta = op.vorticity(uf, vf, grid)[:, 1:, 1:]  # interior corners (the wall ones are 0)
    mass = model.mass(traj)
    xc, yc = (a.numpy() for a in grid.coords("center"))
    times = np.datetime64(start, "ns") + (frame_s * 1e9 * np.arange(n_frames)).astype("timedelta64[ns]")
    data = {}
    for name, field, key in (("ssh", eta, "ssh"), ("u", u, "u"), ("v", v, "v")):
        attrs = dict(variable_attrs(key)["attrs"])
        if key != "ssh":
            attrs["long_name"] = f"total (geostrophic + ageostrophic) {attrs['long_name']} at cell centres"
        data[name] = (("time", "y", "x"), field.numpy(), attrs)
    ds = xr.Dataset(
        data,
        coords={"time": ("time", times, {"standard_name": "time"}),
                "y": ("y", yc, {"units": "m", "axis": "Y", "long_name": "y of cell centres"}),
                "x": ("x", xc, {"units": "m", "axis": "X", "long_name": "x of cell centres"})},
    )
    settings = {"size": size, "n": n, "dx_m": dx, "days": days, "seed": seed, "spinup_days": float(spinup_days),
                "frame_s": frame_s, "amplitude_m": amplitude, "length_m": length, "H_m": H, "g": g,
                "viscosity_m2_per_s": nu, "dt_s": dt, "scheme": "een",
                "deformation_radius_m": math.sqrt(g * H) / f0}
    ds.attrs.update({
        "Conventions": "CF-1.10", "source": "hybridocean",
        "title": "nonlinear shallow-water beta-plane twin (hybridocean.estimation.twins)",
        **grid_attrs(grid), "ssh_variable": "ssh",
        **{f"twin_{k}": v for k, v in settings.items()},
        "twin_rossby_number": float(zeta.pow(2).mean().sqrt() / f0),
        "twin_rossby_number_max": float(zeta.abs().max() / f0),
        "twin_mass_relative_drift": float((mass - mass[0]).abs().max() / (eta[0].abs().sum() * grid.cell_area)),
    })
    ds.attrs["twin_ageostrophic_ke_share"] = twin_diagnostics(ds)["ageostrophic_ke_share"]
    return ds


def twin_grid(truth: xr.Dataset) -> Grid:
    """The closed x/y :class:`Grid` of a truth written by :func:`shallow_water_twin` (its
    coordinates and :func:`hybridocean.io.grid_attrs` attributes)."""
    from hybridocean.observations import grid_from_dataset

    if not isinstance(truth, xr.Dataset):
        raise TypeError(f"truth must be an xarray.Dataset, got {type(truth).__name__}")
    return grid_from_dataset(truth)


def twin_diagnostics(truth: xr.Dataset, g: float = 9.81) -> Dict[str, Any]:
    """Ageostrophy of a truth Dataset (``ssh``, ``u``, ``v`` on ``(time, y, x)``):

    ``ageostrophic_ke_share = sum |u - u_g|^2 / sum |u|^2`` (all frames and cells), ``u_g`` the
    geostrophic velocity of ``ssh`` as the scoring computes it
    (:func:`hybridocean.estimation.evaluation.truth_currents`, second order, gravity ``g``);
    ``tau_uv_ceiling = 100 (1 - share)`` [%], the score of the geostrophic currents of the exact
    SSH; ``speed_rms`` [m/s]. Raises ``ValueError`` naming ``truth`` if a variable is missing.
    """
    missing = [k for k in ("ssh", "u", "v") if k not in getattr(truth, "data_vars", {})]
    if missing:
        raise ValueError(f"truth: needs variables ssh, u, v on (time, y, x); missing {missing}")
    grid = twin_grid(truth)
    ug, vg = truth_currents(truth["ssh"], grid, g=g)
    u, v = truth["u"].values, truth["v"].values
    ke = float((u**2 + v**2).sum())
    share = float(((u - ug.values) ** 2 + (v - vg.values) ** 2).sum()) / ke
    return {"ageostrophic_ke_share": share, "tau_uv_ceiling": 100.0 * (1.0 - share),
            "speed_rms": math.sqrt(ke / u.size)}


__all__ = ["shallow_water_twin", "twin_model", "balanced_eddies", "wall_taper", "twin_diagnostics", "twin_grid", "SIZES"]
