"""Keras .keras / .h5 files loaded directly (h5py from the kiln[keras] extra)."""
import asyncio
import json
import shutil
import sys
import zipfile

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import (MissingDependencyError, ModelFormatError, UnsupportedModelError,
                              WeightsError)
from tests.frontend.io.fixtures import FIXTURES, arrays, io_json_for

h5py = pytest.importorskip("h5py")   # the extra is part of the test install: pip install -e .[test,keras]
KERAS_FILES = FIXTURES / "keras_files"


def load(path, options=None):
    return asyncio.run(tf.loadLayersModel(str(path), options))


def test_without_h5py_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    for name in ("mlp.keras", "mlp.h5"):
        with pytest.raises(MissingDependencyError, match=r"pip install kiln\[keras\]"):
            load(KERAS_FILES / name)


@pytest.mark.parametrize("name", ["mlp.keras", "mlp.h5", "mlp.keras2.h5"])
def test_keras_file_loads_with_user_layer_names(name):
    model = load(KERAS_FILES / name)
    assert model.name == "mlp"
    io = io_json_for(KERAS_FILES / name)
    got = model.predict(arrays(io["inputs"])[0]).dataSync()
    np.testing.assert_allclose(got.reshape(io["outputs"][0]["shape"]),
                               arrays(io["outputs"])[0], rtol=1e-5, atol=1e-6)


def test_file_scheme_is_accepted():
    assert load(f"file://{KERAS_FILES / 'mlp.keras'}").name == "mlp"


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError, match=r"bad\.keras: not a Keras 3 \.keras file"):
        load(bad)


def test_zip_without_weights(tmp_path):
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(ModelFormatError, match="no model.weights.h5 inside"):
        load(bad)


def test_h5_without_model_config(tmp_path):
    path = tmp_path / "weights_only.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ModelFormatError, match="no 'model_config' attribute"):
        load(path)


def test_unsupported_keras_options_in_a_keras_file_are_listed_at_once(tmp_path):
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(KERAS_FILES / "mlp.keras") as source, \
            zipfile.ZipFile(path, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "config.json":
                config = json.loads(data)
                dense_layers = [l for l in config["config"]["layers"]
                                if l["class_name"] == "Dense"]
                dense_layers[0]["config"]["lora_rank"] = 8
                dense_layers[1]["config"]["kernel_initializer"]["class_name"] = "Mystery"
                data = json.dumps(config).encode()
            target.writestr(item, data)
    with pytest.raises(UnsupportedModelError) as info:
        load(path)
    message = str(info.value)
    assert "edited.keras" in message
    assert "option 'loraRank' = 8 has no kiln equivalent" in message
    assert "Unknown initializer: Mystery" in message


def test_h5_weights_are_matched_per_layer_and_checked(tmp_path):
    """Keras 3's legacy .h5 prefixes weight names with the model name ('mlp/dense/kernel');
    weights are matched per layer name and in order, as Keras matches them, and a layer whose
    weights do not fit is named."""
    path = tmp_path / "copy.h5"
    shutil.copy(KERAS_FILES / "mlp.h5", path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        first = next(n for n in group.attrs["layer_names"]
                     if len(group[n].attrs["weight_names"]) == 2)
        first = first.decode() if isinstance(first, bytes) else first
        names = list(group[first].attrs["weight_names"])
        assert str(names[0]).startswith("mlp/")
        group[first].attrs["weight_names"] = names[:1]
    with pytest.raises(WeightsError, match=f"layer '{first}' has 2 weight\\(s\\), the file "
                                           "has 1"):
        load(path)
