"""model.save and tf.loadLayersModel: the files TF.js's tfjs-node writes, round trips, shards,
SaveResult, IO handler objects, memory handlers, and atomic saves."""
import asyncio
import json
import os

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import FileSystemHandler, ModelIOError
from tests.frontend.io.models import mlp, predict, shared_and_nested

X = np.random.RandomState(7).randn(3, 4).astype(np.float32)


def run(coro):
    return asyncio.run(coro)


def test_save_writes_model_json_and_weights_bin_as_tfjs_node(tmp_path):
    model = mlp()
    result = run(model.save(f"file://{tmp_path}"))
    assert sorted(os.listdir(tmp_path)) == ["model.json", "weights.bin"]
    saved = json.loads((tmp_path / "model.json").read_text())
    assert list(saved) == ["modelTopology", "weightsManifest", "format", "generatedBy",
                           "convertedBy"]
    assert saved["format"] == "layers-model"
    assert saved["generatedBy"] == "kiln v0.1.0"
    assert saved["convertedBy"] is None
    assert saved["weightsManifest"] == [{"paths": ["weights.bin"], "weights": [
        {"name": "hidden/kernel", "shape": [4, 5], "dtype": "float32"},
        {"name": "hidden/bias", "shape": [5], "dtype": "float32"},
        {"name": "out/kernel", "shape": [5, 3], "dtype": "float32"},
        {"name": "out/bias", "shape": [3], "dtype": "float32"}]}]
    data = (tmp_path / "weights.bin").read_bytes()
    expected = b"".join(w.read().dataSync().astype("<f4").tobytes() for w in model.weights)
    assert data == expected
    info = result["modelArtifactsInfo"]
    assert info["modelTopologyType"] == "JSON"
    assert info["weightDataBytes"] == len(data)
    assert info["modelTopologyBytes"] == len(json.dumps(saved["modelTopology"],
                                                        separators=(",", ":")).encode())
    assert info["weightSpecsBytes"] == len(json.dumps(saved["weightsManifest"][0]["weights"],
                                                      separators=(",", ":")).encode())
    assert info["dateSaved"].year >= 2024


@pytest.mark.parametrize("form", ["file", "plain", "model.json"])
def test_round_trip_predicts_the_same(tmp_path, form):
    model = shared_and_nested()
    target = {"file": f"file://{tmp_path}", "plain": str(tmp_path),
              "model.json": str(tmp_path / "model.json")}[form]
    run(model.save(str(tmp_path)))
    loaded = run(tf.loadLayersModel(target))
    xs = [X, X[::-1].copy()]
    for got, want in zip(predict(loaded, xs), predict(model, xs)):
        np.testing.assert_array_equal(got, want)


def test_large_models_are_sharded_in_4_mib_files(tmp_path):
    model = tf.sequential()
    model.add(tf.layers.dense({"units": 1100, "inputShape": [1000], "name": "big",
                               "kernelInitializer": "zeros"}))
    model.getLayer("big").setWeights([np.arange(1100000, dtype=np.float32).reshape(1000, 1100)
                                      % 7, np.ones(1100, np.float32)])
    run(model.save(str(tmp_path)))
    names = sorted(os.listdir(tmp_path))
    assert names == ["group1-shard1of2.bin", "group1-shard2of2.bin", "model.json"]
    assert os.path.getsize(tmp_path / "group1-shard1of2.bin") == 4 * 1024 * 1024
    manifest = json.loads((tmp_path / "model.json").read_text())["weightsManifest"]
    assert manifest[0]["paths"] == ["group1-shard1of2.bin", "group1-shard2of2.bin"]
    loaded = run(tf.loadLayersModel(str(tmp_path)))
    np.testing.assert_array_equal(loaded.getWeights()[0].dataSync(),
                                  model.getWeights()[0].dataSync())
    # a smaller model saved over it leaves no stale shards behind
    run(mlp().save(str(tmp_path)))
    assert sorted(os.listdir(tmp_path)) == ["model.json", "weights.bin"]


def test_trainable_only_and_user_defined_metadata(tmp_path):
    model = mlp()
    model.getLayer("out").trainable = False
    model.setUserDefinedMetadata({"vocabulary": ["a", "b"], "version": 2})
    run(model.save(str(tmp_path), {"trainableOnly": True}))
    saved = json.loads((tmp_path / "model.json").read_text())
    assert [w["name"] for w in saved["weightsManifest"][0]["weights"]] == ["hidden/kernel",
                                                                          "hidden/bias"]
    assert saved["userDefinedMetadata"] == {"vocabulary": ["a", "b"], "version": 2}
    loaded = run(tf.loadLayersModel(str(tmp_path), {"strict": False}))
    assert loaded.getUserDefinedMetadata() == {"vocabulary": ["a", "b"], "version": 2}
    np.testing.assert_array_equal(loaded.getLayer("hidden").getWeights()[0].dataSync(),
                                  model.getLayer("hidden").getWeights()[0].dataSync())


def test_with_save_handler_and_from_memory():
    model = mlp()
    captured = {}

    async def save(artifacts):
        captured.update(artifacts)
        return {"modelArtifactsInfo": {"custom": True}}
    result = run(model.save(tf.io.withSaveHandler(save)))
    assert result == {"modelArtifactsInfo": {"custom": True}}
    assert captured["format"] == "layers-model" and captured["convertedBy"] is None
    assert [s["name"] for s in captured["weightSpecs"]][0] == "hidden/kernel"
    assert isinstance(captured["weightData"], bytes)
    loaded = run(tf.loadLayersModel(tf.io.fromMemory(captured)))
    np.testing.assert_array_equal(predict(loaded, X)[0], predict(model, X)[0])
    legacy = tf.io.fromMemory(captured["modelTopology"], captured["weightSpecs"],
                              captured["weightData"])
    np.testing.assert_array_equal(predict(run(tf.loadLayersModel(legacy)), X)[0],
                                  predict(model, X)[0])


