"""1.5-layer QG on the real Gulf Stream box (33-43 N, 295-305 E) for 30 days, from a DUACS L4 map.

What it does (``python scripts/example_gulfstream_qg.py``, ~10-30 s on one CPU core):

1. reads the DUACS L4 sample maps (``../shared/data/duacs_l4_sample/``, variable ``adt``) with
   :func:`hybridocean.observations.l4.read_l4`, cut to ``--bbox``. Land is stored there without a
   ``_FillValue`` (about -2.1e5 m): ``read_l4`` masks |SSH| > 20 m as NaN, and the ocean mask is
   :func:`physics.masks.ocean_mask_from_field` of the maps (a cell is ocean iff finite on every map;
   the Gulf Stream box itself is all ocean, the same code masks land in a coastal box);
2. builds ``Grid.from_lonlat(lon, lat, metric="sphere", boundary="closed")`` (per-row ``dx_j``,
   ``f_j = 2 Omega sin(lat_j)``, the planetary gradient ``beta_j`` per row: :mod:`physics.qg_sphere`);
   were a QG model to refuse the sphere grid, the script falls back to ``metric="beta_plane"`` (the
   tangent plane at 38 N), prints that it did and records it (``grid_metric``, ``metric_used`` and
   ``metric_requested`` in the outputs); ``--metric beta_plane`` asks for the tangent plane;
3. a 1.5-layer QG model (:class:`physics.qg.QG` with ``Ld``): ``Ld = 30 km``, the first baroclinic
   Rossby radius of the Gulf Stream region (25-35 km between 35 and 40 N in Chelton, deSzoeke, Schlax,
   El Naggar and Siwertz 1998, "Geographical variability of the first baroclinic Rossby radius of
   deformation", J. Phys. Oceanogr. 28, 433-460, their Fig. 6); biharmonic viscosity
   ``nu4 = (dx_min / pi)^4 / tau_grid`` with ``tau_grid = 1 day``: the shortest resolved wave
   (``k = pi / dx``) is damped in one day, the scale-selective closure of QG basin models (no Laplacian
   viscosity, no drag: a 30-day run of the mesoscale);
4. the SSH anomaly ``eta`` of every map about the ocean mean of the first one, ``psi = g eta / f0``
   (``f0`` at the box's central latitude, the QG reference value). Boundaries (``--boundary``):

   * ``open`` (default): :class:`physics.qg_open.OpenBoundaryQG` -- ``psi`` prescribed on the outer ring
     of corners (and on land) from the maps, linearly interpolated in time by a
     :class:`physics.forcing.TimeField` and held at the last map after its day (the sample has four
     daily maps, the run 30 days: from day 3 on the boundary is steady), with P1's Davies sponge (4
     corners, 1 day) inside the ring; ``q0 = (L + S) psi(day 0)`` at the prognostic corners;
   * ``closed``: walls (``psi = 0`` on walls and coasts); the real SSH does not vanish at the box edges,
     so the first map's anomaly is tapered to 0 over the ``--taper`` cells next to the walls (cosine
     ramp, a Tukey window) and converted by :func:`physics.qg_state.ssh_to_qg_state`;
5. integrates 30 days with RK4 (:func:`physics.stepping.integrate_fixed`) at ``dt`` chosen from the
   advective CFL ``dt <= C dx_min / max|u|`` (``C = 0.5``, ``max|u|`` of the initial state, at most
   ``--dt`` = 1 h, a whole number of steps per report), checks finiteness and that the energy stays
   bounded (``E(t) <= 1.5 E(0)``: nothing forces the box but its boundary values, the biharmonic term
   only dissipates), and reports ``max|u|`` and the energy
   ``E = <u^2 + v^2>/2 + <psi^2>/(2 Ld^2)`` (area-weighted box mean) at days 0/10/20/30;
6. writes ``gulfstream_qg.nc`` (CF: ``eta`` [m] at centres, ``psi1`` and ``q1`` at corners, lon/lat, via
   :func:`hybridocean.io.write_netcdf`), ``gulfstream_qg.png`` (SSH day 0 and last day, land masked)
   and ``gulfstream_qg.json`` (the summary) into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from hybridocean.io import save_json, states_to_dataset, write_netcdf
from hybridocean.observations.l4 import read_l4
from hybridocean.observations.ssh_vars import ImplausibleValueWarning
from physics._checks import check_choice
from physics.forcing import TimeField
from physics.grid import Grid
from physics.masks import check_ocean_mask, ocean_mask_from_field
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.operators import velocity_from_psi
from physics.stepping import integrate_fixed

ROOT = Path(__file__).resolve().parents[1]

DAY = 86400.0
G = 9.81
BBOX = (295.0, 305.0, 33.0, 43.0)
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "duacs_l4_sample"
LD = 30e3  # [m] Chelton et al. 1998 (module docstring)
TAU_GRID = DAY  # [s] damping time of the grid-scale wave by nu4
CFL = 0.5  # advective Courant number of the RK4 step (RK4 is stable to ~2.8 for pure advection)
ENERGY_BOUND = 1.5  # E(t) / E(0) above this counts as blowing up (an unforced, dissipative run)


def check_bbox(bbox: Sequence[float]) -> tuple:
    """``(lon0, lon1, lat0, lat1)`` [deg] after checking it is a box off the poles (``ValueError`` naming ``bbox``)."""
    b = tuple(float(x) for x in bbox)
    if len(b) != 4 or not all(math.isfinite(x) for x in b):
        raise ValueError(f"bbox must be 4 finite numbers (lon0, lon1, lat0, lat1) [deg], got {bbox!r}")
    if not -90.0 < b[2] < b[3] < 90.0:
        raise ValueError(f"bbox latitudes must satisfy -90 < lat0 < lat1 < 90 (a box that does not reach or "
                         f"cross a pole: lon/lat QG is singular there), got lat0={b[2]}, lat1={b[3]}")
    return b


def load_box(source, bbox: Sequence[float] = BBOX):
    """``(ssh (T, ny, nx) float64 [m] NaN on land, lon (nx,), lat (ny,), times [s from the first map], ocean (ny, nx) bool)``.

    ``source``: a folder of DUACS L4 files, a file, a glob or a list (:func:`read_l4`). ``ValueError`` naming
    ``bbox`` for a box crossing a pole or holding no ocean cell (all land on every map)."""
    bbox = check_bbox(bbox)
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        source = sorted(str(p) for p in Path(source).glob("*.nc"))
        if not source:
            raise ValueError("data: no .nc file in the folder")
    with warnings.catch_warnings():  # land stored without a _FillValue: masked as implausible, on purpose
        warnings.simplefilter("ignore", ImplausibleValueWarning)
        try:
            ds = read_l4(source, bbox=bbox, variables=["adt"])
        except ValueError as err:
            if "all values" in str(err):
                raise ValueError(f"bbox={bbox} holds no ocean cell (all land or missing): {err}") from None
            raise
    ssh = ds["adt"].values
    ocean = ocean_mask_from_field(torch.from_numpy(ssh)).all(0)  # ocean iff finite on every map
    if not bool(ocean.any()):
        raise ValueError(f"bbox={bbox} holds no ocean cell present on every map")
    t = ds["time"].values
    times = (t - t[0]) / np.timedelta64(1, "s")
    return ssh, ds["longitude"].values, ds["latitude"].values, times.astype(np.float64), ocean


def build_model(lon, lat, ocean, metric: str = "sphere", Ld: float = LD, tau_grid: float = TAU_GRID):
    """``(model, grid, metric_used)``: the 1.5-layer QG of the module docstring on the box.

    ``ocean``: bool ``(ny, nx)`` at cell centres (``ValueError`` naming ``mask`` for a wrong shape, from
    :func:`physics.masks.check_ocean_mask`); all ocean -> the plain rectangle. ``metric="sphere"`` falls
    back to ``"beta_plane"`` if the QG model refuses the sphere grid (module docstring)."""
    used = metric
    grid = Grid.from_lonlat(lon, lat, metric=metric, boundary="closed")
    ocean = check_ocean_mask(ocean, grid, "mask")
    dx_min = float(grid.dx_at("corner").min()) if grid.metric == "sphere" else grid.dx
    nu4 = (min(dx_min, grid.dy) / math.pi) ** 4 / tau_grid
    mask = None if bool(ocean.all()) else ocean
    try:
        model = QG(grid, Ld=Ld, nu4=nu4, mask=mask)
    except ValueError as err:
        if metric != "sphere" or "metric" not in str(err):
            raise
        used = "beta_plane"
        print(f"note: {err.args[0].split('(')[0].strip()}; falling back to metric='beta_plane'", file=sys.stderr)
        grid = Grid.from_lonlat(lon, lat, metric=used, boundary="closed")
        nu4 = (min(grid.dx, grid.dy) / math.pi) ** 4 / tau_grid
        model = QG(grid, Ld=Ld, nu4=nu4, mask=mask)
    return model, grid, used


def taper(ny: int, nx: int, width: int, dtype=torch.float64) -> torch.Tensor:
    """Tukey window ``(ny, nx)``: ``sin^2(pi/2 * d / width)`` for a cell ``d = 0.5, 1.5, ...`` cells from the
    nearest wall within ``width`` cells, 1 further in (0 width: ones)."""
    def ramp(n):
        d = torch.minimum(torch.arange(n, dtype=dtype) + 0.5, n - 0.5 - torch.arange(n, dtype=dtype))
        return torch.where(d < width, torch.sin(0.5 * math.pi * d / max(width, 1)) ** 2, torch.ones_like(d))
    return ramp(ny)[:, None] * ramp(nx)[None, :]


def anomaly(ssh: np.ndarray, ocean: torch.Tensor) -> torch.Tensor:
    """SSH anomaly [m] ``(T, ny, nx)`` about the ocean mean of the *first* map (one constant for all maps:
    an offset carries no flow, but a time-varying one would change the 1.5-layer PV); 0 on land."""
    eta = torch.as_tensor(ssh, dtype=torch.float64)
    eta = eta - eta[0][ocean].mean()
    return torch.where(ocean, eta, torch.zeros_like(eta))


def corner_average(eta: torch.Tensor) -> torch.Tensor:
    """Four-centre average at every stored corner, ``(..., ny, nx)``, with the centres beyond the south/west
    edge taken equal to the edge ones (:func:`physics.geostrophy.center_to_corner` sets the wall corners to
    0 instead -- right for walls, not for an open ring that must carry the observed values)."""
    e = F.pad(eta.unsqueeze(-3), (1, 0, 1, 0), mode="replicate").squeeze(-3)
    return 0.25 * (e[..., 1:, 1:] + e[..., :-1, 1:] + e[..., 1:, :-1] + e[..., :-1, :-1])


def centre_average(psi: torch.Tensor) -> torch.Tensor:
    """Four-corner average at every centre, ``(..., ny, nx)``, corners beyond the north/east edge equal to the edge ones."""
    p = F.pad(psi.unsqueeze(-3), (0, 1, 0, 1), mode="replicate").squeeze(-3)
    return 0.25 * (p[..., 1:, 1:] + p[..., :-1, 1:] + p[..., 1:, :-1] + p[..., :-1, :-1])


class Box:
    """The model on the box and the maps between its state and SSH / streamfunction / velocities.

    ``boundary="closed"``: :class:`physics.qg.QG` with walls, the first map's anomaly tapered over
    ``taper_cells`` to 0 at the walls, ``q0`` by :func:`physics.qg_state.ssh_to_qg_state`.
    ``boundary="open"``: :class:`physics.qg_open.OpenBoundaryQG` (prescribed ``psi`` on the outer ring and on
    land, Davies sponge of 4 corners / 1 day), the boundary ``psi_b(t) = g eta(t) / f0`` a
    :class:`physics.forcing.TimeField` of the maps at their times, held at the last map after it
    (``outside="clamp"``: the sample holds four days); ``q0 = (L + S) psi_b(0)`` at the prognostic corners.
    """

    def __init__(self, ssh, map_times, ocean, lon, lat, metric="sphere", boundary="open", Ld=LD, taper_cells=3):
        self.qg, self.grid, self.metric_used = build_model(lon, lat, ocean, metric, Ld)
        self.boundary, self.Ld, self.ocean = check_choice("boundary", boundary, ("open", "closed")), Ld, ocean
        grid, eta = self.grid, anomaly(ssh, ocean)
        if boundary == "closed":
            self.model = self.qg
            _, self.q0 = ssh_to_qg_state(eta[0] * taper(*grid.shape, taper_cells), self.qg, g=G, loc="center")
            return
        from physics.qg_open import OpenBoundaryQG

        psi_maps = (G / self.qg.f0) * corner_average(eta)
        self.psi_b = TimeField(map_times, psi_maps, outside="clamp", name="psi_b")
        mask = None if bool(ocean.all()) else ocean
        self.model = OpenBoundaryQG(grid, self.psi_b, mask=mask, Ld=Ld, nu4=float(self.qg.p("nu4")))
        self.q0 = self.model.boundary_pv(psi_maps[:1].unsqueeze(1)) * self.model.mask

    @property
    def _wet(self) -> tuple:
        """Masks (float) of the u faces, v faces and corners that touch only ocean cells (the cells beyond
        the box count as ocean: the ring is water), for the diagnostics: land values are not flow."""
        o = self.ocean.to(torch.float64)
        west = torch.cat((o[:, :1], o[:, :-1]), 1)
        south = torch.cat((o[:1], o[:-1]), 0)
        southwest = torch.cat((west[:1], west[:-1]), 0)
        return o * west, o * south, o * west * south * southwest

    def streamfunction(self, t: float, q: torch.Tensor) -> torch.Tensor:
        """``psi`` [m^2/s] ``(B, 1, ny, nx)`` at the corners."""
        return self.model.streamfunction(q) if self.boundary == "closed" else self.model.streamfunction(t, q)

    def ssh(self, t: float, q: torch.Tensor) -> torch.Tensor:
        """SSH anomaly [m] ``(B, ny, nx)`` at the centres, ``f0 psi / g`` averaged from the corners, NaN on land."""
        psi = self.streamfunction(t, q)[:, 0]
        eta = qg_state_to_ssh(q, self.qg, g=G, loc="center") if self.boundary == "closed" else \
            centre_average(self.qg.f0 * psi / G)
        return eta.masked_fill(~self.ocean, float("nan"))

    def velocity_energy(self, t: float, q: torch.Tensor) -> tuple:
        """``(max(|u|, |v|) [m/s], E [m^2/s^2])`` of one state: ``E = <u^2>/2 + <v^2>/2 + <psi^2>/(2 Ld^2)``,
        ``<.>`` the area-weighted box mean (cell areas of the rows; the same formula for both boundaries,
        the model's own total energy ``-<psi q>/2`` with walls)."""
        psi = self.streamfunction(t, q)
        u, v = velocity_from_psi(psi, self.grid)
        wet_u, wet_v, wet_q = self._wet
        u, v, psi = u * wet_u, v * wet_v, psi * wet_q
        a_c, a_q = self.grid.cell_areas("center"), self.grid.cell_areas("corner")
        if self.boundary == "open":  # the last u row / v column lie beyond the ring (ghost psi = 0 there)
            u, v, a_c = u[..., :-1, :], v[..., :, :-1], a_c[:-1]

        def mean(f, a):
            return float((f * a).sum() / (a.sum() * f.shape[-1] * f.shape[:-2].numel()))
        E = 0.5 * mean(u * u, a_c) + 0.5 * mean(v * v, a_q) + mean(psi * psi, a_q) / (2 * self.Ld**2)
        return float(torch.maximum(u.abs().max(), v.abs().max())), E


def run(data=DEFAULT_DATA, out: Optional[Path] = Path("results/gulfstream_qg"), days: float = 30.0, dt_max: float = 3600.0,
        bbox: Sequence[float] = BBOX, metric: str = "sphere", taper_cells: int = 3, Ld: float = LD,
        report_every: float = 10.0, plot: bool = True, boundary: str = "open") -> dict:
    """Run the example (module docstring); returns the summary dict (also written to ``out`` unless None)."""
    t_start = time.perf_counter()
    ssh, lon, lat, map_times, ocean = load_box(data, bbox)
    box = Box(ssh, map_times, ocean, lon, lat, metric, boundary, Ld, taper_cells)
    grid, model = box.grid, box.model
    dx_min = float(grid.dx_at("corner").min()) if grid.metric == "sphere" else grid.dx
    umax0 = box.velocity_energy(0.0, box.q0)[0]
    dt_cfl = min(dt_max, CFL * min(dx_min, grid.dy) / max(umax0, 1e-3))
    report_every = min(report_every, days)
    n_reports = days / report_every
    if abs(n_reports - round(n_reports)) > 1e-9:
        raise ValueError(f"report_every={report_every} days does not divide days={days}")
    n_report = math.ceil(report_every * DAY / dt_cfl - 1e-9)  # steps per report, dt <= dt_cfl
    dt = report_every * DAY / n_report
    n_steps = n_report * int(round(n_reports))
    with torch.no_grad():
        times, states = integrate_fixed(model, box.q0, dt, n_steps, save_every=n_report, method="rk4")
        q = states[:, 0]  # (S, 1, ny, nx)
        finite = bool(torch.isfinite(q).all())
        ue = [box.velocity_energy(float(t), qi.unsqueeze(0)) for t, qi in zip(times, q)]
        eta = torch.cat([box.ssh(float(t), qi.unsqueeze(0)) for t, qi in zip(times, q)])
        psi = torch.cat([box.streamfunction(float(t), qi.unsqueeze(0)) for t, qi in zip(times, q)])
    umax, energy = [u for u, _ in ue], [e for _, e in ue]
    land = ~ocean
    bounded = finite and max(energy) <= ENERGY_BOUND * energy[0]
    summary = {
        "bbox": list(check_bbox(bbox)), "n_maps": int(ssh.shape[0]), "map_days": [float(t) / DAY for t in map_times],
        "shape": list(grid.shape), "metric_requested": metric, "grid_metric": grid.metric, "metric_used": box.metric_used,
        "boundary": boundary, "taper_cells": taper_cells if boundary == "closed" else 0,
        "ocean_cells": int(ocean.sum()), "land_cells": int(land.sum()),
        "Ld_m": Ld, "nu4_m4_per_s": float(box.qg.p("nu4")), "dt_s": dt, "n_steps": n_steps, "cfl": CFL,
        "dx_min_m": dx_min, "dy_m": grid.dy, "f0_per_s": grid.f0, "beta_per_m_per_s": grid.beta,
        "days": [float(t) / DAY for t in times], "max_abs_velocity_m_s": umax, "energy_m2_s2": energy,
        "finite": finite, "energy_bounded": bounded, "energy_bound_factor": ENERGY_BOUND,
        "ssh_rms_m": [float(e[ocean].pow(2).mean().sqrt()) for e in eta],
        "wall_s": None,
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        eta_c = eta.unsqueeze(1)  # (S, 1, ny, nx)
        attrs = {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}
        attrs["title"] = "1.5-layer QG on the Gulf Stream box from a DUACS L4 map (hybridocean example)"
        attrs["source_data"] = "DUACS DT L4 global 0.25 deg (Copernicus Marine), via swot-simulator 1.2.1 sample data"
        ds = states_to_dataset(torch.cat((eta_c, psi, q), 1), times, grid, ("eta", "psi1", "q1"), attrs=attrs)
        ds["eta"].attrs["long_name"] = "sea surface height anomaly about the initial box mean (model)"
        write_netcdf(ds, out / "gulfstream_qg.nc")
        if plot:
            _plot(eta, lon, lat, summary["days"], out / "gulfstream_qg.png")
    summary["wall_s"] = time.perf_counter() - t_start
    if out is not None:
        save_json(summary, Path(out) / "gulfstream_qg.json")
    if not bounded:
        raise RuntimeError(f"the run blew up: finite={finite}, energy {energy} (bound {ENERGY_BOUND} x E(0))")
    return summary


def _plot(eta: torch.Tensor, lon, lat, days, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybridocean.io import atomic_write

    e = eta.numpy()
    lim = float(np.nanmax(np.abs(e[[0, -1]])))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for ax, k in zip(axes, (0, -1)):
        im = ax.pcolormesh(lon, lat, np.ma.masked_invalid(e[k]), cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest")
        ax.set_title(f"SSH anomaly, day {days[k]:.0f}")
        ax.set_xlabel("longitude [deg E]")
        ax.set_aspect(1 / math.cos(math.radians(float(np.mean(lat)))))
    axes[0].set_ylabel("latitude [deg N]")
    fig.colorbar(im, ax=axes, label="m (land: blank)")
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="DUACS L4 folder / file / glob")
    p.add_argument("--out", default="results/gulfstream_qg")
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--dt", type=float, default=3600.0, help="largest time step [s] (CFL may choose less)")
    p.add_argument("--bbox", type=float, nargs=4, default=list(BBOX), metavar=("LON0", "LON1", "LAT0", "LAT1"))
    p.add_argument("--metric", default="sphere", choices=("sphere", "beta_plane"))
    p.add_argument("--boundary", default="open", choices=("open", "closed"),
                   help="open: psi prescribed from the maps on the outer ring (+ sponge); closed: walls")
    p.add_argument("--taper", type=int, default=3, help="closed walls: cells over which the initial anomaly ramps to 0")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    s = run(args.data, Path(args.out), args.days, args.dt, args.bbox, args.metric, args.taper, boundary=args.boundary)
    print(f"grid {s['shape']} metric={s['grid_metric']} (asked {s['metric_requested']}), {s['boundary']} boundary, dt = {s['dt_s']:.0f} s, "
          f"{s['n_steps']} RK4 steps, {s['wall_s']:.1f} s")
    print("day    max|u| [m/s]   energy [m^2/s^2]   SSH rms [m]")
    for d, u, e, r in zip(s["days"], s["max_abs_velocity_m_s"], s["energy_m2_s2"], s["ssh_rms_m"]):
        print(f"{d:5.1f}  {u:12.3f}   {e:16.4g}   {r:10.4f}")
    print(json.dumps({"finite": s["finite"], "energy_bounded": s["energy_bounded"], "out": args.out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
