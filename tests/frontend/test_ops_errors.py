"""Every op validates its arguments before native code runs: a disposed input, a bad shape or
axis, or a wrong dtype is a ValueError/TypeError whose message names the op (its public
TF.js name, not an internal IR op) and the offending argument."""
from __future__ import annotations

import numpy as np
import pytest

import kiln as tf
from tests.helpers import raises


def f(shape=(2, 3)):
    return tf.ones(list(shape))


def i32(values):
    return tf.tensor(values, None, "int32")


def b8(values):
    return tf.tensor(values, None, "bool")


# op -> call(x) with x a float32 [2, 3] tensor (or the op's required dtype)
UNARY = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "elu",
         "erf", "exp", "expm1", "floor", "isFinite", "isInf", "isNaN", "log", "log1p",
         "logSigmoid", "neg", "reciprocal", "relu", "relu6", "round", "rsqrt", "selu", "sigmoid",
         "sign", "sin", "sinh", "softplus", "sqrt", "square", "tan", "tanh", "leakyRelu", "step",
         "zerosLike", "onesLike", "softmax", "logSoftmax", "sum", "mean", "prod", "max", "min",
         "argMax", "argMin", "logSumExp", "moments", "norm", "transpose", "reverse", "unstack",
         "squeeze", "expandDims", "cumsum"]
BINARY = ["add", "sub", "mul", "div", "realDiv", "divNoNan", "floorDiv", "mod", "pow", "maximum",
          "minimum", "squaredDifference", "atan2", "equal", "notEqual", "less", "lessEqual",
          "greater", "greaterEqual", "matMul", "dot", "prelu"]
OTHER = {
    "cast": lambda x: tf.cast(x, "int32"),
    "clipByValue": lambda x: tf.clipByValue(x, 0, 1),
    "reshape": lambda x: tf.reshape(x, [-1]),
    "broadcastTo": lambda x: tf.broadcastTo(x, [2, 2, 3]),
    "slice": lambda x: tf.slice(x, [0, 0], [1, 1]),
    "stridedSlice": lambda x: tf.stridedSlice(x, [0], [1]),
    "split": lambda x: tf.split(x, 3, 1),
    "tile": lambda x: tf.tile(x, [1, 2]),
    "pad": lambda x: tf.pad(x, [[1, 1], [0, 0]]),
    "gather": lambda x: tf.gather(x, i32([0])),
    "concat": lambda x: tf.concat([f(), x]),
    "stack": lambda x: tf.stack([f(), x]),
    "addN": lambda x: tf.addN([f(), x]),
    "where": lambda x: tf.where(b8([True, False, True]), x, f()),
    "outerProduct": lambda x: tf.outerProduct(x, f([3])),
    "all": lambda x: tf.all(x),
    "any": lambda x: tf.any(x),
    "logicalNot": lambda x: tf.logicalNot(x),
    "logicalAnd": lambda x: tf.logicalAnd(x, b8([True])),
    "logicalOr": lambda x: tf.logicalOr(b8([True]), x),
    "logicalXor": lambda x: tf.logicalXor(x, x),
    "oneHot": lambda x: tf.oneHot(x, 3),
    "conv1d": lambda x: tf.conv1d(x, f([2, 3, 4]), 1, "valid"),
    "conv2d": lambda x: tf.conv2d(x, f([2, 2, 3, 4]), 1, "valid"),
    "conv3d": lambda x: tf.conv3d(x, f([2, 2, 2, 3, 4]), 1, "valid"),
    "depthwiseConv2d": lambda x: tf.depthwiseConv2d(x, f([2, 2, 3, 1]), 1, "valid"),
    "separableConv2d": lambda x: tf.separableConv2d(x, f([2, 2, 3, 1]), f([1, 1, 3, 4]), 1,
                                                    "valid"),
    "conv2dTranspose": lambda x: tf.conv2dTranspose(x, f([2, 2, 4, 3]), [1, 6, 6, 4], 1, "valid"),
    "conv3dTranspose": lambda x: tf.conv3dTranspose(x, f([2, 2, 2, 4, 3]), [1, 6, 6, 6, 4], 1,
                                                    "valid"),
    "maxPool": lambda x: tf.maxPool(x, 2, 2, "valid"),
    "avgPool": lambda x: tf.avgPool(x, 2, 2, "valid"),
    "maxPool3d": lambda x: tf.maxPool3d(x, 2, 2, "valid"),
    "avgPool3d": lambda x: tf.avgPool3d(x, 2, 2, "valid"),
}
NEEDS = {"all": "bool", "any": "bool", "logicalNot": "bool", "logicalAnd": "bool",
         "logicalOr": "bool", "logicalXor": "bool", "oneHot": "int32", "outerProduct": "vector",
         "conv1d": [1, 5, 3], "conv2d": [1, 5, 5, 3], "conv3d": [1, 5, 5, 5, 3],
         "depthwiseConv2d": [1, 5, 5, 3], "separableConv2d": [1, 5, 5, 3],
         "conv2dTranspose": [1, 5, 5, 3], "conv3dTranspose": [1, 5, 5, 5, 3],
         "maxPool": [1, 4, 4, 3], "avgPool": [1, 4, 4, 3], "maxPool3d": [1, 4, 4, 4, 3],
         "avgPool3d": [1, 4, 4, 4, 3]}


