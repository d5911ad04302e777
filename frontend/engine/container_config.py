"""A functional model's config and its inverse: TF.js's Container.getConfig / fromConfig.

    {"name": ..., "layers": [{"name", "className", "config", "inboundNodes"}, ...],
     "inputLayers": [["input1", 0, 0]], "outputLayers": [["dense_Dense1", 0, 0]]}

Each entry of "inboundNodes" is one application of the layer: a list of
[inboundLayerName, nodeIndex, tensorIndex, kwargs]. Node indices count only the nodes that
belong to this model, and a nested model's indices start at 1 because TF.js and Keras give
every model a node 0 of its own (linking its inputs to its outputs). kiln's models have no
such node, so the index written is the application index + 1 and the index read is reduced
by 1 again (node_offset).
"""
from __future__ import annotations

from kiln.frontend.engine.layer import _single
from kiln.frontend.serialization import deserialize


def node_offset(layer) -> int:
    """How many leading nodes a layer has in TF.js's numbering but not in kiln's."""
    from kiln.frontend.engine.functional import LayersModel

    if not isinstance(layer, LayersModel):
        return 0
    own = layer.inboundNodes[0] if layer.inboundNodes else None
    has_own_node = own is not None and not own.inboundLayers
    return 0 if has_own_node else 1


def _kept_node_indices(model) -> dict[int, int]:
    """id(node) -> its index among the nodes of its layer that belong to `model`."""
    kept: dict[int, int] = {}
    for layer in model.layers:
        index = node_offset(layer)
        for node in layer.inboundNodes:
            if id(node) in model._nodes:
                kept[id(node)] = index
                index += 1
    return kept


def _serializable_kwargs(kwargs: dict) -> dict:
    """Call kwargs that can be written to JSON (TF.js drops the rest with a warning)."""
    import json

    plain = {k: v for k, v in (kwargs or {}).items() if k not in ("mask", "training")}
    try:
        json.dumps(plain)
    except TypeError:
        return {}
    return plain


def functional_config(model) -> dict:
    kept = _kept_node_indices(model)

    def ref(layer, node_index, tensor_index):
        node = layer.inboundNodes[node_index]
        return [layer.name, kept.get(id(node), 0), tensor_index]

    layer_configs = []
    for layer in model.layers:
        inbound = []
        for node in layer.inboundNodes:
            if id(node) not in model._nodes or not node.inboundLayers:
                continue
            kwargs = _serializable_kwargs(node.callArgs)
            inbound.append([ref(src, ni, ti) + [kwargs] for src, ni, ti in
                            zip(node.inboundLayers, node.nodeIndices, node.tensorIndices)])
        layer_configs.append({"name": layer.name, "className": layer.getClassName(),
                              "config": layer.getConfig(), "inboundNodes": inbound})

    def endpoints(tensors):
        return [ref(t.sourceLayer, t.nodeIndex, t.tensorIndex) for t in tensors]

    return {"name": model.name, "layers": layer_configs,
            "inputLayers": endpoints(model.inputs), "outputLayers": endpoints(model.outputs)}


def functional_from_config(cls, config: dict, custom_objects=None):
    """Rebuild the layers, then replay their applications in an order where every input
    already exists (a layer shared at different depths may need several passes)."""
    where = f"model {config.get('name')!r}"
    layers_data = config.get("layers")
    if not isinstance(layers_data, list):
        raise ValueError(f"{where}: the config has no 'layers' list")
    created: dict = {}
    pending: dict[str, list] = {}
    for data in layers_data:
        if not isinstance(data, dict) or "className" not in data:
            raise ValueError(f"{where}: malformed layer entry {str(data)[:200]}")
        name = data.get("name") or (data.get("config") or {}).get("name")
        layer = deserialize({"className": data["className"], "config": data.get("config")},
                            "layer", custom_objects)
        created[name] = layer
        nodes = data.get("inboundNodes") or []
        if not isinstance(nodes, list):
            raise ValueError(f"{where}: inboundNodes of layer {name!r} must be a list")
        for node_data in nodes:
            pending.setdefault(name, []).append(node_data)

    def tensor_for(layer_name, node_index, tensor_index):
        layer = created.get(layer_name)
        if layer is None:
            raise ValueError(f"{where}: a node refers to layer {layer_name!r}, which is not "
                             "in the model")
        index = int(node_index) - node_offset(layer)
        if index < 0:
            index = 0
        if index >= len(layer.inboundNodes):
            return None
        return layer.inboundNodes[index].outputTensors[int(tensor_index)]

    def process(layer, node_data) -> bool:
        inputs, kwargs = [], {}
        for entry in node_data:
            if not isinstance(entry, list) or len(entry) < 3:
                raise ValueError(f"{where}: malformed inbound node {entry!r} of layer "
                                 f"{layer.name!r}")
            tensor = tensor_for(*entry[:3])
            if tensor is None:
                return False
            inputs.append(tensor)
            kwargs = dict(entry[3]) if len(entry) > 3 and entry[3] else {}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if inputs:
            layer.apply(_single(inputs), kwargs)
        return True

    while pending:
        progressed = False
        for data in layers_data:
            name = data.get("name") or (data.get("config") or {}).get("name")
            queue = pending.pop(name, None)
            if not queue:
                continue
            layer = created[name]
            for i, node_data in enumerate(queue):
                if process(layer, node_data):
                    progressed = True
                else:
                    pending[name] = queue[i:]
                    break
        if not progressed:
            stuck = ", ".join(sorted(pending))
            raise ValueError(f"{where}: cannot connect layer(s) {stuck}: their inputs are never "
                             "produced (a missing layer or a cycle in inboundNodes)")

    def endpoint_tensors(key):
        tensors = []
        for entry in config.get(key) or []:
            tensor = tensor_for(*entry[:3])
            if tensor is None:
                raise ValueError(f"{where}: {key} refers to node {entry[1]} of layer "
                                 f"{entry[0]!r}, which does not exist")
            tensors.append(tensor)
        return tensors

    inputs, outputs = endpoint_tensors("inputLayers"), endpoint_tensors("outputLayers")
    extra = {k: v for k, v in config.items()
             if k not in ("layers", "inputLayers", "outputLayers")}
    return cls({"inputs": inputs, "outputs": outputs, "name": extra.get("name"),
                **({"trainable": extra["trainable"]} if "trainable" in extra else {})})


def sequential_from_config(cls, config, custom_objects=None):
    """A Sequential from {'name', 'layers': [...]} or (older files) a bare list of layers."""
    if isinstance(config, list):
        layer_configs, extra = config, {}
    else:
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("Sequential config must be a list of layers or a dict with a "
                             "'layers' list")
        extra = {k: v for k, v in config.items() if k != "layers"}
        layer_configs = config["layers"]
    model = cls(extra)
    for conf in layer_configs:
        model.add(deserialize(conf, "layer", custom_objects))
    return model

