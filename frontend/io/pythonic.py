"""snake_case <-> lowerCamelCase conversion of model configs, exactly where TF.js converts.

Load path (TF.js's convertPythonicToTs): every object key is camel-cased, and so is every
string value, except a string under the key 'name' and the layer name (the first element, a
string) of each entry of 'inboundNodes', 'inputLayers' and 'outputLayers'.

Save path (convertTsToPythonic): every key is snake-cased, and so is every string value,
except strings under 'name' or 'className' and the same layer names.

So "channels_last" <-> "channelsLast", "glorot_uniform" -> "glorotUniform",
"gelu_new" -> "geluNew", and layer names survive both directions untouched.
"""
from __future__ import annotations

from kiln.frontend.engine.naming import to_camel_case, to_snake_case

_LAYER_NAME_LISTS = ("inboundNodes", "inputLayers", "outputLayers")


def _is_layer_name(key, index: int, item) -> bool:
    return key in _LAYER_NAME_LISTS and index == 0 and isinstance(item, str)


def pythonic_to_ts(value, key: str | None = None):
    """A snake_case config (as in model.json) -> the camelCase config layers take."""
    if value is None:
        return None
    if isinstance(value, str):
        return to_camel_case(value)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [item if _is_layer_name(key, i, item) else pythonic_to_ts(item, key)
                for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for py_key, py_value in value.items():
            if py_key == "name" and isinstance(py_value, str):
                result[py_key] = py_value
            else:
                ts_key = to_camel_case(py_key)
                result[ts_key] = pythonic_to_ts(py_value, ts_key)
        return result
    raise TypeError(f"model config: unexpected value of type {type(value).__name__} under "
                    f"{key!r}")


def ts_to_pythonic(value, key: str | None = None):
    """A camelCase config (from getConfig) -> the snake_case form model.json holds."""
    if value is None:
        return None
    if isinstance(value, str):
        return to_snake_case(value)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [item if _is_layer_name(key, i, item) else ts_to_pythonic(item, key)
                for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for ts_key, ts_value in value.items():
            py_key = to_snake_case(ts_key)
            if ts_key in ("name", "className") and isinstance(ts_value, str):
                result[py_key] = ts_value
            else:
                result[py_key] = ts_to_pythonic(ts_value, ts_key)
        return result
    if hasattr(value, "tolist"):          # numpy scalars and arrays in a config
        return ts_to_pythonic(value.tolist(), key)
    raise TypeError(f"model config: cannot serialize a value of type {type(value).__name__} "
                    f"under {key!r}")