def call(op, x):
    if op in OTHER:
        return OTHER[op](x)
    if op in BINARY:
        other = f([3, 4]) if op in ("matMul", "dot") else f()
        return getattr(tf, op)(x, other)
    return getattr(tf, op)(x)


def disposed_input(op):
    kind = NEEDS.get(op)
    if kind == "bool":
        x = b8([[True, False, True], [False, True, True]])
    elif kind == "int32":
        x = i32([0, 1])
    elif kind == "vector":
        x = f([3])
    elif isinstance(kind, list):
        x = f(kind)
    else:
        x = f()
    x.dispose()
    return x


ALL_OPS = UNARY + BINARY + list(OTHER)


def test_the_table_covers_every_tensor_op():
    creation = {"tensor", "scalar", "tensor1d", "tensor2d", "tensor3d", "tensor4d", "tensor5d",
                "tensor6d", "zeros", "ones", "fill", "eye", "range", "linspace", "variable",
                "randomNormal", "randomUniform", "truncatedNormal"}
    from kiln.frontend.ops import PUBLIC
    namespaces = {name for name, value in PUBLIC.items() if not callable(value)}
    missing = set(PUBLIC) - creation - namespaces - set(ALL_OPS)
    assert not missing, f"ops without an error test: {sorted(missing)}"


@pytest.mark.parametrize("op", ALL_OPS)
def test_disposed_input_is_an_error_naming_the_op_and_the_tensor(op):
    x = disposed_input(op)
    with raises(tf.DisposedError, f"{op}: ", "disposed", f"tensor #{x.id}"):
        call(op, x)
    assert issubclass(tf.DisposedError, ValueError)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "realDiv", "divNoNan", "floorDiv",
                                "mod", "pow", "maximum", "minimum", "squaredDifference", "atan2",
                                "equal", "notEqual", "less", "lessEqual", "greater",
                                "greaterEqual", "prelu"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_unbroadcastable_operands_name_the_op_and_both_shapes(op, dtype):
    a, b = tf.ones([2, 3], dtype), tf.ones([4], dtype)
    with raises(ValueError, op, "[2, 3]", "[4]"):
        getattr(tf, op)(a, b)


@pytest.mark.parametrize("op", ["logicalAnd", "logicalOr", "logicalXor"])
def test_unbroadcastable_logical_operands(op):
    with raises(ValueError, op, "[2]", "[3]"):
        getattr(tf, op)(b8([True, False]), b8([True, False, True]))


def test_where_names_itself_and_the_shapes():
    with raises(ValueError, "where", "[2]", "[3]"):
        tf.where(b8([True, False]), f([3]), f([3]))


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "max", "min", "all", "any", "logSumExp",
                                "moments", "norm", "argMax", "argMin", "softmax", "logSoftmax",
                                "cumsum", "reverse", "unstack", "squeeze", "expandDims"])
def test_out_of_range_axis_names_the_op_and_the_axis(op):
    x = b8([[True, False, True], [False, True, True]]) if op in ("all", "any") else f()
    fn = getattr(tf, op)
    with raises(ValueError, op, "axis", "5"):
        fn(x, axis=5) if op != "softmax" else fn(x, 5)


def test_ops_reject_non_integer_axes():
    with raises(TypeError, "sum", "axis", "'a'"):
        tf.sum(f(), "a")


def test_matMul_shape_errors_name_both_shapes():
    with raises(ValueError, "matMul", "[2, 3]", "[2, 3]"):
        tf.matMul(f(), f())


def test_bool_only_ops_name_the_argument_and_dtype():
    with raises(TypeError, "logicalAnd", "'a'", "float32"):
        tf.logicalAnd(f(), b8([True]))
    with raises(TypeError, "where", "'condition'", "int32"):
        tf.where(i32([1, 0]), f([2]), f([2]))


def test_python_data_errors_name_the_op_and_the_argument():
    with raises(TypeError, "add", "'b'", "string"):
        tf.add(f(), "x")
    with raises(ValueError, "matMul", "'a'", "ragged"):
        tf.matMul([[1, 2], [3]], f())


def test_validation_happens_before_compilation():
    import kiln.codegen.compiler as compiler
    a, b, c = tf.ones([7, 3]), tf.ones([5]), tf.ones([5, 2])
    before = compiler.compile_count
    with pytest.raises(ValueError):
        tf.add(a, b)
    with pytest.raises(ValueError):
        tf.matMul(a, c)
    with pytest.raises(ValueError):
        tf.sum(a, 9)
    assert compiler.compile_count == before
