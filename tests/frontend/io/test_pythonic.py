"""snake <-> camel conversion exactly where TF.js converts, and JSON.stringify's number text."""
import json

import pytest

from kiln.frontend.io.js_json import js_number, stringify
from kiln.frontend.io.pythonic import pythonic_to_ts, ts_to_pythonic


def test_load_converts_keys_and_string_values_but_not_names():
    py = {"class_name": "Dense", "config": {
        "name": "my_dense_1", "use_bias": True, "activation": "hard_sigmoid",
        "kernel_initializer": {"class_name": "VarianceScaling",
                               "config": {"mode": "fan_avg", "distribution": "truncated_normal",
                                          "seed": None, "scale": 1}},
        "data_format": "channels_last", "gelu": "gelu_new", "batch_input_shape": [None, 3]}}
    ts = pythonic_to_ts(py)
    assert ts == {"className": "Dense", "config": {
        "name": "my_dense_1", "useBias": True, "activation": "hardSigmoid",
        "kernelInitializer": {"className": "VarianceScaling",
                              "config": {"mode": "fanAvg", "distribution": "truncatedNormal",
                                         "seed": None, "scale": 1}},
        "dataFormat": "channelsLast", "gelu": "geluNew", "batchInputShape": [None, 3]}}


def test_layer_names_in_inbound_nodes_and_endpoints_are_kept():
    py = {"layers": [{"name": "dense_1", "class_name": "Dense", "config": {"name": "dense_1"},
                      "inbound_nodes": [[["input_a", 0, 0, {"some_kwarg": "snake_value"}]]]}],
          "input_layers": [["input_a", 0, 0]], "output_layers": [["dense_1", 0, 0]]}
    ts = pythonic_to_ts(py)
    assert ts["layers"][0]["inboundNodes"] == [[["input_a", 0, 0, {"someKwarg": "snakeValue"}]]]
    assert ts["inputLayers"] == [["input_a", 0, 0]]
    assert ts["outputLayers"] == [["dense_1", 0, 0]]
    # a string that is not the first element is converted like any value
    assert pythonic_to_ts({"input_layers": [["a_b", "c_d"]]}) == {"inputLayers": [["a_b", "cD"]]}


def test_save_converts_back_except_name_and_class_name():
    ts = {"className": "BatchNormalization", "config": {
        "name": "batchNorm_1", "movingMeanInitializer": {"className": "Zeros", "config": {}},
        "dataFormat": "channelsFirst", "activation": "relu6"},
        "inboundNodes": [[["someLayer", 0, 0, {}]]], "kerasVersion": "tfjs-layers 4.22.0",
        "backend": "TensorFlow.js"}
    py = ts_to_pythonic(ts)
    assert py == {"class_name": "BatchNormalization", "config": {
        "name": "batchNorm_1", "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
        "data_format": "channels_first", "activation": "relu6"},
        "inbound_nodes": [[["someLayer", 0, 0, {}]]], "keras_version": "tfjs-layers 4.22.0",
        "backend": "tensor_flow.js"}


@pytest.mark.parametrize("value, text", [
    (1.0, "1"), (0.5, "0.5"), (-2.0, "-2"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"),
    (0.00001, "0.00001"), (0.000001, "0.000001"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (123456.789, "123456.789"), (0.1 + 0.2, "0.30000000000000004"), (float("nan"), "null"),
    (3, "3"), (0.001, "0.001"), (2.5e-8, "2.5e-8"), (1.2345e22, "1.2345e+22"), (0.0, "0"),
])
def test_numbers_are_written_as_javascript_writes_them(value, text):
    assert js_number(value) == text


def test_stringify_has_no_whitespace_and_keeps_key_order():
    value = {"b": [1.0, None, True], "a": {"x": "ü\"q"}, "c": 1e-7}
    assert stringify(value) == '{"b":[1,null,true],"a":{"x":"ü\\"q"},"c":1e-7}'
    assert json.loads(stringify(value)) == value
