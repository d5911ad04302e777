"""Recurrent models against the numbers TensorFlow.js 4.22 (tests/fixtures/tfjs/rnn_*) and Keras
(tests/fixtures/keras: GRU with resetAfter, which TF.js rejects) predicted.

Each architecture is rebuilt by hand from its model.json, with the fixture's layer names, so
the weights of weights.bin are matched by name (which also checks that kiln names every weight
as TF.js does: cells under their layer, bidirectional's forward_/backward_ copies, stacked
cells' RNNCell_<i>, wrapped layers under their wrapper)."""
import json
import pathlib
import re

import numpy as np
import pytest

import kiln as tf

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"


def read_weights(folder: pathlib.Path) -> dict:
    manifest = json.loads((folder / "model.json").read_text())["weightsManifest"]
    arrays = {}
    for group in manifest:
        raw = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            arrays[spec["name"]] = np.frombuffer(raw, "<f4", count, offset).reshape(spec["shape"])
            offset += 4 * count
    return arrays


def set_fixture_weights(model, folder):
    """Every model weight gets the manifest entry of its name (TF >= 2.2 writes
    'lstm/lstm_cell/kernel' for 'lstm/kernel': retried without the cell's path element)."""
    stored = read_weights(folder)
    shortened = {}
    for name, value in stored.items():
        parts = name.split("/")
        if len(parts) >= 3:
            shortened["/".join(parts[:-2] + parts[-1:])] = value
    values = []
    for w in model.weights:
        value = stored.get(w.originalName, shortened.get(w.originalName))
        assert value is not None, f"no stored weight for {w.originalName}; have {sorted(stored)}"
        values.append(value)
    assert len(values) == len(stored)
    model.setWeights([tf.tensor(v) for v in values])


def check_predictions(model, folder, rtol=1e-5, atol=2e-6):
    io = json.loads((folder / "io.json").read_text())
    inputs = [np.array(x["data"], x["dtype"]).reshape(x["shape"]) for x in io["inputs"]]
    out = model.predict(tf.tensor(inputs[0]) if len(inputs) == 1 else
                        [tf.tensor(x) for x in inputs])
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == len(io["outputs"])
    for i, (got, want) in enumerate(zip(outs, io["outputs"])):
        expected = np.array(want["data"], np.float32).reshape(want["shape"])
        np.testing.assert_allclose(got.dataSync().reshape(expected.shape), expected, rtol=rtol,
                                   atol=atol, err_msg=f"output {i}")


def tfjs_case(name, build):
    folder = FIXTURES / "tfjs" / name
    model = build()
    set_fixture_weights(model, folder)
    check_predictions(model, folder)
    return model


L = tf.layers


def test_simple_rnn():
    tfjs_case("rnn_simple", lambda: tf.sequential({"layers": [
        L.simpleRNN({"name": "simple_rnn_SimpleRNN1", "units": 4, "returnSequences": True,
                     "inputShape": [5, 3]}),
        L.simpleRNN({"name": "simple_rnn_SimpleRNN2", "units": 3, "activation": "relu",
                     "goBackwards": True}),
        L.dense({"name": "dense_Dense1", "units": 2})]}))


def test_lstm():
    tfjs_case("rnn_lstm", lambda: tf.sequential({"layers": [
        L.lstm({"name": "lstm_LSTM1", "units": 4, "returnSequences": True, "inputShape": [5, 3]}),
        L.lstm({"name": "lstm_LSTM2", "units": 3, "unitForgetBias": True, "goBackwards": True}),
        L.dense({"name": "dense_Dense1", "units": 2})]}))


def test_lstm_sequences_with_other_activations():
    tfjs_case("rnn_lstm_sequences", lambda: tf.sequential({"layers": [
        L.lstm({"name": "lstm_LSTM1", "units": 3, "activation": "relu",
                "recurrentActivation": "sigmoid", "returnSequences": True,
                "inputShape": [4, 2]})]}))


