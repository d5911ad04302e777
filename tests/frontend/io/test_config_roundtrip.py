"""Every registered class round-trips through its config: getConfig -> fromConfig gives the
same config, and so does the trip through model.json's snake_case JSON text."""
import json

import pytest

from kiln.frontend.engine.config import REQUIRED, collect_args
from kiln.frontend.io.js_json import stringify
from kiln.frontend.io.pythonic import pythonic_to_ts, ts_to_pythonic
from kiln.frontend.serialization import deserialize, registered, serialize

# Values for options a class requires (a class with a required option not listed here fails
# with a message asking for a sample value).
SAMPLES = {
    "units": 3, "rate": 0.25, "targetShape": [2, 3], "dims": [2, 1], "n": 2, "inputDim": 5,
    "outputDim": 4, "activation": "tanh", "filters": 2, "kernelSize": 3, "cropping": 1,
    "height": 2, "width": 3, "numTokens": 4, "scale": 0.5, "stddev": 0.1, "axes": 1,
    "numHeads": 2, "keyDim": 4, "value": 0.5, "factor": 0.2, "poolSize": 2,
    "layer": {"className": "SimpleRNN", "config": {"units": 2}},
    "cell": {"className": "LSTMCell", "config": {"units": 3}},
    "cells": [{"className": "GRUCell", "config": {"units": 2}},
              {"className": "SimpleRNNCell", "config": {"units": 3}}],
}
# Structural classes built from their graphs, covered by the model tests.
SKIP_BUILT_ELSEWHERE = {"Model", "Sequential", "InputLayer", "TFOpLambda"}


def _sample_config(cls):
    config = {}
    for key, default in collect_args(cls).items():
        if default is REQUIRED:
            if key not in SAMPLES:
                pytest.fail(f"{cls.className}: add a sample value for its required option "
                            f"{key!r} to SAMPLES")
            config[key] = SAMPLES[key]
    if cls.className == "Constant":
        config["value"] = 0.5
    return config


def _classes():
    return [pytest.param(cls, id=name) for name, cls in sorted(registered().items())
            if name not in SKIP_BUILT_ELSEWHERE and ">" not in name and
            cls.__module__.startswith("kiln.")]


@pytest.mark.parametrize("cls", _classes())
def test_get_config_from_config_round_trip(cls):
    obj = cls(_sample_config(cls))
    config = obj.getConfig()
    again = cls.fromConfig(cls, json.loads(json.dumps(config)))
    assert type(again) is type(obj) or again.getClassName() == obj.getClassName()
    assert again.getConfig() == config
    # through model.json: camel -> snake JSON text -> camel -> deserialize
    text = stringify(ts_to_pythonic(serialize(obj)))
    rebuilt = deserialize(pythonic_to_ts(json.loads(text)), "object")
    assert rebuilt.getConfig() == config
