"""The ``hybridocean`` command.

``hybridocean demo --out DIR``   runs the built-in default case (see :mod:`hybridocean.demo`)
and writes CF netCDF files, PNG figures and a JSON summary into ``DIR``.
``hybridocean info``             prints versions and the available devices.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hybridocean", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the built-in default case and write its results")
    d.add_argument("--out", default="results/demo", help="output folder (created)")
    d.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    d.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: these small grids are bound by per-op overhead, "
                        "and extra threads only contend)")
    d.add_argument("--quick", action="store_true", help="a much shorter run (for tests)")
    sub.add_parser("info", help="print versions and devices")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``hybridocean`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    import torch

    if args.command == "info":
        import hybridocean

        print(json.dumps({
            "hybridocean": hybridocean.__version__,
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
            "threads": torch.get_num_threads(),
        }, indent=2))
        return 0
    if args.command == "demo":
        from .demo import run_demo

        if args.threads:
            torch.set_num_threads(args.threads)
        summary = run_demo(args.out, device=args.device, quick=args.quick)
        print(json.dumps(summary, indent=2))
        return 0
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
