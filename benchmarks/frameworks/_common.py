"""What every framework module shares: its command line, timing, and its JSON report.

Contract of a framework module (benchmarks/frameworks/<name>.py), run from benchmarks/ as

    python -m frameworks.<name> --workload W2 --data DIR [--quick]

(as a module, so that frameworks/onnxruntime.py or frameworks/kiln.py does not
shadow the package of the same name).

- DIR holds the workload's arrays as .npy files (see workloads.py).
- The module prints exactly one JSON object as the last line of stdout:

    {"schema": 1, "framework": "<name>", "workload": "W2",
     "status": "ok" | "not installed" | "unsupported" | "error",
     "error": "<message, when status is not ok>",
     "versions": {"<package>": "<version>"},
     "threads": {"<setting>": <value>},
     "notes": ["<free text>"],
     "variants": {"<variant>": {"metrics": {"<metric key>": <number>},
                                "reps": {"<metric key>": <calls measured>},
                                "check": <model output on x_check, nested lists>,
                                "notes": ["<free text>"]}}}

  Metric keys are those in workloads.METRICS. The variant "default" is shown
  under the framework's own name; any other variant as "<name>:<variant>".
- --quick divides every repetition count by 10 (for smoke tests only).
"""

import argparse
import importlib.util
import json
import statistics
import time
import traceback

import workloads

SCHEMA = 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(workloads.DESCRIPTIONS))
    parser.add_argument("--data", required=True, help="directory of the workload's .npy files")
    parser.add_argument("--quick", action="store_true", help="10x fewer repetitions")
    return parser.parse_args(argv)


def report(framework, workload, status, **fields):
    """Print the one JSON object that is the module's whole output."""
    result = {"schema": SCHEMA, "framework": framework, "workload": workload, "status": status,
              "versions": {}, "threads": {}, "notes": [], "variants": {}}
    result.update(fields)
    print(json.dumps(result), flush=True)


def main(framework, supported, requires, measure, other_requirements=None):
    """Run one workload of one framework and print its report.

    supported: workload ids this framework implements.
    requires: importable module names; if one is missing the status is "not installed".
    measure(workload, arrays, options) -> dict with keys variants, versions, threads, notes.
    other_requirements: optional function returning the names of other missing
        prerequisites (programs, files); any makes the status "not installed".
    """
    args = parse_args()
    if args.workload not in supported:
        report(framework, args.workload, "unsupported")
        return 0
    missing = [name for name in requires if importlib.util.find_spec(name) is None]
    if other_requirements is not None:
        missing += other_requirements()
    if missing:
        report(framework, args.workload, "not installed", error=f"missing {', '.join(missing)}")
        return 0
    try:
        arrays = workloads.load_arrays(args.data)
        fields = measure(args.workload, arrays, Options(args.workload, args.data, args.quick))
    except Exception as error:  # the report carries the failure to the parent
        traceback.print_exc()
        report(framework, args.workload, "error", error=f"{type(error).__name__}: {error}")
        return 1
    report(framework, args.workload, "ok", **fields)
    return 0


class Options:
    """The run's settings: workload, data directory, and repetition counts
    (WORKLOADS.md's, or 10x fewer with --quick)."""

    def __init__(self, workload, data, quick):
        self.workload = workload
        self.data = data
        self.quick = quick

    def reps(self, kind, default=50):
        count = workloads.REPS.get(self.workload, {}).get(kind, default)
        return max(5, count // 10) if self.quick else count


def variant(metrics, check=None, reps=None, notes=None):
    """One variant's entry in the report; `check` may be an array."""
    if check is not None and hasattr(check, "tolist"):
        check = check.tolist()
    return {"metrics": metrics, "check": check, "reps": reps or {}, "notes": notes or []}


def median_seconds(fn, calls, warmup=20, budget_s=None):
    """Median wall time of one call of fn(), over `calls` calls after `warmup` calls.

    With budget_s, stops early once the timed calls took that long (at least 5
    calls are always timed). Returns (median seconds, calls timed).
    """
    for _ in range(warmup):
        fn()
    times = []
    started = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if budget_s is not None and len(times) >= 5 and time.perf_counter() - started > budget_s:
            break
    return statistics.median(times), len(times)


def latency_and_throughput(predict, x_latency, x_throughput, options):
    """Measure the two inference metrics of W2/W4 (or W6's single latency).

    predict(x) must return only when the output is computed. Returns (metrics, reps).
    """
    metrics, reps = {}, {}
    batch = x_latency.shape[0]
    seconds, calls = median_seconds(lambda: predict(x_latency), options.reps("latency"))
    metrics[f"latency_b{batch}_us"] = seconds * 1e6
    reps[f"latency_b{batch}_us"] = calls
    if x_throughput is not None:
        batch = x_throughput.shape[0]
        seconds, calls = median_seconds(lambda: predict(x_throughput), options.reps("throughput"),
                                        warmup=3, budget_s=60)
        metrics[f"throughput_b{batch}_sps"] = batch / seconds
        reps[f"throughput_b{batch}_sps"] = calls
    return metrics, reps


def inference_inputs(workload, arrays):
    """(latency input, throughput input or None) of an inference workload."""
    if workload == "W2":
        return arrays["x_b1"], arrays["x_b256"]
    if workload == "W4":
        return arrays["x_b1"], arrays["x_b64"]
    if workload == "W6":
        return arrays["x_b32"], None
    raise ValueError(f"{workload} is not an inference workload")


def train_samples_per_second(epoch_seconds, samples):
    """samples/s over every epoch but the first (the first is warm-up / compile)."""
    later = epoch_seconds[1:]
    return samples * len(later) / sum(later)
