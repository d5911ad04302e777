"""Pooling layers against numpy references: eager apply() and model.predict()."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import kiln as tf
from tests import nn_reference as ref
from tests.frontend.layers.layer_check import check, from_last, same_pads, to_last

RNG = np.random.default_rng(5)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def pool_reference(mode, config, rank):
    fmt = config.get("dataFormat", "channelsLast")
    k = config.get("poolSize", 2)
    k = list(k) if isinstance(k, (list, tuple)) else [k] * rank
    s = config.get("strides", k)
    s = list(s) if isinstance(s, (list, tuple)) else [s] * rank

    def reference(x, weights):
        x = to_last(x, fmt)
        if config.get("padding") == "same":
            pads = [same_pads(n, kk, ss) for n, kk, ss in zip(x.shape[1:-1], k, s)]
        else:
            pads = [(0, 0)] * rank
        return from_last(ref.pool(x, mode, k, s, pads), fmt)
    return reference


POOLS = [
    ("maxPooling2d", "max", {}, (2, 6, 7, 3)),
    ("averagePooling2d", "avg", {}, (2, 6, 7, 3)),
    ("maxPooling2d", "max", {"poolSize": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 2)),
    ("averagePooling2d", "avg", {"poolSize": [3, 2], "strides": 1, "padding": "same"},
     (1, 5, 5, 2)),
    ("averagePooling2d", "avg", {"poolSize": 2, "padding": "same",
                                 "dataFormat": "channelsFirst"}, (2, 3, 5, 5)),
    ("maxPooling2d", "max", {"poolSize": [2, 3], "dataFormat": "channelsFirst"}, (1, 2, 6, 7)),
    ("maxPooling1d", "max", {}, (2, 7, 3)),
    ("averagePooling1d", "avg", {"poolSize": 3, "strides": 1, "padding": "same"}, (2, 6, 2)),
    ("maxPooling1d", "max", {"poolSize": 3, "strides": 2, "padding": "same"}, (2, 8, 2)),
    ("maxPooling3d", "max", {}, (1, 4, 5, 4, 2)),
    ("averagePooling3d", "avg", {"poolSize": [2, 2, 1], "strides": 1}, (2, 3, 4, 3, 2)),
    ("averagePooling3d", "avg", {"poolSize": 3, "strides": 2, "padding": "same",
                                 "dataFormat": "channelsFirst"}, (1, 2, 5, 4, 5)),
]


@pytest.mark.parametrize("factory, mode, config, shape", POOLS)
def test_pooling(factory, mode, config, shape):
    check(factory, config, rand(*shape), pool_reference(mode, config, len(shape) - 2),
          rtol=1e-5, atol=1e-6)


def test_same_average_pooling_excludes_padding():
    x = np.ones((1, 3, 3, 1), np.float32)
    layer = tf.layers.averagePooling2d({"poolSize": 3, "strides": 1, "padding": "same"})
    np.testing.assert_array_equal(layer.apply(tf.tensor(x)).numpy(), x)


GLOBAL = [
    ("globalMaxPooling1d", lambda x: x.max(1), (2, 5, 3), {}),
    ("globalAveragePooling1d", lambda x: x.mean(1), (2, 5, 3), {}),
    ("globalMaxPooling2d", lambda x: x.max((1, 2)), (2, 4, 5, 3), {}),
    ("globalAveragePooling2d", lambda x: x.mean((1, 2)), (2, 4, 5, 3), {}),
    ("globalMaxPooling2d", lambda x: x.max((2, 3)), (2, 3, 4, 5), {"dataFormat": "channelsFirst"}),
    ("globalAveragePooling2d", lambda x: x.mean((2, 3)), (2, 3, 4, 5),
     {"dataFormat": "channelsFirst"}),
]


@pytest.mark.parametrize("factory, fn, shape, config", GLOBAL)
def test_global_pooling(factory, fn, shape, config):
    check(factory, config, rand(*shape), lambda x, w: fn(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alias, target", [
    ("avgPool1d", "averagePooling1d"), ("avgPooling1d", "averagePooling1d"),
    ("avgPool2d", "averagePooling2d"), ("avgPooling2d", "averagePooling2d"),
    ("avgPool3d", "averagePooling3d"), ("avgPooling3d", "averagePooling3d"),
    ("maxPool1d", "maxPooling1d"), ("maxPool2d", "maxPooling2d"),
    ("globalMaxPool1d", "globalMaxPooling1d"), ("globalMaxPool2d", "globalMaxPooling2d"),
])
def test_aliases(alias, target):
    assert type(getattr(tf.layers, alias)({})) is type(getattr(tf.layers, target)({}))


def test_config_keys_and_defaults():
    config = tf.layers.maxPooling2d({"name": "p"}).getConfig()
    assert config == {"poolSize": [2, 2], "padding": "valid", "strides": [2, 2],
                      "dataFormat": "channelsLast", "name": "p", "trainable": True}
    config = tf.layers.averagePooling1d({"name": "q", "strides": 1}).getConfig()
    assert config == {"poolSize": [2], "padding": "valid", "strides": [1], "name": "q",
                      "trainable": True}
    assert tf.layers.maxPooling3d({}).getConfig()["poolSize"] == [2, 2, 2]
    assert list(tf.layers.globalAveragePooling2d({"name": "g"}).getConfig()) == \
        ["dataFormat", "name", "trainable"]
    assert list(tf.layers.globalMaxPooling1d({"name": "h"}).getConfig()) == ["name", "trainable"]


@pytest.mark.parametrize("factory, config, words", [
    ("maxPooling2d", {"poolSize": [2, 2, 2], "name": "mp"}, ["'mp'", "poolSize"]),
    ("maxPooling2d", {"strides": [1, 2, 3], "name": "mp2"}, ["'mp2'", "strides"]),
    ("averagePooling1d", {"poolSize": 0, "name": "ap"}, ["'ap'", "poolSize"]),
    ("maxPooling2d", {"padding": "full"}, ["padding"]),
    ("globalMaxPooling2d", {"dataFormat": "nhwc"}, ["dataFormat"]),
])
def test_bad_options(factory, config, words):
    with pytest.raises(ValueError) as info:
        getattr(tf.layers, factory)(config)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("factory, shape", [("maxPooling2d", [4, 4]), ("maxPooling1d", [4]),
                                            ("globalAveragePooling2d", [3, 3]),
                                            ("averagePooling3d", [2, 2, 2])])
def test_incompatible_input_rank_names_the_layer(factory, shape):
    layer = getattr(tf.layers, factory)({"name": f"bad_{factory}"})
    with pytest.raises(ValueError, match=f"bad_{factory}"):
        layer.apply(tf.input({"shape": shape}))


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_compute_output_shape_matches_the_output(data):
    rank = data.draw(st.integers(1, 3))
    factory = data.draw(st.sampled_from(["max", "average"])) + f"Pooling{rank}d"
    config = {"poolSize": [data.draw(st.integers(1, 3)) for _ in range(rank)],
              "strides": data.draw(st.integers(1, 3)),
              "padding": data.draw(st.sampled_from(["valid", "same"]))}
    if rank > 1:
        config["dataFormat"] = data.draw(st.sampled_from(["channelsLast", "channelsFirst"]))
    sizes = [data.draw(st.integers(k, 6)) for k in config["poolSize"]]
    shape = [2, 2, *sizes] if config.get("dataFormat") == "channelsFirst" else [2, *sizes, 2]
    layer = getattr(tf.layers, factory)(config)
    out = layer.apply(tf.tensor(rand(*shape)))
    assert layer.computeOutputShape([None, *shape[1:]]) == [None, *out.shape[1:]]


def test_public_pool_ops():
    x = rand(2, 7, 6, 3)
    np.testing.assert_allclose(tf.maxPool(x, 3, 2, "same").numpy(),
                               ref.pool(x, "max", (3, 3), (2, 2), [same_pads(7, 3, 2),
                                                                   same_pads(6, 3, 2)]))
    np.testing.assert_allclose(tf.avgPool(x, [2, 3], 1, "valid").numpy(),
                               ref.pool(x, "avg", (2, 3), (1, 1), [(0, 0), (0, 0)]), rtol=1e-5, atol=1e-6)
    x5 = rand(1, 4, 4, 4, 2)
    np.testing.assert_allclose(tf.avgPool3d(x5, 2, 2, "valid").numpy(),
                               ref.pool(x5, "avg", (2, 2, 2), (2, 2, 2), [(0, 0)] * 3), rtol=1e-5, atol=1e-6)
