"""numpy references, by Keras's definitions, for the fixtures where TF.js 4.22 computes
something else (tests/fixtures/README.md, 'Where TF.js 4.22 and Keras disagree'). Each uses
the fixture's own inputs and weights; kiln follows Keras there."""
from __future__ import annotations

import json

import numpy as np


def fixture_weights(folder) -> dict[str, np.ndarray]:
    """name -> array from a TF.js-saved fixture's weights.bin (float32 only)."""
    specs = [w for g in json.loads((folder / "model.json").read_text())["weightsManifest"]
             for w in g["weights"]]
    raw = (folder / "weights.bin").read_bytes()
    weights, offset = {}, 0
    for spec in specs:
        count = int(np.prod(spec["shape"]))
        weights[spec["name"]] = np.frombuffer(raw, "<f4", count, offset).reshape(spec["shape"])
        offset += 4 * count
    return weights


def batchnorm_axis1(folder, x):
    """Conv2D (channelsFirst, 2x2 valid) -> BatchNormalization(axis 1) -> Flatten -> Dense.
    TF.js cycles the per-channel parameters over the flat tensor instead."""
    w = fixture_weights(folder)
    kernel, bias = w["conv2d_Conv2D1/kernel"], w["conv2d_Conv2D1/bias"]
    n, c, h, wd = x.shape
    kh, kw, _, filters = kernel.shape
    conv = np.zeros((n, filters, h - kh + 1, wd - kw + 1), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + conv.shape[2], j:j + conv.shape[3]]
            conv += np.einsum("nchw,cf->nfhw", patch, kernel[i, j])
    conv += bias[None, :, None, None]
    bn_name = "batch_normalization_BatchNormalization1/"
    gamma, beta, mean, var = (w[bn_name + k][None, :, None, None]
                              for k in ("gamma", "beta", "moving_mean", "moving_variance"))
    bn = (conv - mean) / np.sqrt(var + 1e-3) * gamma + beta
    dense = bn.reshape(n, -1) @ w["dense_Dense1/kernel"] + w["dense_Dense1/bias"]
    return [bn.astype(np.float32), dense.astype(np.float32)]


def preprocessing(folder, x):
    """Rescaling(1/255, -0.5) -> Conv2D 1x1 -> CenterCrop 6x6 and 5x9. Keras crops from
    ((inH - h) // 2, (inW - w) // 2); TF.js starts the 10 -> 9 crop at column 1."""
    w = fixture_weights(folder)
    y = x * (1 / 255) - 0.5
    y = np.einsum("nhwc,cf->nhwf", y, w["conv2d_Conv2D1/kernel"][0, 0]) + \
        w["conv2d_Conv2D1/bias"]

    def crop(t, h, wd):
        top, left = (t.shape[1] - h) // 2, (t.shape[2] - wd) // 2
        return t[:, top:top + h, left:left + wd].astype(np.float32)
    return [crop(y, 6, 6), crop(y, 5, 9)]


def _bilinear(x, out_h, out_w):
    """tf.image.resize bilinear with half-pixel centers (Keras's Resizing)."""
    def axis(out, size):
        src = np.maximum((np.arange(out) + 0.5) * size / out - 0.5, 0)
        low = np.floor(src).astype(int)
        return low, np.minimum(low + 1, size - 1), src - low
    y0, y1, fy = axis(out_h, x.shape[1])
    x0, x1, fx = axis(out_w, x.shape[2])
    fx = fx[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    fy = fy[None, :, None, None]
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _nearest(x, out_h, out_w):
    """tf.image.resize nearest with half-pixel centers."""
    rows = np.minimum(np.floor((np.arange(out_h) + 0.5) * x.shape[1] / out_h).astype(int),
                      x.shape[1] - 1)
    cols = np.minimum(np.floor((np.arange(out_w) + 0.5) * x.shape[2] / out_w).astype(int),
                      x.shape[2] - 1)
    return x[:, rows][:, :, cols].astype(np.float32)


def resizing(folder, x):
    """Resizing bilinear 4x5, nearest 3x3, bilinear 10x12. TF.js passes alignCorners=true."""
    return [_bilinear(x, 4, 5), _nearest(x, 3, 3), _bilinear(x, 10, 12)]


REFERENCES = {"tfjs/batchnorm_axis1": batchnorm_axis1, "tfjs/preprocessing": preprocessing,
              "tfjs/resizing": resizing}
