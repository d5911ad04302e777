"""Test configuration: an isolated compiled-code cache per test session, and hypothesis
defaults (no per-example deadline: the first example of a new signature pays an LLVM compile)."""
import gc
import os
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# Point the disk cache at a fresh folder before kiln is imported, so every run starts cold
# and never depends on (or pollutes) the user's cache.
os.environ.setdefault("KILN_CACHE_DIR", tempfile.mkdtemp(prefix="kiln-test-cache-"))

# too_slow: on a loaded 2-core machine a compile inside a draw can exceed hypothesis's budget
settings.register_profile("kiln", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("KILN_HYPOTHESIS_PROFILE", "kiln"))


@pytest.fixture
def steady_memory():
    """For tests that count live tensors (tf.memory()): collect the garbage of earlier tests
    first and keep the collector from freeing more of it while the test counts."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()
