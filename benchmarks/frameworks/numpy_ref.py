"""numpy peer: hand-written forward passes, the naive baseline and the cross-check reference.

Workloads: W1 (plain full-batch gradient descent, the reference predicted value),
W2/W4/W6 (inference), W3/W5 (model output on x_check only: nothing is trained),
W7 (float32 matmul GFLOP/s).
"""

import sys
import time

import numpy as np

import workloads
from frameworks import _common

FRAMEWORK = "numpy_ref"
SUPPORTED = {"W1", "W2", "W3", "W4", "W5", "W6", "W7"}


def relu(x):
    return np.maximum(x, 0)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def mlp_forward(x, weights):
    """W2's model: Dense(512, relu) -> Dense(512, relu) -> Dense(10, softmax)."""
    k1, b1, k2, b2, k3, b3 = weights
    h = relu(x @ k1 + b1)
    h = relu(h @ k2 + b2)
    return softmax(h @ k3 + b3)


def conv2d_relu(x, kernel, bias):
    """Valid, stride-1 Conv2D + relu on [n, h, w, c] input via im2col and one matmul."""
    kh, kw, cin, cout = kernel.shape
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    cols = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * cin)
    out = cols @ kernel.reshape(kh * kw * cin, cout) + bias
    return relu(out).reshape(n, oh, ow, cout)


def max_pool2(x):
    """MaxPooling2D(2), valid padding, on [n, h, w, c] (odd edges are dropped)."""
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, :h2 * 2, :w2 * 2].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


def cnn_forward(x, weights):
    """W4's model on channelsLast input [n, 28, 28, 1]."""
    c1, cb1, c2, cb2, k1, b1, k2, b2 = weights
    h = max_pool2(conv2d_relu(x, c1, cb1))
    h = max_pool2(conv2d_relu(h, c2, cb2))
    h = h.reshape(h.shape[0], -1)
    h = relu(h @ k1 + b1)
    return softmax(h @ k2 + b2)


def lstm_forward(x, weights):
    """W6's model: LSTM(64) (gates i, f, c, o; sigmoid recurrent activation) -> Dense(1)."""
    kernel, recurrent, bias, k_out, b_out = weights
    batch, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units), np.float32)
    c = np.zeros((batch, units), np.float32)
    for t in range(steps):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units:2 * units])
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h @ k_out + b_out


FORWARD = {"W2": mlp_forward, "W3": mlp_forward, "W4": cnn_forward, "W5": cnn_forward,
           "W6": lstm_forward}


def fit_seed(arrays):
    """W1: 1000 full-batch SGD steps (lr 0.01) on mean squared error; returns (w, b)."""
    x, y = arrays["x_train"], arrays["y_train"]
    w, b = arrays["w0"].copy(), arrays["w1"].copy()
    settings = workloads.TRAIN["W1"]
    lr = np.float32(settings["learning_rate"])
    for _ in range(settings["epochs"]):
        error = x @ w + b - y
        grad_w = 2 * x.T @ error / np.float32(len(x))
        grad_b = 2 * error.mean(axis=0)
        w -= lr * grad_w
        b -= lr * grad_b
    return w, b


def measure_seed(arrays):
    t0 = time.perf_counter()
    w, b = fit_seed(arrays)
    fit_s = time.perf_counter() - t0
    predicted = arrays["x_check"] @ w + b
    metrics = {"fit_s": fit_s, "predicted": float(predicted[0, 0])}
    return {"default": _common.variant(metrics, predicted)}


def measure_gemm(arrays, options):
    metrics, reps = {}, {}
    for m, k, n in workloads.GEMM_SIZES:
        a, b = arrays[f"a_{m}x{k}x{n}"], arrays[f"b_{m}x{k}x{n}"]
        seconds, calls = _common.median_seconds(lambda a=a, b=b: a @ b, options.reps("gemm"),
                                                warmup=3)
        metrics[f"gflops_{m}x{k}x{n}"] = 2 * m * n * k / seconds / 1e9
        reps[f"gflops_{m}x{k}x{n}"] = calls
    return {"default": _common.variant(metrics, reps=reps)}


def threads():
    """numpy's BLAS thread pools, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"blas": "threadpoolctl not installed"}
    return {"blas": [{key: info.get(key) for key in
                      ("internal_api", "num_threads", "architecture", "version")}
                     for info in threadpool_info()]}


def measure(workload, arrays, options):
    weights = workloads.weights_of(arrays)
    notes = []
    if workload == "W1":
        variants = measure_seed(arrays)
    elif workload == "W7":
        variants = measure_gemm(arrays, options)
    elif workload in ("W3", "W5"):
        check = FORWARD[workload](arrays["x_check"], weights)
        variants = {"default": _common.variant({}, check)}
        notes.append("output of the initial weights on x_check only; nothing is trained")
    else:
        forward = FORWARD[workload]
        x_latency, x_throughput = _common.inference_inputs(workload, arrays)
        metrics, reps = _common.latency_and_throughput(
            lambda x: forward(x, weights), x_latency, x_throughput, options)
        check = forward(arrays["x_check"], weights)
        variants = {"default": _common.variant(metrics, check, reps)}
    return {"variants": variants, "versions": {"numpy": np.__version__},
            "threads": threads(), "notes": notes}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["numpy"], measure))
