"""Benchmark: strong-constraint 4D-Var, 1.5-layer QG on 128 x 128, one 10-day window.

Twin: a truth drawn from the background covariance (SSH std ``--sigma-b``, Gaussian length
``--length-b``), run by the model (periodic, finite differences, AB3; ``dx = 10 km``,
``Ld = 30 km``, ``f0 = 1e-4 1/s``, ``beta = 1.6e-11 1/(m s)``), observed without noise at a
random ``--coverage`` fraction of the cell centres at every saved state (every ``--save-every``
steps). ``dt`` is chosen by CFL: the largest of (3600, 1800, 1200, 900, 600) s with advective
Courant number ``|u|max dt / dx <= 0.2`` for the truth's ``|u|max`` (AB3's imaginary-axis limit
0.72, :data:`physics.stepping.STABILITY_LIMITS`, with margin for the flow's growth and the
Arakawa Jacobian's ``sin(k dx) / dx`` peak). Background: rest.

Measured (medians of ``--repeat``, one thread, ``torch.set_num_threads``; wall time and the
process CPU time, which a shared, loaded host inflates far less than the wall time): one forward (cost
without gradient), one cost + gradient (forward recording the AB3 discrete adjoint, then its
backward), their parts (one QG step, H and H^T on the saved trajectory, the control transform
``B^{1/2}`` + SSH -> PV, PV -> SSH on the trajectory), and the full L-BFGS run (``--iters``
iterations: wall and CPU time, iterations, evaluations, the CPU share spent outside the cost +
gradient evaluations: L-BFGS-B itself and the bookkeeping). Writes ``bench.json`` and ``bench.png`` (cost per iteration,
SSH truth / analysis / error at t0, time shares) under ``--out``.

Usage::

    nice .venv/bin/python scripts/bench_fourdvar.py --threads 1 --out results/fourdvar
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from hybridocean.estimation.background import GaussianCovariance
from hybridocean.estimation.fourdvar import WindowProblem
from hybridocean.io import save_json
from hybridocean.observations import Observations
from physics.grid import Grid
from physics.operators import velocity_from_psi
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.stepping import integrate_fixed


CPU = {}  # name -> median process CPU time [s] of the same calls (robust to a shared, loaded host)


def median_time(fn, repeat: int, name: str = "") -> float:
    """Median wall time [s] of ``repeat`` calls; the median CPU time goes to ``CPU[name]``."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[name] = statistics.median(cpu)
    return statistics.median(wall)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--days", type=float, default=10.0)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--save-every", type=int, default=6)
    p.add_argument("--coverage", type=float, default=0.05)
    p.add_argument("--sigma-b", type=float, default=0.1)
    p.add_argument("--length-b", type=float, default=5e4)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="results/fourdvar")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    g = Grid(nx=a.n, ny=a.n, dx=1e4, dy=1e4, boundary="periodic", f0=1e-4, beta=1.6e-11)
    model = QG(g, Ld=3e4)
    B = GaussianCovariance(g, a.sigma_b, a.length_b, "corner")
    eta0 = B(torch.randn(a.n, a.n, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    q0 = ssh_to_qg_state(eta0, model, loc="corner")[1]
    with torch.no_grad():
        u, v = velocity_from_psi(model.streamfunction(q0)[:, 0], g)
    umax = float(torch.maximum(u.abs().max(), v.abs().max()))
    dt = next((d for d in (3600.0, 1800.0, 1200.0, 900.0, 600.0) if umax * d / g.dx <= 0.2), 300.0)
    n_steps = int(round(a.days * 86400 / dt))
    n_steps -= n_steps % a.save_every
    with torch.no_grad():
        t, traj = integrate_fixed(model, q0, dt, n_steps, save_every=a.save_every, t0=0.0)
        ssh = qg_state_to_ssh(traj[:, 0], model, loc="center")
    rng = np.random.default_rng(1)
    keep = rng.random(ssh.shape) < a.coverage
    xc, yc = (c.numpy() for c in g.mesh("center"))
    k, j, i = np.nonzero(keep)
    obs = Observations.from_arrays(time=t.numpy()[k], ssh=ssh.numpy()[k, j, i], platform="twin",
                                   x=xc[j, i], y=yc[j, i])
    P = WindowProblem(model, obs, 0.0, dt, n_steps, sigma_b=a.sigma_b, length_b=a.length_b, obs_error=0.01,
                      save_every=a.save_every)
    v0 = np.zeros(P.n_control)
    P.cost(v0)  # warm-up
    parts = {
        "forward_cost_s": median_time(lambda: P.cost(v0, grad=False), a.repeat, "forward_cost_s"),
        "cost_and_gradient_s": median_time(lambda: P.cost(v0), a.repeat, "cost_and_gradient_s"),
    }
    with torch.no_grad():
        step = median_time(lambda: integrate_fixed(model, q0, dt, 12, t0=0.0), a.repeat, "qg_step_s") / 12
        CPU["qg_step_s"] /= 12
        CPU["all_steps_s"] = CPU["qg_step_s"] * n_steps
        parts["qg_step_s"] = step
        parts["all_steps_s"] = step * n_steps
        parts["control_transform_s"] = median_time(lambda: P.initial_state(torch.zeros(P.n_control, dtype=torch.float64)), a.repeat, "control_transform_s")
        parts["pv_to_ssh_trajectory_s"] = median_time(lambda: P.adapter.ssh(traj), a.repeat, "pv_to_ssh_trajectory_s")
        parts["H_s"] = median_time(lambda: P.H(ssh), a.repeat, "H_s")
        yv = P.H(ssh)
        parts["H_adjoint_s"] = median_time(lambda: P.H.adjoint(yv), a.repeat, "H_adjoint_s")
    parts["backward_s"] = parts["cost_and_gradient_s"] - parts["forward_cost_s"]
    CPU["backward_s"] = CPU["cost_and_gradient_s"] - CPU["forward_cost_s"]
    c0 = time.process_time()
    res = P.minimize(max_iter=a.iters)
    lbfgs_cpu = time.process_time() - c0
    with torch.no_grad():
        eta_a = qg_state_to_ssh(res.x0, model, loc="center")[0]
    err = float((eta_a - ssh[0]).norm() / ssh[0].norm())
    summary = {
        "grid": [a.n, a.n], "dx_m": g.dx, "Ld_m": 3e4, "window_days": n_steps * dt / 86400, "dt_s": dt,
        "n_steps": n_steps, "save_every": a.save_every, "truth_umax_m_per_s": umax,
        "courant": umax * dt / g.dx, "n_obs": P.n_obs, "n_control": P.n_control,
        "lbfgs": {"iterations": res.n_iter, "evaluations": res.n_eval, "wall_s": res.wall_s, "cpu_s": lbfgs_cpu,
                  "cost_first": res.cost[0], "cost_last": res.cost[-1], "message": res.message,
                  "cpu_share_outside_cost_gradient_evaluations": max(0.0, 1 - res.n_eval * CPU["cost_and_gradient_s"] / lbfgs_cpu)},
        "ssh_t0_relative_error": err, "median_wall_s": parts, "median_cpu_s": CPU, "threads": torch.get_num_threads(), "repeat": a.repeat,
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count(), "cost_history": res.cost,
    }
    save_json(summary, out / "bench.json")
    plot(out / "bench.png", res.cost, ssh[0].numpy(), eta_a.numpy(), CPU)
    print(json.dumps({k: v for k, v in summary.items() if k != "cost_history"}, indent=2))


def plot(path: Path, cost, truth, analysis, parts) -> None:
    import matplotlib.pyplot as plt

    from hybridocean.plots import savefig

    fig, ax = plt.subplots(1, 5, figsize=(22, 4))
    ax[0].semilogy(cost, "o-")
    ax[0].set(xlabel="L-BFGS iteration", ylabel="J", title="cost")
    lim = float(np.abs(truth).max())
    for a_, f, name in ((ax[1], truth, "truth SSH t0 [m]"), (ax[2], analysis, "analysis SSH t0 [m]"),
                        (ax[3], analysis - truth, "analysis - truth [m]")):
        im = a_.imshow(f, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
        a_.set_title(name)
        fig.colorbar(im, ax=a_, shrink=0.8)
    keys = ["all_steps_s", "control_transform_s", "pv_to_ssh_trajectory_s", "H_s", "H_adjoint_s", "backward_s"]
    ax[4].barh(keys, [parts[k] for k in keys])
    ax[4].set(xlabel="CPU seconds (median, 1 thread)", title="where one cost+gradient goes")
    fig.tight_layout()
    savefig(fig, path, dpi=90)


if __name__ == "__main__":
    main()
