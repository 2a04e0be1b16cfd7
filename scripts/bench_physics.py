"""Benchmark: physics models' steps per second, and the same figures for pyqg-jax.

Rows (medians over ``--repeats`` interleaved repeats, ours then pyqg-jax each time):

* 2-layer QG (pyqg's default baroclinic setup: L = 1e6 m, H1 = 500, H2 = 2000 m, rd = 15 km,
  beta = 1.5e-11, U1 = 0.025, U2 = 0, rek = 5.787e-7), AB3, dt = 7200 s, batch 1, at
  64^2, 128^2, 256^2 in float64 and float32, for our finite-difference model (``fd``) and our
  pseudo-spectral model (``spectral``, pyqg's algorithm); pyqg-jax: ``SteppedModel`` with its
  ``AB3Stepper``, the whole loop jit-compiled (``jax.lax.fori_loop``), compile time excluded.
* reverse-mode gradient of ``sum(q_T^2)`` w.r.t. ``q_0`` through 100 AB3 steps at 64^2 (float64);
  pyqg-jax: ``jax.grad`` of the jit-compiled loop.
* nonlinear shallow water (``physics.shallow_water.ShallowWater``), 128^2, RK4 steps/s.
* closed-basin Poisson solve per call: Cartesian 2-D DST vs the lon/lat row-metric solver
  (``physics.sphere_elliptic.RowHelmholtz``, ``eig`` and ``thomas``) at ``--sizes``
  (``--sphere-only`` runs just these rows).

Ours runs with ``torch.set_num_threads(--threads)``; jax uses its default CPU thread pool
(XLA), restricted to the same core count through ``taskset`` when run as documented below.

What bounds the speed (CPU, 1 thread): at 64^2 a step is ~30 small tensor ops + 2 FFTs, and
about 2/3 of a step is per-op overhead (dispatch, Python) rather than arithmetic (an 8^2 grid
costs ~60% of a 64^2 one). The finite-difference right-hand side is one fused stencil
(``physics.qg_terms``: flux-grouped Arakawa, psi and q padded together, every neighbour a strided
window); outside autograd it runs on a preallocated plan (``physics.qg_stencil``: buffers and
windows built once per shape, ``out=``/in-place ops). The layered inversion is one multiply by a
cached complex per-wavenumber matrix between rfft2/irfft2. At 256^2 pocketfft and memory traffic
dominate. Gradients: the AB3 steps after the start-up are ONE autograd node whose backward is
the exact transpose of AB3 with the hand-written QG vjp (``physics.stepping_adjoint``,
``physics.qg_adjoint``; the vjp pads ``[q, lam, psi]`` once for both adjoint Jacobians); the
spectral model uses plain autograd. ``torch.compile`` of the stencil was measured ~2x faster
than eager per call at 64^2 but costs ~14-34 s to compile per shape, so it is not used.

Usage::

    nice .venv/bin/python scripts/bench_physics.py --threads 1    # or --threads 2 on a quiet 2-core host
    .venv/bin/python scripts/bench_physics.py --sizes 64 --repeats 3 --no-pyqg   # quick
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from physics.grid import Grid
from physics.qg import QG
from physics.stepping import integrate_fixed

L, H1, DELTA, RD, BETA, REK, U1, DT = 1e6, 500.0, 0.25, 15e3, 1.5e-11, 5.787e-7, 0.025, 7200.0
F0 = 1e-4


def our_qg(n: int, dtype: torch.dtype, spectral: bool) -> QG:
    """Our 2-layer model in pyqg's default configuration (g' from rd and delta, see tests)."""
    F1 = RD**-2 / (1 + DELTA)
    g = Grid(n, n, Lx=L, Ly=L, f0=F0, beta=BETA, dtype=dtype)
    return QG(g, H=[H1, H1 / DELTA], g_prime=[F0**2 / (F1 * H1)], U=[U1, 0.0], drag=REK,
              spectral=spectral, check_finite=False)


def initial_q(n: int, dtype: torch.dtype) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    q = 1e-7 * torch.rand(1, 2, n, n, generator=gen, dtype=torch.float64)
    q[:, 1] = 0
    return q.to(dtype)


def time_ours(model: QG, q: torch.Tensor, steps: int) -> float:
    """Seconds per AB3 step (integrate_fixed, including its per-step NaN check)."""
    with torch.no_grad():
        t0 = time.perf_counter()
        integrate_fixed(model, q, DT, steps, save_every=steps, method="ab3")
        return (time.perf_counter() - t0) / steps


def time_ours_grad(model: QG, q: torch.Tensor, steps: int) -> float:
    q = q.clone().requires_grad_()
    t0 = time.perf_counter()
    _, qs = integrate_fixed(model, q, DT, steps, save_every=steps, method="ab3")
    qs[-1].pow(2).sum().backward()
    return time.perf_counter() - t0


class PyqgJax:
    """pyqg-jax's default 2-layer model, AB3, jit-compiled loops."""

    def __init__(self, n: int, double: bool, steps: int) -> None:
        import jax
        import jax.numpy as jnp
        import pyqg_jax

        self.jax, self.jnp = jax, jnp
        prec = pyqg_jax.state.Precision.DOUBLE if double else pyqg_jax.state.Precision.SINGLE
        model = pyqg_jax.qg_model.QGModel(nx=n, L=L, rek=REK, beta=BETA, rd=RD, delta=DELTA, H1=H1,
                                          U1=U1, U2=0.0, precision=prec)
        self.stepped = pyqg_jax.steppers.SteppedModel(model, pyqg_jax.steppers.AB3Stepper(dt=DT))
        self.state0 = jax.jit(model.create_initial_state)(jax.random.key(0))
        self.steps = steps

        def run(qh):
            ss = self.stepped.initialize_stepper_state(self.state0.update(qh=qh))
            return jax.lax.fori_loop(0, self.steps, lambda i, s: self.stepped.step_model(s), ss).state.qh

        def loss(q):
            st = self.stepped.initialize_stepper_state(self.state0.update(q=q))
            qT = jax.lax.fori_loop(0, self.steps, lambda i, s: self.stepped.step_model(s), st).state.q
            return jnp.sum(qT**2)

        self.run = jax.jit(run)
        self.grad = jax.jit(jax.grad(loss))
        self.run(self.state0.qh).block_until_ready()  # compile

    def time_step(self) -> float:
        t0 = time.perf_counter()
        self.run(self.state0.qh).block_until_ready()
        return (time.perf_counter() - t0) / self.steps

    def time_grad(self) -> float:
        q = self.state0.q
        if not hasattr(self, "_grad_compiled"):
            self.grad(q).block_until_ready()
            self._grad_compiled = True
        t0 = time.perf_counter()
        self.grad(q).block_until_ready()
        return time.perf_counter() - t0


