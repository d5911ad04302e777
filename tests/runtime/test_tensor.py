"""The Tensor API: metadata, data access (sync and async), clone, dispose, method chaining,
Python operators, numpy interop, indexing, and tf.variable with assign."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, floats, raises, shapes


def test_metadata():
    x = tf.tensor([[1, 2, 3], [4, 5, 6]])
    assert x.shape == [2, 3] and isinstance(x.shape, list)
    assert x.dtype == "float32" and x.rank == 2 and x.size == 6
    s = tf.scalar(1, "int32")
    assert s.shape == [] and s.rank == 0 and s.size == 1 and s.dtype == "int32"
    e = tf.zeros([3, 0])
    assert e.size == 0 and e.rank == 2


def test_shape_is_a_copy():
    x = tf.ones([2, 3])
    x.shape.append(7)
    assert x.shape == [2, 3]


def test_dataSync_is_a_flat_copy():
    x = tf.tensor([[1, 2], [3, 4]])
    data = x.dataSync()
    assert isinstance(data, np.ndarray) and data.shape == (4,) and data.dtype == np.float32
    data[0] = 100
    np.testing.assert_array_equal(x.dataSync(), [1, 2, 3, 4])


@pytest.mark.parametrize("dtype,values", [
    ("float32", [[1.5, 2.0], [3.0, -4.25]]), ("int32", [[1, 2], [3, -4]]),
    ("bool", [[True, False], [False, True]])])
def test_arraySync_gives_nested_python_lists(dtype, values):
    out = tf.tensor(values, None, dtype).arraySync()
    assert out == values
    assert type(out) is list and type(out[0]) is list
    assert type(out[0][0]) is {"float32": float, "int32": int, "bool": bool}[dtype]


def test_arraySync_of_a_scalar_is_a_number():
    assert tf.scalar(2.5).arraySync() == 2.5
    assert tf.scalar(3, "int32").arraySync() == 3


def test_async_data_and_array():
    x = tf.tensor([[1, 2], [3, 4]], None, "int32")

    async def read():
        return await x.data(), await x.array()

    data, array = asyncio.run(read())
    np.testing.assert_array_equal(data, [1, 2, 3, 4])
    assert data.dtype == np.int32
    assert array == [[1, 2], [3, 4]]


def test_numpy_interop():
    x = tf.tensor([[1, 2], [3, 4]])
    a = np.asarray(x)
    assert a.shape == (2, 2) and a.dtype == np.float32
    a[0, 0] = 9                       # a copy: the tensor is immutable
    assert x.arraySync()[0][0] == 1
    np.testing.assert_array_equal(np.array(x, dtype=np.int64), [[1, 2], [3, 4]])
    assert np.asarray(np.add(x, 1)).tolist() == [[2, 3], [4, 5]]
    assert float(np.sum(np.asarray(x))) == 10


def test_clone_is_independent():
    x = tf.tensor([1, 2, 3])
    y = x.clone()
    assert y is not x and y.shape == x.shape and y.dtype == x.dtype
    x.dispose()
    assert not y.isDisposed
    np.testing.assert_array_equal(y.dataSync(), [1, 2, 3])


def test_dispose_and_isDisposed():
    x = tf.ones([2])
    assert x.isDisposed is False
    x.dispose()
    assert x.isDisposed is True
    assert "disposed" in repr(x)


def test_method_chaining():
    x = tf.tensor([[1, -2], [3, -4]])
    y = tf.tensor([1, 1])
    out = x.add(y).relu().sum()
    assert_tensor(out, np.float32(6))
    out = x.abs().mean(1).reshape([1, 2]).transpose().squeeze()
    assert_tensor(out, np.array([1.5, 3.5], np.float32))
    out = x.matMul(x).flatten().max()
    assert_tensor(out, np.float32(np.max(np.array([[1, -2], [3, -4]]) @ np.array([[1, -2], [3, -4]]))))
    assert_tensor(x.toInt().asType("bool").cast("int32"), np.array([[1, 1], [1, 1]], np.int32))
    assert_tensor(x.concat([x], 1), np.array([[1, -2, 1, -2], [3, -4, 3, -4]], np.float32))


def test_every_tfjs_chained_method_exists():
    # tfjs-core/src/public/chained_ops, minus the ops outside the foundation (convolutions,
    # pooling, FFTs, ...)
    names = """abs acos acosh add all any argMax argMin as1D as2D as3D as4D as5D asScalar asType
        asin asinh atan atan2 atanh broadcastTo cast ceil clipByValue concat cos cosh cumsum div
        divNoNan dot elu equal erf exp expandDims expm1 flatten floor floorDiv gather greater
        greaterEqual isFinite isInf isNaN leakyRelu less lessEqual log log1p logSigmoid
        logSoftmax logSumExp logicalAnd logicalNot logicalOr logicalXor matMul max maximum mean
        min minimum mod mul neg norm notEqual oneHot onesLike pad pow prelu prod reciprocal relu
        relu6 reshape reshapeAs reverse round rsqrt selu sigmoid sign sin sinh slice softmax
        softplus split sqrt square squaredDifference squeeze stack step stridedSlice sub sum tan
        tanh tile toBool toFloat toInt transpose unstack where zerosLike""".split()
    assert [n for n in names if not callable(getattr(tf.Tensor, n, None))] == []


def test_chained_shape_helpers_and_where():
    x = tf.tensor([1, 2, 3, 4, 5, 6])
    assert x.as5D(1, 1, 2, 3, 1).shape == [1, 1, 2, 3, 1]
    assert x.reshapeAs(tf.zeros([3, 2])).shape == [3, 2]
    # TF.js: x.where(condition, other) is where(condition, x, other)
    cond = tf.tensor([True, False, True, False, True, False])
    assert_tensor(x.where(cond, tf.zeros([6])), np.array([1, 0, 3, 0, 5, 0], np.float32))


@settings(max_examples=20)
@given(a=arrays("float32", (2, 3), floats(-5, 5)), b=arrays("float32", (3,), floats(0.5, 5)))
def test_python_operators(a, b):
    x, y = tf.tensor(a), tf.tensor(b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_tensor(x + y, a64 + b64)
    assert_tensor(x - y, a64 - b64)
    assert_tensor(x * y, a64 * b64)
    assert_tensor(x / y, a64 / b64)
    assert_tensor(-x, -a64)
    assert_tensor(2 - x, 2 - a64)
    assert_tensor(1 + x, 1 + a64)
    assert_tensor(3 * x, 3 * a64)
    assert_tensor(1 / y, 1 / b64)
    assert_tensor(x @ tf.tensor(a.T.copy()), a64 @ a64.T, rtol=1e-5, atol=1e-5)
    assert_tensor(x < y, a < b)
    assert_tensor(x <= y, a <= b)
    assert_tensor(x > y, a > b)
    assert_tensor(x >= y, a >= b)
    assert_tensor(x == y, a == b)
    assert_tensor(x != y, a != b)
    assert_tensor(x ** 2, a64 ** 2)
    assert_tensor(abs(x), np.abs(a64))


def test_operators_follow_tfjs_dtypes():
    i = tf.tensor([7, -7], None, "int32")
    assert_tensor(i / tf.tensor([2, 2], None, "int32"), np.array([3, -4], np.int32))
    assert_tensor(i // tf.tensor([2, 2], None, "int32"), np.array([3, -4], np.int32))
    assert_tensor(i % tf.tensor([3, 3], None, "int32"), np.array([1, 2], np.int32))
    assert_tensor(i + 1, np.array([8, -6], np.float32))     # a Python number is float32
    b = tf.tensor([True, False])
    assert_tensor(b & tf.tensor([True, True]), np.array([True, False]))
    assert_tensor(b | tf.tensor([False, False]), np.array([True, False]))
    assert_tensor(b ^ tf.tensor([True, True]), np.array([False, True]))
    assert_tensor(~b, np.array([False, True]))


def test_truth_value_and_len():
    assert bool(tf.scalar(1)) is True and bool(tf.tensor([0])) is False
    with raises(ValueError, "ambiguous"):
        bool(tf.ones([2]))
    assert len(tf.ones([4, 2])) == 4
    with raises(TypeError, "scalar"):
        len(tf.scalar(1))


@settings(max_examples=30)
@given(x=arrays("float32", shapes(2, 3, 1, 5)), data=st.data())
def test_indexing_matches_numpy(x, data):
    t = tf.tensor(x)
    d0 = x.shape[0]
    i = data.draw(st.integers(-d0, d0 - 1), label="i")
    start = data.draw(st.one_of(st.none(), st.integers(-6, 6)), label="start")
    stop = data.draw(st.one_of(st.none(), st.integers(-6, 6)), label="stop")
    step = data.draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, -2])), label="step")
    for key in [i, (i, 0), slice(start, stop, step), (slice(start, stop, step), -1),
                (Ellipsis, 0), (None, i), (slice(None), None, Ellipsis)]:
        assert_tensor(t[key], x[key])


def test_indexing_out_of_range_names_the_index():
    with raises(ValueError, "stridedSlice", "5"):
        tf.ones([3, 2])[5]


# ---- variables -----------------------------------------------------------------------------
def test_variable_assign():
    v = tf.variable(tf.tensor([1, 2, 3]), True, "v1")
    assert isinstance(v, tf.Variable) and isinstance(v, tf.Tensor)
    assert v.name == "v1" and v.trainable is True and v.dtype == "float32"
    v.assign(tf.tensor([4, 5, 6]))
    np.testing.assert_array_equal(v.dataSync(), [4, 5, 6])
    assert_tensor(v.add(1), np.array([5, 6, 7], np.float32))


def test_variable_defaults_and_dtype():
    v = tf.variable(tf.zeros([2], "int32"))
    assert v.trainable is True and v.dtype == "int32" and isinstance(v.name, str)
    w = tf.variable(tf.ones([2]), False)
    assert w.trainable is False
    assert tf.variable(tf.ones([2]), True, None, "int32").dtype == "int32"


def test_variable_does_not_alias_its_initial_value():
    x = tf.tensor([1, 2])
    v = tf.variable(x)
    v.assign(tf.tensor([7, 8]))
    np.testing.assert_array_equal(x.dataSync(), [1, 2])


def test_assign_rejects_other_shapes_and_dtypes():
    v = tf.variable(tf.zeros([2, 2]), True, "w")
    with raises(ValueError, "assign", "'w'", "[2, 2]", "[4]"):
        v.assign(tf.zeros([4]))
    with raises(TypeError, "assign", "'w'", "float32", "int32"):
        v.assign(tf.zeros([2, 2], "int32"))
    np.testing.assert_array_equal(v.dataSync(), [0, 0, 0, 0])
