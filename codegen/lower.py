"""Lower a Plan to one LLVM module: a function per kernel and one entry point.

Entry point ABI (stable, C):

    int32_t kiln_main(void **buffers, const int64_t *dims, int32_t threads);

`buffers` holds, in order, a pointer per graph input, per graph output, per param, then the
arena (64-byte aligned, plan.arena_bytes long). `dims` is read only by dynamic plans (eager
elementwise kernels): the collapsed output shape. `threads` caps the threads large kernels
use (at most the count the module was compiled for). The function returns 0.

Every kernel function takes, after its buffers, scratch and dims, a range [begin, end) of
its split axis; kernels that split (see kernels.PARALLEL) are called through a task
trampoline that gives each task its range and its own slice of scratch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import llvmlite.ir as ir

from kiln.codegen import irutil
from kiln.codegen.expr import KernelBody
from kiln.codegen.irutil import I8, I32, I64, PTR, storage_type
from kiln.codegen import parallel
from kiln.codegen.kernels import PARALLEL, TEMPLATES
from kiln.codegen.kernels.pointwise import can_collapse, collapse_broadcast
from kiln.codegen.mathlib import MathLib
from kiln.codegen.target import Target
from kiln.ir.dtypes import DType
from kiln.ir.graph import Value
from kiln.ir.plan import Kernel, Location, Plan

ENTRY = "kiln_main"
PROFILE = "kiln_profile"      # with profile=True: int64 cycles per kernel, accumulated


@dataclass
class LoweringContext:
    module: ir.Module
    target: Target
    math: MathLib
    constants: "ConstantPool"
    plan: Plan
    threads: int = 1
    profile: bool = False
    prefix: str = ""        # of every function name: nested (loop body) plans share the module
    private_pool: bool = False   # define the thread pool in the module (see codegen.parallel)


class ConstantPool:
    """Module-level read-only arrays for constant nodes with more than one element."""

    def __init__(self, module):
        self.module = module
        self._globals: dict = {}

    def get(self, node):
        key = node.attrs["value"]
        if key not in self._globals:
            array = key.array.reshape(-1)
            dtype = node.outputs[0].dtype
            elem = storage_type(dtype)
            if dtype is DType.bool:
                values = [int(v) for v in array]
            elif dtype is DType.int32:
                values = [int(v) for v in array]
            else:
                values = [float(v) for v in array]
            ty = ir.ArrayType(elem, len(values))
            glob = ir.GlobalVariable(self.module, ty, f"kiln.const{len(self._globals)}")
            glob.global_constant = True
            glob.linkage = "internal"
            glob.initializer = ir.Constant(ty, values)
            glob.align = 64
            self._globals[key] = glob
        return self._globals[key]


def buffer_count(plan: Plan) -> int:
    g = plan.graph
    return len(g.inputs) + len(g.outputs) + len(g.params) + 1


def split_of(kernel: Kernel, target: Target, threads: int):
    """(extent, granule) of a kernel's split axis if it runs in parallel, else None."""
    if threads <= 1 or kernel.kind not in PARALLEL:
        return None
    return PARALLEL[kernel.kind](kernel, target)


def lower(plan: Plan, target: Target, threads: int = 1, profile: bool = False,
          private_pool: bool = False) -> ir.Module:
    """The module for `plan`. With profile=True the entry point also adds each kernel's
    elapsed CPU cycles to the exported array `kiln_profile` (one int64 per kernel). Parallel
    kernels call the process's thread pool, or with private_pool=True (ahead-of-time
    libraries) one defined in the module."""
    module = ir.Module(name=plan.graph.name)
    module.triple = target.triple
    module.data_layout = str(target.machine.target_data)
    ctx = LoweringContext(module, target, MathLib(module), ConstantPool(module), plan,
                          threads if not plan.dynamic else 1, profile,
                          private_pool=private_pool)
    functions = [_kernel_function(ctx, k) for k in plan.kernels]
    _entry(ctx, functions)
    return module


def lower_nested(ctx: LoweringContext, plan: Plan, prefix: str) -> ir.Function:
    """Lower a loop body's plan into ctx's module: its kernels and an internal entry function
    with the ABI of kiln_main (its threads argument caps its parallel kernels)."""
    # (profiling counts the loop kernel as a whole: the body's kernels are not in the table)
    inner = dataclasses.replace(ctx, plan=plan, prefix=ctx.prefix + prefix, profile=False)
    functions = [_kernel_function(inner, k) for k in plan.kernels]
    return _entry(inner, functions, name=inner.prefix + "main", nested=True)


