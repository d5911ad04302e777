"""Evaluate the nodes a kernel covers, element by element, at an index.

`KernelBody.value(v, index)` produces the LLVM value of IR value `v` at `index`:
  * a value with a buffer is loaded from it;
  * a value the kernel template provides (an anchor's accumulator) comes from `overrides`;
  * any other value is computed from its node's operands by the rules below: elementwise
    ops through the scalar table, movement ops by transforming the index, source ops
    (constants, iota, random numbers) from the index itself.

Indices are lazy: an Index holds a multi-index, a linear offset, or both, and converts only
when asked, so a reshape of a buffer costs nothing and same-shape elementwise chains share
one offset computation.
"""
from __future__ import annotations

import llvmlite.ir as ir

from kiln.codegen import irutil
from kiln.codegen.irutil import F32, I1, I32, I64, I8, element_ptr, iadd, imul, isub
from kiln.codegen.mathlib import f32
from kiln.codegen.scalar import SCALAR, compute_type, const_like
from kiln.ir.dtypes import DType
from kiln.ir.graph import Value
from kiln.ir.registry import Kind


class Index:
    """A position in an array of `shape` (dims are ints or i64 LLVM values)."""

    def __init__(self, b, shape, multi=None, linear=None):
        assert multi is not None or linear is not None
        self.b = b
        self.shape = list(shape)
        self._multi = list(multi) if multi is not None else None
        self._linear = linear

    @property
    def multi(self):
        if self._multi is None:
            rest, multi = self._linear, []
            for d in reversed(self.shape):
                if isinstance(d, int) and d == 1:
                    multi.append(0)
                    continue
                multi.append(_urem(self.b, rest, d))
                rest = _udiv(self.b, rest, d)
            self._multi = multi[::-1]
        return self._multi

    @property
    def linear(self):
        if self._linear is None:
            self._linear = irutil.linearize(self.b, self._multi, self.shape)
        return self._linear


def _udiv(b, x, d):
    if isinstance(x, int) and isinstance(d, int):
        return x // d
    return b.udiv(irutil.i64(x), irutil.i64(d))


def _urem(b, x, d):
    if isinstance(x, int) and isinstance(d, int):
        return x % d
    return b.urem(irutil.i64(x), irutil.i64(d))


def same_dims(a, b) -> bool:
    return len(a) == len(b) and all(x is y or (isinstance(x, int) and x == y) for x, y in zip(a, b))


class KernelBody:
    """Emission state for one kernel function."""

    def __init__(self, b: ir.IRBuilder, math, buffers: dict, shape_of, constants):
        self.b = b
        self.math = math
        self.buffers = buffers            # Value -> pointer
        self.shape_of = shape_of          # Value -> list of dims
        self.constants = constants        # ConstantPool
        self.overrides: dict = {}         # Value -> fn(Index) -> LLVM value
        self.split = None                 # (begin, end) of the split axis in a parallel task

    # ---- memory --------------------------------------------------------------------
    def load(self, v: Value, index: Index):
        return self.load_at(self.buffers[v], v.dtype, index.linear)

    def load_at(self, base, dtype: DType, offset):
        ptr = element_ptr(self.b, base, dtype, offset)
        raw = self.b.load(ptr, typ=irutil.storage_type(dtype), align=dtype.itemsize)
        return to_compute(self.b, dtype, raw)

    def store(self, base, dtype: DType, offset, value):
        ptr = element_ptr(self.b, base, dtype, offset)
        self.b.store(to_storage(self.b, dtype, value), ptr, align=dtype.itemsize)

    # ---- evaluation ----------------------------------------------------------------
    def value(self, v: Value, index: Index):
        if v in self.overrides:
            return self.overrides[v](index)
        if v in self.buffers:
            return self.load(v, index)
        return self.compute(v, index)

    def compute(self, v: Value, index: Index):
        """v at index from its node's operands (never from v's own buffer)."""
        node = v.node
        rule = LOWER.get(node.op)
        if rule is None and node.opdef.kind is Kind.ELEMENTWISE:
            rule = _elementwise
        if rule is None:
            raise NotImplementedError(f"no inline lowering for op {node.op!r}")
        return rule(self, node, index)

    def operand_index(self, index: Index, operand: Value, out_shape) -> Index:
        """Map an index of a broadcast result to the index of one operand."""
        in_shape = self.shape_of(operand)
        if same_dims(in_shape, out_shape):
            return index
        multi = index.multi
        offset = len(out_shape) - len(in_shape)
        sub = [0 if (isinstance(d, int) and d == 1) else multi[offset + k]
               for k, d in enumerate(in_shape)]
        return Index(self.b, in_shape, multi=sub)


