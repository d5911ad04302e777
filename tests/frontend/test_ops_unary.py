"""Unary elementwise ops against numpy, including NaN, +-inf, -0.0 and int32/bool inputs.

Exactly rounded operations (neg, abs, sqrt, reciprocal, floor, ...) must match numpy's float64
result rounded to float32 exactly (0 ulp). Transcendental functions are compared in float32
ulps against numpy's float64 value of the same float32 input: kiln's own vectorized
exp/log family is documented to be accurate to 2 ulps (exp, log) or a few ulps (compositions
such as expm1, tanh, sigmoid, softplus), and the libm float functions to 1-2 ulps.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, assert_ulp, floats, ints, raises, shapes

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid64(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def softplus64(x):
    return np.logaddexp(0.0, x)


def erf64(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.astype(np.float64)


# op -> (numpy float64 reference, max ulps)
FLOAT_UNARY = {
    "neg": (np.negative, 0),
    "abs": (np.abs, 0),
    "sign": (np.sign, 0),
    "square": (np.square, 0),
    "sqrt": (np.sqrt, 0),
    "reciprocal": (lambda x: 1 / x, 0),
    "floor": (np.floor, 0),
    "ceil": (np.ceil, 0),
    "round": (np.rint, 0),                      # half to even, as TF.js
    "relu": (lambda x: np.maximum(x, 0), 0),
    "relu6": (lambda x: np.minimum(np.maximum(x, 0), 6), 0),
    "rsqrt": (lambda x: 1 / np.sqrt(x), 1),      # two roundings
    "exp": (np.exp, 2),
    "log": (np.log, 2),
    "expm1": (np.expm1, 3),
    "log1p": (np.log1p, 3),
    "tanh": (np.tanh, 3),
    "sigmoid": (sigmoid64, 3),
    "softplus": (softplus64, 3),
    "logSigmoid": (lambda x: -softplus64(-x), 3),
    "elu": (lambda x: np.where(x > 0, x, np.expm1(x)), 3),
    "selu": (lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)), 4),
    "sin": (np.sin, 2),
    "cos": (np.cos, 2),
    "tan": (np.tan, 2),
    "asin": (np.arcsin, 2),
    "acos": (np.arccos, 2),
    "atan": (np.arctan, 2),
    "sinh": (np.sinh, 2),
    "cosh": (np.cosh, 2),
    "erf": (erf64, 2),
    "asinh": (np.arcsinh, 2),
    "acosh": (np.arccosh, 2),
    "atanh": (np.arctanh, 2),
}
NUMERIC_UNARY = {"neg": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square,
                 "relu": lambda x: np.maximum(x, 0),
                 "relu6": lambda x: np.minimum(np.maximum(x, 0), 6)}
PREDICATES = {"isNaN": np.isnan, "isInf": np.isinf, "isFinite": np.isfinite}


def special_floats(lo=-20.0, hi=20.0):
    return floats(lo, hi, special=True)


@pytest.mark.parametrize("op", list(FLOAT_UNARY))
@settings(max_examples=30)
@given(data=st.data())
def test_float_unary_matches_numpy(op, data):
    x = data.draw(arrays("float32", shapes(max_side=6), special_floats()), label="x")
    ref, max_ulp = FLOAT_UNARY[op]
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64))
    assert_ulp(getattr(tf, op)(tf.tensor(x)), expected, max_ulp)


@pytest.mark.parametrize("op", list(FLOAT_UNARY))
def test_float_unary_on_the_ieee_special_values(op):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1.17549435e-38,
                  3.4028235e38, -3.4028235e38, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5], np.float32)
    ref, max_ulp = FLOAT_UNARY[op]
    with np.errstate(all="ignore"):
        expected = ref(x.astype(np.float64))
    assert_ulp(getattr(tf, op)(tf.tensor(x)), expected, max_ulp)


@pytest.mark.parametrize("op", list(NUMERIC_UNARY))
@settings(max_examples=15)
@given(x=arrays("int32", shapes(), ints(-100, 100)))
def test_numeric_unary_keeps_int32(op, x):
    assert_tensor(getattr(tf, op)(tf.tensor(x)), NUMERIC_UNARY[op](x).astype(np.int32), "int32")


def test_int32_abs_and_neg_wrap_at_int_min():
    x = tf.tensor([-2**31, 2**31 - 1], None, "int32")
    assert_tensor(tf.abs(x), np.array([-2**31, 2**31 - 1], np.int32))   # as numpy
    assert_tensor(tf.neg(x), np.array([-2**31, -2**31 + 1], np.int32))


@pytest.mark.parametrize("op", ["exp", "sqrt", "sigmoid", "tanh", "sin", "log1p", "floor",
                                "round", "ceil"])
def test_float_functions_of_int32_input(op):
    # kiln accepts integer input and computes in float32 (floor/ceil/round keep int32)
    x = np.array([0, 1, 2, 7, 16], np.int32)
    out = getattr(tf, op)(tf.tensor(x))
    ref, max_ulp = FLOAT_UNARY[op]
    if op in ("floor", "round", "ceil"):
        assert_tensor(out, x)
    else:
        assert_ulp(out, ref(x.astype(np.float64)), max_ulp)


@pytest.mark.parametrize("op", list(PREDICATES))
@settings(max_examples=15)
@given(x=arrays("float32", shapes(), special_floats()))
def test_predicates(op, x):
    assert_tensor(getattr(tf, op)(tf.tensor(x)), PREDICATES[op](x), "bool")


@pytest.mark.parametrize("op", list(PREDICATES))
def test_predicates_of_int32_are_finite(op):
    x = np.array([-3, 0, 2**31 - 1], np.int32)
    assert_tensor(getattr(tf, op)(tf.tensor(x)), PREDICATES[op](x.astype(np.float64)), "bool")


@settings(max_examples=15)
@given(x=arrays("bool", shapes()))
def test_logicalNot(x):
    assert_tensor(tf.logicalNot(tf.tensor(x)), ~x, "bool")


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_logicalNot_rejects_non_bool(dtype):
    with raises(TypeError, "logicalNot", "'x'", dtype):
        tf.logicalNot(tf.tensor([1, 0], None, dtype))


@settings(max_examples=30)
@given(x=arrays("float32", shapes(), special_floats()),
       alpha=st.floats(0, 1, width=32))
def test_leakyRelu(x, alpha):
    with np.errstate(invalid="ignore"):      # 0 * -inf in the branch where() discards
        expected = np.where(x < 0, np.float32(alpha) * x.astype(np.float64), x)
    assert_ulp(tf.leakyRelu(tf.tensor(x), alpha), expected, 0)


def test_leakyRelu_default_alpha_is_tfjs_0_2():
    assert_tensor(tf.leakyRelu(tf.tensor([-1.0, 2.0])), np.array([-0.2, 2.0], np.float32))


@settings(max_examples=30)
@given(data=st.data())
def test_prelu_broadcasts_alpha(data):
    shape = data.draw(shapes(min_rank=1), label="shape")
    alpha_shape = shape[data.draw(st.integers(0, len(shape)), label="drop"):]
    x = data.draw(arrays("float32", shape, special_floats()), label="x")
    alpha = data.draw(arrays("float32", alpha_shape, floats(0, 1)), label="alpha")
    with np.errstate(invalid="ignore"):      # 0 * -inf in the branch where() discards
        expected = np.where(x < 0, alpha.astype(np.float64) * x, x)
    assert_ulp(tf.prelu(tf.tensor(x), tf.tensor(alpha)), expected, 0)


@settings(max_examples=30)
@given(x=arrays("float32", shapes(), special_floats()), alpha=st.floats(-1, 1, width=32))
def test_step(x, alpha):
    expected = np.where(np.isnan(x), np.nan, np.where(x > 0, 1.0, np.float32(alpha)))
    assert_tensor(tf.step(tf.tensor(x), alpha), expected, "float32", rtol=0, atol=0)


@settings(max_examples=30)
@given(x=arrays("float32", shapes(), special_floats()),
       bounds=st.tuples(st.floats(-10, 10, width=32), st.floats(-10, 10, width=32)).map(sorted))
def test_clipByValue(x, bounds):
    lo, hi = bounds
    assert_tensor(tf.clipByValue(tf.tensor(x), lo, hi), np.clip(x, lo, hi), "float32",
                  rtol=0, atol=0)


@settings(max_examples=15)
@given(x=arrays("int32", shapes(), ints(-100, 100)),
       bounds=st.tuples(st.integers(-50, 50), st.integers(-50, 50)).map(sorted))
def test_clipByValue_int32(x, bounds):
    lo, hi = bounds
    assert_tensor(tf.clipByValue(tf.tensor(x), lo, hi), np.clip(x, lo, hi), "int32")


def test_clipByValue_rejects_min_above_max():
    with raises(ValueError, "clipByValue", "3", "2"):
        tf.clipByValue(tf.ones([2]), 3, 2)


# ---- cast ---------------------------------------------------------------------------------
@settings(max_examples=30)
@given(x=arrays("float32", shapes(), floats(-1e9, 1e9)))
def test_cast_float_to_int_truncates_toward_zero(x):
    assert_tensor(tf.cast(tf.tensor(x), "int32"), np.trunc(x).astype(np.int32), "int32")


def test_cast_nan_to_int_is_zero_and_float_to_bool_is_nonzero():
    x = tf.tensor([np.nan, -0.0, 0.0, 0.25, -3.0, np.inf])
    assert_tensor(tf.cast(x, "int32").slice([0], [3]), np.array([0, 0, 0], np.int32))
    assert_tensor(tf.cast(x, "bool"), np.array([True, False, False, True, True, True]))


@pytest.mark.parametrize("src", ["float32", "int32", "bool"])
@pytest.mark.parametrize("dst", ["float32", "int32", "bool"])
def test_cast_between_every_dtype_pair(src, dst):
    values = {"float32": [0.0, 1.0, -2.0, 3.75], "int32": [0, 1, -2, 3], "bool": [False, True, True, False]}[src]
    x = np.array(values, np.dtype(src))
    out = tf.cast(tf.tensor(x), dst)
    expected = np.trunc(x).astype(dst) if src == "float32" and dst == "int32" else x.astype(dst)
    assert_tensor(out, expected, dst)


def test_cast_rejects_unknown_dtype():
    with raises(TypeError, "complex64"):
        tf.cast(tf.ones([2]), "complex64")
