"""A constellation of altimeters over a time window, and sampling a gridded SSH truth with it.

Platforms (names accepted by :func:`platform_names` / ``hybridocean observe --constellation``):

============  ==========================================================================
``swot``      SWOT science orbit: KaRIn swaths (``swot_karin``) + its nadir altimeter
              (``swot_nadir``); ground track from an ephemeris file when given (the AVISO
              ``ephemeris_science_sept2015_ell.txt``), else the repeat-orbit generator
``swot_karin``, ``swot_nadir``  one of the two
``swot_calval``  the 1-day fast-sampling orbit (platforms ``swot_karin`` and ``swot_nadir``)
``jason3``, ``sentinel3a``, ``sentinel3b``, ``saral``, ``cryosat2``, ``hy2a``, ``hy2b``
              nadir altimeters on the generated orbits of :data:`.orbits.MISSIONS` at 1 Hz
============  ==========================================================================

Clock and phase: every orbit's clock starts at the window start (``t = 0`` at ``start``). A
generated orbit crosses its ascending node at longitude ``lon0_deg`` at ``t0_s`` (defaults 0, 0;
override per platform with ``phases={"jason3": (lon0_deg, t0_s)}``); an ephemeris starts at its
first line. These are arbitrary phases: the tracks have the right geometry and revisit, not the
real satellites' positions on that date.

Sampling (:meth:`Constellation.sample`): the truth is a DataArray/Dataset of SSH on
``(time, latitude, longitude)`` or ``(time, y, x)`` (:func:`.l4.read_l4` output). For each point
inside the grid (between its first and last nodes) and the truth's time span (a truth with a
single map stands for the whole window),
``ssh = H(truth) + noise`` with ``H`` the bilinear-in-space, linear-in-time
:class:`.operator.ObservationOperator`; points where ``H(truth)`` is NaN (a land/fill node in the
stencil) are dropped. An ``(time, y, x)`` truth without lon/lat coordinates is placed on the sphere
with its centre at ``center_lonlat`` (default: longitude 0 and the latitude of its Coriolis
parameter, ``asin(f0 / 2 Omega)`` from the ``f0_per_s`` attribute), using the local
equirectangular map of :meth:`physics.grid.Grid.from_lonlat`:
``x = Lx/2 + R cos(lat_c) (lon - lon_c) pi/180``, ``y = Ly/2 + R (lat - lat_c) pi/180``; the
observations are then in ``x``/``y`` [m].
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from physics.grid import EARTH_RADIUS, OMEGA

from .core import Observations, seconds_since, to_datetime64
from .ephemeris import read_ephemeris
from .gridded import grid_from_dataset
from .nadir import TrackPoints, nadir_points
from .noise import KarinNoise, as_generator, check_std
from .operator import ObservationOperator, fractional_indices
from .orbits import MISSIONS, RepeatOrbit, ground_speed
from .swot import karin_points

NADIR_MISSIONS = ("jason3", "sentinel3a", "sentinel3b", "saral", "cryosat2", "hy2a", "hy2b")
#: name -> (orbit, [(kind, platform name)])
PLATFORMS: Dict[str, Tuple[str, List[Tuple[str, str]]]] = {
    "swot": ("swot", [("karin", "swot_karin"), ("nadir", "swot_nadir")]),
    "swot_karin": ("swot", [("karin", "swot_karin")]),
    "swot_nadir": ("swot", [("nadir", "swot_nadir")]),
    "swot_calval": ("swot_calval", [("karin", "swot_karin"), ("nadir", "swot_nadir")]),
    **{m: (m, [("nadir", m)]) for m in NADIR_MISSIONS},
}


def as_datetime(name: str, value) -> np.datetime64:
    """``value`` (datetime64, ``datetime`` or ISO string such as ``"2019-01-01"``) as datetime64[ns].

    A bare number is refused (``np.datetime64(86400, "ns")`` would silently mean 1970)."""
    if isinstance(value, (bool, int, float, np.number)):
        raise ValueError(f"{name} must be a date/time such as 2019-01-01 or 2019-01-01T12:00, got the number {value!r}")
    try:
        out = np.datetime64(value, "ns") if not isinstance(value, np.datetime64) else value.astype("datetime64[ns]")
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date/time such as 2019-01-01 or 2019-01-01T12:00, got {value!r}") from None
    if np.isnat(out):
        raise ValueError(f"{name} must be a valid date/time, got {value!r}")
    return out


def platform_names() -> List[str]:
    """The constellation member names :class:`Constellation` accepts."""
    return sorted(PLATFORMS)


def parse_platforms(spec: Union[str, Sequence[str]]) -> List[str]:
    """``"swot,jason3"`` or a list -> validated, de-duplicated names (``ValueError`` for unknown ones)."""
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f"constellation is empty; expected a comma-separated list of {platform_names()}")
    bad = [n for n in names if n not in PLATFORMS]
    if bad:
        raise ValueError(f"constellation: unknown platform(s) {bad}; expected some of {platform_names()}")
    return list(dict.fromkeys(names))


class Constellation:
    """Altimeters sampling over ``[start, start + days)``.

    Args:
        platforms: names (see the module table) or a comma-separated string.
        start: window start (datetime64 or ISO string); ``t = 0`` of every orbit.
        days: window length [days], > 0.
        ephemeris: ephemeris files by orbit, ``{"swot": path, "swot_calval": path}`` (missing:
            the generator), or one path for ``"swot"``.
        karin_noise: ``karin_noise_v2.nc`` path or :class:`.noise.KarinNoise` for the KaRIn
            random error; else ``karin_noise_std`` [m] (default 0).
        nadir_noise_std: white-noise std of nadir altimeters [m] (default 0: the SSH-mapping data
            challenge 2020a uses error-free observations).
        swh_m: significant wave height for the KaRIn noise table [m].
        roll_std_m, roll_length_m: correlated roll error (std at 60 km [m], along-track
            correlation length [m]); 0 disables it.
        phases: ``{platform: (lon0_deg, t0_s)}`` for generated orbits.
    """

    def __init__(self, platforms, start, days: float, ephemeris=None, karin_noise=None, karin_noise_std: float = 0.0,
                 nadir_noise_std: float = 0.0, swh_m: float = 2.0, roll_std_m: float = 0.0,
                 roll_length_m: float = 1000e3, phases: Optional[Dict[str, Tuple[float, float]]] = None) -> None:
        self.names = parse_platforms(platforms)
        self.start = as_datetime("start", start)
        try:
            self.days = float(days)
        except (TypeError, ValueError):
            raise TypeError(f"days must be a number of days, got {days!r}") from None
        if not (math.isfinite(self.days) and self.days > 0):
            raise ValueError(f"days must be > 0, got {days!r}")
        self.nadir_noise_std = check_std("nadir_noise_std", nadir_noise_std)
        self.karin_noise_std = check_std("karin_noise_std", karin_noise_std)
        self.roll_std_m = check_std("roll_std_m", roll_std_m)
        if not (math.isfinite(roll_length_m) and roll_length_m > 0):
            raise ValueError(f"roll_length_m must be > 0 (metres), got {roll_length_m!r}")
        self.roll_length_m = float(roll_length_m)
        if not (math.isfinite(swh_m) and swh_m >= 0):
            raise ValueError(f"swh_m must be >= 0 (metres), got {swh_m!r}")
        self.swh_m = float(swh_m)
        if karin_noise is not None and not isinstance(karin_noise, KarinNoise):
            karin_noise = KarinNoise.from_file(karin_noise)
        self.karin = karin_noise
        if ephemeris is not None and not isinstance(ephemeris, dict):
            ephemeris = {"swot": ephemeris}
        self.phases = dict(phases or {})
        self.orbits = {}
        for name in self.names:
            orbit_name = PLATFORMS[name][0]
            if orbit_name in self.orbits:
                continue
            path = (ephemeris or {}).get(orbit_name)
            if path is not None:
                self.orbits[orbit_name] = read_ephemeris(path, name=orbit_name)
            else:
                lon0, t0 = self.phases.get(name, self.phases.get(orbit_name, (0.0, 0.0)))
                self.orbits[orbit_name] = RepeatOrbit(MISSIONS[orbit_name], lon0, t0)

    @property
    def duration_s(self) -> float:
        """Window length [s]."""
        return self.days * 86400.0

    def points(self, bbox=None, seed=None) -> List[TrackPoints]:
        """Track points (with noise draws) of every platform inside ``bbox`` over the window."""
        g = as_generator(seed, name="seed")
        out = []
        for name in self.names:
            orbit_name, members = PLATFORMS[name]
            orbit = self.orbits[orbit_name]
            for kind, pname in members:
                if kind == "nadir":
                    out.append(nadir_points(orbit, 0.0, self.duration_s, self.nadir_noise_std, bbox=bbox, rng=g, platform=pname))
                else:
                    out.append(karin_points(
                        orbit, 0.0, self.duration_s, karin=self.karin, swh_m=self.swh_m,
                        noise_std=None if self.karin is not None else self.karin_noise_std,
                        roll_std_m=self.roll_std_m, roll_length_m=self.roll_length_m,
                        ground_speed_m_s=ground_speed(orbit), bbox=bbox, rng=g, platform=pname,
                    ))
        return out

    def attrs(self) -> dict:
        """Provenance attributes for the output file."""
        return {
            "constellation": ",".join(self.names),
            "window_start": str(self.start),
            "window_days": self.days,
            "nadir_noise_std_m": self.nadir_noise_std,
            "karin_noise": "karin_noise_v2 table" if self.karin is not None else f"white {self.karin_noise_std} m",
            "karin_swh_m": self.swh_m,
            "roll_error_std_at_60km_m": self.roll_std_m,
            "roll_error_length_m": self.roll_length_m,
            "orbits": "; ".join(f"{k}: {v!r}" for k, v in self.orbits.items()),
        }

    def sample(self, truth, seed=None, variable: Optional[str] = None,
               center_lonlat: Optional[Tuple[float, float]] = None) -> Observations:
        """Observations of ``truth`` (see the module docstring); ``seed`` int or Generator.

        Raises ``ValueError`` when the truth has no SSH variable or coordinates, is all missing,
        or no point of the constellation falls on its ocean within the window.
        """
        da = truth_array(truth, variable)
        grid = grid_from_dataset(da)
        tf = to_datetime64("time", da["time"].values)
        t_truth = seconds_since(tf, self.start)
        end = self.duration_s
        if t_truth[-1] < 0 or t_truth[0] > end:
            raise ValueError(f"start/days: the window [{self.start}, +{self.days} d] does not overlap the truth times [{tf[0]}, {tf[-1]}]")
        lonlat = "longitude" in da.dims or "lat" in da.dims or "lon" in da.dims or "latitude" in da.dims
        if lonlat:
            glon, glat = grid.lon, grid.lat
            bbox = (float(glon[0]), float(glon[-1]), float(glat[0]), float(glat[-1]))
            mapper = None
        elif grid.lon is not None and grid.lat is not None:
            bbox = (float(grid.lon[0]), float(grid.lon[-1]), float(grid.lat[0]), float(grid.lat[-1]))
            mapper = "lonlat-grid"
        else:
            lon_c, lat_c = center_lonlat if center_lonlat is not None else (0.0, math.degrees(math.asin(max(-1.0, min(1.0, grid.f0 / (2 * OMEGA))))))
            if not (math.isfinite(lon_c) and -90 < lat_c < 90):
                raise ValueError(f"center_lonlat must be (lon, lat) degrees with |lat| < 90, got {center_lonlat!r}")
            hx = math.degrees(0.5 * grid.Lx / (EARTH_RADIUS * math.cos(math.radians(lat_c))))
            hy = math.degrees(0.5 * grid.Ly / EARTH_RADIUS)
            if lat_c - hy <= -90 or lat_c + hy >= 90 or 2 * hx > 360:
                raise ValueError(f"the x/y domain ({grid.Lx:.3g} x {grid.Ly:.3g} m) does not fit on the sphere at center_lonlat={center_lonlat!r}")
            bbox = (lon_c - hx, lon_c + hx, lat_c - hy, lat_c + hy)
            mapper = (lon_c, lat_c)
        tol = end if t_truth.size == 1 else 0.0  # a single map stands for the whole window
        g = as_generator(seed, name="seed")
        fields = np.asarray(da.values, dtype=np.float64)
        import torch

        ftensor = torch.from_numpy(fields)
        parts = []
        for tp in self.points(bbox=bbox, seed=g):
            if len(tp) == 0:
                continue
            pos = {"longitude": tp.lon, "latitude": tp.lat}
            if isinstance(mapper, tuple):
                lon_c, lat_c = mapper
                dlon = (tp.lon - lon_c + 180.0) % 360.0 - 180.0
                pos = {"x": 0.5 * grid.Lx + EARTH_RADIUS * math.cos(math.radians(lat_c)) * np.radians(dlon),
                       "y": 0.5 * grid.Ly + EARTH_RADIUS * np.radians(tp.lat - lat_c)}
            probe = Observations.from_arrays(time=tp.time_s, time_origin=self.start, ssh=np.zeros(len(tp)),
                                             platform=tp.platform, error_std=tp.error_std,
                                             cross_track_distance=tp.cross_track, **pos)
            op = ObservationOperator(probe, grid, t_truth, time_origin=self.start, allow_empty=True, time_tolerance=tol)
            if op.n_obs == 0:
                continue
            val = op.expand(op(ftensor)).numpy()
            keep = np.isfinite(val)
            if not keep.any():
                continue
            sel = {k: v[keep] for k, v in pos.items()}
            parts.append(Observations.from_arrays(
                time=tp.time_s[keep], time_origin=self.start, ssh=val[keep] + tp.noise[keep], platform=tp.platform,
                error_std=tp.error_std[keep], cross_track_distance=None if tp.cross_track is None else tp.cross_track[keep], **sel,
            ))
        if not parts:
            raise ValueError(
                f"no observation of constellation {','.join(self.names)} falls on valid (ocean) truth values "
                f"in the window [{self.start}, +{self.days} d] and the box {tuple(round(b, 4) for b in bbox)}"
            )
        obs = Observations.concat(parts)
        attrs = {**self.attrs(), "truth_variable": str(da.name)}
        if isinstance(mapper, tuple):
            attrs["domain_center_lonlat"] = f"{mapper[0]} {mapper[1]}"
        obs.ds.attrs.update(attrs)
        return obs


def truth_array(truth, variable: Optional[str] = None) -> xr.DataArray:
    """The SSH DataArray ``(time, lat, lon)`` / ``(time, y, x)`` of a truth Dataset/DataArray.

    ``variable`` (default: the ``ssh_variable`` attribute of :func:`.l4.read_l4` output, else the
    recognised SSH variable of :func:`.ssh_vars.ssh_variable`); a 2-D map without ``time`` is refused.
    """
    from .ssh_vars import ssh_variable

    if isinstance(truth, xr.DataArray):
        da = truth
    elif isinstance(truth, xr.Dataset):
        name = variable or truth.attrs.get("ssh_variable") or ssh_variable(truth)
        if name not in truth.data_vars:
            raise ValueError(f"variable {name!r} is not in the truth (variables {sorted(truth.data_vars)})")
        da = truth[name]
        grid_keys = {k: truth.attrs[k] for k in ("grid_boundary", "f0_per_s", "beta_per_m_per_s") if k in truth.attrs}
        if grid_keys:  # the grid attributes of a library simulation are global
            da = da.assign_attrs({**grid_keys, **da.attrs})
    else:
        raise TypeError(f"truth must be an xarray Dataset or DataArray, got {type(truth).__name__}")
    if "time" not in da.dims or da.ndim != 3 or da.dims[0] != "time":
        raise ValueError(f"truth SSH must have dims (time, latitude, longitude) or (time, y, x), got {da.dims}")
    if not np.isfinite(np.asarray(da.values, dtype=float)).any():
        raise ValueError(f"truth variable {da.name!r}: all values are missing")
    return da


def daily_coverage(obs: Observations, truth, start, days: float, variable: Optional[str] = None) -> List[dict]:
    """Per day of the window: ``{"day", "n_obs", "fraction_grid", "fraction_ocean"}``.

    ``fraction_grid``: cells of the truth grid holding >= 1 observation that day (nearest cell
    centre) over all cells; ``fraction_ocean``: over the cells with a finite truth value at the
    first time.
    """
    da = truth_array(truth, variable)
    grid = grid_from_dataset(da)
    fi, fj = fractional_indices(obs, grid, "center")
    i = np.floor(fi + 0.5).astype(np.int64)
    j = np.floor(fj + 0.5).astype(np.int64)
    ok = (i >= 0) & (i < grid.nx) & (j >= 0) & (j < grid.ny)
    ocean = int(np.isfinite(np.asarray(da.values[0], dtype=float)).sum())
    start = as_datetime("start", start)
    day = np.floor(obs.time_seconds(start) / 86400.0).astype(np.int64)
    out = []
    for d in range(int(math.ceil(days))):
        m = ok & (day == d)
        cells = np.unique(j[m] * grid.nx + i[m]).size
        out.append({"day": str((start + np.timedelta64(d, "D")).astype("datetime64[D]")), "n_obs": int((day == d).sum()),
                    "fraction_grid": cells / (grid.nx * grid.ny), "fraction_ocean": cells / max(ocean, 1)})
    return out
