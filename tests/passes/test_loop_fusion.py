"""What the compiler makes of recurrent layers: the input projection is one matMul outside the
loop, and each step of the loop body is as few kernels as the math allows (read from the plan
tf.inspect reports). On one thread: with several, a loop that runs as row tasks takes its
projection back inside (tests/passes/test_loop_rows.py)."""
import pytest

import kiln as tf

L = tf.layers


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("KILN_NUM_THREADS", "1")


def plan(layer, shape=(32, 16), batch=32):
    model = tf.sequential({"layers": [layer(shape)]})
    kernels = tf.inspect(model, format="json", batch=batch)["kernels"]
    (loop,) = [k for k in kernels if k["kind"] == "loop"]
    return kernels, [k["kind"] for k in loop["body"]]


def test_lstm_step_is_one_matmul_and_one_elementwise_kernel():
    kernels, body = plan(lambda s: L.lstm({"units": 64, "inputShape": list(s)}))
    assert body == ["matmul", "pointwise"]
    # outside the loop: the time-major copy of x, then x @ kernel + bias for all steps at once
    projection = [k for k in kernels if k["kind"] == "matmul"]
    assert len(projection) == 1 and projection[0]["type"] == "f32[1024,256]"
    assert "add" in projection[0]["ops"]


def test_gru_steps():
    _, reset_after = plan(lambda s: L.gru({"units": 8, "resetAfter": True, "inputShape": list(s)}))
    assert reset_after == ["matmul", "pointwise"]
    # TF.js's GRU multiplies (r * h) by the candidate kernel: two matMuls per step, r * h and
    # the update gate z (read twice) in between, the update of h in the second's epilogue
    _, reset_before = plan(lambda s: L.gru({"units": 8, "inputShape": list(s)}))
    assert reset_before == ["matmul", "pointwise", "pointwise", "matmul"]


def test_simple_rnn_step_is_one_matmul_with_its_activation():
    _, body = plan(lambda s: L.simpleRNN({"units": 8, "inputShape": list(s)}))
    assert body == ["matmul"]


@pytest.mark.parametrize("return_sequences", [False, True])
def test_masked_lstm_step_stays_two_kernels(return_sequences):
    model = tf.sequential({"layers": [
        L.masking({"inputShape": [6, 3]}),
        L.lstm({"units": 4, "returnSequences": return_sequences})]})
    kernels = tf.inspect(model, format="json", batch=2)["kernels"]
    (loop,) = [k for k in kernels if k["kind"] == "loop"]
    assert [k["kind"] for k in loop["body"]] == ["matmul", "pointwise"]
