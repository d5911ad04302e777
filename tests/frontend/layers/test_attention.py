"""multiHeadAttention against a numpy reference of Keras's einsum formulation: projections,
attention axes, masks (explicit, causal, and Keras masks from an Embedding), returned scores,
dropout, weights as Keras names them, configs, shape inference and errors."""
from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from kiln.frontend.serialization import get_class
from tests.frontend.layers.support import assert_close, values

RNG = np.random.default_rng(11)


def normal(*shape, scale=1.0):
    return (RNG.normal(size=shape) * scale).astype(np.float32)


def mha_ref(weights, query, value, key=None, *, num_heads, key_dim, attention_axes=None,
            mask=None, causal=False, use_bias=True):
    """Keras's MultiHeadAttention in float64 with explicit einsums. `weights` maps
    'query/kernel', ... to arrays. Returns (output, scores)."""
    key = value if key is None else key
    letters = string.ascii_lowercase
    rank = query.ndim                                   # inputs [B, ..., dim]

    def project(x, name):
        free = letters[:x.ndim - 1]
        y = np.einsum(f"{free}z,zNH->{free}NH", x.astype(np.float64),
                      weights[f"{name}/kernel"].astype(np.float64))
        return y + weights[f"{name}/bias"] if use_bias else y

    q, k, v = project(query, "query"), project(key, "key"), project(value, "value")
    axes = list(range(1, rank - 1)) if attention_axes is None else \
        [a % rank for a in attention_axes]
    prank = rank + 1
    batch = [i for i in range(prank - 1) if i not in axes]
    tgt = letters[:prank]
    src = "".join(tgt[i] if i in batch or i == prank - 1 else letters[prank + j]
                  for j, i in enumerate(range(prank)))
    prod = "".join([tgt[i] for i in batch] + [tgt[i] for i in axes] + [src[i] for i in axes])
    scores = np.einsum(f"{src},{tgt}->{prod}", k, q / np.sqrt(key_dim))
    full_mask = None
    if mask is not None:
        full_mask = np.asarray(mask, bool)
    if causal:
        t, s = query.shape[1], value.shape[1]
        tri = np.tril(np.ones((t, s), bool))[None]
        full_mask = tri if full_mask is None else full_mask & tri
    if full_mask is not None:
        while full_mask.ndim < scores.ndim:
            full_mask = np.expand_dims(full_mask, -2 * len(axes) - 1)
        # Keras adds -1e9 to masked scores; in float32 that sum is -1e9 itself (its ulp is 64),
        # so a fully masked row becomes uniform. float64 would keep the scores' differences.
        scores = np.where(full_mask, scores, -1e9)
    n = len(axes)
    flat = scores.reshape(scores.shape[:scores.ndim - n] + (-1,))
    flat = np.exp(flat - flat.max(-1, keepdims=True))
    probs = (flat / flat.sum(-1, keepdims=True)).reshape(scores.shape)
    context = np.einsum(f"{prod},{src}->{tgt}", probs, v)
    out_kernel = weights["attention_output/kernel"].astype(np.float64)
    extra = out_kernel.ndim - 2
    outs = letters[prank:prank + extra]
    free = tgt[:prank - 2]
    out = np.einsum(f"{free}NH,NH{outs}->{free}{outs}", context, out_kernel)
    if use_bias:
        out = out + weights["attention_output/bias"]
    return out, probs


def weights_of(layer):
    return {w.originalName.split("/", 1)[1]: values(w.read()) for w in layer.weights}


def randomize(layer):
    layer.setWeights([normal(*w.shape, scale=0.5) for w in layer.weights])


CASES = [
    # config, query shape, value shape, key shape
    ({"numHeads": 2, "keyDim": 3}, (2, 4, 6), (2, 4, 6), None),
    ({"numHeads": 3, "keyDim": 2, "valueDim": 4, "outputShape": 3}, (2, 3, 5), (2, 6, 7),
     (2, 6, 2)),
    ({"numHeads": 2, "keyDim": 2, "outputShape": [2, 3], "useBias": False}, (2, 3, 4),
     (2, 5, 4), None),
    ({"numHeads": 2, "keyDim": 3}, (2, 3, 4, 5), (2, 3, 2, 5), None),          # axes [1, 2]
    ({"numHeads": 2, "keyDim": 3, "attentionAxes": -2}, (2, 3, 4, 5), (2, 3, 6, 5), None),
]


