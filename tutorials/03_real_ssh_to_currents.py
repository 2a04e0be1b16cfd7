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
# # 03 — From real SSH to currents
#
# Satellite altimeters see the sea-surface height (SSH) only along their ground tracks: a line
# for a nadir altimeter (Jason-3, Sentinel-3A/B, SARAL), two 50 km wide strips for SWOT's KaRIn
# interferometer. The currents are hidden: at first order they are in geostrophic balance with
# the SSH gradient,
#
# `f u = -g dη/dy`,  `f v = g dη/dx`   (`f = 2 Ω sin(lat)` [1/s], `g = 9.81 m/s²`),
#
# and the cyclogeostrophic balance adds the centripetal term `u·∇u` of curved flows. This
# notebook takes a **real** DUACS near-real-time map of absolute dynamic topography (`adt`, m)
# over the Kuroshio Extension (150–160 E, 32–42 N, 2019-02-23, 0.25°) and
#
# 1. checks our geostrophy against the product's own `ugos`/`vgos`;
# 2. samples the map along a real SWOT pass (the AVISO science-orbit ephemeris) and three days
#    of four nadir altimeters (`hybridocean.observations.Constellation`);
# 3. maps the tracks back with two baselines — geostrophy of the binned tracks (harmonic fill)
#    and optimal interpolation (OI) — and derives geostrophic and cyclogeostrophic currents;
# 4. scores them with the ocean data-challenge metrics (`mu`, PSD `lambda_x`, `tau_uv`);
# 5. opens a real SWOT L3 KaRIn file when the shared data folder is there.
#
# Data: `../shared/data` next to the repository when present, otherwise the small cropped copies
# in `tests/data/` (the same values: the crop is the notebook's box, unchanged), so the notebook
# runs for anyone who clones the repository. About 15 s on two CPU cores.

# %%
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from IPython.display import Image, display

import hybridocean
from hybridocean.estimation import Cyclogeostrophic, Geostrophic, OptimalInterpolation
from hybridocean.metrics import current_scores, map_scores, psd_isotropic_score, tau_uv
from hybridocean.observations import (Constellation, Observations, from_gridded, grid_from_dataset, read_l4,
                                      read_swot_l3, to_gridded)
from hybridocean.plots import savefig

import matplotlib.pyplot as plt  # after hybridocean.plots, which selects the file-only Agg backend

torch.set_num_threads(1)
T_START = time.perf_counter()

