"""rescaling, centerCrop, categoryEncoding against numpy: options, shapes, errors, and the
TF.js fixtures `preprocessing` and `category_encoding`."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from kiln.frontend.engine.naming import to_camel_case
from tests.frontend.layers.support import (assert_close, build_functional, build_layer,
                                           eager_and_predict, load_fixture,
                                           set_weights_by_name, values)

RNG = np.random.default_rng(5)


# ---- rescaling ----------------------------------------------------------------------------
@pytest.mark.parametrize("scale,offset", [(1 / 255, -0.5), (2.0, None), (-3, 1)])
def test_rescaling(scale, offset):
    x = RNG.uniform(0, 255, size=(2, 4, 3)).astype(np.float32)
    config = {"scale": scale} if offset is None else {"scale": scale, "offset": offset}
    eager, predicted, layer = eager_and_predict(lambda: tf.layers.rescaling(config), x)
    expected = x.astype(np.float64) * scale + (offset or 0)
    assert_close(eager, expected)
    assert_close(predicted, expected)
    assert layer.getConfig()["offset"] == (offset or 0)


def test_rescaling_casts_integers_to_float():
    x = np.array([[0, 128, 255]], np.int32)
    out = tf.layers.rescaling({"scale": 1 / 255}).apply(tf.tensor(x))
    assert out.dtype == "float32"
    assert_close(out, x / 255)
    sym = tf.layers.rescaling({"scale": 2}).apply(tf.input({"shape": [3], "dtype": "int32"}))
    assert sym.dtype == "float32"


# ---- centerCrop ---------------------------------------------------------------------------
def crop_ref(x, height, width):
    top = (x.shape[-3] - height) // 2
    left = (x.shape[-2] - width) // 2
    return x[..., top:top + height, left:left + width, :]


@pytest.mark.parametrize("shape,height,width", [
    ((2, 8, 10, 3), 6, 6),
    ((2, 8, 10, 3), 5, 9),          # TF.js 4.22 starts this crop at column 1; Keras at 0
    ((1, 7, 7, 2), 2, 3),
    ((3, 4, 5, 1), 4, 5),           # nothing to crop
])
def test_center_crop(shape, height, width):
    x = RNG.normal(size=shape).astype(np.float32)
    eager, predicted, _ = eager_and_predict(
        lambda: tf.layers.centerCrop({"height": height, "width": width}), x)
    assert_close(eager, crop_ref(x, height, width), rtol=0, atol=0)
    assert_close(predicted, crop_ref(x, height, width), rtol=0, atol=0)


def test_center_crop_of_a_single_image_and_integer_pixels():
    x = RNG.integers(0, 255, size=(9, 6, 3)).astype(np.int32)
    out = tf.layers.centerCrop({"height": 4, "width": 3}).apply(tf.tensor(x))
    assert out.dtype == "int32"
    np.testing.assert_array_equal(values(out), crop_ref(x, 4, 3))


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_center_crop_shape_inference(data):
    rank = data.draw(st.sampled_from([3, 4]))
    shape = data.draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank))
    height = data.draw(st.integers(1, shape[-3]))
    width = data.draw(st.integers(1, shape[-2]))
    layer = tf.layers.centerCrop({"height": height, "width": width})
    out = layer.apply(tf.ones(shape))
    assert layer.computeOutputShape(shape) == out.shape
    before = list(shape)
    layer.computeOutputShape(shape)
    assert shape == before            # TF.js mutates the list it is given; kiln does not


def test_center_crop_errors():
    with pytest.raises(ValueError, match=r"CenterCrop layer 'cc_big'.*larger than the input"):
        tf.layers.centerCrop({"height": 5, "width": 2, "name": "cc_big"}).apply(
            tf.ones([1, 4, 4, 1]))
    with pytest.raises(ValueError, match=r"CenterCrop layer.*height must be a positive integer"):
        tf.layers.centerCrop({"height": 0, "width": 2})
    with pytest.raises(ValueError, match=r"unknown option 'heigth'.*did you mean 'height'"):
        tf.layers.centerCrop({"heigth": 2, "width": 2})
    with pytest.raises(ValueError, match=r"'cc_rank'.*expected min_ndim=3"):
        tf.layers.centerCrop({"height": 1, "width": 1, "name": "cc_rank"}).apply(tf.ones([2, 2]))


# ---- categoryEncoding ---------------------------------------------------------------------
def encode_ref(x, num_tokens, mode, weights=None):
    x = np.asarray(x).astype(np.int64)
    if x.ndim == 0:
        x = x.reshape(1)
    if mode == "oneHot" and x.shape[-1] != 1:
        x = x[..., None]
    single = x.ndim == 1
    rows = x[None] if single else x
    out = np.zeros((len(rows), num_tokens))
    w = None if weights is None else (np.asarray(weights)[None] if single else weights)
    for i, row in enumerate(rows):
        for j, token in enumerate(row):
            out[i, token] += 1 if w is None else w[i][j]
    if mode in ("oneHot", "multiHot"):
        out = np.minimum(out, 1)
    return out[0] if single else out


@pytest.mark.parametrize("mode,data,dtype", [
    ("multiHot", [[1, 2, 4, 3], [5, 0, 2, 4], [4, 1, 0, 0]], "int32"),
    ("count", [[1, 2, 4, 4], [5, 5, 5, 4], [0, 1, 0, 0]], "int32"),
    ("oneHot", [3, 0, 5, 1], "int32"),
    ("oneHot", [[3], [0], [5]], "int32"),
    ("multiHot", [[1.7, 2.2], [5.9, 0.1]], "float32"),     # floats are truncated
    ("count", [1, 1, 3], "int32"),                          # rank 1: one sample
])
def test_category_encoding(mode, data, dtype):
    x = np.array(data, dtype=dtype)
    make = (lambda: tf.layers.categoryEncoding({"numTokens": 6, "outputMode": mode}))
    eager = make().apply(tf.tensor(x, None, dtype))
    assert eager.dtype == "float32"
    assert_close(eager, encode_ref(x, 6, mode), rtol=0, atol=0)
    if x.ndim == 2 or mode == "oneHot":
        _, predicted, _ = eager_and_predict(make, x, dtypes=[dtype])
        assert_close(predicted, encode_ref(x, 6, mode), rtol=0, atol=0)


def test_category_encoding_count_weights():
    x = np.array([[1, 2, 2], [0, 3, 3]], np.int32)
    w = np.array([[0.5, 1.5, 2.0], [1.0, -1.0, 4.0]], np.float32)
    layer = tf.layers.categoryEncoding({"numTokens": 4, "outputMode": "count"})
    out = layer.apply(tf.tensor(x), {"countWeights": tf.tensor(w)})
    assert_close(out, encode_ref(x, 4, "count", w))
    sym_x, sym_w = tf.input({"shape": [3], "dtype": "int32"}), tf.input({"shape": [3]})
    sym = layer.apply(sym_x, {"countWeights": sym_w})
    assert sym.shape == [None, 4]
    model = tf.model({"inputs": [sym_x, sym_w], "outputs": sym})
    assert_close(model.predict([x, w]), encode_ref(x, 4, "count", w))
    with pytest.raises(ValueError, match=r"countWeights is only used when outputMode is 'count'"):
        tf.layers.categoryEncoding({"numTokens": 4}).apply(tf.tensor(x),
                                                           {"countWeights": tf.tensor(w)})


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_category_encoding_shape_inference(data):
    mode = data.draw(st.sampled_from(["oneHot", "multiHot", "count"]))
    rank = data.draw(st.integers(0, 1 if mode == "oneHot" else 2))
    shape = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    tokens = data.draw(st.integers(1, 5))
    layer = tf.layers.categoryEncoding({"numTokens": tokens, "outputMode": mode})
    out = layer.apply(tf.zeros(shape, "int32"))
    assert layer.computeOutputShape(shape) == out.shape
    assert_close(out, encode_ref(np.zeros(shape, np.int32), tokens, mode), rtol=0, atol=0)


def test_category_encoding_errors():
    with pytest.raises(ValueError, match=r"CategoryEncoding layer 'ce'.*\[0, 3\); got values "
                                         r"from 0 to 3"):
        tf.layers.categoryEncoding({"numTokens": 3, "name": "ce"}).apply(
            tf.tensor([[0, 3]], None, "int32"))
    with pytest.raises(ValueError, match=r"CategoryEncoding layer.*got values from -1"):
        tf.layers.categoryEncoding({"numTokens": 3}).apply(tf.tensor([[-1, 2]], None, "int32"))
    with pytest.raises(ValueError, match=r"outputMode must be one of.*did you mean 'multiHot'"):
        tf.layers.categoryEncoding({"numTokens": 3, "outputMode": "multi_hot"})
    with pytest.raises(ValueError, match=r"'ce_rank'.*maximum output rank is 2"):
        tf.layers.categoryEncoding({"numTokens": 3, "outputMode": "oneHot", "name": "ce_rank"}
                                   ).apply(tf.input({"shape": [4]}))
    with pytest.raises(ValueError, match=r"CategoryEncoding layer.*numTokens must be a positive"):
        tf.layers.categoryEncoding({"numTokens": 0})
    with pytest.raises(ValueError, match=r"unknown option 'numToken'.*did you mean 'numTokens'"):
        tf.layers.categoryEncoding({"numToken": 3})


# ---- TF.js fixtures ---------------------------------------------------------------------
def test_fixture_preprocessing():
    """Rescaling(1/255, -0.5) -> Conv2D 1x1 -> CenterCrop 6x6 and 5x9. A 1x1 stride-1 Conv2D
    is a Dense over the channels, so the model is rebuilt with a Dense holding the conv
    kernel. The 6x6 crop must equal TF.js's output. TF.js starts the 5x9 crop of a 10-wide
    image at column 1 (tests/fixtures/README.md) where Keras and kiln start at 0: the columns
    both contain must agree, and the whole crop must equal the numpy reference."""
    model_json, weights, inputs, outputs = load_fixture("preprocessing")
    entries = {e["name"]: e for e in model_json["modelTopology"]["config"]["layers"]}
    image = tf.input({"shape": [8, 10, 3]})
    scaled = build_layer(entries["rescaling_Rescaling1"]).apply(image)
    conv = tf.layers.dense({"units": 3, "name": "conv2d_Conv2D1"}).apply(scaled)
    crops = [build_layer(entries[n]).apply(conv) for n in
             ("center_crop_CenterCrop1", "center_crop_CenterCrop2")]
    model = tf.model({"inputs": image, "outputs": crops})
    kernel, bias = weights["conv2d_Conv2D1/kernel"], weights["conv2d_Conv2D1/bias"]
    set_weights_by_name(model, {"conv2d_Conv2D1/kernel": kernel.reshape(3, 3),
                                "conv2d_Conv2D1/bias": bias})
    six, five_nine = model.predict(inputs[0])
    assert_close(six, outputs[0], rtol=1e-5, atol=1e-6)
    features = (inputs[0].astype(np.float64) / 255 - 0.5) @ kernel.reshape(3, 3) + bias
    assert_close(five_nine, crop_ref(features, 5, 9), atol=1e-5)
    np.testing.assert_allclose(values(five_nine)[:, :, 1:], outputs[1][:, :, :-1], rtol=1e-5,
                               atol=1e-6)
    for name in ("rescaling_Rescaling1", "center_crop_CenterCrop1"):
        config = build_layer(entries[name]).getConfig()
        assert config == {to_camel_case(k): v for k, v in entries[name]["config"].items()}


def test_fixture_category_encoding():
    """Reshape -> CategoryEncoding(multiHot) -> Dense, and CategoryEncoding(count) as a
    second output."""
    model_json, weights, inputs, outputs = load_fixture("category_encoding")
    model = build_functional(model_json["modelTopology"]["config"])
    set_weights_by_name(model, weights)
    dense_out, counts = model.predict(inputs[0])
    assert_close(dense_out, outputs[0], rtol=1e-5, atol=1e-6)
    assert_close(counts, outputs[1], rtol=0, atol=0)
    for entry in model_json["modelTopology"]["config"]["layers"]:
        if entry["class_name"] == "CategoryEncoding":
            config = build_layer(entry).getConfig()
            assert config == {to_camel_case(k): (to_camel_case(v) if isinstance(v, str) and
                                                 k != "name" else v)
                              for k, v in entry["config"].items()}
