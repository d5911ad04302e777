"""A numpy interpreter of kiln's IR: the independent oracle for compiled graphs.

`evaluate(graph, inputs, params)` runs every node with numpy (in float64 for float32 values
unless exact=True) and returns the outputs. Test code only: kiln never computes with it.
"""
from __future__ import annotations

import math

import numpy as np

from tests import nn_reference

_erf = np.vectorize(math.erf, otypes=[np.float64])
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _np_dtype(dtype, wide):
    name = dtype.value
    if name == "float32":
        return np.float64 if wide else np.float32
    return np.int32 if name == "int32" else np.bool_


def _floor_div(a, b):
    if a.dtype.kind == "f":
        return np.floor(a / b)
    with np.errstate(divide="ignore"):
        q = np.where(b == 0, 0, np.floor_divide(a, np.where(b == 0, 1, b)))
    return q.astype(a.dtype)


def _mod(a, b):
    if a.dtype.kind == "f":
        return np.mod(a, b)
    return np.where(b == 0, 0, np.mod(a, np.where(b == 0, 1, b))).astype(a.dtype)


UNARY = {
    "neg": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square,
    "relu": lambda x: np.where(x < 0, 0, x).astype(x.dtype), "relu6": lambda x: np.clip(x, 0, 6),
    "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "reciprocal": lambda x: 1 / x, "floor": np.floor,
    "ceil": np.ceil, "round": np.round, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0, x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "erf": _erf, "isNaN": np.isnan, "isInf": np.isinf, "isFinite": np.isfinite,
    "logicalNot": np.logical_not,
}
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "floorDiv": _floor_div, "mod": _mod, "pow": np.power, "maximum": np.maximum,
    "minimum": np.minimum, "squaredDifference": lambda a, b: (a - b) ** 2,
    "atan2": np.arctan2, "equal": np.equal, "notEqual": np.not_equal, "less": np.less,
    "lessEqual": np.less_equal, "greater": np.greater, "greaterEqual": np.greater_equal,
    "logicalAnd": np.logical_and, "logicalOr": np.logical_or, "logicalXor": np.logical_xor,
}
REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all,
          "any": np.any}


def _slice(x, a):
    index = tuple(slice(b, (e if e >= 0 else None), s) for b, e, s in
                  zip(a["begin"], a["end"], a["strides"]))
    return x[index]


def _gather(p, i, a):
    axis = a["axis"]
    n = p.shape[axis]
    valid = (i >= 0) & (i < n)
    out = np.take(p, np.where(valid, i, 0), axis=axis)
    mask = valid.reshape((1,) * axis + i.shape + (1,) * (p.ndim - axis - 1))
    return np.where(mask, out, 0).astype(p.dtype)


def _scatter_add(i, u, a):
    out = np.zeros(a["shape"], u.dtype)
    axis = a["axis"]
    n = out.shape[axis]
    moved_u = np.moveaxis(u.reshape(u.shape[:axis] + (-1,) + u.shape[axis + i.ndim:]), axis, 0)
    moved_out = np.moveaxis(out, axis, 0)
    for j, k in enumerate(i.reshape(-1)):
        if 0 <= k < n:
            moved_out[k] += moved_u[j]
    return out


def _cumsum(x, a):
    axis = a["axis"]
    if a["reverse"]:
        x = np.flip(x, axis)
    y = np.cumsum(x, axis=axis, dtype=x.dtype)
    if a["exclusive"]:
        y = y - x
    return np.flip(y, axis) if a["reverse"] else y


def _random(node, seed):
    raise NotImplementedError("random ops have no numpy reference (check statistics instead)")


