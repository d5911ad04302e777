"""Recurrent layers and wrappers against the numpy reference in rnn_reference.py: every layer,
returnSequences / returnState / goBackwards / initial states, masks, stateful carry-over
across predict calls, bidirectional merge modes, timeDistributed, stacked and custom cells,
dropout, gradients, and errors."""
import asyncio

import numpy as np
import pytest

import kiln as tf
from tests.frontend.layers import rnn_reference as ref

L = tf.layers
RTOL, ATOL = 2e-5, 2e-6


def data(*shape, seed=0, scale=1.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def weights_of(layer):
    return [w.read().dataSync().reshape(w.shape).astype(np.float64) for w in layer.weights]


def close(got, want, rtol=RTOL, atol=ATOL):
    got = got.dataSync().reshape(np.shape(want)) if hasattr(got, "dataSync") else got
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


CELLS = {
    "simpleRNN": (L.simpleRNN, lambda w, o: ref.simple_rnn_cell(w, o.get("activation", "tanh"))),
    "lstm": (L.lstm, lambda w, o: ref.lstm_cell(w, o.get("activation", "tanh"),
                                                o.get("recurrentActivation", "hardSigmoid"))),
    "gru": (L.gru, lambda w, o: ref.gru_cell(w, o.get("activation", "tanh"),
                                             o.get("recurrentActivation", "hardSigmoid"),
                                             o.get("resetAfter", False))),
}


def reference_cell(kind, layer, options):
    return CELLS[kind][1](weights_of(layer), options)


# ---- each layer, each option ------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("options", [
    {},
    {"returnSequences": True},
    {"goBackwards": True, "returnSequences": True},
    {"returnState": True, "activation": "relu", "useBias": False},
])
def test_layer_matches_reference(kind, options):
    x = data(3, 6, 4)
    layer = CELLS[kind][0]({"units": 5, **options})
    out = layer.apply(tf.tensor(x))
    last, seq, states = ref.run(reference_cell(kind, layer, options), x,
                                go_backwards=options.get("goBackwards", False))
    want = seq if options.get("returnSequences") else last
    if options.get("returnState"):
        assert isinstance(out, list) and len(out) == 1 + len(states)
        close(out[0], want)
        for got, state in zip(out[1:], states):
            close(got, state)
    else:
        close(out, want)


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_reset_after_both_ways(reset_after):
    x = data(2, 5, 3, seed=1)
    layer = L.gru({"units": 4, "resetAfter": reset_after, "returnSequences": True,
                   "biasInitializer": "randomNormal"})
    out = layer.apply(tf.tensor(x))
    assert layer.weights[2].shape == ([2, 12] if reset_after else [12])
    assert layer.getConfig()["resetAfter"] is reset_after
    _, seq, _ = ref.run(ref.gru_cell(weights_of(layer), reset_after=reset_after), x)
    close(out, seq)


def test_lstm_unit_forget_bias_and_defaults():
    layer = L.lstm({"units": 3, "unitForgetBias": True})
    layer.apply(tf.zeros([1, 2, 2]))
    bias = weights_of(layer)[2]
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    config = layer.getConfig()
    assert config["recurrentActivation"] == "hardSigmoid"
    assert config["kernelInitializer"]["className"] == "VarianceScaling"
    assert config["recurrentInitializer"]["className"] == "Orthogonal"
    recurrent = weights_of(layer)[1]                 # orthogonal: rows orthonormal
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)


def test_initial_state_as_kwarg_and_as_inputs():
    x, h0, c0 = data(2, 4, 3), data(2, 5, seed=2), data(2, 5, seed=3)
    layer = L.lstm({"units": 5})
    by_kwarg = layer.apply(tf.tensor(x), {"initialState": [tf.tensor(h0), tf.tensor(c0)]})
    by_inputs = layer.apply([tf.tensor(x), tf.tensor(h0), tf.tensor(c0)])
    last, _, _ = ref.run(reference_cell("lstm", layer, {}), x, initial=[h0, c0])
    close(by_kwarg, last)
    close(by_inputs, last)


def test_symbolic_shapes():
    x = tf.input({"shape": [7, 3]})
    seq, h, c = L.lstm({"units": 4, "returnSequences": True, "returnState": True}).apply(x)
    assert seq.shape == [None, 7, 4] and h.shape == [None, 4] and c.shape == [None, 4]
    y = L.bidirectional({"layer": L.gru({"units": 2}), "mergeMode": None}).apply(x)
    assert [t.shape for t in y] == [[None, 2], [None, 2]]
    z = L.timeDistributed({"layer": L.dense({"units": 6})}).apply(x)
    assert z.shape == [None, 7, 6]


