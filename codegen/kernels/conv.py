"""Convolution kernels (channels last, any number of spatial axes, groups, dilation).

Two drivers, chosen per conv by its shape:

  gemm    im2col fused into packing: the output is the [rows, F] matrix product of the
          im2col matrix A ([rows, taps * C/groups], never materialized whole) and the filter
          viewed as B ([taps * C/groups, F]). For each K slice, B is packed into NR-wide
          panels and A is packed straight from the input into MR-tall panels (zeros for
          padding), and the GEMM micro-kernel of kiln.codegen.kernels.matmul does the
          arithmetic. K slices are whole taps (all channels of a group) or, for very wide
          inputs, channel blocks of one tap, so a slice is a contiguous range of filter rows.
  direct  one output row (all F channels) at a time: for every tap inside the input and every
          input channel, an axpy of that input value into the row, vectorized over the
          row's output channels. Used when the contraction is short (few taps * channels per
          group, e.g. a first layer over one image channel) or a group has few outputs
          (depthwise convs), where packing costs more than it saves.

After the last K slice of a tile (gemm) or once a row is complete (direct), the kernel's
elementwise epilogue (bias, activation) runs on it in place.
"""
from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from kiln.codegen.irutil import (F32, counted_loop, element_ptr, entry_alloca, i64, iadd, imin,
                                 imul, isub)
from kiln.codegen.kernels.matmul import (PARALLEL_MIN_MACS, Blocking, _pack_b, macro_kernel,
                                        micro_kernel)
from kiln.codegen.kernels.spatial import (Window, epilogue_span, linear_of, load_f32, source,
                                          store_f32, unravel)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32

KC_MAX = 512            # deepest packed K slice (floats)
MC_ROWS = 96            # rows of A packed at once
NC_MAX = 4096           # widest packed B block (floats)
DIRECT_MAX_DEPTH = 16   # contractions this short go direct
DIRECT_MAX_GROUP_OUT = 4
DOT_MAX_GROUP_OUT = 4      # the direct driver uses dot products over input channels when a
DOT_MIN_DEPTH = 8          # group has fewer outputs than this and at least this many inputs
REASSOC = ("reassoc", "contract")


@dataclass(frozen=True)
class ConvShape:
    win: Window
    channels: int        # C (input channels)
    filters: int         # F (output channels)
    groups: int

    @property
    def cin_g(self) -> int:
        return self.channels // self.groups

    @property
    def ng(self) -> int:
        return self.filters // self.groups

    @property
    def depth(self) -> int:
        return self.win.taps * self.cin_g


def conv_shape(x_shape, w_shape, out_shape, attrs) -> ConvShape:
    rank = len(x_shape) - 2
    win = Window(batch=x_shape[0], in_sizes=tuple(x_shape[1:-1]), out_sizes=tuple(out_shape[1:-1]),
                 kernel=tuple(w_shape[:rank]), strides=tuple(attrs["strides"]),
                 dilations=tuple(attrs["dilations"]), pads=tuple(p[0] for p in attrs["pads"]))
    return ConvShape(win, x_shape[-1], w_shape[-1], attrs["groups"])


def _shape_of(anchor) -> ConvShape:
    x, w = anchor.inputs
    return conv_shape(x.shape, w.shape, anchor.outputs[0].shape, anchor.attrs)


