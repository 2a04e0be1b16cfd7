#!/usr/bin/env python
"""Collect ``metrics.json`` files of :mod:`reproduce_aphynity` runs into one Markdown table.

    python scripts/aphynity_table.py results/aphynity/*/metrics.json [--out table.md]

One row per run: system, prior, F_a, model name, log10 test MSE (mean +- std over seeds), parameter
error in %, mean ``||F_a||^2`` on the test states, the paper's numbers (ICLR 2021, Table 1) beside
ours where it reports them, seeds, outer iterations, training wall seconds per seed and device.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Optional, Sequence

ORDER = {"pendulum": 0, "reaction_diffusion": 1, "wave": 2}
PRIOR_ORDER = {"none": 0, "incomplete": 1, "complete": 2, "true": 3}


def _fmt(value: Optional[float], spec: str, std: Optional[float] = None) -> str:
    if value is None:
        return "–"
    text = format(value, spec)
    return f"{text} ± {format(std, spec)}" if std else text


def row(m: dict) -> str:
    """One Markdown row of a ``metrics.json`` dict."""
    paper = m.get("paper") or {}
    seeds = m.get("seeds", [])
    wall = statistics.median(r["train_wall_s"] for r in seeds) if seeds else None
    iters = sorted({r["iterations"] for r in seeds})
    ours_p = m.get("param_error_pct_mean")
    cells = [
        m["system"], m["prior"], "yes" if m["aug"] else "no",
        ("APHYNITY " if m["aug"] and m["prior"] != "none" else "") + m.get("model", ""),
        f"{_fmt(m['log10_mse_mean'], '.2f', m.get('log10_mse_std'))} ({_fmt(paper.get('log10_mse'), '.2f')})",
        f"{_fmt(ours_p, '.3g', m.get('param_error_pct_std'))} ({_fmt(paper.get('param_error_pct'), '.3g')})",
        f"{_fmt(m.get('fa_norm2_mean'), '.2g')} ({_fmt(paper.get('fa_norm2'), '.2g')})",
        str(m.get("n_seeds", len(seeds))), "/".join(map(str, iters)) or "0", _fmt(wall, ".0f"),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| system | prior | F_a | model | log10 MSE (paper) | param err % (paper) | ||F_a||² (paper) "
          "| seeds | iterations | train s / seed |\n|---|---|---|---|---|---|---|---|---|---|")


def table(paths: Sequence[Path]) -> str:
    """The Markdown table of every ``metrics.json`` in ``paths``, ordered by system, prior and F_a."""
    metrics = [json.loads(Path(p).read_text()) for p in paths]
    metrics.sort(key=lambda m: (ORDER.get(m["system"], 9), PRIOR_ORDER.get(m["prior"], 9), m["aug"]))
    devices = sorted({m.get("device", "?") for m in metrics})
    return "\n".join([HEADER, *map(row, metrics), "", "device: " + "; ".join(devices)])


def main(argv: Optional[Sequence[str]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("metrics", nargs="+", type=Path, help="metrics.json files")
    p.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = p.parse_args(argv)
    text = table(args.metrics)
    print(text)
    if args.out is not None:
        from hybridocean.io import atomic_write

        with atomic_write(args.out) as tmp:
            tmp.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
