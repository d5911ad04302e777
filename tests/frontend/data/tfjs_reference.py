"""The tf.data fixture written by TensorFlow.js (tests/fixtures/make_tfjs_data_fixtures.js) and
a comparison of kiln's elements with its encoded values."""
import json
import math
from pathlib import Path

import numpy as np

from kiln.runtime.tensor import Tensor

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "tfjs_data"
DATA = json.loads((FOLDER / "data.json").read_text())

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode_number(x):
    """A size or number from the fixture (non-finite numbers are stored as strings)."""
    return _SPECIAL.get(x, x) if isinstance(x, str) else x


def assert_matches(actual, expected, path="element"):
    """actual (kiln's element) equals expected (TF.js's, as encoded in data.json)."""
    if isinstance(expected, dict) and set(expected) == {"tensor"}:
        ref = expected["tensor"]
        assert isinstance(actual, Tensor), f"{path}: expected a Tensor, got {actual!r}"
        assert actual.shape == ref["shape"], f"{path}: shape {actual.shape} != {ref['shape']}"
        assert actual.dtype == ref["dtype"], f"{path}: dtype {actual.dtype} != {ref['dtype']}"
        np.testing.assert_array_equal(np.asarray(actual.arraySync(), dtype=np.float64),
                                      np.asarray(ref["values"], dtype=np.float64), err_msg=path)
    elif isinstance(expected, dict) and set(expected) == {"undefined"}:
        assert actual is None, f"{path}: expected None (TF.js undefined), got {actual!r}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {actual!r}"
        assert list(actual) == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for k in expected:
            assert_matches(actual[k], expected[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, (list, tuple)), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: {len(actual)} items != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_matches(a, e, f"{path}[{i}]")
    elif isinstance(expected, str) and expected in _SPECIAL and not isinstance(actual, str):
        value = _SPECIAL[expected]
        assert (math.isnan(actual) if math.isnan(value) else actual == value), \
            f"{path}: {actual!r} != {expected}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        assert isinstance(actual, str) == isinstance(expected, str), \
            f"{path}: {actual!r} and {expected!r} differ in type"
