"""model.json <-> models: toJSON, modelFromJSON, and building a model from loaded artifacts.

Artifacts are TF.js's ModelArtifacts as a dict: modelTopology (the snake_case topology),
weightSpecs + weightData, format, generatedBy, convertedBy, trainingConfig,
userDefinedMetadata. Loading follows TF.js's loadLayersModelFromIOHandler: unwrap a Keras
`model_config`, convert snake -> camel, deserialize, load the training config, load weights
(strictly by default), then optimizer weights.
"""
from __future__ import annotations

import json

from kiln.frontend.io import js_json
from kiln.frontend.io.errors import ModelFormatError, WeightsError
from kiln.frontend.io.keras_compat import normalize_keras
from kiln.frontend.io.pythonic import pythonic_to_ts, ts_to_pythonic
from kiln.frontend.io.support import check_supported

FORMAT = "layers-model"
KILN_VERSION = "0.1.0"
GENERATED_BY = f"kiln v{KILN_VERSION}"
MAX_METADATA_BYTES = 1024 * 1024     # TF.js warns above 1 MB of user metadata


def model_topology(model) -> dict:
    """{'class_name', 'config', 'keras_version', 'backend'}, snake_case, as TF.js writes."""
    config = {"className": model.getClassName(), "config": model.getConfig(),
              "kerasVersion": f"kiln {KILN_VERSION}", "backend": "kiln"}
    return ts_to_pythonic(config)


def model_to_json(model, return_string: bool = True):
    topology = model_topology(model)
    return js_json.stringify(topology) if return_string else topology


def check_user_defined_metadata(metadata, model_name: str) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise TypeError(f"model {model_name!r}: user-defined metadata must be a dict, got "
                        f"{type(metadata).__name__}")
    try:
        text = js_json.stringify(metadata)
    except TypeError as e:
        raise TypeError(f"model {model_name!r}: user-defined metadata must be JSON-"
                        f"serializable: {e}") from None
    if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
        import warnings
        warnings.warn(f"user-defined metadata of model {model_name!r} is "
                      f"{len(text.encode('utf-8'))} bytes, more than {MAX_METADATA_BYTES}")


def parse_model_json(text: str | bytes, where: str) -> dict:
    """The model.json object, or a ModelFormatError naming the file and the problem."""
    try:
        data = json.loads(text)
    except UnicodeDecodeError as e:
        raise ModelFormatError(f"{where}: not a text file ({e.reason})") from None
    except json.JSONDecodeError as e:
        at_end = e.pos >= len(text.rstrip()) - 1 or e.msg.startswith("Unterminated")
        truncated = " (the file looks truncated)" if at_end else ""
        raise ModelFormatError(f"{where}: invalid JSON at line {e.lineno} column {e.colno}: "
                               f"{e.msg}{truncated}") from None
    if not isinstance(data, dict):
        raise ModelFormatError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if "modelTopology" not in data:
        raise ModelFormatError(f"{where}: no 'modelTopology' in the file; this is not a "
                               "TensorFlow.js model.json")
    fmt = data.get("format")
    if fmt is None:
        if not _is_converter_output(data):
            raise ModelFormatError(f"{where}: missing 'format' (expected {FORMAT!r})")
    elif fmt != FORMAT:
        hint = (" — a graph model (tf.loadGraphModel in TF.js), which kiln does not load"
                if fmt == "graph-model" else "")
        raise ModelFormatError(f"{where}: unknown format {fmt!r}; kiln loads {FORMAT!r} "
                               f"files{hint}")
    manifest = data.get("weightsManifest")
    if manifest is not None and not (isinstance(manifest, list) and all(
            isinstance(g, dict) and isinstance(g.get("paths"), list) and
            isinstance(g.get("weights"), list) for g in manifest)):
        raise ModelFormatError(f"{where}: 'weightsManifest' must be a list of "
                               "{'paths': [...], 'weights': [...]} groups")
    for group in manifest or []:
        for spec in group["weights"]:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise ModelFormatError(f"{where}: every weight in 'weightsManifest' needs a "
                                       f"'name', got {str(spec)[:100]}")
    return data


def _is_converter_output(data: dict) -> bool:
    """Converter files older than TF.js 1.0 have no 'format' but a Keras model_config."""
    topology = data.get("modelTopology")
    return isinstance(topology, dict) and "model_config" in topology


def model_from_topology(topology, custom_objects=None, where: str = "model.json"):
    """Deserialize a snake_case topology (optionally wrapped in model_config) to a model."""
    from kiln.frontend.serialization import deserialize

    if isinstance(topology, str):
        topology = parse_json_text(topology, where)
    if not isinstance(topology, dict):
        raise ModelFormatError(f"{where}: the model topology must be a JSON object")
    if isinstance(topology.get("model_config"), dict):
        topology = topology["model_config"]
    if "class_name" not in topology or "config" not in topology:
        raise ModelFormatError(f"{where}: the model topology has no 'class_name'/'config'")
    ts = pythonic_to_ts(normalize_keras(topology))
    ts = check_supported(ts, where, custom_objects)
    return deserialize({"className": ts["className"], "config": ts["config"]}, "layer",
                       custom_objects)


