"""The model-based methods of ``hybridocean estimate`` / ``train-estimator``: ``4dvar``, ``learned``
and ``learned+4dvar`` (:mod:`.cli`, :mod:`.cli_train`).

Models (``--model``)
    ``qg1.5``: the 1.5-layer quasi-geostrophic model (:class:`~physics.qg.QG`, one active layer
    over a deep one at rest) with deformation radius ``Ld`` [m].
    ``sw``: the rotating shallow-water model (:class:`~physics.shallow_water.ShallowWater`,
    nonlinear) written for the SSH ``eta`` with gravity ``g`` and the *equivalent depth*
    ``H = (f0 Ld)^2 / g`` of the first baroclinic mode (Gill 1982, *Atmosphere-Ocean Dynamics*,
    section 6.11): the reduced-gravity (1.5-layer) shallow-water equations rescaled to SSH, with
    the same ``Ld`` as ``qg1.5`` (about 0.9 m at ``f0 = 1e-4`` 1/s, Ld = 30 km, g = 9.81).
    ``f0``, ``beta``: the grid's (lon/lat: the tangent plane at the central latitude,
    ``f0 = 2 Omega sin(phi0)``, ``beta = 2 Omega cos(phi0) / R``; x/y: ``--f0``/``--beta`` or the
    file's attributes, see :mod:`.cli_inputs`).

Deformation radius ``Ld`` and depth ``H`` (:func:`physical_parameters`; the output's attributes
``Ld_m``, ``H_m`` and where each came from, ``Ld_source``/``H_source``)
    ``--Ld`` [m] or (``sw`` only) ``--H`` [m], one of them, always win (``"flag"``). Otherwise:

    * lon/lat grids: a **latitude-only estimate** of the first baroclinic Rossby radius at the
      grid's central latitude ``phi0`` (:func:`rossby_radius`, ``"latitude (Chelton et al.
      1998)"``): ``Ld = c1 / |f|`` for ``|phi0| >= 5`` degrees (Chelton, deSzoeke, Schlax, El
      Naggar & Siwertz 1998, "Geographical variability of the first baroclinic Rossby radius of
      deformation", J. Phys. Oceanogr. 28, 433-460, eq. (2.3)) and the equatorial radius
      ``Ld = sqrt(c1 / (2 beta))`` within 5 degrees of the equator (their eq. (2.4)), with
      ``f = 2 Omega sin(phi0)``, ``beta = 2 Omega cos(phi0) / R`` and one gravity-wave speed
      :data:`C1` = 2.5 m/s everywhere: 99 km at 10 degrees, 27 km at 40, 20 km at 60, 234 km at
      the equator (the two forms differ by 19 % at 5 degrees). ``sw`` takes ``H = c1^2 / g``
      (0.64 m; ``= (f0 Ld)^2 / g`` outside the equatorial band, and the depth whose equatorial
      radius is ``Ld`` inside it). The file's ``Ld_m``/``H_m`` attributes are not read there.
    * x/y grids: the ``--obs`` file's global attributes ``Ld_m`` [m] (``qg1.5``; ``sw`` when there
      is no ``H_m``) or ``H_m`` [m] (``sw``), ``"attribute Ld_m"``/``"attribute H_m"``; else
      :data:`DEFAULT_LD` = 30 km (``"default"``). A bad attribute (not a number, <= 0) is an
      error naming it.

    ``sw`` derives the other one: ``H = (f0 Ld)^2 / g`` or ``Ld = sqrt(g H) / |f0|`` (lon/lat:
    through the same two forms of ``c = sqrt(g H)``). Why ``c1 = 2.5 m/s``: a round value for the
    first baroclinic gravity-wave speed of the deep, stratified open ocean at mid and low
    latitudes; it gives 27 km at 40 degrees, near the 30 km of the former fixed default (which
    means ``c1 = f Ld = 2.8 m/s`` there). The number is **not verified** against Chelton et al.'s
    maps (only their abstract and introduction could be consulted). Their ``c1`` varies from
    place to place: it is smaller poleward, over shallow water and where stratification is weak.
    So this estimate is too large at high latitudes and in marginal seas (the Ionian Sea's
    radius is 10-14 km, Grilli & Pinardi 1998, as ``scripts/benchmark_estimation.py`` uses):
    give ``--Ld`` there.

Grids
    On a lon/lat input a model runs on the spherical grid of the input (``model_grid = "sphere"``
    in the output's attributes) when it accepts one (QG and shallow water do since the sphere
    metric of :mod:`physics.grid` reached them); otherwise on the tangent-plane grid of the same
    cells (:meth:`physics.grid.Grid.from_lonlat` ``metric="beta_plane"``, ``model_grid =
    "beta_plane ..."``). Either way the output keeps the input's longitude/latitude.

Time steps
    QG: ``dt <= 0.5 C min(dx, dy) / U`` with ``U = 1 m/s`` (a strong mesoscale current) and ``C``
    the stepping method's Courant number (:func:`physics.stepping.courant_limit`: AB3 0.36, RK4
    1.41), so 3600 s on a 20 km AB3 grid; shallow water: half the model's stable step
    (:meth:`~physics.shallow_water.ShallowWater.dt_max`, gravity waves); then shortened so that a
    4D-Var window (or a learned frame) is a whole number of steps.

Regional 4D-Var (``--boundary``)
    ``4dvar`` with ``qg1.5`` on a lon/lat input (sphere grid) takes the regional path by default
    (``--boundary open``, :class:`~.fourdvar_regional.RegionalFourDVar`): the box is treated as cut
    from the ocean, with an open outer ring whose SSH comes from an OI of the same observations
    (``--param oi='{"Lx": 0.5, "Lt": 432000}'`` sets its arguments; default
    :class:`~.oi.OptimalInterpolation`'s), the first background the OI map, and land the cells of
    a gridded input that are NaN at every time in patches of >= 16 cells (smaller ones are gaps; a
    point input has no land). ``--param sigma_boundary=0.01`` adds the boundary SSH to the control, ``oi_every_window=true`` takes
    every window's background from the OI, ``sponge_width``/``sponge_time`` set the sponge.
    ``--boundary closed`` keeps the closed basin (``psi = 0`` on the walls) of the x/y path.

The learned estimator's training and checkpoint checks: :mod:`.cli_train`.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .cli_inputs import attribute_number, finite_number, positive_float

#: model choices of ``--model``.
MODELS = ("qg1.5", "sw")
#: the methods that run a model (``--model`` applies), and those with a learned estimator.
MODEL_METHODS = ("4dvar", "learned", "learned+4dvar")
LEARNED_METHODS = ("learned", "learned+4dvar")
DEFAULT_LD = 30e3  # [m] x/y grids without --Ld/--H or attributes: the mid-latitude radius (module docstring)
#: [m/s] first baroclinic gravity-wave speed of the latitude-only ``Ld`` on lon/lat grids (module docstring).
C1 = 2.5
#: [degrees] within this latitude of the equator the equatorial radius sqrt(c / (2 beta)) applies.
EQUATORIAL_BAND = 5.0
LATITUDE_SOURCE = "latitude (Chelton et al. 1998)"
U_MAX = 1.0  # [m/s] the current assumed by the QG time step (a strong mesoscale eddy; the safety factor covers ~2 m/s)
DEFAULT_WINDOW = 10 * 86400.0  # [s] the 4D-Var window at most (FourDVar's default)
#: [m] observation error std when the file gives none (gridded maps): the order of a nadir
#: altimeter's along-track noise, a few cm at 1 Hz (Dibarboure et al. 2011, "Jason-2 in DUACS: updated system description, first tandem results and
#: impact on processing and products", Mar. Geod. 34, 214-241).
DEFAULT_OBS_ERROR = 0.02


def model_grid(grid: Any, kind: str = "qg1.5") -> Tuple[Any, str]:
    """``(grid the model of kind runs on, description)``: x/y grids as they are; a lon/lat (sphere)
    grid on the sphere when that model accepts it there (tried with a throw-away instance), else
    its tangent-plane grid with the same cells (``Grid.from_lonlat(..., metric="beta_plane")``,
    same lon/lat, boundary closed)."""
    from physics.grid import Grid

    if grid.metric != "sphere":
        return grid, "cartesian" if grid.lon is None else "beta_plane (tangent plane of the input's lon/lat cells)"
    try:
        build_physics(kind, grid, {"Ld_m": DEFAULT_LD, "H_m": 1.0, "g_m_per_s2": 9.81})
        return grid, "sphere"
    except ValueError:
        pass
    plane = Grid.from_lonlat(np.asarray(grid.lon), np.asarray(grid.lat), boundary="closed", metric="beta_plane")
    return plane, (f"beta_plane (tangent plane at {0.5 * (float(grid.lat[0]) + float(grid.lat[-1])):.4g} N: "
                   f"{kind} does not run on the sphere yet)")


def _coriolis(lat_deg: float) -> Tuple[float, float, float]:
    """``(lat, f, beta)``: the latitude [degrees] as a float, ``2 Omega sin(lat)`` [1/s] and
    ``2 Omega cos(lat) / R`` [1/(m s)]; ``ValueError`` naming ``lat_deg`` outside [-90, 90]."""
    from physics.lonlat import EARTH_RADIUS, OMEGA

    lat = finite_number(lat_deg)
    if lat is None or not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat_deg must be a finite latitude in [-90, 90] degrees, got {lat_deg!r}")
    phi = math.radians(lat)
    return lat, 2 * OMEGA * math.sin(phi), 2 * OMEGA * math.cos(phi) / EARTH_RADIUS


def _positive(name: str, value: Any, what: str) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless it is a finite number > 0."""
    v = finite_number(value, positive=True)
    if v is None:
        raise ValueError(f"{name} must be a finite {what} > 0, got {value!r}")
    return v


