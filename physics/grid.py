"""The :class:`Grid`: geometry, Arakawa C-grid staggering, Coriolis and lon/lat metrics.

Staggering (the one place it is defined)
----------------------------------------
The domain ``[0, Lx] x [0, Ly]`` is cut into ``ny x nx`` cells of size ``dx x dy``.
Every field is stored as a tensor whose last two dims are ``(ny, nx)`` (y first), and the
index ``(j, i)`` of each location means::

    location  symbol          x              y             fields
    --------  ------  -------------  -------------  ---------------------------
    "center"    T     (i + 1/2) dx   (j + 1/2) dy   eta, h, SSH, tracers
    "u"         U     i dx           (j + 1/2) dy   u (x-velocity, on x-faces)
    "v"         V     (i + 1/2) dx   j dy           v (y-velocity, on y-faces)
    "corner"    Q     i dx           j dy           psi, relative vorticity, q (QG)

           V(j+1,i)
     Q(j+1,i) ----- Q(j+1,i+1)
        |              |
     U(j,i)  T(j,i)  U(j,i+1)
        |              |
     Q(j,i)  ------ Q(j,i+1)
            V(j,i)

Boundaries
----------
``periodic``: index ``n`` wraps to ``0`` in both directions (doubly periodic).
``closed``: solid walls at ``x = 0, Lx`` and ``y = 0, Ly``. The west/south walls are the stored
index 0 of ``u`` (``i = 0``), ``v`` (``j = 0``) and corners (``i = 0`` or ``j = 0``); the
east/north walls (index ``nx``/``ny``) are not stored and enter operators as ghost values.
Normal velocity and the streamfunction vanish on walls; :meth:`Grid.mask` gives 0 at the
stored wall points and 1 elsewhere.

Coriolis: ``f(y) = f0 + beta * (y - y0)`` with ``y0 = Ly / 2`` by default (beta-plane centred
on the domain).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._checks import check_choice, check_positive

LOCATIONS = ("center", "u", "v", "corner")
BOUNDARIES = ("periodic", "closed")

EARTH_RADIUS = 6.371e6  # m (mean radius)
OMEGA = 7.2921159e-5  # rad/s (Earth's rotation rate)

_OFFSETS = {"center": (0.5, 0.5), "u": (0.0, 0.5), "v": (0.5, 0.0), "corner": (0.0, 0.0)}


class Grid:
    """A regular 2-D Arakawa C-grid (SI units: metres, seconds).

    Args:
        nx, ny: number of cells in x and y (> 1).
        dx, dy: cell sizes [m]; or give ``Lx``/``Ly`` [m] instead (``dx = Lx / nx``).
        boundary: ``"periodic"`` (doubly periodic) or ``"closed"`` (walls on all sides).
        f0: Coriolis parameter at ``y0`` [1/s].
        beta: meridional gradient of f [1/(m s)].
        y0: latitude-origin of the beta-plane in domain coordinates [m]; default ``Ly / 2``.
        dtype, device: of the coordinate/Coriolis tensors the grid hands out.
        lon, lat: optional 1-D cell-centre coordinates in degrees (set by :meth:`from_lonlat`).
    """

    def __init__(
        self,
        nx: int,
        ny: int,
        dx: Optional[float] = None,
        dy: Optional[float] = None,
        Lx: Optional[float] = None,
        Ly: Optional[float] = None,
        boundary: str = "periodic",
        f0: float = 0.0,
        beta: float = 0.0,
        y0: Optional[float] = None,
        dtype: torch.dtype = torch.float64,
        device: Union[str, torch.device] = "cpu",
        lon: Optional[np.ndarray] = None,
        lat: Optional[np.ndarray] = None,
    ) -> None:
        for name, n in (("nx", nx), ("ny", ny)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
                raise TypeError(f"{name} must be an int, got {type(n).__name__}")
            if n < 2:
                raise ValueError(f"{name} must be >= 2, got {n}")
        self.nx, self.ny = int(nx), int(ny)
        self.dx = self._spacing("dx", "Lx", dx, Lx, self.nx)
        self.dy = self._spacing("dy", "Ly", dy, Ly, self.ny)
        self.boundary = check_choice("boundary", boundary, BOUNDARIES)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        self.f0 = float(f0)
        self.beta = float(beta)
        if not (math.isfinite(self.f0) and math.isfinite(self.beta)):
            raise ValueError(f"f0 and beta must be finite, got f0={f0!r}, beta={beta!r}")
        self.y0 = self.Ly / 2 if y0 is None else float(y0)
        self.dtype = dtype
        self.device = torch.device(device)
        self.lon = None if lon is None else np.asarray(lon, dtype=float)
        self.lat = None if lat is None else np.asarray(lat, dtype=float)

    @staticmethod
    def _spacing(dname: str, lname: str, d, L, n: int) -> float:
        if d is None and L is None:
            raise ValueError(f"give either {dname} or {lname} (grid spacing or domain length, metres)")
        if d is not None and L is not None:
            d = check_positive(dname, d)
            L = check_positive(lname, L)
            if not math.isclose(d * n, L, rel_tol=1e-9):
                raise ValueError(f"{dname} * n = {d * n} disagrees with {lname} = {L}; give only one")
            return d
        if d is not None:
            return check_positive(dname, d)
        return check_positive(lname, L) / n

    # ------------------------------------------------------------------ geometry
    @property
    def Lx(self) -> float:
        """Domain length in x [m]."""
        return self.nx * self.dx

    @property
    def Ly(self) -> float:
        """Domain length in y [m]."""
        return self.ny * self.dy

    @property
    def shape(self) -> tuple:
        """``(ny, nx)``: trailing shape of every field."""
        return (self.ny, self.nx)

    @property
    def periodic(self) -> bool:
        """True for a doubly periodic domain."""
        return self.boundary == "periodic"

    @property
    def cell_area(self) -> float:
        """``dx * dy`` [m^2]: the quadrature weight of a grid point."""
        return self.dx * self.dy

    def coords(self, loc: str = "center") -> tuple:
        """1-D coordinates ``(x, y)`` [m] of location ``loc`` (shapes ``(nx,)``, ``(ny,)``)."""
        check_choice("loc", loc, LOCATIONS)
        ox, oy = _OFFSETS[loc]
        kw = dict(dtype=self.dtype, device=self.device)
        x = (torch.arange(self.nx, **kw) + ox) * self.dx
        y = (torch.arange(self.ny, **kw) + oy) * self.dy
        return x, y

    def mesh(self, loc: str = "center") -> tuple:
        """2-D coordinates ``(X, Y)`` [m] of location ``loc``, each ``(ny, nx)``."""
        x, y = self.coords(loc)
        Y, X = torch.meshgrid(y, x, indexing="ij")
        return X, Y

    def coriolis(self, loc: str = "corner") -> torch.Tensor:
        """``f = f0 + beta (y - y0)`` [1/s] at ``loc``, shape ``(ny, 1)`` (broadcasts over x)."""
        _, y = self.coords(loc)
        return (self.f0 + self.beta * (y - self.y0)).unsqueeze(-1)

    def mask(self, loc: str) -> torch.Tensor:
        """1 where a field at ``loc`` is free, 0 on stored wall points; shape ``(ny, nx)``.

        Periodic grids have no walls (all ones). Closed grids zero ``u`` at ``i = 0``,
        ``v`` at ``j = 0`` and corners at ``i = 0`` or ``j = 0``.
        """
        check_choice("loc", loc, LOCATIONS)
        m = torch.ones(self.ny, self.nx, dtype=self.dtype, device=self.device)
        if self.periodic or loc == "center":
            return m
        if loc in ("u", "corner"):
            m[:, 0] = 0
        if loc in ("v", "corner"):
            m[0, :] = 0
        return m

    # ------------------------------------------------------------------ conversions
    def to(self, device=None, dtype=None) -> "Grid":
        """A copy of the grid handing out tensors on ``device`` with ``dtype``."""
        return Grid(
            self.nx, self.ny, dx=self.dx, dy=self.dy, boundary=self.boundary, f0=self.f0,
            beta=self.beta, y0=self.y0, dtype=dtype or self.dtype, device=device or self.device,
            lon=self.lon, lat=self.lat,
        )

    def check_compatible(self, other: "Grid", name: str = "grid") -> None:
        """Raise ``ValueError`` unless ``other`` has the same shape, spacing and boundary."""
        same = (
            self.shape == other.shape
            and math.isclose(self.dx, other.dx)
            and math.isclose(self.dy, other.dy)
            and self.boundary == other.boundary
        )
        if not same:
            raise ValueError(f"{name} mismatch: expected {self!r}, got {other!r}")

    @classmethod
    def from_lonlat(
        cls,
        lon: Sequence[float],
        lat: Sequence[float],
        boundary: str = "closed",
        beta_plane: bool = True,
        dtype: torch.dtype = torch.float64,
        device: Union[str, torch.device] = "cpu",
    ) -> "Grid":
        """A local Cartesian (beta- or f-plane) grid for a regular lon/lat box.

        ``lon``, ``lat`` are 1-D, evenly spaced cell-centre coordinates in degrees. With
        ``phi0`` the central latitude and ``R`` the Earth radius:
        ``dx = R cos(phi0) dlon pi/180``, ``dy = R dlat pi/180``,
        ``f0 = 2 Omega sin(phi0)``, ``beta = 2 Omega cos(phi0) / R`` (0 if not ``beta_plane``).
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        for name, a in (("lon", lon), ("lat", lat)):
            if a.ndim != 1 or a.size < 2:
                raise ValueError(f"{name} must be a 1-D array of >= 2 cell-centre degrees, got shape {a.shape}")
            d = np.diff(a)
            if not np.all(d > 0) or not np.allclose(d, d[0], rtol=1e-6, atol=1e-9):
                raise ValueError(f"{name} must be strictly increasing and evenly spaced (degrees)")
        if np.any(np.abs(lat) >= 90):
            raise ValueError("lat must lie strictly between -90 and 90 degrees")
        phi0 = math.radians(0.5 * (lat[0] + lat[-1]))
        dlon = math.radians(lon[1] - lon[0])
        dlat = math.radians(lat[1] - lat[0])
        dx = EARTH_RADIUS * math.cos(phi0) * dlon
        dy = EARTH_RADIUS * dlat
        f0 = 2 * OMEGA * math.sin(phi0)
        beta = 2 * OMEGA * math.cos(phi0) / EARTH_RADIUS if beta_plane else 0.0
        return cls(
            lon.size, lat.size, dx=dx, dy=dy, boundary=boundary, f0=f0, beta=beta,
            dtype=dtype, device=device, lon=lon, lat=lat,
        )

    def __repr__(self) -> str:
        return (
            f"Grid(nx={self.nx}, ny={self.ny}, dx={self.dx:.6g}, dy={self.dy:.6g}, "
            f"boundary={self.boundary!r}, f0={self.f0:.6g}, beta={self.beta:.6g}, dtype={self.dtype})"
        )


def require_grid(grid: object, boundary: Optional[str] = None, what: str = "this model") -> Grid:
    """Return ``grid`` after checking it is a :class:`Grid` (``TypeError``) with the given
    ``boundary`` (``ValueError`` naming ``grid`` and what ``what`` needs)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
    if boundary is not None and grid.boundary != boundary:
        raise ValueError(f"grid must be {boundary} for {what}, got boundary={grid.boundary!r}")
    return grid
