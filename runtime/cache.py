"""The disk cache of compiled object code.

Entries are keyed by a hash of the LLVM IR text, the target (triple, CPU, features) and the
kiln code generator's version, so a new process that generates the same IR reuses the object
code without running LLVM's optimizer or code generator.

Location: $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. KILN_CACHE=0
disables the disk cache. Each file holds a magic tag, a SHA-256 of the object code, then the
object code; a file that is truncated, corrupt or unreadable is ignored and rebuilt, and a
cache folder that cannot be written is simply not written.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import kiln.codegen as codegen

CODEGEN_VERSION = "kiln-codegen-1"
MAGIC = b"KILNOBJ1"

_memory: dict[str, bytes] = {}


def cache_dir() -> Path | None:
    if os.environ.get("KILN_CACHE", "1") == "0":
        return None
    if os.environ.get("KILN_CACHE_DIR"):
        return Path(os.environ["KILN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kiln"


def cache_key(text: str, target) -> str:
    h = hashlib.sha256()
    for part in (CODEGEN_VERSION, target.key, text):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def object_code(text: str, target) -> bytes:
    """Object code for LLVM IR `text`: from memory, from disk, or compiled (and stored)."""
    key = cache_key(text, target)
    obj = _memory.get(key)
    if obj is not None:
        return obj
    folder = cache_dir()
    path = folder / key[:2] / f"{key}.o" if folder else None
    obj = _read(path) if path else None
    if obj is None:
        obj = codegen.compile_ir(text, target)
        if path:
            _write(path, obj)
    _memory[key] = obj
    return obj


def clear_memory() -> None:
    """Forget the objects held in memory (the disk cache stays): the next lookup behaves as
    in a new process (benchmarks measure warm-cache compiles this way)."""
    _memory.clear()


def _read(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header = len(MAGIC) + 32
    if len(data) < header or data[:len(MAGIC)] != MAGIC:
        return None
    digest, obj = data[len(MAGIC):header], data[header:]
    if hashlib.sha256(obj).digest() != digest:
        return None
    return obj


def _write(path: Path, obj: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(obj).digest() + obj)
        os.replace(tmp, path)
    except OSError:
        pass
