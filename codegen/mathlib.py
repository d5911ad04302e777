"""Vectorizable float32 math in LLVM IR.

Each function is emitted once per module as an internal, always-inlined function made only of
arithmetic, bit operations and selects (no branches, no calls), so the loop vectorizer turns
every use into vector code at the host's width. Polynomial coefficients come from
kiln.codegen.polyfit. Functions that are rare in models and hard to vectorize accurately
(sin, cos, atan2, pow, ...) call the C library (libm), which every platform has.

Accuracy (checked against numpy in the tests): exp, log within 2 ulp; expm1, log1p, tanh,
sigmoid and softplus within a few ulp; special values (NaN, +-inf, 0, subnormals) as IEEE.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from kiln.codegen.irutil import F32, I1, I32

EXP_P = (0.5, 0.1666666716337204, 0.04166646674275398, 0.00833331048488617,
         0.0013933641603216529, 0.00019890980911441147)
LOG_Q = (0.3333333134651184, -0.2499999701976776, 0.20000715553760529, -0.1666780263185501,
         0.14249058067798615, -0.12425687164068222, 0.11685419827699661, -0.11479733884334564,
         0.06971611827611923)
# ln 2 split so that n * LN2_HI is exact for the |n| <= 150 that exp and log produce.
LN2_HI = 0.693359375
LN2_LO = -2.12194440e-4
LOG2E = 1.4426950408889634
EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(2, 10))   # x^2/2! ... x^9/9!

LIBM = {  # kiln op -> C function (float32 variants from libm)
    "sin": "sinf", "cos": "cosf", "tan": "tanf", "asin": "asinf", "acos": "acosf",
    "atan": "atanf", "sinh": "sinhf", "cosh": "coshf", "asinh": "asinhf", "acosh": "acoshf",
    "atanh": "atanhf", "erf": "erff", "atan2": "atan2f", "pow": "powf",
}


def f32(v) -> ir.Constant:
    return ir.Constant(F32, float(v))


class MathLib:
    """Emits math functions into `module` on first use; `lib.call(b, 'exp', x)`."""

    def __init__(self, module: ir.Module):
        self.module = module
        self._functions: dict[str, ir.Function] = {}

    def intrinsic(self, name: str, ty=F32, n_args=1) -> ir.Function:
        key = f"llvm.{name}.f32"
        if key not in self._functions:
            fnty = ir.FunctionType(ty, [ty] * n_args)
            self._functions[key] = ir.Function(self.module, fnty, key)
        return self._functions[key]

    def call_intrinsic(self, b, name, *args):
        return b.call(self.intrinsic(name, n_args=len(args)), list(args))

    def libm(self, b, op, *args):
        cname = LIBM[op]
        if cname not in self._functions:
            fn = ir.Function(self.module, ir.FunctionType(F32, [F32] * len(args)), cname)
            self._functions[cname] = fn
        return b.call(self._functions[cname], list(args))

    def call(self, b, name: str, *args):
        if name not in self._functions:
            emit = getattr(self, f"_emit_{name}")
            fn = ir.Function(self.module, ir.FunctionType(F32, [F32] * len(args)), f"kiln.{name}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            fb = ir.IRBuilder(fn.append_basic_block("entry"))
            fb.ret(emit(fb, *fn.args))
            self._functions[name] = fn
        return b.call(self._functions[name], list(args))

    # ---- helpers -----------------------------------------------------------------------
    @staticmethod
    def horner(b, x, coefs):
        acc = f32(coefs[-1])
        for c in reversed(coefs[:-1]):
            acc = b.fadd(b.fmul(acc, x), f32(c))
        return acc

    def isnan(self, b, x):
        return b.fcmp_unordered("uno", x, x)

    # ---- exp and log -------------------------------------------------------------------
    def _emit_exp(self, b, x):
        # Clamp to where the result is 0 or inf anyway (NaN passes through the selects).
        xc = b.select(b.fcmp_ordered(">", x, f32(89.0)), f32(89.0), x)
        xc = b.select(b.fcmp_ordered("<", xc, f32(-104.0)), f32(-104.0), xc)
        n = self.call_intrinsic(b, "roundeven", b.fmul(xc, f32(LOG2E)))
        r = b.fsub(xc, b.fmul(n, f32(LN2_HI)))
        r = b.fsub(r, b.fmul(n, f32(LN2_LO)))
        p = self.horner(b, r, EXP_P)
        y = b.fadd(b.fadd(f32(1.0), r), b.fmul(b.fmul(r, r), p))
        # Scale by 2^n in two steps so that n in [-150, 128] never leaves the exponent range.
        n_safe = b.select(self.isnan(b, n), f32(0.0), n)
        ni = b.fptosi(n_safe, I32)
        half = b.ashr(ni, ir.Constant(I32, 1))
        rest = b.sub(ni, half)
        s1 = b.bitcast(b.shl(b.add(half, ir.Constant(I32, 127)), ir.Constant(I32, 23)), F32)
        s2 = b.bitcast(b.shl(b.add(rest, ir.Constant(I32, 127)), ir.Constant(I32, 23)), F32)
        return b.fmul(b.fmul(y, s1), s2)

    def _emit_log(self, b, x):
        # Scale subnormals up by 2^23 so the exponent/mantissa split below is exact.
        tiny = b.fcmp_ordered("<", x, f32(1.1754943508222875e-38))
        xs = b.select(tiny, b.fmul(x, f32(8388608.0)), x)
        e_adjust = b.select(tiny, ir.Constant(I32, -23), ir.Constant(I32, 0))
        bits = b.bitcast(xs, I32)
        e = b.sub(b.lshr(bits, ir.Constant(I32, 23)), ir.Constant(I32, 127))
        e = b.add(e, e_adjust)
        m = b.bitcast(b.or_(b.and_(bits, ir.Constant(I32, 0x007FFFFF)),
                            ir.Constant(I32, 0x3F800000)), F32)   # m in [1, 2)
        big = b.fcmp_ordered(">", m, f32(1.4142135623730951))
        m = b.select(big, b.fmul(m, f32(0.5)), m)
        e = b.add(e, b.zext(big, I32))
        f = b.fsub(m, f32(1.0))                                      # f in [-0.293, 0.414]
        f2 = b.fmul(f, f)
        q = self.horner(b, f, LOG_Q)
        y = b.fadd(b.fsub(f, b.fmul(f32(0.5), f2)), b.fmul(b.fmul(f2, f), q))
        ef = b.sitofp(e, F32)
        r = b.fadd(b.fadd(b.fmul(ef, f32(LN2_LO)), y), b.fmul(ef, f32(LN2_HI)))
        inf = f32(math.inf)
        r = b.select(b.fcmp_ordered("==", x, inf), inf, r)
        r = b.select(b.fcmp_ordered("==", x, f32(0.0)), f32(-math.inf), r)
        bad = b.or_(b.fcmp_ordered("<", x, f32(0.0)), self.isnan(b, x))
        return b.select(bad, f32(math.nan), r)

    # ---- derived functions -------------------------------------------------------------
    def _emit_expm1(self, b, x):
        small = b.fcmp_ordered("<", self.call_intrinsic(b, "fabs", x), f32(0.5))
        taylor = b.fadd(x, b.fmul(b.fmul(x, x), self.horner(b, x, EXPM1_TAYLOR)))
        big = b.fsub(self.call(b, "exp", x), f32(1.0))
        result = b.select(small, taylor, big)
        return b.select(b.fcmp_ordered("==", x, f32(0.0)), x, result)     # keeps -0.0

    def _emit_log1p(self, b, x):
        # log1p(x) = log(u) * x / (u - 1) with u = 1 + x corrects u's rounding error.
        u = b.fadd(f32(1.0), x)
        um1 = b.fsub(u, f32(1.0))
        corrected = b.fmul(self.call(b, "log", u), b.fdiv(x, um1))   # (x/um1 ~ 1: no overflow)
        exact = b.fcmp_ordered("==", um1, f32(0.0))
        r = b.select(exact, x, corrected)
        return b.select(b.fcmp_ordered("==", x, f32(math.inf)), x, r)

    def _emit_tanh(self, b, x):
        ax = self.call_intrinsic(b, "fabs", x)
        ax = b.select(b.fcmp_ordered(">", ax, f32(9.0)), f32(9.0), ax)
        e = self.call(b, "expm1", b.fmul(ax, f32(2.0)))
        t = b.fdiv(e, b.fadd(e, f32(2.0)))
        return self.call_intrinsic(b, "copysign", t, x)

    def _emit_sigmoid(self, b, x):
        # e = exp(-|x|) never overflows: 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0 (down
        # to the subnormal results of x < -87.3, where exp(-x) would overflow to inf).
        e = self.call(b, "exp", b.fneg(self.call_intrinsic(b, "fabs", x)))
        numerator = b.select(b.fcmp_ordered("<", x, f32(0.0)), e, f32(1.0))
        return b.fdiv(numerator, b.fadd(f32(1.0), e))

    def _emit_softplus(self, b, x):
        # max(x, 0) + log1p(exp(-|x|)); NaN propagates through the select's else-branch.
        neg_abs = b.fneg(self.call_intrinsic(b, "fabs", x))
        tail = self.call(b, "log1p", self.call(b, "exp", neg_abs))
        pos = b.select(b.fcmp_ordered(">", x, f32(0.0)), x, f32(0.0))
        return b.fadd(pos, tail)
