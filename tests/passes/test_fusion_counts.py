"""Fusion results on reference models, as `tf.inspect` reports them (must not regress)."""
import kiln as tf
from tests.passes.test_memory_plan import mlp


def test_w2_inference_is_three_gemms_and_one_softmax():
    model = mlp()
    kernels = tf.inspect(model, format="json")["kernels"]
    assert [k["kind"] for k in kernels] == ["matmul", "matmul", "matmul", "row"]
    assert kernels[0]["ops"] == ["matMul", "add", "relu"]
    assert kernels[2]["ops"] == ["matMul", "add"]
    assert kernels[3]["ops"] == ["max", "sub", "exp", "sum", "div"]
    names = [layer.name for layer in model.layers]
    assert [k["layers"] for k in kernels] == [[names[0]], [names[1]], [names[2]], [names[2]]]


def test_layer_norm_style_moments_is_one_kernel():
    x = tf.input({"shape": [16]})
    m = tf.moments(x, -1, True)
    normalized = tf.div(tf.sub(x, m["mean"]), tf.sqrt(tf.add(m["variance"], 1e-3)))
    model = tf.model({"inputs": x, "outputs": normalized})
    kinds = [k["kind"] for k in tf.inspect(model, format="json")["kernels"]]
    assert kinds == ["row"]
