"""A set of trajectories sampled on a common time grid: the unit of training data."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import torch


@dataclass
class Trajectories:
    """``N`` trajectories of a state sampled at the times ``t``.

    Attributes:
        t: times, shape ``(T,)``, strictly increasing (model time units).
        x: states, shape ``(N, T, *state_shape)``; ``state_shape`` is ``(C,)`` for
            low-dimensional systems and ``(C, ny, nx)`` for fields.
    """

    t: torch.Tensor
    x: torch.Tensor

    def __post_init__(self) -> None:
        if self.t.dim() != 1:
            raise ValueError(f"t must be 1-D (T,), got shape {tuple(self.t.shape)}")
        if self.t.numel() < 2 or not bool((self.t[1:] > self.t[:-1]).all()):
            raise ValueError("t must hold at least 2 strictly increasing times")
        if self.x.dim() < 3 or self.x.shape[1] != self.t.numel():
            raise ValueError(
                f"x must be shaped (N, T={self.t.numel()}, *state_shape), got {tuple(self.x.shape)}"
            )

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def state_shape(self) -> tuple:
        """Shape of one state, ``x.shape[2:]``."""
        return tuple(self.x.shape[2:])

    def to(self, device=None, dtype=None) -> "Trajectories":
        """Move/cast both tensors."""
        return Trajectories(self.t.to(device=device, dtype=dtype), self.x.to(device=device, dtype=dtype))

    def subset(self, index) -> "Trajectories":
        """The trajectories selected by ``index`` (slice, list or tensor of indices)."""
        return Trajectories(self.t, self.x[index])

    def batches(self, batch_size: int, generator: Optional[torch.Generator] = None) -> Iterator["Trajectories"]:
        """Shuffled mini-batches (the last may be smaller); order drawn from ``generator``."""
        perm = torch.randperm(len(self), generator=generator)
        for k in range(0, len(self), batch_size):
            yield self.subset(perm[k : k + batch_size])
