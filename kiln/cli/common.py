"""Helpers the subcommands share: loading a model file, the errors a user can cause, units."""
from __future__ import annotations

import asyncio
from pathlib import Path


class UserError(Exception):
    """A problem with the command line's inputs, reported without a traceback."""


def user_errors() -> tuple:
    """Exception types that are the user's to fix (bad files, options, folders, toolchain)."""
    from kiln.runtime.linker import ToolchainError

    return (UserError, ValueError, TypeError, OSError, ToolchainError)


def model_url(path: str) -> str:
    """A file path (model.json, its folder, or a Keras file) or a URL, as a loader URL."""
    if "://" in path:
        return path
    p = Path(path)
    if p.is_dir() and (p / "model.json").is_file():
        p = p / "model.json"
    if not p.exists():
        raise UserError(f"model file {path!r} does not exist")
    if not p.is_file():
        raise UserError(f"model file {path!r} is not a file")
    return "file://" + str(p.resolve())


def load_model(path: str):
    """The LayersModel in a model file, loaded with tf.loadLayersModel."""
    import kiln as tf

    return asyncio.run(tf.loadLayersModel(model_url(path)))


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def format_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"
