"""Recognising and decoding sea-surface-height variables in the files of altimetry products.

Shared by the readers (:mod:`.l4`, :mod:`.l3`, :mod:`.swot_l3`) and by anything that reads a
"truth" file (``hybridocean observe`` / ``estimate``).

Which variable is SSH (:func:`ssh_variable`)
    1. a variable whose CF ``standard_name`` is one of :data:`SSH_STANDARD_NAMES` (the
       sea-surface-height names of the CF standard-name table, cfconventions.org/standard-names:
       ``sea_surface_height_above_geoid`` (DUACS ``adt``), ``sea_surface_height_above_sea_level``
       (DUACS ``sla``; in CF "sea_level" means mean sea level),
       ``sea_surface_height_above_mean_sea_level``, ``sea_surface_height_above_geopotential_datum``,
       ``sea_surface_elevation``, ``sea_surface_height_above_reference_ellipsoid`` (the AVISO SWOT
       L3 ``ssha*`` variables carry this name although they are anomalies)); names such as
       ``sea_surface_height_amplitude_due_to_*`` or ``*_correction_due_to_*`` (tides, DAC) are not SSH;
    2. otherwise one of the usual names :data:`SSH_NAMES` (``adt``, ``sla``, ``ssh``, ``zos``,
       ``eta``, ``ssha``) or a name starting with ``ssha`` / ``sla_``.
    Mean fields (``mdt``, ``mss``, ``geoid``) are never taken. When several match, the order of
    :data:`SSH_NAMES` decides, then the order of :data:`SSH_STANDARD_NAMES`.

Units (:func:`length_to_metres`, :func:`velocity_to_si`)
    from the ``units`` attribute: ``m``/``cm``/``mm`` (and ``km`` for distances) and ``m/s`` /
    ``cm/s``; any other or a missing ``units`` is refused with an error naming the variable.

Packed integers (:func:`unpack`)
    ``value = raw * scale_factor + add_offset`` in float64 (CF section 8.1), with ``_FillValue`` /
    ``missing_value`` and ``valid_min`` / ``valid_max`` / ``valid_range`` (compared in packed
    units when they have the packed integer type, CF 8.1) turned into NaN. Works on files opened
    with ``mask_and_scale=False`` and on Datasets already decoded by xarray (then only the
    validity attributes still present apply).

Physically impossible values (:func:`mask_implausible`)
    Files sometimes store land or gaps *without* declaring them: the DUACS L4 sample of
    ``../shared/data/duacs_l4_sample`` writes land as the netCDF default fill of int32
    (``NC_FILL_INT = -2147483647``) with no ``_FillValue`` attribute, which decodes to
    -214748.3647 m, passes a finiteness check and makes 1e7 m/s geostrophic currents. Every reader
    therefore masks ``|SSH| >`` :data:`MAX_ABS_SSH_M` = 20 m: sea level relative to the geoid or to
    the mean sea level stays within a few metres (the ADT of the real DUACS maps in
    ``../shared/data`` spans -1.59 .. 2.13 m, their SLA a fraction of that); even with tides and
    surges kept it stays below ~17 m (largest tidal range 16.3 m at the Bay of Fundy, i.e.
    +-8.2 m, plus a storm surge of 8.5 m, Katrina 2005), so 20 m is above anything the ocean does
    and orders of magnitude below the fill codes. Velocities are masked above
    :data:`MAX_ABS_VELOCITY_M_S` = 20 m/s (the fastest surface currents, Gulf Stream / Agulhas,
    reach ~2.5 m/s; L4 geostrophic currents near the equator, where f -> 0, reach 4.7 m/s in the
    NRT map of ``../shared/data``). A
    :class:`ImplausibleValueWarning` says how many points were masked, and the readers record the
    count in the variable's ``n_implausible_masked`` attribute. Heights above the *reference
    ellipsoid* that include the geoid (-106 to +85 m, EGM2008) need a larger limit (argument
    ``max_abs_ssh`` of the readers).
"""
from __future__ import annotations

import warnings
from typing import Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

#: CF standard names of sea surface height, in order of preference (CF standard-name table).
SSH_STANDARD_NAMES = (
    "sea_surface_height_above_geoid",
    "sea_surface_height_above_sea_level",
    "sea_surface_height_above_mean_sea_level",
    "sea_surface_height_above_geopotential_datum",
    "sea_surface_elevation",
    "sea_surface_height_above_reference_ellipsoid",
)

#: Usual SSH variable names, in order of preference (prefixes ``ssha``/``sla_`` rank after these).
SSH_NAMES = ("adt", "sla", "ssh", "zos", "eta", "ssha_filtered", "ssha_noiseless", "ssha_unfiltered", "ssha")
_SSH_PREFIXES = ("ssha", "sla_")
#: Mean fields with SSH-like standard names that are not a sea-surface-height observation.
NOT_SSH = ("mdt", "mss", "mean_sea_surface", "geoid", "mean_dynamic_topography")

