"""The `loop` op: shape rule, printer, verifier, compiled results against the numpy
interpreter (tests/reference.py runs the body step by step), unrolling, and gradients by
finite differences."""
import re

import numpy as np
import pytest

import kiln.ir as ir
from kiln.ir.graph import Attrs, Graph, Node
from kiln.ir.ops.control import Body
from kiln.passes import compile_plan
from kiln.runtime.executable import compile_graph
from tests import reference
from tests.ir.test_gradients import check_gradient

F32, I32 = ir.float32, ir.int32


def T(*shape, dtype=F32):
    return ir.TensorType(shape, dtype)


def rnn_body(batch=2, units=3, features=4):
    """h' = tanh(x @ W + h @ U); per-step output 2 h'."""
    b = ir.Builder("body")
    h = b.input(T(batch, units), "h")
    x = b.input(T(batch, features), "x")
    w = b.input(T(features, units), "W")
    u = b.input(T(units, units), "U")
    h_new = b.tanh(b.add(b.matMul(x, w), b.matMul(h, u)))
    return Body(b.finish([h_new, b.mul(h_new, b.constant(2.0))]))


def rnn_graph(steps=5, reverse=False, unroll=False):
    b = ir.Builder()
    h0 = b.input(T(2, 3), "h0")
    xs = b.input(T(steps, 2, 4), "xs")
    w = b.input(T(4, 3), "W")
    u = b.input(T(3, 3), "U")
    h, ys = b.loop(h0, xs, w, u, body=rnn_body(), steps=steps, carries=1, sequences=1,
                   reverse=reverse, unroll=unroll)
    return b.finish([h, ys])


