"""From LLVM IR text to running machine code.

    obj = compile_ir(text, target)      # optimize (new pass manager, -O3) and emit an object
    lib = load_object(obj, [ENTRY])     # link into the process's JIT; lib.address(ENTRY)

Object code is the unit the runtime caches on disk and that ahead-of-time builds link into a
shared library: the JIT and AOT paths share everything up to the object file.
"""
from __future__ import annotations

import itertools
import threading

import llvmlite.binding as llvm

from kiln.codegen import parallel
from kiln.codegen.target import Target, _init_llvm, host_target

_jit = None
_jit_lock = threading.Lock()
_pool = None          # the process's thread pool library (see codegen.parallel), never freed
_names = itertools.count()
compile_count = 0     # how many modules LLVM compiled in this process (tests read it)


def optimized_module(text: str, target: Target):
    """Parse, verify and optimize LLVM IR text; returns an llvmlite ModuleRef."""
    _init_llvm()
    mod = llvm.parse_assembly(text)
    mod.triple = target.triple
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = False   # kernels unroll by hand where it pays; LLVM unrolling only adds size
    pb = llvm.create_pass_builder(target.machine, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def compile_ir(text: str, target: Target) -> bytes:
    """Optimize and emit a relocatable object file for `target`."""
    global compile_count
    mod = optimized_module(text, target)
    compile_count += 1
    return target.machine.emit_object(mod)


def emit_data_object(text: str, target: Target) -> bytes:
    """Emit an object for a module that holds only data (no optimizer: nothing to optimize,
    and megabytes of constants would only slow it down)."""
    _init_llvm()
    mod = llvm.parse_assembly(text)
    mod.verify()
    return target.machine.emit_object(mod)


def assembly(text: str, target: Target) -> str:
    return target.machine.emit_assembly(optimized_module(text, target))


class JitLibrary:
    """Object code linked into this process; alive as long as this object is."""

    def __init__(self, tracker, symbols):
        self._tracker = tracker
        self._symbols = symbols

    def address(self, name: str) -> int:
        if name not in self._symbols:
            raise KeyError(f"the compiled library does not export {name!r}")
        return self._symbols[name]


def load_object(obj: bytes, exports) -> JitLibrary:
    global _jit, _pool
    with _jit_lock:
        if _jit is None:
            _init_llvm()
            _jit = llvm.create_lljit_compiler(host_target().machine)
        if _pool is None:
            _pool = _link_pool()
        builder = llvm.JITLibraryBuilder().add_object_img(obj).add_current_process()
        builder.import_symbol(parallel.PARALLEL_FOR, _pool[parallel.PARALLEL_FOR])
        for name in exports:
            builder.export_symbol(name)
        tracker = builder.link(_jit, f"kiln{next(_names)}")
    return JitLibrary(tracker, {name: tracker[name] for name in exports})


def _link_pool():
    target = host_target()
    module = parallel.pool_module(target.triple)
    module.data_layout = str(target.machine.target_data)
    obj = target.machine.emit_object(optimized_module(str(module), target))
    builder = llvm.JITLibraryBuilder().add_object_img(obj).add_current_process()
    return builder.export_symbol(parallel.PARALLEL_FOR).link(_jit, "kiln.pool")
