"""Estimation benchmark of issue 11 (section 4): twins and the real Mediterranean record.

Truths (every one a rectangular x/y box on the tangent plane; :mod:`hybridocean.estimation.benchmark`):

* ``b`` -- two-layer QG turbulence with a jet (:mod:`hybridocean.estimation.twins_qg`): 128 x 128
  periodic cells of 5 km simulated, a 64 x 64 box (320 km) cut out (open boundaries for the
  estimators); 60 daily frames after 30 days of spin-up; learned training on frames 0-39, all
  rows scored on frames 40-59 (held out in time).
* ``med`` -- (c) the 91 daily DUACS L4 maps of the Mediterranean, 2005-04-01..06-30 (real
  evolution, real coasts): the 64 x 64 box of 1/8-degree cells 13.56-21.44 E, 32.06-39.94 N
  (central Ionian Sea: the Gulf of Sirte coast to the south, Calabria, Sicily's south-east tip and
  western Greece to the north; 89.5 % ocean). Chosen as the 64 x 64 box with the most land-free
  rows (32): the space-time PSD score needs whole rows, and 64 x 64 keeps the learned estimator
  and 4D-Var affordable on CPU. Learned training on the observations of days 1-60, every row
  scored on days 61-91.
* ``gulf`` -- (c) the Gulf Stream box 33-43 N, 295-305 E of the four global daily maps
  (0.25 degree, 40 x 40): geostrophy, OI, 4D-Var (QG) on the 4 days. The learned estimator is
  not run there: 4 frames cannot hold a training window + forecast horizon and held-out days.
* ``a`` -- the nonlinear shallow-water beta-plane twin of :mod:`hybridocean.estimation.twins`
  ("demo" size: 64 x 64 closed basin of 10 km, 30 daily frames; scored against its TOTAL
  velocities); learned training on frames 0-19, rows scored on frames 20-29.

The L4 maps are themselves smooth optimal-interpolation products: scores against them are an
upper bound of what real swaths allow (printed with the table).

Scenarios ``i``..``iv`` and the 10 % held-out observations (OI tuning, learned model selection):
:mod:`hybridocean.estimation.benchmark`. Rows (``scripts/_benchmark_rows.py``): ``geostrophy``,
``oi``, ``4dvar_qg``, ``4dvar_sw``, ``learned_neural``, ``learned_physics``, ``learned_hybrid``,
``learned_4dvar`` (:class:`~hybridocean.estimation.learned_fourdvar.LearnedFourDVar` from the
``learned_hybrid`` checkpoint); plus the reference ``truth_geostrophy`` (geostrophy of the full
true SSH: not an estimator). The learned rows and ``4dvar_sw`` run their 1.5-layer QG / shallow-water
models on the box widened by ``pad`` cells (walls away from the open box edges; cropped back);
``4dvar_qg`` on an open box (setting ``open``: b, med, gulf) is the regional 4D-Var
(:class:`~hybridocean.estimation.fourdvar_regional.RegionalFourDVar`: open ring and first background
from the tuned OI, coastline land, the box's own grid); on the closed basin a it is the closed box.
Learned: ``--iterations`` Adam iterations (batch 4, float32, window 4, horizon 4 frames, RK4).
Every estimator works on SSH minus one constant, the mean of the training observations of the training
period (all of them for gulf, which has none; :func:`prepare`): a closed QG box holds no uniform level, and
the constant changes neither ``lambda_x`` nor ``tau_uv``.

Columns: ``mu`` (1 - RMSE / RMS), ``lambda_x`` [km] (space-time PSD score, 0.5 crossing),
``tau_uv``, vorticity score (percent), train / estimate wall time [s], peak memory: each
(truth, scenario, row) runs in its own subprocess, which reports its peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the rise of that peak during the row
(after imports and data loading). Threads: ``--threads`` (torch and OMP/MKL/OPENBLAS).

Resumable: a row whose ``OUT/runs/<truth>/<scenario>/<row>.json`` exists is skipped (``--force``
reruns); the observations, the OI tuning and the learned checkpoints are cached there too.
Writes ``OUT/benchmark.json`` (every row), ``OUT/table.md``, the truth and every estimate as
netCDF, ``OUT/currents_<truth>_<scenario>_<row>.png`` for the best rows.

    nice .venv/bin/python scripts/benchmark_estimation.py --threads 1 --out results/benchmark   # default subset
    nice .venv/bin/python scripts/benchmark_estimation.py --truths a,b,med,gulf --scenarios i,ii,iii,iv --rows all
    .venv/bin/python scripts/benchmark_estimation.py --quick --truths b --scenarios i --rows oi --out /tmp/q
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DAY = 86400.0
ALL_ROWS = ("truth_geostrophy", "geostrophy", "oi", "4dvar_qg", "4dvar_sw", "learned_neural", "learned_physics",
            "learned_hybrid", "learned_4dvar")
#: the default run (sized for ~40 min of two niced processes on the shared 2-core CPU); the
#: full grid is ``--scenarios i,ii,iii,iv --rows all``
DEFAULT_ROWS = tuple(r for r in ALL_ROWS if r != "4dvar_sw")
BASE = dict(first_guess="oi", window=4, horizon=4, hidden=16, batch_size=4, dtype="float32", fourdvar_window_days=10.0,
            fourdvar_save_s=6 * 3600.0, sw_viscosity=20.0, frame_s=DAY)
#: per truth: generator / box, the split, the models' parameters (module docstring); ``open``: the
#: box's edges are open (cut out of a larger flow / the ocean), so the ``4dvar_qg`` row is the regional
#: 4D-Var (open ring and first background from the tuned OI, coastline land, no padding)
SETTINGS = {
    # (a) E4's shallow-water twin, "demo" size: 64 x 64 closed basin of 10 km, 30 daily frames; its
    # walls are real (pad 0); Ld = sqrt(g H) / f0 = 31 km; |u|max ~1 m/s: QG dt 30 min (Courant
    # 0.18), learned RK4 steps 2 h (0.72); SW (c = 3.1 m/s) dt 10 min (Courant 0.35 < AB3's 0.36);
    # qg_pad: the QG rows' psi = 0 walls 4 cells off the basin's (its SSH is not 0 there)
    "a": dict(BASE, Ld=3.1e4, qg_dt=1800.0, sw_dt=450.0, pad=0, qg_pad=4, steps_per_frame=12, oi_lengths=(3e4, 6e4),
              oi_time_scales=(2 * DAY, 5 * DAY), n_train=20),
    # Ld: the twin's own first deformation radius; dt by CFL (|u|max ~0.7 m/s: QG AB3 Courant 0.17,
    # RK4 learned steps 2 h: 1.0; SW gravity waves c = f0 Ld = 2.5 m/s: c dt / dx = 0.3)
    "b": dict(BASE, Ld=2.5e4, qg_dt=1200.0, sw_dt=300.0, pad=8, steps_per_frame=12, oi_lengths=(3e4, 6e4),
              oi_time_scales=(2 * DAY, 5 * DAY), n_frames=60, n_train=40, open=True),
    # Ld 12 km: first baroclinic radius of the Ionian Sea, 10-14 km (Grilli & Pinardi 1998, "The
    # computation of Rossby radii of deformation for the Mediterranean Sea", MTP News 6, 4);
    # |u|max ~0.6 m/s on 11.2 km cells: QG dt 1 h (Courant 0.2), learned RK4 steps 4 h (0.8)
    "med": dict(BASE, sw_nonlinear=False, Ld=1.2e4, qg_dt=3600.0, sw_dt=1800.0, pad=6, steps_per_frame=6, oi_lengths=(5e4, 1e5),
                oi_time_scales=(5 * DAY, 10 * DAY), n_train=60, box=(13.5625, 32.0625, 64, 64), open=True),
    # Ld 30 km near 38 N in the western North Atlantic (Chelton et al. 1998, J. Phys. Oceanogr. 28,
    # 433-460); Gulf Stream |u| up to ~1.5 m/s on 22 km cells: QG dt 30 min (Courant 0.12)
    "gulf": dict(BASE, sw_nonlinear=False, Ld=3e4, qg_dt=1800.0, sw_dt=900.0, pad=6, steps_per_frame=12, oi_lengths=(7.5e4, 1.5e5),
                 oi_time_scales=(3 * DAY, 7 * DAY), n_train=0, box=(295.125, 33.125, 40, 40), fourdvar_window_days=3.0,
                 open=True),
}
QUICK = {"a": dict(n_train=5, oi_lengths=(6e4,), oi_time_scales=(2 * DAY,), steps_per_frame=6, window=2, horizon=2,
                   hidden=4, fourdvar_window_days=2.0),
         "b": dict(n_box=24, n_domain=32, dx=1e4, n_frames=10, spinup_days=2.0, n_train=6, oi_lengths=(6e4,),
                   oi_time_scales=(2 * DAY,), steps_per_frame=6, window=2, horizon=2, hidden=4, fourdvar_window_days=2.0, pad=2)}
TRUTH_ROWS = {"gulf": ("truth_geostrophy", "geostrophy", "oi", "4dvar_qg", "4dvar_sw")}


def settings(truth: str, quick: bool) -> dict:
    s = dict(SETTINGS[truth])
    if quick:
        s.update(QUICK.get(truth, {}))
    return s


# ---------------------------------------------------------------------------------------------- data
def load_truth(name: str, args) -> "xr.Dataset":
    """The truth Dataset (cached as ``OUT/truths/<name>[_quick].nc``)."""
    import xarray as xr

    from hybridocean.estimation.benchmark import lonlat_box_truth
    from hybridocean.io import write_netcdf

    path = Path(args.out) / "truths" / f"{name}{'_quick' if args.quick else ''}.nc"
    if path.exists():
        with xr.open_dataset(path) as ds:
            return ds.load()
    s, data = settings(name, args.quick), Path(args.data)
    if name == "b":
        from hybridocean.estimation.twins_qg import qg_jet_twin

        kw = {k: s[k] for k in ("n_box", "n_domain", "dx", "spinup_days") if k in s}
        ds = qg_jet_twin(n_frames=s["n_frames"], **kw)
    elif name == "med":
        lon0, lat0, nx, ny = s["box"]
        ds = lonlat_box_truth(str(data / "duacs_med_l4_2005" / "dt_med_allsat_phy_l4_2005T2.nc"), lon0, lat0, nx, ny,
                              "DUACS DT Mediterranean L4 adt 2005-04-01..06-30, central Ionian box, tangent plane")
    elif name == "gulf":
        lon0, lat0, nx, ny = s["box"]
        ds = lonlat_box_truth(str(data / "duacs_l4_sample" / "dt_global_allsat_phy_l4_*.nc"), lon0, lat0, nx, ny,
                              "DUACS DT global L4 adt 2018-12-31..2019-01-03, Gulf Stream box, tangent plane")
    elif name == "a":
        from hybridocean.estimation.twins import shallow_water_twin

        ds = shallow_water_twin(size="demo", seed=args.seed, **({"n": 24, "days": 8.0, "spinup_days": 2.0} if args.quick else {}))
    else:
        raise ValueError(f"--truths: unknown truth {name!r} (b, med, gulf, a)")
    write_netcdf(ds, path)
    return ds


def scenario_dir(args, truth: str, scenario: str) -> Path:
    return Path(args.out) / "runs" / f"{truth}{'_quick' if args.quick else ''}" / scenario


def holdout_block(truth) -> float:
    """[m] side of the benchmark's held-out blocks, ``HOLDOUT_BLOCK_CELLS`` grid cells
    (:func:`~hybridocean.observations.holdout.block_holdout`; why that size: its comment)."""
    from hybridocean.estimation.benchmark import holdout_block as block_on, truth_grid

    return block_on(truth_grid(truth))


def _holdout_text(block: float) -> str:
    return f"whole blocks of passes (pieces {block / 1e3:.0f} km along each pass, tiles of frames), observations.block_holdout"


def prepare(truth_name: str, scenario: str, args, check: bool = True):
    """``(truth - c, train obs, held obs, info)`` of a scenario (cached under its run folder).

    ``c`` (``info["offset_m"]``): the mean of the training observations in the training frames'
    bins (all of them for a truth without a training period), removed from the truth and every
    observation: one constant for every row, read from no observation of the scored period.
    ``check``: refuse a cache written with another hold-out (rows would mix two splits)."""
    from hybridocean.estimation.benchmark import holdout_split, remove_offset, scenario_observations
    from hybridocean.io import save_json
    from hybridocean.observations import Observations

    truth = load_truth(truth_name, args)
    d = scenario_dir(args, truth_name, scenario)
    text = _holdout_text(holdout_block(truth))
    if not (d / "info.json").exists():
        obs, info = scenario_observations(truth, scenario, seed=args.seed, data=Path(args.data))
        train, held = holdout_split(obs, seed=args.seed, block=holdout_block(truth))
        d.mkdir(parents=True, exist_ok=True)
        train.to_netcdf(d / "obs_train.nc")
        held.to_netcdf(d / "obs_held.nc")
        n_train, times = settings(truth_name, args.quick)["n_train"], truth["time"].values.astype("datetime64[ns]")
        in_train = train.ssh
        if n_train:
            end = times[n_train - 1] + (times[1] - times[0]) / 2
            in_train = train.ssh[np.asarray(train.time).astype("datetime64[ns]") < end]
        info.update(n_train=len(train), n_held=len(held), offset_m=float(np.nanmean(in_train)), holdout=text,
                    offset="mean of the training observations of the training frames' bins")
        save_json(info, d / "info.json")
    info = json.loads((d / "info.json").read_text())
    if check and info.get("holdout") != text:
        raise ValueError(f"--out: {d} holds observations split by another hold-out ({info.get('holdout')!r}, now "
                         f"{text!r}): use a new --out")
    train, held = Observations.open(d / "obs_train.nc"), Observations.open(d / "obs_held.nc")
    truth0, train, held = remove_offset(truth, info["offset_m"], train, held)
    return truth0, train, held, info


# ---------------------------------------------------------------------------------------------- one row
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def worker(truth_name: str, scenario: str, row: str, args) -> dict:
    """One (truth, scenario, row): estimate, score, write ``<row>.json`` and ``<row>.nc``."""
    import torch

    from _benchmark_rows import ROWS, Context
    from hybridocean.estimation.benchmark import truth_grid
    from hybridocean.estimation.evaluation import evaluate_estimate
    from hybridocean.io import save_json, write_netcdf

    torch.set_num_threads(args.threads)
    truth, train, held, info = prepare(truth_name, scenario, args)
    s = settings(truth_name, args.quick)
    if args.learned_first_guess == "none":
        s["first_guess"] = None
    grid = truth_grid(truth)
    times = np.asarray(truth["time"].values).astype("datetime64[ns]")
    n_train = s["n_train"]
    score_idx = np.arange(n_train, times.size) if n_train else np.arange(times.size)
    # score only maps that observations reach: a frame stands for +- half a spacing about it (tracks may
    # stop hours before the record's last map; no estimator is asked to extrapolate beyond that)
    half = 0.5 * (times[1] - times[0]) if times.size > 1 else np.timedelta64(0, "ns")
    t_obs = np.asarray(train.time).astype("datetime64[ns]")
    score_idx = score_idx[(times[score_idx] >= t_obs.min() - half) & (times[score_idx] <= t_obs.max() + half)]
    d = scenario_dir(args, truth_name, scenario)
    ctx = Context(truth_name, scenario, grid, train, held, times, np.arange(max(n_train, 1)), score_idx, s, d,
                  iterations=args.iterations, fourdvar_iters=args.fourdvar_iters, threads=args.threads)
    rss0 = _rss_mb()
    currents = "file" if "u" in truth else "geostrophic"
    if row == "truth_geostrophy":
        from hybridocean.estimation.base import estimate_dataset, geostrophic_currents

        ssh = torch.as_tensor(truth["ssh"].values[score_idx])  # NaN land: NaN currents beside it
        t0 = time.perf_counter()
        u, v = geostrophic_currents(ssh, grid)
        ds = estimate_dataset(ssh, u, v, grid, times[score_idx], method="truth_geostrophy", parameters={},
                              velocity_kind="geostrophic", estimator="reference: geostrophy of the true SSH")
        rec = {"train_s": 0.0, "estimate_s": time.perf_counter() - t0}
    else:
        if row not in ROWS:
            raise ValueError(f"--rows: unknown row {row!r} ({', '.join(ALL_ROWS)})")
        ds, rec = ROWS[row](ctx)
    land = ~np.isfinite(truth["ssh"].values[score_idx])
    for v in ("ssh", "u", "v"):  # score on the ocean only
        ds[v] = ds[v].where(~land)
    ev = evaluate_estimate(ds, truth.isel(time=score_idx), truth_currents_from=currents)
    sm = ev.summary()
    lam = lambda k: None if "error" in sm[k] else ("inf" if sm[k].get("lambda_x_km") is None else sm[k]["lambda_x_km"])  # noqa: E731
    out = {"truth": truth_name, "scenario": scenario, "row": row, "quick": args.quick, "threads": args.threads,
           "mu": sm["ssh"]["mu"], "rmse_m": sm["ssh"]["rmse"], "lambda_x_km": lam("psd_spacetime"),
           "lambda_x_iso_km": lam("psd_isotropic"), "tau_uv": sm["currents"].get("tau_uv"),
           "tau_vorticity": sm["currents"].get("tau_vorticity"), "train_s": rec.pop("train_s"),
           "estimate_s": rec.pop("estimate_s"), "n_maps": int(score_idx.size), "peak_rss_mb": _rss_mb(),
           "peak_rss_rise_mb": _rss_mb() - rss0, "load_average_1min": os.getloadavg()[0], "observations": info,
           "scores": sm, **rec}
    write_netcdf(ds.assign_attrs(parameters=ds.attrs.get("parameters", "{}")), d / f"{row}.nc")
    save_json(out, d / f"{row}.json")
    return out


# ---------------------------------------------------------------------------------------------- table
def _f(v, fmt):
    return "n/a" if v is None else v if isinstance(v, str) else format(v, fmt)


def table(rows: list) -> str:
    lines = ["| truth | scenario | row | mu | lambda_x [km] | tau_uv | tau_vort | train [s] | estimate [s] | peak RSS [MB] (rise) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['truth']} | {r['scenario']} | {r['row']} | {_f(r['mu'], '.3f')} | {_f(r['lambda_x_km'], '.0f')} | "
                     f"{_f(r['tau_uv'], '.1f')} | {_f(r['tau_vorticity'], '.1f')} | {r['train_s']:.1f} | {r['estimate_s']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} ({r['peak_rss_rise_mb']:.0f}) |")
    return "\n".join(lines)


def truth_notes(names, args) -> dict:
    """One line per truth from its cached file's attributes: for the shallow-water twin (a) the Rossby
    number ``U / (f0 L)`` (RMS and max) and the ageostrophic share of the kinetic energy
    ``|u - u_g|^2 / |u|^2`` (:mod:`hybridocean.estimation.twins`), which geostrophy of the full true
    SSH cannot recover; for the others the grid and source."""
    import xarray as xr

    out = {}
    for t in names:
        path = Path(args.out) / "truths" / f"{t}{'_quick' if args.quick else ''}.nc"
        if not path.exists():
            continue
        with xr.open_dataset(path) as ds:
            a, shape = ds.attrs, f"{ds.sizes['time']} frames of {ds.sizes['y']} x {ds.sizes['x']} cells"
        if "twin_ageostrophic_ke_share" in a:
            out[t] = (f"{shape}; Rossby number {float(a['twin_rossby_number']):.2f} (max "
                      f"{float(a['twin_rossby_number_max']):.2f}); ageostrophic share of the kinetic energy "
                      f"{100 * float(a['twin_ageostrophic_ke_share']):.1f} %")
        else:
            out[t] = shape + ("; " + str(a["twin_source"]) if "twin_source" in a else "")
    return out


def figures(rows: list, args) -> None:
    """Speed and vorticity, truth vs estimate, of the best two rows by ``tau_uv`` per (truth, scenario)."""
    import xarray as xr

    from hybridocean.estimation.evaluation import evaluate_estimate
    from hybridocean.estimation.figures import draw_currents
    from hybridocean.plots import savefig

    groups = {}
    for r in rows:
        if r["row"] != "truth_geostrophy" and r["tau_uv"] is not None:
            groups.setdefault((r["truth"], r["scenario"]), []).append(r)
    for (t, sc), rs in groups.items():
        truth, *_ = prepare(t, sc, args, check=False)
        for r in sorted(rs, key=lambda r: -r["tau_uv"])[:2]:
            with xr.open_dataset(scenario_dir(args, t, sc) / f"{r['row']}.nc") as ds:
                ds = ds.load()  # the row's own scored maps (worker: only frames the observations reach)
            ev = evaluate_estimate(ds, truth.sel(time=ds["time"].values), truth_currents_from="file" if "u" in truth else "geostrophic")
            fig = draw_currents(ev.u_true, ev.v_true, ev.u_est, ev.v_est, time_index=ds.sizes["time"] - 1,
                                title=f"truth {t}, scenario {sc}, {r['row']}: tau_uv {r['tau_uv']:.1f}")
            savefig(fig, Path(args.out) / f"currents_{t}_{sc}_{r['row']}.png")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/benchmark")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--truths", default="b,med,gulf")
    p.add_argument("--scenarios", default="ii,iv", help="comma-separated among i,ii,iii,iv")
    p.add_argument("--rows", default=",".join(DEFAULT_ROWS), help=f"comma-separated among {','.join(ALL_ROWS)}, or all")
    p.add_argument("--iterations", type=int, default=25, help="learned estimator: training iterations")
    p.add_argument("--fourdvar-iters", type=int, default=8, help="4D-Var: L-BFGS iterations per window")
    p.add_argument("--learned-first-guess", choices=("oi", "none"), default="oi",
                   help="learned rows: the tuned OI's maps as the encoder's first guess, or none (the ablation; "
                        "use a separate --out: the row files have the same names)")
    p.add_argument("--quick", action="store_true", help="tiny truths (smoke test)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rerun rows whose JSON exists")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--collect", action="store_true", help="run nothing: table, JSON and figures of the rows already done")
    p.add_argument("--worker", nargs=3, metavar=("TRUTH", "SCENARIO", "ROW"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows == "all":
        args.rows = ",".join(ALL_ROWS)
    if args.worker:
        worker(*args.worker, args)
        return 0
    env = {**os.environ, **{k: str(args.threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    common = ["--out", args.out, "--data", args.data, "--iterations", str(args.iterations), "--fourdvar-iters",
              str(args.fourdvar_iters), "--threads", str(args.threads), "--seed", str(args.seed),
              "--learned-first-guess", args.learned_first_guess] + (["--quick"] if args.quick else [])
    rows, failed = [], []
    for t in args.truths.split(","):
        for sc in args.scenarios.split(","):
            for row in args.rows.split(","):
                if row not in TRUTH_ROWS.get(t, ALL_ROWS):
                    continue
                path = scenario_dir(args, t, sc) / f"{row}.json"
                if args.collect and not path.exists():
                    continue
                if args.force or not path.exists():
                    t0 = time.perf_counter()
                    res = subprocess.run([sys.executable, __file__, "--worker", t, sc, row, *common], env=env,
                                         capture_output=True, text=True)
                    if res.returncode != 0:
                        err = (res.stderr.strip().splitlines() or ["?"])[-1]
                        failed.append({"truth": t, "scenario": sc, "row": row, "error": err})
                        print(f"{t:5s} {sc:4s} {row:16s} FAILED: {err}", flush=True)
                        continue
                    print(f"{t:5s} {sc:4s} {row:16s} done in {time.perf_counter() - t0:.0f} s", flush=True)
                r = json.loads(path.read_text())
                rows.append(r)
                print(f"{t:5s} {sc:4s} {row:16s} mu={_f(r['mu'], '.3f')} lambda_x={_f(r['lambda_x_km'], '.0f')} "
                      f"tau_uv={_f(r['tau_uv'], '.1f')} train={r['train_s']:.1f}s est={r['estimate_s']:.1f}s", flush=True)
    from hybridocean.io import save_json

    caveat = ("The med and gulf truths are DUACS L4 maps, themselves smooth optimal-interpolation products: scores "
              "against them are an upper bound of what real swaths allow.")
    truths = truth_notes(sorted({r["truth"] for r in rows}), args)
    md = table(rows) + ("\n\n" + "\n".join(f"* truth {t}: {d}" for t, d in truths.items()) if truths else "")
    save_json({"rows": rows, "failed": failed, "caveat": caveat, "truths": truths, "settings": {t: settings(t, args.quick) for t in SETTINGS},
               "command": sys.argv}, Path(args.out) / "benchmark.json")
    (Path(args.out) / "table.md").write_text(md + "\n\n" + caveat + "\n")
    if rows and not args.no_figures:
        figures(rows, args)
    print("\n" + md + "\n\n" + caveat)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
