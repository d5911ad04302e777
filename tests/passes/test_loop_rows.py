"""Row-split loops: a loop whose batch rows are independent runs as one task per thread over a
block of rows (passes/loop_rows.py). Which bodies qualify, and the results with tasks."""
import numpy as np

import kiln.ir as ir
from kiln.ir.ops.control import Body
from kiln.passes import compile_plan
from kiln.passes import loop_rows
from kiln.passes.loop_rows import sink_projections, split_rows
from kiln.runtime.executable import compile_graph
from tests import reference

F32 = ir.float32


def T(*shape):
    return ir.TensorType(shape, F32)


def gated_body(batch=8, units=4, features=3, row_mask=True):
    """h' = h * m + (1 - z) * tanh(x W + (h * mask) U)   with z = sigmoid(x W)[..., :1];
    `mask` is a per-row invariant (a recurrent dropout mask), W and U shared."""
    b = ir.Builder("body")
    h = b.input(T(batch, units), "h")
    x = b.input(T(batch, features), "x")
    w = b.input(T(features, units), "W")
    u = b.input(T(units, units), "U")
    mask = b.input(T(batch, units), "mask")
    xw = b.matMul(x, w)
    z = b.sigmoid(b.slice(xw, begin=(0, 0), end=(batch, 1), strides=(1, 1)))
    dropped = b.mul(h, mask) if row_mask else h
    candidate = b.tanh(b.add(xw, b.matMul(dropped, u)))
    h_new = b.add(b.mul(h, z), b.mul(b.sub(b.constant(1.0), z), candidate))
    return b.finish([h_new, b.reshape(h_new, shape=(batch, 2, units // 2))])


def loop_graph(body, batch=8, steps=5):
    b = ir.Builder()
    values = [b.input(T(batch, 4), "h0"), b.input(T(steps, batch, 3), "xs"),
              b.input(T(3, 4), "W"), b.input(T(4, 4), "U"), b.input(T(batch, 4), "mask")]
    outs = b.loop(*values, body=Body(body), steps=steps, carries=1, sequences=1)
    return b.finish(list(outs))


def test_split_body_is_retyped_for_its_rows_and_knows_its_row_data():
    body = gated_body()
    split, row_invariants = split_rows(body, 1, 1, 8, 4)
    assert [v.shape for v in split.inputs] == [(4, 4), (4, 3), (3, 4), (4, 4), (4, 4)]
    assert [v.shape for v in split.outputs] == [(4, 4), (4, 2, 2)]
    assert row_invariants == {2}            # the mask (invariant 2); W and U are shared
    ir.verify(split)


def test_bodies_that_mix_rows_are_not_split():
    b = ir.Builder("mixes")
    h = b.input(T(8, 4))
    mixed = b.add(h, b.sum(h, axes=(0,), keepDims=True))      # every row reads all rows
    assert split_rows(b.finish([mixed]), 1, 0, 8, 4) is None
    b = ir.Builder("transposed")
    h = b.input(T(8, 8))
    assert split_rows(b.finish([b.matMul(h, h)]), 1, 0, 8, 4) is None


def test_plan_splits_loops_by_thread_count(monkeypatch):
    monkeypatch.setattr(loop_rows, "MIN_MACS", 0)       # the test's loop is tiny
    g = loop_graph(gated_body())
    (one,) = [k for k in compile_plan(g, threads=1).kernels if k.kind == "loop"]
    (two,) = [k for k in compile_plan(g, threads=2).kernels if k.kind == "loop"]
    assert one.row_tasks == 1 and two.row_tasks == 2
    assert two.subplan.graph.inputs[0].shape == (4, 4)


def test_split_loop_results(monkeypatch):
    monkeypatch.setattr(loop_rows, "MIN_MACS", 0)
    g = loop_graph(gated_body())
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(v.shape).astype(np.float32) for v in g.inputs]
    arrays[-1] = (rng.random((8, 4)) > 0.5).astype(np.float32) * 2.0
    want = reference.evaluate(g, arrays)
    for threads in (1, 2, 4):
        got = compile_graph(g, threads=threads).run(arrays)
        for a, w in zip(got, want):
            np.testing.assert_allclose(a, w, rtol=1e-5, atol=1e-5, err_msg=f"{threads} threads")


def test_small_loops_stay_on_one_thread():
    g = loop_graph(gated_body())
    (kernel,) = [k for k in compile_plan(g, threads=2).kernels if k.kind == "loop"]
    assert kernel.row_tasks == 1


def test_row_split_layers_match_the_reference(monkeypatch):
    """Masked and stateful recurrent layers run as two row tasks give the reference's numbers."""
    import kiln as tf
    from tests.frontend.layers import rnn_reference as ref

    monkeypatch.setattr(loop_rows, "MIN_MACS", 0)
    monkeypatch.setenv("KILN_NUM_THREADS", "2")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    mask = np.arange(5)[None, :] < rng.integers(1, 6, 8)[:, None]
    x[~mask] = 0.0
    lstm = tf.layers.lstm({"units": 4, "returnSequences": True, "stateful": True,
                           "batchInputShape": [8, 5, 3]})
    model = tf.sequential({"layers": [tf.layers.masking({"batchInputShape": [8, 5, 3]}), lstm]})
    fn = model._compiled_forward([x])
    (loop,) = [k for k in fn.executable.plan.kernels if k.kind == "loop"]
    assert loop.row_tasks == 2
    weights = [w.read().dataSync().reshape(w.shape).astype(np.float64) for w in lstm.weights]
    cell = ref.lstm_cell(weights)
    _, first, states = ref.run(cell, x, mask=mask)
    _, second, _ = ref.run(cell, x, initial=states, mask=mask)
    for want in (first, second):
        got = model.predict(tf.tensor(x)).dataSync().reshape(want.shape)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_row_tasks_compute_their_input_projection_in_the_loop(monkeypatch):
    """W6's LSTM on two threads: x_t @ kernel + bias moves into the row-split loop body."""
    import kiln as tf

    monkeypatch.setenv("KILN_NUM_THREADS", "2")
    model = tf.sequential({"layers": [tf.layers.lstm({"units": 64, "inputShape": [32, 16]})]})
    kernels = tf.inspect(model, format="json", batch=32)["kernels"]
    (loop,) = [k for k in kernels if k["kind"] == "loop"]
    assert [k["kind"] for k in loop["body"]] == ["matmul", "matmul", "pointwise"]
    assert loop["body"][0]["type"] == "f32[16,256]"         # one task's 16 rows
    assert [k["kind"] for k in kernels].count("matmul") == 0


def test_one_thread_keeps_the_projection_hoisted():
    g = loop_graph(gated_body())
    assert sink_projections(g, 1) is g
