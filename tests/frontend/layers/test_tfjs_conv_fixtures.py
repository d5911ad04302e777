"""Fidelity to TensorFlow.js: the convolutional fixtures in tests/fixtures/tfjs were saved by
TF.js 4.22 together with its own predictions (io.json). Without a model loader, each model is
rebuilt here by hand from its model.json layer configs, its weights are set from weights.bin
(float32 little-endian, in weightsManifest order), and predict() must reproduce TF.js's numbers.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import kiln as tf

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tfjs"

FACTORIES = {
    "Conv1D": "conv1d", "Conv2D": "conv2d", "Conv3D": "conv3d",
    "Conv2DTranspose": "conv2dTranspose", "Conv3DTranspose": "conv3dTranspose",
    "DepthwiseConv2D": "depthwiseConv2d", "SeparableConv2D": "separableConv2d",
    "MaxPooling1D": "maxPooling1d", "MaxPooling2D": "maxPooling2d", "MaxPooling3D": "maxPooling3d",
    "AveragePooling1D": "averagePooling1d", "AveragePooling2D": "averagePooling2d",
    "AveragePooling3D": "averagePooling3d", "GlobalMaxPooling1D": "globalMaxPooling1d",
    "GlobalMaxPooling2D": "globalMaxPooling2d", "GlobalAveragePooling1D": "globalAveragePooling1d",
    "GlobalAveragePooling2D": "globalAveragePooling2d", "Cropping2D": "cropping2D",
    "UpSampling2D": "upSampling2d", "ZeroPadding2D": "zeroPadding2d", "Flatten": "flatten",
    "Dense": "dense", "Concatenate": "concatenate",
}
SKIPPED_KEYS = re.compile(r".*_(initializer|regularizer|constraint)$|^(trainable|dtype|sparse|"
                          r"batch_input_shape)$")


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def layer_from_config(entry):
    """A kiln layer from a model.json layer entry (snake_case keys and values converted)."""
    config = {}
    for key, value in entry["config"].items():
        if SKIPPED_KEYS.match(key):
            continue
        if key == "data_format":
            value = camel(value)
        config[camel(key)] = value
    if "batch_input_shape" in entry["config"]:
        config["batchInputShape"] = entry["config"]["batch_input_shape"]
    return getattr(tf.layers, FACTORIES[entry["class_name"]])(config)


def build_model(topology):
    config = topology["config"]
    if topology["class_name"] == "Sequential":
        model = tf.sequential()
        for entry in config["layers"]:
            model.add(layer_from_config(entry))
        return model
    tensors = {}
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            c = entry["config"]
            tensors[c["name"]] = tf.input({"batchShape": c["batch_input_shape"],
                                           "name": c["name"]})
            continue
        (node,) = entry["inbound_nodes"]
        inputs = [tensors[name] for name, _, _, _ in node]
        layer = layer_from_config(entry)
        tensors[layer.name] = layer.apply(inputs[0] if len(inputs) == 1 else inputs)
    return tf.model({"inputs": [tensors[name] for name, _, _ in config["input_layers"]],
                     "outputs": [tensors[name] for name, _, _ in config["output_layers"]]})


def load_weights(model, folder, manifest):
    (group,) = manifest
    data = np.frombuffer((folder / group["paths"][0]).read_bytes(), dtype="<f4")
    by_name = {w.originalName: w for w in model.weights}
    offset = 0
    for spec in group["weights"]:
        assert spec["dtype"] == "float32"
        size = int(np.prod(spec["shape"]))
        by_name[spec["name"]].write(data[offset:offset + size].reshape(spec["shape"]))
        offset += size
    assert offset == data.size
    assert len(by_name) == len(group["weights"])


def arrays(entries):
    return [np.array(e["data"], np.float32).reshape(e["shape"]) for e in entries]


@pytest.mark.parametrize("name", ["cnn1d", "cnn2d", "cnn2d_b", "cnn2d_channels_first",
                                  "cnn2d_channels_first_flatten", "cnn2d_upsampling", "cnn3d",
                                  "conv3d_transpose"])
def test_predict_reproduces_tfjs(name):
    folder = FIXTURES / name
    saved = json.loads((folder / "model.json").read_text())
    io = json.loads((folder / "io.json").read_text())
    model = build_model(saved["modelTopology"])
    load_weights(model, folder, saved["weightsManifest"])
    inputs = arrays(io["inputs"])
    outputs = model.predict(inputs[0] if len(inputs) == 1 else inputs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    for got, expected in zip(outputs, arrays(io["outputs"])):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=2e-6)


def test_get_config_keys_match_tfjs():
    """Every layer's getConfig has the keys TF.js wrote to model.json, in the same order."""
    checked = 0
    for name in ["cnn1d", "cnn2d", "cnn2d_b", "cnn3d", "conv3d_transpose", "cnn2d_upsampling"]:
        topology = json.loads((FIXTURES / name / "model.json").read_text())["modelTopology"]
        for entry in topology["config"]["layers"]:
            if entry["class_name"] not in FACTORIES or entry["class_name"] in (
                    "Flatten", "Dense", "Concatenate"):
                continue
            layer = layer_from_config(entry)
            keys = [k for k in layer.getConfig() if k not in ("batchInputShape", "dtype")]
            expected = [camel(k) for k in entry["config"]
                        if k not in ("batch_input_shape", "dtype")]
            if entry["class_name"] == "SeparableConv2D":   # kiln keeps depthMultiplier
                keys.remove("depthMultiplier")
            assert keys == expected, entry["class_name"]
            checked += 1
    assert checked >= 25


def test_resize_ops_reproduce_tfjs_align_corners_numbers():
    """TF.js's Resizing layer passes alignCorners=true to the resize ops (its fixture records
    layer.apply). kiln's Resizing follows Keras instead, but the ops with TF.js's arguments
    must give TF.js's numbers."""
    io = json.loads((FIXTURES / "resizing" / "io.json").read_text())
    (x,) = arrays(io["inputs"])
    expected = dict(zip(io["output_names"], arrays(io["outputs"])))
    np.testing.assert_allclose(tf.image.resizeBilinear(x, [4, 5], True).numpy(),
                               expected["resize_bilinear"], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(tf.image.resizeNearestNeighbor(x, [3, 3], True).numpy(),
                               expected["resize_nearest"], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(tf.image.resizeBilinear(x, [10, 12], True).numpy(),
                               expected["resize_up"], rtol=1e-5, atol=2e-6)
