"""The mission, end to end: ``hybridocean demo`` (and ``make demo``).

A twin experiment on a small ocean whose truth is known but hidden from every estimator:

1. **Truth** (:func:`hybridocean.estimation.twins.shallow_water_twin`): nonlinear shallow water
   on a closed beta-plane basin (:data:`FULL`: 48 x 48 cells of 10 km, first baroclinic mode,
   ``Ld`` = 31 km) spun up 10 days from random balanced eddies; 20 days of 6-hourly SSH, ``u``,
   ``v``. Written to ``truth.nc``.
2. **Observations** (:class:`hybridocean.observations.Constellation`): SWOT (KaRIn swaths with
   the swot-simulator KaRIn noise table, nadir gap, and its nadir altimeter) and the nadir
   altimeters Jason-3, Sentinel-3A and Sentinel-3B (1 cm white noise) sample the truth's SSH,
   the basin placed at 43.3 N; their gaps are the orbits' (SWOT's 21-day orbit sees the box on
   days 0-5, 10-15, 20-25). SARAL's track is **held out** (never given to an estimator; used
   for model selection and scored along track). Written to ``observations.nc``.
3. **Estimators**, all from the observed SSH only (binned on the grid in 6-hour bins):

   * ``oi``: space-time Gaussian optimal interpolation (:class:`~hybridocean.estimation.oi.
     OptimalInterpolation`, the data challenges' baseline) of 20-km super-observations, its
     correlation length chosen among (20, 30, 50, 80) km by the held-out track's misfit, ``Lt`` = 3
     days; currents: the geostrophy of the OI map.
   * ``geostrophic``: geostrophy of the day's binned observations filled harmonically
     (:class:`~hybridocean.estimation.geostrophic.Geostrophic`): the no-statistics floor.
   * ``learned``: the learned estimator (:class:`~hybridocean.estimation.learned.LearnedEstimator`,
     Ayed et al. 2019 with APHYNITY dynamics, the shallow-water model as ``F_p`` -- the truth's own
     model, grid and parameters: an identical twin, hence optimistic for the learned estimator;
     the benchmark's QG and real-SSH truths test an imperfect ``F_p``): an encoder
     maps a window of observation frames to the full state ``(eta, u, v)``; trained a few
     minutes so that the dynamics forecast the *observed* SSH; the model kept is the one with
     the lowest held-out-track misfit; currents: the state's own velocities (not geostrophy).

4. **Scores** (:func:`hybridocean.estimation.evaluation.evaluate_estimate`) on the daily maps,
   against the truth's *own* currents (``truth_currents_from="file"``): ``mu`` (SSH, 2020a
   challenge), ``lambda_x`` [km] (isotropic PSD score), ``tau_uv`` and the vorticity score
   [%]; the along-track scores on the held-out track (the same track selected the OI length and
   the learned model's iteration, so those two rows' along-track scores are optimistic; the map
   scores against the truth are independent of the selection); wall times. ``metrics.json``, the
   estimates ``estimate.nc`` (learned), ``estimate_oi.nc``, ``estimate_geostrophic.nc`` and the
   figures (:func:`~hybridocean.estimation.figures.evaluation_figures`: ``ssh_maps.png`` with the
   observations drawn, ``currents.png``, ``errors.png``, ``psd_score.png``; the OI ones under
   ``oi/``). The ceiling of any SSH-only method is the geostrophic currents of the exact SSH
   (``tau_uv_ceiling``, :func:`~hybridocean.estimation.twins.twin_diagnostics`), also reported.

``quick=True`` (tests, :data:`QUICK`): a 32 x 32 basin, 6 days after 2 of spin-up, 2 training
iterations -- the same pipeline.

References: Ayed, de Bezenac, Pajot, Brajard & Gallinari 2019, "Learning dynamical systems from
partial observations" (arXiv:1902.11136); Yin, Le Guen, Dona, de Bezenac, Ayed, Thome & Gallinari
2021, "Augmenting physical models with deep networks for complex dynamics forecasting" (ICLR,
APHYNITY); Le Traon, Nadal & Ducet 1998, "An improved mapping method of multisatellite altimeter
data" (J. Atmos. Oceanic Technol. 15, 522-534: the OI of DUACS); the scores of the
ocean-data-challenges ``2020a_SSH_mapping_NATL60`` and ``2021a_SSH_mapping_OSE``
(:mod:`hybridocean.metrics`).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np
import torch
import xarray as xr

import hybridocean

from .observations.superobs import cell_superobs
from .estimation.evaluation import evaluate_estimate
from .estimation.figures import evaluation_figures
from .estimation.geostrophic import Geostrophic
from .estimation.learned import LearnedEstimator, default_config
from .estimation.output import write_estimate
from .estimation.selection import held_rmse, select_oi
from .estimation.twins import shallow_water_twin, twin_diagnostics, twin_grid, twin_model
from .io import save_json, write_netcdf
from .observations import Constellation, Observations
from physics.grid import Grid

DAY = 86400.0
#: The KaRIn noise table shipped with the tests (swot-simulator 1.2.1, tests/data/README.md).
KARIN_TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "karin_noise_v2.nc"
TRAIN_PLATFORMS = "swot,jason3,sentinel3a,sentinel3b"
HELD_OUT_PLATFORM = "saral"


@dataclass(frozen=True)
class MissionConfig:
    """Sizes and budgets of the mission (module docstring); :data:`FULL` and :data:`QUICK`.

    n: basin cells per side (10 km); days: saved record [days]; spinup_days: [days];
    frame_h: frame spacing [hours]; iterations: training iterations of the learned estimator;
    window, lookahead, horizon, hidden, layers: its encoder/forecast sizes (frames, widths; a
    window of 16 six-hour frames spans 4 days, 8 frames after the state time: it does not bridge
    all of SWOT's 5-day gaps, the nadir tracks and the dynamics carry the state across them);
    prior_sigmas: [cells] the encoder's normalised-convolution first guess (a design choice
    made by the developers against the quick twin's truth -- after 2 iterations: mu 0.02 without
    it, 0.18 with it at window 4, 0.54 at 12 -- not selected by the mission, which selects only
    the OI length and the learned model's iteration, on the held-out track);
    validations: held-out evaluations during training (each one encodes and forecasts every
    window: the costliest part of a short training);
    steps_per_frame: RK4 steps per frame in training (CFL: 6 h / 10 = 2160 s, Courant 1.25 at
    4 m/s wave + flow speed, below RK4's sqrt(2)); oi_lengths: the OI correlation lengths
    tried [m]; oi_Lt: [s]; seed: truth and noise.
    """

    n: int
    days: float
    spinup_days: float
    frame_h: float = 6.0
    iterations: int = 60
    window: int = 16
    lookahead: int = 8
    horizon: int = 2
    hidden: int = 16
    layers: int = 2
    steps_per_frame: int = 10
    prior_sigmas: Tuple[float, ...] = (1.5, 3.0, 6.0)
    validations: int = 2
    oi_lengths: Tuple[float, ...] = (2e4, 3e4, 5e4, 8e4)
    oi_Lt: float = 3 * DAY
    seed: int = 0


FULL = MissionConfig(n=48, days=20.0, spinup_days=10.0, iterations=20)
QUICK = MissionConfig(n=32, days=6.0, spinup_days=2.0, iterations=2, window=12, lookahead=6, horizon=2, hidden=8,
                      layers=1, validations=1, oi_lengths=(5e4,))


def observe(truth: xr.Dataset, cfg: MissionConfig) -> Tuple[Observations, Observations, Dict[str, Any]]:
    """``(training observations, held-out track, notes)`` of the truth's SSH (module docstring, 2).

    ``truth``: a :func:`~hybridocean.estimation.twins.shallow_water_twin` Dataset (``ssh`` [m] on
    ``(time, y, x)``); only its ``ssh`` (and the grid attributes) reach the sampler, so no
    velocity can enter an observation. Noise: KaRIn by cross-track distance from the
    swot-simulator table (Gaultier, Ubelmann & Fu 2016, J. Atmos. Oceanic Technol. 33, 119-126,
    "The challenge of using future SWOT data for oceanic field reconstruction"; the
    ``karin_noise_v2.nc`` of swot-simulator 1.2.1, SWH 2 m), white 1 cm on the nadir altimeters
    (a round value chosen for the demo, not a published one); the orbits and their cited
    parameters are those of :mod:`hybridocean.observations.orbits`. Seeds ``cfg.seed`` (training) and
    ``cfg.seed + 1`` (held out). Observations are x/y with lon/lat of the placed box.
    """
    ssh_only = xr.Dataset({"ssh": truth["ssh"]}, attrs=truth.attrs)
    start = str(truth["time"].values[0])
    days = float((truth["time"].values[-1] - truth["time"].values[0]) / np.timedelta64(1, "s")) / DAY + cfg.frame_h / 24
    if KARIN_TABLE.is_file():
        karin = {"karin_noise": str(KARIN_TABLE)}
        note = f"KaRIn noise: swot-simulator table {KARIN_TABLE.name} (SWH 2 m, 2 km pixels)"
    else:  # an installed wheel without the tests folder: the table's mid-swath value, white
        karin = {"karin_noise_std": 0.01}
        note = "KaRIn noise: white 1 cm (the noise table was not found)"
    train = Constellation(TRAIN_PLATFORMS, start=start, days=days, nadir_noise_std=0.01, **karin).sample(ssh_only, seed=cfg.seed)
    held = Constellation(HELD_OUT_PLATFORM, start=start, days=days, nadir_noise_std=0.01).sample(ssh_only, seed=cfg.seed + 1)
    return train, held, {"karin_noise": note, "nadir_noise_std_m": 0.01, "n_train": len(train), "n_held_out": len(held),
                         "train_platforms": train.platforms, "held_out_platform": HELD_OUT_PLATFORM}


def superobs(obs: Observations, grid: Grid, times: np.ndarray, factor: int = 2) -> Observations:
    """Super-observations: ``obs`` averaged in cells ``factor`` times coarser than ``grid`` and in
    the time bins of ``times`` (each point to the nearest time), placed at the coarse cell centres
    and bin times (:func:`~hybridocean.observations.superobs.cell_superobs`, platform
    ``"superobs"``: what keeps the dense OI solve small: ~2000 values per analysis instead of ~3e5
    KaRIn pixels)."""
    return cell_superobs(obs, grid, times, platform="superobs", factor=factor)


def held_out_misfit(est: xr.Dataset, held: Observations) -> float:
    """RMS [m] of the estimate's SSH interpolated at the held-out observations minus their values
    (bilinear in space, linear in time: :func:`~hybridocean.estimation.selection.held_rmse` with
    ``time_match="linear"`` on the estimate's own grid); ``ValueError`` when none falls inside."""
    m = held_rmse(est, held, twin_grid(est), time_match="linear")
    if not math.isfinite(m):
        raise ValueError("held: no held-out observation falls inside the estimate's grid and times")
    return m


def ssh_only_ceiling(truth: xr.Dataset, scored: np.ndarray) -> float:
    """``tau_uv`` [%] of the geostrophic currents of the exact SSH against the truth's own
    currents on the ``scored`` times (datetime64, ``(T,)``): the ceiling of any SSH-only method,
    on the same frames and with the truth's gravity ``twin_g`` [m/s^2], as the table's rows are
    scored (:func:`~hybridocean.estimation.twins.twin_diagnostics`; ``tau_uv`` as
    :func:`hybridocean.metrics.currents.tau_uv` defines it)."""
    return float(twin_diagnostics(truth.sel(time=scored), g=float(truth.attrs["twin_g"]))["tau_uv_ceiling"])


def _row(name: str, ev, train_s: float, estimate_s: float) -> Dict[str, Any]:
    """One score-table row from an :class:`~hybridocean.estimation.evaluation.Evaluation` (strict
    JSON: a ``lambda_x`` of None means no wavelength reaches the 0.5 PSD score, or no spectrum)."""
    s = ev.summary()
    iso = s.get("psd_isotropic", {})
    lam = iso.get("lambda_x_km") if "error" not in iso else None
    return {"method": name, "mu": s["ssh"]["mu"], "lambda_x_km": lam, "tau_uv": s["currents"].get("tau_uv"),
            "tau_vorticity": s["currents"].get("tau_vorticity"), "train_s": round(train_s, 1),
            "estimate_s": round(estimate_s, 1),
            "holdout_rmse_m": s.get("holdout", {}).get("rmse")}


def format_table(rows: list, ceiling: float) -> str:
    """The score table printed by ``hybridocean demo`` (one line per method)."""
    head = f"{'method':<34}{'mu':>7}{'lambda_x km':>13}{'tau_uv %':>10}{'tau_vort %':>12}{'train s':>9}{'estimate s':>12}"
    lines = [head, "-" * len(head)]
    fmt = lambda v, f: ("n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, f))  # noqa: E731
    for r in rows:
        lines.append(f"{r['label']:<34}{fmt(r['mu'], '.3f'):>7}{fmt(r['lambda_x_km'], '.0f'):>13}"
                     f"{fmt(r['tau_uv'], '.1f'):>10}{fmt(r['tau_vorticity'], '.1f'):>12}{fmt(r['train_s'], '.1f'):>9}"
                     f"{fmt(r['estimate_s'], '.1f'):>12}")
    lines.append(f"(ceiling of any SSH-only method: geostrophy of the exact SSH, tau_uv = {ceiling:.1f} %)")
    return "\n".join(lines)


def run_estimators(train: Observations, held: Observations, grid: Grid, times: np.ndarray, scored: np.ndarray,
                   cfg: MissionConfig, physics: Dict[str, float], log: Optional[Callable[[str], None]] = None
                   ) -> Tuple[Dict[str, Tuple[xr.Dataset, float, float]], Dict[str, Any]]:
    """The mission's three estimators (module docstring, 3) from the observations alone.

    This function never receives the truth: ``train`` (the training observations, SSH only),
    ``held`` (the held-out track, used only to select the OI length and the learned model),
    ``grid``, the frame ``times`` (datetime64, ``(T,)``) and the ``scored`` day times, the sizes
    ``cfg`` and the learned model's physical prior ``physics`` (``g`` [m/s^2], ``H`` [m],
    ``viscosity`` [m^2/s]). Returns ``({"oi"|"geostrophic"|"learned": (estimate Dataset on
    ``scored``, train seconds, estimate seconds)}, {"oi_selected_L_m", "learned_history"})``.
    """
    say = log or (lambda s: None)
    frame_s = cfg.frame_h * 3600.0
    # --- OI (+ geostrophy of the OI map); correlation length chosen on the held-out track
    t0 = time.perf_counter()
    sob = superobs(train, grid, times)
    best, _, oi_est = select_oi(sob, held, grid, scored, cfg.oi_lengths, (cfg.oi_Lt,), noises=(0.01,), signal_std=0.1,
                                misfit=lambda e: held_out_misfit(e, held),
                                log=lambda r: say(f"  OI L = {r['Lx'] / 1e3:.0f} km: held-out RMS misfit "
                                                  f"{100 * r['held_rmse_m']:.2f} cm"))
    oi_s = time.perf_counter() - t0
    oi_est = oi_est.assign_attrs(selected_by="held-out track misfit", selected_L_m=best["Lx"])

    # --- geostrophy of the day's binned observations (harmonic fill)
    t0 = time.perf_counter()
    geo_est = Geostrophic(window=DAY).estimate(train, grid, scored)
    geo_s = time.perf_counter() - t0

    # --- learned estimator, trained on the observations only; model kept by held-out misfit
    model = twin_model(grid, g=physics["g"], H=physics["H"], viscosity=physics["viscosity"])
    est = LearnedEstimator(model, window=cfg.window, horizon=cfg.horizon, lookahead=cfg.lookahead, hidden=cfg.hidden,
                           layers=cfg.layers, seed=cfg.seed, prior_sigmas=list(cfg.prior_sigmas))
    config = default_config(frame_s, steps_per_frame=cfg.steps_per_frame, iterations=cfg.iterations,
                            validate_every=max(1, cfg.iterations // cfg.validations), progress=False, batch_size=4)
    t0 = time.perf_counter()
    est.fit(train, grid, times, val_obs=held, config=config)
    learn_train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    t_obs = train.ds["time"].values
    inside = times[(times >= t_obs.min()) & (times <= t_obs.max())]  # the estimator does not extrapolate in time
    learned = est.estimate(train, grid, inside).sel(time=scored)
    learn_est_s = time.perf_counter() - t0
    say(f"learned: {cfg.iterations} iterations in {learn_train_s:.0f} s, held-out misfit "
        f"{[round(x, 3) for x in est.history.val_mse]}")
    info = {"oi_selected_L_m": best["Lx"],
            "learned_history": {"val_mse": est.history.val_mse,
                                "best_iteration": getattr(est.history, "best_iteration", None)}}
    return {"oi": (oi_est, 0.0, oi_s), "geostrophic": (geo_est, 0.0, geo_s),
            "learned": (learned, learn_train_s, learn_est_s)}, info


def run_mission(out: Union[str, Path], device: Union[str, torch.device] = "cpu", quick: bool = False,
                log: Optional[Callable[[str], None]] = print) -> Dict[str, Any]:
    """Run the mission into folder ``out`` (module docstring); returns the ``metrics.json`` dict.

    ``device``: the CPU only (the whole mission runs there in float64; any other device raises
    ``ValueError`` naming ``device`` rather than being silently ignored). ``log``: progress lines
    (``None``: silent). The OI's ``estimate s`` includes its correlation-length selection.
    """
    if torch.device(device).type != "cpu":
        raise ValueError(f"device: the mission runs on the CPU only (float64 truth, OI and training), got {str(device)!r}")
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be a bool, got {type(quick).__name__}")
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a folder path (str or Path), got {type(out).__name__}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} exists and is not a folder")
    say = log or (lambda s: None)
    out.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if quick else FULL
    wall0 = time.perf_counter()
    frame_s = cfg.frame_h * 3600.0

    t0 = time.perf_counter()
    truth = shallow_water_twin(n=cfg.n, days=cfg.days, spinup_days=cfg.spinup_days, frame_s=frame_s, seed=cfg.seed)
    truth_s = time.perf_counter() - t0
    write_netcdf(truth, out / "truth.nc")
    diag = twin_diagnostics(truth, g=float(truth.attrs["twin_g"]))  # all frames: the truth's description
    say(f"truth: {cfg.n}x{cfg.n} shallow water, Ro = {truth.attrs['twin_rossby_number']:.2f}, ageostrophic KE "
        f"{100 * diag['ageostrophic_ke_share']:.1f} %, {truth_s:.0f} s")

    train, held, obs_notes = observe(truth, cfg)
    Observations.concat([train, held]).to_netcdf(out / "observations.nc")
    say(f"observations: {len(train)} training ({', '.join(train.platforms)}), {len(held)} held out ({HELD_OUT_PLATFORM})")

    grid = twin_grid(truth)
    times = np.asarray(truth["time"].values)
    daily = times[:: int(round(24 / cfg.frame_h))]
    scored = daily[1:-1]  # not the first and last days: every estimator's window is one-sided there
    physics = {"g": truth.attrs["twin_g"], "H": truth.attrs["twin_H_m"],
               "viscosity": truth.attrs["twin_viscosity_m2_per_s"]}  # the model prior, not the state
    ests, info = run_estimators(train, held, grid, times, scored, cfg, physics, say)
    for key, name in (("oi", "estimate_oi.nc"), ("geostrophic", "estimate_geostrophic.nc"), ("learned", "estimate.nc")):
        write_estimate(ests[key][0], out / name)
    rows, evs = [], {}

    labels = {"oi": "OI (+ geostrophy of the OI map)", "geostrophic": "geostrophy of binned obs",
              "learned": "learned (SW hybrid, state u, v)"}
    for key, (e, tr_s, es_s) in ests.items():
        ev = evaluate_estimate(e, truth, holdout=held, truth_currents_from="file")
        evs[key] = ev
        rows.append({**_row(key, ev, tr_s, es_s), "label": labels[key]})
    evaluation_figures(evs["learned"], out, obs=train, title="learned estimator vs truth")
    evaluation_figures(evs["oi"], out / "oi", obs=train, title="OI vs truth")
    ceiling = ssh_only_ceiling(truth, scored)
    table = format_table(rows, ceiling)
    summary = {
        "hybridocean": hybridocean.__version__, "torch": torch.__version__, "device": str(device),
        "threads": torch.get_num_threads(), "quick": quick, "config": asdict(cfg),
        "truth": {"rossby_number": truth.attrs["twin_rossby_number"],
                  "rossby_number_max": truth.attrs["twin_rossby_number_max"], **diag,
                  "mass_relative_drift": truth.attrs["twin_mass_relative_drift"], "wall_s": round(truth_s, 1)},
        "tau_uv_ceiling_scored_days": ceiling, "observations": obs_notes, **info,
        "scores": rows, "scored_days": len(scored), "table": table,
        "wall_s": round(time.perf_counter() - wall0, 1),
    }
    summary["files"] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) + ["metrics.json"]
    save_json(summary, out / "metrics.json")
    return summary


__all__ = ["run_mission", "MissionConfig", "FULL", "QUICK", "observe", "superobs", "held_out_misfit", "format_table",
           "run_estimators", "ssh_only_ceiling"]
