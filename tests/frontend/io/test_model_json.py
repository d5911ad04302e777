"""toJSON / modelFromJSON: topologies in TF.js's form, Sequential and functional models with
shared layers and nested models rebuild, byte-identical to what TF.js writes."""
import asyncio
import json

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import UnsupportedModelError
from tests.frontend.io.fixtures import FIXTURES
from tests.frontend.io.models import mlp, predict, shared_and_nested


def test_sequential_to_json_matches_tfjs_form():
    text = mlp().toJSON()
    assert isinstance(text, str) and " " not in text.replace("kiln 0.1.0", "")
    topology = json.loads(text)
    assert list(topology) == ["class_name", "config", "keras_version", "backend"]
    assert topology["class_name"] == "Sequential"
    first = topology["config"]["layers"][0]
    assert first["class_name"] == "Dense"
    assert first["config"]["batch_input_shape"] == [None, 4]
    assert first["config"]["kernel_initializer"] == {
        "class_name": "VarianceScaling",
        "config": {"scale": 1, "mode": "fan_avg", "distribution": "normal", "seed": None}}
    assert mlp().toJSON(None, False) == json.loads(mlp().toJSON())


def test_functional_config_has_inbound_nodes_and_endpoints():
    topology = shared_and_nested().toJSON(None, False)
    assert topology["class_name"] == "Model"
    config = topology["config"]
    layers = {entry["name"]: entry for entry in config["layers"]}
    assert layers["shared"]["inbound_nodes"] == [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]
    # a nested model's applications count from 1, as in TF.js and Keras
    assert layers["inner"]["inbound_nodes"] == [[["shared", 0, 0, {}]], [["shared", 1, 0, {}]]]
    assert layers["inner_seq"]["inbound_nodes"] == [[["inner", 2, 0, {}]]]
    assert layers["head"]["inbound_nodes"] == [[["inner", 1, 0, {}]]]
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["inner_seq", 1, 0], ["head", 0, 0]]
    assert layers["inner"]["config"]["input_layers"] == [["inner_in", 0, 0]]


def test_shared_and_nested_model_rebuilds_and_predicts_the_same():
    model = shared_and_nested()
    xs = [np.random.RandomState(2).randn(3, 4).astype(np.float32) for _ in range(2)]
    rebuilt = asyncio.run(tf.models.modelFromJSON(model.toJSON()))
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    assert rebuilt.toJSON() == model.toJSON()
    rebuilt.setWeights(model.getWeights())
    for got, want in zip(predict(rebuilt, xs), predict(model, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # the shared layer is one layer with two applications, not two layers
    assert len(rebuilt.getLayer("shared").inboundNodes) == 2
    assert len(rebuilt.weights) == len(model.weights)


def test_model_from_json_accepts_dict_string_and_wrapped_forms():
    model = mlp()
    for value in (model.toJSON(), model.toJSON(None, False),
                  {"modelTopology": model.toJSON(None, False)},
                  {"keras_version": "2.18.0", "model_config": model.toJSON(None, False)}):
        rebuilt = asyncio.run(tf.models.modelFromJSON(value))
        assert isinstance(rebuilt, tf.Sequential)
        assert [l.name for l in rebuilt.layers] == ["hidden", "out"]


def test_model_from_json_loads_weights_from_manifest_and_path_prefix(tmp_path):
    model = mlp()
    asyncio.run(model.save(str(tmp_path)))
    saved = json.loads((tmp_path / "model.json").read_text())
    rebuilt = asyncio.run(tf.models.modelFromJSON({
        "modelTopology": saved["modelTopology"], "weightsManifest": saved["weightsManifest"],
        "pathPrefix": str(tmp_path)}))
    x = np.random.RandomState(3).randn(2, 4).astype(np.float32)
    np.testing.assert_array_equal(predict(rebuilt, x)[0], predict(model, x)[0])


def test_sequential_config_as_bare_list_in_old_files():
    topology = mlp().toJSON(None, False)
    topology["config"] = topology["config"]["layers"]
    rebuilt = asyncio.run(tf.models.modelFromJSON(topology))
    assert [l.name for l in rebuilt.layers] == ["hidden", "out"]


def test_saved_tfjs_fixture_is_byte_identical_to_what_tfjs_wrote(tmp_path):
    """Loading a model TF.js saved and saving it again gives TF.js's bytes, up to the names
    of the library that wrote it."""
    for name in ("mlp", "sequential_nested", "activation_layers"):
        source = FIXTURES / "tfjs" / name
        model = asyncio.run(tf.loadLayersModel(str(source / "model.json")))
        asyncio.run(model.save(f"file://{tmp_path / name}"))
        written = (tmp_path / name / "model.json").read_text()
        written = written.replace('"keras_version":"kiln 0.1.0","backend":"kiln"',
                                  '"keras_version":"tfjs-layers 4.22.0",'
                                  '"backend":"tensor_flow.js"')
        written = written.replace('"generatedBy":"kiln v0.1.0"',
                                  '"generatedBy":"TensorFlow.js tfjs-layers v4.22.0"')
        assert written == (source / "model.json").read_text(), name
        assert (tmp_path / name / "weights.bin").read_bytes() == \
            (source / "weights.bin").read_bytes(), name


def test_keras_class_aliases_map_to_kiln_classes():
    topology = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "in",
                                                "dtype": "float32", "ragged": False}},
        {"class_name": "Dense", "config": {
            "name": "d", "units": 2, "activation": "gelu_new",
            "kernel_initializer": {"class_name": "LecunUniform", "config": {"seed": None}},
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.5}},
            "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.25}}}}]}}
    model = asyncio.run(tf.models.modelFromJSON(topology))
    dense = model.getLayer("d")
    assert dense.activation.name == "gelu_new"
    assert dense.kernelInitializer.className == "LeCunUniform"
    assert (dense.kernelRegularizer.l1, dense.kernelRegularizer.l2) == (0.0, 0.5)
    assert (dense.biasRegularizer.l1, dense.biasRegularizer.l2) == (0.25, 0.0)
    functional = shared_and_nested().toJSON(None, False)
    functional["class_name"] = "Functional"
    assert isinstance(asyncio.run(tf.models.modelFromJSON(functional)), tf.LayersModel)