# ---- masks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_steps_carry_the_state(kind, go_backwards):
    """Zero-padded sequences behind tf.layers.masking; the outputs of masked steps repeat the
    previous output, the final state is the last unmasked step's."""
    x = data(3, 5, 2, seed=4)
    lengths = [5, 3, 1]
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 0.0
    inputs = tf.input({"shape": [5, 2]})
    rnn = CELLS[kind][0]({"units": 3, "returnSequences": True, "returnState": True,
                          "goBackwards": go_backwards})
    outputs = rnn.apply(L.masking({"maskValue": 0}).apply(inputs))
    model = tf.model({"inputs": inputs, "outputs": outputs})
    got = model.predict(tf.tensor(x))
    _, seq, states = ref.run(reference_cell(kind, rnn, {}), x, mask=mask, go_backwards=go_backwards)
    close(got[0], seq)
    for g, s in zip(got[1:], states):
        close(g, s)


def test_zero_output_for_mask():
    """Keras's option (set in the bidirectional layers Keras saves): masked steps of the
    returned sequence are zeros; states still carry through."""
    x = data(2, 4, 3, seed=22)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], bool)
    layer = L.gru({"units": 2, "returnSequences": True, "zeroOutputForMask": True})
    got = layer.apply(tf.tensor(x), {"mask": tf.tensor(mask)})
    _, seq, _ = ref.run(reference_cell("gru", layer, {}), x, mask=mask)
    close(got, np.where(mask[:, :, None], seq, 0.0))
    assert layer.getConfig()["zeroOutputForMask"] is True
    assert "zeroOutputForMask" not in L.gru({"units": 2}).getConfig()     # as TF.js writes


def test_eager_apply_with_a_mask_argument():
    """A mask passed to apply() on concrete tensors is an input of the compiled call: a
    second mask of the same shape gives its own result."""
    x = data(2, 4, 3, seed=21)
    layer = L.simpleRNN({"units": 2})
    masks = [np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool),
             np.array([[1, 0, 0, 0], [1, 1, 1, 0]], bool)]
    for mask in masks:
        got = layer.apply(tf.tensor(x), {"mask": tf.tensor(mask)})
        cell = reference_cell("simpleRNN", layer, {})
        close(got, ref.run(cell, x, mask=mask)[0])


def test_mask_from_embedding_flows_through_bidirectional_and_stacked_layers():
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 0, 0, 0]], np.int32)
    model = tf.sequential({"layers": [
        L.embedding({"inputDim": 8, "outputDim": 3, "maskZero": True, "inputLength": 5}),
        L.bidirectional({"layer": L.simpleRNN({"units": 2, "returnSequences": True}),
                         "mergeMode": "sum"}),
        L.lstm({"units": 2})]})
    got = model.predict(tf.tensor(tokens, None, "int32"))
    table = weights_of(model.layers[0])[0]
    x = table[tokens]
    mask = tokens != 0
    bidi = model.layers[1]
    _, forward, _ = ref.run(ref.simple_rnn_cell(weights_of(bidi.forwardLayer)), x, mask=mask)
    _, backward, _ = ref.run(ref.simple_rnn_cell(weights_of(bidi.backwardLayer)), x, mask=mask,
                             go_backwards=True)
    merged = forward + backward[:, ::-1]
    last, _, _ = ref.run(reference_cell("lstm", model.layers[2], {}), merged, mask=mask)
    close(got, last)


# ---- stateful --------------------------------------------------------------------------------
def test_stateful_carries_state_across_predict_calls_until_reset():
    x1, x2 = data(2, 3, 4, seed=5), data(2, 3, 4, seed=6)
    model = tf.sequential({"layers": [
        L.gru({"units": 3, "stateful": True, "batchInputShape": [2, 3, 4]})]})
    cell = reference_cell("gru", model.layers[0], {})
    first = model.predict(tf.tensor(x1))
    second = model.predict(tf.tensor(x2))
    last1, _, states = ref.run(cell, x1)
    last2, _, _ = ref.run(cell, x2, initial=states)
    close(first, last1)
    close(second, last2)
    close(model.layers[0].states[0], last2)
    assert model.stateful
    model.resetStates()
    close(model.predict(tf.tensor(x2)), ref.run(cell, x2)[0])
    model.layers[0].resetStates([tf.tensor(states[0])])
    close(model.predict(tf.tensor(x2)), last2)


def test_stateful_needs_a_batch_size():
    layer = L.lstm({"units": 2, "stateful": True})
    with pytest.raises(ValueError, match="it needs to know its batch size"):
        layer.apply(tf.input({"shape": [3, 2]}))
    with pytest.raises(AttributeError, match="not stateful"):
        L.lstm({"units": 2}).resetStates()


