"""Figures of an SSH / surface-current estimate against its truth (``hybridocean evaluate``).

* :func:`draw_ssh_maps` -- truth and estimate SSH [m] side by side at a few times, with the
  observations used (those within half a time step of each map) drawn over both as dots;
* :func:`draw_currents` -- speed ``|u| = sqrt(u^2 + v^2)`` [m/s] and relative vorticity
  ``zeta = dv/dx - du/dy`` [1/s] (:func:`hybridocean.metrics.relative_vorticity`), true vs estimated;
* :func:`draw_error_maps` -- ``ssh_est - ssh_true`` [m] at one time, the RMSE over time
  ``sqrt(<e^2>_t)`` [m] and the vector current error ``|u_est - u_true|`` [m/s];
* :func:`draw_psd_scores` -- the PSD score curves ``1 - PSD(err) / PSD(truth)`` against wavelength
  [km] with the 0.5 level and the effective resolution ``lambda_x`` marked (isotropic score,
  the challenge's space-time score -- a curve per resolved frequency --, the along-track score
  of held-out tracks when given).

Each ``draw_*`` returns the matplotlib Figure (inspected by the tests); ``plot_*`` /
:func:`evaluation_figures` save PNGs atomically with :func:`hybridocean.plots.savefig`. Maps
use the data's own axes: longitude/latitude [degrees] or x/y [km].
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import xarray as xr

from hybridocean.metrics import relative_vorticity
from hybridocean.metrics._inputs import check_same_map, layout
from hybridocean.plots import plt, savefig
from physics.grid import EARTH_RADIUS

PathLike = Union[str, os.PathLike]


def _axes_coords(da: xr.DataArray):
    """``(x, y, xlabel, ylabel, lonlat)`` of a map for plotting (degrees, or km for x/y)."""
    lt = layout(da, "map", need_time=False)
    x = np.asarray(da[lt.x_dim].values, float)
    y = np.asarray(da[lt.y_dim].values, float)
    if lt.lonlat:
        return x, y, "longitude [deg E]", "latitude [deg N]", True
    return x / 1e3, y / 1e3, "x [km]", "y [km]", False


def _time_indices(n: int, times: Optional[Sequence[int]], most: int = 3) -> List[int]:
    if times is not None:
        out = [int(k) for k in times]
        bad = [k for k in out if not 0 <= k < n]
        if bad:
            raise ValueError(f"times: indices must lie in [0, {n - 1}], got {bad}")
        return out
    return sorted({int(round(i * (n - 1) / max(most - 1, 1))) for i in range(min(n, most))})


def _tstr(da: xr.DataArray, k: int) -> str:
    t = np.asarray(da["time"].values)[k] if "time" in da.coords else k
    return str(np.datetime_as_string(t, unit="h")) if isinstance(t, np.datetime64) else f"t[{k}]"


def obs_near(obs: Any, da: xr.DataArray, k: int):
    """Plot positions ``(x, y)`` of the observations within half a time step of map ``k`` of ``da``
    (all of them for a single map): degrees on lon/lat maps (longitudes shifted into the map's
    range), km on x/y maps. Empty arrays when ``obs`` is None or has the other kind of positions."""
    if obs is None:
        return np.empty(0), np.empty(0)
    _, _, _, _, lonlat = _axes_coords(da)
    if (obs.coords_kind == "lonlat") != lonlat:
        return np.empty(0), np.empty(0)
    t = np.asarray(da["time"].values).astype("datetime64[ns]")
    to = np.asarray(obs.time).astype("datetime64[ns]")
    keep = np.isfinite(np.asarray(obs.ssh, float))
    if t.size > 1:
        half = np.diff(t).min() / 2
        keep &= np.abs(to - t[k]) <= half
    a, b = (np.asarray(c, float)[keep] for c in obs.positions())
    if lonlat:
        lon0 = float(np.asarray(da[da.dims[-1]].values)[0]) - 180.0
        return lon0 + np.mod(a - lon0, 360.0), b
    return a / 1e3, b / 1e3


def draw_ssh_maps(ssh_true: xr.DataArray, ssh_est: xr.DataArray, obs: Any = None,
                  times: Optional[Sequence[int]] = None, title: str = "") -> "plt.Figure":
    """Rows: time indices ``times`` (default first, middle, last); columns: truth, estimate
    (shared colour scale per row, ``viridis``, in the SSH's units); the observations near each
    map time (:func:`obs_near`) as small black dots on both panels."""
    check_same_map(ssh_est, ssh_true, estimate_name="ssh_est", truth_name="ssh_true")
    ks = _time_indices(ssh_true.sizes["time"], times)
    x, y, xl, yl, lonlat = _axes_coords(ssh_true)
    units = ssh_true.attrs.get("units", "m")
    fig, axes = plt.subplots(len(ks), 2, figsize=(9.5, 3.8 * len(ks)), squeeze=False)
    for r, k in enumerate(ks):
        vt, ve = ssh_true.isel(time=k).values, ssh_est.isel(time=k).values
        both = np.concatenate([vt[np.isfinite(vt)], ve[np.isfinite(ve)]])
        vmin, vmax = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        ox, oy = obs_near(obs, ssh_true, k)
        for c, (field, label) in enumerate(((vt, "truth"), (ve, "estimate"))):
            ax = axes[r, c]
            im = ax.pcolormesh(x, y, field, shading="auto", cmap="viridis", vmin=vmin, vmax=vmax)
            if ox.size:
                ax.scatter(ox, oy, s=0.6, c="k", alpha=0.5, linewidths=0, label=f"observations ({ox.size})")
                ax.legend(loc="upper right", fontsize=7, markerscale=6)
            ax.set_xlim(x.min(), x.max())
            ax.set_ylim(y.min(), y.max())
            ax.set_title(f"SSH {label}, {_tstr(ssh_true, k)}", fontsize=9)
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            ax.set_aspect(1.0 / np.cos(np.radians(y.mean())) if lonlat else "equal")
            fig.colorbar(im, ax=ax, shrink=0.85, label=f"SSH [{units}]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _speed(u: xr.DataArray, v: xr.DataArray) -> np.ndarray:
    return np.hypot(np.asarray(u.values, float), np.asarray(v.values, float))


def draw_currents(u_true: xr.DataArray, v_true: xr.DataArray, u_est: xr.DataArray, v_est: xr.DataArray,
                  time_index: int = 0, title: str = "") -> "plt.Figure":
    """2 x 2 panels at ``time_index``: speed true / estimated (shared ``magma`` scale from 0) and
    relative vorticity true / estimated (shared symmetric ``RdBu_r`` scale)."""
    for name, a in (("v_true", v_true), ("u_est", u_est), ("v_est", v_est)):
        check_same_map(a, u_true, estimate_name=name, truth_name="u_true")
    k = _time_indices(u_true.sizes["time"], [time_index])[0]
    x, y, xl, yl, lonlat = _axes_coords(u_true)
    sel = lambda a: a.isel(time=k)  # noqa: E731
    sp_t, sp_e = _speed(sel(u_true), sel(v_true)), _speed(sel(u_est), sel(v_est))
    z_t = relative_vorticity(sel(u_true), sel(v_true)).values
    z_e = relative_vorticity(sel(u_est), sel(v_est)).values
    smax = float(np.nanmax(np.r_[sp_t.ravel(), sp_e.ravel(), 0.0])) or 1.0
    zmax = float(np.nanmax(np.abs(np.r_[z_t.ravel(), z_e.ravel(), 0.0]))) or 1.0
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 7.6))
    panels = ((sp_t, "speed, truth", "magma", 0.0, smax, "m s-1"), (sp_e, "speed, estimate", "magma", 0.0, smax, "m s-1"),
              (z_t, "relative vorticity, truth", "RdBu_r", -zmax, zmax, "s-1"),
              (z_e, "relative vorticity, estimate", "RdBu_r", -zmax, zmax, "s-1"))
    for ax, (field, label, cmap, lo, hi, units) in zip(axes.ravel(), panels):
        im = ax.pcolormesh(x, y, field, shading="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(f"{label}, {_tstr(u_true, k)}", fontsize=9)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_aspect(1.0 / np.cos(np.radians(y.mean())) if lonlat else "equal")
        fig.colorbar(im, ax=ax, shrink=0.85, label=f"[{units}]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def draw_error_maps(ssh_true: xr.DataArray, ssh_est: xr.DataArray, u_true: xr.DataArray, v_true: xr.DataArray,
                    u_est: xr.DataArray, v_est: xr.DataArray, time_index: int = 0, title: str = "") -> "plt.Figure":
    """Three panels: SSH error ``ssh_est - ssh_true`` at ``time_index`` (symmetric ``RdBu_r``),
    ``RMSE(y, x) = sqrt(mean_t (ssh_est - ssh_true)^2)`` and ``|u_est - u_true|`` at ``time_index``."""
    check_same_map(ssh_est, ssh_true, estimate_name="ssh_est", truth_name="ssh_true")
    check_same_map(u_est, u_true, estimate_name="u_est", truth_name="u_true")
    k = _time_indices(ssh_true.sizes["time"], [time_index])[0]
    x, y, xl, yl, lonlat = _axes_coords(ssh_true)
    e = np.asarray(ssh_est.values, float) - np.asarray(ssh_true.values, float)
    with np.errstate(invalid="ignore"):
        rmse_xy = np.sqrt(np.nanmean(np.where(np.isfinite(e), e, np.nan) ** 2, axis=0)) if np.isfinite(e).any() \
            else np.full(e.shape[1:], np.nan)
    du = np.hypot(u_est.isel(time=k).values - u_true.isel(time=k).values,
                  v_est.isel(time=k).values - v_true.isel(time=k).values)
    emax = float(np.nanmax(np.abs(np.r_[e[k].ravel(), 0.0]))) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = ((e[k], f"SSH error, {_tstr(ssh_true, k)}", "RdBu_r", -emax, emax, "m"),
              (rmse_xy, "SSH RMSE over time", "viridis", 0.0, float(np.nanmax(np.r_[rmse_xy.ravel(), 0.0])) or 1.0, "m"),
              (du, f"current error |u_est - u_true|, {_tstr(ssh_true, k)}", "magma", 0.0,
               float(np.nanmax(np.r_[du.ravel(), 0.0])) or 1.0, "m s-1"))
    for ax, (field, label, cmap, lo, hi, units) in zip(axes, panels):
        im = ax.pcolormesh(x, y, field, shading="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_aspect(1.0 / np.cos(np.radians(y.mean())) if lonlat else "equal")
        fig.colorbar(im, ax=ax, shrink=0.85, label=f"[{units}]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _score_panel(ax, wavelength_km: np.ndarray, score: np.ndarray, lam_km: float, label: str) -> None:
    order = np.argsort(wavelength_km)
    w, s = np.asarray(wavelength_km)[order], np.asarray(score)[order]
    ok = np.isfinite(w) & np.isfinite(s) & (w > 0)
    line, = ax.semilogx(w[ok], s[ok], marker=".", label=label)
    if np.isfinite(lam_km):
        ax.axvline(lam_km, color=line.get_color(), ls="--", lw=1, label=f"lambda_x = {lam_km:.0f} km")


def draw_psd_scores(isotropic: Any = None, spacetime: Any = None, alongtrack: Any = None,
                    title: str = "", km_per_degree: Optional[float] = None) -> "plt.Figure":
    """PSD score against wavelength [km] for each score given (module docstring), with the
    0.5 level (grey) and ``lambda_x`` as a dashed vertical line in the curve's colour.

    Args:
        isotropic: :class:`hybridocean.metrics.IsotropicScore`.
        spacetime: :class:`hybridocean.metrics.SpaceTimeScore` (one curve per positive frequency,
            at most 4, labelled by period).
        alongtrack: :class:`hybridocean.metrics.AlongTrackPSD` of held-out tracks.
        km_per_degree: km per degree of longitude of a lon/lat space-time score (default
            ``lambda_x_km / lambda_x``; required when that is not finite).
    """
    given = [(n, s) for n, s in (("isotropic", isotropic), ("space-time", spacetime), ("along-track", alongtrack))
             if s is not None]
    if not given:
        raise ValueError("draw_psd_scores needs at least one of isotropic, spacetime, alongtrack")
    fig, axes = plt.subplots(1, len(given), figsize=(5.2 * len(given), 4), squeeze=False)
    for ax, (name, s) in zip(axes[0], given):
        if name == "isotropic":
            _score_panel(ax, 1e-3 / s.wavenumber, s.score, s.lambda_x_km, "isotropic (y, x)")
        elif name == "space-time":
            if s.x_unit == "m":
                km = 1e-3
            elif km_per_degree is not None:
                km = float(km_per_degree)
            elif np.isfinite(s.lambda_x) and s.lambda_x > 0:
                km = s.lambda_x_km / s.lambda_x
            else:
                raise ValueError("km_per_degree: required to draw a lon/lat space-time score without a finite lambda_x")
            first = np.argsort(s.freq_t)[:4]
            for i in first:
                _score_panel(ax, km / s.freq_x, s.score[i], s.lambda_x_km if i == first[0] else np.nan,
                             f"period {1 / s.freq_t[i]:.3g} d")
        else:
            with np.errstate(divide="ignore"):
                _score_panel(ax, 1.0 / s.wavenumber, s.score, s.lambda_x_km, f"held-out tracks ({s.n_segments} segments)")
        ax.axhline(0.5, color="0.5", lw=0.8)
        ax.set_ylim(-0.25, 1.05)  # the 0.5 crossing matters; far-negative scores (error > truth) run off the axis
        ax.set_xlabel("wavelength [km]")
        ax.set_ylabel("PSD score 1 - PSD(err) / PSD(truth)")
        ax.set_title(f"{name} PSD score", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def evaluation_figures(ev: Any, out_dir: PathLike, obs: Any = None, title: str = "") -> List[Path]:
    """Write ``ssh_maps.png``, ``currents.png``, ``errors.png`` and (when a PSD score could be
    computed) ``psd_score.png`` of an :class:`~hybridocean.estimation.evaluation.Evaluation`
    into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    paths = [savefig(draw_ssh_maps(ev.ssh_true, ev.ssh_est, obs=obs, title=title), out / "ssh_maps.png"),
             savefig(draw_currents(ev.u_true, ev.v_true, ev.u_est, ev.v_est, title=title), out / "currents.png"),
             savefig(draw_error_maps(ev.ssh_true, ev.ssh_est, ev.u_true, ev.v_true, ev.u_est, ev.v_est, title=title),
                     out / "errors.png")]
    r = ev.results
    track = getattr(r.get("holdout"), "psd", None)
    km = None
    if _axes_coords(ev.ssh_true)[4]:
        lat = np.asarray(ev.ssh_true[ev.ssh_true.dims[-2]].values, float)
        km = EARTH_RADIUS * np.cos(np.radians(0.5 * (lat[0] + lat[-1]))) * np.pi / 180.0 / 1e3
    if any(x is not None for x in (r.get("psd_isotropic"), r.get("psd_spacetime"), track)):
        paths.append(savefig(draw_psd_scores(r.get("psd_isotropic"), r.get("psd_spacetime"), track, title=title,
                                             km_per_degree=km), out / "psd_score.png"))
    return paths


__all__ = ["draw_ssh_maps", "draw_currents", "draw_error_maps", "draw_psd_scores", "evaluation_figures", "obs_near"]
