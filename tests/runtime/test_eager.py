"""Eager dispatch compiles elementwise kernels once per (op, dtype, broadcast pattern), not
per shape, and every other op once per signature; repeated calls reuse compiled code."""
from __future__ import annotations

import numpy as np
import pytest

import kiln as tf
from kiln.codegen import compiler
from tests.helpers import assert_tensor


@pytest.fixture(autouse=True)
def cold_caches(monkeypatch):
    """Start each test with empty in-memory kernel caches and no disk cache, so that every
    kernel this test needs is compiled here (not by an earlier test)."""
    from kiln.runtime import cache, eager
    monkeypatch.setenv("KILN_CACHE", "0")
    monkeypatch.setattr(eager, "_static", {})
    monkeypatch.setattr(eager, "_dynamic", {})
    monkeypatch.setattr(cache, "_memory", {})


def compiles(fn):
    before = compiler.compile_count
    fn()
    return compiler.compile_count - before


def test_elementwise_kernels_compile_once_per_broadcast_pattern():
    rng = np.random.default_rng(0)

    def add(a_shape, b_shape):
        a = rng.standard_normal(a_shape).astype(np.float32)
        b = rng.standard_normal(b_shape).astype(np.float32)
        assert_tensor(tf.squaredDifference(tf.tensor(a), tf.tensor(b)),
                      (a.astype(np.float64) - b) ** 2)

    assert compiles(lambda: add((3, 4), (4,))) == 1
    # the same pattern (a full matrix and a row broadcast along the first axis) at other sizes
    for shapes in [((7, 9), (9,)), ((1000, 3), (3,)), ((2, 5, 6), (1, 1, 6)), ((5, 2, 6), (6,))]:
        assert compiles(lambda: add(*shapes)) == 0, shapes
    # another pattern is another kernel
    assert compiles(lambda: add((3, 4), (3, 1))) == 1
    assert compiles(lambda: add((8, 2), (8, 1))) == 0


def test_unary_kernels_serve_every_rank_and_size():
    rng = np.random.default_rng(1)

    def check(shapes, expected_compiles):
        for i, shape in enumerate(shapes):
            x = tf.tensor(rng.standard_normal(shape).astype(np.float32))
            n = compiles(lambda: tf.softplus(x))
            assert n == (expected_compiles if i == 0 else 0), shape
            assert_tensor(tf.softplus(x), np.logaddexp(0, np.asarray(x).astype(np.float64)))

    check([[3], [0], [2, 3, 4], [100, 1, 7], [65537]], 1)
    # a single element (any rank) collapses to the scalar pattern: one more kernel
    check([[], [1], [1, 1, 1]], 1)


def test_other_ops_compile_once_per_signature():
    x, y, z = tf.ones([5, 6]), tf.zeros([5, 6]), tf.ones([4, 4])
    w = tf.zeros([4, 4])
    assert compiles(lambda: tf.sum(x, 1)) == 1
    assert compiles(lambda: tf.sum(y, 1)) == 0
    assert compiles(lambda: tf.sum(x, 0)) == 1
    assert compiles(lambda: tf.matMul(x, y, False, True)) == 1
    assert compiles(lambda: tf.matMul(y, x, False, True)) == 0
    assert compiles(lambda: tf.softmax(z)) == 1
    assert compiles(lambda: tf.softmax(w)) == 0
