"""Reduction kernels, with the operand expression inlined (prologue) and an elementwise
epilogue from the reduced value to the kernel's root.

Two loop orders:
  inner  (the last axis is reduced, or an arg-reduction): for each output element, a loop
         over the reduced axes accumulates in a register; the loop is contiguous and
         vectorizes as a horizontal reduction.
  outer  (the last axis is kept): one pass over the operand in memory order, accumulating
         into an output-shaped buffer, so the inner loop is a contiguous vector update.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from kiln.codegen.expr import Index
from kiln.codegen.irutil import I64, entry_alloca, loop_nest, product
from kiln.codegen.mathlib import f32
from kiln.codegen.scalar import compute_type, const_like
from kiln.ir.dtypes import DType

REASSOC = ("reassoc", "contract")


def identity(op: str, dtype: DType):
    if op == "sum" or op == "any":
        return const_like(dtype, 0)
    if op == "prod" or op == "all":
        return const_like(dtype, 1)
    if dtype is DType.float32:
        return f32(-math.inf if op == "max" else math.inf)
    return const_like(dtype, -2**31 if op == "max" else 2**31 - 1)


def combine(body, op: str, dtype: DType, acc, x):
    b = body.b
    is_float = dtype is DType.float32
    if op == "sum":
        return b.fadd(acc, x, flags=REASSOC) if is_float else b.add(acc, x)
    if op == "prod":
        return b.fmul(acc, x, flags=REASSOC) if is_float else b.mul(acc, x)
    if op in ("max", "min"):
        if is_float:
            return body.math.call_intrinsic(b, "maximum" if op == "max" else "minimum", acc, x)
        pred = ">" if op == "max" else "<"
        return b.select(b.icmp_signed(pred, x, acc), x, acc)
    if op == "all":
        return b.and_(acc, x)
    if op == "any":
        return b.or_(acc, x)
    raise NotImplementedError(op)


def _inner_order(kernel) -> bool:
    anchor = kernel.anchor
    rank = anchor.inputs[0].type.rank
    if anchor.op in ("argMax", "argMin") or rank == 0:
        return True
    return (rank - 1) in _axes(anchor)


def _axes(anchor):
    return anchor.attrs["axes"] if "axes" in anchor.attrs else (anchor.attrs["axis"],)


def scratch_bytes(kernel, target) -> int:
    """The outer order accumulates in scratch when the root is not the reduction itself."""
    if _inner_order(kernel) or kernel.root is kernel.anchor.outputs[0]:
        return 0
    out = kernel.anchor.outputs[0].type
    return out.size * out.dtype.itemsize


def _full_index(body, x_shape, axes, kept_multi, red_multi):
    kept = iter(kept_multi)
    red = iter(red_multi)
    return Index(body.b, x_shape, multi=[next(red) if k in axes else next(kept)
                                          for k in range(len(x_shape))])


def _out_index(body, anchor, out_shape, kept_multi):
    """Index of the reduction's result from the kept-axis indices (keepDims inserts zeros)."""
    if anchor.attrs.get("keepDims"):
        axes = _axes(anchor)
        kept = iter(kept_multi)
        multi = [0 if k in axes else next(kept) for k in range(len(out_shape))]
        return Index(body.b, out_shape, multi=multi)
    return Index(body.b, out_shape, multi=list(kept_multi))


def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    (x,) = anchor.inputs
    x_shape = body.shape_of(x)
    axes = _axes(anchor)
    kept_dims = [d for k, d in enumerate(x_shape) if k not in axes]
    red_dims = [d for k, d in enumerate(x_shape) if k in axes]
    out_shape = body.shape_of(anchor.outputs[0])
    if any(isinstance(d, int) and d == 0 for d in kept_dims):
        return      # an empty result: nothing to write (and no scratch was reserved)
    if anchor.op in ("argMax", "argMin"):
        _emit_arg(body, kernel, out_ptr, x, x_shape, axes, kept_dims, red_dims, out_shape)
    elif _inner_order(kernel):
        _emit_inner(body, kernel, out_ptr, x, x_shape, axes, kept_dims, red_dims, out_shape)
    else:
        _emit_outer(body, kernel, out_ptr, scratch, x, x_shape, axes, kept_dims, out_shape)


