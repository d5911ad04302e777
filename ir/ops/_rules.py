"""Shape-rule helpers shared by the op definitions."""
from __future__ import annotations

from kiln.ir.errors import ShapeError


def broadcast_shapes(op: str, *shapes) -> tuple[int, ...]:
    """numpy broadcasting; the error names the op and both shapes."""
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            raise ShapeError(
                f"{op}: operands could not be broadcast together with shapes "
                + " and ".join(str(list(s)) for s in shapes)
            )
        result.append(dims.pop() if dims else 1)
    return tuple(result)


def check_axes(op: str, axes, rank: int) -> tuple[int, ...]:
    """Axes must already be normalized (0 <= a < rank) and distinct."""
    axes = tuple(axes)
    for a in axes:
        if not isinstance(a, int) or not 0 <= a < rank:
            raise ShapeError(f"{op}: axis {a} is out of range for a rank-{rank} operand")
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: repeated axis in {list(axes)}")
    return axes


def require_dtype(op: str, index: int, t, allowed) -> None:
    if t.dtype not in allowed:
        names = ", ".join(d.value for d in allowed)
        raise ShapeError(f"{op}: operand {index} has dtype {t.dtype.value}; expected {names}")


def same_dtype(op: str, types) -> None:
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        raise ShapeError(
            f"{op}: operands must have one dtype, got " + ", ".join(t.dtype.value for t in types)
        )
