"""Multi-threaded kernels: `parallel_for` over tasks, on a persistent pool of pthreads
written in LLVM IR.

A kernel that splits (a GEMM over column blocks, a large elementwise loop over its outer axis)
is called through a task trampoline: `kiln_parallel_for(task, ctx, n, threads)` runs
task(ctx, 0..n-1) on up to `threads` threads (the calling thread included), claiming task
indices with an atomic counter. The worker threads are created once, on first use; between
jobs each polls for a new one a little while (the next kernel of a model usually follows
within microseconds) and then sleeps on a condition variable. A job offers threads - 1 seats;
a worker that wakes after the calling thread has finished every task finds the job closed
and goes back to sleep, so a slow wake-up never delays a kernel. If the pool is busy
(another thread of the program is running a parallel kernel) or cannot start, the tasks run
on the calling thread. A process that forks starts a fresh pool in the child.

Where the pool lives matters, because its threads sleep inside its code for the life of the
process: in the JIT, code is unmapped when a model is freed, so the pool is one module of its
own (`pool_module`), linked once per process and shared by every model, which only declare
`kiln_parallel_for`. An ahead-of-time library holds a private copy (`parallel_for(module,
private=True)`) and is linked so that it is never unloaded.

The thread count is an argument of the entry point passed down to every parallel_for (never
a global, so concurrent calls with different counts do not race); scratch memory is reserved
for the most tasks the module was compiled for. Zeroed pthread mutexes and condition
variables are valid static initializers, so the pool needs only libc.
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


SYNC = ir.ArrayType(ir.IntType(8), 64)      # room for a pthread_mutex_t / pthread_cond_t


def _pool_global(module, name, ty, value=None):
    full = f"kiln.pool.{name}"
    glob = module.globals.get(full)
    if glob is None:
        glob = ir.GlobalVariable(module, ty, full)
        glob.linkage = "internal"
        glob.initializer = ir.Constant(ty, value if value is not None else None)
        glob.align = 64 if ty is SYNC else None
    return glob


def _pool(module):
    return {name: _pool_global(module, name, ty, value) for name, ty, value in [
        ("mutex", SYNC, None), ("work", SYNC, None), ("done", SYNC, None),
        ("generation", I64, 0), ("job", PTR, None), ("seats", I64, 0), ("active", I64, 0),
        ("workers", I64, 0), ("pid", I32, 0), ("busy", I32, 0)]}


def _libc(module):
    return {
        "lock": _declare(module, "pthread_mutex_lock", ir.FunctionType(I32, [PTR])),
        "unlock": _declare(module, "pthread_mutex_unlock", ir.FunctionType(I32, [PTR])),
        "wait": _declare(module, "pthread_cond_wait", ir.FunctionType(I32, [PTR, PTR])),
        "broadcast": _declare(module, "pthread_cond_broadcast", ir.FunctionType(I32, [PTR])),
        "signal": _declare(module, "pthread_cond_signal", ir.FunctionType(I32, [PTR])),
        "create": _declare(module, "pthread_create", ir.FunctionType(I32, [PTR, PTR, PTR, PTR])),
        "detach": _declare(module, "pthread_detach", ir.FunctionType(I32, [PTHREAD_T])),
        "getpid": _declare(module, "getpid", ir.FunctionType(I32, [])),
        "memset": _declare(module, "llvm.memset.p0.i64",
                           ir.FunctionType(VOID, [PTR, ir.IntType(8), I64, ir.IntType(1)])),
    }


def _while(b, name, condition, body):
    """while (condition(b)) body(b);"""
    head = b.append_basic_block(f"{name}.head")
    loop = b.append_basic_block(f"{name}.body")
    after = b.append_basic_block(f"{name}.after")
    b.branch(head)
    b.position_at_end(head)
    b.cbranch(condition(b), loop, after)
    b.position_at_end(loop)
    body(b)
    b.branch(head)
    b.position_at_end(after)


SPINS = 1 << 13          # polls (each a CPU pause, ~10-50 ns) before a worker sleeps


def _cpu_relax(b, module):
    """The spin-wait hint (x86 `pause`), where the target has one."""
    if module.triple.startswith(("x86_64", "i386", "i686")):
        b.call(ir.InlineAsm(ir.FunctionType(VOID, []), "pause", "", side_effect=True), [])


def _pool_thread(module) -> ir.Function:
    """void *pool_thread(void *generation): forever wait for a job newer than the one current
    when the thread was made (its argument); join it if it is still open and has a seat, run
    its tasks, report done."""
    name = "kiln.pool_thread"
    if name in module.globals:
        return module.globals[name]
    pool, libc = _pool(module), _libc(module)
    worker = _worker(module)
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR]), name)
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    seen = entry_alloca(b, I64, "seen")
    spins = entry_alloca(b, I64, "spins")
    b.store(b.ptrtoint(fn.args[0], I64), seen)
    forever = fn.append_basic_block("forever")
    b.branch(forever)
    b.position_at_end(forever)
    # Poll a while before sleeping: the next parallel kernel of a model usually comes within
    # microseconds, and waking a sleeping thread costs tens of them (more on a virtual CPU).
    b.store(i64(0), spins)

    def no_new_job(b):
        current = b.load_atomic(pool["generation"], "acquire", 8, typ=I64)
        return b.and_(b.icmp_signed("==", current, b.load(seen, typ=I64)),
                      b.icmp_signed("<", b.load(spins, typ=I64), i64(SPINS)))

    def relax(b):
        _cpu_relax(b, module)
        b.store(b.add(b.load(spins, typ=I64), i64(1)), spins)
    _while(b, "poll", no_new_job, relax)
    b.call(libc["lock"], [pool["mutex"]])
    _while(b, "sleep",
           lambda b: b.icmp_signed("==", b.load(pool["generation"], typ=I64),
                                   b.load(seen, typ=I64)),
           lambda b: b.call(libc["wait"], [pool["work"], pool["mutex"]]))
    b.store(b.load(pool["generation"], typ=I64), seen)
    job = b.load(pool["job"], typ=PTR)
    seats = b.load(pool["seats"], typ=I64)
    joins = b.and_(b.icmp_unsigned("!=", job, ir.Constant(PTR, None)),
                   b.icmp_signed(">", seats, i64(0)))
    with b.if_then(joins):
        b.store(b.sub(seats, i64(1)), pool["seats"])
        b.store(b.add(b.load(pool["active"], typ=I64), i64(1)), pool["active"])
    b.call(libc["unlock"], [pool["mutex"]])
    with b.if_then(joins):
        b.call(worker, [job])
        b.call(libc["lock"], [pool["mutex"]])
        left = b.sub(b.load(pool["active"], typ=I64), i64(1))
        b.store(left, pool["active"])
        with b.if_then(b.icmp_signed("==", left, i64(0))):
            b.call(libc["signal"], [pool["done"]])
        b.call(libc["unlock"], [pool["mutex"]])
    b.branch(forever)
    return fn


PARALLEL_FOR = "kiln_parallel_for"
PARALLEL_FOR_TYPE = ir.FunctionType(VOID, [PTR, PTR, I64, I32])


def parallel_for(module, private: bool = False) -> ir.Function:
    """void kiln_parallel_for(task, ctx, n, threads): task(ctx, i) for i < n on up to
    min(threads, n) threads (`threads` is an i32). Declared, to be resolved against the
    process's pool module, or defined in `module` itself when `private`."""
    if PARALLEL_FOR in module.globals:
        return module.globals[PARALLEL_FOR]
    if not private:
        return ir.Function(module, PARALLEL_FOR_TYPE, PARALLEL_FOR)
    fn = _define_parallel_for(module)
    fn.linkage = "internal"
    return fn