_LENGTH_UNITS = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "cm": 1e-2, "centimeter": 1e-2, "centimeters": 1e-2, "centimetre": 1e-2, "centimetres": 1e-2,
    "mm": 1e-3, "millimeter": 1e-3, "millimeters": 1e-3, "millimetre": 1e-3, "millimetres": 1e-3,
}
_DISTANCE_UNITS = {**_LENGTH_UNITS, "km": 1e3, "kilometer": 1e3, "kilometers": 1e3, "kilometre": 1e3, "kilometres": 1e3}
_VELOCITY_UNITS = {
    "m/s": 1.0, "m s-1": 1.0, "m.s-1": 1.0, "m s**-1": 1.0, "m s^-1": 1.0, "meter/second": 1.0, "meters/second": 1.0,
    "cm/s": 1e-2, "cm s-1": 1e-2, "cm.s-1": 1e-2, "cm s**-1": 1e-2, "cm s^-1": 1e-2,
}

#: Largest plausible |sea surface height| [m] relative to geoid / mean sea level (module docstring).
MAX_ABS_SSH_M = 20.0
#: Largest plausible |surface velocity| [m/s] (module docstring).
MAX_ABS_VELOCITY_M_S = 20.0

_PACKING = ("scale_factor", "add_offset", "_FillValue", "missing_value", "valid_min", "valid_max", "valid_range", "_Unsigned")


class ImplausibleValueWarning(UserWarning):
    """Values outside the physically possible range were masked (e.g. land stored without fill)."""


def _describe(ds: xr.Dataset) -> str:
    rows = []
    for k, v in ds.data_vars.items():
        rows.append(f"{k}{tuple(v.dims)} standard_name={v.attrs.get('standard_name')!r} units={v.attrs.get('units')!r}")
    return "; ".join(rows) if rows else "no data variable"


