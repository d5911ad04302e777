"""Random tensors: randomUniform, randomNormal, truncatedNormal (seedable).

Numbers come from a counter-based generator in the generated code: each element is a hash
of (seed, salt, index). With a seed, a call is reproducible (the same seed gives the same
values, as in TF.js); without one, each eager call draws a fresh seed, and each run of a
compiled graph is fed a fresh seed.
"""
from __future__ import annotations

import random as pyrandom
import zlib

import numpy as np

from kiln.frontend.trace import current_tracer
from kiln.ir.dtypes import as_dtype, int32
from kiln.runtime import eager
from kiln.runtime.tensor import Tensor


def _seed_value(seed) -> int:
    if seed is None:
        return pyrandom.getrandbits(31)
    if isinstance(seed, str):
        return zlib.crc32(seed.encode()) & 0x7FFFFFFF
    return int(seed) & 0x7FFFFFFF


def _shape(shape, op):
    shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}: shape {list(shape)} must hold non-negative sizes")
    return shape


def _random(op, shape, scale, offset, dtype, seed):
    """offset + scale * (a standard draw), cast to dtype; one fused kernel."""
    shape = _shape(shape, op)
    dt = as_dtype(dtype)
    if dt.value == "bool":
        raise TypeError(f"{op}: dtype must be float32 or int32, got {dt.value}")

    def build(b, seed_value, salt):
        x = b.op(op, seed_value, shape=shape, salt=salt)
        x = b.add(b.mul(x, b.constant(float(scale), "float32")), b.constant(float(offset), "float32"))
        if dt.value == "int32":
            x = b.cast(b.floor(x) if op == "randomUniform" else b.round(x), dtype=dt)
        return x

    tracer = current_tracer()
    if tracer is not None:
        if seed is None:
            seed_value, salt = tracer.random_stream()
        else:
            seed_value, salt = tracer.builder.constant(_seed_value(seed), int32), 0
        return tracer.wrap(build(tracer.builder, seed_value, salt))
    seed_array = np.array(_seed_value(seed), dtype=np.int32)
    key = ("random", op, shape, float(scale), float(offset), dt.value)
    (out,) = eager.run_traced(key, [seed_array], lambda b, values: [build(b, values[0], 0)])
    return Tensor(out)


def randomUniform(shape, minval=0, maxval=1, dtype="float32", seed=None):
    """Uniform in [minval, maxval)."""
    return _random("randomUniform", shape, maxval - minval, minval, dtype, seed)


def randomNormal(shape, mean=0, stdDev=1, dtype="float32", seed=None):
    return _random("randomNormal", shape, stdDev, mean, dtype, seed)


def truncatedNormal(shape, mean=0, stdDev=1, dtype="float32", seed=None):
    """Normal, redrawn when more than two standard deviations from the mean."""
    return _random("truncatedNormal", shape, stdDev, mean, dtype, seed)
