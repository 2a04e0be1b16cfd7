"""Synthetic maps with known spectra for the metric tests (shared by tests/hybridocean/metrics)."""
from __future__ import annotations

import numpy as np
import xarray as xr


def lonlat_map(data: np.ndarray, dlon: float = 0.25, dlat: float = 0.25, lat0: float = 30.0,
               days: float = 1.0) -> xr.DataArray:
    """A ``(time, lat, lon)`` DataArray of ``data`` on a regular grid, daily times from 2020-01-01."""
    nt, ny, nx = data.shape
    time = np.datetime64("2020-01-01T00:00:00", "ns") + (np.arange(nt) * days * 86400e9).astype("timedelta64[ns]")
    return xr.DataArray(data, dims=("time", "lat", "lon"),
                        coords={"time": time, "lat": lat0 + dlat * np.arange(ny), "lon": -60.0 + dlon * np.arange(nx)})


def xy_map(data: np.ndarray, dx: float = 10e3, dy: float = 10e3, dt_s: float = 86400.0) -> xr.DataArray:
    """A ``(time, y, x)`` DataArray (metres, time in seconds) of ``data``."""
    nt, ny, nx = data.shape
    return xr.DataArray(data, dims=("time", "y", "x"),
                        coords={"time": ("time", dt_s * np.arange(nt), {"units": "seconds since 2000-01-01"}),
                                "y": dy * (np.arange(ny) + 0.5), "x": dx * (np.arange(nx) + 0.5)})


def lowpass(field: np.ndarray, axis: int, keep: int) -> np.ndarray:
    """Keep exactly the Fourier modes ``|m| <= keep`` (integer wavenumber index) along ``axis``."""
    F = np.fft.fft(field, axis=axis)
    n = field.shape[axis]
    m = np.abs(np.fft.fftfreq(n) * n)
    shape = [1] * field.ndim
    shape[axis] = n
    F = F * (m <= keep).reshape(shape)
    return np.real(np.fft.ifft(F, axis=axis))
