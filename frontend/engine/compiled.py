"""Compile Python functions over tensors into native executables.

    traced = trace(fn, [(shape, dtype), ...])      # run fn once on traced inputs -> IR graph
    fn = CompiledFunction(fn, specs)              # trace once, compile, call many times
    outputs = fn.run([x_array, ...])              # numpy arrays in and out

The executable is called with the current buffers of the Variables the function read (graph
params), so later weight changes need no recompilation; random ops without a seed are fed a
fresh seed per call; captured tensors are fed as inputs when traced with capture_inputs; and
updates (variable <- value) write the variables in place.
"""
from __future__ import annotations

import random as pyrandom
from dataclasses import dataclass

import numpy as np

from kiln.frontend.ops.dispatch import _flatten, _unflatten
from kiln.frontend.trace import SEED, Tracer
from kiln.ir import Builder, Graph
from kiln.runtime.executable import Executable, compile_graph
from kiln.runtime.tensor import Tensor


@dataclass
class Trace:
    graph: Graph
    structure: object          # nesting of the function's result (see dispatch._flatten)
    variables: list            # Variables bound to graph.params, in order
    feeds: list                # per graph input: arg index, SEED, or a captured Tensor


def trace(fn, input_specs, name: str = "fn", capture_inputs: bool = False,
          extend=None) -> Trace:
    """Trace fn(traced_inputs). `extend(tracer, result)` may add (Variable, value) updates
    and return extra outputs (used by training steps)."""
    tracer = Tracer(Builder(name), capture_inputs)
    with tracer:
        inputs = [tracer.input(shape, dtype, f"input{i}")
                  for i, (shape, dtype) in enumerate(input_specs)]
        result = fn(inputs)
        if extend is not None:
            result = extend(tracer, result)
        flat: list = []
        structure = _flatten(result, flat)
        outputs = [tracer.value_of(t, name) for t in flat]
        updates = [(tracer.value_of(variable, name), tracer.value_of(value, name))
                   for variable, value in tracer.updates]
    graph = tracer.builder.finish(outputs, updates)
    live = set(graph.params)
    variables = [v for p, v in zip(tracer.builder.params, tracer.variables) if p in live]
    return Trace(graph, structure, variables, list(tracer.feeds))


_executables: dict = {}


def executable_for(graph: Graph) -> Executable:
    """The compiled executable of a graph, shared by every equal graph (see Graph.key)."""
    key = graph.key()
    exe = _executables.get(key)
    if exe is None:
        exe = compile_graph(graph)
        _executables[key] = exe
    return exe


def feed_arrays(feeds, arrays) -> list[np.ndarray]:
    result = []
    for feed in feeds:
        if feed is SEED:
            result.append(np.array(pyrandom.getrandbits(31), dtype=np.int32))
        elif isinstance(feed, int):
            result.append(arrays[feed])
        else:
            result.append(feed.buffer("captured tensor"))
    return result


def run_trace(traced: Trace, executable: Executable, arrays) -> list[np.ndarray]:
    params = [v.buffer("compiled function") for v in traced.variables]
    return executable.run(feed_arrays(traced.feeds, arrays), params)


class CompiledFunction:
    """A function traced once and compiled whole."""

    def __init__(self, fn, input_specs, name: str = "fn", optimize: bool = True, extend=None):
        self.trace = trace(fn, input_specs, name, extend=extend)
        self.graph = self.trace.graph
        self.executable = compile_graph(self.graph, optimize=optimize)

    def run(self, arrays) -> list[np.ndarray]:
        return run_trace(self.trace, self.executable, arrays)

    def __call__(self, arrays):
        """Run and return the traced function's result structure, with Tensors."""
        outs = self.run(arrays)
        return _unflatten(self.trace.structure, iter(Tensor(o) for o in outs))
