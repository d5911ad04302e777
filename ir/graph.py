"""The graph IR: Value, Node and Graph.

A Node applies an op (named in the registry) to input Values with hashable attributes and
produces one or more output Values. Nodes are immutable and structurally identified: the
Builder never creates two equal nodes (same op, inputs and attributes), so common
subexpressions are shared by construction.

A Graph lists its nodes in a topological order and names four kinds of boundary values:
  inputs   values of `input` nodes, fed by the caller on every run;
  params   values of `param` nodes, bound to long-lived buffers (weights, optimizer state);
  outputs  values returned to the caller;
  updates  (param, new value) pairs: after a run, each param buffer holds its new value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kiln.ir.types import TensorType


class Attrs(dict):
    """A read-only, hashable attribute dict with a canonical (sorted) order."""

    def __hash__(self):
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *a, **k):
        raise TypeError("node attributes are immutable")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly


class Const:
    """Hashable wrapper of a small numpy array embedded in the graph as a constant."""

    __slots__ = ("array", "_key")

    def __init__(self, array):
        array = np.array(array, order="C", copy=True)   # (ascontiguousarray makes 0-d 1-d)
        array.setflags(write=False)
        self.array = array
        self._key = (array.dtype.str, array.shape, array.tobytes())

    def __eq__(self, other):
        return isinstance(other, Const) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        flat = self.array.reshape(-1)
        if flat.size <= 4:
            body = ", ".join(_fmt_scalar(v) for v in flat)
        else:
            body = ", ".join(_fmt_scalar(v) for v in flat[:3]) + ", ..."
        return f"[{body}]" if self.array.ndim else body


def _fmt_scalar(v) -> str:
    if isinstance(v, (np.bool_, bool)):
        return "true" if v else "false"
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    return str(int(v))


class Value:
    """One result of a node: an SSA value with a static TensorType."""

    __slots__ = ("node", "index", "type")

    def __init__(self, node: "Node", index: int, type: TensorType):
        self.node = node
        self.index = index
        self.type = type

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    def __repr__(self):
        return f"<Value {self.node.op}#{self.index} {self.type}>"


class Node:
    """An op applied to input values; immutable, compared by identity (the Builder interns)."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "__weakref__")

    def __init__(self, op: str, inputs: tuple[Value, ...], attrs: Attrs, out_types):
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.outputs = tuple(Value(self, i, t) for i, t in enumerate(out_types))

    @property
    def opdef(self):
        from kiln.ir.registry import get_op

        return get_op(self.op)

    @property
    def out(self) -> Value:
        """The single output of a one-output node."""
        (value,) = self.outputs
        return value

    def __repr__(self):
        return f"<Node {self.op} -> {', '.join(str(v.type) for v in self.outputs)}>"


@dataclass
class Graph:
    """A finished graph. `nodes` is in topological order and holds only live nodes."""

    nodes: list[Node]
    inputs: list[Value]
    params: list[Value]
    outputs: list[Value]
    updates: list[tuple[Value, Value]] = field(default_factory=list)
    name: str = "main"
    # Where nodes came from (e.g. the model layer whose call created them), for inspection;
    # passes carry it over to the nodes they produce.
    provenance: dict = field(default_factory=dict)    # Node -> str

    def users(self) -> dict[Value, list[Node]]:
        """Map each value to the nodes that read it, in order."""
        result: dict[Value, list[Node]] = {}
        for node in self.nodes:
            for v in node.inputs:
                result.setdefault(v, []).append(node)
        return result

    def to_networkx(self):
        """A networkx DiGraph of node -> consumer node edges (for analyses)."""
        import networkx as nx

        g = nx.DiGraph()
        for node in self.nodes:
            g.add_node(node)
            for v in node.inputs:
                g.add_edge(v.node, node)
        return g

    def key(self) -> tuple:
        """A hashable structural identity: equal keys mean the same computation."""
        index: dict[Value, int] = {}
        nodes = []
        for node in self.nodes:
            nodes.append((node.op, tuple(index[v] for v in node.inputs),
                          tuple(sorted(node.attrs.items()))))
            for v in node.outputs:
                index[v] = len(index)
        return (tuple(nodes), tuple(index[v] for v in self.outputs),
                tuple((index[p], index[v]) for p, v in self.updates))

    def __str__(self):
        from kiln.ir.printer import format_graph

        return format_graph(self)
