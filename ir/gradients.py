"""Gradient rules: for each differentiable op, the IR that maps output gradients to operand
gradients. A rule is `rule(b, node, grads) -> [gradient per operand or None]`, where `b` is
the Builder of the graph being differentiated and `grads` holds one gradient (or None) per
output. Rules are attached to the op registry at import (one table, next to nothing else).
"""
from __future__ import annotations

import math

from kiln.ir.dtypes import float32
from kiln.ir.registry import set_grad

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---- helpers ---------------------------------------------------------------------------
def c(b, value):
    return b.constant(float(value), float32)


def full(b, value, shape):
    return b.broadcastTo(c(b, value), shape=tuple(shape))


def mask(b, cond):
    """A boolean as 0./1. floats."""
    return b.cast(cond, dtype=float32)


def unbroadcast(b, g, shape):
    """Sum g over the axes along which an operand of `shape` was broadcast to g's shape."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    extra = len(g.shape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, d in enumerate(shape) if d == 1 and g.shape[extra + i] != 1)
    if axes:
        g = b.sum(g, axes=axes, keepDims=False)
    return b.reshape(g, shape=shape)


def _unary(fn):
    """Rule for y = f(x) given dy/dx as fn(b, x, y, node)."""
    def rule(b, node, grads):
        (x,), (g,) = node.inputs, grads
        return [b.mul(g, fn(b, x, node.outputs[0], node))]
    return rule


def _binary(fa, fb):
    """Rule for z = f(a, b) with broadcasting; fa/fb give the local partials."""
    def rule(b, node, grads):
        x, y = node.inputs
        (g,) = grads
        z = node.outputs[0]
        ga = unbroadcast(b, fa(b, g, x, y, z), x.shape) if fa else None
        gb = unbroadcast(b, fb(b, g, x, y, z), y.shape) if fb else None
        return [ga, gb]
    return rule


def _none(b, node, grads):
    return [None] * len(node.inputs)


# ---- elementwise -----------------------------------------------------------------------
UNARY = {
    "neg": lambda b, x, y, n: full(b, -1.0, x.shape),
    "abs": lambda b, x, y, n: b.sign(x),
    "square": lambda b, x, y, n: b.mul(x, c(b, 2.0)),
    "relu": lambda b, x, y, n: mask(b, b.greater(x, c(b, 0.0))),
    "relu6": lambda b, x, y, n: mask(b, b.logicalAnd(b.greater(x, c(b, 0.0)), b.less(x, c(b, 6.0)))),
    "exp": lambda b, x, y, n: y,
    "expm1": lambda b, x, y, n: b.add(y, c(b, 1.0)),
    "log": lambda b, x, y, n: b.reciprocal(x),
    "log1p": lambda b, x, y, n: b.reciprocal(b.add(x, c(b, 1.0))),
    "sqrt": lambda b, x, y, n: b.div(c(b, 0.5), y),
    "rsqrt": lambda b, x, y, n: b.mul(c(b, -0.5), b.mul(y, b.square(y))),
    "reciprocal": lambda b, x, y, n: b.neg(b.square(y)),
    "sin": lambda b, x, y, n: b.cos(x),
    "cos": lambda b, x, y, n: b.neg(b.sin(x)),
    "tan": lambda b, x, y, n: b.add(b.square(y), c(b, 1.0)),
    "asin": lambda b, x, y, n: b.rsqrt(b.sub(c(b, 1.0), b.square(x))),
    "acos": lambda b, x, y, n: b.neg(b.rsqrt(b.sub(c(b, 1.0), b.square(x)))),
    "atan": lambda b, x, y, n: b.reciprocal(b.add(b.square(x), c(b, 1.0))),
    "sinh": lambda b, x, y, n: b.cosh(x),
    "cosh": lambda b, x, y, n: b.sinh(x),
    "tanh": lambda b, x, y, n: b.sub(c(b, 1.0), b.square(y)),
    "asinh": lambda b, x, y, n: b.rsqrt(b.add(b.square(x), c(b, 1.0))),
    "acosh": lambda b, x, y, n: b.rsqrt(b.sub(b.square(x), c(b, 1.0))),
    "atanh": lambda b, x, y, n: b.reciprocal(b.sub(c(b, 1.0), b.square(x))),
    "sigmoid": lambda b, x, y, n: b.mul(y, b.sub(c(b, 1.0), y)),
    "softplus": lambda b, x, y, n: b.sigmoid(x),
    "elu": lambda b, x, y, n: b.select(b.greater(x, c(b, 0.0)), full(b, 1.0, x.shape),
                                       b.add(y, c(b, 1.0))),
    "selu": lambda b, x, y, n: b.select(b.greater(x, c(b, 0.0)), full(b, SELU_SCALE, x.shape),
                                        b.add(y, c(b, SELU_SCALE * SELU_ALPHA))),
    "erf": lambda b, x, y, n: b.mul(c(b, 2.0 / math.sqrt(math.pi)), b.exp(b.neg(b.square(x)))),
    "leakyRelu": lambda b, x, y, n: b.select(b.greater(x, c(b, 0.0)), full(b, 1.0, x.shape),
                                             full(b, n.attrs["alpha"], x.shape)),
    "clip": lambda b, x, y, n: mask(b, b.logicalAnd(b.greaterEqual(x, c(b, n.attrs["min"])),
                                                    b.lessEqual(x, c(b, n.attrs["max"])))),
}
ZERO_UNARY = ("sign", "floor", "ceil", "round", "step")


def _zero_unary(b, node, grads):
    x = node.inputs[0]
    return [full(b, 0.0, x.shape) if x.dtype is float32 else None]


def _cast(b, node, grads):
    (x,), (g,) = node.inputs, grads
    return [g if x.dtype is float32 else None]


def _div_b(b, g, x, y, z):
    return b.neg(b.div(b.mul(g, x), b.square(y)))


def _pow_a(b, g, x, y, z):
    return b.mul(g, b.mul(y, b.pow(x, b.sub(y, c(b, 1.0)))))


def _pow_b(b, g, x, y, z):
    positive = b.greater(x, c(b, 0.0))
    safe_log = b.select(positive, b.log(b.select(positive, x, full(b, 1.0, x.shape))),
                        full(b, 0.0, x.shape))
    return b.mul(g, b.mul(z, safe_log))


def _atan2_common(b, x, y):
    return b.add(b.square(x), b.square(y))


BINARY = {
    "add": (lambda b, g, x, y, z: g, lambda b, g, x, y, z: g),
    "sub": (lambda b, g, x, y, z: g, lambda b, g, x, y, z: b.neg(g)),
    "mul": (lambda b, g, x, y, z: b.mul(g, y), lambda b, g, x, y, z: b.mul(g, x)),
    "div": (lambda b, g, x, y, z: b.div(g, y), _div_b),
    "pow": (_pow_a, _pow_b),
    "maximum": (lambda b, g, x, y, z: b.mul(g, mask(b, b.greaterEqual(x, y))),
                lambda b, g, x, y, z: b.mul(g, mask(b, b.less(x, y)))),
    "minimum": (lambda b, g, x, y, z: b.mul(g, mask(b, b.lessEqual(x, y))),
                lambda b, g, x, y, z: b.mul(g, mask(b, b.greater(x, y)))),
    "squaredDifference": (lambda b, g, x, y, z: b.mul(g, b.mul(c(b, 2.0), b.sub(x, y))),
                          lambda b, g, x, y, z: b.mul(g, b.mul(c(b, -2.0), b.sub(x, y)))),
    "atan2": (lambda b, g, x, y, z: b.div(b.mul(g, y), _atan2_common(b, x, y)),
              lambda b, g, x, y, z: b.neg(b.div(b.mul(g, x), _atan2_common(b, x, y)))),
    "mod": (lambda b, g, x, y, z: g,
            lambda b, g, x, y, z: b.neg(b.mul(g, b.floor(b.div(x, y))))),
    "floorDiv": (lambda b, g, x, y, z: b.mul(g, c(b, 0.0)),
                 lambda b, g, x, y, z: b.mul(g, c(b, 0.0))),
}


def _select(b, node, grads):
    cond, x, y = node.inputs
    (g,) = grads
    zero = full(b, 0.0, g.shape)
    return [None, unbroadcast(b, b.select(cond, g, zero), x.shape),
            unbroadcast(b, b.select(cond, zero, g), y.shape)]


# ---- reductions ------------------------------------------------------------------------
def _kept_shape(node):
    x = node.inputs[0]
    axes = node.attrs["axes"]
    return tuple(1 if i in axes else d for i, d in enumerate(x.shape))


def _expand(b, node, v):
    """A reduction's result (or its gradient) broadcast back to the operand's shape."""
    return b.broadcastTo(b.reshape(v, shape=_kept_shape(node)), shape=node.inputs[0].shape)


def _sum(b, node, grads):
    return [_expand(b, node, grads[0])]


def _prod(b, node, grads):
    (x,), (g,), y = node.inputs, grads, node.outputs[0]
    axes = node.attrs["axes"]
    zero = b.equal(x, c(b, 0.0))
    others = b.prod(b.select(zero, full(b, 1.0, x.shape), x), axes=axes, keepDims=False)
    zeros = b.sum(mask(b, zero), axes=axes, keepDims=False)
    one_zero = _expand(b, node, b.equal(zeros, c(b, 1.0)))
    at_zero = b.select(one_zero, _expand(b, node, others), full(b, 0.0, x.shape))
    safe_x = b.select(zero, full(b, 1.0, x.shape), x)
    away = b.div(_expand(b, node, y), safe_x)
    return [b.mul(_expand(b, node, g), b.select(zero, at_zero, away))]


def _extreme(b, node, grads):
    """max/min: the gradient is shared equally among the elements equal to the result."""
    (x,), (g,), y = node.inputs, grads, node.outputs[0]
    hit = mask(b, b.equal(x, _expand(b, node, y)))
    count = b.sum(hit, axes=node.attrs["axes"], keepDims=node.attrs["keepDims"])
    return [b.mul(hit, _expand(b, node, b.div(g, count)))]


# ---- contractions ----------------------------------------------------------------------
def _matmul(b, node, grads):
    x, y = node.inputs
    (g,) = grads
    ta, tb = node.attrs["transposeA"], node.attrs["transposeB"]
    if not ta and not tb:
        ga, gb = b.matMul(g, y, transposeB=True), b.matMul(x, g, transposeA=True)
    elif ta and not tb:
        ga, gb = b.matMul(y, g, transposeB=True), b.matMul(x, g)
    elif not ta and tb:
        ga, gb = b.matMul(g, y), b.matMul(g, x, transposeA=True)
    else:
        ga, gb = b.matMul(y, g, transposeA=True, transposeB=True), \
            b.matMul(g, x, transposeA=True, transposeB=True)
    return [_unbroadcast_batch(b, ga, x.shape), _unbroadcast_batch(b, gb, y.shape)]


def _unbroadcast_batch(b, g, shape):
    return unbroadcast(b, g, shape)


# ---- movement --------------------------------------------------------------------------
def _reshape(b, node, grads):
    return [b.reshape(grads[0], shape=node.inputs[0].shape)]


def _transpose(b, node, grads):
    perm = node.attrs["perm"]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return [b.transpose(grads[0], perm=tuple(inverse))]


def _broadcast_to(b, node, grads):
    return [unbroadcast(b, grads[0], node.inputs[0].shape)]


def _slice(b, node, grads):
    """Place g back where the slice came from: undo negative strides, spread strided
    elements with zeros between them, then pad to the operand's extent."""
    (x,), (g,) = node.inputs, grads
    begin, end, strides = node.attrs["begin"], node.attrs["end"], node.attrs["strides"]
    for axis, stride in enumerate(strides):
        n = g.shape[axis]
        if n == 0:
            return [full(b, 0.0, x.shape)]
        first = begin[axis] if stride > 0 else begin[axis] + (n - 1) * stride
        if stride < 0:
            g = b.reverse(g, axes=(axis,))
        step = abs(stride)
        if step > 1:
            # [.., n, ..] -> [.., n, step, ..] zero-padded -> [.., n*step, ..] -> trim
            shape = g.shape
            g = b.reshape(g, shape=shape[:axis + 1] + (1,) + shape[axis + 1:])
            pads = [(0, 0)] * len(g.shape)
            pads[axis + 1] = (0, step - 1)
            g = b.pad(g, paddings=tuple(pads), value=0.0)
            g = b.reshape(g, shape=shape[:axis] + (n * step,) + shape[axis + 1:])
            trim = [0] * len(g.shape)
            stop = list(g.shape)
            stop[axis] = (n - 1) * step + 1
            g = b.slice(g, begin=tuple(trim), end=tuple(stop), strides=(1,) * len(g.shape))
        pads = [(0, 0)] * len(g.shape)
        pads[axis] = (first, x.shape[axis] - first - g.shape[axis])
        g = b.pad(g, paddings=tuple(pads), value=0.0)
    return [g]


