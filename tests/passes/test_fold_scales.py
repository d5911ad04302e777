"""fold_scales: a per-output-channel scale after a conv or matMul (a batch normalization at
inference) moves into the weights; results match numpy, and shared values are left alone."""
import numpy as np

import kiln as tf
from kiln.ir import Builder, TensorType, float32
from kiln.passes.fold_scales import fold_scales
from kiln.runtime import compile_graph
from tests.nn_reference import conv as conv_reference


def _rand(rng, *shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def _batch_norm_graph(linear, x_shape, w_shape, extra_output=False):
    """y = ((linear(x, w) + bias) - mean) * scale + beta, all vectors per output channel."""
    b = Builder()
    x = b.input(TensorType(x_shape, float32), "x")
    w = b.param(TensorType(w_shape, float32), "w")
    bias, mean, scale, beta = (b.param(TensorType((w_shape[-1],), float32), n)
                               for n in ("bias", "mean", "scale", "beta"))
    if linear == "conv":
        z = b.conv(x, w, strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1)), groups=1)
    else:
        z = b.matMul(x, w)
    y = b.add(b.mul(b.sub(b.add(z, bias), mean), scale), beta)
    return b.finish([y, z] if extra_output else [y])


def _ops(graph):
    return [(n.op, n.outputs[0].shape) for n in graph.nodes if n.op == "mul"]


def _check(linear, x_shape, w_shape):
    rng = np.random.default_rng(3)
    graph = _batch_norm_graph(linear, x_shape, w_shape)
    # the only multiply left is weight-sized and one per folded bias term, none output-sized
    out_shape = graph.outputs[0].shape
    assert all(shape != out_shape for _, shape in _ops(fold_scales(graph)))
    assert (w_shape) in [shape for _, shape in _ops(fold_scales(graph))]
    x = _rand(rng, *x_shape)
    params = [_rand(rng, *w_shape)] + [_rand(rng, w_shape[-1]) for _ in range(2)] + \
             [_rand(rng, w_shape[-1], low=0.5, high=1.5), _rand(rng, w_shape[-1])]
    w, bias, mean, scale, beta = (p.astype(np.float64) for p in params)
    if linear == "conv":
        z = conv_reference(x, params[0], (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    else:
        z = x.astype(np.float64) @ w
    expected = (z + bias - mean) * scale + beta
    (out,) = compile_graph(graph).run([x], params)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_conv_batch_norm_folds_into_the_filter():
    _check("conv", (2, 7, 7, 5), (3, 3, 5, 8))


def test_dense_batch_norm_folds_into_the_kernel():
    _check("matMul", (4, 6), (6, 3))


def test_a_conv_output_used_elsewhere_is_not_folded():
    graph = _batch_norm_graph("conv", (1, 5, 5, 2), (3, 3, 2, 4), extra_output=True)
    assert _ops(fold_scales(graph)) == _ops(graph)


def test_batch_normalization_layer_after_conv_predicts_the_same():
    rng = np.random.default_rng(4)
    model = tf.sequential({"layers": [
        tf.layers.conv2d({"filters": 6, "kernelSize": 3, "inputShape": [9, 9, 3]}),
        tf.layers.batchNormalization({}),
        tf.layers.flatten(), tf.layers.dense({"units": 4}), tf.layers.batchNormalization({})]})
    weights = [_rand(rng, *w.shape, low=0.5, high=1.5) for w in model.getWeights()]
    model.setWeights([tf.tensor(w) for w in weights])
    x = _rand(rng, 2, 9, 9, 3)
    k, cb, g1, b1, m1, v1, dk, db, g2, b2, m2, v2 = (w.astype(np.float64) for w in weights)
    h = conv_reference(x, weights[0], (1, 1), (1, 1), ((0, 0), (0, 0)), 1) + cb
    h = (h - m1) / np.sqrt(v1 + 1e-3) * g1 + b1
    h = h.reshape(2, -1) @ dk + db
    expected = (h - m2) / np.sqrt(v2 + 1e-3) * g2 + b2
    np.testing.assert_allclose(model.predict(tf.tensor(x)).dataSync().reshape(2, 4), expected,
                               rtol=1e-4, atol=1e-4)
