"""The CLI's model-selection split (:func:`hybridocean.estimation.cli_train.split_validation`): a
held-out platform when the file has several, else whole blocks of passes (never scattered points)."""
import numpy as np
import pytest

from hybridocean.cli import UserError
from hybridocean.estimation.cli_train import HOLDOUT_BLOCK_CELLS, HOLDOUT_FRACTION, holdout_block, split_validation
from hybridocean.observations import Observations
from physics.grid import Grid

DX = 5e3
T0 = np.datetime64("2020-01-01T00:00:00", "ns")
HOUR = np.timedelta64(3600, "s")


def _grid():
    return Grid(32, 32, dx=DX, dy=DX, boundary="closed", f0=1e-4)


def _frames(n_frames=6, platform="map"):
    """Every cell centre of the 32 x 32 grid at each of ``n_frames`` hourly instants (one pass per frame)."""
    x, y = (v.numpy().ravel() for v in _grid().mesh("center"))
    t = np.repeat(T0 + np.arange(n_frames) * HOUR, x.size)
    return Observations.from_arrays(time=t, ssh=np.arange(t.size) * 1e-4, x=np.tile(x, n_frames),
                                    y=np.tile(y, n_frames), platform=platform)


def _tiles(o):
    """``{(time, tile x, tile y): points}`` of the 8 x 8-cell tiles of ``o``'s points."""
    x, y = o.positions()
    tx, ty = ((v // (8 * DX)).astype(int).tolist() for v in (x, y))
    keys = zip(o.time.astype(np.int64).tolist(), tx, ty)
    out = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


def test_two_platforms_hold_out_the_smaller_one():
    a, b = _frames(3, "a"), _frames(1, "b")
    obs = Observations.concat([a, b])
    train, val, how = split_validation(obs, 0, _grid())
    assert val.platforms == ["b"] and train.platforms == ["a"] and len(val) == len(b)
    assert how == f"held-out platform 'b' ({len(b)} of {len(obs)} observations)"


def test_one_platform_holds_out_whole_blocks_of_8_cells():
    obs = _frames()
    train, val, how = split_validation(obs, 3, _grid())
    n = len(obs)
    assert len(train) + len(val) == n
    # 6 frames x 16 tiles of 8 x 8 cells (64 points each): the share is 15 % to within one block
    assert abs(len(val) - HOLDOUT_FRACTION * n) <= 64
    assert how.startswith(f"held-out blocks of passes ({len(val)} of {n} observations, 15%; "
                          "blocks of 8 cells = 40000 m")
    # whole tiles: no (frame, tile) has points on both sides, and the held-out ones are full (64 points)
    held, kept = _tiles(val), _tiles(train)
    assert held and not set(held) & set(kept) and set(held.values()) == {64}
    again = split_validation(obs, 3, _grid())
    assert np.array_equal(again[1].ssh, val.ssh) and again[2] == how  # deterministic for a seed
    assert not np.array_equal(split_validation(obs, 4, _grid())[1].ssh, val.ssh)  # another seed, other blocks


def test_block_is_8_cells_in_the_observations_units():
    g = _grid()
    assert holdout_block(_frames(1), g) == (HOLDOUT_BLOCK_CELLS * DX, "m") == (4e4, "m")
    ll = Grid.from_lonlat(np.arange(20) * 0.25 + 300.125, np.arange(16) * 0.5 + 30.25)
    pts = Observations.from_arrays(time=np.full(3, T0), ssh=np.zeros(3), longitude=[300.2, 301.0, 302.0],
                                   latitude=[31.0, 32.0, 33.0], platform="p")
    assert holdout_block(pts, ll) == (8 * 0.5, "deg")  # the larger of dlon, dlat [degrees]
    with pytest.raises(UserError, match="^--obs: lon/lat observations need a lon/lat grid"):
        holdout_block(pts, g)


def test_too_few_observations_is_a_user_error_naming_obs():
    one = Observations.from_arrays(time=[T0], ssh=[0.1], x=[1e3], y=[1e3], platform="p")
    with pytest.raises(UserError, match=r"^--obs: 1 observation\(s\) are too few to hold some out"):
        split_validation(one, 0, _grid())
    # several points, all in one 8-cell tile of one frame: one block, nothing to hold out beside it
    few = Observations.from_arrays(time=np.full(4, T0), ssh=np.zeros(4), x=[1e3, 2e3, 3e3, 4e3], y=[1e3] * 4,
                                   platform="p")
    with pytest.raises(UserError, match=r"^--obs: 4 observation\(s\) are too few to hold some out .*one block"):
        split_validation(few, 0, _grid())
