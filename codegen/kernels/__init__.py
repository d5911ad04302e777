"""Kernel templates, one per kernel kind: each emits the loop nest of one Kernel."""
from kiln.codegen.kernels import concat, loop, matmul, pointwise, reduce, row, scan, scatter

TEMPLATES = {
    "pointwise": pointwise.emit,
    "reduce": reduce.emit,
    "matmul": matmul.emit,
    "scan": scan.emit,
    "concat": concat.emit,
    "scatter": scatter.emit,
    "row": row.emit,
    "loop": loop.emit,
}

# kind -> fn(kernel, target) -> (extent, granule) when the kernel is worth running in
# parallel over its split axis (see codegen.parallel), else None.
PARALLEL = {
    "matmul": matmul.parallel_split,
    "pointwise": pointwise.parallel_split,
    "loop": loop.parallel_split,
}

SCRATCH = {
    "reduce": reduce.scratch_bytes,
    "matmul": matmul.scratch_bytes,
    "loop": loop.scratch_bytes,
}
