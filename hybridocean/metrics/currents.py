"""Surface-current scores: ``tau_uv`` on vector velocity and the same score on relative
vorticity and strain.

Score (the issue's definition; the normalised-error "explained variance" form of the
surface-current evaluations of the ocean data challenges, e.g. the drifter "u/v RMSE score"
of ``ocean-data-challenges/2024c_DC_4DMedSea-ESA`` and ``2023a_SSH_mapping_OSE``)::

    tau_uv   = 100 (1 - sum |u_est - u_true|^2 / sum |u_true|^2),   |u|^2 = u^2 + v^2
    tau_zeta = 100 (1 - sum (zeta_est - zeta_true)^2 / sum zeta_true^2)
    tau_S    = 100 (1 - sum |S_est - S_true|^2 / sum |S_true|^2)

sums over every time and grid point where all the inputs are finite (NaN = land, and the
edge points where a centred difference is not defined). A perfect estimate scores 100, a zero
estimate 0, and anything worse than zero scores < 0.

Derivatives are centred differences at cell centres,
``(f_{i+1} - f_{i-1}) / (x_{i+1} - x_{i-1})``; the outermost rows/columns are NaN. On
(lon, lat) maps the metric is the sphere's: ``dx = R cos(lat_j) dlon`` per row and
``dy = R dlat`` (R = 6371 km, angles in radians) — the same definition as
``physics.grid.Grid.dx_at`` / ``Grid.dy`` of a ``metric="sphere"`` grid (switch to those
accessors if these metrics ever take a Grid instead of DataArrays). Velocities on lon/lat maps
are eastward/northward; the metric terms of the spherical vorticity (``u tan(lat) / R``,
~1e-7 1/s against mesoscale ``zeta ~ 1e-5 1/s``) are left out, as in the Cartesian
``zeta = dv/dx - du/dy`` the challenges use.

Strain: normal ``S_n = du/dx - dv/dy`` and shear ``S_s = dv/dx + du/dy`` components;
``tau_S`` with ``kind="components"`` scores the vector ``(S_n, S_s)`` (rotation invariant),
``kind="magnitude"`` scores ``|S| = sqrt(S_n^2 + S_s^2)``.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import xarray as xr

from physics.grid import EARTH_RADIUS

from ._inputs import MapLayout, check_same_map, values

STRAIN_KINDS = ("components", "magnitude")


def _centred(f: np.ndarray, coord: np.ndarray, axis: int) -> np.ndarray:
    """``(f_{i+1} - f_{i-1}) / (c_{i+1} - c_{i-1})`` along ``axis``; NaN on the two end points."""
    f = np.moveaxis(f, axis, -1)
    out = np.full(f.shape, np.nan)
    out[..., 1:-1] = (f[..., 2:] - f[..., :-2]) / (coord[2:] - coord[:-2])
    return np.moveaxis(out, -1, axis)


def _metric_coords(lt: MapLayout, da: xr.DataArray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, scale)``: coordinates in metres along x (per row: ``scale (ny, 1)``) and y."""
    x = np.asarray(da[lt.x_dim].values, dtype=float)
    y = np.asarray(da[lt.y_dim].values, dtype=float)
    if lt.lonlat:
        lat = np.radians(y)
        return np.radians(x) * EARTH_RADIUS, lat * EARTH_RADIUS, np.cos(lat)[:, None]
    return x, y, np.ones((y.size, 1))


def _derivatives(u: xr.DataArray, v: xr.DataArray, name: str = "u") -> Tuple[np.ndarray, ...]:
    lt = check_same_map(v, u, need_time=False, estimate_name=name.replace("u", "v"), truth_name=name)
    if u.sizes[lt.x_dim] < 3 or u.sizes[lt.y_dim] < 3:
        raise ValueError(f"{name} needs at least 3 x 3 grid points for centred differences, got {u.shape[-2:]}")
    x, y, scale = _metric_coords(lt, u)
    U, V = values(u), values(v)
    ux = _centred(U, x, -1) / scale
    vx = _centred(V, x, -1) / scale
    uy = _centred(U, y, -2)
    vy = _centred(V, y, -2)
    return ux, uy, vx, vy


def _like(u: xr.DataArray, data: np.ndarray, name: str, units: str, long_name: str) -> xr.DataArray:
    return xr.DataArray(data, dims=u.dims, coords=u.coords, name=name, attrs={"units": units, "long_name": long_name})


