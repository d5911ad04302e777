"""MatMul kernels: a register-blocked GEMM generated for the target's vector width.

The core is a micro-kernel that keeps an MR x NR tile of C in vector registers
(NR = NRV vectors) and, for each k, broadcasts MR elements of A against NRV vectors of B with
fused multiply-adds. Two drivers feed it:

  packed  (the general case) BLIS-style blocking: for each NC-wide column block and KC-deep
          slice, B is packed into NR-wide panels and A into MR-tall panels (zero-padded at
          the edges), so the micro-kernel streams contiguous, cache-resident memory.
  direct  (up to DIRECT_MAX_ROWS rows, B not transposed): A is read in place, B's full
          panels are read in place row by row, only B's ragged last panel is packed.

After a tile's last K slice, the kernel's elementwise epilogue (bias, activation, residual
add) is applied to that tile while it is still in cache.
"""
from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from kiln.codegen.expr import Index
from kiln.codegen.irutil import (F32, I1, I64, PTR, VOID, counted_loop, element_ptr,
                                 entry_alloca, i64, iadd, imin, imul, isub, linearize, loop_nest)
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import float32
from kiln.ir.ops.linalg import matmul_dims

DIRECT_MAX_ROWS = 256     # measured: reading B in place beats packing up to here (any K, N)


@dataclass(frozen=True)
class Blocking:
    mr: int       # rows of the register tile
    nrv: int      # vectors per row of the register tile
    lanes: int    # floats per vector
    kc: int       # depth of a packed slice
    mc: int       # rows of a packed A block
    nc: int       # columns of a packed B block

    @property
    def nr(self) -> int:
        return self.nrv * self.lanes


def _shape(anchor):
    a, b = (v.type for v in anchor.inputs)
    batch, m, k, n = matmul_dims(a, b, anchor.attrs["transposeA"], anchor.attrs["transposeB"])
    return batch, m, k, n


def _direct(anchor) -> bool:
    _, m, _, _ = _shape(anchor)
    return m <= DIRECT_MAX_ROWS and not anchor.attrs["transposeB"]


