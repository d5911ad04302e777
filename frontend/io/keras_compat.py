"""Keras configs -> the form TF.js writes, before the snake->camel conversion.

The tensorflowjs converter copies Keras's model_config into model.json, and Keras 3 files
(.keras, Keras-3 .h5) hold Keras 3's own config. Both are mapped onto TF.js's Keras-2 form:

  Keras 3                                   ->  TF.js / Keras 2
  InputLayer batch_shape                    ->  batch_input_shape
  dtype {"class_name": "DTypePolicy", ...}  ->  dtype "float32"
  inbound_nodes [{"args": [__keras_tensor__ ...], "kwargs": {...}}]
                                            ->  [[["layer", nodeIndex, tensorIndex, {kwargs}]]]
  module / registered_name / build_config / compile_config / shared_object_id  -> dropped
  Sequential build_input_shape              ->  dropped (the InputLayer holds the shape)

and Keras class names map to the classes TF.js registers (CLASS_ALIASES; the converter itself
renames the first three).
"""
from __future__ import annotations

CLASS_ALIASES = {
    "BatchNormalizationV1": "BatchNormalization",
    "UnifiedGRU": "GRU",
    "UnifiedLSTM": "LSTM",
    "Functional": "Model",
    "LecunUniform": "LeCunUniform",
    "LecunNormal": "LeCunNormal",
}
CONTAINERS = ("Model", "Functional", "Sequential")
# Options Keras writes for a class but never uses: SeparableConv2D inherits the kernel_*
# options of its base class and ignores them (TF.js refuses them).
IGNORED_OPTIONS = {
    "SeparableConv2D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
    "SeparableConv1D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
}
DROPPED_KEYS = ("module", "registered_name", "build_config", "compile_config",
                "shared_object_id")


def normalize_keras(value):
    """Return a copy of a snake_case config tree in TF.js's (Keras 2) form."""
    if isinstance(value, list):
        return [normalize_keras(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value:
        return _normalize_object(value)
    return {k: normalize_keras(v) for k, v in value.items()}


def _dtype_name(dtype):
    if isinstance(dtype, dict) and dtype.get("class_name") in ("DTypePolicy", "Policy"):
        return (dtype.get("config") or {}).get("name")
    return dtype


def _normalize_object(obj: dict) -> dict:
    class_name = CLASS_ALIASES.get(obj["class_name"], obj["class_name"])
    config = obj.get("config")
    if class_name in ("L1", "L2"):      # Keras's own regularizer classes: TF.js has only L1L2
        config = dict(config or {})
        config = {"l1": float(config.get("l1", 0.0)) if class_name == "L1" else 0.0,
                  "l2": float(config.get("l2", 0.0)) if class_name == "L2" else 0.0}
        class_name = "L1L2"
    result = {k: normalize_keras(v) for k, v in obj.items()
              if k not in DROPPED_KEYS and k != "config"}
    result["class_name"] = class_name
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k not in DROPPED_KEYS}
        if "dtype" in config:
            config["dtype"] = _dtype_name(config["dtype"])
        if class_name == "InputLayer" and "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        for key in IGNORED_OPTIONS.get(class_name, ()):
            config.pop(key, None)
        if class_name in CONTAINERS:
            config.pop("build_input_shape", None)
            for key in ("input_layers", "output_layers"):
                if key in config:
                    config[key] = _endpoint_list(config[key])
            if isinstance(config.get("dtype"), str) or config.get("dtype") is None:
                config.pop("dtype", None)
            if isinstance(config.get("layers"), list):
                config["layers"] = _normalize_layer_list(config["layers"])
        result["config"] = {k: (v if k == "layers" and class_name in CONTAINERS
                                else normalize_keras(v)) for k, v in config.items()}
    elif config is not None:
        result["config"] = normalize_keras(config)
    if "inbound_nodes" in obj:
        result["inbound_nodes"] = obj["inbound_nodes"]
    return result


def _endpoint_list(value):
    """Keras 3 writes a single-input model's input_layers as one ['name', 0, 0] triple and a
    dict-structured one as {key: triple}; TF.js's form is always a list of triples."""
    if isinstance(value, dict):
        return [_endpoint_list(v)[0] for v in value.values()]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]
    return value


def _normalize_layer_list(layers: list) -> list:
    """Normalize each layer entry, converting Keras 3 inbound nodes to the legacy form."""
    containers = {entry.get("name") for entry in layers if isinstance(entry, dict)
                  and entry.get("class_name") in CONTAINERS}
    result = []
    for entry in layers:
        if not isinstance(entry, dict):
            result.append(entry)
            continue
        normalized = _normalize_object(entry)
        nodes = entry.get("inbound_nodes")
        if isinstance(nodes, list):
            normalized["inbound_nodes"] = [_legacy_node(node, containers) for node in nodes]
        result.append(normalized)
    return result


def _legacy_node(node, containers):
    """A Keras 3 node {"args": [...], "kwargs": {...}} -> [[name, nodeIndex, tensorIndex, kw]].

    Keras 3 counts a nested model's applications from 0; TF.js and Keras 2 count from 1 (node
    0 is the model's own), so references to containers are shifted by one."""
    if not isinstance(node, dict):
        return node
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None}
    refs = []

    def collect(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = x["config"]["keras_history"]
            if name in containers:
                node_index += 1
            refs.append([name, node_index, tensor_index, kwargs])
        elif isinstance(x, (list, tuple)):
            for item in x:
                collect(item)
    collect(node.get("args") or [])
    return refs


def is_keras_3(topology: dict) -> bool:
    version = str(topology.get("keras_version", ""))
    return version.startswith("3.")
