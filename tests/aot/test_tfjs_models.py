"""Models TensorFlow.js saved (tests/fixtures/tfjs), compiled ahead of time: the C example
prints TF.js's recorded predictions (io.json) and what model.predict computes."""
import asyncio
import json

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.aot import compile_model
from tests.aot.helpers import ROOT, build_predict, predict_arrays, run_predict

FIXTURES = ROOT / "tests" / "fixtures" / "tfjs"
CASES = {
    "mlp": "Dense layers with 13 activations and dropout",
    "functional_multi_io": "two inputs, two outputs, shared Dense, merge layers",
    "cnn2d": "ZeroPadding2D, Conv2D (valid, strides, dilation), pooling, Flatten, Dense",
    "cnn1d": "Conv1D, pooling 1D, global pooling, Concatenate",
    "rnn_lstm": "LSTM (returnSequences), LSTM (unitForgetBias, goBackwards)",
    "embedding_mask_lstm": "int32 ids, Embedding (maskZero) -> LSTM -> Dense",
}


def arrays_of(records):
    return [np.array(r["data"], dtype=r["dtype"]).reshape(r["shape"]) for r in records]


@pytest.mark.parametrize("name", sorted(CASES))
def test_c_program_prints_tfjs_predictions(name, tmp_path):
    io = json.loads((FIXTURES / name / "io.json").read_text())
    model = asyncio.run(tf.loadLayersModel(f"file://{FIXTURES / name / 'model.json'}"))
    compile_model(model, tmp_path, name=name, batch=2)       # 3 samples: a partial chunk
    inputs = arrays_of(io["inputs"])
    got = run_predict(build_predict(tmp_path, name), inputs)
    for g, tfjs, kiln_predict in zip(got, arrays_of(io["outputs"]),
                                     predict_arrays(model, inputs)):
        np.testing.assert_allclose(g, tfjs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, kiln_predict, rtol=1e-5, atol=1e-6)
