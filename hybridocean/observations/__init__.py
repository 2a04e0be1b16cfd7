"""Satellite-altimetry observations: point clouds, the observation operator H, gridded views, gaps.

Layer: imports :mod:`physics` and :mod:`hybridocean.io` only (never estimation or cli).

The exports are lazy (PEP 562, :func:`hybridocean._lazy.lazy_exports`): ``from
hybridocean.observations import X`` imports only the submodule defining ``X``, so importing a light
submodule (``hybridocean.observations.cli`` when ``hybridocean --help`` builds its parser) does
not pull in torch/xarray/scipy. Owners add their exports to ``_EXPORTS`` with a small edit
(append a line ``"submodule": ("Name", ...),``; never rewrite this file).
"""
from hybridocean._lazy import lazy_exports

#: submodule -> the public names this package re-exports from it.
_EXPORTS = {
    "core": ("DEFAULT_TIME_ORIGIN", "Observations", "normalize_longitude"),
    "operator": ("ObservationOperator", "sample_fields"),
    "gridded": ("from_gridded", "grid_from_dataset", "gridded_to_tensor", "never_observed_land", "to_gridded"),
    "gaps": ("cloud_mask", "missing_days", "random_pixel_mask"),
    "ssh_vars": ("ImplausibleValueWarning", "ssh_variable"),
    "l4": ("read_gridded_ssh", "read_l4"),
    "l3": ("read_l3_nadir",),
    "swot_l3": ("read_swot_l3",),
    "orbits": ("MISSIONS", "OrbitParameters", "RepeatOrbit", "ground_speed"),
    "ephemeris": ("Ephemeris", "fit_repeat_orbit", "read_ephemeris", "track_agreement"),
    "noise": ("KarinNoise",),
    "nadir": ("TrackPoints", "nadir_points"),
    "swot": ("cross_track_grid", "karin_points", "swath_geometry"),
    "constellation": ("Constellation", "daily_coverage", "platform_names"),
    "bbox": ("LonLatBox", "lonlat_box"),
    "holdout": ("block_holdout", "block_labels", "block_size", "pass_index", "satellite_of"),
    "superobs": ("cell_superobs",),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
