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

with t = i, or steps-1-i for a reverse loop. Carries live in two ping-pong buffers in the
kernel's scratch (so a step never reads what it is writing), followed by the body's arena;
the memory planner reserves that scratch like any kernel's. No carry is ever copied: the
first step reads the initial values in place and the last writes the results in place.
"""
from __future__ import annotations

import llvmlite.ir as ir

from kiln.codegen.irutil import I1, I32, I64, I8, PTR, counted_loop, entry_alloca, i64
from kiln.ir.ops.control import loop_parts

ALIGN = 64


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _carry_offsets(kernel):
    """Byte offset of each carry within one ping-pong half, and the half's size."""
    carries, _, _ = loop_parts(kernel.anchor)
    offsets, size = [], 0
    for v in carries:
        offsets.append(size)
        size += _aligned(v.type.nbytes)
    return offsets, size


def scratch_bytes(kernel, target) -> int:
    _, half = _carry_offsets(kernel)
    return 2 * half + kernel.subplan.arena_bytes


def emit(ctx, kernel, body, out_ptr, scratch):
    from kiln.codegen.lower import lower_nested    # lower imports the kernel templates

    node = kernel.anchor
    attrs = node.attrs
    steps, reverse = attrs["steps"], attrs["reverse"]
    carries, sequences, invariants = loop_parts(node)
    nc = len(carries)
    results = kernel.writes
    finals, stacked = results[:nc], results[nc:]
    b = body.b
    pointer_of = body.buffers.get
    pointer = {v: out_ptr if v is kernel.root else pointer_of(v) for v in results}

    if steps == 0:
        for init, final in zip(carries, finals):
            _memcpy(ctx, b, pointer[final], pointer_of(init), init.type.nbytes)
        return

    entry = lower_nested(ctx, kernel.subplan, f"{kernel.name}.")
    offsets, half = _carry_offsets(kernel)
    null = ir.Constant(PTR, None)
    arena = b.gep(scratch, [i64(2 * half)], source_etype=I8) if scratch is not None else null

    n_slots = len(node.inputs) + len(results) + 1
    slots = entry_alloca(b, ir.ArrayType(PTR, n_slots), f"{kernel.name}.slots")

    def put(k, value):
        b.store(value, b.gep(slots, [i64(k)], source_etype=PTR))

    # body buffers: inputs [carries, slices, invariants], outputs [carries, per-step], arena
    first_invariant = nc + len(sequences)
    first_output = len(node.inputs)
    first_step_output = first_output + nc
    for k, v in enumerate(invariants):
        put(first_invariant + k, pointer_of(v))
    put(n_slots - 1, arena)

    with counted_loop(b, steps, name=f"{kernel.name}.step") as i:
        t = b.sub(i64(steps - 1), i) if reverse else i
        is_first = b.icmp_signed("==", i, i64(0))
        is_last = b.icmp_signed("==", i, i64(steps - 1))
        odd = b.trunc(b.and_(i, i64(1)), I1)
        for k, (init, final) in enumerate(zip(carries, finals)):
            even_buf = b.gep(scratch, [i64(offsets[k])], source_etype=I8)
            odd_buf = b.gep(scratch, [i64(half + offsets[k])], source_etype=I8)
            previous = b.select(odd, even_buf, odd_buf)
            current = b.select(odd, odd_buf, even_buf)
            put(k, b.select(is_first, pointer_of(init), previous))
            put(first_output + k, b.select(is_last, pointer[final], current))
        for k, seq in enumerate(sequences):
            step_bytes = seq.type.nbytes // max(steps, 1)
            put(nc + k, b.gep(pointer_of(seq), [b.mul(t, i64(step_bytes))], source_etype=I8))
        for k, out in enumerate(stacked):
            step_bytes = out.type.nbytes // max(steps, 1)
            put(first_step_output + k,
                b.gep(pointer[out], [b.mul(t, i64(step_bytes))], source_etype=I8))
        b.call(entry, [slots, null, ir.Constant(I32, 1)])


def _memcpy(ctx, b, dst, src, nbytes: int):
    if nbytes == 0:
        return
    name = "llvm.memcpy.p0.p0.i64"
    fn = ctx.module.globals.get(name) or ir.Function(
        ctx.module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I1]), name)
    b.call(fn, [dst, src, i64(nbytes), ir.Constant(I1, 0)])
