"""The compiled library itself: loadCompiled, dependencies, exports, status codes, weights."""
import ctypes
import subprocess

import numpy as np
import pytest

import kiln as tf
from kiln.codegen.aot import WEIGHTS_HEADER_BYTES
from kiln.frontend.aot import compile_model
from tests.aot.helpers import mlp, predict_arrays, random_inputs

ALLOWED_NEEDED = {"libc.so.6", "libm.so.6"}


def needed(library):
    text = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True,
                          check=True).stdout
    return {line.split("[")[1].rstrip("]") for line in text.splitlines() if "(NEEDED)" in line}


@pytest.fixture(scope="module")
def libm_threads(tmp_path_factory):
    """A model that calls libm (sin) and runs its GEMM on 2 pthreads."""
    x = tf.input({"shape": [256]})
    h = tf.layers.dense({"units": 256}).apply(x)
    model = tf.model({"inputs": [x], "outputs": [tf.sin(h)]})
    out = tmp_path_factory.mktemp("libm")
    compile_model(model, out, name="wavy", batch=128, threads=2)
    return model, out


def test_load_compiled_predicts_any_sample_count(multi):
    model, out = multi
    lib = tf.loadCompiled(out / "libmulti.so")
    assert [(t.name, t.shape, t.dtype) for t in lib.inputs] == [
        ("features", [2, 6], "float32"), ("context", [2, 3], "float32")]
    assert [(t.name, t.shape) for t in lib.outputs] == [("probs", [2, 4]), ("score", [2, 1])]
    assert lib.batchSize == 2
    for n in (1, 2, 7):
        arrays = random_inputs(model, n, seed=n)
        got = [t.dataSync().reshape(t.shape) for t in lib.predict(arrays)]
        for g, e in zip(got, predict_arrays(model, arrays)):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    by_name = lib.predict({"context": arrays[1], "features": arrays[0]})
    np.testing.assert_array_equal(by_name[0].dataSync(), got[0].reshape(-1))
    empty = lib.predict(random_inputs(model, 0))
    assert [t.shape for t in empty] == [[0, 4], [0, 1]]


def test_depends_on_libc_and_libm_only(w2, libm_threads):
    for library in (w2[1] / "libw2.so", libm_threads[1] / "libwavy.so"):
        assert needed(library) <= ALLOWED_NEEDED
        ldd = subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
        for line in ldd.splitlines():
            name = line.split()[0]
            assert name.startswith(("linux-vdso", "libc.so", "libm.so", "/lib64/ld-linux",
                                    "statically")), ldd
    assert needed(libm_threads[1] / "libwavy.so") == ALLOWED_NEEDED    # sinf, pthread_create
    model, out = libm_threads
    arrays = random_inputs(model, 128)
    got = tf.loadCompiled(out / "libwavy.so").predict(arrays).dataSync()
    np.testing.assert_allclose(got, predict_arrays(model, arrays)[0].reshape(-1), atol=1e-5)


def test_exports_only_the_c_api(w2):
    text = subprocess.run(["nm", "-D", "--defined-only", str(w2[1] / "libw2.so")],
                          capture_output=True, text=True, check=True).stdout
    exported = sorted(line.split()[-1] for line in text.splitlines())
    assert exported == sorted(f"w2_{f}" for f in (
        "num_inputs", "num_outputs", "input_rank", "input_shape", "input_dtype", "input_name",
        "output_rank", "output_shape", "output_dtype", "output_name", "batch_size",
        "workspace_size", "run", "run_batch", "status_string"))


def test_target_x86_64_v2_uses_no_avx(tmp_path):
    model = mlp(units=(64,), inputs=32, classes=8)
    for cpu, wide in (("x86-64-v2", False), ("x86-64-v3", True)):
        compile_model(model, tmp_path / cpu, name="net", targetCpu=cpu)
        asm = subprocess.run(["objdump", "-d", str(tmp_path / cpu / "libnet.so")],
                             capture_output=True, text=True, check=True).stdout
        assert (("%ymm" in asm) or ("%zmm" in asm)) == wide, cpu


class Raw:
    """The library's C functions called directly (no Python checks in front)."""

    def __init__(self, path, name):
        self.lib = ctypes.CDLL(str(path))
        self.name = name
        self.workspace = np.zeros(self.fn("workspace_size", ctypes.c_size_t)() + 128, np.uint8)

    def fn(self, short, restype=ctypes.c_int):
        f = getattr(self.lib, f"{self.name}_{short}")
        f.restype = restype
        return f

    def aligned_workspace(self, offset=0):
        base = self.workspace.ctypes.data
        return ctypes.c_void_p(base + (-base) % 64 + offset)

    def run(self, inputs, outputs, workspace):
        run = self.fn("run")
        run.argtypes = [ctypes.c_void_p] * 3
        return run(inputs, outputs, workspace)


def pointers(arrays):
    return (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])