# The notebook runs in any folder: find the repository through the installed package.
REPO = Path(hybridocean.__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TESTS = REPO / "tests" / "data"
BOX = (150.0, 160.0, 32.0, 42.0)  # lon0, lon1, lat0, lat1 [degrees]: Kuroshio Extension, open ocean


def pick(shared_rel: str, crop: str) -> Path:
    """The shared real file when the shared data folder is there, else the repository's crop."""
    p = SHARED / shared_rel
    return p if p.exists() else TESTS / crop


NRT = pick("duacs_nrt_l4_global/nrt_global_allsat_phy_l4_20190223_20190226.nc",
           "duacs_nrt_l4_20190223_kuroshio_crop.nc")
EPHEMERIS = pick("swot_orbit/ephemeris_science_sept2015_ell.txt", "swot_science_ephemeris_first4h.txt")
KARIN = pick("swot_orbit/karin_noise_v2.nc", "karin_noise_v2.nc")
print("data:", NRT, EPHEMERIS, KARIN, sep="\n  ")


def show(fig, name: str) -> None:
    """Save ``fig`` as ``name`` (PNG, atomically, in the current folder) and display it."""
    fig.tight_layout()
    display(Image(filename=str(savefig(fig, name))))


# %% [markdown]
# ## 1. The real map and its own currents
#
# `read_l4` crops to the box, decodes the packed integers and keeps `adt`, `ugos`, `vgos`.
# `Geostrophic` applied to the full map (order-2 centred differences on the sphere) should give
# back the product's `ugos`/`vgos`: DUACS derives them from the same `adt` with its own stencil,
# so the vector score `tau_uv = 100 (1 - ||u_est - u||² / ||u||²)` (the challenge's current score)
# must be close to 100. We require > 98: the two finite-difference stencils need not be the same
# (the CMEMS product manual describes a wider stencil than our order-2 centred one), which may cost
# ~1 % of the energy at 0.25° (we measure 99.2).

# %%
truth = read_l4(str(NRT), bbox=BOX, variables=["adt", "ugos", "vgos"])
grid = grid_from_dataset(truth)
times = truth["time"].values
print(dict(truth.sizes), "land/NaN cells:", int(np.isnan(truth["adt"]).sum()))
assert truth.sizes["latitude"] == 40 and truth.sizes["longitude"] == 40
assert not np.isnan(truth["adt"]).any(), "the box must be open ocean"

geo_full = Geostrophic().estimate(truth["adt"], grid, times)
tau_full = tau_uv(geo_full["u"], geo_full["v"], truth["ugos"], truth["vgos"])
print(f"geostrophy of the map vs the product's ugos/vgos: tau_uv = {tau_full:.2f}")
assert tau_full > 98.0

# %% [markdown]
# Cyclogeostrophy corrects the geostrophic speed of curved flows by the centripetal
# acceleration; its size is the Rossby number `Ro = U / (f L)`. At 0.25° the DUACS map smooths
# the eddies (L ~ 100 km, U ~ 1 m/s, f ~ 9e-5 /s → Ro ~ 0.1), so the correction is a few percent
# of the energy: the cyclogeostrophic currents agree with geostrophy to `tau_uv` > 97 (at most 3 %
# of the energy changed, ~Ro²-to-Ro) yet are not identical to it.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("error")  # a solver that does not converge would warn: make it fail here
    cyc_full = Cyclogeostrophic().estimate(truth["adt"], grid, times)
tau_cg = tau_uv(cyc_full["u"], cyc_full["v"], geo_full["u"], geo_full["v"])
du = float(np.abs(cyc_full["u"] - geo_full["u"]).max())
speed = float(np.hypot(geo_full["u"], geo_full["v"]).max())
print(f"cyclogeostrophic vs geostrophic: tau_uv = {tau_cg:.2f}, max |du| = {du:.3f} m/s (max speed {speed:.2f} m/s)")
print(f"cyclogeostrophic vs product: tau_uv = {tau_uv(cyc_full['u'], cyc_full['v'], truth['ugos'], truth['vgos']):.2f}")
assert tau_cg > 97.0
assert du > 0.01  # a real correction, > 1 cm/s somewhere in a 1.4 m/s jet

# %%
fig, ax = plt.subplots(1, 3, figsize=(13, 4))
lon, lat = truth["longitude"].values, truth["latitude"].values
im = ax[0].pcolormesh(lon, lat, truth["adt"][0], cmap="RdYlBu_r")
fig.colorbar(im, ax=ax[0], label="adt [m]")
sl = (slice(None, None, 2), slice(None, None, 2))
ax[0].quiver(lon[sl[1]], lat[sl[0]], truth["ugos"][0].values[sl], truth["vgos"][0].values[sl], scale=20)
ax[0].set_title("DUACS NRT adt + its ugos/vgos")
im = ax[1].pcolormesh(lon, lat, np.hypot(geo_full["u"][0], geo_full["v"][0]), cmap="viridis")
fig.colorbar(im, ax=ax[1], label="m/s")
ax[1].set_title(f"|u| ours (geostrophy), tau_uv={tau_full:.1f}")
im = ax[2].pcolormesh(lon, lat, np.hypot(cyc_full["u"][0], cyc_full["v"][0]) - np.hypot(geo_full["u"][0], geo_full["v"][0]),
                      cmap="RdBu_r", vmin=-0.1, vmax=0.1)
fig.colorbar(im, ax=ax[2], label="m/s")
ax[2].set_title("cyclogeostrophic - geostrophic speed")
show(fig, "03_map_and_currents.png")

# %% [markdown]
# ## 2. Sampling the real map along real tracks
#
# `Constellation(platforms, start, days, ...)` flies the satellites over the window and samples
# the map (bilinear; a single map stands for the whole window). SWOT follows the first 4 hours of
# the AVISO science-orbit ephemeris — its descending pass crosses the box near 155 E — with the
# KaRIn noise table at SWH = 2 m; the four nadir altimeters fly their generated repeat orbits for
# 3 days centred on the map date with 2 cm white noise (the 1 Hz noise of a Poseidon-class
# altimeter at SWH 2 m, Tran et al. 2002). The 2 km KaRIn pixels are far denser than the 0.25°
# grid: like DUACS, we first reduce them to one super-observation per grid cell and hour
# (`to_gridded` then `from_gridded`).

# %%
DAYS = 3.0
swot = Constellation("swot", times[0], 4.0 / 24.0, ephemeris={"swot": str(EPHEMERIS)},
                     karin_noise=str(KARIN), swh_m=2.0).sample(truth[["adt"]], seed=0)
nadirs = Constellation("jason3,sentinel3a,sentinel3b,saral", times[0] - np.timedelta64(36, "h"), DAYS,
                       nadir_noise_std=0.02).sample(truth[["adt"]], seed=1)
karin = swot.subset(swot.platform == "swot_karin")
mid = karin.time.min() + (karin.time.max() - karin.time.min()) / 2
superobs = from_gridded(to_gridded(karin, grid, np.array([mid]), window=3600.0), platform="swot_karin_superobs")
obs = Observations.concat([superobs, swot.subset(swot.platform != "swot_karin"), nadirs])
counts = {p: int((obs.platform == p).sum()) for p in obs.platforms}
print(f"KaRIn pixels {len(karin)} -> {len(superobs)} super-observations; all: {counts}")
assert len(karin) > 10_000 and len(superobs) > 100  # the pass crosses the box (4 h real ephemeris)
assert all(n > 100 for p, n in counts.items() if p != "sentinel3b")

# %% [markdown]
# ## 3. Mapping and currents, scored
#
# * **binned geostrophy** (`Geostrophic(window=3 days)`): the observations averaged per cell,
#   the empty cells filled harmonically (`∇²η = 0`), then geostrophy;
# * **OI** (`OptimalInterpolation`, the challenge defaults: Gaussian covariance, Lx = Ly = 1°,
#   Lt = 7 days, noise 0.05 m; prior mean = the mean of the observations, since `adt` has a
#   ~0.5 m mean level), then geostrophy and cyclogeostrophy of the OI map;
# * **OI without SWOT**, to see what the swath adds.
#
# Scores against the real map: `mu = 1 - RMSE / RMS(truth)` (the challenge's map score; on ADT
# the mean level inflates RMS(truth), so we also print `mu'` with the truth's mean removed), the
# isotropic PSD score's `lambda_x` (the smallest wavelength resolved with a PSD score of 0.5),
# and `tau_uv` / `tau_vorticity` against the product's `ugos`/`vgos`.

# %%
def score(name, ds):
    """The challenge scores of the estimate ``ds`` against the real map and its currents."""
    ssh = ds[ds.attrs["ssh_variable"]]
    ms = map_scores(ssh, truth["adt"])
    mean = float(truth["adt"].mean())
    ms_anom = map_scores(ssh - mean, truth["adt"] - mean)
    iso = psd_isotropic_score(ssh, truth["adt"])
    cs = current_scores(ds["u"], ds["v"], truth["ugos"], truth["vgos"])
    row = {"mu": ms.mu, "mu_anom": ms_anom.mu, "rmse": ms.rmse, "lambda_x_km": iso.lambda_x_km, **cs}
    lam = "inf" if row["lambda_x_km"] is None else f"{row['lambda_x_km']:.0f}"
    print(f"{name:26s} mu={row['mu']:.3f} mu'={row['mu_anom']:.3f} rmse={row['rmse']:.3f} m "
          f"lambda_x={lam} km tau_uv={row['tau_uv']:.1f} tau_zeta={row['tau_vorticity']:.1f}")
    return row


t0 = time.perf_counter()
est = {
    "binned geostrophy": Geostrophic(window=DAYS * 86400.0).estimate(obs, grid, times),
    "OI + geostrophy": OptimalInterpolation(prior_mean="obs").estimate(obs, grid, times),
    "OI nadirs only": OptimalInterpolation(prior_mean="obs").estimate(nadirs, grid, times),
}
oi = est["OI + geostrophy"]
est["OI + cyclogeostrophy"] = Cyclogeostrophic().estimate(oi[oi.attrs["ssh_variable"]], grid, times)
print(f"estimates: {time.perf_counter() - t0:.1f} s")
rows = {name: score(name, ds) for name, ds in est.items()}

# %% [markdown]
# What the numbers say (each an assert; the margins hold for every noise seed we tried — seeds
# 0, 2, 3, 4 of both constellations move tau_zeta by up to ~8 points and the OI lambda_x between
# 143 and 203 km, while the binned map's lambda_x stays at 218-219 km):
#
# * every mapped SSH is close to the real map (`mu` > 0.85: RMSE < 15 % of RMS(adt));
# * OI's currents beat those of the binned tracks: the harmonic fill between tracks is smooth and
#   loses the eddies' curvature, so its vorticity score is far lower (by > 10 points; 16-25 over the
#   seeds), and OI's isotropic PSD score resolves shorter wavelengths; their `tau_uv` are within a
#   few points of each other (either can win, depending on the noise draw: not asserted);
# * SWOT's single pass adds to the nadirs (vorticity score up by > 5 points; 7.7-10.4 over the
#   seeds) and improves mu;
# * on SSH itself (`mu`) the binned-and-filled map is *not* worse than OI in this small box: the
#   1° OI scale smooths the sharp Kuroshio front the tracks cross. OI wins on the currents, not
#   on the SSH RMSE — we print it rather than claim it.

# %%
for name, r in rows.items():
    assert r["mu"] > 0.85, (name, r["mu"])
b, o, n = rows["binned geostrophy"], rows["OI + geostrophy"], rows["OI nadirs only"]
assert o["tau_vorticity"] > b["tau_vorticity"] + 10.0
assert o["lambda_x_km"] < b["lambda_x_km"]  # OI resolves finer scales (143-203 vs 218 km over the seeds)
assert o["tau_vorticity"] > n["tau_vorticity"] + 5.0
assert o["mu"] > n["mu"]
c = rows["OI + cyclogeostrophy"]
assert abs(c["tau_uv"] - o["tau_uv"]) < 5.0  # Ro ~ 0.1: cyclogeostrophy moves tau by a few points at most
print(f"mu: binned {b['mu']:.3f} vs OI {o['mu']:.3f} (OI better on mu: {o['mu'] > b['mu']})")

# %%
fig, ax = plt.subplots(1, 4, figsize=(16, 4))
vmin, vmax = float(truth["adt"].min()), float(truth["adt"].max())
ax[0].pcolormesh(lon, lat, truth["adt"][0], cmap="RdYlBu_r", vmin=vmin, vmax=vmax)
ax[0].scatter(*obs.positions(), s=0.3, c="k")
ax[0].set_title(f"truth + {len(obs)} observations")
for a, name in zip(ax[1:], ["binned geostrophy", "OI + geostrophy", "OI nadirs only"]):
    ds = est[name]
    a.pcolormesh(lon, lat, ds[ds.attrs["ssh_variable"]][0], cmap="RdYlBu_r", vmin=vmin, vmax=vmax)
    a.quiver(lon[sl[1]], lat[sl[0]], ds["u"][0].values[sl], ds["v"][0].values[sl], scale=20)
    a.set_title(f"{name}: mu={rows[name]['mu']:.2f}, tau_uv={rows[name]['tau_uv']:.0f}")
show(fig, "03_mapped_ssh.png")

# %% [markdown]
# ## 4. A real SWOT L3 file
#
# `read_swot_l3` turns a SWOT KaRIn L3 LR product (AVISO/DUACS v2.0.1) into observations: the
# swath pixels (and the nadir, `keep_nadir`) with their times, quality-filtered. The shared data
# folder holds a Mediterranean subset of a pass of 2023-03-28 (1-day-repeat phase); it is too
# large for the repository, so this cell only runs where `../shared/data` is present.

# %%
L3 = SHARED / "swot_l3" / "SWOT_L3_LR_SSH_Expert_003_v2.0.1-med.nc"
if L3.exists():
    swot_l3 = read_swot_l3(str(L3))
    print(swot_l3)
    assert len(swot_l3) > 1000
    assert np.nanstd(swot_l3.ssh) < 1.0  # sea-level anomaly: decimetres, never metres
    fig, a = plt.subplots(figsize=(6, 5))
    sc = a.scatter(*swot_l3.positions(), c=swot_l3.ssh, s=0.2, cmap="RdBu_r",
                   vmin=-np.nanpercentile(np.abs(swot_l3.ssh), 98), vmax=np.nanpercentile(np.abs(swot_l3.ssh), 98))
    fig.colorbar(sc, ax=a, label="ssha_filtered [m]")
    a.set_title("real SWOT L3 KaRIn pass, 2023-03-28 (Mediterranean)")
    show(fig, "03_swot_l3.png")
else:
    print(f"{L3} not present: skipped (the rest of the notebook ran on the repository's crops)")

# %%
print(f"notebook ran in {time.perf_counter() - T_START:.1f} s")
