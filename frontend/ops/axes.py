"""Axis arguments: TF.js accepts an int, a list, null (all axes) and negative axes."""
from __future__ import annotations


def normalize_axis(axis, rank: int, op: str, extra: int = 0) -> int:
    """One axis in [-(rank+extra), rank+extra) mapped to [0, rank+extra)."""
    bound = rank + extra
    if isinstance(axis, bool) or not isinstance(axis, int):
        try:
            axis = int(axis)
        except (TypeError, ValueError):
            raise TypeError(f"{op}: axis must be an integer, got {axis!r}") from None
    if not -bound <= axis < max(bound, 1) or (bound == 0 and axis not in (0, -1)):
        raise ValueError(f"{op}: axis {axis} is out of range for a rank-{rank} tensor "
                         f"(expected -{bound} <= axis < {bound})")
    return axis % bound if bound else 0


def normalize_axes(axis, rank: int, op: str) -> tuple[int, ...]:
    """None -> every axis; int or list -> sorted distinct non-negative axes."""
    if axis is None:
        return tuple(range(rank))
    axes = [axis] if isinstance(axis, int) and not isinstance(axis, bool) else list(axis)
    result = [normalize_axis(a, rank, op) for a in axes]
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {list(axes)}")
    return tuple(sorted(result))