def to_compute(b, dtype: DType, raw):
    if dtype is DType.bool:
        return b.icmp_unsigned("!=", raw, ir.Constant(I8, 0))
    return raw


def to_storage(b, dtype: DType, value):
    if dtype is DType.bool:
        return b.zext(value, I8)
    return value


# ---- lowering rules ------------------------------------------------------------------
def _elementwise(body: KernelBody, node, index: Index):
    out_shape = body.shape_of(node.outputs[0])
    args = [body.value(v, body.operand_index(index, v, out_shape)) for v in node.inputs]
    return SCALAR[node.op](body, args, node)


def _reshape(body, node, index):
    (x,) = node.inputs
    return body.value(x, Index(body.b, body.shape_of(x), linear=index.linear))


def _transpose(body, node, index):
    (x,) = node.inputs
    perm = node.attrs["perm"]
    multi = [None] * len(perm)
    for out_axis, in_axis in enumerate(perm):
        multi[in_axis] = index.multi[out_axis]
    return body.value(x, Index(body.b, body.shape_of(x), multi=multi))


def _broadcast_to(body, node, index):
    (x,) = node.inputs
    return body.value(x, body.operand_index(index, x, body.shape_of(node.outputs[0])))


def _slice(body, node, index):
    (x,) = node.inputs
    b = body.b
    multi = [iadd(b, begin, imul(b, i, stride))
             for i, begin, stride in zip(index.multi, node.attrs["begin"], node.attrs["strides"])]
    return body.value(x, Index(b, body.shape_of(x), multi=multi))


def _reverse(body, node, index):
    (x,) = node.inputs
    b = body.b
    shape = body.shape_of(x)
    multi = [isub(b, isub(b, shape[k], 1), i) if k in node.attrs["axes"] else i
             for k, i in enumerate(index.multi)]
    return body.value(x, Index(b, shape, multi=multi))


def _tile(body, node, index):
    (x,) = node.inputs
    shape = body.shape_of(x)
    multi = [i if r == 1 else _urem(body.b, i, d)
             for i, d, r in zip(index.multi, shape, node.attrs["reps"])]
    return body.value(x, Index(body.b, shape, multi=multi))


def _in_range(b, i, lo, hi):
    """lo <= i < hi for i64 values (ints are constant-folded)."""
    i = irutil.i64(i)
    return b.and_(b.icmp_signed(">=", i, irutil.i64(lo)), b.icmp_signed("<", i, irutil.i64(hi)))


def _clamp(b, i, lo, hi):
    return irutil.imax(b, irutil.imin(b, i, hi), lo)


def _pad(body, node, index):
    (x,) = node.inputs
    b = body.b
    shape = body.shape_of(x)
    fill = const_like(x.dtype, node.attrs["value"])
    if any(isinstance(d, int) and d == 0 for d in shape):
        return fill
    multi, valid = [], ir.Constant(I1, 1)
    for i, d, (lo, _) in zip(index.multi, shape, node.attrs["paddings"]):
        j = isub(b, i, lo)
        valid = b.and_(valid, _in_range(b, j, 0, d))
        multi.append(0 if isinstance(d, int) and d == 1 else _clamp(b, j, 0, isub(b, d, 1)))
    inner = body.value(x, Index(b, shape, multi=multi))
    return b.select(valid, inner, fill)


def _gather(body, node, index):
    params, indices = node.inputs
    b = body.b
    axis = node.attrs["axis"]
    p_shape = body.shape_of(params)
    i_shape = body.shape_of(indices)
    multi = index.multi
    j = body.value(indices, Index(b, i_shape, multi=multi[axis:axis + len(i_shape)]))
    j = b.sext(j, I64)
    n = p_shape[axis]
    valid = _in_range(b, j, 0, n)
    jc = _clamp(b, j, 0, isub(b, n, 1)) if not (isinstance(n, int) and n <= 1) else 0
    p_multi = multi[:axis] + [jc] + multi[axis + len(i_shape):]
    inner = body.value(params, Index(b, p_shape, multi=p_multi))
    return b.select(valid, inner, const_like(params.dtype, 0))


