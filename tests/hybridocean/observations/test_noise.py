"""The one random-generator helper of hybridocean.observations (noise.as_generator) and its users."""
import numpy as np
import pytest

from hybridocean.observations import gaps, nadir, noise
from hybridocean.observations.noise import as_generator, white_noise


def test_one_helper_shared_by_every_module():
    assert gaps.as_generator is noise.as_generator is nadir.as_generator


def test_generator_passes_through_and_seeds_reproduce():
    g = np.random.default_rng(3)
    assert as_generator(g) is g
    a, b = as_generator(7).random(4), as_generator(np.int64(7)).random(4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(7).random(4))
    assert isinstance(as_generator(None), np.random.Generator)  # fresh entropy
    # the users agree: an int seed is the same stream everywhere
    np.testing.assert_array_equal(white_noise(1.0, (5,), 11), np.random.default_rng(11).standard_normal(5))
    m1 = gaps.random_pixel_mask((2, 4, 4), 0.5, 11)
    np.testing.assert_array_equal(m1, gaps.random_pixel_mask((2, 4, 4), 0.5, np.random.default_rng(11)))
    assert gaps.random_pixel_mask((2, 4, 4), 0.5, None).sum() == 16  # None accepted by gaps too now


@pytest.mark.parametrize("bad", [True, 1.5, "3", [1, 2], np.random.RandomState(0)])
def test_bad_seed_names_the_argument(bad):
    with pytest.raises(TypeError, match=r"rng must be an int seed, None or a numpy.random.Generator, got"):
        as_generator(bad)
    with pytest.raises(TypeError, match=r"^seed must be an int seed"):
        as_generator(bad, name="seed")
    with pytest.raises(TypeError, match=r"rng must be an int seed"):
        gaps.random_pixel_mask((1, 2, 2), 0.5, bad)
    with pytest.raises(TypeError, match=r"rng must be an int seed"):
        white_noise(1.0, (3,), bad)
