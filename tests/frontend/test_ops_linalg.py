"""matMul (transposes, batching with broadcast batch axes, edge sizes around the GEMM tiles,
K = 0), dot, outerProduct and transpose against numpy.

matMul tolerance: a float32 dot product of length K, summed in any order with fused
multiply-adds, is within gamma_K = K * 2**-24 / (1 - K * 2**-24) of the exact value relative
to sum_k |a_ik| |b_kj| (Higham, Accuracy and Stability of Numerical Algorithms, 3.1); the
tests use (K + 2) * 2**-24 * (|A| @ |B|) plus a tiny absolute floor.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from kiln.codegen import host_target
from tests.helpers import arrays, assert_tensor, broadcast_shapes, floats, ints, raises, shapes


def np_matmul(a, b, ta, tb):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if ta:
        a64 = np.swapaxes(a64, -1, -2)
    if tb:
        b64 = np.swapaxes(b64, -1, -2)
    return a64, b64


def assert_matmul(out, a, b, ta=False, tb=False):
    a64, b64 = np_matmul(a, b, ta, tb)
    expected = a64 @ b64
    k = a64.shape[-1]
    bound = (k + 2) * 2.0**-24 * (np.abs(a64) @ np.abs(b64)) + 1e-30
    assert out.dtype == "float32"
    assert out.shape == list(expected.shape)
    actual = out.dataSync().reshape(expected.shape).astype(np.float64)
    err = np.abs(actual - expected)
    assert np.all(err <= bound), f"max error {err.max()} exceeds the bound {bound.max()}"


def operands_for(data, batch_a, batch_b, m, k, n, ta, tb, elements=None):
    a_shape = tuple(batch_a) + ((k, m) if ta else (m, k))
    b_shape = tuple(batch_b) + ((n, k) if tb else (k, n))
    elements = elements or floats(-4, 4)
    a = data.draw(arrays("float32", a_shape, elements), label="a")
    b = data.draw(arrays("float32", b_shape, elements), label="b")
    return a, b


@settings(max_examples=60)
@given(data=st.data(), m=st.integers(0, 20), k=st.integers(0, 20), n=st.integers(0, 40),
       ta=st.booleans(), tb=st.booleans(),
       batch=broadcast_shapes(2, max_rank=2, min_side=1, max_side=3))
def test_matmul_random_shapes(data, m, k, n, ta, tb, batch):
    a, b = operands_for(data, batch[0], batch[1], m, k, n, ta, tb)
    assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b), ta, tb), a, b, ta, tb)


# sizes straddling the register tile (MR rows x NR = 2..4 vectors of the host width), the
# direct driver's row limit (12), the packed K slice (256) and the packed row block (96)
LANES = host_target().float_lanes
EDGE_M = [1, 2, 5, 6, 7, 12, 13, 97]
EDGE_N = [1, LANES - 1, LANES, LANES + 1, 4 * LANES - 1, 4 * LANES, 4 * LANES + 1, 8 * LANES + 3]
EDGE_K = [1, 3, 255, 256, 257]


@pytest.mark.parametrize("m", EDGE_M)
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_tile_edges(m, tb):
    rng = np.random.default_rng(m)
    for n, k in zip(EDGE_N, EDGE_K * 2):
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
        assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b), False, tb), a, b, False, tb)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_large(ta, tb):
    rng = np.random.default_rng(7)
    m, k, n = 100, 300, 70
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b), ta, tb), a, b, ta, tb)


def test_matmul_wider_than_a_packed_column_block():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20, 5)).astype(np.float32)
    b = rng.standard_normal((5, 4100)).astype(np.float32)
    assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b)), a, b)
    assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b.T.copy()), False, True), a, b.T.copy(),
                  False, True)


def test_matmul_with_empty_inner_dimension_is_zero():
    assert_tensor(tf.matMul(tf.ones([3, 0]), tf.ones([0, 4])), np.zeros([3, 4], np.float32))
    assert_tensor(tf.matMul(tf.ones([2, 1, 0]), tf.ones([3, 1, 0, 5])),
                  np.zeros([3, 2, 1, 5], np.float32))
    assert_tensor(tf.matMul(tf.ones([0, 3]), tf.ones([3, 4])), np.zeros([0, 4], np.float32))


def test_matmul_batch_one_and_row_vectors():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((1, 1, 33)).astype(np.float32)
    b = rng.standard_normal((4, 33, 17)).astype(np.float32)
    assert_matmul(tf.matMul(tf.tensor(a), tf.tensor(b)), a, b)
    assert_matmul(tf.matMul(tf.tensor(b), tf.tensor(a), True, True), b, a, True, True)


def test_matmul_propagates_nan_and_inf():
    a = np.array([[np.nan, 1.0], [1.0, 1.0], [np.inf, 0.0]], np.float32)
    b = np.array([[1.0], [1.0]], np.float32)
    out = tf.matMul(tf.tensor(a), tf.tensor(b)).dataSync()
    assert np.isnan(out[0]) and out[1] == 2 and np.isinf(out[2])


@settings(max_examples=15)
@given(data=st.data(), m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6))
def test_matmul_int32_is_exact_and_stays_int32(data, m, k, n):
    a = data.draw(arrays("int32", (m, k), ints(-100, 100)), label="a")
    b = data.draw(arrays("int32", (k, n), ints(-100, 100)), label="b")
    assert_tensor(tf.matMul(tf.tensor(a), tf.tensor(b)), a @ b, "int32")


def test_matmul_errors_name_the_shapes():
    with raises(ValueError, "matMul", "[2, 3]", "[4, 5]"):
        tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]))
    with raises(ValueError, "matMul", "[2, 3]", "[4, 3]", "transposed"):
        tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), True, False)
    with raises(ValueError, "matMul", "rank"):
        tf.matMul(tf.ones([3]), tf.ones([3, 2]))
    with raises(ValueError, "matMul", "[2, 2, 3]", "[3, 3, 4]"):
        tf.matMul(tf.ones([2, 2, 3]), tf.ones([3, 3, 4]))


# ---- dot, outerProduct ---------------------------------------------------------------------
@settings(max_examples=30)
@given(data=st.data(), r1=st.integers(1, 2), r2=st.integers(1, 2), m=st.integers(1, 6),
       k=st.integers(0, 6), n=st.integers(1, 6))
def test_dot(data, r1, r2, m, k, n):
    a = data.draw(arrays("float32", (k,) if r1 == 1 else (m, k), floats(-4, 4)), label="a")
    b = data.draw(arrays("float32", (k,) if r2 == 1 else (k, n), floats(-4, 4)), label="b")
    expected = np.dot(a.astype(np.float64), b.astype(np.float64))
    assert_tensor(tf.dot(tf.tensor(a), tf.tensor(b)), expected, "float32", rtol=1e-5, atol=1e-5)


def test_dot_rejects_mismatched_and_high_rank_inputs():
    with raises(ValueError, "dot", "[3]", "[4]"):
        tf.dot(tf.ones([3]), tf.ones([4]))
    with raises(ValueError, "dot", "rank"):
        tf.dot(tf.ones([2, 2, 2]), tf.ones([2]))


@settings(max_examples=20)
@given(data=st.data(), n=st.integers(0, 8), m=st.integers(0, 8))
def test_outerProduct(data, n, m):
    a = data.draw(arrays("float32", (n,)), label="a")
    b = data.draw(arrays("float32", (m,)), label="b")
    assert_tensor(tf.outerProduct(tf.tensor(a), tf.tensor(b)),
                  np.outer(a.astype(np.float64), b), "float32")


def test_outerProduct_rejects_matrices():
    with raises(ValueError, "outerProduct", "rank"):
        tf.outerProduct(tf.ones([2, 2]), tf.ones([2]))


# ---- transpose -----------------------------------------------------------------------------
@settings(max_examples=40)
@given(data=st.data())
def test_transpose(data):
    shape = data.draw(shapes(0, 5, 0, 4), label="shape")
    dtype = data.draw(st.sampled_from(["float32", "int32", "bool"]), label="dtype")
    x = data.draw(arrays(dtype, shape), label="x")
    perm = data.draw(st.one_of(st.none(), st.permutations(range(len(shape)))), label="perm")
    expected = np.transpose(x, perm)
    assert_tensor(tf.transpose(tf.tensor(x), perm), expected, dtype)


def test_transpose_rejects_bad_permutations():
    with raises(ValueError, "transpose", "[0, 0]"):
        tf.transpose(tf.ones([2, 3]), [0, 0])
    with raises(ValueError, "transpose", "[0]"):
        tf.transpose(tf.ones([2, 3]), [0])
    with raises(ValueError, "transpose", "[0, 2]"):
        tf.transpose(tf.ones([2, 3]), [0, 2])
