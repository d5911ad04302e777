"""batchNormalization and layerNormalization against numpy references: inference and training
mode, every option, shape inference, errors, and the TF.js fixtures."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.frontend.layers.support import (assert_close, build_layer, conv2d_valid,
                                           eager_and_predict, load_fixture,
                                           set_weights_by_name, values)

RNG = np.random.default_rng(1234)


def normal(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, size=shape).astype(np.float32)


def param_shape(axes, rank):
    shape = [1] * rank
    return shape, [a % rank for a in axes]


def bn_ref(x, axes, mean, var, beta, gamma, eps):
    """(x - mean) / sqrt(var + eps) * gamma + beta with the parameters on `axes`."""
    rank = x.ndim
    axes = [a % rank for a in axes]
    order = np.argsort(axes)
    shape = [1] * rank
    for a in axes:
        shape[a] = x.shape[a]

    def b(p):
        return None if p is None else np.transpose(p, order).reshape(shape).astype(np.float64)
    y = (x - b(mean)) / np.sqrt(b(var) + eps)
    if gamma is not None:
        y = y * b(gamma)
    if beta is not None:
        y = y + b(beta)
    return y


# ---- batchNormalization: inference ---------------------------------------------------------
BN_CASES = [
    # input shape, axis, center, scale, epsilon
    ((4, 5), -1, True, True, 1e-3),
    ((3, 4, 6), 1, True, True, 1e-3),
    ((2, 3, 4, 5), 1, True, False, 0.01),       # channelsFirst-style axis
    ((2, 3, 4, 5), -1, False, True, 1e-5),
    ((2, 3, 4, 5), 2, False, False, 1e-3),
    ((2, 3, 2, 2, 3), -1, True, True, 1e-3),    # rank 5 (TF.js stops at rank 4)
    ((3, 4, 5), [2, 1], True, True, 1e-3),      # several axes, given out of order
]


@pytest.mark.parametrize("shape,axis,center,scale,eps", BN_CASES)
def test_batch_norm_inference_uses_moving_statistics(shape, axis, center, scale, eps):
    x = normal(*shape)
    axes = axis if isinstance(axis, list) else [axis]
    pshape = [shape[a] for a in axes]
    gamma, beta = positive(*pshape), normal(*pshape)
    mean, var = normal(*pshape), positive(*pshape)
    weights = ([gamma] if scale else []) + ([beta] if center else []) + [mean, var]

    def make():
        return tf.layers.batchNormalization({"axis": axis, "center": center, "scale": scale,
                                             "epsilon": eps, "weights": weights})
    eager, predicted, layer = eager_and_predict(make, x)
    expected = bn_ref(x, axes, mean, var, beta if center else None, gamma if scale else None,
                      eps)
    assert_close(eager, expected)
    assert_close(predicted, expected)
    assert [w.originalName.split("/")[-1] for w in layer.weights] == \
        (["gamma"] if scale else []) + (["beta"] if center else []) + ["moving_mean",
                                                                       "moving_variance"]
    assert [w.trainable for w in layer.weights][-2:] == [False, False]


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_averages():
    x = normal(6, 3, 4) * 3 + 1
    gamma, beta, mean, var = positive(4), normal(4), normal(4), positive(4)
    layer = tf.layers.batchNormalization({"momentum": 0.9, "epsilon": 1e-3,
                                          "weights": [gamma, beta, mean, var]})
    out = layer.apply(tf.tensor(x), {"training": True})
    batch_mean = x.astype(np.float64).mean((0, 1))
    batch_var = x.astype(np.float64).var((0, 1))          # population variance, as TF.js
    assert_close(out, bn_ref(x, [-1], batch_mean, batch_var, beta, gamma, 1e-3), atol=2e-5)
    moving_mean = mean * 0.9 + batch_mean * 0.1
    moving_var = var * 0.9 + batch_var * 0.1
    assert_close(layer.weights[2].read(), moving_mean)
    assert_close(layer.weights[3].read(), moving_var)
    # A second training call moves the averages again (the compiled call is reused).
    x2 = normal(6, 3, 4)
    layer.apply(tf.tensor(x2), {"training": True})
    assert_close(layer.weights[2].read(), moving_mean * 0.9 + x2.mean((0, 1)) * 0.1)
    assert_close(layer.weights[3].read(), moving_var * 0.9 + x2.var((0, 1)) * 0.1)
    # Inference afterwards uses the moved averages; it does not move them.
    out = layer.apply(tf.tensor(x2))
    assert_close(out, bn_ref(x2, [-1], values(layer.weights[2].read()),
                             values(layer.weights[3].read()), beta, gamma, 1e-3))
    assert_close(layer.weights[2].read(), moving_mean * 0.9 + x2.mean((0, 1)) * 0.1)


def test_batch_norm_training_on_a_middle_axis_without_center_or_scale():
    x = normal(4, 3, 5)
    layer = tf.layers.batchNormalization({"axis": 1, "center": False, "scale": False,
                                          "momentum": 0.5})
    out = layer.apply(tf.tensor(x), {"training": True})
    m, v = x.mean((0, 2)), x.var((0, 2))
    assert_close(out, bn_ref(x, [1], m, v, None, None, 1e-3), atol=2e-5)
    assert [w.originalName.split("/")[-1] for w in layer.weights] == ["moving_mean",
                                                                       "moving_variance"]
    assert_close(layer.weights[0].read(), 0.5 * m)
    assert_close(layer.weights[1].read(), 0.5 + 0.5 * v)


def test_batch_norm_training_mode_inside_a_model_records_updates_only_when_training():
    x = normal(5, 4)
    inp = tf.input({"shape": [4]})
    layer = tf.layers.batchNormalization()
    model = tf.model({"inputs": inp, "outputs": layer.apply(inp)})
    model.predict(x)                     # inference: the statistics stay at their initial values
    assert_close(layer.weights[2].read(), np.zeros(4))
    assert_close(layer.weights[3].read(), np.ones(4))


def test_batch_norm_initializers_and_config():
    layer = tf.layers.batchNormalization({
        "betaInitializer": "ones", "gammaInitializer": {"className": "Constant",
                                                        "config": {"value": 2}},
        "movingMeanInitializer": "ones", "movingVarianceInitializer": {
            "className": "Constant", "config": {"value": 4}},
        "betaRegularizer": "l1l2", "gammaRegularizer": tf.regularizers.l2(),
        "betaConstraint": "nonNeg", "gammaConstraint": tf.constraints.maxNorm({"maxValue": 3}),
        "name": "bn"})
    x = normal(3, 2)
    out = layer.apply(tf.tensor(x))
    assert_close(out, (x - 1) / np.sqrt(4 + 1e-3) * 2 + 1)
    assert len(layer.losses) == 2
    config = layer.getConfig()
    assert config["betaRegularizer"]["className"] == "L1L2"
    assert config["betaConstraint"]["className"] == "NonNeg"
    assert config["gammaConstraint"]["config"]["maxValue"] == 3
    assert config["movingVarianceInitializer"] == {"className": "Constant",
                                                   "config": {"value": 4}}
    assert layer.gamma.constraint is not None and layer.beta.regularizer is not None


def test_batch_norm_config_keys_match_tfjs():
    model, _, _, _ = load_fixture("batchnorm")
    entry = model["modelTopology"]["config"]["layers"][1]
    layer = build_layer(entry)
    assert list(layer.getConfig()) == [k for k in _camel_keys(entry["config"])]
    assert layer.getConfig()["momentum"] == 0.99 and layer.getConfig()["epsilon"] == 1e-3


def _camel_keys(config):
    from kiln.frontend.engine.naming import to_camel_case
    return [to_camel_case(k) for k in config]


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_batch_norm_shape_inference(data):
    rank = data.draw(st.integers(2, 4))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    axis = data.draw(st.integers(-rank, rank - 1))
    layer = tf.layers.batchNormalization({"axis": axis})
    out = layer.apply(tf.zeros(list(shape)), {"training": data.draw(st.booleans())})
    assert layer.computeOutputShape(list(shape)) == out.shape == list(shape)
    symbolic = layer.apply(tf.input({"batchShape": [None] + list(shape[1:])}))
    assert symbolic.shape == [None] + list(shape[1:])


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"unknown option 'moment'.*did you mean 'momentum'"):
        tf.layers.batchNormalization({"moment": 0.9})
    layer = tf.layers.batchNormalization({"axis": 3, "name": "bn_bad_axis"})
    with pytest.raises(ValueError, match=r"bn_bad_axis.*axis 3 is out of range"):
        layer.apply(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match=r"BatchNormalization layer.*axis must be an integer"):
        tf.layers.batchNormalization({"axis": "last"})
    layer = tf.layers.batchNormalization({"axis": 1, "name": "bn_undefined"})
    with pytest.raises(ValueError, match=r"bn_undefined.*axis 1 .*defined dimension"):
        layer.apply(tf.input({"batchShape": [None, None, 3]}))
    layer = tf.layers.batchNormalization({"name": "bn_rank"})
    layer.apply(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match=r"bn_rank.*expected ndim=2"):
        layer.apply(tf.zeros([2, 3, 3]))
    with pytest.raises(ValueError, match=r"bn_rank.*axis 1 of input shape to have value 3"):
        layer.apply(tf.zeros([2, 4]))


# ---- layerNormalization -------------------------------------------------------------------
def ln_ref(x, axes, beta, gamma, eps):
    axes = sorted(a % x.ndim for a in axes)
    x64 = x.astype(np.float64)
    mean = x64.mean(tuple(axes), keepdims=True)
    var = x64.var(tuple(axes), keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    y = (x64 - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y


LN_CASES = [
    ((4, 6), -1, True, True, 1e-3),
    ((3, 4, 5), [1, 2], True, True, 1e-5),
    ((3, 4, 5), 1, False, True, 1e-3),
    ((2, 3, 4, 5), [-1], True, False, 1e-3),
    ((2, 3, 4), -2, False, False, 0.1),
]


@pytest.mark.parametrize("shape,axis,center,scale,eps", LN_CASES)
def test_layer_norm(shape, axis, center, scale, eps):
    x = normal(*shape) * 2 + 0.5
    axes = sorted(a % len(shape) for a in (axis if isinstance(axis, list) else [axis]))
    pshape = [shape[a] for a in axes]
    gamma, beta = positive(*pshape), normal(*pshape)
    weights = ([gamma] if scale else []) + ([beta] if center else [])

    def make():
        return tf.layers.layerNormalization({"axis": axis, "center": center, "scale": scale,
                                             "epsilon": eps, "weights": weights})
    eager, predicted, layer = eager_and_predict(make, x)
    expected = ln_ref(x, axes, beta if center else None, gamma if scale else None, eps)
    assert_close(eager, expected, atol=2e-5)
    assert_close(predicted, expected, atol=2e-5)
    assert layer.getConfig()["axis"] == axes       # resolved after build, as TF.js
    assert all(w.trainable for w in layer.weights)


def test_layer_norm_initializers_and_regularizers():
    layer = tf.layers.layerNormalization({"betaInitializer": "ones",
                                          "gammaInitializer": {"className": "Constant",
                                                               "config": {"value": 3}},
                                          "gammaRegularizer": "l1l2"})
    x = normal(2, 5)
    assert_close(layer.apply(tf.tensor(x)), ln_ref(x, [1], np.ones(5), np.full(5, 3.0), 1e-3),
                 atol=2e-5)
    assert len(layer.losses) == 1
    assert layer.getConfig()["gammaRegularizer"]["className"] == "L1L2"


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_layer_norm_shape_inference(data):
    rank = data.draw(st.integers(2, 4))
    shape = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    axes = data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1,
                              unique=True))
    layer = tf.layers.layerNormalization({"axis": axes})
    out = layer.apply(tf.ones(shape))
    assert layer.computeOutputShape(shape) == out.shape == shape
    assert [w.shape for w in layer.weights] == [[shape[a] for a in axes]] * 2


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"unknown option 'epsilom'.*did you mean 'epsilon'"):
        tf.layers.layerNormalization({"epsilom": 1e-3})
    with pytest.raises(ValueError, match=r"ln_dup.*duplicate axes"):
        tf.layers.layerNormalization({"axis": [1, -1], "name": "ln_dup"}).apply(tf.ones([2, 3]))
    with pytest.raises(ValueError, match=r"ln_range.*axis 2 is out of range"):
        tf.layers.layerNormalization({"axis": 2, "name": "ln_range"}).apply(tf.ones([2, 3]))
    with pytest.raises(ValueError, match=r"LayerNormalization layer.*axis must be an integer"):
        tf.layers.layerNormalization({"axis": 0.5})


# ---- TF.js fixtures ---------------------------------------------------------------------
def test_fixture_batchnorm():
    """Dense -> BatchNormalization -> relu -> BatchNormalization(center false, eps 0.01) ->
    LayerNormalization -> Dense, rebuilt from model.json; TF.js's predictions."""
    model_json, weights, inputs, outputs = load_fixture("batchnorm")
    config = model_json["modelTopology"]["config"]
    model = tf.sequential({"layers": [build_layer(e) for e in config["layers"]]})
    set_weights_by_name(model, weights)
    assert_close(model.predict(inputs[0]), outputs[0], rtol=1e-5, atol=1e-6)
    # The same through eager applies, layer by layer.
    x = tf.tensor(inputs[0])
    for layer in model.layers:
        x = layer.apply(x)
    assert_close(x, outputs[0], rtol=1e-5, atol=1e-6)