def use_gemm(cs: ConvShape) -> bool:
    return cs.depth > DIRECT_MAX_DEPTH and cs.ng > DIRECT_MAX_GROUP_OUT


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def blocking(cs: ConvShape, target) -> Blocking:
    """Register tile MR x (NRV vectors) sized to the group's output channels: narrow outputs
    get taller tiles, keeping mr*nrv accumulators + nrv B vectors + 1 splat in registers."""
    lanes = target.float_lanes
    nrv = min(4, max(1, -(-cs.ng // lanes)))
    if lanes >= 16:
        mr = {1: 14, 2: 12, 3: 8, 4: 6}[nrv]
    elif lanes == 8:
        nrv = min(nrv, 2)
        mr = {1: 8, 2: 6}[nrv]
    else:
        nrv, mr = 2, 4
    nr = nrv * lanes
    mc = max(mr, MC_ROWS // mr * mr)
    return Blocking(mr=mr, nrv=nrv, lanes=lanes, kc=KC_MAX, mc=mc, nc=max(nr, NC_MAX // nr * nr))


def k_slicing(cs: ConvShape) -> tuple[int, int]:
    """(taps per slice, channels per slice): whole taps when a group's channels fit in KC_MAX."""
    if cs.cin_g <= KC_MAX:
        return max(1, KC_MAX // cs.cin_g), cs.cin_g
    return 1, KC_MAX


def _slice_depth(cs: ConvShape) -> int:
    taps, chans = k_slicing(cs)
    return min(taps, cs.win.taps) * chans


def parallel_split(kernel, target):
    """Split the output rows across tasks when the convolution is large enough."""
    cs = _shape_of(kernel.anchor)
    if cs.win.rows * cs.depth * cs.filters < PARALLEL_MIN_MACS or cs.win.rows < 2:
        return None
    return cs.win.rows, blocking(cs, target).mr if use_gemm(cs) else 1


def gemm_scratch_floats(cs: ConvShape, target) -> int:
    """Floats of packed B and packed A the gemm driver needs for `cs`."""
    blk = blocking(cs, target)
    kc = _slice_depth(cs)
    b_floats = _round_up(min(blk.nc, _round_up(cs.ng, blk.nr)) * kc, 16)
    a_floats = min(blk.mc, _round_up(cs.win.rows, blk.mr)) * kc
    return b_floats + a_floats


def scratch_bytes(kernel, target) -> int:
    cs = _shape_of(kernel.anchor)
    if not use_gemm(cs) or cs.win.rows == 0:
        return 0
    return gemm_scratch_floats(cs, target) * 4


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    cs = _shape_of(anchor)
    if cs.win.rows == 0 or cs.filters == 0:
        return
    x_ptr = body.buffers[anchor.inputs[0]]
    w_ptr = body.buffers[anchor.inputs[1]]
    rows = body.split or (0, cs.win.rows)     # a parallel task computes a block of rows
    if use_gemm(cs):
        _gemm(ctx, body, kernel, cs, x_ptr, w_ptr, out_ptr, scratch, rows)
    else:
        _direct(body, kernel, cs, x_ptr, w_ptr, out_ptr, rows)


# ---- gemm driver -----------------------------------------------------------------------
def _gemm(ctx, body, kernel, cs, x_ptr, w_ptr, out_ptr, scratch, row_range):
    b = body.b
    win = cs.win
    blk = blocking(cs, ctx.target)
    mk = micro_kernel(ctx.module, blk)
    taps_per, chans_per = k_slicing(cs)
    kc_max = _slice_depth(cs)
    b_floats = _round_up(min(blk.nc, _round_up(cs.ng, blk.nr)) * kc_max, 16)
    bp = scratch
    ap = element_ptr(b, scratch, float32, b_floats)
    row_begin, row_end = row_range
    with counted_loop(b, cs.groups, name="g") as g:
        w_group = element_ptr(b, w_ptr, float32, imul(b, g, cs.ng))
        col_group = imul(b, g, cs.ng)
        with counted_loop(b, cs.ng, step=blk.nc, name="jc") as jc:
            nc = imin(b, blk.nc, isub(b, cs.ng, jc))
            with counted_loop(b, win.taps, step=taps_per, name="p0") as p0:
                pw = imin(b, taps_per, isub(b, win.taps, p0))
                with counted_loop(b, cs.cin_g, step=chans_per, name="c0") as c0:
                    cw = imin(b, chans_per, isub(b, cs.cin_g, c0))
                    kc = imul(b, pw, cw)
                    _pack_b(b, blk, bp, w_group, cs.filters, 1,
                            iadd(b, imul(b, p0, cs.cin_g), c0), kc, jc, nc)
                    first = b.and_(b.icmp_signed("==", p0, i64(0)), b.icmp_signed("==", c0, i64(0)))
                    last = b.and_(b.icmp_signed("==", b.add(p0, pw), i64(win.taps)),
                                  b.icmp_signed("==", b.add(c0, cw), i64(cs.cin_g)))
                    with counted_loop(b, row_end, start=row_begin, step=blk.mc,
                                      name="ic") as ic:
                        mc = imin(b, blk.mc, isub(b, row_end, ic))
                        _pack_a(b, blk, cs, ap, x_ptr, g, ic, mc, p0, pw, c0, cw, kc)
                        col0 = iadd(b, col_group, jc)

                        def epilogue(ir_, jr, rows, cols, ic=ic, col0=col0, last=last):
                            with b.if_then(last):
                                _tile_epilogue(body, kernel, cs, out_ptr, iadd(b, ic, ir_), rows,
                                               iadd(b, col0, jr), cols)
                        c_block = element_ptr(b, out_ptr, float32,
                                              iadd(b, imul(b, ic, cs.filters), col0))
                        macro_kernel(b, mk, blk, ap, bp, kc, mc, nc, c_block, cs.filters,
                                     b.not_(first),
                                     epilogue if kernel.root is not kernel.anchor.outputs[0]
                                     else None)


def _pack_a(b, blk, cs, ap, x_ptr, g, ic, mc, p0, pw, c0, cw, kc):
    """ap[panel][k][0:MR] = im2col(x)[ic + panel*MR + i, slice k] (zero in the padding and
    beyond the last row); slice k = (tap p0 + k // cw, channel c0 + k % cw) of group g."""
    win = cs.win
    chan0 = iadd(b, imul(b, g, cs.cin_g), c0)
    with counted_loop(b, mc, step=blk.mr, name="pai") as ip:
        rows = imin(b, blk.mr, isub(b, mc, ip))
        panel = element_ptr(b, ap, float32, imul(b, ip, kc))
        with counted_loop(b, blk.mr, name="par") as i:
            inside = b.icmp_signed("<", i, rows)
            with b.if_else(inside) as (real, pad_row):
                with real:
                    out_multi = unravel(b, iadd(b, iadd(b, ic, ip), i), win.out_dims)
                    with counted_loop(b, pw, name="pat") as pp:
                        taps = unravel(b, iadd(b, p0, pp), win.kernel)
                        coords, valid = source(b, win, out_multi, taps)
                        dst = element_ptr(b, panel, float32,
                                          iadd(b, imul(b, imul(b, pp, cw), blk.mr), i))
                        with b.if_else(valid) as (copy, zero):
                            with copy:
                                src = element_ptr(b, x_ptr, float32, iadd(
                                    b, imul(b, linear_of(b, coords, win.in_dims), cs.channels),
                                    chan0))
                                with counted_loop(b, cw, name="pac") as c:
                                    store_f32(b, dst, imul(b, c, blk.mr), load_f32(b, src, c))
                            with zero:
                                with counted_loop(b, cw, name="paz") as c:
                                    store_f32(b, dst, imul(b, c, blk.mr), f32(0.0))
                with pad_row:
                    with counted_loop(b, kc, name="pak") as k:
                        store_f32(b, panel, iadd(b, imul(b, k, blk.mr), i), f32(0.0))


def _tile_epilogue(body, kernel, cs, out_ptr, row0, rows, col0, cols):
    b = body.b
    with counted_loop(b, rows, name="epr") as i:
        row = iadd(b, row0, i)
        epilogue_span(body, kernel, out_ptr, unravel(b, row, cs.win.out_dims), row, cs.filters,
                      col0, cols)


# ---- direct driver ---------------------------------------------------------------------
def _direct(body, kernel, cs, x_ptr, w_ptr, out_ptr, row_range):
    b = body.b
    win = cs.win
    depthwise = cs.cin_g == 1 and cs.ng == 1
    acc = entry_alloca(b, F32, "acc")
    with counted_loop(b, row_range[1], start=row_range[0], name="row") as row:
        out_multi = unravel(b, row, win.out_dims)
        out_row = element_ptr(b, out_ptr, float32, imul(b, row, cs.filters))
        with counted_loop(b, cs.filters, name="z") as f:
            store_f32(b, out_row, f, f32(0.0))
        with counted_loop(b, win.taps, name="tap") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            with b.if_then(valid):
                x_row = element_ptr(b, x_ptr, float32,
                                    imul(b, linear_of(b, coords, win.in_dims), cs.channels))
                w_tap = element_ptr(b, w_ptr, float32, imul(b, tap, cs.cin_g * cs.filters))
                if depthwise:
                    # groups == channels == filters: out[f] += x[f] * w[tap, 0, f]
                    with counted_loop(b, cs.filters, name="f") as f:
                        _axpy(b, out_row, f, load_f32(b, x_row, f), load_f32(b, w_tap, f))
                elif cs.ng < DOT_MAX_GROUP_OUT and cs.cin_g >= DOT_MIN_DEPTH:
                    _direct_dots(b, cs, x_row, w_tap, out_row, acc)
                else:
                    _direct_groups(b, cs, x_row, w_tap, out_row)
        epilogue_span(body, kernel, out_ptr, out_multi, row, cs.filters, 0, cs.filters)


def _direct_groups(b, cs, x_row, w_tap, out_row):
    """out[g*ng + j] += x[g*cin_g + c] * w[tap, c, g*ng + j] for every group, channel, j."""
    with counted_loop(b, cs.groups, name="dg") as g:
        with counted_loop(b, cs.cin_g, name="dc") as c:
            xv = load_f32(b, x_row, iadd(b, imul(b, g, cs.cin_g), c))
            w_row = element_ptr(b, w_tap, float32, iadd(b, imul(b, c, cs.filters),
                                                        imul(b, g, cs.ng)))
            o_row = element_ptr(b, out_row, float32, imul(b, g, cs.ng))
            with counted_loop(b, cs.ng, name="dj") as j:
                _axpy(b, o_row, j, xv, load_f32(b, w_row, j))


def _direct_dots(b, cs, x_row, w_tap, out_row, acc):
    """Few outputs per group from many input channels: one dot product over the group's
    input channels per output (a vectorized reduction), instead of short axpys."""
    with counted_loop(b, cs.groups, name="dg") as g:
        x_group = element_ptr(b, x_row, float32, imul(b, g, cs.cin_g))
        with counted_loop(b, cs.ng, name="dj") as j:
            f = iadd(b, imul(b, g, cs.ng), j)
            w_col = element_ptr(b, w_tap, float32, f)
            b.store(f32(0.0), acc)
            with counted_loop(b, cs.cin_g, name="dc") as c:
                prod = b.fmul(load_f32(b, x_group, c), load_f32(b, w_col, imul(b, c, cs.filters)),
                              flags=REASSOC)
                b.store(b.fadd(b.load(acc, typ=F32), prod, flags=REASSOC), acc)
            store_f32(b, out_row, f, b.fadd(load_f32(b, out_row, f), b.load(acc, typ=F32)))


def _axpy(b, base, offset, x, w):
    store_f32(b, base, offset, b.call(_fma(b), [x, w, load_f32(b, base, offset)]))


def _fma(b):
    module = b.module
    return module.globals.get("llvm.fma.f32") or ir.Function(
        module, ir.FunctionType(F32, [F32, F32, F32]), "llvm.fma.f32")
