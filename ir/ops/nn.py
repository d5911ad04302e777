"""Convolution, pooling and resizing ops, channels-last: x is [N, spatial..., C].

Every spatial op takes its padding as explicit (before, after) pairs per spatial axis; the
frontend resolves 'same' / 'valid' / 'causal' (kiln.frontend.ops.conv_util).

  conv(x, filter)                      filter [k..., C/groups, F] -> [N, out..., F]
      out[n, o, f] = sum_{k, c} x[n, o*s + k*d - pad_before, g(f)*C/groups + c] * filter[k, c, f]
      with g(f) = f // (F/groups) and zero outside x. Depthwise conv is groups = C with the
      depth multiplier folded into F (filter [k..., 1, C*multiplier]).
  convBackpropInput(dy, filter)        the transposed convolution: d conv / d x for the
      forward conv of input shape `inputShape`.
  convBackpropFilter(x, dy)            d conv / d filter, of shape `filterShape`.
  pool(x)                              max or average over windows; padded positions are not
      part of a window (average divides by the number of real elements, as TensorFlow).
  maxPoolGrad(x, dy)                   routes each dy to the first maximum of its window.
  avgPoolGrad(dy)                      spreads each dy evenly over its window's real elements.
  resize(x)                            [N, H, W, C] -> [N, h, w, C], nearest or bilinear, with
      TensorFlow's alignCorners / halfPixelCenters coordinate rules.
  resizeGrad(dy)                       its gradient, of shape `inputShape`.
"""
from __future__ import annotations

from kiln.ir.dtypes import float32
from kiln.ir.errors import ShapeError
from kiln.ir.ops._rules import require_dtype
from kiln.ir.registry import REQUIRED, Kind, OpDef, register
from kiln.ir.types import TensorType

WINDOW_ATTRS = {"strides": REQUIRED, "dilations": REQUIRED, "pads": REQUIRED, "groups": 1}


def window_output_size(size: int, kernel: int, stride: int, dilation: int, pads) -> int:
    """Number of window positions along one axis (may be <= 0 when the window does not fit)."""
    effective = (kernel - 1) * dilation + 1
    return (size + pads[0] + pads[1] - effective) // stride + 1


def _check_window_attrs(op: str, rank: int, attrs, names=("strides", "dilations")):
    for name in names:
        values = attrs[name]
        if len(values) != rank or any(not isinstance(v, int) or v < 1 for v in values):
            raise ShapeError(f"{op}: {name} {list(values)} must be {rank} positive integers")
    pads = attrs["pads"]
    if len(pads) != rank or any(len(p) != 2 or not all(isinstance(q, int) and q >= 0 for q in p)
                                for p in pads):
        raise ShapeError(f"{op}: pads {[list(p) for p in pads]} must be {rank} non-negative "
                         "(before, after) pairs")


def conv_output_shape(op: str, x_shape, filter_shape, attrs) -> tuple[int, ...]:
    """Output shape of conv(x, filter) or a ShapeError naming the op and the operand at fault."""
    rank = len(x_shape) - 2
    if rank < 1:
        raise ShapeError(f"{op}: the input must have rank >= 3 ([batch, spatial..., channels]), "
                         f"got shape {list(x_shape)}")
    if len(filter_shape) != rank + 2:
        raise ShapeError(f"{op}: the filter must have rank {rank + 2} for a rank-{rank + 2} input, "
                         f"got filter shape {list(filter_shape)}")
    _check_window_attrs(op, rank, attrs)
    groups = attrs["groups"]
    channels, filters = x_shape[-1], filter_shape[-1]
    if not isinstance(groups, int) or groups < 1 or channels % groups or filters % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the input channels ({channels}) and "
                         f"the filters ({filters})")
    if filter_shape[-2] != channels // groups:
        raise ShapeError(f"{op}: the filter's input-channel axis is {filter_shape[-2]}, expected "
                         f"{channels // groups} (input channels {channels} / groups {groups}); "
                         f"input {list(x_shape)}, filter {list(filter_shape)}")
    out = []
    for axis in range(rank):
        n = window_output_size(x_shape[1 + axis], filter_shape[axis], attrs["strides"][axis],
                               attrs["dilations"][axis], attrs["pads"][axis])
        if n < 1 and x_shape[1 + axis] > 0:
            raise ShapeError(f"{op}: the dilated filter ({list(filter_shape[:rank])}, dilations "
                             f"{list(attrs['dilations'])}) does not fit in the padded input "
                             f"{list(x_shape)} along spatial axis {axis}")
        out.append(max(n, 0))
    return (x_shape[0], *out, filters)