@pytest.mark.parametrize("config,qshape,vshape,kshape", CASES)
def test_multi_head_attention(config, qshape, vshape, kshape):
    """Eagerly and through predict (one layer, used both ways), with the scores."""
    arrays = [normal(*s) for s in (qshape, vshape, kshape) if s]
    layer = tf.layers.multiHeadAttention(config)
    inputs = [tf.input({"shape": list(a.shape[1:])}) for a in arrays]
    sym_out, sym_scores = layer.apply(inputs, {"returnAttentionScores": True})
    randomize(layer)
    axes = config.get("attentionAxes")
    ref_out, ref_scores = mha_ref(weights_of(layer), *arrays, num_heads=config["numHeads"],
                                  key_dim=config["keyDim"],
                                  attention_axes=[axes] if isinstance(axes, int) else axes,
                                  use_bias=config.get("useBias", True))
    assert sym_out.shape == [None] + list(ref_out.shape[1:])
    assert sym_scores.shape == [None] + list(ref_scores.shape[1:])
    out, scores = layer.apply([tf.tensor(a) for a in arrays], {"returnAttentionScores": True})
    assert_close(out, ref_out, atol=2e-5)
    assert_close(scores, ref_scores, atol=2e-6)
    model = tf.model({"inputs": inputs, "outputs": [sym_out, sym_scores]})
    got_out, got_scores = model.predict(arrays)
    assert_close(got_out, ref_out, atol=2e-5)
    assert_close(got_scores, ref_scores, atol=2e-6)


def test_weights_are_named_shaped_and_ordered_as_keras_writes_them():
    layer = tf.layers.multiHeadAttention({"numHeads": 4, "keyDim": 3, "valueDim": 5,
                                          "name": "mha"})
    layer.apply([tf.input({"shape": [7, 8]}), tf.input({"shape": [9, 6]})])
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", [8, 4, 3]), ("mha/query/bias", [4, 3]),
        ("mha/key/kernel", [6, 4, 3]), ("mha/key/bias", [4, 3]),
        ("mha/value/kernel", [6, 4, 5]), ("mha/value/bias", [4, 5]),
        ("mha/attention_output/kernel", [4, 5, 8]), ("mha/attention_output/bias", [8])]
    assert all(w.trainable for w in layer.weights)
    assert layer.countParams() == 8 * 12 + 12 + 6 * 12 + 12 + 6 * 20 + 20 + 20 * 8 + 8


def test_attention_mask_and_causal_mask():
    query, value = normal(2, 4, 6), normal(2, 5, 6)
    mask = RNG.random((2, 4, 5)) > 0.4
    mask[0, 1] = False                            # a fully masked row: uniform, as Keras
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 3})
    q_in, v_in = tf.input({"shape": [4, 6]}), tf.input({"shape": [5, 6]})
    m_in = tf.input({"shape": [4, 5], "dtype": "bool"})
    sym = layer.apply([q_in, v_in], {"attentionMask": m_in, "useCausalMask": True})
    randomize(layer)
    out, scores = layer.apply([tf.tensor(query), tf.tensor(value)],
                              {"attentionMask": tf.tensor(mask), "returnAttentionScores": True})
    ref_out, ref_scores = mha_ref(weights_of(layer), query, value, num_heads=2, key_dim=3,
                                  mask=mask)
    assert_close(out, ref_out, atol=2e-5)
    assert_close(scores, ref_scores, atol=2e-6)
    np.testing.assert_allclose(values(scores)[0, :, 1], 0.2, atol=1e-6)
    # Causal, combined with the mask, which is a model input.
    model = tf.model({"inputs": [q_in, v_in, m_in], "outputs": sym})
    ref_out, _ = mha_ref(weights_of(layer), query, value, num_heads=2, key_dim=3, mask=mask,
                         causal=True)
    assert_close(model.predict([query, value, mask]), ref_out, atol=2e-5)


def test_keras_masks_of_the_inputs_are_applied():
    """Embedding(maskZero) -> self-attention: padded queries and keys are masked."""
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]], np.int32)
    inp = tf.input({"shape": [5], "dtype": "int32"})
    embedding = tf.layers.embedding({"inputDim": 10, "outputDim": 4, "maskZero": True})
    emb = embedding.apply(inp)
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2})
    model = tf.model({"inputs": inp, "outputs": layer.apply([emb, emb])})
    randomize(layer)
    table = values(embedding.weights[0].read())
    x = table[ids]
    present = ids != 0
    mask = present[:, :, None] & present[:, None, :]
    ref_out, _ = mha_ref(weights_of(layer), x, x, num_heads=2, key_dim=2, mask=mask)
    assert_close(model.predict(ids), ref_out, atol=2e-5)


def test_tfjs_call_form_with_value_and_key_options():
    query, value, key = normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 2)
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2})
    out = layer.apply(tf.tensor(query), {"value": tf.tensor(value), "key": tf.tensor(key)})
    ref, _ = mha_ref(weights_of(layer), query, value, key, num_heads=2, key_dim=2)
    assert_close(out, ref, atol=2e-5)
    sym = layer.apply(tf.input({"shape": [3, 4]}), {"value": tf.input({"shape": [5, 4]}),
                                                     "key": tf.input({"shape": [5, 2]})})
    assert sym.shape == [None, 3, 4]


