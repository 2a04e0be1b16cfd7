"""Regional 4D-Var on the real Mediterranean record: OI vs 4D-Var with open boundaries from the OI.

Case:

* truth: the DUACS DT Mediterranean L4 ``adt`` maps of ``../shared/data/duacs_med_l4_2005/``
  (1/8 degree), days 61-91 (2005-05-31 .. 06-30, the last 31 of the 91), cropped to the
  ``--n`` x ``--n`` cells from (``--lon0``, ``--lat0``) (default 48 x 48 from 2.0 E, 36.5 N:
  the Algerian coast, the Balearic Sea and Mallorca/Menorca -- real coasts and islands; land =
  the cells the L4 leaves NaN);
* scenarios (:class:`hybridocean.observations.Constellation` over the 31 days): ``iii`` -- 4 nadir
  altimeters (Jason-3, Sentinel-3A/B, SARAL, error-free as in the 2020a data challenge); ``iv`` --
  SWOT (real ephemeris, KaRIn noise table at SWH 2 m, pixels averaged per cell and hour) + the 4
  nadirs -- the sampling of :func:`hybridocean.estimation.benchmark.scenario_observations`;
  10 % of the observations held out in whole blocks of passes (:func:`~hybridocean.estimation.benchmark.holdout_split`),
  the training observations' mean level removed from everything (``remove_offset``);
* OI: parameters chosen on the held-out observations
  (:func:`~hybridocean.estimation.benchmark.tune_oi`: ``Lx = Ly`` 0.5 or 1 degree, ``Lt`` 5 or 10
  days, noise 1 or 3 cm, at every 6th day), never the truth; observations within 2 ``Lt`` of a map
  enter it (``--oi-window-days``: within that many days -- 3 for scenario iv, whose ~13 000
  super-observations would otherwise make each dense OI solve take minutes);
* 4D-Var: :class:`hybridocean.estimation.fourdvar_regional.RegionalFourDVar` -- 1.5-layer QG on
  the sphere grid with the coasts, open ring with boundary values from the tuned OI, every
  window's background the OI map at its start (``--cycle``: the previous window's forecast
  instead), 3-day windows (10 cover the 30 days), ``dt`` 2 h, ``Ld`` 12 km (first baroclinic
  radius of the Mediterranean, 10-14 km: Grilli & Pinardi 1998, "The computation of Rossby radii
  of deformation for the Mediterranean Sea", MTP News 6, 4), ``B`` 3 cm / 40 km, observation
  error 3 cm, boundary SSH in the control (1 cm), 8 L-BFGS iterations per window. The window,
  the background choice and the observation error were picked by the held-out RMS misfit (never
  the truth) among four settings on a 24 x 24 sub-box, scenario iii: (3 d, cycled, 3 cm) 6.6 mm,
  (3 d, OI every window, 3 cm) 4.1 mm, (6 d, cycled, 3 cm, 60 km) 10.1 mm, (3 d, cycled, 2 cm,
  weak constraint 2 cm) 8.3 mm -- the OI's own held-out misfit was 1.8 mm;
* scores (:func:`hybridocean.estimation.evaluation.evaluate_estimate`) against the L4 maps: ``mu``,
  ``lambda_x`` (space-time PSD), ``tau_uv`` and the vorticity score against the geostrophic
  currents of the maps; wall time of each estimate.

The L4 maps are themselves smooth OI products: the scores are an upper bound of what the real
swaths allow, and an OI is favoured when it reproduces an OI. Writes ``OUT/bench_fourdvar_regional.json``
and ``OUT/ssh_<method>_<scenario>.png``; prints a Markdown table.

    nice .venv/bin/python scripts/bench_fourdvar_regional.py --scenarios iii --out results/bench_fourdvar_regional/iii
    nice .venv/bin/python scripts/bench_fourdvar_regional.py --scenarios iv --oi-window-days 3 \
        --out results/bench_fourdvar_regional/iv
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DAY = 86400.0


def _lam(score: dict):
    if "error" in score:
        return None
    return "inf" if score.get("lambda_x_km") is None else score["lambda_x_km"]


def _fmt(v, fmt: str) -> str:
    return "n/a" if v is None else v if isinstance(v, str) else format(v, fmt)


def truth_box(data: Path, lon0: float, lat0: float, n: int):
    """The L4 maps of days 61-91 on the ``n x n`` cells from (lon0, lat0), SSH named ``ssh``."""
    from hybridocean.observations import read_l4

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = read_l4(str(data / "duacs_med_l4_2005" / "dt_med_allsat_phy_l4_2005T2.nc"),
                     bbox=(lon0, lon0 + n * 0.125 + 0.01, lat0, lat0 + n * 0.125 + 0.01))
    ds = ds.isel(time=slice(60, 91), latitude=slice(0, n), longitude=slice(0, n))
    name = "adt" if "adt" in ds else "sla"
    ds = ds[[name]].rename({name: "ssh"})
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "ssh_variable"}
    return ds


def observations(truth, scenario: str, data: Path, seed: int):
    from hybridocean.estimation.benchmark import NADIRS, superobs
    from hybridocean.observations import Constellation, grid_from_dataset

    times = truth["time"].values
    days = float((times[-1] - times[0]) / np.timedelta64(1, "D"))
    kw = {}
    names = NADIRS if scenario == "iii" else "swot," + NADIRS
    if scenario == "iv":
        orbit = data / "swot_orbit"
        kw = dict(ephemeris={"swot": str(orbit / "ephemeris_science_sept2015_ell.txt")},
                  karin_noise=str(orbit / "karin_noise_v2.nc"))
    raw = Constellation(names, times[0], days, **kw).sample(truth, seed=seed)
    obs = superobs(raw, grid_from_dataset(truth), times[0], days) if scenario == "iv" else raw
    return raw, obs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", default="results/bench_fourdvar_regional")
    p.add_argument("--scenarios", default="iii,iv")
    p.add_argument("--lon0", type=float, default=2.0)
    p.add_argument("--lat0", type=float, default=36.5)
    p.add_argument("--n", type=int, default=48)
    p.add_argument("--window-days", type=float, default=3.0)
    p.add_argument("--obs-error", type=float, default=0.03, help="4D-Var observation error std [m]")
    p.add_argument("--cycle", action="store_true", help="each window's background = the previous forecast")
    p.add_argument("--dt-hours", type=float, default=2.0)
    p.add_argument("--max-iter", type=int, default=8)
    p.add_argument("--sigma-boundary", type=float, default=0.01, help="[m]; <= 0: boundary not controlled")
    p.add_argument("--oi-window-days", type=float, default=None,
                   help="observations within this many days of an OI map enter it (default 2 Lt, the challenge's; "
                        "the dense SWOT scenario iv needs ~3 to keep the dense OI affordable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-figures", action="store_true")
    args = p.parse_args(argv)

    import torch

    from hybridocean.estimation.benchmark import HOLDOUT_BLOCK_CELLS, holdout_split, remove_offset, tune_oi
    from hybridocean.estimation.evaluation import evaluate_estimate
    from hybridocean.estimation.fourdvar_regional import RegionalFourDVar
    from hybridocean.estimation.oi import OptimalInterpolation
    from hybridocean.io import save_json
    from hybridocean.observations import grid_from_dataset
    from hybridocean.observations.holdout import block_size

    torch.set_num_threads(args.threads)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    truth_raw = truth_box(data, args.lon0, args.lat0, args.n)
    grid = grid_from_dataset(truth_raw)
    times = truth_raw["time"].values
    ocean = np.isfinite(truth_raw["ssh"].values).all(axis=0)
    rows, runs = [], []
    for scen in args.scenarios.split(","):
        raw, obs = observations(truth_raw, scen, data, args.seed)
        train, held = holdout_split(obs, seed=args.seed, block=block_size(obs, grid, HOLDOUT_BLOCK_CELLS))
        offset = float(np.mean(train.ssh))
        truth, train, held = remove_offset(truth_raw, offset, train, held)
        t0 = time.perf_counter()
        best, table = tune_oi(train, held, grid, times[::6], lengths=(0.5, 1.0), time_scales=(5 * DAY, 10 * DAY),
                              noises=(0.01, 0.03),
                              obs_window_s=None if args.oi_window_days is None else args.oi_window_days * DAY)
        tune_s = time.perf_counter() - t0
        print(f"{scen}: {len(raw)} raw obs, {len(obs)} used ({len(train)} train), OI tuned {best} in {tune_s:.0f}s", flush=True)
        ests = {"oi": OptimalInterpolation(**best),
                "4dvar_regional": RegionalFourDVar(
                    OptimalInterpolation(**best), mask=ocean, Ld=1.2e4, window=args.window_days * DAY,
                    dt=args.dt_hours * 3600.0, save_every=3, sigma_b=0.03, length_b=4e4, obs_error=args.obs_error,
                    oi_every_window=not args.cycle,
                    max_iter=args.max_iter, sigma_boundary=args.sigma_boundary if args.sigma_boundary > 0 else None)}
        for method, est in ests.items():
            t0 = time.perf_counter()
            ds = est.estimate(train, grid, times)
            wall = time.perf_counter() - t0
            ev = evaluate_estimate(ds, truth)
            s = ev.summary()
            row = {"method": method, "scenario": scen, "n_obs": len(train), "mu": s["ssh"]["mu"],
                   "rmse_m": s["ssh"]["rmse"], "lambda_x_km": _lam(s["psd_spacetime"]),
                   "tau_uv": s["currents"].get("tau_uv"), "tau_vorticity": s["currents"].get("tau_vorticity"),
                   "wall_s": wall}
            extra = {}
            if method != "oi":
                extra["windows"] = [{k: w[k] for k in ("start_s", "n_obs", "n_iter", "n_eval", "cost", "wall_s")}
                                    for w in est.windows_]
            rows.append(row)
            runs.append({**row, "oi_tuning": table, "oi_parameters": best, "scores": s, **extra})
            print(f"  {method:15s} mu={row['mu']:.3f} lambda_x={_fmt(row['lambda_x_km'], '.0f')} "
                  f"tau_uv={_fmt(row['tau_uv'], '.1f')} tau_zeta={_fmt(row['tau_vorticity'], '.1f')} wall={wall:.0f}s", flush=True)
            if not args.no_figures:
                from hybridocean.estimation.figures import draw_ssh_maps
                from hybridocean.plots import savefig

                savefig(draw_ssh_maps(ev.ssh_true, ev.ssh_est, obs=train, times=[0, ds.sizes["time"] - 1],
                                      title=f"{method}, scenario {scen} ({len(train)} obs)"), out / f"ssh_{method}_{scen}.png")
    summary = {
        "case": {"truth": "DUACS DT Mediterranean L4 adt 2005, days 61-91", "lon0": args.lon0, "lat0": args.lat0,
                 "cells": [args.n, args.n], "land_fraction": float(1 - ocean.mean()), "window_days": args.window_days,
                 "dt_hours": args.dt_hours, "max_iter": args.max_iter, "obs_error_m": args.obs_error,
                 "oi_window_days": args.oi_window_days if args.oi_window_days is not None else "2 Lt",
                 "background": "previous forecast" if args.cycle else "OI every window", "sigma_boundary_m": args.sigma_boundary,
                 "seed": args.seed, "threads": args.threads,
                 "caveat": "the L4 maps are smooth OI products: scores against them are an upper bound"},
        "rows": rows, "runs": runs,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
    }
    save_json(summary, out / "bench_fourdvar_regional.json")
    print("\n| method | scenario | n_obs | mu | lambda_x [km] | tau_uv | tau_zeta | wall [s] |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['method']} | {r['scenario']} | {r['n_obs']} | {_fmt(r['mu'], '.3f')} | {_fmt(r['lambda_x_km'], '.0f')} | "
              f"{_fmt(r['tau_uv'], '.1f')} | {_fmt(r['tau_vorticity'], '.1f')} | {r['wall_s']:.0f} |")
    print("\nThe L4 maps are smooth OI products: scores against them are an upper bound of what real swaths allow.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
