"""Helpers for the fixture tests: the fixture folders, their io.json, and which of the layer
classes a fixture needs kiln does not have yet."""
from __future__ import annotations

import json
import pathlib
import zipfile

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"


def model_dirs(kind: str) -> list[pathlib.Path]:
    return sorted(p for p in (FIXTURES / kind).iterdir() if (p / "model.json").exists())


def keras_files() -> list[pathlib.Path]:
    folder = FIXTURES / "keras_files"
    return sorted(p for p in folder.iterdir() if p.suffix in (".keras", ".h5"))


def io_json_for(path: pathlib.Path) -> dict:
    if path.is_dir():
        return json.loads((path / "io.json").read_text())
    stem = path.name.split(".")[0]
    return json.loads((path.parent / f"{stem}.io.json").read_text())


def arrays(entries) -> list[np.ndarray]:
    return [np.asarray(e["data"], dtype=e["dtype"]).reshape(e["shape"]) for e in entries]


def topology_of(path: pathlib.Path) -> dict:
    if path.is_dir():
        return json.loads((path / "model.json").read_text())["modelTopology"]
    if path.suffix == ".keras":
        return json.loads(zipfile.ZipFile(path).read("config.json"))
    import h5py
    with h5py.File(path, "r") as f:
        text = f.attrs["model_config"]
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def class_names(value) -> set[str]:
    """Every class_name in a (snake_case) topology, Keras aliases mapped as kiln maps them."""
    from kiln.frontend.io.keras_compat import normalize_keras

    names: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("class_name"), str) and isinstance(x.get("config"),
                                                                   (dict, list)):
                names.add(x["class_name"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    topology = value.get("model_config", value)
    walk(normalize_keras(topology))
    return names


def missing_classes(path: pathlib.Path) -> list[str]:
    from kiln.frontend.serialization import registered

    known = registered()
    return sorted(n for n in class_names(topology_of(path)) if n not in known)
