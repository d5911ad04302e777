"""kiln.codegen: lower planned graphs to LLVM IR, optimize, and produce machine code."""
from kiln.codegen.compiler import JitLibrary, assembly, compile_ir, load_object, optimized_module
from kiln.codegen.kernels import SCRATCH
from kiln.codegen.lower import ENTRY, buffer_count, lower
from kiln.codegen.target import Target, host_target, named_target


def scratch_bytes(kernel, target: Target) -> int:
    """Temporary bytes a kernel needs while it runs (the memory planner reserves them)."""
    fn = SCRATCH.get(kernel.kind)
    return fn(kernel, target) if fn else 0


__all__ = ["ENTRY", "JitLibrary", "Target", "assembly", "buffer_count", "compile_ir",
           "host_target", "load_object", "lower", "named_target", "optimized_module",
           "scratch_bytes"]
