"""What the optimizing passes buy: kernels, arena bytes and time per call of the reference
workloads (W2-W6 inference at their batch sizes, W3/W5 training steps) compiled with the
passes off (every node its own kernel, no graph rewrites) and on, in one run.

    python benchmarks/passes.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import kiln as tf  # noqa: E402
from kiln.frontend.inspect import model_graph  # noqa: E402
from kiln.runtime.executable import compile_graph  # noqa: E402
from frameworks.kiln import build_model  # noqa: E402


def workload_model(workload):
    """The model WORKLOADS.md defines, built as the peer harness builds it for kiln."""
    return lambda: build_model(tf, workload)


CASES = [  # (name, model factory, batch, training step?)
    ("W2 inference b1", workload_model("W2"), 1, False),
    ("W2 inference b256", workload_model("W2"), 256, False),
    ("W3 training step b128", workload_model("W3"), 128, True),
    ("W4 inference b1", workload_model("W4"), 1, False),
    ("W4 inference b64", workload_model("W4"), 64, False),
    ("W5 training step b64", workload_model("W5"), 64, True),
    ("W6 inference b32", workload_model("W6"), 32, False),
]


def feeds(graph, rng):
    arrays = []
    for v in graph.inputs:
        if v.dtype.value == "int32":
            arrays.append(np.array(rng.integers(0, 1 << 30), np.int32).reshape(v.shape))
        else:
            arrays.append(rng.random(v.shape, dtype=np.float32))
    return arrays


def measure(exe, arrays, params, repeat=30):
    exe.run(arrays, params)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        exe.run(arrays, params)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    rng = np.random.default_rng(0)
    print("| workload | kernels off | kernels on | arena off (KiB) | arena on (KiB) | "
          "time off | time on | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for name, factory, batch, train in CASES:
        try:
            model = factory()
        except AttributeError as e:          # a layer kind this build does not have
            print(f"| {name} | not available: {e} |")
            continue
        if train:
            model.compile({"optimizer": tf.train.adam(1e-3), "loss": "categoricalCrossentropy"})
        graph = model_graph(model, batch, train)
        params = None
        results = {}
        for optimize in (False, True):
            exe = compile_graph(graph, optimize=optimize)
            arrays = feeds(graph, rng)
            if params is None:
                params = [np.asarray(rng.random(v.shape, dtype=np.float32) * 0.1) for v in graph.params]
            seconds = measure(exe, arrays, [p.copy() for p in params])
            results[optimize] = (len(exe.plan.kernels), exe.plan.arena_bytes, seconds)
        off, on = results[False], results[True]
        print(f"| {name} | {off[0]} | {on[0]} | {off[1] / 1024:.0f} | {on[1] / 1024:.0f} | "
              f"{off[2] * 1e3:.3f} ms | {on[2] * 1e3:.3f} ms | {off[2] / on[2]:.2f}x |")


if __name__ == "__main__":
    main()