def test_gru():
    tfjs_case("rnn_gru", lambda: tf.sequential({"layers": [
        L.gru({"name": "gru_GRU1", "units": 4, "returnSequences": True, "goBackwards": True,
               "inputShape": [5, 3]}),
        L.gru({"name": "gru_GRU2", "units": 3}),
        L.dense({"name": "dense_Dense1", "units": 2})]}))


def test_masking_carries_states_through_masked_steps():
    tfjs_case("rnn_masking", lambda: tf.sequential({"layers": [
        L.masking({"name": "masking_Masking1", "maskValue": 0, "inputShape": [6, 3]}),
        L.lstm({"name": "lstm_LSTM1", "units": 4, "returnSequences": True}),
        L.simpleRNN({"name": "simple_rnn_SimpleRNN1", "units": 3})]}))


def test_embedding_mask_zero():
    tfjs_case("embedding_mask_lstm", lambda: tf.sequential({"layers": [
        L.embedding({"name": "embedding_Embedding1", "inputDim": 12, "outputDim": 4,
                     "maskZero": True, "inputLength": 7, "dtype": "int32"}),
        L.lstm({"name": "lstm_LSTM1", "units": 3}),
        L.dense({"name": "dense_Dense1", "units": 2, "activation": "softmax"})]}))


def test_return_state_and_initial_state():
    def build():
        seq = tf.input({"shape": [4, 3], "name": "seq"})
        outputs = L.lstm({"name": "lstm_LSTM1", "units": 3, "returnSequences": True,
                          "returnState": True}).apply(seq)
        sequences, h, c = outputs
        gru = L.gru({"name": "gru_GRU1", "units": 3}).apply(sequences, {"initialState": [h]})
        return tf.model({"inputs": seq, "outputs": [sequences, h, c, gru]})
    tfjs_case("rnn_return_state", build)


def test_stacked_cells():
    tfjs_case("rnn_stacked_cells", lambda: tf.sequential({"layers": [
        L.rnn({"name": "rnn_RNN1", "inputShape": [5, 3], "cell": [
            L.simpleRNNCell({"units": 4}), L.lstmCell({"units": 3}), L.gruCell({"units": 2})]}),
        L.dense({"name": "dense_Dense1", "units": 2})]}))


def test_bidirectional_merge_modes():
    tfjs_case("rnn_bidirectional", lambda: tf.sequential({"layers": [
        L.bidirectional({"name": "bidirectional_Bidirectional1", "inputShape": [5, 3],
                         "mergeMode": "concat", "layer": L.lstm({
                             "name": "lstm_LSTM1", "units": 3, "returnSequences": True})}),
        L.bidirectional({"name": "bidirectional_Bidirectional2", "mergeMode": "sum",
                         "layer": L.gru({"name": "gru_GRU1", "units": 3,
                                         "returnSequences": True})}),
        L.bidirectional({"name": "bidirectional_Bidirectional3", "mergeMode": "mul",
                         "layer": L.simpleRNN({"name": "simple_rnn_SimpleRNN1", "units": 3,
                                               "returnSequences": True})}),
        L.bidirectional({"name": "bidirectional_Bidirectional4", "mergeMode": "ave",
                         "layer": L.lstm({"name": "lstm_LSTM2", "units": 2})}),
        L.dense({"name": "dense_Dense1", "units": 2})]}))


def test_time_distributed():
    tfjs_case("rnn_timedistributed", lambda: tf.sequential({"layers": [
        L.timeDistributed({"name": "time_distributed_TimeDistributed1", "inputShape": [5, 3],
                           "layer": L.dense({"units": 4, "activation": "relu"})}),
        L.gru({"name": "gru_GRU1", "units": 3, "returnSequences": True}),
        L.timeDistributed({"name": "time_distributed_TimeDistributed2",
                           "layer": L.dense({"units": 2})})]}))


