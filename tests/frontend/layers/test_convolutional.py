"""Convolution layers against numpy references: eager apply() and model.predict()."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import kiln as tf
from tests import nn_reference as ref
from tests.frontend.layers.layer_check import ACTIVATIONS, check, from_last, same_pads, to_last

RNG = np.random.default_rng(3)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _tuple(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def conv_reference(config, rank):
    """Reference for conv1d/2d/3d: pad by the TF.js rule, convolve, bias, activation."""
    fmt = config.get("dataFormat", "channelsLast")
    k = _tuple(config["kernelSize"], rank)
    s = _tuple(config.get("strides", 1), rank)
    d = _tuple(config.get("dilationRate", 1), rank)
    padding = config.get("padding", "valid")

    def reference(x, weights):
        x = to_last(x, fmt)
        if padding == "same":
            pads = [same_pads(n, kk, ss, dd) for n, kk, ss, dd in zip(x.shape[1:-1], k, s, d)]
        elif padding == "causal":
            pads = [((kk - 1) * dd, 0) for kk, dd in zip(k, d)]
        else:
            pads = [(0, 0)] * rank
        y = ref.conv(x, weights[0], s, d, pads)
        if len(weights) > 1:
            y = y + weights[1]
        return from_last(ACTIVATIONS[config.get("activation")](y), fmt)
    return reference


CONV2D = [
    ({"filters": 3, "kernelSize": 3}, (2, 6, 7, 2)),
    ({"filters": 4, "kernelSize": 3, "padding": "same", "strides": 2}, (2, 7, 7, 3)),
    ({"filters": 2, "kernelSize": [3, 2], "padding": "same", "dilationRate": 2,
      "activation": "tanh"}, (1, 7, 6, 3)),
    ({"filters": 5, "kernelSize": 2, "padding": "same", "dataFormat": "channelsFirst",
      "activation": "relu"}, (2, 3, 5, 5)),
    ({"filters": 3, "kernelSize": [2, 3], "strides": [2, 1], "useBias": False,
      "dataFormat": "channelsFirst"}, (2, 2, 7, 6)),
    ({"filters": 32, "kernelSize": 3, "activation": "relu", "biasInitializer": "ones"},
     (2, 9, 9, 20)),
]


@pytest.mark.parametrize("config, shape", CONV2D)
def test_conv2d(config, shape):
    layer = check("conv2d", config, rand(*shape), conv_reference(config, 2))
    assert [w.originalName.split("/")[-1] for w in layer.weights] == \
        (["kernel", "bias"] if config.get("useBias", True) else ["kernel"])


CONV1D = [
    ({"filters": 3, "kernelSize": 3}, (2, 9, 2)),
    ({"filters": 4, "kernelSize": 3, "padding": "same", "strides": 2}, (2, 9, 3)),
    ({"filters": 2, "kernelSize": 3, "padding": "causal", "dilationRate": 2,
      "activation": "sigmoid"}, (2, 8, 3)),
    ({"filters": 2, "kernelSize": 2, "padding": "causal", "strides": 2}, (1, 7, 1)),
    ({"filters": 3, "kernelSize": 2, "padding": "same", "dataFormat": "channelsFirst"},
     (2, 4, 5)),
]


@pytest.mark.parametrize("config, shape", CONV1D)
def test_conv1d(config, shape):
    check("conv1d", config, rand(*shape), conv_reference(config, 1))


def test_causal_conv1d_output_t_sees_only_inputs_up_to_t():
    layer = tf.layers.conv1d({"filters": 1, "kernelSize": 3, "padding": "causal",
                              "kernelInitializer": "ones", "useBias": False})
    y = layer.apply(tf.tensor(np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1))).numpy()
    np.testing.assert_allclose(y.reshape(-1), [1, 3, 6, 9, 12])


CONV3D = [
    ({"filters": 3, "kernelSize": 3, "padding": "same"}, (2, 5, 4, 5, 2)),
    ({"filters": 2, "kernelSize": [2, 3, 2], "strides": 2, "dataFormat": "channelsFirst",
      "activation": "relu"}, (1, 2, 5, 6, 5)),
    ({"filters": 2, "kernelSize": 2, "dilationRate": [1, 2, 1]}, (1, 4, 5, 3, 2)),
]


@pytest.mark.parametrize("config, shape", CONV3D)
def test_conv3d(config, shape):
    check("conv3d", config, rand(*shape), conv_reference(config, 3))


def transpose_reference(config, rank):
    fmt = config.get("dataFormat", "channelsLast")
    k = _tuple(config["kernelSize"], rank)
    s = _tuple(config.get("strides", 1), rank)
    padding = config.get("padding", "valid")

    def reference(x, weights):
        x = to_last(x, fmt)
        if padding == "same":
            out = [n * ss for n, ss in zip(x.shape[1:-1], s)]
            pads = [same_pads(n, kk, ss) for n, kk, ss in zip(out, k, s)]
        else:
            out = [n * ss + max(kk - ss, 0) for n, kk, ss in zip(x.shape[1:-1], k, s)]
            pads = [(0, 0)] * rank
        y = ref.conv_backprop_input(x, weights[0], (x.shape[0], *out, config["filters"]), s,
                                    (1,) * rank, pads)
        if len(weights) > 1:
            y = y + weights[1]
        return from_last(ACTIVATIONS[config.get("activation")](y), fmt)
    return reference


TRANSPOSES = [
    ("conv2dTranspose", {"filters": 3, "kernelSize": 3, "strides": 2, "padding": "same"},
     (2, 4, 3, 2)),
    ("conv2dTranspose", {"filters": 2, "kernelSize": [3, 2], "strides": 2}, (1, 3, 4, 3)),
    ("conv2dTranspose", {"filters": 2, "kernelSize": 1, "strides": [2, 3]}, (1, 3, 2, 2)),
    ("conv2dTranspose", {"filters": 4, "kernelSize": 2, "padding": "same",
                         "dataFormat": "channelsFirst", "activation": "relu"}, (2, 3, 3, 4)),
    ("conv3dTranspose", {"filters": 2, "kernelSize": 2, "strides": 2, "padding": "same"},
     (2, 2, 3, 2, 2)),
    ("conv3dTranspose", {"filters": 2, "kernelSize": [3, 2, 2], "dataFormat": "channelsFirst"},
     (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("factory, config, shape", TRANSPOSES)
def test_conv_transpose(factory, config, shape):
    layer = check(factory, config, rand(*shape), transpose_reference(config, len(shape) - 2))
    channels = shape[1] if config.get("dataFormat") == "channelsFirst" else shape[-1]
    assert layer.weights[0].shape[-2:] == [config["filters"], channels]


def depthwise_reference(config, pointwise=False):
    fmt = config.get("dataFormat", "channelsLast")
    k = _tuple(config["kernelSize"], 2)
    s = _tuple(config.get("strides", 1), 2)
    d = _tuple(config.get("dilationRate", 1), 2)
    padding = config.get("padding", "valid")

    def reference(x, weights):
        x = to_last(x, fmt)
        pads = [same_pads(n, kk, ss, dd) for n, kk, ss, dd in zip(x.shape[1:-1], k, s, d)] \
            if padding == "same" else [(0, 0)] * 2
        kernel = weights[0]
        channels, mult = kernel.shape[2:]
        parts = []
        for c in range(channels):          # one ordinary conv per input channel and multiplier
            for j in range(mult):
                parts.append(ref.conv(x[..., c:c + 1], kernel[:, :, c:c + 1, j:j + 1], s, d,
                                      pads))
        y = np.concatenate(parts, axis=-1)
        rest = weights[1:]
        if pointwise:
            y = np.einsum("nhwc,cf->nhwf", y, rest[0][0, 0])
            rest = rest[1:]
        if rest:
            y = y + rest[0]
        return from_last(ACTIVATIONS[config.get("activation")](y), fmt)
    return reference


DEPTHWISE = [
    ({"kernelSize": 3, "depthMultiplier": 2, "padding": "same"}, (2, 5, 6, 3)),
    ({"kernelSize": [3, 2], "strides": 2, "activation": "relu"}, (2, 7, 6, 2)),
    ({"kernelSize": 2, "depthMultiplier": 3, "dataFormat": "channelsFirst"}, (1, 2, 4, 5)),
    ({"kernelSize": 3, "dilationRate": 2, "padding": "same", "useBias": False}, (1, 7, 7, 4)),
    ({"kernelSize": 3, "padding": "same"}, (1, 8, 8, 32)),
]


@pytest.mark.parametrize("config, shape", DEPTHWISE)
def test_depthwise_conv2d(config, shape):
    layer = check("depthwiseConv2d", config, rand(*shape), depthwise_reference(config))
    assert layer.weights[0].originalName.endswith("/depthwise_kernel")


SEPARABLE = [
    ({"filters": 4, "kernelSize": 3, "depthMultiplier": 2, "padding": "same"}, (2, 5, 5, 3)),
    ({"filters": 3, "kernelSize": 2, "strides": 2, "activation": "tanh"}, (1, 7, 6, 2)),
    ({"filters": 2, "kernelSize": 3, "dataFormat": "channelsFirst", "useBias": False},
     (1, 3, 5, 5)),
]


@pytest.mark.parametrize("config, shape", SEPARABLE)
def test_separable_conv2d(config, shape):
    layer = check("separableConv2d", config, rand(*shape), depthwise_reference(config, True))
    names = [w.originalName.split("/")[-1] for w in layer.weights]
    assert names[:2] == ["depthwise_kernel", "pointwise_kernel"]


# ---- computeOutputShape equals the computed shape -----------------------------------------
@settings(max_examples=15, deadline=None)
@given(st.data())
def test_compute_output_shape_matches_the_output(data):
    factory = data.draw(st.sampled_from(["conv1d", "conv2d", "conv3d", "conv2dTranspose",
                                         "conv3dTranspose", "depthwiseConv2d",
                                         "separableConv2d"]))
    rank = {"conv1d": 1, "conv3d": 3, "conv3dTranspose": 3}.get(factory, 2)
    kernel = [data.draw(st.integers(1, 3)) for _ in range(rank)]
    config = {"kernelSize": kernel, "strides": data.draw(st.integers(1, 3)),
              "dataFormat": data.draw(st.sampled_from(["channelsLast", "channelsFirst"]))}
    paddings = ["valid", "same"] + (["causal"] if factory == "conv1d" else [])
    config["padding"] = data.draw(st.sampled_from(paddings))
    if factory != "depthwiseConv2d":
        config["filters"] = data.draw(st.integers(1, 3))
    if "Transpose" not in factory and config["strides"] == 1:
        config["dilationRate"] = data.draw(st.integers(1, 2))
    sizes = [data.draw(st.integers(k * config.get("dilationRate", 1), 6)) for k in kernel]
    channels = data.draw(st.integers(1, 3))
    shape = [2, channels, *sizes] if config["dataFormat"] == "channelsFirst" else \
        [2, *sizes, channels]
    layer = getattr(tf.layers, factory)(config)
    out = layer.apply(tf.tensor(rand(*shape)))
    assert layer.computeOutputShape([None, *shape[1:]]) == [None, *out.shape[1:]]
    symbolic = layer.apply(tf.input({"shape": shape[1:]}))
    assert symbolic.shape == [None, *out.shape[1:]]


# ---- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("factory, config, words", [
    ("conv2d", {"filters": 2, "kernelSize": [3, 3, 3], "name": "c2"}, ["'c2'", "kernelSize"]),
    ("conv2d", {"filters": 2, "kernelSize": 0, "name": "c3"}, ["'c3'", "kernelSize"]),
    ("conv2d", {"filters": 0, "kernelSize": 3, "name": "c4"}, ["'c4'", "filters"]),
    ("conv2d", {"filters": 2, "kernelSize": 3, "padding": "causal", "name": "c5"},
     ["'c5'", "padding", "'valid'"]),
    ("conv2d", {"filters": 2, "kernelSize": 3, "padding": "full", "name": "c6"}, ["padding"]),
    ("conv2d", {"filters": 2, "kernelSize": 3, "dataFormat": "NHWC", "name": "c7"},
     ["dataFormat", "channelsLast"]),
    ("conv2d", {"filters": 2, "kernel_size": 3}, ["'kernelSize'"]),
    ("conv2d", {"kernelSize": 3}, ["filters", "required"]),
    ("conv2dTranspose", {"filters": 2, "kernelSize": 3, "padding": "causal"}, ["padding"]),
    ("separableConv2d", {"filters": 2, "kernelSize": 3, "kernelInitializer": "ones",
                         "name": "s1"}, ["'s1'", "depthwiseInitializer"]),
    ("conv1d", {"filters": 2, "kernelSize": [2, 2], "name": "c8"}, ["'c8'", "kernelSize"]),
    ("conv2d", {"filters": 2, "kernelSize": 3, "activation": "rellu"}, ["activation", "relu"]),
])
def test_bad_options_raise_naming_the_layer(factory, config, words):
    with pytest.raises(ValueError) as info:
        getattr(tf.layers, factory)(config)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("factory, config, shape", [
    ("conv2d", {"filters": 2, "kernelSize": 3, "name": "rank_conv2d"}, [5, 5]),
    ("conv1d", {"filters": 2, "kernelSize": 3, "name": "rank_conv1d"}, [5, 5, 2]),
    ("conv3d", {"filters": 2, "kernelSize": 3, "name": "rank_conv3d"}, [5, 5, 2]),
    ("depthwiseConv2d", {"kernelSize": 3, "name": "rank_dw"}, [5, 2]),
    ("conv2dTranspose", {"filters": 2, "kernelSize": 3, "name": "rank_tr"}, [5, 5, 5, 2]),
])
def test_incompatible_input_rank_names_the_layer(factory, config, shape):
    layer = getattr(tf.layers, factory)(config)
    with pytest.raises(ValueError, match=config["name"]):
        layer.apply(tf.input({"shape": shape}))
    with pytest.raises(ValueError, match=config["name"]):
        layer.apply(tf.zeros([1, *shape]))


def test_input_too_small_for_the_kernel_is_an_error():
    layer = tf.layers.conv2d({"filters": 2, "kernelSize": 5})
    with pytest.raises(ValueError, match="does not fit"):
        layer.apply(tf.zeros([1, 3, 3, 1]))


def test_changed_channel_count_is_an_error():
    layer = tf.layers.conv2d({"filters": 2, "kernelSize": 1, "name": "chan"})
    layer.apply(tf.zeros([1, 3, 3, 2]))
    with pytest.raises(ValueError, match="chan"):
        layer.apply(tf.zeros([1, 3, 3, 4]))


def test_config_defaults_and_key_order():
    config = tf.layers.conv2d({"filters": 2, "kernelSize": 3, "name": "cfg"}).getConfig()
    assert list(config) == ["filters", "kernelInitializer", "kernelRegularizer",
                            "kernelConstraint", "kernelSize", "strides", "padding", "dataFormat",
                            "dilationRate", "activation", "useBias", "biasInitializer",
                            "biasRegularizer", "activityRegularizer", "biasConstraint", "name",
                            "trainable"]
    assert config["kernelSize"] == [3, 3] and config["strides"] == [1, 1]
    assert config["kernelInitializer"]["className"] == "VarianceScaling"
    assert config["kernelInitializer"]["config"]["distribution"] == "normal"
    assert config["activation"] == "linear" and config["padding"] == "valid"
    sep = tf.layers.separableConv2d({"filters": 2, "kernelSize": 3}).getConfig()
    assert sep["depthwiseInitializer"]["config"]["distribution"] == "uniform"
    assert sep["pointwiseInitializer"]["config"]["distribution"] == "uniform"
    assert "kernelInitializer" not in sep and sep["depthMultiplier"] == 1
    dw = tf.layers.depthwiseConv2d({"kernelSize": 3}).getConfig()
    assert dw["depthwiseInitializer"]["config"]["distribution"] == "normal"
    assert "dataFormat" not in tf.layers.conv1d({"filters": 1, "kernelSize": 2}).getConfig()
    assert "dilationRate" not in tf.layers.conv2dTranspose(
        {"filters": 1, "kernelSize": 2}).getConfig()


def test_initializer_regularizer_constraint_options_are_kept():
    layer = tf.layers.conv2d({"filters": 2, "kernelSize": 2, "kernelInitializer": "ones",
                              "biasInitializer": "ones", "kernelRegularizer": "l1l2",
                              "biasRegularizer": "l1l2", "kernelConstraint": "nonNeg",
                              "biasConstraint": "maxNorm", "activityRegularizer": "l1l2"})
    layer.apply(tf.zeros([1, 3, 3, 1]))
    np.testing.assert_array_equal(layer.getWeights()[0].numpy(), np.ones((2, 2, 1, 2)))
    np.testing.assert_array_equal(layer.getWeights()[1].numpy(), np.ones(2))
    config = layer.getConfig()
    assert config["kernelRegularizer"]["className"] == "L1L2"
    assert config["kernelConstraint"]["className"] == "NonNeg"
    assert config["biasConstraint"]["className"] == "MaxNorm"
    assert layer.countParams() == 10


def test_public_conv_ops_match_the_reference():
    x, w = rand(2, 6, 5, 3), rand(3, 2, 3, 4)
    y = tf.conv2d(x, w, 2, "same").numpy()
    np.testing.assert_allclose(y, ref.conv(x, w, (2, 2), (1, 1), [same_pads(6, 3, 2),
                                                                  same_pads(5, 2, 2)]),
                               rtol=1e-4, atol=1e-4)
    y = tf.conv2d(x[0], w, 1, 1).numpy()          # unbatched input, numeric padding
    np.testing.assert_allclose(y, ref.conv(x[:1], w, (1, 1), (1, 1), [(1, 1), (1, 1)])[0],
                               rtol=1e-4, atol=1e-4)
    y = tf.conv2d(np.moveaxis(x, -1, 1), w, 1, "valid", "NCHW").numpy()
    np.testing.assert_allclose(np.moveaxis(y, 1, -1),
                               ref.conv(x, w, (1, 1), (1, 1), [(0, 0), (0, 0)]), rtol=1e-4,
                               atol=1e-4)
    dy = rand(2, 3, 3, 4)
    y = tf.conv2dTranspose(dy, w, [2, 6, 5, 3], 2, "same").numpy()
    np.testing.assert_allclose(y, ref.conv_backprop_input(dy, w, (2, 6, 5, 3), (2, 2), (1, 1),
                                                          [same_pads(6, 3, 2),
                                                           same_pads(5, 2, 2)]),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="conv2d: depth of input"):
        tf.conv2d(x, rand(3, 3, 2, 4), 1, "valid")
