"""Shared fixtures: devices to test on, float64 default, the optional real-data folder."""
from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (shared, noisy 2-core machines), and in CI a fixed
# example sequence (derandomize) so a red build is reproducible; locally examples are random.
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, derandomize=True
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"

# Keep CI on 2 cores deterministic-ish and avoid oversubscription with xdist workers.
torch.set_num_threads(int(os.environ.get("HYBRIDOCEAN_TEST_THREADS", "1")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Collect the session's garbage now, then freeze the surviving heap (``gc.freeze``).

    Why: after the last test, pytest's unraisable-exception cleanup runs ``gc.collect()`` five
    times, and each full collection walks every live object (torch, jax, xarray, hypothesis:
    ~0.5 s each on a busy 2-core machine, more as the heap grows) and also runs jax's
    ``_xla_gc_callback``. Under pytest-xdist that cleanup happens after the worker has reported
    ``workerfinished``, and execnet gives a finishing worker only 5 s before it SIGINTs it
    (``WorkerGateway._terminate_execution``): the KeyboardInterrupt lands inside jax's gc
    callback and is printed as a ``PytestUnraisableExceptionWarning`` traceback at the end of
    ``make test``. This hook runs before ``workerfinished`` is sent (xdist sends it after the
    non-wrapper ``pytest_sessionfinish`` hooks), so the one real collection happens off that
    clock -- any exception it finds is still reported by pytest's hook -- and the frozen heap
    makes the later collections cost nothing.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Every device available: ``cpu`` always, ``cuda`` when present."""
    return torch.device(request.param)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-data folder {SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture
def test_data() -> Path:
    """Small data files shipped with the tests (see tests/data/README.md)."""
    return TEST_DATA
