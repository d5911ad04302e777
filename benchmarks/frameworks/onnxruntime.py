"""ONNX Runtime, CPU execution provider, default session options (inference: W2, W4, W6).

The ONNX graphs are built from the shared weights by onnx_models.py.
"""

import sys

import onnx_models
import workloads
from frameworks import _common

FRAMEWORK = "onnxruntime"
SUPPORTED = {"W2", "W4", "W6"}


def measure(workload, arrays, options):
    import onnx
    import onnxruntime as ort

    model = onnx_models.build(workload, workloads.weights_of(arrays))
    session_options = ort.SessionOptions()
    session = ort.InferenceSession(model.SerializeToString(), session_options,
                                   providers=["CPUExecutionProvider"])

    def predict(x):
        return session.run(None, {"x": x})[0]

    x_latency, x_throughput = _common.inference_inputs(workload, arrays)
    metrics, reps = _common.latency_and_throughput(predict, x_latency, x_throughput, options)
    variants = {"default": _common.variant(metrics, predict(arrays["x_check"]), reps)}
    threads = {
        "intra_op": session_options.intra_op_num_threads,
        "inter_op": session_options.inter_op_num_threads,
        "meaning of 0": "ONNX Runtime's default: one intra-op thread per physical core",
        "execution_mode": str(session_options.execution_mode),
        "providers": session.get_providers(),
    }
    return {"variants": variants, "threads": threads, "notes": [],
            "versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__}}


if __name__ == "__main__":
    sys.exit(_common.main(FRAMEWORK, SUPPORTED, ["onnxruntime", "onnx"], measure))
