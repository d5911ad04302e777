"""Merge layers against numpy: add, average, maximum, minimum, multiply (with TF.js's
broadcasting), concatenate (any axis), dot (axes, normalize); shape inference, masks, errors,
and the TF.js fixtures that use them."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.frontend.layers.support import (assert_close, build_functional, eager_and_predict,
                                           load_fixture, set_weights_by_name, values)

RNG = np.random.default_rng(7)

ELEMENTWISE = {
    "add": lambda xs: functools.reduce(np.add, xs),
    "multiply": lambda xs: functools.reduce(np.multiply, xs),
    "average": lambda xs: functools.reduce(np.add, xs) / len(xs),
    "maximum": lambda xs: functools.reduce(np.maximum, xs),
    "minimum": lambda xs: functools.reduce(np.minimum, xs),
}


def normal(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def tfjs_broadcast(arrays):
    """TF.js's merge broadcasting: lower-rank inputs get unit axes after the batch axis."""
    top = max(a.ndim for a in arrays)
    return [a.reshape(a.shape[:1] + (1,) * (top - a.ndim) + a.shape[1:]) for a in arrays]


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("shapes", [
    [(3, 4), (3, 4)],
    [(2, 3, 4), (2, 3, 4), (2, 3, 4)],
    [(2, 4), (2, 3, 4)],              # rank broadcasting: [2, 4] acts as [2, 1, 4]
    [(2, 1, 4), (2, 3, 1)],           # size-1 broadcasting
])
def test_elementwise_merges(name, shapes):
    arrays = [normal(*s) for s in shapes]
    eager, predicted, _ = eager_and_predict(lambda: getattr(tf.layers, name)(), arrays)
    expected = ELEMENTWISE[name]([a.astype(np.float64) for a in tfjs_broadcast(arrays)])
    assert_close(eager, expected)
    assert_close(predicted, expected)


def test_elementwise_merges_keep_int32():
    a = np.array([[1, 5], [7, -2]], np.int32)
    b = np.array([[3, 2], [-1, 4]], np.int32)
    for name in ("add", "multiply", "maximum", "minimum"):
        out = getattr(tf.layers, name)([tf.tensor(a), tf.tensor(b)])
        assert out.dtype == "int32"
        np.testing.assert_array_equal(values(out), ELEMENTWISE[name]([a, b]))


def test_factory_applies_a_new_layer_to_a_list():
    a, b = normal(2, 3), normal(2, 3)
    out = tf.layers.add([tf.tensor(a), tf.tensor(b)])
    assert_close(out, a + b)
    x, y = tf.input({"shape": [2, 2]}), tf.input({"shape": [2, 2]})
    sym = tf.layers.concatenate([x, y])
    assert sym.shape == [None, 2, 4]
    assert sym.sourceLayer.getClassName() == "Concatenate"


CONCAT_CASES = [
    ([(2, 3), (2, 4)], -1),
    ([(2, 3, 4), (2, 5, 4), (2, 1, 4)], 1),
    ([(2, 3, 4), (2, 3, 2)], 2),
    ([(2, 3, 4), (2, 2, 4)], -2),
    ([(2, 3), (4, 3)], 0),
]


@pytest.mark.parametrize("shapes,axis", CONCAT_CASES)
def test_concatenate(shapes, axis):
    arrays = [normal(*s) for s in shapes]
    expected = np.concatenate(arrays, axis)
    out = tf.layers.concatenate({"axis": axis}).apply([tf.tensor(a) for a in arrays])
    assert_close(out, expected)
    if axis != 0:           # a model's inputs share the batch axis
        eager, predicted, _ = eager_and_predict(lambda: tf.layers.concatenate({"axis": axis}),
                                                arrays)
        assert_close(predicted, expected)


def dot_ref(x1, x2, axes, normalize):
    """Keras's batch_dot: contract axes per sample; remaining axes of x1 then of x2."""
    a1, a2 = (axes, axes) if isinstance(axes, int) else axes
    a1, a2 = a1 % x1.ndim, a2 % x2.ndim
    x1, x2 = x1.astype(np.float64), x2.astype(np.float64)
    if normalize:
        x1 = x1 / np.sqrt(np.maximum((x1 ** 2).sum(a1, keepdims=True), 1e-7))
        x2 = x2 / np.sqrt(np.maximum((x2 ** 2).sum(a2, keepdims=True), 1e-7))
    out = np.stack([np.tensordot(x1[i], x2[i], axes=(a1 - 1, a2 - 1))
                    for i in range(len(x1))])
    return out.reshape(len(x1), 1) if out.ndim == 1 else out