def _pad(b, node, grads):
    (x,), (g,) = node.inputs, grads
    pads = node.attrs["paddings"]
    begin = tuple(lo for lo, _ in pads)
    end = tuple(lo + d for (lo, _), d in zip(pads, x.shape))
    return [b.slice(g, begin=begin, end=end, strides=(1,) * len(x.shape))]


def _concat(b, node, grads):
    (g,) = grads
    axis = node.attrs["axis"]
    result, offset = [], 0
    for v in node.inputs:
        begin = [0] * len(g.shape)
        end = list(g.shape)
        begin[axis], end[axis] = offset, offset + v.shape[axis]
        result.append(b.slice(g, begin=tuple(begin), end=tuple(end), strides=(1,) * len(g.shape)))
        offset += v.shape[axis]
    return result


def _reverse(b, node, grads):
    return [b.reverse(grads[0], axes=node.attrs["axes"])]


def _tile(b, node, grads):
    (x,), (g,) = node.inputs, grads
    reps = node.attrs["reps"]
    split = []
    for r, d in zip(reps, x.shape):
        split += [r, d]
    g = b.reshape(g, shape=tuple(split))
    g = b.sum(g, axes=tuple(range(0, len(split), 2)), keepDims=False)
    return [g]


def _gather(b, node, grads):
    params, indices = node.inputs
    return [b.scatterAdd(indices, grads[0], shape=params.shape, axis=node.attrs["axis"]), None]


def _scatter_add(b, node, grads):
    indices, updates = node.inputs
    return [None, b.gather(grads[0], indices, axis=node.attrs["axis"])]


def _cumsum(b, node, grads):
    a = node.attrs
    return [b.cumsum(grads[0], axis=a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])]


RULES = {
    **{name: _unary(fn) for name, fn in UNARY.items()},
    **{name: _zero_unary for name in ZERO_UNARY},
    **{name: _binary(fa, fb) for name, (fa, fb) in BINARY.items()},
    "cast": _cast,
    "select": _select,
    "sum": _sum,
    "prod": _prod,
    "max": _extreme,
    "min": _extreme,
    "matMul": _matmul,
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcastTo": _broadcast_to,
    "slice": _slice,
    "pad": _pad,
    "concat": _concat,
    "reverse": _reverse,
    "tile": _tile,
    "gather": _gather,
    "scatterAdd": _scatter_add,
    "cumsum": _cumsum,
}

for _name, _rule in RULES.items():
    set_grad(_name, _rule)

