"""Benchmark: peak memory and time of one gradient step, adjoint vs backprop through the solver.

Model: APHYNITY hybrid on the FitzHugh-Nagumo reaction-diffusion system
(``physics.reaction_diffusion.ReactionDiffusion`` with learnable a, b, k, plus a periodic
``ConvResNet``), integrated with fixed-step rk4 so that horizons 1x, 2x, 4x are exactly 1x, 2x, 4x
solver steps. One gradient step = forecast from ``x0`` over the horizon + MSE against a target
trajectory + ``backward()`` (optimizer update excluded: it does not depend on the horizon).

How memory is measured (each configuration runs in its own fresh subprocess; the step is run
1 + ``--repeat`` times, the first being a warm-up):

* CUDA: ``torch.cuda.max_memory_allocated()`` during the step minus ``memory_allocated()`` before
  it (peak extra tensor memory of the step, from PyTorch's caching allocator);
* CPU: peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``, the kernel's high-water
  mark) minus the resident size just before the step (``/proc/self/statm``). It counts every page
  the step touched (tensors and allocator slack), so it bounds the tensor memory from above; the
  fresh process per row keeps rows comparable. ``tracemalloc`` would not see torch's allocations.

The reported peak is the largest per-step delta; the reported time the fastest timed step.

Usage::

    python scripts/bench_adjoint.py                      # CPU, 32x32 grid, batch 4
    python scripts/bench_adjoint.py --device cuda --n 128 --batch 16 --steps 20
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch

from hybridocean.hybrid import HybridModel
from hybridocean.integrate import odeint
from hybridocean.networks import ConvResNet
from physics.grid import Grid
from physics.reaction_diffusion import ReactionDiffusion

HORIZONS = (1, 2, 4)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _setup(args, horizon: int):
    dev, dt = torch.device(args.device), torch.float64 if args.dtype == "float64" else torch.float32
    torch.manual_seed(0)
    grid = Grid(args.n, args.n, dx=2.0 / args.n, dy=2.0 / args.n, boundary="periodic", dtype=dt)
    model = HybridModel(
        ReactionDiffusion(grid, learnable=("a", "b", "k")),
        ConvResNet(2, hidden=args.hidden, layers=args.layers, boundary="periodic", init_gain=0.1),
    ).to(device=dev, dtype=dt)
    steps = args.steps * horizon
    t = torch.arange(steps + 1, device=dev, dtype=dt) * args.h
    t = t[:: max(1, steps // 10)]  # observe ~10 times, whatever the horizon
    x0 = 0.5 * torch.randn(args.batch, 2, args.n, args.n, device=dev, dtype=dt)
    target = torch.zeros(args.batch, t.numel(), 2, args.n, args.n, device=dev, dtype=dt)
    return model, x0, t, target


def _step(model, x0, t, target, adjoint: bool, h: float) -> None:
    model.zero_grad(set_to_none=True)
    pred = odeint(model, x0, t, adjoint=adjoint, method="rk4", step_size=h)
    torch.mean((pred - target) ** 2).backward()


def run_one(args, adjoint: bool, horizon: int) -> dict:
    """One configuration in this process: warm-up step, then a measured step (time + peak memory)."""
    torch.set_num_threads(args.threads)
    model, x0, t, target = _setup(args, horizon)
    cuda = x0.is_cuda
    deltas, times = [], []
    for _ in range(1 + args.repeat):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            base = _rss_bytes()
        tic = time.perf_counter()
        _step(model, x0, t, target, adjoint, args.h)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tic)
        peak = torch.cuda.max_memory_allocated() if cuda else _peak_rss_bytes()
        deltas.append(max(peak - base, 0))
    return {
        "adjoint": adjoint,
        "horizon": horizon,
        "solver_steps": args.steps * horizon,
        "peak_mib": max(deltas) / 2**20,
        "time_s": min(times[1:]) if len(times) > 1 else times[0],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--n", type=int, default=32, help="grid size n x n")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=10, help="rk4 steps of the 1x horizon")
    p.add_argument("--h", type=float, default=0.05, help="rk4 step (model time units)")
    p.add_argument("--repeat", type=int, default=2, help="timed steps after the warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--single", nargs=2, metavar=("ADJOINT", "HORIZON"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.single:
        print(json.dumps(run_one(args, args.single[0] == "1", int(args.single[1]))))
        return 0
    rows = []
    base_cmd = [sys.executable, os.path.abspath(__file__)] + [a for a in (argv or sys.argv[1:])]
    for adjoint in (False, True):
        for hz in HORIZONS:
            out = subprocess.run(base_cmd + ["--single", "1" if adjoint else "0", str(hz)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    how = "cuda max_memory_allocated" if args.device.startswith("cuda") else "peak RSS delta (fresh process)"
    print(f"device={args.device} dtype={args.dtype} grid={args.n}x{args.n} batch={args.batch} "
          f"ConvResNet(hidden={args.hidden}, layers={args.layers}) rk4 h={args.h}; memory: {how}")
    print(f"{'mode':<9}{'horizon':>8}{'steps':>7}{'peak MiB':>11}{'x 1x':>7}{'time s':>9}{'x 1x':>7}")
    for r in rows:
        ref = next(q for q in rows if q["adjoint"] == r["adjoint"] and q["horizon"] == 1)
        mode = "adjoint" if r["adjoint"] else "backprop"
        print(f"{mode:<9}{r['horizon']:>7}x{r['solver_steps']:>7}{r['peak_mib']:>11.1f}"
              f"{r['peak_mib'] / max(ref['peak_mib'], 1e-9):>7.2f}{r['time_s']:>9.3f}{r['time_s'] / ref['time_s']:>7.2f}")
    adj = {r["horizon"]: r["peak_mib"] for r in rows if r["adjoint"]}
    ratio = adj[4] / max(adj[1], 1e-9)
    print(f"adjoint peak memory 4x / 1x = {ratio:.2f} ({'within' if ratio <= 1.2 else 'ABOVE'} the 1.2 target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
