"""Tensor creation: tf.tensor and its ranked forms (TF.js dtype inference), zeros, ones, fill,
zerosLike, onesLike, eye, range, linspace, oneHot."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, floats, ints, raises, shapes

RANKED = [tf.tensor1d, tf.tensor2d, tf.tensor3d, tf.tensor4d, tf.tensor5d, tf.tensor6d]


# ---- tf.tensor ----------------------------------------------------------------------------
@settings(max_examples=40)
@given(data=st.data())
def test_nested_lists_of_numbers_are_float32(data):
    shape = data.draw(shapes(max_rank=5, max_side=4), label="shape")
    use_ints = data.draw(st.booleans(), label="ints")
    x = data.draw(arrays("int32" if use_ints else "float32", shape), label="x")
    nested = x.tolist()            # Python ints or floats, nested to the rank
    t = tf.tensor(nested)
    assert t.dtype == "float32"    # TF.js infers float32 for every JS number
    # (a list cannot show sizes after a 0: [] is shape [0] whatever x's shape was)
    expected = np.array(nested, np.float32)
    assert t.shape == list(expected.shape) and t.rank == expected.ndim
    assert t.size == expected.size
    assert_tensor(t, expected)


@settings(max_examples=20)
@given(x=arrays("bool", shapes(max_rank=4, min_side=1, max_side=4)))
def test_nested_lists_of_booleans_are_bool(x):
    t = tf.tensor(x.tolist())
    assert_tensor(t, x, "bool")


@pytest.mark.parametrize("np_dtype,kiln_dtype", [
    (np.float64, "float32"), (np.float32, "float32"), (np.float16, "float32"),
    (np.int64, "int32"), (np.int32, "int32"), (np.int16, "int32"), (np.int8, "int32"),
    (np.uint8, "int32"), (np.bool_, "bool"),
])
def test_numpy_arrays_keep_their_kind(np_dtype, kiln_dtype):
    x = np.array([[0, 1, 2], [3, 4, 5]]).astype(np_dtype)
    t = tf.tensor(x)
    assert_tensor(t, x.astype(kiln_dtype), kiln_dtype)


def test_numpy_scalars():
    assert_tensor(tf.tensor(np.float64(2.5)), np.float32(2.5))
    assert_tensor(tf.tensor(np.int64(7)), np.int32(7))
    assert_tensor(tf.tensor(np.bool_(True)), np.bool_(True))


def test_lists_of_numpy_arrays():
    # as TF.js accepts a list of typed arrays; numpy arrays keep their kind
    rows = [np.array([1, 2], np.int64), np.array([3, 4], np.int64)]
    assert_tensor(tf.tensor(rows), np.array([[1, 2], [3, 4]], np.int32))
    rows = [[np.array([1.5, 2.0])], [np.array([3.0, 4.0])]]
    assert_tensor(tf.tensor(rows), np.array([[[1.5, 2.0]], [[3.0, 4.0]]], np.float32))
    with raises(ValueError, "tensor", "ragged"):
        tf.tensor([np.zeros(2), np.zeros(3)])


def test_tensor_does_not_alias_the_numpy_input():
    x = np.array([1.0, 2.0], np.float32)
    t = tf.tensor(x)
    x[0] = 99
    assert_tensor(t, np.array([1, 2], np.float32))


@settings(max_examples=30)
@given(data=st.data())
def test_flat_values_with_shape(data):
    shape = data.draw(shapes(max_rank=6, max_side=3), label="shape")
    x = data.draw(arrays("float32", shape), label="x")
    t = tf.tensor(x.reshape(-1).tolist(), list(shape))
    assert_tensor(t, x)
    assert_tensor(tf.tensor(x.reshape(-1), list(shape)), x)


def test_explicit_dtype():
    assert_tensor(tf.tensor([1.7, -1.7, 2.0], None, "int32"), np.array([1, -1, 2], np.int32))
    assert_tensor(tf.tensor([1, 0, 2], None, "bool"), np.array([True, False, True]))
    assert_tensor(tf.tensor([True, False], None, "float32"), np.array([1, 0], np.float32))
    assert_tensor(tf.tensor(np.array([1.5, 2.5]), None, "int32"), np.array([1, 2], np.int32))


def test_empty_values():
    assert_tensor(tf.tensor([]), np.zeros([0], np.float32))
    assert_tensor(tf.tensor([[]]), np.zeros([1, 0], np.float32))
    assert_tensor(tf.tensor([], [0, 3]), np.zeros([0, 3], np.float32))


def test_scalar():
    assert_tensor(tf.scalar(3), np.float32(3))
    assert_tensor(tf.scalar(3, "int32"), np.int32(3))
    assert_tensor(tf.scalar(True), np.bool_(True))
    assert tf.scalar(1.5).shape == [] and tf.scalar(1.5).rank == 0 and tf.scalar(1.5).size == 1
    with raises(ValueError, "scalar"):
        tf.scalar([1, 2])


@pytest.mark.parametrize("rank", range(1, 7))
def test_ranked_constructors(rank):
    make = RANKED[rank - 1]
    shape = [2] * rank
    x = np.arange(2 ** rank, dtype=np.float32).reshape(shape)
    assert_tensor(make(x.tolist()), x)
    if rank == 1:      # TF.js: tensor1d(values, dtype?) has no shape argument
        assert_tensor(make(x.tolist(), "int32"), x.astype(np.int32))
    else:
        assert_tensor(make(x.reshape(-1).tolist(), shape), x)
        assert_tensor(make(x.reshape(-1).tolist(), shape, "int32"), x.astype(np.int32))
    wrong = np.zeros([2] * (rank + 1)).tolist()
    with raises(ValueError, f"tensor{rank}d", f"rank {rank}"):
        make(wrong)


def test_tensor_rejects_bad_values():
    with raises(ValueError, "tensor", "[2, 2]", "4", "3"):
        tf.tensor([1, 2, 3], [2, 2])
    with raises(ValueError, "tensor", "ragged"):
        tf.tensor([[1, 2], [3]])
    with raises(TypeError, "tensor", "string"):
        tf.tensor(["a", "b"])
    with raises(TypeError, "tensor", "None"):
        tf.tensor([1, None])
    with raises(TypeError, "complex64"):
        tf.tensor([1, 2], None, "complex64")


# ---- zeros, ones, fill, *Like ---------------------------------------------------------------
@settings(max_examples=20)
@given(shape=shapes(max_rank=4), dtype=st.sampled_from(["float32", "int32", "bool"]))
def test_zeros_and_ones(shape, dtype):
    assert_tensor(tf.zeros(list(shape), dtype), np.zeros(shape, dtype), dtype)
    assert_tensor(tf.ones(list(shape), dtype), np.ones(shape, dtype), dtype)


def test_zeros_and_ones_default_to_float32():
    assert_tensor(tf.zeros([2, 3]), np.zeros([2, 3], np.float32))
    assert_tensor(tf.ones([]), np.float32(1))


@settings(max_examples=20)
@given(shape=shapes(max_rank=3), value=floats(-1e6, 1e6))
def test_fill(shape, value):
    assert_tensor(tf.fill(list(shape), value), np.full(shape, value, np.float32))


def test_fill_dtypes():
    assert_tensor(tf.fill([2], 3), np.array([3, 3], np.float32))   # numbers: float32, as TF.js
    assert_tensor(tf.fill([2], 3, "int32"), np.array([3, 3], np.int32))
    assert_tensor(tf.fill([2], True), np.array([True, True]))
    assert_tensor(tf.fill([2], np.nan), np.array([np.nan, np.nan], np.float32))


@settings(max_examples=20)
@given(x=st.sampled_from(["float32", "int32", "bool"]).flatmap(lambda d: arrays(d, shapes())))
def test_zerosLike_and_onesLike_keep_shape_and_dtype(x):
    dtype = "bool" if x.dtype == bool else x.dtype.name
    t = tf.tensor(x)
    assert_tensor(tf.zerosLike(t), np.zeros_like(x), dtype)
    assert_tensor(tf.onesLike(t), np.ones_like(x), dtype)
    assert_tensor(t.zerosLike(), np.zeros_like(x), dtype)


def test_creation_rejects_negative_sizes():
    with raises(ValueError, "zeros", "-1"):
        tf.zeros([2, -1])
    with raises(ValueError, "fill", "-3"):
        tf.fill([-3], 1)


# ---- eye ---------------------------------------------------------------------------------
@settings(max_examples=20)
@given(rows=st.integers(0, 6), cols=st.one_of(st.none(), st.integers(0, 6)),
       batch=st.one_of(st.none(), shapes(1, 2, 1, 3)),
       dtype=st.sampled_from(["float32", "int32"]))
def test_eye(rows, cols, batch, dtype):
    expected = np.eye(rows, cols, dtype=dtype)
    if batch:
        expected = np.broadcast_to(expected, tuple(batch) + expected.shape)
    assert_tensor(tf.eye(rows, cols, list(batch) if batch else None, dtype), expected, dtype)


# ---- range and linspace ------------------------------------------------------------------
@settings(max_examples=40)
@given(start=st.integers(-20, 20), stop=st.integers(-20, 20),
       step=st.integers(-5, 5).filter(lambda s: s != 0))
def test_range_with_integer_arguments(start, stop, step):
    if stop < start and step == 1:
        # TF.js: a default (or 1) step counts down when stop < start
        expected = np.arange(start, stop, -1)
    else:
        expected = np.arange(start, stop, step)
    assert_tensor(tf.range(start, stop, step), expected.astype(np.float32))
    assert_tensor(tf.range(start, stop, step, "int32"), expected.astype(np.int32))


@settings(max_examples=30)
@given(start=floats(-10, 10), stop=floats(-10, 10), step=st.sampled_from([0.1, 0.25, 0.3, -0.3, 1.5, -2.0]))
def test_range_with_fractional_step(start, stop, step):
    n = max(0, math.ceil((stop - start) / step))
    expected = start + step * np.arange(n, dtype=np.float64)
    assert_tensor(tf.range(start, stop, step), expected, "float32", rtol=1e-5, atol=1e-5)


def test_range_examples():
    assert_tensor(tf.range(0, 5), np.array([0, 1, 2, 3, 4], np.float32))
    assert_tensor(tf.range(5, 0), np.array([5, 4, 3, 2, 1], np.float32))   # TF.js counts down
    assert_tensor(tf.range(5, 0, 2), np.zeros([0], np.float32))
    assert_tensor(tf.range(0, 0), np.zeros([0], np.float32))
    assert_tensor(tf.range(0, 5, 2, "int32"), np.array([0, 2, 4], np.int32))
    with raises(ValueError, "range", "step"):
        tf.range(0, 5, 0)


@settings(max_examples=30)
@given(start=floats(-100, 100), stop=floats(-100, 100), num=st.integers(1, 50))
def test_linspace(start, stop, num):
    expected = np.linspace(np.float64(start), np.float64(stop), num)
    assert_tensor(tf.linspace(start, stop, num), expected, "float32", rtol=1e-5, atol=1e-4)


def test_linspace_rejects_zero_samples():
    with raises(ValueError, "linspace"):
        tf.linspace(0, 1, 0)


# ---- oneHot ------------------------------------------------------------------------------
@settings(max_examples=30)
@given(indices=arrays("int32", shapes(max_rank=3), ints(-2, 7)), depth=st.integers(1, 6),
       on=st.integers(-3, 3), off=st.integers(-3, 3))
def test_oneHot(indices, depth, on, off):
    hit = indices[..., None] == np.arange(depth)       # out-of-range indices give all off
    expected = np.where(hit, on, off).astype(np.int32)
    assert_tensor(tf.oneHot(tf.tensor(indices), depth, on, off), expected)


def test_oneHot_defaults_and_dtype():
    out = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3)
    assert_tensor(out, np.array([[1, 0, 0], [0, 0, 1]], np.int32))
    out = tf.oneHot(tf.tensor1d([1], "int32"), 3, 1, 0, "float32")
    assert_tensor(out, np.array([[0, 1, 0]], np.float32))
    with raises(ValueError, "oneHot", "depth"):
        tf.oneHot(tf.tensor1d([1], "int32"), 0)
