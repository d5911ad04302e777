"""Row-split loops: run a recurrent loop as independent tasks over blocks of batch rows.

In a recurrent layer every batch row evolves on its own: row i of the new state depends only
on row i of the old state and of the inputs, and on weights shared by all rows. Such a loop
can run as `tasks` loops over `rows = batch / tasks` rows each, in parallel, with one
thread start per call (not per step). `row_split(node, body, threads)` decides (enough rows
per task, enough work) and makes the per-task body.

A recurrent layer computes its input projection x @ W + b for all steps before the loop (one
large matMul). When the loop will run as row tasks, `sink_projections` moves that product back
into the loop body: each task then computes its rows' projection step by step inside the one
parallel region, instead of a separate parallel matMul (its own thread start) and a round trip
of the whole projected sequence through memory. benchmarks/rnn_loop.py, W6 on 2 threads:
~410 us sunk against ~490 us hoisted; on one thread both forms take the same time, and the
loop keeps the hoisted form.

`split_rows(body, batch, rows)` checks that a loop body is row-separable and returns it
re-typed for `rows` rows, or None. Values are classified as batched (axis 0 indexes rows) or
shared; the rules are a table per op kind:

  elementwise       batched if an operand is; shared operands must broadcast along axis 0
  matMul            batched left operand (not transposed) times a shared right operand
  slice, pad, ...   batched if they keep axis 0 whole (and attrs are rewritten for `rows`)
  reductions        batched if axis 0 is not reduced
  broadcastTo       of a shared value to [batch, ...]: batched (every row the same)
anything else on a batched value (a nested loop, gather, random numbers) gives up. Carries,
slices and outputs must be batched; an invariant is shared, or is row data (a dropout mask:
[batch, ...] used elementwise with batched values), which `row_invariants` lists.
"""
from __future__ import annotations

import math

from kiln.ir.builder import Builder, rebuild
from kiln.ir.graph import Graph, Value
from kiln.ir.ops.control import Body
from kiln.ir.registry import Kind
from kiln.ir.types import TensorType

MIN_ROWS = 4            # fewer rows per task leave too little work per step
MIN_MACS = 1 << 22      # a loop with less matMul work than this runs on one thread: as for
                        # a GEMM, starting a second thread would cost more than it saves


def loop_macs(body: Graph, steps: int) -> int:
    """Multiply-adds of the matMuls of a loop (all steps)."""
    total = 0
    for node in body.nodes:
        if node.op == "matMul":
            a = node.inputs[0].shape
            depth = a[-2] if node.attrs["transposeA"] else a[-1]
            total += math.prod(node.outputs[0].shape) * depth
    return total * steps


class NotSeparable(Exception):
    pass


def _with_rows(shape, batch, rows):
    if not shape or shape[0] != batch:
        raise NotSeparable
    return (rows,) + tuple(shape[1:])


def _check_elementwise(node, batched, batch):
    out = node.outputs[0]
    for v in node.inputs:
        aligned = len(v.shape) == len(out.shape)
        if batched.get(v):
            if not aligned:
                raise NotSeparable
        elif aligned and v.shape[0] == batch and batch != 1:
            raise NotSeparable          # row data computed inside the body: give up


def _keeps_axis0(node, batch):
    a = node.attrs
    op = node.op
    if op == "slice":
        return a["begin"][0] == 0 and a["end"][0] == batch and a["strides"][0] == 1
    if op == "transpose":
        return a["perm"][0] == 0
    if op == "pad":
        return tuple(a["paddings"][0]) == (0, 0)
    if op == "reverse":
        return 0 not in a["axes"]
    if op == "tile":
        return a["reps"][0] == 1
    if op == "cumsum":
        return a["axis"] != 0
    if op == "concat":
        return a["axis"] != 0
    if node.opdef.kind is Kind.REDUCE:
        axes = a["axes"] if "axes" in a else (a["axis"],)
        return 0 not in axes
    return False


