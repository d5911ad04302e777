"""The text form of graphs: golden tests of the exact text (one line per node: result, op,
operands, attributes in sorted order, type; then the returned values and updates)."""
from __future__ import annotations

import numpy as np

from kiln.ir import Builder, TensorType, bool_, float32, format_graph, int32


def test_dense_layer_graph():
    b = Builder()
    x = b.input(TensorType((2, 3), float32), "x")
    w = b.param(TensorType((3, 4), float32), "dense/kernel")
    bias = b.param(TensorType((4,), float32), "dense/bias")
    y = b.relu(b.add(b.matMul(x, w), bias))
    g = b.finish([y])
    assert format_graph(g) == "\n".join([
        "%0 = input {name='x'} : f32[2,3]",
        "%1 = param {name='dense/kernel'} : f32[3,4]",
        "%2 = param {name='dense/bias'} : f32[4]",
        "%3 = matMul(%0, %1) {transposeA=false, transposeB=false} : f32[2,4]",
        "%4 = add(%3, %2) : f32[2,4]",
        "%5 = relu(%4) : f32[2,4]",
        "return %5",
    ])
    assert str(g) == format_graph(g)


def test_constants_reductions_casts_and_several_outputs():
    b = Builder()
    x = b.input(TensorType((4,), int32), "i")
    f = b.cast(x, dtype=float32)
    s = b.sum(b.mul(f, b.constant(0.5)), axes=(0,), keepDims=True)
    c = b.constant(np.arange(6, dtype=np.int32).reshape(2, 3))
    t = b.constant(True)
    g = b.finish([s, c, t])
    assert format_graph(g) == "\n".join([
        "%0 = input {name='i'} : i32[4]",
        "%1 = cast(%0) {dtype=float32} : f32[4]",
        "%2 = constant {value=0.5} : f32[]",
        "%3 = mul(%1, %2) : f32[4]",
        "%4 = sum(%3) {axes=[0], keepDims=true} : f32[1]",
        "%5 = constant {value=[0, 1, 2, ...]} : i32[2,3]",
        "%6 = constant {value=true} : b8[]",
        "return %4, %5, %6",
    ])


def test_updates_and_shared_values():
    b = Builder("step")
    x = b.input(TensorType((3,), float32), "x")
    w = b.param(TensorType((3,), float32), "w")
    d = b.sub(w, x)
    g = b.finish([b.square(d)], updates=[(w, d)])
    assert format_graph(g) == "\n".join([
        "%0 = input {name='x'} : f32[3]",
        "%1 = param {name='w'} : f32[3]",
        "%2 = sub(%1, %0) : f32[3]",
        "%3 = square(%2) : f32[3]",
        "return %3",
        "update %1 <- %2",
    ])


def test_the_text_depends_only_on_structure():
    def build():
        b = Builder()
        x = b.input(TensorType((2, 2), bool_), "m")
        return format_graph(b.finish([b.logicalNot(x), b.any(x, axes=(0, 1))]))

    assert build() == build()
    assert build().splitlines()[1] == "%1 = logicalNot(%0) : b8[2,2]"
