"""Ops with no data operands: graph boundary values, constants, iota and random numbers."""
from __future__ import annotations

from kiln.ir.dtypes import as_dtype, float32, int32
from kiln.ir.errors import ShapeError
from kiln.ir.registry import REQUIRED, Kind, OpDef, register
from kiln.ir.types import TensorType


def _typed(inputs, attrs):
    return [attrs["type"]]


def _constant(inputs, attrs):
    array = attrs["value"].array
    return [TensorType(array.shape, as_dtype(array.dtype))]


def _shape_attr(op, shape):
    if any((not isinstance(d, int)) or d < 0 for d in shape):
        raise ShapeError(f"{op}: shape {list(shape)} must hold non-negative integers")
    return tuple(shape)


def _iota(inputs, attrs):
    shape = _shape_attr("iota", attrs["shape"])
    if not 0 <= attrs["axis"] < max(len(shape), 1):
        raise ShapeError(f"iota: axis {attrs['axis']} out of range for shape {list(shape)}")
    return [TensorType(shape, as_dtype(attrs["dtype"]))]


def _random(name):
    def infer(inputs, attrs):
        (seed,) = inputs
        if seed.dtype is not int32 or seed.shape != ():
            raise ShapeError(f"{name}: the seed operand must be an int32 scalar, got {seed}")
        return [TensorType(_shape_attr(name, attrs["shape"]), float32)]
    return infer


register(OpDef("input", Kind.SOURCE, _typed, {"name": REQUIRED, "type": REQUIRED}, arity=0,
               pure=False, doc="a value fed by the caller on every run"))
register(OpDef("param", Kind.SOURCE, _typed, {"name": REQUIRED, "type": REQUIRED}, arity=0,
               pure=False, doc="a value bound to a long-lived buffer (weights, optimizer state)"))
register(OpDef("constant", Kind.SOURCE, _constant, {"value": REQUIRED}, arity=0,
               doc="a small array embedded in the graph"))
register(OpDef("iota", Kind.SOURCE, _iota, {"shape": REQUIRED, "axis": 0, "dtype": int32},
               arity=0, doc="out[i] = i[axis]"))
for _name, _doc in [
    ("randomUniform", "uniform in [0, 1)"),
    ("randomNormal", "standard normal"),
    ("truncatedNormal", "standard normal, redrawn outside two standard deviations"),
]:
    register(OpDef(_name, Kind.SOURCE, _random(_name), {"shape": REQUIRED, "salt": 0}, arity=1,
                   doc=f"{_doc}; counter-based: a pure function of (seed operand, salt, index)"))
