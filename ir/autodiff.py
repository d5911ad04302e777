"""Reverse-mode automatic differentiation over the IR.

`gradients(builder, ys, xs, dys)` appends to the builder the nodes that compute
d(sum_i <dys[i], ys[i]>)/d xs[j] for each j, walking the nodes that lie on a path from some x
to some y in reverse topological order. Each op's local rule is its registry entry's `grad`
(see kiln.ir.gradients); fan-out accumulates by addition. The backward graph is ordinary IR,
so it is optimized, fused, planned and compiled with the forward pass.
"""
from __future__ import annotations

from kiln.ir.builder import Builder
from kiln.ir.dtypes import float32
from kiln.ir.graph import Value
from kiln.ir.registry import get_op


def _on_path(builder: Builder, ys, xs) -> set[int]:
    """ids of nodes that depend on some x and that some y depends on."""
    from_x: set[int] = {id(x.node) for x in xs}
    for node in builder._nodes:
        if any(id(v.node) in from_x for v in node.inputs):
            from_x.add(id(node))
    to_y: set[int] = set()
    stack = [y.node for y in ys]
    while stack:
        node = stack.pop()
        if id(node) in to_y:
            continue
        to_y.add(id(node))
        stack.extend(v.node for v in node.inputs)
    return from_x & to_y


def gradients(builder: Builder, ys: list[Value], xs: list[Value], dys=None) -> list[Value | None]:
    """Gradients of the ys (weighted by dys, default ones) with respect to each x; None where
    an x does not influence any y."""
    if dys is None:
        dys = [builder.broadcastTo(builder.constant(1.0, float32), shape=y.shape) for y in ys]
    live = _on_path(builder, ys, xs)
    grads: dict[Value, Value] = {}

    def accumulate(v: Value, g: Value) -> None:
        grads[v] = builder.add(grads[v], g) if v in grads else g

    for y, dy in zip(ys, dys):
        if id(y.node) in live or any(y is x for x in xs):
            accumulate(y, dy)
    for node in reversed(list(builder._nodes)):
        if id(node) not in live:
            continue
        out_grads = [grads.get(v) for v in node.outputs]
        if all(g is None for g in out_grads) or not node.inputs:
            continue
        if all(v.dtype is not float32 for v in node.outputs):
            continue      # integer and boolean results carry no gradient
        rule = get_op(node.op).grad
        if rule is None:
            raise NotImplementedError(f"no gradient rule for op {node.op!r}")
        in_grads = rule(builder, node, out_grads)
        for v, g in zip(node.inputs, in_grads):
            if g is not None and id(v.node) in live:
                if g.shape != v.shape:
                    raise AssertionError(f"gradient rule of {node.op!r} produced shape "
                                         f"{g.shape} for an operand of shape {v.shape}")
                accumulate(v, g)
    return [grads.get(x) for x in xs]
