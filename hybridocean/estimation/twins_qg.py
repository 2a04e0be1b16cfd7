"""Twin truth (b) of the estimation benchmark: two-layer QG turbulence with a jet, seen in a regional box.

The truth is simulated on a larger doubly periodic two-layer QG domain (:class:`physics.qg.QG`,
finite differences, Arakawa Jacobian, AB3) and a regional ``n_box x n_box`` box is cut out of it,
so the box's boundaries are open from the estimator's point of view: eddies and the jet's
meanders enter and leave it.

Model (``n_domain x n_domain`` cells of ``dx`` [m], default 128 x 128 cells of 5 km)::

    dq_i/dt + J(psi_i, q_i) + beta dpsi_i/dx = -delta_{i2} r Lap psi_2 + nu4 Lap^2 ... (QG docstring)
    q_1 = Lap psi_1 + F_1 (psi_2 - psi_1),   q_2 = Lap psi_2 + F_2 (psi_1 - psi_2)

with ``H = (H1, H2) = (500, 2000)`` m (pyqg's default ratio ``delta = H1/H2 = 0.25``), the interface
reduced gravity ``g'`` set by the first baroclinic deformation radius ``Ld`` (``F_1 = Ld^-2 / (1 +
delta)``, the convention of pyqg's ``QGModel``: Abernathey et al., pyqg, doi:10.5281/zenodo.50569),
``f0 = 1e-4 1/s``, ``beta = 1.6e-11 1/(m s)`` (mid-latitude values), bottom drag ``r`` = 1/(20 days)
and a biharmonic ``nu4`` damping the grid scale ``k = pi/dx`` in one day.

Initial state: a pair of opposite zonal Gaussian jets in the upper layer (so that ``psi`` is
periodic), ``u_1(y) = U0 [exp(-(y - Ly/4)^2 / (2 w^2)) - exp(-(y - 3Ly/4)^2 / (2 w^2))]``, the lower
layer at rest -- vertically sheared, hence baroclinically (and barotropically) unstable (Phillips
1954, Tellus 6, 273-286) -- plus a small random PV perturbation (seeded). After ``spinup_days`` the
jets meander and shed eddies; frames are then saved every ``frame_s`` seconds. The box is centred
on the eastward jet, so the jet crosses it.

SSH is the surface layer's ``eta = f0 psi_1 / g`` (:func:`physics.qg_state.qg_state_to_ssh`), the
true currents the upper layer's geostrophic ``u = -dpsi_1/dy``, ``v = dpsi_1/dx`` averaged from the
C-grid faces to the cell centres (:func:`~hybridocean.estimation.fourdvar_models.faces_to_centres`).
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np
import torch
import xarray as xr

from physics._checks import check_int, check_positive
from physics.grid import Grid
from physics.operators import velocity_from_psi
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh
from physics.stepping import integrate_fixed

from .fourdvar_models import faces_to_centres

DAY = 86400.0
G = 9.81


def two_layer_jet_model(grid: Grid, Ld: float = 2.5e4, f0: float = 1e-4, beta: float = 1.6e-11) -> QG:
    """The two-layer QG model of the module docstring on ``grid`` (``H = (500, 2000)`` m,
    ``F_1 = Ld^-2 / (1 + delta)``, drag 1/(20 days), ``nu4 = 1 / (1 day (pi/dx)^4)`` [m^4/s])."""
    check_positive("Ld", Ld)
    H1, delta = 500.0, 0.25
    F1 = Ld**-2 / (1 + delta)
    nu4 = 1.0 / (DAY * (math.pi / grid.dx) ** 4)
    return QG(grid, H=[H1, H1 / delta], g_prime=[f0**2 / (F1 * H1)], f0=f0, beta=beta,
              drag=1.0 / (20 * DAY), nu4=nu4)


def qg_jet_twin(
    n_box: int = 64,
    n_domain: int = 128,
    dx: float = 5e3,
    n_frames: int = 60,
    frame_s: float = DAY,
    spinup_days: float = 30.0,
    U0: float = 0.5,
    width: float = 3e4,
    Ld: float = 2.5e4,
    dt: float = 900.0,
    seed: int = 0,
    start: str = "2020-01-01",
) -> xr.Dataset:
    """The truth (b) of the module docstring: ``ssh`` [m], ``u``, ``v`` [m/s] on ``(time, y, x)``.

    Args:
        n_box: cells per side of the regional box cut out (centred on the eastward jet).
        n_domain: cells per side of the periodic simulation domain (``>= n_box``).
        dx: grid spacing [m]; n_frames: saved frames; frame_s: their spacing [s] (a whole number of ``dt``).
        spinup_days: [days] of simulation before the first frame.
        U0: [m/s] upper-layer jet speed; width: [m] Gaussian half-width ``w`` of the jets.
        Ld: [m] first deformation radius; dt: [s] AB3 step (CFL: ``U0 dt / dx`` ~0.1 by default).
        seed: the random perturbation; start: ISO date of the first frame.
    Returns a Dataset with x/y coordinates [m] of the box (origin at its corner), datetime64 times,
    and the box grid in the attributes (``grid_boundary="closed"``, ``f0_per_s``,
    ``beta_per_m_per_s``, ``dx_m``): the estimators see a closed x/y box.
    """
    n_box, n_domain = check_int("n_box", n_box, minimum=8), check_int("n_domain", n_domain, minimum=8)
    if n_box > n_domain:
        raise ValueError(f"n_box must be <= n_domain = {n_domain}, got {n_box}")
    n_frames = check_int("n_frames", n_frames, minimum=1)
    for name, v in (("dx", dx), ("frame_s", frame_s), ("U0", U0), ("width", width), ("dt", dt)):
        check_positive(name, v)
    if spinup_days < 0:
        raise ValueError(f"spinup_days must be >= 0, got {spinup_days!r}")
    per_frame = int(round(frame_s / dt))
    if per_frame < 1 or abs(per_frame * dt - frame_s) > 1e-6 * dt:
        raise ValueError(f"frame_s ({frame_s:g} s) must be a whole number of dt = {dt:g} s")
    grid = Grid(n_domain, n_domain, dx=dx, dy=dx, boundary="periodic", f0=1e-4, beta=1.6e-11)
    model = two_layer_jet_model(grid, Ld=Ld)
    # upper-layer streamfunction of the jet pair at the corners: psi = -int u dy
    y = (torch.arange(n_domain, dtype=torch.float64)) * dx
    Ly = n_domain * dx
    u1 = U0 * (torch.exp(-(y - Ly / 4) ** 2 / (2 * width**2)) - torch.exp(-(y - 3 * Ly / 4) ** 2 / (2 * width**2)))
    psi1 = -torch.cumsum(u1, 0) * dx
    psi1 = psi1 - psi1.mean()
    psi = torch.zeros(1, 2, n_domain, n_domain, dtype=torch.float64)
    psi[0, 0] = psi1[:, None].expand(n_domain, n_domain)
    gen = torch.Generator().manual_seed(seed)
    q = model.laplacian(psi) + torch.einsum("ij,bjyx->biyx", model.stretching().to(psi), psi)
    noise = torch.randn(1, 2, n_domain, n_domain, generator=gen, dtype=torch.float64)
    q = q + 0.05 * q[:, 0].abs().max() * (noise - noise.mean(dim=(-2, -1), keepdim=True))
    n_spin = int(round(spinup_days * DAY / dt))
    with torch.no_grad():
        if n_spin:
            q = integrate_fixed(model, q, dt, n_spin, save_every=n_spin, method="ab3")[1][-1]
        _, traj = integrate_fixed(model, q, dt, per_frame * (n_frames - 1), save_every=per_frame, method="ab3")
        traj = traj[:, 0]  # (T, 2, n, n)
        ssh = qg_state_to_ssh(traj, model, loc="center")
        uf, vf = velocity_from_psi(model.streamfunction(traj)[:, 0], grid)
        u, v = faces_to_centres(uf, vf, grid)
    j0 = n_domain // 4 - n_box // 2  # the eastward jet at y = Ly/4 crosses the box
    i0 = (n_domain - n_box) // 2
    cut = lambda f: f.roll((-j0, -i0), dims=(1, 2))[:, :n_box, :n_box]  # noqa: E731 (periodic: j0 may be < 0)
    fields = {k: cut(f).numpy() for k, f in (("ssh", ssh), ("u", u), ("v", v))}
    box = Grid(n_box, n_box, dx=dx, dy=dx, boundary="closed", f0=1e-4, beta=1.6e-11)
    xc, yc = (c.numpy() for c in box.coords("center"))
    times = np.datetime64(start, "ns") + (frame_s * 1e9 * np.arange(n_frames)).astype("timedelta64[ns]")
    units = {"ssh": ("m", "sea_surface_height_above_geoid"), "u": ("m s-1", "surface_geostrophic_eastward_sea_water_velocity"),
             "v": ("m s-1", "surface_geostrophic_northward_sea_water_velocity")}
    ds = xr.Dataset(
        {k: (("time", "y", "x"), f, {"units": units[k][0], "standard_name": units[k][1]}) for k, f in fields.items()},
        coords={"time": times, "y": ("y", yc, {"units": "m"}), "x": ("x", xc, {"units": "m"})},
        attrs=twin_attrs(box, n_domain=n_domain, dx=dx, frame_s=frame_s, spinup_days=spinup_days, U0=U0,
                         width=width, Ld=Ld, dt=dt, seed=seed, box_origin_cells=[j0, i0]),
    )
    return ds


def twin_attrs(box: Grid, **kw) -> Dict[str, object]:
    """Global attributes of a twin truth: the box grid (read back by
    :func:`hybridocean.observations.grid_from_dataset`) and the generator's settings."""
    attrs: Dict[str, object] = {"grid_boundary": box.boundary, "f0_per_s": box.f0, "beta_per_m_per_s": box.beta,
                                "dx_m": box.dx, "dy_m": box.dy, "ssh_variable": "ssh",
                                "title": "two-layer QG jet turbulence twin (hybridocean.estimation.twins_qg)"}
    attrs.update({f"twin_{k}": (list(v) if isinstance(v, (list, tuple)) else v) for k, v in kw.items()})
    return attrs


def box_grid(truth: xr.Dataset, f0: Optional[float] = None, beta: Optional[float] = None) -> Grid:
    """The closed x/y :class:`Grid` of a twin truth written by :func:`qg_jet_twin` (its attributes)."""
    x, y = truth["x"].values, truth["y"].values
    return Grid(x.size, y.size, dx=float(x[1] - x[0]), dy=float(y[1] - y[0]), boundary="closed",
                f0=float(truth.attrs.get("f0_per_s", 1e-4) if f0 is None else f0),
                beta=float(truth.attrs.get("beta_per_m_per_s", 0.0) if beta is None else beta))


__all__ = ["qg_jet_twin", "two_layer_jet_model", "box_grid", "twin_attrs"]