# ---- wrappers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(mode):
    x = data(2, 4, 3, seed=7)
    layer = L.bidirectional({"layer": L.lstm({"units": 3, "returnSequences": True}),
                             "mergeMode": mode})
    out = layer.apply(tf.tensor(x))
    assert [w.originalName.split("/")[1] for w in layer.weights[:1]] == \
        [layer.forwardLayer.name]
    _, forward, _ = ref.run(reference_cell("lstm", layer.forwardLayer, {}), x)
    _, backward, _ = ref.run(reference_cell("lstm", layer.backwardLayer, {}), x,
                             go_backwards=True)
    want = ref.merge(mode, forward, backward[:, ::-1])
    if mode is None:
        close(out[0], want[0])
        close(out[1], want[1])
    else:
        close(out, want)


def test_bidirectional_return_state_and_initial_state():
    x = data(2, 4, 3, seed=8)
    h = [data(2, 2, seed=s) for s in (9, 10, 11, 12)]
    layer = L.bidirectional({"layer": L.lstm({"units": 2, "returnState": True})})
    out = layer.apply(tf.tensor(x), {"initialState": [tf.tensor(v) for v in h]})
    assert len(out) == 5
    f_last, _, f_states = ref.run(reference_cell("lstm", layer.forwardLayer, {}), x,
                                  initial=h[:2])
    b_last, _, b_states = ref.run(reference_cell("lstm", layer.backwardLayer, {}), x,
                                  initial=h[2:], go_backwards=True)
    close(out[0], np.concatenate([f_last, b_last], -1))
    for got, want in zip(out[1:], f_states + b_states):
        close(got, want)


def test_time_distributed_dense_and_weight_names():
    x = data(2, 5, 3, seed=13)
    layer = L.timeDistributed({"layer": L.dense({"units": 4, "activation": "relu"})})
    out = layer.apply(tf.tensor(x))
    kernel, bias = weights_of(layer)
    close(out, np.maximum(x @ kernel + bias, 0))
    assert [w.originalName for w in layer.weights] == [f"{layer.name}/kernel",
                                                       f"{layer.name}/bias"]


# ---- cells ---------------------------------------------------------------------------------------
def test_stacked_cells_and_cell_call():
    x = data(3, 4, 2, seed=14)
    cells = [L.simpleRNNCell({"units": 3}), L.gruCell({"units": 4}), L.lstmCell({"units": 2})]
    layer = L.rnn({"cell": cells, "returnState": True})
    out = layer.apply(tf.tensor(x))
    assert [w.originalName for w in layer.weights[:4]] == [
        f"{layer.name}/RNNCell_0/kernel", f"{layer.name}/RNNCell_0/recurrent_kernel",
        f"{layer.name}/RNNCell_0/bias", f"{layer.name}/RNNCell_1/kernel"]
    reference = ref.stacked([ref.simple_rnn_cell(weights_of(cells[0])),
                             ref.gru_cell(weights_of(cells[1])),
                             ref.lstm_cell(weights_of(cells[2]))])
    last, _, states = ref.run(reference, x)
    assert len(out) == 1 + 4 and layer.stateSizes == [2, 2, 4, 3]
    close(out[0], last)
    for got, want in zip(out[1:], states):
        close(got, want)
    # one step of a cell, called directly as TF.js does
    v, h0, c0 = data(3, 4, seed=18), data(3, 2, seed=19), data(3, 2, seed=20)
    step = cells[2].call([tf.tensor(v), tf.tensor(h0), tf.tensor(c0)], {})
    h, (_, c) = ref.lstm_cell(weights_of(cells[2]))[0](v.astype(np.float64), [h0, c0])
    close(step[0], h)
    close(step[2], c)


class RunningMean(tf.layers.Layer):
    """A custom cell whose output is not its state: the mean of the inputs so far."""
    className = "RunningMean"

    def __init__(self):
        super().__init__({})
        self.stateSize = [2, 1]

    def call(self, inputs, kwargs):
        x, total, count = inputs
        total = tf.add(total, x)
        count = tf.add(count, 1.0)
        return [tf.mul(tf.div(total, count), 10.0), total, count]


def test_custom_cell_with_output_other_than_its_state():
    x = data(2, 3, 2, seed=15)
    layer = L.rnn({"cell": RunningMean(), "returnSequences": True, "returnState": True})
    seq, total, count = layer.apply(tf.tensor(x))
    means = np.cumsum(x, 1) / np.arange(1, 4)[None, :, None] * 10
    close(seq, means)
    close(total, x.sum(1))
    close(count, np.full((2, 1), 3.0))


