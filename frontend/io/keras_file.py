"""Keras model files loaded directly, without the converter (needs h5py: pip install kiln[keras]).

  .keras  Keras 3's zip: config.json (the model config) + model.weights.h5, whose variables
          are addressed as 'layers/<keras auto name>/vars/<i>' (see weight_loading).
  .h5     legacy HDF5 (Keras 2, or Keras 3's legacy format): the config in the
          'model_config' attribute, weights in 'model_weights/<layer name>/' listed by the
          'weight_names' attribute. As Keras does, weights are matched layer by layer (by
          layer name) and in order within a layer, since Keras 3 prefixes the stored names
          with the model's name.

Only the two members of a .keras zip are read; nothing is extracted to disk.
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from kiln.frontend.io.errors import (MissingDependencyError, ModelFileNotFoundError,
                                     ModelFormatError, WeightsError)


def _h5py(path: str):
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError(
            f"{path}: reading Keras .keras/.h5 files needs the h5py package; install it with "
            "`pip install kiln[keras]` (or `pip install h5py`)") from None
    return h5py


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class KerasFileHandler:
    def __init__(self, path: str):
        self.path = path

    async def load(self) -> dict:
        if not os.path.isfile(self.path):
            raise ModelFileNotFoundError(f"{self.path}: no such file")
        if self.path.lower().endswith(".keras"):
            return self._load_keras_zip()
        return self._load_h5()

    # ---- Keras 3 .keras -----------------------------------------------------------------
    def _load_keras_zip(self) -> dict:
        h5py = _h5py(self.path)
        try:
            archive = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            raise ModelFormatError(f"{self.path}: not a Keras 3 .keras file (not a zip "
                                   "archive)") from None
        with archive:
            names = set(archive.namelist())
            for member in ("config.json", "model.weights.h5"):
                if member not in names:
                    raise ModelFormatError(f"{self.path}: not a Keras 3 .keras file (no "
                                           f"{member} inside)")
            try:
                config = json.loads(archive.read("config.json"))
            except json.JSONDecodeError as e:
                raise ModelFormatError(f"{self.path}: config.json is invalid JSON: "
                                       f"{e.msg}") from None
            weights_bytes = archive.read("model.weights.h5")
        specs, arrays = [], []
        try:
            with h5py.File(io.BytesIO(weights_bytes), "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and name.startswith("layers/"):
                        specs.append({"name": name, "shape": list(obj.shape),
                                      "dtype": "float32"})
                        arrays.append(np.asarray(obj[()]))
                f.visititems(visit)
        except OSError as e:
            raise ModelFormatError(f"{self.path}: model.weights.h5 is not a valid HDF5 "
                                   f"file ({e})") from None
        if not isinstance(config, dict):
            raise ModelFormatError(f"{self.path}: config.json is not a model config")
        return {"modelTopology": config, "format": "layers-model",
                "generatedBy": "keras", "convertedBy": None,
                "weights": [(spec, _as_float(a, spec, self.path))
                            for spec, a in zip(specs, arrays)]}

    # ---- legacy HDF5 ----------------------------------------------------------------------
    def _load_h5(self) -> dict:
        h5py = _h5py(self.path)
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            raise ModelFormatError(f"{self.path}: not a valid HDF5 file ({e})") from None
        with f:
            if "model_config" not in f.attrs:
                raise ModelFormatError(f"{self.path}: no 'model_config' attribute; the file "
                                       "holds weights only (save the whole model in Keras)")
            try:
                config = json.loads(_text(f.attrs["model_config"]))
            except json.JSONDecodeError as e:
                raise ModelFormatError(f"{self.path}: model_config is invalid JSON: "
                                       f"{e.msg}") from None
            group = f["model_weights"] if "model_weights" in f else f
            by_layer = {}
            for layer_name in group.attrs.get("layer_names", []):
                layer_name = _text(layer_name)
                layer_group = group[layer_name]
                values = []
                for weight_name in layer_group.attrs.get("weight_names", []):
                    weight_name = _text(weight_name)
                    spec = {"name": weight_name}
                    values.append(_as_float(np.asarray(layer_group[weight_name][()]), spec,
                                            self.path))
                if values:
                    by_layer[layer_name] = values
        return {"modelTopology": config, "format": "layers-model", "generatedBy": "keras",
                "convertedBy": None, "weightsByLayer": by_layer}


def _as_float(array: np.ndarray, spec: dict, path: str) -> np.ndarray:
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind in "iub":
        spec["dtype"] = "int32"
        return array.astype(np.int32)
    raise WeightsError(f"{path}: weight {spec['name']!r} has dtype {array.dtype}, which kiln "
                       "cannot load")


def load_weights_by_layer(model, by_layer: dict, strict: bool, where: str) -> None:
    """Keras's legacy HDF5 rule: the weights of each layer, by layer name, in order."""
    assignments = []
    missing = []
    for layer in model.layers:
        weights = layer.weights
        if not weights:
            continue
        values = by_layer.pop(layer.name, None)
        if values is None:
            missing.append(layer.name)
            continue
        if len(values) != len(weights):
            raise WeightsError(f"{where}: layer {layer.name!r} has {len(weights)} weight(s), "
                               f"the file has {len(values)} for it")
        for w, v in zip(weights, values):
            if list(v.shape) != list(w.shape):
                raise WeightsError(f"{where}: weight {w.originalName!r} of layer "
                                   f"{layer.name!r} has shape {list(w.shape)}, the file's "
                                   f"value has shape {list(v.shape)}")
            assignments.append((w, v))
    if strict and missing:
        raise WeightsError(f"{where}: no weights in the file for layer(s) {', '.join(missing)}")
    if strict and by_layer:
        raise WeightsError(f"{where}: the file has weights for layer(s) "
                           f"{', '.join(by_layer)}, which the model does not have")
    for w, v in assignments:
        w.write(v)
