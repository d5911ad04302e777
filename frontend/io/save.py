"""model.save(handlerOrURL, {trainableOnly, includeOptimizer}): TF.js's LayersModel.save.

The artifacts hold the snake_case topology (toJSON), the weights under their originalName in
model.weights order, and — with includeOptimizer and a compiled model — the trainingConfig and
the optimizer's weights in group 'optimizer' after the model's.
"""
from __future__ import annotations

import inspect

from kiln.frontend.engine.config import parse_args
from kiln.frontend.io.model_json import FORMAT, GENERATED_BY, model_to_json
from kiln.frontend.io.router import save_handler
from kiln.frontend.io.weights import encode_weights


def named_weights(model, trainable_only: bool = False):
    weights = model.trainableWeights if trainable_only else model.weights
    return [(w.originalName, w.read().buffer("save")) for w in weights]


async def optimizer_weights(optimizer, model):
    """[(name, array)] from optimizer.getWeights() ([{name, tensor}], maybe async), slots
    named after their weight's original name ('dense/kernel/m', not 'dense/kernel_3/m'), as
    TF.js writes them from a fresh process."""
    result = optimizer.getWeights()
    if inspect.isawaitable(result):
        result = await result
    originals = {w.name: w.originalName for w in model.weights}
    named = []
    for entry in result or []:
        name, tensor = (entry["name"], entry["tensor"]) if isinstance(entry, dict) else entry
        owner, _, slot = name.rpartition("/")
        if owner in originals:
            name = f"{originals[owner]}/{slot}"
        named.append((name, tensor.buffer("save") if hasattr(tensor, "buffer") else tensor))
    return named


async def model_artifacts(model, trainable_only=False, include_optimizer=False) -> dict:
    from kiln.frontend.io.training_config import training_config

    topology = model_to_json(model, False)
    specs, data = encode_weights(named_weights(model, trainable_only))
    artifacts = {"modelTopology": topology, "format": FORMAT, "generatedBy": GENERATED_BY,
                 "convertedBy": None}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        artifacts["trainingConfig"] = training_config(model)
        opt_specs, opt_data = encode_weights(await optimizer_weights(optimizer, model),
                                             "optimizer")
        specs, data = specs + opt_specs, data + opt_data
    metadata = model.getUserDefinedMetadata() if hasattr(model, "getUserDefinedMetadata") \
        else None
    if metadata is not None:
        artifacts["userDefinedMetadata"] = metadata
    artifacts["weightData"] = data
    artifacts["weightSpecs"] = specs
    return artifacts


async def save_model(model, handler_or_url, config=None, **kwargs):
    args = parse_args("model.save", {"trainableOnly": False, "includeOptimizer": False},
                      config, kwargs)
    handler = save_handler(handler_or_url)
    artifacts = await model_artifacts(model, bool(args["trainableOnly"]),
                                      bool(args["includeOptimizer"]))
    result = handler.save(artifacts)
    if inspect.isawaitable(result):
        result = await result
    return result
