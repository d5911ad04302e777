"""Every gradient rule against central finite differences of a float64 numpy reference.

For an op y = f(x1, ..., xk) the test builds L = sum(w * f(x)) with a fixed random w, lets
reverse-mode autodiff append dL/dxi to the graph, compiles it, and compares with
(L(x + h e) - L(x - h e)) / 2h computed by tests/reference.py in float64.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import kiln.ir as ir
from kiln.ir.registry import all_ops
from kiln.runtime.executable import compile_graph
from tests import reference

F32 = ir.float32
H = 1e-3


def check_gradient(build, arrays, rtol=2e-2, atol=2e-3, seed=0):
    """build(b, values) -> one float32 value; compares autodiff with finite differences."""
    b = ir.Builder()
    values = [b.input(ir.TensorType(a.shape, ir.as_dtype(a.dtype)), f"x{i}")
              for i, a in enumerate(arrays)]
    y = build(b, values)
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, size=y.shape).astype(np.float32)
    weighted = b.sum(b.mul(y, b.constant(w)), axes=tuple(range(len(y.shape))))
    float_inputs = [v for v in values if v.dtype is F32]
    grads = ir.grad_graph(b, [weighted], float_inputs)
    graph = b.finish([weighted] + [g for g in grads])
    compiled = compile_graph(graph).run([a for a in arrays])
    forward = b.finish([weighted])

    def loss(xs):
        return float(reference.evaluate(forward, xs)[0])

    for gi, v in enumerate(float_inputs):
        k = values.index(v)
        base = [a.astype(np.float64) if a.dtype == np.float32 else a for a in arrays]
        numeric = np.zeros(arrays[k].shape)
        for idx in np.ndindex(arrays[k].shape):
            plus = [x.copy() for x in base]
            minus = [x.copy() for x in base]
            plus[k][idx] += H
            minus[k][idx] -= H
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * H)
        np.testing.assert_allclose(compiled[1 + gi], numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of operand {k}")


def rand(shape, lo=-2.0, hi=2.0, seed=1):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


# op -> input domain (lo, hi) keeping away from kinks and poles
UNARY_DOMAINS = {
    "neg": (-2, 2), "abs": (0.2, 2), "square": (-2, 2), "relu": (0.1, 2), "relu6": (0.1, 5),
    "exp": (-2, 2), "expm1": (-2, 2), "log": (0.5, 3), "log1p": (-0.5, 2), "sqrt": (0.5, 3),
    "rsqrt": (0.5, 3), "reciprocal": (0.5, 3), "sin": (-2, 2), "cos": (-2, 2), "tan": (-1, 1),
    "asin": (-0.7, 0.7), "acos": (-0.7, 0.7), "atan": (-2, 2), "sinh": (-2, 2),
    "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-2, 2), "acosh": (1.5, 3), "atanh": (-0.7, 0.7),
    "sigmoid": (-3, 3), "softplus": (-3, 3), "elu": (0.1, 2), "selu": (0.1, 2), "erf": (-2, 2),
}


@pytest.mark.parametrize("op", sorted(UNARY_DOMAINS))
def test_unary(op):
    lo, hi = UNARY_DOMAINS[op]
    check_gradient(lambda b, v: b.op(op, v[0]), [rand((2, 3), lo, hi)])


@pytest.mark.parametrize("op,attrs,domain", [
    ("leakyRelu", {"alpha": 0.2}, (-2, -0.1)), ("clip", {"min": -1.0, "max": 1.0}, (-0.9, 0.9)),
    ("elu", {}, (-2, -0.1)), ("selu", {}, (-2, -0.1)), ("relu", {}, (-2, -0.1)),
])
def test_unary_branches(op, attrs, domain):
    check_gradient(lambda b, v: b.op(op, v[0], **attrs), [rand((3, 2), *domain)])


def test_zero_gradient_ops():
    for op in ("floor", "ceil", "round", "sign"):
        check_gradient(lambda b, v: b.op(op, v[0]), [rand((2, 2), 0.1, 0.4) + 1.0])


SHAPES = st.sampled_from([((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((), (2, 2)),
                          ((3, 1), (1, 3))])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum",
                                "squaredDifference", "atan2", "pow", "mod"])
@given(shapes=SHAPES)
@settings(max_examples=4, deadline=None)
def test_binary_broadcasting(op, shapes):
    a = rand(shapes[0], 0.5, 2.0, seed=2)
    b_ = rand(shapes[1], 0.6, 2.5, seed=3)
    if op in ("maximum", "minimum"):
        b_ = b_ + 0.05   # keep operands apart (no ties)
    check_gradient(lambda b, v: b.op(op, v[0], v[1]), [a, b_])


def test_select():
    cond = np.array([[True, False, True]])
    check_gradient(lambda b, v: b.select(v[0], v[1], v[2]),
                   [cond, rand((2, 3)), rand((3,), seed=5)])


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("axes,keep", [((1,), False), ((0, 2), True), ((0, 1, 2), False)])
def test_reductions(op, axes, keep):
    x = rand((2, 3, 2), 0.5, 2.0)
    check_gradient(lambda b, v: b.op(op, v[0], axes=axes, keepDims=keep), [x])


def test_prod_with_zeros():
    x = rand((2, 3), 0.5, 2.0)
    x[0, 1] = 0.0
    check_gradient(lambda b, v: b.prod(v[0], axes=(1,)), [x], atol=5e-3)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(ta, tb):
    a = rand((4, 3) if ta else (3, 4))
    b_ = rand((5, 4) if tb else (4, 5), seed=7)
    check_gradient(lambda b, v: b.matMul(v[0], v[1], transposeA=ta, transposeB=tb), [a, b_])


def test_batched_broadcast_matmul():
    check_gradient(lambda b, v: b.matMul(v[0], v[1]), [rand((2, 3, 4)), rand((4, 2), seed=8)])


@pytest.mark.parametrize("build", [
    lambda b, v: b.reshape(v[0], shape=(3, 4)),
    lambda b, v: b.transpose(v[0], perm=(1, 2, 0)),
    lambda b, v: b.broadcastTo(v[0], shape=(2, 2, 3, 2)),
    lambda b, v: b.slice(v[0], begin=(0, 1, 0), end=(2, 3, 2), strides=(1, 1, 1)),
    lambda b, v: b.slice(v[0], begin=(1, 2, 1), end=(-1, -1, 0), strides=(-1, -2, -1)),
    lambda b, v: b.slice(v[0], begin=(0, 0, 0), end=(2, 3, 2), strides=(1, 2, 1)),
    lambda b, v: b.pad(v[0], paddings=((1, 0), (0, 2), (1, 1)), value=0.0),
    lambda b, v: b.reverse(v[0], axes=(0, 2)),
    lambda b, v: b.tile(v[0], reps=(2, 1, 3)),
    lambda b, v: b.concat(v[0], b.exp(v[0]), axis=1),
    lambda b, v: b.cumsum(v[0], axis=1, exclusive=False, reverse=False),
    lambda b, v: b.cumsum(v[0], axis=2, exclusive=True, reverse=True),
])
def test_movement(build):
    check_gradient(build, [rand((2, 3, 2))])


def test_gather_and_scatter():
    idx = np.array([[2, 0], [0, 5]], np.int32)          # 5 is out of range: contributes nothing
    check_gradient(lambda b, v: b.gather(v[0], v[1], axis=1), [rand((2, 3)), idx])
    check_gradient(lambda b, v: b.scatterAdd(v[1], v[0], shape=(2, 3), axis=1),
                   [rand((2, 2, 2)), idx])


def test_cast_passes_float_gradients():
    check_gradient(lambda b, v: b.cast(b.mul(v[0], v[0]), dtype=F32), [rand((2, 2))])


def test_every_float_op_has_a_rule():
    """Float ops without a rule would make training fail at trace time; list the gaps."""
    no_rule = {name for name, op in all_ops().items() if op.grad is None}
    expected = {"input", "param", "constant", "iota", "randomUniform", "randomNormal",
                "truncatedNormal", "isNaN", "isInf", "isFinite", "logicalNot", "equal",
                "notEqual", "less", "lessEqual", "greater", "greaterEqual", "logicalAnd",
                "logicalOr", "logicalXor", "argMax", "argMin", "all", "any"}
    missing = no_rule - expected
    assert not missing, f"ops without a gradient rule: {sorted(missing)}"
