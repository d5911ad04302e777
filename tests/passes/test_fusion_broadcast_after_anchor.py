"""A reduction (or matMul) whose result is broadcast on its way to the kernel root must get a
buffer of its own: the anchor's kernel writes the root at the anchor's result index."""
import numpy as np

import kiln as tf
from kiln.frontend.engine.compiled import CompiledFunction
from kiln.frontend.ops import linalg, math as m, reduction
from kiln.passes.pipeline import compile_plan


def _run(fn, *arrays):
    compiled = CompiledFunction(lambda xs: fn(*xs), [(a.shape, "float32") for a in arrays])
    return compiled([*arrays]).arraySync(), compiled.graph


def test_centering_by_a_row_mean_is_not_fused_into_the_reduction():
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out, graph = _run(lambda t: m.sub(t, reduction.mean(t, 1, True)), x)
    np.testing.assert_allclose(out, x - x.mean(1, keepdims=True), rtol=1e-5, atol=1e-6)
    plan = compile_plan(graph)
    for kernel in plan.kernels:
        if kernel.anchor is not None:
            assert kernel.root.shape == kernel.anchor.outputs[0].shape


def test_standardization_with_a_broadcast_scale():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    gamma = tf.variable(rng.normal(size=3).astype(np.float32))

    def fn(t):
        centered = m.sub(t, reduction.mean(t, 1, True))
        inv = m.rsqrt(m.add(reduction.mean(m.square(centered), 1, True), 1e-3))
        return m.mul(centered, m.mul(inv, gamma))
    out, _ = _run(fn, x)
    c = x - x.mean(1, keepdims=True)
    ref = c / np.sqrt((c ** 2).mean(1, keepdims=True) + 1e-3) * gamma.dataSync()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_matmul_result_broadcast_in_the_epilogue():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 1)).astype(np.float32)
    b = rng.normal(size=(1, 1)).astype(np.float32)
    y = rng.normal(size=(4, 3)).astype(np.float32)
    out, _ = _run(lambda p, q, r: m.add(linalg.matMul(p, q), r), a, b, y)
    np.testing.assert_allclose(out, a @ b + y, rtol=1e-5, atol=1e-6)
