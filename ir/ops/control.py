"""Structured control flow: `loop`, a scan over time with carried state.

    finals..., stacked... = loop(carries..., sequences..., invariants...)
                                 {body, steps, reverse, carries, sequences, unroll}

The body is an IR Graph with inputs [carries..., slices..., invariants...] and outputs
[new carries..., per-step outputs...]. Step i processes time index t = i (or T-1-i when
`reverse`): it reads sequences[s][t] (sequences are time-major: scanned along their leading
axis), the carries the previous step produced (the initial carries at the first step) and the
invariants, and writes stacked[j][t]. The op returns the carries after the last step and the
per-step outputs stacked along a new leading axis of length `steps` (aligned with the
sequences' time axis in both directions).

`unroll` asks the pass pipeline to replace the loop by `steps` copies of its body; otherwise
codegen runs the whole sequence in one native loop. Its gradient (kiln.ir.gradients) is a loop
too, run in the opposite direction over the carries the forward loop saves.
"""
from __future__ import annotations

from kiln.ir.errors import ShapeError
from kiln.ir.graph import Graph
from kiln.ir.registry import REQUIRED, Kind, OpDef, register


class Body:
    """A loop body graph as a hashable attribute: equal when the graphs are structurally
    equal (Graph.key), so equal loops intern to one node.

    `base` optionally names a body whose outputs are the first outputs of this one (the same
    nodes, more outputs): the gradient rule's forward loop, which also saves the carries, is
    such an extension, and passes.loops merges a loop into its extension."""

    __slots__ = ("graph", "base", "_key", "_hash")

    def __init__(self, graph: Graph, base: "Body | None" = None):
        if graph.params or graph.updates:
            raise ShapeError("loop: a body graph cannot have params or updates; pass weights as "
                             "invariant operands")
        self.graph = graph
        self.base = base
        self._key = graph.key()
        self._hash = hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Body) and (self is other or self._key == other._key)

    def __hash__(self):
        return self._hash

    def extended(self, extra_outputs) -> "Body":
        """This body with more outputs (values of the same graph)."""
        g = self.graph
        return Body(Graph(g.nodes, g.inputs, [], list(g.outputs) + list(extra_outputs), [],
                          g.name), base=self)

    @property
    def size(self) -> int:
        """Nodes other than inputs (what unrolling copies once per step)."""
        return sum(1 for n in self.graph.nodes if n.op != "input")

    def __repr__(self):
        return f"<body {len(self.graph.inputs)} -> {len(self.graph.outputs)}, {self.size} nodes>"


def loop_parts(node):
    """(carries, sequences, invariants) operands of a loop node."""
    nc, ns = node.attrs["carries"], node.attrs["sequences"]
    ins = node.inputs
    return ins[:nc], ins[nc:nc + ns], ins[nc + ns:]


def _loop(inputs, attrs):
    body = attrs["body"]
    if not isinstance(body, Body):
        raise ShapeError(f"loop: the body attribute must be a Body, got {type(body).__name__}")
    graph = body.graph
    steps, nc, ns = attrs["steps"], attrs["carries"], attrs["sequences"]
    if not isinstance(steps, int) or steps < 0:
        raise ShapeError(f"loop: steps must be a non-negative integer, got {steps!r}")
    if nc < 0 or ns < 0 or nc + ns > len(inputs):
        raise ShapeError(f"loop: {nc} carries and {ns} sequences do not fit {len(inputs)} operands")
    if len(graph.inputs) != len(inputs):
        raise ShapeError(f"loop: the body takes {len(graph.inputs)} inputs, the loop has "
                         f"{len(inputs)} operands")
    if len(graph.outputs) < nc:
        raise ShapeError(f"loop: the body returns {len(graph.outputs)} values, fewer than its "
                         f"{nc} carries")
    if not graph.outputs:
        raise ShapeError("loop: the body must return at least one value")
    for i, (operand, param) in enumerate(zip(inputs, graph.inputs)):
        if nc <= i < nc + ns:
            if operand.rank < 1 or operand.shape[0] != steps:
                raise ShapeError(f"loop: sequence operand {i - nc} has shape "
                                 f"{list(operand.shape)}; its leading (time) axis must be {steps}")
            expected = operand.with_shape(operand.shape[1:])
            what = f"a slice of sequence {i - nc}"
        else:
            expected = operand
            what = f"carry {i}" if i < nc else f"invariant {i - nc - ns}"
        if param.type != expected:
            raise ShapeError(f"loop: body input {i} has type {param.type}, but {what} has "
                             f"type {expected}")
    for k in range(nc):
        if graph.outputs[k].type != inputs[k]:
            raise ShapeError(f"loop: the body returns {graph.outputs[k].type} for carry {k}, "
                             f"which has type {inputs[k]}")
    stacked = [v.type.with_shape((steps,) + v.shape) for v in graph.outputs[nc:]]
    return list(inputs[:nc]) + stacked


register(OpDef("loop", Kind.CONTROL, _loop,
               {"body": REQUIRED, "steps": REQUIRED, "carries": REQUIRED, "sequences": 0,
                "reverse": False, "unroll": False},
               arity=None,
               doc="scan `body` over `steps` time steps with carried state; returns the final "
                   "carries and the per-step outputs stacked along a new leading axis"))
