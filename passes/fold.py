"""Constant folding: nodes computed only from constants become constants.

The values are computed by kiln's own code generator: the pipeline is given an `evaluate`
function (the runtime compiles and runs a graph of the foldable nodes, without folding), so
folding follows the one compute path. Only small results are folded (they are embedded in the
generated code); large constant subgraphs stay as code.
"""
from __future__ import annotations

from kiln.ir.builder import Builder, rebuild
from kiln.ir.graph import Graph
from kiln.ir.registry import Kind

MAX_FOLDED_ELEMENTS = 256
NOT_FOLDED = {"input", "param", "constant", "randomUniform", "randomNormal", "truncatedNormal"}


def fold(graph: Graph, evaluate) -> Graph:
    constant = {v for n in graph.nodes if n.op == "constant" for v in n.outputs}
    foldable = []
    for node in graph.nodes:
        if node.op in NOT_FOLDED or node.opdef.kind is Kind.CONTROL:
            continue
        if node.inputs and all(v in constant for v in node.inputs) and \
                all(v.type.size <= MAX_FOLDED_ELEMENTS for v in node.outputs):
            foldable.append(node)
            constant.update(node.outputs)
    if not foldable:
        return graph
    folded = {v for n in foldable for v in n.outputs}
    users = graph.users()
    frontier = [v for v in folded
                if v in set(graph.outputs) or any(u.outputs[0] not in folded
                                                   for u in users.get(v, []))]
    if not frontier:
        return graph
    b = Builder("fold")
    vmap = {}
    for node in graph.nodes:
        if node.op == "constant" or node in foldable:
            new = b._make_node(node.op, tuple(vmap[v] for v in node.inputs), dict(node.attrs))
            for old, value in zip(node.outputs, new.outputs):
                vmap[old] = value
    values = evaluate(b.finish([vmap[v] for v in frontier]))
    table = dict(zip(frontier, values))

    def rewrite(builder, node, inputs):
        if node.outputs[0] in table:
            return (builder.constant(table[node.outputs[0]], node.outputs[0].dtype),)
        return None

    return rebuild(graph, rewrite)[0]
