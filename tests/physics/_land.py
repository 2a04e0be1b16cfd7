"""Irregular ocean masks (cell centres) shared by the land-mask tests."""
from __future__ import annotations

import torch


def archipelago(ny: int, nx: int, seed: int = 0, land_fraction: float = 0.15) -> torch.Tensor:
    """Random islands: each cell is land with probability ``land_fraction`` (bool ``(ny, nx)``,
    True = ocean), plus one 3 x 3 island so that multi-cell islands occur for every seed."""
    gen = torch.Generator().manual_seed(seed)
    ocean = torch.rand(ny, nx, generator=gen, dtype=torch.float64) >= land_fraction
    ocean[ny // 3: ny // 3 + 3, nx // 3: nx // 3 + 3] = False
    return ocean


def peninsula_basin(ny: int, nx: int) -> torch.Tensor:
    """A basin with a peninsula from the south wall (two cells wide, 2/3 of the height), a
    staircase coast in the north-east and a bay cut into the west coast (bool ``(ny, nx)``)."""
    ocean = torch.ones(ny, nx, dtype=torch.bool)
    ocean[: 2 * ny // 3, nx // 2: nx // 2 + 2] = False  # peninsula
    for k in range(nx // 4):  # staircase coast
        ocean[ny - 1 - k:, nx - nx // 4 + k:] = False
    ocean[:, :2] = False  # west coast ...
    ocean[ny // 3: ny // 3 + 3, :2] = True  # ... with a bay
    return ocean
