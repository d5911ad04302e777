"""ModelArtifacts (TF.js's io.ModelArtifacts, as a dict) helpers: the SaveResult info, the
model.json object for a set of artifacts, and decoding weightSpecs + weightData.

    {"modelTopology": {...}, "format": "layers-model", "generatedBy": ..., "convertedBy": ...,
     "weightSpecs": [{"name", "shape", "dtype"}, ...], "weightData": bytes,
     "trainingConfig"?: {...}, "userDefinedMetadata"?: {...}}
"""
from __future__ import annotations

import datetime

from kiln.frontend.io import js_json
from kiln.frontend.io.errors import ModelFormatError, WeightsError
from kiln.frontend.io.weights import decode_weights

# The keys of model.json in the order tfjs-node's file handler writes them.
OPTIONAL_KEYS = ("trainingConfig", "signature", "userDefinedMetadata", "modelInitializer",
                 "initializerSignature")


def weight_data_bytes(data) -> bytes:
    """weightData as one bytes object (TF.js allows an ArrayBuffer or a list of them)."""
    if data is None:
        return b""
    if isinstance(data, (list, tuple)):
        return b"".join(bytes(memoryview(chunk).cast("B")) for chunk in data)
    if hasattr(data, "tobytes"):
        return data.tobytes()
    return bytes(memoryview(data).cast("B"))


def model_artifacts_info(artifacts: dict) -> dict:
    """TF.js's getModelArtifactsInfoForJSON."""
    topology = artifacts.get("modelTopology")
    specs = artifacts.get("weightSpecs")
    data = artifacts.get("weightData")
    return {
        "dateSaved": datetime.datetime.now(datetime.timezone.utc),
        "modelTopologyType": "JSON",
        "modelTopologyBytes": 0 if topology is None else len(
            js_json.stringify(topology).encode("utf-8")),
        "weightSpecsBytes": 0 if specs is None else len(js_json.stringify(specs).encode("utf-8")),
        "weightDataBytes": 0 if data is None else len(weight_data_bytes(data)),
    }


def model_json(artifacts: dict, weights_manifest: list) -> dict:
    """The model.json object for artifacts whose weights are written per `weights_manifest`."""
    result = {"modelTopology": artifacts["modelTopology"], "weightsManifest": weights_manifest,
              "format": artifacts.get("format"), "generatedBy": artifacts.get("generatedBy"),
              "convertedBy": artifacts.get("convertedBy")}
    for key in OPTIONAL_KEYS:
        if artifacts.get(key) is not None:
            result[key] = artifacts[key]
    return result


def artifacts_from_model_json(data: dict) -> dict:
    """Artifacts without weights from a parsed model.json (weights are read separately)."""
    artifacts = {"modelTopology": data["modelTopology"]}
    for key in ("format", "generatedBy", "convertedBy", *OPTIONAL_KEYS):
        if key in data:
            artifacts[key] = data[key]
    return artifacts


def decode_artifact_weights(artifacts: dict, where: str):
    """[(spec, array)] from artifacts' weightSpecs + weightData (both or neither)."""
    if artifacts.get("weights") is not None:
        return artifacts["weights"]
    specs, data = artifacts.get("weightSpecs"), artifacts.get("weightData")
    if data is None:
        return None
    if specs is None:
        raise WeightsError(f"{where}: the artifacts contain weight data but no weight specs, "
                           "so the weights cannot be loaded")
    if not isinstance(specs, list) or not all(isinstance(s, dict) and "name" in s
                                              for s in specs):
        raise ModelFormatError(f"{where}: weightSpecs must be a list of "
                               "{'name', 'shape', 'dtype'} objects")
    return decode_weights(weight_data_bytes(data), specs, where)
