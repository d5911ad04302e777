"""Time kiln's conv and pool kernels on W4's shapes against a numpy reference, then W4 itself.

    python benchmarks/conv_kernels.py [--repeat 200] [--threads N]

Each case compiles one graph (conv + bias + relu, a max pool, or a conv gradient) and times
exe.run (which includes ~6 us of Python call overhead, printed first); the numpy reference is
the usual fast formulation (im2col by strided views + one matmul for conv and its gradients,
a reshape-max for 2x2 pooling). Prints the minimum and median microseconds of kiln, numpy's
median and the ratio numpy / kiln of medians (> 1: kiln is faster). The machine is shared:
read the minimum as the kernel's speed and the median as what a busy machine gives.
Last, the W4 model built with tf.layers: predict latency at batch 1 and throughput at 64.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from frameworks.kiln import build_model  # noqa: E402
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


def times_us(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e6, statistics.median(times) * 1e6


def median_us(fn, repeat):
    return times_us(fn, repeat)[1]


def row(name, kiln_fn, numpy_fn, repeat):
    best, med = times_us(kiln_fn, repeat)
    tn = median_us(numpy_fn, repeat) if numpy_fn else float("nan")
    print(f"{name:16s} {best:10.1f} {med:10.1f} {tn:10.1f} {tn / med:11.2f}")


def compile_one(build, arrays, threads):
    b = Builder()
    values = [b.input(TensorType(a.shape, float32), f"x{i}") for i, a in enumerate(arrays)]
    y = build(b, *values)
    exe = compile_graph(b.finish([y]), threads=threads)
    out = np.empty(y.shape, np.float32)
    return exe, out


def numpy_im2col(x, kh, kw):
    n, h, wd, c = x.shape
    s = x.strides
    cols = np.lib.stride_tricks.as_strided(x, (n, h - kh + 1, wd - kw + 1, kh, kw, c),
                                           (s[0], s[1], s[2], s[1], s[2], s[3]))
    return cols.reshape(-1, kh * kw * c)


def numpy_filter_grad(x, dy, kh, kw):
    return (numpy_im2col(x, kh, kw).T @ dy.reshape(-1, dy.shape[-1])).reshape(kh, kw, x.shape[-1],
                                                                              dy.shape[-1])


def numpy_input_grad(dy, w, x_shape):
    """col2im of dy @ w^T (the usual scatter formulation)."""
    kh, kw, c, f = w.shape
    n, oh, ow, _ = dy.shape
    cols = (dy.reshape(-1, f) @ w.reshape(-1, f).T).reshape(n, oh, ow, kh, kw, c)
    dx = np.zeros(x_shape, np.float32)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + oh, j:j + ow] += cols[:, :, :, i, j]
    return dx


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
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    repeat, threads = args.repeat, args.threads
    rng = np.random.default_rng(0)
    valid = {"strides": (1, 1), "dilations": (1, 1), "pads": ((0, 0), (0, 0))}
    print(f"{'case':16s} {'kiln min':>10s} {'kiln med':>10s} {'numpy med':>10s} "
          f"{'numpy/kiln':>11s}")
    tiny = np.ones((1, 4), np.float32)
    exe, out = compile_one(lambda b, x: b.relu(x), [tiny], threads)
    row("call overhead", lambda: exe.run([tiny], outputs=[out]), None, repeat)
    for name, xs, ws in W4:
        x = rng.random(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        bias = rng.standard_normal(ws[-1:], dtype=np.float32)
        exe, out = compile_one(lambda b, x, w, c: b.relu(b.add(b.conv(x, w, **valid), c)),
                               [x, w, bias], threads)
        np.testing.assert_allclose(exe.run([x, w, bias], outputs=[out])[0],
                                   numpy_conv_relu(x, w, bias), rtol=1e-4, atol=1e-4)
        r = max(5, repeat // (10 if xs[0] > 1 else 1))
        row(name, lambda: exe.run([x, w, bias], outputs=[out]),
            lambda: numpy_conv_relu(x, w, bias), r)
    for name, xs in POOLS:
        x = rng.random(xs, dtype=np.float32)
        exe, out = compile_one(lambda b, x: b.pool(x, mode="max", window=(2, 2), strides=(2, 2),
                                                   pads=((0, 0), (0, 0))), [x], threads)
        np.testing.assert_array_equal(exe.run([x], outputs=[out])[0], numpy_maxpool2(x))
        r = max(5, repeat // (10 if xs[0] > 1 else 1))
        row(name, lambda: exe.run([x], outputs=[out]), lambda: numpy_maxpool2(x), r)
    for name, xs, ws in W4[2:]:
        x = rng.random(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        dy_shape = (xs[0], xs[1] - 2, xs[2] - 2, ws[-1])
        dy = rng.standard_normal(dy_shape, dtype=np.float32)
        exe, out = compile_one(lambda b, x, dy: b.convBackpropFilter(x, dy, filterShape=ws,
                                                                     **valid), [x, dy], threads)
        np.testing.assert_allclose(exe.run([x, dy], outputs=[out])[0],
                                   numpy_filter_grad(x, dy, 3, 3), rtol=1e-3, atol=1e-2)
        row(name.replace("conv", "dW"), lambda: exe.run([x, dy], outputs=[out]),
            lambda: numpy_filter_grad(x, dy, 3, 3), max(5, repeat // 10))
        exe, out = compile_one(lambda b, dy, w: b.convBackpropInput(dy, w, inputShape=xs,
                                                                    **valid), [dy, w], threads)
        np.testing.assert_allclose(exe.run([dy, w], outputs=[out])[0],
                                   numpy_input_grad(dy, w, xs), rtol=1e-3, atol=1e-3)
        row(name.replace("conv", "dX"), lambda: exe.run([dy, w], outputs=[out]),
            lambda: numpy_input_grad(dy, w, xs), max(5, repeat // 10))

    import kiln as tf
    model = build_model(tf, "W4")
    x1 = rng.random((1, 28, 28, 1), dtype=np.float32)
    x64 = rng.random((64, 28, 28, 1), dtype=np.float32)
    t1 = tf.tensor(x1)
    best, med = times_us(lambda: model.predict(t1).dispose(), repeat)
    print(f"W4 predict batch 1: median {med:.1f} us (min {best:.1f} us)")
    best, med = times_us(lambda: model.predict(x64, {"batchSize": 64}).dispose(),
                         max(5, repeat // 10))
    print(f"W4 predict batch 64: {64e6 / med:.0f} samples/s at the median "
          f"({64e6 / best:.0f} at the min)")


if __name__ == "__main__":
    main()