def random_inputs(graph, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    result = []
    for v in graph.inputs:
        if v.dtype is F32:
            result.append(np.asarray(scale * rng.standard_normal(v.shape), np.float32))
        else:
            result.append(np.asarray(rng.integers(-3, 4, v.shape), np.int32))
    return result


def check_against_reference(graph, seed=0):
    ir.verify(graph)
    arrays = random_inputs(graph, seed)
    got = compile_graph(graph).run(arrays)
    want = reference.evaluate(graph, arrays)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")
    return got


# ---- shape rule ---------------------------------------------------------------------------
def test_result_types():
    g = rnn_graph()
    loop = next(n for n in g.nodes if n.op == "loop")
    assert [v.type for v in loop.outputs] == [T(2, 3), T(5, 2, 3)]


@pytest.mark.parametrize("change,message", [
    (lambda a: a.update(steps=4), "leading (time) axis must be 4"),
    (lambda a: a.update(carries=2), "body input 1 has type f32[2,4], but carry 1"),
    (lambda a: a.update(sequences=0), "body input 1 has type f32[2,4], but invariant 0"),
    (lambda a: a.update(steps=-1), "steps must be a non-negative integer"),
])
def test_shape_rule_names_the_mismatch(change, message):
    b = ir.Builder()
    values = [b.input(T(2, 3)), b.input(T(5, 2, 4)), b.input(T(4, 3)), b.input(T(3, 3))]
    attrs = dict(body=rnn_body(), steps=5, carries=1, sequences=1)
    change(attrs)
    with pytest.raises(ir.ShapeError, match=re.escape(message)):
        b.loop(*values, **attrs)


def test_carry_type_must_round_trip():
    bb = ir.Builder("body")
    h = bb.input(T(2, 3))
    body = Body(bb.finish([bb.sum(h, axes=(1,))]))
    b = ir.Builder()
    with pytest.raises(ir.ShapeError, match="returns f32\\[2\\] for carry 0"):
        b.loop(b.input(T(2, 3)), body=body, steps=3, carries=1)


def test_body_cannot_hold_params():
    bb = ir.Builder("body")
    h = bb.input(T(2))
    w = bb.param(T(2), "w")
    with pytest.raises(ir.ShapeError, match="cannot have params"):
        Body(bb.finish([bb.add(h, w)]))


def test_equal_bodies_intern_to_one_node():
    b = ir.Builder()
    values = [b.input(T(2, 3)), b.input(T(5, 2, 4)), b.input(T(4, 3)), b.input(T(3, 3))]
    first = b.loop(*values, body=rnn_body(), steps=5, carries=1, sequences=1)
    second = b.loop(*values, body=rnn_body(), steps=5, carries=1, sequences=1)
    assert first[0].node is second[0].node


# ---- printer and verifier -----------------------------------------------------------------
def test_printer_shows_the_body_indented():
    text = str(rnn_graph())
    assert ("%4, %5 = loop(%0, %1, %2, %3) {body={...}, carries=1, reverse=false, sequences=1, "
            "steps=5, unroll=false} : f32[2,3], f32[5,2,3]\n"
            "    %0 = input {name='h'} : f32[2,3]\n") in text
    assert "    return %7, %9\nreturn %4, %5" in text


def test_verifier_checks_the_body():
    bb = ir.Builder("body")
    c = bb.input(T(3))
    wrong = Node("sum", (c,), Attrs({"axes": (0,), "keepDims": False}), [T(3)])  # really f32[]
    body = Body(Graph([c.node, wrong], [c], [], [wrong.out]))
    b = ir.Builder()
    out = b.loop(b.input(T(3)), body=body, steps=2, carries=1)
    with pytest.raises(ir.VerifyError, match=re.escape(
            "in the body of `%1 = loop(%0) {body={...}, carries=1, reverse=false, sequences=0, "
            "steps=2, unroll=false} : f32[3]`: `%1 = sum(%0) {axes=[0], keepDims=false} : f32[3]`"
            " records types [f32[3]] but its shape rule gives [f32[]]")):
        ir.verify(b.finish([out]))


# ---- compiled results -----------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_rnn_loop_matches_reference(reverse):
    check_against_reference(rnn_graph(reverse=reverse))


def test_several_carries_counters_and_passthrough():
    """Carries of two dtypes, a carry passed through unchanged, an output that is an input,
    and one value returned twice."""
    bb = ir.Builder("body")
    total = bb.input(T(3))
    count = bb.input(T(dtype=I32))
    keep = bb.input(T(2, 2))
    x = bb.input(T(3))
    scale = bb.input(T())
    new_total = bb.add(total, bb.mul(x, scale))
    new_count = bb.add(count, bb.constant(1, I32))
    body = Body(bb.finish([new_total, new_count, keep, new_total, x, new_total]))
    b = ir.Builder()
    values = [b.input(T(3)), b.input(T(dtype=I32)), b.input(T(2, 2)), b.input(T(4, 3)),
              b.input(T())]
    outs = b.loop(*values, body=body, steps=4, carries=3, sequences=1, reverse=True)
    got = check_against_reference(b.finish(list(outs)))
    assert got[1] == random_inputs(b.finish(list(outs)))[1] + 4


@pytest.mark.parametrize("steps", [0, 1])
def test_degenerate_step_counts(steps):
    check_against_reference(rnn_graph(steps=steps))


def test_loop_without_sequences():
    """x <- x @ A + 1, ten times: only carries and invariants."""
    bb = ir.Builder("body")
    x = bb.input(T(3, 3))
    a = bb.input(T(3, 3))
    body = Body(bb.finish([bb.add(bb.matMul(x, a), bb.constant(1.0))]))
    b = ir.Builder()
    x0, a0 = b.input(T(3, 3)), b.input(T(3, 3))
    out = b.loop(x0, a0, body=body, steps=10, carries=1)
    check_against_reference(b.finish([out]), seed=3)


def test_nested_loop():
    """A loop whose body runs the RNN loop over a chunk of a longer sequence."""
    bb = ir.Builder("outer")
    h = bb.input(T(2, 3))
    chunk = bb.input(T(5, 2, 4))
    w, u = bb.input(T(4, 3)), bb.input(T(3, 3))
    h_new, ys = bb.loop(h, chunk, w, u, body=rnn_body(), steps=5, carries=1, sequences=1)
    body = Body(bb.finish([h_new, bb.sum(ys, axes=(0,))]))
    b = ir.Builder()
    values = [b.input(T(2, 3)), b.input(T(3, 5, 2, 4)), b.input(T(4, 3)), b.input(T(3, 3))]
    outs = b.loop(*values, body=body, steps=3, carries=1, sequences=1)
    check_against_reference(b.finish(list(outs)))


def test_loop_in_a_larger_graph_plans_its_body():
    plan = compile_plan(rnn_graph())
    (loop,) = [n for n in plan.graph.nodes if n.op == "loop"]
    (kernel,) = [k for k in plan.kernels if k.kind == "loop"]
    assert kernel.writes == list(loop.outputs)
    assert [k.kind for k in kernel.subplan.kernels] == ["matmul", "matmul", "pointwise"]


# ---- unrolling --------------------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_unrolled_loop_has_no_loop_kernel_and_same_results(reverse):
    g = rnn_graph(reverse=reverse, unroll=True)
    plan = compile_plan(g)
    assert all(k.kind != "loop" for k in plan.kernels)
    check_against_reference(g)


# ---- gradients --------------------------------------------------------------------------------
def _rnn_loss(reverse):
    def build(b, v):
        h, ys = b.loop(*v, body=rnn_body(), steps=5, carries=1, sequences=1, reverse=reverse)
        return b.add(b.sum(ys, axes=(0,)), b.mul(h, h))
    return build


@pytest.mark.parametrize("reverse", [False, True])
def test_gradient_by_finite_differences(reverse):
    rng = np.random.default_rng(1)
    arrays = [(0.5 * rng.standard_normal(s)).astype(np.float32)
              for s in [(2, 3), (5, 2, 4), (4, 3), (3, 3)]]
    check_gradient(_rnn_loss(reverse), arrays)


def test_gradient_through_only_the_final_carry_and_an_int_carry():
    """Per-step outputs unused, an int32 counter carried along (no gradient)."""
    bb = ir.Builder("body")
    h = bb.input(T(2))
    n = bb.input(T(dtype=I32))
    x = bb.input(T(2))
    w = bb.input(T(2))
    h_new = bb.sin(bb.add(bb.mul(h, w), x))
    body = Body(bb.finish([h_new, bb.add(n, bb.constant(1, I32)), bb.exp(h_new)]))

    def build(b, v):
        h_final, n_final, _ = b.loop(v[0], v[1], v[2], v[3], body=body, steps=4, carries=2,
                                     sequences=1)
        return b.mul(h_final, b.cast(n_final, dtype=F32))
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(2).astype(np.float32), np.array(0, np.int32),
              rng.standard_normal((4, 2)).astype(np.float32),
              rng.standard_normal(2).astype(np.float32)]
    check_gradient(build, arrays)


def test_gradient_runs_the_forward_loop_once():
    """The rule's saving forward loop replaces the original: one forward, one backward."""
    b = ir.Builder()
    values = [b.input(T(2, 3)), b.input(T(5, 2, 4)), b.input(T(4, 3)), b.input(T(3, 3))]
    loss = b.sum(_rnn_loss(False)(b, values), axes=(0, 1))
    grads = ir.grad_graph(b, [loss], values)
    plan = compile_plan(b.finish([loss] + grads))
    assert sum(k.kind == "loop" for k in plan.kernels) == 2


def test_unrolled_gradient():
    rng = np.random.default_rng(4)
    arrays = [(0.5 * rng.standard_normal(s)).astype(np.float32)
              for s in [(2, 3), (3, 2, 4), (4, 3), (3, 3)]]

    def build(b, v):
        h, ys = b.loop(*v, body=rnn_body(), steps=3, carries=1, sequences=1, unroll=True)
        return b.add(b.sum(ys, axes=(0,)), h)
    check_gradient(build, arrays)