def _resized_attrs(node, batch, rows):
    a = dict(node.attrs)
    op = node.op
    if op == "slice":
        a["end"] = (rows,) + tuple(a["end"][1:])
    elif op in ("reshape", "broadcastTo"):
        a["shape"] = _with_rows(a["shape"], batch, rows)
    return a


def _classify(body: Graph, nc: int, ns: int, batch: int):
    """batched flags per value and the invariant inputs that hold row data."""
    batched = {}
    row_invariants = set()
    inputs = body.inputs
    for i, v in enumerate(inputs):
        if i < nc + ns:
            if not v.shape or v.shape[0] != batch:
                raise NotSeparable
            batched[v] = True
    invariants = {v: i - nc - ns for i, v in enumerate(inputs) if i >= nc + ns}
    users = body.users()
    for v, k in invariants.items():
        readers = users.get(v, [])
        row_data = (v.shape and v.shape[0] == batch and batch != 1 and readers and all(
            r.opdef.kind is Kind.ELEMENTWISE and len(r.outputs[0].shape) == len(v.shape)
            for r in readers))
        if row_data:
            batched[v] = True
            row_invariants.add(k)
    for node in body.nodes:
        if node.op == "input":
            continue
        any_batched = any(batched.get(v) for v in node.inputs)
        if node.op == "loop" and any_batched:
            raise NotSeparable
        if not any_batched:
            out_batched = node.op == "broadcastTo" and node.outputs[0].shape[:1] == (batch,) \
                and (not node.inputs[0].shape or len(node.inputs[0].shape) < len(
                    node.outputs[0].shape) or node.inputs[0].shape[0] == 1)
            if node.opdef.kind is Kind.SOURCE and node.op not in ("constant",):
                if node.outputs[0].shape[:1] == (batch,) and batch != 1:
                    raise NotSeparable
            for v in node.outputs:
                batched[v] = out_batched
            continue
        kind = node.opdef.kind
        if kind is Kind.ELEMENTWISE:
            _check_elementwise(node, batched, batch)
        elif node.op == "matMul":
            x, w = node.inputs
            if batched.get(w) or node.attrs["transposeA"] or len(x.shape) != 2:
                raise NotSeparable
        elif node.op == "reshape":
            x, out = node.inputs[0], node.outputs[0]
            if not out.shape or out.shape[0] != batch or x.shape[0] != batch:
                raise NotSeparable
        elif node.op in ("broadcastTo",):
            x, out = node.inputs[0], node.outputs[0]
            if len(x.shape) != len(out.shape) or x.shape[0] != batch:
                raise NotSeparable
        elif not _keeps_axis0(node, batch):
            raise NotSeparable
        if node.op == "concat" and not all(batched.get(v) for v in node.inputs):
            raise NotSeparable
        for v in node.outputs:
            batched[v] = True
    for v in body.outputs:
        if not batched.get(v):
            raise NotSeparable
    return batched, row_invariants


def split_rows(body: Graph, nc: int, ns: int, batch: int, rows: int):
    """(body re-typed for `rows` rows, indices of row-data invariants), or None."""
    if batch % rows or rows < 1:
        return None
    try:
        batched, row_invariants = _classify(body, nc, ns, batch)
        b = Builder(body.name)
        values = {}
        for node in body.nodes:
            if node.op == "input":
                v = node.outputs[0]
                t = v.type
                if batched.get(v):
                    t = TensorType(_with_rows(t.shape, batch, rows), t.dtype)
                values[v] = b.input(t, node.attrs["name"])
                continue
            attrs = _resized_attrs(node, batch, rows) if batched[node.outputs[0]] \
                else dict(node.attrs)
            made = b._make_node(node.op, tuple(values[v] for v in node.inputs), attrs)
            values.update(zip(node.outputs, made.outputs))
        return b.finish([values[v] for v in body.outputs]), frozenset(row_invariants)
    except NotSeparable:
        return None


