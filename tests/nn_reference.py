"""Naive numpy references for the convolution, pooling and resize tests (channels last).

Written from the operations' definitions (TensorFlow's), not from kiln's kernels: convolution
sums shifted, strided slices of the zero-padded input; the transposed convolution scatters
every dy element back through the filter; pooling pads with NaN and takes nanmax / nanmean
so padding never counts; resizing evaluates TensorFlow's coordinate formulas pixel by pixel.
All arithmetic is float64.
"""
from __future__ import annotations

import math

import numpy as np


def out_size(size, k, s, d, pads):
    return (size + pads[0] + pads[1] - ((k - 1) * d + 1)) // s + 1


def _tap_slices(tap, out_sizes, strides, dilations):
    return tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                 for t, o, s, d in zip(tap, out_sizes, strides, dilations))


def conv(x, w, strides, dilations, pads, groups=1):
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    r = x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)])
    ks, cin_g, filters = w.shape[:r], w.shape[-2], w.shape[-1]
    ng = filters // groups
    outs = [out_size(x.shape[1 + a], ks[a], strides[a], dilations[a], pads[a]) for a in range(r)]
    out = np.zeros((x.shape[0], *outs, filters))
    for tap in np.ndindex(*ks):
        patch = xp[(slice(None),) + _tap_slices(tap, outs, strides, dilations)]
        for g in range(groups):
            out[..., g * ng:(g + 1) * ng] += (patch[..., g * cin_g:(g + 1) * cin_g]
                                              @ w[tap][:, g * ng:(g + 1) * ng])
    return out


def conv_backprop_input(dy, w, x_shape, strides, dilations, pads, groups=1):
    """Scatter form: every dy element flows back through every tap of the filter."""
    dy, w = np.asarray(dy, np.float64), np.asarray(w, np.float64)
    r = dy.ndim - 2
    ks, cin_g, filters = w.shape[:r], w.shape[-2], w.shape[-1]
    ng = filters // groups
    padded = [x_shape[1 + a] + pads[a][0] + pads[a][1] for a in range(r)]
    dxp = np.zeros((x_shape[0], *padded, x_shape[-1]))
    for o in np.ndindex(*dy.shape[1:-1]):
        for tap in np.ndindex(*ks):
            pos = tuple(o[a] * strides[a] + tap[a] * dilations[a] for a in range(r))
            for g in range(groups):
                contrib = dy[(slice(None),) + o][:, g * ng:(g + 1) * ng] @ w[tap][:, g * ng:(g + 1) * ng].T
                dxp[(slice(None),) + pos + (slice(g * cin_g, (g + 1) * cin_g),)] += contrib
    crop = tuple(slice(pads[a][0], pads[a][0] + x_shape[1 + a]) for a in range(r))
    return dxp[(slice(None),) + crop]


def conv_backprop_filter(x, dy, w_shape, strides, dilations, pads, groups=1):
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    r = x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)])
    ks, cin_g, filters = w_shape[:r], w_shape[-2], w_shape[-1]
    ng = filters // groups
    outs = dy.shape[1:-1]
    dw = np.zeros(w_shape)
    for tap in np.ndindex(*ks):
        patch = xp[(slice(None),) + _tap_slices(tap, outs, strides, dilations)]
        p2 = patch.reshape(-1, x.shape[-1])
        d2 = dy.reshape(-1, filters)
        for g in range(groups):
            dw[tap][:, g * ng:(g + 1) * ng] = (p2[:, g * cin_g:(g + 1) * cin_g].T
                                               @ d2[:, g * ng:(g + 1) * ng])
    return dw


def pool(x, mode, window, strides, pads):
    x = np.asarray(x, np.float64)
    r = x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)], constant_values=np.nan)
    outs = [out_size(x.shape[1 + a], window[a], strides[a], 1, pads[a]) for a in range(r)]
    patches = [xp[(slice(None),) + _tap_slices(tap, outs, strides, (1,) * r)]
               for tap in np.ndindex(*window)]
    stack = np.stack(patches)
    return np.nanmax(stack, 0) if mode == "max" else np.nanmean(stack, 0)


