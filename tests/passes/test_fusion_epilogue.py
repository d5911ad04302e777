"""Fusion may only put an anchor's epilogue where the kernel templates can run it: elementwise
nodes of the anchor's shape, with a root of the anchor's dtype."""
import numpy as np

from kiln.ir import Builder, TensorType, float32
from kiln.runtime import compile_graph


def _rand(*shape):
    return np.random.default_rng(0).random(shape, dtype=np.float32) - 0.5


def test_transposed_epilogue_is_not_fused_into_the_matmul():
    b = Builder()
    a = b.input(TensorType((3, 4), float32), "a")
    w = b.input(TensorType((4, 5), float32), "w")
    bias = b.input(TensorType((5,), float32), "bias")
    y = b.transpose(b.relu(b.add(b.matMul(a, w), bias)), perm=(1, 0))
    exe = compile_graph(b.finish([y]))
    A, W, B = _rand(3, 4), _rand(4, 5), _rand(5)
    (out,) = exe.run([A, W, B])
    np.testing.assert_allclose(out, np.maximum(A @ W + B, 0).T, rtol=1e-5, atol=1e-6)
    matmul = [k for k in exe.plan.kernels if k.kind == "matmul"][0]
    assert [n.op for n in matmul.nodes] == ["matMul", "add", "relu"]


def test_bool_root_does_not_hold_the_float_accumulators():
    b = Builder()
    a = b.input(TensorType((3, 4), float32), "a")
    w = b.input(TensorType((4, 5), float32), "w")
    z = b.greater(b.add(b.matMul(a, w), b.constant(np.float32(0.5))), b.constant(np.float32(0.6)))
    exe = compile_graph(b.finish([z]))
    A, W = _rand(3, 4), _rand(4, 5)
    (out,) = exe.run([A, W])
    np.testing.assert_array_equal(out, A @ W + 0.5 > 0.6)
    assert all(k.root.dtype is float32 for k in exe.plan.kernels if k.kind == "matmul")
