"""Convolution and pooling ops: tf.conv1d, conv2d, conv3d, depthwiseConv2d, separableConv2d,
conv2dTranspose, conv3dTranspose, maxPool, avgPool, maxPool3d, avgPool3d.

Signatures, defaults and padding rules are TF.js's (tfjs-core/src/ops/*.ts). Inputs may be
unbatched (rank one less), as in TF.js; 'NCHW'-style data formats are transposed around the
channels-last IR ops. The layers call the lower-level `conv`, `conv_transpose` and `pool`,
which take already resolved explicit padding.
"""
from __future__ import annotations

from kiln.frontend.ops.conv_util import resolve_pads
from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import apply
from kiln.frontend.ops.math import _as


def _tuple(value, n: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        values = tuple(int(v) for v in value)
        if len(values) == 1:
            values *= n
    if len(values) != n or any(v < 1 for v in values):
        raise ValueError(f"{op}: {name} must be a positive integer or {n} positive integers, "
                         f"got {value!r}")
    return values


# ---- the IR-level entry points (explicit padding, channels last) --------------------------
def conv(x, filter, strides, pads, dilations=None, groups: int = 1):
    rank = len(strides)
    dilations = dilations or (1,) * rank
    return apply("conv", [_as(x, "float32"), _as(filter, "float32")],
                 {"strides": tuple(strides), "dilations": tuple(dilations),
                  "pads": tuple(tuple(p) for p in pads), "groups": int(groups)})


def conv_transpose(x, filter, output_shape, strides, pads, dilations=None, groups: int = 1):
    """The transposed convolution: filter [k..., outChannels, inChannels] as in TF.js."""
    rank = len(strides)
    dilations = dilations or (1,) * rank
    return apply("convBackpropInput", [_as(x, "float32"), _as(filter, "float32")],
                 {"inputShape": tuple(int(d) for d in output_shape), "strides": tuple(strides),
                  "dilations": tuple(dilations), "pads": tuple(tuple(p) for p in pads),
                  "groups": int(groups)})


def pool(x, mode: str, window, strides, pads):
    return apply("pool", [_as(x, "float32")],
                 {"mode": mode, "window": tuple(window), "strides": tuple(strides),
                  "pads": tuple(tuple(p) for p in pads)})


# ---- helpers for the public ops ------------------------------------------------------------
_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _batched(x, rank: int, op: str, name: str = "x"):
    """(x as a batched rank+2 tensor, whether a batch axis was added)."""
    if x.rank == rank + 1:
        return apply("reshape", [x], {"shape": (1, *x.shape)}), True
    if x.rank != rank + 2:
        raise ValueError(f"{op}: {name} must be rank {rank + 2} (or {rank + 1} without a batch "
                         f"axis), but got rank {x.rank} (shape {x.shape})")
    return x, False


def _unbatched(y, squeeze: bool):
    return apply("reshape", [y], {"shape": tuple(y.shape[1:])}) if squeeze else y


def _channels_last(x, data_format: str, rank: int, op: str):
    last, first = _FORMATS[rank]
    if data_format == last:
        return x, False
    if data_format != first:
        raise ValueError(f"{op}: dataFormat must be '{last}' or '{first}', got {data_format!r}")
    perm = (0, *range(2, rank + 2), 1)
    return apply("transpose", [x], {"perm": perm}), True


def _channels_first(y, moved: bool, rank: int):
    if not moved:
        return y
    return apply("transpose", [y], {"perm": (0, rank + 1, *range(1, rank + 1))})


def _check_filter(filter, rank: int, op: str):
    if filter.rank != rank + 2:
        raise ValueError(f"{op}: filter must be rank {rank + 2}, but got rank {filter.rank} "
                         f"(shape {filter.shape})")


def _conv_nd(op, rank, x, filter, strides, pad, data_format, dilations, rounding, groups=None,
             depthwise=False):
    x = convert(x, "x", op)
    filter = convert(filter, "filter", op)
    x, squeeze = _batched(x, rank, op)
    x, moved = _channels_last(x, data_format, rank, op)
    _check_filter(filter, rank, op)
    strides = _tuple(strides, rank, "strides", op)
    dilations = _tuple(dilations, rank, "dilations", op)
    channels = x.shape[-1]
    if depthwise:
        if filter.shape[-2] != channels:
            raise ValueError(f"{op}: the filter's third axis ({filter.shape[-2]}) must equal the "
                             f"input channels ({channels}); filter shape {filter.shape}")
        mult = filter.shape[-1]
        filter = apply("reshape", [filter], {"shape": (*filter.shape[:rank], 1, channels * mult)})
        groups = channels
    elif filter.shape[-2] != channels:
        raise ValueError(f"{op}: depth of input ({channels}) must match input depth for filter "
                         f"{filter.shape[-2]} (filter shape {filter.shape})")
    pads = resolve_pads(op, pad, x.shape[1:-1], filter.shape[:rank], strides, dilations, rounding)
    y = conv(x, filter, strides, pads, dilations, groups or 1)
    return _unbatched(_channels_first(y, moved, rank), squeeze)


# ---- public ops ----------------------------------------------------------------------------
def conv1d(x, filter, stride, pad, dataFormat="NWC", dilation=1, dimRoundingMode=None):
    """tf.conv1d: x [batch, width, inChannels], filter [width, inChannels, outChannels]."""
    return _conv_nd("conv1d", 1, x, filter, stride, pad, dataFormat, dilation, dimRoundingMode)


def conv2d(x, filter, strides, pad, dataFormat="NHWC", dilations=(1, 1), dimRoundingMode=None):
    """tf.conv2d: x [batch, h, w, inChannels], filter [h, w, inChannels, outChannels]."""
    return _conv_nd("conv2d", 2, x, filter, strides, pad, dataFormat, dilations, dimRoundingMode)


def conv3d(x, filter, strides, pad, dataFormat="NDHWC", dilations=(1, 1, 1)):
    """tf.conv3d: x [batch, d, h, w, inChannels], filter [d, h, w, inChannels, outChannels]."""
    return _conv_nd("conv3d", 3, x, filter, strides, pad, dataFormat, dilations, None)


def depthwiseConv2d(x, filter, strides, pad, dataFormat="NHWC", dilations=(1, 1),
                    dimRoundingMode=None):
    """tf.depthwiseConv2d: filter [h, w, inChannels, channelMultiplier]; output channel
    c * channelMultiplier + m convolves input channel c with filter[..., c, m]."""
    return _conv_nd("depthwiseConv2d", 2, x, filter, strides, pad, dataFormat, dilations,
                    dimRoundingMode, depthwise=True)


def separableConv2d(x, depthwiseFilter, pointwiseFilter, strides, pad, dilation=(1, 1),
                    dataFormat="NHWC"):
    """tf.separableConv2d: a depthwise conv, then a 1x1 conv with pointwiseFilter
    [1, 1, inChannels * channelMultiplier, outChannels]."""
    op = "separableConv2d"
    pointwiseFilter = convert(pointwiseFilter, "pointwiseFilter", op)
    if pointwiseFilter.rank != 4 or pointwiseFilter.shape[:2] != [1, 1]:
        raise ValueError(f"{op}: pointwiseFilter must have shape [1, 1, inChannels * multiplier,"
                         f" outChannels], got {pointwiseFilter.shape}")
    x = convert(x, "x", op)
    x, squeeze = _batched(x, 2, op)
    x, moved = _channels_last(x, dataFormat, 2, op)
    y = depthwiseConv2d(x, depthwiseFilter, strides, pad, "NHWC", dilation)
    if pointwiseFilter.shape[2] != y.shape[-1]:
        raise ValueError(f"{op}: pointwiseFilter's third axis must be inChannels * multiplier "
                         f"({y.shape[-1]}), got {pointwiseFilter.shape[2]}")
    y = conv(y, pointwiseFilter, (1, 1), ((0, 0), (0, 0)))
    return _unbatched(_channels_first(y, moved, 2), squeeze)


def _conv_transpose_nd(op, rank, x, filter, outputShape, strides, pad, rounding=None):
    x = convert(x, "x", op)
    filter = convert(filter, "filter", op)
    x, squeeze = _batched(x, rank, op)
    _check_filter(filter, rank, op)
    out = [int(d) for d in outputShape]
    if len(out) == rank + 1:
        out = [x.shape[0]] + out
    if len(out) != rank + 2:
        raise ValueError(f"{op}: outputShape {list(outputShape)} must have {rank + 2} entries")
    if filter.shape[-1] != x.shape[-1]:
        raise ValueError(f"{op}: depth of input ({x.shape[-1]}) must match input depth for "
                         f"filter {filter.shape[-1]} (filter shape {filter.shape})")
    if filter.shape[-2] != out[-1]:
        raise ValueError(f"{op}: depth of output ({out[-1]}) must match output depth for "
                         f"filter {filter.shape[-2]} (filter shape {filter.shape})")
    strides = _tuple(strides, rank, "strides", op)
    pads = resolve_pads(op, pad, out[1:-1], filter.shape[:rank], strides, (1,) * rank, rounding)
    return _unbatched(conv_transpose(x, filter, out, strides, pads), squeeze)


def conv2dTranspose(x, filter, outputShape, strides, pad, dimRoundingMode=None):
    """tf.conv2dTranspose: filter [h, w, outChannels, inChannels]; the gradient of conv2d."""
    return _conv_transpose_nd("conv2dTranspose", 2, x, filter, outputShape, strides, pad,
                              dimRoundingMode)


def conv3dTranspose(x, filter, outputShape, strides, pad):
    """tf.conv3dTranspose: filter [d, h, w, outChannels, inChannels]."""
    return _conv_transpose_nd("conv3dTranspose", 3, x, filter, outputShape, strides, pad)


def _pool_nd(op, rank, mode, x, filterSize, strides, pad, rounding, data_format=None):
    x = convert(x, "x", op)
    x, squeeze = _batched(x, rank, op)
    moved = False
    if data_format is not None:
        x, moved = _channels_last(x, data_format, rank, op)
    window = _tuple(filterSize, rank, "filterSize", op)
    strides = _tuple(strides, rank, "strides", op)
    pads = resolve_pads(op, pad, x.shape[1:-1], window, strides, (1,) * rank, rounding)
    y = pool(x, mode, window, strides, pads)
    return _unbatched(_channels_first(y, moved, rank), squeeze)


def maxPool(x, filterSize, strides, pad, dimRoundingMode=None):
    """tf.maxPool over [batch, h, w, channels]; padding never wins the max."""
    return _pool_nd("maxPool", 2, "max", x, filterSize, strides, pad, dimRoundingMode)


def avgPool(x, filterSize, strides, pad, dimRoundingMode=None):
    """tf.avgPool over [batch, h, w, channels]; padding is not counted in the average."""
    return _pool_nd("avgPool", 2, "avg", x, filterSize, strides, pad, dimRoundingMode)


def maxPool3d(x, filterSize=(1, 1, 1), strides=None, pad="valid", dimRoundingMode=None,
              dataFormat="NDHWC"):
    return _pool_nd("maxPool3d", 3, "max", x, filterSize, strides or filterSize, pad,
                    dimRoundingMode, dataFormat)


def avgPool3d(x, filterSize=(1, 1, 1), strides=None, pad="valid", dimRoundingMode=None,
              dataFormat="NDHWC"):
    return _pool_nd("avgPool3d", 3, "avg", x, filterSize, strides or filterSize, pad,
                    dimRoundingMode, dataFormat)