def resize(x, size, method, align_corners=False, half_pixel=False):
    """TensorFlow's resize_bilinear / resize_nearest_neighbor, pixel by pixel."""
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    oh, ow = size

    def scale(old, new):
        if align_corners and new > 1:
            return (old - 1) / (new - 1)
        return old / new

    sy, sx = scale(h, oh), scale(w, ow)
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            if method == "nearest":
                fy = (i + 0.5) * sy if half_pixel else i * sy
                fx = (j + 0.5) * sx if half_pixel else j * sx
                rnd = (lambda v: math.floor(v + 0.5)) if align_corners else math.floor
                yi, xi = min(h - 1, max(0, rnd(fy))), min(w - 1, max(0, rnd(fx)))
                out[:, i, j] = x[:, yi, xi]
                continue
            fy = (i + 0.5) * sy - 0.5 if half_pixel else i * sy
            fx = (j + 0.5) * sx - 0.5 if half_pixel else j * sx
            y0, x0 = math.floor(fy), math.floor(fx)
            ly, lx = fy - y0, fx - x0

            def px(yy, xx):
                return x[:, min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)]
            top = px(y0, x0) * (1 - lx) + px(y0, x0 + 1) * lx
            bottom = px(y0 + 1, x0) * (1 - lx) + px(y0 + 1, x0 + 1) * lx
            out[:, i, j] = top * (1 - ly) + bottom * ly
    return out


def max_pool_grad(x, dy, window, strides, pads):
    """Each dy goes to the first maximum (in window order) of its window."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    dx = np.zeros(x.shape)
    rank = x.ndim - 2
    for n in range(x.shape[0]):
        for o in np.ndindex(*dy.shape[1:-1]):
            for c in range(x.shape[-1]):
                best, where = None, None
                for tap in np.ndindex(*window):
                    pos = tuple(o[a] * strides[a] + tap[a] - pads[a][0] for a in range(rank))
                    if all(0 <= p < s for p, s in zip(pos, x.shape[1:-1])):
                        v = x[(n, *pos, c)]
                        if best is None or v > best:
                            best, where = v, pos
                dx[(n, *where, c)] += dy[(n, *o, c)]
    return dx


def adjoint(linear_fn, in_shape, dy):
    """J^T dy for a linear map given as a function on arrays, one basis vector at a time."""
    dx = np.zeros(int(np.prod(in_shape)))
    for i in range(dx.size):
        basis = np.zeros(dx.size)
        basis[i] = 1
        dx[i] = np.vdot(linear_fn(basis.reshape(in_shape)), dy)
    return dx.reshape(in_shape)


def _window(a):
    return a["strides"], a["dilations"], a["pads"], a["groups"]


# op name -> fn(args, attrs): the numpy meaning of the IR ops of kiln.ir.ops.nn (for
# tests/reference.py's graph interpreter)
OPS = {
    "conv": lambda args, a: conv(args[0], args[1], *_window(a)),
    "convBackpropInput": lambda args, a: conv_backprop_input(args[0], args[1], a["inputShape"],
                                                             *_window(a)),
    "convBackpropFilter": lambda args, a: conv_backprop_filter(args[0], args[1], a["filterShape"],
                                                               *_window(a)),
    "pool": lambda args, a: pool(args[0], a["mode"], a["window"], a["strides"], a["pads"]),
    "maxPoolGrad": lambda args, a: max_pool_grad(args[0], args[1], a["window"], a["strides"],
                                                 a["pads"]),
    "avgPoolGrad": lambda args, a: adjoint(
        lambda v: pool(v, "avg", a["window"], a["strides"], a["pads"]), a["inputShape"], args[0]),
    "resize": lambda args, a: resize(args[0], a["size"], a["method"], a["alignCorners"],
                                     a["halfPixelCenters"]),
    "resizeGrad": lambda args, a: adjoint(
        lambda v: resize(v, args[0].shape[1:3], a["method"], a["alignCorners"],
                         a["halfPixelCenters"]), a["inputShape"], args[0]),
}
