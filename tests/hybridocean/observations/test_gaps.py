"""Gap masks: missing fractions, spatial correlation of clouds, time correlation, seeding, bad input."""
import math

import numpy as np
import pytest

from hybridocean.observations.gaps import (
    cloud_mask, gaussian_random_field, missing_days, random_pixel_mask,
)


def _efold_length(mask):
    """Lag [pixels] where the gap indicator's autocorrelation (periodic, frame-averaged) falls to 1/e,
    linearly interpolated, averaged over the x and y directions."""
    a = mask.astype(float)
    a -= a.mean(axis=(1, 2), keepdims=True)
    c = np.fft.irfft2(np.abs(np.fft.rfft2(a)) ** 2, s=a.shape[1:]).mean(0)
    out = []
    for r in (c[0, :] / c[0, 0], c[:, 0] / c[0, 0]):
        k = int(np.argmax(r < math.exp(-1)))
        out.append(k - 1 + (r[k - 1] - math.exp(-1)) / (r[k - 1] - r[k]))
    return float(np.mean(out))


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 1.0])
def test_missing_fraction_of_every_frame(fraction):
    shape = (3, 40, 50)
    for mask in (random_pixel_mask(shape, fraction, rng=1), cloud_mask(shape, fraction, 3.0, rng=1)):
        assert mask.shape == shape and mask.dtype == bool
        # each frame hides exactly round(f * ny * nx) pixels: the fraction is right to 0.5 pixel
        missing = (~mask).reshape(3, -1).mean(axis=1)
        assert np.all(np.abs(missing - fraction) <= 0.5 / (40 * 50))


@pytest.mark.parametrize("length", [3.0, 6.0])
def test_cloud_correlation_length_matches_the_arcsine_law(length):
    mask = cloud_mask((4, 128, 128), 0.5, length, rng=2)
    measured = _efold_length(mask)
    # arcsine law: the indicator correlation (2/pi) asin(exp(-r^2 / 2 l^2)) is 1/e at r = 1.0998 l.
    # The estimate from 4 frames of ~20-40 lengths a side scatters: measured 1.00 .. 1.16 l over
    # 10 draws (l = 3, 6); window 1.0998 l +- 15 %. White pixels (random_pixel_mask) give 0.63 px.
    assert abs(measured / (1.0998 * length) - 1) < 0.15, measured
    assert _efold_length(random_pixel_mask((4, 128, 128), 0.5, rng=2)) < 1.0 < measured


def test_time_correlation_of_the_cloud_field():
    z = gaussian_random_field((2, 128, 128), 2.0, rng=3, time_correlation=3.0)
    lag1 = float(np.corrcoef(z[0].ravel(), z[1].ravel())[0, 1])
    # AR(1): corr = exp(-1/3) = 0.717; ~650 independent blobs of length 2 on 128^2 pixels give a
    # sampling std ~(1 - a^2) / sqrt(650) ~ 0.02: 0.06 is 3 sigma
    assert abs(lag1 - math.exp(-1 / 3)) < 0.06
    assert np.allclose(z.std(axis=(1, 2)), 1.0, atol=0.05)  # AR(1) of unit-variance frames stays ~unit
    indep = gaussian_random_field((2, 128, 128), 2.0, rng=3)
    assert abs(np.corrcoef(indep[0].ravel(), indep[1].ravel())[0, 1]) < 0.06  # 3 sigma around 0


def test_missing_days_and_seeding():
    m = missing_days((10, 4, 5), 0.3, rng=4)
    days_off = ~m.any(axis=(1, 2))
    assert days_off.sum() == 3 and m[~days_off].all()
    np.testing.assert_array_equal(missing_days((5, 2, 2), 0.0, rng=0, days=[1, 3]).any(axis=(1, 2)), [1, 0, 1, 0, 1])
    a = cloud_mask((2, 16, 16), 0.4, 2.0, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, cloud_mask((2, 16, 16), 0.4, 2.0, rng=5))  # int seed == Generator
    assert (a != cloud_mask((2, 16, 16), 0.4, 2.0, rng=6)).any()


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: random_pixel_mask((2, 3, 4), 1.5, rng=0), ValueError, "missing_fraction"),
        (lambda: random_pixel_mask((2, 3), 0.5, rng=0), ValueError, "shape"),
        (lambda: random_pixel_mask((2, 3, 4), 0.5, rng=0.5), TypeError, "rng"),
        (lambda: cloud_mask((2, 3, 4), 0.5, -1.0, rng=0), ValueError, "length"),
        (lambda: cloud_mask((2, 3, 4), 0.5, 1.0, rng=0, time_correlation=-2.0), ValueError, "time_correlation"),
        (lambda: missing_days((2, 3, 4), 0.5, rng=0, days=[2]), ValueError, "days"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
