"""LayersModel: a graph of layers between input and output SymbolicTensors (tf.model).

The graph is ordered as TF.js (and Keras) order it: nodes by depth from the outputs, layers
by depth then by discovery order. A model is itself a Layer: calling it on tensors runs its
graph, so models nest inside models.

`predict` compiles the whole graph once per input signature (one native entry point with
every layer fused and planned together) and calls it once per batch.
"""
from __future__ import annotations

import numpy as np

from kiln.frontend.engine.compiled import CompiledFunction
from kiln.frontend.engine.input_layer import InputLayer
from kiln.frontend.engine.layer import Layer, _flat, _single
from kiln.frontend.engine.naming import get_uid
from kiln.frontend.engine.summary import print_summary
from kiln.frontend.engine.symbolic import SymbolicTensor
from kiln.frontend.ops.convert import to_array
from kiln.frontend.serialization import registerClass
from kiln.frontend.trace import current_tracer
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import Tensor


def input_list(x, names: list[str], owner: str) -> list:
    """A model's inputs as a list: x is one tensor or array, a list of them, or a dict by
    input name (every name must be there)."""
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        if missing:
            raise ValueError(f"{owner}: no data for input {missing[0]!r}")
        return [x[n] for n in names]
    if isinstance(x, (list, tuple)) and x and all(isinstance(e, (Tensor, np.ndarray)) for e in x):
        return list(x)
    return [x]


