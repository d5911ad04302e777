"""Layer: the unit of the Layers API, and LayerVariable, a layer's named weight.

A layer's `call(inputs, kwargs)` is written once with tf.* ops and serves every path:
  apply(SymbolicTensor)  wires a graph node and infers the output shape (no computation);
  apply(TracedTensor)    inside a trace (a model being compiled) records IR ops;
  apply(Tensor)          eagerly: traced once per input signature, compiled, cached, run.

Subclasses declare their options in ARGS, create weights in build() with addWeight, compute
in call(), and describe themselves in getConfig(); computeOutputShape defaults to tracing
call() on placeholder shapes.
"""
from __future__ import annotations

import numpy as np

from kiln.frontend.engine.compiled import CompiledFunction
from kiln.frontend.engine.config import collect_args, parse_args
from kiln.frontend.engine.naming import (VALID_TENSOR_NAME, current_scope,
                                         default_layer_name, name_scope, unique_tensor_name)
from kiln.frontend.engine.symbolic import Node, SymbolicTensor
from kiln.frontend.ops.convert import convert
from kiln.frontend.ops.dispatch import _freeze
from kiln.frontend.serialization import Serializable
from kiln.frontend.trace import Tracer, current_tracer
from kiln.ir import Builder
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import Tensor, Variable


class LayerVariable:
    """A layer weight: a Variable with the layer-scoped name TF.js gives it."""

    def __init__(self, value: Tensor, dtype, name: str, trainable: bool = True,
                 constraint=None, regularizer=None):
        self.originalName = name
        self.name = unique_tensor_name(name)
        self.dtype = as_dtype(dtype).value
        self.variable = Variable(value.buffer("addWeight"), trainable=trainable, name=self.name,
                                 dtype=self.dtype)
        value.dispose()
        self.trainable = trainable
        self.constraint = constraint
        self.regularizer = regularizer

    @property
    def shape(self) -> list[int]:
        return self.variable.shape

    def read(self) -> Variable:
        return self.variable

    def write(self, value) -> None:
        data = value.buffer("write") if isinstance(value, Tensor) else np.asarray(value)
        if list(data.shape) != self.shape:
            raise ValueError(f"weight {self.name!r} has shape {self.shape}, the new value has "
                             f"shape {list(data.shape)}")
        self.variable.assign(np.asarray(data, dtype=as_dtype(self.dtype).np))

    def dispose(self) -> None:
        self.variable.dispose()

    def __repr__(self):
        return f"LayerVariable({self.name!r}, shape={self.shape}, dtype={self.dtype})"


class InputSpec:
    """Expected rank, shape, dtype of a layer input; checked by apply()."""

    def __init__(self, dtype=None, shape=None, ndim=None, maxNDim=None, minNDim=None, axes=None):
        self.dtype, self.shape, self.ndim = dtype, shape, ndim
        self.maxNDim, self.minNDim, self.axes = maxNDim, minNDim, axes or {}
        if shape is not None and ndim is None:
            self.ndim = len(shape)


