"""Eager execution: run one op, or one traced function, on host arrays through compiled code.

    run("add", [a, b], {})                       -> [out]
    run_traced(key, [x], build)                  -> outputs of build(builder, input_values)

Every call goes through the same pipeline as a whole model (graph -> passes -> codegen), and
the compiled executable is cached in memory per signature:
  * elementwise ops per (op, attributes, dtypes, broadcast pattern): their kernels take the
    (collapsed) shape at run time, so one compile serves every size;
  * everything else per (op or function key, attributes, shapes, dtypes).
Shapes and dtypes are validated by the op's shape rule when a signature is first seen; a
cached signature is valid by construction.
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np

from kiln.codegen.kernels.pointwise import collapse_broadcast
from kiln.ir import Builder, TensorType
from kiln.ir.dtypes import as_dtype
from kiln.ir.ops._rules import broadcast_shapes
from kiln.ir.registry import Kind, get_op
from kiln.runtime.executable import compile_graph, data_pointer

_static: dict = {}
_dynamic: dict = {}


def attrs_key(attrs: dict) -> tuple:
    return tuple(sorted(attrs.items())) if attrs else ()


@functools.lru_cache(maxsize=8192)
def _broadcast_plan(op: str, shapes: tuple):
    """(output shape, per-operand broadcast pattern, ctypes dims) for an elementwise call."""
    out = broadcast_shapes(op, *shapes)
    collapsed_out, collapsed = collapse_broadcast(out, shapes)
    pattern = tuple(tuple(d == 1 for d in s) for s in collapsed)
    dims = (ctypes.c_int64 * max(len(collapsed_out), 1))(*collapsed_out)
    return out, pattern, dims


def run(op: str, arrays: list[np.ndarray], attrs: dict) -> list[np.ndarray]:
    """Run IR op `op` on C-contiguous arrays of kiln dtypes."""
    opdef = get_op(op)
    akey = attrs_key(attrs)
    if opdef.kind is Kind.ELEMENTWISE:
        return _run_elementwise(op, arrays, attrs, akey)
    key = (op, akey, tuple(a.shape for a in arrays), tuple(a.dtype.char for a in arrays))
    exe = _static.get(key)
    if exe is None:
        exe = _compile(arrays, lambda b, values: _results(b.op(op, *values, **attrs)))
        _static[key] = exe
    return _call(exe, arrays)


def _results(out) -> list:
    """Builder.op's result as a list (a multi-output op, such as a loop, gives a tuple)."""
    return list(out) if isinstance(out, tuple) else [out]


def run_traced(key, arrays: list[np.ndarray], build) -> list[np.ndarray]:
    """Run a traced function. `key` must identify build's meaning apart from input shapes."""
    full_key = (key, tuple(a.shape for a in arrays), tuple(a.dtype.char for a in arrays))
    exe = _static.get(full_key)
    if exe is None:
        exe = _compile(arrays, build)
        _static[full_key] = exe
    return _call(exe, arrays)


def _compile(arrays, build):
    b = Builder("eager")
    values = [b.input(TensorType(a.shape, as_dtype(a.dtype)), f"x{i}") for i, a in enumerate(arrays)]
    outputs = build(b, values)
    return compile_graph(b.finish(list(outputs)))


def _call(exe, arrays):
    outputs = [np.empty(shape, dtype) for shape, dtype in exe._out_specs]
    pointers = [data_pointer(a) for a in arrays] + [data_pointer(o) for o in outputs]
    exe.run_dynamic(pointers, None)
    return outputs


def _run_elementwise(op, arrays, attrs, akey):
    shapes = tuple(a.shape for a in arrays)
    out_shape, pattern, dims = _broadcast_plan(op, shapes)
    key = (op, akey, tuple(a.dtype.char for a in arrays), pattern)
    entry = _dynamic.get(key)
    if entry is None:
        entry = _compile_elementwise(op, arrays, attrs, pattern)
        _dynamic[key] = entry
    exe, out_dtype = entry
    out = np.empty(out_shape, out_dtype)
    pointers = [data_pointer(a) for a in arrays]
    pointers.append(data_pointer(out))
    exe.run_dynamic(pointers, dims)
    return [out]


def _compile_elementwise(op, arrays, attrs, pattern):
    """Compile on representative shapes (2 where an operand varies, 1 where it broadcasts);
    the kernel reads the real collapsed dims at run time."""
    # Validate dtypes and attributes with the real shapes first (errors name the op).
    get_op(op).infer([TensorType(a.shape, as_dtype(a.dtype)) for a in arrays],
                     get_op(op).canonical_attrs(attrs))
    b = Builder("eager")
    values = [b.input(TensorType(tuple(1 if bc else 2 for bc in p), as_dtype(a.dtype)), f"x{i}")
              for i, (a, p) in enumerate(zip(arrays, pattern))]
    out = b.op(op, *values, **attrs)
    exe = compile_graph(b.finish([out]), dynamic=True)
    return exe, out.dtype.np
