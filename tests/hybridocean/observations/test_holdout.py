"""Block hold-out: passes found from time gaps, whole blocks held out, the requested share, bad input."""
import numpy as np
import pytest

from hybridocean.observations import Observations
from hybridocean.observations.holdout import block_holdout, pass_index

T0 = np.datetime64("2023-01-01T00:00:00", "ns")


def _tracks(n_pass=12, n=200, seed=0):
    """``n_pass`` straight passes of ``n`` points 1 s and 5 km apart, one per 6 h, two platforms."""
    rng = np.random.default_rng(seed)
    t, x, y, plat = [], [], [], []
    for k in range(n_pass):
        s = np.arange(n)
        t.append(T0 + np.timedelta64(6 * k, "h") + s.astype("timedelta64[s]"))
        x.append(5e3 * s)
        y.append(np.full(n, 1e4 * k + 10.0) + rng.uniform(0, 1.0, n))
        plat.append(np.full(n, "jason3" if k % 2 else "saral"))
    return Observations.from_arrays(time=np.concatenate(t), ssh=rng.normal(size=n_pass * n), error_std=0.01,
                                    platform=np.concatenate(plat), x=np.concatenate(x), y=np.concatenate(y))


def test_pass_index_splits_on_platform_and_time_gaps():
    obs = _tracks(n_pass=6, n=10)
    ids = pass_index(obs)
    assert np.unique(ids).size == 6
    for k in range(6):  # each pass's 10 points share one id
        assert np.unique(ids[10 * k:10 * k + 10]).size == 1
    assert np.unique(pass_index(obs, max_gap_s=0.5)).size == 60  # points 1 s apart: every point its own run


def test_block_holdout_holds_whole_blocks_and_the_share():
    obs = _tracks()
    block = 1e5  # 20 points of a pass per block
    kept, held = block_holdout(obs, 0.1, block, seed=3)
    assert len(kept) + len(held) == len(obs)
    # the share is 10 % to within one block (20 of 2400 points)
    assert abs(len(held) - 0.1 * len(obs)) <= 20
    # every held-out point's block is held out whole: no kept point of its pass in its tile
    kx, hx = kept.positions()[0] // block, held.positions()[0] // block
    kt = set(zip((kept.time.astype("datetime64[h]")).tolist(), kx.tolist()))
    assert not kt & set(zip((held.time.astype("datetime64[h]")).tolist(), hx.tolist()))
    # deterministic for a seed, different for another
    again = block_holdout(obs, 0.1, block, seed=3)[1]
    assert np.array_equal(again.time, held.time)
    assert not np.array_equal(block_holdout(obs, 0.1, block, seed=4)[1].time, held.time)


def test_held_blocks_are_farther_from_kept_points_than_random_points():
    """The point of blocks: a held-out point's nearest kept point on its own pass is >= 1 point away
    for random points (5 km) but much farther on average for blocks."""
    obs = _tracks()
    kept, held = block_holdout(obs, 0.1, 1e5, seed=0)
    kx, kt = kept.positions()[0], kept.time.astype("datetime64[h]")
    hx, ht = held.positions()[0], held.time.astype("datetime64[h]")
    d = [np.min(np.abs(kx[kt == t] - x)) for x, t in zip(hx, ht)]
    assert np.mean(d) > 2.5e4  # blocks of 100 km: mean distance to the block edge ~25 km (plus 5 km)


def test_block_holdout_bad_input():
    obs = _tracks(n_pass=2, n=10)
    with pytest.raises(ValueError, match="fraction"):
        block_holdout(obs, 1.5, 1e4)
    with pytest.raises(ValueError, match="block"):
        block_holdout(obs, 0.1, -1.0)
    one = _tracks(n_pass=1, n=10)
    with pytest.raises(ValueError, match="one block"):
        block_holdout(one, 0.1, 1e9)
    with pytest.raises(ValueError, match="max_gap_s"):
        pass_index(obs, max_gap_s=0.0)
