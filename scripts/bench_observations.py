"""Benchmark: the observation operator H and its adjoint H^T on a 256^2 x 10 field.

Points are uniform in a periodic 256 x 256 domain and in the 10 field times; each H and H^T is
run ``--repeat`` times after one warm-up and the median wall time is printed, with the build
time of the operator (index/weight precomputation) and its memory (8 int64 indices + 8 weights
per point). The thread count is set with ``--threads`` (default 1).

Usage::

    python scripts/bench_observations.py --threads 1                  # 1e5 and 1e6 points, CPU float64
    python scripts/bench_observations.py --device cuda --dtype float32 --n 1e5 1e6 1e7
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from hybridocean.observations import ObservationOperator, Observations
from physics.grid import Grid


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_time(fn, repeat: int, device: torch.device) -> float:
    fn()
    _sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=float, nargs="+", default=[1e5, 1e6], help="numbers of observations")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--times", type=int, default=10)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    g = Grid(args.size, args.size, dx=1e3, dy=1e3, boundary="periodic")
    rng = np.random.default_rng(0)
    fields = torch.randn(args.batch, args.times, args.size, args.size, dtype=dtype, device=device)
    print(f"threads={torch.get_num_threads()} device={device} dtype={args.dtype} "
          f"fields={tuple(fields.shape)} repeat={args.repeat} (median seconds)")
    for n in (int(v) for v in args.n):
        obs = Observations.from_arrays(
            time=rng.uniform(0, args.times - 1, n), ssh=np.zeros(n), platform="bench",
            x=rng.uniform(0, g.Lx, n), y=rng.uniform(0, g.Ly, n),
        )
        t0 = time.perf_counter()
        op = ObservationOperator(obs, g, np.arange(float(args.times)))
        build = time.perf_counter() - t0
        values = op(fields)
        t_h = _median_time(lambda: op(fields), args.repeat, device)
        t_ht = _median_time(lambda: op.adjoint(values), args.repeat, device)
        mem = (op._index.numel() * 8 + op._weights.numel() * 8) / 2**20
        print(f"n_obs={n:>9d}  build {build:8.4f} s  H {t_h:8.4f} s  H^T {t_ht:8.4f} s  "
              f"operator memory {mem:7.1f} MiB")


if __name__ == "__main__":
    main()
