"""The physics checks of ``hybridocean demo --physics`` (the mission itself: :mod:`hybridocean.mission`).

Two physics runs, each written as CF netCDF + PNG figures, with a JSON summary:

1. **Geostrophic adjustment** (Rossby 1938) with :class:`physics.shallow_water.ShallowWater`:
   a Gaussian SSH bump released at rest on a periodic f-plane radiates inertia-gravity waves
   and relaxes to a geostrophically balanced eddy. Checks reported: mass and energy drift
   (the energy-conserving scheme, inviscid) and the geostrophic residual
   ``||(u, v) - (u_g, v_g)|| / ||(u_g, v_g)||`` of the adjusted state.
2. **Two-layer QG turbulence** with :class:`physics.qg.QG` in pyqg's default baroclinically
   unstable configuration (L = 1000 km, H = 500/2000 m, rd = 15 km, U1 = 2.5 cm/s, beta =
   1.5e-11 /m/s, bottom drag 5.787e-7 /s), Arakawa-Jacobian finite differences with
   biharmonic viscosity, AB3 with dt = 2 h, on 64 x 64: small random PV first decays (the
   grid-scale noise is damped), then the baroclinically unstable modes grow exponentially at
   the rate the discrete linear theory (:func:`two_layer_growth_rate`) predicts -- checked on
   the fastest mode's energy -- and (full run, 5 years) equilibrate into eddies. The quick run
   (``--quick``, 1 year) shows the decay and the exponential growth only: pyqg's default is
   weakly unstable (fastest amplitude e-folding ~190 days at 64 x 64), and coarser grids, whose
   grid-scale viscosity reaches the unstable scales (~140 km), do not grow at all.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Union

import numpy as np
import torch

import hybridocean
from physics.elliptic import solve_helmholtz
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater, gaussian_bump
from physics.stepping import integrate_fixed

from .io import save_json, states_to_dataset, write_netcdf
from .plots import plot_fields, plot_timeseries

DAY = 86400.0
YEAR = 365.0 * DAY


def balanced_ssh(eta0: torch.Tensor, grid: Grid, g: float, H: float) -> torch.Tensor:
    """SSH of the geostrophic state that linear f-plane adjustment of ``eta0`` (at rest) ends in.

    Linear PV ``q = zeta - f0 eta / H`` is conserved at every point, so the final balanced
    state (``zeta = g Lap(eta_b) / f0``) solves ``(Lap - 1/Ld^2) eta_b = -eta0 / Ld^2`` with
    ``Ld = sqrt(g H) / f0`` (Rossby 1938; Gill 1982, section 7.2). Periodic grid, exact discrete
    five-point inversion (the FFT is location-agnostic on a periodic grid).
    """
    Ld2 = g * H / grid.f0**2
    return solve_helmholtz(-eta0 / Ld2, grid, kappa2=1.0 / Ld2)


def run_adjustment(out: Path, device: torch.device, quick: bool) -> dict:
    """Shallow-water geostrophic adjustment; writes ``sw_adjustment.nc`` and two PNGs.

    Inertia-gravity waves keep circulating in the inviscid periodic domain, so the adjusted
    state is measured by its average over the last inertial period ``2 pi / f0``: its SSH is
    compared with the PV-inversion prediction :func:`balanced_ssh`, and its velocities with
    the geostrophic velocities of its SSH.
    """
    n = 32 if quick else 64
    grid = Grid(n, n, Lx=4.0e6, Ly=4.0e6, f0=1.0e-4, device=device)
    g, H = 9.81, 100.0  # Ld = sqrt(gH)/f0 = 313 km; amplitude/H = 2e-3: nearly linear
    model = ShallowWater(grid, g=g, H=H, nonlinear=True, scheme="energy").to(device)
    state = gaussian_bump(grid, amplitude=0.2, radius=3.0e5).to(device)
    days = 2.0 if quick else 6.0
    t_inertial = 2 * math.pi / grid.f0
    n_steps = int(math.ceil(days * DAY / (0.5 * model.dt_max(state))))
    dt = days * DAY / n_steps
    save_every = max(1, int(t_inertial / 24 / dt))
    t0 = time.perf_counter()
    with torch.no_grad():
        times, states = integrate_fixed(model, state, dt, n_steps, save_every=save_every, method="rk4")
    wall = time.perf_counter() - t0
    states = states[:, 0]  # (T, 3, ny, nx)
    mass = model.mass(states).cpu().numpy()
    energy = model.total_energy(states).cpu().numpy()
    enstrophy = model.potential_enstrophy(states).cpu().numpy()
    last = times >= times[-1] - t_inertial
    mean = states[last.to(states.device)].mean(dim=0)
    eta_b = balanced_ssh(states[0, 0], grid, g, H)
    ssh_err = float(torch.linalg.norm(mean[0] - eta_b) / torch.linalg.norm(eta_b))
    # periodic f-plane: the exact discrete balance of this model's C-grid (physics.geostrophy)
    ug, vg = geostrophic_velocities(mean[0], grid, g=g, method="exact")
    resid = float(torch.sqrt(((mean[1] - ug) ** 2).sum() + ((mean[2] - vg) ** 2).sum()) / torch.sqrt((ug**2).sum() + (vg**2).sum()))
    ds = states_to_dataset(states, times, grid, model.CHANNELS, {"model": "ShallowWater", "g": g, "H": H, "scheme": "energy"})
    ds["mass"] = ("time", mass, {"units": "m3", "long_name": "volume anomaly (sum eta dx dy)"})
    ds["energy"] = ("time", energy, {"units": "J", "long_name": "total energy"})
    ds["potential_enstrophy"] = ("time", enstrophy, {"long_name": "potential enstrophy"})
    ds["eta_balanced_theory"] = (("y", "x"), eta_b.cpu().numpy(), {"units": "m", "long_name": "SSH of the balanced state predicted by PV inversion"})
    write_netcdf(ds, out / "sw_adjustment.nc")
    plot_fields(ds, ["eta", "u", "v"], out / "sw_adjustment_fields.png", title="Geostrophic adjustment (shallow water)")
    plot_timeseries(times.numpy(), {"energy": energy, "potential enstrophy": enstrophy}, out / "sw_adjustment_conservation.png",
                    relative=True, title="Inviscid SW: energy and potential enstrophy")
    return {
        "grid": [n, n], "dt_s": dt, "steps": n_steps, "wall_s": round(wall, 2),
        "steps_per_s": round(n_steps / wall, 1),
        "mass_relative_drift": float(abs(mass[-1] - mass[0]) / abs(mass[0])),
        "energy_relative_drift": float(abs(energy[-1] - energy[0]) / abs(energy[0])),
        "balanced_ssh_error_vs_pv_inversion": ssh_err,
        "geostrophic_residual_of_mean_state": resid,
        "deformation_radius_km": math.sqrt(g * H) / grid.f0 / 1e3,
    }


def pyqg_two_layer(grid: Grid, nu4: float = 0.0, spectral: bool = False) -> QG:
    """pyqg's default two-layer model on ``grid`` (stretching from rd = 15 km, delta = 0.25)."""
    H1, delta, rd = 500.0, 0.25, 15.0e3
    F1 = rd**-2 / (1 + delta)
    f0 = grid.f0 or 1.0e-4
    return QG(grid, H=[H1, H1 / delta], g_prime=[f0**2 / (F1 * H1)], f0=f0, U=[0.025, 0.0],
              beta=1.5e-11, drag=5.787e-7, nu4=nu4, spectral=spectral)


