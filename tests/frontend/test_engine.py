"""The Layers engine: naming, symbolic and eager apply, weights, models (Sequential and
functional, nested, shared layers), summary in TF.js's format, predict/execute, custom layers,
memory, and the error cases."""
import asyncio
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import kiln as tf

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tfjs"


def test_layer_and_weight_names_follow_tfjs():
    layer = tf.layers.dense({"units": 2, "inputShape": [3]})
    number = layer.name.split("Dense")[-1]
    assert layer.name == f"dense_Dense{number}"
    tf.sequential({"layers": [layer]})
    assert [w.name for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    conv = tf.layers.conv2dTranspose({"filters": 1, "kernelSize": 1})
    assert conv.name.startswith("conv2d_transpose_Conv2DTranspose")
    prelu = tf.layers.prelu()
    assert prelu.name.startswith("p_re_lu_PReLU")
    assert tf.sequential().name.startswith("sequential_")
    x = tf.input({"shape": [1]})
    assert x.sourceLayer.name.startswith("input")


def test_symbolic_apply_records_graph_structure():
    x = tf.input({"shape": [4], "name": "features"})
    dense = tf.layers.dense({"units": 3})
    y = dense.apply(x)
    assert isinstance(y, tf.SymbolicTensor) and y.shape == [None, 3] and y.dtype == "float32"
    assert y.sourceLayer is dense and dense.inboundNodes[0].inputTensors == [x]
    assert dense.built and dense.countParams() == 15
    with pytest.raises(ValueError, match="all SymbolicTensors or all Tensors"):
        tf.layers.concatenate().apply([x, tf.ones([1, 4])])


def test_eager_apply_is_compiled_once_per_signature():
    from kiln.codegen import compiler
    layer = tf.layers.dense({"units": 2})
    layer.apply(tf.ones([3, 4]))
    before = compiler.compile_count
    for _ in range(3):
        layer.apply(tf.ones([3, 4]))
    assert compiler.compile_count == before
    layer.apply(tf.ones([5, 4]))
    assert len(layer._eager_cache) == 2


def test_set_weights_checks_shapes_and_count():
    layer = tf.layers.dense({"units": 2, "inputShape": [3]})
    tf.sequential({"layers": [layer]})
    with pytest.raises(ValueError, match="expects 2"):
        layer.setWeights([tf.ones([3, 2])])
    with pytest.raises(ValueError, match=r"kernel.*\[3, 2\].*\[2, 3\]"):
        layer.setWeights([tf.ones([2, 3]), tf.ones([2])])
    layer.setWeights([tf.ones([3, 2]), tf.zeros([2])])
    np.testing.assert_array_equal(layer.apply(tf.ones([1, 3])).numpy(), [[3.0, 3.0]])


def test_input_spec_and_config_errors():
    with pytest.raises(ValueError, match="Dense.*unknown option 'input_shape'.*'inputShape'"):
        tf.layers.dense({"units": 1, "input_shape": [1]})
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*'relu'"):
        tf.layers.dense({"units": 1, "activation": "rleu"})
    with pytest.raises(ValueError, match="first layer in a Sequential model must get an "
                                         "`inputShape`"):
        tf.sequential().add(tf.layers.dense({"units": 1}))
    with pytest.raises(ValueError, match="expected min_ndim=3, found ndim=2"):
        tf.layers.flatten().apply(tf.input({"shape": [4]}))
    with pytest.raises(ValueError, match="option 'units' is required"):
        tf.layers.dense({})


def test_summary_matches_tfjs_for_a_sequential_model():
    expected = (FIXTURES / "mlp" / "summary.txt").read_text().splitlines()
    model = tf.sequential({"name": "mlp"})
    model.add(tf.layers.dense({"units": 8, "inputShape": [6], "name": "dense_Dense1"}))
    lines = []
    model.summary(None, None, lines.append)
    assert lines[:4] == expected[:4]                 # header and the first layer, exactly
    assert lines[-4:-1] == ["Total params: 56", "Trainable params: 56", "Non-trainable params: 0"]


def test_summary_of_a_functional_model_lists_connections():
    expected = (FIXTURES / "functional_multi_io" / "summary.txt").read_text().splitlines()
    a = tf.input({"shape": [4], "name": "input_a"})
    b = tf.input({"shape": [4], "name": "input_b"})
    shared = tf.layers.dense({"units": 5, "name": "shared_dense"})
    sa, sb = shared.apply(a), shared.apply(b)
    added = tf.layers.add({"name": "add"}).apply([sa, sb])
    model = tf.model({"inputs": [a, b], "outputs": added})
    lines = []
    model.summary(None, None, lines.append)
    assert lines[:9] == expected[:9]                 # header, inputs and the shared layer
    assert lines[9] == expected[9]                   # add (Add) ... shared_dense[0][0]
    assert lines[10] == expected[10]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.summary(60)
    assert out.getvalue().splitlines()[0] == "_" * 60


def test_nested_models_shared_layers_and_multiple_outputs():
    inner_in = tf.input({"shape": [3]})
    inner = tf.model({"inputs": inner_in, "outputs": tf.layers.dense({"units": 2}).apply(inner_in)})
    a, b = tf.input({"shape": [3]}), tf.input({"shape": [3]})
    ya, yb = inner.apply(a), inner.apply(b)
    model = tf.model({"inputs": [a, b], "outputs": [ya, tf.layers.add().apply([ya, yb])]})
    xa, xb = np.random.rand(4, 3).astype(np.float32), np.random.rand(4, 3).astype(np.float32)
    kernel, bias = (w.numpy() for w in inner.getWeights())
    out1, out2 = model.predict([tf.tensor(xa), tf.tensor(xb)])
    np.testing.assert_allclose(out1.numpy(), xa @ kernel + bias, rtol=1e-5)
    np.testing.assert_allclose(out2.numpy(), xa @ kernel + xb @ kernel + 2 * bias, rtol=1e-5)
    assert model.countParams() == 8 and len(model.weights) == 2


def test_predict_batches_and_partial_last_batch():
    model = tf.sequential({"layers": [tf.layers.dense({"units": 2, "inputShape": [3]})]})
    x = np.random.rand(70, 3).astype(np.float32)
    kernel, bias = (w.numpy() for w in model.getWeights())
    np.testing.assert_allclose(model.predict(x, {"batchSize": 32}).numpy(), x @ kernel + bias,
                               rtol=1e-5)
    np.testing.assert_allclose(model.predictOnBatch(x).numpy(), x @ kernel + bias, rtol=1e-5)
    with pytest.raises(ValueError, match=r"expects shape \[None, 3\].*\[70, 4\]"):
        model.predict(np.ones((70, 4), np.float32))
    with pytest.raises(ValueError, match="expects 1 input"):
        model.predict([tf.ones([2, 3]), tf.ones([2, 3])])


def test_execute_fetches_internal_tensors():
    x = tf.input({"shape": [2]})
    hidden = tf.layers.dense({"units": 3, "name": "hidden"}).apply(x)
    out = tf.layers.dense({"units": 1, "name": "out"}).apply(hidden)
    model = tf.model({"inputs": x, "outputs": out})
    data = np.ones((1, 2), np.float32)
    h = model.execute(tf.tensor(data), "hidden")
    kernel, bias = (w.numpy() for w in model.getLayer("hidden").getWeights())
    np.testing.assert_allclose(h.numpy(), data @ kernel + bias, rtol=1e-5)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.getLayer("nope")


class Scale(tf.layers.Layer):
    """A custom layer: y = x * factor, with a trainable factor per feature."""

    className = "Scale"

    def build(self, inputShape):
        self.factor = self.addWeight("factor", [inputShape[-1]], None, "ones")

    def call(self, inputs, kwargs):
        return tf.mul(inputs, self.factor.read())

    def computeOutputShape(self, inputShape):
        return inputShape


def test_custom_layers_work_like_built_in_ones():
    tf.serialization.registerClass(Scale)
    x = tf.input({"shape": [3]})
    model = tf.model({"inputs": x, "outputs": Scale().apply(x)})
    model.setWeights([tf.tensor([1.0, 2.0, 3.0])])
    np.testing.assert_allclose(model.predict(tf.ones([2, 3])).numpy(), [[1, 2, 3], [1, 2, 3]])
    model.compile({"optimizer": tf.train.sgd(0.1), "loss": "meanSquaredError"})
    asyncio.run(model.fit(np.ones((4, 3), np.float32), np.zeros((4, 3), np.float32),
                          {"epochs": 5, "verbose": 0}))
    assert np.all(model.getWeights()[0].numpy() < [1.0, 2.0, 3.0])


def test_ops_on_symbolic_tensors_become_op_layers():
    x = tf.input({"shape": [4]})
    y = tf.add(tf.layers.dense({"units": 4, "kernelInitializer": "zeros"}).apply(x), x)
    y = tf.relu(y).mul(2)
    model = tf.model({"inputs": x, "outputs": y})
    data = np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32)
    np.testing.assert_allclose(model.predict(data).numpy(), 2 * np.maximum(data, 0))


def test_dispose_frees_every_weight(steady_memory):
    before = tf.memory()["numTensors"]
    model = tf.sequential({"layers": [tf.layers.dense({"units": 3, "inputShape": [2]}),
                                      tf.layers.dense({"units": 1})]})
    assert tf.memory()["numTensors"] - before == 4
    result = model.dispose()
    assert result["numDisposedVariables"] == 4
    assert tf.memory()["numTensors"] == before
    with pytest.raises(ValueError, match="disposed"):
        model.predict(tf.ones([1, 2]))
