# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Physics you can trust
#
# Before a neural network is put next to a physical model, the model itself has to be right.
# This notebook builds the two ocean models of `physics/` and checks them against physics,
# not against themselves:
#
# 1. a `Grid` (Arakawa C-grid, SI units);
# 2. a **shallow-water geostrophic adjustment** (Rossby 1938): mass to round-off, the adjusted
#    SSH against the PV-inversion prediction, velocities against geostrophy;
# 3. **conservation laws to round-off**: the semi-discrete rate of change of mass, energy and
#    potential enstrophy, `dI/dt = grad I . F(X)`, computed with autograd;
# 4. the **Poincaré dispersion relation** read off the eigenvalues of the model's own Jacobian;
# 5. a **two-layer QG baroclinic-instability spin-up**, with the growth rate of discrete linear
#    theory;
# 6. the **agreement with pyqg-jax**, an independent pseudo-spectral QG code;
# 7. the plots people want to see: SSH, vorticity, energy time series, spectra.
#
# Every claim is an `assert` with its tolerance explained, so this notebook is also a test
# (`tests/test_tutorials.py` runs it). The configuration is small (about a minute on two CPU
# cores); `SCALE = 2` doubles every resolution (and the run time by ~8) for nicer pictures.
#
# Figures are written as PNG files into the current folder and shown inline.

# %%
import math
import time

import numpy as np
import torch
from IPython.display import Image, display

import physics.operators as op
from hybridocean.demo import balanced_ssh, mode_kinetic_energy, two_layer_growth_rate
from hybridocean.plots import plot_timeseries, savefig
from physics.diagnostics import diagnostics
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.qg import QG
from physics.shallow_water import ShallowWater, gaussian_bump
from physics.stepping import integrate_fixed

import matplotlib.pyplot as plt  # after hybridocean.plots, which selects the file-only Agg backend

SCALE = 1  # 2, 4: finer grids everywhere (run time ~ SCALE^3)
# These grids are small: one thread is as fast as several, and it does not collapse when the
# machine is shared (OpenMP threads spinning against each other). Raise it with SCALE.
torch.set_num_threads(1)
DAY = 86400.0
T_START = time.perf_counter()


def show(fig, name: str) -> None:
    """Save ``fig`` as ``name`` (PNG, atomically, in the current folder) and display it."""
    fig.tight_layout()
    display(Image(filename=str(savefig(fig, name))))


# %% [markdown]
# ## 1. A grid
#
# `Grid(nx, ny, Lx=..., Ly=...)` is a doubly periodic f-plane here (`boundary="closed"` for a
# basin, `beta=` for a beta-plane, `Grid.from_lonlat` for altimetry maps). On the C-grid the SSH
# `eta` lives at cell centres, `u` on the west faces, `v` on the south faces and vorticity /
# streamfunction / QG PV at the south-west corners (`physics/grid.py` defines this once).

# %%
n = 32 * SCALE
grid = Grid(n, n, Lx=4.0e6, Ly=4.0e6, f0=1.0e-4)
print(grid)
print("dx = %.1f km, f0 = %.1e 1/s" % (grid.dx / 1e3, grid.f0))
for loc in ("center", "u", "v", "corner"):
    x, y = grid.coords(loc)
    print(f"{loc:>6}: first point at x = {float(x[0]) / 1e3:6.1f} km, y = {float(y[0]) / 1e3:6.1f} km")

# %% [markdown]
# ## 2. Geostrophic adjustment in the shallow-water model
#
# A Gaussian SSH bump released at rest on an f-plane radiates inertia-gravity waves and leaves
# behind a geostrophically balanced anticyclone whose size is set by the deformation radius
# `Ld = sqrt(g H) / f0` (Rossby 1938; Gill 1982, section 7.2). Linear PV `zeta - f0 eta / H` is
# conserved at every point, so the balanced SSH is known in advance: it solves
# `(Lap - 1/Ld^2) eta_b = -eta_0 / Ld^2` (`hybridocean.demo.balanced_ssh`).

