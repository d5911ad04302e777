"""Cumulative sum along one axis.

Loop order: axes before the scanned one, the scanned axis (forward or reversed), then the
axes after it, so that when the scanned axis is not the last the inner loop is a contiguous
vector update `out[a] = out[a-1] + x[a]`.
"""
from __future__ import annotations

from kiln.codegen.expr import Index
from kiln.codegen.irutil import counted_loop, i64, isub, loop_nest
from kiln.codegen.kernels.reduce import combine
from kiln.codegen.scalar import const_like


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    (x,) = anchor.inputs
    b = body.b
    shape = body.shape_of(x)
    axis = anchor.attrs["axis"]
    exclusive, reverse = anchor.attrs["exclusive"], anchor.attrs["reverse"]
    n = shape[axis]
    dtype = x.dtype
    zero = const_like(dtype, 0)
    with loop_nest(b, shape[:axis], "o") as outer:
        with counted_loop(b, n, name="s") as step:
            pos = isub(b, isub(b, n, 1), step) if reverse else step
            is_first = b.icmp_signed("==", step, i64(0))
            # the previous position along the scan, clamped so loads stay in bounds
            prev = b.select(is_first, i64(pos), b.add(i64(pos), i64(1 if reverse else -1)))
            with loop_nest(b, shape[axis + 1:], "n") as inner:
                here = Index(b, shape, multi=outer + [pos] + inner)
                before = Index(b, shape, multi=outer + [prev] + inner)
                running = b.select(is_first, zero, body.load_at(out_ptr, dtype, before.linear))
                if exclusive:
                    addend = b.select(is_first, zero, body.value(x, before))
                else:
                    addend = body.value(x, here)
                body.store(out_ptr, dtype, here.linear, combine(body, "sum", dtype, running, addend))