def relative_vorticity(u: xr.DataArray, v: xr.DataArray) -> xr.DataArray:
    """``zeta = dv/dx - du/dy`` [1/s] at cell centres (centred differences, NaN on the edges).

    Args:
        u, v: eastward/x and northward/y velocity [m/s], DataArrays ``(..., lat, lon)`` or
            ``(..., y, x)`` on the same grid.
    """
    ux, uy, vx, vy = _derivatives(u, v)
    return _like(u, vx - uy, "zeta", "s-1", "relative vorticity")


def strain(u: xr.DataArray, v: xr.DataArray) -> Tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Normal ``S_n = du/dx - dv/dy``, shear ``S_s = dv/dx + du/dy`` and ``|S| = sqrt(S_n^2 + S_s^2)``
    [1/s] at cell centres (inputs as :func:`relative_vorticity`)."""
    ux, uy, vx, vy = _derivatives(u, v)
    sn, ss = ux - vy, vx + uy
    return (_like(u, sn, "strain_normal", "s-1", "normal strain"),
            _like(u, ss, "strain_shear", "s-1", "shear strain"),
            _like(u, np.hypot(sn, ss), "strain", "s-1", "strain magnitude"))


def _tau(errs, refs) -> float:
    ok = np.ones(np.shape(refs[0]), dtype=bool)
    for a in list(errs) + list(refs):
        ok &= np.isfinite(a)
    if not ok.any():
        raise ValueError("no point where the estimate and the truth are both finite")
    num = sum(float(np.sum(e[ok] ** 2)) for e in errs)
    den = sum(float(np.sum(r[ok] ** 2)) for r in refs)
    if den == 0.0:
        raise ValueError("the truth is zero everywhere: the normalised score is undefined")
    return 100.0 * (1.0 - num / den)


def tau_uv(u_est: xr.DataArray, v_est: xr.DataArray, u_true: xr.DataArray, v_true: xr.DataArray) -> float:
    """``100 (1 - sum[(u_e - u_t)^2 + (v_e - v_t)^2] / sum[u_t^2 + v_t^2])`` (percent).

    Args:
        u_est, v_est, u_true, v_true: velocity components [m/s] on one grid and times
            (``(..., lat, lon)`` or ``(..., y, x)``; ``ValueError`` naming the argument otherwise).
    """
    for name, a in (("v_true", v_true), ("u_est", u_est), ("v_est", v_est)):
        check_same_map(a, u_true, need_time=False, estimate_name=name, truth_name="u_true")
    ut, vt = values(u_true), values(v_true)
    return _tau([values(u_est) - ut, values(v_est) - vt], [ut, vt])


def tau_scalar(estimate: xr.DataArray, truth: xr.DataArray) -> float:
    """``100 (1 - sum (estimate - truth)^2 / sum truth^2)`` (percent), any field on one grid."""
    check_same_map(estimate, truth, need_time=False)
    t = values(truth)
    return _tau([values(estimate) - t], [t])


def vorticity_score(u_est, v_est, u_true, v_true) -> float:
    """``tau_zeta``: :func:`tau_scalar` of the relative vorticities (module docstring)."""
    check_same_map(u_est, u_true, need_time=False, estimate_name="u_est", truth_name="u_true")
    ze = relative_vorticity(u_est, v_est)
    zt = relative_vorticity(u_true, v_true)
    return _tau([ze.values - zt.values], [zt.values])


def strain_score(u_est, v_est, u_true, v_true, kind: str = "components") -> float:
    """``tau_S`` on the strain vector ``(S_n, S_s)`` (``kind="components"``) or on ``|S|``."""
    if kind not in STRAIN_KINDS:
        raise ValueError(f"kind must be one of {STRAIN_KINDS}, got {kind!r}")
    check_same_map(u_est, u_true, need_time=False, estimate_name="u_est", truth_name="u_true")
    ne, se, me = strain(u_est, v_est)
    nt, st, mt = strain(u_true, v_true)
    if kind == "magnitude":
        return _tau([me.values - mt.values], [mt.values])
    return _tau([ne.values - nt.values, se.values - st.values], [nt.values, st.values])


def current_scores(u_est, v_est, u_true, v_true, strain_kind: str = "components") -> Dict[str, float]:
    """``{"tau_uv", "tau_vorticity", "tau_strain"}`` (percent) of an estimated current."""
    return {
        "tau_uv": tau_uv(u_est, v_est, u_true, v_true),
        "tau_vorticity": vorticity_score(u_est, v_est, u_true, v_true),
        "tau_strain": strain_score(u_est, v_est, u_true, v_true, strain_kind),
    }
