"""Benchmark: optimal interpolation time and peak memory vs the number of observations, tiled vs dense.

Setup (fixed observation density, so the domain grows with the number of observations ``n``):
observations uniform in a square x/y box of ``n / density`` "deg^2" (1 deg = 111.2 km, so any
``n`` fits; a lon/lat box would leave the globe) and in a +-10 day window (all within the
2 Lt = 14 day selection of one output time), a closed output grid of 27.8 km (0.25 deg) cells,
the challenge covariance (Lx = Ly = 111.2 km = 1 deg, Lt = 7 days, noise 0.05), one output time. ``tiled``: ``--tile`` cells per tile side, margin 3 L; ``dense``: one solve
with every observation, run only up to ``--dense-max`` (its ``n x n`` matrix is ``8 n^2``
bytes: 3.2 GB at 2e4).

Each (solver, n) runs in its own subprocess (so its peak resident memory, ``ru_maxrss``, is its
own): one warm-up on a small problem, then ``--repeat`` timed runs of the OI analysis
(``OptimalInterpolation.map_ssh``, geostrophy excluded); the median wall time is reported,
with the tiles' observation counts. Threads: ``--threads`` (default 1) for torch (its LAPACK
does the Cholesky factorisations) and ``OMP/OPENBLAS/MKL_NUM_THREADS``.

Writes ``--out``/bench_estimation.json and .png (time and memory vs n, log-log, with the
linear and cubic slopes for reference).

Usage::

    python scripts/bench_estimation.py                      # default: 1e3 .. 3e4, a few minutes on 1 core
    python scripts/bench_estimation.py --n 1e3 3e3 1e4 2e4 3e4 1e5 --dense-max 2e4  # + the 10x check at 2e4
                                                            # (dense needs 3.2 GB there)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _problem(n: int, density: float, seed: int = 0):
    from hybridocean.estimation.oi import DEGREE_M
    from hybridocean.observations import Observations
    from physics.grid import Grid

    side = float(np.sqrt(n / density))  # degrees (of DEGREE_M = 111.2 km)
    ncell = max(4, int(round(side / 0.25)))
    dx = DEGREE_M / 4
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2020-01-10T00:00:00", "ns")
    dt = rng.uniform(-10, 10, n) * 86400.0
    obs = Observations.from_arrays(
        time=t0 + (dt * 1e9).astype("timedelta64[ns]"), ssh=rng.normal(0, 0.1, n), platform="bench",
        x=rng.uniform(0.0, ncell * dx, n), y=rng.uniform(0.0, ncell * dx, n))
    return obs, Grid(ncell, ncell, dx=dx, dy=dx, boundary="closed", f0=1e-4), np.array([t0])


def worker(solver: str, n: int, args) -> dict:
    """One measurement (run in a subprocess): median time of the OI analysis, peak RSS."""
    import torch

    from hybridocean.estimation.base import prepare_inputs
    from hybridocean.estimation.oi import OptimalInterpolation

    torch.set_num_threads(args.threads)
    est = OptimalInterpolation(tile=None if solver == "dense" else args.tile, margin=3.0)
    warm, grid_w, times_w = _problem(500, args.density, seed=1)
    est.map_ssh(prepare_inputs(warm, grid_w, times_w, est.time_margin()))
    obs, grid, times = _problem(n, args.density)
    inputs = prepare_inputs(obs, grid, times, est.time_margin())
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        est.map_ssh(inputs)
        runs.append(time.perf_counter() - t)
    return {"solver": solver, "n_obs": n, "grid": [grid.ny, grid.nx], "seconds_median": statistics.median(runs),
            "seconds_all": runs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "threads": torch.get_num_threads(), **est.last_stats}


def _plot(results: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybridocean.plots import savefig

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for solver, style in (("tiled", "o-"), ("dense", "s--")):
        rs = sorted((r for r in results if r["solver"] == solver), key=lambda r: r["n_obs"])
        if not rs:
            continue
        n = np.array([r["n_obs"] for r in rs], float)
        axes[0].loglog(n, [r["seconds_median"] for r in rs], style, label=solver)
        axes[1].loglog(n, [r["peak_rss_mb"] for r in rs], style, label=solver)
    n_all = np.array(sorted({r["n_obs"] for r in results}), float)
    if n_all.size > 1:
        t0 = min(r["seconds_median"] for r in results if r["n_obs"] == n_all[0])
        axes[0].loglog(n_all, t0 * n_all / n_all[0], ":", color="gray", label="slope 1")
        axes[0].loglog(n_all, t0 * (n_all / n_all[0]) ** 3, "-.", color="gray", label="slope 3")
    axes[0].set(xlabel="observations", ylabel="median time [s]", title="OI analysis time")
    axes[1].set(xlabel="observations", ylabel="peak RSS [MB]", title="OI peak memory")
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    savefig(fig, path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=float, nargs="+", default=[1e3, 3e3, 1e4, 3e4], help="numbers of observations")
    p.add_argument("--dense-max", type=float, default=1e4, help="largest n solved densely")
    p.add_argument("--density", type=float, default=20.0, help="observations per deg^2 (over the 20-day window)")
    p.add_argument("--tile", type=int, default=12, help="cells per tile side (0.25 deg cells)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("results/bench_estimation"))
    p.add_argument("--worker", nargs=2, metavar=("SOLVER", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(float(args.worker[1])), args)))
        return
    env = {**os.environ, **{k: str(args.threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    results = []
    for n in sorted(int(v) for v in args.n):
        for solver in ("tiled", "dense"):
            if solver == "dense" and n > args.dense_max:
                continue
            cmd = [sys.executable, __file__, "--worker", solver, str(n), "--density", str(args.density),
                   "--tile", str(args.tile), "--repeat", str(args.repeat), "--threads", str(args.threads)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1])
            results.append(r)
            print(f"{solver:5s} n={n:>8d} grid={r['grid'][0]}x{r['grid'][1]} median {r['seconds_median']:.3f} s  "
                  f"peak {r['peak_rss_mb']:.0f} MB  tiles {r['n_tiles']}  obs/tile mean {r['obs_per_tile_mean']:.0f} "
                  f"max {r['obs_per_tile_max']}", flush=True)
    speedups = {}
    for r in results:
        d = next((q for q in results if q["solver"] == "dense" and q["n_obs"] == r["n_obs"]), None)
        if r["solver"] == "tiled" and d is not None:
            speedups[str(r["n_obs"])] = d["seconds_median"] / r["seconds_median"]
    from hybridocean.io import save_json

    summary = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "worker"},
               "results": results, "dense_over_tiled": speedups}
    save_json(summary, args.out / "bench_estimation.json")
    _plot(results, args.out / "bench_estimation.png")
    print("dense / tiled time:", {k: round(v, 1) for k, v in speedups.items()})
    print(f"wrote {args.out / 'bench_estimation.json'} and .png")


if __name__ == "__main__":
    main()
