"""``hybridocean evaluate``: score an estimate against a gridded truth (and held-out tracks),
print and write the metrics (JSON) and the figures (PNG) -- see :mod:`hybridocean.estimation.cli`
for the command line and the error convention, :mod:`.evaluation` for the metrics and
:mod:`.figures` for the figures.
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from .cli import _open, read_obs


class Evaluate:
    """``hybridocean evaluate`` (module docstring)."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``evaluate`` and its options."""
        p = subparsers.add_parser("evaluate", help="score an estimate against a gridded truth (JSON + PNG)",
                                  description="Score an estimate against a gridded truth and held-out tracks; "
                                              "print and write metrics.json and PNG figures.")
        p.add_argument("--estimate", required=True, help="estimate netCDF (from 'hybridocean estimate')")
        p.add_argument("--truth", nargs="+", required=True, help="gridded truth file(s) or a glob (e.g. L4 maps)")
        p.add_argument("--holdout", default=None, help="Observations netCDF of tracks left out of the estimate")
        p.add_argument("--obs", default=None, help="observations drawn on the SSH maps (default: the estimate's obs_file)")
        p.add_argument("--truth-variable", default=None, help="SSH variable of the truth (default: recognised)")
        p.add_argument("--truth-currents", choices=("geostrophic", "file"), default="geostrophic",
                       help="truth currents: geostrophy of the truth SSH (default) or the truth file's ugos/vgos (u/v)")
        p.add_argument("--out", required=True, help="output folder for metrics.json and the figures")
        p.add_argument("--no-figures", action="store_true", help="write metrics.json only")
        return p

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Read, align, score, write. Returns 0."""
        from hybridocean.cli import UserError, one_line, output_dir
        from hybridocean.io import save_json
        from hybridocean.observations import read_l4

        from .evaluation import estimate_ssh_name, evaluate_estimate

        est = _open(args.estimate, "--estimate")
        try:
            name = estimate_ssh_name(est)
        except ValueError as e:
            raise UserError(f"--estimate {args.estimate!r}: {one_line(e)}") from None
        holdout = _read_points(args.holdout, "--holdout") if args.holdout else None
        obs_path = args.obs or est.attrs.get("obs_file")
        obs = None
        if args.obs:
            obs = drawn_points(args.obs, strict=True)
        elif obs_path and Path(str(obs_path)).is_file():
            obs = drawn_points(str(obs_path), strict=False)
        bbox = None
        if "longitude" in est.dims and "latitude" in est.dims:
            lon, lat = est["longitude"].values, est["latitude"].values
            dl, dp = abs(float(lon[1] - lon[0])) / 4, abs(float(lat[1] - lat[0])) / 4
            bbox = (float(lon[0]) - dl, float(lon[-1]) + dl, float(lat[0]) - dp, float(lat[-1]) + dp)
        missing = [p for p in args.truth if not any(c in p for c in "*?[") and not Path(p).expanduser().is_file()]
        if missing:
            raise UserError(f"--truth {missing[0]!r}: no such file")
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                truth = read_l4(args.truth if len(args.truth) > 1 else args.truth[0], bbox=bbox,
                                variables=[args.truth_variable] if args.truth_variable else None)
            except (ValueError, OSError) as e:
                raise UserError(f"--truth: {one_line(e)}") from None
        out = output_dir(args.out)
        try:
            ev = evaluate_estimate(est, truth, holdout, truth_variable=args.truth_variable,
                                   truth_currents_from=args.truth_currents)
        except ValueError as e:
            msg = one_line(e)
            opt = "--holdout" if msg.startswith("holdout") else "--truth/--estimate"
            raise UserError(f"{opt}: {msg}") from None
        summary = ev.summary()
        summary["files"] = {"estimate": str(args.estimate), "truth": list(args.truth), "holdout": args.holdout,
                            "obs": obs_path if obs is not None else None}
        if not args.no_figures:
            from .figures import evaluation_figures

            summary["figures"] = [p.name for p in evaluation_figures(ev, out, obs=obs, title=str(est.attrs.get("method", name)))]
        save_json(summary, out / "metrics.json")
        print(json.dumps(summary, indent=2, allow_nan=False))
        return 0


def _read_points(path: str, option: str) -> Any:
    from hybridocean.cli import UserError, one_line
    from hybridocean.observations import Observations

    raw = _open(path, option)
    if "obs" not in raw.dims:
        raise UserError(f"{option} {path!r}: not an observations file (no 'obs' dimension)")
    try:
        return Observations(raw)
    except (ValueError, TypeError) as e:
        raise UserError(f"{option} {path!r}: {one_line(e)}") from None


def drawn_points(path: str, strict: bool) -> Any:
    """Observation points of ``path`` to draw on the SSH maps: an observations file as it is, a
    gridded file as its observed cell centres (:func:`~hybridocean.observations.from_gridded`).
    ``strict`` (an explicit ``--obs``): errors are ``UserError``; else an unreadable file gives None."""
    from hybridocean.observations import Observations, from_gridded

    try:
        obs = read_obs(path)[0]
        return obs if isinstance(obs, Observations) else from_gridded(obs, variable=obs.attrs["ssh_variable"])
    except Exception:  # noqa: BLE001 - the default (obs_file attribute) is drawn only when readable
        if strict:
            raise
        return None


__all__ = ["Evaluate", "drawn_points"]
