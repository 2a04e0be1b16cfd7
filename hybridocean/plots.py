"""Figures oceanographers expect: field snapshots with units, and diagnostic time series.

All functions draw with matplotlib's Agg backend (no display needed) and save atomically
(temp file + rename). They take xarray objects written by :mod:`hybridocean.io`, so the
units and long names on the axes come from the CF attributes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from .io import atomic_write  # noqa: E402

PathLike = Union[str, os.PathLike]

#: Diverging fields (zero-centred colour scale) vs sequential ones.
_DIVERGING = ("eta", "ssh", "u", "v", "psi", "zeta", "q")


def savefig(fig: plt.Figure, path: PathLike, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    try:
        with atomic_write(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return Path(path)


def _label(da: xr.DataArray) -> str:
    name = da.attrs.get("long_name", da.name)
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def plot_fields(
    ds: xr.Dataset,
    variables: Sequence[str],
    path: PathLike,
    times: Optional[Sequence[int]] = None,
    title: str = "",
) -> Path:
    """A grid of map panels: rows are time indices ``times`` (default first and last), columns
    the ``variables``; axes in km, colour bars in the variables' CF units. Diverging fields get a
    symmetric ``RdBu_r`` scale shared across times."""
    nt = ds.sizes.get("time", 1)
    times = list(times) if times is not None else sorted({0, nt - 1})
    fig, axes = plt.subplots(
        len(times), len(variables), figsize=(3.6 * len(variables), 3.1 * len(times)), squeeze=False
    )
    for c, name in enumerate(variables):
        da = ds[name]
        base = name.rstrip("0123456789")
        vals = da.values
        if base in _DIVERGING:
            vmax = float(np.nanmax(np.abs(vals))) or 1.0
            kw = dict(cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        else:
            kw = dict(cmap="viridis", vmin=float(np.nanmin(vals)), vmax=float(np.nanmax(vals)))
        ydim, xdim = da.dims[-2:]
        x = ds[xdim].values / 1e3
        y = ds[ydim].values / 1e3
        for r, k in enumerate(times):
            ax = axes[r, c]
            field = da.isel(time=k).values if "time" in da.dims else da.values
            im = ax.pcolormesh(x, y, field, shading="auto", **kw)
            ax.set_aspect("equal")
            tday = float(ds["time"].values[k]) / 86400 if "time" in ds else 0.0
            ax.set_title(f"{name}, t = {tday:.2f} d", fontsize=9)
            ax.set_xlabel("x [km]")
            ax.set_ylabel("y [km]")
            fig.colorbar(im, ax=ax, shrink=0.85, label=_label(da))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return savefig(fig, path)


def plot_timeseries(
    t_seconds: np.ndarray,
    series: Mapping[str, np.ndarray],
    path: PathLike,
    ylabel: str = "",
    relative: bool = False,
    title: str = "",
    logy: bool = False,
) -> Path:
    """Diagnostic time series (e.g. energy, enstrophy, mass) against time in days.

    With ``relative=True`` each series is drawn as ``(s - s[0]) / |s[0]|`` to show drift;
    ``logy=True`` uses a log scale (exponential growth shows as a straight line).
    """
    fig, ax = plt.subplots(figsize=(6, 3.4))
    td = np.asarray(t_seconds) / 86400
    for name, s in series.items():
        s = np.asarray(s, dtype=float)
        if relative:
            s = (s - s[0]) / (abs(s[0]) or 1.0)
        ax.plot(td, s, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("time [days]")
    ax.set_ylabel(ylabel + (" (relative change)" if relative else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return savefig(fig, path)


def plot_training_curves(history: Mapping[str, Sequence[float]], path: PathLike, title: str = "") -> Path:
    """One panel per training curve (loss, lambda, ||F_a||, ...) against iteration.

    A curve is drawn on a log scale when it is non-negative and its positive values span more than
    a factor 10 (zeros, e.g. ``||F_a||^2`` during a physics warm-up, are left as gaps); otherwise
    on a linear scale without offset (a multiplier that barely moves reads as its value).
    """
    keys = [k for k, v in history.items() if len(v) and np.all(np.isfinite(np.asarray(v, dtype=float)))]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.0), squeeze=False)
    for ax, k in zip(axes[0], keys):
        v = np.asarray(history[k], dtype=float)
        pos = v[v > 0]
        if np.all(v >= 0) and pos.size and pos.max() > 10 * pos.min():
            ax.plot(np.arange(len(v)), np.where(v > 0, v, np.nan))
            ax.set_yscale("log")
        else:
            ax.plot(np.arange(len(v)), v)
            ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlim(0, max(len(v) - 1, 1))
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return savefig(fig, path)