def test_dropout_on_the_attention_probabilities():
    query = normal(2, 3, 4)
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2, "dropout": 1.0})
    layer.apply([tf.input({"shape": [3, 4]}), tf.input({"shape": [3, 4]})])
    randomize(layer)
    bias = weights_of(layer)["attention_output/bias"]
    # Everything dropped: the context is zero and only the output bias remains.
    out, scores = layer.apply([tf.tensor(query), tf.tensor(query)],
                              {"training": True, "returnAttentionScores": True})
    assert_close(out, np.broadcast_to(bias, (2, 3, 4)), atol=1e-6)
    ref, ref_scores = mha_ref(weights_of(layer), query, query, num_heads=2, key_dim=2)
    assert_close(scores, ref_scores, atol=2e-6)      # the scores are returned before dropout
    half = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2, "dropout": 0.5,
                                         "seed": 1, "weights": layer.getWeights()})
    first = values(half.apply([tf.tensor(query), tf.tensor(query)], {"training": True}))
    second = values(half.apply([tf.tensor(query), tf.tensor(query)], {"training": True}))
    np.testing.assert_array_equal(first, second)     # seeded
    assert not np.allclose(first, ref, atol=1e-4)


def test_config_round_trip_and_registration():
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 3, "outputShape": 5,
                                          "kernelRegularizer": "l1l2", "name": "mha_cfg"})
    layer.apply([tf.input({"shape": [4, 6]}), tf.input({"shape": [7, 6]})])
    config = layer.getConfig()
    assert list(config) == [
        "numHeads", "keyDim", "valueDim", "dropout", "useBias", "outputShape",
        "attentionAxes", "kernelInitializer", "biasInitializer", "kernelRegularizer",
        "biasRegularizer", "activityRegularizer", "kernelConstraint", "biasConstraint",
        "queryShape", "keyShape", "valueShape", "name", "trainable"]
    assert config["queryShape"] == [None, 4, 6] and config["valueShape"] == [None, 7, 6]
    assert config["attentionAxes"] == [1] and config["valueDim"] == 3
    cls = get_class("MultiHeadAttention")
    assert cls is type(layer)
    clone = cls.fromConfig(cls, {**config, "name": "mha_clone"})
    assert clone.built
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    assert len(layer.losses) == 4


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_shape_inference(data):
    """computeOutputShape against the shapes call() computes (traced, not compiled: an
    attention graph costs seconds of LLVM time; the tests above run compiled code)."""
    heads, key_dim = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    t, s = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    dq, dv = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    out_shape = data.draw(st.one_of(st.none(), st.integers(1, 3),
                                    st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    extra = data.draw(st.lists(st.integers(1, 3), max_size=1))
    layer = tf.layers.multiHeadAttention({"numHeads": heads, "keyDim": key_dim,
                                          "outputShape": out_shape})
    shapes = [[2] + extra + [t, dq], [2] + extra + [s, dv]]
    sym_out, sym_scores = layer.apply([tf.input({"batchShape": [None] + sh[1:]})
                                       for sh in shapes], {"returnAttentionScores": True})
    traced = infer_output_shape_with_scores(layer, shapes)
    assert [sym_out.shape, sym_scores.shape] == [[None] + sh[1:] for sh in traced]
    layer._returning_scores = True
    assert layer.computeOutputShape(shapes) == traced
    layer._returning_scores = False
    assert layer.computeOutputShape(shapes) == traced[0]
    dims = [out_shape] if isinstance(out_shape, int) else (out_shape or [dq])
    assert traced[0] == [2] + extra + [t] + dims


def infer_output_shape_with_scores(layer, shapes):
    from kiln.frontend.trace import Tracer
    from kiln.ir import Builder
    with Tracer(Builder("shapes")) as tracer:
        xs = [tracer.input(sh, "float32") for sh in shapes]
        out = layer.call(xs, {"returnAttentionScores": True,
                              "_inputRoles": ("query", "value")})
    return [o.shape for o in out]


def test_errors():
    with pytest.raises(ValueError, match=r"unknown option 'numHead'.*did you mean 'numHeads'"):
        tf.layers.multiHeadAttention({"numHead": 2, "keyDim": 2})
    with pytest.raises(ValueError, match=r"MultiHeadAttention layer.*'keyDim' is required"):
        tf.layers.multiHeadAttention({"numHeads": 2})
    layer = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2, "name": "mha_err"})
    with pytest.raises(ValueError, match=r"mha_err.*must pass in the `value`"):
        layer.apply(tf.ones([1, 2, 3]))
    with pytest.raises(ValueError, match=r"mha_err.*value and key, except the last one, must be "
                                         r"equal"):
        layer.apply([tf.ones([1, 2, 3]), tf.ones([1, 4, 3]), tf.ones([1, 5, 3])])
    with pytest.raises(ValueError, match=r"mha_err.*\[query, value\] or \[query, value, key\]"):
        layer.apply([tf.ones([1, 2, 3])])
    bad_axes = tf.layers.multiHeadAttention({"numHeads": 2, "keyDim": 2, "attentionAxes": [2],
                                             "name": "mha_axes"})
    with pytest.raises(ValueError, match=r"mha_axes.*attention axis 2"):
        bad_axes.apply([tf.input({"shape": [3, 4]}), tf.input({"shape": [3, 4]})])
    layer.apply([tf.ones([1, 2, 3]), tf.ones([1, 4, 3])])
    with pytest.raises(ValueError, match=r"'mha_err' was built for a query of shape"):
        layer.apply([tf.ones([1, 2, 5]), tf.ones([1, 4, 3])])
