"""Reductions over a set of axes, and arg-reductions over one axis."""
from __future__ import annotations

from kiln.ir.dtypes import bool_, float32, int32
from kiln.ir.errors import ShapeError
from kiln.ir.ops._rules import check_axes, require_dtype
from kiln.ir.registry import REQUIRED, Kind, OpDef, register
from kiln.ir.types import TensorType

NUMERIC = (float32, int32)

REDUCTIONS = [
    # name, operand dtypes, identity element (documentation; codegen has the values)
    ("sum", NUMERIC, "0"),
    ("prod", NUMERIC, "1"),
    ("max", NUMERIC, "-inf / INT_MIN"),
    ("min", NUMERIC, "+inf / INT_MAX"),
    ("all", (bool_,), "true"),
    ("any", (bool_,), "false"),
]


def reduced_shape(shape, axes, keep_dims):
    if keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_rule(name, allowed):
    def infer(inputs, attrs):
        (x,) = inputs
        require_dtype(name, 0, x, allowed)
        axes = check_axes(name, attrs["axes"], x.rank)
        if name in ("max", "min") and any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{name}: cannot reduce an empty axis of shape {list(x.shape)}")
        return [TensorType(reduced_shape(x.shape, axes, attrs["keepDims"]), x.dtype)]
    return infer


def _arg_rule(name):
    def infer(inputs, attrs):
        (x,) = inputs
        require_dtype(name, 0, x, NUMERIC)
        (axis,) = check_axes(name, (attrs["axis"],), x.rank)
        if x.shape[axis] == 0:
            raise ShapeError(f"{name}: cannot reduce an empty axis of shape {list(x.shape)}")
        return [TensorType(reduced_shape(x.shape, (axis,), False), int32)]
    return infer


for _name, _allowed, _identity in REDUCTIONS:
    register(OpDef(_name, Kind.REDUCE, _reduce_rule(_name, _allowed),
                   {"axes": REQUIRED, "keepDims": False}, arity=1,
                   doc=f"reduce the listed axes (identity {_identity})"))
for _name in ("argMax", "argMin"):
    register(OpDef(_name, Kind.REDUCE, _arg_rule(_name), {"axis": REQUIRED}, arity=1,
                   doc="index of the first extreme element along axis (NaN counts as extreme)"))

REDUCE_OPS = frozenset(r[0] for r in REDUCTIONS) | {"argMax", "argMin"}
