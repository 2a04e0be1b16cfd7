"""Along-track (nadir) L3 sea-level-anomaly files of CMEMS (SEALEVEL_GLO_PHY_L3_MY_008_062 / NRT_008_044).

Layout read (CMEMS product user manual CMEMS-SL-PUM-008-032-068, "along-track L3 products"; one
file per mission and day, named ``{dt|nrt}_{area}_{mission}_phy_l3_{YYYYMMDD}_{production}.nc``,
e.g. ``dt_global_j3_phy_l3_20190101_20210603.nc``):

===================  ============  ===========================================================
variable (dim time)  stored as     meaning
===================  ============  ===========================================================
``time``             float64       days since 1950-01-01 00:00:00 (``calendar = "gregorian"``)
``longitude``        int32 * 1e-6  degrees_east, 0..360
``latitude``         int32 * 1e-6  degrees_north
``sla_filtered``     int16 * 1e-3  m, ``_FillValue`` 32767, ``standard_name``
                                   ``sea_surface_height_above_sea_level``; low-pass filtered
                                   (65 km cut-off over the global ocean: duacs.cls.fr, "Along
                                   track L3 products generation"), not subsampled
``sla_unfiltered``   int16 * 1e-3  m, idem, unfiltered
``mdt``              int16 * 1e-3  m, mean dynamic topography (``adt = sla + mdt``)
``dac``, ``ocean_tide``, ``internal_tide``, ``lwe``  int16 * 1e-3 m: corrections already applied
                                   to the SLA (dynamic atmospheric correction, tides, long
                                   wavelength error); not used here
``cycle``, ``track``  int16        cycle and track numbers (kept as extra variables)
===================  ============  ===========================================================

and the global attribute ``platform`` (e.g. ``"Jason-3"``). The decoding itself is generic
(:func:`.ssh_vars.unpack`: any ``scale_factor`` / ``add_offset`` / ``_FillValue``, units m/cm/mm
from the ``units`` attribute), so variants of the layout read the same way.

No real along-track L3 file of another mission is available offline (see
``../shared/data/README.md``): the tests write small files in exactly this layout (names, dims,
dtypes, packing, attributes) and read them back; the layout above has not been checked against a
real file in this repository.

Mission names: the ``mission`` argument, else the ``platform`` attribute, else the mission code of
the file name, mapped to the names of :mod:`.orbits` (``jason3``, ``sentinel3a``, ...;
:data:`MISSION_CODES`, :data:`PLATFORM_NAMES`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import xarray as xr

from .core import Observations, normalize_longitude
from .l4 import _paths, open_raw
from .ssh_vars import MAX_ABS_SSH_M, find_coordinate, length_to_metres, mask_implausible, ssh_variable, unpack

PathLike = Union[str, os.PathLike]

#: CMEMS L3 file-name mission codes (PUM CMEMS-SL-PUM-008-032-068, table of missions; suffixes
#: ``n`` = new/interleaved orbit, ``g`` = geodetic/drifting phase) -> platform name.
MISSION_CODES = {
    "al": "saral", "alg": "saral", "c2": "cryosat2", "c2n": "cryosat2", "e1": "ers1", "e1g": "ers1",
    "e2": "ers2", "en": "envisat", "enn": "envisat", "g2": "geosat_fo", "h2a": "hy2a", "h2ag": "hy2a",
    "h2b": "hy2b", "h2c": "hy2c", "j1": "jason1", "j1g": "jason1", "j1n": "jason1", "j2": "jason2",
    "j2g": "jason2", "j2n": "jason2", "j3": "jason3", "j3n": "jason3", "s3a": "sentinel3a",
    "s3b": "sentinel3b", "s6a": "sentinel6a", "s6a-hr": "sentinel6a", "s6a-lr": "sentinel6a",
    "tp": "topex", "tpn": "topex", "swon": "swot_nadir",
}
#: ``platform`` attribute (lower case, letters and digits only) -> platform name.
PLATFORM_NAMES = {
    "jason3": "jason3", "jason2": "jason2", "ostmjason2": "jason2", "jason1": "jason1",
    "sentinel3a": "sentinel3a", "sentinel3b": "sentinel3b", "sentinel6a": "sentinel6a",
    "sentinel6michaelfreilich": "sentinel6a", "cryosat2": "cryosat2", "saral": "saral",
    "saralaltika": "saral", "altika": "saral", "hy2a": "hy2a", "hy2b": "hy2b", "hy2c": "hy2c",
    "envisat": "envisat", "ers1": "ers1", "ers2": "ers2", "topexposeidon": "topex", "topex": "topex",
    "geosatfollowon": "geosat_fo", "gfo": "geosat_fo", "swot": "swot_nadir", "swotnadir": "swot_nadir",
}
_FILE_RE = re.compile(r"^(?:dt|nrt)_[a-z]+_([a-z0-9]+(?:-[a-z]+)?)_phy_(?:assim_)?l3_", re.IGNORECASE)


def mission_name(ds: xr.Dataset, path: Optional[PathLike] = None) -> Optional[str]:
    """Platform name of an L3 file: its ``platform`` attribute, else the code in its file name
    (tables :data:`PLATFORM_NAMES`, :data:`MISSION_CODES`); None when neither is recognised."""
    attr = ds.attrs.get("platform")
    if isinstance(attr, str):
        key = re.sub(r"[^a-z0-9]", "", attr.lower())
        if key in PLATFORM_NAMES:
            return PLATFORM_NAMES[key]
    if path is not None:
        m = _FILE_RE.match(Path(path).name)
        if m and m.group(1).lower() in MISSION_CODES:
            return MISSION_CODES[m.group(1).lower()]
    return None


def _read_file(path: Path, ds: xr.Dataset, mission: Optional[str], variable: Optional[str], add_mdt: bool,
               error_std: float, max_abs_ssh: Optional[float]) -> Optional[Observations]:
    where = path.name
    name = ssh_variable(ds) if variable is None else variable
    if name not in ds.data_vars:
        raise ValueError(f"variable={variable!r} is not in {where}; it has {sorted(ds.data_vars)}")
    lon_name, lat_name = find_coordinate(ds, "lon"), find_coordinate(ds, "lat")
    if lon_name is None or lat_name is None or "time" not in ds.variables:
        raise ValueError(f"{where}: needs longitude, latitude and time along the track; it has {sorted(ds.variables)}")
    sla = length_to_metres(unpack(ds[name]), name)
    if sla.ndim != 1:
        raise ValueError(f"{where}: {name!r} must be 1-D along the track (dim time), got dims {sla.dims}")
    if add_mdt:
        if "mdt" not in ds.data_vars:
            raise ValueError(f"add_mdt=True but {where} has no 'mdt' variable; it has {sorted(ds.data_vars)}")
        sla = sla + length_to_metres(unpack(ds["mdt"]), "mdt")
    sla, n_bad = mask_implausible(sla, max_abs_ssh, name, where)
    lon = unpack(ds[lon_name]).values
    lat = unpack(ds[lat_name]).values
    t = np.asarray(ds["time"].values)
    if not np.issubdtype(t.dtype, np.datetime64):
        raise ValueError(f"{where}: 'time' could not be decoded to dates (units {ds['time'].attrs.get('units')!r})")
    v = sla.values
    ok = np.isfinite(v) & np.isfinite(lon) & np.isfinite(lat) & ~np.isnat(t)
    if not ok.any():
        return None
    platform = mission or mission_name(ds, path)
    if platform is None:
        raise ValueError(
            f"mission: cannot tell the mission of {where} (platform attribute {ds.attrs.get('platform')!r}, "
            f"no known code in the file name); pass mission='jason3' or similar"
        )
    extra = {k: unpack(ds[k]).values[ok] for k in ("cycle", "track") if k in ds.data_vars and ds[k].dims == sla.dims}
    if "mdt" in ds.data_vars and not add_mdt:
        extra["mdt"] = length_to_metres(unpack(ds["mdt"]), "mdt").values[ok]
    attrs = {
        "source_files": where,
        "ssh_variable": name + (" + mdt" if add_mdt else ""),
        "n_implausible_masked": n_bad,
        "product_layout": "CMEMS SEALEVEL L3 along-track",
    }
    return Observations.from_arrays(
        time=t[ok], ssh=v[ok], platform=platform, error_std=error_std,
        longitude=normalize_longitude(lon[ok]), latitude=lat[ok], attrs=attrs, extra=extra,
    )


def read_l3_nadir(
    paths: Union[PathLike, Sequence[PathLike], xr.Dataset],
    mission: Optional[str] = None,
    variable: Optional[str] = "sla_filtered",
    add_mdt: bool = False,
    error_std: float = 0.0,
    max_abs_ssh: Optional[float] = MAX_ABS_SSH_M,
) -> Observations:
    """Read along-track L3 files of the CMEMS layout (module docstring) into :class:`.Observations`.

    Args:
        paths: a file, a glob pattern, a list of files (one per mission and day; concatenated
            in order), or a Dataset opened with ``mask_and_scale=False``.
        mission: platform name for every point; default from the file (``platform`` attribute or
            file name, see :func:`mission_name`).
        variable: SLA variable (``"sla_filtered"`` default, ``"sla_unfiltered"``); None: the one
            :func:`.ssh_vars.ssh_variable` recognises.
        add_mdt: return the absolute dynamic topography ``sla + mdt`` [m] instead of the anomaly.
        error_std: measurement-error standard deviation [m] given to every point (the product
            carries none; e.g. the noise level of your error model).
        max_abs_ssh: |SSH| above this [m] is dropped as physically impossible (:mod:`.ssh_vars`).

    Returns observations with ``time``, ``ssh`` [m], ``longitude`` in [-180, 180), ``latitude``,
    ``platform`` and, when present, ``cycle``, ``track``, ``mdt``; missing values (fill) dropped.
    Raises ``ValueError`` naming the argument for a missing file or variable, an unknown mission,
    units other than m/cm/mm, or all values missing.
    """
    if isinstance(paths, xr.Dataset):
        items = [(Path("<dataset>"), xr.decode_cf(paths, mask_and_scale=False))]
    else:
        items = [(p, open_raw(p)) for p in _paths(paths, "paths")]
    if not (np.isfinite(error_std) and error_std >= 0):
        raise ValueError(f"error_std must be a finite number >= 0 [m], got {error_std!r}")
    parts = []
    for path, ds in items:
        obs = _read_file(path, ds, mission, variable, add_mdt, float(error_std), max_abs_ssh)
        if obs is not None:
            parts.append(obs)
    if not parts:
        raise ValueError(f"paths: all values of {variable!r} are missing in {[p.name for p, _ in items]}")
    out = parts[0] if len(parts) == 1 else Observations.concat(parts)
    out.ds.attrs["source_files"] = ", ".join(p.name for p, _ in items)
    out.ds.attrs["n_implausible_masked"] = int(sum(o.ds.attrs["n_implausible_masked"] for o in parts))
    return out
