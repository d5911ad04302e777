"""Shape and indexing ops: reshape, expandDims, squeeze, broadcastTo, concat, stack, unstack,
split, slice, stridedSlice, gather, tile, pad, reverse, cumsum."""
from __future__ import annotations

import math

from kiln.frontend.ops.axes import normalize_axes, normalize_axis
from kiln.frontend.ops.convert import convert, tensor
from kiln.frontend.ops.dispatch import apply, composite
from kiln.frontend.ops.math import _as, add, mul
from kiln.ir.dtypes import int32
from kiln.ir.ops.movement import slice_length


def reshape(x, shape):
    """tf.reshape(x, shape): one entry may be -1 (inferred)."""
    x = convert(x, "x", "reshape")
    shape = [int(d) for d in shape]
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in shape):
        raise ValueError(f"reshape: shape {shape} may hold at most one -1 and no other "
                         "negative sizes")
    known = math.prod(d for d in shape if d != -1)
    if unknown:
        if known == 0 or x.size % known:
            raise ValueError(f"reshape: cannot infer the -1 in {shape} for a tensor of "
                             f"{x.size} elements (shape {x.shape})")
        shape[unknown[0]] = x.size // known
    if math.prod(shape) != x.size:
        raise ValueError(f"reshape: the new shape ({shape}) has {math.prod(shape)} elements and "
                         f"the old shape ({x.shape}) has {x.size} elements; they must match")
    return apply("reshape", [x], {"shape": tuple(shape)})


def expandDims(x, axis=0):
    x = convert(x, "x", "expandDims")
    axis = normalize_axis(axis, x.rank, "expandDims", extra=1)
    shape = x.shape
    shape.insert(axis, 1)
    return apply("reshape", [x], {"shape": tuple(shape)})


def squeeze(x, axis=None):
    x = convert(x, "x", "squeeze")
    if axis is None:
        shape = [d for d in x.shape if d != 1]
    else:
        axes = normalize_axes(axis, x.rank, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot squeeze axis {a} of shape {x.shape}: its size "
                                 f"is {x.shape[a]}, not 1")
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
    return apply("reshape", [x], {"shape": tuple(shape)})


def broadcastTo(x, shape):
    x = convert(x, "x", "broadcastTo")
    shape = tuple(int(d) for d in shape)
    if len(shape) < x.rank:
        raise ValueError(f"broadcastTo: shape {list(shape)} has lower rank than the input "
                         f"{x.shape}")
    return apply("broadcastTo", [x], {"shape": shape})


def concat(tensors, axis=0):
    """tf.concat(tensors, axis=0)."""
    if isinstance(tensors, (list, tuple)) is False or not tensors:
        raise ValueError("concat: pass a non-empty list of tensors")
    tensors = [convert(t, f"tensors[{i}]", "concat") for i, t in enumerate(tensors)]
    first = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.dtype != first.dtype:
            raise TypeError(f"concat: tensor {i} has dtype {t.dtype}, tensor 0 has {first.dtype}")
        if t.rank != first.rank:
            raise ValueError(f"concat: tensor {i} has rank {t.rank}, tensor 0 has rank {first.rank}")
    if first.rank == 0:
        raise ValueError("concat: cannot concatenate scalars; use tf.stack")
    axis = normalize_axis(axis, first.rank, "concat")
    tensors = [t for t in tensors if t.shape[axis] != 0] or tensors[:1]
    if len(tensors) == 1:
        return apply("reshape", [tensors[0]], {"shape": tuple(tensors[0].shape)})
    return apply("concat", tensors, {"axis": axis})


@composite("tensors*")
def stack(tensors, axis=0):
    """Tensors of one shape and dtype, joined along a new axis."""
    if not tensors:
        raise ValueError("stack: pass a non-empty list of tensors")
    first = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.dtype != first.dtype:
            raise TypeError(f"stack: tensor {i} has dtype {t.dtype}, tensor 0 has {first.dtype}")
        if t.shape != first.shape:
            raise ValueError(f"stack: all tensors must have one shape; tensor {i} has {t.shape}, "
                             f"tensor 0 has {first.shape}")
    axis = normalize_axis(axis, first.rank, "stack", extra=1)
    return concat([expandDims(t, axis) for t in tensors], axis)


def unstack(x, axis=0):
    """A list of the slices of x along axis, each without that axis."""
    x = convert(x, "x", "unstack")
    axis = normalize_axis(axis, x.rank, "unstack")
    size = x.shape[:axis] + [1] + x.shape[axis + 1:]
    out_shape = x.shape[:axis] + x.shape[axis + 1:]
    pieces = []
    for i in range(x.shape[axis]):
        begin = [0] * x.rank
        begin[axis] = i
        pieces.append(reshape(_slice(x, begin, size), out_shape))
    return pieces


