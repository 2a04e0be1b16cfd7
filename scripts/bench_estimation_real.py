"""Real-data estimation benchmark: the DUACS L4 sample maps sampled by real SWOT swaths and nadir
altimeters, mapped back by every estimator, scored against the maps themselves.

Case (the issue's "real case"):

* truth: the four daily DUACS delayed-time global L4 maps of ``../shared/data/duacs_l4_sample/``
  (2018-12-31 .. 2019-01-03, 0.25 deg, ``adt``), cropped to the Gulf Stream box 33-43 N,
  295-305 E (40 x 40 cells);
* constellations (:class:`hybridocean.observations.Constellation`, window = the 3 days the maps
  span): ``swot`` -- KaRIn swaths along the real SWOT science-orbit ephemeris
  (``swot_orbit/ephemeris_science_sept2015_ell.txt``) with the KaRIn noise table
  (``karin_noise_v2.nc``, SWH 2 m) + its nadir altimeter; ``4nadir`` -- Jason-3, Sentinel-3A/B
  and SARAL on their generated repeat orbits; ``swot+4nadir`` -- both. Nadir white noise
  ``--nadir-noise`` (default 0.02 m: the 1 Hz noise of a Poseidon-class altimeter at SWH = 2 m,
  Tran et al. 2002, J. Atmos. Oceanic Technol. 19, 2095-2107, who measure 1.5-2.5 cm);
* methods: ``geostrophic``, ``cyclogeostrophic``, ``oi`` (``--methods``; OI with the challenge's
  defaults -- Lx = Ly = 1 degree, Lt = 7 days, noise 0.05 -- but ``prior_mean="obs"``, the mean
  of the observations, since the truth is ADT with a ~0.5 m mean level; ``--oi-param`` overrides),
  output at the four map times on the map grid; KaRIn pixels are first averaged into 1-hour
  cell means (:func:`superobs`, ``--superobs-hours``);
* scores (:func:`hybridocean.estimation.evaluation.evaluate_estimate`): ``mu`` (and ``mu'``
  with the mean removed), ``lambda_x`` of the space-time and isotropic PSD scores [km],
  ``tau_uv`` / ``tau_zeta`` against the geostrophic currents of the full maps, wall time of the
  estimate.

Caveats (print them beside the table): the "truth" is itself an OI product (DUACS maps ~100-150 km
scales; an OI reproduces an OI); 4 days are few against a 7-day OI time scale (and the space-time
PSD has a single positive frequency, so ``lambda_t`` means little); ``mu`` on ADT includes the
mean dynamic topography in the reference RMS and reads high (``mu'`` does not).

Writes ``OUT/bench_estimation_real.json`` (every score, the settings, versions) and
``OUT/ssh_<method>_<constellation>.png`` (truth vs estimate with the observations), and prints
a Markdown table. Default run: a few minutes on 2 shared CPU cores.

    .venv/bin/python scripts/bench_estimation_real.py --out results/bench_estimation_real
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hybridocean.estimation.benchmark import superobs  # noqa: E402  (KaRIn super-observations)

BOX = (295.0, 305.0, 33.0, 43.0)  # lon0, lon1, lat0, lat1 [degrees]
CONSTELLATIONS = {
    "swot": "swot",
    "4nadir": "jason3,sentinel3a,sentinel3b,saral",
    "swot+4nadir": "swot,jason3,sentinel3a,sentinel3b,saral",
}



def _fmt(v, fmt: str) -> str:
    """A score for the table: ``n/a`` where it could not be computed (None)."""
    return "n/a" if v is None else v if isinstance(v, str) else format(v, fmt)

def _param(text: str):
    from hybridocean.estimation.cli import _param as parse

    return parse(text)


def _lam(score: dict):
    """``lambda_x_km`` of a score dict: the number, ``"inf"`` when no scale reaches a score of 0.5
    (JSON null without an error), None when the score could not be computed (its ``error``)."""
    if "error" in score:
        return None
    return "inf" if score.get("lambda_x_km") is None else score["lambda_x_km"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="the shared data folder")
    p.add_argument("--out", default="results/bench_estimation_real", help="output folder")
    p.add_argument("--methods", default="geostrophic,cyclogeostrophic,oi")
    p.add_argument("--constellations", default=",".join(CONSTELLATIONS))
    p.add_argument("--nadir-noise", type=float, default=0.02, help="nadir white-noise std [m] (default 0.02)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--oi-param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                   help="argument of the OI estimator (repeatable)")
    p.add_argument("--superobs-hours", type=float, default=1.0,
                   help="average the points per grid cell and time bin of this length before mapping (0: off)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-figures", action="store_true")
    args = p.parse_args(argv)

    import torch

    from hybridocean.estimation.cli import build_estimator
    from hybridocean.estimation.evaluation import evaluate_estimate
    from hybridocean.observations import Constellation, grid_from_dataset, read_l4

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's land fill (none in this box) is masked with a warning
        truth = read_l4(str(data / "duacs_l4_sample" / "dt_global_allsat_phy_l4_*.nc"), bbox=BOX)
    grid = grid_from_dataset(truth)
    times = truth["time"].values
    days = float((times[-1] - times[0]) / np.timedelta64(1, "D"))
    orbit = data / "swot_orbit"
    rows, runs = [], []
    for cname in args.constellations.split(","):
        const = Constellation(CONSTELLATIONS[cname], times[0], days,
                              ephemeris={"swot": str(orbit / "ephemeris_science_sept2015_ell.txt")},
                              karin_noise=str(orbit / "karin_noise_v2.nc"), nadir_noise_std=args.nadir_noise)
        raw = const.sample(truth, seed=args.seed)
        counts = {pl: int((raw.platform == pl).sum()) for pl in raw.platforms}
        obs = superobs(raw, grid, times[0], days, args.superobs_hours)
        for method in args.methods.split(","):
            params = {"prior_mean": "obs", **dict(args.oi_param)} if method == "oi" else {}
            est = build_estimator(method, params, None)
            # the binning baselines map only times with observations within their window: score those
            margin = np.timedelta64(int(est.time_margin() * 1e9), "ns")
            ok = (times >= obs.time.min() - margin) & (times <= obs.time.max() + margin)
            if not ok.any():
                print(f"{method:17s} {cname:12s} no map time within the observations' span +- margin: skipped")
                continue
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ds = est.estimate(obs, grid, times[ok])
            wall = time.perf_counter() - t0
            mapped = np.isfinite(ds[ds.attrs["ssh_variable"]].values).reshape(ds.sizes["time"], -1).any(axis=1)
            ds = ds.isel(time=np.flatnonzero(mapped))  # a time bin without any observation is all NaN
            if ds.sizes["time"] == 0:
                print(f"{method:17s} {cname:12s} every output map is empty: skipped")
                continue
            ev = evaluate_estimate(ds, truth)
            s = ev.summary()
            row = {
                "method": method, "constellation": cname, "n_obs": len(raw), "n_superobs": len(obs),
                "n_times": int(ds.sizes["time"]),
                "mu": s["ssh"]["mu"], "mu_anomaly": s["ssh_anomaly"]["mu"], "rmse_m": s["ssh"]["rmse"],
                "lambda_x_km": _lam(s["psd_spacetime"]), "lambda_x_iso_km": _lam(s["psd_isotropic"]),
                "tau_uv": s["currents"].get("tau_uv"), "tau_vorticity": s["currents"].get("tau_vorticity"),
                "wall_s": wall, "warnings": sorted({str(w.message).splitlines()[0] for w in caught})[:3],
            }
            rows.append(row)
            runs.append({**row, "observations": counts, "parameters": json.loads(ds.attrs["parameters"]),
                         "scores": s})
            print(f"{method:17s} {cname:12s} T={row['n_times']} mu={row['mu']:.3f} mu'={row['mu_anomaly']:.3f} "
                  f"tau_uv={_fmt(row['tau_uv'], '.1f')} wall={wall:.2f}s", flush=True)
            if not args.no_figures:
                from hybridocean.estimation.figures import draw_ssh_maps
                from hybridocean.plots import savefig

                savefig(draw_ssh_maps(ev.ssh_true, ev.ssh_est, obs=obs, times=sorted({0, ds.sizes["time"] - 1}),
                                      title=f"{method}, {cname} ({len(obs)} obs)"), out / f"ssh_{method}_{cname}.png")
    summary = {
        "case": {"truth": "DUACS DT global L4 adt, 2018-12-31..2019-01-03, 0.25 deg", "box_lon_lat": BOX,
                 "grid": [grid.ny, grid.nx], "window_days": days, "nadir_noise_m": args.nadir_noise,
                "superobs_hours": args.superobs_hours,
                 "karin_noise": "karin_noise_v2.nc at SWH 2 m", "seed": args.seed,
                 "truth_currents": "geostrophic currents of the full maps (order 2)",
                 "caveats": ["the truth maps are themselves an OI product",
                             "4 days are few against a 7-day OI time scale; the space-time PSD has one positive frequency",
                             "mu on ADT includes the mean level in RMS(truth); mu_anomaly removes the truth's mean"]},
        "rows": rows, "runs": runs,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
        "threads": args.threads,
    }
    from hybridocean.io import save_json

    save_json(summary, out / "bench_estimation_real.json")
    print("\n| method | constellation | n_obs (superobs) | maps | mu | mu' | lambda_x [km] | lambda_x iso [km] | tau_uv | tau_zeta | wall [s] |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    f = _fmt
    for r in rows:
        print(f"| {r['method']} | {r['constellation']} | {r['n_obs']} ({r['n_superobs']}) | {r['n_times']} | {f(r['mu'], '.3f')} | {f(r['mu_anomaly'], '.3f')} | "
              f"{f(r['lambda_x_km'], '.0f')} | {f(r['lambda_x_iso_km'], '.0f')} | {f(r['tau_uv'], '.1f')} | "
              f"{f(r['tau_vorticity'], '.1f')} | {r['wall_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
