"""In-memory IO handlers: tf.io.fromMemory (load artifacts held in Python objects) and
tf.io.withSaveHandler (save through a user function)."""
from __future__ import annotations

import inspect


class PassthroughLoader:
    """load() resolves to the artifacts it was given."""

    def __init__(self, artifacts: dict):
        self.artifacts = artifacts

    async def load(self) -> dict:
        return self.artifacts


class PassthroughSaver:
    """save(artifacts) calls the user's function (plain or async) and resolves to its result."""

    def __init__(self, save_handler):
        if not callable(save_handler):
            raise TypeError("withSaveHandler: expected a function that takes the model "
                            f"artifacts, got {type(save_handler).__name__}")
        self.save_handler = save_handler

    async def save(self, artifacts: dict):
        result = self.save_handler(artifacts)
        if inspect.isawaitable(result):
            result = await result
        return result


def fromMemory(modelArtifacts, weightSpecs=None, weightData=None, trainingConfig=None):
    """tf.io.fromMemory(artifacts) or the legacy form fromMemory(modelTopology, weightSpecs,
    weightData, trainingConfig): an IO handler whose load() gives those artifacts."""
    if isinstance(modelArtifacts, dict) and "modelTopology" in modelArtifacts and \
            weightSpecs is None and weightData is None:
        return PassthroughLoader(dict(modelArtifacts))
    artifacts = {"modelTopology": modelArtifacts}
    if weightSpecs is not None:
        artifacts["weightSpecs"] = weightSpecs
    if weightData is not None:
        artifacts["weightData"] = weightData
    if trainingConfig is not None:
        artifacts["trainingConfig"] = trainingConfig
    return PassthroughLoader(artifacts)


def fromMemorySync(*args, **kwargs):
    return fromMemory(*args, **kwargs)


def withSaveHandler(saveHandler):
    """tf.io.withSaveHandler(async (artifacts) => SaveResult)."""
    return PassthroughSaver(saveHandler)


def withSaveHandlerSync(saveHandler):
    return PassthroughSaver(saveHandler)


async def encodeWeights(tensors, group=None) -> dict:
    """tf.io.encodeWeights({name: tensor} | [{'name', 'tensor'}], group?) ->
    {'data': bytes, 'specs': [...]}."""
    from kiln.frontend.io.weights import encode_weights
    items = tensors.items() if isinstance(tensors, dict) else \
        [(e["name"], e["tensor"]) for e in tensors]
    named = [(name, t.buffer("encodeWeights") if hasattr(t, "buffer") else t)
             for name, t in items]
    specs, data = encode_weights(named, group)
    return {"data": data, "specs": specs}


def decodeWeights(buffer, specs) -> dict:
    """tf.io.decodeWeights(bytes, specs) -> {name: Tensor}."""
    from kiln.frontend.io.artifacts import weight_data_bytes
    from kiln.frontend.io.weights import decode_weights
    from kiln.runtime.tensor import Tensor
    return {spec["name"]: Tensor(array) for spec, array in
            decode_weights(weight_data_bytes(buffer), specs, "decodeWeights")}