def _location(plan: Plan, v: Value) -> Location:
    return plan.locations[plan.aliases.get(v, v)] if v not in plan.locations else plan.locations[v]


def _shape_fn(ctx, kernel: Kernel, b, dims_ptr):
    plan = ctx.plan
    if plan.dynamic:
        rank = kernel.root.type.rank
        dims = [b.load(b.gep(dims_ptr, [irutil.i64(k)], source_etype=I64), typ=I64)
                for k in range(rank)]

        def shape_of(v):
            off = rank - v.type.rank
            return [1 if d == 1 else dims[off + k] for k, d in enumerate(v.shape)]
        return shape_of
    if kernel.kind == "pointwise" and can_collapse(kernel):
        values = [kernel.root] + list(kernel.reads) + [v for n in kernel.nodes for v in n.outputs]
        _, collapsed = collapse_broadcast(kernel.root.shape, [v.shape for v in values])
        table = {v: list(s) for v, s in zip(values, collapsed)}
        return lambda v: table[v] if v in table else list(v.shape)
    return lambda v: list(v.shape)


def _buffer_locations(plan: Plan, kernel: Kernel) -> list[Location]:
    """The distinct locations a kernel touches, the values it writes first (the root's first):
    one pointer argument each.
    A value read where the root is written (an in-place update) shares the root's pointer,
    so every pointer argument is truly `noalias` and LLVM sees the in-place access as one."""
    locations = []
    for v in kernel.writes + list(kernel.reads):
        loc = _location(plan, v)
        if loc not in locations:
            locations.append(loc)
    return locations


