"""``hybridocean estimate`` and ``hybridocean evaluate``: map SSH and currents from observations,
and score an estimate against a gridded truth.

::

    hybridocean estimate --obs OBS.nc --method {geostrophic,cyclogeostrophic,oi,4dvar,learned,learned+4dvar} \\
        --out EST.nc [--grid FILE | --bbox LON0 LON1 LAT0 LAT1 --resolution DEG] \\
        [--start T --end T --step-hours H] [--f0 F --beta B --y0 Y] [--g G] [--param NAME=VALUE ...] \\
        [--staggered] [--model {qg1.5,sw}] [--Ld LD | --H H] [--checkpoint CKPT] [--iterations N] [--seed S]
    hybridocean evaluate --estimate EST.nc --truth TRUTH.nc [--holdout TRACKS.nc] [--obs OBS.nc] --out DIR

``estimate`` reads ``--obs``: an :class:`~hybridocean.observations.Observations` file (one
dimension ``obs``) or gridded SSH (NaN where unobserved; ``(time, latitude, longitude)`` in
degrees or ``(time, y, x)`` in metres; one or many times) read by
:func:`~hybridocean.observations.read_l4`. The output grid is the input's (gridded input),
``--grid FILE`` (the grid -- and, if it has any, the times -- of another gridded file), or
``--bbox`` + ``--resolution`` (a lon/lat grid of cell centres ``lon0 + (i + 1/2) res``). Output
times: the input's (gridded) or ``--grid``'s times; for a point cloud without them, or when
``--start``/``--end`` is given, every ``--step-hours`` (default 24) from ``--start`` (default the
first observation, rounded to a whole step since 2000-01-01: daily maps at 00:00) to
``--end`` (default the last observation, rounded likewise). Times farther outside the observations'
span than the method allows (:meth:`~hybridocean.estimation.base.Estimator.time_margin`) are
an error naming the option they came from.
On x/y grids, ``f0`` [1/s], ``beta`` [1/(m s)] and ``y0`` [m] (the ``y`` where ``f = f0``,
default ``Ly / 2``; ``f = f0 + beta (y - y0)``) come from ``--f0``/``--beta``/``--y0``, else
from the file's global attributes ``f0_per_s``, ``beta_per_m_per_s``, ``y0_m``; gravity ``g``
[m/s^2] from ``--g``, else the attribute ``g_m_per_s2`` (or ``g``), else 9.81. A flag given
for a lon/lat grid is an error (there ``f = 2 Omega sin(lat)``). ``--param NAME=VALUE`` passes
any other constructor argument of the estimator (values parsed as JSON, else kept as text).
The estimate (:func:`~hybridocean.estimation.base.estimate_dataset` layout) is written
atomically; its attributes record ``y0_m``, ``g_m_per_s2`` and the input file.

Model-based methods (:mod:`.cli_models`: models, physical parameters, grids, time steps):
``4dvar`` (:class:`~.fourdvar_windows.FourDVar` with ``--model qg1.5`` -- the default -- or
``sw``; on lon/lat inputs ``qg1.5`` runs the regional 4D-Var with open boundaries and background
from the OI, :class:`~.fourdvar_regional.RegionalFourDVar`, unless ``--boundary closed``; windows of the output span up to 10 days; ``--param`` any FourDVar argument, e.g.
``max_iter=30``, ``sigma_b=0.1``, ``length_b=1e5``, ``window=172800``); ``learned``
(:class:`~.learned.LearnedEstimator`: with ``--checkpoint CKPT`` from ``hybridocean
train-estimator``, else trained first on the observed values of ``--obs`` itself, ``--iterations``
and ``--seed``, :mod:`.cli_train`; output times every training frame); ``learned+4dvar``
(:class:`~.learned_fourdvar.LearnedFourDVar`: the learned SSH at each window start is that
window's background and first guess; ``--param`` goes to the 4D-Var). Deformation radius
``Ld`` and (``sw``) depth ``H``: ``--Ld``/``--H``; else on lon/lat grids a latitude-only estimate
of the first baroclinic Rossby radius at the grid's central latitude (``c1 / |f|``, or
``sqrt(c1 / (2 beta))`` within 5 degrees of the equator, ``c1 = 2.5`` m/s: Chelton et al. 1998),
on x/y grids the file's global attributes ``Ld_m`` / ``H_m``, else 30 km
(:func:`.cli_models.physical_parameters`). 4D-Var on points leaves out, with a note giving their
number, the observations within half a cell of a closed grid's walls (outside the bilinear
interpolation between cell centres, :meth:`~.fourdvar_windows.FourDVar.usable_observations`).
Their attributes add ``model``, ``model_grid`` (``beta_plane ...`` where a lon/lat input runs on
its tangent plane), ``Ld_m`` (and ``H_m``) with ``Ld_source`` (and ``H_source``: ``"flag"``,
``"attribute Ld_m"``, ``"latitude (Chelton et al. 1998)"``, ``"default"``, ``"checkpoint"``, or
the relation it was derived by), and for learned methods ``learned_validation`` (a held-out
platform, or held-out blocks of passes: :func:`.cli_train.split_validation`) and the checkpoint
or training length.

``evaluate`` scores the estimate with :func:`~hybridocean.estimation.evaluation.evaluate_estimate`
(RMSE, ``mu``, ``sigma_t``, PSD ``lambda_x``/``lambda_t``, ``tau_uv``, vorticity and strain
scores; along-track scores on ``--holdout``), prints the JSON and writes ``DIR/metrics.json``
and the figures of :mod:`hybridocean.estimation.figures` (``ssh_maps.png`` with the
observations of ``--obs`` -- default the estimate's ``obs_file`` attribute when that file
exists -- drawn over them, ``currents.png``, ``errors.png``, ``psd_score.png``). A lon/lat
truth is cropped to the estimate's box and taken at its times; it must then be on the same
grid and include every estimate time.

Bad input -- no observed value at all, output times outside the observations, truth and
estimate on different grids or times, an output path that cannot be written, unreadable
files, ``--model``/``--checkpoint``/``--iterations``/``--H``/``--Ld`` with a method that does not
take them or out of range, a global attribute (``f0_per_s``, ``g_m_per_s2``, ``Ld_m``, ``H_m``,
...) that is not a number, a checkpoint that is missing, not one, or for another grid, model or
frame spacing -- is a one-line ``hybridocean: error:`` naming the option, exit status 2
(:func:`hybridocean.cli.main`). Registered in :data:`hybridocean.cli.SUBCOMMANDS` as
``hybridocean.estimation.cli:Estimate``, ``hybridocean.estimation.cli_train:TrainEstimator``
(:mod:`.cli_train`) and ``hybridocean.estimation.cli_evaluate:Evaluate`` (:mod:`.cli_evaluate`).
Input helpers: :mod:`.cli_inputs`.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import re
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

from .cli_inputs import (DEFAULT_G, G_ATTRS, XY_ATTRS, _finite_float, _open, _param, command_line,  # noqa: F401
                         notes, output_grid, output_times, override, read_obs, threads)
from .cli_models import BOUNDARIES, LEARNED_METHODS, MODEL_METHODS, add_model_options, check_model_options

#: method name -> module defining its Estimator subclass (the class whose ``method`` equals the name).
METHODS: Dict[str, str] = {
    "geostrophic": "hybridocean.estimation.geostrophic",
    "cyclogeostrophic": "hybridocean.estimation.cyclogeostrophic",
    "oi": "hybridocean.estimation.oi",
    "4dvar": "hybridocean.estimation.fourdvar_windows",
    "learned": "hybridocean.estimation.learned",
    "learned+4dvar": "hybridocean.estimation.learned_fourdvar",
}


def estimator_class(method: str) -> type:
    """The :class:`~hybridocean.estimation.base.Estimator` subclass of ``method`` (see :data:`METHODS`)."""
    from .base import Estimator

    if method not in METHODS:
        raise ValueError(f"--method must be one of {sorted(METHODS)}, got {method!r}")
    try:
        module = importlib.import_module(METHODS[method])
    except ImportError as e:
        raise ValueError(f"--method {method}: not available ({e})") from None
    found = [c for c in vars(module).values()
             if inspect.isclass(c) and issubclass(c, Estimator) and getattr(c, "method", None) == method]
    if not found:
        raise ValueError(f"--method {method}: {METHODS[method]} defines no Estimator with method = {method!r}")
    return found[0]


def _accepted(cls: type) -> List[str]:
    """Constructor argument names of ``cls`` (following ``**kwargs`` to its bases)."""
    names: List[str] = []
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        sig = inspect.signature(init)
        names += [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in
                  (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return names


def build_estimator(method: str, params: Dict[str, Any], g: Optional[float]) -> Any:
    """Construct the estimator of ``method`` with ``params`` (``--param``) and ``g`` (if set).

    ``UserError`` naming ``--param`` for a name the estimator does not take or a value it rejects.
    """
    from hybridocean.cli import UserError

    cls = estimator_class(method)
    accepted = _accepted(cls)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise UserError(f"--param {unknown[0]}: {method} takes no such parameter (it takes {', '.join(accepted)})")
    kwargs = dict(params)
    if g is not None:
        if "g" not in accepted:
            raise UserError(f"--g: the {method} estimator has no gravity parameter")
        kwargs.setdefault("g", g)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        from hybridocean.cli import one_line

        raise UserError(f"--param ({method}): {one_line(e)}") from None


def add_input_options(p: argparse.ArgumentParser) -> None:
    """The input/grid/time/Coriolis/gravity options shared by ``estimate`` and ``train-estimator``."""
    p.add_argument("--variable", default=None, help="SSH variable of a gridded --obs (default: recognised)")
    p.add_argument("--grid", default=None, help="gridded file whose grid (and times, if any) the estimate uses")
    p.add_argument("--bbox", nargs=4, type=_finite_float, default=None, metavar=("LON0", "LON1", "LAT0", "LAT1"),
                   help="lon/lat output box [degrees] (with --resolution)")
    p.add_argument("--resolution", type=_finite_float, default=None, help="cell size of the --bbox grid [degrees]")
    p.add_argument("--start", default=None, help="first output time (default: the first observation)")
    p.add_argument("--end", default=None, help="last output time at most (default: the last observation)")
    p.add_argument("--step-hours", type=_finite_float, default=24.0, help="output time step [h] (default 24)")
    p.add_argument("--f0", type=_finite_float, default=None, help="x/y grids: Coriolis parameter at y0 [1/s] (required unless the --obs file has f0_per_s)")
    p.add_argument("--beta", type=_finite_float, default=None, help="x/y grids: df/dy [1/(m s)]")
    p.add_argument("--y0", type=_finite_float, default=None, help="x/y grids: y where f = f0 [m] (default Ly/2)")
    p.add_argument("--g", type=_finite_float, default=None, help="gravity [m/s^2] (default: file attribute, else 9.81)")
    p.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                   help="another estimator argument (repeatable), e.g. --param window=172800")
    p.add_argument("--threads", type=threads, default=1, help="torch CPU threads (default 1)")


def _gravity(args: argparse.Namespace, attrs: Dict[str, Any]) -> Optional[float]:
    from hybridocean.cli import UserError

    if args.step_hours <= 0:
        raise UserError(f"--step-hours must be > 0, got {args.step_hours:g}")
    g = override("--g", args.g, attrs, G_ATTRS)
    if g is not None and not g > 0:
        raise UserError(f"--g must be > 0 (m/s^2), got {g:g}")
    return g


def model_inputs(args: argparse.Namespace) -> Dict[str, Any]:
    """Read ``--obs`` and everything a model-based method needs: ``obs``, ``attrs``, ``g``, the
    output ``grid`` and ``times``, the ``model_grid`` (:func:`.cli_models.model_grid`), ``points``
    (the finite observations), ``kind`` (``--model``, default ``qg1.5``; for a ``--checkpoint``
    the checkpoint's), ``phys`` and ``physics`` (the model), ``params`` (``--param``)."""
    import torch

    from hybridocean.cli import UserError, one_line

    from .base import prepare_inputs
    from .cli_models import build_physics, model_grid, physical_parameters, window_param
    from .cli_train import checkpoint_model

    check_model_options(args)
    torch.set_num_threads(args.threads)
    params = dict(args.param)
    obs, attrs = read_obs(args.obs, args.variable)
    g = _gravity(args, attrs)
    g = DEFAULT_G if g is None else g
    grid, times, source = output_grid(obs, attrs, args)
    margin = window_param(params) if args.method == "4dvar" else 0.0  # UserError naming --param window
    times = output_times(obs, times, source, args, margin)
    ckpt = getattr(args, "checkpoint", None)
    try:
        mgrid, described = model_grid(grid, args.model or ("qg1.5" if ckpt is None else checkpoint_model(ckpt)))
    except ValueError as e:
        raise UserError(f"--obs/--grid/--bbox: the models cannot run on this grid ({one_line(e)})") from None
    try:
        points = prepare_inputs(obs, mgrid, times, time_margin_s=margin, variable=args.variable).obs
    except ValueError as e:
        raise UserError(f"--obs {args.obs!r}: {one_line(e)}") from None
    out = {"obs": obs, "attrs": attrs, "g": g, "grid": grid, "times": times, "model_grid": mgrid,
           "model_grid_kind": described, "points": points, "params": params}
    if ckpt is not None:
        return out  # the model comes from the checkpoint (Estimate._model_estimator)
    kind = args.model or "qg1.5"
    phys = physical_parameters(kind, mgrid, g, args.H, args.Ld, attrs)  # Ld/H: flags, latitude, attributes
    return {**out, "kind": kind, "phys": phys, "physics": build_physics(kind, mgrid, phys)}


class Estimate:
    """``hybridocean estimate`` (module docstring)."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``estimate`` and its options."""
        p = subparsers.add_parser("estimate", help="estimate SSH and surface currents from observations",
                                  description="Estimate SSH and surface currents on a grid from observed SSH "
                                              "(points or a gappy map) and write them as CF netCDF.")
        p.add_argument("--obs", required=True, help="Observations netCDF (dim 'obs') or gridded SSH with NaN gaps")
        p.add_argument("--method", required=True, choices=sorted(METHODS), help="estimation method")
        p.add_argument("--out", required=True, help="output estimate netCDF (written atomically)")
        add_input_options(p)
        p.add_argument("--staggered", action="store_true", help="also write the C-grid velocities u_c, v_c")
        add_model_options(p, checkpoint=True)
        p.add_argument("--boundary", choices=BOUNDARIES, default=None,
                       help="4dvar: open (regional: boundary and background from the OI; the default for qg1.5 "
                            "on lon/lat inputs) or closed (walls; the default elsewhere)")
        return p

    @staticmethod
    def _model_estimator(args: argparse.Namespace) -> tuple:
        """``(estimator, model inputs, extra attributes)`` of a model-based method."""
        from hybridocean.cli import UserError, one_line

        from .cli_models import build_physics, fourdvar_arguments, regional_fourdvar, uses_regional
        from .cli_train import DEFAULT_ITERATIONS, checkpoint_model, load_learned, train_learned
        from .learned_io import read_metadata

        def checkpoint_meta_g(path: str) -> float:  # g of the saved QG state map (9.81 before it was stored)
            try:
                return float(read_metadata(Path(path).expanduser())["args"].get("g", 9.81))
            except (OSError, ValueError, KeyError, TypeError):
                return 9.81  # an unreadable checkpoint is reported by load_learned below
        from .output import as_times
        from hybridocean.observations.core import seconds_since

        mi = model_inputs(args)
        attrs: Dict[str, Any] = {"model_grid": mi["model_grid_kind"]}
        regional = uses_regional(args.method, mi.get("kind", args.model or "qg1.5"), mi["model_grid"],
                                 getattr(args, "boundary", None))
        learned = None
        if args.method in LEARNED_METHODS:
            kind = args.model or ("qg1.5" if args.checkpoint is None else checkpoint_model(args.checkpoint))
            if kind == "qg1.5" and args.checkpoint is not None:
                # the QG state map's psi = g eta / f0 uses the estimator's own g (LearnedEstimator(g=...)):
                # a checkpoint's stored g must be --g (training here takes --g: train_learned(g=...))
                g_used = checkpoint_meta_g(args.checkpoint)
                if abs(mi["g"] - g_used) > 1e-12 * g_used:
                    raise UserError(f"--g {mi['g']:g}: the learned estimator's QG state uses g = {g_used:g} m/s^2 "
                                    f"(the checkpoint); give --g {g_used:g} (or --model sw, whose model takes g)")
            if args.checkpoint is not None:
                if args.method == "learned" and mi["params"]:
                    raise UserError(f"--param {next(iter(mi['params']))}: the learned estimator's parameters are "
                                    "fixed by --checkpoint (train another with train-estimator --param ...)")
                learned, got = load_learned(args.checkpoint, mi["model_grid"], mi["times"], args.model,
                                            {"H": args.H, "Ld": args.Ld}, mi["g"])
                mi.update(kind=got["kind"], phys=got["phys"], physics=build_physics(got["kind"], mi["model_grid"], got["phys"]))
                attrs.update(got["info"])
            else:
                args.iterations = DEFAULT_ITERATIONS if args.iterations is None else args.iterations
                lparams = mi["params"] if args.method == "learned" else {}
                learned, info = train_learned(mi["points"], mi["model_grid"], mi["times"], mi["physics"], args, lparams,
                                              g=mi["g"])
                attrs.update(info)
                if args.method == "learned+4dvar":  # its own model instance for the 4D-Var
                    mi["physics"] = build_physics(mi["kind"], mi["model_grid"], mi["phys"])
        attrs.update({"model": mi["kind"], **{k: v for k, v in mi["phys"].items() if k != "g_m_per_s2"}})
        if args.method == "learned":
            return learned, mi, attrs
        ts = seconds_since(as_times(mi["times"]), "2000-01-01")
        try:
            kw = fourdvar_arguments(mi["physics"], ts, mi["points"], mi["params"])
            if regional:
                est = regional_fourdvar(mi, kw, args.variable)
                attrs["boundary"] = "open (OI)"
            elif args.method == "4dvar":
                from .fourdvar_windows import FourDVar

                est = FourDVar(mi["physics"], g=mi["g"], **kw)
            else:
                from .learned_fourdvar import LearnedFourDVar

                est = LearnedFourDVar(learned, mi["physics"], g=mi["g"], **kw)
        except (ValueError, TypeError) as e:
            bad = re.search(r"unexpected keyword argument '(\w+)'", str(e))
            if bad:
                raise UserError(f"--param {bad.group(1)}: {args.method} takes no such parameter") from None
            raise UserError(f"--param ({args.method}): {one_line(e)}") from None
        return est, mi, attrs

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Read, estimate, write; prints a one-paragraph summary. Returns 0."""
        from hybridocean.cli import UserError, one_line, output_file
        from hybridocean.observations import Observations

        out = output_file(args.out, inputs={"--obs": args.obs, "--checkpoint": getattr(args, "checkpoint", None),
                                            "--grid": getattr(args, "grid", None)})
        if args.method in MODEL_METHODS:
            est, mi, extra = Estimate._model_estimator(args)
            obs, grid, times, src = mi["points"], mi["model_grid"], mi["times"], mi["obs"]
        else:
            check_model_options(args)
            import torch

            torch.set_num_threads(args.threads)
            obs, attrs = read_obs(args.obs, args.variable)
            est = build_estimator(args.method, dict(args.param), _gravity(args, attrs))
            grid, times, source = output_grid(obs, attrs, args)
            times = output_times(obs, times, source, args, est.time_margin())
            src, extra = obs, {}
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = est.estimate(obs, grid, times, staggered=args.staggered, variable=args.variable)
            except ValueError as e:
                if args.method not in MODEL_METHODS:
                    raise
                raise UserError(f"--obs {args.obs!r} ({args.method}): {one_line(e)}") from None
        wall = time.perf_counter() - t0
        notes([w for w in caught if issubclass(w.category, UserWarning)])
        kind = "points" if isinstance(src, Observations) else "map"
        ds.attrs.update({"g_m_per_s2": float(getattr(est, "g", DEFAULT_G)), **extra, "input": kind,
                         "obs_file": str(Path(args.obs).expanduser().resolve()), "wall_time_s": round(wall, 4),
                         "history": ds.attrs.get("history", "") + "\n" + command_line(args)})
        from .output import write_estimate

        write_estimate(ds, out)
        trained = f" (after {extra['learned_train_s']:.1f} s of training)" if "learned_train_s" in extra else ""
        print(f"{args.method}: {ds.attrs.get('n_observations')} observed values ({kind}) -> {ds.sizes['time']} time(s) "
              f"on a {grid.ny} x {grid.nx} grid in {wall:.2f} s{trained}; wrote {out}")
        return 0


__all__ = ["Estimate", "METHODS", "estimator_class", "build_estimator", "read_obs", "add_input_options", "model_inputs"]
