"""Small models built from layers kiln has, shared by the io tests."""
import numpy as np

import kiln as tf


def mlp(seed=0):
    model = tf.sequential({"name": "mlp"})
    model.add(tf.layers.dense({"units": 5, "inputShape": [4], "activation": "relu",
                               "name": "hidden"}))
    model.add(tf.layers.dense({"units": 3, "activation": "softmax", "name": "out"}))
    randomize(model, seed)
    return model


def shared_and_nested(seed=1):
    """Two inputs; a Dense shared by both; a nested functional model applied twice; a nested
    Sequential; two outputs."""
    inner_in = tf.input({"shape": [4], "name": "inner_in"})
    inner = tf.model({"inputs": inner_in, "name": "inner",
                      "outputs": tf.layers.dense({"units": 3, "name": "inner_dense",
                                                  "activation": "tanh"}).apply(inner_in)})
    seq = tf.sequential({"name": "inner_seq", "layers": [
        tf.layers.dense({"units": 2, "inputShape": [3], "name": "seq_dense"})]})
    a = tf.input({"shape": [4], "name": "a"})
    b = tf.input({"shape": [4], "name": "b"})
    shared = tf.layers.dense({"units": 4, "name": "shared", "activation": "sigmoid"})
    ha, hb = shared.apply(a), shared.apply(b)
    ia, ib = inner.apply(ha), inner.apply(hb)
    out1 = seq.apply(ib)
    out2 = tf.layers.dense({"units": 1, "name": "head"}).apply(ia)
    model = tf.model({"inputs": [a, b], "outputs": [out1, out2], "name": "shared_nested"})
    randomize(model, seed)
    return model


def randomize(model, seed):
    rng = np.random.RandomState(seed)
    model.setWeights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in model.weights])


def predict(model, xs):
    out = model.predict(xs)
    return [o.dataSync().copy() for o in (out if isinstance(out, list) else [out])]
