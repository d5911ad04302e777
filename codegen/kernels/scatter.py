"""scatterAdd: zero the output, then add every update into the position its index names."""
from __future__ import annotations

from kiln.codegen.expr import Index, _in_range
from kiln.codegen.irutil import I64, loop_nest, product
from kiln.codegen.kernels.reduce import combine
from kiln.codegen.scalar import const_like


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    indices, updates = anchor.inputs
    b = body.b
    out = anchor.outputs[0]
    out_shape = body.shape_of(out)
    axis = anchor.attrs["axis"]
    dtype = out.dtype
    with loop_nest(b, [product(b, out_shape)], "z") as (i,):
        body.store(out_ptr, dtype, i, const_like(dtype, 0))
    i_rank = len(body.shape_of(indices))
    with loop_nest(b, body.shape_of(updates), "u") as multi:
        j = body.value(indices, Index(b, body.shape_of(indices), multi=multi[axis:axis + i_rank]))
        j = b.sext(j, I64)
        target = Index(b, out_shape, multi=multi[:axis] + [j] + multi[axis + i_rank:])
        with b.if_then(_in_range(b, j, 0, out_shape[axis])):
            update = body.value(updates, Index(b, body.shape_of(updates), multi=multi))
            old = body.load_at(out_ptr, dtype, target.linear)
            body.store(out_ptr, dtype, target.linear, combine(body, "sum", dtype, old, update))
