"""Put loaded weight values into a model's variables, matched by name as TF.js matches them.

A manifest name is looked up among the model's weights' `originalName`s
('dense_Dense1/kernel'); failing that, with its second-to-last path element removed (TF >= 2.2
writes 'lstm/lstm_cell/kernel' for 'lstm/kernel'), or without a leading model name (Keras 3
.h5 files through the converter: 'cnn_bn/conv2d/kernel'), or under TF.js's name for a weight
Keras 3 renamed (DepthwiseConv2D's 'kernel' is 'depthwise_kernel'). Keras 3 names ('layers/dense/vars/0',
'layers/functional/layers/dense/vars/1') address weights by position: Keras names each layer
of a model by its snake_cased class name, deduplicated in layer order ('dense', 'dense_1'),
and numbers a layer's variables in order (trainable first). In strict mode (the default)
every model weight must be set and every provided weight must have a target.

Values are checked (shape) before any variable is written, so a failed load leaves the model
as it was. Constraints are not applied to loaded values: Keras never does; TF.js does (its
LayerVariable.write projects every value), which changes a model's predictions.
"""
from __future__ import annotations

import re

import numpy as np

from kiln.frontend.io.errors import WeightsError

_KERAS3_NAME = re.compile(r"(^|/)vars/\d+$")


def split_optimizer_weights(named):
    model, optimizer = [], []
    for spec, array in named:
        (optimizer if spec.get("group") == "optimizer" else model).append((spec, array))
    return model, optimizer


def keras_snake_case(name: str) -> str:
    """Keras 3's naming.to_snake_case (the names of a model's layers in its weights file)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


KERAS_CLASS_NAMES = {"Model": "Functional"}


def keras3_layer_paths(container, prefix: str = "") -> dict[str, object]:
    """'layers/<keras auto name>' -> layer, recursively into nested models."""
    from kiln.frontend.engine.functional import LayersModel
    from kiln.frontend.engine.input_layer import InputLayer

    paths: dict[str, object] = {}
    used: dict[str, int] = {}
    for layer in container.layers:
        if isinstance(layer, InputLayer):
            continue
        base = keras_snake_case(KERAS_CLASS_NAMES.get(layer.getClassName(),
                                                      layer.getClassName()))
        if base in used:
            used[base] += 1
            name = f"{base}_{used[base]}"
        else:
            used[base] = 0
            name = base
        path = f"{prefix}layers/{name}"
        if isinstance(layer, LayersModel):
            paths.update(keras3_layer_paths(layer, path + "/"))
        else:
            paths[path] = layer
    return paths


def _keras3_targets(model, names: list[str]) -> dict[str, object]:
    """Manifest name -> LayerVariable for Keras 3 names."""
    targets = {}
    layer_paths = keras3_layer_paths(model)
    by_layer: dict[str, list[str]] = {}
    for name in names:
        owner = max((p for p in layer_paths if name.startswith(p + "/")), key=len, default=None)
        if owner is not None:
            by_layer.setdefault(owner, []).append(name)
    for path, owned in by_layer.items():
        weights = layer_paths[path].weights
        direct = [n for n in owned if re.fullmatch(re.escape(path) + r"/vars/\d+", n)]
        if len(direct) == len(owned):
            for n in owned:
                index = int(n.rsplit("/", 1)[1])
                if index < len(weights):
                    targets[n] = weights[index]
        else:   # variables of sublayers (an RNN's cell, ...): in the layer's weight order
            for n, w in zip(sorted(owned, key=lambda n: _sublayer_order(path, n)), weights):
                targets[n] = w
    return targets


# Keras 3 sublayer paths whose weights come in this order in kiln (files list them sorted by
# name, which puts a Bidirectional's backward layer first)
SUBLAYER_RANK = {"forward_layer": 0, "backward_layer": 1}


def _sublayer_order(path: str, name: str):
    """Sort key of a Keras 3 weight name below `path`: sublayers in kiln's order, then the
    variable number as a number ('vars/10' after 'vars/9')."""
    parts = name[len(path) + 1:].split("/")
    key = []
    for part in parts:
        if part.isdigit():
            key.append((1, int(part), ""))
        else:
            key.append((0, SUBLAYER_RANK.get(part, 2), part))
    return key


# Keras 3 renamed some weights TF.js (and Keras 2) name otherwise.
WEIGHT_NAME_ALIASES = {"kernel": ("depthwise_kernel",)}


def _lookup(name_to_weight: dict, model_name: str, tokens: list[str]):
    """TF.js's retry without the second-to-last element ('lstm/lstm_cell/kernel'), also
    after dropping a leading model name (Keras 3 .h5 through the converter writes
    'cnn_bn/conv2d/kernel')."""
    candidates = [tokens]
    if tokens[0] == model_name and len(tokens) > 2:
        candidates.append(tokens[1:])
    for t in candidates:
        for form in (t, t[:-2] + t[-1:]):
            weight = name_to_weight.get("/".join(form))
            if weight is not None:
                return weight
    return None


def load_weights(model, named, strict: bool = True, where: str = "model") -> None:
    """Assign [(spec, array)] to the model's weights (TF.js's LayersModel.loadWeights)."""
    name_to_weight: dict[str, object] = {}
    total = 0
    for layer in model.layers:
        for weight in layer.weights:
            if weight.originalName in name_to_weight:
                raise WeightsError(f"{where}: duplicate weight name {weight.originalName!r} "
                                   f"in model {model.name!r}")
            name_to_weight[weight.originalName] = weight
            total += 1
    names = [spec["name"] for spec, _ in named]
    keras3 = bool(names) and all(_KERAS3_NAME.search(n) for n in names)
    keras3_targets = _keras3_targets(model, names) if keras3 else {}
    unset = dict(name_to_weight)
    assignments = []
    for spec, array in named:
        name = spec["name"]
        weight = name_to_weight.get(name)
        if weight is None and not keras3:
            weight = _lookup(name_to_weight, model.name, name.split("/"))
        if weight is None and not keras3:
            tokens = name.split("/")
            for alias in WEIGHT_NAME_ALIASES.get(tokens[-1], ()):
                weight = weight or _lookup(name_to_weight, model.name, tokens[:-1] + [alias])
        if weight is None and keras3:
            weight = keras3_targets.get(name)
        if weight is None:
            if strict:
                raise WeightsError(f"{where}: Provided weight data has no target variable: "
                                   f"{name}")
            continue
        if list(array.shape) != list(weight.shape):
            raise WeightsError(f"{where}: weight {name!r} has shape {list(array.shape)} in the "
                               f"file, but the model's variable {weight.originalName!r} has "
                               f"shape {list(weight.shape)}")
        unset.pop(weight.originalName, None)
        assignments.append((weight, array))
    if strict and unset:
        raise WeightsError(f"{where}: {len(unset)} of {total} weights are not set: "
                           f"{', '.join(unset)}")
    for weight, array in assignments:
        weight.write(np.ascontiguousarray(array))