def _conv(inputs, attrs):
    x, w = inputs
    require_dtype("conv", 0, x, (float32,))
    require_dtype("conv", 1, w, (float32,))
    return [TensorType(conv_output_shape("conv", x.shape, w.shape, attrs), float32)]


def _conv_backprop_input(inputs, attrs):
    dy, w = inputs
    require_dtype("convBackpropInput", 0, dy, (float32,))
    require_dtype("convBackpropInput", 1, w, (float32,))
    shape = tuple(attrs["inputShape"])
    expected = conv_output_shape("convBackpropInput", shape, w.shape, attrs)
    if expected != dy.shape:
        raise ShapeError(f"convBackpropInput: dy has shape {list(dy.shape)}, but a conv of input "
                         f"{list(shape)} with filter {list(w.shape)} gives {list(expected)}")
    return [TensorType(shape, float32)]


def _conv_backprop_filter(inputs, attrs):
    x, dy = inputs
    require_dtype("convBackpropFilter", 0, x, (float32,))
    require_dtype("convBackpropFilter", 1, dy, (float32,))
    shape = tuple(attrs["filterShape"])
    expected = conv_output_shape("convBackpropFilter", x.shape, shape, attrs)
    if expected != dy.shape:
        raise ShapeError(f"convBackpropFilter: dy has shape {list(dy.shape)}, but a conv of input "
                         f"{list(x.shape)} with filter {list(shape)} gives {list(expected)}")
    return [TensorType(shape, float32)]


def pool_output_shape(op: str, x_shape, attrs) -> tuple[int, ...]:
    rank = len(x_shape) - 2
    if rank < 1:
        raise ShapeError(f"{op}: the input must have rank >= 3 ([batch, spatial..., channels]), "
                         f"got shape {list(x_shape)}")
    if attrs["mode"] not in ("max", "avg"):
        raise ShapeError(f"{op}: mode must be 'max' or 'avg', got {attrs['mode']!r}")
    _check_window_attrs(op, rank, attrs, ("window", "strides"))
    out = []
    for axis in range(rank):
        k, pads = attrs["window"][axis], attrs["pads"][axis]
        if max(pads) >= k:
            raise ShapeError(f"{op}: padding {list(pads)} along spatial axis {axis} must be "
                             f"smaller than the window ({k}), or a window could be all padding")
        n = window_output_size(x_shape[1 + axis], k, attrs["strides"][axis], 1, pads)
        if n < 1 and x_shape[1 + axis] > 0:
            raise ShapeError(f"{op}: the window {list(attrs['window'])} does not fit in the padded "
                             f"input {list(x_shape)} along spatial axis {axis}")
        out.append(max(n, 0))
    return (x_shape[0], *out, x_shape[-1])


POOL_ATTRS = {"mode": REQUIRED, "window": REQUIRED, "strides": REQUIRED, "pads": REQUIRED}


def _pool(inputs, attrs):
    (x,) = inputs
    require_dtype("pool", 0, x, (float32,))
    return [TensorType(pool_output_shape("pool", x.shape, attrs), float32)]


def _max_pool_grad(inputs, attrs):
    x, dy = inputs
    require_dtype("maxPoolGrad", 0, x, (float32,))
    require_dtype("maxPoolGrad", 1, dy, (float32,))
    expected = pool_output_shape("maxPoolGrad", x.shape, {**attrs, "mode": "max"})
    if expected != dy.shape:
        raise ShapeError(f"maxPoolGrad: dy has shape {list(dy.shape)}, the pool of {list(x.shape)} "
                         f"has shape {list(expected)}")
    return [x]


