"""Graph passes over `loop` ops: merging a loop into its extension, and unrolling.

merge_loops   The gradient rule of a loop re-creates the forward loop with extra per-step
              outputs (the carries the backward loop needs). Both loops then read the same
              operands and run the same body; the original's results are the first results
              of the extension, so the original is replaced by the extension and the forward
              pass runs once.

unroll_loops  Replaces a loop by `steps` copies of its body (the sequences sliced, the
              per-step outputs concatenated) when its `unroll` attribute asks for it (the
              layers' `unroll: true`) or when the loop is short enough that unrolling pays
              (UNROLL_MAX_STEPS; see benchmarks/rnn_loop.py for the measurement).
"""
from __future__ import annotations

from kiln.ir.builder import rebuild
from kiln.ir.graph import Graph

# A loop with a body this small and at most this many steps would be unrolled by default.
# benchmarks/rnn_loop.py measured LSTMs of 8 and 64 units over 4, 8 and 32 steps (batch 32,
# one thread): unrolled and native loops run equally fast (within 1%, a step's call through
# the loop costs nothing next to its matMul), while unrolling makes the first call 2-10x slower
# (LLVM compiles one copy of the body per step). So only `unroll: true` unrolls.
UNROLL_MAX_STEPS = 0
UNROLL_MAX_BODY_NODES = 64


def _same_loop_key(node, body):
    others = tuple(sorted((k, v) for k, v in node.attrs.items() if k != "body"))
    return node.inputs, others, body


def merge_loops(graph: Graph) -> Graph:
    loops = [n for n in graph.nodes if n.op == "loop"]
    extensions = {}
    for node in loops:
        base = node.attrs["body"].base
        if base is not None:
            extensions.setdefault(_same_loop_key(node, base), node)
    replace = {}
    for node in loops:
        extension = extensions.get(_same_loop_key(node, node.attrs["body"]))
        if extension is not None and extension is not node:
            replace[id(node)] = extension
    if not replace:
        return graph

    def rewrite(b, node, new_inputs):
        extension = replace.get(id(node))
        if extension is None:
            return None
        merged = b._make_node("loop", new_inputs, dict(extension.attrs)).outputs
        return merged[:len(node.outputs)]

    merged, _ = rebuild(graph, rewrite)
    return merged


def should_unroll(node) -> bool:
    attrs = node.attrs
    if attrs["unroll"]:
        return True
    return (attrs["steps"] <= UNROLL_MAX_STEPS
            and attrs["body"].size <= UNROLL_MAX_BODY_NODES)


def unroll_loops(graph: Graph) -> Graph:
    if not any(n.op == "loop" and should_unroll(n) for n in graph.nodes):
        return graph

    def rewrite(b, node, new_inputs):
        if node.op != "loop" or not should_unroll(node):
            return None
        return unrolled(b, node, new_inputs)

    result, _ = rebuild(graph, rewrite)
    return result


def unrolled(b, node, operands):
    """The loop's results computed by `steps` inlined copies of its body."""
    attrs = node.attrs
    body, steps = attrs["body"].graph, attrs["steps"]
    nc, ns = attrs["carries"], attrs["sequences"]
    carries, sequences, invariants = (list(operands[:nc]), operands[nc:nc + ns],
                                      list(operands[nc + ns:]))
    per_step = [[None] * steps for _ in body.outputs[nc:]]
    for i in range(steps):
        t = steps - 1 - i if attrs["reverse"] else i
        slices = [_time_slice(b, s, t) for s in sequences]
        values = dict(zip(body.inputs, carries + slices + invariants))
        for inner in body.nodes:
            if inner.op == "input":
                continue
            copied = b._make_node(inner.op, tuple(values[v] for v in inner.inputs),
                                  dict(inner.attrs))
            values.update(zip(inner.outputs, copied.outputs))
        results = [values[v] for v in body.outputs]
        carries = results[:nc]
        for column, value in zip(per_step, results[nc:]):
            column[t] = value
    stacked = []
    for column, out in zip(per_step, node.outputs[nc:]):
        if steps == 0:
            stacked.append(b.broadcastTo(b.constant(0, out.dtype), shape=out.shape))
        else:
            stacked.append(b.concat(*[b.reshape(v, shape=(1,) + v.shape) for v in column],
                                    axis=0))
    return tuple(carries + stacked)


def _time_slice(b, sequence, t: int):
    shape = sequence.shape
    piece = b.slice(sequence, begin=(t,) + (0,) * (len(shape) - 1), end=(t + 1,) + shape[1:],
                    strides=(1,) * len(shape))
    return b.reshape(piece, shape=shape[1:])

