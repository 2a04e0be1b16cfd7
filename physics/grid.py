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

Metrics
-------
``metric="cartesian"`` (the default of :class:`Grid`): constant ``dx``, ``dy`` and the
beta-plane Coriolis ``f(y) = f0 + beta * (y - y0)`` with ``y0 = Ly / 2`` by default (centred on
the domain). :meth:`Grid.from_lonlat` with ``metric="beta_plane"`` (or ``"f_plane"``) builds
such a grid as the local tangent plane of a lon/lat box.

``metric="sphere"`` (the default of :meth:`Grid.from_lonlat`): a regular lon/lat grid on the
sphere of radius ``R`` (:data:`EARTH_RADIUS`) rotating at ``Omega`` (:data:`OMEGA`). With
``lat_j`` the latitude of row ``j`` *of the location* (centre and u rows at the cell-centre
latitudes ``lat[j]``; v and corner rows half a cell south, ``lat[j] - dlat / 2``) and
``lon_i`` likewise (centre and v columns at ``lon[i]``; u and corner columns at
``lon[i] - dlon / 2``)::

    dx_j = R cos(lat_j) dlon        (per row, :meth:`Grid.dx_at`)
    dy   = R dlat                   (one value, ``Grid.dy``)
    f_j  = 2 Omega sin(lat_j)       (:meth:`Grid.coriolis`)
    A_j  = R^2 dlon (sin(lat_j + dlat/2) - sin(lat_j - dlat/2))   (:meth:`Grid.cell_areas`)

(angles in radians; ``R = 6 371 008.8 m``, the GRS80 mean radius R1 of Moritz 2000, and
``Omega = 7.292115e-5 rad/s``, IERS Conventions 2010 table 1.1: see :mod:`physics.lonlat`).
``Grid.lon``/``Grid.lat`` hold the validated centre coordinates as exactly even float64 axes and
``Grid.dlon``/``Grid.dlat`` their spacings [degrees]. ``x`` is eastward and ``y`` northward, so velocities on a lon/lat grid are
eastward/northward. The scalars ``dx``, ``f0``, ``beta`` of a sphere grid are the tangent-plane
values at the box's central latitude (for code that needs one number); code that is right on
the sphere uses the accessors above, which reduce to the constants on a Cartesian grid.
The models run on sphere grids (:class:`~physics.qg.QG`: :mod:`physics.qg_sphere`;
:class:`~physics.shallow_water.ShallowWater`: its spherical module); code that does not support
them refuses such a grid (:func:`require_grid` with ``metric="cartesian"``).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._checks import check_choice, check_int, check_positive, check_real
from .lonlat import EARTH_RADIUS, OMEGA, check_lonlat, crosses_equator

LOCATIONS = ("center", "u", "v", "corner")
BOUNDARIES = ("periodic", "closed")

