"""Folding a per-output-channel scale into the weights of the conv or matMul before it.

    ((conv(x, W) + c1) - c2) * s  ->  conv(x, W * s) + (c1 - c2) * s

where s, c1, c2 hold one value per output channel (shape [F], F the last axis), and likewise
for matMul(x, W) with W not transposed. A batch normalization at inference after a
convolution or dense layer, (y - mean) * (gamma * rsqrt(variance + epsilon)) + beta, thus
disappears into the layer's weights and bias: an output-sized multiply becomes a
weight-sized one. Only chains whose every intermediate value has this one use are folded.
Rounding changes (W * s is rounded before the products are summed), within float32 error,
which is why this is a stage of its own and not a simplification.
"""
from __future__ import annotations

from collections import Counter

from kiln.ir.builder import rebuild
from kiln.ir.graph import Graph, Value

LINEAR = ("conv", "matMul")


def _per_channel(v: Value, channels: int) -> bool:
    return (v.dtype.value == "float32" and v.shape[-1:] == (channels,)
            and all(d == 1 for d in v.shape[:-1]))


def _chain(product: Value, uses: Counter, channels: int):
    """(linear node, [(op, per-channel operand), ...] innermost first) under `product`, or
    None when the value is not such a single-use chain."""
    steps = []
    v = product
    while uses[v] == 1 and v.node.op in ("add", "sub"):
        a, c = v.node.inputs
        if not _per_channel(c, channels) or a.shape != v.shape:
            return None
        steps.append((v.node.op, c))
        v = a
    node = v.node
    if uses[v] != 1 or node.op not in LINEAR or len(node.outputs) != 1:
        return None
    if node.op == "matMul" and node.attrs["transposeB"]:
        return None
    return node, steps[::-1]


def fold_scales(graph: Graph) -> Graph:
    uses = Counter(v for node in graph.nodes for v in node.inputs)
    uses.update(graph.outputs)
    new: dict[Value, Value] = {}      # original value -> its copy, for every operand seen

    def rewrite(b, node, inputs):
        new.update(zip(node.inputs, inputs))
        out = node.outputs[0]
        if node.op != "mul" or not out.shape:
            return None
        for side in (0, 1):
            product, scale = node.inputs[side], node.inputs[1 - side]
            if product.shape != out.shape or not _per_channel(scale, out.shape[-1]):
                continue
            found = _chain(product, uses, out.shape[-1])
            if found is None:
                continue
            linear, steps = found
            s = new[scale]
            x, w = (new[v] for v in linear.inputs)
            outer, b.scope = b.scope, graph.provenance.get(linear)   # the layer that owns W
            y = b.op(linear.op, x, b.op("mul", w, s), **linear.attrs)
            b.scope = outer
            for op, c in steps:
                y = b.op(op, y, b.op("mul", new[c], s))
            return (y,)
        return None

    return rebuild(graph, rewrite)[0]
