"""TensorFlow.js 4.22 in Node.js: a thin wrapper around benchmarks/tfjs/bench.js.

Variants (one Node process each, so W1's process_s is that process's wall time):
  cpu   the pure-JavaScript cpu backend (single-threaded)
  wasm  @tensorflow/tfjs-backend-wasm (SIMD; single-threaded in Node)

The cpu backend trains very slowly, so W3/W5 on it use the first
CPU_TRAIN_SAMPLES samples only; the variant's notes say so. Each backend run is
killed after BACKEND_TIMEOUT_S seconds and then reported as a timeout.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from frameworks import _common

FRAMEWORK = "tfjs_node"
SUPPORTED = {"W1", "W2", "W3", "W4", "W5", "W6"}
BACKENDS = ["cpu", "wasm"]
CPU_TRAIN_SAMPLES = {"W3": 2048, "W5": 64}
BACKEND_TIMEOUT_S = 400
TFJS_DIR = Path(__file__).resolve().parents[1] / "tfjs"


def missing_requirements():
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    for package in ("@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"):
        if not (TFJS_DIR / "node_modules" / package).is_dir():
            missing.append(f"{package} (run benchmarks/setup_peers.sh)")
    return missing


def run_backend(backend, workload, data, quick):
    """Run bench.js once; returns (its JSON result, process wall seconds)."""
    command = ["node", str(TFJS_DIR / "bench.js"), "--workload", workload,
               "--backend", backend, "--data", str(data)]
    if quick:
        command.append("--quick")
    if backend == "cpu" and workload in CPU_TRAIN_SAMPLES:
        command += ["--max-train-samples", str(CPU_TRAIN_SAMPLES[workload])]
    t0 = time.perf_counter()
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=BACKEND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"killed after {BACKEND_TIMEOUT_S} s"}, None
    wall_s = time.perf_counter() - t0
    sys.stderr.write(process.stderr)
    lines = process.stdout.strip().splitlines()
    if not lines:
        return {"status": "error", "error": f"no output (exit code {process.returncode})"}, wall_s
    return json.loads(lines[-1]), wall_s


def measure(workload, arrays, options):
    data = options.data
    variants, versions, threads = {}, {}, {}
    for backend in BACKENDS:
        result, wall_s = run_backend(backend, workload, data, options.quick)
        if result.get("status") != "ok":
            variants[backend] = _common.variant({}, notes=[f"{result['status']}: {result['error']}"])
            continue
        metrics = result["metrics"]
        if workload == "W1":
            metrics["process_s"] = wall_s
        variants[backend] = _common.variant(metrics, result["check"], result["reps"],
                                            result["notes"])
        versions.update(result["versions"])
        threads[backend] = result["threads"]
    return {"variants": variants, "versions": versions, "threads": threads, "notes": []}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, [], measure, missing_requirements))