def _flat(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _single(x):
    return x[0] if isinstance(x, (list, tuple)) and len(x) == 1 else x


class Layer(Serializable):
    className = "Layer"
    ARGS = {"inputShape": None, "batchInputShape": None, "batchSize": None, "dtype": None,
            "name": None, "trainable": True, "weights": None, "inputDType": None}

    def __init__(self, config=None, **kwargs):
        cls = type(self)
        self.args = parse_args(f"{cls.className or cls.__name__} layer", collect_args(cls),
                               config, kwargs)
        args = self.args
        self.name = args["name"] or default_layer_name(self.getClassName())
        if not isinstance(self.name, str):
            raise TypeError(f"layer name must be a string, got {self.name!r}")
        self._trainable = bool(args["trainable"])
        self.batchInputShape = None
        if args["batchInputShape"] is not None:
            self.batchInputShape = list(args["batchInputShape"])
        elif args["inputShape"] is not None:
            shape = args["inputShape"]
            shape = [shape] if isinstance(shape, int) else list(shape)
            self.batchInputShape = [args["batchSize"]] + shape
        dtype = args["dtype"] or args["inputDType"]
        self.dtype = as_dtype(dtype).value if dtype else "float32"
        # TF.js records a dtype in the config only when given or for input-shaped layers.
        self._config_dtype = self.dtype if dtype or self.batchInputShape is not None else None
        self.initialWeights = args["weights"]
        self._trainableWeights: list[LayerVariable] = []
        self._nonTrainableWeights: list[LayerVariable] = []
        self.inboundNodes: list[Node] = []
        self.outboundNodes: list[Node] = []
        self.built = False
        self.inputSpec: list[InputSpec] | None = None
        self.supportsMasking = False
        self.stateful = False
        self._losses: list = []
        self._eager_cache: dict = {}
        self._disposed = False
        self._ref_count = 0

    # ---- properties ----------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def trainableWeights(self) -> list[LayerVariable]:
        return list(self._trainableWeights) if self._trainable else []

    @property
    def nonTrainableWeights(self) -> list[LayerVariable]:
        if self._trainable:
            return list(self._nonTrainableWeights)
        return list(self._trainableWeights) + list(self._nonTrainableWeights)

    @property
    def weights(self) -> list[LayerVariable]:
        return self.trainableWeights + self.nonTrainableWeights

    @property
    def losses(self) -> list:
        return list(self._losses)

    def _node_tensor(self, attr, index=0):
        if not self.inboundNodes:
            raise ValueError(f"layer {self.name!r} has never been called and thus has no "
                             f"defined {attr}")
        return _single(getattr(self.inboundNodes[index], attr))

    @property
    def input(self):
        if len(self.inboundNodes) > 1:
            raise ValueError(f"layer {self.name!r} has multiple inbound nodes; use getInputAt(i)")
        return self._node_tensor("inputTensors")

    @property
    def output(self):
        if len(self.inboundNodes) > 1:
            raise ValueError(f"layer {self.name!r} has multiple inbound nodes; use getOutputAt(i)")
        return self._node_tensor("outputTensors")

    def getInputAt(self, nodeIndex):
        return self._node_tensor("inputTensors", nodeIndex)

    def getOutputAt(self, nodeIndex):
        return self._node_tensor("outputTensors", nodeIndex)

    @property
    def outputShape(self):
        shapes = [n.outputShapes for n in self.inboundNodes]
        if not shapes:
            raise ValueError(f"layer {self.name!r} has no inbound nodes")
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"layer {self.name!r} has multiple inbound nodes with different "
                             "output shapes")
        return _single(shapes[0])

    # ---- weights -------------------------------------------------------------------------
    def addWeight(self, name, shape, dtype=None, initializer=None, regularizer=None,
                  trainable=True, constraint=None, getInitializerFunc=None) -> LayerVariable:
        from kiln.frontend.initializers import get_initializer

        full_name = f"{current_scope() or self.name}/{name}"
        if any(w.originalName == full_name for w in self._trainableWeights
               + self._nonTrainableWeights):
            raise ValueError(f"layer {self.name!r}: duplicate weight name {name!r}")
        if not VALID_TENSOR_NAME.match(full_name):
            raise ValueError(f"layer {self.name!r}: invalid weight name {name!r}")
        dtype = dtype or self.dtype
        init = get_initializer(initializer or "glorotUniform", f"layer {self.name!r}")
        value = init.apply([int(d) for d in shape], dtype)
        weight = LayerVariable(value, dtype, full_name, trainable, constraint, regularizer)
        (self._trainableWeights if trainable else self._nonTrainableWeights).append(weight)
        if regularizer is not None:
            self._losses.append(lambda w=weight, r=regularizer: r.apply(w.read()))
        return weight

    def addUpdate(self, weight: LayerVariable, value) -> None:
        """Inside a compiled call, make `weight` hold `value` after the run (for state such as
        moving averages). Outside a trace there is nothing to record."""
        tracer = current_tracer()
        if tracer is not None:
            tracer.add_update(weight.read(), value)

    def getWeights(self, trainableOnly: bool = False) -> list[Tensor]:
        weights = self.trainableWeights if trainableOnly else self.weights
        return [w.read().clone() for w in weights]

    def setWeights(self, weights) -> None:
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"layer {self.name!r}: you called setWeights with {len(weights)} "
                             f"weight(s), but the layer expects {len(mine)}")
        arrays = []
        for w, value in zip(mine, weights):
            data = value.buffer("setWeights") if isinstance(value, Tensor) else np.asarray(value)
            if list(data.shape) != w.shape:
                raise ValueError(f"layer {self.name!r}: weight {w.originalName!r} has shape "
                                 f"{w.shape}, the provided value has shape {list(data.shape)}")
            arrays.append(data)
        for w, data in zip(mine, arrays):
            w.write(data)

    def countParams(self) -> int:
        if not self.built:
            raise ValueError(f"you tried to call countParams on {self.name!r}, but the layer is "
                             "not built yet; build it first by calling it on some data")
        return sum(int(np.prod(w.shape)) for w in self.weights)

    # ---- building and shapes -----------------------------------------------------------
    def build(self, inputShape) -> None:
        self.built = True

    def _maybe_build(self, input_shapes) -> None:
        if self.built:
            return
        with name_scope(self.name):
            self.build(_single(input_shapes))
        self.built = True
        if self.initialWeights is not None:
            self.setWeights(self.initialWeights)
            self.initialWeights = None

    def computeOutputShape(self, inputShape):
        """Default: trace call() on placeholder shapes; axes that follow the placeholder batch
        size are None."""
        return infer_output_shape(self, inputShape)

    def computeOutputDType(self, input_dtypes: list[str]):
        """The dtype of the symbolic outputs (TF.js: the first input's dtype)."""
        return input_dtypes[0]

    def computeMask(self, inputs, mask=None):
        if not self.supportsMasking:
            if mask is not None and any(m is not None for m in _flat(mask)):
                raise TypeError(f"layer {self.name!r} does not support masking, but was passed "
                                "an input mask")
            return None
        return mask

    def assertInputCompatibility(self, inputs) -> None:
        if self.inputSpec is None:
            return
        inputs = _flat(inputs)
        if len(inputs) != len(self.inputSpec):
            raise ValueError(f"layer {self.name!r} expects {len(self.inputSpec)} input(s), but "
                             f"it received {len(inputs)} input tensor(s)")
        for i, (x, spec) in enumerate(zip(inputs, self.inputSpec)):
            shape = list(x.shape)
            rank = len(shape)
            where = f"input {i} of layer {self.name!r}"
            if spec.ndim is not None and rank != spec.ndim:
                raise ValueError(f"{where} is incompatible with the layer: expected ndim="
                                 f"{spec.ndim}, found ndim={rank} (shape {shape})")
            if spec.maxNDim is not None and rank > spec.maxNDim:
                raise ValueError(f"{where} is incompatible with the layer: expected "
                                 f"max_ndim={spec.maxNDim}, found ndim={rank}")
            if spec.minNDim is not None and rank < spec.minNDim:
                raise ValueError(f"{where} is incompatible with the layer: expected "
                                 f"min_ndim={spec.minNDim}, found ndim={rank} (shape {shape})")
            for axis, size in spec.axes.items():
                a = axis if axis >= 0 else rank + axis
                if size is not None and shape[a] not in (size, None):
                    raise ValueError(f"{where} is incompatible with the layer: expected axis "
                                     f"{axis} of input shape to have value {size} but got "
                                     f"shape {shape}")

    # ---- calling -----------------------------------------------------------------------
    def call(self, inputs, kwargs):
        return inputs

    def __call__(self, inputs, kwargs=None, **kw):
        return self.apply(inputs, {**(kwargs or {}), **kw})

    def apply(self, inputs, kwargs=None):
        """Symbolic tensors in -> symbolic out (graph wiring); tensors in -> tensors out."""
        kwargs = dict(kwargs or {})
        flat = _flat(inputs)
        symbolic = [isinstance(x, SymbolicTensor) for x in flat]
        if all(symbolic) and flat:
            return self._apply_symbolic(inputs, kwargs)
        if any(symbolic):
            raise ValueError(f"layer {self.name!r}: arguments to apply() must be all "
                             "SymbolicTensors or all Tensors")
        if current_tracer() is not None:
            return self._apply_traced(inputs, kwargs)
        if isinstance(inputs, (list, tuple)):
            inputs = [convert(x, f"inputs[{i}]", self.name) for i, x in enumerate(inputs)]
        else:
            inputs = convert(inputs, "inputs", self.name)
        return self._apply_eager(inputs, kwargs)

    def _apply_traced(self, inputs, kwargs):
        self._check_disposed()
        self.assertInputCompatibility(inputs)
        self._maybe_build([x.shape for x in _flat(inputs)])
        return self.call(inputs, kwargs)

    def _apply_eager(self, inputs, kwargs):
        self._check_disposed()
        flat = _flat(inputs)
        self.assertInputCompatibility(inputs)
        self._maybe_build([x.shape for x in flat])
        # Tensors among the kwargs (a mask) are inputs of the compiled function too, so that
        # one compilation serves new values of the same shape.
        tensor_kwargs = {k: v for k, v in kwargs.items() if _is_tensor_arg(v)}
        plain = {k: v for k, v in kwargs.items() if k not in tensor_kwargs}
        extra = [convert(t, k, self.name) for k, v in tensor_kwargs.items() for t in _flat(v)]
        everything = flat + extra
        key = (tuple(tuple(x.shape) for x in everything), tuple(x.dtype for x in everything),
               isinstance(inputs, (list, tuple)), _freeze(plain),
               tuple((k, isinstance(v, (list, tuple)), len(_flat(v)))
                     for k, v in tensor_kwargs.items()))
        fn = self._eager_cache.get(key)
        if fn is None:
            is_list = isinstance(inputs, (list, tuple))

            def body(traced):
                rest = iter(traced[len(flat):])
                call_kwargs = dict(plain)
                for k, v in tensor_kwargs.items():
                    values = [next(rest) for _ in _flat(v)]
                    call_kwargs[k] = values if isinstance(v, (list, tuple)) else values[0]
                ins = traced[:len(flat)]
                return self._apply_traced(ins if is_list else ins[0], call_kwargs)
            fn = CompiledFunction(body, [(x.shape, x.dtype) for x in everything], name=self.name)
            self._eager_cache[key] = fn
        return fn([x.buffer(self.name) for x in everything])

    def _apply_symbolic(self, inputs, kwargs):
        self._check_disposed()
        self.assertInputCompatibility(inputs)
        flat = _flat(inputs)
        shapes = [list(x.shape) for x in flat]
        self._input_dtypes = [x.dtype for x in flat]
        self._maybe_build(shapes)
        out_shape = self.computeOutputShape(_single(shapes) if len(shapes) == 1 and
                                            not isinstance(inputs, (list, tuple)) else shapes)
        out_dtype = self.computeOutputDType([x.dtype for x in flat])
        multi = isinstance(out_shape, list) and out_shape and isinstance(out_shape[0], (list, tuple))
        out_shapes = [list(s) for s in out_shape] if multi else [list(out_shape)]
        dtypes = out_dtype if isinstance(out_dtype, (list, tuple)) else [out_dtype] * len(out_shapes)
        outputs = [SymbolicTensor(dt, s, self, flat, kwargs, self.name, i if multi else None)
                   for i, (s, dt) in enumerate(zip(out_shapes, dtypes))]
        Node(self,
             inboundLayers=[x.sourceLayer for x in flat],
             nodeIndices=[x.nodeIndex for x in flat],
             tensorIndices=[x.tensorIndex for x in flat],
             inputTensors=flat, outputTensors=outputs,
             inputShapes=shapes if len(shapes) > 1 else shapes[0],
             outputShapes=out_shapes if multi else out_shapes[0],
             callArgs=kwargs)
        node_index = len(self.inboundNodes) - 1
        for i, t in enumerate(outputs):
            t.nodeIndex, t.tensorIndex = node_index, i
        return outputs if multi else outputs[0]

    # ---- configuration and lifetime ----------------------------------------------------
    def getConfig(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self.batchInputShape is not None:
            config["batchInputShape"] = self.batchInputShape
            config["dtype"] = self.dtype
        elif self._config_dtype is not None:
            config["dtype"] = self._config_dtype
        return config

    @staticmethod
    def fromConfig(cls, config: dict):
        return cls(config)

    def resetStates(self, states=None):
        if not self.stateful:
            raise ValueError(f"layer {self.name!r} is not stateful")

    def _check_disposed(self):
        if self._disposed:
            raise ValueError(f"layer {self.name!r} is already disposed")

    def dispose(self) -> dict:
        """Free the layer's weights; returns {'refCountAfterDispose', 'numDisposedVariables'}."""
        if not self.built:
            raise ValueError(f"cannot dispose layer {self.name!r} because it has not been "
                             "built yet")
        self._check_disposed()
        count = 0
        for w in self._trainableWeights + self._nonTrainableWeights:
            w.dispose()
            count += 1
        self._eager_cache.clear()
        self._disposed = True
        return {"refCountAfterDispose": 0, "numDisposedVariables": count}

    def __repr__(self):
        return f"<{self.getClassName()} layer {self.name!r}>"


def _is_tensor_arg(value) -> bool:
    """A kwarg holding a Tensor, or a non-empty list of them (a mask, initial states)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return bool(items) and all(isinstance(x, Tensor) for x in items)


PLACEHOLDER_BATCHES = (2, 3)


def infer_output_shape(layer: Layer, input_shape, dtypes=None):
    """Output shape(s) of layer.call on inputs of `input_shape` (None marks the batch axis):
    trace call twice with different stand-in batch sizes; axes that change are None."""
    single = not (isinstance(input_shape, list) and input_shape and
                  isinstance(input_shape[0], (list, tuple)))
    shapes = [input_shape] if single else list(input_shape)
    dtypes = dtypes or getattr(layer, "_input_dtypes", None) or ["float32"] * len(shapes)
    results = []
    for batch in PLACEHOLDER_BATCHES:
        tracer = Tracer(Builder("shape"))
        with tracer:
            traced = [tracer.input([batch if d is None else d for d in s], dtype)
                      for s, dtype in zip(shapes, dtypes)]
            out = layer.call(traced[0] if single else traced, {})
        results.append([o.shape for o in _flat(out)])
    merged = [[d1 if d1 == d2 else None for d1, d2 in zip(a, b)] for a, b in zip(*results)]
    return merged[0] if len(merged) == 1 and not isinstance(out, (list, tuple)) else merged