def test_keras3_config_maps_like_keras2():
    """batch_shape, DTypePolicy, build_config, module/registered_name, and Keras 3 inbound
    nodes with __keras_tensor__ (a nested model counted from 0 there, from 1 in Keras 2)."""
    def tensor(name, node):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": [None, 4], "dtype": "float32",
                           "keras_history": [name, node, 0]}}
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
              "registered_name": None}
    sub = {"module": "keras", "class_name": "Functional", "name": "sub", "config": {
        "name": "sub", "trainable": True, "layers": [
            {"class_name": "InputLayer", "name": "sub_in", "inbound_nodes": [],
             "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "sub_in",
                        "sparse": False, "ragged": False, "optional": False}},
            {"class_name": "Dense", "name": "sub_dense", "module": "keras.layers",
             "build_config": {"input_shape": [None, 4]},
             "config": {"name": "sub_dense", "units": 4, "dtype": policy, "lora_rank": None,
                        "quantization_config": None},
             "inbound_nodes": [{"args": [tensor("sub_in", 0)], "kwargs": {}}]}],
        "input_layers": [["sub_in", 0, 0]], "output_layers": [["sub_dense", 0, 0]]},
        "inbound_nodes": [{"args": [tensor("x", 0)], "kwargs": {"mask": None}},
                          {"args": [tensor("sub", 0)], "kwargs": {"mask": None}}]}
    topology = {"module": "keras", "class_name": "Functional", "registered_name": None,
                "build_config": {}, "compile_config": None, "config": {
                    "name": "k3", "trainable": True, "layers": [
                        {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
                         "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "x"}},
                        sub],
                    "input_layers": [["x", 0, 0]], "output_layers": [["sub", 2, 0]]}}
    model = asyncio.run(tf.models.modelFromJSON(topology))
    sub_model = model.getLayer("sub")
    assert len(sub_model.inboundNodes) == 2            # applied to x, then to its own output
    assert model.outputs[0] is sub_model.inboundNodes[1].outputTensors[0]


def test_unsupported_keras_classes_and_options_are_listed_at_once():
    topology = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3],
                                           "lora_rank": 4, "groups": 1, "ragged": False}},
        {"class_name": "FancyLayer", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "e", "units": 2, "time_major": True,
                                           "kernel_initializer": {
                                               "class_name": "WeirdInit", "config": {}}}}]}}
    with pytest.raises(UnsupportedModelError) as info:
        asyncio.run(tf.models.modelFromJSON(topology))
    message = str(info.value)
    for part in ("Unknown layer: FancyLayer", "Unknown initializer: WeirdInit",
                 "Dense 'd': option 'loraRank' = 4", "Dense 'e': option 'timeMajor' = True",
                 "registerClass"):
        assert part in message
    assert "groups" not in message and "ragged" not in message   # neutral values are fine


def test_custom_layer_round_trips_through_register_class():
    class Doubler(tf.layers.Layer):
        className = "TestIoDoubler"
        ARGS = {"factor": 2.0}

        def call(self, inputs, kwargs):
            return tf.mul(inputs, self.args["factor"])

        def computeOutputShape(self, inputShape):
            return inputShape

        def getConfig(self):
            return {"factor": self.args["factor"], **super().getConfig()}

    model = tf.sequential()
    model.add(tf.layers.dense({"units": 2, "inputShape": [2], "name": "d0"}))
    model.add(Doubler({"factor": 3.0, "name": "doubler"}))
    text = model.toJSON()
    with pytest.raises(UnsupportedModelError, match="Unknown layer: TestIoDoubler"):
        asyncio.run(tf.models.modelFromJSON(text))
    rebuilt = asyncio.run(tf.models.modelFromJSON(text, {"TestIoDoubler": Doubler}))
    assert rebuilt.getLayer("doubler").args["factor"] == 3.0
    tf.serialization.registerClass(Doubler)
    rebuilt = asyncio.run(tf.models.modelFromJSON(text))
    assert isinstance(rebuilt.getLayer("doubler"), Doubler)


def test_keras3_single_endpoints_are_bare_triples():
    """Keras 3 writes a one-input model's input_layers as ['x', 0, 0], not [['x', 0, 0]]."""
    topology = {"class_name": "Functional", "config": {
        "name": "one", "layers": [
            {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
             "config": {"batch_shape": [None, 3], "dtype": "float32", "name": "x"}},
            {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2},
             "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                 "shape": [None, 3], "dtype": "float32", "keras_history": ["x", 0, 0]}}],
                 "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["d", 0, 0]}}
    model = asyncio.run(tf.models.modelFromJSON(topology))
    assert model.inputNames == ["x"] and model.outputNames == ["d"]