METRICS = ("cartesian", "sphere")
LONLAT_METRICS = ("sphere", "beta_plane", "f_plane")
#: The per-row metric factors of :meth:`Grid.row_metric`.
ROW_METRICS = ("dx", "inv_dx", "dy_over_dx", "north", "south", "area", "inv_area")

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
        lon, lat: optional 1-D cell-centre coordinates in degrees (set by :meth:`from_lonlat`);
            validated by :func:`physics.lonlat.check_lonlat` (lengths ``nx``/``ny``, even spacing).
        metric: ``"cartesian"`` or ``"sphere"`` (see the module docstring; a sphere grid needs
            ``lon``/``lat``, a closed boundary, and is best built with :meth:`from_lonlat`).
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
        metric: str = "cartesian",
    ) -> None:
        self.nx, self.ny = check_int("nx", nx, minimum=2), check_int("ny", ny, minimum=2)
        self.dx = self._spacing("dx", "Lx", dx, Lx, self.nx)
        self.dy = self._spacing("dy", "Ly", dy, Ly, self.ny)
        self.boundary = check_choice("boundary", boundary, BOUNDARIES)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        self.f0 = check_real("f0", f0)
        self.beta = check_real("beta", beta)
        self.y0 = self.Ly / 2 if y0 is None else check_real("y0", y0)
        self.dtype = dtype
        self.device = torch.device(device)
        self.lon, self.lat, self.dlon, self.dlat = _init_lonlat(self, lon, lat, metric)
        self.metric = metric

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
        """``dx * dy`` [m^2]: the quadrature weight of a grid point (on a sphere grid the
        central-latitude value; use :meth:`cell_areas` there)."""
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
        """Coriolis parameter [1/s] at the rows of ``loc``, shape ``(ny, 1)`` (broadcasts over x).

        Cartesian: ``f = f0 + beta (y - y0)``; sphere: ``f_j = 2 Omega sin(lat_j)``.
        """
        if self.metric == "sphere":
            return self._rows(2 * OMEGA * np.sin(np.radians(self._row_lat(loc))))
        _, y = self.coords(loc)
        return (self.f0 + self.beta * (y - self.y0)).unsqueeze(-1)

    def dx_at(self, loc: str = "center") -> torch.Tensor:
        """Zonal spacing [m] at the rows of ``loc``, shape ``(ny, 1)`` in the grid's dtype: ``dx``
        (Cartesian) or ``dx_j = R cos(lat_j) dlon`` (sphere; exactly 0 on a row at a pole) --
        :meth:`row_metric` ``"dx"`` as a column."""
        return self._rows(self.row_metric(loc, "dx"))

    def cell_areas(self, loc: str = "center") -> torch.Tensor:
        """Area [m^2] of the cell centred on each row of ``loc``, shape ``(ny, 1)`` in the grid's
        dtype: ``dx dy`` (Cartesian); sphere: ``R^2 dlon (sin(lat_j + dlat/2) - sin(lat_j - dlat/2))``
        (exact on the sphere, edges clipped to the poles; sums to the box area) -- :meth:`row_metric`
        ``"area"`` as a column."""
        return self._rows(self.row_metric(loc, "area"))

    def row_metric(self, loc: str, name: str) -> np.ndarray:
        """One per-row metric factor ``name`` (:data:`ROW_METRICS`) of the rows of ``loc``, float64
        ``(ny,)``, exact at the poles: the finite-volume factors of :mod:`physics.sphere_operators`.

        Sphere, with ``phi_j`` the row latitude and ``h = dlat / 2`` [rad]: ``"dx"`` =
        ``R cos(phi_j) dlon``, ``"north"``/``"south"`` = ``R cos(phi_j +- h) dlon`` (face lengths)
        [m], each exactly 0 on a pole (``|phi| >= pi/2 - 1e-12``: ``cos(pi/2)`` is 6e-17 in floating
        point); ``"inv_dx"`` = ``1 / dx_j`` [1/m] and ``"dy_over_dx"`` = ``dy / dx_j``, both 0 where
        ``dx_j = 0``; ``"area"`` = ``R^2 dlon (sin(phi_j + h) - sin(phi_j - h))`` [m^2] (edges clipped
        to the poles), ``"inv_area"`` its inverse. Cartesian: the constants ``dx``, ``1/dx``,
        ``dy/dx``, ``dx``, ``dx``, ``dx dy``, ``1/(dx dy)``. (:meth:`dx_at` and :meth:`cell_areas`
        give ``dx_j`` and ``A_j`` as ``(ny, 1)`` tensors in the grid's dtype.)
        """
        check_choice("loc", loc, LOCATIONS)
        check_choice("name", name, ROW_METRICS)
        if self.metric != "sphere":
            dx, dy = self.dx, self.dy
            val = {"dx": dx, "inv_dx": 1 / dx, "north": dx, "south": dx, "area": dx * dy,
                   "inv_area": 1 / (dx * dy), "dy_over_dx": dy / dx}[name]
            return np.full(self.ny, val)
        phi = np.radians(self._row_lat(loc))
        h = math.radians(self.dlat) / 2
        dlon = math.radians(self.dlon)

        def length(p):  # exactly 0 on a pole
            return np.where(np.abs(p) >= math.pi / 2 - 1e-12, 0.0, EARTH_RADIUS * np.clip(np.cos(p), 0.0, None) * dlon)

        if name in ("dx", "inv_dx", "dy_over_dx"):
            dx = length(phi)
            if name == "dx":
                return dx
            inv = np.divide(1.0, dx, out=np.zeros_like(dx), where=dx > 0)
            return inv if name == "inv_dx" else self.dy * inv
        if name in ("north", "south"):
            return length(phi + h if name == "north" else phi - h)
        n, s = (np.clip(phi + sgn * h, -math.pi / 2, math.pi / 2) for sgn in (1, -1))
        area = EARTH_RADIUS**2 * dlon * (np.sin(n) - np.sin(s))
        return area if name == "area" else 1.0 / area

    def lonlat(self, loc: str = "center") -> tuple:
        """``(lon (nx,), lat (ny,))`` [degrees] of location ``loc`` on a lon/lat grid.

        Centre/v columns at ``lon``, u/corner columns at ``lon - dlon/2``; centre/u rows at
        ``lat``, v/corner rows at ``lat - dlat/2``. ``ValueError`` on a grid without lon/lat.
        """
        check_choice("loc", loc, LOCATIONS)
        if self.lon is None:
            raise ValueError("grid has no lon/lat coordinates (build it with Grid.from_lonlat)")
        lon = self.lon - (self.dlon / 2 if loc in ("u", "corner") else 0.0)
        kw = dict(dtype=self.dtype, device=self.device)
        return torch.as_tensor(lon, **kw), torch.as_tensor(self._row_lat(loc), **kw)

    def _row_lat(self, loc: str) -> np.ndarray:
        check_choice("loc", loc, LOCATIONS)
        if self.lat is None:
            raise ValueError("grid has no lon/lat coordinates (build it with Grid.from_lonlat)")
        return self.lat - (self.dlat / 2 if loc in ("v", "corner") else 0.0)

    def _rows(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device).unsqueeze(-1)

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
            lon=self.lon, lat=self.lat, metric=self.metric,
        )

    def check_compatible(self, other: "Grid", name: str = "grid") -> None:
        """Raise ``ValueError`` unless ``other`` has the same shape, spacing, boundary and metric."""
        same = (
            self.shape == other.shape
            and math.isclose(self.dx, other.dx)
            and math.isclose(self.dy, other.dy)
            and self.boundary == other.boundary
            and self.metric == other.metric
        )
        if not same:
            raise ValueError(f"{name} mismatch: expected {self!r}, got {other!r}")

    @classmethod
    def from_lonlat(
        cls,
        lon: Sequence[float],
        lat: Sequence[float],
        boundary: str = "closed",
        metric: Optional[str] = None,
        beta_plane: Optional[bool] = None,
        dtype: torch.dtype = torch.float64,
        device: Union[str, torch.device] = "cpu",
    ) -> "Grid":
        """A grid for a regular lon/lat box of cell-centre coordinates ``lon`` ``(nx,)``, ``lat`` ``(ny,)`` [deg].

        ``metric="sphere"`` (default): the spherical metric of the module docstring (per-row
        ``dx_j``, ``f_j = 2 Omega sin(lat_j)``); closed boundary only (a lon/lat box has edges).
        ``metric="beta_plane"`` / ``"f_plane"``: the local tangent plane at the central latitude
        ``phi0``, a Cartesian grid with ``dx = R cos(phi0) dlon``, ``dy = R dlat``,
        ``f0 = 2 Omega sin(phi0)``, ``beta = 2 Omega cos(phi0) / R`` (0 for ``"f_plane"``); refused
        when the box contains the equator (``f0`` would be ~0: use the sphere there).
        On every metric ``dx``, ``dy``, ``f0``, ``beta`` hold these tangent-plane values.
        The sphere is the default because it is right for real data: across 33-43 N the true
        ``dx`` varies by 13 %, which one tangent-plane ``dx`` ignores.
        ``beta_plane=True/False`` (the former switch) selects ``"beta_plane"``/``"f_plane"``.
        Coordinates are validated by :func:`physics.lonlat.check_lonlat`.
        """
        if beta_plane is not None:
            legacy = "beta_plane" if beta_plane else "f_plane"
            if metric is not None and metric != legacy:
                raise ValueError(f"metric={metric!r} contradicts beta_plane={beta_plane!r}; give only metric")
            metric = legacy
        metric = check_choice("metric", "sphere" if metric is None else metric, LONLAT_METRICS)
        given = (lon, lat)  # validated again by __init__ in their own precision
        lon, lat, dlon, dlat = check_lonlat(lon, lat)
        if metric != "sphere" and crosses_equator(lat, dlat):
            raise ValueError(
                f"lat {lat[0]:.6g}..{lat[-1]:.6g} contains the equator: a {metric} there has f0 ~ 0; "
                "use metric='sphere' (f = 2 Omega sin(lat) at each row)"
            )
        phi0 = math.radians(0.5 * (lat[0] + lat[-1]))
        dx = EARTH_RADIUS * math.cos(phi0) * math.radians(dlon)
        dy = EARTH_RADIUS * math.radians(dlat)
        f0 = 2 * OMEGA * math.sin(phi0)
        beta = 2 * OMEGA * math.cos(phi0) / EARTH_RADIUS if metric != "f_plane" else 0.0
        return cls(
            lon.size, lat.size, dx=dx, dy=dy, boundary=boundary, f0=f0, beta=beta, dtype=dtype,
            device=device, lon=given[0], lat=given[1], metric="sphere" if metric == "sphere" else "cartesian",
        )

    def __repr__(self) -> str:
        return (
            f"Grid(nx={self.nx}, ny={self.ny}, dx={self.dx:.6g}, dy={self.dy:.6g}, "
            f"boundary={self.boundary!r}, f0={self.f0:.6g}, beta={self.beta:.6g}, metric={self.metric!r}, "
            f"dtype={self.dtype})"
        )


