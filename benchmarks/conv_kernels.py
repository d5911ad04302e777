"""Time kiln's conv and pool kernels on W4's shapes against a numpy reference.

    python benchmarks/conv_kernels.py [--repeat 200]

Each case compiles one graph (conv + bias + relu, or a max pool) and times exe.run; the
numpy reference is the usual fast formulation (im2col by strided views + one matmul for conv,
a reshape-max for 2x2 pooling). Prints median microseconds and the ratio numpy / kiln
(> 1 means kiln is faster).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from kiln.ir import Builder, TensorType, float32
from kiln.runtime import compile_graph

W4 = [
    # name, x shape, filter shape
    ("conv1 b1", (1, 28, 28, 1), (3, 3, 1, 32)),
    ("conv2 b1", (1, 13, 13, 32), (3, 3, 32, 64)),
    ("conv1 b64", (64, 28, 28, 1), (3, 3, 1, 32)),
    ("conv2 b64", (64, 13, 13, 32), (3, 3, 32, 64)),
]
POOLS = [("pool1 b1", (1, 26, 26, 32)), ("pool2 b1", (1, 11, 11, 64)),
         ("pool1 b64", (64, 26, 26, 32)), ("pool2 b64", (64, 11, 11, 64))]


def median_us(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def numpy_conv_relu(x, w, bias):
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    s = x.strides
    cols = np.lib.stride_tricks.as_strided(x, (n, oh, ow, kh, kw, c), (s[0], s[1], s[2], s[1], s[2], s[3]))
    out = cols.reshape(n * oh * ow, kh * kw * c) @ w.reshape(kh * kw * c, f)
    return np.maximum(out + bias, 0).reshape(n, oh, ow, f)


def numpy_maxpool2(x):
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, :h2 * 2, :w2 * 2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'case':12s} {'kiln us':>10s} {'numpy us':>10s} {'numpy/kiln':>11s}")
    for name, xs, ws in W4:
        x = rng.random(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        bias = rng.standard_normal(ws[-1:], dtype=np.float32)
        b = Builder()
        xv, wv, bv = (b.input(TensorType(a.shape, float32), n) for a, n in
                      ((x, "x"), (w, "w"), (bias, "b")))
        y = b.relu(b.add(b.conv(xv, wv, strides=(1, 1), dilations=(1, 1),
                                pads=((0, 0), (0, 0))), bv))
        exe = compile_graph(b.finish([y]))
        out = np.empty(y.shape, np.float32)
        np.testing.assert_allclose(exe.run([x, w, bias], outputs=[out])[0],
                                   numpy_conv_relu(x, w, bias), rtol=1e-4, atol=1e-4)
        tk = median_us(lambda: exe.run([x, w, bias], outputs=[out]), args.repeat)
        tn = median_us(lambda: numpy_conv_relu(x, w, bias), args.repeat)
        print(f"{name:12s} {tk:10.1f} {tn:10.1f} {tn / tk:11.2f}")
    for name, xs in POOLS:
        x = rng.random(xs, dtype=np.float32)
        b = Builder()
        xv = b.input(TensorType(xs, float32), "x")
        y = b.pool(xv, mode="max", window=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0)))
        exe = compile_graph(b.finish([y]))
        out = np.empty(y.shape, np.float32)
        np.testing.assert_array_equal(exe.run([x], outputs=[out])[0], numpy_maxpool2(x))
        tk = median_us(lambda: exe.run([x], outputs=[out]), args.repeat)
        tn = median_us(lambda: numpy_maxpool2(x), args.repeat)
        print(f"{name:12s} {tk:10.1f} {tn:10.1f} {tn / tk:11.2f}")


if __name__ == "__main__":
    main()
