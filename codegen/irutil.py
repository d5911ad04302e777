"""Small helpers over llvmlite.ir: types, constants, counted loops and index arithmetic.

Index arithmetic accepts Python ints or i64 LLVM values and folds when both are ints, so
kernels can be emitted for static shapes (constants) and run-time shapes (arguments) alike.
"""
from __future__ import annotations

import contextlib

import llvmlite.ir as ir

from kiln.ir.dtypes import DType

F32 = ir.FloatType()
F64 = ir.DoubleType()
I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
VOID = ir.VoidType()

_STORAGE = {DType.float32: F32, DType.int32: I32, DType.bool: I8}


def storage_type(dtype: DType) -> ir.Type:
    """How a dtype's elements are stored in memory (bool as one byte, like numpy)."""
    return _STORAGE[dtype]


def const(ty: ir.Type, value) -> ir.Constant:
    return ir.Constant(ty, value)


def i64(value) -> ir.Value:
    return value if isinstance(value, ir.Value) else ir.Constant(I64, int(value))


def iadd(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return x + y
    if isinstance(y, int) and y == 0:
        return x
    if isinstance(x, int) and x == 0:
        return y
    return b.add(i64(x), i64(y))


def isub(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return x - y
    if isinstance(y, int) and y == 0:
        return x
    return b.sub(i64(x), i64(y))


def imul(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return x * y
    for a, c in ((x, y), (y, x)):
        if isinstance(c, int):
            if c == 0:
                return 0
            if c == 1:
                return a
    return b.mul(i64(x), i64(y))


def imin(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return min(x, y)
    x, y = i64(x), i64(y)
    return b.select(b.icmp_signed("<", x, y), x, y)


def imax(b: ir.IRBuilder, x, y):
    if isinstance(x, int) and isinstance(y, int):
        return max(x, y)
    x, y = i64(x), i64(y)
    return b.select(b.icmp_signed(">", x, y), x, y)


def product(b: ir.IRBuilder, dims):
    total = 1
    for d in dims:
        total = imul(b, total, d)
    return total


def linearize(b: ir.IRBuilder, idx, shape):
    """Row-major offset of multi-index `idx` in `shape` (ints or i64 values)."""
    offset = 0
    for i, d in zip(idx, shape):
        offset = iadd(b, imul(b, offset, d), i)
    return offset


def element_ptr(b: ir.IRBuilder, base, dtype: DType, offset):
    return b.gep(base, [i64(offset)], source_etype=storage_type(dtype), inbounds=True)


class LoopID(ir.values.MDValue):
    """A distinct, self-referential `llvm.loop` metadata node (llvmlite has no such node)."""

    def __init__(self, module: ir.Module, properties):
        super().__init__(module, [], name=str(len(module.metadata)))
        self.operands = (self,) + tuple(properties)

    def descr(self, buf):
        buf += ("distinct !{{ {0} }}".format(", ".join(op.get_reference() for op in self.operands)),
                "\n")

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


def disable_unrolling(b: ir.IRBuilder, latch) -> None:
    """Ask LLVM not to unroll the loop closed by branch `latch`."""
    module = b.function.module
    prop = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    latch.set_metadata("llvm.loop", LoopID(module, [prop]))


@contextlib.contextmanager
def counted_loop(b: ir.IRBuilder, stop, start=0, step=1, name="i", unroll=True):
    """`for (i = start; i < stop; i += step)`; yields i. The builder ends after the loop.
    unroll=False keeps LLVM from unrolling it (outer loops: unrolling them only grows code)."""
    if isinstance(stop, int) and isinstance(start, int) and stop <= start:
        # Zero-trip loop: emit the body into an unreachable block so callers stay simple.
        dead = b.append_basic_block(f"{name}.dead")
        after = b.append_basic_block(f"{name}.after")
        b.branch(after)
        b.position_at_end(dead)
        yield i64(start)
        b.branch(after)
        b.position_at_end(after)
        return
    pre = b.block
    header = b.append_basic_block(f"{name}.head")
    body = b.append_basic_block(f"{name}.body")
    after = b.append_basic_block(f"{name}.after")
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(I64, name=name)
    iv.add_incoming(i64(start), pre)
    b.cbranch(b.icmp_signed("<", iv, i64(stop)), body, after)
    b.position_at_end(body)
    yield iv
    nxt = b.add(iv, i64(step), name=f"{name}.next", flags=["nsw"])
    iv.add_incoming(nxt, b.block)
    latch = b.branch(header)
    if not unroll:
        disable_unrolling(b, latch)
    b.position_at_end(after)


@contextlib.contextmanager
def loop_nest(b: ir.IRBuilder, dims, name="i"):
    """Nested counted loops over `dims` (outermost first); yields the list of indices. Only
    the innermost loop may be unrolled (and vectorized) by LLVM."""
    last = len(dims) - 1
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(counted_loop(b, d, name=f"{name}{k}", unroll=k == last))
               for k, d in enumerate(dims)]


def entry_alloca(b: ir.IRBuilder, ty: ir.Type, name=""):
    """An alloca in the function's entry block (so mem2reg promotes it to a register).

    The result is an opaque `ptr` (llvmlite would otherwise give it a typed pointer type);
    load from it with an explicit `typ=`."""
    entry = b.function.entry_basic_block
    saved = b.block
    if entry.instructions:
        b.position_before(entry.instructions[0])
    else:
        b.position_at_end(entry)
    slot = b.alloca(ty, name=name)
    slot.type = PTR
    b.position_at_end(saved)
    return slot