def _init_lonlat(grid: Grid, lon, lat, metric: str) -> tuple:
    """Validated ``(lon, lat, dlon, dlat)`` of a new grid (``None`` each without coordinates)."""
    check_choice("metric", metric, METRICS)
    if (lon is None) != (lat is None):
        raise ValueError("give both lon and lat (cell-centre degrees) or neither")
    if lon is None:
        if metric == "sphere":
            raise ValueError("metric='sphere' needs lon and lat; build the grid with Grid.from_lonlat")
        return None, None, None, None
    lon, lat, dlon, dlat = check_lonlat(lon, lat, grid.nx, grid.ny)
    if metric == "sphere":
        if grid.boundary != "closed":
            raise ValueError(f"boundary must be 'closed' on a sphere grid (a lon/lat box), got {grid.boundary!r}")
        if not math.isclose(grid.dy, EARTH_RADIUS * math.radians(dlat), rel_tol=1e-6):
            raise ValueError(f"dy = {grid.dy:.6g} m disagrees with R dlat on the sphere; use Grid.from_lonlat")
    return lon, lat, dlon, dlat


def require_grid(
    grid: object, boundary: Optional[str] = None, what: str = "this model", metric: Optional[str] = None
) -> Grid:
    """Return ``grid`` after checking it is a :class:`Grid` (``TypeError``) with the given
    ``boundary`` and ``metric`` (``ValueError`` naming ``grid`` and what ``what`` needs)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a physics.grid.Grid, got {type(grid).__name__}")
    if boundary is not None and grid.boundary != boundary:
        raise ValueError(f"grid must be {boundary} for {what}, got boundary={grid.boundary!r}")
    if metric is not None and grid.metric != metric:
        raise ValueError(
            f"grid must have metric={metric!r} for {what}, got metric={grid.metric!r} "
            "(for a lon/lat box use Grid.from_lonlat(..., metric='beta_plane'))"
        )
    return grid