def _constant(body, node, index):
    array = node.attrs["value"].array
    dtype = node.outputs[0].dtype
    if array.size == 1:
        return const_like(dtype, array.reshape(-1)[0].item())
    glob = body.constants.get(node)
    ptr = element_ptr(body.b, glob, dtype, index.linear)
    raw = body.b.load(ptr, typ=irutil.storage_type(dtype), align=dtype.itemsize)
    return to_compute(body.b, dtype, raw)


def _iota(body, node, index):
    i = index.multi[node.attrs["axis"]] if index.shape else 0
    i = irutil.i64(i)
    if node.outputs[0].dtype is DType.float32:
        return body.b.sitofp(i, F32)
    return body.b.trunc(i, I32)


# ---- counter-based random numbers ------------------------------------------------------
def _mix32(b, x):
    """A bijective 32-bit integer hash with good avalanche (xorshift-multiply rounds)."""
    for shift, mult in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = b.xor(x, b.lshr(x, ir.Constant(I32, shift)))
        x = b.mul(x, ir.Constant(I32, mult))
    return b.xor(x, b.lshr(x, ir.Constant(I32, 16)))


def random_bits(body, node, index, stream: int):
    """32 random bits for (seed operand, salt, element index, stream)."""
    b = body.b
    seed = body.value(node.inputs[0], Index(b, [], multi=[]))
    salt = node.attrs["salt"] * 0x9E3779B9 + stream * 0x632BE5AB
    key = _mix32(b, b.xor(seed, ir.Constant(I32, salt & 0xFFFFFFFF)))
    counter = irutil.i64(index.linear)
    lo = b.trunc(counter, I32)
    hi = b.trunc(b.lshr(counter, ir.Constant(I64, 32)), I32)
    h = _mix32(b, b.xor(lo, key))
    return _mix32(b, b.add(h, b.xor(hi, ir.Constant(I32, 0x5BD1E995))))


def random_unit(body, node, index, stream: int):
    """A float in [0, 1) with 24 random bits."""
    bits = random_bits(body, node, index, stream)
    top = body.b.lshr(bits, ir.Constant(I32, 8))
    return body.b.fmul(body.b.uitofp(top, F32), f32(2.0 ** -24))


def _normal(body, node, index, attempt: int):
    """Box-Muller with two independent uniforms."""
    b = body.b
    u1 = random_unit(body, node, index, 2 * attempt)
    u2 = random_unit(body, node, index, 2 * attempt + 1)
    radius = b.fmul(f32(-2.0), body.math.call(b, "log", b.fsub(f32(1.0), u1)))
    radius = body.math.call_intrinsic(b, "sqrt", radius)
    angle = b.fmul(f32(6.283185307179586), u2)
    return b.fmul(radius, body.math.libm(b, "cos", angle))


def _random_uniform(body, node, index):
    return random_unit(body, node, index, 0)


def _random_normal(body, node, index):
    return _normal(body, node, index, 0)


TRUNCATION_ATTEMPTS = 8


def _truncated_normal(body, node, index):
    """First of several independent draws within two standard deviations (0 if all fail,
    probability 2e-11)."""
    b = body.b
    result = f32(0.0)
    for attempt in reversed(range(TRUNCATION_ATTEMPTS)):
        z = _normal(body, node, index, attempt)
        inside = b.fcmp_ordered("<", body.math.call_intrinsic(b, "fabs", z), f32(2.0))
        result = b.select(inside, z, result)
    return result


LOWER = {
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcastTo": _broadcast_to,
    "slice": _slice,
    "reverse": _reverse,
    "tile": _tile,
    "pad": _pad,
    "gather": _gather,
    "constant": _constant,
    "iota": _iota,
    "randomUniform": _random_uniform,
    "randomNormal": _random_normal,
    "truncatedNormal": _truncated_normal,
}
