"""Linear algebra: matMul, dot, outerProduct, transpose."""
from __future__ import annotations

from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply
from kiln.frontend.ops.math import _as, match_types


def matMul(a, b, transposeA=False, transposeB=False):
    """tf.matMul(a, b, transposeA?, transposeB?): batched over leading axes (broadcast)."""
    a, b = match_types(convert(a, "a", "matMul"), convert(b, "b", "matMul"))
    if a.rank < 2 or b.rank < 2:
        raise ValueError(f"matMul: inputs must have rank >= 2, got ranks {a.rank} and {b.rank}")
    dtype = a.dtype
    out = apply("matMul", [_as(a, "float32"), _as(b, "float32")],
                {"transposeA": bool(transposeA), "transposeB": bool(transposeB)})
    return out if dtype == "float32" else _as(apply("round", [out]), dtype)


def dot(t1, t2):
    """tf.dot: vector·vector (scalar), matrix·vector, vector·matrix, matrix·matrix."""
    t1, t2 = convert(t1, "t1", "dot"), convert(t2, "t2", "dot")
    if t1.rank not in (1, 2) or t2.rank not in (1, 2):
        raise ValueError(f"dot: inputs must be rank 1 or 2, got ranks {t1.rank} and {t2.rank}")
    n1 = t1.shape[-1]
    n2 = t2.shape[0]
    if n1 != n2:
        raise ValueError(f"dot: inner dimensions must match, got {t1.shape} and {t2.shape}")
    a = reshape_(t1, [1, n1]) if t1.rank == 1 else t1
    b = reshape_(t2, [n2, 1]) if t2.rank == 1 else t2
    out = matMul(a, b)
    if t1.rank == 1 and t2.rank == 1:
        return reshape_(out, [])
    if t1.rank == 1:
        return reshape_(out, [t2.shape[1]])
    if t2.rank == 1:
        return reshape_(out, [t1.shape[0]])
    return out


def outerProduct(v1, v2):
    """[n] x [m] -> [n, m]."""
    v1, v2 = convert(v1, "v1", "outerProduct"), convert(v2, "v2", "outerProduct")
    if v1.rank != 1 or v2.rank != 1:
        raise ValueError(f"outerProduct: inputs must be rank 1, got ranks {v1.rank} and {v2.rank}")
    return matMul(reshape_(v1, [v1.shape[0], 1]), reshape_(v2, [1, v2.shape[0]]))


def transpose(x, perm=None):
    """tf.transpose(x, perm?): perm defaults to reversing the axes."""
    x = convert(x, "x", "transpose")
    if perm is None:
        perm = list(range(x.rank))[::-1]
    perm = [int(p) % x.rank if x.rank else 0 for p in perm] if all(
        -x.rank <= int(p) < x.rank for p in perm) else list(perm)
    if sorted(perm) != list(range(x.rank)):
        raise ValueError(f"transpose: perm {list(perm)} is not a permutation of the {x.rank} "
                         f"axes of shape {x.shape}")
    if perm == list(range(x.rank)):
        return apply("reshape", [x], {"shape": tuple(x.shape)})
    return apply("transpose", [x], {"perm": tuple(perm)})


def reshape_(x, shape):
    return apply("reshape", [x], {"shape": tuple(shape)})
