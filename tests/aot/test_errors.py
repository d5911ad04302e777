"""Bad input to compile_model and loadCompiled: clear errors naming the problem, raised before
anything is compiled or written."""
import os

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.aot import compile_model
from tests.aot.helpers import mlp


@pytest.fixture(scope="module")
def model():
    return mlp(units=(4,), inputs=3, classes=2)


def test_unknown_target_cpu(model, tmp_path):
    with pytest.raises(ValueError, match="unknown target CPU 'pentium9000'; try 'x86-64-v2'"):
        compile_model(model, tmp_path / "out", targetCpu="pentium9000")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder(model, tmp_path):
    # /sys refuses new files even to root (chmod would not stop root)
    with pytest.raises(PermissionError, match="output folder '/sys' is not writable|"
                                              "cannot write in the output folder '/sys'"):
        compile_model(model, "/sys")
    with pytest.raises(PermissionError, match="cannot create the output folder '/sys/kiln'"):
        compile_model(model, "/sys/kiln")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        compile_model(model, tmp_path / "file")
    with pytest.raises(NotADirectoryError, match="cannot create the output folder"):
        compile_model(model, tmp_path / "file" / "out")
    if os.geteuid() != 0:
        (tmp_path / "locked").mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="is not writable"):
            compile_model(model, tmp_path / "locked")


@pytest.mark.parametrize("name, message", [
    ("2fast", "must be a C identifier"),
    ("my-model", "must be a C identifier"),
    ("int", "must be a C identifier"),
    ("", "must be a C identifier"),
    ("m", "libm.so, the name of a C runtime library"),
])
def test_bad_library_names(model, tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        compile_model(model, tmp_path, name=name)


def test_bad_options(model, tmp_path):
    with pytest.raises(ValueError, match=r"weights must be one of \['embed', 'file'\], got 'disk'"):
        compile_model(model, tmp_path, weights="disk")
    for batch in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="batch size must be a positive integer"):
            compile_model(model, tmp_path, batch=batch)
    with pytest.raises(ValueError, match="threads must be a positive integer, got 0"):
        compile_model(model, tmp_path, threads=0)
    with pytest.raises(TypeError, match="expected a LayersModel, got Dense"):
        compile_model(tf.layers.dense({"units": 1}), tmp_path)


def test_shapes_that_cannot_be_compiled(tmp_path):
    fixed = tf.input({"batchShape": [4, 3], "name": "fixed"})
    model = tf.model({"inputs": [fixed], "outputs": [tf.layers.dense({"units": 2}).apply(fixed)]})
    with pytest.raises(ValueError, match="input 'fixed' .* has a fixed batch size of 4; "
                                         "compile it with batch 4, not 1"):
        compile_model(model, tmp_path)
    compile_model(model, tmp_path, name="fixed", batch=4)
    ragged = tf.input({"shape": [None, 3], "name": "ragged"})
    model = tf.model({"inputs": [ragged], "outputs": [tf.relu(ragged)]})
    with pytest.raises(ValueError, match=r"input 'ragged' .* has shape \[None, None, 3\]: every "
                                         "dimension after the batch must be known"):
        compile_model(model, tmp_path)


def test_load_compiled_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="compiled library '.*nothing.so' does not exist"):
        tf.loadCompiled(tmp_path / "nothing.so")
    (tmp_path / "libjunk.so").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot load compiled library"):
        tf.loadCompiled(tmp_path / "libjunk.so")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['weight'\]"):
        tf.loadCompiled(tmp_path / "libjunk.so", {"weight": "x"})


def test_predict_checks_inputs(multi):
    model, out = multi
    lib = tf.loadCompiled(out / "libmulti.so")
    x = [np.zeros((3, 6), np.float32), np.zeros((3, 3), np.float32)]
    with pytest.raises(ValueError, match=r"input 'context' of library 'multi' must be a "
                                         r"C-contiguous float32 array of shape \[n, 3\], got "
                                         r"float32\[3, 4\]"):
        lib.predict([x[0], np.zeros((3, 4), np.float32)])
    with pytest.raises(ValueError, match="all inputs must have the same number of samples, "
                                         "got 3 and 2"):
        lib.predict([x[0], x[1][:2]])
    with pytest.raises(ValueError, match="expects 2 input"):
        lib.predict(x[0])
    with pytest.raises(ValueError, match="no data for input 'context'"):
        lib.predict({"features": x[0]})