def row_split(node, body: Graph, threads: int):
    """(body for one task's rows, row-data invariants) if loop `node` should run as one task
    per thread over its batch rows, else None."""
    nc, ns = node.attrs["carries"], node.attrs["sequences"]
    lead = [v.shape[0] if v.shape else None for v in body.inputs[:nc + ns]]
    if threads <= 1 or not lead or lead[0] is None:
        return None
    batch = lead[0]
    if batch % threads or batch // threads < MIN_ROWS or \
            loop_macs(body, node.attrs["steps"]) < MIN_MACS:
        return None
    return split_rows(body, nc, ns, batch, batch // threads)


def _projection(sequence: Value):
    """(x [T, B, D], W [D, N], bias or None) if `sequence` [T, B, N] is
    reshape(matMul(reshape(x, [T*B, D]), W) (+ bias), [T, B, N]), else None."""
    node = sequence.node
    if node.op != "reshape" or len(sequence.shape) != 3:
        return None
    steps, batch, width = sequence.shape
    inner = node.inputs[0].node
    bias = None
    if inner.op == "add":
        product, bias = inner.inputs
        if product.node.op != "matMul" or bias.shape not in ((width,), (1, width)):
            return None
        inner = product.node
    if inner.op != "matMul" or inner.attrs["transposeA"] or inner.attrs["transposeB"]:
        return None
    flat, weight = inner.inputs
    if flat.node.op != "reshape" or len(weight.shape) != 2:
        return None
    x = flat.node.inputs[0]
    if x.shape != (steps, batch, weight.shape[0]):
        return None
    return x, weight, bias


def _sunk_body(body: Graph, nc: int, k: int, x_type, weight, bias):
    """The body with slice k computed from a slice of x and two new invariants."""
    b = Builder(body.name)
    values = {}
    w_in = b_in = None
    for i, v in enumerate(body.inputs):
        if i == nc + k:
            values[v] = b.input(x_type, v.node.attrs["name"])
        else:
            values[v] = b.input(v.type, v.node.attrs["name"])
    w_in = b.input(weight.type, "projection_kernel")
    if bias is not None:
        b_in = b.input(bias.type, "projection_bias")
    slice_k = body.inputs[nc + k]
    projected = b.matMul(values[slice_k], w_in)
    if b_in is not None:
        projected = b.add(projected, b_in)
    values[slice_k] = projected
    for node in body.nodes:
        if node.op == "input":
            continue
        made = b._make_node(node.op, tuple(values[v] for v in node.inputs), dict(node.attrs))
        values.update(zip(node.outputs, made.outputs))
    return b.finish([values[v] for v in body.outputs])


def sink_projections(graph: Graph, threads: int) -> Graph:
    """Move the input projections of loops that will run as row tasks into their bodies."""
    if threads <= 1 or not any(n.op == "loop" for n in graph.nodes):
        return graph
    users = graph.users()
    plans = {}
    for node in graph.nodes:
        if node.op != "loop":
            continue
        nc, ns = node.attrs["carries"], node.attrs["sequences"]
        for k, sequence in enumerate(node.inputs[nc:nc + ns]):
            found = _projection(sequence)
            if found is None or len(users.get(sequence, [])) != 1:
                continue
            x, weight, bias = found
            x_type = x.type.with_shape(x.shape[1:])
            body = _sunk_body(node.attrs["body"].graph, nc, k, x_type, weight, bias)
            if row_split(node, body, threads) is not None:
                plans[id(node)] = (k, x, weight, bias, body)
                break
    if not plans:
        return graph
    images = {}

    def rewrite(b, node, new_inputs):
        images.update(zip(node.inputs, new_inputs))
        plan = plans.get(id(node))
        if plan is None:
            return None
        k, x, weight, bias, body = plan
        nc = node.attrs["carries"]
        operands = list(new_inputs)
        operands[nc + k] = images[x]
        operands += [images[weight]] + ([images[bias]] if bias is not None else [])
        return b._make_node("loop", tuple(operands),
                            {**node.attrs, "body": Body(body)}).outputs

    return rebuild(graph, rewrite)[0]
