"""model.summary(): TF.js's table (Layer (type), Input Shape, Output shape, Param #, and
Receives inputs for non-sequential graphs), with lineLength, positions and printFn."""
from __future__ import annotations

import json


def _json(x) -> str:
    return json.dumps(x, separators=(",", ":")).replace("NaN", "null")


def is_sequential_like(model) -> bool:
    nodes = []
    for depth in sorted(model.nodesByDepth, reverse=True):
        depth_nodes = model.nodesByDepth[depth]
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and
                                    len(depth_nodes[0].inboundLayers) > 1):
            return False
        nodes.extend(depth_nodes)
    for layer in model.layers:
        if sum(1 for n in layer.inboundNodes if n in nodes) > 1:
            return False
    return True


def _row(fields, positions, print_fn):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += field
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    print_fn(line)


def _shapes(layer):
    try:
        inputs = ",".join(_json(n.inputShapes if _is_list_of_shapes(n.inputShapes)
                                else [n.inputShapes]) for n in layer.inboundNodes)
    except Exception:
        inputs = "multiple"
    try:
        outputs = _json(layer.outputShape)
    except Exception:
        outputs = "multiple"
    return inputs, outputs


def _is_list_of_shapes(shapes) -> bool:
    return bool(shapes) and isinstance(shapes[0], (list, tuple))


def print_summary(model, lineLength=None, positions=None, printFn=None):
    print_fn = printFn or print
    sequential_like = is_sequential_like(model)
    headers = ["Layer (type)", "Input Shape", "Output shape", "Param #"]
    if sequential_like:
        lineLength = lineLength or 90
        positions = positions or [0.32, 0.61, 0.89, 1]
    else:
        lineLength = lineLength or 115
        positions = positions or [0.24, 0.48, 0.70, 0.80, 1]
        headers.append("Receives inputs")
    if positions[-1] <= 1:
        positions = [int(lineLength * p) for p in positions]
    relevant = [n for depth in model.nodesByDepth for n in model.nodesByDepth[depth]]
    print_fn("_" * lineLength)
    _row(headers, positions, print_fn)
    print_fn("=" * lineLength)
    layers = model.layers
    for i, layer in enumerate(layers):
        inputs, outputs = _shapes(layer)
        fields = [f"{layer.name} ({layer.getClassName()})", inputs, outputs,
                  str(layer.countParams())]
        if sequential_like:
            _row(fields, positions, print_fn)
        else:
            connections = []
            for node in layer.inboundNodes:
                if relevant and node not in relevant:
                    continue
                for inbound, node_index, tensor_index in zip(node.inboundLayers, node.nodeIndices,
                                                             node.tensorIndices):
                    connections.append(f"{inbound.name}[{node_index}][{tensor_index}]")
            _row(fields + [connections[0] if connections else ""], positions, print_fn)
            for c in connections[1:]:
                _row(["", "", "", "", c], positions, print_fn)
        print_fn(("=" if i == len(layers) - 1 else "_") * lineLength)
    trainable = sum(_count(w) for w in model.trainableWeights)
    non_trainable = sum(_count(w) for w in model.nonTrainableWeights)
    print_fn(f"Total params: {trainable + non_trainable}")
    print_fn(f"Trainable params: {trainable}")
    print_fn(f"Non-trainable params: {non_trainable}")
    print_fn("_" * lineLength)


def _count(weight) -> int:
    n = 1
    for d in weight.shape:
        n *= d
    return n
