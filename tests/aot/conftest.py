"""Libraries compiled once per session (LLVM compiles dominate the AOT tests' time)."""
import pytest

from kiln.frontend.aot import compile_model
from tests.aot.helpers import mlp, multi_input


@pytest.fixture(scope="session")
def w2(tmp_path_factory):
    """(model, folder) of W2 compiled at batch 1 as libw2.so."""
    model = mlp()
    out = tmp_path_factory.mktemp("w2")
    compile_model(model, out, name="w2")
    return model, out


@pytest.fixture(scope="session")
def multi(tmp_path_factory):
    """(model, folder) of the two-input, two-output model at batch 2 as libmulti.so."""
    model = multi_input()
    out = tmp_path_factory.mktemp("multi")
    compile_model(model, out, name="multi", batch=2)
    return model, out
