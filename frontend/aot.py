"""Ahead-of-time compilation of a Layers model, and loading the result back (tf.loadCompiled).

    files = compile_model(model, "out/", name="mlp", batch=1, targetCpu="x86-64-v3")
    lib = tf.loadCompiled("out/libmlp.so")
    lib.predict(x)                         # Tensors, like model.predict

The model's inference forward pass (training false) is traced at a fixed batch size into one
graph, exactly as `predict` traces it, and built by kiln.runtime.aot into a shared library
with a C API (see the generated NAME.h).
"""
from __future__ import annotations

import keyword
import re

import numpy as np

import kiln.codegen as codegen
from kiln.codegen.aot import LibrarySpec, TensorSpec
from kiln.frontend.engine.compiled import Trace, trace
from kiln.frontend.engine.functional import LayersModel, input_list
from kiln.frontend.ops.convert import to_array
from kiln.frontend.trace import SEED
from kiln.ir.dtypes import as_dtype
from kiln.runtime.aot import LibraryFiles, build_library
from kiln.runtime.native_library import NativeLibrary
from kiln.runtime.tensor import Tensor

WEIGHTS_MODES = ("embed", "file")
_C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary bool true false""".split())
# libNAME.so must not shadow the C runtime's own libraries (`-lm` would find the model)
_RUNTIME_LIBRARIES = {"c", "m", "dl", "rt", "pthread", "util", "gcc", "gcc_s", "stdc++"}


def check_library_name(name) -> str:
    """`name` prefixes every C function of the library: it must be a C identifier."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) \
            or name in _C_KEYWORDS:
        raise ValueError(f"library name {name!r} must be a C identifier (letters, digits and "
                         "underscores, not starting with a digit, not a C keyword)")
    if name in _RUNTIME_LIBRARIES:
        raise ValueError(f"library name {name!r} would make lib{name}.so, the name of a C "
                         "runtime library; choose another name")
    return name


def inference_shapes(model: LayersModel, batch: int) -> list[tuple]:
    """The model's input shapes with the batch dimension set to `batch`."""
    if not isinstance(model, LayersModel):
        raise TypeError(f"expected a LayersModel, got {type(model).__name__}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch!r}")
    if not model.built or not model.inputs:
        raise ValueError(f"model {model.name!r} has no inputs yet: give its first layer an "
                         "inputShape before compiling it")
    shapes = []
    for name, x in zip(model.inputNames, model.inputs):
        lead, rest = x.shape[0], x.shape[1:]
        if lead is not None and lead != batch:
            raise ValueError(f"input {name!r} of model {model.name!r} has a fixed batch size "
                             f"of {lead}; compile it with batch {lead}, not {batch}")
        if any(d is None for d in rest):
            raise ValueError(f"input {name!r} of model {model.name!r} has shape {x.shape}: "
                             "every dimension after the batch must be known to compile it")
        shapes.append((batch, *rest))
    return shapes


def inference_trace(model: LayersModel, batch: int = 1) -> Trace:
    """The graph predict compiles for `batch` samples (training false)."""
    specs = [(shape, x.dtype) for shape, x in zip(inference_shapes(model, batch), model.inputs)]
    traced = trace(lambda xs: model.run_graph(xs, model.outputs, {"training": False}), specs,
                   name=model.name)
    if SEED in traced.feeds:
        raise ValueError(f"model {model.name!r} draws random numbers at inference; an "
                         "ahead-of-time library must be deterministic")
    if traced.graph.updates:
        raise ValueError(f"model {model.name!r} updates its weights at inference; an "
                         "ahead-of-time library's weights are read-only")
    return traced


def library_spec(model: LayersModel, traced: Trace, name: str, batch: int, weights: str,
                 threads: int) -> LibrarySpec:
    graph = traced.graph
    inputs = [TensorSpec(n, v.shape, v.dtype)
              for n, v in zip(model.inputNames, graph.inputs[:len(model.inputs)])]
    outputs = [TensorSpec(n, v.shape, v.dtype) for n, v in zip(model.outputNames, graph.outputs)]
    return LibrarySpec(name, inputs, outputs, list(traced.feeds), batch, weights, threads)


def compile_model(model: LayersModel, out, name: str = "model", batch: int = 1,
                  targetCpu: str | None = None, weights: str = "embed",
                  threads: int = 1) -> LibraryFiles:
    """Write out/libNAME.so, NAME.h, NAME.o (and NAME.weights with weights='file')."""
    check_library_name(name)
    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights must be one of {list(WEIGHTS_MODES)}, got {weights!r}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    target = codegen.named_target(targetCpu) if targetCpu else codegen.host_target()
    traced = inference_trace(model, batch)
    spec = library_spec(model, traced, name, batch, weights, threads)
    params = [v.buffer("compile") for v in traced.variables]
    return build_library(traced.graph, params, spec, out, target)


class CompiledModel:
    """A compiled library loaded in this process: predict like a LayersModel's."""

    def __init__(self, library: NativeLibrary):
        self.library = library
        self.name = library.name
        self.inputs = library.inputs          # TensorSpec(name, shape, dtype), batch first
        self.outputs = library.outputs
        self.inputNames = [t.name for t in library.inputs]
        self.outputNames = [t.name for t in library.outputs]
        self.batchSize = library.batch_size

    def predict(self, x):
        """Outputs for x (a Tensor or array, a list of them, or a dict by input name) with
        any number of samples; a Tensor, or a list for several outputs."""
        xs = input_list(x, self.inputNames, f"predict: compiled model {self.name!r}")
        arrays = []
        for data, spec in zip(xs, self.inputs):
            arr = data.buffer("predict") if isinstance(data, Tensor) else to_array(data, None,
                                                                                   "predict")
            want = as_dtype(spec.dtype).np
            if arr.dtype != want and spec.dtype == "float32":
                arr = arr.astype(want)
            arrays.append(np.ascontiguousarray(arr))
        outs = [Tensor(o) for o in self.library.run(arrays)]
        return outs[0] if len(outs) == 1 else outs


def loadCompiled(path, options=None, **kwargs) -> CompiledModel:
    """tf.loadCompiled('out/libNAME.so', {'name': ..., 'weights': ...}): a library from
    `kiln compile`. `name` is needed only if the file was renamed; `weights` only for a
    weights file other than NAME.weights next to the library."""
    args = dict(options or {}, **kwargs)
    unknown = set(args) - {"name", "weights"}
    if unknown:
        raise ValueError(f"loadCompiled: unknown option(s) {sorted(unknown)}; the options are "
                         "'name' and 'weights'")
    return CompiledModel(NativeLibrary(path, args.get("name"), args.get("weights")))
