"""Core layers and advanced activations against numpy references, eagerly and in a model:
dense, activation (every name), dropout, spatialDropout1d, flatten, reshape, permute,
repeatVector, embedding, masking, reLU, leakyReLU, prelu, elu, thresholdedReLU, softmax."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import kiln as tf
from tests.frontend.layers.layer_check import check

RNG = np.random.default_rng(0)


def x_of(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def softplus(v):
    return np.logaddexp(0, v)


def erf(v):
    return np.vectorize(math.erf)(v)


ACTIVATIONS = {
    "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
    "hardSigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
    "linear": lambda v: v,
    "relu": lambda v: np.maximum(v, 0),
    "relu6": lambda v: np.clip(v, 0, 6),
    "selu": lambda v: 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(np.minimum(v, 0))),
    "sigmoid": sigmoid,
    "softmax": lambda v: np.exp(v - v.max(-1, keepdims=True)) / np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "softplus": softplus,
    "softsign": lambda v: v / (1 + np.abs(v)),
    "tanh": np.tanh,
    "swish": lambda v: v * sigmoid(v),
    "mish": lambda v: v * np.tanh(softplus(v)),
    "gelu": lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))),
    "gelu_new": lambda v: 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3))),
    "logSoftmax": lambda v: v - v.max(-1, keepdims=True) - np.log(np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_layer_and_dense_activation(name):
    x = x_of(3, 5)
    check("activation", {"activation": name}, x, lambda v, w: ACTIVATIONS[name](v))
    check("dense", {"units": 4, "activation": name}, x,
          lambda v, w: ACTIVATIONS[name](v @ w[0] + w[1]))


@pytest.mark.parametrize("config", [{"units": 3}, {"units": 3, "useBias": False},
                                    {"units": 1, "kernelInitializer": "ones"},
                                    {"units": 6, "biasInitializer": "ones", "activation": "relu"}])
def test_dense(config):
    reference = (lambda v, w: v @ w[0]) if config.get("useBias") is False else \
        (lambda v, w: ACTIVATIONS[config.get("activation", "linear")](v @ w[0] + w[1]))
    layer = check("dense", config, x_of(4, 5), reference)
    if config.get("kernelInitializer") == "ones":
        np.testing.assert_array_equal(layer.getWeights()[0].numpy(), np.ones((5, 1)))


def test_dense_on_higher_rank_inputs_contracts_the_last_axis():
    check("dense", {"units": 2}, x_of(2, 3, 4), lambda v, w: v @ w[0] + w[1])


def test_dense_default_initializer_is_glorot_normal():
    layer = tf.layers.dense({"units": 200, "inputShape": [300]})
    tf.sequential({"layers": [layer]})
    kernel = layer.getWeights()[0].numpy()
    # truncated normal at two sigmas with sigma = sqrt(2 / (fanIn + fanOut)), no correction
    sigma = np.sqrt(2 / 500)
    assert np.abs(kernel).max() <= 2 * sigma + 1e-6
    assert abs(kernel.std() - sigma * 0.8796) < 0.02 * sigma
    config = layer.getConfig()["kernelInitializer"]
    assert config == {"className": "VarianceScaling",
                      "config": {"scale": 1.0, "mode": "fanAvg", "distribution": "normal",
                                 "seed": None}}


def test_flatten_reshape_permute_repeat_vector():
    x = x_of(2, 3, 4)
    check("flatten", {}, x, lambda v, w: v.reshape(2, -1))
    check("flatten", {"dataFormat": "channelsFirst"}, x,
          lambda v, w: np.moveaxis(v, 1, -1).reshape(2, -1))
    check("reshape", {"targetShape": [4, -1]}, x, lambda v, w: v.reshape(2, 4, 3))
    check("permute", {"dims": [2, 1]}, x, lambda v, w: np.transpose(v, (0, 2, 1)))
    check("repeatVector", {"n": 3}, x_of(2, 4), lambda v, w: np.repeat(v[:, None, :], 3, 1))


def test_flatten_and_reshape_symbolic_shapes():
    assert tf.layers.flatten().apply(tf.ones([2, 3, 4])).shape == [2, 12]
    assert tf.layers.flatten().apply(tf.input({"shape": [2, 4]})).shape == [None, 8]
    assert tf.layers.reshape({"targetShape": [-1, 2]}).apply(
        tf.input({"shape": [3, 4]})).shape == [None, 6, 2]
    with pytest.raises(ValueError, match="total size"):
        tf.layers.reshape({"targetShape": [5]}).apply(tf.input({"shape": [3, 4]}))


def test_embedding_and_masking():
    ids = np.array([[0, 3, 1], [2, 0, 0]], np.int32)
    layer = check("embedding", {"inputDim": 4, "outputDim": 5}, ids.astype(np.float32),
                  lambda v, w: w[0][v.astype(int)])
    table = layer.getWeights()[0].numpy()
    assert np.all(np.abs(table) <= 0.05)          # randomUniform(-0.05, 0.05)
    masked = tf.layers.embedding({"inputDim": 4, "outputDim": 2, "maskZero": True})
    mask = masked.computeMask(tf.tensor(ids, None, "int32"))
    np.testing.assert_array_equal(mask.numpy(), ids != 0)
    x = x_of(2, 3, 2)
    x[0, 1] = 0.5
    check("masking", {"maskValue": 0.5}, x,
          lambda v, w: v * np.any(v != 0.5, -1, keepdims=True))


def test_dropout_and_spatial_dropout_are_identity_at_inference():
    x = x_of(2, 3, 4)
    check("dropout", {"rate": 0.5}, x, lambda v, w: v)
    check("spatialDropout1d", {"rate": 0.5}, x, lambda v, w: v)
    spatial = tf.layers.spatialDropout1d({"rate": 0.5, "seed": 1}).apply(
        tf.ones([4, 50, 8]), {"training": True}).numpy()
    dropped = spatial == 0
    # whole channels drop: a channel is dropped at every step or at none
    assert np.all(dropped.all(1) | (~dropped).all(1))


def test_advanced_activations():
    x = x_of(3, 4)
    check("reLU", {"maxValue": 0.5}, x, lambda v, w: np.clip(v, 0, 0.5))
    check("reLU", {}, x, lambda v, w: np.maximum(v, 0))
    check("leakyReLU", {}, x, lambda v, w: np.where(v < 0, 0.3 * v, v))
    check("leakyReLU", {"alpha": 0.1}, x, lambda v, w: np.where(v < 0, 0.1 * v, v))
    check("elu", {}, x, lambda v, w: np.where(v > 0, v, np.expm1(v)))
    check("elu", {"alpha": 0.5}, x, lambda v, w: np.where(v > 0, v, 0.5 * np.expm1(v)))
    check("thresholdedReLU", {"theta": 0.2}, x, lambda v, w: v * (v > 0.2))
    check("softmax", {}, x, lambda v, w: ACTIVATIONS["softmax"](v))
    x3 = x_of(2, 3, 4)
    check("softmax", {}, x3, lambda v, w: np.exp(v) / np.exp(v).sum(1, keepdims=True))
    check("prelu", {"alphaInitializer": "ones"}, x, lambda v, w: np.where(v < 0, w[0] * v, v))
    layer = check("prelu", {"alphaInitializer": {"className": "Constant",
                                                  "config": {"value": 0.25}},
                            "sharedAxes": [1]}, x3,
                  lambda v, w: np.where(v < 0, w[0] * v, v))
    assert layer.getWeights()[0].shape == [1, 4]


@given(units=st.integers(1, 5), rank=st.integers(2, 4), last=st.integers(1, 6))
@settings(max_examples=10, deadline=None)
def test_dense_compute_output_shape_matches_computation(units, rank, last):
    shape = [2] + [3] * (rank - 2) + [last]
    layer = tf.layers.dense({"units": units})
    out = layer.apply(tf.ones(shape))
    assert layer.computeOutputShape([None] + shape[1:]) == [None] + out.shape[1:]
