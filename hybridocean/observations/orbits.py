"""Circular repeat orbits of the altimeters and their ground tracks (sub-satellite points).

Model
-----
A circular orbit of inclination ``i`` whose ground track repeats exactly after ``P`` seconds
(``repeat_days * 86400``), ``N`` revolutions (``revolutions``) and ``k`` nodal days (the number of
turns the Earth makes under the orbital plane in one cycle, :attr:`OrbitParameters.nodal_days`).
With ``tau = t - t0`` (``t0``: time of an ascending-node crossing) the argument of latitude and
the Earth-fixed longitude of the ascending node are::

    u(t)        = 2 pi N tau / P + phase                    (nodal period T = P / N)
    lon_node(t) = lon0 - 2 pi k tau / P                     (Earth rotation minus nodal precession)

and the sub-satellite point on a spherical Earth is::

    lat_c = asin(sin i sin u),    lon = lon_node + atan2(cos i sin u, cos u).

The same formulas hold for retrograde orbits (``i > 90 deg``: ``cos i < 0`` and the track runs
westward, e.g. Sentinel-3 at 98.65 deg). ``k`` is the integer nearest to
``P (Omega_E - dOmega/dt) / (2 pi)`` (and coprime with ``N``) with the sidereal rotation rate
``Omega_E`` and the J2 nodal precession ``dOmega/dt = -3/2 J2 (R_e / a)^2 n cos i`` (``a`` from
Kepler's third law with the nodal period), so the generated track repeats *exactly* after ``P``
and its ``N`` ascending nodes are ``360 / N`` degrees apart. For every published orbit below
except CryoSat-2 that real number is within 3e-5 of an integer, a check of the cited figures.

Validation against the AVISO SWOT ephemerides (phase fitted, :mod:`.ephemeris`): over a full
20.86455-day science cycle the generated ground track stays within 3.4 km of the ephemeris track
(RMS 1.8 km); the same-time distance is at most 13.6 km (RMS 9.5 km), the along-track effect of
the frozen-orbit eccentricity (0.00105, ``2 a e = 15 km``) that a circular orbit leaves out. The
1-day cal/val orbit: 3.4 km (RMS 1.8 km). Without the geodetic conversion: 7.7 km (RMS 5.0 km).

``lat_c`` is the geocentric latitude of the satellite. The ephemerides of the missions give the
geodetic latitude (WGS84) of the satellite, which differs from it by up to
``~ e^2 sin(2 lat) / 2 * R / (R + h)`` (0.17 deg = 18 km at 45 deg for SWOT), so
:meth:`RepeatOrbit.positions` returns geodetic latitude by default (``geodetic=True``, exact
conversion of the point at radius ``R_e + altitude``). Everything else (distances, swath offsets)
uses the spherical Earth of :mod:`physics.grid` (mean radius 6371 km); on that sphere a geodetic
latitude error of 0.001 deg is 0.1 km.

Constants: sidereal day 86164.0905 s (IERS Conventions 2010, Table 1.2); ``GM = 3.986004418e14
m^3 s^-2``, ``R_e = 6378137 m``, flattening ``1/298.257223563`` (WGS84, NIMA TR8350.2);
``J2 = 1.08262668e-3`` (WGS84, NIMA TR8350.2 Table 3.1 / EGM96).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Optional, Tuple

import numpy as np

from hybridocean.observations.core import normalize_longitude
from physics.grid import EARTH_RADIUS

SIDEREAL_DAY = 86164.0905  # s, IERS Conventions (2010), Table 1.2
OMEGA_EARTH = 2.0 * math.pi / SIDEREAL_DAY  # rad/s (7.292115e-5)
GM_EARTH = 3.986004418e14  # m^3 s^-2, WGS84
R_EQUATOR = 6378137.0  # m, WGS84 semi-major axis
FLATTENING = 1.0 / 298.257223563  # WGS84
J2 = 1.08262668e-3  # WGS84 / EGM96 second zonal harmonic
E2 = FLATTENING * (2.0 - FLATTENING)  # first eccentricity squared


@dataclasses.dataclass(frozen=True)
class OrbitParameters:
    """Published parameters of a circular exact-repeat orbit.

    Args:
        name: platform name (as in :class:`hybridocean.observations.core.Observations`).
        inclination_deg: orbit inclination [deg], in (0, 180); > 90 is retrograde.
        repeat_days: exact repeat period ``P`` [days of 86400 s].
        revolutions: revolutions ``N`` per repeat cycle.
        altitude_m: reference altitude [m]: the radius ``R_e + altitude`` of the geodetic
            latitude conversion. The track itself only needs ``P``, ``N``, ``i``: the ground speed
            of the sub-satellite point is ``R`` times its angular rate, whatever the altitude.
        phase_deg: in-plane phase added to the argument of latitude [deg] (Sentinel-3B flies
            140 deg from Sentinel-3A in the same plane).
        source: where each number comes from.
    """

    name: str
    inclination_deg: float
    repeat_days: float
    revolutions: int
    altitude_m: float
    phase_deg: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if not (0.0 < float(self.inclination_deg) < 180.0) or math.isclose(self.inclination_deg, 90.0):
            raise ValueError(f"inclination_deg must be in (0, 180) and not 90, got {self.inclination_deg!r}")
        if not (math.isfinite(self.repeat_days) and self.repeat_days > 0):
            raise ValueError(f"repeat_days must be > 0, got {self.repeat_days!r}")
        if int(self.revolutions) != self.revolutions or self.revolutions < 1:
            raise ValueError(f"revolutions must be a positive integer, got {self.revolutions!r}")
        if not (math.isfinite(self.altitude_m) and self.altitude_m > 0):
            raise ValueError(f"altitude_m must be > 0 (metres), got {self.altitude_m!r}")

    @property
    def period_s(self) -> float:
        """Repeat period ``P = repeat_days * 86400`` [s]."""
        return self.repeat_days * 86400.0

    @property
    def nodal_period_s(self) -> float:
        """Nodal period ``T = P / N`` [s]."""
        return self.period_s / self.revolutions

    @property
    def semi_major_axis_m(self) -> float:
        """``a = (GM (T / 2 pi)^2)^(1/3)`` [m] (Kepler's third law with the nodal period)."""
        return (GM_EARTH * (self.nodal_period_s / (2 * math.pi)) ** 2) ** (1.0 / 3.0)

    @property
    def nodal_precession_rad_s(self) -> float:
        """J2 secular precession ``dOmega/dt = -3/2 J2 (R_e/a)^2 n cos i`` [rad/s]."""
        n = 2 * math.pi / self.nodal_period_s
        return -1.5 * J2 * (R_EQUATOR / self.semi_major_axis_m) ** 2 * n * math.cos(math.radians(self.inclination_deg))

    @property
    def nodal_days_exact(self) -> float:
        """``P (Omega_E - dOmega/dt) / (2 pi)``: Earth turns under the J2-precessing plane per cycle.

        Within 3e-5 of an integer for every published orbit of :data:`MISSIONS` except CryoSat-2
        (369.77: its "369 days" is a rounded figure).
        """
        return self.period_s * (OMEGA_EARTH - self.nodal_precession_rad_s) / (2 * math.pi)

    @property
    def nodal_days(self) -> int:
        """``k``: integer Earth turns under the orbital plane per cycle used by the generator.

        The integer nearest to :attr:`nodal_days_exact` that is coprime with ``N`` (so the ``N``
        ascending nodes of a cycle are distinct and ``360/N`` apart); the generated node then
        drifts at exactly ``2 pi k / P``.
        """
        x = self.nodal_days_exact
        cands = sorted(range(max(1, int(x) - 3), int(x) + 5), key=lambda k: (abs(k - x), k))
        return next(k for k in cands if math.gcd(k, int(self.revolutions)) == 1)

    @property
    def equatorial_spacing_deg(self) -> float:
        """Spacing of the ascending nodes at the equator over a full cycle: ``360 / N`` [deg]."""
        return 360.0 / self.revolutions


#: Published orbit parameters of the altimeters of the SSH-mapping data challenges.
MISSIONS: Dict[str, OrbitParameters] = {
    p.name: p
    for p in (
        OrbitParameters(
            "jason3", 66.04, 9.9156, 127, 1336e3,
            source="inclination 66.04 deg, repeat 9.9156 days, 127 revolutions, reference altitude "
                   "1336 km: NASA Earthdata/PO.DAAC Jason-3 platform page and AVISO altimetry.info "
                   "'Jason-3 orbit' (nodal period 6745.72 s = 9.9156 d / 127)",
        ),
        OrbitParameters(
            "sentinel3a", 98.65, 27.0, 385, 814.5e3,
            source="ESA Sentinel Online, 'Sentinel-3 orbit': inclination 98.65 deg, 27-day cycle, "
                   "385 orbits per cycle (14 + 7/27 per day), reference altitude 814.5 km",
        ),
        OrbitParameters(
            "sentinel3b", 98.65, 27.0, 385, 814.5e3, phase_deg=140.0,
            source="ESA Sentinel Online, 'Sentinel-3 orbit': identical to Sentinel-3A, flying "
                   "+/-140 deg out of phase (interleaved tracks, 52 km spacing with 3A)",
        ),
        OrbitParameters(
            "saral", 98.55, 35.0, 501, 800e3,
            source="AVISO altimetry.info 'SARAL orbit': 501 orbits, 35-day exact repeat (ERS/Envisat "
                   "track), inclination 98.55 deg, altitude ~800 km. Since 4 July 2016 (SARAL-DP) the "
                   "orbit drifts: this nominal track is not the real one after that date",
        ),
        OrbitParameters(
            "cryosat2", 92.0, 369.0, 5344, 717e3,
            source="ESA EO gateway CryoSat FAQ: 369-day repeat, 5344 orbits; AVISO 'orbite de "
                   "Cryosat': inclination 92 deg, altitude 717 km",
        ),
        OrbitParameters(
            "hy2a", 99.34, 14.0, 193, 971e3,
            source="ILRS HY-2 mission page and AVISO HY-2 page: 14-day sun-synchronous repeat, "
                   "altitude 971 km, inclination 99.34-99.35 deg; 193 revolutions derived from the "
                   "104.4-min period (14 d / 104.4 min = 193.1; Kepler at 971 km gives 104.5 min)",
        ),
        OrbitParameters(
            "hy2b", 99.34, 14.0, 193, 971e3,
            source="ILRS HY-2B mission page: circular, 99.35 deg, 971 km, same 14-day orbit as HY-2A "
                   "(revolutions as hy2a)",
        ),
        OrbitParameters(
            "swot", 77.6, 20.86455, 292, 890582.0,
            source="AVISO 'SWOT orbit' table, science orbit: 13 + 19/21, 292 orbits per cycle, exact "
                   "repeat 20.86455 days, inclination 77.6 deg, altitude 890.582 km",
        ),
        OrbitParameters(
            "swot_calval", 77.6, 0.99349, 14, 857244.0,
            source="AVISO 'SWOT orbit' table, fast-sampling (cal/val) orbit: 14 + 0/1, 14 orbits, "
                   "0.99349 days, inclination 77.6 deg, altitude 857.244 km",
        ),
    )
}


def geocentric_to_geodetic(lat_c_deg: np.ndarray, radius_m: float) -> np.ndarray:
    """Geodetic (WGS84) latitude [deg] of points at geocentric latitude ``lat_c`` and radius ``r``.

    With ``p = r cos(lat_c)``, ``z = r sin(lat_c)``, iterates Bowring's fixed point
    ``tan(phi) = (z + e^2 N(phi) sin(phi)) / p``, ``N = a / sqrt(1 - e^2 sin^2 phi)`` (WGS84 ``a``,
    ``e^2``); 5 iterations converge to < 1e-12 rad at satellite altitudes. Shapes: any.
    """
    lat_c = np.radians(np.asarray(lat_c_deg, dtype=float))
    p = radius_m * np.cos(lat_c)
    z = radius_m * np.sin(lat_c)
    phi = lat_c.copy()
    for _ in range(5):
        n = R_EQUATOR / np.sqrt(1.0 - E2 * np.sin(phi) ** 2)
        phi = np.arctan2(z + E2 * n * np.sin(phi), p)
    return np.degrees(phi)


def wrap_longitude(lon_deg: np.ndarray) -> np.ndarray:
    """Longitude in ``[-180, 180)`` degrees (:func:`hybridocean.observations.core.normalize_longitude`)."""
    return normalize_longitude(lon_deg)


class RepeatOrbit:
    """Ground track of a circular exact-repeat orbit (see the module docstring for the model).

    Args:
        params: the orbit (:data:`MISSIONS` entry or your own :class:`OrbitParameters`).
        lon0_deg: Earth-fixed longitude of the ascending node crossed at ``t0`` [deg].
        t0_s: time of that ascending-node crossing [s] on the caller's clock.
    """

    def __init__(self, params: OrbitParameters, lon0_deg: float = 0.0, t0_s: float = 0.0) -> None:
        if not isinstance(params, OrbitParameters):
            raise TypeError(f"params must be an OrbitParameters, got {type(params).__name__}")
        for name, v in (("lon0_deg", lon0_deg), ("t0_s", t0_s)):
            if not math.isfinite(float(v)):
                raise ValueError(f"{name} must be finite, got {v!r}")
        self.params = params
        self.lon0_deg = float(lon0_deg)
        self.t0_s = float(t0_s)

    @property
    def name(self) -> str:
        """The platform name of the orbit."""
        return self.params.name

    @property
    def altitude_m(self) -> float:
        """Reference altitude [m]."""
        return self.params.altitude_m

    @property
    def period_s(self) -> float:
        """Exact repeat period [s]."""
        return self.params.period_s

    def positions(self, t_s: np.ndarray, geodetic: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """Sub-satellite ``(lon [-180, 180), lat)`` [deg] at times ``t_s`` [s]; shapes of ``t_s``.

        ``lat = asin(sin i sin u)`` (geocentric), converted to geodetic latitude of the satellite
        at radius ``R_e + altitude`` when ``geodetic`` (the convention of the mission ephemerides).
        """
        t = np.asarray(t_s, dtype=float)
        p = self.params
        inc = math.radians(p.inclination_deg)
        tau = t - self.t0_s
        u = 2 * math.pi * p.revolutions * tau / p.period_s + math.radians(p.phase_deg)
        node = math.radians(self.lon0_deg) - 2 * math.pi * p.nodal_days * tau / p.period_s
        lat = np.degrees(np.arcsin(math.sin(inc) * np.sin(u)))
        lon = np.degrees(node + np.arctan2(math.cos(inc) * np.sin(u), np.cos(u)))
        if geodetic:
            lat = geocentric_to_geodetic(lat, R_EQUATOR + p.altitude_m)
        return wrap_longitude(lon), lat

    def __repr__(self) -> str:
        return f"RepeatOrbit({self.params.name!r}, lon0_deg={self.lon0_deg:.6g}, t0_s={self.t0_s:.6g})"


def great_circle_distance(lon1, lat1, lon2, lat2, radius: float = EARTH_RADIUS) -> np.ndarray:
    """Haversine distance [m] between points given in degrees (broadcasting) on a sphere of ``radius``.

    ``d = 2 R asin(sqrt(sin^2(dlat/2) + cos lat1 cos lat2 sin^2(dlon/2)))``.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def get_mission(name: str) -> OrbitParameters:
    """The :data:`MISSIONS` entry ``name`` (``ValueError`` listing the known names otherwise)."""
    if not isinstance(name, str) or name.lower() not in MISSIONS:
        raise ValueError(f"unknown orbit {name!r}; expected one of {sorted(MISSIONS)}")
    return MISSIONS[name.lower()]


def ground_speed(orbit, t_s: Optional[np.ndarray] = None, dt: float = 1.0) -> float:
    """Mean speed of the sub-satellite point [m/s] over one nodal period (``orbit.positions``).

    ``t_s`` defaults to one nodal period (6200 s for an orbit without ``params``, e.g. an ephemeris).
    Sums the great-circle distances between points ``dt`` seconds apart; this is the along-track
    spacing of a 1 Hz altimeter (Jason-3: 5.8 km/s published, PO.DAAC).
    """
    if t_s is None:
        params = getattr(orbit, "params", None)
        t_s = np.arange(0.0, params.nodal_period_s if params is not None else 6200.0, dt)
    lon, lat = orbit.positions(np.asarray(t_s, dtype=float))
    d = great_circle_distance(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return float(d.sum() / (t_s[-1] - t_s[0]))
