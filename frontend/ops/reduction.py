"""Reductions: sum, mean, prod, max, min, argMax, argMin, all, any, logSumExp, moments, norm."""
from __future__ import annotations

import math as _math

from kiln.frontend.ops.axes import normalize_axes, normalize_axis
from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply, composite
from kiln.frontend.ops.math import _as, abs, add, div, exp, isFinite, log, pow, sqrt, square, sub, where

_INF = float("inf")


def _reduce(op, x, axis, keepDims):
    axes = normalize_axes(axis, x.rank, op)
    return apply(op, [x], {"axes": axes, "keepDims": bool(keepDims)})


def sum(x, axis=None, keepDims=False):
    """tf.sum(x, axis?, keepDims?); bool counts as int32."""
    x = convert(x, "x", "sum")
    return _reduce("sum", _as(x, "int32") if x.dtype == "bool" else x, axis, keepDims)


def prod(x, axis=None, keepDims=False):
    x = convert(x, "x", "prod")
    return _reduce("prod", _as(x, "int32") if x.dtype == "bool" else x, axis, keepDims)


def max(x, axis=None, keepDims=False):
    """tf.max(x, axis?, keepDims?); the max of a bool tensor is bool (as TF.js)."""
    x = convert(x, "x", "max")
    if x.dtype == "bool":
        return _as(_reduce("max", _as(x, "int32"), axis, keepDims), "bool")
    return _reduce("max", x, axis, keepDims)


def min(x, axis=None, keepDims=False):
    x = convert(x, "x", "min")
    if x.dtype == "bool":
        return _as(_reduce("min", _as(x, "int32"), axis, keepDims), "bool")
    return _reduce("min", x, axis, keepDims)


def all(x, axis=None, keepDims=False):
    return _reduce("all", _as(convert(x, "x", "all", "bool"), "bool"), axis, keepDims)


def any(x, axis=None, keepDims=False):
    return _reduce("any", _as(convert(x, "x", "any", "bool"), "bool"), axis, keepDims)


def _arg(op, x, axis):
    x = convert(x, "x", op)
    x = _as(x, "int32") if x.dtype == "bool" else x
    if x.rank == 0:
        raise ValueError(f"{op}: the input must have rank >= 1")
    return apply(op, [x], {"axis": normalize_axis(axis, x.rank, op)})


def argMax(x, axis=0):
    """Index of the largest element along axis (the first one on ties)."""
    return _arg("argMax", x, axis)


def argMin(x, axis=0):
    return _arg("argMin", x, axis)


@composite("x")
def mean(x, axis=None, keepDims=False):
    """tf.mean(x, axis?, keepDims?); float32 result."""
    x = _as(x, "float32")
    axes = normalize_axes(axis, x.rank, "mean")
    count = _math.prod(x.shape[a] for a in axes)
    total = _reduce("sum", x, axes, keepDims)
    return div(total, float(count)) if count else div(total, 0.0)


@composite("x")
def logSumExp(x, axis=None, keepDims=False):
    """log(sum(exp(x))) computed stably (shifted by the maximum)."""
    x = _as(x, "float32")
    axes = normalize_axes(axis, x.rank, "logSumExp")
    if 0 in [x.shape[a] for a in axes]:     # (`any` is tf.any in this module)
        return log(_reduce("sum", exp(x), axes, keepDims))     # log(0) = -inf, as numpy
    top = _reduce("max", x, axes, True)
    top = where(isFinite(top), top, 0.0)
    total = log(_reduce("sum", exp(sub(x, top)), axes, keepDims))
    shift = top if keepDims else apply("reshape", [top], {"shape": tuple(total.shape)})
    return add(total, shift)


@composite("x")
def moments(x, axis=None, keepDims=False):
    """{'mean', 'variance'} over the axes (population variance)."""
    x = _as(x, "float32")
    axes = normalize_axes(axis, x.rank, "moments")
    m = mean(x, axes, True)
    variance = mean(square(sub(x, m)), axes, keepDims)
    if not keepDims:
        m = apply("reshape", [m], {"shape": tuple(variance.shape)})
    return {"mean": m, "variance": variance}


@composite("x")
def norm(x, ord="euclidean", axis=None, keepDims=False):
    """tf.norm: vector norms (euclidean/fro/2, 1, inf, -inf, any p) over one axis or all
    elements; matrix norms ('fro', 'euclidean', 1, inf, -inf) over two axes."""
    x = _as(x, "float32")
    axes = normalize_axes(axis, x.rank, "norm")
    if x.rank == 0:
        return abs(x)
    if axis is not None and len(axes) == 2:
        # the order matters here: axis[0] indexes rows, axis[1] columns
        rows, cols = (normalize_axis(a, x.rank, "norm") for a in axis)
        return _matrix_norm(x, ord, (rows, cols), keepDims)
    if axis is not None and len(axes) > 2:
        raise ValueError(f"norm: axis must name one or two axes, got {axis}")
    if ord in ("euclidean", "fro", 2):
        return sqrt(_reduce("sum", square(x), axes, keepDims))
    if ord == 1:
        return _reduce("sum", abs(x), axes, keepDims)
    if ord == _INF:
        return _reduce("max", abs(x), axes, keepDims)
    if ord == -_INF:
        return _reduce("min", abs(x), axes, keepDims)
    if isinstance(ord, (int, float)) and ord > 0:
        return pow(_reduce("sum", pow(abs(x), float(ord)), axes, keepDims), 1.0 / ord)
    raise ValueError(f"norm: unsupported ord {ord!r} for a vector norm")


def _matrix_norm(x, ord, axes, keepDims):
    rows, cols = axes
    if ord in ("euclidean", "fro"):
        return sqrt(_reduce("sum", square(x), axes, keepDims))
    if ord in (1, -1, _INF, -_INF):
        inner, outer = (rows, cols) if ord in (1, -1) else (cols, rows)
        pick = "max" if ord in (1, _INF) else "min"
        sums = _reduce("sum", abs(x), (inner,), True)
        return _reduce(pick, sums, axes, keepDims)
    raise ValueError(f"norm: unsupported ord {ord!r} for a matrix norm")


__all__ = ["sum", "prod", "max", "min", "all", "any", "argMax", "argMin", "mean", "logSumExp",
           "moments", "norm"]
