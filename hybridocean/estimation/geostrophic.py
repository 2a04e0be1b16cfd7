"""Geostrophic baseline: bin the observed SSH onto the output grid, fill the gaps, take geostrophy.

Steps, for each output time ``t_k``:

1. **Binning.** Every finite observation within ``window / 2`` of ``t_k`` is averaged into its
   output cell (:func:`hybridocean.observations.to_gridded`). A gridded input already on the
   output grid (an L4 map) passes through unchanged: one point per cell centre.
2. **Gap fill** (``fill="harmonic"``, the simple documented fill): the SSH of an unobserved ocean
   cell solves the discrete Laplace equation with the observed cells as Dirichlet data,

       sum over the 4 ocean neighbours n of c:  (eta_n - eta_c) = 0     for every gap cell c,

   on the index-space 5-point stencil (unit weights: the fill is an interpolation, not
   physics), with no flux through the domain edges and through land (neighbours outside the
   grid or on land are left out of the sum: homogeneous Neumann). It is the smoothest fill
   (minimum of ``sum |grad eta|^2`` over the links touching gap cells, a discrete harmonic
   function), reproduces any SSH linear in the indices on gap cells whose 4 neighbours are all
   ocean cells (the Neumann rows at edges and coasts bend it), and is solved directly (sparse LU of the gap-gap
   Laplacian, :func:`scipy.sparse.linalg.splu`). A connected group of gap cells that touches no
   observed cell stays NaN (nothing to fill from). ``fill=None`` leaves every gap NaN.
3. **Land.** ``land="auto"``: for a *gridded* input the cells NaN at every input time, in patches
   of at least 16 cells, are land (an L4 map's land; :func:`~hybridocean.observations.gridded.
   never_observed_land`; smaller never-observed patches are gaps, filled) and stay NaN; for a point cloud there is no land unless given.
   ``land`` may also be a bool array ``(ny, nx)`` (True = land) or None (no land).
4. **Currents**: ``u = -(g/f) d eta/dy``, ``v = (g/f) d eta/dx`` at the cell centres
   (:func:`physics.geostrophy.geostrophic_velocities`, ``at="center"``, centred differences of
   order ``order`` with the grid's metric -- spherical on lon/lat grids, NaN beside land and
   within ``equator_min_lat`` degrees of the equator).

Against the DUACS NRT global L4 map of 2019-02-23 (its ``adt`` -> this estimator, compared with
the product's own ``ugos``/``vgos``; ``tests/hybridocean/estimation/test_geostrophic.py``):
tau_uv = 98.25 (10-80 N), 98.95 (10-80 S), 98.68 (both) at ``order=2`` and 99.11 / 99.58 /
99.40 at ``order=4``. The differences sit next to coasts (points within 3 cells of land: 84.4 N /
94.2 S at order 2, against 98.8 / 99.0 in the open ocean: the product's coastal treatment and our
one-sided / NaN stencils) and in the sharp western-boundary jets (second-order truncation at
0.25 degrees). Near the equator the product has currents (an equatorial treatment) where this
estimator has NaN (``|lat| < equator_min_lat`` = 5 degrees); over 5-10 degrees tau_uv is 97.8.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla
import torch

from hybridocean.observations import to_gridded
from physics._checks import check_choice, check_nonnegative, check_positive
from physics.geostrophy import geostrophic_velocities
from physics.grid import Grid

from .base import EstimationInputs, Estimator

FILLS = ("harmonic", None)


def _neighbour_pairs(ny: int, nx: int, periodic: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Flat index pairs ``(a, b)`` of the 4-neighbour links of an ``ny x nx`` grid (each once)."""
    idx = np.arange(ny * nx).reshape(ny, nx)
    if periodic:
        a = np.r_[idx.ravel(), idx.ravel()]
        b = np.r_[np.roll(idx, -1, 1).ravel(), np.roll(idx, -1, 0).ravel()]
    else:
        a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
        b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    return a, b


