"""Executable: a compiled graph that can be called with host buffers.

    exe = compile_graph(graph)
    outputs = exe.run(inputs, params)        # lists of C-contiguous numpy arrays

Shapes and dtypes of every argument are checked before native code runs. The arena (one block
for every intermediate, sized by the memory planner) is allocated once per executable and
thread; calls from several threads are safe.
"""
from __future__ import annotations

import ctypes
import os
import threading
from functools import partial

import numpy as np

import kiln.codegen as codegen
from kiln.ir.graph import Graph
from kiln.passes import compile_plan
from kiln.runtime import cache

_ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)


def default_threads() -> int:
    """Threads large kernels may use: $KILN_NUM_THREADS, else the machine's CPU count."""
    value = os.environ.get("KILN_NUM_THREADS")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"KILN_NUM_THREADS must be a positive integer, got {value!r}") from None
    return max(1, min(os.cpu_count() or 1, 16))


def _make_data_pointer():
    """A fast `arr.ctypes.data`: read the data field of numpy's array struct directly (it
    follows the object header, offset 16 on 64-bit CPython, stable across numpy versions).
    Verified once at import; falls back to the slow, public attribute if the layout differs."""
    probe = np.arange(3, dtype=np.float32)
    reader = ctypes.c_void_p.from_address
    if ctypes.sizeof(ctypes.c_void_p) == 8 and reader(id(probe) + 16).value == probe.ctypes.data:
        return lambda a: reader(id(a) + 16).value
    return lambda a: a.ctypes.data


data_pointer = _make_data_pointer()


def aligned_empty(nbytes: int, align: int = 64) -> np.ndarray:
    """A uint8 buffer of at least nbytes whose address is a multiple of `align`."""
    raw = np.empty(nbytes + align, dtype=np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes]


class Executable:
    def __init__(self, plan, library, target, threads: int = 1):
        graph = plan.graph
        self.threads = threads
        self.plan = plan
        self.graph = graph
        self.target = target
        self._library = library          # keeps the machine code alive
        self._fn = _ENTRY_TYPE(library.address(codegen.ENTRY))
        self.input_types = [v.type for v in graph.inputs]
        self.output_types = [v.type for v in graph.outputs]
        self.param_types = [v.type for v in graph.params]
        self._input_specs = [(t.shape, t.dtype.np) for t in self.input_types]
        self._param_specs = [(t.shape, t.dtype.np) for t in self.param_types]
        self._out_specs = [(t.shape, t.dtype.np) for t in self.output_types]
        self._n_buffers = codegen.buffer_count(plan)
        self._buffers_type = ctypes.c_void_p * self._n_buffers
        self._local = threading.local()

    def kernel_cycles(self) -> list[int]:
        """CPU cycles each kernel has taken over all runs (executables compiled with
        profile=True only)."""
        n = len(self.plan.kernels)
        address = self._library.address(codegen.PROFILE)
        return list((ctypes.c_int64 * n).from_address(address))

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    def _arena(self) -> int:
        address = getattr(self._local, "address", None)
        if address is None:
            self._local.arena = aligned_empty(max(self.plan.arena_bytes, 64))
            address = self._local.address = self._local.arena.ctypes.data
        return address

    def run(self, inputs, params=(), outputs=None):
        """Run with numpy arrays; returns the list of output arrays (new unless given)."""
        _check("input", inputs, self._input_specs, self.graph.inputs)
        _check("param", params, self._param_specs, self.graph.params)
        if outputs is None:
            outputs = [np.empty(shape, dtype) for shape, dtype in self._out_specs]
        else:
            _check("output", outputs, self._out_specs, self.graph.outputs)
        pointers = [data_pointer(a) for a in inputs]
        pointers += [data_pointer(a) for a in outputs]
        pointers += [data_pointer(a) for a in params]
        pointers.append(self._arena())
        self._fn(self._buffers_type(*pointers), None, self.threads)
        return outputs

    def run_dynamic(self, pointers, dims):
        """Unchecked call for the eager dispatcher, which has validated every argument:
        `pointers` are the input and output addresses, `dims` a ctypes int64 array."""
        pointers.append(self._arena())
        self._fn(self._buffers_type(*pointers), dims, self.threads)


def _check(kind, arrays, specs, values):
    if len(arrays) != len(specs):
        raise ValueError(f"expected {len(specs)} {kind}(s), got {len(arrays)}")
    for i, (a, (shape, dtype)) in enumerate(zip(arrays, specs)):
        if type(a) is not np.ndarray or a.shape != shape or a.dtype is not dtype \
                or not a.flags.c_contiguous:
            name = values[i].node.attrs.get("name", i) if hasattr(values[i].node, "attrs") else i
            got = f"{getattr(a, 'dtype', type(a).__name__)}{list(getattr(a, 'shape', ()))}"
            raise ValueError(f"{kind} {name!r} must be a C-contiguous {np.dtype(dtype).name} "
                             f"array of shape {list(shape)}, got {got}")


def evaluate_constants(graph: Graph) -> list[np.ndarray]:
    """Values of a graph without inputs, computed by compiled code (for constant folding)."""
    return compile_graph(graph, optimize=False, threads=1).run([])


def compile_graph(graph: Graph, *, optimize: bool = True, dynamic: bool = False,
                  target=None, threads: int | None = None, profile: bool = False) -> Executable:
    """Plan, lower, and compile `graph` (object code comes from the caches when possible).
    profile=True counts CPU cycles per kernel (see Executable.kernel_cycles)."""
    target = target or codegen.host_target()
    threads = 1 if dynamic else (threads or default_threads())
    plan = compile_plan(graph, scratch_bytes=partial(codegen.scratch_bytes, target=target,
                                                     threads=threads),
                        optimize=optimize, evaluate=evaluate_constants, threads=threads)
    plan.dynamic = dynamic
    text = str(codegen.lower(plan, target, threads, profile))
    obj = cache.object_code(text, target)
    exports = [codegen.ENTRY] + ([codegen.PROFILE] if profile else [])
    library = codegen.load_object(obj, exports)
    return Executable(plan, library, target, threads)
