"""Algebraic simplification: local rewrites that remove work without changing results.

RULES maps an op to rewrite functions `rule(b, node, inputs) -> Value | None`; the first that
returns a value replaces the node. Rules never change a value's type, and only drop
arithmetic whose result equals its operand (x * 1, x + 0 up to the sign of a zero, ...).
"""
from __future__ import annotations

import numpy as np

from kiln.ir.builder import rebuild
from kiln.ir.graph import Graph, Value


def _constant_value(v: Value):
    """The scalar a value holds when it is a constant (possibly broadcast), else None."""
    node = v.node
    while node.op in ("broadcastTo", "reshape"):
        node = node.inputs[0].node
    if node.op != "constant":
        return None
    array = node.attrs["value"].array
    flat = array.reshape(-1)
    if flat.size == 0 or not np.all(flat == flat[0]):
        return None
    return flat[0].item()


def _identity_operand(neutral, commutative):
    """x op neutral -> x (and neutral op x -> x when commutative), if x keeps its shape."""
    def rule(b, node, inputs):
        out = node.outputs[0]
        x, y = inputs
        if _constant_value(y) == neutral and x.type == out.type:
            return x
        if commutative and _constant_value(x) == neutral and y.type == out.type:
            return y
        return None
    return rule


def _double_negation(b, node, inputs):
    (x,) = inputs
    if x.node.op == "neg":
        return x.node.inputs[0]
    return None


def _transpose(b, node, inputs):
    (x,) = inputs
    perm = node.attrs["perm"]
    if list(perm) == list(range(len(perm))):
        return x
    if x.node.op == "transpose":
        inner = x.node.attrs["perm"]
        combined = tuple(inner[p] for p in perm)
        source = x.node.inputs[0]
        if list(combined) == list(range(len(combined))):
            return source
        return b.transpose(source, perm=combined)
    return None


def _reshape(b, node, inputs):
    (x,) = inputs
    shape = tuple(node.attrs["shape"])
    if x.shape == shape:
        return x
    if x.node.op == "reshape":
        source = x.node.inputs[0]
        return source if source.shape == shape else b.reshape(source, shape=shape)
    return None


def _broadcast_to(b, node, inputs):
    (x,) = inputs
    return x if x.shape == tuple(node.attrs["shape"]) else None


def _cast(b, node, inputs):
    (x,) = inputs
    target = node.attrs["dtype"]
    if x.dtype is target:
        return x
    if x.node.op == "cast" and x.node.inputs[0].dtype.value == "bool":
        # bool -> int32/float32 -> anything is the same as casting the bool directly
        return b.cast(x.node.inputs[0], dtype=target)
    return None


def _swaps_last_two(v: Value) -> bool:
    if v.node.op != "transpose":
        return False
    perm = v.node.attrs["perm"]
    n = len(perm)
    return n >= 2 and list(perm) == list(range(n - 2)) + [n - 1, n - 2]


def _matmul(b, node, inputs):
    """A transpose of the last two axes of an operand becomes the matMul's flag."""
    a, c = inputs
    ta, tb = node.attrs["transposeA"], node.attrs["transposeB"]
    changed = False
    if _swaps_last_two(a):
        a, ta, changed = a.node.inputs[0], not ta, True
    if _swaps_last_two(c):
        c, tb, changed = c.node.inputs[0], not tb, True
    return b.matMul(a, c, transposeA=ta, transposeB=tb) if changed else None


def _select(b, node, inputs):
    cond, x, y = inputs
    out = node.outputs[0]
    if x is y and x.type == out.type:
        return x
    return None


RULES = {
    "mul": [_identity_operand(1, True)],
    "add": [_identity_operand(0, True)],
    "sub": [_identity_operand(0, False)],
    "div": [_identity_operand(1, False)],
    "neg": [_double_negation],
    "transpose": [_transpose],
    "reshape": [_reshape],
    "broadcastTo": [_broadcast_to],
    "cast": [_cast],
    "matMul": [_matmul],
    "select": [_select],
}


def simplify(graph: Graph) -> Graph:
    """Apply RULES bottom-up until nothing changes (each pass is one rebuild)."""
    for _ in range(8):
        changed = False

        def rewrite(b, node, inputs):
            nonlocal changed
            for rule in RULES.get(node.op, ()):
                result = rule(b, node, inputs)
                if result is not None:
                    changed = True
                    return (result,)
            return None

        graph = rebuild(graph, rewrite)[0]
        if not changed:
            break
    return graph
