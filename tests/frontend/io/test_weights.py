"""Weight data: the binary layout, quantized weights (dequantized as TF.js does), and weight
names matched as TF.js (originalName, cell-name retry) and Keras 3 ('layers/dense/vars/0')."""
import asyncio

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io.weight_loading import keras3_layer_paths, load_weights
from kiln.frontend.io.weights import decode_weights, encode_weights, shard_names
from tests.frontend.io.models import mlp, shared_and_nested


def test_encode_then_decode_is_exact():
    named = [("a/kernel", np.arange(6, dtype=np.float32).reshape(2, 3)),
             ("b/count", np.array([7, -1], np.int32)), ("c/flag", np.array([True, False]))]
    specs, data = encode_weights(named, group="optimizer")
    assert specs[1] == {"name": "b/count", "shape": [2], "dtype": "int32", "group": "optimizer"}
    assert len(data) == 6 * 4 + 2 * 4 + 2
    assert data[:8] == np.array([0, 1], "<f4").tobytes()
    decoded = decode_weights(data, specs, "test")
    for (_, want), (_, got) in zip(named, decoded):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_uint8_and_uint16_dequantize_as_q_times_scale_plus_min():
    q8 = np.array([0, 1, 255, 128], np.uint8)
    q16 = np.array([0, 65535, 3], "<u2")
    specs = [{"name": "w8", "shape": [2, 2], "dtype": "float32",
              "quantization": {"dtype": "uint8", "scale": 0.1, "min": -1.0}},
             {"name": "w16", "shape": [3], "dtype": "float32",
              "quantization": {"dtype": "uint16", "scale": 0.001, "min": 0.5}},
             {"name": "i8", "shape": [2], "dtype": "int32",
              "quantization": {"dtype": "uint8", "scale": 0.5, "min": 0.0}}]
    data = q8.tobytes() + q16.tobytes() + np.array([3, 4], np.uint8).tobytes()
    (_, w8), (_, w16), (_, i8) = decode_weights(data, specs, "test")
    np.testing.assert_array_equal(w8, np.float32([[-1.0, -0.9], [24.5, 11.8]]))
    np.testing.assert_array_equal(w16, np.float32([0.5, 65.535 + 0.5, 0.503]))
    np.testing.assert_array_equal(i8, np.int32([2, 2]))        # round(1.5), round(2.0)
    assert w8.dtype == np.float32 and i8.dtype == np.int32


def test_float16_dequantizes_to_float32():
    values = np.array([0.5, -2.25, 65504, 1e-3], np.float16)
    specs = [{"name": "h", "shape": [4], "dtype": "float32",
              "quantization": {"dtype": "float16"}}]
    (_, got), = decode_weights(values.astype("<f2").tobytes(), specs, "test")
    np.testing.assert_array_equal(got, values.astype(np.float32))


def test_shard_names():
    assert shard_names(100) == [("weights.bin", 0, 100)]
    assert shard_names(4 * 1024 * 1024) == [("weights.bin", 0, 4 * 1024 * 1024)]
    assert [n for n, _, _ in shard_names(9 * 1024 * 1024)] == [
        "group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]


def test_cell_name_is_dropped_when_the_full_name_has_no_target():
    """TF >= 2.2 writes 'layer/cell/weight' names; TF.js retries without the cell."""
    model = mlp()
    values = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.weights)]
    named = [({"name": name}, v) for name, v in zip(
        ["hidden/cell/kernel", "hidden/bias", "out/some_cell/kernel", "out/bias"], values)]
    load_weights(model, named)
    for w, v in zip(model.getWeights(), values):
        np.testing.assert_array_equal(w.dataSync(), v.ravel())


def test_keras3_names_address_layers_by_class_and_position():
    model = shared_and_nested()
    paths = keras3_layer_paths(model)
    assert {p: l.name for p, l in paths.items()} == {
        "layers/dense": "shared", "layers/functional/layers/dense": "inner_dense",
        "layers/sequential/layers/dense": "seq_dense", "layers/dense_1": "head"}
    values = {w.originalName: np.random.RandomState(i).randn(*w.shape).astype(np.float32)
              for i, w in enumerate(model.weights)}
    names = {"shared": "layers/dense", "inner_dense": "layers/functional/layers/dense",
             "seq_dense": "layers/sequential/layers/dense", "head": "layers/dense_1"}
    named = []
    for original, value in values.items():
        layer, weight = original.split("/")
        named.append(({"name": f"{names[layer]}/vars/{0 if weight == 'kernel' else 1}"},
                      value))
    fresh = shared_and_nested(seed=9)
    load_weights(fresh, named)
    for w in fresh.weights:
        np.testing.assert_array_equal(w.read().dataSync(), values[w.originalName].ravel())


def test_sequential_with_explicit_input_layer_round_trips(tmp_path):
    model = tf.sequential()
    model.add(tf.layers.inputLayer({"inputShape": [3], "name": "the_input"}))
    model.add(tf.layers.dense({"units": 2, "name": "d"}))
    topology = model.toJSON(None, False)
    assert topology["config"]["layers"][0]["class_name"] == "InputLayer"
    asyncio.run(model.save(str(tmp_path)))
    loaded = asyncio.run(tf.loadLayersModel(str(tmp_path)))
    assert [l.name for l in loaded.layers] == ["the_input", "d"]
    x = np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x).dataSync(), model.predict(x).dataSync())


def test_op_layers_cannot_be_serialized_and_say_why():
    x = tf.input({"shape": [2]})
    y = tf.add(tf.layers.dense({"units": 2}).apply(x), x)
    model = tf.model({"inputs": x, "outputs": y})
    with pytest.raises(NotImplementedError, match="registerClass"):
        model.toJSON()


def test_weight_names_prefixed_with_the_model_name():
    """Keras 3 models saved to .h5 and converted carry the model name: 'mlp/hidden/kernel'."""
    model = mlp()
    values = [np.full(w.shape, i + 1, np.float32) for i, w in enumerate(model.weights)]
    named = [({"name": f"mlp/{w.originalName}"}, v) for w, v in zip(model.weights, values)]
    load_weights(model, named)
    for w, v in zip(model.getWeights(), values):
        np.testing.assert_array_equal(w.dataSync(), v.ravel())
