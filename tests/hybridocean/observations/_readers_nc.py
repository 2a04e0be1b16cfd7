"""Test helper: write netCDF variables byte-exactly as the products store them (raw packed
integers, the product's attributes, no automatic packing by netCDF4-python), so the readers are
tested on the encodings of the real files rather than on what xarray would write."""
from __future__ import annotations

from typing import Mapping, Optional

import netCDF4
import numpy as np


def pack(values: np.ndarray, scale: float, fill: Optional[int], dtype: str) -> np.ndarray:
    """``round(values / scale)`` as ``dtype``, with NaN -> ``fill``."""
    v = np.asarray(values, dtype=np.float64)
    raw = np.where(np.isfinite(v), np.round(np.where(np.isfinite(v), v, 0.0) / scale), 0.0)
    out = raw.astype(dtype)
    if fill is not None:
        out[~np.isfinite(v)] = fill
    return out


def write(path, dims: Mapping[str, int], variables: Mapping[str, tuple], attrs: Optional[Mapping] = None) -> None:
    """``variables[name] = (dims, raw_array, attrs)``; ``attrs`` may hold ``_FillValue``."""
    with netCDF4.Dataset(path, "w", format="NETCDF4") as d:
        for k, n in dims.items():
            d.createDimension(k, n)
        for k, v in (attrs or {}).items():
            d.setncattr(k, v)
        for name, (vdims, raw, vattrs) in variables.items():
            raw = np.asarray(raw)
            vattrs = dict(vattrs)
            fill = vattrs.pop("_FillValue", None)
            var = d.createVariable(name, raw.dtype, tuple(vdims), fill_value=fill if fill is not None else False)
            var.set_auto_maskandscale(False)
            for a, val in vattrs.items():
                var.setncattr(a, val)
            var[:] = raw


def raw_values(path, name: str) -> np.ndarray:
    """The stored integers of ``name`` (no unpacking, no masking)."""
    with netCDF4.Dataset(path) as d:
        d.set_auto_maskandscale(False)
        return np.asarray(d[name][:])
