"""``hybridocean observe``: sample a gridded SSH truth with a satellite constellation.

::

    hybridocean observe --truth L4.nc --constellation swot,jason3,sentinel3a \\
        --start 2019-01-01 --days 10 --seed 0 --out obs.nc

reads the truth with :func:`hybridocean.observations.l4.read_l4` (a DUACS L4 map or several, any CF
lon/lat SSH file, or a simulation written by :func:`hybridocean.io.states_to_dataset`), samples it
with :class:`hybridocean.observations.constellation.Constellation` and writes an
:class:`~hybridocean.observations.core.Observations` netCDF atomically. It prints the points
each platform contributed and, per day, the fraction of the grid cells (and of the ocean cells)
holding at least one observation. Bad input raises ``ValueError``/``TypeError``/``OSError`` (or
:class:`hybridocean.cli.UserError`), which :func:`hybridocean.cli.main` prints as one
``hybridocean: error:`` line with exit status 2.

Registered in :data:`hybridocean.cli.SUBCOMMANDS` (``add_parser(subparsers)``, ``run(args)``).
"""
from __future__ import annotations

import argparse
import math
import sys
import warnings

import numpy as np

PROG = "hybridocean observe"
#: Constellation members (kept here, not imported, so building the parser stays light; a test
#: checks it equals :func:`hybridocean.observations.constellation.platform_names`).
PLATFORM_NAMES = ("cryosat2", "hy2a", "hy2b", "jason3", "saral", "sentinel3a", "sentinel3b", "swot", "swot_calval",
                  "swot_karin", "swot_nadir")


def _floats(n: int, what: str):
    def parse(s: str):
        try:
            v = tuple(float(x) for x in s.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated numbers, got {s!r}") from None
        if len(v) != n or not all(math.isfinite(x) for x in v):
            raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated finite numbers, got {s!r}")
        return v
    return parse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Create the ``observe`` subparser on ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser("observe", help="sample a gridded SSH truth with satellite tracks and write observations",
                              description=__doc__.split("\n\n")[0])
    _arguments(p)
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truth", nargs="+", required=True, help="gridded SSH file(s) or a glob (L4 maps or a library simulation)")
    p.add_argument("--variable", default=None, help="SSH variable of the truth (default: recognised automatically)")
    p.add_argument("--constellation", required=True, help=f"comma-separated platforms: {','.join(PLATFORM_NAMES)}")
    p.add_argument("--start", default=None, help="window start, e.g. 2019-01-01 (default: the first truth time)")
    p.add_argument("--days", type=float, default=None, help="window length in days (default: up to the last truth time)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the noise (default 0)")
    p.add_argument("--out", required=True, help="output Observations netCDF (written atomically)")
    p.add_argument("--bbox", type=_floats(4, "--bbox"), default=None, help="lon0,lon1,lat0,lat1: crop the truth (degrees; write --bbox=-80,-40,20,50 when lon0 < 0)")
    p.add_argument("--ephemeris", default=None, help="SWOT science-orbit ephemeris file (default: the repeat-orbit generator)")
    p.add_argument("--calval-ephemeris", default=None, help="SWOT cal/val (1-day) ephemeris file for swot_calval")
    p.add_argument("--karin-noise", default=None, help="karin_noise_v2.nc: KaRIn noise by cross-track distance and SWH")
    p.add_argument("--karin-std", type=float, default=0.0, help="white KaRIn noise std [m] when no --karin-noise (default 0)")
    p.add_argument("--swh", type=float, default=2.0, help="significant wave height for the KaRIn table [m] (default 2)")
    p.add_argument("--nadir-noise", type=float, default=0.0, help="white noise std of nadir altimeters [m] (default 0)")
    p.add_argument("--roll-std", type=float, default=0.0, help="roll error std at 60 km cross-track [m] (default 0: off)")
    p.add_argument("--roll-length-km", type=float, default=1000.0, help="along-track correlation length of the roll error [km]")
    p.add_argument("--center", type=_floats(2, "--center"), default=None,
                   help="lon,lat of the centre of an x/y truth without lon/lat (default: lon 0, lat from f0; --center=-30,35)")


def run(args: argparse.Namespace) -> int:
    """Execute ``observe`` with parsed ``args``; returns 0. Bad input raises (see the module docstring)."""
    from hybridocean.cli import output_file

    from .constellation import Constellation, as_datetime, daily_coverage, truth_array
    from .core import seconds_since
    from .l4 import read_l4

    out = output_file(args.out)
    for name in ("karin_std", "nadir_noise", "roll_std"):
        v = getattr(args, name)
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"--{name.replace('_', '-')} must be a noise std >= 0 (metres), got {v}")
    if args.days is not None and not (math.isfinite(args.days) and args.days > 0):
        raise ValueError(f"--days must be > 0, got {args.days}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        truth = read_l4(args.truth if len(args.truth) > 1 else args.truth[0], bbox=args.bbox)
    for w in caught:
        print(f"{PROG}: note: {str(w.message).splitlines()[0]}", file=sys.stderr)
    da = truth_array(truth, args.variable)
    t = np.asarray(da["time"].values).astype("datetime64[ns]")
    start = as_datetime("--start", args.start) if args.start is not None else t[0]
    days = args.days
    if days is None:
        span = float(seconds_since(t[-1:], start)[0]) / 86400.0
        if span <= 0:
            raise ValueError("--days is needed: the truth has no time after --start")
        days = span
    eph = {}
    if args.ephemeris:
        eph["swot"] = args.ephemeris
    if args.calval_ephemeris:
        eph["swot_calval"] = args.calval_ephemeris
    const = Constellation(
        args.constellation, start, days, ephemeris=eph or None, karin_noise=args.karin_noise,
        karin_noise_std=args.karin_std, nadir_noise_std=args.nadir_noise, swh_m=args.swh,
        roll_std_m=args.roll_std, roll_length_m=args.roll_length_km * 1e3,
    )
    obs = const.sample(da, seed=args.seed, center_lonlat=args.center)
    obs.ds.attrs.update({"seed": int(args.seed), "truth_files": " ".join(str(p) for p in args.truth)})
    obs.to_netcdf(out)
    print(f"wrote {len(obs)} observations to {out}")
    for p in obs.platforms:
        print(f"  {p:<12s} {int((obs.platform == p).sum()):>10d} points")
    print("  day          n_obs   observed fraction of grid cells (of ocean cells)")
    for row in daily_coverage(obs, da, start, days):
        print(f"  {row['day']}  {row['n_obs']:>8d}   {row['fraction_grid']:.4f} ({row['fraction_ocean']:.4f})")
    return 0