def pool_module(triple: str) -> ir.Module:
    """The process-wide pool: a module that defines (and exports) only kiln_parallel_for."""
    module = ir.Module("kiln.pool")
    module.triple = triple
    _define_parallel_for(module)
    return module


def _define_parallel_for(module) -> ir.Function:
    pool, libc = _pool(module), _libc(module)
    worker = _worker(module)
    thread_main = _pool_thread(module)
    fn = ir.Function(module, PARALLEL_FOR_TYPE, PARALLEL_FOR)
    task, ctx, n, requested = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    job = entry_alloca(b, JOB, "job")
    tid = entry_alloca(b, PTHREAD_T, "tid")
    for k, value in enumerate((task, ctx, n, i64(0))):
        b.store(value, b.gep(job, [i64(0), ir.Constant(I32, k)], source_etype=JOB))
    wanted = b.sext(requested, I64)
    wanted = b.select(b.icmp_signed("<", wanted, n), wanted, n)
    serial = fn.append_basic_block("serial")
    pooled = fn.append_basic_block("pooled")
    finish = fn.append_basic_block("finish")
    b.cbranch(b.icmp_signed("<=", wanted, i64(1)), serial, pooled)

    b.position_at_end(serial)
    b.call(worker, [job])
    b.ret_void()

    # Claim the pool; if another thread holds it, run serially.
    b.position_at_end(pooled)
    claimed = b.extract_value(b.cmpxchg(pool["busy"], ir.Constant(I32, 0), ir.Constant(I32, 1),
                                        "acquire", "monotonic"), 1)
    ready = fn.append_basic_block("ready")
    b.cbranch(claimed, ready, serial)

    b.position_at_end(ready)
    # A forked child inherits the pool's memory but not its threads: start afresh.
    pid = b.call(libc["getpid"], [])
    with b.if_then(b.icmp_signed("!=", pid, b.load(pool["pid"], typ=I32))):
        for sync in ("mutex", "work", "done"):
            b.call(libc["memset"], [pool[sync], ir.Constant(ir.IntType(8), 0), i64(64),
                                    ir.Constant(ir.IntType(1), 0)])
        b.store(i64(0), pool["workers"])
        b.store(i64(0), pool["active"])
        b.store(pid, pool["pid"])
    # Start the workers this job wants and the pool does not have yet.
    have = b.load(pool["workers"], typ=I64)
    current = b.inttoptr(b.load(pool["generation"], typ=I64), PTR)
    with counted_loop(b, b.sub(wanted, i64(1)), start=have, name="spawn") as _:
        status = b.call(libc["create"], [tid, ir.Constant(PTR, None), thread_main, current])
        with b.if_then(b.icmp_signed("==", status, ir.Constant(I32, 0))):
            b.call(libc["detach"], [b.load(tid, typ=PTHREAD_T)])
            b.store(b.add(b.load(pool["workers"], typ=I64), i64(1)), pool["workers"])
    # Publish the job with wanted - 1 seats and wake the workers; work along; then close the
    # job (a worker that wakes only now has nothing left to do and must not touch it) and wait
    # for the workers that joined.
    b.call(libc["lock"], [pool["mutex"]])
    b.store(job, pool["job"])
    b.store(b.sub(wanted, i64(1)), pool["seats"])
    # atomic: polling workers read it without the mutex
    b.store_atomic(b.add(b.load(pool["generation"], typ=I64), i64(1)), pool["generation"],
                   "release", 8)
    b.call(libc["broadcast"], [pool["work"]])
    b.call(libc["unlock"], [pool["mutex"]])
    b.call(worker, [job])
    b.call(libc["lock"], [pool["mutex"]])
    b.store(ir.Constant(PTR, None), pool["job"])
    _while(b, "wait",
           lambda b: b.icmp_signed(">", b.load(pool["active"], typ=I64), i64(0)),
           lambda b: b.call(libc["wait"], [pool["done"], pool["mutex"]]))
    b.call(libc["unlock"], [pool["mutex"]])
    b.store_atomic(ir.Constant(I32, 0), pool["busy"], "release", 4)
    b.branch(finish)
    b.position_at_end(finish)
    b.ret_void()
    return fn
