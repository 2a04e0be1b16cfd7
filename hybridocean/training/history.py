"""The record of a training run: one entry per outer iteration, one per validation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class History:
    """Per-outer-iteration training record (lists aligned with ``iteration``).

    ``loss``: the Lagrangian of the last inner step; ``l_traj``: its trajectory MSE;
    ``fa_norm2``: its ``mean ||F_a||^2`` on the batch's data states (absolute or relative, as
    configured); ``lam``: the multiplier after the update; ``params``: physical parameters (dict,
    physical units). Validation: ``val_iteration``, ``val_mse``; ``best_iteration``/``best_val_mse``
    of the restored model.
    """

    iteration: List[int] = field(default_factory=list)
    loss: List[float] = field(default_factory=list)
    l_traj: List[float] = field(default_factory=list)
    fa_norm2: List[float] = field(default_factory=list)
    lam: List[float] = field(default_factory=list)
    params: List[dict] = field(default_factory=list)
    val_iteration: List[int] = field(default_factory=list)
    val_mse: List[float] = field(default_factory=list)
    best_iteration: Optional[int] = None
    best_val_mse: Optional[float] = None

    def append(self, iteration: int, loss: float, l_traj: float, fa_norm2: float, lam: float, params: dict) -> None:
        """Add one outer iteration."""
        self.iteration.append(iteration)
        self.loss.append(loss)
        self.l_traj.append(l_traj)
        self.fa_norm2.append(fa_norm2)
        self.lam.append(lam)
        self.params.append(params)

    def last(self) -> dict:
        """The latest outer-iteration record as a dict."""
        return {k: getattr(self, k)[-1] for k in ("iteration", "loss", "l_traj", "fa_norm2", "lam", "params")}

    def to_dict(self) -> dict:
        """Plain-dict form (checkpoints, JSON)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


__all__ = ["History"]
