"""Pooling kernels (channels last): pool (max / avg) and the gradients maxPoolGrad, avgPoolGrad.

Each output row (n, o...) combines the input rows at its window taps that lie inside the
input, vectorized over the contiguous channels; padding never takes part (max ignores it,
average divides by the number of real taps, as TensorFlow does). The gradients scatter-add
each row of dy into dx (zeroed first): average spreads dy / count over the real taps; max
sends each channel's dy to the first tap (in window order) holding that channel's maximum.
"""
from __future__ import annotations

import math

from kiln.codegen.irutil import F32, I64, counted_loop, element_ptr, entry_alloca, i64, imul
from kiln.codegen.kernels.spatial import (Window, epilogue_span, linear_of, load_f32, source,
                                          store_f32, unravel)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32


def pool_window(x_shape, out_shape, attrs) -> Window:
    rank = len(x_shape) - 2
    return Window(batch=x_shape[0], in_sizes=tuple(x_shape[1:-1]),
                  out_sizes=tuple(out_shape[1:-1]), kernel=tuple(attrs["window"]),
                  strides=tuple(attrs["strides"]), dilations=(1,) * rank,
                  pads=tuple(p[0] for p in attrs["pads"]))


PARALLEL_MIN_ELEMENTS = 1 << 20    # input elements read by a pool worth a second thread


def parallel_split(kernel, target):
    """Split a forward pool's output rows across tasks (the gradients scatter: never split)."""
    anchor = kernel.anchor
    if anchor.op != "pool":
        return None
    (x,) = anchor.inputs
    win = pool_window(x.shape, anchor.outputs[0].shape, anchor.attrs)
    if x.type.size < PARALLEL_MIN_ELEMENTS or win.rows < 2:
        return None
    return win.rows, 1


def nan_max(b, old, new):
    """max that propagates NaN, as compare + select (vectorizes; llvm.maximum does not on x86)."""
    take = b.or_(b.fcmp_ordered(">", new, old), b.fcmp_unordered("uno", new, new))
    return b.select(take, new, old)


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    {"pool": _pool, "maxPoolGrad": _max_pool_grad, "avgPoolGrad": _avg_pool_grad}[anchor.op](
        body, kernel, out_ptr)


def _zero(b, ptr, count):
    with counted_loop(b, count, name="z") as i:
        store_f32(b, ptr, i, f32(0.0))


def _pool(body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    (x,) = anchor.inputs
    win = pool_window(x.shape, anchor.outputs[0].shape, anchor.attrs)
    channels = x.shape[-1]
    is_max = anchor.attrs["mode"] == "max"
    x_ptr = body.buffers[x]
    count = entry_alloca(b, I64, "count")
    begin, end = body.split or (0, win.rows)
    with counted_loop(b, end, start=begin, name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        out_row = element_ptr(b, out_ptr, float32, imul(b, row, channels))
        start = f32(-math.inf if is_max else 0.0)
        with counted_loop(b, channels, name="init") as c:
            store_f32(b, out_row, c, start)
        b.store(i64(0), count)
        with counted_loop(b, win.taps, name="tap") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                b.store(b.add(b.load(count, typ=I64), i64(1)), count)
                x_row = element_ptr(b, x_ptr, float32,
                                    imul(b, linear_of(b, coords, win.in_dims), channels))
                with counted_loop(b, channels, name="c") as c:
                    old, new = load_f32(b, out_row, c), load_f32(b, x_row, c)
                    if is_max:
                        value = nan_max(b, old, new)
                    else:
                        value = b.fadd(old, new)
                    store_f32(b, out_row, c, value)
        if not is_max:
            scale = b.fdiv(f32(1.0), b.sitofp(b.load(count, typ=I64), F32))
            with counted_loop(b, channels, name="avg") as c:
                store_f32(b, out_row, c, b.fmul(load_f32(b, out_row, c), scale))
        epilogue_span(body, kernel, out_ptr, out_multi, row, channels, 0, channels)


def _avg_pool_grad(body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    (dy,) = anchor.inputs
    shape = anchor.outputs[0].shape
    win = pool_window(shape, dy.shape, anchor.attrs)
    channels = shape[-1]
    dy_ptr = body.buffers[dy]
    _zero(b, out_ptr, math.prod(shape))
    count = entry_alloca(b, I64, "count")
    with counted_loop(b, win.rows, name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        dy_row = element_ptr(b, dy_ptr, float32, imul(b, row, channels))
        b.store(i64(0), count)
        with counted_loop(b, win.taps, name="cnt") as tap:
            _, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            b.store(b.add(b.load(count, typ=I64), b.zext(valid, I64)), count)
        scale = b.fdiv(f32(1.0), b.sitofp(b.load(count, typ=I64), F32))
        with counted_loop(b, win.taps, name="tap") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                dx_row = element_ptr(b, out_ptr, float32,
                                     imul(b, linear_of(b, coords, win.in_dims), channels))
                with counted_loop(b, channels, name="c") as c:
                    add = b.fmul(load_f32(b, dy_row, c), scale)
                    store_f32(b, dx_row, c, b.fadd(load_f32(b, dx_row, c), add))


def _max_pool_grad(body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    x, dy = anchor.inputs
    win = pool_window(x.shape, dy.shape, anchor.attrs)
    channels = x.shape[-1]
    x_ptr, dy_ptr = body.buffers[x], body.buffers[dy]
    _zero(b, out_ptr, math.prod(x.shape))
    best = entry_alloca(b, F32, "best")
    where = entry_alloca(b, I64, "where")
    with counted_loop(b, win.rows, name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        with counted_loop(b, channels, name="c") as c:
            b.store(f32(-math.inf), best)
            b.store(i64(-1), where)
            with counted_loop(b, win.taps, name="tap") as tap:
                coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
                with b.if_then(valid):
                    offset = b.add(imul(b, linear_of(b, coords, win.in_dims), channels), c)
                    v = load_f32(b, x_ptr, offset)
                    # first maximum wins; a NaN is a maximum (as TensorFlow's argmax)
                    first = b.icmp_signed("<", b.load(where, typ=I64), i64(0))
                    better = b.or_(b.fcmp_ordered(">", v, b.load(best, typ=F32)),
                                   b.fcmp_unordered("uno", v, v))
                    take = b.or_(first, b.and_(better, b.fcmp_ordered(
                        "ord", b.load(best, typ=F32), b.load(best, typ=F32))))
                    b.store(b.select(take, v, b.load(best, typ=F32)), best)
                    b.store(b.select(take, offset, b.load(where, typ=I64)), where)
            target = b.load(where, typ=I64)
            with b.if_then(b.icmp_signed(">=", target, i64(0))):
                g = load_f32(b, dy_ptr, b.add(imul(b, row, channels), c))
                store_f32(b, out_ptr, target, b.fadd(load_f32(b, out_ptr, target), g))

