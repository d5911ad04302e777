"""Recurrent layers: W6 (LSTM inference) against a numpy forward pass, and the native loop
against the loop unrolled in the IR.

    python benchmarks/rnn_loop.py              # W6, then loop vs unrolled for several sizes
    python benchmarks/rnn_loop.py --quick      # fewer calls

W6 (../shared/WORKLOADS.md): Input [32 timesteps, 16 features] -> LSTM(64) -> Dense(1), batch
32, median predict latency over 200 calls. The numpy reference is the same math with the same
weights (input projection for all steps as one matmul, then one matmul per step), checked
against kiln's output. kiln runs at its default thread count and at one thread. Every
measurement runs in its own process: numpy's BLAS threads and kiln's would otherwise compete.

Unrolling: the same model with `unroll: true` (the loop replaced by one copy of the body per
step in the IR, before fusion) against the native loop (one kernel calling the planned body
once per step): latency (one thread, so the comparison is not thread-scheduling noise) and the
first call (compilation, without the disk cache), for short and long sequences.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

W6_SHAPE = (32, 32, 16)        # batch, timesteps, features


def median_us(fn, calls: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def lstm_model(tf, steps, features, units, unroll=False):
    """W6's model; sigmoid gates as the peer harness uses (TF.js's default is hardSigmoid)."""
    model = tf.sequential()
    model.add(tf.layers.lstm({"units": units, "inputShape": [steps, features],
                              "recurrentActivation": "sigmoid", "unroll": unroll}))
    model.add(tf.layers.dense({"units": 1}))
    return model


def numpy_forward(weights):
    """The LSTM (sigmoid gates i, f, c, o) then Dense, in float32 numpy."""
    kernel, recurrent, bias, dense_kernel, dense_bias = weights
    units = recurrent.shape[0]

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    def forward(x):
        batch, steps, features = x.shape
        projected = (x.reshape(-1, features) @ kernel + bias).reshape(batch, steps, -1)
        h = np.zeros((batch, units), np.float32)
        c = np.zeros((batch, units), np.float32)
        for t in range(steps):
            z = projected[:, t] + h @ recurrent
            i, f, g, o = np.split(z, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        return h @ dense_kernel + dense_bias
    return forward


# ---- parts, each run in a fresh process -----------------------------------------------------
def part_kiln_w6(calls):
    import kiln as tf
    from kiln.runtime.executable import default_threads
    x = np.random.default_rng(0).random(W6_SHAPE).astype(np.float32)
    model = lstm_model(tf, 32, 16, 64)
    tensor = tf.tensor(x)
    out = model.predict(tensor).dataSync().tolist()
    weights = [w.read().dataSync().reshape(w.shape).tolist() for w in model.weights]
    return {"us": median_us(lambda: model.predict(tensor), calls), "threads": default_threads(),
            "out": out, "weights": weights}


def part_numpy_w6(calls, weights):
    x = np.random.default_rng(0).random(W6_SHAPE).astype(np.float32)
    forward = numpy_forward([np.array(w, np.float32) for w in weights])
    return {"us": median_us(lambda: forward(x), calls), "out": forward(x).reshape(-1).tolist()}


def part_unroll(calls, steps, units, unroll):
    import kiln as tf
    x = tf.tensor(np.random.default_rng(1).random((32, steps, 16)).astype(np.float32))
    model = lstm_model(tf, steps, 16, units, unroll)
    model.setWeights([tf.tensor(np.random.default_rng(2).standard_normal(w.shape) * 0.3)
                      for w in model.weights])
    start = time.perf_counter()
    out = model.predict(x).dataSync().tolist()
    first_ms = (time.perf_counter() - start) * 1e3
    return {"us": median_us(lambda: model.predict(x), calls), "first_ms": first_ms, "out": out}


PARTS = {"kiln_w6": part_kiln_w6, "numpy_w6": part_numpy_w6, "unroll": part_unroll}


def run_part(name, *args, env=None):
    code = ("import json, sys; sys.path.insert(0, %r); import rnn_loop as r; "
            "print(json.dumps(r.PARTS[%r](*json.loads(sys.stdin.read()))))"
            % (os.path.dirname(os.path.abspath(__file__)), name))
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(args),
                         env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls = 50 if args.quick else 200
    no_cache = {"KILN_CACHE": "0"}

    kiln = run_part("kiln_w6", calls, env=no_cache)
    single = run_part("kiln_w6", calls, env={**no_cache, "KILN_NUM_THREADS": "1"})
    reference = run_part("numpy_w6", calls, kiln["weights"])
    diff = float(np.abs(np.array(kiln["out"]) - np.array(reference["out"])).max())
    print(f"W6 LSTM inference, batch 32, median of {calls} predict calls")
    print(f"  kiln   {kiln['us']:8.0f} us  ({kiln['threads']} threads, the default)")
    print(f"  kiln   {single['us']:8.0f} us  (1 thread)")
    print(f"  numpy  {reference['us']:8.0f} us")
    print(f"  kiln / numpy = {kiln['us'] / reference['us']:.2f} "
          f"(1 thread: {single['us'] / reference['us']:.2f}); "
          f"max |kiln - numpy| = {diff:.1e}")
    print()
    print("native loop vs unrolled, 1 thread (batch 32, 16 features): median latency, first call")
    print(f"{'steps':>5} {'units':>5} {'loop us':>9} {'unrolled us':>12} {'loop ms':>9} "
          f"{'unrolled ms':>12}")
    one = {**no_cache, "KILN_NUM_THREADS": "1"}
    for steps, units in [(4, 8), (8, 8), (32, 8), (4, 64), (8, 64), (32, 64)]:
        loop = run_part("unroll", calls, steps, units, False, env=one)
        flat = run_part("unroll", calls, steps, units, True, env=one)
        same = np.allclose(loop["out"], flat["out"], rtol=1e-5, atol=1e-6)
        print(f"{steps:>5} {units:>5} {loop['us']:>9.0f} {flat['us']:>12.0f} "
              f"{loop['first_ms']:>9.0f} {flat['first_ms']:>12.0f}"
              + ("" if same else "  MISMATCH"))


if __name__ == "__main__":
    main()
