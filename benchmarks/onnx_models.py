"""ONNX graphs of the inference workloads (W2, W4, W6), built from the shared weights.

`build(workload, weights)` returns an onnx.ModelProto with one input "x" (the same
layout every framework takes: [n, 784], [n, 28, 28, 1] or [n, 32, 16], batch
dimension symbolic) and one output "y". Used by the onnxruntime and tvm peers.
"""

import numpy as np

OPSET = 17
IR_VERSION = 8


def _graph_model(onnx, nodes, input_shape, output_shape, initializers):
    helper = onnx.helper
    graph = helper.make_graph(
        nodes, "model",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", *input_shape])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", *output_shape])],
        [onnx.numpy_helper.from_array(np.ascontiguousarray(value), name)
         for name, value in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def mlp(onnx, weights):
    k1, b1, k2, b2, k3, b3 = weights
    node = onnx.helper.make_node
    nodes = [node("Gemm", ["x", "k1", "b1"], ["h1"]), node("Relu", ["h1"], ["a1"]),
             node("Gemm", ["a1", "k2", "b2"], ["h2"]), node("Relu", ["h2"], ["a2"]),
             node("Gemm", ["a2", "k3", "b3"], ["h3"]), node("Softmax", ["h3"], ["y"], axis=-1)]
    initializers = {"k1": k1, "b1": b1, "k2": k2, "b2": b2, "k3": k3, "b3": b3}
    return _graph_model(onnx, nodes, [784], [10], initializers)


def cnn(onnx, weights):
    c1, cb1, c2, cb2, k1, b1, k2, b2 = weights
    # Computes in NCHW (ONNX's Conv layout); dense rows are reordered from TF.js's
    # (h, w, c) flatten order to (c, h, w).
    k1_nchw = k1.reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128)
    node = onnx.helper.make_node
    nodes = [
        node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]),
        node("Conv", ["x_nchw", "c1", "cb1"], ["h1"], kernel_shape=[3, 3]),
        node("Relu", ["h1"], ["a1"]),
        node("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "c2", "cb2"], ["h2"], kernel_shape=[3, 3]),
        node("Relu", ["h2"], ["a2"]),
        node("MaxPool", ["a2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Flatten", ["p2"], ["f"], axis=1),
        node("Gemm", ["f", "k1", "b1"], ["h3"]), node("Relu", ["h3"], ["a3"]),
        node("Gemm", ["a3", "k2", "b2"], ["h4"]), node("Softmax", ["h4"], ["y"], axis=-1),
    ]
    initializers = {"c1": c1.transpose(3, 2, 0, 1), "cb1": cb1, "c2": c2.transpose(3, 2, 0, 1),
                    "cb2": cb2, "k1": k1_nchw, "b1": b1, "k2": k2, "b2": b2}
    return _graph_model(onnx, nodes, [28, 28, 1], [10], initializers)


def lstm(onnx, weights):
    kernel, recurrent, bias, k_out, b_out = weights
    units = recurrent.shape[0]
    # TF.js gate blocks are i, f, c, o; ONNX's are i, o, f, c.
    order = [0, 3, 1, 2]

    def onnx_gates(matrix):  # [rows, 4*units] in i, f, c, o -> [4*units, rows] in i, o, f, c
        blocks = [matrix[..., g * units:(g + 1) * units] for g in order]
        return np.concatenate(blocks, axis=-1).T

    w = onnx_gates(kernel)[None]     # [1, 4*units, features]
    r = onnx_gates(recurrent)[None]  # [1, 4*units, units]
    # ONNX has an input bias and a recurrent bias: [1, 8*units]; the second is zero.
    b = np.concatenate([onnx_gates(bias[None])[:, 0], np.zeros(4 * units, np.float32)])[None]
    node = onnx.helper.make_node
    nodes = [
        node("Transpose", ["x"], ["x_tnf"], perm=[1, 0, 2]),  # [time, batch, features]
        node("LSTM", ["x_tnf", "w", "r", "b"], ["", "h_last"], hidden_size=units),
        node("Squeeze", ["h_last", "axis0"], ["h"]),  # [batch, units]
        node("Gemm", ["h", "k_out", "b_out"], ["y"]),
    ]
    initializers = {"w": w, "r": r, "b": b, "k_out": k_out, "b_out": b_out,
                    "axis0": np.array([0], np.int64)}
    return _graph_model(onnx, nodes, [32, 16], [1], initializers)


def build(workload, weights):
    """The ONNX model of an inference workload, with the given TF.js-layout weights."""
    import onnx

    builders = {"W2": mlp, "W4": cnn, "W6": lstm}
    if workload not in builders:
        raise ValueError(f"no ONNX model for {workload}; only {sorted(builders)}")
    return builders[workload](onnx, weights)
