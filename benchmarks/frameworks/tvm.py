"""Apache TVM (Relax), inference only: W2 and W4.

The ONNX graph from onnx_models.py is imported with tvm.relax.frontend.onnx and
compiled with tvm.compile for an llvm target (mcpu of this machine, default
pipeline), once per input shape. No MetaSchedule tuning is done (it takes tens of
minutes per shape on two cores), so these are untuned-TVM figures.
W6 is not supported: the Relax ONNX frontend has no LSTM operator.
"""

import sys
import time

import onnx_models
import workloads
from frameworks import _common

FRAMEWORK = "tvm"
SUPPORTED = {"W2", "W4"}


def host_cpu_name():
    """The LLVM name of this CPU (e.g. znver4), or "" when LLVM cannot tell."""
    import tvm

    get_host = tvm.get_global_func("tvm.codegen.llvm.GetHostCPUName", allow_missing=True)
    return str(get_host()) if get_host is not None else ""


def compile_for(tvm, model, shape, target):
    """A callable running `model` on float32 numpy input of exactly `shape`."""
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    module = from_onnx(model, shape_dict={"x": list(shape)}, keep_params_in_input=False)
    machine = relax.VirtualMachine(tvm.compile(module, target=target), tvm.cpu())
    main = machine["main"]

    def run(x):
        return main(tvm.runtime.tensor(x)).numpy()

    return run


def measure(workload, arrays, options):
    import tvm

    model = onnx_models.build(workload, workloads.weights_of(arrays))
    target_config = {"kind": "llvm"}
    if host_cpu_name():
        target_config["mcpu"] = host_cpu_name()
    target = tvm.target.Target(target_config)
    x_latency, x_throughput = _common.inference_inputs(workload, arrays)
    t0 = time.perf_counter()
    runners = {x.shape: compile_for(tvm, model, x.shape, target)
               for x in (x_latency, x_throughput, arrays["x_check"])}
    compile_s = time.perf_counter() - t0

    def predict(x):
        return runners[x.shape](x)

    metrics, reps = _common.latency_and_throughput(predict, x_latency, x_throughput, options)
    notes = [f"untuned; target {target_config}; compile of 3 shapes {compile_s:.1f} s"]
    variants = {"default": _common.variant(metrics, predict(arrays["x_check"]), reps, notes)}
    threads = {"runtime_num_threads": tvm.runtime.num_threads()}
    return {"variants": variants, "threads": threads, "notes": [],
            "versions": {"tvm": tvm.__version__}}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["tvm", "onnx"], measure))
