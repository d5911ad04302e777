"""The scalar meaning of every elementwise op: one row per op in SCALAR.

A row is `fn(ctx, args, node) -> value`, where args are the operands at one index, already
in compute form (float32 as float, int32 as i32, bool as i1), and ctx gives the IRBuilder
(`ctx.b`) and the math library (`ctx.math`). The same rows serve every kernel kind: a plain
elementwise loop, a reduction's prologue, a matMul's epilogue.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from kiln.codegen.irutil import F32, I1, I32
from kiln.codegen.mathlib import f32
from kiln.ir.dtypes import DType

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def compute_type(dtype: DType) -> ir.Type:
    return {DType.float32: F32, DType.int32: I32, DType.bool: I1}[dtype]


def const_like(dtype: DType, value) -> ir.Constant:
    if dtype is DType.float32:
        return f32(value)
    if dtype is DType.int32:
        return ir.Constant(I32, int(value))
    return ir.Constant(I1, 1 if value else 0)


def _is_float(node) -> bool:
    return node.inputs[0].dtype is DType.float32


# ---- helpers used by several rows ----------------------------------------------------
def _select_by_type(float_fn, int_fn):
    return lambda ctx, args, node: (float_fn if _is_float(node) else int_fn)(ctx, args, node)


def _fcmp(pred):
    return lambda ctx, a, node: ctx.b.fcmp_ordered(pred, a[0], a[1])


def _compare(fpred, ipred, unordered=False):
    def fn(ctx, a, node):
        dt = node.inputs[0].dtype
        if dt is DType.float32:
            if unordered:
                return ctx.b.fcmp_unordered(fpred, a[0], a[1])
            return ctx.b.fcmp_ordered(fpred, a[0], a[1])
        return ctx.b.icmp_signed(ipred, a[0], a[1])
    return fn


def _int_floor_div(b, x, y):
    """Floored integer division; division by zero gives 0 (never undefined behaviour)."""
    zero = ir.Constant(I32, 0)
    one = ir.Constant(I32, 1)
    by_zero = b.icmp_signed("==", y, zero)
    safe_y = b.select(by_zero, one, y)
    # INT_MIN / -1 overflows: divide with y = 1 and negate (wraps to INT_MIN as in numpy).
    overflow = b.and_(b.icmp_signed("==", x, ir.Constant(I32, -2**31)),
                      b.icmp_signed("==", safe_y, ir.Constant(I32, -1)))
    safe_y = b.select(overflow, one, safe_y)
    q = b.sdiv(x, safe_y)
    q = b.select(overflow, b.sub(zero, q), q)
    r = b.srem(x, safe_y)
    adjust = b.and_(b.icmp_signed("!=", r, zero),
                    b.icmp_signed("!=", b.icmp_signed("<", r, zero), b.icmp_signed("<", safe_y, zero)))
    q = b.select(adjust, b.sub(q, one), q)
    return b.select(by_zero, zero, q)


def _int_mod(b, x, y):
    zero = ir.Constant(I32, 0)
    by_zero = b.icmp_signed("==", y, zero)
    safe_y = b.select(by_zero, ir.Constant(I32, 1), y)
    minus_one = b.icmp_signed("==", safe_y, ir.Constant(I32, -1))
    safe_y = b.select(minus_one, ir.Constant(I32, 1), safe_y)   # x % -1 == 0; avoid overflow
    r = b.srem(x, safe_y)
    adjust = b.and_(b.icmp_signed("!=", r, zero),
                    b.icmp_signed("!=", b.icmp_signed("<", r, zero), b.icmp_signed("<", y, zero)))
    r = b.select(adjust, b.add(r, y), r)
    return b.select(by_zero, zero, r)


def _float_mod(ctx, a, node):
    b = ctx.b
    x, y = a
    r = b.frem(x, y)
    adjust = b.and_(b.fcmp_ordered("!=", r, f32(0.0)),
                    b.icmp_signed("!=", b.fcmp_ordered("<", r, f32(0.0)),
                                  b.fcmp_ordered("<", y, f32(0.0))))
    return b.select(adjust, b.fadd(r, y), r)


def _maximum(ctx, a, node):
    if _is_float(node):
        return ctx.math.call_intrinsic(ctx.b, "maximum", a[0], a[1])
    return ctx.b.select(ctx.b.icmp_signed(">", a[0], a[1]), a[0], a[1])


def _minimum(ctx, a, node):
    if _is_float(node):
        return ctx.math.call_intrinsic(ctx.b, "minimum", a[0], a[1])
    return ctx.b.select(ctx.b.icmp_signed("<", a[0], a[1]), a[0], a[1])


def _sign(ctx, a, node):
    b, x = ctx.b, a[0]
    if _is_float(node):
        r = b.select(b.fcmp_ordered(">", x, f32(0.0)), f32(1.0), x)
        return b.select(b.fcmp_ordered("<", x, f32(0.0)), f32(-1.0), r)
    zero = ir.Constant(I32, 0)
    r = b.select(b.icmp_signed(">", x, zero), ir.Constant(I32, 1), zero)
    return b.select(b.icmp_signed("<", x, zero), ir.Constant(I32, -1), r)


def _clip(ctx, a, node):
    b, x = ctx.b, a[0]
    dt = node.inputs[0].dtype
    lo, hi = const_like(dt, node.attrs["min"]), const_like(dt, node.attrs["max"])
    if dt is DType.float32:
        x = b.select(b.fcmp_ordered("<", x, lo), lo, x)
        return b.select(b.fcmp_ordered(">", x, hi), hi, x)
    x = b.select(b.icmp_signed("<", x, lo), lo, x)
    return b.select(b.icmp_signed(">", x, hi), hi, x)


def _relu(ctx, a, node):
    b, x = ctx.b, a[0]
    if _is_float(node):
        return b.select(b.fcmp_ordered("<", x, f32(0.0)), f32(0.0), x)
    zero = ir.Constant(I32, 0)
    return b.select(b.icmp_signed("<", x, zero), zero, x)


def _relu6(ctx, a, node):
    b = ctx.b
    x = _relu(ctx, a, node)
    six = f32(6.0) if _is_float(node) else ir.Constant(I32, 6)
    gt = b.fcmp_ordered(">", x, six) if _is_float(node) else b.icmp_signed(">", x, six)
    return b.select(gt, six, x)


def _abs(ctx, a, node):
    if _is_float(node):
        return ctx.math.call_intrinsic(ctx.b, "fabs", a[0])
    b, x = ctx.b, a[0]
    return b.select(b.icmp_signed("<", x, ir.Constant(I32, 0)), b.neg(x), x)


def _cast(ctx, a, node):
    b, x = ctx.b, a[0]
    src, dst = node.inputs[0].dtype, node.outputs[0].dtype
    if src is dst:
        return x
    if dst is DType.bool:
        if src is DType.float32:
            return b.fcmp_unordered("!=", x, f32(0.0))
        return b.icmp_signed("!=", x, ir.Constant(I32, 0))
    if src is DType.bool:
        return b.uitofp(x, F32) if dst is DType.float32 else b.zext(x, I32)
    if dst is DType.float32:
        return b.sitofp(x, F32)
    # float -> int32: truncate toward zero, saturating; NaN becomes 0.
    fn = ctx.math.module.globals.get("llvm.fptosi.sat.i32.f32")
    if fn is None:
        fn = ir.Function(ctx.math.module, ir.FunctionType(I32, [F32]), "llvm.fptosi.sat.i32.f32")
    return b.call(fn, [x])


def _math(name):
    return lambda ctx, a, node: ctx.math.call(ctx.b, name, *a)


def _intrinsic(name):
    return lambda ctx, a, node: ctx.math.call_intrinsic(ctx.b, name, *a)


def _libm(name):
    return lambda ctx, a, node: ctx.math.libm(ctx.b, name, *a)


def _elu(ctx, a, node):
    b, x = ctx.b, a[0]
    return b.select(b.fcmp_ordered(">", x, f32(0.0)), x, ctx.math.call(b, "expm1", x))


def _selu(ctx, a, node):
    b, x = ctx.b, a[0]
    neg = b.fmul(f32(SELU_ALPHA), ctx.math.call(b, "expm1", x))
    return b.fmul(f32(SELU_SCALE), b.select(b.fcmp_ordered(">", x, f32(0.0)), x, neg))


def _leaky_relu(ctx, a, node):
    b, x = ctx.b, a[0]
    return b.select(b.fcmp_ordered("<", x, f32(0.0)), b.fmul(f32(node.attrs["alpha"]), x), x)


def _step(ctx, a, node):
    b, x = ctx.b, a[0]
    r = b.select(b.fcmp_ordered(">", x, f32(0.0)), f32(1.0), f32(node.attrs["alpha"]))
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


def _arith(fop, iop):
    def fn(ctx, a, node):
        b = ctx.b
        if _is_float(node):
            return getattr(b, fop)(a[0], a[1])
        return getattr(b, iop)(a[0], a[1])
    return fn


def _squared_difference(ctx, a, node):
    d = _arith("fsub", "sub")(ctx, a, node)
    return ctx.b.fmul(d, d) if _is_float(node) else ctx.b.mul(d, d)


def _int_pow(b, x, y):
    """x ** y in int32 arithmetic (wrapping like numpy), by square-and-multiply over the 31
    bits of a non-negative y, branch-free so it vectorizes. A negative y gives the value
    truncated toward zero (TF.js stores Math.pow in an Int32Array): 1, +-1 for x = -1, else 0."""
    zero, one = ir.Constant(I32, 0), ir.Constant(I32, 1)
    result, base = one, x
    for bit in range(31):
        set_ = b.icmp_signed("!=", b.and_(b.ashr(y, ir.Constant(I32, bit)), one), zero)
        result = b.select(set_, b.mul(result, base), result)
        base = b.mul(base, base)
    odd = b.icmp_signed("!=", b.and_(y, one), zero)
    minus_one = b.select(odd, ir.Constant(I32, -1), one)
    negative = b.select(b.icmp_signed("==", x, one), one,
                        b.select(b.icmp_signed("==", x, ir.Constant(I32, -1)), minus_one, zero))
    return b.select(b.icmp_signed("<", y, zero), negative, result)


def _pow(ctx, a, node):
    if _is_float(node):
        return ctx.math.libm(ctx.b, "pow", *a)
    return _int_pow(ctx.b, a[0], a[1])


def _floor_div(ctx, a, node):
    b = ctx.b
    if _is_float(node):
        return ctx.math.call_intrinsic(b, "floor", b.fdiv(a[0], a[1]))
    return _int_floor_div(b, a[0], a[1])


SCALAR = {
    "neg": lambda ctx, a, node: ctx.b.fneg(a[0]) if _is_float(node) else ctx.b.neg(a[0]),
    "abs": _abs,
    "sign": _sign,
    "square": lambda ctx, a, node: ctx.b.fmul(a[0], a[0]) if _is_float(node) else ctx.b.mul(a[0], a[0]),
    "relu": _relu,
    "relu6": _relu6,
    "exp": _math("exp"),
    "expm1": _math("expm1"),
    "log": _math("log"),
    "log1p": _math("log1p"),
    "sqrt": _intrinsic("sqrt"),
    "rsqrt": lambda ctx, a, node: ctx.b.fdiv(f32(1.0), ctx.math.call_intrinsic(ctx.b, "sqrt", a[0])),
    "reciprocal": lambda ctx, a, node: ctx.b.fdiv(f32(1.0), a[0]),
    "floor": _intrinsic("floor"),
    "ceil": _intrinsic("ceil"),
    "round": _intrinsic("roundeven"),
    "sin": _libm("sin"),
    "cos": _libm("cos"),
    "tan": _libm("tan"),
    "asin": _libm("asin"),
    "acos": _libm("acos"),
    "atan": _libm("atan"),
    "sinh": _libm("sinh"),
    "cosh": _libm("cosh"),
    "asinh": _libm("asinh"),
    "acosh": _libm("acosh"),
    "atanh": _libm("atanh"),
    "erf": _libm("erf"),
    "tanh": _math("tanh"),
    "sigmoid": _math("sigmoid"),
    "softplus": _math("softplus"),
    "elu": _elu,
    "selu": _selu,
    "leakyRelu": _leaky_relu,
    "step": _step,
    "clip": _clip,
    "isNaN": lambda ctx, a, node: ctx.b.fcmp_unordered("uno", a[0], a[0]),
    "isInf": lambda ctx, a, node: ctx.b.fcmp_ordered(
        "==", ctx.math.call_intrinsic(ctx.b, "fabs", a[0]), f32(math.inf)),
    "isFinite": lambda ctx, a, node: ctx.b.fcmp_ordered(
        "<", ctx.math.call_intrinsic(ctx.b, "fabs", a[0]), f32(math.inf)),
    "logicalNot": lambda ctx, a, node: ctx.b.xor(a[0], ir.Constant(I1, 1)),
    "cast": _cast,
    "add": _arith("fadd", "add"),
    "sub": _arith("fsub", "sub"),
    "mul": _arith("fmul", "mul"),
    "div": lambda ctx, a, node: ctx.b.fdiv(a[0], a[1]),
    "floorDiv": _floor_div,
    "mod": lambda ctx, a, node: _float_mod(ctx, a, node) if _is_float(node) else _int_mod(ctx.b, *a),
    "pow": _pow,
    "maximum": _maximum,
    "minimum": _minimum,
    "squaredDifference": _squared_difference,
    "atan2": _libm("atan2"),
    "equal": _compare("==", "=="),
    "notEqual": _compare("!=", "!=", unordered=True),
    "less": _compare("<", "<"),
    "lessEqual": _compare("<=", "<="),
    "greater": _compare(">", ">"),
    "greaterEqual": _compare(">=", ">="),
    "logicalAnd": lambda ctx, a, node: ctx.b.and_(a[0], a[1]),
    "logicalOr": lambda ctx, a, node: ctx.b.or_(a[0], a[1]),
    "logicalXor": lambda ctx, a, node: ctx.b.xor(a[0], a[1]),
    "select": lambda ctx, a, node: ctx.b.select(a[0], a[1], a[2]),
}
