"""The file system IO handler (tfjs-node's file://): model.json + weight files in a folder.

Saving writes every file under a temporary name in the target folder, then renames them into
place (weights first, model.json last); the files it replaces are kept under backup names
until every rename succeeded, and put back if one fails. A save that fails or is interrupted
before the renames leaves the previous model untouched.

Loading reads only inside the model's folder: manifest paths that are absolute, contain
'..', or resolve (through symlinks) outside the folder are refused, and each weight file's
size is checked against the manifest before it is read.
"""
from __future__ import annotations

import os
import secrets

from kiln.frontend.io.artifacts import artifacts_from_model_json, model_json, weight_data_bytes
from kiln.frontend.io.errors import (ModelFileNotFoundError, ModelIOError, UnsafePathError,
                                     WeightsError)
from kiln.frontend.io.js_json import stringify
from kiln.frontend.io.model_json import parse_model_json
from kiln.frontend.io.weights import SHARD_BYTES, byte_size, shard_names

MODEL_JSON = "model.json"


def strip_scheme(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


class FileSystemHandler:
    """IO handler for a folder (save) or a model.json file / its folder (load)."""

    def __init__(self, path, weightPathPrefix=None, onProgress=None,
                 shardBytes: int = SHARD_BYTES):
        self.path = strip_scheme(os.fspath(path))
        self.weightPathPrefix = weightPathPrefix
        self.onProgress = onProgress
        self.shardBytes = shardBytes

    # ---- saving ------------------------------------------------------------------------
    async def save(self, artifacts: dict) -> dict:
        from kiln.frontend.io.artifacts import model_artifacts_info

        folder = self.path
        if os.path.basename(folder) == MODEL_JSON:
            folder = os.path.dirname(folder) or "."
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ModelIOError(f"{folder}: cannot save a model there, it is a file, not a "
                               "folder")
        os.makedirs(folder, exist_ok=True)
        data = weight_data_bytes(artifacts.get("weightData"))
        shards = shard_names(len(data), self.shardBytes)
        manifest = [{"paths": [name for name, _, _ in shards],
                     "weights": list(artifacts.get("weightSpecs") or [])}]
        text = stringify(model_json(artifacts, manifest))
        files = [(name, data[start:end]) for name, start, end in shards]
        files.append((MODEL_JSON, text.encode("utf-8")))
        write_files_atomically(folder, files)
        return {"modelArtifactsInfo": model_artifacts_info(artifacts)}

    # ---- loading -----------------------------------------------------------------------
    async def load(self) -> dict:
        path = self.path
        if os.path.isdir(path):
            path = os.path.join(path, MODEL_JSON)
        try:
            with open(path, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            raise ModelFileNotFoundError(f"{path}: no such file (expected a model.json "
                                         "written by TensorFlow.js or kiln)") from None
        except OSError as e:
            raise ModelIOError(f"{path}: cannot read the model: {e.strerror or e}") from None
        data = parse_model_json(text, path)
        artifacts = artifacts_from_model_json(data)
        manifest = data.get("weightsManifest")
        if manifest is not None:
            folder = self.weightPathPrefix or os.path.dirname(os.path.abspath(path))
            specs, chunks = read_weight_groups(folder, manifest, path, self.onProgress)
            artifacts["weightSpecs"] = specs
            artifacts["weightData"] = chunks
        return artifacts


def write_files_atomically(folder: str, files: list[tuple[str, bytes]]) -> None:
    """Write each (name, data) under a temporary name in `folder`, then rename all into place;
    on any failure the folder is left as it was."""
    token = secrets.token_hex(4)
    temps: list[tuple[str, str]] = []
    try:
        for name, data in files:
            temp = os.path.join(folder, f".{name}.{token}.tmp")
            temps.append((temp, os.path.join(folder, name)))
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except BaseException as e:
        _remove(t for t, _ in temps)
        if isinstance(e, OSError):
            raise ModelIOError(f"{folder}: saving the model failed ({e.strerror or e}); the "
                               "previous files are unchanged") from e
        raise
    backups: list[tuple[str, str]] = []
    done: list[str] = []
    try:
        for temp, final in temps:
            if os.path.exists(final):
                backup = f"{final}.{token}.bak"
                os.replace(final, backup)
                backups.append((backup, final))
            os.replace(temp, final)
            done.append(final)
    except BaseException as e:
        _remove(done)
        for backup, final in backups:
            os.replace(backup, final)
        _remove(t for t, _ in temps)
        if isinstance(e, OSError):
            raise ModelIOError(f"{folder}: saving the model failed ({e.strerror or e}); the "
                               "previous files were restored") from e
        raise
    _remove(b for b, _ in backups)
    _remove_stale_shards(folder, {name for name, _ in files})


def _remove(paths) -> None:
    for p in list(paths):
        try:
            os.remove(p)
        except OSError:
            pass


def _remove_stale_shards(folder: str, written: set[str]) -> None:
    """Shards of an earlier, larger save would be orphans next to the new model.json."""
    for name in os.listdir(folder):
        if name.startswith("group1-shard") and name.endswith(".bin") and name not in written:
            _remove([os.path.join(folder, name)])


def safe_join(folder: str, relative: str, where: str) -> str:
    """folder/relative, refusing any path that would leave `folder`."""
    if not isinstance(relative, str) or not relative:
        raise UnsafePathError(f"{where}: invalid weight file path {relative!r} in the manifest")
    normalized = relative.replace("\\", "/")
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    drive = bool(parts) and ":" in parts[0]           # 'C:/...' or a URL scheme
    if normalized.startswith("/") or os.path.isabs(relative) or drive or ".." in parts \
            or not parts:
        raise UnsafePathError(f"{where}: weight file path {relative!r} escapes the model's "
                              "folder; refusing to read it")
    root = os.path.realpath(folder)
    full = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, full]) != root:
        raise UnsafePathError(f"{where}: weight file path {relative!r} resolves to {full}, "
                              "outside the model's folder; refusing to read it")
    return full


def read_weight_groups(folder: str, manifest: list, where: str, on_progress=None):
    """(specs, [bytes per group]) for a weightsManifest, each group's files size-checked
    against its specs before they are read."""
    plans = []
    for group in manifest:
        specs = group["weights"]
        paths = [safe_join(folder, p, where) for p in group["paths"]]
        expected = byte_size(specs, where)
        sizes = []
        for p in paths:
            try:
                sizes.append(os.stat(p).st_size)
            except FileNotFoundError:
                raise ModelFileNotFoundError(f"{where}: weight file {p} does not exist") from None
        actual = sum(sizes)
        if actual != expected:
            relation = "shorter" if actual < expected else "longer"
            raise WeightsError(f"{where}: weight file(s) {', '.join(group['paths'])} are "
                               f"{relation} than the manifest says: {actual} bytes, but the "
                               f"{len(specs)} weight(s) listed need {expected} bytes")
        plans.append((specs, paths))
    all_specs, chunks = [], []
    count = sum(len(paths) for _, paths in plans)
    done = 0
    for specs, paths in plans:
        all_specs.extend(specs)
        for p in paths:
            try:
                with open(p, "rb") as f:
                    chunks.append(f.read())
            except OSError as e:
                raise ModelIOError(f"{where}: cannot read weight file {p}: "
                                   f"{e.strerror or e}") from None
            done += 1
            if on_progress is not None:
                on_progress(done / count)
    return all_specs, chunks
