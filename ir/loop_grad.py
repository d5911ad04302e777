"""The gradient of `loop`: another loop, run in the opposite direction.

For a forward loop  c_{i+1}, y_t = f(c_i, x_t, w)  the rule builds

  1. the forward loop again with one more per-step output per carry: the carry each step
     read (its input), stacked as saved[t]. Its other results are the original loop's, and
     passes.loops merges the two loops, so the forward pass runs once;
  2. a backward loop over the same time indices in reverse order. Its carries are the
     gradient of the carries (starting from the gradient of the final carries) and one
     running sum per invariant; its sequences are the saved carries, the forward sequences
     and the gradients of the per-step outputs; its body is the reverse-mode gradient of f
     (kiln.ir.autodiff over a copy of the body) at (saved[t], x_t, w):

        dc_i, dx_t, dw_t = vjp(f at c_i, x_t, w)(dc_{i+1}, dy_t)
        acc += dw_t

     It returns dc_0 and the accumulated invariant gradients, and the per-step dx_t stacked.

Only float32 carries, sequences, invariants and outputs take part.
"""
from __future__ import annotations

from kiln.ir.autodiff import gradients as grad_graph
from kiln.ir.builder import Builder
from kiln.ir.dtypes import float32
from kiln.ir.ops.control import Body, loop_parts
from kiln.ir.registry import set_grad


def _zeros(b, type_):
    return b.broadcastTo(b.constant(0.0, float32), shape=type_.shape)


def _is_float(v) -> bool:
    return v.dtype is float32


def _backward_body(body, nc, ns, dy_outputs, name):
    """The body of the backward loop and which operands its results belong to.

    Inputs:  [dcarry (float carries)..., acc (float invariants)...,
              saved carry (all)..., x (all sequences)..., dy (dy_outputs)..., w (all)...]
    Outputs: [new dcarry..., new acc..., dx (float sequences)...]"""
    g = body
    carries, slices, invariants = g.inputs[:nc], g.inputs[nc:nc + ns], g.inputs[nc + ns:]
    float_carries = [k for k, v in enumerate(carries) if _is_float(v)]
    float_invariants = [k for k, v in enumerate(invariants) if _is_float(v)]
    float_slices = [k for k, v in enumerate(slices) if _is_float(v)]
    bb = Builder(name)
    dcarry = [bb.input(carries[k].type, f"d_carry{k}") for k in float_carries]
    acc = [bb.input(invariants[k].type, f"acc{k}") for k in float_invariants]
    c = [bb.input(v.type, f"carry{k}") for k, v in enumerate(carries)]
    x = [bb.input(v.type, f"x{k}") for k, v in enumerate(slices)]
    dy = [bb.input(g.outputs[nc + j].type, f"d_out{j}") for j in dy_outputs]
    w = [bb.input(v.type, f"w{k}") for k, v in enumerate(invariants)]

    vmap = dict(zip(g.inputs, c + x + w))
    for node in g.nodes:
        if node.op == "input":
            continue
        copied = bb._make_node(node.op, tuple(vmap[v] for v in node.inputs), dict(node.attrs))
        vmap.update(zip(node.outputs, copied.outputs))
    ys = [vmap[g.outputs[k]] for k in float_carries] + [vmap[g.outputs[nc + j]] for j in dy_outputs]
    wrt = [c[k] for k in float_carries] + [x[k] for k in float_slices] + \
          [w[k] for k in float_invariants]
    grads = grad_graph(bb, ys, wrt, dcarry + dy)

    def grad_or_zeros(value, grad):
        return grad if grad is not None else _zeros(bb, value.type)

    n_c, n_x = len(float_carries), len(float_slices)
    new_dcarry = [grad_or_zeros(v, gr) for v, gr in zip(dcarry, grads[:n_c])]
    dx = [grad_or_zeros(x[k], gr) for k, gr in zip(float_slices, grads[n_c:n_c + n_x])]
    new_acc = [a if gr is None else bb.add(a, gr) for a, gr in zip(acc, grads[n_c + n_x:])]
    graph = bb.finish(new_dcarry + new_acc + dx)
    return graph, float_carries, float_slices, float_invariants


def loop_gradient(b, node, grads):
    attrs = node.attrs
    body, steps = attrs["body"], attrs["steps"]
    carries, sequences, invariants = loop_parts(node)
    nc, ns = len(carries), len(sequences)
    n_outputs = len(node.outputs) - nc
    carry_grads, output_grads = grads[:nc], grads[nc:]

    # 1. the forward loop, also saving the carry each step reads
    saving = body.extended(body.graph.inputs[:nc])
    forward = b._make_node("loop", node.inputs, {**attrs, "body": saving}).outputs
    saved = list(forward[nc + n_outputs:])

    # 2. the backward loop
    dy_outputs = [j for j, gr in enumerate(output_grads)
                  if gr is not None and _is_float(node.outputs[nc + j])]
    graph, float_carries, float_slices, float_invariants = _backward_body(
        body.graph, nc, ns, dy_outputs, f"{body.graph.name}_grad")
    d_final = [carry_grads[k] if carry_grads[k] is not None else _zeros(b, carries[k].type)
               for k in float_carries]
    acc0 = [_zeros(b, invariants[k].type) for k in float_invariants]
    dys = [output_grads[j] for j in dy_outputs]
    operands = d_final + acc0 + saved + list(sequences) + dys + list(invariants)
    backward = b._make_node("loop", tuple(operands), {
        "body": Body(graph), "steps": steps, "carries": len(d_final) + len(acc0),
        "sequences": nc + ns + len(dys), "reverse": not attrs["reverse"],
        "unroll": attrs["unroll"]}).outputs
    d_carries0 = backward[:len(float_carries)]
    d_invariants = backward[len(float_carries):len(float_carries) + len(float_invariants)]
    d_sequences = backward[len(float_carries) + len(float_invariants):]

    result = [None] * len(node.inputs)
    for k, g in zip(float_carries, d_carries0):
        result[k] = g
    for k, g in zip(float_slices, d_sequences):
        result[nc + k] = g
    for k, g in zip(float_invariants, d_invariants):
        result[nc + ns + k] = g
    return result


set_grad("loop", loop_gradient)