def steps_for(n: int) -> int:
    return {64: 200, 128: 60, 256: 15}.get(n, max(5, 200 * 64**2 // n**2))


def bench_qg(args) -> list:
    rows = []
    for n in args.sizes:
        for dtype in (torch.float64, torch.float32):
            steps = steps_for(n)
            ours = {name: our_qg(n, dtype, spectral=(name == "spectral")) for name in ("fd", "spectral")}
            q = initial_q(n, dtype)
            for m in ours.values():
                time_ours(m, q, 3)  # warm-up
            theirs = None if args.no_pyqg else PyqgJax(n, dtype == torch.float64, steps)
            t = {k: [] for k in (*ours, "pyqg-jax")}
            for _ in range(args.repeats):  # interleaved
                for name, m in ours.items():
                    t[name].append(time_ours(m, q, steps))
                if theirs is not None:
                    t["pyqg-jax"].append(theirs.time_step())
            med = {k: statistics.median(v) for k, v in t.items() if v}
            rows.append((f"QG 2-layer {n}^2 {str(dtype)[6:]}", med))
    return rows


def bench_grad(args) -> tuple:
    steps, n = 100, 64
    model = our_qg(n, torch.float64, spectral=False)
    model_s = our_qg(n, torch.float64, spectral=True)
    q = initial_q(n, torch.float64)
    time_ours_grad(model, q, 5)
    theirs = None if args.no_pyqg else PyqgJax(n, True, steps)
    t = {"fd": [], "spectral": [], "pyqg-jax": []}
    for _ in range(args.repeats):
        t["fd"].append(time_ours_grad(model, q, steps))
        t["spectral"].append(time_ours_grad(model_s, q, steps))
        if theirs is not None:
            t["pyqg-jax"].append(theirs.time_grad())
    return ("grad 100 steps 64^2 f64 [s]", {k: statistics.median(v) for k, v in t.items() if v})


def bench_sw(args):
    try:
        from physics.shallow_water import ShallowWater
    except ImportError:
        return None
    n, H, gr = 128, 1000.0, 9.81
    g = Grid(n, n, Lx=L, Ly=L, f0=F0, beta=BETA, boundary="closed")
    model = ShallowWater(g, g=gr, H=H, nonlinear=True)
    dt = 0.5 * g.dx / math.sqrt(gr * H)
    X, Y = g.mesh("center")
    state = torch.zeros(1, 3, n, n, dtype=torch.float64)
    state[0, 0] = 0.1 * torch.exp(-((X - L / 2) ** 2 + (Y - L / 2) ** 2) / (0.1 * L) ** 2)
    steps = 40
    with torch.no_grad():
        integrate_fixed(model, state, dt, 3, method="rk4")
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            integrate_fixed(model, state, dt, steps, save_every=steps, method="rk4")
            times.append((time.perf_counter() - t0) / steps)
    return (f"SW nonlinear {n}^2 f64 rk4", {"sw": statistics.median(times)})


def bench_sphere_elliptic(args) -> list:
    """Closed-basin Poisson solve per call [s]: today's Cartesian 2-D DST (precomputed multiplier)
    vs the lon/lat row-metric solver of physics.sphere_elliptic (``eig`` and ``thomas``, factors
    precomputed), batch 1 float64, same process, interleaved, medians; ratio = sphere / DST."""
    import numpy as np

    from physics.elliptic import apply_inverse, helmholtz_multiplier
    from physics.sphere_elliptic import RowHelmholtz

    rows = []
    for n in args.sizes:
        gc = Grid(n, n, dx=1e4, dy=1e4, boundary="closed")
        gs = Grid.from_lonlat(np.linspace(-60.0, -40.0, n), np.linspace(25.0, 45.0, n))
        mult = helmholtz_multiplier(gc, 0.0)
        solvers = {m: RowHelmholtz(gs, 0.0, m) for m in ("eig", "thomas")}
        q = torch.randn(1, 1, n, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        calls = {"dst": lambda: apply_inverse(q, gc, mult), **{m: (lambda s=s: s(q)) for m, s in solvers.items()}}
        reps = max(3, 50 * 64**2 // n**2)
        t = {k: [] for k in calls}
        with torch.no_grad():
            for f in calls.values():
                f()  # warm-up
            for _ in range(args.repeats):
                for k, f in calls.items():
                    t0 = time.perf_counter()
                    for _ in range(reps):
                        f()
                    t[k].append((time.perf_counter() - t0) / reps)
        rows.append((f"closed Poisson {n}^2 f64", {k: statistics.median(v) for k, v in t.items()}))
    return rows


def print_sphere_elliptic(args) -> None:
    print(f"{'case':32s} {'DST [ms]':>12s} {'sphere eig':>14s} {'thomas':>12s} {'eig/DST':>8s} {'thom/DST':>9s}")
    for label, med in bench_sphere_elliptic(args):
        ms = {k: 1e3 * v for k, v in med.items()}
        print(f"{label:32s} {ms['dst']:12.3f} {ms['eig']:14.3f} {ms['thomas']:12.3f} "
              f"{med['eig'] / med['dst']:8.2f} {med['thomas'] / med['dst']:9.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (default 1: on a shared, busy host 2 OpenMP threads thrash -- 10-30x slower)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--no-pyqg", action="store_true", help="skip pyqg-jax")
    ap.add_argument("--sphere-only", action="store_true", help="only the closed Poisson solves (DST vs lon/lat rows)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.sphere_only:
        print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, repeats={args.repeats} (medians)")
        print_sphere_elliptic(args)
        return
    if not args.no_pyqg:
        import jax

        jax.config.update("jax_enable_x64", True)
    t_start = time.perf_counter()
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, repeats={args.repeats} (medians)")
    print(f"{'case':32s} {'ours fd':>12s} {'ours spectral':>14s} {'pyqg-jax':>12s} {'fd/pyqg':>8s} {'spec/pyqg':>9s}")
    for label, med in bench_qg(args):
        rate = {k: 1.0 / v for k, v in med.items()}
        pj = rate.get("pyqg-jax")
        r1 = f"{rate['fd'] / pj:8.2f}" if pj else f"{'-':>8s}"
        r2 = f"{rate['spectral'] / pj:9.2f}" if pj else f"{'-':>9s}"
        pjs = f"{pj:12.0f}" if pj else f"{'-':>12s}"
        print(f"{label + ' [steps/s]':32s} {rate['fd']:12.0f} {rate['spectral']:14.0f} {pjs} {r1} {r2}", flush=True)
    label, med = bench_grad(args)
    pj = med.get("pyqg-jax")
    pjs = f"{pj:12.3f}" if pj else f"{'-':>12s}"
    print(f"{label:32s} {med['fd']:12.3f} {med['spectral']:14.3f} {pjs} "
          f"{(pj / med['fd']) if pj else float('nan'):8.2f} {(pj / med['spectral']) if pj else float('nan'):9.2f}"
          "  (ratios: speed-up)")
    sw = bench_sw(args)
    if sw is None:
        print("SW: physics.shallow_water not available")
    else:
        print(f"{sw[0] + ' [steps/s]':32s} {1.0 / sw[1]['sw']:12.0f}")
    print_sphere_elliptic(args)
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