def _store_root(body, kernel, out_ptr, out_index, result):
    anchor_value = kernel.anchor.outputs[0]
    body.overrides[anchor_value] = lambda index: result
    root = kernel.root
    body.store(out_ptr, root.dtype, out_index.linear, body.value(root, out_index))
    del body.overrides[anchor_value]


def _emit_inner(body, kernel, out_ptr, x, x_shape, axes, kept_dims, red_dims, out_shape):
    b = body.b
    op, dtype = kernel.anchor.op, x.dtype
    ctype = compute_type(dtype)
    acc = entry_alloca(b, ctype, "acc")
    with loop_nest(b, kept_dims, "o") as kept_multi:
        b.store(identity(op, dtype), acc)
        with loop_nest(b, red_dims, "r") as red_multi:
            v = body.value(x, _full_index(body, x_shape, axes, kept_multi, red_multi))
            b.store(combine(body, op, dtype, b.load(acc, typ=ctype), v), acc)
        result = b.load(acc, typ=ctype)
        _store_root(body, kernel, out_ptr, _out_index(body, kernel.anchor, out_shape, kept_multi), result)


def _emit_outer(body, kernel, out_ptr, scratch, x, x_shape, axes, kept_dims, out_shape):
    b = body.b
    anchor = kernel.anchor
    op, dtype = anchor.op, x.dtype
    direct = kernel.root is anchor.outputs[0]
    acc_ptr = out_ptr if direct else scratch
    kept_shape = kept_dims
    with loop_nest(b, [product(b, kept_dims)], "z") as (i,):
        body.store(acc_ptr, dtype, i, identity(op, dtype))
    with loop_nest(b, x_shape, "a") as multi:
        kept_multi = [m for k, m in enumerate(multi) if k not in axes]
        offset = Index(b, kept_shape, multi=kept_multi).linear
        v = body.value(x, Index(b, x_shape, multi=multi))
        old = body.load_at(acc_ptr, dtype, offset)
        body.store(acc_ptr, dtype, offset, combine(body, op, dtype, old, v))
    if direct:
        return
    with loop_nest(b, kept_dims, "e") as kept_multi:
        offset = Index(b, kept_shape, multi=kept_multi).linear
        result = body.load_at(acc_ptr, dtype, offset)
        _store_root(body, kernel, out_ptr, _out_index(body, anchor, out_shape, kept_multi), result)


def _emit_arg(body, kernel, out_ptr, x, x_shape, axes, kept_dims, red_dims, out_shape):
    """argMax / argMin: the first extreme element; a NaN counts as the extreme (as numpy)."""
    b = body.b
    anchor = kernel.anchor
    is_max = anchor.op == "argMax"
    ctype = compute_type(x.dtype)
    best = entry_alloca(b, ctype, "best")
    best_i = entry_alloca(b, I64, "best_i")
    with loop_nest(b, kept_dims, "o") as kept_multi:
        first = body.value(x, _full_index(body, x_shape, axes, kept_multi, [0]))
        b.store(first, best)
        b.store(ir.Constant(I64, 0), best_i)
        with loop_nest(b, red_dims, "r") as (r,):
            v = body.value(x, _full_index(body, x_shape, axes, kept_multi, [r]))
            cur = b.load(best, typ=ctype)
            if x.dtype is DType.float32:
                better = b.fcmp_ordered(">" if is_max else "<", v, cur)
                nan_first = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", cur, cur))
                better = b.or_(better, nan_first)
            else:
                better = b.icmp_signed(">" if is_max else "<", v, cur)
            b.store(b.select(better, v, cur), best)
            b.store(b.select(better, r, b.load(best_i, typ=I64)), best_i)
        result = b.trunc(b.load(best_i, typ=I64), ir.IntType(32))
        _store_root(body, kernel, out_ptr, _out_index(body, anchor, out_shape, kept_multi), result)
