"""Concatenation: one loop nest per operand, writing its slab of the output."""
from __future__ import annotations

from kiln.codegen.expr import Index
from kiln.codegen.irutil import iadd, loop_nest


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    b = body.b
    axis = anchor.attrs["axis"]
    out_shape = body.shape_of(anchor.outputs[0])
    offset = 0
    for operand in anchor.inputs:
        shape = body.shape_of(operand)
        with loop_nest(b, shape, "c") as multi:
            value = body.value(operand, Index(b, shape, multi=multi))
            out_multi = list(multi)
            out_multi[axis] = iadd(b, multi[axis], offset)
            body.store(out_ptr, anchor.outputs[0].dtype, Index(b, out_shape, multi=out_multi).linear,
                       value)
        offset += shape[axis]
