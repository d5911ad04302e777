"""kiln bench MODEL.json [--batch N]: compile time (cold and warm cache), latency, throughput
and memory of the model's compiled inference, on random inputs (numpy default_rng(0))."""
from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time

import numpy as np

from kiln.cli.common import format_bytes, format_seconds, load_model

HELP = "measure compile time, latency, throughput and memory of a model's inference"


def add_arguments(parser) -> None:
    from kiln.cli.compile import positive_int

    parser.add_argument("model", help="model.json (or its folder) or a Keras .keras/.h5 file")
    parser.add_argument("--batch", type=positive_int, default=1, metavar="N",
                        help="samples per call (default 1)")
    parser.add_argument("--seconds", type=float, default=1.0, metavar="S",
                        help="time spent measuring latency (default 1; at least 10 calls)")


def random_inputs(shapes, dtypes) -> list[np.ndarray]:
    """U[0,1) floats; zeros for int32 (valid indices for any embedding) and bool."""
    rng = np.random.default_rng(0)
    return [rng.random(shape, dtype=np.float32) if dtype == "float32"
            else np.zeros(shape, np.int32 if dtype == "int32" else np.bool_)
            for shape, dtype in zip(shapes, dtypes)]


def _compile(model, batch):
    from kiln.frontend.aot import inference_trace
    from kiln.runtime import compile_graph

    traced = inference_trace(model, batch)
    return traced, compile_graph(traced.graph)


def compile_times(model, batch):
    """(traced, executable, cold seconds, warm seconds): cold with an empty disk cache, warm
    with the objects the cold compile stored (memory cache cleared, as in a new process)."""
    from kiln.runtime import cache

    saved = os.environ.get("KILN_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="kiln-bench-cache-") as fresh:
        os.environ["KILN_CACHE_DIR"] = fresh
        try:
            cache.clear_memory()
            start = time.perf_counter()
            _compile(model, batch)
            cold = time.perf_counter() - start
            cache.clear_memory()
            start = time.perf_counter()
            traced, executable = _compile(model, batch)
            warm = time.perf_counter() - start
        finally:
            if saved is None:
                os.environ.pop("KILN_CACHE_DIR", None)
            else:
                os.environ["KILN_CACHE_DIR"] = saved
    return traced, executable, cold, warm


def latencies(call, seconds: float) -> list[float]:
    for _ in range(3):
        call()                                  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 10 or (time.perf_counter() < deadline and len(times) < 100000):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def main(args) -> int:
    from kiln.frontend.aot import inference_shapes
    from kiln.frontend.engine.compiled import run_trace

    start = time.perf_counter()
    model = load_model(args.model)
    load = time.perf_counter() - start
    shapes = inference_shapes(model, args.batch)
    arrays = random_inputs(shapes, [x.dtype for x in model.inputs])
    traced, executable, cold, warm = compile_times(model, args.batch)
    times = latencies(lambda: run_trace(traced, executable, arrays), args.seconds)
    median = statistics.median(times)
    deciles = statistics.quantiles(times, n=10)
    weights = sum(v.buffer("bench").nbytes for v in traced.variables)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux
    threads = f"{executable.threads} thread" + ("s" if executable.threads > 1 else "")
    print(f"model {args.model}: {len(model.layers)} layers, {model.countParams()} parameters; "
          f"batch {args.batch}; {executable.target.cpu}, {threads}")
    print(f"load        {format_seconds(load)}")
    print(f"compile     cold {format_seconds(cold)} (empty cache), warm {format_seconds(warm)} "
          f"(disk cache); {len(executable.plan.kernels)} kernels")
    print(f"latency     median {format_seconds(median)} per batch (p10 "
          f"{format_seconds(deciles[0])}, p90 {format_seconds(deciles[-1])}; {len(times)} calls)")
    print(f"throughput  {args.batch / median:,.0f} samples/s")
    print(f"memory      arena {format_bytes(executable.arena_bytes)}, weights "
          f"{format_bytes(weights)}, peak RSS {format_bytes(peak)}")
    return 0