def rossby_radius(lat_deg: float, c: float = C1) -> float:
    """First baroclinic Rossby radius [m] at latitude ``lat_deg`` [degrees] for the gravity-wave
    speed ``c`` [m/s] (Chelton et al. 1998, module docstring): ``c / |f|`` for ``|lat| >=``
    :data:`EQUATORIAL_BAND` (their eq. 2.3), ``sqrt(c / (2 beta))`` within it (eq. 2.4);
    ``f = 2 Omega sin(lat)``, ``beta = 2 Omega cos(lat) / R``. ``ValueError`` naming the argument
    for a latitude outside [-90, 90] or ``c`` not a finite number > 0."""
    c = _positive("c", c, "gravity-wave speed [m/s]")
    lat, f, beta = _coriolis(lat_deg)
    return math.sqrt(c / (2 * beta)) if abs(lat) < EQUATORIAL_BAND else c / abs(f)


def wave_speed(lat_deg: float, Ld: float) -> float:
    """The gravity-wave speed ``c`` [m/s] whose :func:`rossby_radius` at ``lat_deg`` [degrees] is
    ``Ld`` [m] (> 0): ``|f| Ld``, or ``2 beta Ld^2`` within the equatorial band."""
    Ld = _positive("Ld", Ld, "radius [m]")
    lat, f, beta = _coriolis(lat_deg)
    return 2 * beta * Ld**2 if abs(lat) < EQUATORIAL_BAND else abs(f) * Ld