def _avg_pool_grad(inputs, attrs):
    (dy,) = inputs
    require_dtype("avgPoolGrad", 0, dy, (float32,))
    shape = tuple(attrs["inputShape"])
    expected = pool_output_shape("avgPoolGrad", shape, {**attrs, "mode": "avg"})
    if expected != dy.shape:
        raise ShapeError(f"avgPoolGrad: dy has shape {list(dy.shape)}, the pool of {list(shape)} "
                         f"has shape {list(expected)}")
    return [TensorType(shape, float32)]


RESIZE_ATTRS = {"method": REQUIRED, "alignCorners": False, "halfPixelCenters": False}


def _check_resize(op, x_shape, size, attrs):
    if len(x_shape) != 4:
        raise ShapeError(f"{op}: images must have rank 4 ([batch, height, width, channels]), got "
                         f"shape {list(x_shape)}")
    if attrs["method"] not in ("bilinear", "nearest"):
        raise ShapeError(f"{op}: method must be 'bilinear' or 'nearest', got {attrs['method']!r}")
    if len(size) != 2 or any(not isinstance(d, int) or d < 1 for d in size):
        raise ShapeError(f"{op}: size {list(size)} must be two positive integers")
    if attrs["alignCorners"] and attrs["halfPixelCenters"]:
        raise ShapeError(f"{op}: alignCorners and halfPixelCenters cannot both be true")
    if 0 in x_shape[1:3]:
        raise ShapeError(f"{op}: cannot resize an empty image of shape {list(x_shape)}")


def _resize(inputs, attrs):
    (x,) = inputs
    require_dtype("resize", 0, x, (float32,))
    _check_resize("resize", x.shape, attrs["size"], attrs)
    n, _, _, c = x.shape
    return [TensorType((n, *attrs["size"], c), float32)]


def _resize_grad(inputs, attrs):
    (dy,) = inputs
    require_dtype("resizeGrad", 0, dy, (float32,))
    shape = tuple(attrs["inputShape"])
    _check_resize("resizeGrad", shape, dy.shape[1:3], attrs)
    if dy.rank != 4 or dy.shape[0] != shape[0] or dy.shape[3] != shape[3]:
        raise ShapeError(f"resizeGrad: dy of shape {list(dy.shape)} does not match images of "
                         f"shape {list(shape)}")
    return [TensorType(shape, float32)]


register(OpDef("conv", Kind.CONTRACTION, _conv, dict(WINDOW_ATTRS), arity=2,
               doc="grouped, strided, dilated, explicitly padded convolution (channels last)"))
register(OpDef("convBackpropInput", Kind.CONTRACTION, _conv_backprop_input,
               {"inputShape": REQUIRED, **WINDOW_ATTRS}, arity=2,
               doc="transposed convolution: the gradient of conv with respect to its input"))
register(OpDef("convBackpropFilter", Kind.CONTRACTION, _conv_backprop_filter,
               {"filterShape": REQUIRED, **WINDOW_ATTRS}, arity=2,
               doc="the gradient of conv with respect to its filter"))
register(OpDef("pool", Kind.WINDOW, _pool, dict(POOL_ATTRS),
               doc="max or average over windows; padding is excluded from every window"))
register(OpDef("maxPoolGrad", Kind.WINDOW, _max_pool_grad,
               {k: v for k, v in POOL_ATTRS.items() if k != "mode"}, arity=2,
               doc="dx of a max pool: each dy goes to the first maximum of its window"))
register(OpDef("avgPoolGrad", Kind.WINDOW, _avg_pool_grad,
               {"inputShape": REQUIRED, **{k: v for k, v in POOL_ATTRS.items() if k != "mode"}},
               doc="dx of an average pool"))
register(OpDef("resize", Kind.WINDOW, _resize, {"size": REQUIRED, **RESIZE_ATTRS},
               doc="resize images (nearest or bilinear), TensorFlow's coordinate rules"))
register(OpDef("resizeGrad", Kind.WINDOW, _resize_grad, {"inputShape": REQUIRED, **RESIZE_ATTRS},
               doc="the gradient of resize with respect to its images"))

CONV_OPS = frozenset({"conv", "convBackpropInput", "convBackpropFilter"})
WINDOW_OPS = frozenset({"pool", "maxPoolGrad", "avgPoolGrad", "resize", "resizeGrad"})
