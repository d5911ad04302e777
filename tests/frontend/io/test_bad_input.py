"""Bad model files: each is a clear ValueError / OSError subclass naming the file and the
problem, raised before anything is allocated or read outside the model's folder."""
import asyncio
import json
import os
import shutil

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import (ModelFileNotFoundError, ModelFormatError, UnsafePathError,
                              UnsupportedModelError, WeightsError)
from tests.frontend.io.models import mlp


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "model"
    run(mlp().save(str(folder)))
    return folder


def edit(folder, fn):
    path = folder / "model.json"
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def load(folder, **options):
    return run(tf.loadLayersModel(str(folder / "model.json"), options or None))


def test_truncated_json(saved):
    path = saved / "model.json"
    path.write_text(path.read_text()[:200])
    with pytest.raises(ModelFormatError, match=r"model\.json: invalid JSON.*truncated"):
        load(saved)


def test_not_json_at_all(saved):
    (saved / "model.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ModelFormatError, match=r"model\.json"):
        load(saved)


def test_json_that_is_not_a_model(saved):
    (saved / "model.json").write_text("[1, 2, 3]")
    with pytest.raises(ModelFormatError, match="expected a JSON object"):
        load(saved)
    (saved / "model.json").write_text('{"weightsManifest": []}')
    with pytest.raises(ModelFormatError, match="no 'modelTopology'"):
        load(saved)


def test_missing_format(saved):
    edit(saved, lambda d: d.pop("format"))
    with pytest.raises(ModelFormatError, match=r"model\.json: missing 'format'"):
        load(saved)


def test_unknown_format(saved):
    edit(saved, lambda d: d.update(format="graph-model"))
    with pytest.raises(ModelFormatError, match="unknown format 'graph-model'.*graph model"):
        load(saved)


def test_unknown_layer_class(saved):
    def rename(d):
        d["modelTopology"]["config"]["layers"][1]["class_name"] = "MyCustomLayer"
    edit(saved, rename)
    with pytest.raises(UnsupportedModelError) as info:
        load(saved)
    message = str(info.value)
    assert "model.json" in message and "Unknown layer: MyCustomLayer" in message
    assert "tf.serialization.registerClass" in message


def test_missing_weight_file(saved):
    os.remove(saved / "weights.bin")
    with pytest.raises(ModelFileNotFoundError, match=r"weights\.bin does not exist"):
        load(saved)


def test_missing_model_json(tmp_path):
    with pytest.raises(ModelFileNotFoundError, match="no such file"):
        run(tf.loadLayersModel(str(tmp_path / "nothing" / "model.json")))


@pytest.mark.parametrize("change, relation", [(-4, "shorter"), (+3, "longer")])
def test_weight_file_size_differs_from_manifest(saved, change, relation):
    path = saved / "weights.bin"
    data = path.read_bytes()
    path.write_bytes(data[:change] if change < 0 else data + b"\0" * change)
    with pytest.raises(WeightsError, match=f"weights.bin are {relation} than the manifest"):
        load(saved)


def test_weight_shape_does_not_match_the_layer(saved):
    def reshape(d):
        d["weightsManifest"][0]["weights"][0]["shape"] = [5, 4]    # layer has [4, 5]
    edit(saved, reshape)
    with pytest.raises(WeightsError, match=r"'hidden/kernel' has shape \[5, 4\].*\[4, 5\]"):
        load(saved)


@pytest.mark.parametrize("bad_path", ["../outside.bin", "/etc/passwd", "sub/../../x.bin",
                                      "..\\..\\x.bin", "C:/x.bin", "file:///etc/passwd"])
def test_manifest_paths_escaping_the_folder_are_refused(saved, bad_path):
    (saved.parent / "outside.bin").write_bytes((saved / "weights.bin").read_bytes())
    edit(saved, lambda d: d["weightsManifest"][0].update(paths=[bad_path]))
    with pytest.raises(UnsafePathError, match="refusing"):
        load(saved)


def test_symlink_out_of_the_folder_is_refused(saved):
    outside = saved.parent / "secret.bin"
    shutil.copy(saved / "weights.bin", outside)
    os.symlink(outside, saved / "link.bin")
    edit(saved, lambda d: d["weightsManifest"][0].update(paths=["link.bin"]))
    with pytest.raises(UnsafePathError, match="outside the model's folder"):
        load(saved)


def test_absurd_declared_shapes_are_refused_before_allocating(saved):
    def huge(d):
        d["weightsManifest"][0]["weights"][0]["shape"] = [2 ** 40, 2 ** 40]
    edit(saved, huge)
    with pytest.raises(WeightsError, match="shorter than the manifest says"):
        load(saved)


@pytest.mark.parametrize("shape", [[-1, 5], [4.5, 5], "4,5", [True, 5]])
def test_invalid_declared_shapes(saved, shape):
    edit(saved, lambda d: d["weightsManifest"][0]["weights"][0].update(shape=shape))
    with pytest.raises(WeightsError, match="invalid shape"):
        load(saved)


def test_unknown_weight_dtype_and_quantization(saved):
    edit(saved, lambda d: d["weightsManifest"][0]["weights"][0].update(dtype="complex128"))
    with pytest.raises(WeightsError, match="dtype 'complex128'"):
        load(saved)
    edit(saved, lambda d: d["weightsManifest"][0]["weights"][0].update(
        dtype="float32", quantization={"dtype": "int4", "scale": 1, "min": 0}))
    with pytest.raises(WeightsError, match="unknown quantization dtype 'int4'"):
        load(saved)


def test_strict_mode_errors_and_non_strict_loading(saved):
    def rename(d):
        d["weightsManifest"][0]["weights"][3]["name"] = "stranger/bias"
    edit(saved, rename)
    with pytest.raises(WeightsError, match="Provided weight data has no target variable: "
                                           "stranger/bias"):
        load(saved)
    model = load(saved, strict=False)
    np.testing.assert_array_equal(model.getLayer("out").getWeights()[1].dataSync(),
                                  np.zeros(3, np.float32))     # left at its initial value


def test_missing_weights_in_strict_mode(saved):
    def drop(d):
        weights = d["weightsManifest"][0]["weights"]
        del weights[3]
    edit(saved, drop)
    (saved / "weights.bin").write_bytes((saved / "weights.bin").read_bytes()[:-12])
    with pytest.raises(WeightsError, match="1 of 4 weights are not set: out/bias"):
        load(saved)


def test_failed_load_does_not_leave_a_half_loaded_model(saved):
    """Shapes are checked for every weight before any is written."""
    model = mlp(seed=5)
    before = [w.dataSync().copy() for w in model.getWeights()]
    from kiln.frontend.io.weight_loading import load_weights
    bad = [({"name": "hidden/kernel"}, np.ones((4, 5), np.float32)),
           ({"name": "out/kernel"}, np.ones((9, 9), np.float32))]
    with pytest.raises(WeightsError):
        load_weights(model, bad, strict=False, where="test")
    for w, b in zip(model.getWeights(), before):
        np.testing.assert_array_equal(w.dataSync(), b)


def test_weight_spec_without_a_name(saved):
    edit(saved, lambda d: d["weightsManifest"][0]["weights"][0].pop("name"))
    with pytest.raises(ModelFormatError, match="needs a 'name'"):
        load(saved)
