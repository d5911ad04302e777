"""Shape ops against numpy: reshape (with -1), expandDims, squeeze, concat (any axis, many
inputs), stack, unstack, split (a count, or sizes with -1)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, raises, shapes

DTYPES = st.sampled_from(["float32", "int32", "bool"])


@st.composite
def tensor_arrays(draw, min_rank=0, max_rank=4, min_side=0, max_side=4):
    dtype = draw(DTYPES, label="dtype")
    return draw(arrays(dtype, draw(shapes(min_rank, max_rank, min_side, max_side))), label="x")


def kiln_dtype(x):
    return "bool" if x.dtype == bool else x.dtype.name


# ---- reshape ------------------------------------------------------------------------------
@settings(max_examples=40)
@given(x=tensor_arrays(), data=st.data())
def test_reshape_to_any_factorisation(x, data):
    # shuffle the prime factors of the size into a new shape, maybe with one -1
    size = x.size
    factors = []
    n = size
    for p in (2, 3, 5, 7, 11, 13):
        while n > 1 and n % p == 0:
            factors.append(p)
            n //= p
    if n > 1:
        factors.append(n)
    rank = data.draw(st.integers(1, 4), label="rank")
    shape = [1] * rank
    for f in factors:
        shape[data.draw(st.integers(0, rank - 1))] *= f
    if size == 0:
        shape[data.draw(st.integers(0, rank - 1))] = 0
    target = list(shape)
    if size and data.draw(st.booleans(), label="infer"):
        target[data.draw(st.integers(0, rank - 1))] = -1
    out = tf.reshape(tf.tensor(x), target)
    assert_tensor(out, x.reshape(shape), kiln_dtype(x))


def test_reshape_flattens_and_to_scalar():
    x = tf.tensor([[1, 2], [3, 4]])
    assert_tensor(tf.reshape(x, [-1]), np.array([1, 2, 3, 4], np.float32))
    assert_tensor(x.flatten(), np.array([1, 2, 3, 4], np.float32))
    assert_tensor(tf.reshape(tf.tensor([5]), []), np.float32(5))
    assert_tensor(tf.reshape(tf.zeros([0, 3]), [-1, 3]), np.zeros([0, 3], np.float32))


def test_reshape_errors():
    x = tf.ones([2, 3])
    with raises(ValueError, "reshape", "[4, 2]", "[2, 3]"):
        tf.reshape(x, [4, 2])
    with raises(ValueError, "reshape", "-1"):
        tf.reshape(x, [-1, -1])
    with raises(ValueError, "reshape", "[-1, 4]"):
        tf.reshape(x, [-1, 4])
    with raises(ValueError, "reshape", "-2"):
        tf.reshape(x, [-2, -3])


# ---- expandDims, squeeze ------------------------------------------------------------------
@settings(max_examples=30)
@given(x=tensor_arrays(max_rank=4), data=st.data())
def test_expandDims(x, data):
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    assert_tensor(tf.expandDims(tf.tensor(x), axis), np.expand_dims(x, axis), kiln_dtype(x))


def test_expandDims_rejects_out_of_range_axes():
    with raises(ValueError, "expandDims", "axis", "3"):
        tf.expandDims(tf.ones([2, 3]), 3)
    with raises(ValueError, "expandDims", "-4"):
        tf.expandDims(tf.ones([2, 3]), -4)


@settings(max_examples=30)
@given(data=st.data())
def test_squeeze(data):
    shape = data.draw(shapes(0, 5, 0, 3), label="shape")
    x = data.draw(arrays("float32", shape), label="x")
    ones = [i for i, d in enumerate(shape) if d == 1]
    axis = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True)
                               if ones else st.none()), label="axis")
    expected = np.squeeze(x, None if axis is None else tuple(axis))
    assert_tensor(tf.squeeze(tf.tensor(x), axis), expected)


def test_squeeze_rejects_an_axis_that_is_not_1():
    with raises(ValueError, "squeeze", "axis 1", "2"):
        tf.squeeze(tf.ones([1, 2]), [1])


# ---- concat, stack -------------------------------------------------------------------------
@settings(max_examples=40)
@given(data=st.data())
def test_concat_along_any_axis(data):
    base = data.draw(shapes(1, 4, 0, 4), label="shape")
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    dtype = data.draw(DTYPES, label="dtype")
    n = data.draw(st.integers(1, 6), label="n")
    parts = []
    for _ in range(n):
        shape = list(base)
        shape[axis] = data.draw(st.integers(0, 4))
        parts.append(data.draw(arrays(dtype, tuple(shape))))
    out = tf.concat([tf.tensor(p) for p in parts], axis)
    assert_tensor(out, np.concatenate(parts, axis), dtype)


def test_concat_many_inputs():
    parts = [np.full([2, i % 3 + 1], i, np.float32) for i in range(40)]
    assert_tensor(tf.concat([tf.tensor(p) for p in parts], 1), np.concatenate(parts, 1))
    assert_tensor(tf.concat([tf.tensor(p) for p in parts[:1]], 1), parts[0])


def test_concat_errors():
    with raises(ValueError, "concat", "[2, 3]", "[2, 4]"):
        tf.concat([tf.ones([2, 3]), tf.ones([2, 4])], 0)
    with raises(ValueError, "concat", "rank"):
        tf.concat([tf.ones([2, 3]), tf.ones([3])], 0)
    with raises(TypeError, "concat", "int32", "float32"):
        tf.concat([tf.ones([2]), tf.ones([2], "int32")])
    with raises(ValueError, "concat", "axis", "2"):
        tf.concat([tf.ones([2, 3]), tf.ones([2, 3])], 2)
    with raises(ValueError, "concat"):
        tf.concat([])


@settings(max_examples=30)
@given(data=st.data())
def test_stack(data):
    shape = data.draw(shapes(0, 3, 0, 4), label="shape")
    dtype = data.draw(DTYPES, label="dtype")
    n = data.draw(st.integers(1, 5), label="n")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    parts = [data.draw(arrays(dtype, shape)) for _ in range(n)]
    assert_tensor(tf.stack([tf.tensor(p) for p in parts], axis), np.stack(parts, axis), dtype)


def test_stack_rejects_different_shapes():
    with raises(ValueError, "stack", "[3]", "[2]"):
        tf.stack([tf.ones([2]), tf.ones([3])])


# ---- unstack, split ------------------------------------------------------------------------
@settings(max_examples=30)
@given(x=tensor_arrays(min_rank=1), data=st.data())
def test_unstack(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    pieces = tf.unstack(tf.tensor(x), axis)
    assert isinstance(pieces, list) and len(pieces) == x.shape[axis]
    for i, piece in enumerate(pieces):
        assert_tensor(piece, np.take(x, i, axis), kiln_dtype(x))


@settings(max_examples=30)
@given(data=st.data())
def test_split_into_equal_parts(data):
    shape = list(data.draw(shapes(1, 3, 1, 4), label="shape"))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    n = data.draw(st.integers(1, 4), label="n")
    shape[axis] *= n
    x = data.draw(arrays("float32", tuple(shape)), label="x")
    pieces = tf.split(tf.tensor(x), n, axis)
    expected = np.split(x, n, axis)
    assert len(pieces) == n
    for p, e in zip(pieces, expected):
        assert_tensor(p, e)


@settings(max_examples=30)
@given(data=st.data())
def test_split_by_sizes_with_one_inferred(data):
    shape = list(data.draw(shapes(1, 3, 0, 4), label="shape"))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=5), label="sizes")
    shape[axis] = sum(sizes)
    x = data.draw(arrays("int32", tuple(shape)), label="x")
    spec = list(sizes)
    if data.draw(st.booleans(), label="infer"):
        spec[data.draw(st.integers(0, len(spec) - 1))] = -1
    pieces = tf.split(tf.tensor(x), spec, axis)
    expected = np.split(x, np.cumsum(sizes)[:-1], axis)
    assert len(pieces) == len(sizes)
    for p, e in zip(pieces, expected):
        assert_tensor(p, e)


def test_split_errors():
    x = tf.ones([10])
    with raises(ValueError, "split", "3", "10"):
        tf.split(x, 3)
    with raises(ValueError, "split", "[2, 3]", "10"):
        tf.split(x, [2, 3])
    with raises(ValueError, "split", "-1"):
        tf.split(x, [-1, -1])
    with raises(ValueError, "split", "[20, -1]"):
        tf.split(x, [20, -1])