def parse_json_text(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFormatError(f"{where}: invalid JSON at line {e.lineno} column {e.colno}: "
                               f"{e.msg}") from None


async def model_from_artifacts(artifacts: dict, strict: bool = True, custom_objects=None,
                               where: str = "model"):
    from kiln.frontend.io.training_config import load_training_config
    from kiln.frontend.io.weight_loading import load_weights, split_optimizer_weights

    model = model_from_topology(artifacts.get("modelTopology"), custom_objects, where)
    if artifacts.get("trainingConfig") is not None:
        load_training_config(model, artifacts["trainingConfig"], where)
    if artifacts.get("userDefinedMetadata") is not None:
        model.setUserDefinedMetadata(artifacts["userDefinedMetadata"])
    named = artifacts.get("weights")     # [(spec, array)] decoded by the handler
    if artifacts.get("weightsByLayer") is not None:      # legacy Keras .h5
        from kiln.frontend.io.keras_file import load_weights_by_layer
        load_weights_by_layer(model, dict(artifacts["weightsByLayer"]), strict, where)
    elif named is not None:
        model_weights, optimizer_weights = split_optimizer_weights(named)
        load_weights(model, model_weights, strict, where)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer_weights:
            from kiln.runtime.tensor import Tensor
            live = live_slot_names(model, [spec["name"] for spec, _ in optimizer_weights])
            result = optimizer.setWeights([{"name": live(spec["name"]), "tensor": Tensor(array)}
                                           for spec, array in optimizer_weights])
            if hasattr(result, "__await__"):
                await result
    elif artifacts.get("weightData") is not None:
        raise WeightsError(f"{where}: the artifacts contain weight data but no weight specs, "
                           "so the weights cannot be loaded")
    return model


def live_slot_names(model, slot_names: list[str]):
    """Map saved optimizer slot names ('<weight>/m') onto this model's live variables.

    Slots are saved under the weight's original name ('dense/kernel/m'), but a file written
    in a process where the name was taken carries the deduplicated one ('dense/kernel_2/m'),
    and this model's variables may be deduplicated too. Owners that are not original names
    of this model's weights are matched by position, as TF.js's setWeights does (the k-th
    distinct owner is the k-th trainable weight)."""
    weights = model.trainableWeights
    by_original = {w.originalName: w.name for w in model.weights}
    owners = list(dict.fromkeys(n.rsplit("/", 1)[0] for n in slot_names if "/" in n))
    if all(o in by_original for o in owners):
        mapping = {o: by_original[o] for o in owners}
    elif len(owners) == len(weights):
        mapping = {o: w.name for o, w in zip(owners, weights)}
    else:
        raise WeightsError(f"model {model.name!r}: the saved optimizer state has slots for "
                           f"{len(owners)} weights, the model has {len(weights)} trainable "
                           "weights")

    def live(slot_name: str) -> str:
        if "/" not in slot_name:
            return slot_name
        owner, slot = slot_name.rsplit("/", 1)
        return f"{mapping[owner]}/{slot}"
    return live


async def model_from_json(modelAndWeightsConfig, customObjects=None):
    """tf.models.modelFromJSON(json, customObjects?): a model from a topology (a dict or JSON
    string, optionally wrapped as {'modelTopology', 'weightsManifest', 'pathPrefix'}). With a
    weightsManifest, weights are loaded from pathPrefix (a folder or URL)."""
    config = modelAndWeightsConfig
    if isinstance(config, (str, bytes)):
        config = parse_json_text(config, "modelFromJSON")
    if not isinstance(config, dict):
        raise TypeError("modelFromJSON: expected a dict or a JSON string, got "
                        f"{type(config).__name__}")
    if "modelTopology" not in config:
        return model_from_topology(config, customObjects, "modelFromJSON")
    model = model_from_topology(config["modelTopology"], customObjects, "modelFromJSON")
    if config.get("weightsManifest") is not None:
        from kiln.frontend.io.router import weights_loader_for_prefix
        from kiln.frontend.io.weight_loading import load_weights
        prefix = config.get("pathPrefix")
        if prefix is None:
            raise ValueError("modelFromJSON: a weightsManifest needs a pathPrefix (the folder "
                             "or URL the weight files are in)")
        named = await weights_loader_for_prefix(prefix)(config["weightsManifest"])
        load_weights(model, named, True, "modelFromJSON")
    return model
