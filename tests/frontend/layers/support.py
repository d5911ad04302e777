"""Helpers for the layer tests: run a layer eagerly and inside a model, and rebuild TF.js
fixtures (tests/fixtures/tfjs) by hand from their model.json layer configs.

A model loader is not part of this module: `build_layer` only camel-cases a layer's config
(keys, and string values other than names, as TF.js does on load) and instantiates the
registered class; `build_functional` wires layers along `inbound_nodes`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import kiln as tf
from kiln.frontend.engine.naming import to_camel_case
from kiln.frontend.serialization import get_class

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tfjs"


def values(t) -> np.ndarray:
    """A kiln tensor's values as a float64/int array of its shape."""
    return np.asarray(t.dataSync()).reshape(t.shape)


def assert_close(t, expected, rtol=1e-5, atol=1e-5):
    expected = np.asarray(expected)
    assert list(t.shape) == list(expected.shape), f"shape {t.shape}, expected {expected.shape}"
    np.testing.assert_allclose(values(t).astype(np.float64), expected.astype(np.float64),
                               rtol=rtol, atol=atol)


def eager_and_predict(make_layer, arrays, kwargs=None, dtypes=None):
    """Outputs of a fresh layer applied eagerly to `arrays` (one array or a list), and of a
    model containing a second fresh layer, through predict(). `make_layer` must make equal
    layers (give weights through the `weights` option)."""
    single = not isinstance(arrays, list)
    arrays = [arrays] if single else arrays
    dtypes = dtypes or [str(a.dtype) if a.dtype != np.float64 else "float32" for a in arrays]
    tensors = [tf.tensor(a, None, d) for a, d in zip(arrays, dtypes)]
    layer = make_layer()
    eager = layer.apply(tensors[0] if single else tensors, kwargs)
    inputs = [tf.input({"batchShape": [None] + list(a.shape[1:]), "dtype": d})
              for a, d in zip(arrays, dtypes)]
    twin = make_layer()
    out = twin.apply(inputs[0] if single else inputs, kwargs)
    model = tf.model({"inputs": inputs, "outputs": out})
    predicted = model.predict(tensors[0] if single else tensors)
    return eager, predicted, layer


# ---- fixtures ------------------------------------------------------------------------------
def load_fixture(name):
    """(model.json dict, {weight name: array}, [input arrays], [output arrays])."""
    folder = FIXTURES / name
    model = json.loads((folder / "model.json").read_text())
    io = json.loads((folder / "io.json").read_text())
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            assert spec["dtype"] == "float32"
            count = int(np.prod(spec["shape"], dtype=np.int64))
            array = np.frombuffer(data, "<f4", count, offset).reshape(spec["shape"])
            weights[spec["name"]] = array
            offset += 4 * count
        assert offset == len(data)
    arrays = [[np.asarray(x["data"], dtype=x["dtype"]).reshape(x["shape"]) for x in io[k]]
              for k in ("inputs", "outputs")]
    return model, weights, arrays[0], arrays[1]


def _camel(value, key=None):
    if isinstance(value, dict):
        return {to_camel_case(k): _camel(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, str) and key != "name":
        return to_camel_case(value)
    return value


def build_layer(entry):
    """A layer from a model.json entry {'class_name', 'config'} (not a nested model)."""
    cls = get_class(entry["class_name"])
    return cls(_camel(entry["config"]))


def build_model(entry):
    """A Sequential or functional model from its model.json entry."""
    config = entry["config"]
    if entry["class_name"] == "Sequential":
        return tf.sequential({"layers": [build_any(e) for e in config["layers"]],
                              "name": config["name"]})
    return build_functional(config)


def build_any(entry):
    if entry["class_name"] in ("Sequential", "Model", "Functional"):
        return build_model(entry)
    return build_layer(entry)


def build_functional(config, make=build_any):
    """Wire the layers of a functional config along their inbound nodes. Node indices count
    a nested model's own internal node as node 0, as TF.js numbers them."""
    produced = {}          # (layer name, node index) -> output tensors
    for entry in config["layers"]:
        name = entry["name"]
        if entry["class_name"] == "InputLayer":
            c = _camel(entry["config"])
            produced[(name, 0)] = [tf.input({"batchShape": c["batchInputShape"],
                                             "dtype": c.get("dtype", "float32"), "name": name})]
            continue
        layer = make(entry)
        first = 1 if entry["class_name"] in ("Sequential", "Model", "Functional") else 0
        for j, node in enumerate(entry["inbound_nodes"]):
            xs = [produced[(src, idx)][t] for src, idx, t, _ in node]
            out = layer.apply(xs[0] if len(xs) == 1 else xs)
            produced[(name, first + j)] = out if isinstance(out, list) else [out]
    inputs = [produced[(n, i)][t] for n, i, t in config["input_layers"]]
    outputs = [produced[(n, i)][t] for n, i, t in config["output_layers"]]
    return tf.model({"inputs": inputs, "outputs": outputs, "name": config["name"]})


def set_weights_by_name(model, weights):
    """Give every weight of `model` the fixture array of the same (original) name."""
    mine = model.weights
    assert sorted(w.originalName for w in mine) == sorted(weights), \
        (sorted(w.originalName for w in mine), sorted(weights))
    for w in mine:
        w.write(weights[w.originalName])


def conv2d_valid(x, kernel, bias):
    """numpy reference of a stride-1 'valid' channels-last convolution (input preparation for
    fixtures whose first layer is a Conv2D)."""
    kh, kw = kernel.shape[:2]
    n, h, w, _ = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cf->nhwf", x[:, i:i + h - kh + 1, j:j + w - kw + 1],
                             kernel[i, j].astype(np.float64))
    return (out + bias).astype(np.float32)
