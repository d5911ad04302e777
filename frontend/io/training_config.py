"""trainingConfig in model.json: written by save with includeOptimizer, read back by
loadLayersModel to compile the loaded model (TF.js's getTrainingConfig / loadTrainingConfig).

    {"loss": "categorical_crossentropy", "metrics": ["accuracy"],
     "optimizer_config": {"class_name": "Adam", "config": {"learningRate": 0.01, ...}}}

Loss and metric names are snake_cased on save and camelCased on load; the optimizer config
keeps its camelCase keys on save (as TF.js writes it) and is camel-converted on load (for
Keras's snake_case files).
"""
from __future__ import annotations

from kiln.frontend.engine.naming import to_camel_case, to_snake_case
from kiln.frontend.io.errors import UnsupportedModelError
from kiln.frontend.io.pythonic import pythonic_to_ts


def _name_of(entry) -> str:
    if isinstance(entry, str):
        return entry
    return getattr(entry, "name", None) or getattr(entry, "__name__", str(entry))


def _map_names(value, fn):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [fn(_name_of(v)) for v in value]
    if isinstance(value, dict):
        return {k: fn(_name_of(v)) for k, v in value.items()}
    return fn(_name_of(value))


def training_config(model) -> dict:
    """TF.js's getTrainingConfig: the loss and metrics as given to compile, snake_cased."""
    compiled = getattr(model, "compiled", None)
    loss = getattr(compiled, "loss_config", None)
    metrics = getattr(compiled, "metrics_config", None)
    if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
        metrics = [metrics]
    optimizer = model.optimizer
    return {"loss": _map_names(loss, to_snake_case),
            "metrics": _map_names(metrics, to_snake_case),
            "optimizer_config": {"class_name": optimizer.getClassName(),
                                 "config": optimizer.getConfig()}}


def load_training_config(model, config: dict, where: str) -> None:
    """Compile `model` as the trainingConfig says; without compile() (no training support
    in this build) the training config is ignored."""
    for key in ("weighted_metrics", "loss_weights", "sample_weight_mode"):
        if config.get(key) is not None:
            raise UnsupportedModelError(f"{where}: trainingConfig.{key} is not supported yet")
    if not callable(getattr(model, "compile", None)):
        return
    from kiln.frontend.serialization import deserialize
    optimizer = deserialize(pythonic_to_ts(config.get("optimizer_config")), "optimizer")
    loss = _map_names(config.get("loss"), to_camel_case)
    metrics = _map_names(config.get("metrics"), to_camel_case)
    model.compile({"loss": loss, "metrics": metrics, "optimizer": optimizer})
