"""Run the reference workloads on every framework, one subprocess each, and tabulate.

    benchmarks/.venv/bin/python benchmarks/run_peers.py [--workloads W1,W2] \
        [--frameworks numpy_ref,torch_eager] [--baseline numpy_ref] [--numerator kiln] \
        [--timeout 900] [--quick] [--python kiln=/path/to/python]
    benchmarks/.venv/bin/python benchmarks/run_peers.py --report results/X.json --baseline keras_tf

For each workload the arrays are written once as .npy files to a temporary
directory; then each framework module (benchmarks/frameworks/<name>.py, see
frameworks/_common.py for its contract) runs as `python -m frameworks.<name>` in
its own process, one after another. Prints markdown tables (absolute medians,
ratios, threads, notes) and writes benchmarks/results/<timestamp>.json and .md.
A framework that is missing, fails or times out is reported, never fatal.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import workloads

HERE = Path(__file__).resolve().parent
PREFERRED_ORDER = ["kiln", "numpy_ref", "keras_tf", "torch_eager", "onnxruntime", "tvm", "tfjs_node"]
CHECK_REFERENCE = "numpy_ref"
# Unset for W7 only, as WORKLOADS.md asks (they slow a current numpy's OpenBLAS).
W7_UNSET = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]


def available_frameworks():
    """Framework module names in frameworks/, in PREFERRED_ORDER, then alphabetically."""
    names = sorted(p.stem for p in (HERE / "frameworks").glob("*.py") if not p.stem.startswith("_"))
    rank = {name: i for i, name in enumerate(PREFERRED_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def default_python():
    venv_python = HERE / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def run_one(framework, workload, data, python, timeout, quick):
    """Run one framework module on one workload; always returns a report dict."""
    command = [python, "-m", f"frameworks.{framework}", "--workload", workload, "--data", str(data)]
    if quick:
        command.append("--quick")
    env = dict(os.environ)
    if workload == "W7":
        for name in W7_UNSET:
            env.pop(name, None)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    # A session of its own, so that a timeout also ends the module's children (node).
    process = subprocess.Popen(command, cwd=HERE, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"framework": framework, "workload": workload, "status": "timeout",
                "error": f"killed after {timeout} s", "variants": {}, "load_before": load_before}
    wall_s = time.perf_counter() - t0
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"framework": framework, "workload": workload, "status": "error",
                  "error": f"exit code {process.returncode}, no JSON report", "variants": {}}
    result["wall_s"] = wall_s
    result["load_before"] = load_before  # 1-minute load average; this machine has 2 cores
    if result["status"] == "error":
        result["stderr_tail"] = stderr[-3000:]
    if workload == "W1":  # whole-process wall time, unless the module measured its own process
        for entry in result.get("variants", {}).values():
            if entry["metrics"]:
                entry["metrics"].setdefault("process_s", wall_s)
    return result


def column_label(framework, variant):
    return framework if variant == "default" else f"{framework}:{variant}"


def add_check_differences(results):
    """Set each variant's check_max_abs_diff against CHECK_REFERENCE's output, in place."""
    for workload in {r["workload"] for r in results}:
        reference = next((r["variants"]["default"].get("check") for r in results
                          if r["workload"] == workload and r["framework"] == CHECK_REFERENCE
                          and r["status"] == "ok"), None)
        if reference is None:
            continue
        for result in results:
            if result["workload"] != workload:
                continue
            for entry in result.get("variants", {}).values():
                if entry.get("check") is not None:
                    difference = np.abs(np.asarray(entry["check"]) - np.asarray(reference)).max()
                    entry["check_max_abs_diff"] = float(difference)


def columns_of(results, frameworks):
    """Table columns as (framework, variant) pairs: frameworks in run order, each with
    its "default" variant first, then its other variants as they first appeared."""
    columns = []
    for framework in frameworks:
        variants = ["default"]
        for result in results:
            if result["framework"] == framework:
                variants += [v for v in result.get("variants", {}) if v not in variants]
        has_default = any("default" in r.get("variants", {}) for r in results
                          if r["framework"] == framework)
        if not has_default and len(variants) > 1:
            variants.remove("default")
        columns += [(framework, variant) for variant in variants]
    return columns


def fmt(value):
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def cell(results_by_key, framework, variant, workload, read):
    """Text of one table cell; read(variant entry) returns a number or None."""
    result = results_by_key.get((framework, workload))
    if result is None:
        return ""
    if result["status"] == "unsupported":
        return "n/a"
    if result["status"] != "ok":
        return result["status"]
    entry = result["variants"].get(variant)
    return "—" if entry is None else fmt(read(entry))


def metric_rows(workload_ids):
    for workload in workload_ids:
        for key, unit, better in workloads.METRICS[workload]:
            arrow = {"lower": ", lower is better", "higher": ", higher is better"}.get(better, "")
            yield workload, key, f"{workload} {key} ({unit}{arrow})"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def absolute_table(results, workload_ids, columns):
    by_key = {(r["framework"], r["workload"]): r for r in results}
    header = ["workload, metric"] + [column_label(*c) for c in columns]
    rows = []
    for workload in workload_ids:
        for _, key, label in metric_rows([workload]):
            def read(entry, key=key):
                return entry["metrics"].get(key)

            rows.append([label] + [cell(by_key, f, v, workload, read) for f, v in columns])
        if workload != "W7":
            rows.append([f"{workload} check: max abs diff vs {CHECK_REFERENCE}"] +
                        [cell(by_key, f, v, workload, lambda e: e.get("check_max_abs_diff"))
                         for f, v in columns])
    return markdown_table(header, rows)


def value_of(by_key, column, workload, key):
    result = by_key.get((column[0], workload))
    if result is None or result["status"] != "ok" or column[1] not in result["variants"]:
        return None
    return result["variants"][column[1]]["metrics"].get(key)


def ratio_table(results, workload_ids, columns, baseline=None, numerator=None):
    """Either every column ÷ baseline, or numerator ÷ every column."""
    by_key = {(r["framework"], r["workload"]): r for r in results}
    pivot_label = baseline or numerator
    pivot = next((c for c in columns if column_label(*c) == pivot_label), None)
    others = [c for c in columns if c != pivot]
    if numerator:
        header = ["workload, metric"] + [f"{numerator} ÷ {column_label(*c)}" for c in others]
    else:
        header = ["workload, metric"] + [f"{column_label(*c)} ÷ {baseline}" for c in others]
    rows = []
    for workload, key, label in metric_rows(workload_ids):
        if key == "predicted":
            continue
        pivot_value = None if pivot is None else value_of(by_key, pivot, workload, key)
        row = [label]
        for column in others:
            value = value_of(by_key, column, workload, key)
            if value is None or not pivot_value:
                row.append("—")
            elif numerator:
                row.append(f"{pivot_value / value:.3g}" if value else "—")
            else:
                row.append(f"{value / pivot_value:.3g}")
        rows.append(row)
    return markdown_table(header, rows)


def threads_section(results):
    lines = []
    for framework in dict.fromkeys(r["framework"] for r in results):
        ok = [r for r in results if r["framework"] == framework and r["status"] == "ok"]
        if ok:
            versions = ", ".join(f"{k} {v}" for k, v in ok[0].get("versions", {}).items())
            lines.append(f"- {framework} ({versions}): threads {json.dumps(ok[0].get('threads'))}")
    return "\n".join(lines)


def notes_section(results):
    lines = []
    for result in results:
        where = f"{result['workload']} {result['framework']}"
        if result["status"] not in ("ok", "unsupported"):
            lines.append(f"- {where}: {result['status']}: {result.get('error', '')}")
        for note in result.get("notes", []):
            lines.append(f"- {where}: {note}")
        for variant, entry in result.get("variants", {}).items():
            for note in entry.get("notes", []):
                lines.append(f"- {result['workload']} {column_label(result['framework'], variant)}: {note}")
    return "\n".join(lines)


def machine_info():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def report_markdown(results, workload_ids, frameworks, args, machine):
    columns = columns_of(results, frameworks)
    loads = sorted(r["load_before"] for r in results if "load_before" in r)
    load_line = (f"1-minute load average before each run: min {loads[0]:.2f}, "
                 f"median {loads[len(loads) // 2]:.2f}, max {loads[-1]:.2f}" if loads else "")
    parts = [f"Machine: {machine['cpu']}, {machine['cores']} cores; {machine['date']}", "",
             load_line, "", "Absolute medians:", "", absolute_table(results, workload_ids, columns), ""]
    if args.numerator:
        parts += [f"Ratios {args.numerator} ÷ X:", ""]
    else:
        parts += [f"Ratios X ÷ {args.baseline}:", ""]
    parts += [ratio_table(results, workload_ids, columns, baseline=None if args.numerator
                          else args.baseline, numerator=args.numerator), "",
              "Threads and versions:", "", threads_section(results), "",
              "Notes:", "", notes_section(results) or "- none", ""]
    return "\n".join(parts)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(workloads.DESCRIPTIONS),
                        help="comma-separated workload ids (default: all)")
    parser.add_argument("--frameworks", default=",".join(available_frameworks()),
                        help="comma-separated framework modules (default: all in frameworks/)")
    parser.add_argument("--baseline", default="numpy_ref",
                        help="column the ratio table divides by (e.g. numpy_ref, keras_tf:call)")
    parser.add_argument("--numerator", default=None,
                        help="instead, print NUMERATOR ÷ every other column (e.g. kiln)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per framework and workload")
    parser.add_argument("--quick", action="store_true", help="10x fewer repetitions (smoke test)")
    parser.add_argument("--python", action="append", default=[], metavar="FRAMEWORK=PATH",
                        help="interpreter for one framework (default: benchmarks/.venv/bin/python)")
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for the result files")
    parser.add_argument("--report", metavar="RESULTS.json",
                        help="run nothing: print the tables of an earlier run's results file")
    return parser.parse_args(argv)


def print_saved_report(args):
    """Print the tables of a saved results file, with this call's --baseline/--numerator."""
    saved = json.loads(Path(args.report).read_text())
    results = saved["results"]
    workload_ids = list(dict.fromkeys(r["workload"] for r in results))
    frameworks = list(dict.fromkeys(r["framework"] for r in results))
    print(report_markdown(results, workload_ids, frameworks, args, saved["machine"]))
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        return print_saved_report(args)
    workload_ids = [w.strip() for w in args.workloads.split(",") if w.strip()]
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    pythons = dict(item.split("=", 1) for item in args.python)
    machine = machine_info()
    results = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        for workload in workload_ids:
            data = workloads.write_arrays(workload, Path(tmp) / workload)
            for framework in frameworks:
                python = pythons.get(framework, default_python())
                print(f"[{workload}] {framework} ...", end=" ", file=sys.stderr, flush=True)
                result = run_one(framework, workload, data, python, args.timeout, args.quick)
                print(f"{result['status']} ({result.get('wall_s', args.timeout):.1f} s)",
                      file=sys.stderr, flush=True)
                results.append(result)
    add_check_differences(results)
    markdown = report_markdown(results, workload_ids, frameworks, args, machine)
    print(markdown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps(
        {"machine": machine, "args": vars(args), "results": results}, indent=1))
    (out / f"{stamp}.md").write_text(markdown)
    print(f"results written to {out / stamp}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
