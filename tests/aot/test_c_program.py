"""The example C program (examples/aot/main.c), built with cc against a compiled library,
prints what model.predict computes."""
import subprocess

import numpy as np

import kiln as tf
from kiln.frontend.aot import compile_model
from tests.aot.helpers import (CC_FLAGS, EXAMPLE, build_predict, cnn, lstm, mlp, predict_arrays,
                               random_inputs, run_predict)


def check_close(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_mlp_w2_prints_predict_outputs(w2):
    model, out = w2
    program = build_predict(out, "w2")
    arrays = random_inputs(model, 3)              # three samples through the batch-1 library
    check_close(run_predict(program, arrays), predict_arrays(model, arrays))


def test_cnn_w4_prints_predict_outputs(tmp_path):
    model = cnn()
    compile_model(model, tmp_path, name="w4")
    arrays = random_inputs(model, 2)
    check_close(run_predict(build_predict(tmp_path, "w4"), arrays), predict_arrays(model, arrays))


def test_lstm_w6_prints_predict_outputs(tmp_path):
    model = lstm()
    compile_model(model, tmp_path, name="w6", batch=4)
    arrays = random_inputs(model, 5)               # a full chunk of 4, then a partial one
    check_close(run_predict(build_predict(tmp_path, "w6"), arrays), predict_arrays(model, arrays))


def test_functional_multi_input_multi_output(multi):
    model, out = multi
    program = build_predict(out, "multi")
    arrays = random_inputs(model, 5, seed=1)      # two full chunks of 2, then a partial one
    got = run_predict(program, arrays)
    check_close(got, predict_arrays(model, arrays))
    assert [o.shape for o in got] == [(5, 4), (5, 1)]


def test_weights_file(tmp_path):
    model = mlp(units=(32,), inputs=5, classes=3)
    files = compile_model(model, tmp_path, name="small", weights="file", batch=4)
    assert files.weights == tmp_path / "small.weights"
    program = build_predict(tmp_path, "small", weights_file=True)
    arrays = random_inputs(model, 4)
    check_close(run_predict(program, arrays, files.weights), predict_arrays(model, arrays))


def test_target_x86_64_v2_runs_here(tmp_path):
    model = mlp(units=(64, 32), inputs=20, classes=5)
    files = compile_model(model, tmp_path, name="v2", targetCpu="x86-64-v2")
    assert "Built for CPU: x86-64-v2" in files.header.read_text()
    program = build_predict(tmp_path, "v2")
    arrays = random_inputs(model, 2)
    check_close(run_predict(program, arrays), predict_arrays(model, arrays))


def test_int32_input(tmp_path):
    ids = tf.input({"shape": [5], "dtype": "int32", "name": "ids"})
    embedded = tf.layers.embedding({"inputDim": 10, "outputDim": 4}).apply(ids)
    out = tf.layers.dense({"units": 2}).apply(tf.layers.flatten().apply(embedded))
    model = tf.model({"inputs": [ids], "outputs": [out]})
    compile_model(model, tmp_path, name="emb", batch=2)
    assert "input  0: ids                      [2, 5] int32 (int32_t, 40 bytes)" in \
        (tmp_path / "emb.h").read_text()
    x = np.random.default_rng(0).integers(0, 10, (3, 5)).astype(np.int32)
    check_close(run_predict(build_predict(tmp_path, "emb"), [x]), predict_arrays(model, [x]))


def test_object_file_links_statically(multi, tmp_path):
    model, out = multi
    program = tmp_path / "predict_static"
    subprocess.run(["cc", *CC_FLAGS, "-I", str(out), "-DMODEL=multi", str(EXAMPLE),
                    str(out / "multi.o"), "-lm", "-o", str(program)], check=True)
    arrays = random_inputs(model, 3, seed=4)
    check_close(run_predict(program, arrays), predict_arrays(model, arrays))