def _kernel_function(ctx: LoweringContext, kernel: Kernel) -> ir.Function:
    plan = ctx.plan
    locations = _buffer_locations(plan, kernel)
    arg_types = [PTR] * len(locations)
    has_scratch = kernel.scratch_bytes > 0
    if has_scratch:
        arg_types.append(PTR)
    arg_types += [PTR, I64, I64]   # dims, split range [begin, end)
    fn = ir.Function(ctx.module, ir.FunctionType(irutil.VOID, arg_types),
                     ctx.prefix + kernel.name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")     # one function per kernel in the machine code too
    for arg in fn.args[:len(locations)]:
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dims_ptr, begin, end = fn.args[-3:]
    scratch = fn.args[len(locations)] if has_scratch else None
    # extra results (loop outputs, merged siblings) are addressed like reads, by value
    buffers = {v: fn.args[locations.index(_location(plan, v))]
               for v in kernel.extra_roots + list(kernel.reads)}
    body = KernelBody(b, ctx.math, buffers, _shape_fn(ctx, kernel, b, dims_ptr), ctx.constants)
    if split_of(kernel, ctx.target, ctx.threads) is not None:
        body.split = (begin, end)
    TEMPLATES[kernel.kind](ctx, kernel, body, fn.args[0], scratch)
    b.ret_void()
    return fn


def _task_trampoline(ctx: LoweringContext, kernel: Kernel, kfn: ir.Function, n_args: int,
                     extent: int, granule: int) -> ir.Function:
    """task(ctx_args, i): call the kernel on task i's share of the split axis."""
    fn = ir.Function(ctx.module, parallel.TASK_TYPE, f"{ctx.prefix}{kernel.name}.task")
    fn.linkage = "internal"
    args_ptr, index = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    tasks = ctx.threads
    args = [b.load(b.gep(args_ptr, [irutil.i64(k)], source_etype=PTR), typ=PTR)
            for k in range(n_args)]
    blocks = -(-extent // granule)

    def boundary(i):
        # task i starts at block floor(blocks * i / tasks)
        start = b.mul(b.sdiv(b.mul(i, irutil.i64(blocks)), irutil.i64(tasks)), irutil.i64(granule))
        return b.select(b.icmp_signed("<", start, irutil.i64(extent)), start, irutil.i64(extent))
    begin = boundary(index)
    end = boundary(b.add(index, irutil.i64(1)))
    if kernel.scratch_bytes:
        slot = len(args) - 2
        per_task = irutil.i64(kernel.scratch_bytes // tasks)   # sized by codegen.scratch_bytes
        args[slot] = b.gep(args[slot], [b.mul(index, per_task)], source_etype=I8)
    b.call(kfn, args + [begin, end])
    b.ret_void()
    return fn


def _entry(ctx: LoweringContext, functions, name: str = ENTRY, nested: bool = False):
    plan, g = ctx.plan, ctx.plan.graph
    fn = ir.Function(ctx.module, ir.FunctionType(I32, [PTR, PTR, I32]), name)
    if nested:
        fn.linkage = "internal"
    bufs, dims, threads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    n_in, n_out = len(g.inputs), len(g.outputs)
    slots = {"input": 0, "output": n_in, "param": n_in + n_out}
    arena_slot = n_in + n_out + len(g.params)

    def load_slot(i):
        return b.load(b.gep(bufs, [irutil.i64(i)], source_etype=PTR), typ=PTR)

    arena = load_slot(arena_slot)

    def pointer(loc: Location):
        if loc.kind == "arena":
            return b.gep(arena, [irutil.i64(loc.offset)], source_etype=I8)
        return load_slot(slots[loc.kind] + loc.index)

    counters = _profile_counters(ctx) if ctx.profile else None
    for number, (kernel, kfn) in enumerate(zip(plan.kernels, functions)):
        if counters is not None:
            started = b.call(counters[1], [])
        _call_kernel(ctx, b, kernel, kfn, pointer, arena, dims, threads)
        if counters is not None:
            slot = b.gep(counters[0], [irutil.i64(0), irutil.i64(number)])
            elapsed = b.sub(b.call(counters[1], []), started)
            b.store(b.add(b.load(slot, typ=I64), elapsed), slot)
    for i, v in enumerate(g.outputs):
        loc = _location(plan, v)
        if loc != Location("output", i):
            _memcpy(ctx, b, load_slot(n_in + i), pointer(loc), v.type.nbytes)
    for p, v in g.updates:
        src, dst = _location(plan, v), _location(plan, p)
        if src != dst:
            _memcpy(ctx, b, pointer(dst), pointer(src), v.type.nbytes)
    b.ret(ir.Constant(I32, 0))
    return fn


def _call_kernel(ctx: LoweringContext, b, kernel: Kernel, kfn, pointer, arena, dims,
                 threads) -> None:
    """Call one kernel directly, or through parallel_for on up to `threads` (the entry
    point's argument) threads when it splits into tasks."""
    plan = ctx.plan
    args = [pointer(loc) for loc in _buffer_locations(plan, kernel)]
    if kernel.scratch_bytes:
        args.append(b.gep(arena, [irutil.i64(plan.scratch[kernel.name])], source_etype=I8))
    args.append(dims)
    split = split_of(kernel, ctx.target, ctx.threads)
    if split is None:
        b.call(kfn, args + [irutil.i64(0), irutil.i64(0)])
        return
    extent, granule = split
    packed = irutil.entry_alloca(b, ir.ArrayType(PTR, len(args)), f"{kernel.name}.args")
    for k, value in enumerate(args):
        b.store(value, b.gep(packed, [irutil.i64(k)], source_etype=PTR))
    task = _task_trampoline(ctx, kernel, kfn, len(args), extent, granule)
    b.call(parallel.parallel_for(ctx.module, ctx.private_pool),
           [task, packed, irutil.i64(ctx.threads), threads])


def _profile_counters(ctx: LoweringContext):
    """(the exported int64 array, llvm.readcyclecounter)."""
    n = max(len(ctx.plan.kernels), 1)
    table = ir.GlobalVariable(ctx.module, ir.ArrayType(I64, n), PROFILE)
    table.initializer = ir.Constant(ir.ArrayType(I64, n), [0] * n)
    clock = ir.Function(ctx.module, ir.FunctionType(I64, []), "llvm.readcyclecounter")
    return table, clock


def _memcpy(ctx, b, dst, src, nbytes: int):
    if nbytes == 0:
        return
    name = "llvm.memcpy.p0.p0.i64"
    fn = ctx.module.globals.get(name) or ir.Function(
        ctx.module, ir.FunctionType(irutil.VOID, [PTR, PTR, I64, irutil.I1]), name)
    b.call(fn, [dst, src, irutil.i64(nbytes), ir.Constant(irutil.I1, 0)])
