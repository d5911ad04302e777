"""Contractions: batched matrix multiplication."""
from __future__ import annotations

from kiln.ir.dtypes import float32
from kiln.ir.errors import ShapeError
from kiln.ir.ops._rules import broadcast_shapes, require_dtype
from kiln.ir.registry import Kind, OpDef, register
from kiln.ir.types import TensorType


def matmul_dims(a, b, transpose_a, transpose_b):
    """(batch shape, M, K, N) of a matMul, or ShapeError naming the mismatch."""
    if a.rank < 2 or b.rank < 2:
        raise ShapeError(f"matMul: operands must have rank >= 2, got {list(a.shape)} and {list(b.shape)}")
    m, ka = (a.shape[-1], a.shape[-2]) if transpose_a else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if transpose_b else (b.shape[-2], b.shape[-1])
    if ka != kb:
        raise ShapeError(
            f"matMul: inner dimensions must agree: {list(a.shape)}"
            f"{' (transposed)' if transpose_a else ''} and {list(b.shape)}"
            f"{' (transposed)' if transpose_b else ''} give {ka} != {kb}")
    try:
        batch = broadcast_shapes("matMul", a.shape[:-2], b.shape[:-2])
    except ShapeError:
        raise ShapeError(f"matMul: the batch dimensions of {list(a.shape)} and "
                         f"{list(b.shape)} cannot be broadcast together") from None
    return batch, m, ka, n


def _matmul(inputs, attrs):
    a, b = inputs
    require_dtype("matMul", 0, a, (float32,))
    require_dtype("matMul", 1, b, (float32,))
    batch, m, _, n = matmul_dims(a, b, attrs["transposeA"], attrs["transposeB"])
    return [TensorType(batch + (m, n), float32)]


register(OpDef("matMul", Kind.CONTRACTION, _matmul,
               {"transposeA": False, "transposeB": False}, arity=2,
               doc="batched a @ b over the last two axes; batch axes broadcast"))
