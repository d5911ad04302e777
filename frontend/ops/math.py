"""Elementwise tf.* ops with TensorFlow.js's dtype rules.

Binary ops convert Python data to tensors and upcast mismatched dtypes (bool < int32 <
float32), as TF.js's makeTypesMatch does. Float-only functions (exp, sigmoid, ...) give
float32 for int32 or bool inputs, as TF.js's kernels do; `div` of two int32 tensors is floor
division, as in TF.js.
"""
from __future__ import annotations

from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply, composite
from kiln.ir.dtypes import as_dtype, upcast
from kiln.ir.ops.elementwise import UNARY

FLOAT_UNARY = [row[0] for row in UNARY if row[1] == (as_dtype("float32"),) and row[2] == "same"
               and not row[3]]
NUMERIC_UNARY = ["neg", "abs", "sign", "square", "relu", "relu6"]


def cast(x, dtype):
    """tf.cast(x, dtype): float to int truncates toward zero; nonzero to bool is true."""
    x = convert(x, "x", "cast")
    dtype = as_dtype(dtype).value
    if x.dtype == dtype:
        return _clone(x)
    return apply("cast", [x], {"dtype": as_dtype(dtype)})


def _clone(x):
    from kiln.runtime.tensor import Tensor

    if isinstance(x, Tensor):
        return x.clone()
    return x


def _as(x, dtype):
    return x if x.dtype == dtype else apply("cast", [x], {"dtype": as_dtype(dtype)})


def match_types(a, b):
    """TF.js's makeTypesMatch: upcast the operand with the lower dtype."""
    if a.dtype == b.dtype:
        return a, b
    target = upcast(as_dtype(a.dtype), as_dtype(b.dtype)).value
    return _as(a, target), _as(b, target)


def _numeric(x):
    return _as(x, "int32") if x.dtype == "bool" else x


def _float(x):
    return _as(x, "float32")


# ---- unary -------------------------------------------------------------------------------
def _float_unary(op):
    def fn(x):
        return apply(op, [_float(convert(x, "x", op))])
    fn.__name__ = op
    fn.__doc__ = f"tf.{op}(x), elementwise; float32 result."
    return fn


def _numeric_unary(op):
    def fn(x):
        return apply(op, [_numeric(convert(x, "x", op))])
    fn.__name__ = op
    fn.__doc__ = f"tf.{op}(x), elementwise; keeps an int32 input's dtype."
    return fn


_globals = globals()
for _op in FLOAT_UNARY:
    if _op not in ("floor", "ceil", "round"):
        _globals[_op] = _float_unary(_op)
for _op in NUMERIC_UNARY:
    _globals[_op] = _numeric_unary(_op)


def _rounding(op):
    def fn(x):
        x = convert(x, "x", op)
        if x.dtype != "float32":
            return _clone(_numeric(x))      # integers are already whole
        return apply(op, [x])
    fn.__name__ = op
    return fn


floor, ceil, round = _rounding("floor"), _rounding("ceil"), _rounding("round")


def leakyRelu(x, alpha=0.2):
    return apply("leakyRelu", [_float(convert(x, "x", "leakyRelu"))], {"alpha": float(alpha)})


def step(x, alpha=0.0):
    return apply("step", [_float(convert(x, "x", "step"))], {"alpha": float(alpha)})


def clipByValue(x, clipValueMin, clipValueMax):
    if clipValueMin > clipValueMax:
        raise ValueError(f"clipByValue: clipValueMin ({clipValueMin}) must be less than or "
                         f"equal to clipValueMax ({clipValueMax})")
    x = _numeric(convert(x, "x", "clipByValue"))
    cast_ = float if x.dtype == "float32" else int
    return apply("clip", [x], {"min": cast_(clipValueMin), "max": cast_(clipValueMax)})


def _predicate(op):
    def fn(x):
        return apply(op, [_float(convert(x, "x", op))])
    fn.__name__ = op
    return fn


isNaN, isInf, isFinite = _predicate("isNaN"), _predicate("isInf"), _predicate("isFinite")


