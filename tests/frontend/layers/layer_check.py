"""Run a layer eagerly (layer.apply(tensor)) and inside a model (model.predict) on the same
input and weights, and compare both with a numpy reference."""
from __future__ import annotations

import numpy as np

import kiln as tf

ACTIVATIONS = {None: lambda v: v, "linear": lambda v: v, "relu": lambda v: np.maximum(v, 0),
               "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}


def to_last(x, data_format):
    return np.moveaxis(x, 1, -1) if data_format == "channelsFirst" else x


def from_last(y, data_format):
    return np.moveaxis(y, -1, 1) if data_format == "channelsFirst" else y


def same_pads(size, k, stride, dilation=1):
    """TensorFlow's 'same' padding: the smaller half before."""
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + (k - 1) * dilation + 1 - size)
    return total // 2, total - total // 2


def check(factory, config, x, reference, rtol=1e-4, atol=1e-4):
    """Apply tf.layers.<factory>(config) to x eagerly and through model.predict; compare both
    with reference(x, weights as numpy arrays). Returns the layer."""
    layer = getattr(tf.layers, factory)(dict(config))
    eager = layer.apply(tf.tensor(x)).numpy()
    weights = [w.numpy() for w in layer.getWeights()]
    expected = reference(x.astype(np.float64), [np.asarray(w, np.float64) for w in weights])
    np.testing.assert_allclose(np.asarray(eager), expected, rtol=rtol, atol=atol)
    inp = tf.input({"shape": list(x.shape[1:])})
    model = tf.model({"inputs": inp, "outputs": layer.apply(inp)})
    predicted = model.predict(x).numpy()
    np.testing.assert_allclose(np.asarray(predicted), expected, rtol=rtol, atol=atol)
    return layer
