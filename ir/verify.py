"""The verifier: checks the invariants every pass must preserve.

1. every operand is produced by a node of the graph that comes earlier (no dangling values,
   no cycles: the node list is a topological order);
2. every node's recorded types equal what its op's shape rule computes now;
3. inputs, params, outputs and updates are values of the graph, of the right kind;
4. the body of every loop satisfies 1-3 itself.
Each failure names the offending node by its printed line and says how to fix it.
"""
from __future__ import annotations

from kiln.ir.errors import ShapeError, VerifyError
from kiln.ir.graph import Graph
from kiln.ir.printer import format_node, value_names
from kiln.ir.registry import get_op


def verify(graph: Graph) -> Graph:
    """Return the graph unchanged, or raise VerifyError naming the first broken node."""
    names = _Names(value_names(graph))
    defined = set()
    for node in graph.nodes:
        where = format_node(node, names)
        for i, v in enumerate(node.inputs):
            if v not in defined:
                if v.node in set(graph.nodes):
                    raise VerifyError(f"operand {i} of `{where}` is used before it is defined; "
                                      "the node list must be in topological order "
                                      "(a cycle makes that impossible)")
                raise VerifyError(f"operand {i} of `{where}` is dangling: it is produced by a "
                                  "node that is not in the graph (rebuild the graph through one "
                                  "Builder)")
        try:
            opdef = get_op(node.op)
            expected = opdef.infer([v.type for v in node.inputs], node.attrs)
        except (ShapeError, KeyError) as e:
            raise VerifyError(f"`{where}` is invalid: {e}") from None
        actual = [v.type for v in node.outputs]
        if list(expected) != actual:
            raise VerifyError(f"`{where}` records types {actual} but its shape rule gives "
                              f"{list(expected)}")
        if node.op == "loop":
            try:
                verify(node.attrs["body"].graph)
            except VerifyError as e:
                raise VerifyError(f"in the body of `{where}`: {e}") from None
        defined.update(node.outputs)
    for kind, values, op in [("input", graph.inputs, "input"), ("param", graph.params, "param")]:
        for v in values:
            if v not in defined or v.node.op != op:
                raise VerifyError(f"graph {kind} {v} is not an `{op}` node of the graph")
    for v in graph.outputs:
        if v not in defined:
            raise VerifyError(f"graph output {v} is not produced by a node of the graph")
    for p, v in graph.updates:
        if p.node.op != "param" or p not in defined or v not in defined:
            raise VerifyError(f"update {p} <- {v} must target a param of the graph with a value "
                              "of the graph")
        if p.type != v.type:
            raise VerifyError(f"update of param {p.node.attrs['name']!r} has type {v.type}, "
                              f"expected {p.type}")
    return graph


class _Names(dict):
    """Value names for messages; a value of no node in the graph prints as '?'."""

    def __missing__(self, value):
        return "?"


def has_cycle(graph: Graph) -> bool:
    """True if the node dependencies contain a cycle (whatever the list order)."""
    import networkx as nx      # imported on use: it costs ~100 ms at startup

    return not nx.is_directed_acyclic_graph(graph.to_networkx())