def test_fixture_batchnorm_conv():
    """Conv2D -> BatchNormalization x2 -> LayerNormalization(eps 1e-5) -> Flatten -> Dense.
    The Conv2D output is prepared with numpy (the model built here starts after it)."""
    model_json, weights, inputs, outputs = load_fixture("batchnorm_conv")
    entries = model_json["modelTopology"]["config"]["layers"]
    features = conv2d_valid(inputs[0], weights["conv2d_Conv2D1/kernel"],
                            weights["conv2d_Conv2D1/bias"])
    inp = tf.input({"shape": list(features.shape[1:])})
    x = inp
    for entry in entries[1:]:
        x = build_layer(entry).apply(x)
    model = tf.model({"inputs": inp, "outputs": x})
    set_weights_by_name(model, {k: v for k, v in weights.items() if "conv2d" not in k})
    assert_close(model.predict(features), outputs[0], rtol=1e-5, atol=2e-6)


def test_fixture_batchnorm_axis1_follows_keras_not_tfjs():
    """channelsFirst Conv2D -> BatchNormalization(axis 1). TF.js 4.22's cpu kernel pairs flat
    element i with parameter i % 5 (tests/fixtures/README.md), so its recorded batch-norm
    output is wrong; Keras's numbers are not recorded. kiln must normalize along axis 1: its
    output is checked against the numpy reference, and the recorded TF.js output against a
    numpy model of TF.js's mistake (which also validates the prepared Conv2D output)."""
    model_json, weights, inputs, outputs = load_fixture("batchnorm_axis1")
    config = model_json["modelTopology"]["config"]
    nhwc = np.transpose(inputs[0], (0, 2, 3, 1))
    features = np.transpose(conv2d_valid(nhwc, weights["conv2d_Conv2D1/kernel"],
                                         weights["conv2d_Conv2D1/bias"]), (0, 3, 1, 2))
    bn = "batch_normalization_BatchNormalization1"
    gamma, beta = weights[f"{bn}/gamma"], weights[f"{bn}/beta"]
    mean, var = weights[f"{bn}/moving_mean"], weights[f"{bn}/moving_variance"]
    flat = features.reshape(-1).astype(np.float64)
    i = np.arange(flat.size) % 5
    tfjs_mistake = ((flat - mean[i]) / np.sqrt(var[i] + 1e-3) * gamma[i] + beta[i])
    np.testing.assert_allclose(tfjs_mistake.reshape(features.shape), outputs[0], rtol=1e-5,
                               atol=1e-5)

    entries = {e["name"]: e for e in config["layers"]}
    inp = tf.input({"shape": list(features.shape[1:])})
    normed = build_layer(entries[bn]).apply(inp)
    flat_out = build_layer(entries["flatten_Flatten1"]).apply(normed)
    head = build_layer(entries["dense_Dense1"]).apply(flat_out)
    model = tf.model({"inputs": inp, "outputs": [normed, head]})
    set_weights_by_name(model, {k: v for k, v in weights.items() if "conv2d" not in k})
    got_bn, got_head = model.predict(features)
    expected = bn_ref(features, [1], mean, var, beta, gamma, 1e-3)
    assert_close(got_bn, expected, atol=2e-5)
    head_ref = expected.reshape(len(features), -1) @ weights["dense_Dense1/kernel"] + \
        weights["dense_Dense1/bias"]
    assert_close(got_head, head_ref, atol=1e-4)
    assert np.abs(values(got_bn) - outputs[0]).max() > 0.1     # TF.js's numbers differ




