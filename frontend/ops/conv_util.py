"""Padding and output-size rules of convolutions and pooling, as TF.js and TensorFlow compute them.

The IR ops take explicit (before, after) padding per spatial axis; these helpers turn TF.js's
padding modes into those pairs:

  'valid'   no padding: out = ceil((in - k_eff + 1) / stride)
  'same'    out = ceil(in / stride); total = max(0, (out - 1) * stride + k_eff - in), split with
            the smaller half before (TensorFlow's rule, so odd totals pad one more after)
  'causal'  (1-D, as Keras) pad k_eff - 1 before only: output t sees inputs <= t
  a number  that many on both sides (dimRoundingMode 'floor' | 'round' | 'ceil' decides a
            fractional output size; the extra positions read padding)
  a list    explicit pairs, TF.js's [[0, 0], [top, bottom], [left, right], [0, 0]] form

with k_eff = (k - 1) * dilation + 1.
"""
from __future__ import annotations

import math


def effective_kernel(k: int, dilation: int) -> int:
    return (k - 1) * dilation + 1


def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + effective_kernel(k, dilation) - size)
    return total // 2, total - total // 2


def _rounded(value: float, mode: str | None) -> int:
    if mode in (None, "floor"):
        return math.floor(value)
    if mode == "ceil":
        return math.ceil(value)
    if mode == "round":
        return math.floor(value + 0.5)      # JavaScript's Math.round: halves go up
    raise ValueError(f"dimRoundingMode must be 'floor', 'round' or 'ceil', got {mode!r}")


def resolve_pads(op: str, pad, in_sizes, kernel, strides, dilations,
                 rounding: str | None = None, channels_first: bool = False):
    """Explicit ((before, after), ...) per spatial axis for TF.js padding `pad`."""
    rank = len(in_sizes)
    if pad == "valid":
        return tuple((0, 0) for _ in range(rank))
    if pad == "same":
        return tuple(same_pads(n, k, s, d) for n, k, s, d in zip(in_sizes, kernel, strides,
                                                                  dilations))
    if pad == "causal":
        return tuple((effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilations))
    if isinstance(pad, (int, float)) and not isinstance(pad, bool):
        p = int(pad)
        if p != pad or p < 0:
            raise ValueError(f"{op}: a numeric pad must be a non-negative integer, got {pad}")
        result = []
        for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
            exact = (n + 2 * p - effective_kernel(k, d)) / s + 1
            out = _rounded(exact, rounding)
            floor_out = (n + 2 * p - effective_kernel(k, d)) // s + 1
            result.append((p, p + max(0, out - floor_out) * s))
        return tuple(result)
    if isinstance(pad, (list, tuple)):
        pairs = [tuple(int(v) for v in pair) for pair in pad]
        if len(pairs) == rank + 2:
            pairs = pairs[2:] if channels_first else pairs[1:-1]
        if len(pairs) != rank or any(len(q) != 2 or min(q) < 0 for q in pairs):
            raise ValueError(f"{op}: explicit padding {pad} must hold {rank + 2} non-negative "
                             "[before, after] pairs (batch and channel pairs included)")
        return tuple(pairs)
    raise ValueError(f"{op}: pad must be 'valid', 'same', a number or explicit [before, after] "
                     f"pairs, got {pad!r}")


def conv_output_length(size, k: int, padding: str, stride: int, dilation: int = 1):
    """Output length of a conv or pool along one axis for the layers' padding modes (None stays
    None). 'causal' keeps the length before striding, as Keras."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        length = size
    else:
        length = size - effective_kernel(k, dilation) + 1
    return max(0, (length + stride - 1) // stride)


def deconv_output_length(size, k: int, padding: str, stride: int, dilation: int = 1):
    """Output length of a transposed conv (TF.js's deconvLength, with Keras's dilation)."""
    if size is None:
        return None
    if padding == "valid":
        return size * stride + max(effective_kernel(k, dilation) - stride, 0)
    if padding == "same":
        return size * stride
    raise ValueError(f"unsupported padding mode for a transposed convolution: {padding!r}")
