"""Movement ops: every output element is one input element (or a fill value).

These never compute new numbers; codegen turns them into index arithmetic inside the
consuming kernel, or into views of an existing buffer when that is possible.
"""
from __future__ import annotations

import math

from kiln.ir.dtypes import int32
from kiln.ir.errors import ShapeError
from kiln.ir.ops._rules import check_axes, require_dtype, same_dtype
from kiln.ir.registry import REQUIRED, Kind, OpDef, register
from kiln.ir.types import TensorType


def _reshape(inputs, attrs):
    (x,) = inputs
    shape = tuple(attrs["shape"])
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ShapeError(f"reshape: target shape {list(shape)} must be non-negative integers")
    if math.prod(shape) != x.size:
        raise ShapeError(f"reshape: cannot reshape {list(x.shape)} ({x.size} elements) "
                         f"into {list(shape)} ({math.prod(shape)} elements)")
    return [x.with_shape(shape)]


def _transpose(inputs, attrs):
    (x,) = inputs
    perm = tuple(attrs["perm"])
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(f"transpose: perm {list(perm)} is not a permutation of "
                         f"0..{x.rank - 1} for shape {list(x.shape)}")
    return [x.with_shape(x.shape[p] for p in perm)]


def _broadcast_to(inputs, attrs):
    (x,) = inputs
    shape = tuple(attrs["shape"])
    if len(shape) < x.rank:
        raise ShapeError(f"broadcastTo: cannot broadcast {list(x.shape)} to lower rank {list(shape)}")
    for xd, sd in zip(x.shape[::-1], shape[::-1]):
        if xd != sd and xd != 1:
            raise ShapeError(f"broadcastTo: cannot broadcast {list(x.shape)} to {list(shape)}")
    return [x.with_shape(shape)]


def slice_length(begin: int, end: int, stride: int) -> int:
    if stride > 0:
        return max(0, -(-(end - begin) // stride))
    return max(0, -(-(begin - end) // -stride))


def _slice(inputs, attrs):
    (x,) = inputs
    begin, end, strides = attrs["begin"], attrs["end"], attrs["strides"]
    if not len(begin) == len(end) == len(strides) == x.rank:
        raise ShapeError(f"slice: begin/end/strides need {x.rank} entries for shape {list(x.shape)}")
    out = []
    for axis, (b, e, s, d) in enumerate(zip(begin, end, strides, x.shape)):
        if s == 0:
            raise ShapeError(f"slice: stride of axis {axis} is zero")
        n = slice_length(b, e, s)
        if n and not (0 <= b < d and 0 <= b + (n - 1) * s < d):
            raise ShapeError(f"slice: axis {axis} range [{b}:{e}:{s}] is outside size {d}")
        out.append(n)
    return [x.with_shape(out)]


def _pad(inputs, attrs):
    (x,) = inputs
    pads = attrs["paddings"]
    if len(pads) != x.rank or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ShapeError(f"pad: paddings {[list(p) for p in pads]} must be {x.rank} "
                         f"non-negative [before, after] pairs for shape {list(x.shape)}")
    return [x.with_shape(d + lo + hi for d, (lo, hi) in zip(x.shape, pads))]


def _concat(inputs, attrs):
    if not inputs:
        raise ShapeError("concat: needs at least one operand")
    same_dtype("concat", inputs)
    first = inputs[0]
    (axis,) = check_axes("concat", (attrs["axis"],), first.rank)
    for i, t in enumerate(inputs[1:], 1):
        if t.rank != first.rank or any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if k != axis):
            raise ShapeError(f"concat: operand {i} has shape {list(t.shape)}, incompatible with "
                             f"{list(first.shape)} along axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in inputs)
    return [first.with_shape(shape)]


def _reverse(inputs, attrs):
    (x,) = inputs
    check_axes("reverse", attrs["axes"], x.rank)
    return [x]


def _tile(inputs, attrs):
    (x,) = inputs
    reps = attrs["reps"]
    if len(reps) != x.rank or any(r < 0 for r in reps):
        raise ShapeError(f"tile: reps {list(reps)} must be {x.rank} non-negative integers")
    return [x.with_shape(d * r for d, r in zip(x.shape, reps))]


def _gather(inputs, attrs):
    params, indices = inputs
    require_dtype("gather", 1, indices, (int32,))
    (axis,) = check_axes("gather", (attrs["axis"],), params.rank)
    shape = params.shape[:axis] + indices.shape + params.shape[axis + 1:]
    return [params.with_shape(shape)]


register(OpDef("reshape", Kind.MOVEMENT, _reshape, {"shape": REQUIRED},
               doc="same elements in row-major order, new shape"))
register(OpDef("transpose", Kind.MOVEMENT, _transpose, {"perm": REQUIRED},
               doc="out.shape[i] = in.shape[perm[i]]"))
register(OpDef("broadcastTo", Kind.MOVEMENT, _broadcast_to, {"shape": REQUIRED}))
register(OpDef("slice", Kind.MOVEMENT, _slice,
               {"begin": REQUIRED, "end": REQUIRED, "strides": REQUIRED},
               doc="out[i] = in[begin + i*strides]; begin/end already clamped, strides may be negative"))
register(OpDef("pad", Kind.MOVEMENT, _pad, {"paddings": REQUIRED, "value": 0},
               doc="constant padding of [before, after] per axis"))
register(OpDef("concat", Kind.MOVEMENT, _concat, {"axis": REQUIRED}, arity=None))
register(OpDef("reverse", Kind.MOVEMENT, _reverse, {"axes": REQUIRED}))
register(OpDef("tile", Kind.MOVEMENT, _tile, {"reps": REQUIRED}))
register(OpDef("gather", Kind.MOVEMENT, _gather, {"axis": 0}, arity=2,
               doc="out[..., j, ...] = params[..., indices[j], ...]; indices outside the axis give 0"))


def _scatter_add(inputs, attrs):
    indices, updates = inputs
    require_dtype("scatterAdd", 0, indices, (int32,))
    shape = tuple(attrs["shape"])
    axis = attrs["axis"]
    if not 0 <= axis < len(shape):
        raise ShapeError(f"scatterAdd: axis {axis} is out of range for shape {list(shape)}")
    expected = shape[:axis] + indices.shape + shape[axis + 1:]
    if updates.shape != expected:
        raise ShapeError(f"scatterAdd: updates have shape {list(updates.shape)}, expected "
                         f"{list(expected)} for indices {list(indices.shape)} into {list(shape)}")
    return [updates.with_shape(shape)]


register(OpDef("scatterAdd", Kind.SCATTER, _scatter_add, {"shape": REQUIRED, "axis": 0}, arity=2,
               doc="the adjoint of gather: zeros of `shape`, then out[..., indices[j], ...] += "
                   "updates[..., j, ...]; indices outside the axis are dropped"))
