"""Tensor methods and Python operators for the tf.* ops.

TF.js tensors chain ops as methods (`x.add(y).relu().sum()`); the table below attaches each
op to Tensor and TracedTensor with the tensor as first argument, plus Python's operators.
"""
from __future__ import annotations

from kiln.frontend.ops import creation, linalg, math, nn, reduction, shape
from kiln.frontend.trace import TracedTensor
from kiln.runtime.tensor import Tensor

METHOD_SOURCES = {
    math: ["add", "sub", "mul", "div", "realDiv", "divNoNan", "floorDiv", "mod", "pow", "maximum",
           "minimum", "squaredDifference", "atan2", "equal", "notEqual", "less", "lessEqual",
           "greater", "greaterEqual", "logicalAnd", "logicalOr", "logicalXor", "logicalNot",
           "neg", "abs", "sign", "square", "relu", "relu6", "exp", "expm1", "log", "log1p",
           "sqrt", "rsqrt", "reciprocal", "floor", "ceil", "round", "sin", "cos", "tan", "asin",
           "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid",
           "softplus", "logSigmoid", "elu", "selu", "erf", "leakyRelu", "prelu", "step",
           "clipByValue", "isNaN", "isInf", "isFinite", "cast"],
    reduction: ["sum", "mean", "prod", "max", "min", "argMax", "argMin", "all", "any",
                "logSumExp", "norm"],
    linalg: ["matMul", "dot", "transpose"],
    shape: ["reshape", "expandDims", "squeeze", "broadcastTo", "unstack", "split", "slice",
            "stridedSlice", "gather", "tile", "pad", "reverse", "cumsum"],
    nn: ["softmax", "logSoftmax"],
    creation: ["zerosLike", "onesLike", "oneHot"],
}


def _extra_methods():
    def flatten(x):
        return shape.reshape(x, [-1])

    def asType(x, dtype):
        return math.cast(x, dtype)

    def as_shape(*dims):
        return lambda x: shape.reshape(x, dims)

    return {
        "flatten": flatten,
        "asType": asType,
        "toFloat": lambda x: math.cast(x, "float32"),
        "toInt": lambda x: math.cast(x, "int32"),
        "toBool": lambda x: math.cast(x, "bool"),
        "asScalar": lambda x: shape.reshape(x, []),
        "as1D": lambda x: shape.reshape(x, [-1]),
        "as2D": lambda x, a, b: shape.reshape(x, [a, b]),
        "as3D": lambda x, a, b, c: shape.reshape(x, [a, b, c]),
        "as4D": lambda x, a, b, c, d: shape.reshape(x, [a, b, c, d]),
        "as5D": lambda x, a, b, c, d, e: shape.reshape(x, [a, b, c, d, e]),
        "reshapeAs": lambda x, other: shape.reshape(x, other.shape),
        "where": lambda x, condition, other: math.where(condition, x, other),   # TF.js order
        "concat": lambda x, others, axis=0: shape.concat(
            [x] + (list(others) if isinstance(others, (list, tuple)) else [others]), axis),
        "stack": lambda x, others, axis=0: shape.stack(
            [x] + (list(others) if isinstance(others, (list, tuple)) else [others]), axis),
    }


def _operators():
    def swap(fn):
        return lambda self, other: fn(other, self)

    return {
        "__add__": math.add, "__radd__": swap(math.add),
        "__sub__": math.sub, "__rsub__": swap(math.sub),
        "__mul__": math.mul, "__rmul__": swap(math.mul),
        "__truediv__": math.div, "__rtruediv__": swap(math.div),
        "__floordiv__": math.floorDiv, "__rfloordiv__": swap(math.floorDiv),
        "__mod__": math.mod, "__rmod__": swap(math.mod),
        "__pow__": math.pow, "__rpow__": swap(math.pow),
        "__matmul__": linalg.matMul, "__rmatmul__": swap(linalg.matMul),
        "__neg__": math.neg, "__abs__": math.abs,
        "__lt__": math.less, "__le__": math.lessEqual,
        "__gt__": math.greater, "__ge__": math.greaterEqual,
        "__eq__": math.equal, "__ne__": math.notEqual,
        "__and__": math.logicalAnd, "__or__": math.logicalOr, "__xor__": math.logicalXor,
        "__invert__": math.logicalNot,
        "__getitem__": _getitem,
    }


def _getitem(x, key):
    """Python indexing (ints, slices, ..., None) through stridedSlice."""
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    begin_mask = end_mask = ellipsis_mask = new_axis_mask = shrink_mask = 0
    for i, k in enumerate(key):
        if k is Ellipsis:
            ellipsis_mask |= 1 << i
            begin.append(0), end.append(0), strides.append(1)
        elif k is None:
            new_axis_mask |= 1 << i
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            begin.append(0 if k.start is None else int(k.start))
            end.append(0 if k.stop is None else int(k.stop))
            strides.append(step)
            if k.start is None:
                begin_mask |= 1 << i
            if k.stop is None:
                end_mask |= 1 << i
        else:
            begin.append(int(k)), end.append(int(k) + 1), strides.append(1)
            shrink_mask |= 1 << i
    return shape.stridedSlice(x, begin, end, strides, begin_mask, end_mask, ellipsis_mask,
                              new_axis_mask, shrink_mask)


def method_table() -> dict:
    table = {}
    for module, names in METHOD_SOURCES.items():
        for name in names:
            table[name] = getattr(module, name)
    table.update(_extra_methods())
    table.update(_operators())
    return table


# Symbolic tensors keep identity equality: graph-building code compares and hashes them.
SYMBOLIC_EXCLUDED = {"__eq__", "__ne__", "__bool__"}


def install(classes=(Tensor, TracedTensor), exclude=()) -> None:
    for cls in classes:
        for name, fn in method_table().items():
            if name not in exclude:
                setattr(cls, name, fn)
        cls.__hash__ = object.__hash__
