"""kiln.codegen: lower planned graphs to LLVM IR, optimize, and produce machine code."""
from kiln.codegen.compiler import JitLibrary, assembly, compile_ir, load_object, optimized_module
from kiln.codegen.kernels import SCRATCH
from kiln.codegen.lower import ENTRY, PROFILE, buffer_count, lower, split_of
from kiln.codegen.target import Target, host_target, named_target


def scratch_bytes(kernel, target: Target, threads: int = 1) -> int:
    """Temporary bytes a kernel needs while it runs (the memory planner reserves them); a
    kernel that runs as parallel tasks gets one 64-byte aligned slice per task."""
    fn = SCRATCH.get(kernel.kind)
    size = fn(kernel, target) if fn else 0
    if size and split_of(kernel, target, threads) is not None:
        return (size + 63) // 64 * 64 * threads
    return size


__all__ = ["ENTRY", "PROFILE", "JitLibrary", "Target", "assembly", "buffer_count", "compile_ir",
           "host_target", "load_object", "lower", "named_target", "optimized_module",
           "scratch_bytes"]