def blocking(anchor, target) -> Blocking:
    lanes = target.float_lanes
    _, m, _, n = _shape(anchor)
    if lanes >= 16:
        mr, nrv = 6, 4
    elif lanes == 8:
        mr, nrv = 6, 2
    else:
        mr, nrv = 4, 2
    if _direct(anchor):
        mr = min(m, mr) or 1
        if mr <= 2:
            nrv *= 2     # more independent accumulator chains when there are few rows
    nrv = min(nrv, max(1, -(-n // lanes)))   # no wider than C: a narrow B is packed whole
    mc = max(mr, (96 // mr) * mr)
    return Blocking(mr=mr, nrv=nrv, lanes=lanes, kc=256, mc=mc, nc=4096 // (nrv * lanes) * nrv * lanes)


def _round_up(x, m):
    return -(-x // m) * m


def _packed_sizes(anchor, blk: Blocking):
    """(floats for packed B, floats for packed A) in the packed driver."""
    _, m, k, n = _shape(anchor)
    kc = min(blk.kc, k)
    b_floats = min(blk.nc, _round_up(n, blk.nr)) * kc
    a_floats = min(blk.mc, _round_up(m, blk.mr)) * kc
    return _round_up(b_floats, 16), a_floats


PARALLEL_MIN_MACS = 1 << 17      # below ~128k multiply-adds a second thread costs more than it saves


def parallel_split(kernel, target):
    """Split the columns of C across tasks when the product is large enough."""
    batch, m, k, n = _shape(kernel.anchor)
    blk = blocking(kernel.anchor, target)
    batches = 1
    for d in batch:
        batches *= d
    if batches * m * k * n < PARALLEL_MIN_MACS or n < 2 * blk.nr:
        return None
    return n, blk.nr


def scratch_bytes(kernel, target) -> int:
    anchor = kernel.anchor
    _, m, k, n = _shape(anchor)
    if k == 0 or m == 0 or n == 0:
        return 0
    blk = blocking(anchor, target)
    if _direct(anchor):
        return k * blk.nr * 4 if n % blk.nr else 0
    b_floats, a_floats = _packed_sizes(anchor, blk)
    return (b_floats + a_floats) * 4


# ---- the micro-kernel ------------------------------------------------------------------
def micro_kernel(module: ir.Module, blk: Blocking) -> ir.Function:
    """mk(kc, A, rsa, csa, B, ldb, C, ldc, rows, cols, accumulate):
    C[i, j] (+)= sum_k A[i*rsa + k*csa] * B[k*ldb + j] for i < rows, j < cols."""
    name = f"kiln.gemm_mk_{blk.mr}x{blk.nrv}x{blk.lanes}"
    if name in module.globals:
        return module.globals[name]
    vec = ir.VectorType(F32, blk.lanes)
    fnty = ir.FunctionType(VOID, [I64, PTR, I64, I64, PTR, I64, PTR, I64, I64, I64, I1])
    fn = ir.Function(module, fnty, name)
    fn.linkage = "internal"
    kc, a, rsa, csa, bp, ldb, c, ldc, rows, cols, accumulate = fn.args
    for p in (a, bp, c):
        p.add_attribute("noalias")
    # fmuladd: one fused instruction where the target has FMA, a multiply and an add where it
    # has not (llvm.fma would call libm's fmaf per lane there)
    fma = module.globals.get(f"llvm.fmuladd.v{blk.lanes}f32") or ir.Function(
        module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fmuladd.v{blk.lanes}f32")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    zero = ir.Constant(vec, [0.0] * blk.lanes)
    accs = [[entry_alloca(b, vec, f"c{i}_{j}") for j in range(blk.nrv)] for i in range(blk.mr)]
    for row in accs:
        for slot in row:
            b.store(zero, slot)
    splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), blk.lanes), [0] * blk.lanes)
    with counted_loop(b, kc, name="k", unroll=False) as k:    # unrolled by hand across MR x NRV
        brow = b.mul(k, ldb)
        bvecs = [b.load(b.gep(bp, [b.add(brow, i64(j * blk.lanes))], source_etype=F32),
                        typ=vec, align=4) for j in range(blk.nrv)]
        acol = b.mul(k, csa)
        for i in range(blk.mr):
            a_ptr = b.gep(a, [b.add(acol, b.mul(i64(i), rsa))], source_etype=F32)
            scalar = b.load(a_ptr, typ=F32, align=4)
            splat = b.shuffle_vector(b.insert_element(ir.Constant(vec, ir.Undefined), scalar,
                                                      ir.Constant(ir.IntType(32), 0)),
                                     ir.Constant(vec, ir.Undefined), splat_mask)
            for j in range(blk.nrv):
                b.store(b.call(fma, [splat, bvecs[j], b.load(accs[i][j], typ=vec)]), accs[i][j])
    full = b.and_(b.icmp_signed("==", rows, i64(blk.mr)), b.icmp_signed("==", cols, i64(blk.nr)))
    with b.if_else(full) as (whole, edge):
        with whole:
            for i in range(blk.mr):
                for j in range(blk.nrv):
                    ptr = b.gep(c, [b.add(b.mul(i64(i), ldc), i64(j * blk.lanes))], source_etype=F32)
                    value = b.load(accs[i][j], typ=vec)
                    old = b.load(ptr, typ=vec, align=4)
                    b.store(b.select(accumulate, b.fadd(old, value), value), ptr, align=4)
        with edge:
            tile = entry_alloca(b, ir.ArrayType(F32, blk.mr * blk.nr), "tile")
            for i in range(blk.mr):
                for j in range(blk.nrv):
                    ptr = b.gep(tile, [i64(i * blk.nr + j * blk.lanes)], source_etype=F32)
                    b.store(b.load(accs[i][j], typ=vec), ptr, align=4)
            with loop_nest(b, [rows, cols], "t") as (i, j):
                src = b.gep(tile, [b.add(b.mul(i, i64(blk.nr)), j)], source_etype=F32)
                dst = b.gep(c, [b.add(b.mul(i, ldc), j)], source_etype=F32)
                value = b.load(src, typ=F32)
                old = b.load(dst, typ=F32)
                b.store(b.select(accumulate, b.fadd(old, value), value), dst)
    b.ret_void()
    return fn


# ---- drivers ---------------------------------------------------------------------------
def emit(ctx, kernel, body, out_ptr, scratch):
    anchor = kernel.anchor
    b = body.b
    a_val, b_val = anchor.inputs
    ta, tb = anchor.attrs["transposeA"], anchor.attrs["transposeB"]
    batch, m, k, n = _shape(anchor)
    out_shape = list(batch) + [m, n]
    if m == 0 or n == 0:
        return
    if k == 0:
        with loop_nest(b, out_shape, "z") as multi:
            _epilogue_element(body, kernel, out_ptr, out_shape, multi, zero_anchor=True)
        return
    blk = blocking(anchor, ctx.target)
    mk = micro_kernel(ctx.module, blk)
    a_batch, b_batch = a_val.shape[:-2], b_val.shape[:-2]
    with loop_nest(b, batch, "bt") as bmulti:
        a_off = imul(b, _batch_offset(b, bmulti, batch, a_batch), m * k)
        b_off = imul(b, _batch_offset(b, bmulti, batch, b_batch), k * n)
        c_off = imul(b, linearize(b, bmulti, batch), m * n)
        a_ptr = element_ptr(b, body.buffers[a_val], float32, a_off)
        b_ptr = element_ptr(b, body.buffers[b_val], float32, b_off)
        c_ptr = element_ptr(b, out_ptr, float32, c_off)
        # element (i, k) of A is at i*rsa + k*csa; element (k, j) of B at k*rsb + j*csb
        rsa, csa = (1, m) if ta else (k, 1)
        rsb, csb = (1, k) if tb else (n, 1)
        tile = _TileEpilogue(body, kernel, out_ptr, out_shape, bmulti, c_ptr, n)
        cols = body.split or (0, n)       # a parallel task computes a block of columns
        if _direct(anchor):
            _direct_driver(b, mk, blk, m, k, n, a_ptr, rsa, csa, b_ptr, rsb, c_ptr, scratch, tile,
                           cols)
        else:
            _packed_driver(b, mk, blk, m, k, n, a_ptr, rsa, csa, b_ptr, rsb, csb, c_ptr,
                           scratch, anchor, tile, cols)


def _batch_offset(b, out_multi, out_batch, operand_batch):
    """Linear batch position of an operand whose batch dims broadcast to the output's."""
    offset = len(out_batch) - len(operand_batch)
    multi = [0 if d == 1 else out_multi[offset + i] for i, d in enumerate(operand_batch)]
    return linearize(b, multi, operand_batch)


def _call_mk(b, mk, kc, a, rsa, csa, bp, ldb, c, ldc, rows, cols, accumulate):
    args = [i64(kc), a, i64(rsa), i64(csa), bp, i64(ldb), c, i64(ldc), i64(rows), i64(cols),
            accumulate]
    b.call(mk, args)


def _direct_driver(b, mk, blk, m, k, n, a_ptr, rsa, csa, b_ptr, rsb, c_ptr, scratch, tile,
                   cols):
    n_full = n // blk.nr * blk.nr
    tail = n - n_full
    begin, end = cols
    full_end = imin(b, end, n_full)
    has_tail = b.icmp_signed("==", i64(end), i64(n)) if tail else None
    if tail:
        # Pack B's ragged last panel, zero-padded to NR columns.
        with counted_loop(b, k, name="pk") as kk:
            for_src = element_ptr(b, b_ptr, float32, iadd(b, imul(b, kk, rsb), n_full))
            dst_row = element_ptr(b, scratch, float32, imul(b, kk, blk.nr))
            with counted_loop(b, blk.nr, name="pj") as j:
                in_range = b.icmp_signed("<", j, i64(tail))
                j_safe = b.select(in_range, j, i64(0))
                v = b.load(element_ptr(b, for_src, float32, j_safe), typ=F32, align=4)
                b.store(b.select(in_range, v, f32(0.0)), element_ptr(b, dst_row, float32, j), align=4)
    no = ir.Constant(I1, 0)
    with counted_loop(b, m, step=blk.mr, name="ir") as i0:
        rows = imin(b, blk.mr, isub(b, m, i0))
        a_tile = element_ptr(b, a_ptr, float32, imul(b, i0, rsa))
        if n_full:
            with counted_loop(b, full_end, start=begin, step=blk.nr, name="jr") as j0:
                _call_mk(b, mk, k, a_tile, rsa, csa, element_ptr(b, b_ptr, float32, j0), rsb,
                         element_ptr(b, c_ptr, float32, iadd(b, imul(b, i0, n), j0)), n,
                         rows, blk.nr, no)
                tile.apply(i0, j0, rows, blk.nr)
        if tail:
            with b.if_then(has_tail):
                _call_mk(b, mk, k, a_tile, rsa, csa, scratch, blk.nr,
                         element_ptr(b, c_ptr, float32, iadd(b, imul(b, i0, n), n_full)), n,
                         rows, tail, no)
                tile.apply(i0, n_full, rows, tail)


def macro_kernel(b, mk, blk, ap, bp, kc, mc, nc, c_ptr, ldc, accumulate, after_tile=None):
    """C[i, j] (+)= sum over k < kc of A[i, k] * B[k, j] for an mc x nc block, tile by tile,
    from packed panels (ap: MR-tall, bp: NR-wide); row i of C starts at c_ptr + i*ldc.
    after_tile(ir, jr, rows, cols) runs after each tile (an epilogue while it is in cache)."""
    with counted_loop(b, nc, step=blk.nr, name="jr") as jr:
        cols = imin(b, blk.nr, isub(b, nc, jr))
        with counted_loop(b, mc, step=blk.mr, name="ir") as ir_:
            rows = imin(b, blk.mr, isub(b, mc, ir_))
            _call_mk(b, mk, kc, element_ptr(b, ap, float32, imul(b, ir_, kc)), 1, blk.mr,
                     element_ptr(b, bp, float32, imul(b, jr, kc)), blk.nr,
                     element_ptr(b, c_ptr, float32, iadd(b, imul(b, ir_, ldc), jr)), ldc,
                     rows, cols, accumulate)
            if after_tile is not None:
                after_tile(ir_, jr, rows, cols)


def _packed_driver(b, mk, blk, m, k, n, a_ptr, rsa, csa, b_ptr, rsb, csb, c_ptr, scratch,
                   anchor, tile, cols):
    b_floats, _ = _packed_sizes(anchor, blk)
    bp = scratch
    ap = element_ptr(b, scratch, float32, b_floats)
    begin, end = cols
    with counted_loop(b, end, start=begin, step=blk.nc, name="jc") as jc:
        nc = imin(b, blk.nc, isub(b, end, jc))
        with counted_loop(b, k, step=blk.kc, name="pc") as pc:
            kc = imin(b, blk.kc, isub(b, k, pc))
            _pack_b(b, blk, bp, b_ptr, rsb, csb, pc, kc, jc, nc)
            first = b.icmp_signed("==", pc, i64(0))
            last = b.icmp_signed("==", b.add(pc, kc), i64(k))
            with counted_loop(b, m, step=blk.mc, name="ic") as ic:
                mc = imin(b, blk.mc, isub(b, m, ic))
                _pack_a(b, blk, ap, a_ptr, rsa, csa, ic, mc, pc, kc)

                def epilogue(ir_, jr, rows, cols, ic=ic):
                    with b.if_then(last):
                        tile.apply(iadd(b, ic, ir_), iadd(b, jc, jr), rows, cols)
                macro_kernel(b, mk, blk, ap, bp, kc, mc, nc,
                             element_ptr(b, c_ptr, float32, iadd(b, imul(b, ic, n), jc)), n,
                             b.not_(first), epilogue if tile.needed else None)


def _pack_b(b, blk, bp, src, rsb, csb, pc, kc, jc, nc):
    """bp[panel][k][0:NR] = B[pc + k, jc + panel*NR + j], zero beyond column nc."""
    with counted_loop(b, nc, step=blk.nr, name="pbj") as jp:
        cols = imin(b, blk.nr, isub(b, nc, jp))
        panel = element_ptr(b, bp, float32, imul(b, jp, kc))
        with counted_loop(b, kc, name="pbk") as kk:
            row_src = iadd(b, imul(b, iadd(b, pc, kk), rsb), imul(b, iadd(b, jc, jp), csb))
            dst = element_ptr(b, panel, float32, imul(b, kk, blk.nr))
            with counted_loop(b, cols, name="pbc") as j:
                v = b.load(element_ptr(b, src, float32, iadd(b, row_src, imul(b, j, csb))),
                           typ=F32, align=4)
                b.store(v, element_ptr(b, dst, float32, j), align=4)
            with counted_loop(b, blk.nr, start=cols, name="pbz") as j:
                b.store(f32(0.0), element_ptr(b, dst, float32, j), align=4)


def _pack_a(b, blk, ap, src, rsa, csa, ic, mc, pc, kc):
    """ap[panel][k][0:MR] = A[ic + panel*MR + i, pc + k], zero beyond row mc."""
    with counted_loop(b, mc, step=blk.mr, name="pai") as ip:
        rows = imin(b, blk.mr, isub(b, mc, ip))
        panel = element_ptr(b, ap, float32, imul(b, ip, kc))
        with counted_loop(b, kc, name="pak") as kk:
            dst = element_ptr(b, panel, float32, imul(b, kk, blk.mr))
            col_src = imul(b, iadd(b, pc, kk), csa)
            with counted_loop(b, rows, name="par") as i:
                v = b.load(element_ptr(b, src, float32,
                                       iadd(b, col_src, imul(b, iadd(b, iadd(b, ic, ip), i), rsa))),
                           typ=F32, align=4)
                b.store(v, element_ptr(b, dst, float32, i), align=4)
            with counted_loop(b, blk.mr, start=rows, name="paz") as i:
                b.store(f32(0.0), element_ptr(b, dst, float32, i), align=4)


class _TileEpilogue:
    """Applies the kernel's elementwise epilogue to one finished tile of C, in place."""

    def __init__(self, body, kernel, out_ptr, out_shape, bmulti, c_ptr, n):
        self.body, self.kernel, self.out_ptr = body, kernel, out_ptr
        self.out_shape, self.bmulti, self.c_ptr, self.n = out_shape, bmulti, c_ptr, n
        self.needed = kernel.root is not kernel.anchor.outputs[0]

    def apply(self, row0, col0, rows, cols):
        if not self.needed:
            return
        b = self.body.b
        with loop_nest(b, [rows, cols], "ep") as (i, j):
            multi = list(self.bmulti) + [iadd(b, row0, i), iadd(b, col0, j)]
            _epilogue_element(self.body, self.kernel, self.out_ptr, self.out_shape, multi)


def _epilogue_element(body, kernel, out_ptr, out_shape, multi, zero_anchor=False):
    anchor_value = kernel.anchor.outputs[0]
    index = Index(body.b, out_shape, multi=multi)
    if zero_anchor:
        body.overrides[anchor_value] = lambda idx: f32(0.0)
    else:
        body.overrides[anchor_value] = lambda idx: body.load_at(out_ptr, float32, idx.linear)
    body.store(out_ptr, kernel.root.dtype, index.linear, body.value(kernel.root, index))
    del body.overrides[anchor_value]
