"""softmax and logSoftmax against numpy, over any axis, stable for large logits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, floats, raises, shapes


def np_log_softmax(x, axis):
    x = x.astype(np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@settings(max_examples=40)
@given(data=st.data())
def test_softmax_and_logSoftmax(data):
    shape = data.draw(shapes(1, 4, 1, 6), label="shape")
    scale = data.draw(st.sampled_from([1.0, 100.0, 1e4]), label="scale")
    x = data.draw(arrays("float32", shape, floats(-scale, scale)), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    expected = np_log_softmax(x, axis)
    assert_tensor(tf.logSoftmax(tf.tensor(x), axis), expected, "float32", rtol=1e-5, atol=1e-5)
    assert_tensor(tf.softmax(tf.tensor(x), axis), np.exp(expected), "float32", rtol=1e-5,
                  atol=1e-6)


def test_default_axis_is_the_last():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], np.float32)
    assert_tensor(tf.softmax(tf.tensor(x)), np.exp(np_log_softmax(x, -1)))
    assert_tensor(tf.logSoftmax(tf.tensor(x)), np_log_softmax(x, -1))


def test_large_logits_do_not_overflow():
    x = np.array([[1000.0, 0.0, -1000.0], [3e38, 3e38, 0.0], [-1e30, -1e30, -1e30]], np.float32)
    assert_tensor(tf.softmax(tf.tensor(x)), np.exp(np_log_softmax(x, -1)))
    assert_tensor(tf.logSoftmax(tf.tensor(x)), np_log_softmax(x, -1))
    assert np.all(np.isfinite(tf.logSoftmax(tf.tensor(x[:1])).dataSync()[:2]))


def test_int32_logits_give_float32():
    out = tf.softmax(tf.tensor([1, 1], None, "int32"))
    assert_tensor(out, np.array([0.5, 0.5], np.float32))


def test_softmax_rejects_scalars_and_bad_axes():
    with raises(ValueError, "softmax", "axis"):
        tf.softmax(tf.ones([2, 3]), 2)
    with raises(ValueError, "logSoftmax", "axis"):
        tf.logSoftmax(tf.ones([2, 3]), -3)
