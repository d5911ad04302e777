"""Loop kernels: a whole `loop` op in one native loop over time.

The body's plan (kernel.subplan, fused and memory-planned like any graph) is lowered into the
same module as an internal function with kiln_main's ABI. The kernel calls it once per step
with a pointer array it rewrites each step:

    inputs   carry-in  = the initial carry at step 0, else the buffer the previous step wrote
             slice     = sequence + t * slice bytes
             invariant = the operand itself
    outputs  carry-out = the final-carry result at the last step, else a ping-pong buffer
             per-step  = stacked result + t * step bytes
    arena    the body's arena

with t = i, or steps-1-i for a reverse loop. A row-split loop (passes.loop_rows) runs as one
task per thread, each over its block of batch rows with its own scratch: every batched buffer
pointer is moved to the task's first row and the subplan is the body for that many rows. Carries live in two ping-pong buffers in the
kernel's scratch (so a step never reads what it is writing), followed by the body's arena;
the memory planner reserves that scratch like any kernel's. No carry is ever copied: the
first step reads the initial values in place and the last writes the results in place.
"""
from __future__ import annotations

import dataclasses

import llvmlite.ir as ir

from kiln.codegen.irutil import I1, I32, I64, I8, PTR, counted_loop, entry_alloca, i64
from kiln.ir.ops.control import loop_parts

ALIGN = 64


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _carry_offsets(kernel):
    """Byte offset of each carry within one ping-pong half, and the half's size (for the
    rows one task runs: the subplan's carries)."""
    nc = kernel.anchor.attrs["carries"]
    offsets, size = [], 0
    for v in kernel.subplan.graph.inputs[:nc]:
        offsets.append(size)
        size += _aligned(v.type.nbytes)
    return offsets, size


def scratch_bytes(kernel, target) -> int:
    """Per task (codegen.scratch_bytes reserves one share per task of a split kernel)."""
    _, half = _carry_offsets(kernel)
    return 2 * half + kernel.subplan.arena_bytes


def parallel_split(kernel, target):
    """A row-split loop (see passes.loop_rows): one task per block of batch rows."""
    if kernel.row_tasks <= 1:
        return None
    batch = kernel.anchor.inputs[0].shape[0]
    return batch, batch // kernel.row_tasks


def emit(ctx, kernel, body, out_ptr, scratch):
    from kiln.codegen.lower import lower_nested    # lower imports the kernel templates

    node = kernel.anchor
    attrs = node.attrs
    steps, reverse = attrs["steps"], attrs["reverse"]
    carries, sequences, invariants = loop_parts(node)
    nc, ns = len(carries), len(sequences)
    results = kernel.writes
    finals, stacked = results[:nc], results[nc:]
    b = body.b
    result_ptr = [out_ptr] + [body.buffers[v] for v in results[1:]]
    operand_ptr = [body.buffers[v] for v in node.inputs]

    if steps == 0:
        for k in range(nc):
            _memcpy(ctx, b, result_ptr[k], operand_ptr[k], carries[k].type.nbytes)
        return

    split = body.split is not None
    first_row = body.split[0] if split else i64(0)
    if split:
        # this task's rows: carries, final carries and row-data invariants start
        # `first_row` rows in (sequences and stacked outputs: see _step_pointer)
        batch = carries[0].shape[0]

        def rows_in(ptr, value):
            return b.gep(ptr, [b.mul(first_row, i64(value.type.nbytes // batch))],
                         source_etype=I8)
        for k in range(nc):
            operand_ptr[k] = rows_in(operand_ptr[k], carries[k])
            result_ptr[k] = rows_in(result_ptr[k], finals[k])
        for k in kernel.row_invariants:
            operand_ptr[nc + ns + k] = rows_in(operand_ptr[nc + ns + k], invariants[k])
    inner_ctx = dataclasses.replace(ctx, threads=1) if split else ctx   # tasks don't nest
    entry = lower_nested(inner_ctx, kernel.subplan, f"{kernel.name}.")
    offsets, half = _carry_offsets(kernel)
    null = ir.Constant(PTR, None)
    arena = b.gep(scratch, [i64(2 * half)], source_etype=I8) if scratch is not None else null

    n_slots = len(node.inputs) + len(results) + 1
    slots = entry_alloca(b, ir.ArrayType(PTR, n_slots), f"{kernel.name}.slots")

    def put(k, value):
        b.store(value, b.gep(slots, [i64(k)], source_etype=PTR))

    # body buffers: inputs [carries, slices, invariants], outputs [carries, per-step], arena
    first_output = len(node.inputs)
    for k in range(nc + ns, len(node.inputs)):
        put(k, operand_ptr[k])
    put(n_slots - 1, arena)

    with counted_loop(b, steps, name=f"{kernel.name}.step") as i:
        t = b.sub(i64(steps - 1), i) if reverse else i
        is_first = b.icmp_signed("==", i, i64(0))
        is_last = b.icmp_signed("==", i, i64(steps - 1))
        odd = b.trunc(b.and_(i, i64(1)), I1)
        for k in range(nc):
            even_buf = b.gep(scratch, [i64(offsets[k])], source_etype=I8)
            odd_buf = b.gep(scratch, [i64(half + offsets[k])], source_etype=I8)
            previous = b.select(odd, even_buf, odd_buf)
            current = b.select(odd, odd_buf, even_buf)
            put(k, b.select(is_first, operand_ptr[k], previous))
            put(first_output + k, b.select(is_last, result_ptr[k], current))
        for k, seq in enumerate(sequences):
            put(nc + k, _step_pointer(b, operand_ptr[nc + k], seq, t, steps, first_row, split))
        for k, out in enumerate(stacked):
            put(first_output + nc + k,
                _step_pointer(b, result_ptr[nc + k], out, t, steps, first_row, split))
        b.call(entry, [slots, null, ir.Constant(I32, ctx.threads)])   # as many as outside


def _step_pointer(b, base, value, t, steps, first_row, split):
    """Step t of a time-major [steps, batch, ...] buffer (this task's rows when split)."""
    step_bytes = value.type.nbytes // steps
    offset = b.mul(t, i64(step_bytes))
    if split:
        row_bytes = step_bytes // value.shape[1]
        offset = b.add(offset, b.mul(first_row, i64(row_bytes)))
    return b.gep(base, [offset], source_etype=I8)


def _memcpy(ctx, b, dst, src, nbytes: int):
    if nbytes == 0:
        return
    name = "llvm.memcpy.p0.p0.i64"
    fn = ctx.module.globals.get(name) or ir.Function(
        ctx.module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I1]), name)
    b.call(fn, [dst, src, i64(nbytes), ir.Constant(I1, 0)])
