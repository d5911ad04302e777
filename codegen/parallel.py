"""Multi-threaded kernels: `parallel_for` over tasks, built from pthreads in LLVM IR.

A kernel that splits (a GEMM over column blocks, a large elementwise loop over its outer axis)
is called through a task trampoline: `parallel_for(task, ctx, n)` runs task(ctx, 0..n-1) on
up to `threads` threads (the calling thread included), claiming task indices with an atomic
counter. The thread count is an argument of the entry point, passed down to every
parallel_for (never stored in a global, so concurrent calls with different counts do not
race), so the same machine code serves any count; scratch memory is reserved for the most
tasks the module was compiled for. Everything lives in the module itself (no runtime
library), so ahead-of-time libraries need only libc.
"""
from __future__ import annotations

import llvmlite.ir as ir

from kiln.codegen.irutil import I32, I64, PTR, VOID, counted_loop, entry_alloca, i64

TASK_TYPE = ir.FunctionType(VOID, [PTR, I64])
# job: {task function, context, task count, next task index}
JOB = ir.LiteralStructType([PTR, PTR, I64, I64])
PTHREAD_T = I64


def _declare(module, name, fnty):
    return module.globals.get(name) or ir.Function(module, fnty, name)


class FunctionPointer:
    """An opaque pointer called with a known signature (IRBuilder.call reads function_type)."""

    def __init__(self, pointer, function_type):
        self.pointer = pointer
        self.function_type = function_type
        self.type = PTR

    def get_reference(self):
        return self.pointer.get_reference()


def _worker(module) -> ir.Function:
    """void *worker(job*): claim task indices until none are left."""
    name = "kiln.worker"
    if name in module.globals:
        return module.globals[name]
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR]), name)
    fn.linkage = "internal"
    job = fn.args[0]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    task = FunctionPointer(b.load(b.gep(job, [i64(0), ir.Constant(I32, 0)], source_etype=JOB),
                                  typ=PTR), TASK_TYPE)
    ctx = b.load(b.gep(job, [i64(0), ir.Constant(I32, 1)], source_etype=JOB), typ=PTR)
    n = b.load(b.gep(job, [i64(0), ir.Constant(I32, 2)], source_etype=JOB), typ=I64)
    next_ptr = b.gep(job, [i64(0), ir.Constant(I32, 3)], source_etype=JOB)
    loop = fn.append_basic_block("claim")
    run = fn.append_basic_block("run")
    done = fn.append_basic_block("done")
    b.branch(loop)
    b.position_at_end(loop)
    index = b.atomic_rmw("add", next_ptr, i64(1), "seq_cst")
    b.cbranch(b.icmp_signed("<", index, n), run, done)
    b.position_at_end(run)
    b.call(task, [ctx, index])
    b.branch(loop)
    b.position_at_end(done)
    b.ret(ir.Constant(PTR, None))
    return fn


def parallel_for(module, max_tasks: int) -> ir.Function:
    """void parallel_for(task, ctx, n, threads): task(ctx, i) for i < n on up to
    min(threads, n, max_tasks) threads (`threads` is an i32; the calling thread runs tasks
    too, and alone if no thread can be created)."""
    name = "kiln.parallel_for"
    if name in module.globals:
        return module.globals[name]
    create = _declare(module, "pthread_create", ir.FunctionType(I32, [PTR, PTR, PTR, PTR]))
    join = _declare(module, "pthread_join", ir.FunctionType(I32, [PTHREAD_T, PTR]))
    worker = _worker(module)
    fn = ir.Function(module, ir.FunctionType(VOID, [PTR, PTR, I64, I32]), name)
    fn.linkage = "internal"
    task, ctx, n, requested = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    job = entry_alloca(b, JOB, "job")
    tids = entry_alloca(b, ir.ArrayType(PTHREAD_T, max_tasks), "tids")
    started = entry_alloca(b, ir.ArrayType(I32, max_tasks), "started")
    for k, value in enumerate((task, ctx, n, i64(0))):
        b.store(value, b.gep(job, [i64(0), ir.Constant(I32, k)], source_etype=JOB))
    threads = b.sext(requested, I64)
    threads = b.select(b.icmp_signed("<", threads, n), threads, n)
    threads = b.select(b.icmp_signed("<", threads, i64(max_tasks)), threads, i64(max_tasks))
    with counted_loop(b, threads, start=1, name="spawn") as t:
        tid = b.gep(tids, [i64(0), t], source_etype=ir.ArrayType(PTHREAD_T, max_tasks))
        status = b.call(create, [tid, ir.Constant(PTR, None), worker, job])
        ok = b.icmp_signed("==", status, ir.Constant(I32, 0))
        b.store(b.zext(ok, I32), b.gep(started, [i64(0), t],
                                         source_etype=ir.ArrayType(I32, max_tasks)))
    b.call(worker, [job])
    with counted_loop(b, threads, start=1, name="join") as t:
        was_started = b.load(b.gep(started, [i64(0), t], source_etype=ir.ArrayType(I32, max_tasks)),
                             typ=I32)
        with b.if_then(b.icmp_signed("!=", was_started, ir.Constant(I32, 0))):
            tid = b.load(b.gep(tids, [i64(0), t], source_etype=ir.ArrayType(PTHREAD_T, max_tasks)),
                         typ=PTHREAD_T)
            b.call(join, [tid, ir.Constant(PTR, None)])
    b.ret_void()
    return fn
