"""Foundation benchmarks: GEMM, elementwise throughput, eager dispatch overhead, compile and
import time — kiln against numpy, measured in the same run (medians; GEMM and elementwise
samples alternate between kiln and numpy, so both see the same load on a shared machine).

    OPENBLAS_NUM_THREADS=1 python benchmarks/core_ops.py

Both run on one thread (OPENBLAS_NUM_THREADS=1, KILN_NUM_THREADS=1) so the comparison is fair.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("KILN_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import kiln as tf  # noqa: E402


def median_seconds(fn, repeat=20, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_medians(kiln_fn, numpy_fn, repeat=30, warmup=2):
    """Median seconds of each, sampled alternately so both see the same machine load."""
    for _ in range(warmup):
        kiln_fn()
        numpy_fn()
    samples = ([], [])
    for _ in range(repeat):
        for fn, out in zip((kiln_fn, numpy_fn), samples):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def row(name, kiln_value, numpy_value, unit, higher_is_better=True):
    ratio = kiln_value / numpy_value if higher_is_better else numpy_value / kiln_value
    print(f"| {name:<34} | {kiln_value:>12.2f} | {numpy_value:>12.2f} | {unit:<10} | {ratio:>6.2f} |")


def gemm():
    for n in (128, 512, 1024):
        rng = np.random.default_rng(0)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        ta, tb = tf.tensor(a), tf.tensor(b)
        flops = 2 * n ** 3
        k, nump = paired_medians(lambda: tf.matMul(ta, tb).dispose(), lambda: a @ b, repeat=20)
        row(f"matMul {n}x{n}x{n}", flops / k / 1e9, flops / nump / 1e9, "GFLOP/s")


def elementwise():
    n = 4 << 20
    rng = np.random.default_rng(0)
    a = rng.random(n, dtype=np.float32) - 0.5
    b = rng.random(n, dtype=np.float32)
    ta, tb = tf.tensor(a), tf.tensor(b)
    cases = [("add", lambda: tf.add(ta, tb), lambda: np.add(a, b)),
             ("mul", lambda: tf.mul(ta, tb), lambda: np.multiply(a, b)),
             ("relu", lambda: tf.relu(ta), lambda: np.maximum(a, 0))]
    for name, k_fn, n_fn in cases:
        k, nump = paired_medians(lambda: k_fn().dispose(), n_fn, repeat=40)
        row(f"{name} 4M float32", n / k / 1e9, n / nump / 1e9, "Gelem/s")


def dispatch():
    ta = tf.ones([4])
    a = np.ones(4, np.float32)
    ta.add(ta)
    reps = 20000

    def kiln_loop():
        for _ in range(reps):
            ta.add(ta)

    def numpy_loop():
        for _ in range(reps):
            np.add(a, a)
    k = median_seconds(kiln_loop, repeat=5, warmup=1) / reps * 1e6
    nump = median_seconds(numpy_loop, repeat=5, warmup=1) / reps * 1e6
    row("eager add on [4] (warm)", k, nump, "us/op", higher_is_better=False)


def cold_compile():
    """Median time of the first call of a new elementwise kernel (no caches)."""
    script = ("import time, kiln as tf; x = tf.ones([8]); t = time.perf_counter(); "
              "tf.{op}(x); print(time.perf_counter() - t)")
    samples = []
    for op in ("exp", "tanh", "sigmoid", "softplus", "log1p"):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, KILN_CACHE_DIR=cache)
            out = subprocess.run([sys.executable, "-c", script.format(op=op)], env=env,
                                 capture_output=True, text=True, check=True)
            samples.append(float(out.stdout))
    print(f"| {'cold compile, new elementwise op':<34} | {statistics.median(samples) * 1e3:>12.1f} "
          f"| {'':>12} | {'ms':<10} | {'':>6} |")


def import_time():
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); "
                              "import kiln; print(time.perf_counter() - t)"],
                             capture_output=True, text=True, check=True)
        samples.append(float(out.stdout))
    print(f"| {'import kiln':<34} | {statistics.median(samples) * 1e3:>12.1f} | {'':>12} | "
          f"{'ms':<10} | {'':>6} |")


if __name__ == "__main__":
    print("| benchmark                          |         kiln |        numpy | unit       | kiln/numpy |")
    print("|------------------------------------|--------------|--------------|------------|--------|")
    gemm()
    elementwise()
    dispatch()
    cold_compile()
    import_time()
