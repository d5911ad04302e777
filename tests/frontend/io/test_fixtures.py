"""Every model TensorFlow.js or the Keras converter wrote (tests/fixtures) loads in kiln and
predicts what the real library predicted (io.json), to float32 tolerance."""
from __future__ import annotations

import asyncio
import pathlib

import numpy as np
import pytest

import kiln as tf
from tests.frontend.io.fixtures import FIXTURES, arrays, io_json_for, keras_files, model_dirs
from tests.frontend.io.keras_references import REFERENCES as KERAS_REFERENCES

RTOL, ATOL = 1e-5, 1e-6

# Where the recorded outputs are not what kiln must compute, the right reference and why.
REFERENCE_KEYS = {
    # TF.js projects loaded weights through the layers' constraints (LayerVariable.write);
    # Keras never applies constraints outside training, and kiln follows Keras. The stored
    # weights violate the constraints, so Keras's own predictions are the reference.
    "keras/constraints": "outputs_keras_unconstrained",
}
# tfjs/batchnorm_axis1, tfjs/preprocessing (second output) and tfjs/resizing: TF.js 4.22
# computes these differently from Keras (see keras_references.py); the reference is Keras's
# definition computed in numpy from the fixture's own weights.


def _case_id(path: pathlib.Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _cases():
    paths = model_dirs("tfjs") + model_dirs("keras") + keras_files()
    return [pytest.param(path, id=_case_id(path)) for path in paths]


def _load(path: pathlib.Path):
    target = path / "model.json" if path.is_dir() else path
    return asyncio.run(tf.loadLayersModel(str(target)))


def _outputs(model, path, inputs):
    if _case_id(path) == "tfjs/resizing":
        # TF.js 4.22 cannot run Resizing inside a model; the fixture recorded each layer
        # applied directly to the input.
        names = ["resize_bilinear", "resize_nearest", "resize_up"]
        return [model.getLayer(n).apply(tf.tensor(inputs[0])).dataSync() for n in names]
    out = model.predict(inputs[0] if len(inputs) == 1 else inputs)
    return [o.dataSync() for o in (out if isinstance(out, list) else [out])]


def _references(path, io):
    case = _case_id(path)
    if case in KERAS_REFERENCES:
        return KERAS_REFERENCES[case](path, arrays(io["inputs"])[0])
    return arrays(io[REFERENCE_KEYS.get(case, "outputs")])


@pytest.mark.parametrize("path", _cases())
def test_fixture_loads_and_predicts(path):
    io = io_json_for(path)
    model = _load(path)
    inputs = arrays(io["inputs"])
    outputs = _outputs(model, path, inputs)
    references = _references(path, io)
    assert len(outputs) == len(references)
    for i, (got, want) in enumerate(zip(outputs, references)):
        np.testing.assert_allclose(np.asarray(got).reshape(want.shape), want, rtol=RTOL,
                                   atol=ATOL, err_msg=f"{_case_id(path)} output {i}")


def test_every_fixture_folder_is_swept():
    """The sweep covers every model the fixture scripts wrote."""
    import json
    for kind in ("tfjs", "keras"):
        listed = set(json.loads((FIXTURES / kind / "manifest.json").read_text())["fixtures"])
        assert listed == {p.name for p in model_dirs(kind)}
