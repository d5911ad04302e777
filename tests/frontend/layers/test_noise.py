"""Noise layers: identity at inference (eager and predict, and in a TF.js fixture); in
training mode, statistics of the noise against the formulas; seeds, noiseShape, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.frontend.layers.support import (assert_close, build_layer, conv2d_valid,
                                           eager_and_predict, load_fixture,
                                           set_weights_by_name, values)

RNG = np.random.default_rng(99)
ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

MAKERS = {
    "gaussianNoise": lambda: tf.layers.gaussianNoise({"stddev": 0.5}),
    "gaussianDropout": lambda: tf.layers.gaussianDropout({"rate": 0.3}),
    "alphaDropout": lambda: tf.layers.alphaDropout({"rate": 0.2}),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_identity_at_inference(name):
    x = RNG.normal(size=(3, 4, 5)).astype(np.float32)
    eager, predicted, _ = eager_and_predict(MAKERS[name], x)
    assert_close(eager, x, rtol=0, atol=0)
    assert_close(predicted, x, rtol=0, atol=0)
    explicit = MAKERS[name]().apply(tf.tensor(x), {"training": False})
    assert_close(explicit, x, rtol=0, atol=0)


def test_gaussian_noise_in_training():
    x = RNG.normal(size=(200, 100)).astype(np.float32)
    layer = tf.layers.gaussianNoise({"stddev": 0.5})
    out = values(layer.apply(tf.tensor(x), {"training": True}))
    noise = out - x
    # 20000 unseeded draws: standard errors 0.0035 (mean) and 0.0025 (std); allow five
    assert abs(noise.mean()) < 0.018
    assert abs(noise.std() - 0.5) < 0.0125
    again = values(layer.apply(tf.tensor(x), {"training": True}))
    assert not np.allclose(again, out)           # a fresh draw on every run


def test_gaussian_dropout_keeps_the_mean():
    x = np.full((200, 100), 2.0, np.float32)
    out = values(tf.layers.gaussianDropout({"rate": 0.3}).apply(tf.tensor(x),
                                                                 {"training": True}))
    factor = out / x
    # 20000 draws: the mean's standard error is 0.0046, the std's 0.0033; allow 5 of them
    assert abs(factor.mean() - 1) < 0.025
    assert abs(factor.std() - math.sqrt(0.3 / 0.7)) < 0.017


def test_alpha_dropout_keeps_mean_and_variance():
    rate = 0.2
    x = RNG.normal(size=(400, 100)).astype(np.float32)
    out = values(tf.layers.alphaDropout({"rate": rate}).apply(tf.tensor(x),
                                                              {"training": True}))
    assert abs(out.mean()) < 0.02
    assert abs(out.var() - 1) < 0.03
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    b = -a * ALPHA_P * rate
    dropped = np.isclose(out, a * ALPHA_P + b, atol=1e-6)
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-5)


def test_alpha_dropout_noise_shape_shares_the_choice():
    x = RNG.normal(size=(4, 6, 50)).astype(np.float32)
    layer = tf.layers.alphaDropout({"rate": 0.5, "noiseShape": [None, 1, 50]})
    out = values(layer.apply(tf.tensor(x), {"training": True}))
    a = (0.5 * (1 + 0.5 * ALPHA_P ** 2)) ** -0.5
    dropped = np.isclose(out, a * ALPHA_P - a * ALPHA_P * 0.5, atol=1e-6)
    assert (dropped == dropped[:, :1, :]).all()
    assert 0.3 < dropped.mean() < 0.7
    assert layer.getConfig()["noiseShape"] == [None, 1, 50]


def test_seeded_noise_repeats():
    x = np.zeros((10, 10), np.float32)
    layer = tf.layers.gaussianNoise({"stddev": 1.0, "seed": 3})
    first = values(layer.apply(tf.tensor(x), {"training": True}))
    second = values(layer.apply(tf.tensor(x), {"training": True}))
    np.testing.assert_array_equal(first, second)
    assert first.std() > 0.5
    assert layer.getConfig()["seed"] == 3


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_dropouts_outside_the_open_interval_are_identity(rate):
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    for factory in (tf.layers.gaussianDropout, tf.layers.alphaDropout):
        out = factory({"rate": rate}).apply(tf.tensor(x), {"training": True})
        assert_close(out, x, rtol=0, atol=0)


def test_noise_in_a_model_applied_in_training_mode():
    inp = tf.input({"shape": [50]})
    model = tf.model({"inputs": inp,
                      "outputs": tf.layers.gaussianNoise({"stddev": 2.0}).apply(inp)})
    x = np.zeros((100, 50), np.float32)
    assert_close(model.predict(x), x, rtol=0, atol=0)
    trained = values(model.apply(tf.tensor(x), {"training": True}))
    # the draw is unseeded: allow five standard errors of a sample std (2 / sqrt(2 * 5000))
    assert abs(trained.std() - 2.0) < 5 * 2.0 / np.sqrt(2 * x.size)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.sampled_from(sorted(MAKERS)),
       st.booleans())
def test_shape_inference(shape, name, training):
    layer = MAKERS[name]()
    out = layer.apply(tf.ones(shape), {"training": training})
    assert layer.computeOutputShape(shape) == out.shape == shape


def test_errors():
    with pytest.raises(ValueError, match=r"unknown option 'stdev'.*did you mean 'stddev'"):
        tf.layers.gaussianNoise({"stdev": 1})
    with pytest.raises(ValueError, match=r"GaussianNoise layer.*the option 'stddev' is required"):
        tf.layers.gaussianNoise()
    with pytest.raises(ValueError, match=r"GaussianNoise layer 'gn'.*stddev must be >= 0"):
        tf.layers.gaussianNoise({"stddev": -1, "name": "gn"})
    with pytest.raises(ValueError, match=r"GaussianDropout layer 'gd'.*rate must be between 0"):
        tf.layers.gaussianDropout({"rate": 1.5, "name": "gd"})
    with pytest.raises(ValueError, match=r"AlphaDropout layer 'ad'.*rate must be a number"):
        tf.layers.alphaDropout({"rate": "high", "name": "ad"})
    layer = tf.layers.alphaDropout({"rate": 0.5, "noiseShape": [None, 3], "name": "ad_shape"})
    with pytest.raises(ValueError, match=r"ad_shape.*noiseShape \[None, 3\] does not broadcast"):
        layer.apply(tf.ones([2, 4]), {"training": True})


def test_fixture_prelu_shared_axes_noise_layers_at_inference():
    """Conv2D -> PReLU(sharedAxes) -> GaussianNoise -> GaussianDropout -> AlphaDropout ->
    Flatten -> Dense: TF.js's predictions (the noise layers are identity). The Conv2D output
    is prepared with numpy."""
    model_json, weights, inputs, outputs = load_fixture("prelu_shared_axes")
    entries = model_json["modelTopology"]["config"]["layers"]
    features = conv2d_valid(inputs[0], weights["conv2d_Conv2D1/kernel"],
                            weights["conv2d_Conv2D1/bias"])
    inp = tf.input({"shape": list(features.shape[1:])})
    x = inp
    for entry in entries[1:]:
        layer = build_layer(entry)
        if entry["class_name"] in ("GaussianNoise", "GaussianDropout", "AlphaDropout"):
            from kiln.frontend.engine.naming import to_camel_case
            assert list(layer.getConfig()) == [to_camel_case(k) for k in entry["config"]]
        x = layer.apply(x)
    model = tf.model({"inputs": inp, "outputs": x})
    set_weights_by_name(model, {k: v for k, v in weights.items() if "conv2d" not in k})
    assert_close(model.predict(features), outputs[0], rtol=1e-5, atol=1e-6)
