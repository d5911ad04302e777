"""Random IR graphs for property tests of the passes and the code generator.

A graph starts from two or three inputs and applies randomly chosen ops (elementwise with
broadcasting, reductions, movement ops, matMul, concat, ...) to randomly chosen earlier
values, so values fan out, chains fuse and anchors get prologues and epilogues. Every op's
operands are chosen so its shape rule accepts them.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import kiln.ir as ir

UNARY = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "square", "softplus", "sin"]
BINARY = ["add", "sub", "mul", "maximum", "minimum", "squaredDifference"]


@st.composite
def random_graphs(draw, max_ops=10):
    rows = draw(st.integers(1, 5))
    cols = draw(st.integers(1, 6))
    b = ir.Builder("random")
    values = [b.input(ir.TensorType((rows, cols), ir.float32), "a"),
              b.input(ir.TensorType((cols,), ir.float32), "b")]
    if draw(st.booleans()):
        values.append(b.input(ir.TensorType((rows, 1), ir.float32), "c"))
    inputs = list(values)
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "move", "matmul",
                                     "concat", "select"]))
        x = draw(st.sampled_from(values))
        if kind == "unary":
            v = b.op(draw(st.sampled_from(UNARY)), x)
        elif kind == "binary":
            y = draw(st.sampled_from(values))
            try:
                v = b.op(draw(st.sampled_from(BINARY)), x, y)
            except ir.ShapeError:
                continue
        elif kind == "select":
            y = draw(st.sampled_from(values))
            try:
                v = b.select(b.greater(x, y), x, y)
            except ir.ShapeError:
                continue
        elif kind == "reduce":
            if not x.shape:
                continue
            axis = draw(st.integers(0, len(x.shape) - 1))
            v = b.op(draw(st.sampled_from(["sum", "max", "min"])), x, axes=(axis,),
                     keepDims=draw(st.booleans()))
        elif kind == "move":
            if len(x.shape) == 2:
                v = b.transpose(x, perm=(1, 0)) if draw(st.booleans()) else \
                    b.reshape(x, shape=(x.shape[0] * x.shape[1],))
            elif len(x.shape) == 1 and x.shape[0] > 1:
                v = b.slice(x, begin=(1,), end=(x.shape[0],), strides=(1,))
            else:
                continue
        elif kind == "matmul":
            if len(x.shape) != 2:
                continue
            others = [y for y in values if len(y.shape) == 2 and y.shape[0] == x.shape[1]]
            if not others:
                continue
            v = b.matMul(x, draw(st.sampled_from(others)))
        else:
            others = [y for y in values if y.shape == x.shape and len(x.shape) >= 1]
            if not others:
                continue
            v = b.concat(x, draw(st.sampled_from(others)), axis=len(x.shape) - 1)
        values.append(v)
    n_out = draw(st.integers(1, min(3, len(values) - len(inputs)) or 1))
    outputs = values[-n_out:] if len(values) > len(inputs) else values[:1]
    graph = b.finish(outputs)
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    arrays = [rng.uniform(-2, 2, size=v.shape).astype(np.float32) for v in graph.inputs]
    return graph, arrays
