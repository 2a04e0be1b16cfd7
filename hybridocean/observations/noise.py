"""Measurement errors of altimeters: white noise, the KaRIn noise table, a correlated roll error.

KaRIn noise table (``karin_noise_v2.nc``, swot-simulator 1.2.1 data folder): variables
``cross_track (x_ac)`` [km, attribute ``unit = "km"``, 5.0 .. 62.0 km from nadir],
``SWH (z)`` [m, significant wave height 0 .. 8 m] and ``height_sdt (z, x_ac)`` [m, "standard
deviation of KaRIN noise"]. The table is the noise std of a 1 km x 1 km pixel: swot-simulator
(``swot_simulator/error/karin.py``) interpolates it linearly in ``|cross_track|`` and SWH and
divides by ``sqrt(delta_al * delta_ac)`` with the along/across-track pixel sizes in km, i.e. the
std of a pixel of area ``A`` [km^2] is ``height_sdt / sqrt(A)`` (averaging independent 1-km
samples). :class:`KarinNoise` does the same (2 km x 2 km pixels: half the table value).

Roll error (optional): ``e(s, x) = theta(s) * x`` with ``x`` the signed cross-track distance [m]
and ``theta`` a stationary Gaussian AR(1) process in along-track distance ``s`` [m] (correlation
``exp(-|ds| / L)``), of std ``roll_std_m / 60 km`` so that the error std at the swath edge
(60 km) is ``roll_std_m``. This is the linear-in-cross-track shape of the SWOT roll error
(swot-simulator ``error/roll_phase.py``: "roll ... is a linear function of the cross-track
distance"); the spectrum there is a tabulated one, here an exponential correlation.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Union

import numpy as np
import xarray as xr

PathLike = Union[str, os.PathLike]
RngLike = Union[int, np.integer, np.random.Generator, None]


def as_generator(rng: RngLike, name: str = "rng") -> np.random.Generator:
    """The one random-generator helper of :mod:`hybridocean.observations`.

    ``rng`` itself if it is a :class:`numpy.random.Generator`; ``np.random.default_rng(rng)`` for an
    int seed (Python or NumPy integer, ``bool`` refused) or ``None`` (fresh OS entropy, not
    reproducible). Anything else: ``TypeError`` naming the argument ``name`` (the caller's
    parameter, e.g. ``"seed"``) and listing what is accepted.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be an int seed, None or a numpy.random.Generator, got {type(rng).__name__}")