def central_latitude(grid: Any) -> Optional[float]:
    """[degrees] the mean of a lon/lat grid's first and last cell-centre latitudes; ``None`` on x/y grids."""
    lat = None if getattr(grid, "lat", None) is None else np.asarray(grid.lat, dtype=np.float64)
    return None if lat is None else 0.5 * (float(lat[0]) + float(lat[-1]))


def depth_to_radius(grid: Any, g: float, H: float) -> float:
    """``Ld`` [m] of the shallow-water depth ``H`` [m]: ``sqrt(g H) / |f0|`` (x/y), or
    :func:`rossby_radius` of ``c = sqrt(g H)`` at the central latitude (lon/lat)."""
    lat0 = central_latitude(grid)
    return math.sqrt(g * H) / abs(grid.f0) if lat0 is None else rossby_radius(lat0, math.sqrt(g * H))


def physical_parameters(kind: str, grid: Any, g: float, H: Optional[float], Ld: Optional[float],
                        attrs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``{"Ld_m", "g_m_per_s2", "Ld_source"[, "H_m", "H_source"]}`` of ``--model kind`` on the model
    ``grid``, gravity ``g`` [m/s^2], flags ``--H``/``--Ld`` [m] (None: not given), the ``--obs``
    file's global ``attrs`` (module docstring). ``UserError`` naming ``--H`` for ``qg1.5`` or with
    ``--Ld``, an attribute not a number > 0, and ``sw`` on an x/y grid with ``f0 = 0``."""
    from hybridocean.cli import UserError

    if kind == "qg1.5" and H is not None:
        raise UserError("--H: applies to --model sw only (qg1.5 takes --Ld)")
    if H is not None and Ld is not None:
        raise UserError("--H and --Ld: give one (with sw, H = (f0 Ld)^2 / g fixes the other)")
    attrs = attrs or {}
    lat0 = central_latitude(grid)
    if lat0 is not None:  # lon/lat: flags, else the latitude (attributes not read)
        unused = [n for n in ("Ld_m", "H_m") if n in attrs]
        if unused and H is None and Ld is None:
            print(f"hybridocean: note: the file's {'/'.join(unused)} is not used on a lon/lat grid (Ld from the "
                  "latitude, Chelton et al. 1998); give --Ld to set it", file=sys.stderr)
        if H is not None:
            c, src = math.sqrt(g * H), {"Ld_source": "from --H (c = sqrt(g H))", "H_source": "flag"}
        elif Ld is not None:
            c, src = wave_speed(lat0, Ld), {"Ld_source": "flag", "H_source": "from --Ld (c^2 / g)"}
        else:
            c = C1
            src = {"Ld_source": LATITUDE_SOURCE, "H_source": f"c1^2 / g (c1 = {C1:g} m/s, Chelton et al. 1998)"}
        phys = {"Ld_m": rossby_radius(lat0, c) if Ld is None else Ld, "g_m_per_s2": g, "Ld_source": src["Ld_source"]}
        if kind == "qg1.5":
            return phys
        return {**phys, "H_m": c**2 / g if H is None else H, "H_source": src["H_source"]}
    # x/y: the flag, else the attribute, else the default
    h_src = ld_src = "flag"
    if H is None and Ld is None:
        H = attribute_number(attrs, "H_m", "--H", positive=True) if kind == "sw" else None
        h_src = "attribute H_m"
        if H is None:
            Ld = attribute_number(attrs, "Ld_m", "--Ld", positive=True)
            ld_src = "default" if Ld is None else "attribute Ld_m"
            Ld = DEFAULT_LD if Ld is None else Ld
    if kind == "qg1.5":
        return {"Ld_m": Ld, "g_m_per_s2": g, "Ld_source": ld_src}
    f0 = abs(grid.f0)
    if not f0 > 0:
        raise UserError("--model sw: the grid has f0 = 0; give --f0 (x/y grids) -- the depth comes from Ld f0")
    if H is not None:
        return {"Ld_m": math.sqrt(g * H) / f0, "H_m": H, "g_m_per_s2": g,
                "Ld_source": f"sqrt(g H) / f0 (H: {h_src})", "H_source": h_src}
    return {"Ld_m": Ld, "H_m": (f0 * Ld) ** 2 / g, "g_m_per_s2": g, "Ld_source": ld_src,
            "H_source": f"(f0 Ld)^2 / g (Ld: {ld_src})"}


def build_physics(kind: str, grid: Any, phys: Dict[str, float]) -> Any:
    """The model of ``kind`` on ``grid`` with ``phys`` (:func:`physical_parameters`)."""
    from physics.qg import QG
    from physics.shallow_water import ShallowWater

    if kind == "qg1.5":
        return QG(grid, Ld=phys["Ld_m"])
    return ShallowWater(grid, g=phys["g_m_per_s2"], H=phys["H_m"])


def kind_of(model: Any) -> str:
    """``"qg1.5"`` or ``"sw"`` of a model instance."""
    from physics.qg import QG

    return "qg1.5" if isinstance(model, QG) else "sw"


def max_step(model: Any, method: str) -> float:
    """The longest model step [s] used (module docstring: Time steps)."""
    from physics.qg import QG
    from physics.stepping import courant_limit

    if isinstance(model, QG):
        return 0.5 * courant_limit(method) * min(model.grid.dx, model.grid.dy) / U_MAX
    return 0.5 * model.dt_max(method=method)


def steps_in(span: float, dt_max: float) -> int:
    """The fewest steps of at most ``dt_max`` covering ``span`` [s] (>= 1)."""
    return max(1, math.ceil(span / dt_max - 1e-9))


def window_param(params: Dict[str, Any], default: float = DEFAULT_WINDOW) -> float:
    """``--param window=SECONDS`` of ``params`` as a float (``default`` when absent); ``UserError``
    naming ``--param window`` for a value that is not a finite number > 0."""
    from hybridocean.cli import UserError

    if "window" not in params:
        return float(default)
    raw = params["window"]
    value = finite_number(raw, positive=True)
    if value is None:
        raise UserError(f"--param window: the 4D-Var window must be a finite number of seconds > 0, got {raw!r}")
    return value


def fourdvar_arguments(model: Any, times_s: np.ndarray, obs: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """Keyword arguments of :class:`~.fourdvar_windows.FourDVar` for ``model`` on output times
    ``times_s`` [s]: ``window`` = the output span (at least one hour, at most 10 days), ``dt`` the
    longest stable step dividing it, ``obs_error`` :data:`DEFAULT_OBS_ERROR` when some
    observation has no error std; ``params`` (``--param``) override any of them (``UserError``
    naming ``--param window`` for a window that is not a number of seconds > 0)."""
    span = float(times_s[-1] - times_s[0]) if len(times_s) > 1 else 0.0
    window = window_param(params, min(DEFAULT_WINDOW, max(span, 3600.0)))
    stepping = params.get("stepping", "ab3")
    kw: Dict[str, Any] = {"window": window, "stepping": stepping}
    if "dt" not in params and window > 0:
        kw["dt"] = window / steps_in(window, max_step(model, stepping))
    err = np.asarray(obs.error_std, dtype=np.float64)
    if "obs_error" not in params and not bool((err > 0).all()):
        kw["obs_error"] = DEFAULT_OBS_ERROR
    kw.update(params)
    kw["window"] = window
    return kw


BOUNDARIES = ("open", "closed")


def uses_regional(method: str, kind: str, grid: Any, boundary: Optional[str]) -> bool:
    """Does ``4dvar`` take the regional path (:class:`~.fourdvar_regional.RegionalFourDVar`: open
    boundaries and background from the OI)? Default yes for ``qg1.5`` on a lon/lat (sphere) grid
    -- a box cut from the ocean -- else no; ``--boundary`` forces it (``UserError`` where it cannot)."""
    from hybridocean.cli import UserError

    possible = method == "4dvar" and kind == "qg1.5" and getattr(grid, "metric", None) == "sphere"
    if boundary is None:
        return possible
    if method != "4dvar":
        raise UserError(f"--boundary: applies to --method 4dvar only (got --method {method})")
    if boundary == "open" and not possible:
        raise UserError("--boundary open: needs --model qg1.5 on a lon/lat input (sphere grid); "
                        f"got --model {kind} on a {getattr(grid, 'metric', '?')} grid")
    return boundary == "open"


def regional_fourdvar(mi: Dict[str, Any], kw: Dict[str, Any], variable: Optional[str] = None) -> Any:
    """:class:`~.fourdvar_regional.RegionalFourDVar` of the model inputs ``mi`` (:func:`.cli.model_inputs`)
    with the FourDVar keywords ``kw`` (``--param``; ``oi`` a dict of OptimalInterpolation
    arguments): ``Ld`` of :func:`physical_parameters`; land = the cells of a gridded ``--obs`` on the output grid
    that are NaN at every time, in patches of >= 16 cells (none for points)."""
    from .fourdvar_regional import RegionalFourDVar, land_from_gridded

    grid, obs = mi["model_grid"], mi["obs"]
    mask = None
    if hasattr(obs, "dims") and hasattr(obs, "data_vars"):
        ocean = land_from_gridded(obs, variable)
        mask = ocean if ocean is not None and ocean.shape == (grid.ny, grid.nx) else None
    kw = dict(kw)
    kw.setdefault("mask", mask)
    return RegionalFourDVar(g=mi["g"], Ld=mi["phys"]["Ld_m"], **kw)


def _seed(text: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return v


def add_model_options(p: Any, checkpoint: bool = True) -> None:
    """``--model``, ``--H``, ``--Ld``, ``--iterations``, ``--seed`` (and ``--checkpoint``) of ``p``."""
    from hybridocean.cli import positive_int

    p.add_argument("--model", choices=MODELS, default=None,
                   help="model of 4dvar / learned methods: qg1.5 (1.5-layer QG, default) or sw (shallow water)")
    p.add_argument("--Ld", type=positive_float, default=None,
                   help=f"deformation radius [m] (default: lon/lat grids c1/|f| at the central latitude, "
                        f"c1 = {C1:g} m/s, sqrt(c1/(2 beta)) within {EQUATORIAL_BAND:g} degrees of the equator "
                        f"(Chelton et al. 1998); x/y grids the file's attribute Ld_m, else {DEFAULT_LD:g})")
    p.add_argument("--H", type=positive_float, default=None,
                   help="sw only: resting depth [m] (default: x/y grids the file's attribute H_m, else the "
                        "equivalent depth (f0 Ld)^2 / g; lon/lat grids c1^2/g)")
    p.add_argument("--iterations", type=positive_int, default=None,
                   help="learned training iterations (default 40, a small demonstration)")
    p.add_argument("--seed", type=_seed, default=0, help="learned: network initialisation and held-out draw (default 0)")
    if checkpoint:
        p.add_argument("--checkpoint", default=None, help="learned methods: a trained estimator (train-estimator)")


def check_model_options(args: Any) -> None:
    """``UserError`` naming the option given with a method that does not take it."""
    from hybridocean.cli import UserError

    method = args.method
    if method not in MODEL_METHODS:
        for opt in ("model", "Ld", "H", "iterations", "checkpoint", "boundary"):
            if getattr(args, opt, None) is not None:
                raise UserError(f"--{opt}: applies to --method {', '.join(MODEL_METHODS)} only (got --method {method})")
        return
    ckpt = getattr(args, "checkpoint", None)
    if ckpt is not None and method not in LEARNED_METHODS:
        raise UserError(f"--checkpoint: applies to --method {' or '.join(LEARNED_METHODS)} only (got --method {method})")
    if args.iterations is not None and (method not in LEARNED_METHODS or ckpt is not None):
        why = "the learned training length; 4dvar takes --param max_iter=N" if method not in LEARNED_METHODS \
            else "the estimator of --checkpoint is already trained"
        raise UserError(f"--iterations: {why}")


__all__ = ["add_model_options", "check_model_options", "MODELS", "MODEL_METHODS", "LEARNED_METHODS", "DEFAULT_LD",
           "DEFAULT_OBS_ERROR", "C1", "EQUATORIAL_BAND", "model_grid", "rossby_radius", "wave_speed", "central_latitude",
           "depth_to_radius", "physical_parameters", "build_physics", "kind_of", "max_step", "steps_in", "window_param",
           "fourdvar_arguments", "BOUNDARIES", "uses_regional", "regional_fourdvar"]
