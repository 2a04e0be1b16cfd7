"""The built-in default case run by ``hybridocean demo`` (and ``make demo``).

Two physics runs, each written as CF netCDF + PNG figures, with a JSON summary:

1. **Geostrophic adjustment** (Rossby 1938) with :class:`physics.shallow_water.ShallowWater`:
   a Gaussian SSH bump released at rest on a periodic f-plane radiates inertia-gravity waves
   and relaxes to a geostrophically balanced eddy. Checks reported: mass and energy drift
   (the energy-conserving scheme, inviscid) and the geostrophic residual
   ``||(u, v) - (u_g, v_g)|| / ||(u_g, v_g)||`` of the adjusted state.
2. **Two-layer QG turbulence** with :class:`physics.qg.QG` in pyqg's default baroclinically
   unstable configuration (L = 1000 km, H = 500/2000 m, rd = 15 km, U1 = 2.5 cm/s, beta =
   1.5e-11 /m/s, bottom drag 5.787e-7 /s), Arakawa-Jacobian finite differences with
   biharmonic viscosity, AB3 with dt = 2 h: small random PV grows by baroclinic instability
   into eddies; energy time series and PV snapshots are written.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Union

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
    ug, vg = geostrophic_velocities(mean[0], grid, g=g)
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


def run_qg(out: Path, device: torch.device, quick: bool) -> dict:
    """Two-layer QG baroclinic turbulence; writes ``qg_turbulence.nc`` and two PNGs."""
    n = 32 if quick else 64
    grid = Grid(n, n, Lx=1.0e6, Ly=1.0e6, f0=1.0e-4, beta=1.5e-11, device=device)
    # biharmonic viscosity damping the grid scale (k = pi/dx) on an e-folding time of ~1 day
    nu4 = 1.0 / (DAY * (math.pi / grid.dx) ** 4)
    model = pyqg_two_layer(grid, nu4=nu4).to(device)
    gen = torch.Generator().manual_seed(0)
    q0 = 1e-6 * torch.randn(1, 2, n, n, dtype=grid.dtype, generator=gen).to(device)
    q0 = q0 - q0.mean(dim=(-2, -1), keepdim=True)
    dt = 7200.0
    years = 0.1 if quick else 5.0
    n_steps = int(round(years * YEAR / dt))
    save_every = max(1, n_steps // 48)
    t0 = time.perf_counter()
    with torch.no_grad():
        times, states = integrate_fixed(model, q0, dt, n_steps, save_every=save_every, method="ab3")
    wall = time.perf_counter() - t0
    states = states[:, 0]
    ke = model.kinetic_energy(states).cpu().numpy()
    ape = model.available_potential_energy(states).cpu().numpy()
    psi = model.streamfunction(states)
    full = torch.cat((states, psi), dim=1)
    channels = model.CHANNELS + tuple(f"psi{i + 1}" for i in range(model.nlayers))
    ds = states_to_dataset(full, times, grid, channels, {"model": "QG two-layer (pyqg default)", "nu4": nu4, "dt": dt})
    ds["kinetic_energy"] = ("time", ke, {"long_name": "kinetic energy (layer-weighted mean)", "units": "m2 s-2"})
    ds["available_potential_energy"] = ("time", ape, {"long_name": "available potential energy", "units": "m2 s-2"})
    write_netcdf(ds, out / "qg_turbulence.nc")
    plot_fields(ds, ["q1", "q2", "psi1"], out / "qg_turbulence_fields.png", times=[len(times) - 1],
                title="Two-layer QG turbulence")
    plot_timeseries(times.numpy(), {"KE": ke, "APE": ape}, out / "qg_energy.png", ylabel="energy [m2 s-2]",
                    title="Baroclinic instability: exponential growth, then saturation", logy=True)
    return {
        "grid": [n, n], "dt_s": dt, "steps": n_steps, "wall_s": round(wall, 2),
        "steps_per_s": round(n_steps / wall, 1), "years": years,
        "kinetic_energy_final": float(ke[-1]),
        # growth of the unstable modes: final KE over its minimum (after the grid-scale noise of
        # the initial state has been damped), and the spread of KE over the last 20% (saturation)
        "kinetic_energy_growth_from_minimum": float(ke[-1] / max(ke.min(), 1e-300)),
        "kinetic_energy_relative_spread_last_20pct": float(ke[-len(ke) // 5 :].std() / ke[-len(ke) // 5 :].mean()),
    }


def run_demo(out: Union[str, Path], device: Union[str, torch.device] = "cpu", quick: bool = False) -> dict:
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


__all__ = ["run_demo", "run_adjustment", "run_qg", "pyqg_two_layer"]
