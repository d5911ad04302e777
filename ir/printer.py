"""A stable, readable text form of a graph: one line per node.

    %0 = input {name='x'} : f32[2,3]
    %1 = param {name='dense/kernel'} : f32[3,4]
    %2 = matMul(%0, %1) {transposeA=false, transposeB=false} : f32[2,4]
    return %2

Values are numbered in node order, so the text depends only on the graph's structure. A loop's
body is printed indented under the loop, with its own numbering.
"""
from __future__ import annotations

from kiln.ir.dtypes import DType
from kiln.ir.graph import Graph
from kiln.ir.types import TensorType

_HIDDEN_ATTRS = {"input": {"type"}, "param": {"type"}}


def format_attr(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (DType, TensorType)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if type(value).__name__ == "Body":
        return "{...}"
    return repr(value)


def format_node(node, names) -> str:
    results = ", ".join(names[v] for v in node.outputs)
    operands = ", ".join(names[v] for v in node.inputs)
    hidden = _HIDDEN_ATTRS.get(node.op, set())
    attrs = ", ".join(f"{k}={format_attr(v)}" for k, v in sorted(node.attrs.items())
                      if k not in hidden)
    types = ", ".join(str(v.type) for v in node.outputs)
    line = f"{results} = {node.op}"
    if node.inputs:
        line += f"({operands})"
    if attrs:
        line += f" {{{attrs}}}"
    return f"{line} : {types}"


def value_names(graph: Graph) -> dict:
    names = {}
    for node in graph.nodes:
        for v in node.outputs:
            names[v] = f"%{len(names)}"
    return names


def format_graph(graph: Graph, indent: str = "") -> str:
    names = value_names(graph)
    lines = []
    for node in graph.nodes:
        lines.append(indent + format_node(node, names))
        body = node.attrs.get("body") if node.op == "loop" else None
        if body is not None:
            lines.append(format_graph(body.graph, indent + "    "))
    lines.append(indent + "return " + ", ".join(names[v] for v in graph.outputs))
    for p, v in graph.updates:
        lines.append(f"{indent}update {names[p]} <- {names[v]}")
    return "\n".join(lines)
