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
# # 04 — Learning the hidden state
#
# Altimeters measure the sea-surface height (SSH) along their tracks; the currents are hidden.
# To know how well a method recovers them we need a **twin experiment**: an ocean simulated by
# the library (the *truth*), observed the way the satellites would observe it, and mapped by
# estimators that never see anything but those observations. Only the scoring opens the truth.
#
# 1. **Truth** — nonlinear shallow water on a closed beta-plane basin
#    (`hybridocean.estimation.twins.shallow_water_twin`): random balanced eddies spun up until
#    they are dynamically consistent. Its currents are *not* exactly geostrophic: the model's
#    own `u, v` include the ageostrophic part (cyclogeostrophy, inertia-gravity waves).
# 2. **Observations** — SWOT's KaRIn swaths (with the KaRIn noise table) and nadir altimeters
#    (`hybridocean.observations.Constellation`); SARAL's track is held out for model selection.
# 3. **Estimators**, from the observed SSH only:
#    * optimal interpolation (OI), the data challenges' baseline, with geostrophic currents;
#    * **strong-constraint 4D-Var** (`hybridocean.estimation.fourdvar_windows.FourDVar`) with a
#      1.5-layer QG model — an *imperfect* model of this truth, as every ocean model is;
#    * the **learned estimator** (`hybridocean.estimation.learned.LearnedEstimator`, Ayed et al.
#      2019, "Learning dynamical systems from partial observations"): an encoder maps a window
#      of observations to the full shallow-water state `(eta, u, v)`, trained so that the
#      hybrid dynamics (shallow water + a small network, APHYNITY, Yin et al. 2021) forecast
#      the *observed* SSH. Its velocities are the state's, not geostrophy of its SSH.
# 4. **Scores** against the truth's own currents: `mu` (SSH), `lambda_x` (smallest resolved
#    wavelength), `tau_uv` (% of the current variance explained), vorticity score.
#
# The sizes are tiny so that the notebook runs in about a minute on two CPU cores (32 x 32
# cells of 10 km, 6 days, a dozen training iterations). The last cell says how to scale it up.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from hybridocean.estimation.evaluation import evaluate_estimate
from hybridocean.estimation.fourdvar_windows import FourDVar
from hybridocean.estimation.learned import LearnedEstimator, default_config
from hybridocean.estimation.oi import OptimalInterpolation
from hybridocean.estimation.twins import shallow_water_twin, twin_diagnostics, twin_grid, twin_model
from hybridocean.mission import QUICK, observe, superobs
from hybridocean.observations import to_gridded

torch.set_num_threads(1)
t_start = time.perf_counter()

# %% [markdown]
# ## 1. The truth (hidden from the estimators)
#
# 32 x 32 cells of 10 km, equivalent depth 1 m (`c = 3.1 m/s`, deformation radius 31 km at
# `f0 = 1e-4 1/s`), `beta = 1.6e-11 1/(m s)`, 2 days of spin-up, then 6 days of 6-hourly frames.
# The Rossby number `rms(zeta)/f0` and the ageostrophic share of the kinetic energy,
# `|u - u_g|^2 / |u|^2` with `u_g` the geostrophic currents of the true SSH, tell how far from
# geostrophy it is: `100 (1 - share)` is the best `tau_uv` that any SSH-only method can reach.

# %%
truth = shallow_water_twin(n=32, days=6, spinup_days=2, frame_s=6 * 3600.0, seed=0)
grid = twin_grid(truth)
diag = twin_diagnostics(truth)
ro = truth.attrs["twin_rossby_number"]
print(f"Rossby number {ro:.2f} (max |zeta|/f0 {truth.attrs['twin_rossby_number_max']:.2f}), "
      f"ageostrophic KE {100 * diag['ageostrophic_ke_share']:.1f} %, tau_uv ceiling {diag['tau_uv_ceiling']:.1f} %, "
      f"mass drift {truth.attrs['twin_mass_relative_drift']:.1e}")
assert 0.1 <= ro <= 0.3 and 0.01 < diag["ageostrophic_ke_share"] < 0.15
assert truth.attrs["twin_mass_relative_drift"] < 1e-12  # flux-form continuity: mass to round-off

# %% [markdown]
# ## 2. Observations — SSH only
#
# The basin is placed at 43.3 N (the latitude of its `f0`). SWOT's science orbit crosses it on
# the first days; Jason-3 and Sentinel-3A/B add lines. SARAL is held out.

