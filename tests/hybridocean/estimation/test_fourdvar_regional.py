"""Regional 4D-Var (hybridocean.estimation.fourdvar_regional): sphere and Cartesian x/y grids,
land, open boundaries.

Twin: the truth is a 1.5-layer QG run on a LARGER box (lon/lat, or its x/y tangent plane) with an
island (closed walls far away); the 4D-Var box is cut from its interior, so the truth's flow
crosses the 4D-Var box's boundary freely (truly open). Observed at random ocean cell centres
(12 % per day) with 1 cm noise; the OI of the same observations is the background and the
boundary. Float64, CPU.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridocean.estimation.background import GaussianCovariance
from hybridocean.estimation.base import geostrophic_currents, prepare_inputs
from hybridocean.estimation.fourdvar import WindowProblem
from hybridocean.estimation.fourdvar_models import open_centre_to_corner, open_corner_to_centre
from hybridocean.estimation.fourdvar_regional import RegionalFourDVar, land_from_gridded
from hybridocean.estimation.oi import OptimalInterpolation
from hybridocean.observations import DEFAULT_TIME_ORIGIN, Observations
from physics.grid import Grid
from physics.qg import QG
from physics.qg_state import qg_state_to_ssh, ssh_to_qg_state
from physics.stepping import integrate_fixed

DAY = 86400.0
D = 0.25  # [degrees] ~22 x 28 km cells at 35 N
DT = 3 * 3600.0  # |u|max ~ 0.3 m/s: Courant 0.3 * 10800 / 2.2e4 = 0.15, inside AB3's 0.72
SIGMA_B, LENGTH_B = 0.05, 6e4  # 5 cm background error (the OI's error is ~2 cm), 2-3 cells


def _axes(n: int, lon0: float = 2.0, lat0: float = 34.0):
    return lon0 + D * (np.arange(n) + 0.5), lat0 + D * (np.arange(n) + 0.5)


def _twin(big: Grid, cut: Grid) -> dict:
    """8 days of daily SSH at the centres of the big 36 x 36 box with a 5 x 4 island; the 4D-Var box
    ``cut`` is rows/columns 8..28 (20 x 20, the island inside it)."""
    ocean = np.ones((36, 36), bool)
    ocean[18:23, 16:20] = False
    qg = QG(big, Ld=3e4, mask=torch.as_tensor(ocean))
    gen = torch.Generator().manual_seed(0)
    eta0 = GaussianCovariance(big, 0.1, 6e4, "corner")(torch.randn(36, 36, generator=gen, dtype=torch.float64))
    q0 = ssh_to_qg_state(eta0, qg, loc="corner")[1]
    with torch.no_grad():
        t, traj = integrate_fixed(qg, q0, DT, 8 * 8, save_every=8, t0=0.0)
        ssh = qg_state_to_ssh(traj[:, 0], qg, loc="center")
    s = slice(8, 28)
    return {"grid": cut, "ssh": ssh[:, s, s], "ocean": ocean[s, s], "t": t.numpy()}


@pytest.fixture(scope="module")
def truth():
    """The lon/lat (sphere) twin."""
    lon, lat = _axes(36)
    return _twin(Grid.from_lonlat(lon, lat), Grid.from_lonlat(lon[8:28], lat[8:28]))


@pytest.fixture(scope="module")
def truth_xy():
    """The Cartesian x/y twin: the tangent plane of the lon/lat one (same f0, beta, ~cell size);
    the cut box is centred in the big one, so ``f = f0 + beta (y - Ly/2)`` agrees on both."""
    lon, lat = _axes(36)
    tp = Grid.from_lonlat(lon, lat, metric="beta_plane")
    kw = dict(dx=tp.dx, dy=tp.dy, boundary="closed", f0=tp.f0, beta=tp.beta)
    return _twin(Grid(36, 36, **kw), Grid(20, 20, **kw))


def _observations(tr, fraction: float = 0.12, noise: float = 0.01, seed: int = 0) -> Observations:
    rng = np.random.default_rng(seed)
    g, oc = tr["grid"], tr["ocean"]
    sphere = g.metric == "sphere"
    A, B = np.meshgrid(g.lon, g.lat) if sphere else (m.numpy() for m in g.mesh("center"))
    parts = []
    for k, tk in enumerate(tr["t"]):
        sel = oc & (rng.random(oc.shape) < fraction)
        n = int(sel.sum())
        parts.append((np.full(n, tk), A[sel], B[sel], tr["ssh"][k].numpy()[sel] + noise * rng.standard_normal(n)))
    t, a, b, v = (np.concatenate(c) for c in zip(*parts))
    where = {"longitude": a, "latitude": b} if sphere else {"x": a, "y": b}
    return Observations.from_arrays(time=t, ssh=v, platform="twin", error_std=noise, **where)


def _times(ts: np.ndarray) -> np.ndarray:
    return DEFAULT_TIME_ORIGIN + (np.asarray(ts) * 1e9).astype("timedelta64[ns]")


OI = OptimalInterpolation(Lx=0.5, Ly=0.5, Lt=3 * DAY, noise_std=0.01, signal_std=0.1)
OI_XY = OptimalInterpolation(Lx=5e4, Ly=5e4, Lt=3 * DAY, noise_std=0.01, signal_std=0.1)  # ~0.5 degree in m


def _problem(tr, sigma_boundary=None, n_days: int = 2) -> WindowProblem:
    obs = _observations(tr)
    est = RegionalFourDVar(OI if tr["grid"].metric == "sphere" else OI_XY, mask=tr["ocean"], window=n_days * DAY, dt=DT)
    inputs = prepare_inputs(obs, tr["grid"], _times(tr["t"][: n_days + 1]), time_margin_s=n_days * DAY)
    model = est.build_model(inputs)
    P = WindowProblem(model, inputs.obs, 0.0, DT, int(n_days * DAY / DT), sigma_b=SIGMA_B, length_b=LENGTH_B,
                      sigma_boundary=sigma_boundary)
    P.background = P.adapter.from_ssh(est.boundary_ssh_[0]).reshape(P.state_shape)
    return P


def test_open_centre_corner_maps_are_exact_on_linear_fields():
    """Both four-point averages with linearly extrapolated ghosts are exact on a linear field."""
    j, i = torch.meshgrid(torch.arange(6.0, dtype=torch.float64), torch.arange(7.0, dtype=torch.float64), indexing="ij")
    centre = 0.3 + 0.2 * (i + 0.5) - 0.1 * (j + 0.5)
    corner = 0.3 + 0.2 * i - 0.1 * j
    assert torch.allclose(open_centre_to_corner(centre), corner, atol=1e-14)
    assert torch.allclose(open_corner_to_centre(corner), centre, atol=1e-14)


@pytest.mark.parametrize("twin,sigma_boundary", [("truth", None), ("truth", 0.02), ("truth_xy", 0.02)])
def test_taylor_land_open_boundaries(request, twin, sigma_boundary):
    """J(v + e d) - J(v) - e <g, d> ~ e^2: remainder ratios -> 4 as e halves, with and without the
    boundary control (the gradient reaches the ring values through the lift and q_b), on the
    sphere grid and on the Cartesian x/y one."""
    P = _problem(request.getfixturevalue(twin), sigma_boundary)
    nb = 1 if sigma_boundary is not None else 0
    assert P.n_control == (1 + nb) * 20 * 20
    rng = np.random.default_rng(1)
    v, d = 0.5 * rng.standard_normal(P.n_control), rng.standard_normal(P.n_control)
    J, _, _, grad = P.cost(v)
    eps = 0.05 / 2.0 ** np.arange(8)
    rem = np.array([abs(P.cost(v + e * d, grad=False)[0] - J - e * (grad @ d)) for e in eps])
    ratios = rem[:-1] / rem[1:]
    # a quadratic remainder halves twice per halving (ratio 4); 3.5..4.5 leaves room for the
    # cubic term at the largest e and float64 round-off (J ~ 1e3, rem >= 1e-6 here)
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios
    if nb:  # the boundary block of the gradient is nonzero: J depends on the ring values
        assert np.abs(grad[400:]).max() > 1e-3 * np.abs(grad[:400]).max()


def test_increments_vanish_on_land_and_ring(truth):
    """B on the sphere with land: the SSH increment is zero on the fixed (ring, land) corners and the
    PV increment zero there too; the boundary increment lives on the ring only."""
    P = _problem(truth, 0.02)
    rng = np.random.default_rng(2)
    v = torch.as_tensor(rng.standard_normal(P.n_control))
    a = P.adapter
    x = a.B[0](P.split(v)[0][0]) * a.m
    fixed = a.m == 0
    assert float(x[fixed].abs().max()) == 0.0 and float(x[~fixed].abs().max()) > 1e-3
    assert float(P.adapter.increment(P.split(v)[0])[0, 0][fixed].abs().max()) == 0.0
    db = a.boundary_increment(P.boundary_control(v))
    inner = db[1:-1, 1:-1]
    assert float(inner.abs().max()) == 0.0 and float(db[0].abs().max()) > 1e-3
    # the initial SSH of x_b + 0 reproduces the OI map (up to the O(dx^2) corner averages)
    ssh0 = a.ssh(P.initial_state(torch.zeros(P.n_control)).unsqueeze(0), [0.0])[0]
    # (the inversion is exact, so x_b's SSH is the corner map of the boundary values at t = 0 averaged back)
    expected = open_corner_to_centre(a.psi_b0[0, 0, 0])
    assert float((ssh0 - expected).abs().max()) < 1e-10 * float(expected.abs().max())


def _rmse_tau(ssh, u, v, tr, n: int):
    ts = tr["ssh"][:n]
    ut, vt = geostrophic_currents(ts, tr["grid"])
    ocean = torch.as_tensor(tr["ocean"])[None].expand_as(ts)
    m = ocean & torch.isfinite(ssh)
    rmse = float(((ssh - ts)[m] ** 2).mean().sqrt())
    f = torch.isfinite(u) & torch.isfinite(v) & torch.isfinite(ut) & torch.isfinite(vt)
    tau = 100 * (1 - float(((u - ut) ** 2 + (v - vt) ** 2)[f].sum() / (ut ** 2 + vt ** 2)[f].sum()))
    return rmse, tau


MAX_ITER = 25


@pytest.mark.slow  # ~5-12 s on the loaded CPU
def test_twin_beats_oi_on_ssh_and_currents(truth):
    """One 6-day window: the analysis beats its OI background on SSH RMSE and tau_uv; the cost decreases
    monotonically. Measured: OI rmse 1.76 cm, tau_uv 86.0; 4D-Var rmse 1.50 cm (0.85 of OI), tau_uv 89.1
    (+3.1); thresholds 0.92 and +2 points (the noise of the twin across seeds is ~half the gain)."""
    obs = _observations(truth)
    times = _times(truth["t"][:7])
    dso = OI.estimate(obs, truth["grid"], times)
    est = RegionalFourDVar(OI, mask=truth["ocean"], window=6 * DAY, dt=DT, save_every=4, sigma_b=SIGMA_B,
                           length_b=LENGTH_B, max_iter=MAX_ITER, sigma_boundary=0.02)
    ds = est.estimate(obs, truth["grid"], times)
    pick = lambda d: [torch.as_tensor(d[k].values) for k in ("ssh", "u", "v")]  # noqa: E731
    r_oi, t_oi = _rmse_tau(*pick(dso), truth, 7)
    r_4d, t_4d = _rmse_tau(*pick(ds), truth, 7)
    cost = est.windows_[0]["cost"]
    assert all(b <= a for a, b in zip(cost, cost[1:])) and cost[-1] < 0.5 * cost[0]
    assert bool(np.isnan(ds["ssh"].values[:, ~truth["ocean"]]).all())  # land is NaN
    print(f"OI rmse {r_oi:.4f} m tau {t_oi:.1f}; 4D-Var rmse {r_4d:.4f} m tau {t_4d:.1f}")
    assert r_4d < 0.92 * r_oi and t_4d > t_oi + 2.0, (r_oi, t_oi, r_4d, t_4d)


@pytest.mark.slow  # ~17-25 s on the loaded 2-core CPU (as the sphere twin above)
def test_cartesian_xy_box_runs_open_and_beats_its_oi_background(truth_xy):
    """The Cartesian x/y path end to end (the benchmark's tangent-plane boxes), the sphere twin's
    window (6 days, 25 iterations, ring control): OI in metres for the ring and the first
    background, the box's own grid, land NaN, the boundary diagnostics recorded. Measured: OI rmse
    1.73 cm, 4D-Var 1.47 cm (0.85, as on the sphere); asked < 0.92 of the OI (the sphere twin's bound) and a cost halved."""
    obs, n = _observations(truth_xy), 7
    times = _times(truth_xy["t"][:n])
    dso = OI_XY.estimate(obs, truth_xy["grid"], times)
    est = RegionalFourDVar(OI_XY, mask=truth_xy["ocean"], window=6 * DAY, dt=DT, save_every=4, sigma_b=SIGMA_B,
                           length_b=LENGTH_B, max_iter=MAX_ITER, sigma_boundary=0.02)
    ds = est.estimate(obs, truth_xy["grid"], times)
    assert est.model_.grid.metric != "sphere" and est.boundary_times_.size == 7 and est.boundary_seconds_ > 0
    assert ds.attrs["n_boundary_maps"] == 7 and ds.attrs["boundary_oi_s"] == est.boundary_seconds_
    assert bool(np.isnan(ds["ssh"].values[:, ~truth_xy["ocean"]]).all())
    assert bool(np.isfinite(ds["ssh"].values[:, truth_xy["ocean"]]).all())
    cost = est.windows_[0]["cost"]
    assert cost[-1] < 0.5 * cost[0]
    pick = lambda d: [torch.as_tensor(d[k].values) for k in ("ssh", "u", "v")]  # noqa: E731
    r_oi, _ = _rmse_tau(*pick(dso), truth_xy, n)
    r_4d, _ = _rmse_tau(*pick(ds), truth_xy, n)
    print(f"x/y: OI rmse {r_oi:.4f} m; 4D-Var rmse {r_4d:.4f} m")
    assert r_4d < 0.92 * r_oi, (r_oi, r_4d)


def test_land_from_gridded_and_bad_arguments(truth):
    import xarray as xr

    g = truth["grid"]
    a = truth["ssh"][:3].numpy().copy()
    a[:, ~truth["ocean"]] = np.nan
    a[0, 0, 0] = np.nan  # a gap, not land
    da = xr.DataArray(a, dims=("time", "latitude", "longitude"),
                      coords={"time": _times(truth["t"][:3]), "latitude": g.lat, "longitude": g.lon}, name="sla")
    assert (land_from_gridded(da) == truth["ocean"]).all()
    with pytest.raises(ValueError, match="mask"):
        RegionalFourDVar(mask="coast")
    with pytest.raises(ValueError, match="background"):
        RegionalFourDVar(background=np.zeros((20, 20)))
    with pytest.raises(TypeError, match="oi"):
        RegionalFourDVar(oi="oi")
    with pytest.raises(ValueError, match="sigma_boundary"):
        RegionalFourDVar(sigma_boundary=-1.0)
    P = Grid(nx=8, ny=8, dx=1e4, dy=1e4, f0=1e-4)
    with pytest.raises(ValueError, match="sigma_boundary"):
        WindowProblem(QG(P, Ld=3e4), _observations(truth), 0.0, DT, 2, sigma_boundary=0.02)


@pytest.mark.slow  # ~5-10 s: two CLI runs (OI, then 4D-Var) on the 20 x 20 box
def test_cli_4dvar_on_lonlat_gappy_map_with_land_uses_open_boundaries(truth, tmp_path, capsys):
    """``hybridocean estimate --method 4dvar`` on an L4-like lon/lat map (NaN on the island = land,
    NaN gaps elsewhere; day 0 complete so that every ocean cell is observed once -- a cell never
    observed is taken as land) runs the regional path: open ring from the OI, land NaN in the
    output. Measured: OI (same parameters, day 0 complete so already close) rmse 1.12 cm, tau_uv 94.2;
    4D-Var rmse 1.29 cm, tau_uv 93.2 -- asked rmse < 1.6 cm and tau_uv > 90 (a working analysis; the
    4D-Var-beats-OI claim is tested by the twin above, where the OI is not handed a complete map)."""
    import xarray as xr

    from hybridocean import cli

    g, ocean = truth["grid"], truth["ocean"]
    rng = np.random.default_rng(3)
    a = truth["ssh"][:7].numpy().copy()
    a[1:][rng.random(a[1:].shape) > 0.15] = np.nan  # day 0 a complete map, then 15 % of the cells per day
    a[:, ~ocean] = np.nan
    ds = xr.Dataset({"sla": (("time", "latitude", "longitude"), a, {"units": "m"})},
                    coords={"time": _times(truth["t"][:7]), "latitude": ("latitude", np.asarray(g.lat), {"units": "degrees_north"}),
                            "longitude": ("longitude", np.asarray(g.lon), {"units": "degrees_east"})})
    src, est, oi = tmp_path / "map.nc", tmp_path / "est.nc", tmp_path / "oi.nc"
    ds.to_netcdf(src)
    oi_args = '{"Lx": 0.5, "Ly": 0.5, "Lt": 259200, "noise_std": 0.01, "signal_std": 0.1}'
    assert cli.main(["estimate", "--obs", str(src), "--method", "oi", "--out", str(oi), "--param", "Lx=0.5",
                     "--param", "Ly=0.5", "--param", "Lt=259200", "--param", "noise_std=0.01", "--param", "signal_std=0.1"]) == 0
    code = cli.main(["estimate", "--obs", str(src), "--method", "4dvar", "--out", str(est), "--param", "max_iter=15",
                     "--param", f"oi={oi_args}", "--param", "dt=10800", "--param", "sigma_b=0.05",
                     "--param", "length_b=6e4", "--param", "obs_error=0.01"])
    assert code == 0, capsys.readouterr().err
    with xr.open_dataset(est) as d, xr.open_dataset(oi) as o:
        assert d.attrs["boundary"] == "open (OI)" and d.attrs["model_grid"] == "sphere"
        assert d.attrs["estimator"] == "RegionalFourDVar"
        name = d.attrs["ssh_variable"]
        assert bool(np.isnan(d[name].values[:, ~ocean]).all()) and bool(np.isfinite(d[name].values[:, ocean]).all())
        r_4d, t_4d = _rmse_tau(*(torch.as_tensor(d[k].values) for k in (name, "u", "v")), truth, 7)
        r_oi, t_oi = _rmse_tau(*(torch.as_tensor(o[k].values) for k in (o.attrs["ssh_variable"], "u", "v")), truth, 7)
    print(f"CLI: OI rmse {r_oi:.4f} tau {t_oi:.1f}; 4D-Var rmse {r_4d:.4f} tau {t_4d:.1f}")
    assert r_4d < 0.016 and t_4d > 90.0 and t_oi > 90.0, (r_oi, t_oi, r_4d, t_4d)


def test_cli_boundary_option_errors_are_one_line(tmp_path, capsys):
    """``--boundary open`` where the regional path cannot run, and ``--boundary`` with a method that has
    no model: one-line errors naming the option, exit status 2, no output written."""
    import xarray as xr

    from hybridocean import cli

    src, out = tmp_path / "xy.nc", tmp_path / "o.nc"
    a = np.full((2, 6, 6), np.nan)
    a[:, ::2, ::2] = 0.05
    xr.Dataset({"ssh": (("time", "y", "x"), a, {"units": "m"})},
               coords={"time": _times([0.0, DAY]), "x": (np.arange(6) + 0.5) * 2e4, "y": (np.arange(6) + 0.5) * 2e4},
               attrs={"f0_per_s": 1e-4}).to_netcdf(src)
    for extra, what in ((["--method", "4dvar", "--boundary", "open"], "needs --model qg1.5 on a lon/lat input"),
                        (["--method", "oi", "--boundary", "closed"], "applies to --method")):
        code = cli.main(["estimate", "--obs", str(src), "--out", str(out)] + extra)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "--boundary" in err[0] and what in err[0], err
        assert not out.exists()