# %%
g, H = 9.81, 100.0  # Ld = 313 km; amplitude / H = 2e-3: nearly linear
sw = ShallowWater(grid, g=g, H=H, nonlinear=True, scheme="energy")
state0 = gaussian_bump(grid, amplitude=0.2, radius=3.0e5)  # (1, 3, ny, nx): eta, u, v
print(sw, "channels", sw.CHANNELS, "state", tuple(state0.shape))

t_inertial = 2 * math.pi / grid.f0
days = 2.0
n_steps = int(math.ceil(days * DAY / (0.5 * sw.dt_max(state0))))  # RK4 at half its CFL limit
dt = days * DAY / n_steps
save_every = max(1, int(t_inertial / 24 / dt))
with torch.no_grad():
    times, states = integrate_fixed(sw, state0, dt, n_steps, save_every=save_every, method="rk4")
states = states[:, 0]  # (T, 3, ny, nx)
print(f"{n_steps} RK4 steps of {dt:.0f} s, {len(times)} saved states")

# %% [markdown]
# The diagnostics every model carries (`physics.diagnostics.diagnostics` finds them): mass
# `sum eta dx dy` changes only by a telescoping sum of fluxes, so it is conserved to round-off
# by *any* time stepper; the energy-conserving (Sadourny) scheme conserves energy in space,
# and RK4 adds a time-truncation drift that falls like `dt^4`.

# %%
diag = {k: v.numpy() for k, v in diagnostics(sw, states).items()}
print("diagnostics:", ", ".join(diag))
# (kinetic energy starts at 0 -- the bump is released at rest -- so only the invariants' drift)
drift = {k: abs(diag[k][-1] - diag[k][0]) / abs(diag[k][0]) for k in ("mass", "total_energy", "potential_enstrophy")}
for k, d in drift.items():
    print(f"{k:>20}: relative change over {days:g} days = {d:.2e}")
# Mass: ~n_steps * 4 stages * eps relative (measured ~1e-15): 1e-12 leaves a wide margin.
assert drift["mass"] < 1e-12
# Energy: RK4 truncation at dt_max/2 (measured ~1e-4 on 32^2 over 2 days; see
# tests/hybridocean/test_demo.py); a non-conserving scheme or a too-long step gives O(1e-2).
assert drift["total_energy"] < 1e-3

plot_timeseries(times.numpy(), {"energy": diag["total_energy"], "potential enstrophy": diag["potential_enstrophy"],
                                "mass": diag["mass"]},
                "sw_conservation.png", relative=True, title="Inviscid shallow water: relative drift")
display(Image(filename="sw_conservation.png"))

# %% [markdown]
# The adjusted state: average over the last inertial period (the inertia-gravity waves keep
# sloshing around the inviscid periodic domain), compare its SSH with the PV-inversion
# prediction and its velocities with the geostrophic velocities of its own SSH
# (`geostrophic_velocities(..., method="exact")`: the exact discrete balance of this C-grid).

# %%
last = times >= times[-1] - t_inertial
mean = states[last].mean(dim=0)
eta_b = balanced_ssh(states[0, 0], grid, g, H)
ssh_err = float(torch.linalg.norm(mean[0] - eta_b) / torch.linalg.norm(eta_b))
ug, vg = geostrophic_velocities(mean[0], grid, g=g, method="exact")
resid = float(torch.sqrt(((mean[1] - ug) ** 2).sum() + ((mean[2] - vg) ** 2).sum())
              / torch.sqrt((ug**2).sum() + (vg**2).sum()))