def test_gru_reset_after_against_keras():
    """Keras's default GRU (resetAfter, bias [2, 3 * units]) that TF.js cannot build."""
    folder = FIXTURES / "keras" / "gru_reset_after"
    model = tf.sequential({"layers": [
        L.gru({"name": "gru", "units": 4, "resetAfter": True, "recurrentActivation": "sigmoid",
               "returnSequences": True, "inputShape": [5, 3]}),
        L.gru({"name": "gru_1", "units": 3, "resetAfter": True, "recurrentActivation": "sigmoid",
               "goBackwards": True}),
        L.dense({"name": "dense", "units": 2})]})
    assert model.layers[0].weights[2].shape == [2, 12]
    set_fixture_weights(model, folder)
    check_predictions(model, folder)


def test_keras_bidirectional_lstm_gru_stack():
    folder = FIXTURES / "keras" / "rnn"
    config = json.loads((folder / "model.json").read_text())["modelTopology"]["model_config"]
    gru_config = config["config"]["layers"][3]["config"]
    assert gru_config["reset_after"] is False and gru_config["units"] == 4
    model = tf.sequential({"layers": [
        L.bidirectional({"name": "bidirectional", "inputShape": [6, 4], "layer": L.lstm({
            "name": "lstm", "units": 4, "returnSequences": True, "recurrentActivation": "sigmoid",
            "unitForgetBias": True})}),
        L.lstm({"name": "lstm_1", "units": 5, "returnSequences": True,
                "recurrentActivation": "sigmoid"}),
        L.gru({"name": "gru", "units": 4, "recurrentActivation": "sigmoid"}),
        L.dense({"name": "dense", "units": 2})]})
    set_fixture_weights(model, folder)
    check_predictions(model, folder)


CONFIG_CASES = {
    "rnn_lstm": lambda: [
        L.lstm({"name": "lstm_LSTM1", "units": 4, "returnSequences": True, "inputShape": [5, 3]}),
        L.lstm({"name": "lstm_LSTM2", "units": 3, "unitForgetBias": True, "goBackwards": True})],
    "rnn_gru": lambda: [
        L.gru({"name": "gru_GRU1", "units": 4, "returnSequences": True, "goBackwards": True,
               "inputShape": [5, 3]}),
        L.gru({"name": "gru_GRU2", "units": 3})],
    "rnn_bidirectional": lambda: [
        L.bidirectional({"name": "bidirectional_Bidirectional1", "inputShape": [5, 3],
                         "layer": L.lstm({"name": "lstm_LSTM1", "units": 3,
                                          "returnSequences": True})})],
    "rnn_stacked_cells": lambda: [
        L.rnn({"name": "rnn_RNN1", "inputShape": [5, 3], "cell": [
            L.simpleRNNCell({"name": "simple_rnn_cell_SimpleRNNCell1", "units": 4}),
            L.lstmCell({"name": "lstm_cell_LSTMCell1", "units": 3}),
            L.gruCell({"name": "gru_cell_GRUCell1", "units": 2})]})],
}


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_layer_configs_match_tfjs(name):
    """getConfig: TF.js's keys, in its order, with its values (model.json is snake-cased)."""
    folder = FIXTURES / "tfjs" / name
    stored = json.loads((folder / "model.json").read_text())["modelTopology"]["config"]["layers"]
    model = tf.sequential({"layers": CONFIG_CASES[name]()})
    if name == "rnn_stacked_cells":
        # the StackedRNNCells the layer makes is auto-named: its number depends on the process
        model.layers[0].cell.name = "stacked_rnn_cells_StackedRNNCells1"
    for layer, want in zip(model.layers, stored):
        assert layer.getClassName() == want["class_name"]
        assert pythonic(layer.getConfig()) == want["config"]


def pythonic(value, key=None):
    """TF.js's convertTsToPythonic: keys and string values snake_cased (names kept)."""
    if isinstance(value, dict):
        return {snake(k): pythonic(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [pythonic(v) for v in value]
    if isinstance(value, str) and key not in ("name", "className"):
        return snake(value)
    return value


def snake(name: str) -> str:
    s1 = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s1).lower()
