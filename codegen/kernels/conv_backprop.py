"""Gradient kernels of conv (channels last): convBackpropInput and convBackpropFilter.

Both run on the conv GEMM machinery when the contraction is large enough:
  * convBackpropInput with a group of at least COL2IM_MIN_DEPTH output channels (and taps *
    C/groups at least COL2IM_MIN_WIDTH) is a GEMM and a col2im: per block of dy rows,
    dcols = dy_rows . w^T [rows, taps*C/groups] gives each row's contribution to the dx row
    under every tap, added into dx (zeroed first). Any strides, dilations and padding; a task
    owns whole images, whose dx rows only it touches;
  * otherwise, with unit strides, it is the forward convolution of dy with the filter
    flipped in space and with its channel axes swapped, padded k_eff - 1 - pad on each side;
    the flipped filter is written to scratch and conv's direct driver (or gemm) does the rest;
  * convBackpropFilter is, per group, the product im2col(x)^T [taps*C/groups, rows] @
    dy [rows, F/groups]: slices of rows are laid out as im2col rows in scratch, packed
    transposed as GEMM A panels, and the micro-kernel accumulates straight into the filter
    gradient across slices.
Otherwise (strided convolutions with few output channels per group; filter gradients of
short contractions):

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

from kiln.codegen.irutil import (F32, I1, counted_loop, element_ptr, entry_alloca, i64, iadd, imin,
                                 imul, isub)
from kiln.codegen.kernels.conv import (KC_MAX, NC_MAX, ConvShape, _axpy, _direct, _gemm,
                                      _round_up, blocking, conv_shape, gemm_scratch_floats,
                                      use_gemm)
from kiln.codegen.kernels.matmul import (PARALLEL_MIN_MACS, _pack_a, _pack_b, macro_kernel,
                                        micro_kernel)
from kiln.codegen.kernels.spatial import (epilogue_span, has_epilogue, linear_of, load_f32,
                                          source, store_f32, unravel, zero_f32)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32

REASSOC = ("reassoc", "contract")
COL2IM_MIN_DEPTH = 8        # a group's output channels: the GEMM's contraction
COL2IM_MIN_WIDTH = 32       # taps * C/groups: narrower dcols cost more to scatter than they
                            # save (W4's first conv, width 9: 1.9 ms against 0.5 ms flipped)


def input_col2im(anchor) -> ConvShape | None:
    """The forward conv (input dx, filter w, output dy) of a convBackpropInput that runs as
    GEMM + col2im: its contraction (a group's output channels) fits one packed slice and is
    long enough for a GEMM, its width (taps * C/groups) is wide enough, and one tap's channels
    fit a packed B block."""
    dy, w = anchor.inputs
    cs = conv_shape(anchor.outputs[0].shape, w.shape, dy.shape, anchor.attrs)
    if (COL2IM_MIN_DEPTH <= cs.ng <= KC_MAX and cs.depth >= COL2IM_MIN_WIDTH
            and cs.cin_g <= NC_MAX and cs.win.rows):
        return cs
    return None


def _col2im_blocking(cs: ConvShape, target):
    """The register tile for dcols, as wide as taps*C/groups allows."""
    return blocking(ConvShape(cs.win, cs.channels, cs.depth, 1), target)


def _col2im_sizes(cs: ConvShape, blk):
    """(taps per B block, its width, floats of packed B, of packed A, of the dcols block)."""
    taps = max(1, min(cs.win.taps, NC_MAX // cs.cin_g))
    width = taps * cs.cin_g
    return (taps, width, _round_up(width, blk.nr) * cs.ng, _round_up(blk.mc, blk.mr) * cs.ng,
            blk.mc * width)


def input_as_conv(anchor) -> ConvShape | None:
    """The forward conv that computes a unit-stride convBackpropInput: input dy, filter
    [k..., F/groups, C] (flipped, channel axes swapped), output dx."""
    dy, w = anchor.inputs
    attrs = anchor.attrs
    if any(s != 1 for s in attrs["strides"]):
        return None
    rank = len(attrs["strides"])
    kernel = w.shape[:rank]
    pads = []
    for k, d, (before, after) in zip(kernel, attrs["dilations"], attrs["pads"]):
        span = (k - 1) * d
        if before > span or after > span:
            return None
        pads.append((span - before, span - after))
    groups = attrs["groups"]
    x_shape = anchor.outputs[0].shape
    flipped = (*kernel, w.shape[-1] // groups, x_shape[-1])
    cs = conv_shape(dy.shape, flipped, x_shape, {"strides": attrs["strides"],
                                                  "dilations": attrs["dilations"],
                                                  "pads": tuple(pads), "groups": groups})
    return cs if cs.win.rows else None


def _flipped_floats(cs: ConvShape) -> int:
    return _round_up(cs.win.taps * cs.cin_g * cs.filters, 16)


def filter_gemm(anchor) -> ConvShape | None:
    x, dy = anchor.inputs
    cs = conv_shape(x.shape, anchor.outputs[0].shape, dy.shape, anchor.attrs)
    return cs if use_gemm(cs) and cs.win.rows else None


def _filter_slices(cs: ConvShape, blk):
    """(rows per slice, floats of the im2col slice, of packed B, of packed A)."""
    kc = min(KC_MAX // 2, cs.win.rows)
    return (kc, kc * cs.depth, _round_up(min(blk.nc, _round_up(cs.ng, blk.nr)) * kc, 16),
            min(blk.mc, _round_up(cs.depth, blk.mr)) * kc)


def scratch_bytes(kernel, target) -> int:
    anchor = kernel.anchor
    if anchor.op == "convBackpropInput":
        cs = input_col2im(anchor)
        if cs is not None:
            return sum(_col2im_sizes(cs, _col2im_blocking(cs, target))[2:]) * 4
        cs = input_as_conv(anchor)
        if cs is None:
            return 0
        return (_flipped_floats(cs) + (gemm_scratch_floats(cs, target) if use_gemm(cs) else 0)) * 4
    cs = filter_gemm(anchor)
    if cs is None:
        return 0
    _, s_floats, b_floats, a_floats = _filter_slices(cs, blocking(cs, target))
    return (_round_up(s_floats, 16) + b_floats + a_floats) * 4


def parallel_split(kernel, target):
    """A col2im convBackpropInput splits its images; a unit-stride one dx's rows like a conv;
    a GEMM filter gradient splits its filter taps (each task owns the rows of dw of its taps,
    and im2cols only those: the sum over rows stays inside one task)."""
    anchor = kernel.anchor
    if anchor.op == "convBackpropInput":
        cs = input_col2im(anchor)
        if cs is not None:
            if cs.win.rows * cs.ng * cs.depth < PARALLEL_MIN_MACS or cs.win.batch < 2:
                return None
            return cs.win.batch, 1
        cs = input_as_conv(anchor)
        if cs is None or cs.win.rows * cs.depth * cs.filters < PARALLEL_MIN_MACS:
            return None
        return cs.win.rows, blocking(cs, target).mr if use_gemm(cs) else 1
    cs = filter_gemm(anchor)
    if cs is None or cs.win.taps < 2 or cs.win.rows * cs.depth * cs.ng < PARALLEL_MIN_MACS:
        return None
    return cs.win.taps, 1


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    if anchor.op == "convBackpropInput":
        if input_col2im(anchor) is not None:
            _backprop_input_col2im(ctx, body, kernel, input_col2im(anchor), out_ptr, scratch)
        elif input_as_conv(anchor) is not None:
            _backprop_input_gemm(ctx, body, kernel, input_as_conv(anchor), out_ptr, scratch)
        else:
            _backprop_input(body, kernel, out_ptr)
    else:
        cs = filter_gemm(anchor)
        if cs is not None:
            _backprop_filter_gemm(ctx, body, anchor, cs, out_ptr, scratch)
        else:
            _backprop_filter(body, kernel, out_ptr)


def _backprop_input_col2im(ctx, body, kernel, cs, out_ptr, scratch):
    """dx = col2im(dy . w^T), group by group, B block (taps) by B block, dy row block by row
    block; this task's images only (all of them unless the kernel is split)."""
    b = body.b
    dy, w = kernel.anchor.inputs
    win, depth = cs.win, cs.ng
    blk = _col2im_blocking(cs, ctx.target)
    mk = micro_kernel(ctx.module, blk)
    taps_per_block, width, b_floats, a_floats, _ = _col2im_sizes(cs, blk)
    bp = scratch
    ap = element_ptr(b, bp, float32, b_floats)
    dcols = element_ptr(b, ap, float32, a_floats)
    first, last = body.split or (0, win.batch)
    image_in = math.prod(win.in_sizes)
    zero_f32(b, element_ptr(b, out_ptr, float32, imul(b, imul(b, first, image_in), cs.channels)),
             imul(b, imul(b, isub(b, last, first), image_in), cs.channels))
    row_end = imul(b, last, math.prod(win.out_sizes))
    with counted_loop(b, cs.groups, name="g") as g:
        w_group = element_ptr(b, body.buffers[w], float32, imul(b, g, depth))
        dy_group = element_ptr(b, body.buffers[dy], float32, imul(b, g, depth))
        dx_group = element_ptr(b, out_ptr, float32, imul(b, g, cs.cin_g))
        with counted_loop(b, win.taps, step=taps_per_block, name="t0") as t0:
            taps = imin(b, taps_per_block, isub(b, win.taps, t0))
            nc = imul(b, taps, cs.cin_g)
            # B[f, j] = w[tap t0 + j // cin_g, channel j % cin_g, output g*depth + f]
            _pack_b(b, blk, bp, w_group, 1, cs.filters, 0, depth, imul(b, t0, cs.cin_g), nc)
            with counted_loop(b, row_end, start=imul(b, first, math.prod(win.out_sizes)),
                              step=blk.mc, name="ic") as ic:
                mc = imin(b, blk.mc, isub(b, row_end, ic))
                _pack_a(b, blk, ap, dy_group, cs.filters, 1, ic, mc, 0, depth)
                macro_kernel(b, mk, blk, ap, bp, depth, mc, nc, dcols, width, ir.Constant(I1, 0))
                _col2im_rows(b, cs, dcols, width, dx_group, ic, mc, t0, taps)
    if has_epilogue(kernel):
        in_rows = (imul(b, first, image_in), imul(b, last, image_in))
        with counted_loop(b, in_rows[1], start=in_rows[0], name="ep_row") as row:
            epilogue_span(body, kernel, out_ptr, unravel(b, row, win.in_dims), row,
                          cs.channels, 0, cs.channels)


def _col2im_rows(b, cs, dcols, width, dx_group, ic, mc, t0, taps):
    """dx[row under tap t0 + t of dy row ic + r, group channels] += dcols[r, t*cin_g : ...]
    for the taps that land inside dx."""
    win = cs.win
    with counted_loop(b, mc, name="cr") as r:
        out_multi = unravel(b, iadd(b, ic, r), win.out_dims)
        dcols_row = element_ptr(b, dcols, float32, imul(b, r, width))
        with counted_loop(b, taps, name="ct") as t:
            coords, valid = source(b, win, out_multi, unravel(b, iadd(b, t0, t), win.kernel))
            with b.if_then(valid):
                dx_row = element_ptr(b, dx_group, float32,
                                     imul(b, linear_of(b, coords, win.in_dims), cs.channels))
                contribution = element_ptr(b, dcols_row, float32, imul(b, t, cs.cin_g))
                with counted_loop(b, cs.cin_g, name="cc") as c:
                    store_f32(b, dx_row, c, b.fadd(load_f32(b, dx_row, c),
                                                   load_f32(b, contribution, c)))


def _backprop_input_gemm(ctx, body, kernel, cs, out_ptr, scratch):
    """Write the flipped filter w'[taps-1-t, j, g*cin + c] = w[t, c, g*F/groups + j] to
    scratch, then run conv's gemm (or direct) driver on dy."""
    b = body.b
    dy, w = kernel.anchor.inputs
    w_ptr = body.buffers[w]
    flipped = scratch
    cin, fout = cs.ng, cs.cin_g          # the original conv's channels per group
    channels, filters = cs.filters, cs.channels
    taps = cs.win.taps
    with counted_loop(b, taps, name="ft") as t:
        src_tap = element_ptr(b, w_ptr, float32, imul(b, t, cin * filters))
        dst_tap = element_ptr(b, flipped, float32,
                              imul(b, b.sub(i64(taps - 1), t), fout * channels))
        with counted_loop(b, cs.groups, name="fg") as g:
            with counted_loop(b, cin, name="fc") as c:
                src = element_ptr(b, src_tap, float32, iadd(b, imul(b, c, filters),
                                                            imul(b, g, fout)))
                dst = element_ptr(b, dst_tap, float32, iadd(b, imul(b, g, cin), c))
                with counted_loop(b, fout, name="fj") as j:
                    store_f32(b, dst, imul(b, j, channels), load_f32(b, src, j))
    rows = body.split or (0, cs.win.rows)
    if use_gemm(cs):
        rest = element_ptr(b, scratch, float32, _flipped_floats(cs))
        _gemm(ctx, body, kernel, cs, body.buffers[dy], flipped, out_ptr, rest, rows)
    else:
        _direct(body, kernel, cs, body.buffers[dy], flipped, out_ptr, rows)


def _backprop_filter_gemm(ctx, body, anchor, cs, out_ptr, scratch):
    """dw[k, f] (+)= sum over row slices of im2col(x)[rows, k] * dy[rows, f], per group; k
    runs over the depth of this task's taps (all of them unless the kernel is split)."""
    b = body.b
    x, dy = anchor.inputs
    x_ptr, dy_ptr = body.buffers[x], body.buffers[dy]
    win = cs.win
    blk = blocking(cs, ctx.target)
    mk = micro_kernel(ctx.module, blk)
    kc, s_floats, b_floats, _ = _filter_slices(cs, blk)
    cols_ptr = scratch
    bp = element_ptr(b, scratch, float32, _round_up(s_floats, 16))
    ap = element_ptr(b, bp, float32, b_floats)
    taps = body.split or (0, win.taps)
    depth = imul(b, isub(b, taps[1], taps[0]), cs.cin_g)
    dw_ptr = element_ptr(b, out_ptr, float32, imul(b, imul(b, taps[0], cs.cin_g), cs.filters))
    with counted_loop(b, cs.groups, name="g") as g:
        chan0 = imul(b, g, cs.cin_g)
        dy_group = element_ptr(b, dy_ptr, float32, imul(b, g, cs.ng))
        with counted_loop(b, cs.ng, step=blk.nc, name="jc") as jc:
            nc = imin(b, blk.nc, isub(b, cs.ng, jc))
            with counted_loop(b, win.rows, step=kc, name="m0") as m0:
                mw = imin(b, kc, isub(b, win.rows, m0))
                first = b.icmp_signed("==", m0, i64(0))
                _im2col_rows(b, cs, cols_ptr, x_ptr, chan0, m0, mw, taps)
                _pack_b(b, blk, bp, dy_group, cs.filters, 1, m0, mw, jc, nc)
                with counted_loop(b, depth, step=blk.mc, name="ic") as ic:
                    mc = imin(b, blk.mc, isub(b, depth, ic))
                    _pack_a(b, blk, ap, cols_ptr, 1, depth, ic, mc, 0, mw)
                    col0 = iadd(b, imul(b, g, cs.ng), jc)
                    macro_kernel(b, mk, blk, ap, bp, mw, mc, nc,
                                 element_ptr(b, dw_ptr, float32,
                                             iadd(b, imul(b, ic, cs.filters), col0)),
                                 cs.filters, b.not_(first))


def _im2col_rows(b, cs, cols_ptr, x_ptr, chan0, m0, mw, taps):
    """cols[m, (tap - taps[0])*cin + c] = x at output row m0 + m's window tap, channel
    chan0 + c (0 in the padding), for the taps in [taps[0], taps[1])."""
    win = cs.win
    depth = imul(b, isub(b, taps[1], taps[0]), cs.cin_g)
    with counted_loop(b, mw, name="im") as m:
        out_multi = unravel(b, iadd(b, m0, m), win.out_dims)
        row = element_ptr(b, cols_ptr, float32, imul(b, m, depth))
        with counted_loop(b, taps[1], start=taps[0], name="it") as tap:
            coords, valid = source(b, win, out_multi, unravel(b, tap, win.kernel))
            dst = element_ptr(b, row, float32, imul(b, isub(b, tap, taps[0]), cs.cin_g))
            with b.if_else(valid) as (copy, zero):
                with copy:
                    src = element_ptr(b, x_ptr, float32, iadd(
                        b, imul(b, linear_of(b, coords, win.in_dims), cs.channels), chan0))
                    with counted_loop(b, cs.cin_g, name="ic") as c:
                        store_f32(b, dst, c, load_f32(b, src, c))
                with zero:
                    with counted_loop(b, cs.cin_g, name="iz") as c:
                        store_f32(b, dst, c, f32(0.0))


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
