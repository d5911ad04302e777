"""cropping2D, upSampling2d, zeroPadding2d and resizing against numpy references."""
import numpy as np
import pytest

import kiln as tf
from tests import nn_reference as ref
from tests.frontend.layers.layer_check import check, from_last, to_last

RNG = np.random.default_rng(11)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("config, pads", [
    ({}, [[1, 1], [1, 1]]), ({"padding": 2}, [[2, 2], [2, 2]]),
    ({"padding": [1, 3]}, [[1, 1], [3, 3]]), ({"padding": [[1, 2], [2, 0]]}, [[1, 2], [2, 0]]),
    ({"padding": [[0, 1], [2, 1]], "dataFormat": "channelsFirst"}, [[0, 1], [2, 1]]),
])
def test_zero_padding2d(config, pads):
    fmt = config.get("dataFormat", "channelsLast")
    layer = check("zeroPadding2d", config, rand(2, 3, 4, 2),
                  lambda x, w: from_last(np.pad(to_last(x, fmt), [(0, 0), *pads, (0, 0)]), fmt))
    assert layer.getConfig()["padding"] == pads


@pytest.mark.parametrize("config, crops", [
    ({"cropping": 1}, [[1, 1], [1, 1]]), ({"cropping": [1, 2]}, [[1, 1], [2, 2]]),
    ({"cropping": [[0, 2], [1, 0]]}, [[0, 2], [1, 0]]),
    ({"cropping": [[1, 1], [0, 2]], "dataFormat": "channelsFirst"}, [[1, 1], [0, 2]]),
])
def test_cropping2d(config, crops):
    fmt = config.get("dataFormat", "channelsLast")
    (t, b), (l, r) = crops

    def reference(x, w):
        x = to_last(x, fmt)
        return from_last(x[:, t:x.shape[1] - b, l:x.shape[2] - r], fmt)
    layer = check("cropping2D", config, rand(2, 6, 7, 3), reference)
    assert layer.getConfig()["cropping"] == crops


@pytest.mark.parametrize("config", [
    {}, {"size": [2, 3]}, {"size": 3, "interpolation": "bilinear"},
    {"size": [3, 2], "interpolation": "bilinear", "dataFormat": "channelsFirst"},
    {"size": [1, 2], "dataFormat": "channelsFirst"},
])
def test_up_sampling2d(config):
    fmt = config.get("dataFormat", "channelsLast")
    size = config.get("size", [2, 2])
    size = size if isinstance(size, list) else [size, size]
    method = config.get("interpolation", "nearest")

    def reference(x, w):
        x = to_last(x, fmt)
        if method == "nearest":      # nearest upsampling by whole factors repeats pixels
            return from_last(x.repeat(size[0], 1).repeat(size[1], 2), fmt)
        # TF.js: resizeBilinear without half-pixel centers (source = target / size)
        return from_last(ref.resize(x, (x.shape[1] * size[0], x.shape[2] * size[1]),
                                    "bilinear"), fmt)
    layer = check("upSampling2d", config, rand(2, 3, 4, 2), reference, rtol=1e-5, atol=1e-6)
    assert list(layer.getConfig())[:3] == ["size", "dataFormat", "interpolation"]


def test_bilinear_upsampling_uses_tf1_sampling_not_half_pixel():
    x = np.array([0, 10], np.float32).reshape(1, 1, 2, 1)
    y = tf.layers.upSampling2d({"size": [1, 2], "interpolation": "bilinear"}).apply(tf.tensor(x))
    np.testing.assert_allclose(y.numpy().reshape(-1), [0, 5, 10, 10])


def _keras_resize(x, height, width, method, crop):
    if crop:
        h, w = x.shape[1:3]
        ch = max(1, min(h, int(w * height / width)))
        cw = max(1, min(w, int(h * width / height)))
        top, left = (h - ch) // 2, (w - cw) // 2
        x = x[:, top:top + ch, left:left + cw]
    return ref.resize(x, (height, width), method, half_pixel=True)


@pytest.mark.parametrize("config", [
    {"height": 4, "width": 5}, {"height": 3, "width": 3, "interpolation": "nearest"},
    {"height": 10, "width": 12}, {"height": 4, "width": 4, "cropToAspectRatio": True},
    {"height": 3, "width": 6, "cropToAspectRatio": True, "interpolation": "nearest"},
])
def test_resizing(config):
    method = config.get("interpolation", "bilinear")
    crop = config.get("cropToAspectRatio", False)
    layer = check("resizing", config, rand(2, 6, 8, 2),
                  lambda x, w: _keras_resize(x, config["height"], config["width"], method, crop),
                  rtol=1e-5, atol=1e-5)
    assert layer.computeOutputShape([None, 6, 8, 2]) == [None, config["height"],
                                                         config["width"], 2]
    assert list(layer.getConfig())[:4] == ["height", "width", "interpolation",
                                           "cropToAspectRatio"]


@pytest.mark.parametrize("factory, config, words", [
    ("cropping2D", {"cropping": [1, 2, 3], "name": "cr"}, ["'cr'", "cropping"]),
    ("cropping2D", {"cropping": -1, "name": "cr2"}, ["'cr2'", "cropping"]),
    ("zeroPadding2d", {"padding": [[1, 2, 3], [1, 1]], "name": "zp"}, ["'zp'", "padding"]),
    ("upSampling2d", {"interpolation": "bicubic", "name": "up"}, ["'up'", "interpolation"]),
    ("upSampling2d", {"size": [2, 2, 2], "name": "up2"}, ["'up2'", "size"]),
    ("resizing", {"height": 4, "width": 4, "interpolation": "area"}, ["interpolation"]),
    ("resizing", {"height": 4}, ["width", "required"]),
])
def test_bad_options(factory, config, words):
    with pytest.raises(ValueError) as info:
        getattr(tf.layers, factory)(config)
    for word in words:
        assert word in str(info.value)


def test_cropping_more_than_the_input_is_an_error():
    layer = tf.layers.cropping2D({"cropping": [[2, 2], [0, 0]], "name": "toomuch"})
    with pytest.raises(ValueError, match="toomuch"):
        layer.apply(tf.input({"shape": [3, 5, 1]}))


@pytest.mark.parametrize("factory", ["cropping2D", "zeroPadding2d", "upSampling2d"])
def test_incompatible_input_rank_names_the_layer(factory):
    config = {"cropping": 1} if factory == "cropping2D" else {}
    layer = getattr(tf.layers, factory)({**config, "name": f"r_{factory}"})
    with pytest.raises(ValueError, match=f"r_{factory}"):
        layer.apply(tf.input({"shape": [5, 5]}))


def test_public_resize_ops():
    x = rand(2, 3, 5, 2)
    np.testing.assert_allclose(tf.image.resizeBilinear(x, [4, 7], True).numpy(),
                               ref.resize(x, (4, 7), "bilinear", align_corners=True), atol=1e-5)
    np.testing.assert_allclose(tf.image.resizeNearestNeighbor(x[0], [6, 2], False, True).numpy(),
                               ref.resize(x[:1], (6, 2), "nearest", half_pixel=True)[0])