def harmonic_fill(eta: np.ndarray, land: Optional[np.ndarray] = None, periodic: bool = False) -> np.ndarray:
    """Fill the NaN ocean cells of ``eta`` ``(ny, nx)`` [m] with the discrete harmonic
    interpolant of the finite cells (module docstring, step 2).

    Args:
        eta: ``(ny, nx)`` SSH with NaN gaps (float64).
        land: bool ``(ny, nx)``, True = land (never filled, no flux through it); None = no land.
        periodic: the grid wraps in x and y (neighbours across the edges).
    Returns a copy with the gaps filled (land and gap groups without any observed cell stay NaN).
    """
    eta = np.asarray(eta, dtype=np.float64)
    if eta.ndim != 2:
        raise ValueError(f"eta must be (ny, nx), got shape {eta.shape}")
    ny, nx = eta.shape
    land = np.zeros((ny, nx), bool) if land is None else np.asarray(land, bool)
    if land.shape != eta.shape:
        raise ValueError(f"land must be a bool array of shape {eta.shape}, got {land.shape}")
    known = np.isfinite(eta) & ~land
    gap = ~np.isfinite(eta) & ~land
    out = np.where(known, eta, np.nan)
    if not gap.any() or not known.any():
        return out
    a, b = _neighbour_pairs(ny, nx, periodic)
    ocean = ~land.ravel()
    keep = ocean[a] & ocean[b] & (a != b)
    a, b = a[keep], b[keep]
    g, k = gap.ravel(), known.ravel()
    pos = -np.ones(ny * nx, np.int64)
    pos[g] = np.arange(int(g.sum()))
    n = int(g.sum())
    # gap-gap links (off-diagonals) and, for every link, +1 on the diagonal of each gap end
    gg = g[a] & g[b]
    rows = np.r_[pos[a[gg]], pos[b[gg]]]
    cols = np.r_[pos[b[gg]], pos[a[gg]]]
    adj = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    deg = np.bincount(np.r_[pos[a[g[a]]], pos[b[g[b]]]], minlength=n).astype(np.float64)
    rhs = np.zeros(n)
    gk = g[a] & k[b]
    np.add.at(rhs, pos[a[gk]], eta.ravel()[b[gk]])
    kg = k[a] & g[b]
    np.add.at(rhs, pos[b[kg]], eta.ravel()[a[kg]])
    anchored = np.zeros(n, bool)
    anchored[pos[a[gk]]] = True
    anchored[pos[b[kg]]] = True
    _, labels = csgraph.connected_components(adj, directed=False)
    solvable = np.isin(labels, np.unique(labels[anchored]))
    if solvable.any():
        s = np.flatnonzero(solvable)
        L = (sp.diags(deg) - adj).tocsc()[s][:, s]
        x = spla.splu(L.tocsc()).solve(rhs[s])
        flat = out.ravel()
        flat[np.flatnonzero(g)[s]] = x
        out = flat.reshape(ny, nx)
    return out


class Geostrophic(Estimator):
    """Geostrophic currents of the binned, gap-filled SSH (module docstring).

    Args:
        window: [s] full width of the time bin around each output time (default 1 day, the
            daily maps of DUACS); an output time may lie up to ``window / 2`` outside the
            observations' time span.
        fill: ``"harmonic"`` (default) or None (gaps stay NaN).
        land: ``"auto"`` (default), a bool ``(ny, nx)`` land mask (True = land) or None.
        order: 2 (default) or 4, accuracy of the centred differences
            (:func:`physics.geostrophy.geostrophic_velocities`; order 4 puts NaN 2 cells from land).
        g: gravity [m/s^2]; equator_min_lat: [degrees] NaN currents closer to the equator.
    """

    method = "geostrophic"
    velocity_kind = "geostrophic"

    def __init__(
        self, window: float = 86400.0, fill: Optional[str] = "harmonic", land: Union[str, np.ndarray, None] = "auto",
        order: int = 2, g: float = 9.81, equator_min_lat: float = 5.0,
    ) -> None:
        self.window = check_positive("window", window)
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
        self.fill = fill
        if isinstance(land, str):
            check_choice("land", land, ("auto",))
        elif land is not None:
            land = np.asarray(land)
            if land.dtype != bool or land.ndim != 2:
                raise ValueError(f"land must be 'auto', None or a bool (ny, nx) array (True = land), got {land.dtype} {land.shape}")
        self.land = land
        if order not in (2, 4) or isinstance(order, bool):
            raise ValueError(f"order must be 2 or 4 (accuracy of the centred differences), got {order!r}")
        self.order = order
        self.g = check_positive("g", g)
        self.equator_min_lat = check_nonnegative("equator_min_lat", equator_min_lat)

    def parameters(self) -> Dict[str, Any]:
        return {"window_s": self.window, "fill": str(self.fill), "order": self.order, "g": self.g,
                "equator_min_lat": self.equator_min_lat}

    def time_margin(self) -> float:
        return self.window / 2

    def _land(self, inputs: EstimationInputs, binned: np.ndarray) -> Optional[np.ndarray]:
        grid = inputs.grid
        if isinstance(self.land, np.ndarray):
            if self.land.shape != grid.shape:
                raise ValueError(f"land must have the grid's shape {grid.shape}, got {self.land.shape}")
            return self.land
        if self.land == "auto" and inputs.source == "gridded":  # the one rule: observations.never_observed_land
            from hybridocean.observations.gridded import never_observed_land

            return never_observed_land(binned)
        return None

    def bin(self, inputs: EstimationInputs) -> np.ndarray:
        """``(T, ny, nx)`` cell means of the observations in each time bin (NaN: no observation)."""
        g = to_gridded(inputs.obs, inputs.grid, inputs.times, window=self.window)
        return np.asarray(g["ssh"].values, dtype=np.float64)

    def map_ssh(self, inputs: EstimationInputs) -> torch.Tensor:
        binned = self.bin(inputs)
        land = self._land(inputs, binned)
        if self.fill == "harmonic":
            out = np.stack([harmonic_fill(b, land, inputs.grid.periodic) for b in binned])
        else:
            out = binned.copy()
        if land is not None:
            out[:, land] = np.nan
        return torch.as_tensor(out, dtype=torch.float64)

    def currents(self, ssh: torch.Tensor, grid: Grid, at: str = "center") -> Tuple[torch.Tensor, torch.Tensor]:
        return geostrophic_velocities(ssh, grid, g=self.g, at=at, equator="mask",
                                      equator_min_lat=self.equator_min_lat, order=self.order)


__all__ = ["Geostrophic", "harmonic_fill"]