def split(x, numOrSizeSplits, axis=0):
    """tf.split: into n equal parts, or parts of the given sizes (one may be -1)."""
    x = convert(x, "x", "split")
    axis = normalize_axis(axis, x.rank, "split")
    n = x.shape[axis]
    if isinstance(numOrSizeSplits, int):
        if numOrSizeSplits <= 0 or n % numOrSizeSplits:
            raise ValueError(f"split: number of splits {numOrSizeSplits} must evenly divide the "
                             f"axis size {n}")
        sizes = [n // numOrSizeSplits] * numOrSizeSplits
    else:
        sizes = [int(s) for s in numOrSizeSplits]
        if sizes.count(-1) > 1:
            raise ValueError("split: at most one size may be -1")
        if -1 in sizes:
            sizes[sizes.index(-1)] = n - (sum(sizes) + 1)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {list(numOrSizeSplits)} must add up to the axis size {n}")
    pieces, start = [], 0
    for s in sizes:
        begin = [0] * x.rank
        begin[axis] = start
        size = list(x.shape)
        size[axis] = s
        pieces.append(_slice(x, begin, size))
        start += s
    return pieces


def _slice(x, begin, size):
    end = [b + s for b, s in zip(begin, size)]
    if list(begin) == [0] * x.rank and list(size) == x.shape:
        return apply("reshape", [x], {"shape": tuple(x.shape)})
    return apply("slice", [x], {"begin": tuple(begin), "end": tuple(end),
                                "strides": (1,) * x.rank})


def slice(x, begin, size=None):
    """tf.slice(x, begin, size?): size -1 (or omitted) takes the rest of an axis."""
    x = convert(x, "x", "slice")
    begin = [begin] if isinstance(begin, int) else list(begin)
    begin = begin + [0] * (x.rank - len(begin))
    if size is None:
        size = [-1] * x.rank
    size = [size] if isinstance(size, int) else list(size)
    size = size + [-1] * (x.rank - len(size))
    if len(begin) != x.rank or len(size) != x.rank:
        raise ValueError(f"slice: begin and size need at most {x.rank} entries for shape {x.shape}")
    size = [d - b if s == -1 else s for b, s, d in zip(begin, size, x.shape)]
    for axis, (b, s, d) in enumerate(zip(begin, size, x.shape)):
        if b < 0 or s < 0 or b + s > d:
            raise ValueError(f"slice: begin {begin} and size {size} are outside shape {x.shape} "
                             f"(axis {axis})")
    return _slice(x, begin, size)


def stridedSlice(x, begin, end, strides=None, beginMask=0, endMask=0, ellipsisMask=0,
                 newAxisMask=0, shrinkAxisMask=0):
    """tf.stridedSlice with TensorFlow's masks (begin/end/ellipsis/newAxis/shrinkAxis)."""
    x = convert(x, "x", "stridedSlice")
    begin, end = list(begin), list(end)
    strides = list(strides) if strides is not None else [1] * len(begin)
    if not len(begin) == len(end) == len(strides):
        raise ValueError("stridedSlice: begin, end and strides must have the same length")
    if ellipsisMask & (ellipsisMask - 1):
        raise ValueError("stridedSlice: only one ellipsis is allowed")
    spec = len(begin)
    real = [i for i in range(spec) if not (ellipsisMask >> i) & 1 and not (newAxisMask >> i) & 1]
    if len(real) > x.rank:
        raise ValueError(f"stridedSlice: {len(real)} indexed axes for a rank-{x.rank} tensor")
    attrs_begin, attrs_end, attrs_strides, final_shape = [], [], [], []
    axis = 0

    def full_axis():
        nonlocal axis
        d = x.shape[axis]
        attrs_begin.append(0), attrs_end.append(d), attrs_strides.append(1)
        final_shape.append(d)
        axis += 1

    for i in range(spec):
        if (ellipsisMask >> i) & 1:
            for _ in range(x.rank - len(real)):
                full_axis()
            continue
        if (newAxisMask >> i) & 1:
            final_shape.append(1)
            continue
        d, s = x.shape[axis], int(strides[i])
        if s == 0:
            raise ValueError(f"stridedSlice: stride {i} is zero")
        if (shrinkAxisMask >> i) & 1:
            b = int(begin[i]) + (d if begin[i] < 0 else 0)
            if not 0 <= b < d:
                raise ValueError(f"stridedSlice: index {begin[i]} is out of range for axis "
                                 f"{axis} of size {d}")
            attrs_begin.append(b), attrs_end.append(b + 1), attrs_strides.append(1)
            axis += 1
            continue
        lo, hi = (0, d) if s > 0 else (-1, d - 1)
        if (beginMask >> i) & 1:
            b = 0 if s > 0 else d - 1
        else:
            b = int(begin[i]) + (d if begin[i] < 0 else 0)
            b = max(lo, min(hi, b))
        if (endMask >> i) & 1:
            e = d if s > 0 else -1
        else:
            e = int(end[i]) + (d if end[i] < 0 else 0)
            e = max(lo, min(hi, e))
        n = slice_length(b, e, s)
        if n == 0:
            b, e, s = 0, 0, 1
        attrs_begin.append(b), attrs_end.append(e), attrs_strides.append(s)
        final_shape.append(n)
        axis += 1
    while axis < x.rank:
        full_axis()
    sliced = apply("slice", [x], {"begin": tuple(attrs_begin), "end": tuple(attrs_end),
                                  "strides": tuple(attrs_strides)})
    return apply("reshape", [sliced], {"shape": tuple(final_shape)})


@composite("x", "indices")
def gather(x, indices, axis=0, batchDims=0):
    """tf.gather(x, indices, axis?, batchDims?): indices outside the axis give zeros."""
    indices = _as(indices, "int32")
    axis = normalize_axis(axis, x.rank, "gather")
    if batchDims < 0:
        batchDims += indices.rank
    if not 0 <= batchDims <= min(axis, indices.rank):
        raise ValueError(f"gather: batchDims {batchDims} must be in [0, min(axis, "
                         f"indices rank)] = [0, {min(axis, indices.rank)}]")
    if batchDims == 0:
        return apply("gather", [x, indices], {"axis": axis})
    batch = x.shape[:batchDims]
    if indices.shape[:batchDims] != batch:
        raise ValueError(f"gather: the first {batchDims} axes of x {x.shape} and indices "
                         f"{indices.shape} must match")
    # Move the gathered axis next to the batch axes, flatten batch and axis, and offset
    # each batch's indices by its position in the flattened axis.
    mid = list(range(batchDims, axis))
    rest = list(range(axis + 1, x.rank))
    perm = list(range(batchDims)) + [axis] + mid + rest
    moved = apply("transpose", [x], {"perm": tuple(perm)}) if perm != list(range(x.rank)) else x
    n_batch, n_axis = math.prod(batch), x.shape[axis]
    flat = reshape(moved, [n_batch * n_axis] + [x.shape[a] for a in mid + rest])
    batch_pos = reshape(apply("iota", [], {"shape": (n_batch,) + tuple(indices.shape[batchDims:]),
                                          "axis": 0, "dtype": int32}), indices.shape)
    # Out-of-range indices must stay out of range after offsetting.
    valid = apply("logicalAnd", [apply("greaterEqual", [indices, _const(0)]),
                                 apply("less", [indices, _const(n_axis)])])
    offset = add(indices, mul(batch_pos, _const(n_axis)))     # int32: a Python int is float32
    offset = apply("select", [valid, offset, _const(-1)])
    out = apply("gather", [flat, offset], {"axis": 0})
    # out: batch + idx + mid + rest  ->  batch + mid + idx + rest (TF.js's order)
    k, ni, nm = batchDims, indices.rank - batchDims, len(mid)
    order = list(range(k)) + list(range(k + ni, k + ni + nm)) + list(range(k, k + ni)) + \
        list(range(k + ni + nm, out.rank))
    return apply("transpose", [out], {"perm": tuple(order)}) if order != list(range(out.rank)) else out


def _const(v):
    return tensor(v, None, "int32")


def tile(x, reps):
    x = convert(x, "x", "tile")
    reps = [int(r) for r in reps]
    if len(reps) != x.rank:
        raise ValueError(f"tile: reps {reps} must have one entry per axis of shape {x.shape}")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps {reps} must be non-negative")
    return apply("tile", [x], {"reps": tuple(reps)})


def pad(x, paddings, constantValue=0):
    """tf.pad(x, paddings, constantValue?): paddings is [[before, after], ...] per axis."""
    x = convert(x, "x", "pad")
    paddings = [tuple(int(v) for v in p) for p in paddings]
    if len(paddings) != x.rank or any(len(p) != 2 or min(p) < 0 for p in paddings):
        raise ValueError(f"pad: paddings {paddings} must be {x.rank} pairs of non-negative "
                         f"[before, after] sizes for shape {x.shape}")
    value = float(constantValue) if x.dtype == "float32" else int(constantValue)
    if x.dtype == "bool":
        value = bool(constantValue)
    return apply("pad", [x], {"paddings": tuple(paddings), "value": value})


def reverse(x, axis=None):
    x = convert(x, "x", "reverse")
    axes = normalize_axes(axis, x.rank, "reverse")
    axes = tuple(a for a in axes if x.shape[a] > 1)
    if not axes:
        return apply("reshape", [x], {"shape": tuple(x.shape)})
    return apply("reverse", [x], {"axes": axes})


def cumsum(x, axis=0, exclusive=False, reverse=False):
    x = convert(x, "x", "cumsum")
    x = _as(x, "int32") if x.dtype == "bool" else x
    if x.rank == 0:
        raise ValueError("cumsum: the input must have rank >= 1")
    axis = normalize_axis(axis, x.rank, "cumsum")
    return apply("cumsum", [x], {"axis": axis, "exclusive": bool(exclusive),
                                 "reverse": bool(reverse)})