DOT_CASES = [
    ([(3, 5), (3, 5)], 1, False),
    ([(3, 5), (3, 5)], -1, True),
    ([(2, 3, 4), (2, 3, 5)], 1, False),
    ([(2, 3, 4), (2, 4, 5)], [2, 1], False),
    ([(2, 3, 4), (2, 5, 4)], [2, 2], True),
    ([(2, 4), (2, 4, 3)], [1, 1], False),       # mixed ranks
    ([(2, 3, 4), (2, 3)], [1, -1], False),
    ([(2, 2, 3, 4), (2, 4, 5)], [-1, 1], True),  # rank 4 (TF.js stops at rank 3)
]


@pytest.mark.parametrize("shapes,axes,normalize", DOT_CASES)
def test_dot(shapes, axes, normalize):
    arrays = [normal(*s) for s in shapes]
    eager, predicted, layer = eager_and_predict(
        lambda: tf.layers.dot({"axes": axes, "normalize": normalize}), arrays)
    expected = dot_ref(*arrays, axes, normalize)
    assert_close(eager, expected, atol=2e-5)
    assert_close(predicted, expected, atol=2e-5)
    assert layer.getConfig()["axes"] == axes and layer.getConfig()["normalize"] == normalize


# ---- shape inference --------------------------------------------------------------------
@st.composite
def merge_shapes(draw):
    """2-3 shapes (batch 2) that broadcast under TF.js's merge rule."""
    out = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shapes = []
    for _ in range(draw(st.integers(2, 3))):
        drop = draw(st.integers(0, len(out) - 1))
        shapes.append((2,) + tuple(1 if draw(st.booleans()) else d for d in out[drop:]))
    return shapes


@settings(max_examples=15, deadline=None)
@given(merge_shapes(), st.sampled_from(sorted(ELEMENTWISE)))
def test_elementwise_shape_inference(shapes, name):
    layer = getattr(tf.layers, name)()
    out = layer.apply([tf.ones(list(s)) for s in shapes])
    assert layer.computeOutputShape([list(s) for s in shapes]) == out.shape
    symbolic = getattr(tf.layers, name)().apply(
        [tf.input({"batchShape": [None] + list(s[1:])}) for s in shapes])
    assert symbolic.shape == [None] + out.shape[1:]


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_concatenate_shape_inference(data):
    rank = data.draw(st.integers(2, 4))
    base = data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    axis = data.draw(st.integers(1 - rank, rank - 1).filter(lambda a: a % rank != 0))
    shapes = []
    for _ in range(data.draw(st.integers(2, 3))):
        shape = list(base)
        shape[axis % rank] = data.draw(st.integers(1, 3))
        shapes.append(shape)
    layer = tf.layers.concatenate({"axis": axis})
    out = layer.apply([tf.ones(s) for s in shapes])
    assert layer.computeOutputShape(shapes) == out.shape


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_dot_shape_inference(data):
    r1, r2 = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 3))
    s1 = [2] + data.draw(st.lists(st.integers(1, 3), min_size=r1 - 1, max_size=r1 - 1))
    s2 = [2] + data.draw(st.lists(st.integers(1, 3), min_size=r2 - 1, max_size=r2 - 1))
    a1, a2 = data.draw(st.integers(1, r1 - 1)), data.draw(st.integers(1, r2 - 1))
    s2[a2] = s1[a1]
    layer = tf.layers.dot({"axes": [a1, a2]})
    out = layer.apply([tf.ones(s1), tf.ones(s2)])
    assert layer.computeOutputShape([s1, s2]) == out.shape


# ---- masks --------------------------------------------------------------------------------
def test_merge_masks_are_anded():
    a, b = tf.ones([2, 3, 4]), tf.ones([2, 3, 4])
    m1 = tf.tensor([[True, True, False], [True, False, True]])
    m2 = tf.tensor([[True, False, True], [True, True, True]])
    mask = tf.layers.add().computeMask([a, b], [m1, m2])
    np.testing.assert_array_equal(values(mask), values(m1) & values(m2))
    assert tf.layers.add().computeMask([a, b], [None, None]) is None
    mask = tf.layers.concatenate().computeMask([a, b], [m1, None])
    np.testing.assert_array_equal(values(mask), values(m1))
    mask = tf.layers.concatenate({"axis": 1}).computeMask([a, b], [m1, m2])
    np.testing.assert_array_equal(values(mask), np.concatenate([values(m1), values(m2)], 1))