# ---- dropout ------------------------------------------------------------------------------------
def test_dropout_masks_are_fixed_across_time_and_only_in_training():
    """kernel = identity, recurrent kernel = 0, linear: each step outputs x_t * mask."""
    layer = L.simpleRNN({"units": 6, "activation": "linear", "dropout": 0.5,
                         "returnSequences": True, "kernelInitializer": "identity",
                         "recurrentInitializer": "zeros"})
    x = np.ones((4, 5, 6), np.float32)
    inference = layer.apply(tf.tensor(x)).dataSync().reshape(4, 5, 6)
    np.testing.assert_allclose(inference, x)
    inputs = tf.input({"shape": [5, 6]})
    model = tf.model({"inputs": inputs, "outputs": layer.apply(inputs)})
    trained = model.execute(tf.tensor(x), model.outputs[0].name) if False else None
    del trained
    fn = model._compiled_forward([x], training=True)
    out = fn.run([x])[0]
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))


def test_recurrent_dropout_mask_is_fixed_across_time():
    """kernel = recurrent kernel = identity, linear, x = 1: h_t = 1 + m * h_{t-1} per unit,
    with m in {0, 2} the same at every step."""
    layer = L.simpleRNN({"units": 5, "activation": "linear", "recurrentDropout": 0.5,
                         "returnSequences": True, "kernelInitializer": "identity",
                         "recurrentInitializer": "identity", "useBias": False})
    inputs = tf.input({"shape": [4, 5]})
    model = tf.model({"inputs": inputs, "outputs": layer.apply(inputs)})
    x = np.ones((6, 4, 5), np.float32)
    out = model._compiled_forward([x], training=True).run([x])[0]
    kept = np.array([1.0, 3.0, 7.0, 15.0])
    for row in out.transpose(0, 2, 1).reshape(-1, 4):
        assert np.allclose(row, 1.0) or np.allclose(row, kept)


# ---- gradients ---------------------------------------------------------------------------------
def test_gradient_through_an_lstm_matches_finite_differences():
    x = data(2, 3, 2, seed=16, scale=0.5)
    layer = L.lstm({"units": 3, "returnSequences": True, "recurrentActivation": "sigmoid"})
    layer.apply(tf.tensor(x))
    cell = reference_cell("lstm", layer, {"recurrentActivation": "sigmoid"})
    w = data(2, 3, 3, seed=17)
    grad = tf.grad(lambda v: tf.sum(tf.mul(layer.apply(v), tf.tensor(w))))(tf.tensor(x))

    def loss(values):
        return float((ref.run(cell, values)[1] * w).sum())
    numeric = np.zeros(x.shape)
    h = 1e-5
    base = x.astype(np.float64)
    for idx in np.ndindex(x.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (loss(plus) - loss(minus)) / (2 * h)
    close(grad, numeric, rtol=1e-3, atol=1e-4)


# ---- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda: L.lstm({"units": 0}), "units must be a positive integer"),
    (lambda: L.lstm({"units": 2, "return_sequences": True}), "did you mean 'returnSequences'"),
    (lambda: L.gru({"units": 2, "recurrentActivation": "hardsigmoid"}), "unknown activation"),
    (lambda: L.bidirectional({"layer": L.lstm({"units": 2}), "mergeMode": "max"}),
     "mergeMode must be one of"),
    (lambda: L.rnn({"cell": 3}), "must be an RNN cell"),
])
def test_bad_options(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.lstm({"units": 2}).apply(tf.input({"shape": [3]}))
    x = tf.input({"shape": [4, 3]})
    with pytest.raises(ValueError, match="has 2 state\\(s\\) but was passed 1"):
        L.lstm({"units": 2}).apply(x, {"initialState": [tf.input({"shape": [2]})]})


# ---- model files -------------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    model = tf.sequential({"layers": [
        L.timeDistributed({"layer": L.dense({"units": 3}), "inputShape": [5, 2]}),
        L.bidirectional({"layer": L.gru({"units": 2, "returnSequences": True,
                                         "resetAfter": True})}),
        L.rnn({"cell": [L.lstmCell({"units": 3}), L.simpleRNNCell({"units": 2})]}),
        L.dense({"units": 1})]})
    x = tf.tensor(data(4, 5, 2, seed=23))
    before = model.predict(x).dataSync()
    asyncio.run(model.save(f"file://{tmp_path}"))
    loaded = asyncio.run(tf.loadLayersModel(f"file://{tmp_path}/model.json"))
    np.testing.assert_array_equal(loaded.predict(x).dataSync(), before)
    assert [w.originalName for w in loaded.weights] == [w.originalName for w in model.weights]


def test_dispose_frees_cell_weights_and_states(steady_memory):
    layer = L.lstm({"units": 2, "stateful": True, "batchInputShape": [1, 3, 2]})
    model = tf.sequential({"layers": [layer]})
    model.predict(tf.zeros([1, 3, 2]))
    before = tf.memory()["numTensors"]
    assert model.dispose()["numDisposedVariables"] == 3
    assert tf.memory()["numTensors"] == before - 5        # 3 weights and 2 states
