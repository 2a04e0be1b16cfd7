"""Spectral primitives shared by the PSD-based scores: windows, detrending, periodograms and
the 0.5-crossing of a PSD score.

PSD score (Le Guillou et al. 2021, JTECH 38(4), doi:10.1175/JTECH-D-20-0104.1; Ballarotta et
al. 2019, Ocean Sci. 15, doi:10.5194/os-15-1091-2019)::

    score(k) = 1 - PSD(estimate - truth)(k) / PSD(truth)(k)

and the *effective resolution* is the wavelength ``1/k`` where the score falls to 0.5.

Periodograms here follow ``scipy.signal.welch`` / ``xrft.power_spectrum`` conventions: the
(periodic, "DFT-even") Hann window ``w_n = sin^2(pi n / N)`` (``scipy.signal.windows.hann(N,
sym=False)``, the window of both ``welch`` and xrft >= 0.3), a density scaling
``|FFT(w x)|^2 / (fs sum w^2)``; the scaling cancels in every score (same for error and truth).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.signal.windows import hann as _scipy_hann

WINDOWS = ("hann", None)
DETRENDS = ("constant", "linear", None)
CROSSINGS = ("first", "challenge")


def window(n: int, kind: str | None = "hann") -> np.ndarray:
    """Taper of length ``n``: periodic Hann ``sin^2(pi i / n)`` (``kind="hann"``) or ones (``None``)."""
    if kind not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {kind!r}")
    if kind is None:
        return np.ones(n)
    return _scipy_hann(n, sym=False)


def detrend(block: np.ndarray, kind: str | None, axes: Tuple[int, ...]) -> np.ndarray:
    """Remove the mean (``"constant"``) or the least-squares (hyper)plane ``a + sum_i b_i n_i``
    (``"linear"``, as ``xrft.detrend``) over ``axes`` of ``block``; ``None``: unchanged.

    The plane is fitted jointly over all ``axes`` for every index of the other axes.
    """
    if kind not in DETRENDS:
        raise ValueError(f"detrend must be one of {DETRENDS}, got {kind!r}")
    if kind is None:
        return block
    if kind == "constant":
        return block - block.mean(axis=axes, keepdims=True)
    axes = tuple(a % block.ndim for a in axes)
    other = [a for a in range(block.ndim) if a not in axes]
    moved = np.moveaxis(block, other + list(axes), list(range(block.ndim)))
    lead = moved.shape[: len(other)]
    shape = moved.shape[len(other):]
    grids = np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij")
    G = np.stack([np.ones(int(np.prod(shape)))] + [g.ravel() for g in grids], axis=1)
    Y = moved.reshape(int(np.prod(lead)) if lead else 1, -1).T
    coef, *_ = np.linalg.lstsq(G, Y, rcond=None)
    resid = (Y - G @ coef).T.reshape(moved.shape)
    return np.moveaxis(resid, list(range(block.ndim)), other + list(axes))


def even_spacing(coord: np.ndarray, name: str, rtol: float = 1e-3) -> float:
    """The spacing of an evenly spaced 1-D coordinate (``ValueError`` naming ``name`` otherwise).

    ``rtol = 1e-3`` is xrft's ``spacing_tol`` (the challenges' PSDs go through xrft).
    """
    c = np.asarray(coord, dtype=float)
    if c.size < 2:
        raise ValueError(f"{name} needs at least 2 points for a spectrum, got {c.size}")
    d = np.diff(c)
    if not np.all(d > 0) or not np.allclose(d, d[0], rtol=rtol, atol=0.0):
        raise ValueError(f"{name} must be evenly spaced and increasing for a spectrum")
    return float(d[0])


def periodogram_1d(x: np.ndarray, d: float, kind: str | None = "hann",
                   detrend_kind: str | None = "constant") -> Tuple[np.ndarray, np.ndarray]:
    """One-sided PSD of each row of ``x`` (``(..., n)``, spacing ``d``), as ``scipy.signal.welch``
    computes it for one segment: detrend, taper ``w``, ``P = c |rfft(w x)|^2 / (fs sum w^2)``
    with ``fs = 1/d`` and ``c = 2`` except at 0 and (even ``n``) the Nyquist frequency.

    Returns:
        ``(freq (n//2 + 1,), psd (..., n//2 + 1))`` in cycles per unit of ``d`` and
        ``[x]^2 * d``.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    w = window(n, kind)
    xd = detrend(x, detrend_kind, (-1,))
    p = np.abs(np.fft.rfft(xd * w, axis=-1)) ** 2 * (d / np.sum(w**2))
    if n % 2 == 0:
        p[..., 1:-1] *= 2.0
    else:
        p[..., 1:] *= 2.0
    return np.fft.rfftfreq(n, d), p


def crossing_wavelength(score: np.ndarray, wavelength: np.ndarray, level: float = 0.5,
                        method: str = "first") -> float:
    """The wavelength where a 1-D PSD score reaches ``level``, interpolated linearly in wavelength.

    ``method="first"``: scanning from the longest to the shortest wavelength, the first
    interval where the score falls from above ``level`` to ``level`` or below; returns
    ``inf`` if the score is never above ``level`` (no scale resolved) and the shortest
    wavelength if it never falls to ``level`` (every scale resolved; a bound).

    ``method="challenge"``: exactly ``scipy.interpolate.interp1d(score, wavelength)(level)``
    of ``find_wavelength_05_crossing`` (``2021a_SSH_mapping_OSE``, ``src/mod_plot.py``):
    the points are sorted by score (stable) and the bracketing pair in that order is
    interpolated; identical to ``"first"`` for a monotone score. Where interp1d raises
    (``level`` outside the range of the score, e.g. a perfect estimate), returns the bounds of
    ``"first"`` instead (shortest wavelength if the score is above ``level`` everywhere, ``inf``
    if below). Non-finite scores are dropped first.

    Args:
        score, wavelength: 1-D, same length (any order; ``wavelength > 0``, may hold ``inf``).
    """
    if method not in CROSSINGS:
        raise ValueError(f"method must be one of {CROSSINGS}, got {method!r}")
    s = np.asarray(score, dtype=float).ravel()
    lam = np.asarray(wavelength, dtype=float).ravel()
    if s.shape != lam.shape:
        raise ValueError(f"score and wavelength must have the same length, got {s.size} and {lam.size}")
    keep = np.isfinite(s) & ~np.isnan(lam)
    s, lam = s[keep], lam[keep]
    if s.size < 2:
        raise ValueError("crossing_wavelength needs at least 2 finite score values")
    if method == "challenge":
        order = np.argsort(s, kind="mergesort")
        xs, ys = s[order], lam[order]
        if level < xs[0]:
            return float(np.min(lam))
        if level > xs[-1]:
            return float("inf")
        i = int(np.clip(np.searchsorted(xs, level), 1, xs.size - 1))
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return float(y0 + (level - x0) * (y1 - y0) / (x1 - x0))
    order = np.argsort(-lam, kind="mergesort")
    s, lam = s[order], lam[order]
    above = s > level
    if not above.any():
        return float("inf")
    first_above = int(np.argmax(above))
    below = np.nonzero(~above[first_above:])[0]
    if below.size == 0:
        return float(lam[-1])
    i = first_above + int(below[0])
    s0, s1, l0, l1 = s[i - 1], s[i], lam[i - 1], lam[i]
    if not np.isfinite(l0):
        return float(l1)
    return float(l0 + (level - s0) * (l1 - l0) / (s1 - s0))


def contour_crossings(score: np.ndarray, x: np.ndarray, y: np.ndarray,
                      level: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Vertices of the ``level`` iso-line of ``score`` ``(ny, nx)`` on the rectilinear mesh
    ``(x (nx,), y (ny,))``: every grid edge whose end values lie on either side of ``level``
    (``> level`` vs ``<= level``) contributes one vertex, linearly interpolated in the
    coordinates — the vertices ``matplotlib.pyplot.contour`` places. Edges touching a NaN
    are skipped (matplotlib masks them).

    Returns:
        ``(xv, yv)`` 1-D arrays of the vertex coordinates (empty if there is no iso-line).
    """
    z = np.asarray(score, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xs, ys = [], []
    with np.errstate(invalid="ignore", divide="ignore"):
        # edges along x (same row)
        z0, z1 = z[:, :-1], z[:, 1:]
        hit = np.isfinite(z0) & np.isfinite(z1) & ((z0 > level) != (z1 > level))
        f = (level - z0) / (z1 - z0)
        xv = x[:-1][None, :] + f * (x[1:] - x[:-1])[None, :]
        xs.append(xv[hit])
        ys.append(np.broadcast_to(y[:, None], z0.shape)[hit])
        # edges along y (same column)
        z0, z1 = z[:-1, :], z[1:, :]
        hit = np.isfinite(z0) & np.isfinite(z1) & ((z0 > level) != (z1 > level))
        f = (level - z0) / (z1 - z0)
        yv = y[:-1][:, None] + f * (y[1:] - y[:-1])[:, None]
        ys.append(yv[hit])
        xs.append(np.broadcast_to(x[None, :], z0.shape)[hit])
    return np.concatenate(xs), np.concatenate(ys)