# ---- errors -------------------------------------------------------------------------------
def test_merge_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Add layer 'add_bad'.*could not be broadcast.*\[3\].*\[4\]"):
        tf.layers.add({"name": "add_bad"}).apply([tf.ones([2, 3]), tf.ones([2, 4])])
    with pytest.raises(ValueError, match=r"Multiply layer 'mul_sym'.*could not be broadcast"):
        tf.layers.multiply({"name": "mul_sym"}).apply(
            [tf.input({"shape": [3]}), tf.input({"shape": [5]})])
    with pytest.raises(ValueError, match=r"Maximum layer 'max_one'.*at least 2 inputs; got 1"):
        tf.layers.maximum({"name": "max_one"}).apply(tf.ones([2, 3]))
    with pytest.raises(ValueError, match=r"Average layer 'avg_b'.*different batch sizes"):
        tf.layers.average({"name": "avg_b"}).apply([tf.ones([2, 3]), tf.ones([3, 3])])
    with pytest.raises(ValueError, match=r"Concatenate layer 'cat_bad'.*matching shapes except "
                                         r"for the concat axis"):
        tf.layers.concatenate({"name": "cat_bad"}).apply([tf.ones([2, 3, 4]), tf.ones([2, 2, 4])])
    with pytest.raises(ValueError, match=r"Concatenate layer 'cat_axis'.*axis 3 is out of range"):
        tf.layers.concatenate({"axis": 3, "name": "cat_axis"}).apply(
            [tf.input({"shape": [2, 3]}), tf.input({"shape": [2, 3]})])
    with pytest.raises(ValueError, match=r"unknown option 'axes'.*did you mean 'axis'"):
        tf.layers.concatenate({"axes": 1})
    with pytest.raises(ValueError, match=r"Dot layer.*the option 'axes' is required"):
        tf.layers.dot({})
    with pytest.raises(ValueError, match=r"Dot layer 'dot_dim'.*dimension incompatibility: 3 !== 4"):
        tf.layers.dot({"axes": 1, "name": "dot_dim"}).apply([tf.ones([2, 3]), tf.ones([2, 4])])
    with pytest.raises(ValueError, match=r"Dot layer 'dot_batch'.*batch axis"):
        tf.layers.dot({"axes": 0, "name": "dot_batch"}).apply([tf.ones([2, 3]), tf.ones([2, 3])])
    with pytest.raises(ValueError, match=r"Dot layer 'dot_three'.*exactly 2 inputs"):
        tf.layers.dot({"axes": 1, "name": "dot_three"}).apply([tf.ones([2, 3])] * 3)
    with pytest.raises(ValueError, match=r"Dot layer.*axes must be an integer or a list of two"):
        tf.layers.dot({"axes": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"unknown option 'normalise'.*did you mean 'normalize'"):
        tf.layers.dot({"axes": 1, "normalise": True})


# ---- TF.js fixtures ---------------------------------------------------------------------
def test_fixture_functional_multi_io():
    """Two inputs, a shared Dense, Add/Multiply/Average/Maximum/Minimum/Dot/Dot(normalize)/
    Concatenate merges, two outputs: rebuilt from model.json, TF.js's predictions."""
    model_json, weights, inputs, outputs = load_fixture("functional_multi_io")
    model = build_functional(model_json["modelTopology"]["config"])
    set_weights_by_name(model, weights)
    got = model.predict(inputs)
    for t, expected in zip(got, outputs):
        assert_close(t, expected, rtol=1e-5, atol=1e-6)
    assert [layer.getClassName() for layer in model.layers][3:8] == \
        ["Add", "Multiply", "Average", "Maximum", "Minimum"]


def test_fixture_functional_nested():
    """A nested functional model applied twice and a nested Sequential, joined by
    Concatenate layers."""
    model_json, weights, inputs, outputs = load_fixture("functional_nested")
    model = build_functional(model_json["modelTopology"]["config"])
    set_weights_by_name(model, weights)
    assert_close(model.predict(inputs), outputs[0], rtol=1e-5, atol=1e-6)


def test_merge_config_keys_match_tfjs():
    model_json, _, _, _ = load_fixture("functional_multi_io")
    for entry in model_json["modelTopology"]["config"]["layers"]:
        if entry["class_name"] in ("Concatenate", "Dot", "Add"):
            from tests.frontend.layers.support import build_layer
            from kiln.frontend.engine.naming import to_camel_case
            config = build_layer(entry).getConfig()
            assert list(config) == [to_camel_case(k) for k in entry["config"]]
            assert config == {to_camel_case(k): v for k, v in entry["config"].items()}
