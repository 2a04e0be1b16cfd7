"""Land masks on the Arakawa C-grid: one ocean mask at cell centres, the rest follows.

The user gives (or derives from a product's fill values, :func:`ocean_mask_from_field`) a
boolean ocean mask ``ocean`` ``(ny, nx)`` at cell centres ``T(j, i)``. The masks of the other
locations of :mod:`physics.grid` follow by one rule -- *a point is ocean iff every cell it
touches is ocean* -- with the cells outside a closed rectangle counted as land (the walls) and
periodic grids wrapping (the rule by which NEMO derives ``umask``, ``vmask``, ``fmask`` from
``tmask``: Madec and the NEMO System Team, *NEMO ocean engine*, Notes du Pole de modelisation de
l'IPSL 27, the chapter on the land/sea mask)::

    u(j, i)      open iff  T(j, i-1) and T(j, i)                       (x-face between two cells)
    v(j, i)      open iff  T(j-1, i) and T(j, i)                       (y-face)
    corner(j, i) ocean iff T(j-1, i-1), T(j-1, i), T(j, i-1), T(j, i)   (all four cells)

Consequences: every face between an ocean and a land cell (and every wall face) is closed, so
zero normal flow holds on each land face; every corner on a coastline (touching at least one
land cell) is a land corner, where QG prescribes ``psi`` (0 on the mainland, 0 or the island's constant on an
island: :mod:`physics.capacitance`, :mod:`physics.islands`); on a closed
grid the stored wall points (``u`` at ``i = 0``, ``v`` at ``j = 0``, corners at ``i = 0`` or
``j = 0``) are land, so the masks are products with :meth:`physics.grid.Grid.mask`. An ocean
cell with no ocean corner (a one-cell inlet) is still wet for the shallow-water model but holds
no QG degree of freedom.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from ._checks import check_positive, check_real
from .grid import Grid


def ocean_mask_from_field(field: Any, fill_value: Optional[float] = None, max_abs: Optional[float] = None) -> torch.Tensor:
    """Ocean mask ``(..., ny, nx)`` (bool) of a gridded product: True where ``field`` is finite and
    (when ``fill_value`` is given) differs from ``fill_value``.

    Args:
        field: SSH or any map at cell centres (``torch.Tensor``, NumPy array or masked array,
            or an object with ``.values`` such as an ``xarray.DataArray``), at least 2-D.
        fill_value: the product's fill value (e.g. the netCDF ``_FillValue``), or ``None`` when land
            is NaN (what ``xarray``/``netCDF4`` give after decoding).
        max_abs: optional plausibility bound: ``|field| > max_abs`` is land too. For products that
            store land as a large number *without* a ``_FillValue`` (the DUACS L4 sample maps: about
            -2.1e5 m after scaling), e.g. ``max_abs=20`` m for SSH.
    Raises:
        TypeError: ``field`` not numeric (or complex); ValueError: ``field`` below 2-D, ``fill_value``
        or ``max_abs`` not a finite number (``max_abs`` > 0).
    """
    if hasattr(field, "values") and not torch.is_tensor(field) and not isinstance(field, np.ndarray):
        field = field.values
    if isinstance(field, np.ma.MaskedArray):
        field = field.filled(np.nan).astype(float)
    if not torch.is_tensor(field):
        try:
            field = torch.as_tensor(np.asarray(field, dtype=float))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"field must be a tensor or numeric array, got {type(field).__name__}") from exc
    if field.is_complex():
        raise TypeError(f"field must be real (an SSH or other map), got dtype {field.dtype}")
    if field.dim() < 2:
        raise ValueError(f"field must be at least 2-D (..., ny, nx), got shape {tuple(field.shape)}")
    ocean = torch.isfinite(field) if field.is_floating_point() else torch.ones_like(field, dtype=torch.bool)
    if fill_value is not None:
        fill_value = check_real("fill_value", fill_value)  # numpy scalars (netCDF _FillValue) too
        ocean = ocean & (field != fill_value)
    if max_abs is not None:
        max_abs = check_positive("max_abs", max_abs)
        ocean = ocean & (field.abs() <= max_abs)
    return ocean


def check_ocean_mask(mask: Any, grid: Grid, name: str = "mask") -> torch.Tensor:
    """``mask`` as a bool tensor ``(ny, nx)`` on ``grid.device`` after checking it.

    Accepts a bool tensor/array, or a numeric one holding only 0 and 1 (1 = ocean). Raises
    ``TypeError`` for a non-array, ``ValueError`` naming ``name`` for a wrong shape, values other
    than 0/1, or a mask with no ocean cell.
    """
    if isinstance(mask, np.ndarray) or (not torch.is_tensor(mask) and isinstance(mask, (list, tuple))):
        mask = torch.as_tensor(np.asarray(mask))
    if not torch.is_tensor(mask):
        raise TypeError(f"{name} must be a bool tensor (ny, nx) of ocean cells, got {type(mask).__name__}")
    if tuple(mask.shape) != grid.shape:
        raise ValueError(f"{name} must have shape (ny, nx) = {grid.shape} (the ocean mask at cell centres), "
                         f"got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"{name} must be bool or hold only 0 (land) and 1 (ocean)")
        mask = mask != 0
    if not bool(mask.any()):
        raise ValueError(f"{name} has no ocean cell (all land): nothing to simulate")
    return mask.to(grid.device)


@dataclass(frozen=True)
class StaggeredMasks:
    """Masks ``(ny, nx)`` in the grid's dtype, 1 = ocean/open, 0 = land/closed, at each location
    (the rule of the module docstring; walls of a closed grid included)."""

    center: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    corner: torch.Tensor

    def at(self, loc: str) -> torch.Tensor:
        """The mask at ``loc`` (one of :data:`physics.grid.LOCATIONS`)."""
        if loc not in ("center", "u", "v", "corner"):
            raise ValueError(f"loc must be one of ('center', 'u', 'v', 'corner'), got {loc!r}")
        return getattr(self, loc)


def _neighbour(ocean: torch.Tensor, dj: int, di: int, periodic: bool) -> torch.Tensor:
    """``out[j, i] = ocean[j + dj, i + di]`` (``dj, di`` in {-1, 0}); wrap or land outside."""
    if periodic:
        return torch.roll(ocean, shifts=(-dj, -di), dims=(0, 1))
    out = torch.zeros_like(ocean)
    out[-dj:, -di:] = ocean[: ocean.shape[0] + dj, : ocean.shape[1] + di]
    return out


def staggered_masks(grid: Grid, ocean: Any, name: str = "mask") -> StaggeredMasks:
    """Masks at centres, u, v and corners from the ocean mask at centres (module docstring rule).

    Args:
        grid: the :class:`~physics.grid.Grid` (periodic: neighbours wrap; closed: outside is land).
        ocean: ocean mask ``(ny, nx)`` at cell centres (see :func:`check_ocean_mask`).
        name: the argument name used in error messages.
    Raises:
        ValueError: bad mask, or a mask leaving no ocean corner (QG would have no unknown).
    """
    o = check_ocean_mask(ocean, grid, name)
    p = grid.periodic
    w, s, sw = _neighbour(o, 0, -1, p), _neighbour(o, -1, 0, p), _neighbour(o, -1, -1, p)
    kw = dict(dtype=grid.dtype, device=grid.device)
    return StaggeredMasks(center=o.to(**kw), u=(o & w).to(**kw), v=(o & s).to(**kw), corner=(o & w & s & sw).to(**kw))


def ocean_corner_mask(grid: Grid, ocean: Any, name: str = "mask") -> torch.Tensor:
    """Corner mask of :func:`staggered_masks` after checking that it holds an ocean corner
    (``ValueError`` naming ``name`` otherwise: e.g. a mask of isolated one-cell seas)."""
    corner = staggered_masks(grid, ocean, name).corner
    if not bool((corner != 0).any()):
        raise ValueError(f"{name} leaves no ocean corner (a corner is ocean iff its 4 cells are ocean): "
                         "no streamfunction unknown")
    return corner


__all__ = ["ocean_mask_from_field", "check_ocean_mask", "StaggeredMasks", "staggered_masks", "ocean_corner_mask"]
