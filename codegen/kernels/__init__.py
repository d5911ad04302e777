"""Kernel templates, one per kernel kind: each emits the loop nest of one Kernel."""
from kiln.codegen.kernels import (concat, conv, conv_backprop, matmul, pointwise, pool, reduce,
                                  resize, scan)

TEMPLATES = {
    "pointwise": pointwise.emit,
    "reduce": reduce.emit,
    "matmul": matmul.emit,
    "scan": scan.emit,
    "concat": concat.emit,
    "conv": conv.emit,
    "convInput": conv_backprop.emit,
    "convFilter": conv_backprop.emit,
    "pool": pool.emit,
    "poolGrad": pool.emit,
    "resize": resize.emit,
    "resizeGrad": resize.emit,
}

SCRATCH = {
    "reduce": reduce.scratch_bytes,
    "matmul": matmul.scratch_bytes,
    "conv": conv.scratch_bytes,
}