def test_io_handler_objects_with_save_and_load():
    class MemoryStore:
        def __init__(self):
            self.artifacts = None

        def save(self, artifacts):            # a plain (not async) save works too
            self.artifacts = artifacts
            return {"modelArtifactsInfo": {"dateSaved": None}}

        async def load(self):
            return self.artifacts
    store = MemoryStore()
    model = mlp()
    run(model.save(store))
    loaded = run(tf.loadLayersModel(store))
    np.testing.assert_array_equal(predict(loaded, X)[0], predict(model, X)[0])


def test_on_progress_reports_up_to_one(tmp_path):
    run(mlp().save(str(tmp_path)))
    seen = []
    run(tf.loadLayersModel(str(tmp_path), {"onProgress": seen.append}))
    assert seen and seen[-1] == 1.0


# ---- atomic saves ------------------------------------------------------------------------
def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_failing_get_config_leaves_the_previous_model_intact(tmp_path):
    class Broken(tf.layers.Layer):
        className = "TestIoBroken"

        def computeOutputShape(self, inputShape):
            return inputShape

        def getConfig(self):
            raise RuntimeError("getConfig exploded")

    run(mlp().save(str(tmp_path)))
    before = _snapshot(tmp_path)
    model = tf.sequential()
    model.add(tf.layers.dense({"units": 2, "inputShape": [3]}))
    model.add(Broken())
    with pytest.raises(RuntimeError, match="exploded"):
        run(model.save(str(tmp_path)))
    assert _snapshot(tmp_path) == before


def test_io_error_while_writing_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    run(mlp().save(str(tmp_path)))
    before = _snapshot(tmp_path)
    real_open = open
    calls = {"n": 0}

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).startswith(str(tmp_path)):
            calls["n"] += 1
            if calls["n"] == 2:                 # the second file: model.json
                raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)
    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(ModelIOError, match="No space left on device"):
        run(shared_and_nested().save(str(tmp_path)))
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before          # no temporary files are left either
    loaded = run(tf.loadLayersModel(str(tmp_path)))
    np.testing.assert_array_equal(predict(loaded, X)[0], predict(mlp(), X)[0])


def test_failure_during_renames_restores_the_previous_files(tmp_path, monkeypatch):
    run(mlp().save(str(tmp_path)))
    before = _snapshot(tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src, dst):
        calls["n"] += 1
        if str(dst).endswith("model.json") and ".tmp" in str(src):
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ModelIOError, match="restored"):
        run(shared_and_nested().save(str(tmp_path)))
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before


def test_save_into_a_file_path_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelIOError, match="not a folder"):
        run(mlp().save(str(tmp_path / "afile")))


def test_browser_schemes_are_refused():
    with pytest.raises(ValueError, match="only in the browser"):
        run(mlp().save("localstorage://my-model"))
    with pytest.raises(ValueError, match="only in the browser"):
        run(tf.loadLayersModel("indexeddb://my-model"))


def test_file_system_handler_custom_shard_size(tmp_path):
    run(mlp().save(FileSystemHandler(str(tmp_path), shardBytes=64)))
    names = sorted(os.listdir(tmp_path))
    assert names[0] == "group1-shard1of3.bin" and "model.json" in names
    loaded = run(tf.loadLayersModel(str(tmp_path)))
    np.testing.assert_array_equal(predict(loaded, X)[0], predict(mlp(), X)[0])


def test_registered_routers_and_handler_lookup(tmp_path):
    store = {}

    class MemoryRoute:
        def __init__(self, key):
            self.key = key

        async def save(self, artifacts):
            store[self.key] = artifacts
            return {"modelArtifactsInfo": {}}

        async def load(self):
            return store[self.key]

    def router(url, *options):
        return MemoryRoute(url[len("mem://"):]) if url.startswith("mem://") else None
    tf.io.registerSaveRouter(router)
    tf.io.registerLoadRouter(router)
    try:
        run(mlp().save("mem://a"))
        loaded = run(tf.loadLayersModel("mem://a"))
        np.testing.assert_array_equal(predict(loaded, X)[0], predict(mlp(), X)[0])
        assert isinstance(tf.io.getLoadHandlers("mem://b")[0], MemoryRoute)
        assert isinstance(tf.io.getSaveHandlers(str(tmp_path))[0], FileSystemHandler)
    finally:
        from kiln.frontend.io import router as router_module
        router_module.LOAD_ROUTERS.remove(router)
        router_module.SAVE_ROUTERS.remove(router)


def test_encode_and_decode_weights():
    encoded = run(tf.io.encodeWeights({"a": tf.tensor([[1.5, 2.0]]), "b": tf.tensor([3], None,
                                                                                   "int32")}))
    assert encoded["specs"] == [{"name": "a", "shape": [1, 2], "dtype": "float32"},
                                {"name": "b", "shape": [1], "dtype": "int32"}]
    decoded = tf.io.decodeWeights(encoded["data"], encoded["specs"])
    np.testing.assert_array_equal(decoded["a"].dataSync(), [1.5, 2.0])
    assert decoded["b"].dtype == "int32"
