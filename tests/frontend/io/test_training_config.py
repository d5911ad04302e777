"""trainingConfig and optimizer state (includeOptimizer) as TF.js writes and reads them."""
import asyncio
import json

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import UnsupportedModelError
from tests.frontend.io.fixtures import FIXTURES
from tests.frontend.io.models import mlp


def run(coro):
    return asyncio.run(coro)


def test_compiled_tfjs_fixture_recompiles_and_resaves_byte_identically(tmp_path):
    """TF.js saved a model trained with adam(0.01) with includeOptimizer: loading compiles it
    with the same optimizer, loss and metrics and restores the optimizer's state; saving it
    again writes TF.js's model.json and weights.bin (optimizer group included)."""
    source = FIXTURES / "tfjs" / "compiled"
    model = run(tf.loadLayersModel(str(source / "model.json")))
    assert model.optimizer.getClassName() == "Adam"
    assert model.optimizer.getConfig() == {"learningRate": 0.01, "beta1": 0.9,
                                           "beta2": 0.999, "epsilon": 1e-7}
    assert model.optimizer.iterations == 9             # 3 epochs of 3 batches in TF.js
    run(model.save(str(tmp_path), {"includeOptimizer": True}))
    written = (tmp_path / "model.json").read_text()
    written = written.replace('"keras_version":"kiln 0.1.0","backend":"kiln"',
                              '"keras_version":"tfjs-layers 4.22.0","backend":"tensor_flow.js"')
    written = written.replace('"generatedBy":"kiln v0.1.0"',
                              '"generatedBy":"TensorFlow.js tfjs-layers v4.22.0"')
    assert written == (source / "model.json").read_text()
    assert (tmp_path / "weights.bin").read_bytes() == (source / "weights.bin").read_bytes()


def test_without_include_optimizer_no_training_config_is_written(tmp_path):
    model = mlp()
    model.compile({"optimizer": "sgd", "loss": "meanSquaredError"})
    run(model.save(str(tmp_path)))
    saved = json.loads((tmp_path / "model.json").read_text())
    assert "trainingConfig" not in saved
    assert all("group" not in w for w in saved["weightsManifest"][0]["weights"])


def test_training_resumes_from_saved_optimizer_state(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.randn(16, 4).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 16)]
    fit = {"epochs": 2, "batchSize": 8, "shuffle": False, "verbose": 0}

    def trained():
        model = mlp()
        model.compile({"optimizer": tf.train.adam(0.05), "loss": "categoricalCrossentropy",
                       "metrics": ["accuracy"]})
        run(model.fit(x, y, fit))
        return model
    original = trained()
    run(original.save(str(tmp_path), {"includeOptimizer": True}))
    saved = json.loads((tmp_path / "model.json").read_text())
    assert saved["trainingConfig"] == {
        "loss": "categorical_crossentropy", "metrics": ["accuracy"],
        "optimizer_config": {"class_name": "Adam", "config": {
            "learningRate": 0.05, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}}}
    groups = [w.get("group") for w in saved["weightsManifest"][0]["weights"]]
    assert groups[:4] == [None] * 4 and set(groups[4:]) == {"optimizer"}
    assert saved["weightsManifest"][0]["weights"][4]["name"] == "iter"
    loaded = run(tf.loadLayersModel(str(tmp_path)))
    assert loaded.optimizer.iterations == original.optimizer.iterations == 4
    # One more epoch from the saved state gives what the original gives, up to float32
    # rounding: the original accumulated beta^t by repeated float32 products, the loaded
    # optimizer recomputes it from the iteration count (as TF.js's setWeights does).
    run(original.fit(x, y, {**fit, "epochs": 1}))
    run(loaded.fit(x, y, {**fit, "epochs": 1}))
    for a, b in zip(original.getWeights(), loaded.getWeights()):
        np.testing.assert_allclose(a.dataSync(), b.dataSync(), rtol=1e-5, atol=1e-6)
    # the original model's variables were not touched by loading the copy
    assert loaded.optimizer is not original.optimizer


def test_optimizer_slots_saved_under_deduplicated_names_load_by_position(tmp_path):
    """A file whose slots carry a weight name deduplicated in the writing process
    ('hidden/kernel_7/m') still loads: owners that are not weight names match by position."""
    model = mlp()
    model.compile({"optimizer": tf.train.adam(0.1), "loss": "meanSquaredError"})
    x, y = np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32)
    run(model.fit(x, y, {"epochs": 1, "verbose": 0}))
    run(model.save(str(tmp_path), {"includeOptimizer": True}))
    path = tmp_path / "model.json"
    text = path.read_text()
    for weight in ("hidden/kernel", "hidden/bias", "out/kernel", "out/bias"):
        text = text.replace(f'"{weight}/m"', f'"{weight}_7/m"').replace(f'"{weight}/v"',
                                                                         f'"{weight}_7/v"')
    path.write_text(text)
    loaded = run(tf.loadLayersModel(str(path)))
    saved = run(model.optimizer.getWeights())
    restored = run(loaded.optimizer.getWeights())
    assert len(saved) == len(restored) == 9
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(a["tensor"].dataSync(), b["tensor"].dataSync())


def test_unsupported_training_config_entries_are_refused(tmp_path):
    model = mlp()
    model.compile({"optimizer": "sgd", "loss": "meanSquaredError"})
    run(model.save(str(tmp_path), {"includeOptimizer": True}))
    path = tmp_path / "model.json"
    data = json.loads(path.read_text())
    data["trainingConfig"]["loss_weights"] = [1.0]
    path.write_text(json.dumps(data))
    with pytest.raises(UnsupportedModelError, match="loss_weights is not supported"):
        run(tf.loadLayersModel(str(path)))
