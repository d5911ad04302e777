"""Build an ahead-of-time library from a graph and its parameter values.

    files = build_library(graph, param_arrays, spec, "out/", target)
    files.library, files.header, files.object, files.weights   # libNAME.so, NAME.h, NAME.o, ...

The graph goes through the same pipeline as every compiled call (passes -> plan -> codegen;
the kernel object comes from the object-code cache), codegen.aot adds the C API, and the system
C compiler links the object(s) into a shared library that needs only libc and libm. Files are
written to a temporary folder inside `out` and renamed into place, so a failed build leaves
the previous files intact.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import kiln.codegen as codegen
from kiln.codegen import aot
from kiln.codegen.aot_header import header_text
from kiln.ir.graph import Graph
from kiln.passes import compile_plan
from kiln.runtime import cache
from kiln.runtime.executable import evaluate_constants
from kiln.runtime.linker import link_relocatable, link_shared


@dataclass
class LibraryFiles:
    library: Path
    header: Path
    object: Path
    weights: Path | None
    spec: aot.LibrarySpec
    arena_bytes: int
    workspace_bytes: int
    weights_bytes: int
    kernels: int


def prepare_output_folder(out) -> Path:
    """Create `out` if needed and check that files can be written in it (clear errors)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise type(e)(f"cannot create the output folder {str(out)!r}: {e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(f"output folder {str(out)!r} is not writable")
    return out


def build_library(graph: Graph, params, spec: aot.LibrarySpec, out,
                  target: codegen.Target | None = None) -> LibraryFiles:
    """Write libNAME.so, NAME.h, NAME.o (and NAME.weights with spec.weights == 'file')."""
    target = target or codegen.host_target()
    out = prepare_output_folder(out)
    plan = compile_plan(graph, scratch_bytes=partial(codegen.scratch_bytes, target=target,
                                                     threads=spec.threads),
                        evaluate=evaluate_constants)
    module = aot.library_module(plan, spec, target)
    code = cache.object_code(str(module), target)
    blob = aot.weights_blob(plan, params)
    n = spec.name
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".kiln-build-", dir=out))
    except OSError as e:
        raise type(e)(f"cannot write in the output folder {str(out)!r}: {e.strerror}") from None
    try:
        objects = [tmp / "code.o"]
        objects[0].write_bytes(code)
        if spec.weights == "embed":
            objects.append(tmp / "weights.o")
            text = aot.weights_module(spec, blob, target)
            objects[1].write_bytes(codegen.emit_data_object(text, target))
            link_relocatable(objects, tmp / f"{n}.o")
        else:
            os.replace(objects[0], tmp / f"{n}.o")
            (tmp / f"{n}.weights").write_bytes(aot.weights_file_bytes(plan, blob))
        link_shared([tmp / f"{n}.o"], tmp / f"lib{n}.so")
        layout = aot.workspace_layout(plan, spec)
        (tmp / f"{n}.h").write_text(header_text(spec, layout.total, target.cpu))
        names = [f"lib{n}.so", f"{n}.h", f"{n}.o"] + \
            ([f"{n}.weights"] if spec.weights == "file" else [])
        for name in names:
            os.replace(tmp / name, out / name)
        if spec.weights == "embed":
            (out / f"{n}.weights").unlink(missing_ok=True)   # stale from a --weights file build
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return LibraryFiles(out / f"lib{n}.so", out / f"{n}.h", out / f"{n}.o",
                        out / f"{n}.weights" if spec.weights == "file" else None, spec,
                        plan.arena_bytes, layout.total, len(blob), len(plan.kernels))
