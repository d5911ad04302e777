"""Reductions against numpy over random shapes (empty ones included) and random axis lists
(negative, unsorted, empty, None) with and without keepDims."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, floats, ints, raises, shapes


@st.composite
def axes_for(draw, rank):
    """None, one axis, or a list of distinct axes, each possibly negative."""
    kind = draw(st.sampled_from(["none", "int", "list"]))
    if kind == "none":
        return None
    if kind == "int" and rank > 0:
        return draw(st.integers(-rank, rank - 1))
    axes = draw(st.lists(st.integers(0, max(rank - 1, 0)), unique=True, max_size=rank))
    return [a - rank if draw(st.booleans()) else a for a in axes]


def np_axes(axis, rank):
    if axis is None:
        return tuple(range(rank))
    axis = [axis] if isinstance(axis, int) else axis
    return tuple(a % rank for a in axis)


@st.composite
def reduction_case(draw, dtype="float32", elements=None, max_rank=4, max_side=5, min_side=0):
    shape = draw(shapes(0, max_rank, min_side, max_side), label="shape")
    x = draw(arrays(dtype, shape, elements), label="x")
    axis = draw(axes_for(len(shape)), label="axis")
    keep = draw(st.booleans(), label="keepDims")
    return x, axis, keep


def f64(x):
    return x.astype(np.float64)


def wrap32(x):
    return ((np.asarray(x, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


# ---- sum, mean, prod ------------------------------------------------------------------
@settings(max_examples=40)
@given(case=reduction_case(elements=floats(-100, 100, special=True)))
def test_sum_float(case):
    x, axis, keep = case
    with np.errstate(invalid="ignore"):
        expected = np.sum(f64(x), axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(tf.sum(tf.tensor(x), axis, keep), expected, "float32", rtol=1e-5, atol=1e-4)


@settings(max_examples=25)
@given(case=reduction_case("int32", ints(-1000, 1000)))
def test_sum_int32(case):
    x, axis, keep = case
    expected = np.sum(x.astype(np.int64), axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(tf.sum(tf.tensor(x), axis, keep), expected.astype(np.int32), "int32")


@settings(max_examples=15)
@given(case=reduction_case("bool"))
def test_sum_of_bool_counts_as_int32(case):
    x, axis, keep = case
    expected = np.sum(x, axis=np_axes(axis, x.ndim), keepdims=keep, dtype=np.int32)
    assert_tensor(tf.sum(tf.tensor(x), axis, keep), expected, "int32")


@settings(max_examples=30)
@given(case=reduction_case(elements=floats(-100, 100, special=True)))
def test_mean(case):
    x, axis, keep = case
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # mean of an empty axis is NaN
            expected = np.mean(f64(x), axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(tf.mean(tf.tensor(x), axis, keep), expected, "float32", rtol=1e-5, atol=1e-5)


@settings(max_examples=15)
@given(case=reduction_case("int32", ints(-1000, 1000)))
def test_mean_of_int32_is_float32(case):
    x, axis, keep = case
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.mean(f64(x), axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(tf.mean(tf.tensor(x), axis, keep), expected, "float32")


@settings(max_examples=30)
@given(case=reduction_case(elements=floats(-2, 2, special=True), max_rank=3, max_side=4))
@example(case=(np.array([1.1754944e-38, np.inf, 1.1754944e-38], np.float32), None, False))
def test_prod_float(case):
    x, axis, keep = case
    axes = np_axes(axis, x.ndim)
    with np.errstate(invalid="ignore"):
        expected = np.prod(f64(x), axis=axes, keepdims=keep)
    # A slice with an infinity and finite factors small enough that a partial float32 product
    # can underflow is order-dependent: inf * tiny * tiny is inf one way and 0 * inf = NaN the
    # other (any vectorized product reorders). There either answer is right.
    finite = np.abs(np.where(np.isfinite(x), f64(x), 1.0))
    n = max(1, x.size // max(1, expected.size))
    ambiguous = (np.any(np.isinf(x), axis=axes, keepdims=keep)
                 & (np.prod(finite, axis=axes, keepdims=keep) < np.finfo(np.float32).tiny * 2.0**n))
    actual = tf.prod(tf.tensor(x), axis, keep)
    values = actual.dataSync().reshape(actual.shape)
    assert np.all(np.isnan(values[ambiguous]) | (values[ambiguous] == expected[ambiguous]))
    assert_tensor(actual, np.where(ambiguous, values, expected), "float32")


@settings(max_examples=20)
@given(case=reduction_case("int32", ints(-3, 3), max_rank=3, max_side=4))
def test_prod_int32_wraps_like_numpy(case):
    x, axis, keep = case
    expected = np.prod(x.astype(np.int64), axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(tf.prod(tf.tensor(x), axis, keep), wrap32(expected), "int32")


# ---- max, min ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["max", "min"])
@settings(max_examples=30)
@given(case=reduction_case(elements=floats(-100, 100, special=True), min_side=1))
def test_max_min_float_propagate_nan(op, case):
    x, axis, keep = case
    expected = getattr(np, op)(x, axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(getattr(tf, op)(tf.tensor(x), axis, keep), expected, "float32", rtol=0, atol=0)


@pytest.mark.parametrize("op", ["max", "min"])
@settings(max_examples=20)
@given(case=reduction_case("int32", st.integers(-2**31, 2**31 - 1), min_side=1))
def test_max_min_int32(op, case):
    x, axis, keep = case
    expected = getattr(np, op)(x, axis=np_axes(axis, x.ndim), keepdims=keep)
    assert_tensor(getattr(tf, op)(tf.tensor(x), axis, keep), expected, "int32")


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_bool_stay_bool(op):
    # TF.js: tf.max(boolTensor) is a bool tensor
    x = tf.tensor([[True, False], [False, False]])
    expected = getattr(np, op)(np.array([[True, False], [False, False]]), axis=1)
    assert_tensor(getattr(tf, op)(x, 1), expected, "bool")


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_an_empty_axis_is_an_error(op):
    with raises(ValueError, op, "[2, 0]"):
        getattr(tf, op)(tf.zeros([2, 0]), 1)


# ---- all, any ----------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["all", "any"])
@settings(max_examples=25)
@given(case=reduction_case("bool"))
def test_all_any(op, case):
    x, axis, keep = case
    expected = getattr(np, op)(x, axis=np_axes(axis, x.ndim), keepdims=keep)  # empty: identity
    assert_tensor(getattr(tf, op)(tf.tensor(x), axis, keep), expected, "bool")


# ---- argMax, argMin ----------------------------------------------------------------------
@pytest.mark.parametrize("op", ["argMax", "argMin"])
@settings(max_examples=30)
@given(data=st.data())
def test_arg_reductions_pick_the_first_extreme(op, data):
    shape = data.draw(shapes(1, 4, 1, 5), label="shape")
    dtype = data.draw(st.sampled_from(["float32", "int32"]), label="dtype")
    # few distinct values so that ties are common; NaN counts as the extreme, as numpy
    elements = (st.sampled_from([-1.5, 0.0, 2.0, np.nan, -np.inf]) if dtype == "float32"
                else st.integers(-2, 2))
    x = data.draw(arrays(dtype, shape, elements), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    expected = (np.argmax if op == "argMax" else np.argmin)(x, axis=axis)
    assert_tensor(getattr(tf, op)(tf.tensor(x), axis), expected.astype(np.int32), "int32")


def test_arg_reductions_default_to_axis_0():
    x = tf.tensor([[1, 9], [5, 2]])
    assert_tensor(tf.argMax(x), np.array([1, 0], np.int32))
    assert_tensor(tf.argMin(x), np.array([0, 1], np.int32))


def test_arg_reductions_reject_scalars_and_empty_axes():
    with raises(ValueError, "argMax", "rank"):
        tf.argMax(tf.scalar(1))
    with raises(ValueError, "argMin", "[3, 0]"):
        tf.argMin(tf.zeros([3, 0]), 1)


# ---- logSumExp, moments, norm -----------------------------------------------------------
def logsumexp64(x, axes, keep):
    x = f64(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        top = np.where(np.isfinite(top), top, 0.0)
        out = np.log(np.sum(np.exp(x - top), axis=axes, keepdims=True)) + top
    return out if keep else np.squeeze(out, axis=axes)


@settings(max_examples=30)
@given(case=reduction_case(elements=floats(-50, 50)))
def test_logSumExp(case):
    x, axis, keep = case
    expected = logsumexp64(x, np_axes(axis, x.ndim), keep)
    assert_tensor(tf.logSumExp(tf.tensor(x), axis, keep), expected, "float32", rtol=1e-5,
                  atol=1e-5)


def test_logSumExp_is_stable_for_large_values_and_infinities():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0], [-np.inf, -np.inf], [np.inf, 0.0]],
                 np.float32)
    expected = np.array([1000 + np.log(2), -1000 + np.log1p(np.exp(-1)), -np.inf, np.inf])
    assert_tensor(tf.logSumExp(tf.tensor(x), 1), expected, "float32")


def test_logSumExp_of_an_empty_axis_is_minus_infinity():
    # log(sum(exp([]))) = log(0), as numpy computes it
    assert_tensor(tf.logSumExp(tf.zeros([2, 0]), 1), np.array([-np.inf, -np.inf], np.float32))


@settings(max_examples=30)
@given(case=reduction_case(elements=floats(-100, 100)))
def test_moments(case):
    x, axis, keep = case
    axes = np_axes(axis, x.ndim)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.mean(f64(x), axis=axes, keepdims=keep)
        var = np.var(f64(x), axis=axes, keepdims=keep)
    out = tf.moments(tf.tensor(x), axis, keep)
    assert set(out) == {"mean", "variance"}
    assert_tensor(out["mean"], mean, "float32", rtol=1e-5, atol=1e-4)
    assert_tensor(out["variance"], var, "float32", rtol=1e-4, atol=1e-3)


VECTOR_ORDS = ["euclidean", "fro", 1, 2, np.inf, -np.inf, 3, 0.5]


def np_vector_norm(x, ord, axis, keep):
    x = f64(x)
    if axis is None:
        out = np.linalg.norm(x.reshape(-1), None if ord in ("euclidean", "fro") else ord)
        return np.reshape(out, [1] * x.ndim) if keep else out
    return np.linalg.norm(x, None if ord in ("euclidean", "fro") else ord, axis=axis,
                          keepdims=keep)


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@settings(max_examples=15)
@given(data=st.data())
def test_vector_norms(ord, data):
    shape = data.draw(shapes(1, 3, 1, 5), label="shape")
    x = data.draw(arrays("float32", shape, floats(-10, 10)), label="x")
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    keep = data.draw(st.booleans(), label="keepDims")
    with np.errstate(divide="ignore"):
        expected = np_vector_norm(x, ord, axis, keep)
    assert_tensor(tf.norm(tf.tensor(x), ord, axis, keep), expected, "float32", rtol=1e-5,
                  atol=1e-5)


@pytest.mark.parametrize("ord", ["fro", "euclidean", 1, -1, np.inf, -np.inf])
@settings(max_examples=10)
@given(data=st.data())
def test_matrix_norms(ord, data):
    shape = data.draw(shapes(2, 3, 1, 5), label="shape")
    x = data.draw(arrays("float32", shape, floats(-10, 10)), label="x")
    axes = data.draw(st.permutations(range(len(shape))).map(lambda p: list(p[:2])), label="axes")
    keep = data.draw(st.booleans(), label="keepDims")
    np_ord = "fro" if ord in ("fro", "euclidean") else ord
    expected = np.linalg.norm(f64(x), np_ord, axis=tuple(axes), keepdims=keep)
    assert_tensor(tf.norm(tf.tensor(x), ord, axes, keep), expected, "float32", rtol=1e-5,
                  atol=1e-5)


def test_norm_rejects_unsupported_orders():
    with raises(ValueError, "norm", "foo"):
        tf.norm(tf.ones([3]), "foo")
    with raises(ValueError, "norm", "2"):
        tf.norm(tf.ones([3, 3]), 2, [0, 1])     # the spectral norm is not supported (TF.js)


# ---- axis validation ---------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "max", "min", "logSumExp"])
def test_reductions_reject_bad_axes(op):
    x = tf.ones([2, 3])
    with raises(ValueError, op, "axis", "2"):
        getattr(tf, op)(x, 2)
    with raises(ValueError, op, "-3"):
        getattr(tf, op)(x, [-3])
    with raises(ValueError, op, "repeated"):
        getattr(tf, op)(x, [1, -1])


@pytest.mark.parametrize("shape,axis", [((1000, 37), 0), ((1000, 37), 1), ((23, 64), None),
                                        ((8, 130, 17), (0, 2)), ((65, 3, 64), 1),
                                        ((100_000,), 0)])
def test_large_reductions(shape, axis):
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    t = tf.tensor(x)
    axes = np_axes(axis, x.ndim)
    x64 = f64(x)
    # a float32 sum of n terms is within ~n * 2**-24 * sum|x| of the exact sum
    n = int(np.prod([x.shape[a] for a in axes]))
    bound = n * 2.0**-24 * np.sum(np.abs(x64), axis=axes) + 1e-6
    err = np.abs(tf.sum(t, axis).dataSync().reshape(bound.shape) - np.sum(x64, axis=axes))
    assert np.all(err <= bound)
    assert_tensor(tf.max(t, axis), np.max(x, axis=axes), "float32", rtol=0, atol=0)
    assert_tensor(tf.min(t, axis, True), np.min(x, axis=axes, keepdims=True), "float32",
                  rtol=0, atol=0)
    if isinstance(axis, int):
        assert_tensor(tf.argMax(t, axis), np.argmax(x, axis).astype(np.int32))
        assert_tensor(tf.argMin(t, axis), np.argmin(x, axis).astype(np.int32))
    assert_tensor(tf.mean(t, axis), np.mean(x64, axis=axes), "float32", rtol=1e-4, atol=1e-5)
