"""Helpers for the fixture tests: the fixture folders and their io.json."""
from __future__ import annotations

import json
import pathlib

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