zeta = op.vorticity(mean[1], mean[2], grid)  # at corners [1/s]
print(f"SSH vs PV inversion: {ssh_err:.3f} relative;  geostrophic residual of the velocities: {resid:.3f}")
print(f"vorticity at the centre: {float(zeta[n // 2, n // 2]) / grid.f0:+.2e} f0 (f > 0, high SSH: anticyclone)")
# The residual waves make both numbers O(0.1) after two days (demo: 0.074 for the SSH); an
# unbalanced end state (no rotation, a sign error in f or g) would give O(1).
assert ssh_err < 0.15 and resid < 0.5
assert float(zeta[n // 2, n // 2]) < 0

# %%
xc, yc = (c.numpy() / 1e3 for c in grid.coords("center"))
xq, yq = (c.numpy() / 1e3 for c in grid.coords("corner"))
fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
panels = [(xc, yc, states[0, 0], "initial SSH [m]"), (xc, yc, mean[0], "adjusted SSH (last inertial period) [m]"),
          (xc, yc, eta_b, "PV-inversion prediction [m]"), (xq, yq, zeta / grid.f0, "relative vorticity / f0")]
for ax, (x, y, f, title) in zip(axes, panels):
    vmax = float(f.abs().max())
    im = ax.pcolormesh(x, y, f.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto")
    q = slice(1, None, max(1, n // 10))
    if "adjusted" in title:  # velocities at the centres; the longest arrow spans 3 cells
        uc, vc = op.avg_forward(mean[1], grid, "x").numpy(), op.avg_forward(mean[2], grid, "y").numpy()
        speed = float(np.hypot(uc, vc).max())
        ax.quiver(xc[q], yc[q], uc[q, q], vc[q, q], color="k", angles="xy", scale_units="xy",
                  scale=speed / (3 * grid.dx / 1e3))
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x [km]")
    fig.colorbar(im, ax=ax, shrink=0.8)
axes[0].set_ylabel("y [km]")
show(fig, "sw_adjustment.png")

# %% [markdown]
# ## 3. Conservation laws to round-off
#
# A spatial scheme conserves an invariant `I(X)` when `dI/dt = sum grad I(X) * F(X) = 0` for
# every state `X`. Autograd gives `grad I`, the model gives `F`, and the round-off scale of
# the sum is `sum |grad I * F|`. Ratios near `1e-16` mean "conserved"; `1e-6 .. 1` means the
# scheme does not conserve that quantity (the negative controls that show the check can fail).

# %%
def relative_rate(invariant, model, state: torch.Tensor) -> float:
    """``|dI/dt| / sum|terms|`` with ``dI/dt = sum_points grad I(X) * F(X)`` (chain rule)."""
    x = state.detach().clone().requires_grad_(True)
    (grad_i,) = torch.autograd.grad(invariant(x).sum(), x)
    with torch.no_grad():
        terms = grad_i * model(0.0, x)
    return float(terms.sum().abs() / terms.abs().sum())


# a strongly nonlinear state (Rossby number ~ 1) so that the non-conserved terms are not small
strong = states[-1:].clone()
strong[:, 0] *= 200.0
strong[:, 1:] *= 200.0
expected = {"energy": ("mass", "total_energy"), "enstrophy": ("mass", "potential_enstrophy"), "een": ("mass", "total_energy")}
print(f"{'scheme':>10} {'mass':>10} {'energy':>10} {'pot. enstrophy':>15}")
for scheme, conserved in expected.items():
    m = ShallowWater(grid, g=g, H=H, nonlinear=True, scheme=scheme)
    r = {k: relative_rate(getattr(m, k), m, strong) for k in ("mass", "total_energy", "potential_enstrophy")}
    print(f"{scheme:>10} {r['mass']:10.1e} {r['total_energy']:10.1e} {r['potential_enstrophy']:15.1e}")
    # round-off: each term exact to ~10 eps, 3 n^2 terms with random signs: far below 1e-12
    # (the tolerance of tests/physics/test_shallow_water.py); a non-conserved invariant is > 1e-8.
    for k, v in r.items():
        assert (v < 1e-12) if k in conserved else (v > 1e-8), (scheme, k, v)

# %% [markdown]
# ## 4. The Poincaré dispersion relation from the model's Jacobian
#
# Linearised about rest, the shallow-water model is `dX/dt = A X`. Its Jacobian `A` (autograd
# through the model, no hand-written linearisation) has eigenvalues `i omega`: zero for the
# steady geostrophic modes, `+-omega` for inertia-gravity (Poincaré) waves. On the C-grid with
# four-point Coriolis averaging the Fourier symbol of `(eta, u, v)` is
# `[[0, -iHa, -iHb], [-iga, 0, f c], [-igb, -f c, 0]]` with `a = 2 sin(k dx/2)/dx`,
# `b = 2 sin(l dy/2)/dy`, `c = cos(k dx/2) cos(l dy/2)`, so
#
# `omega^2 = f0^2 c^2 + g H (a^2 + b^2)`,
#
# which tends to the continuous `omega^2 = f0^2 + g H (k^2 + l^2)` (Gill 1982, section 7.3) as
# `k dx -> 0`.

# %%
small = Grid(12, 12, dx=100e3, dy=100e3, f0=1e-4)
lin = ShallowWater(small, g=g, H=H, nonlinear=False)
rest = torch.zeros(1, 3, 12, 12, dtype=torch.float64)
A = torch.autograd.functional.jacobian(lambda s: lin(0.0, s), rest).reshape(rest.numel(), rest.numel())
lam = np.linalg.eigvals(A.numpy())

k = 2 * np.pi * np.fft.fftfreq(small.nx, d=small.dx)
K, L = np.meshgrid(k, 2 * np.pi * np.fft.fftfreq(small.ny, d=small.dy))
a, b = 2 * np.sin(K * small.dx / 2) / small.dx, 2 * np.sin(L * small.dy / 2) / small.dy
c = np.cos(K * small.dx / 2) * np.cos(L * small.dy / 2)
omega = np.sqrt(small.f0**2 * c**2 + g * H * (a**2 + b**2)).ravel()
predicted = np.sort(np.concatenate((omega, -omega, np.zeros_like(omega))))
scale = np.abs(predicted).max()
err = np.abs(np.sort(lam.imag) - predicted).max() / scale
print(f"{A.shape[0]} eigenvalues; max |Re| / max|omega| = {np.abs(lam.real).max() / scale:.1e}; "
      f"max |Im - discrete Poincare| / max|omega| = {err:.1e}")
# eigenvalues of a (diagonally similar to) skew-symmetric matrix: perturbed by ~n eps ||A||
# (n = 432): 1e-10 leaves margin, far below the O((k dx)^2) difference to the continuous relation.
assert np.abs(lam.real).max() < 1e-10 * scale and err < 1e-10

# %%
Kmag = np.sqrt(K**2 + L**2).ravel()
Ld = math.sqrt(g * H) / small.f0
kk = np.linspace(0, Kmag.max() * 1.02, 200)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(kk * Ld, np.sqrt(small.f0**2 + g * H * kk**2) / small.f0, "k-", label="continuous")
axes[0].plot(Kmag * Ld, omega / small.f0, "o", mfc="none", label="discrete relation (C-grid)")
axes[0].set_xlabel("|K| Ld")
axes[0].set_ylabel("omega / f0")
axes[0].legend()
axes[0].set_title("Poincare waves on the C-grid")
axes[1].plot(predicted / small.f0, np.sort(lam.imag) / small.f0, ".", ms=4)
axes[1].plot([-scale / small.f0, scale / small.f0], [-scale / small.f0, scale / small.f0], "k-", lw=0.5)
axes[1].set_xlabel("discrete Poincare relation, omega / f0")
axes[1].set_ylabel("eigenvalues of the Jacobian, Im / f0")
axes[1].set_title(f"all {lam.size} eigenvalues (max error {err:.0e})")
show(fig, "poincare.png")

# %% [markdown]
# ## 5. Baroclinic instability in a two-layer QG model
#
# `QG(grid, H=[H1, H2], g_prime=[g'], U=[U1, U2], beta=...)`: PV anomaly `q` per layer at the
# corners, Arakawa Jacobian, biharmonic viscosity at the grid scale, bottom drag. The
# configuration is pyqg's default two-layer set-up (H = 500 / 2000 m, rd = 15 km,
# beta = 1.5e-11 /m/s, drag 5.787e-7 /s) with a **stronger shear U1 = 0.2 m/s** (pyqg: 0.025)
# so that the instability grows in days instead of months. Small random PV grows at the rate
# that the discrete linear theory predicts (`hybridocean.demo.two_layer_growth_rate`: Phillips
# 1954 with the finite-difference symbols) until, after two months, the eddies reach finite
# amplitude (Rossby number ~ 0.5).
#
# To scale up: this 60-day run is the spin-up only; the equilibrated turbulence needs a longer
# run with a shorter step at this shear (`qdays = 365`, `qdt = 1800.0`: at `qdt = 7200` AB3
# becomes unstable around day 120 once the eddy velocities reach ~1 m/s), or pyqg's own
# `U1 = 0.025` (`hybridocean.demo.pyqg_two_layer`; `hybridocean demo --physics` runs it for 5 years on
# 64 x 64). `SCALE = 2` gives 80 x 80.

# %%
nq = 40 * SCALE
qgrid = Grid(nq, nq, Lx=1.0e6, Ly=1.0e6, f0=1.0e-4, beta=1.5e-11)
H1, H2, rd = 500.0, 2000.0, 15.0e3
F1 = rd**-2 / (1 + H1 / H2)  # pyqg: F1 = rd^-2 / (1 + delta)
nu4 = 1.0 / (DAY * (math.pi / qgrid.dx) ** 4)  # damps the grid scale k = pi/dx in ~1 day
qg = QG(qgrid, H=[H1, H2], g_prime=[qgrid.f0**2 / (F1 * H1)], U=[0.2, 0.0], beta=1.5e-11,
        drag=5.787e-7, nu4=nu4)
sigma, m_fast, l_fast = two_layer_growth_rate(qg)
print(qg)
print(f"fastest mode (m, l) = ({m_fast}, {l_fast}), wavelength {qgrid.Lx / m_fast / 1e3:.0f} km; "
      f"amplitude e-folding {1 / sigma / DAY:.1f} days")

gen = torch.Generator().manual_seed(0)
q0 = 1e-7 * torch.randn(1, 2, nq, nq, dtype=torch.float64, generator=gen)
q0 = q0 - q0.mean(dim=(-2, -1), keepdim=True)
qdays, qdt = 60.0, 7200.0
q_steps = int(round(qdays * DAY / qdt))
t0 = time.perf_counter()
with torch.no_grad():
    qtimes, qstates = integrate_fixed(qg, q0, qdt, q_steps, save_every=12, method="ab3")
qstates = qstates[:, 0]
print(f"{q_steps} AB3 steps in {time.perf_counter() - t0:.1f} s")

# %%
ke = qg.kinetic_energy(qstates).numpy()
ape = qg.available_potential_energy(qstates).numpy()
ke_mode = mode_kinetic_energy(qg, qstates, m_fast, l_fast).numpy()
tdays = qtimes.numpy() / DAY
# growth window: after the grid-scale noise has decayed, before saturation (KE < 1% of its max)
window = (tdays >= 10) & (ke < 1e-2 * ke.max())
rate = np.polyfit(qtimes.numpy()[window], np.log(ke_mode[window]), 1)[0]
print(f"KE growth rate of mode ({m_fast}, {l_fast}): measured {rate * DAY:.3f} /day, "
      f"linear theory 2 sigma = {2 * sigma * DAY:.3f} /day over days {tdays[window][0]:.0f}-{tdays[window][-1]:.0f}")
# A linear mode grows at exactly 2 sigma; the measured slope also carries the other, slower
# unstable modes that project on it and the start of nonlinear transfer: 15% (a wrong shear,
# beta or stretching changes the rate by O(1)).
assert abs(rate / (2 * sigma) - 1) < 0.15
assert ke[-1] > 1e4 * ke[window][0]  # the instability really took the flow to finite amplitude

i0 = int(np.argmax(window))
theory = ke_mode[i0] * np.exp(2 * sigma * (qtimes.numpy() - qtimes.numpy()[i0]))
plot_timeseries(qtimes.numpy(), {"KE": ke, "APE": ape, f"KE of mode ({m_fast}, {l_fast})": ke_mode,
                                 "linear theory": np.where(theory < 3 * ke.max(), theory, np.nan)},
                "qg_energy.png", ylabel="energy [m2 s-2]", logy=True,
                title="Baroclinic instability: exponential growth to finite amplitude")
display(Image(filename="qg_energy.png"))

# %% [markdown]
# Energy and enstrophy of the QG discretisation, to round-off (Arakawa 1966): without drag,
# viscosity and background flow the energy tendency `-sum H_i psi_i dq_i/dt` vanishes
# (`QG.energy_tendency` returns it with its round-off scale), and on an f-plane so does the
# enstrophy tendency `sum H_i q_i dq_i/dt`. Evaluated on the turbulent state just produced.

# %%
inviscid = QG(qgrid, H=[H1, H2], g_prime=[qgrid.f0**2 / (F1 * H1)], beta=1.5e-11)
f_plane = QG(qgrid, H=[H1, H2], g_prime=[qgrid.f0**2 / (F1 * H1)], beta=0.0)
q_end = qstates[-1:]
dE, scale_E = inviscid.energy_tendency(q_end)
terms_Z = f_plane(0.0, q_end) * q_end * torch.tensor([H1, H2], dtype=torch.float64).view(1, 2, 1, 1)
rel_E, rel_Z = float(dE.abs() / scale_E), float(terms_Z.sum().abs() / terms_Z.abs().sum())
dE_full, scale_full = qg.energy_tendency(q_end)
print(f"inviscid energy: {rel_E:.1e};  f-plane enstrophy: {rel_Z:.1e};  "
      f"with drag + viscosity + shear (not conserved): {float(dE_full / scale_full):+.1e}")
# the tolerance of tests/physics/test_qg.py (~500 eps of accumulation)
assert rel_E < 1e-13 and rel_Z < 1e-13

# %% [markdown]
# SSH of the upper layer (`eta = f0 psi_1 / g`), its relative vorticity `Lap psi_1 / f0`, and the
# isotropic kinetic-energy spectrum `E(K) = sum_{|K| in bin} K^2 |psi_K|^2 / 2` at a few times:
# the energy first appears at the unstable scales (wavelength ~ 2 pi sqrt(2) rd ~ 130 km), then
# spreads to larger scales (inverse cascade).

# %%
psi = qg.streamfunction(qstates)  # (T, 2, ny, nx) [m^2/s] at corners
ssh = qgrid.f0 * psi[-1, 0] / g
vort = op.laplacian(psi[-1, 0], qgrid) / qgrid.f0
xq, yq = (c.numpy() / 1e3 for c in qgrid.coords("corner"))
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
for ax, f, title in ((axes[0], ssh, f"upper-layer SSH [m], day {tdays[-1]:.0f}"),
                     (axes[1], vort, "relative vorticity / f0")):
    vmax = float(f.abs().max())
    im = ax.pcolormesh(xq, yq, f.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x [km]")
    fig.colorbar(im, ax=ax, shrink=0.8)

kx = 2 * np.pi * np.fft.fftfreq(nq, d=qgrid.dx)
Kq = np.sqrt(kx[None, :] ** 2 + kx[:, None] ** 2)
dk = 2 * np.pi / qgrid.Lx
bins = np.arange(0.5, nq // 2) * dk
for i in np.unique(np.linspace(len(tdays) // 3, len(tdays) - 1, 4).astype(int)):
    ph = np.fft.fft2(psi[i, 0].numpy()) / nq**2
    e = 0.5 * Kq**2 * np.abs(ph) ** 2
    spec = np.histogram(Kq.ravel(), bins=bins, weights=e.ravel())[0] / dk
    axes[2].loglog(0.5 * (bins[1:] + bins[:-1]) / (2 * np.pi) * 1e3, spec, label=f"day {tdays[i]:.0f}")
axes[2].axvline(1e3 / (2 * np.pi * math.sqrt(2) * rd), color="k", ls=":", lw=1, label="1 / (2 pi sqrt(2) rd)")
axes[2].set_xlabel("wavenumber [cycles / km]")
axes[2].set_ylabel("upper-layer KE spectrum [m3 s-2]")
axes[2].legend(fontsize=8)
show(fig, "qg_fields_spectra.png")

# %% [markdown]
# ## 6. Agreement with pyqg-jax
#
# `QG(..., spectral=True)` runs the same pseudo-spectral algorithm as pyqg (Abernathey et al.,
# github.com/pyqg/pyqg; here its JAX port pyqg-jax). For a band-limited PV field (no product
# reaches the Nyquist wavenumber, so the codes' Nyquist conventions do not matter) the two
# tendencies agree to round-off; the finite-difference model differs by its O(dx^2)
# truncation error.

# %%
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import pyqg_jax  # noqa: E402

npq, Lp, delta, U1 = 32, 1.0e6, 0.25, 0.025
pm = pyqg_jax.qg_model.QGModel(nx=npq, L=Lp, rek=5.787e-7, beta=1.5e-11, rd=rd, delta=delta, H1=H1, U1=U1,
                               U2=0.0, precision=pyqg_jax.state.Precision.DOUBLE)
pgrid = Grid(npq, npq, Lx=Lp, Ly=Lp, f0=1e-4, beta=1.5e-11)
F1p = rd**-2 / (1 + delta)
kw = dict(H=[H1, H1 / delta], g_prime=[1e-8 / (F1p * H1)], U=[U1, 0.0], drag=5.787e-7)
ours_spectral, ours_fd = QG(pgrid, spectral=True, **kw), QG(pgrid, **kw)

rng = np.random.default_rng(1)
kmax = npq // 6
kk_ = np.abs(np.fft.fftfreq(npq) * npq)[:, None]
mm_ = np.arange(npq // 2 + 1)[None, :]
sel = (kk_ <= kmax) & (mm_ <= kmax) & ((kk_ + mm_) > 0)
qh = np.zeros((2, npq, npq // 2 + 1), complex)
qh[:, sel] = rng.standard_normal((2, sel.sum())) + 1j * rng.standard_normal((2, sel.sum()))
qb = np.fft.irfft2(qh, s=(npq, npq))
qb = 1e-6 * qb / np.abs(qb).max()


@jax.jit
def pyqg_tendency(qj):
    full = pm.get_full_state(pm.create_initial_state(jax.random.key(0)).update(q=qj))
    return jnp.fft.irfft2(full.dqhdt, s=qj.shape[-2:])


ref = np.asarray(pyqg_tendency(jnp.asarray(qb)))
qt = torch.tensor(qb)[None]
err_spectral = np.abs(ours_spectral(0.0, qt)[0].numpy() - ref).max() / np.abs(ref).max()
err_fd = np.abs(ours_fd(0.0, qt)[0].numpy() - ref).max() / np.abs(ref).max()
print(f"max |dq/dt - pyqg-jax| / max|dq/dt|: spectral {err_spectral:.1e}, finite differences {err_fd:.1e}")
# same algorithm: round-off (FFT error ~ log n eps; measured ~1e-15); the FD model's leading
# error is (k_max dx)^2 / 3 ~ 10% relative at k_max = nx/6 cycles per domain.
assert err_spectral < 1e-12
assert 1e-4 < err_fd < (2 * math.pi * kmax / npq) ** 2 / 3

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
ours_dq = ours_spectral(0.0, qt)[0, 0].numpy()
for ax, f, title in ((axes[0], ref[0], "pyqg-jax dq1/dt [1/s2]"), (axes[1], ours_dq, "hybridocean dq1/dt [1/s2]"),
                     (axes[2], ours_dq - ref[0], "difference")):
    vmax = np.abs(f).max()
    im = ax.imshow(f, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
show(fig, "pyqg_jax_tendency.png")

# %%
# wall time depends on how busy the machine is; the process CPU time much less
print(f"notebook run time: {time.perf_counter() - T_START:.0f} s wall, {time.process_time():.0f} s CPU")
