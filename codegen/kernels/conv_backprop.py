"""Gradient kernels of conv (channels last): convBackpropInput and convBackpropFilter.

convBackpropInput (also the transposed convolution) gathers: each dx row (n, i...) sums, over
the taps k whose source output position o = (i + pad - k*dilation) / stride is a whole number
inside dy, the product of dy's row at o with the filter's tap k (a dot product over the group's
output channels, vectorized). convBackpropFilter scatters: each dy row adds, for every tap
inside the input, the outer product of the input row at that tap with the dy row into the
filter gradient (an axpy over the group's output channels, vectorized). Both zero their output
first; the epilogue (bias, activation of a transposed conv) runs per finished dx row.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from kiln.codegen.irutil import F32, I1, counted_loop, element_ptr, entry_alloca, i64, iadd, imul
from kiln.codegen.kernels.conv import _axpy, conv_shape
from kiln.codegen.kernels.spatial import (epilogue_span, linear_of, load_f32, source, store_f32,
                                          unravel)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32

REASSOC = ("reassoc", "contract")


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    if anchor.op == "convBackpropInput":
        _backprop_input(body, kernel, out_ptr)
    else:
        _backprop_filter(body, kernel, out_ptr)


def _backprop_input(body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    dy, w = anchor.inputs
    x_shape = anchor.outputs[0].shape
    cs = conv_shape(x_shape, w.shape, dy.shape, anchor.attrs)
    win = cs.win
    dy_ptr, w_ptr = body.buffers[dy], body.buffers[w]
    acc = entry_alloca(b, F32, "acc")
    rows = math.prod(win.in_dims)
    with counted_loop(b, rows, name="row") as row:
        in_multi = unravel(b, row, win.in_dims)
        dx_row = element_ptr(b, out_ptr, float32, imul(b, row, cs.channels))
        with counted_loop(b, cs.channels, name="z") as c:
            store_f32(b, dx_row, c, f32(0.0))
        with counted_loop(b, win.taps, name="tap") as tap:
            outs, valid = _gather_source(b, win, in_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                dy_row = element_ptr(b, dy_ptr, float32,
                                     imul(b, linear_of(b, [in_multi[0]] + outs, win.out_dims),
                                          cs.filters))
                w_tap = element_ptr(b, w_ptr, float32, imul(b, tap, cs.cin_g * cs.filters))
                with counted_loop(b, cs.groups, name="g") as g:
                    with counted_loop(b, cs.cin_g, name="ci") as ci:
                        w_row = element_ptr(b, w_tap, float32, iadd(
                            b, imul(b, ci, cs.filters), imul(b, g, cs.ng)))
                        g_row = element_ptr(b, dy_row, float32, imul(b, g, cs.ng))
                        b.store(f32(0.0), acc)
                        with counted_loop(b, cs.ng, name="j") as j:
                            prod = b.fmul(load_f32(b, g_row, j), load_f32(b, w_row, j),
                                          flags=REASSOC)
                            b.store(b.fadd(b.load(acc, typ=F32), prod, flags=REASSOC), acc)
                        c = iadd(b, imul(b, g, cs.cin_g), ci)
                        store_f32(b, dx_row, c, b.fadd(load_f32(b, dx_row, c),
                                                       b.load(acc, typ=F32)))
        epilogue_span(body, kernel, out_ptr, in_multi, row, cs.channels, 0, cs.channels)


def _gather_source(b, win, in_multi, tap_multi):
    """Output position o... whose window reads input (i...) at tap k..., and whether it exists."""
    outs, valid = [], ir.Constant(I1, 1)
    for i, k, s, d, p, size in zip(in_multi[1:], tap_multi, win.strides, win.dilations,
                                   win.pads, win.out_sizes):
        t = b.sub(i64(iadd(b, i, p)), i64(imul(b, k, d)))
        zero = ir.Constant(t.type, 0)
        o = b.sdiv(t, ir.Constant(t.type, s)) if s != 1 else t
        ok = b.icmp_signed(">=", t, zero)
        if s != 1:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(t, ir.Constant(t.type, s)), zero))
        ok = b.and_(ok, b.icmp_signed("<", o, ir.Constant(t.type, size)))
        valid = b.and_(valid, ok)
        outs.append(o)
    return outs, valid


def _backprop_filter(body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    x, dy = anchor.inputs
    w_shape = anchor.outputs[0].shape
    cs = conv_shape(x.shape, w_shape, dy.shape, anchor.attrs)
    win = cs.win
    x_ptr, dy_ptr = body.buffers[x], body.buffers[dy]
    with counted_loop(b, math.prod(w_shape), name="z") as i:
        store_f32(b, out_ptr, i, f32(0.0))
    with counted_loop(b, win.rows, name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        dy_row = element_ptr(b, dy_ptr, float32, imul(b, row, cs.filters))
        with counted_loop(b, win.taps, name="tap") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                x_row = element_ptr(b, x_ptr, float32,
                                    imul(b, linear_of(b, coords, win.in_dims), cs.channels))
                dw_tap = element_ptr(b, out_ptr, float32, imul(b, tap, cs.cin_g * cs.filters))
                with counted_loop(b, cs.groups, name="g") as g:
                    with counted_loop(b, cs.cin_g, name="ci") as ci:
                        xv = load_f32(b, x_row, iadd(b, imul(b, g, cs.cin_g), ci))
                        dw_row = element_ptr(b, dw_tap, float32, iadd(
                            b, imul(b, ci, cs.filters), imul(b, g, cs.ng)))
                        g_row = element_ptr(b, dy_row, float32, imul(b, g, cs.ng))
                        with counted_loop(b, cs.ng, name="j") as j:
                            _axpy(b, dw_row, j, xv, load_f32(b, g_row, j))
