"""tf.loadLayersModel(pathOrIOHandler, options): TF.js's loadLayersModel for kiln.

Options (TF.js's LoadOptions): strict (default true: every weight must be set and every
provided weight used), weightPathPrefix, requestInit (http headers; kiln adds 'timeout'),
onProgress(fraction), and customObjects (classes by className, for custom layers).
"""
from __future__ import annotations

from kiln.frontend.engine.config import parse_args
from kiln.frontend.io.artifacts import decode_artifact_weights
from kiln.frontend.io.errors import ModelFormatError
from kiln.frontend.io.model_json import model_from_artifacts
from kiln.frontend.io.router import load_handler

OPTIONS = {"strict": True, "weightPathPrefix": None, "requestInit": None, "onProgress": None,
           "customObjects": None, "fetchFunc": None, "fromTFHub": False,
           "weightUrlConverter": None, "streamWeights": False}


def _describe(target) -> str:
    if isinstance(target, str):
        return target
    return getattr(target, "path", None) or getattr(target, "url", None) or \
        type(target).__name__


async def loadLayersModel(pathOrIOHandler, options=None, **kwargs):
    """Load a LayersModel from model.json + weights, a Keras .keras/.h5 file, or a handler."""
    args = parse_args("loadLayersModel", OPTIONS, options, kwargs)
    if args["fromTFHub"]:
        raise ValueError("loadLayersModel: fromTFHub is not supported (kiln reads no model "
                         "hubs); download the model and load its model.json")
    handler = load_handler(pathOrIOHandler, args)
    where = _describe(pathOrIOHandler)
    artifacts = await handler.load()
    if not isinstance(artifacts, dict) or artifacts.get("modelTopology") is None:
        raise ModelFormatError(f"{where}: the IO handler's load() returned no modelTopology")
    artifacts = dict(artifacts)
    artifacts["weights"] = decode_artifact_weights(artifacts, where)
    return await model_from_artifacts(artifacts, bool(args["strict"]), args["customObjects"],
                                      where)