# %%
train, held, notes = observe(truth, QUICK)
print(notes["karin_noise"], "|", len(train), "training points", train.platforms, "|", len(held), "held out")
times = truth["time"].values
daily = times[::4][1:-1]  # scored days: not the first and last (one-sided windows)
view = to_gridded(train, grid, times)  # what the learned estimator reads: binned SSH and a mask
print("gridded view variables:", sorted(view.data_vars))
assert "u" not in view and "v" not in view  # no velocity reaches an estimator
coverage = float(view["mask"].mean())
print(f"{100 * coverage:.1f} % of the (cell, 6-h frame) pairs observed")

# %% [markdown]
# ## 3a. Optimal interpolation (baseline)
#
# Space-time Gaussian covariance, `L = 50 km`, `Lt = 3 days`, on 20 km super-observations (the
# KaRIn pixels averaged per 6-hour bin), 1 cm noise. Currents: geostrophy of the OI map.

# %%
sob = superobs(train, grid, times)
t0 = time.perf_counter()
oi = OptimalInterpolation(Lx=5e4, Ly=5e4, Lt=3 * 86400.0, noise_std=0.01, signal_std=0.1).estimate(sob, grid, daily)
oi_s = time.perf_counter() - t0

# %% [markdown]
# ## 3b. 4D-Var with a QG model
#
# One 4-day window from the OI map of its first day as background; the control is the initial
# QG potential vorticity (`Ld = 31 km`, the truth's deformation radius), minimised by L-BFGS so
# that the QG trajectory fits the super-observations. The QG model has no gravity waves and
# no ageostrophic velocity: its currents are geostrophic.

# %%
t0 = time.perf_counter()
fdv = FourDVar("qg", model_kwargs={"Ld": 3.13e4}, window=4 * 86400.0, dt=3600.0, stepping="ab3",
               sigma_b=0.05, length_b=5e4, obs_error=0.01, max_iter=15,
               background=oi["ssh"].values[0])
var4d = fdv.estimate(sob, grid, daily)
fdv_s = time.perf_counter() - t0

# %% [markdown]
# ## 3c. The learned estimator, trained on the observations only
#
# The encoder reads 12 frames (3 days, half of them after the state time: long enough to carry
# SWOT's swaths across the days between its passes) on top of a normalised-convolution first
# guess (`prior_sigmas`, in cells) that it corrects; the hybrid shallow-water dynamics forecast
# 2 frames (10 RK4 steps each); 12 iterations; the model kept is the one with the lowest misfit
# to the held-out SARAL track.

# %%
model = twin_model(grid, g=9.81, H=1.0, viscosity=truth.attrs["twin_viscosity_m2_per_s"])
learned_est = LearnedEstimator(model, window=12, lookahead=6, horizon=2, hidden=8, layers=1, seed=0,
                               prior_sigmas=[1.5, 3.0, 6.0])
cfg = default_config(6 * 3600.0, steps_per_frame=10, iterations=12, validate_every=6, progress=False, batch_size=4)
t0 = time.perf_counter()
learned_est.fit(view, grid, times, val_obs=held, config=cfg)
learn_s = time.perf_counter() - t0
t_obs = train.ds["time"].values
inside = times[(times >= t_obs.min()) & (times <= t_obs.max())]
learned = learned_est.estimate(train, grid, inside).sel(time=daily)
print("held-out misfit during training:", [round(x, 3) for x in learned_est.history.val_mse])

# %% [markdown]
# ## 4. Scores against the truth

# %%
rows = {}
for name, est, secs in (("OI", oi, oi_s), ("4D-Var (QG)", var4d, fdv_s), ("learned (SW hybrid)", learned, learn_s)):
    s = evaluate_estimate(est, truth, truth_currents_from="file").scores
    iso = s["psd_isotropic"]
    rows[name] = {"mu": s["ssh"]["mu"], "lambda_x_km": iso.get("lambda_x_km", float("nan")),
                  "tau_uv": s["currents"]["tau_uv"], "tau_vort": s["currents"]["tau_vorticity"], "s": secs}
print(f"{'method':<22}{'mu':>7}{'lambda_x km':>13}{'tau_uv %':>10}{'tau_vort %':>12}{'time s':>8}")
for name, r in rows.items():
    lam = r["lambda_x_km"]
    print(f"{name:<22}{r['mu']:>7.3f}{(f'{lam:.0f}' if lam and np.isfinite(lam) else 'n/a'):>13}"
          f"{r['tau_uv']:>10.1f}{r['tau_vort']:>12.1f}{r['s']:>8.1f}")
print(f"ceiling (geostrophy of the exact SSH): tau_uv = {diag['tau_uv_ceiling']:.1f} %")