def check_std(name: str, std) -> float:
    """``float(std)`` after checking it is finite and >= 0 (``ValueError`` naming ``name``)."""
    try:
        v = float(std)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number (metres), got {std!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite noise std >= 0 (metres), got {std!r}")
    return v


def white_noise(std, shape, rng) -> np.ndarray:
    """Independent Gaussian errors ``N(0, std^2)`` [m] of ``shape``; ``std`` scalar or broadcastable."""
    s = np.asarray(std, dtype=float)
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise ValueError("std must be finite and >= 0 (metres)")
    return as_generator(rng).standard_normal(shape) * s


def ar1_series(s_m: np.ndarray, length_m: float, rng) -> np.ndarray:
    """Unit-variance stationary AR(1) (Ornstein-Uhlenbeck) samples at positions ``s_m`` [m].

    ``z_0 ~ N(0, 1)``, ``z_k = r z_{k-1} + sqrt(1 - r^2) w_k`` with ``r = exp(-(s_k - s_{k-1}) / L)``:
    exact for any (non-decreasing) spacing, correlation ``exp(-|ds| / L)``. Shape ``(n,)``.
    """
    s = np.asarray(s_m, dtype=float)
    if s.ndim != 1 or (s.size > 1 and np.any(np.diff(s) < 0)):
        raise ValueError("s_m must be a 1-D non-decreasing array of along-track distances (m)")
    if not (math.isfinite(length_m) and length_m > 0):
        raise ValueError(f"length_m must be > 0 (metres), got {length_m!r}")
    g = as_generator(rng)
    w = g.standard_normal(s.size)
    z = np.empty(s.size)
    if s.size == 0:
        return z
    r = np.exp(-np.diff(s) / length_m)
    z[0] = w[0]
    for k in range(1, s.size):  # sequential recursion; n is the number of swath lines (small)
        z[k] = r[k - 1] * z[k - 1] + math.sqrt(1.0 - r[k - 1] ** 2) * w[k]
    return z


def roll_error(s_m: np.ndarray, cross_track_m: np.ndarray, roll_std_m: float, length_m: float, rng,
               edge_m: float = 60e3) -> np.ndarray:
    """Correlated roll error ``theta(s) * x`` [m], shape ``(n_lines, n_pixels)``.

    ``s_m``: ``(n_lines,)`` along-track distance [m]; ``cross_track_m``: ``(n_pixels,)`` signed
    distance [m]; ``theta`` = AR(1) of correlation length ``length_m`` with std
    ``roll_std_m / edge_m`` (error std ``roll_std_m`` at ``|x| = edge_m``).
    """
    std = check_std("roll_std_m", roll_std_m)
    theta = ar1_series(s_m, length_m, rng) * (std / edge_m)
    return theta[:, None] * np.asarray(cross_track_m, dtype=float)[None, :]


class KarinNoise:
    """KaRIn random-noise std versus cross-track distance and SWH (table units in the module doc).

    Args:
        cross_track_km: ``(n_x,)`` increasing distances from nadir [km].
        swh_m: ``(n_h,)`` increasing significant wave heights [m].
        std_m: ``(n_h, n_x)`` noise std of a 1 km^2 pixel [m].
    """

    def __init__(self, cross_track_km, swh_m, std_m) -> None:
        self.cross_track_km = np.asarray(cross_track_km, dtype=float)
        self.swh_m = np.asarray(swh_m, dtype=float)
        self.std_m = np.asarray(std_m, dtype=float)
        if self.std_m.shape != (self.swh_m.size, self.cross_track_km.size):
            raise ValueError(f"std_m must be (n_swh={self.swh_m.size}, n_x={self.cross_track_km.size}), got {self.std_m.shape}")
        for name, a in (("cross_track_km", self.cross_track_km), ("swh_m", self.swh_m)):
            if a.size < 2 or not np.all(np.diff(a) > 0):
                raise ValueError(f"{name} must be strictly increasing with >= 2 values")
        if not np.all(np.isfinite(self.std_m)) or np.any(self.std_m < 0):
            raise ValueError("std_m must be finite and >= 0")

    @classmethod
    def from_file(cls, path: PathLike) -> "KarinNoise":
        """Read ``karin_noise_v2.nc`` (variables ``cross_track``, ``SWH``, ``height_sdt``)."""
        path = Path(path)
        try:
            with xr.open_dataset(path) as ds:
                names = ("cross_track", "SWH", "height_sdt")
                missing = [n for n in names if n not in ds.variables]
                if missing:
                    raise ValueError(f"missing variables {missing}")
                units = ds["cross_track"].attrs.get("unit", ds["cross_track"].attrs.get("units", "km"))
                if units != "km":
                    raise ValueError(f"cross_track unit {units!r}, expected 'km'")
                return cls(ds["cross_track"].values, ds["SWH"].values, ds["height_sdt"].values)
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"KaRIn noise file {str(path)!r} could not be read: {e}") from None

    def std(self, cross_track_m, swh_m=2.0, pixel_area_km2: float = 4.0) -> np.ndarray:
        """Noise std [m] at signed cross-track distances [m] for SWH [m], pixel area [km^2].

        Bilinear in (``|x|`` in km, SWH), clamped to the table's ranges, divided by
        ``sqrt(pixel_area_km2)`` (default 2 km x 2 km). ``swh_m`` scalar or broadcastable.
        """
        x = np.abs(np.asarray(cross_track_m, dtype=float)) / 1e3
        h = np.broadcast_to(np.asarray(swh_m, dtype=float), x.shape)
        if np.any(~np.isfinite(h)) or np.any(h < 0):
            raise ValueError("swh_m must be finite and >= 0 (metres)")
        if not (math.isfinite(pixel_area_km2) and pixel_area_km2 > 0):
            raise ValueError(f"pixel_area_km2 must be > 0, got {pixel_area_km2!r}")
        xc = np.clip(x, self.cross_track_km[0], self.cross_track_km[-1])
        hc = np.clip(h, self.swh_m[0], self.swh_m[-1])
        i = np.clip(np.searchsorted(self.swh_m, hc, side="right") - 1, 0, self.swh_m.size - 2)
        wh = (hc - self.swh_m[i]) / (self.swh_m[i + 1] - self.swh_m[i])
        lo = np.empty(x.shape)
        hi = np.empty(x.shape)
        for k in np.unique(i):  # interpolate across track in the two bracketing SWH rows
            m = i == k
            lo[m] = np.interp(xc[m], self.cross_track_km, self.std_m[k])
            hi[m] = np.interp(xc[m], self.cross_track_km, self.std_m[k + 1])
        return ((1 - wh) * lo + wh * hi) / math.sqrt(pixel_area_km2)