def test_status_codes_for_bad_calls(multi):
    model, out = multi
    raw = Raw(out / "libmulti.so", "multi")
    x = random_inputs(model, 2)
    y = [np.full((2, 4), 7, np.float32), np.full((2, 1), 7, np.float32)]
    ws = raw.aligned_workspace()
    assert raw.run(pointers(x), pointers(y), None) == 1
    assert raw.run(None, pointers(y), ws) == 1
    assert raw.run(pointers(x), None, ws) == 1
    holes = (ctypes.c_void_p * 2)(x[0].ctypes.data, None)
    assert raw.run(holes, pointers(y), ws) == 1
    assert raw.run(pointers(x), pointers(y), raw.aligned_workspace(8)) == 2
    misaligned = ctypes.c_void_p(x[0].ctypes.data + 1)
    assert raw.run((ctypes.c_void_p * 2)(misaligned, x[1].ctypes.data), pointers(y), ws) == 2
    assert all((o == 7).all() for o in y)          # failed calls leave the outputs alone
    run_batch = raw.fn("run_batch")
    run_batch.argtypes = [ctypes.c_int64] + [ctypes.c_void_p] * 3
    assert run_batch(-1, pointers(x), pointers(y), ws) == 4
    assert raw.run(pointers(x), pointers(y), ws) == 0
    status_string = raw.fn("status_string", ctypes.c_char_p)
    assert status_string(0) == b"ok"
    assert status_string(2) == b"a misaligned workspace (64 bytes) or tensor buffer"
    assert status_string(99) == b"unknown status code"
    rank, shape = raw.fn("input_rank"), raw.fn("input_shape", ctypes.c_void_p)
    assert (rank(2), rank(-1), shape(2), shape(-1)) == (-1, -1, None, None)


def test_weights_file_checks(tmp_path):
    model = mlp(units=(16,), inputs=4, classes=3)
    other = mlp(units=(17,), inputs=4, classes=3)
    files = compile_model(model, tmp_path / "a", name="small", weights="file")
    other_files = compile_model(other, tmp_path / "b", name="other", weights="file")
    raw = Raw(files.library, "small")
    load = raw.fn("load_weights")
    load.argtypes = [ctypes.c_char_p]
    x, y = random_inputs(model, 1), [np.zeros((1, 3), np.float32)]
    ws = raw.aligned_workspace()
    assert raw.run(pointers(x), pointers(y), ws) == 3          # not loaded yet
    good = files.weights.read_bytes()
    cases = {
        "missing.weights": None,
        "other.weights": other_files.weights.read_bytes(),
        "truncated.weights": good[:-4],
        "long.weights": good + b"\0",
        "garbage.weights": b"not a weights file" * 10,
        "header_only.weights": good[:WEIGHTS_HEADER_BYTES],
    }
    expected = {"missing.weights": 5, "other.weights": 7, "truncated.weights": 6,
                "long.weights": 6, "garbage.weights": 6, "header_only.weights": 6}
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        assert load(str(tmp_path / name).encode()) == expected[name], name
        assert raw.run(pointers(x), pointers(y), ws) == 3, name    # a failed load unloads
    assert load(None) == 1
    assert load(str(files.weights).encode()) == 0
    assert raw.run(pointers(x), pointers(y), ws) == 0
    np.testing.assert_allclose(y[0], predict_arrays(model, x)[0], rtol=1e-5, atol=1e-6)
    lib = tf.loadCompiled(files.library)                   # finds small.weights next to it
    np.testing.assert_allclose(lib.predict(x).dataSync(), y[0].reshape(-1))
    with pytest.raises(ValueError, match="weights file of a model with other parameters"):
        tf.loadCompiled(files.library, {"weights": other_files.weights})


def test_two_libraries_of_one_model_in_one_process(tmp_path):
    model = mlp(units=(8,), inputs=3, classes=2)
    x = random_inputs(model, 3)
    expected = predict_arrays(model, x)[0]
    for name in ("first", "second"):
        compile_model(model, tmp_path, name=name, batch=3)
    libs = [tf.loadCompiled(tmp_path / f"lib{name}.so") for name in ("first", "second")]
    for lib in libs:
        np.testing.assert_allclose(lib.predict(x).dataSync().reshape(3, 2), expected,
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="is not a kiln library named 'third'"):
        tf.loadCompiled(tmp_path / "libfirst.so", {"name": "third"})


def test_embed_build_removes_a_stale_weights_file(tmp_path):
    model = mlp(units=(8,), inputs=3, classes=2)
    compile_model(model, tmp_path, name="net", weights="file")
    assert (tmp_path / "net.weights").exists()
    compile_model(model, tmp_path, name="net")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["libnet.so", "net.h", "net.o"]


def test_header_compiles_whatever_the_tensor_names(tmp_path):
    x = tf.input({"shape": [2], "name": "odd*/name"})
    model = tf.model({"inputs": [x], "outputs": [tf.layers.dense({"units": 1}).apply(x)]})
    files = compile_model(model, tmp_path, name="odd")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-x", "c",
                    str(files.header)], check=True)
    subprocess.run(["g++", "-Wall", "-Werror", "-fsyntax-only", "-x", "c++", str(files.header)],
                   check=True)
    assert tf.loadCompiled(files.library).inputNames == ["odd*/name"]