@registerClass
class LayersModel(Layer):
    className = "Model"
    ARGS = {"inputs": None, "outputs": None}

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        if given.get("name") is None:
            given["name"] = self._default_name()
        super().__init__(given)
        self._predict_cache: dict = {}
        self._execute_cache: dict = {}
        self.stopTraining = False
        self.optimizer = None
        self.compiled = None
        self.history = None
        if self.args["inputs"] is not None or self.args["outputs"] is not None:
            self._init_graph(self.args["inputs"], self.args["outputs"])

    def _default_name(self) -> str:
        return get_uid(self.className.lower())

    # ---- graph construction -----------------------------------------------------------
    def _init_graph(self, inputs, outputs) -> None:
        inputs, outputs = _flat(inputs), _flat(outputs)
        if not inputs or not outputs:
            raise ValueError(f"model {self.name!r}: `inputs` and `outputs` must be non-empty")
        for i, x in enumerate(inputs):
            if not isinstance(x, SymbolicTensor):
                raise TypeError(f"model {self.name!r}: inputs[{i}] is {type(x).__name__}; the "
                                "inputs of tf.model must be SymbolicTensors from tf.input()")
            if not isinstance(x.sourceLayer, InputLayer):
                raise ValueError(f"model {self.name!r}: input {x.name!r} is not the output of "
                                 "an InputLayer (make it with tf.input())")
        for i, x in enumerate(outputs):
            if not isinstance(x, SymbolicTensor):
                raise TypeError(f"model {self.name!r}: outputs[{i}] is {type(x).__name__}, not "
                                "a SymbolicTensor")
        if len({id(x) for x in inputs}) != len(inputs):
            raise ValueError(f"model {self.name!r}: the same input is listed more than once")
        self.inputs = inputs
        self.outputs = outputs
        self.inputLayers = [x.sourceLayer for x in inputs]
        self.outputLayers = [x.sourceLayer for x in outputs]
        self.inputNames = [layer.name for layer in self.inputLayers]
        self.outputNames = [layer.name for layer in self.outputLayers]
        self.feedInputShapes = [x.shape for x in inputs]
        self._order_graph()
        self.built = True
        self.batchInputShape = self.inputs[0].shape if len(inputs) == 1 else None
        self._predict_cache.clear()
        self._execute_cache.clear()

    def _order_graph(self) -> None:
        layer_indices: dict[int, int] = {}
        finished: set[int] = set()
        in_progress: set[int] = set()
        decreasing: list = []

        def build_map(tensor, layer, node_index):
            node = layer.inboundNodes[node_index]
            if id(node) in in_progress:
                raise ValueError(f"model {self.name!r}: the graph has a cycle at layer "
                                 f"{layer.name!r}")
            if id(node) in finished:
                return
            layer_indices.setdefault(id(layer), len(layer_indices))
            in_progress.add(id(node))
            for x, inbound, index in zip(node.inputTensors, node.inboundLayers, node.nodeIndices):
                build_map(x, inbound, index)
            finished.add(id(node))
            in_progress.discard(id(node))
            decreasing.append(node)

        for x in self.outputs:
            build_map(x, x.sourceLayer, x.nodeIndex)
        node_depths: dict[int, int] = {}
        layer_depths: dict[int, int] = {}
        nodes_by_id = {id(n): n for n in decreasing}
        layers_by_id = {}
        for node in reversed(decreasing):
            depth = node_depths.setdefault(id(node), 0)
            depth = max(depth, layer_depths.get(id(node.outboundLayer), 0))
            layer_depths[id(node.outboundLayer)] = depth
            layers_by_id[id(node.outboundLayer)] = node.outboundLayer
            node_depths[id(node)] = depth
            for inbound, index in zip(node.inboundLayers, node.nodeIndices):
                inbound_node = inbound.inboundNodes[index]
                node_depths[id(inbound_node)] = max(depth + 1, node_depths.get(id(inbound_node), 0))
                nodes_by_id[id(inbound_node)] = inbound_node
        self.nodesByDepth: dict[int, list] = {}
        for node_id, depth in node_depths.items():
            self.nodesByDepth.setdefault(depth, []).append(nodes_by_id[node_id])
        layers_by_depth: dict[int, list] = {}
        for layer_id, depth in layer_depths.items():
            layers_by_depth.setdefault(depth, []).append(layers_by_id[layer_id])
        layers = []
        for depth in sorted(layers_by_depth, reverse=True):
            layers.extend(sorted(layers_by_depth[depth], key=lambda l: layer_indices[id(l)]))
        self._layers = layers
        self._nodes = {id(n) for n in decreasing}
        # The order to run nodes: deepest first (inputs), then by discovery order.
        self._run_order = [n for n in decreasing]
        names = [layer.name for layer in layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"model {self.name!r}: layer names must be unique; "
                             f"{sorted(dup)} appear more than once")

    # ---- structure ---------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def getLayer(self, name=None, index=None) -> Layer:
        if isinstance(name, int) and index is None:
            name, index = None, name
        if index is not None:
            if not 0 <= index < len(self.layers):
                raise ValueError(f"model {self.name!r}: layer index {index} is out of range; the "
                                 f"model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"model {self.name!r} has no layer named {name!r}; its layers are "
                         f"{[l.name for l in self.layers]}")

    def _unique_weights(self, attr):
        seen, result = set(), []
        for layer in self.layers:
            for w in getattr(layer, attr):
                if id(w) not in seen:
                    seen.add(id(w))
                    result.append(w)
        return result

    @property
    def trainableWeights(self):
        return self._unique_weights("trainableWeights") if self.trainable else []

    @property
    def nonTrainableWeights(self):
        if not self.trainable:
            return self._unique_weights("weights")
        return self._unique_weights("nonTrainableWeights")

    @property
    def weights(self):
        return self._unique_weights("weights")

    def getWeights(self, trainableOnly=False):
        weights = self.trainableWeights if trainableOnly else self.weights
        return [w.read().clone() for w in weights]

    def setWeights(self, weights) -> None:
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"model {self.name!r}: setWeights got {len(weights)} weight(s), "
                             f"the model has {len(mine)}")
        for w, value in zip(mine, weights):
            data = value.buffer("setWeights") if isinstance(value, Tensor) else np.asarray(value)
            if list(data.shape) != w.shape:
                raise ValueError(f"model {self.name!r}: weight {w.originalName!r} has shape "
                                 f"{w.shape}, the provided value has shape {list(data.shape)}")
        for w, value in zip(mine, weights):
            w.write(value)

    @property
    def stateful(self) -> bool:
        """True if any layer keeps state across calls (TF.js's Container.stateful)."""
        return any(getattr(layer, "stateful", False) for layer in getattr(self, "_layers", []))

    @stateful.setter
    def stateful(self, value) -> None:
        """A model's statefulness follows its layers (Layer.__init__ assigns False)."""

    def resetStates(self) -> None:
        """Reset the states of every stateful layer."""
        for layer in self.layers:
            if getattr(layer, "stateful", False):
                layer.resetStates()

    def countParams(self) -> int:
        return sum(layer.countParams() for layer in self.layers)

    def summary(self, lineLength=None, positions=None, printFn=None) -> None:
        if not self.built:
            raise ValueError(f"model {self.name!r} has not been built yet: call it on data or "
                             "give the first layer an inputShape before summary()")
        print_summary(self, lineLength, positions, printFn)

    # ---- execution ---------------------------------------------------------------------
    def call(self, inputs, kwargs):
        outputs = self.run_graph(_flat(inputs), self.outputs, kwargs)
        return _single(outputs) if len(self.outputs) == 1 else outputs

    def run_graph(self, inputs: list, fetches: list, kwargs=None, masks=None) -> list:
        """Run the layer graph on (traced) tensors; return the values of `fetches`."""
        kwargs = dict(kwargs or {})
        if len(inputs) != len(self.inputs):
            raise ValueError(f"model {self.name!r} expects {len(self.inputs)} input(s), got "
                             f"{len(inputs)}")
        values = {id(s): v for s, v in zip(self.inputs, inputs)}
        mask_values = {id(s): m for s, m in zip(self.inputs, masks or [None] * len(inputs))}
        wanted = {id(f) for f in fetches}
        for node in self._run_order:       # a topological order of the graph's nodes
            layer = node.outboundLayer
            if isinstance(layer, InputLayer):
                continue
            missing = [t for t in node.inputTensors if id(t) not in values]
            if missing:
                raise ValueError(f"model {self.name!r}: layer {layer.name!r} needs "
                                 f"{missing[0]}, which is not computed from the model's inputs")
            xs = [values[id(t)] for t in node.inputTensors]
            ms = [mask_values.get(id(t)) for t in node.inputTensors]
            call_kwargs = dict(node.callArgs)
            if "training" in kwargs and "training" not in node.callArgs:
                call_kwargs["training"] = kwargs["training"]
            x_arg = xs[0] if len(xs) == 1 else xs
            m_arg = ms[0] if len(ms) == 1 else ms
            if any(m is not None for m in ms):
                call_kwargs["mask"] = m_arg
            tracer = current_tracer()
            outer_scope = tracer.builder.scope if tracer is not None else None
            if tracer is not None and outer_scope is None:
                tracer.builder.scope = layer.name     # tag the IR with its layer (inspect)
            out = layer.apply(x_arg, call_kwargs)
            out_masks = layer.computeMask(x_arg, m_arg)
            if tracer is not None and call_kwargs.get("training"):
                _activity_losses(tracer, layer, out)
            if tracer is not None:
                tracer.builder.scope = outer_scope
            for i, (t, v) in enumerate(zip(node.outputTensors, _flat(out))):
                values[id(t)] = v
                mask_values[id(t)] = _flat(out_masks)[i] if out_masks is not None else None
            if wanted <= set(values):
                break
        missing = [f for f in fetches if id(f) not in values]
        if missing:
            raise ValueError(f"model {self.name!r}: cannot compute {missing[0]} from the inputs")
        return [values[id(f)] for f in fetches]

    def computeOutputShape(self, inputShape):
        from kiln.frontend.engine.layer import infer_output_shape
        return infer_output_shape(self, inputShape, [x.dtype for x in self.inputs])

    def computeMask(self, inputs, mask=None):
        return None

    # ---- predict -----------------------------------------------------------------------
    def _standardize_inputs(self, x, op: str) -> list[np.ndarray]:
        """Model inputs as arrays, checked against the model's input shapes and dtypes."""
        xs = input_list(x, self.inputNames, f"{op}: model {self.name!r}")
        if len(xs) != len(self.inputs):
            raise ValueError(f"{op}: model {self.name!r} expects {len(self.inputs)} input "
                             f"tensor(s) ({self.inputNames}), but got {len(xs)}")
        arrays = []
        for i, (data, spec) in enumerate(zip(xs, self.inputs)):
            name = self.inputNames[i]
            arr = data.buffer(op) if isinstance(data, Tensor) else to_array(data, None, op)
            expected = spec.shape
            if arr.ndim != len(expected) or any(e is not None and e != d
                                                for e, d in zip(expected, arr.shape)):
                raise ValueError(f"{op}: input {name!r} of model {self.name!r} expects shape "
                                 f"{expected}, but got an array of shape {list(arr.shape)}")
            want = as_dtype(spec.dtype).np
            if arr.dtype != want:
                if spec.dtype == "float32" or arr.dtype == np.bool_ and spec.dtype == "int32":
                    arr = arr.astype(want)
                else:
                    raise TypeError(f"{op}: input {name!r} of model {self.name!r} expects dtype "
                                    f"{spec.dtype}, got {as_dtype(arr.dtype).value}")
            arrays.append(arr)
        sizes = {a.shape[0] for a in arrays if a.ndim}
        if len(sizes) > 1:
            raise ValueError(f"{op}: all inputs must have the same number of samples, got "
                             f"{sorted(sizes)}")
        return arrays

    def _compiled_forward(self, arrays, training=False) -> CompiledFunction:
        key = (tuple(a.shape for a in arrays), tuple(a.dtype.str for a in arrays), training)
        fn = self._predict_cache.get(key)
        if fn is None:
            fn = CompiledFunction(
                lambda xs: self.run_graph(xs, self.outputs, {"training": training}),
                [(a.shape, as_dtype(a.dtype).value) for a in arrays], name=self.name)
            self._predict_cache[key] = fn
        return fn

    PREDICT_ARGS = {"batchSize": 32, "verbose": False, "steps": None}

    def predict(self, x, config=None, **kwargs):
        """Outputs for x (a Tensor, a list of Tensors, or arrays), in batches of batchSize."""
        if config is None and not kwargs:
            batch_size = 32
        else:
            from kiln.frontend.engine.config import parse_args
            batch_size = int(parse_args("predict", self.PREDICT_ARGS, config, kwargs)["batchSize"])
            if batch_size <= 0:
                raise ValueError(f"predict: batchSize must be positive, got {batch_size}")
        self._check_disposed()
        arrays = self._fast_inputs(x)
        if arrays is None:
            arrays = self._standardize_inputs(x, "predict")
        outs = self.predict_arrays(arrays, batch_size)
        tensors = [Tensor.wrap(o) for o in outs]
        return tensors[0] if len(tensors) == 1 else tensors

    def _fast_inputs(self, x):
        """The common case without conversions: one float32 Tensor whose shape matches a
        compiled signature (anything else goes through _standardize_inputs' checks)."""
        if type(x) is not Tensor or len(self.inputs) != 1:
            return None
        data = x._data
        if data is None or data.dtype.char != "f" or \
                ((data.shape,), ("<f4",), False) not in self._predict_cache:
            return None
        return [data]

    def predict_arrays(self, arrays, batch_size) -> list[np.ndarray]:
        n = arrays[0].shape[0] if arrays[0].ndim else 1
        if n <= batch_size:
            return self._compiled_forward(arrays).run(arrays)
        chunks: list[list[np.ndarray]] = []
        full = n // batch_size * batch_size
        first = [a[:batch_size] for a in arrays]
        fn = self._compiled_forward(first)
        for start in range(0, full, batch_size):
            batch = [np.ascontiguousarray(a[start:start + batch_size]) for a in arrays]
            chunks.append(fn.run(batch))
        if full < n:
            # The last partial batch is padded to the compiled batch size and trimmed.
            rest = n - full
            padded = [np.concatenate([a[full:], np.zeros((batch_size - rest,) + a.shape[1:],
                                                         a.dtype)]) for a in arrays]
            chunks.append([o[:rest] for o in fn.run(padded)])
        return [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]

    def predictOnBatch(self, x):
        arrays = self._standardize_inputs(x, "predictOnBatch")
        outs = [Tensor(o) for o in self._compiled_forward(arrays).run(arrays)]
        return outs[0] if len(outs) == 1 else outs

    def execute(self, inputs, outputNames):
        """Values of internal symbolic tensors (by name) for the given inputs."""
        names = [outputNames] if isinstance(outputNames, str) else list(outputNames)
        fetches = []
        for name in names:
            found = self._find_tensor(name)
            fetches.append(found)
        arrays = self._standardize_inputs(inputs, "execute")
        key = (tuple(a.shape for a in arrays), tuple(names))
        fn = self._execute_cache.get(key)
        if fn is None:
            fn = CompiledFunction(lambda xs: self.run_graph(xs, fetches, {"training": False}),
                                  [(a.shape, as_dtype(a.dtype).value) for a in arrays],
                                  name=self.name)
            self._execute_cache[key] = fn
        outs = [Tensor(o) for o in fn.run(arrays)]
        return outs[0] if isinstance(outputNames, str) else outs

    def _find_tensor(self, name):
        for layer in self.layers:
            for node in layer.inboundNodes:
                if id(node) not in self._nodes:
                    continue
                for t in node.outputTensors:
                    if t.name == name or layer.name == name.split(":")[0] or \
                            t.originalName == name:
                        return t
        raise ValueError(f"execute: model {self.name!r} has no tensor named {name!r}")

    # ---- configuration and files ---------------------------------------------------------
    def getConfig(self) -> dict:
        from kiln.frontend.engine.container_config import functional_config
        return functional_config(self)

    @staticmethod
    def fromConfig(cls, config: dict):
        from kiln.frontend.engine.container_config import functional_from_config
        return functional_from_config(cls, config)

    def toJSON(self, unused=None, returnString: bool = True):
        """The model's topology in model.json's snake_case form: a JSON string (TF.js's
        JSON.stringify output) or, with returnString False, the dict."""
        from kiln.frontend.io.model_json import model_to_json
        return model_to_json(self, returnString)

    async def save(self, handlerOrURL, config=None, **kwargs):
        """Save topology and weights: 'file://dir' or a folder path, an http(s) URL, or an
        IO handler with save(artifacts). Options: trainableOnly, includeOptimizer.
        Resolves to a SaveResult {'modelArtifactsInfo': {...}}."""
        from kiln.frontend.io.save import save_model
        return await save_model(self, handlerOrURL, config, **kwargs)

    def setUserDefinedMetadata(self, userDefinedMetadata) -> None:
        from kiln.frontend.io.model_json import check_user_defined_metadata
        check_user_defined_metadata(userDefinedMetadata, self.name)
        self.userDefinedMetadata = userDefinedMetadata

    def getUserDefinedMetadata(self):
        return getattr(self, "userDefinedMetadata", None)

    # ---- training (kiln.frontend.training.trainer) ------------------------------------
    def compile(self, config=None, **kwargs) -> None:
        """compile({'optimizer', 'loss', 'metrics'})."""
        from kiln.frontend.training import trainer
        trainer.compile(self, config, **kwargs)

    async def fit(self, x, y, config=None, **kwargs):
        """Train; resolves to a History (history.history['loss'], history.epoch)."""
        from kiln.frontend.training import trainer
        return await trainer.fit(self, x, y, config, **kwargs)

    def evaluate(self, x, y, config=None, **kwargs):
        from kiln.frontend.training import trainer
        return trainer.evaluate(self, x, y, config, **kwargs)

    async def fitDataset(self, dataset, config=None, **kwargs):
        from kiln.frontend.training import trainer
        return await trainer.fitDataset(self, dataset, config, **kwargs)

    async def evaluateDataset(self, dataset, config=None, **kwargs):
        from kiln.frontend.training import trainer
        return await trainer.evaluateDataset(self, dataset, config, **kwargs)

    async def trainOnBatch(self, x, y):
        from kiln.frontend.training import trainer
        return await trainer.trainOnBatch(self, x, y)

    # ---- lifetime ----------------------------------------------------------------------
    def dispose(self) -> dict:
        self._check_disposed()
        count = 0
        for layer in self.layers:
            if layer.built and not layer._disposed and not isinstance(layer, InputLayer):
                count += layer.dispose()["numDisposedVariables"]
        self._predict_cache.clear()
        self._execute_cache.clear()
        if self.optimizer is not None and getattr(self, "_owns_optimizer", False):
            self.optimizer.dispose()
        self._disposed = True
        return {"refCountAfterDispose": 0, "numDisposedVariables": count}


def _activity_losses(tracer, layer, outputs) -> None:
    """A layer's activityRegularizer penalizes its outputs while training: the penalty per
    sample (Keras's rule; TF.js refuses such layers) joins the training loss."""
    regularizer = getattr(layer, "activityRegularizer", None)
    if regularizer is None:
        return
    from kiln.frontend.ops import math as m
    for out in _flat(outputs):
        batch = out.shape[0] if out.shape else 1
        tracer.losses.append(m.div(regularizer.apply(out), float(max(batch, 1))))


def model(config=None, **kwargs) -> LayersModel:
    """tf.model({'inputs': ..., 'outputs': ..., 'name': ...})."""
    args = dict(config or {}, **kwargs)
    if args.get("inputs") is None or args.get("outputs") is None:
        raise ValueError("tf.model needs both `inputs` and `outputs`")
    return LayersModel(args)