# %% [markdown]
# What the numbers say (measured on this run, asserted below with margins): OI maps the SSH
# well where SWOT passed (`mu` = 0.65) and its geostrophic currents explain 83 % of the current
# variance. 4D-Var does better (`mu` = 0.80, `tau_uv` = 88 %) although its QG model is not the
# truth's: the dynamics carry each SWOT swath forward and backward in time, which a fixed
# space-time covariance cannot. The learned estimator, after only 12 iterations (~20 s), reaches
# `mu` = 0.57, `tau_uv` = 71 %: far above the zero estimate (`mu = 0`, `tau_uv = 0`), but
# below OI in this budget -- the notebook shows the pipeline, not the method's
# potential (see the last cell). None reaches the ceiling of 97 %, the geostrophy of the exact SSH.

# %%
for name, r in rows.items():
    assert np.isfinite(r["mu"]) and np.isfinite(r["tau_uv"]), name
    assert r["tau_uv"] < diag["tau_uv_ceiling"], name  # nothing beats the exact SSH's geostrophy here
assert rows["OI"]["mu"] > 0.55 and rows["OI"]["tau_uv"] > 75.0
assert rows["4D-Var (QG)"]["mu"] > rows["OI"]["mu"] and rows["4D-Var (QG)"]["tau_uv"] > rows["OI"]["tau_uv"]
assert rows["learned (SW hybrid)"]["mu"] > 0.4 and rows["learned (SW hybrid)"]["tau_uv"] > 55.0

# %% [markdown]
# ## Maps: speed and vorticity, true and estimated (the middle scored day)

# %%
def speed_and_vorticity(ds, k):
    u, v = ds["u"].values[k], ds["v"].values[k]
    zeta = np.gradient(v, grid.dx, axis=1) - np.gradient(u, grid.dy, axis=0)
    return np.hypot(u, v), zeta / grid.f0


k_t = int(np.searchsorted(times, daily[len(daily) // 2]))
k_e = len(daily) // 2
panels = [("truth", speed_and_vorticity(truth, k_t))] + [
    (name, speed_and_vorticity(ds, k_e)) for name, ds in (("OI", oi), ("4D-Var (QG)", var4d), ("learned", learned))]
fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), constrained_layout=True)
smax = float(panels[0][1][0].max())
zmax = float(np.abs(panels[0][1][1]).max())
for j, (name, (speed, zeta)) in enumerate(panels):
    a = axes[0, j].imshow(speed, origin="lower", vmin=0, vmax=smax, cmap="viridis")
    b = axes[1, j].imshow(zeta, origin="lower", vmin=-zmax, vmax=zmax, cmap="RdBu_r")
    axes[0, j].set_title(f"{name}: speed [m/s]")
    axes[1, j].set_title(f"{name}: vorticity / f0")
fig.colorbar(a, ax=axes[0, :], shrink=0.8)
fig.colorbar(b, ax=axes[1, :], shrink=0.8)
fig.savefig("04_speed_vorticity.png", dpi=80)
print(f"notebook run time so far: {time.perf_counter() - t_start:.0f} s")

# %% [markdown]
# ## Scaling it up
#
# * **Bigger, longer truth**: `shallow_water_twin(size="benchmark")` (128 x 128 cells, 60 days)
#   or `hybridocean demo` (48 x 48, 20 days, the whole pipeline with figures and `metrics.json`).
# * **Train longer**: the learned estimator's misfit is still falling after 12 iterations; a few
#   hundred (`default_config(..., iterations=300)`), a wider encoder (`hidden=32, layers=3`),
#   longer windows (`window=20` and more: 5 days of 6-hour frames, to bridge SWOT's 5-day gaps) and a GPU
#   (`--device cuda`) are where it starts to compete with OI (`scripts/tune_learned.py` measures
#   this on small twins).
# * **4D-Var**: more L-BFGS iterations, overlapping windows (`overlap=`), the shallow-water model
#   (`FourDVar("sw", ...)`, RK4 with `dt` below its CFL limit) to recover ageostrophic currents,
#   or the learned map as every window's background (`background_fn`).
# * **Honest selection**: here only the learned model's iteration is chosen on the held-out
#   track; the other settings above (OI `L = 50 km`, the 4D-Var `sigma_b`/`length_b`, the encoder's
#   sizes and `prior_sigmas`) are fixed values that were set by trying them on twins like this
#   one, i.e. with the truth in view. To compare methods fairly, choose them on the held-out
#   track instead, as `hybridocean demo` does for the OI length (`hybridocean.mission`), and never
#   on the truth.