def run_node(node, args, wide=True):
    op, a = node.op, node.attrs
    out_type = node.outputs[0].type
    dt = _np_dtype(out_type.dtype, wide)
    if op in UNARY:
        with np.errstate(all="ignore"):
            return UNARY[op](args[0])
    if op in BINARY:
        with np.errstate(all="ignore"):
            return BINARY[op](args[0], args[1])
    if op in REDUCE:
        r = REDUCE[op](args[0], axis=tuple(a["axes"]), keepdims=a["keepDims"])
        return np.asarray(r)
    table = {
        "leakyRelu": lambda: np.where(args[0] < 0, a["alpha"] * args[0], args[0]),
        "step": lambda: np.where(np.isnan(args[0]), args[0], np.where(args[0] > 0, 1.0, a["alpha"])),
        "clip": lambda: np.clip(args[0], a["min"], a["max"]),
        "cast": lambda: args[0].astype(dt) if dt != np.int32 else np.trunc(args[0]).astype(dt),
        "select": lambda: np.where(args[0], args[1], args[2]),
        "argMax": lambda: np.argmax(args[0], axis=a["axis"]).astype(np.int32),
        "argMin": lambda: np.argmin(args[0], axis=a["axis"]).astype(np.int32),
        "matMul": lambda: np.matmul(np.swapaxes(args[0], -1, -2) if a["transposeA"] else args[0],
                                    np.swapaxes(args[1], -1, -2) if a["transposeB"] else args[1]),
        "reshape": lambda: args[0].reshape(a["shape"]),
        "transpose": lambda: np.transpose(args[0], a["perm"]),
        "broadcastTo": lambda: np.broadcast_to(args[0], a["shape"]).copy(),
        "slice": lambda: _slice(args[0], a),
        "pad": lambda: np.pad(args[0], a["paddings"], constant_values=a["value"]),
        "concat": lambda: np.concatenate(args, axis=a["axis"]),
        "reverse": lambda: np.flip(args[0], a["axes"]),
        "tile": lambda: np.tile(args[0], a["reps"]),
        "gather": lambda: _gather(args[0], args[1], a),
        "scatterAdd": lambda: _scatter_add(args[0], args[1], a),
        "cumsum": lambda: _cumsum(args[0], a),
        "iota": lambda: np.broadcast_to(np.arange(a["shape"][a["axis"]]).reshape(
            [-1 if k == a["axis"] else 1 for k in range(len(a["shape"]))]), a["shape"]).astype(dt),
        "constant": lambda: a["value"].array.astype(dt),
    }
    if op in nn_reference.OPS:
        return np.asarray(nn_reference.OPS[op](args, a))
    if op not in table:
        raise NotImplementedError(f"no numpy reference for op {op!r}")
    with np.errstate(all="ignore"):
        return np.asarray(table[op]())


def run_loop(node, args, wide=True):
    """A loop node: run its body step by step (the definition of the op's semantics)."""
    a = node.attrs
    body, steps, nc, ns = a["body"].graph, a["steps"], a["carries"], a["sequences"]
    carries, sequences, invariants = args[:nc], args[nc:nc + ns], args[nc + ns:]
    stacked = [np.zeros(v.shape, _np_dtype(v.dtype, wide)) for v in node.outputs[nc:]]
    for i in range(steps):
        t = steps - 1 - i if a["reverse"] else i
        results = evaluate(body, list(carries) + [s[t] for s in sequences] + list(invariants),
                           wide=wide)
        carries = results[:nc]
        for out, value in zip(stacked, results[nc:]):
            out[t] = value
    return list(carries) + stacked


def evaluate(graph, inputs, params=(), wide=True):
    """Outputs of `graph` for numpy `inputs` and `params` (float64 arithmetic if wide)."""
    values = {}
    for v, x in zip(graph.inputs, inputs):
        values[v] = np.asarray(x, _np_dtype(v.dtype, wide))
    for v, x in zip(graph.params, params):
        values[v] = np.asarray(x, _np_dtype(v.dtype, wide))
    for node in graph.nodes:
        if node.op in ("input", "param"):
            continue
        args = [values[v] for v in node.inputs]
        results = run_loop(node, args, wide) if node.op == "loop" else [run_node(node, args, wide)]
        for out, result in zip(node.outputs, results):
            values[out] = np.asarray(result).astype(_np_dtype(out.dtype, wide)).reshape(out.shape)
    return [values[v] for v in graph.outputs]
