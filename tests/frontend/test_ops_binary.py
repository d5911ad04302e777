"""Binary elementwise ops against numpy: every broadcasting pattern (sizes 0 and 1 included),
every dtype pair with TF.js's upcasting (bool < int32 < float32), NaN and infinities."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import (arrays, assert_tensor, assert_ulp, broadcast_shapes, floats, ints,
                           raises)

DTYPES = ["float32", "int32", "bool"]
ORDER = {"bool": 0, "int32": 1, "float32": 2}


def upcast(a, b):
    return a if ORDER[a] >= ORDER[b] else b


def wrap32(x):
    """int64 values wrapped to int32, as int32 arithmetic overflows in numpy and TF.js."""
    return ((np.asarray(x, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def int_pow(a, b):
    """Integer power with int32 wraparound; a negative exponent truncates toward zero
    (TF.js computes Math.pow and stores it in an Int32Array: 2**-1 -> 0, 0**-1 -> inf -> 0)."""
    a, b = np.broadcast_arrays(a, b)
    out = []
    for x, e in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()):
        if e >= 0:
            out.append(pow(x, e, 2**32))
        elif x in (1, -1):
            out.append(x ** e)
        else:
            out.append(0)
    return wrap32(out).reshape(a.shape)


def float_floor_div(a, b):
    # TF.js: Math.floor of the float32 quotient (the quotient is rounded before flooring)
    return np.floor(np.divide(a.astype(np.float32), b.astype(np.float32)))


def ref_numeric(op):
    """numpy reference for arithmetic ops: inputs already upcast; float math in float64."""
    def run(a, b):
        is_int = a.dtype.kind in "ib"
        if a.dtype == bool:
            a, b = a.astype(np.int32), b.astype(np.int32)
        with np.errstate(all="ignore"):
            if is_int:
                a64, b64 = a.astype(np.int64), b.astype(np.int64)
                if op == "pow":
                    return int_pow(a, b)
                if op in ("floorDiv", "div", "divNoNan"):
                    q = np.floor_divide(a64, b64)
                    return wrap32(np.where(b64 == 0, 0, q))
                if op == "mod":
                    return wrap32(np.where(b64 == 0, 0, np.mod(a64, b64)))
                if op == "atan2":
                    return np.arctan2(a64.astype(np.float64), b64.astype(np.float64))
                return wrap32(INT_REF[op](a64, b64))
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            if op == "floorDiv":
                return float_floor_div(a, b)
            if op == "divNoNan":
                return np.where(b64 == 0, 0.0, a64 / np.where(b64 == 0, 1.0, b64))
            return FLOAT_REF[op](a64, b64)
    return run


INT_REF = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
    "minimum": np.minimum, "squaredDifference": lambda a, b: (a - b) ** 2,
}
FLOAT_REF = dict(INT_REF, div=np.divide, mod=np.mod, pow=np.power, atan2=np.arctan2)

ARITHMETIC = ["add", "sub", "mul", "div", "divNoNan", "floorDiv", "mod", "pow", "maximum",
              "minimum", "squaredDifference", "atan2"]
COMPARISONS = {"equal": np.equal, "notEqual": np.not_equal, "less": np.less,
               "lessEqual": np.less_equal, "greater": np.greater,
               "greaterEqual": np.greater_equal}
LOGICAL = {"logicalAnd": np.logical_and, "logicalOr": np.logical_or,
           "logicalXor": np.logical_xor}
# libm-backed float32 functions: accurate to a few ulps, so compared in ulps
ULPS = {"pow": 2, "atan2": 2}


def arithmetic_dtype(op, da, db):
    d = upcast(da, db)
    if op == "atan2":
        return "float32"       # float-only: integer operands give a float32 result
    return "int32" if d == "bool" else d


def values(dtype, special):
    if dtype == "float32":
        return floats(-10, 10, special=special)
    if dtype == "int32":
        return ints(-20, 20)
    return st.booleans()


@st.composite
def operands(draw, n=2, dtypes=DTYPES, special=True, ints_for=None):
    shapes = draw(broadcast_shapes(n))
    kinds = [draw(st.sampled_from(dtypes)) for _ in range(n)]
    arrs = []
    for i, (shape, dtype) in enumerate(zip(shapes, kinds)):
        elements = values(dtype, special)
        if ints_for and dtype == "int32" and i in ints_for:
            elements = ints_for[i]
        arrs.append(draw(arrays(dtype, shape, elements)))
    return arrs


def upcast_arrays(a, b):
    d = upcast(kiln_dtype(a), kiln_dtype(b))
    return a.astype(d), b.astype(d)


def kiln_dtype(a):
    return "bool" if a.dtype == bool else a.dtype.name


@pytest.mark.parametrize("op", ARITHMETIC)
@settings(max_examples=40)
@given(data=st.data())
def test_arithmetic_matches_numpy(op, data):
    # pow: keep integer exponents small and non-negative most of the time so results fit
    ints_for = {1: st.integers(-2, 8)} if op == "pow" else None
    a, b = data.draw(operands(ints_for=ints_for), label="operands")
    out = getattr(tf, op)(tf.tensor(a), tf.tensor(b))
    dtype = arithmetic_dtype(op, kiln_dtype(a), kiln_dtype(b))
    ua, ub = upcast_arrays(a, b)
    expected = ref_numeric(op)(ua, ub)
    expected = np.broadcast_to(expected, np.broadcast_shapes(a.shape, b.shape))
    if dtype == "float32" and op in ULPS:
        assert_ulp(out, expected, ULPS[op])
    else:
        assert_tensor(out, expected, dtype)


@pytest.mark.parametrize("op", list(COMPARISONS))
@settings(max_examples=40)
@given(data=st.data())
def test_comparisons_match_numpy(op, data):
    a, b = data.draw(operands(), label="operands")
    out = getattr(tf, op)(tf.tensor(a), tf.tensor(b))
    ua, ub = upcast_arrays(a, b)
    assert_tensor(out, COMPARISONS[op](ua, ub), "bool")


@pytest.mark.parametrize("op", list(LOGICAL))
@settings(max_examples=30)
@given(data=st.data())
def test_logical_ops_match_numpy(op, data):
    a, b = data.draw(operands(dtypes=["bool"]), label="operands")
    out = getattr(tf, op)(tf.tensor(a), tf.tensor(b))
    assert_tensor(out, LOGICAL[op](a, b), "bool")


@pytest.mark.parametrize("op", list(LOGICAL))
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_logical_ops_reject_non_bool(op, dtype):
    x = tf.tensor([1, 0], None, dtype)
    with raises(TypeError, op, "'a'", dtype):
        getattr(tf, op)(x, tf.tensor([True, False]))
    with raises(TypeError, op, "'b'", dtype):
        getattr(tf, op)(tf.tensor([True, False]), x)


@settings(max_examples=40)
@given(data=st.data())
def test_where_broadcasts_condition_and_branches(data):
    shapes = data.draw(broadcast_shapes(3), label="shapes")
    cond = data.draw(arrays("bool", shapes[0]), label="cond")
    da, db = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    a = data.draw(arrays(da, shapes[1], values(da, True)), label="a")
    b = data.draw(arrays(db, shapes[2], values(db, True)), label="b")
    out = tf.where(tf.tensor(cond), tf.tensor(a), tf.tensor(b))
    ua, ub = upcast_arrays(a, b)
    assert_tensor(out, np.where(cond, ua, ub), upcast(da, db))


def test_where_requires_bool_condition():
    with raises(TypeError, "where", "'condition'", "float32"):
        tf.where(tf.tensor([1.0, 0.0]), tf.tensor([1, 2]), tf.tensor([3, 4]))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@settings(max_examples=20)
@given(data=st.data())
def test_addN_sums_every_tensor(dtype, data):
    n = data.draw(st.integers(1, 6), label="n")
    shape = data.draw(broadcast_shapes(1), label="shape")[0]
    xs = [data.draw(arrays(dtype, shape, values(dtype, False))) for _ in range(n)]
    out = tf.addN([tf.tensor(x) for x in xs])
    expected = np.sum(np.stack([x.astype(np.float64 if dtype == "float32" else np.int64)
                                for x in xs]), axis=0)
    assert_tensor(out, expected.astype(dtype), dtype)


def test_addN_rejects_mixed_shapes_and_dtypes():
    with raises(ValueError, "addN", "[2]", "[1]"):
        tf.addN([tf.tensor([1.0, 2.0]), tf.tensor([1.0])])
    with raises(ValueError, "addN", "int32", "float32"):
        tf.addN([tf.tensor([1.0]), tf.tensor([1], None, "int32")])
    with raises(ValueError, "addN"):
        tf.addN([])


# ---- specific values -----------------------------------------------------------------
def test_python_numbers_are_float32_operands():
    # TF.js infers float32 for a JS number, so int32 + 2 upcasts to float32
    x = tf.tensor([1, 2], None, "int32")
    assert_tensor(tf.add(x, 2), np.array([3, 4], np.float32))
    assert_tensor(tf.mul(x, 2.5), np.array([2.5, 5], np.float32))
    assert_tensor(tf.sub(3, x), np.array([2, 1], np.float32))


def test_int32_division_is_floor_division():
    a = tf.tensor([7, -7, 7, -7, 5, -2**31], None, "int32")
    b = tf.tensor([2, 2, -2, -2, 0, -1], None, "int32")
    # numpy floor_divide; x // 0 is 0 and INT_MIN // -1 wraps to INT_MIN (as numpy and TF.js)
    expected = np.array([3, -4, -4, 3, 0, -2**31], np.int32)
    assert_tensor(tf.div(a, b), expected)
    assert_tensor(tf.floorDiv(a, b), expected)


def test_int32_mod_takes_the_divisor_sign():
    a = tf.tensor([7, -7, 7, -7, 5, -2**31, 0], None, "int32")
    b = tf.tensor([3, 3, -3, -3, 0, -1, 5], None, "int32")
    assert_tensor(tf.mod(a, b), np.array([1, 2, -2, -1, 0, 0, 0], np.int32))


def test_int32_arithmetic_wraps_on_overflow():
    big = tf.tensor([2**31 - 1, -2**31], None, "int32")
    assert_tensor(tf.add(big, tf.tensor([1, -1], None, "int32")),
                  np.array([-2**31, 2**31 - 1], np.int32))
    assert_tensor(tf.mul(big, tf.tensor([2, 2], None, "int32")), np.array([-2, 0], np.int32))


def test_int32_pow_is_exact_beyond_float_precision():
    base = tf.tensor([3, 3, 2, -2, 7, 2, 1, -1, 0], None, "int32")
    exp = tf.tensor([16, 19, 31, 31, 11, -1, -5, -3, 0], None, "int32")
    expected = int_pow(np.array([3, 3, 2, -2, 7, 2, 1, -1, 0]), np.array([16, 19, 31, 31, 11, -1, -5, -3, 0]))
    assert expected[0] == 43046721      # 3**16 is not representable in float32
    assert_tensor(tf.pow(base, exp), expected)


def test_float_pow_special_values():
    base = np.array([-8, 0, 0, np.nan, 1, -1, np.inf, 2], np.float32)
    exp = np.array([1 / 3, -1, 0, 0, np.nan, np.inf, -1, 128], np.float32)
    assert_ulp(tf.pow(tf.tensor(base), tf.tensor(exp)), np.power(base.astype(np.float64), exp), 1)


def test_float_mod_and_floor_div_with_zero_and_infinity():
    a = np.array([5.5, -5.5, 5.0, -5.0, np.inf, 0.0, -1e-8], np.float32)
    b = np.array([0.0, 2.0, np.inf, np.inf, 5.0, 3.0, 1.0], np.float32)
    with np.errstate(all="ignore"):
        assert_tensor(tf.mod(tf.tensor(a), tf.tensor(b)), np.mod(a.astype(np.float64), b))
        assert_tensor(tf.floorDiv(tf.tensor(a), tf.tensor(b)), float_floor_div(a, b))


def test_divNoNan_gives_zero_where_the_divisor_is_zero():
    a = tf.tensor([1.0, -1.0, 0.0, np.nan, 6.0])
    b = tf.tensor([0.0, 0.0, 0.0, 0.0, 3.0])
    assert_tensor(tf.divNoNan(a, b), np.array([0, 0, 0, 0, 2], np.float32))
    # int32 operands: TF.js divides with tf.div (floor division) and keeps int32
    ai, bi = tf.tensor([4, 3, -7], None, "int32"), tf.tensor([2, 0, 2], None, "int32")
    assert_tensor(tf.divNoNan(ai, bi), np.array([2, 0, -4], np.int32))


def test_maximum_minimum_propagate_nan():
    a = tf.tensor([np.nan, 1.0, -np.inf])
    b = tf.tensor([1.0, np.nan, 0.0])
    assert_tensor(tf.maximum(a, b), np.array([np.nan, np.nan, 0.0], np.float32))
    assert_tensor(tf.minimum(a, b), np.array([np.nan, np.nan, -np.inf], np.float32))


def test_binary_ops_reject_unbroadcastable_shapes():
    with raises(ValueError, "add", "[2, 3]", "[4]"):
        tf.add(tf.ones([2, 3]), tf.ones([4]))
    with raises(ValueError, "less", "[3]", "[2]"):
        tf.less(tf.ones([3]), tf.ones([2]))
    with raises(ValueError, "where", "[2]", "[3]"):
        tf.where(tf.tensor([True, False]), tf.ones([3]), tf.ones([1]))


# sizes around the vector width and unrolling of the generated loops (16 lanes x 4 on
# AVX-512), so that the vector body, its remainder and the broadcast strides are all used
LOOP_SIZES = [1, 3, 15, 16, 17, 63, 64, 65, 130, 1000]


@pytest.mark.parametrize("pattern", [("nm", "nm"), ("nm", "m"), ("nm", "n1"), ("n1", "1m"),
                                     ("n1k", "mk"), ("", "nm"), ("knm", "m")])
@pytest.mark.parametrize("op", ["add", "mul", "maximum", "less", "floorDiv"])
def test_large_operands_in_every_broadcast_pattern(op, pattern):
    rng = np.random.default_rng(len(op))
    for n, m in [(1000, 37), (17, 65), (3, 1000), (64, 16), (130, 63)]:
        size = {"n": n, "m": m, "k": 5, "1": 1}
        a_shape, b_shape = (tuple(size[c] for c in p) for p in pattern)
        a = rng.uniform(-10, 10, a_shape).astype(np.float32)
        b = rng.uniform(1, 10, b_shape).astype(np.float32)
        out = getattr(tf, op)(tf.tensor(a), tf.tensor(b))
        if op in COMPARISONS:
            assert_tensor(out, COMPARISONS[op](a, b), "bool")
        elif op == "floorDiv":
            assert_tensor(out, float_floor_div(*np.broadcast_arrays(a, b)))
        else:
            assert_tensor(out, FLOAT_REF[op](a.astype(np.float64), b))
