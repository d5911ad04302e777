"""Builder: the one way to create IR nodes.

    b = Builder()
    x = b.input(TensorType((4, 3), float32), "x")
    y = b.relu(b.matMul(x, w))          # any registered op is a method
    graph = b.finish([y])

The builder checks each node with its op's shape rule as it is created, interns nodes so that
equal (op, inputs, attributes) triples are one node, and `finish` keeps only the nodes that
the outputs and updates depend on (dead code never enters a Graph).
"""
from __future__ import annotations

import numpy as np

from kiln.ir import registry
from kiln.ir.dtypes import as_dtype
from kiln.ir.errors import ShapeError
from kiln.ir.graph import Attrs, Const, Graph, Node, Value
from kiln.ir.types import TensorType


class Builder:
    def __init__(self, name: str = "main"):
        self.name = name
        self._nodes: list[Node] = []
        self._interned: dict[tuple, Node] = {}
        self._owned: set[int] = set()
        self.inputs: list[Value] = []
        self.params: list[Value] = []
        self.scope: str | None = None          # tags new nodes (see Graph.provenance)
        self.provenance: dict = {}

    # ---- boundary values -------------------------------------------------------------
    def input(self, type: TensorType, name: str | None = None) -> Value:
        name = name or f"input{len(self.inputs)}"
        value = self._make("input", (), {"name": name, "type": type})
        self.inputs.append(value)
        return value

    def param(self, type: TensorType, name: str) -> Value:
        value = self._make("param", (), {"name": name, "type": type})
        self.params.append(value)
        return value

    def constant(self, value, dtype=None) -> Value:
        """Embed a (small) array or Python scalar as a constant node."""
        dt = as_dtype(dtype) if dtype is not None else None
        array = np.asarray(value, dtype=dt.np if dt else None)
        if dt is None:
            array = array.astype(as_dtype(array.dtype).np, copy=False)
        return self._make("constant", (), {"value": Const(array)})

    # ---- ops -------------------------------------------------------------------------
    def op(self, name: str, *inputs: Value, **attrs):
        """Create (or reuse) a node; return its Value, or a tuple for multi-output ops."""
        node = self._make_node(name, inputs, attrs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            registry.get_op(name)
        except KeyError:
            raise AttributeError(f"Builder has no op {name!r}") from None
        return lambda *inputs, **attrs: self.op(name, *inputs, **attrs)

    def _make(self, name, inputs, attrs) -> Value:
        return self._make_node(name, inputs, attrs).outputs[0]

    def _make_node(self, name: str, inputs, attrs) -> Node:
        opdef = registry.get_op(name)
        if opdef.arity is not None and len(inputs) != opdef.arity:
            raise ShapeError(f"{name}: expects {opdef.arity} operand(s), got {len(inputs)}")
        for i, v in enumerate(inputs):
            if not isinstance(v, Value):
                raise TypeError(f"{name}: operand {i} is {type(v).__name__}, not an IR Value")
            if id(v.node) not in self._owned:
                raise ShapeError(f"{name}: operand {i} belongs to another graph")
        canon = Attrs(opdef.canonical_attrs(attrs))
        key = (name, tuple(inputs), canon)
        if opdef.pure:
            found = self._interned.get(key)
            if found is not None:
                return found
        out_types = opdef.infer([v.type for v in inputs], canon)
        node = Node(name, tuple(inputs), canon, out_types)
        if self.scope is not None:
            self.provenance[node] = self.scope
        self._nodes.append(node)
        self._owned.add(id(node))
        if opdef.pure:
            self._interned[key] = node
        return node

    # ---- finishing -------------------------------------------------------------------
    def finish(self, outputs, updates=()) -> Graph:
        """Return a Graph of the nodes the outputs and updates need (plus all inputs)."""
        outputs = list(outputs)
        updates = [(p, v) for p, v in updates]
        for v in outputs + [v for pair in updates for v in pair]:
            if not isinstance(v, Value) or id(v.node) not in self._owned:
                raise ShapeError("finish: every output and update must be a value of this builder")
        for p, v in updates:
            if p.node.op != "param":
                raise ShapeError("finish: an update must target a param value")
            if p.type != v.type:
                raise ShapeError(f"finish: update of {p.node.attrs['name']!r} has type {v.type}, "
                                 f"param has {p.type}")
        live: set[int] = set()
        stack = [v.node for v in outputs] + [v.node for pair in updates for v in pair]
        stack += [v.node for v in self.inputs]
        while stack:
            node = stack.pop()
            if id(node) in live:
                continue
            live.add(id(node))
            stack.extend(v.node for v in node.inputs)
        nodes = [n for n in self._nodes if id(n) in live]
        params = [p for p in self.params if id(p.node) in live]
        provenance = {n: self.provenance[n] for n in nodes if n in self.provenance}
        return Graph(nodes, list(self.inputs), params, outputs, updates, self.name, provenance)


def rebuild(graph: Graph, rewrite=None, name: str | None = None):
    """Copy `graph` through a fresh Builder, node by node.

    `rewrite(builder, node, new_inputs)` may return replacement output values for a node (a
    tuple, one per output) or None to copy it unchanged. Returns (new_graph, value_map).
    Interning in the new builder merges nodes that became equal (CSE) and `finish` drops
    nodes that became dead (DCE).
    """
    b = Builder(name or graph.name)
    vmap: dict[Value, Value] = {}
    for node in graph.nodes:
        b.scope = graph.provenance.get(node)
        new_inputs = tuple(vmap[v] for v in node.inputs)
        replaced = rewrite(b, node, new_inputs) if rewrite else None
        if replaced is None:
            if node.op == "input":
                replaced = (b.input(node.attrs["type"], node.attrs["name"]),)
            elif node.op == "param":
                replaced = (b.param(node.attrs["type"], node.attrs["name"]),)
            else:
                replaced = b._make_node(node.op, new_inputs, dict(node.attrs)).outputs
        for old, new in zip(node.outputs, replaced):
            vmap[old] = new
    # Inputs and params keep their order even if a rewrite touched them.
    b.inputs = [vmap[v] for v in graph.inputs]
    b.params = [vmap[v] for v in graph.params]
    new_graph = b.finish([vmap[v] for v in graph.outputs],
                         [(vmap[p], vmap[v]) for p, v in graph.updates])
    return new_graph, vmap
