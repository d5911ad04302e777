"""Shared test helpers: hypothesis strategies for shapes and arrays, and numeric comparisons.

numpy is the reference: expected values are computed in float64 from the very float32 inputs
kiln receives, then compared with a float32 tolerance (or in float32 ulps for functions whose
float32 result is only accurate to a few ulps).
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kiln as tf

RTOL = 1e-5
ATOL = 1e-6

F32 = np.float32
I32 = np.int32


# ---- shapes ----------------------------------------------------------------------------
def shapes(min_rank=0, max_rank=4, min_side=0, max_side=5):
    """A shape as a tuple of ints."""
    return st.lists(st.integers(min_side, max_side), min_size=min_rank,
                    max_size=max_rank).map(tuple)


@st.composite
def broadcast_shapes(draw, n=2, max_rank=4, min_side=0, max_side=5):
    """`n` operand shapes that broadcast together, covering every legal pattern.

    An output shape is drawn first; each operand then drops any number of leading axes and
    replaces any of the remaining sizes by 1. Sizes 0 and 1 occur in the output itself.
    """
    out = draw(shapes(0, max_rank, min_side, max_side))
    result = []
    for _ in range(n):
        drop = draw(st.integers(0, len(out)))
        result.append(tuple(1 if draw(st.booleans()) else d for d in out[drop:]))
    return tuple(result)


# ---- values ----------------------------------------------------------------------------
def floats(lo=-10.0, hi=10.0, special=False):
    """float32 elements in [lo, hi]; with special=True also NaN, +-inf and -0.0."""
    base = st.floats(lo, hi, width=32, allow_nan=False, allow_infinity=False)
    if not special:
        return base
    return st.one_of(base, st.sampled_from([np.nan, np.inf, -np.inf, -0.0, 0.0]))


def ints(lo=-20, hi=20):
    return st.integers(lo, hi)


def arrays(dtype, shape, elements=None):
    """A numpy array of `dtype` ('float32' | 'int32' | 'bool') and `shape`."""
    if elements is None:
        elements = {"float32": floats(), "int32": ints(), "bool": st.booleans()}[dtype]
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def array_for(draw, dtype, shape, **kw):
    return draw(arrays(dtype, shape, **kw))


def np_dtype(dtype: str):
    return np.dtype(dtype)


# ---- comparisons ------------------------------------------------------------------------
def result_of(t) -> np.ndarray:
    """The values of kiln tensor t as a numpy array of its shape (checks the metadata too)."""
    assert isinstance(t, tf.Tensor), f"expected a kiln Tensor, got {type(t).__name__}"
    data = t.dataSync()
    assert data.dtype == np.dtype(t.dtype)
    return data.reshape(t.shape)


def assert_tensor(t, expected, dtype=None, rtol=RTOL, atol=ATOL):
    """t has expected's shape, the given dtype (default: expected's kiln dtype), and values
    equal to expected (floats within rtol/atol, NaN where expected is NaN, infinities exact)."""
    expected = np.asarray(expected)
    if dtype is None:
        dtype = {"f": "float32", "i": "int32", "u": "int32", "b": "bool"}[expected.dtype.kind]
    assert t.dtype == dtype, f"dtype {t.dtype}, expected {dtype}"
    assert t.shape == list(expected.shape), f"shape {t.shape}, expected {list(expected.shape)}"
    actual = result_of(t)
    if dtype == "float32":
        # the float64 reference rounded to float32: a value beyond float32's range is inf
        with np.errstate(over="ignore"):
            expected = expected.astype(np.float32)
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected.astype(np.dtype(dtype)))


def _ordered(a: np.ndarray) -> np.ndarray:
    """float32 bit patterns mapped to integers that are ordered like the floats."""
    i = np.ascontiguousarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def ulp_distance(actual, expected) -> np.ndarray:
    """How many float32 values lie between actual and expected (rounded to float32).
    NaN vs NaN is 0; NaN vs a number is a huge distance; -0.0 and 0.0 are equal."""
    a = np.asarray(actual, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.asarray(expected, dtype=np.float64).astype(np.float32)
    dist = np.abs(_ordered(a) - _ordered(e))
    both_nan = np.isnan(a) & np.isnan(e)
    one_nan = np.isnan(a) ^ np.isnan(e)
    dist = np.where(both_nan, 0, dist)
    return np.where(one_nan, 2**40, dist)


def assert_ulp(t, expected, max_ulp, dtype="float32"):
    """t's values are within max_ulp float32 ulps of expected (computed in float64)."""
    expected = np.asarray(expected)
    assert t.dtype == dtype
    assert t.shape == list(expected.shape)
    actual = result_of(t)
    dist = ulp_distance(actual, expected)
    if dist.size and dist.max() > max_ulp:
        worst = np.unravel_index(np.argmax(dist), dist.shape)
        raise AssertionError(
            f"{int(dist.max())} ulps > {max_ulp} at {worst}: got {actual[worst]!r}, "
            f"expected {np.float32(expected[worst])!r} ({expected[worst]!r})")


def raises(exc, *words):
    """pytest.raises(exc) whose message contains every word (matched literally)."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(str(w))})" for w in words)
    return pytest.raises(exc, match=pattern)


def np_tensor(array) -> "tf.Tensor":
    return tf.tensor(np.asarray(array))
