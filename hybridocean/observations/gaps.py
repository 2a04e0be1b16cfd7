"""Gaps in gridded observations: random pixels, cloud-like blobs, missing days.

Every function returns a boolean mask shaped ``(T, ny, nx)`` with **True = observed** (False = a
gap), is reproducible from ``rng`` (a :class:`numpy.random.Generator` or an int seed; ``None`` draws
fresh entropy -- see :func:`hybridocean.observations.noise.as_generator`), and
combines with the others by ``&``. Apply a mask to gridded truth with
:func:`hybridocean.observations.gridded.from_gridded` (``mask=``).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

from .noise import RngLike, as_generator



def _shape(shape: Sequence[int]) -> Tuple[int, int, int]:
    s = tuple(shape) if isinstance(shape, (tuple, list)) else None
    if s is None or len(s) != 3 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in s):
        raise ValueError(f"shape must be (T, ny, nx) with three positive ints, got {shape!r}")
    return tuple(int(n) for n in s)


def _fraction(name: str, f: float) -> float:
    if not isinstance(f, (int, float, np.floating)) or isinstance(f, bool) or not (0.0 <= float(f) <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {f!r}")
    return float(f)


def _hide_largest(z: np.ndarray, missing_fraction: float) -> np.ndarray:
    """Per frame of ``z (T, ny, nx)``: False at the ``round(f * ny * nx)`` largest values, True elsewhere."""
    T, ny, nx = z.shape
    k = int(round(missing_fraction * ny * nx))
    flat = z.reshape(T, -1)
    mask = np.ones(flat.shape, dtype=bool)
    if k:
        worst = np.argpartition(flat, flat.shape[1] - k, axis=1)[:, flat.shape[1] - k:]
        np.put_along_axis(mask, worst, False, axis=1)
    return mask.reshape(T, ny, nx)


def random_pixel_mask(shape: Sequence[int], missing_fraction: float, rng: RngLike) -> np.ndarray:
    """Independent random gaps: in every frame exactly ``round(missing_fraction * ny * nx)`` pixels,
    drawn uniformly without replacement, are False. Returns bool ``(T, ny, nx)``."""
    T, ny, nx = _shape(shape)
    f = _fraction("missing_fraction", missing_fraction)
    return _hide_largest(as_generator(rng).random((T, ny, nx)), f)


def gaussian_random_field(
    shape: Sequence[int], length: float, rng: RngLike, time_correlation: float = 0.0
) -> np.ndarray:
    """Unit-variance Gaussian field ``(T, ny, nx)`` with covariance ``exp(-r^2 / (2 length^2))``
    (``r``, ``length`` in pixels), periodic on each frame.

    White noise is filtered in Fourier space by ``exp(-length^2 |k|^2 / 4)`` (``k`` in rad/pixel), whose
    square is the spectrum of that covariance. Frames follow an AR(1) process
    ``z_t = a z_{t-1} + sqrt(1 - a^2) e_t`` with ``a = exp(-1 / time_correlation)`` (frames;
    0 = independent frames), so the lag-``n`` correlation in time is ``a^n``.
    """
    T, ny, nx = _shape(shape)
    if not isinstance(length, (int, float, np.floating)) or isinstance(length, bool) or not (math.isfinite(length) and length > 0):
        raise ValueError(f"length must be a finite number of pixels > 0, got {length!r}")
    if not isinstance(time_correlation, (int, float, np.floating)) or not (math.isfinite(time_correlation) and time_correlation >= 0):
        raise ValueError(f"time_correlation must be a finite number of frames >= 0, got {time_correlation!r}")
    gen = as_generator(rng)
    ky = 2 * np.pi * np.fft.fftfreq(ny)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(nx)[None, :]
    transfer = np.exp(-(length**2) * (kx**2 + ky**2) / 4)
    noise = gen.standard_normal((T, ny, nx))
    z = np.fft.irfft2(np.fft.rfft2(noise) * transfer, s=(ny, nx))
    z /= z.std(axis=(1, 2), keepdims=True) + np.finfo(float).tiny
    a = math.exp(-1.0 / time_correlation) if time_correlation > 0 else 0.0
    for t in range(1, T):
        z[t] = a * z[t - 1] + math.sqrt(1 - a * a) * z[t]
    return z


def cloud_mask(
    shape: Sequence[int],
    missing_fraction: float,
    length: float,
    rng: RngLike,
    time_correlation: float = 0.0,
) -> np.ndarray:
    """Cloud-like gaps: spatially correlated blobs covering ``missing_fraction`` of every frame.

    The ``round(missing_fraction * ny * nx)`` pixels where a :func:`gaussian_random_field` of
    correlation length ``length`` [pixels] is largest are False. For ``missing_fraction = 0.5`` the
    gap indicator's correlation is ``(2 / pi) arcsin(exp(-r^2 / (2 length^2)))`` (the arcsine law of a
    clipped Gaussian process: Van Vleck & Middleton, Proc. IEEE 54(1), 1966), which falls to 1/e
    at ``r = 1.0998 length``. Returns bool ``(T, ny, nx)``.
    """
    f = _fraction("missing_fraction", missing_fraction)
    return _hide_largest(gaussian_random_field(shape, length, rng, time_correlation), f)


def missing_days(
    shape: Sequence[int],
    missing_fraction: float,
    rng: RngLike,
    days: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Whole frames missing: ``round(missing_fraction * T)`` frames drawn without replacement (or
    exactly the frame indices ``days`` when given, ``missing_fraction`` then ignored) are all False.
    Returns bool ``(T, ny, nx)``."""
    T, ny, nx = _shape(shape)
    if days is None:
        f = _fraction("missing_fraction", missing_fraction)
        days = as_generator(rng).choice(T, size=int(round(f * T)), replace=False)
    days = np.asarray(days, dtype=np.int64).reshape(-1)
    if np.any((days < 0) | (days >= T)):
        raise ValueError(f"days must be frame indices in [0, {T}), got {days.tolist()}")
    mask = np.ones((T, ny, nx), dtype=bool)
    mask[days] = False
    return mask
