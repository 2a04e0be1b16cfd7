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
* closed-basin Helmholtz solve per call: Cartesian 2-D DST vs the masked capacitance solve
  (``physics.capacitance``: a peninsula basin and random 2 x 2 islands; coast-point count and
  one-off factorisation time reported) vs the lon/lat row-metric solver
  (``physics.sphere_elliptic.RowHelmholtz``, ``eig`` and ``thomas``) at ``--sizes``; and one
  1.5-layer QG tendency on a sphere grid vs the beta-plane grid of the same box (a note instead if
  ``physics.qg`` refuses sphere grids) -- ``--sphere-only`` runs just these rows.

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


def _islands(n: int, count: int, seed: int = 0) -> torch.Tensor:
    """Ocean mask ``(n, n)`` with ``count`` random 2 x 2 islands away from the walls (bool, True = ocean)."""
    gen = torch.Generator().manual_seed(seed)
    ocean = torch.ones(n, n, dtype=torch.bool)
    for j, i in torch.randint(3, n - 5, (count, 2), generator=gen).tolist():
        ocean[j:j + 2, i:i + 2] = False
    return ocean


def _peninsula(n: int) -> torch.Tensor:
    """A basin with a 2-cell-wide peninsula from the south wall (2/3 of the height) and a staircase
    north-east coast (bool ``(n, n)``, True = ocean): tests/physics/_land.py's basin without its west coast."""
    ocean = torch.ones(n, n, dtype=torch.bool)
    ocean[: 2 * n // 3, n // 2: n // 2 + 2] = False
    for k in range(n // 4):
        ocean[n - 1 - k:, n - n // 4 + k:] = False
    return ocean


def _time_calls(calls: dict, repeats: int, reps: int) -> dict:
    """Median seconds per call of each callable, interleaved over ``repeats`` rounds of ``reps`` calls."""
    t = {k: [] for k in calls}
    with torch.no_grad():
        for f in calls.values():
            f()  # warm-up
        for _ in range(repeats):
            for k, f in calls.items():
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                t[k].append((time.perf_counter() - t0) / reps)
    return {k: statistics.median(v) for k, v in t.items()}


def bench_sphere_elliptic(args) -> list:
    """Closed-basin Helmholtz solve ``(Lap - 1/Ld^2) psi = q`` (Ld = 30 km, dx = 10 km) per call [s],
    batch 1 float64, same process, interleaved, medians: the Cartesian 2-D DST (precomputed multiplier),
    the masked capacitance solve (physics.capacitance; a peninsula basin and 2 x 2 random islands, the
    one-off factorisation timed once and reported apart, with the coast-point count P), and the lon/lat
    row-metric solver of physics.sphere_elliptic (``eig`` and ``thomas``, factors precomputed)."""
    import numpy as np

    from physics.capacitance import CapacitanceSolver
    from physics.elliptic import apply_inverse, helmholtz_multiplier
    from physics.masks import ocean_corner_mask
    from physics.sphere_elliptic import RowHelmholtz

    kappa2 = 1.0 / 30e3**2
    rows = []
    for n in args.sizes:
        gc = Grid(n, n, dx=1e4, dy=1e4, boundary="closed")
        gs = Grid.from_lonlat(np.linspace(-60.0, -40.0, n), np.linspace(25.0, 45.0, n))
        mult = helmholtz_multiplier(gc, kappa2)
        setup, coast, solvers = {}, {}, {}
        for name, ocean in (("peninsula", _peninsula(n)), ("islands", _islands(n, max(4, n // 8)))):
            t0 = time.perf_counter()
            solvers[name] = CapacitanceSolver(gc, ocean_corner_mask(gc, ocean), kappa2)
            setup[name] = time.perf_counter() - t0
            coast[name] = int(solvers[name].coast.numel())
        for m in ("eig", "thomas"):
            solvers[m] = RowHelmholtz(gs, kappa2, m)
        q = torch.randn(1, 1, n, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        calls = {"dst": lambda: apply_inverse(q, gc, mult), **{k: (lambda s=s: s.solve(q) if hasattr(s, "solve") else s(q))
                                                             for k, s in solvers.items()}}
        med = _time_calls(calls, args.repeats, max(3, 50 * 64**2 // n**2))
        rows.append((f"closed Helmholtz {n}^2 f64", med, coast, setup))
    return rows


def bench_sphere_qg(args) -> list:
    """One 1.5-layer QG tendency (closed box, Ld = 30 km, nu4 on) [s]: Cartesian (beta-plane) grid vs a
    sphere grid of the same lon/lat box (33-43 N); a row with None and the reason if physics.qg refuses the sphere."""
    import numpy as np

    rows = []
    for n in args.sizes:
        lon, lat = np.linspace(295.125, 304.875, n), np.linspace(33.125, 42.875, n)
        models = {}
        for metric in ("beta_plane", "sphere"):
            grid = Grid.from_lonlat(lon, lat, metric=metric)
            try:
                models[metric] = QG(grid, Ld=30e3, nu4=1e10, check_finite=False)
            except ValueError as err:
                models[metric] = str(err).split("(")[0].strip()
        if isinstance(models["sphere"], str):
            rows.append((f"QG 1.5-layer tendency {n}^2", None, models["sphere"]))
            continue
        gen = torch.Generator().manual_seed(0)
        q = {k: 1e-6 * torch.randn(1, 1, n, n, generator=gen, dtype=torch.float64) * m.mask for k, m in models.items()}
        calls = {k: (lambda m=m, x=q[k]: m(0.0, x)) for k, m in models.items()}
        rows.append((f"QG 1.5-layer tendency {n}^2", _time_calls(calls, args.repeats, max(3, 50 * 64**2 // n**2)), ""))
    return rows


def print_sphere_elliptic(args) -> None:
    print(f"{'case':28s} {'DST [ms]':>9s} {'peninsula':>10s} {'islands':>9s} {'sphere eig':>11s} {'thomas':>8s}"
          f" {'pen/DST':>8s} {'isl/DST':>8s} {'eig/DST':>8s} {'thom/DST':>9s}   coast points P, factorisation [s]")
    for label, med, coast, setup in bench_sphere_elliptic(args):
        ms = {k: 1e3 * v for k, v in med.items()}
        r = {k: med[k] / med["dst"] for k in med}
        print(f"{label:28s} {ms['dst']:9.3f} {ms['peninsula']:10.3f} {ms['islands']:9.3f} {ms['eig']:11.3f} "
              f"{ms['thomas']:8.3f} {r['peninsula']:8.2f} {r['islands']:8.2f} {r['eig']:8.2f} {r['thomas']:9.2f}   "
              f"peninsula P={coast['peninsula']} ({setup['peninsula']:.2f} s), islands P={coast['islands']} "
              f"({setup['islands']:.2f} s)", flush=True)
    for label, med, why in bench_sphere_qg(args):
        if med is None:
            print(f"{label:28s} sphere QG not available: {why}", flush=True)
        else:
            print(f"{label:28s} beta-plane {1e3 * med['beta_plane']:8.3f} ms, sphere {1e3 * med['sphere']:8.3f} ms, "
                  f"sphere/beta-plane {med['sphere'] / med['beta_plane']:5.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (default 1: on a shared, busy host 2 OpenMP threads thrash -- 10-30x slower)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--no-pyqg", action="store_true", help="skip pyqg-jax")
    ap.add_argument("--sphere-only", action="store_true", help="only the closed Helmholtz solves (DST, masked, lon/lat rows) and the sphere QG row")
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
