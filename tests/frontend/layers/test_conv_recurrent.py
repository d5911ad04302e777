"""convLstm2d against a numpy reference (rnn_reference.conv_lstm_cell) and its plan."""
import numpy as np
import pytest

import kiln as tf
from tests.frontend.layers import rnn_reference as ref

L = tf.layers


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def weights_of(layer):
    return [w.read().dataSync().reshape(w.shape).astype(np.float64) for w in layer.weights]


@pytest.mark.parametrize("options", [
    {"returnSequences": True},
    {"padding": "same", "goBackwards": True, "returnState": True},
    {"strides": 2, "padding": "same", "dataFormat": "channelsFirst", "returnSequences": True},
    {"dilationRate": 2, "unitForgetBias": True},
])
def test_conv_lstm_2d_matches_reference(options):
    x = data(2, 3, 6, 5, 2)                              # [batch, time, rows, cols, channels]
    channels_first = options.get("dataFormat") == "channelsFirst"
    layer = L.convLstm2d({"filters": 3, "kernelSize": [3, 2], **options})
    given = np.transpose(x, (0, 1, 4, 2, 3)) if channels_first else x
    out = layer.apply(tf.tensor(given))
    out = out if isinstance(out, list) else [out]
    kernel, recurrent, bias = weights_of(layer)
    if options.get("unitForgetBias"):
        np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    step = ref.conv_lstm_cell([kernel, recurrent, bias], layer.cell.strides,
                              layer.cell.padding, layer.cell.dilationRate)
    projected = ref.conv2d(x[:, 0], kernel, layer.cell.strides, layer.cell.padding,
                           layer.cell.dilationRate)
    state_shape = projected.shape[:-1] + (3,)            # channels last in the reference
    last, seq, states = ref.run_conv(step, x, state_shape, options.get("goBackwards", False))
    want = [seq if options.get("returnSequences") else last]
    if options.get("returnState"):
        want += states
    for got, expected in zip(out, want):
        if channels_first:
            expected = np.moveaxis(expected, -1, -3)
        np.testing.assert_allclose(got.dataSync().reshape(expected.shape), expected,
                                   rtol=2e-5, atol=2e-6)
    shapes = layer.computeOutputShape([None, 3] + list(given.shape[2:]))
    shapes = shapes if isinstance(shapes[0], list) else [shapes]
    assert [[2 if d is None else d for d in shape] for shape in shapes] == [o.shape for o in out]


def test_conv_lstm_step_is_one_convolution_and_one_elementwise_kernel():
    model = tf.sequential({"layers": [L.convLstm2d({"filters": 4, "kernelSize": 3,
                                                    "padding": "same",
                                                    "inputShape": [5, 8, 8, 2]})]})
    kernels = tf.inspect(model, format="json", batch=2)["kernels"]
    (loop,) = [k for k in kernels if k["kind"] == "loop"]
    assert [k["kind"] for k in loop["body"]] == ["conv", "pointwise"]
    assert [k["kind"] for k in kernels].count("conv") == 1      # the input convolution


def test_conv_lstm_options_tfjs_rejects():
    with pytest.raises(NotImplementedError, match="Unrolling is not possible"):
        L.convLstm2d({"filters": 2, "kernelSize": 3, "unroll": True})
    with pytest.raises(ValueError, match="padding"):
        L.convLstm2d({"filters": 2, "kernelSize": 3, "padding": "causal"})


def test_gradient_through_conv_lstm_2d():
    x = data(1, 3, 4, 4, 1, seed=1) * 0.5
    layer = L.convLstm2d({"filters": 2, "kernelSize": 2, "padding": "same",
                          "recurrentActivation": "sigmoid"})
    layer.apply(tf.tensor(x))
    step = ref.conv_lstm_cell(weights_of(layer), padding="same",
                              recurrent_activation="sigmoid")
    w = data(1, 4, 4, 2, seed=2)
    grad = tf.grad(lambda v: tf.sum(tf.mul(layer.apply(v), tf.tensor(w))))(tf.tensor(x))

    def loss(values):
        return float((ref.run_conv(step, values, (1, 4, 4, 2))[0] * w).sum())
    numeric = np.zeros(x.shape)
    base = x.astype(np.float64)
    for idx in np.ndindex(x.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += 1e-5
        minus[idx] -= 1e-5
        numeric[idx] = (loss(plus) - loss(minus)) / 2e-5
    np.testing.assert_allclose(grad.dataSync().reshape(x.shape), numeric, rtol=1e-3, atol=1e-4)