def two_layer_growth_rate(model: QG) -> tuple:
    """Fastest exponential growth rate ``sigma`` [1/s] of the finite-difference two-layer model
    linearised about its uniform background flow, and its Fourier mode ``(m, l)`` (cycles per
    domain), over every mode of the periodic grid.

    For ``psi_i ~ exp(i (k x + l y) + lambda t)`` the semi-discrete model is
    ``lambda q = A psi`` with ``q = M psi``, ``M = [[-K2 - F1, F1], [F2, -K2 - F2]]`` and
    ``A = -i s diag(U) M - i s diag(Q_y) + diag(0, drag K2) + nu4 K2^3``, where
    ``s = sin(k dx)/dx`` (centred d/dx), ``K2 = (4/dx^2) sin^2(k dx/2) + (4/dy^2) sin^2(l dy/2)``
    (five-point Laplacian), ``F_i = f0^2 / (g' H_i)``, ``Q_y = beta - S U`` (Phillips 1954;
    Vallis 2017, section 9.3, with the discrete symbols). ``sigma = max Re eig(A M^-1)``; kinetic
    energy of that mode grows at ``2 sigma``.

    Only the model this describes is accepted (``ValueError`` naming ``model`` otherwise): a
    two-layer finite-difference QG (``spectral=False``: the pseudo-spectral path has exact
    wavenumbers, not these symbols) on a periodic grid (Cartesian: sphere grids are closed),
    without Laplacian viscosity (``nu`` is not in ``A``; ``drag`` and ``nu4`` are).
    """
    if not isinstance(model, QG):
        raise TypeError(f"model must be a physics.qg.QG, got {type(model).__name__}")
    g = model.grid
    if model.nlayers != 2 or not g.periodic:
        raise ValueError("model must be a two-layer QG on a periodic grid")
    if model.spectral:
        raise ValueError("model: spectral=True is not described (its symbols are the exact wavenumbers, not the "
                         "finite-difference ones of this linear theory); build the QG with spectral=False")
    if "nu" in model._active:
        raise ValueError("model: Laplacian viscosity nu is not in this linear theory (only drag and nu4); "
                         "build the QG with nu=0 (and nu not learnable)")
    S = model.S.detach().cpu().double().numpy()  # stretching matrix, (2, 2)
    U = model.U.detach().cpu().double().numpy().reshape(2)
    Qy = model._background_gradient().detach().cpu().double().numpy().reshape(2)
    drag = float(model.p("drag").detach()) if "drag" in model._active else 0.0
    nu4 = float(model.p("nu4").detach()) if "nu4" in model._active else 0.0
    best = (0.0, 0, 0)
    for m in range(1, g.nx // 2 + 1):
        for l in range(-(g.ny // 2) + 1, g.ny // 2 + 1):
            k, ky = 2 * math.pi * m / g.Lx, 2 * math.pi * l / g.Ly
            s = math.sin(k * g.dx) / g.dx
            K2 = 4 / g.dx**2 * math.sin(k * g.dx / 2) ** 2 + 4 / g.dy**2 * math.sin(ky * g.dy / 2) ** 2
            M = S - K2 * np.eye(2)
            A = -1j * s * np.diag(U) @ M - 1j * s * np.diag(Qy) + np.diag([0.0, drag * K2]) + nu4 * K2**3 * np.eye(2)
            sigma = float(np.linalg.eigvals(A @ np.linalg.inv(M)).real.max())
            if sigma > best[0]:
                best = (sigma, m, l)
    return best


def mode_kinetic_energy(model: QG, q: torch.Tensor, m: int, l: int) -> torch.Tensor:
    """Kinetic energy [m^2/s^2] of Fourier modes ``(m, l)`` and ``(-m, -l)`` of ``q (T, 2, ny, nx)``,
    ``(T,)``: ``sum_i (H_i/H) K2 (|psi^_{m,l}|^2 + |psi^_{-m,-l}|^2) / (2 (nx ny)^2)`` (Parseval,
    with the five-point ``K2``: summed over all modes it is :meth:`QG.kinetic_energy`)."""
    g = model.grid
    ph = torch.fft.fft2(model.streamfunction(q))
    K2 = 4 / g.dx**2 * math.sin(math.pi * m / g.nx) ** 2 + 4 / g.dy**2 * math.sin(math.pi * l / g.ny) ** 2
    e = ph[..., l % g.ny, m % g.nx].abs() ** 2 + ph[..., -l % g.ny, -m % g.nx].abs() ** 2
    w = torch.tensor(model.H, dtype=e.dtype, device=e.device) / sum(model.H)
    return (e * w).sum(-1) * K2 / (2 * (g.nx * g.ny) ** 2)


def run_qg(out: Path, device: torch.device, quick: bool) -> dict:
    """Two-layer QG baroclinic turbulence; writes ``qg_turbulence.nc`` and two PNGs.

    Reports the discrete linear theory's fastest growth rate and the growth rate measured on
    that mode's kinetic energy (a least-squares line through ``log KE_mode`` over days 90-365,
    after the initial transient and before nonlinear saturation)."""
    n = 64
    grid = Grid(n, n, Lx=1.0e6, Ly=1.0e6, f0=1.0e-4, beta=1.5e-11, device=device)
    # biharmonic viscosity damping the grid scale (k = pi/dx) on an e-folding time of ~1 day
    nu4 = 1.0 / (DAY * (math.pi / grid.dx) ** 4)
    model = pyqg_two_layer(grid, nu4=nu4).to(device)
    gen = torch.Generator().manual_seed(0)
    q0 = 1e-6 * torch.randn(1, 2, n, n, dtype=grid.dtype, generator=gen).to(device)
    q0 = q0 - q0.mean(dim=(-2, -1), keepdim=True)
    dt = 7200.0
    years = 1.0 if quick else 5.0
    n_steps = int(round(years * YEAR / dt))
    save_every = max(1, n_steps // 48)
    t0 = time.perf_counter()
    with torch.no_grad():
        times, states = integrate_fixed(model, q0, dt, n_steps, save_every=save_every, method="ab3")
    wall = time.perf_counter() - t0
    states = states[:, 0]
    ke = model.kinetic_energy(states).cpu().numpy()
    ape = model.available_potential_energy(states).cpu().numpy()
    sigma, m, l = two_layer_growth_rate(model)
    ke_mode = mode_kinetic_energy(model, states, m, l).cpu().numpy()
    days = times.numpy() / DAY
    window = (days >= 90) & (days <= 365)
    rate = float(np.polyfit(days[window], np.log(ke_mode[window]), 1)[0]) / DAY
    psi = model.streamfunction(states)
    full = torch.cat((states, psi), dim=1)
    channels = model.CHANNELS + tuple(f"psi{i + 1}" for i in range(model.nlayers))
    ds = states_to_dataset(full, times, grid, channels, {"model": "QG two-layer (pyqg default)", "nu4": nu4, "dt": dt})
    ds["kinetic_energy"] = ("time", ke, {"long_name": "kinetic energy (layer-weighted mean)", "units": "m2 s-2"})
    ds["available_potential_energy"] = ("time", ape, {"long_name": "available potential energy", "units": "m2 s-2"})
    ds["kinetic_energy_fastest_mode"] = ("time", ke_mode, {"units": "m2 s-2", "long_name":
                                         f"kinetic energy of the fastest-growing Fourier mode (m, l) = ({m}, {l})"})
    write_netcdf(ds, out / "qg_turbulence.nc")
    plot_fields(ds, ["q1", "q2", "psi1"], out / "qg_turbulence_fields.png", times=[len(times) - 1],
                title="Two-layer QG turbulence")
    i0 = int(np.argmax(window))
    theory = ke_mode[i0] * np.exp(2 * sigma * (times.numpy() - times.numpy()[i0]))
    series = {"KE": ke, "APE": ape, f"KE of mode ({m}, {l})": ke_mode,
              f"linear theory exp(2 sigma t), 1/sigma = {1 / sigma / DAY:.0f} d": np.where(theory <= 10 * ke.max(), theory, np.nan)}
    title = ("Baroclinic instability: noise decays, then exponential growth" if quick else
             "Baroclinic instability: exponential growth, then equilibration")
    plot_timeseries(times.numpy(), series, out / "qg_energy.png", ylabel="energy [m2 s-2]", title=title, logy=True)
    return {
        "grid": [n, n], "dt_s": dt, "steps": n_steps, "wall_s": round(wall, 2),
        "steps_per_s": round(n_steps / wall, 1), "years": years,
        "kinetic_energy_final": float(ke[-1]),
        # growth of the unstable modes: final KE over its minimum (after the grid-scale noise of
        # the initial state has been damped), and the spread of KE over the last 20% (saturation)
        "kinetic_energy_growth_from_minimum": float(ke[-1] / max(ke.min(), 1e-300)),
        "kinetic_energy_relative_spread_last_20pct": float(ke[-len(ke) // 5 :].std() / ke[-len(ke) // 5 :].mean()),
        "fastest_mode": [m, l],
        "linear_theory_ke_growth_rate_per_day": 2 * sigma * DAY,
        "fastest_mode_ke_growth_rate_per_day_days_90_365": rate * DAY,
    }


def run_physics_checks(out: Union[str, Path], device: Union[str, torch.device] = "cpu", quick: bool = False) -> dict:
    """Run both cases into folder ``out`` and write ``out/summary.json``; returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    summary = {
        "hybridocean": hybridocean.__version__, "torch": torch.__version__, "device": str(device),
        "threads": torch.get_num_threads(), "quick": quick,
        "shallow_water_adjustment": run_adjustment(out, device, quick),
        "qg_turbulence": run_qg(out, device, quick),
        "files": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) + ["summary.json"],
    }
    save_json(summary, out / "summary.json")
    return summary


__all__ = ["run_physics_checks", "run_adjustment", "run_qg", "pyqg_two_layer", "two_layer_growth_rate", "mode_kinetic_energy"]
