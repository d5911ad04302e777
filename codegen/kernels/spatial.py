"""Shared pieces of the sliding-window kernels (conv, pool, resize), channels last.

Every such kernel treats its output as rows of channels: row r of [N, out..., C] is the
multi-index (n, o...) and holds C contiguous values. The helpers here map rows to window
positions in the input and run a kernel's elementwise epilogue over part of a row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import llvmlite.ir as ir

from kiln.codegen.expr import Index
from kiln.codegen.irutil import F32, I1, counted_loop, element_ptr, iadd, imul, isub, loop_nest
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32


@dataclass(frozen=True)
class Window:
    """The geometry of a window op over a channels-last input."""

    batch: int
    in_sizes: tuple[int, ...]       # spatial input sizes
    out_sizes: tuple[int, ...]      # spatial output sizes
    kernel: tuple[int, ...]         # window sizes
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]           # padding before, per spatial axis

    @property
    def rows(self) -> int:
        """Output rows: batch * product of output sizes."""
        return self.batch * math.prod(self.out_sizes)

    @property
    def taps(self) -> int:
        """Window positions: product of the kernel sizes."""
        return math.prod(self.kernel)

    @property
    def out_dims(self) -> list[int]:
        return [self.batch, *self.out_sizes]

    @property
    def in_dims(self) -> list[int]:
        return [self.batch, *self.in_sizes]


def unravel(b, linear, dims):
    """Multi-index of `linear` in `dims` (division by constants; unused parts fold away)."""
    return Index(b, list(dims), linear=linear).multi


def source(b, win: Window, out_multi, tap_multi):
    """Input position (n, i...) read by output row (n, o...) at window tap (k...), and an i1
    that is true when it lies inside the input (not in the padding)."""
    n, outs = out_multi[0], out_multi[1:]
    coords, valid = [n], ir.Constant(I1, 1)
    for o, k, s, d, p, size in zip(outs, tap_multi, win.strides, win.dilations, win.pads,
                                   win.in_sizes):
        c = isub(b, iadd(b, imul(b, o, s), imul(b, k, d)), p)
        coords.append(c)
        if isinstance(c, int):
            if not 0 <= c < size:
                valid = ir.Constant(I1, 0)
            continue
        inside = b.and_(b.icmp_signed(">=", c, ir.Constant(c.type, 0)),
                        b.icmp_signed("<", c, ir.Constant(c.type, size)))
        valid = b.and_(valid, inside)
    return coords, valid


def linear_of(b, multi, dims):
    offset = 0
    for i, d in zip(multi, dims):
        offset = iadd(b, imul(b, offset, d), i)
    return offset


def load_f32(b, base, offset):
    return b.load(element_ptr(b, base, float32, offset), typ=F32, align=4)


def store_f32(b, base, offset, value):
    b.store(value, element_ptr(b, base, float32, offset), align=4)


def zero_f32(b, base, count):
    """base[0:count] = 0.0 (count a Python int or an i64 value)."""
    with counted_loop(b, count, name="zero") as i:
        store_f32(b, base, i, f32(0.0))


def has_epilogue(kernel) -> bool:
    return kernel.root is not kernel.anchor.outputs[0]


def epilogue_span(body, kernel, out_ptr, row_multi, row, channels: int, col0, count):
    """out[row, col0 : col0+count] = epilogue(out[row, ...]) in place, for a kernel whose root is
    an elementwise function of its anchor (fusion guarantees the shape and dtype match)."""
    if not has_epilogue(kernel):
        return
    b = body.b
    anchor_value = kernel.anchor.outputs[0]
    shape = list(anchor_value.shape)
    body.overrides[anchor_value] = lambda idx: load_f32(b, out_ptr, idx.linear)
    with loop_nest(b, [count], "ep") as (j,):
        col = iadd(b, col0, j)
        linear = iadd(b, imul(b, row, channels), col)
        index = Index(b, shape, multi=list(row_multi) + [col], linear=linear)
        body.store(out_ptr, kernel.root.dtype, linear, body.value(kernel.root, index))
    del body.overrides[anchor_value]
