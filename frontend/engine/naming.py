"""TF.js's naming rules: per-prefix unique ids, snake_case class names, unique tensor names.

    layer name   toSnakeCase(className) + '_' + className + n   -> 'dense_Dense1'
    weight name  name scope + '/' + weightName                  -> 'dense_Dense1/kernel'
    model name   'sequential_' + n, 'model' + n; input layer 'input' + n

A layer builds inside the name scope of its own name; wrappers and recurrent layers build the
layers and cells they own inside nested scopes, so their weights get TF.js's names
('bidirectional_Bidirectional1/forward_lstm_LSTM1/kernel', 'rnn_RNN1/RNNCell_0/kernel').
"""
from __future__ import annotations

import contextlib
import re
import threading
from collections import defaultdict

_counters: dict[str, int] = defaultdict(int)
_used_tensor_names: dict[str, int] = {}
_lock = threading.Lock()


def get_uid(prefix: str = "") -> str:
    """prefix + a counter that starts at 1 for each prefix (TF.js's getUid)."""
    with _lock:
        _counters[prefix] += 1
        return f"{prefix}{_counters[prefix]}"


def to_snake_case(name: str) -> str:
    """TF.js's toSnakeCase: 'Conv2DTranspose' -> 'conv2d_transpose', 'PReLU' -> 'p_re_lu'."""
    s1 = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    s2 = re.sub(r"([a-z])([A-Z])", r"\1_\2", s1).lower()
    return "private" + s2 if s2.startswith("_") else s2


def to_camel_case(name: str) -> str:
    """TF.js's toCamelCase: 'channels_last' -> 'channelsLast'; unchanged without '_'."""
    if len(name) <= 1 or "_" not in name:
        return name
    return re.sub(r"[_]+(\w|$)", lambda m: m.group(1).upper(), name)


_scopes = threading.local()


@contextlib.contextmanager
def name_scope(name: str):
    """Names of weights created inside are prefixed with `name` (nested scopes join by '/')."""
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def current_scope() -> str | None:
    stack = getattr(_scopes, "stack", None)
    return "/".join(stack) if stack else None


def default_layer_name(class_name: str) -> str:
    return f"{to_snake_case(class_name)}_{get_uid(class_name)}"


VALID_TENSOR_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9\._/]*$")


def unique_tensor_name(name: str) -> str:
    """The name itself the first time, then name_1, name_2, ... (TF.js's getUniqueTensorName)."""
    with _lock:
        if name not in _used_tensor_names:
            _used_tensor_names[name] = 0
            return name
        _used_tensor_names[name] += 1
        candidate = f"{name}_{_used_tensor_names[name]}"
        while candidate in _used_tensor_names:
            _used_tensor_names[name] += 1
            candidate = f"{name}_{_used_tensor_names[name]}"
        _used_tensor_names[candidate] = 0
        return candidate
