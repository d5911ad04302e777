"""Compile a Python function over tensors into one native executable.

    fn = CompiledFunction(lambda xs: model_forward(xs), [(shape, dtype), ...], name="predict")
    outputs = fn([x_array, ...])          # numpy arrays in, numpy arrays out

The function is traced once (its tf.* calls record an IR graph), compiled whole, and then
called with the current buffers of the Variables it read (as graph params), so later weight
changes need no recompilation. Random ops without a seed draw from a seed input that is fed a
fresh value on every call. Updates (param <- value) write the variables in place.
"""
from __future__ import annotations

import random as _random

import numpy as np

from kiln.frontend.ops.dispatch import _flatten, _unflatten
from kiln.frontend.trace import Tracer
from kiln.ir import Builder
from kiln.runtime.executable import compile_graph
from kiln.runtime.tensor import Tensor


class CompiledFunction:
    def __init__(self, fn, input_specs, name: str = "fn", optimize: bool = True,
                 updates_fn=None):
        tracer = Tracer(Builder(name))
        with tracer:
            inputs = [tracer.input(shape, dtype, f"input{i}")
                      for i, (shape, dtype) in enumerate(input_specs)]
            result = fn(inputs)
            flat: list = []
            self.structure = _flatten(result, flat)
            outputs = [tracer.value_of(t, name) for t in flat]
            pairs = list(tracer.updates)
            if updates_fn is not None:
                pairs += list(updates_fn(result))
            updates = [(tracer.value_of(variable, name), tracer.value_of(new_value, name))
                       for variable, new_value in pairs]
        graph = tracer.builder.finish(outputs, updates)
        live = set(graph.params)
        self.variables = [var for p, var in zip(tracer.builder.params, tracer.variables) if p in live]
        self.seed_position = None
        if tracer.seed_input is not None and tracer.seed_input in set(graph.inputs):
            self.seed_position = graph.inputs.index(tracer.seed_input)
        self.graph = graph
        self.executable = compile_graph(graph, optimize=optimize)

    def run(self, arrays) -> list[np.ndarray]:
        inputs = list(arrays)
        if self.seed_position is not None:
            inputs.insert(self.seed_position, np.array(_random.getrandbits(31), dtype=np.int32))
        params = [v.buffer("compiled function") for v in self.variables]
        return self.executable.run(inputs, params)

    def __call__(self, arrays):
        """Run and return the traced function's result structure, with Tensors."""
        outs = self.run(arrays)
        return _unflatten(self.structure, iter(Tensor(o) for o in outs))
