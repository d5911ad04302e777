"""Tensor creation: zeros, ones, fill, zerosLike, onesLike, eye, range, linspace, oneHot,
variable. Values are produced by compiled kernels like every other op."""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.ops.convert import convert, to_array
from kiln.frontend.ops.dispatch import apply, composite, generate
from kiln.frontend.ops.math import _as
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import Variable


def _shape(shape, op):
    if isinstance(shape, int):
        shape = [shape]
    shape = [int(d) for d in shape]
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}: shape {shape} must hold non-negative sizes")
    return tuple(shape)


def _scalar_of(value, dtype):
    dt = as_dtype(dtype)
    if dt.value == "bool":
        return bool(value)
    return int(value) if dt.value == "int32" else float(value)


def fill(shape, value, dtype=None):
    """tf.fill(shape, value, dtype?): dtype defaults to float32 for numbers (TF.js)."""
    return _fill(shape, value, dtype, "fill")


def _fill(shape, value, dtype, op):
    shape = _shape(shape, op)
    if dtype is None:
        dtype = "bool" if isinstance(value, bool) else "float32"
    dt = as_dtype(dtype)
    value = _scalar_of(value, dt)
    return generate(("fill", shape, value, dt.value),
                    lambda b: b.broadcastTo(b.constant(value, dt), shape=shape))


def zeros(shape, dtype="float32"):
    return _fill(shape, 0, dtype, "zeros")


def ones(shape, dtype="float32"):
    return _fill(shape, 1, dtype, "ones")


def zerosLike(x):
    x = convert(x, "x", "zerosLike")
    return fill(x.shape, 0, x.dtype)


def onesLike(x):
    x = convert(x, "x", "onesLike")
    return fill(x.shape, 1, x.dtype)


def eye(numRows, numColumns=None, batchShape=None, dtype="float32"):
    """Identity matrices: [*batchShape, numRows, numColumns]."""
    rows = int(numRows)
    cols = rows if numColumns is None else int(numColumns)
    batch = tuple(int(d) for d in (batchShape or ()))
    shape = batch + (rows, cols)
    dt = as_dtype(dtype)
    rank = len(shape)

    def build(b):
        r = b.iota(shape=shape, axis=rank - 2)
        c = b.iota(shape=shape, axis=rank - 1)
        return b.cast(b.equal(r, c), dtype=dt)
    return generate(("eye", shape, dt.value), build)


def range(start, stop=None, step=1, dtype="float32"):
    """tf.range(start, stop, step?, dtype?): start + i*step while short of stop."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("range: cannot have a step of zero")
    if stop < start and step == 1:
        step = -1       # TF.js: a default (or 1) step counts down when stop < start
    dt = as_dtype(dtype)
    if dt.value == "bool":
        raise TypeError(f"range: dtype must be float32 or int32, got {dt.value}")
    n = 0 if (start < stop and step < 0) or (start > stop and step > 0) \
        else int(abs(math.ceil((stop - start) / step)))

    def build(b):
        i = b.iota(shape=(n,), axis=0, dtype=as_dtype("float32"))
        v = b.add(b.mul(i, b.constant(float(step), "float32")), b.constant(float(start), "float32"))
        return v if dt.value == "float32" else b.cast(v, dtype=dt)
    return generate(("range", float(start), float(step), n, dt.value), build)


def linspace(start, stop, num):
    """num evenly spaced float32 values from start to stop inclusive."""
    num = int(num)
    if num <= 0:
        raise ValueError("linspace: cannot request zero samples")
    step = (stop - start) / (num - 1) if num > 1 else 0.0

    def build(b):
        i = b.iota(shape=(num,), axis=0, dtype=as_dtype("float32"))
        return b.add(b.mul(i, b.constant(float(step), "float32")),
                     b.constant(float(start), "float32"))
    return generate(("linspace", float(start), float(step), num), build)


@composite("indices")
def oneHot(indices, depth, onValue=1, offValue=0, dtype="int32"):
    """indices.shape + [depth]: onValue where the index matches, offValue elsewhere."""
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"oneHot: depth must be >= 1, got {depth}")
    if indices.dtype != "int32":
        indices = _as(indices, "int32")
    dt = as_dtype(dtype)
    shape = tuple(indices.shape) + (depth,)
    expanded = apply("reshape", [indices], {"shape": tuple(indices.shape) + (1,)})
    positions = generate(("iota", shape), lambda b: b.iota(shape=shape, axis=len(shape) - 1))
    hit = apply("equal", [apply("broadcastTo", [expanded], {"shape": shape}), positions])
    on = generate(("c", _scalar_of(onValue, dt), dt.value), lambda b: b.constant(_scalar_of(onValue, dt), dt))
    off = generate(("c", _scalar_of(offValue, dt), dt.value), lambda b: b.constant(_scalar_of(offValue, dt), dt))
    return apply("select", [hit, on, off])


def variable(initialValue, trainable=True, name=None, dtype=None):
    """tf.variable(initialValue, trainable?, name?, dtype?): a mutable tensor."""
    data = to_array(initialValue, dtype, "variable")
    return Variable(data, trainable=trainable, name=name, dtype=dtype)
