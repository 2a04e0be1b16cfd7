"""The mission's estimators read the observations only (:func:`hybridocean.mission.run_estimators`)."""
import numpy as np
import pytest

from hybridocean.estimation.twins import shallow_water_twin, twin_grid
from hybridocean.mission import HELD_OUT_PLATFORM as HELD_OUT
from hybridocean.mission import MissionConfig, run_mission, held_out_misfit, observe, run_estimators, ssh_only_ceiling

# The smallest configuration the pipeline accepts: 6 days (SARAL's repeat crosses the 32-cell
# box on day ~4, so a shorter record has no held-out track), 1 training iteration. Scores are
# not the point here (test_demo.py floors them): what each estimator reads is.
TINY = MissionConfig(n=32, days=6.0, spinup_days=1.0, iterations=1, window=4, lookahead=2, horizon=2, hidden=4,
                     layers=1, validations=1, oi_lengths=(3e4, 8e4))


@pytest.fixture(scope="module")
def twin():
    return shallow_water_twin(n=TINY.n, days=TINY.days, spinup_days=TINY.spinup_days, frame_s=6 * 3600.0, seed=0)


@pytest.fixture(scope="module")
def hidden_velocity_twin(twin):
    """A twin whose velocities are NaN: any estimator reading them would return NaN."""
    return twin.assign(u=twin["u"] * np.nan, v=twin["v"] * np.nan)


def test_ceiling_is_tau_uv_of_exact_geostrophy_on_the_scored_days(twin):
    """The table's ceiling is the challenge's ``tau_uv`` (hybridocean.metrics) of the geostrophic
    currents of the true SSH on the scored days only, not on every 6-hourly frame."""
    from hybridocean.estimation.evaluation import truth_currents
    from hybridocean.metrics.currents import tau_uv

    scored = twin["time"].values[::4][1:-1]
    sub = twin.sel(time=scored)
    ug, vg = truth_currents(sub["ssh"], twin_grid(twin), g=twin.attrs["twin_g"])
    expected = tau_uv(ug, vg, sub["u"], sub["v"])
    # the same sums in another order: equal to float64 round-off
    assert ssh_only_ceiling(twin, scored) == pytest.approx(expected, abs=1e-9)
    early = twin["time"].values[:3]
    assert ssh_only_ceiling(twin, early) != pytest.approx(expected, abs=1e-3)  # the frames matter


@pytest.mark.slow  # ~15 s on one loaded core: a 32 x 32 twin, 2 OI analyses, 1 training iteration
def test_estimators_never_read_the_truths_velocities(hidden_velocity_twin):
    truth = hidden_velocity_twin
    train, held, notes = observe(truth, TINY)
    assert set(train.ds.data_vars).isdisjoint({"u", "v"}) and set(held.ds.data_vars).isdisjoint({"u", "v"})
    assert HELD_OUT not in train.platforms and set(held.platforms) == {HELD_OUT}
    grid = twin_grid(truth)
    times = np.asarray(truth["time"].values)
    scored = times[::4][1:-1]
    physics = {"g": truth.attrs["twin_g"], "H": truth.attrs["twin_H_m"],
               "viscosity": truth.attrs["twin_viscosity_m2_per_s"]}
    ests, info = run_estimators(train, held, grid, times, scored, TINY, physics)
    assert set(ests) == {"oi", "geostrophic", "learned"}
    for key, (ds, _, _) in ests.items():
        np.testing.assert_array_equal(ds["time"].values, scored)
        if key == "geostrophic":  # harmonic fill of one day's tracks: walls and unreachable cells may stay NaN
            assert np.isfinite(ds["ssh"].values).mean() > 0.5, key
            continue
        for name in ("ssh", "u", "v"):  # velocities estimated although the truth's are NaN
            assert np.isfinite(ds[name].values).all(), (key, name)
    # model selection on the held-out track: the OI length kept is the one of least held-out misfit
    from hybridocean.estimation.oi import OptimalInterpolation
    from hybridocean.mission import superobs

    sob = superobs(train, grid, times)
    misfits = {L: held_out_misfit(OptimalInterpolation(Lx=L, Ly=L, Lt=TINY.oi_Lt, noise_std=0.01, signal_std=0.1)
                                  .estimate(sob, grid, scored), held) for L in TINY.oi_lengths}
    assert info["oi_selected_L_m"] == min(misfits, key=misfits.get)
    assert len(info["learned_history"]["val_mse"]) >= 1  # the learned model was validated on the held-out track



def test_run_mission_refuses_bad_arguments_before_writing(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="out: .* is not a folder"):
        run_mission(a_file, quick=True)
    with pytest.raises(TypeError, match="quick must be a bool"):
        run_mission(tmp_path / "o", quick="yes")
    with pytest.raises(TypeError, match="out must be a folder path"):
        run_mission(3, quick=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
