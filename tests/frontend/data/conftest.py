"""These tests count live tensors (tf.memory) before and after: collect the garbage other tests
left (models are reference cycles, freed only by the cyclic collector) first, and keep the
collector from running in the middle of a test and freeing them then."""
import gc

import pytest


@pytest.fixture(autouse=True)
def quiet_garbage_collector():
    gc.collect()
    gc.disable()
    yield
    gc.enable()
