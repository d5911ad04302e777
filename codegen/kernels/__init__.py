"""Kernel templates, one per kernel kind: each emits the loop nest of one Kernel."""
from kiln.codegen.kernels import (concat, conv, conv_backprop, loop, matmul, pointwise, pool,
                                  reduce, resize, row, scan, scatter)

TEMPLATES = {
    "pointwise": pointwise.emit,
    "reduce": reduce.emit,
    "matmul": matmul.emit,
    "scan": scan.emit,
    "concat": concat.emit,
    "scatter": scatter.emit,
    "row": row.emit,
    "conv": conv.emit,
    "convInput": conv_backprop.emit,
    "convFilter": conv_backprop.emit,
    "pool": pool.emit,
    "poolGrad": pool.emit,
    "resize": resize.emit,
    "resizeGrad": resize.emit,
    "loop": loop.emit,
}

# kind -> fn(kernel, target) -> (extent, granule) when the kernel is worth running in
# parallel over its split axis (see codegen.parallel), else None.
PARALLEL = {
    "matmul": matmul.parallel_split,
    "pointwise": pointwise.parallel_split,
    "conv": conv.parallel_split,
    "pool": pool.parallel_split,
    "poolGrad": pool.parallel_split,
    "convInput": conv_backprop.parallel_split,
    "convFilter": conv_backprop.parallel_split,
    "loop": loop.parallel_split,
}

SCRATCH = {
    "reduce": reduce.scratch_bytes,
    "matmul": matmul.scratch_bytes,
    "conv": conv.scratch_bytes,
    "convInput": conv_backprop.scratch_bytes,
    "convFilter": conv_backprop.scratch_bytes,
    "loop": loop.scratch_bytes,
}