def logicalNot(x):
    x = convert(x, "x", "logicalNot")
    if x.dtype != "bool":
        raise TypeError(f"logicalNot: argument 'x' must be bool, got {x.dtype}")
    return apply("logicalNot", [x])


@composite("x")
def logSigmoid(x):
    return neg(softplus(neg(x)))      # noqa: F821  (defined from the table above)


@composite("x", "alpha")
def prelu(x, alpha):
    x, alpha = _float(x), _float(alpha)
    return where(less(x, 0.0), mul(alpha, x), x)


# ---- binary ------------------------------------------------------------------------------
def _binary(op, prepare=None, result=None):
    def fn(a, b):
        a, b = match_types(convert(a, "a", op), convert(b, "b", op))
        if prepare:
            a, b = prepare(a), prepare(b)
        return apply(op, [a, b])
    fn.__name__ = op
    fn.__doc__ = f"tf.{op}(a, b), elementwise with broadcasting."
    return fn


add = _binary("add", _numeric)
sub = _binary("sub", _numeric)
mul = _binary("mul", _numeric)
floorDiv = _binary("floorDiv", _numeric)
mod = _binary("mod", _numeric)
maximum = _binary("maximum", _numeric)
minimum = _binary("minimum", _numeric)
squaredDifference = _binary("squaredDifference", _numeric)
atan2 = _binary("atan2", _float)
equal = _binary("equal")
notEqual = _binary("notEqual")
less = _binary("less", _numeric)
lessEqual = _binary("lessEqual", _numeric)
greater = _binary("greater", _numeric)
greaterEqual = _binary("greaterEqual", _numeric)


def _logical(op):
    def fn(a, b):
        a, b = convert(a, "a", op, "bool"), convert(b, "b", op, "bool")
        for name, t in (("a", a), ("b", b)):
            if t.dtype != "bool":
                raise TypeError(f"{op}: argument '{name}' must be bool, got {t.dtype}")
        return apply(op, [a, b])
    fn.__name__ = op
    return fn


logicalAnd, logicalOr, logicalXor = (_logical(n) for n in ("logicalAnd", "logicalOr", "logicalXor"))


def div(a, b):
    """tf.div(a, b): a / b; floor division when both are int32 (as TF.js)."""
    a, b = match_types(convert(a, "a", "div"), convert(b, "b", "div"))
    if a.dtype != "float32":
        return apply("floorDiv", [_numeric(a), _numeric(b)])
    return apply("div", [_float(a), _float(b)])


realDiv = div


def pow(base, exp):
    """tf.pow(base, exp); int32 operands give an exact int32 result (wrapping on overflow)."""
    base, exp = match_types(convert(base, "base", "pow"), convert(exp, "exp", "pow"))
    return apply("pow", [_numeric(base), _numeric(exp)])


@composite("a", "b")
def divNoNan(a, b):
    """a / b, and 0 where b is 0. Integer operands divide as tf.div does (floor division,
    which already gives 0 for a zero divisor), as TF.js."""
    a, b = match_types(a, b)
    if a.dtype != "float32":
        return div(a, b)
    zero = equal(b, 0.0)
    return where(zero, 0.0, div(a, where(zero, 1.0, b)))


def where(condition, a, b):
    """tf.where(condition, a, b): a where condition is true, else b (all three broadcast)."""
    condition = convert(condition, "condition", "where", "bool")
    a, b = convert(a, "a", "where"), convert(b, "b", "where")
    if condition.dtype != "bool":
        raise TypeError(f"where: argument 'condition' must be bool, got {condition.dtype}")
    a, b = match_types(a, b)
    return apply("select", [condition, a, b])


@composite("tensors*")
def addN(tensors):
    """tf.addN(tensors): the elementwise sum of tensors of one shape and dtype."""
    if not tensors:
        raise ValueError("addN: must pass at least one tensor")
    first = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != first.shape or t.dtype != first.dtype:
            raise ValueError(f"addN: all tensors must have the same shape and dtype; tensor {i} "
                             f"is {t.dtype}{t.shape}, tensor 0 is {first.dtype}{first.shape}")
    total = tensors[0]
    for t in tensors[1:]:
        total = add(total, t)
    return total
