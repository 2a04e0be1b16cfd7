"""Satellite-altimetry observations: point clouds, the observation operator H, gridded views, gaps.

Layer: imports :mod:`physics` and :mod:`hybridocean.io` only (never estimation or cli).
Owners add their exports below with a small edit (append lines; never rewrite this file).
"""
from .core import DEFAULT_TIME_ORIGIN, Observations, normalize_longitude
from .operator import ObservationOperator, sample_fields
from .gridded import from_gridded, grid_from_dataset, gridded_to_tensor, to_gridded
from .gaps import cloud_mask, missing_days, random_pixel_mask
from .ssh_vars import ImplausibleValueWarning, ssh_variable
from .l4 import read_gridded_ssh, read_l4
from .l3 import read_l3_nadir
from .swot_l3 import read_swot_l3
from .orbits import MISSIONS, OrbitParameters, RepeatOrbit, ground_speed
from .ephemeris import Ephemeris, fit_repeat_orbit, read_ephemeris, track_agreement
from .noise import KarinNoise
from .nadir import TrackPoints, nadir_points
from .swot import cross_track_grid, karin_points, swath_geometry
from .constellation import Constellation, daily_coverage, platform_names
