"""The verifier: dangling values, type mismatches, invalid nodes, broken topological order
(cycles) and bad boundary values; every error names the offending node."""
from __future__ import annotations

import pytest

from kiln.ir import (Attrs, Builder, Graph, Node, TensorType, VerifyError, float32, int32,
                     verify)
from kiln.ir.verify import has_cycle


def f32(*shape):
    return TensorType(shape, float32)


def small_graph():
    b = Builder()
    x = b.input(f32(2, 3), "x")
    e = b.exp(x)
    r = b.relu(e)
    s = b.sum(r, axes=(1,))
    return b.finish([s]), (x, e, r, s)


def test_a_valid_graph_passes_unchanged():
    g, _ = small_graph()
    assert verify(g) is g
    assert not has_cycle(g)


def test_dangling_value_names_the_node():
    g, (x, e, r, s) = small_graph()
    broken = Graph([n for n in g.nodes if n is not e.node], g.inputs, g.params, g.outputs)
    with pytest.raises(VerifyError, match=r"operand 0 of `%1 = relu\(\?\) : f32\[2,3\]` is "
                                          r"dangling"):
        verify(broken)


def test_recorded_type_mismatch_names_the_node_line():
    b = Builder()
    x = b.input(f32(2, 3), "x")
    bad = Node("relu", (x,), Attrs({}), [f32(3, 2)])
    g = Graph([x.node, bad], [x], [], [bad.outputs[0]])
    with pytest.raises(VerifyError, match=r"`%1 = relu\(%0\) : f32\[3,2\]` records types "
                                          r"\[f32\[3,2\]\] but its shape rule gives \[f32\[2,3\]\]"):
        verify(g)


def test_dtype_mismatch_names_the_node_line():
    b = Builder()
    x = b.input(f32(2), "x")
    i = b.input(TensorType((2,), int32), "i")
    bad = Node("add", (x, i), Attrs({}), [f32(2)])
    g = Graph([x.node, i.node, bad], [x, i], [], [bad.outputs[0]])
    with pytest.raises(VerifyError, match=r"`%2 = add\(%0, %1\) : f32\[2\]` is invalid: "
                                          r"add: operands must have one dtype, got float32, int32"):
        verify(g)


def test_out_of_order_nodes_are_reported_as_a_possible_cycle():
    g, (x, e, r, s) = small_graph()
    nodes = list(g.nodes)
    i, j = nodes.index(e.node), nodes.index(r.node)
    nodes[i], nodes[j] = nodes[j], nodes[i]
    with pytest.raises(VerifyError, match=r"operand 0 of `%1 = relu\(%2\) : f32\[2,3\]` is "
                                          r"used before it is defined.*cycle"):
        verify(Graph(nodes, g.inputs, g.params, g.outputs))


def test_a_real_cycle_is_detected():
    g, (x, e, r, s) = small_graph()
    e.node.inputs = (r,)                # exp reads relu, which reads exp: a cycle
    assert has_cycle(g)
    with pytest.raises(VerifyError, match=r"operand 0 of `%1 = exp\(%2\) : f32\[2,3\]` is "
                                          r"used before it is defined"):
        verify(g)


def test_outputs_inputs_and_updates_must_belong_to_the_graph():
    g, (x, e, r, s) = small_graph()
    stranger = Builder().input(f32(2, 3), "y")
    with pytest.raises(VerifyError, match="graph output .* is not produced"):
        verify(Graph(g.nodes, g.inputs, [], [stranger]))
    with pytest.raises(VerifyError, match="graph input .* is not an `input` node"):
        verify(Graph(g.nodes, [e], [], g.outputs))
    b = Builder()
    w = b.param(f32(2), "w")
    v = b.input(f32(3), "v")
    g2 = Graph([w.node, v.node], [v], [w], [v], updates=[(w, v)])
    with pytest.raises(VerifyError, match="update of param 'w' has type f32\\[3\\], expected f32\\[2\\]"):
        verify(g2)
