"""Fusion keeps results right when kernels absorb neighbours: anchors (reductions, matMul)
with elementwise prologues and epilogues, epilogues that end where the shape changes, two
anchors in a row, shared values. Each graph is compiled whole and checked against numpy."""
from __future__ import annotations

import numpy as np
import pytest

from kiln.ir import Builder, TensorType, float32
from kiln.passes import compile_plan
from kiln.runtime import compile_graph

RNG = np.random.default_rng(0)


def f32(*shape):
    return TensorType(shape, float32)


def run(build, *arrays):
    b = Builder("t")
    inputs = [b.input(f32(*a.shape), f"x{i}") for i, a in enumerate(arrays)]
    graph = b.finish(build(b, *inputs))
    exe = compile_graph(graph)
    return exe.run(list(arrays)), compile_plan(graph)


def data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_reduction_epilogue_that_broadcasts_back(x=data(3, 5)):
    # logSoftmax: sum -> log has the reduced shape, the final sub has the input's shape
    def build(b, x):
        shifted = b.sub(x, b.max(x, axes=(1,), keepDims=True))
        return [b.sub(shifted, b.log(b.sum(b.exp(shifted), axes=(1,), keepDims=True)))]

    (out,), plan = run(build, x)
    s = x - x.max(1, keepdims=True)
    close(out, s - np.log(np.exp(s).sum(1, keepdims=True)))
    for k in plan.kernels:
        if k.anchor is not None and k.kind == "reduce":
            assert k.root.shape == k.anchor.outputs[0].shape


def test_matmul_epilogue_that_broadcasts_to_a_larger_shape(a=data(2, 3), w=data(3, 4),
                                                           big=data(5, 2, 4)):
    def build(b, a, w, big):
        return [b.add(b.relu(b.matMul(a, w)), big)]

    (out,), _ = run(build, a, w, big)
    close(out, np.maximum(a @ w, 0) + big)


def test_bias_and_activation_fuse_into_the_matmul(a=data(6, 7), w=data(7, 9), bias=data(9)):
    def build(b, a, w, bias):
        return [b.tanh(b.add(b.matMul(a, w), bias))]

    (out,), plan = run(build, a, w, bias)
    close(out, np.tanh(a @ w + bias))
    assert [k.kind for k in plan.kernels] == ["matmul"]


def test_two_anchors_in_a_row(a=data(4, 6), w=data(6, 3)):
    def build(b, a, w):
        return [b.sum(b.square(b.matMul(a, w)), axes=(0,))]

    (out,), plan = run(build, a, w)
    close(out, ((a @ w) ** 2).sum(0))
    assert sorted(k.kind for k in plan.kernels) == ["matmul", "reduce"]


@pytest.mark.parametrize("keep", [True, False])
def test_reduction_then_reshape_and_shared_value(keep, x=data(4, 3)):
    def build(b, x):
        m = b.sum(x, axes=(0,), keepDims=keep)
        r = b.reshape(m, shape=(3, 1))
        return [b.mul(r, r), b.exp(m)]

    (sq, ex), _ = run(build, x)
    s = x.sum(0, keepdims=keep)
    close(sq, s.reshape(3, 1) ** 2)
    close(ex, np.exp(s))


def test_reduction_of_an_outer_axis_with_an_epilogue(x=data(5, 4, 3)):
    def build(b, x):
        return [b.sqrt(b.sum(b.square(x), axes=(0, 1)))]

    (out,), _ = run(build, x)
    close(out, np.sqrt((x.astype(np.float64) ** 2).sum((0, 1))))
