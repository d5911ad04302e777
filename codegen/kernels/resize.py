"""Resize kernels: resize (nearest / bilinear) and resizeGrad, [N, H, W, C] channels last.

Source coordinates follow TensorFlow's (and TF.js's cpu backend's) rules exactly: with
alignCorners the corner pixels of input and output line up (scale (in-1)/(out-1)); with
halfPixelCenters pixel centers do (src = (dst + 0.5) * scale - 0.5 for bilinear,
(dst + 0.5) * scale for nearest); otherwise src = dst * scale (TF1's legacy rule, which TF.js's
UpSampling2D uses). Nearest rounds half up with alignCorners, else floors. The per-row and
per-column source indices and weights depend only on the static shapes, so they are computed
here in double precision (as the reference kernels do) and embedded as constant tables.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir
import numpy as np

from kiln.codegen.irutil import F32, I64, counted_loop, element_ptr, i64, iadd, imul
from kiln.codegen.kernels.spatial import epilogue_span, load_f32, store_f32
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32


def source_table(old: int, new: int, method: str, align_corners: bool, half_pixel: bool):
    """(low index, high index, fraction) per output position along one axis."""
    eff_in = old - 1 if align_corners and new > 1 else old
    eff_out = new - 1 if align_corners and new > 1 else new
    ratio = eff_in / eff_out
    lo, hi, frac = [], [], []
    for r in range(new):
        if method == "nearest":
            src = ratio * (r + 0.5) if half_pixel else ratio * r
            idx = min(old - 1, math.floor(src + 0.5) if align_corners else math.floor(src))
            idx = max(0, idx) if half_pixel else idx
            lo.append(idx), hi.append(idx), frac.append(0.0)
            continue
        src = ratio * (r + 0.5) - 0.5 if half_pixel else ratio * r
        low = max(0, math.floor(src))
        lo.append(low)
        hi.append(min(old - 1, math.ceil(src)))
        frac.append(src - low)
    return lo, hi, frac


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    if anchor.op == "resize":
        _resize(ctx, body, kernel, out_ptr)
    else:
        _resize_grad(ctx, body, kernel, out_ptr)


class _Tables:
    """Constant tables of one resize's source rows and columns, as module globals."""

    def __init__(self, ctx, node, in_shape, out_shape):
        attrs = node.attrs
        args = (attrs["method"], attrs["alignCorners"], attrs["halfPixelCenters"])
        self.rows = source_table(in_shape[1], out_shape[1], *args)
        self.cols = source_table(in_shape[2], out_shape[2], *args)
        self.module = ctx.module
        self.bilinear = attrs["method"] == "bilinear"

    def globals(self, name, values, ty):
        array = ir.ArrayType(ty, len(values))
        glob = ir.GlobalVariable(self.module, array, self.module.get_unique_name(name))
        glob.global_constant = True
        glob.linkage = "internal"
        glob.initializer = ir.Constant(array, [float(v) if ty is F32 else int(v) for v in values])
        return glob

    def loader(self, b, table, name):
        lo, hi, frac = table
        glo, ghi = self.globals(f"{name}lo", lo, I64), self.globals(f"{name}hi", hi, I64)
        gfrac = self.globals(f"{name}frac", np.float32(frac).tolist(), F32)

        def at(i):
            return (b.load(b.gep(glo, [i64(0), i], inbounds=True), typ=I64),
                    b.load(b.gep(ghi, [i64(0), i], inbounds=True), typ=I64),
                    b.load(b.gep(gfrac, [i64(0), i], inbounds=True), typ=F32))
        return at


def _lerp(b, a, c, t):
    return b.fadd(a, b.fmul(b.fsub(c, a), t))


def _resize(ctx, body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    (x,) = anchor.inputs
    n, h, w, channels = x.shape
    _, oh, ow, _ = anchor.outputs[0].shape
    tables = _Tables(ctx, anchor, x.shape, anchor.outputs[0].shape)
    row_at, col_at = tables.loader(b, tables.rows, "r"), tables.loader(b, tables.cols, "c")
    x_ptr = body.buffers[x]
    with counted_loop(b, n, name="n") as bi:
        with counted_loop(b, oh, name="y") as y:
            y0, y1, fy = row_at(y)
            top = iadd(b, imul(b, bi, h), y0)
            bottom = iadd(b, imul(b, bi, h), y1)
            with counted_loop(b, ow, name="x") as xo:
                x0, x1, fx = col_at(xo)
                row = iadd(b, imul(b, iadd(b, imul(b, bi, oh), y), ow), xo)
                out_row = element_ptr(b, out_ptr, float32, imul(b, row, channels))

                def pixel(r, c):
                    return element_ptr(b, x_ptr, float32, imul(b, iadd(b, imul(b, r, w), c),
                                                               channels))
                tl = pixel(top, x0)
                if tables.bilinear:
                    tr, bl, br = pixel(top, x1), pixel(bottom, x0), pixel(bottom, x1)
                with counted_loop(b, channels, name="ch") as ch:
                    if tables.bilinear:
                        upper = _lerp(b, load_f32(b, tl, ch), load_f32(b, tr, ch), fx)
                        lower = _lerp(b, load_f32(b, bl, ch), load_f32(b, br, ch), fx)
                        value = _lerp(b, upper, lower, fy)
                    else:
                        value = load_f32(b, tl, ch)
                    store_f32(b, out_row, ch, value)
                epilogue_span(body, kernel, out_ptr, [bi, y, xo], row, channels, 0, channels)


def _resize_grad(ctx, body, kernel, out_ptr):
    b = body.b
    anchor = kernel.anchor
    (dy,) = anchor.inputs
    shape = anchor.outputs[0].shape
    n, h, w, channels = shape
    _, oh, ow, _ = dy.shape
    tables = _Tables(ctx, anchor, shape, dy.shape)
    row_at, col_at = tables.loader(b, tables.rows, "r"), tables.loader(b, tables.cols, "c")
    dy_ptr = body.buffers[dy]
    with counted_loop(b, math.prod(shape), name="z") as i:
        store_f32(b, out_ptr, i, f32(0.0))
    with counted_loop(b, n, name="n") as bi:
        with counted_loop(b, oh, name="y") as y:
            y0, y1, fy = row_at(y)
            with counted_loop(b, ow, name="x") as xo:
                x0, x1, fx = col_at(xo)
                row = iadd(b, imul(b, iadd(b, imul(b, bi, oh), y), ow), xo)
                dy_row = element_ptr(b, dy_ptr, float32, imul(b, row, channels))

                def pixel(r, c):
                    return element_ptr(b, out_ptr, float32, imul(
                        b, iadd(b, imul(b, iadd(b, imul(b, bi, h), r), w), c), channels))
                if tables.bilinear:
                    gy, gx = b.fsub(f32(1.0), fy), b.fsub(f32(1.0), fx)
                    taps = [(pixel(y0, x0), b.fmul(gy, gx)), (pixel(y0, x1), b.fmul(gy, fx)),
                            (pixel(y1, x0), b.fmul(fy, gx)), (pixel(y1, x1), b.fmul(fy, fx))]
                else:
                    taps = [(pixel(y0, x0), None)]
                for ptr, weight in taps:
                    with counted_loop(b, channels, name="ch") as ch:
                        g = load_f32(b, dy_row, ch)
                        g = b.fmul(g, weight) if weight is not None else g
                        store_f32(b, ptr, ch, b.fadd(load_f32(b, ptr, ch), g))
