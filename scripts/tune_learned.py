"""Measure the learned estimator against OI on small twins (issue 11, section 2; writes JSON).

Twins (truth simulated by the library, hidden from both estimators; only SSH observations given):

* ``qg``: 1.5-layer QG, periodic beta-plane ``n x n`` cells of 15 km, ``f0 = 1e-4 /s``,
  ``beta = 1.6e-11 /m/s``, ``Ld = 30 km``, biharmonic ``nu4`` damping the grid scale in 5 days;
  SSH from a Gaussian covariance (10 cm, 60 km), spun up 10 days; RK4 step 1 h.
* ``sw``: shallow water, closed beta-plane basin of 20 km cells, ``g = 9.81``, ``H = 1 m``
  (``sqrt(gH)/f0 = 31 km``), Laplacian viscosity 20 m^2/s, geostrophic start, spun up 3 days; RK4 step 1 h.

Frames every 6 h. Scenarios: ``random`` (50 % of the cells per frame, independently) and
``tracks`` (along-track-like: every frame, 3 straight tracks of random offset, slope +-1, 1 cell wide:
~10 % of the cells). Held out for model selection/tuning: 10 % more random cells per frame
(never the truth). Scores on frames ``12 .. T-1`` every ``--every`` frame (both estimators on the
same frames): ``tau_uv`` [%] (100 (1 - |u - u_t|^2 / |u_t|^2), u and v at the centres: the learned
estimator's state velocities, OI's geostrophic ones) and ``lambda_x`` [km] (isotropic PSD score
0.5 crossing, :func:`hybridocean.metrics.psd_maps.psd_isotropic_score`), SSH RMSE [cm].
OI: space-time Gaussian OI (:mod:`hybridocean.estimation.oi`), ``Lx = Ly`` and ``Lt`` chosen among a
small grid (with the nugget ``noise_std`` 1 or 3 cm) by the misfit to the held-out observations (the same selection data as the learned one).

Usage::

    OMP_NUM_THREADS=1 nice python scripts/tune_learned.py --twin qg --scenario random \
        --iterations 150 --est '{"window": 4, "horizon": 4}' --label base --out /tmp/tune.json

Inference time: ``--bench 128 --est '{...}'`` (estimate seconds per map at 128 x 128, QG, 1 thread).

Measurements only (no assertion): timings depend on the machine's load.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from hybridocean.estimation.background import GaussianCovariance
from hybridocean.estimation.fourdvar_models import faces_to_centres
from hybridocean.estimation.learned import LearnedEstimator, default_config
from hybridocean.estimation.oi import OptimalInterpolation
from hybridocean.integrate import odeint
from hybridocean.metrics.psd_maps import psd_isotropic_score
from hybridocean.observations import Observations
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid
from physics.operators import velocity_from_psi
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.shallow_water import ShallowWater

DAY = 86400.0
DT = 6 * 3600.0
T0 = np.datetime64("2020-01-01T00:00", "ns")


def make_physics(kind: str, n: int):
    if kind == "qg":
        g = Grid(n, n, dx=1.5e4, dy=1.5e4, boundary="periodic", f0=1e-4, beta=1.6e-11)
        return g, QG(g, Ld=3e4, nu4=1.0 / (5 * DAY * (math.pi / g.dx) ** 4))
    g = Grid(n, n, dx=2e4, dy=2e4, boundary="closed", f0=1e-4, beta=1.6e-11)
    return g, ShallowWater(g, g=9.81, H=1.0, viscosity=20.0)


def truth(kind: str, n: int, T: int, seed: int = 0):
    """``(grid, physics, ssh (T, n, n), u, v (T, n, n) centres)``."""
    g, m = make_physics(kind, n)
    gen = torch.Generator().manual_seed(seed)
    loc = "corner" if kind == "qg" else "center"
    eta = GaussianCovariance(g, 0.1, 6e4, loc)(torch.randn(n, n, generator=gen, dtype=torch.float64))
    if kind == "qg":
        x0 = ssh_to_qg_state(eta, m, loc="corner")[1]
        spin = 10 * DAY
    else:
        u, v = geostrophic_velocities(eta, g, g=9.81, at="uv")
        x0 = torch.stack([eta, u * g.mask("u"), v * g.mask("v")])[None]
        spin = 3 * DAY
    t = spin + DT * torch.arange(T, dtype=torch.float64)
    with torch.no_grad():
        traj = odeint(m, x0, torch.cat([torch.zeros(1, dtype=torch.float64), t]), method="rk4", step_size=3600.0)[0, 1:]
        if kind == "qg":
            ssh = qg_state_to_ssh(traj, m, loc="center")
            uf, vf = velocity_from_psi(m.streamfunction(traj)[:, 0], g)
        else:
            ssh, uf, vf = traj[:, 0], traj[:, 1], traj[:, 2]
        u, v = faces_to_centres(uf, vf, g)
    return g, m, ssh.numpy(), u.numpy(), v.numpy()


def masks(kind: str, T: int, n: int, seed: int = 1):
    """``(train (T, n, n) bool, held (T, n, n) bool)`` (module docstring)."""
    rng = np.random.default_rng(seed)
    r = rng.random((T, n, n))
    held = r >= 0.9
    if kind == "random":
        return r < 0.5, held
    j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    train = np.zeros((T, n, n), bool)
    for k in range(T):
        for _ in range(3):
            s, o = rng.choice([-1, 1]), rng.integers(0, n)
            train[k] |= (i - s * j - o) % n == 0
    return train & ~held, held


def points(g: Grid, times: np.ndarray, ssh: np.ndarray, keep: np.ndarray, platform: str) -> Observations:
    xc, yc = (a.numpy() for a in g.mesh("center"))
    k = np.nonzero(keep)
    return Observations.from_arrays(time=times[k[0]], ssh=ssh[k], platform=platform, x=xc[k[1], k[2]], y=yc[k[1], k[2]])


def held_misfit(est_ssh: np.ndarray, ssh: np.ndarray, held: np.ndarray, frames: np.ndarray) -> float:
    return float(np.sqrt(np.mean((est_ssh - ssh[frames])[held[frames]] ** 2)))


def scores(ssh_e, u_e, v_e, ssh, u, v, g: Grid, times) -> dict:
    num = float(np.sum((u_e - u) ** 2 + (v_e - v) ** 2))
    tau = 100.0 * (1.0 - num / float(np.sum(u**2 + v**2)))
    xc, yc = (a.numpy() for a in g.coords("center"))
    da = lambda a: xr.DataArray(a, dims=("time", "y", "x"), coords={"time": times, "y": yc, "x": xc})  # noqa: E731
    lam = psd_isotropic_score(da(ssh_e), da(ssh)).lambda_x_km
    return {"tau_uv": tau, "lambda_x_km": lam, "rmse_cm": 100 * float(np.sqrt(np.mean((ssh_e - ssh) ** 2)))}


def run_oi(g, times, obs, held_obs_mask, ssh, u, v, frames, grid_lx, grid_lt, grid_noise):
    best = None
    for lx, lt, noise in itertools.product(grid_lx, grid_lt, grid_noise):
            t0 = time.perf_counter()
            oi = OptimalInterpolation(Lx=lx, Ly=lx, Lt=lt, noise_std=noise, signal_std=0.1, time_window=1.5)
            try:
                ds = oi.estimate(obs, g, times[frames])
            except ValueError as e:  # ill-conditioned (tiny nugget on a smooth kernel): not a candidate
                print("OI", lx, lt, noise, "failed:", e, flush=True)
                continue
            el = time.perf_counter() - t0
            mis = held_misfit(ds["ssh"].values, ssh, held_obs_mask, frames)
            rec = {"Lx_km": lx / 1e3, "Lt_days": lt / DAY, "noise_std_m": noise, "held_rmse_cm": 100 * mis, "seconds": el,
                   **scores(ds["ssh"].values, ds["u"].values, ds["v"].values, ssh[frames], u[frames], v[frames], g, times[frames])}
            print("OI", json.dumps(rec), flush=True)
            if best is None or mis < best[0]:
                best = (mis, rec)
    return best[1]


def bench_inference(n: int, est_kw: dict, frames: int = 12, repeats: int = 3) -> dict:
    """Seconds per map of ``estimate`` at ``n x n`` (QG twin, 1 thread; medians of ``repeats``
    runs over ``frames`` maps; weights after one training iteration: inference cost does not
    depend on the weights)."""
    g, m = make_physics("qg", n)  # a random SSH field (inference cost does not depend on the flow)
    gen = torch.Generator().manual_seed(0)
    ssh = GaussianCovariance(g, 0.1, 6e4, "center")(torch.randn(frames, n, n, generator=gen, dtype=torch.float64)).numpy()
    times = T0 + (DT * np.arange(frames) * 1e9).astype("timedelta64[ns]")
    train, _ = masks("tracks", frames, n)
    obs = points(g, times, ssh, train, "train")
    est = LearnedEstimator(m, **est_kw).fit(obs, g, times, config=default_config(
        DT, steps_per_frame=1, iterations=1, progress=False, lambda_update="last_step", batch_size=1))
    out = {}
    for M in sorted({1, est_kw.get("ensemble", 1)}):
        est.ensemble = M
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            est.estimate(obs, g, times)
            ts.append((time.perf_counter() - t0) / frames)
        out[M] = {"median_s_per_map": float(np.median(ts)), "min_s_per_map": float(np.min(ts))}
    return {"n": n, "frames": frames, "threads": torch.get_num_threads(), "est": est_kw, "by_ensemble": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--twin", choices=("qg", "sw"), default="qg")
    ap.add_argument("--scenario", choices=("random", "tracks"), default="random")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--every", type=int, default=4, help="score every k-th frame")
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--steps", type=int, default=0, help="RK4 steps per frame (default: qg 1, sw 6)")
    ap.add_argument("--est", default="{}", help="LearnedEstimator kwargs (JSON)")
    ap.add_argument("--cfg", default="{}", help="default_config kwargs (JSON)")
    ap.add_argument("--variant", choices=("hybrid", "physics", "neural"), default="hybrid")
    ap.add_argument("--ensembles", default="1,4", help="ensemble sizes M scored after training (first: the main record)")
    ap.add_argument("--oi", action="store_true", help="also run the tuned OI")
    ap.add_argument("--oi-lx-km", default="30,60", help="OI length scales tried [km]")
    ap.add_argument("--oi-lt-days", default="0.5,1.5", help="OI time scales tried [days]")
    ap.add_argument("--oi-noise", default="0.01,0.03", help="OI nuggets tried [m]")
    ap.add_argument("--label", default="run")
    ap.add_argument("--out", default="tune_learned.json")
    ap.add_argument("--bench", type=int, default=0, help="only time inference at this n x n (QG) and exit")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.bench:
        rec = bench_inference(a.bench, json.loads(a.est))
        print("BENCH", json.dumps(rec), flush=True)
        path = Path(a.out)
        allr = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(allr + [{"label": a.label, "bench": rec}], indent=1, default=str))
        return
    g, m, ssh, u, v = truth(a.twin, a.n, a.frames)
    times = T0 + (DT * np.arange(a.frames) * 1e9).astype("timedelta64[ns]")
    train, held = masks(a.scenario, a.frames, a.n)
    obs, hobs = points(g, times, ssh, train, "train"), points(g, times, ssh, held, "held")
    est_kw = json.loads(a.est)

    frames = np.arange(12, a.frames, a.every)  # the same frames for every window length
    out = {"label": a.label, "twin": a.twin, "scenario": a.scenario, "n": a.n, "frames": a.frames,
           "coverage": float(train.mean()), "u_rms": float(np.sqrt(np.mean(u**2 + v**2))), "est": est_kw,
           "cfg": json.loads(a.cfg), "iterations": a.iterations, "variant": a.variant}
    if a.oi:
        fl = lambda x, f: [f * float(v) for v in x.split(",")]  # noqa: E731
        out["oi"] = run_oi(g, times, obs, held, ssh, u, v, frames, fl(a.oi_lx_km, 1e3), fl(a.oi_lt_days, DAY),
                           fl(a.oi_noise, 1.0))
    steps = a.steps or (1 if a.twin == "qg" else 6)
    physics = None if a.variant == "neural" else make_physics(a.twin, a.n)[1]
    kw = dict(**({"channels": 3} if a.variant == "neural" else {}))  # the estimator's defaults unless --est
    kw.update(est_kw)
    est = LearnedEstimator(physics, augment=a.variant == "hybrid", **kw)
    cfg = dict(steps_per_frame=steps, iterations=a.iterations, validate_every=max(a.iterations // 10, 1),
               lambda_update="last_step", progress=False, min_norm=a.variant == "hybrid")
    cfg.update(json.loads(a.cfg))
    t0 = time.perf_counter()
    est.fit(obs, g, times, val_obs=hobs, config=default_config(DT, **cfg))
    fit_s = time.perf_counter() - t0
    rec = {"fit_s": fit_s, "val_mse": est.history.val_mse, "best_val_mse": est.history.best_val_mse, "by_ensemble": {}}
    for M in [int(x) for x in a.ensembles.split(",")]:
        est.ensemble = M  # an inference-time choice (Estimator.encode): no retraining
        t0 = time.perf_counter()
        ds = est.estimate(obs, g, times)
        est_s = time.perf_counter() - t0
        r = {"estimate_s_per_map": est_s / a.frames,
             "held_rmse_cm": 100 * held_misfit(ds["ssh"].values[frames], ssh, held, frames),
             **scores(ds["ssh"].values[frames], ds["u"].values[frames], ds["v"].values[frames], ssh[frames], u[frames],
                      v[frames], g, times[frames])}
        rec["by_ensemble"][M] = r
        print("ensemble", M, json.dumps(r), flush=True)
    rec.update(rec["by_ensemble"][int(a.ensembles.split(",")[0])])
    try:
        rep = est.dynamics_report()
        rec["report"] = {k: rep[k] for k in ("rms_fp", "rms_fa", "ratio", "physical_parameters")}
    except Exception as e:  # the report is informative only
        rec["report"] = repr(e)
    out["learned"] = rec
    print("LEARNED", json.dumps(out), flush=True)
    path = Path(a.out)
    allr = json.loads(path.read_text()) if path.exists() else []
    allr.append(out)
    path.write_text(json.dumps(allr, indent=1, default=str))


if __name__ == "__main__":
    main()
