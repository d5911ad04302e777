"""Pooling kernels (channels last): pool (max / avg) and the gradients maxPoolGrad, avgPoolGrad.

Each output row (n, o...) combines the input rows at its window taps that lie inside the
input, vectorized over the contiguous channels; padding never takes part (max ignores it,
average divides by the number of real taps, as TensorFlow does). The gradients scatter-add
each row of dy into dx (zeroed first): average spreads dy / count over the real taps; max
sends each channel's dy to the first tap (in window order) holding that channel's maximum.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from kiln.codegen.irutil import F32, I64, counted_loop, element_ptr, entry_alloca, i64, imul, isub
from kiln.codegen.kernels.spatial import (Window, epilogue_span, linear_of, load_f32, source,
                                          store_f32, unravel, zero_f32)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32


def pool_window(x_shape, out_shape, attrs) -> Window:
    rank = len(x_shape) - 2
    return Window(batch=x_shape[0], in_sizes=tuple(x_shape[1:-1]),
                  out_sizes=tuple(out_shape[1:-1]), kernel=tuple(attrs["window"]),
                  strides=tuple(attrs["strides"]), dilations=(1,) * rank,
                  pads=tuple(p[0] for p in attrs["pads"]))


PARALLEL_MIN_ELEMENTS = 1 << 18    # input elements of a pool worth a second thread


def parallel_split(kernel, target):
    """Split a forward pool's output rows across tasks, a gradient's images (windows never
    cross images, so each task scatters into its own part of dx)."""
    anchor = kernel.anchor
    x_shape = anchor.outputs[0].shape if anchor.op != "pool" else anchor.inputs[0].shape
    if math.prod(x_shape) < PARALLEL_MIN_ELEMENTS:
        return None
    if anchor.op == "pool":
        win = pool_window(x_shape, anchor.outputs[0].shape, anchor.attrs)
        return (win.rows, 1) if win.rows >= 2 else None
    return (x_shape[0], 1) if x_shape[0] >= 2 else None


def _image_rows(b, body, win, dx_ptr, channels):
    """A gradient's loop bounds over dy rows (this task's images), after zeroing the part of
    dx those images scatter into."""
    first, last = body.split or (0, win.batch)
    image_out, image_in = math.prod(win.out_sizes), math.prod(win.in_sizes) * channels
    zero_f32(b, element_ptr(b, dx_ptr, float32, imul(b, first, image_in)),
             imul(b, isub(b, last, first), image_in))
    return imul(b, first, image_out), imul(b, last, image_out)


def nan_max(b, old, new):
    """max that propagates NaN, as compare + select (vectorizes; llvm.maximum does not on x86)."""
    take = b.or_(b.fcmp_ordered(">", new, old), b.fcmp_unordered("uno", new, new))
    return b.select(take, new, old)


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    {"pool": _pool, "maxPoolGrad": _max_pool_grad, "avgPoolGrad": _avg_pool_grad}[anchor.op](
        body, kernel, out_ptr)


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
    begin, end = _image_rows(b, body, win, out_ptr, channels)
    count = entry_alloca(b, I64, "count")
    with counted_loop(b, end, start=begin, name="row") as row:
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
    begin, end = _image_rows(b, body, win, out_ptr, channels)
    # per channel of the current window: the best value so far and the offset holding it
    best = entry_alloca(b, ir.ArrayType(F32, channels), "best")
    where = entry_alloca(b, ir.ArrayType(I64, channels), "where")

    def slot(array, ty, c):
        return b.gep(array, [i64(0), c], source_etype=ir.ArrayType(ty, channels), inbounds=True)

    with counted_loop(b, end, start=begin, name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        with counted_loop(b, channels, name="init") as c:
            b.store(f32(-math.inf), slot(best, F32, c))
            b.store(i64(-1), slot(where, I64, c))
        with counted_loop(b, win.taps, name="tap") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                base = imul(b, linear_of(b, coords, win.in_dims), channels)
                with counted_loop(b, channels, name="c") as c:
                    offset = b.add(i64(base), c)
                    v = load_f32(b, x_ptr, offset)
                    old = b.load(slot(best, F32, c), typ=F32)
                    old_at = b.load(slot(where, I64, c), typ=I64)
                    # the first maximum in window order wins; a NaN is a maximum
                    take = b.or_(b.icmp_signed("<", old_at, i64(0)),
                                 b.or_(b.fcmp_ordered(">", v, old),
                                       b.and_(b.fcmp_unordered("uno", v, v),
                                              b.fcmp_ordered("ord", old, old))))
                    b.store(b.select(take, v, old), slot(best, F32, c))
                    b.store(b.select(take, offset, old_at), slot(where, I64, c))
        dy_row = element_ptr(b, dy_ptr, float32, imul(b, row, channels))
        with counted_loop(b, channels, name="scatter") as c:
            target = b.load(slot(where, I64, c), typ=I64)
            with b.if_then(b.icmp_signed(">=", target, i64(0))):
                g = load_f32(b, dy_row, c)
                store_f32(b, out_ptr, target, b.fadd(load_f32(b, out_ptr, target), g))