def test_keras_configs_with_options_tfjs_ignores():
    """Keras 3 writes synchronized/renorm* for BatchNormalization and Keras writes beta/gamma
    constraints for LayerNormalization; TF.js ignores them, kiln accepts them."""
    import json
    from tests.frontend.layers.support import FIXTURES
    path = FIXTURES.parent / "keras" / "k3_cnn_bn_h5" / "model.json"
    layers = json.loads(path.read_text())["modelTopology"]["model_config"]["config"]["layers"]
    entry = next(e for e in layers if e["class_name"] == "BatchNormalization")
    config = {k: v for k, v in entry["config"].items() if k != "dtype"}   # a DTypePolicy
    layer = build_layer({"class_name": "BatchNormalization", "config": config})
    x = normal(2, 3, 3, 4)
    assert_close(layer.apply(tf.tensor(x)), x / np.sqrt(1 + 1e-3))
    with pytest.raises(ValueError, match=r"BatchNormalization layer.*renorm.*not supported"):
        tf.layers.batchNormalization({"renorm": True})
    ln = tf.layers.layerNormalization({"betaConstraint": "nonNeg", "gammaConstraint": None})
    ln.apply(tf.ones([2, 3]))
    assert ln.beta.constraint is not None
    assert ln.getConfig()["betaConstraint"] == {"className": "NonNeg", "config": {}}
    assert "gammaConstraint" not in ln.getConfig()
    with pytest.raises(ValueError, match=r"LayerNormalization layer.*rmsScaling"):
        tf.layers.layerNormalization({"rmsScaling": True})