def ssh_candidates(ds: xr.Dataset) -> list:
    """All variable names of ``ds`` recognised as SSH, best first (rules of the module docstring)."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")

    def name_rank(k: str) -> int:
        if k in SSH_NAMES:
            return SSH_NAMES.index(k)
        if k.lower().startswith(_SSH_PREFIXES):
            return len(SSH_NAMES)
        return len(SSH_NAMES) + 1

    out = []
    for k, v in ds.data_vars.items():
        if v.ndim == 0 or k.lower() in NOT_SSH:
            continue
        std = v.attrs.get("standard_name")
        if std in SSH_STANDARD_NAMES:
            out.append((0, name_rank(k), SSH_STANDARD_NAMES.index(std), k))
        elif name_rank(k) <= len(SSH_NAMES):
            out.append((1, name_rank(k), 0, k))
    return [k for *_, k in sorted(out)]


def ssh_variable(ds: xr.Dataset, prefer: Union[None, str, Sequence[str]] = None) -> str:
    """Name of the sea-surface-height variable of ``ds``.

    Args:
        ds: a Dataset (an L4 map, an L3 file, a simulation written by
            :func:`hybridocean.io.states_to_dataset`, whose ``eta`` has standard name
            ``sea_surface_height_above_geoid``).
        prefer: a name (or names, first present wins) to take instead of the automatic choice;
            a name absent from ``ds`` is an error.

    Returns the first of :func:`ssh_candidates` (CF ``standard_name`` first, then usual names).
    Raises ``ValueError`` listing every variable found (with standard names and units) when none
    is recognised.
    """
    if prefer is not None:
        names = [prefer] if isinstance(prefer, str) else list(prefer)
        for k in names:
            if k in ds.data_vars:
                return k
        raise ValueError(f"prefer={prefer!r}: no such variable; the dataset has: {_describe(ds)}")
    found = ssh_candidates(ds)
    if not found:
        raise ValueError(
            f"no sea-surface-height variable recognised: looked for standard_name in {SSH_STANDARD_NAMES} "
            f"or names {SSH_NAMES} / prefixes {_SSH_PREFIXES}; the dataset has: {_describe(ds)}"
        )
    return found[0]


def _factor(table: dict, units: Optional[str], name: str, kind: str) -> float:
    if units is None:
        raise ValueError(f"variable {name!r} has no 'units' attribute; expected {kind} units, one of {sorted(set(table))}")
    key = " ".join(str(units).strip().lower().split())
    if key not in table:
        raise ValueError(f"variable {name!r} has units {units!r}; expected {kind} units, one of {sorted(set(table))}")
    return table[key]


def length_to_metres(da: xr.DataArray, name: Optional[str] = None, distance: bool = False) -> xr.DataArray:
    """``da`` in metres (float64, ``units = "m"``): multiplied by 1, 1e-2, 1e-3 (or 1e3 for ``km``
    when ``distance``) according to its ``units`` attribute. Unknown or missing units raise
    ``ValueError`` naming ``name`` (default ``da.name``). Shapes are kept."""
    name = da.name if name is None else name
    f = _factor(_DISTANCE_UNITS if distance else _LENGTH_UNITS, da.attrs.get("units"), name, "length")
    out = da.astype(np.float64) * f
    out.attrs = {**da.attrs, "units": "m"}
    return out


def velocity_to_si(da: xr.DataArray, name: Optional[str] = None) -> xr.DataArray:
    """``da`` in m/s (float64, ``units = "m s-1"``) from ``m/s`` / ``cm/s`` ``units``; else ``ValueError``."""
    name = da.name if name is None else name
    f = _factor(_VELOCITY_UNITS, da.attrs.get("units"), name, "velocity")
    out = da.astype(np.float64) * f
    out.attrs = {**da.attrs, "units": "m s-1"}
    return out


def unpack(da: xr.DataArray) -> xr.DataArray:
    """Decode a CF-packed variable to float64 with NaN for fill / out-of-range (module docstring).

    ``raw`` values equal to ``_FillValue`` or ``missing_value``, or outside ``valid_min`` /
    ``valid_max`` / ``valid_range``, become NaN; the rest is ``raw * scale_factor + add_offset``.
    The packing attributes are removed from the result; the others (units, standard_name...) kept.
    """
    attrs = dict(da.attrs)
    raw = np.asarray(da.values)
    if raw.dtype.kind not in "fiub":
        raise TypeError(f"variable {da.name!r} must hold numbers, got dtype {raw.dtype}")
    if attrs.get("_Unsigned") in ("true", "True") and raw.dtype.kind == "i":
        raw = raw.view(raw.dtype.str.replace("i", "u"))
    bad = np.zeros(raw.shape, dtype=bool)
    for key in ("_FillValue", "missing_value"):
        if key in attrs:
            for fv in np.atleast_1d(attrs[key]):
                bad |= np.isnan(raw) if np.isnan(fv) else raw == fv
    scale = float(attrs.get("scale_factor", 1.0))
    offset = float(attrs.get("add_offset", 0.0))
    value = raw.astype(np.float64) * scale + offset
    lo, hi = attrs.get("valid_min"), attrs.get("valid_max")
    if "valid_range" in attrs:
        lo, hi = np.asarray(attrs["valid_range"]).ravel()[:2]
    packed = ("scale_factor" in attrs or "add_offset" in attrs) and raw.dtype.kind in "iu"
    for bound, cmp in ((lo, np.less), (hi, np.greater)):
        if bound is None:
            continue
        b = np.asarray(bound)
        in_packed_units = packed and b.dtype.kind in "iu"
        bad |= cmp(raw, b) if in_packed_units else cmp(value, float(b))
    value[bad] = np.nan
    out = xr.DataArray(value, dims=da.dims, coords=da.coords, name=da.name)
    out.attrs = {k: v for k, v in attrs.items() if k not in _PACKING}
    return out


def mask_implausible(da: xr.DataArray, limit: Optional[float], name: Optional[str] = None, where: str = "") -> Tuple[xr.DataArray, int]:
    """NaN where ``|da| > limit`` (``limit`` None: no check); returns ``(masked, n_masked)``.

    Warns with :class:`ImplausibleValueWarning` when something was masked and records
    ``n_implausible_masked`` and ``implausible_limit`` in the result's attributes.
    """
    name = da.name if name is None else name
    if limit is None:
        return da, 0
    if not np.isfinite(limit) or limit <= 0:
        raise ValueError(f"the plausibility limit for {name!r} must be a positive number, got {limit!r}")
    v = np.asarray(da.values, dtype=np.float64)
    bad = np.abs(v) > limit  # NaN compares False
    n = int(bad.sum())
    out = da.copy(data=np.where(bad, np.nan, v))
    out.attrs = {**da.attrs, "n_implausible_masked": n, "implausible_limit": float(limit)}
    if n:
        extreme = float(v[bad][np.argmax(np.abs(v[bad]))])
        warnings.warn(
            f"{name}{' in ' + where if where else ''}: masked {n} of {v.size} values with |value| > {limit:g} "
            f"{da.attrs.get('units', '')} as physically impossible (e.g. {extreme:.6g}); land or gaps stored "
            "without a declared _FillValue",
            ImplausibleValueWarning,
            stacklevel=3,
        )
    return out, n


def find_coordinate(ds: xr.Dataset, axis: str, names: Iterable[str] = ()) -> Optional[str]:
    """Name of the longitude (``axis="lon"``) or latitude (``"lat"``) variable of ``ds``, or None.

    Recognised by ``standard_name`` (``longitude``/``latitude``), then ``units``
    (``degrees_east``/``degrees_north``), then the names ``longitude, lon, nav_lon`` /
    ``latitude, lat, nav_lat`` and any extra ``names``.
    """
    std, d = {"lon": ("longitude", "east"), "lat": ("latitude", "north")}[axis]
    units = {f"degrees_{d}", f"degree_{d}", f"degrees_{d[0]}", f"degree_{d[0]}", f"degrees{d[0]}", f"degree{d[0]}"}  # CF 4.1
    usual = (std, axis, f"nav_{axis}") + tuple(names)
    variables = list(ds.variables)
    for test in (
        lambda k: ds[k].attrs.get("standard_name") == std,
        lambda k: str(ds[k].attrs.get("units", "")).lower() in units,
        lambda k: k.lower() in usual,
    ):
        for k in variables:
            if test(k):
                return k
    return None
