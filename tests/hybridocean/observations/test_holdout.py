"""Block hold-out: passes found from time gaps, whole blocks held out, the requested share, bad input."""
import numpy as np
import pytest

from hybridocean.observations import Observations
from hybridocean.observations.holdout import block_holdout, block_labels, pass_index

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


def _held_runs(obs, held):
    """Lengths of the maximal runs of held-out points along each pass of ``obs`` (time order)."""
    is_held = np.isin(obs.time, held.time)
    ids = pass_index(obs)
    runs = []
    for k in np.unique(ids):
        h = is_held[ids == k][np.argsort(obs.time[ids == k])]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], h.astype(int), [0]])))
        runs += list(edges[1::2] - edges[::2])
    return np.array(runs)


@pytest.mark.parametrize("diagonal", [False, True])
def test_block_holdout_holds_whole_pieces_of_passes_and_the_share(diagonal):
    obs = _tracks()
    if diagonal:  # tracks at 45 degrees: tiles of the plane would clip corners, pieces along the pass do not
        x, y = obs.positions()
        obs = Observations.from_arrays(time=obs.time, ssh=obs.ssh, error_std=0.01, platform=obs.platform,
                                       x=x / np.sqrt(2), y=x / np.sqrt(2) + y)
    block = 1e5  # 20 points of a pass (5 km apart) per piece: 9 pieces of 20 and one of 19 per pass
    kept, held = block_holdout(obs, 0.1, block, seed=3)
    assert len(kept) + len(held) == len(obs)
    assert abs(len(held) - 0.1 * len(obs)) <= 20  # 10 % to within one block
    assert _held_runs(obs, held).min() >= 19  # whole pieces only
    # deterministic for a seed, different for another
    assert np.array_equal(block_holdout(obs, 0.1, block, seed=3)[1].time, held.time)
    assert not np.array_equal(block_holdout(obs, 0.1, block, seed=4)[1].time, held.time)


def test_swath_and_its_nadir_are_held_out_together():
    """KaRIn pixels across the swath and the nadir beside them (one satellite, same instants) share blocks."""
    n = 100
    s = np.arange(n)
    t = np.tile(T0 + s.astype("timedelta64[s]"), 3)
    x = np.tile(5e3 * s, 3)
    y = np.repeat([-3e4, 0.0, 3e4], n)
    plat = np.repeat(["swot_karin", "swot_nadir", "swot_karin"], n)
    obs = Observations.from_arrays(time=t, ssh=np.zeros(3 * n), error_std=0.01, platform=plat, x=x, y=y)
    assert np.unique(pass_index(obs)).size == 1
    _, held = block_holdout(obs, 0.2, 1e5, seed=0)
    hx = held.positions()[0]
    for line in (-3e4, 0.0, 3e4):  # the same along-track pieces on the three lines
        assert set(hx[held.positions()[1] == line].tolist()) == set(hx.tolist())


def test_gridded_frames_are_cut_into_tiles():
    """Points of one frame share an instant: their blocks are tiles of the plane."""
    xx, yy = np.meshgrid(np.arange(20) * 1e4 + 5e3, np.arange(20) * 1e4 + 5e3)
    obs = Observations.from_arrays(time=np.full(400, T0), ssh=np.zeros(400), error_std=0.01, platform="cloud_gaps",
                                   x=xx.ravel(), y=yy.ravel())
    _, held = block_holdout(obs, 0.25, 5e4, seed=1)
    hx, hy = held.positions()
    tiles = set(zip((hx // 5e4).tolist(), (hy // 5e4).tolist()))
    assert len(held) == 25 * len(tiles) == 100  # whole 5 x 5-point tiles, 25 % of 16 tiles


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


def test_block_size_in_the_observations_units():
    from types import SimpleNamespace

    from hybridocean.observations.holdout import block_size

    xy = _tracks(n_pass=2, n=10)
    assert block_size(xy, SimpleNamespace(dx=5e3, dy=1e4), 8) == 8e4  # the larger spacing, metres
    ll = Observations.from_arrays(time=np.full(3, T0), ssh=np.zeros(3), error_std=0.01, platform="jason3",
                                  longitude=[1.0, 2.0, 3.0], latitude=[0.0, 0.0, 0.0])
    assert block_size(ll, SimpleNamespace(dlon=0.25, dlat=0.5, dx=1.0, dy=1.0), 8) == 4.0  # degrees
    with pytest.raises(ValueError, match="grid"):
        block_size(ll, SimpleNamespace(dx=5e3, dy=5e3), 8)
    with pytest.raises(ValueError, match="cells"):
        block_size(xy, SimpleNamespace(dx=5e3, dy=5e3), 0)


def test_block_labels_are_the_pieces_block_holdout_draws():
    obs = _tracks(n_pass=4, n=200)
    lab = block_labels(obs, 1e5)  # 4 passes of 200 points 5 km apart: 10 pieces each
    assert lab.dtype == np.int64 and np.unique(lab).size == 40
    ids = pass_index(obs)
    assert all(np.unique(ids[lab == k]).size == 1 for k in np.unique(lab))  # a block never spans two passes
    kept, held = block_holdout(obs, 0.1, 1e5, seed=1)
    held_lab = lab[np.isin(obs.time, held.time)]
    # the held-out set is a union of whole blocks
    assert sum((lab == k).sum() for k in np.unique(held_lab)) == len(held)
    assert block_labels(obs.subset(np.zeros(len(obs), bool)), 1e5).size == 0
    with pytest.raises(ValueError, match="block"):
        block_labels(obs, 0.0)
