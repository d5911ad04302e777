"""Elementwise ops: out[i] = f(operands at i), with numpy broadcasting across operands.

Each table row is (name, allowed operand dtypes, result dtype rule, attributes). The scalar
meaning of every op is its lowering in kiln.codegen.scalar; the gradient rules live in
kiln.ir.gradients.
"""
from __future__ import annotations

from kiln.ir.dtypes import as_dtype, bool_, float32, int32
from kiln.ir.ops._rules import broadcast_shapes, require_dtype, same_dtype
from kiln.ir.registry import REQUIRED, Kind, OpDef, register
from kiln.ir.types import TensorType

FLOAT = (float32,)
NUMERIC = (float32, int32)
BOOL = (bool_,)
ANY = (float32, int32, bool_)

SAME = "same"      # result has the operands' dtype
TO_BOOL = "bool"   # result is bool

UNARY = [
    # name, operand dtypes, result, attributes
    ("neg", NUMERIC, SAME, {}),
    ("abs", NUMERIC, SAME, {}),
    ("sign", NUMERIC, SAME, {}),
    ("square", NUMERIC, SAME, {}),
    ("relu", NUMERIC, SAME, {}),
    ("relu6", NUMERIC, SAME, {}),
    ("exp", FLOAT, SAME, {}),
    ("expm1", FLOAT, SAME, {}),
    ("log", FLOAT, SAME, {}),
    ("log1p", FLOAT, SAME, {}),
    ("sqrt", FLOAT, SAME, {}),
    ("rsqrt", FLOAT, SAME, {}),
    ("reciprocal", FLOAT, SAME, {}),
    ("floor", FLOAT, SAME, {}),
    ("ceil", FLOAT, SAME, {}),
    ("round", FLOAT, SAME, {}),          # half to even, as TF.js and numpy
    ("sin", FLOAT, SAME, {}),
    ("cos", FLOAT, SAME, {}),
    ("tan", FLOAT, SAME, {}),
    ("asin", FLOAT, SAME, {}),
    ("acos", FLOAT, SAME, {}),
    ("atan", FLOAT, SAME, {}),
    ("sinh", FLOAT, SAME, {}),
    ("cosh", FLOAT, SAME, {}),
    ("tanh", FLOAT, SAME, {}),
    ("asinh", FLOAT, SAME, {}),
    ("acosh", FLOAT, SAME, {}),
    ("atanh", FLOAT, SAME, {}),
    ("sigmoid", FLOAT, SAME, {}),
    ("softplus", FLOAT, SAME, {}),
    ("elu", FLOAT, SAME, {}),
    ("selu", FLOAT, SAME, {}),
    ("erf", FLOAT, SAME, {}),
    ("leakyRelu", FLOAT, SAME, {"alpha": 0.2}),
    ("step", FLOAT, SAME, {"alpha": 0.0}),
    ("clip", NUMERIC, SAME, {"min": REQUIRED, "max": REQUIRED}),
    ("isNaN", FLOAT, TO_BOOL, {}),
    ("isInf", FLOAT, TO_BOOL, {}),
    ("isFinite", FLOAT, TO_BOOL, {}),
    ("logicalNot", BOOL, SAME, {}),
]

BINARY = [
    ("add", NUMERIC, SAME),
    ("sub", NUMERIC, SAME),
    ("mul", NUMERIC, SAME),
    ("div", FLOAT, SAME),
    ("floorDiv", NUMERIC, SAME),
    ("mod", NUMERIC, SAME),              # floored: the result has the divisor's sign
    ("pow", NUMERIC, SAME),
    ("maximum", NUMERIC, SAME),
    ("minimum", NUMERIC, SAME),
    ("squaredDifference", NUMERIC, SAME),
    ("atan2", FLOAT, SAME),
    ("equal", ANY, TO_BOOL),
    ("notEqual", ANY, TO_BOOL),
    ("less", NUMERIC, TO_BOOL),
    ("lessEqual", NUMERIC, TO_BOOL),
    ("greater", NUMERIC, TO_BOOL),
    ("greaterEqual", NUMERIC, TO_BOOL),
    ("logicalAnd", BOOL, SAME),
    ("logicalOr", BOOL, SAME),
    ("logicalXor", BOOL, SAME),
]


def _elementwise_rule(name, allowed, result):
    def infer(inputs, attrs):
        for i, t in enumerate(inputs):
            require_dtype(name, i, t, allowed)
        same_dtype(name, inputs)
        shape = broadcast_shapes(name, *(t.shape for t in inputs))
        dtype = bool_ if result == TO_BOOL else inputs[0].dtype
        return [TensorType(shape, dtype)]
    return infer


def _select(inputs, attrs):
    cond, a, b = inputs
    require_dtype("select", 0, cond, BOOL)
    same_dtype("select", [a, b])
    return [TensorType(broadcast_shapes("select", cond.shape, a.shape, b.shape), a.dtype)]


def _cast(inputs, attrs):
    (x,) = inputs
    return [TensorType(x.shape, as_dtype(attrs["dtype"]))]


for _name, _allowed, _result, _attrs in UNARY:
    register(OpDef(_name, Kind.ELEMENTWISE, _elementwise_rule(_name, _allowed, _result),
                   _attrs, arity=1))
for _name, _allowed, _result in BINARY:
    register(OpDef(_name, Kind.ELEMENTWISE, _elementwise_rule(_name, _allowed, _result),
                   {}, arity=2))
register(OpDef("select", Kind.ELEMENTWISE, _select, {}, arity=3,
               doc="cond ? a : b, broadcasting all three"))
register(OpDef("cast", Kind.ELEMENTWISE, _cast, {"dtype": REQUIRED}, arity=1,
               doc="convert dtype; float to int truncates toward zero, nonzero to bool is true"))

UNARY_OPS = frozenset(row[0] for row in UNARY) | {"cast"}
BINARY_OPS = frozenset(row[0] for row in BINARY)
