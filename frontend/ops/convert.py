"""Making tensors from Python data: tf.tensor, tf.scalar, tf.tensor1d ... tf.tensor6d, and the
conversion every op applies to its arguments.

dtype inference follows TensorFlow.js: Python numbers become float32 (ints too), booleans
become bool; numpy arrays keep their kind (any integer -> int32, any float -> float32).
"""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.trace import TracedTensor
from kiln.ir.dtypes import as_dtype
from kiln.runtime.tensor import DisposedError, Tensor

TensorLike = (Tensor, TracedTensor)


def is_tensor(x) -> bool:
    return isinstance(x, TensorLike) or type(x).__name__ == "SymbolicTensor"


def _infer_shape(values, op):
    shape = []
    v = values
    while isinstance(v, (list, tuple)):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    _check_regular(values, shape, 0, op)
    return shape


def _check_regular(values, shape, depth, op):
    if depth == len(shape):
        if isinstance(values, (list, tuple)):
            raise ValueError(f"{op}: nested lists are ragged (element lists of different depth)")
        return
    if not isinstance(values, (list, tuple)) or len(values) != shape[depth]:
        raise ValueError(f"{op}: nested lists are ragged; expected a list of {shape[depth]} "
                         f"elements at depth {depth}")
    for v in values:
        _check_regular(v, shape, depth + 1, op)


def _holds_arrays(values) -> bool:
    """True if the innermost first element of nested lists is a numpy array."""
    while isinstance(values, (list, tuple)) and values:
        values = values[0]
    return isinstance(values, np.ndarray)


def _flat_python(values):
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _flat_python(v)
    else:
        yield values


def to_array(values, dtype=None, op: str = "tensor") -> np.ndarray:
    """A fresh C-contiguous numpy array of a kiln dtype from Python/numpy data."""
    if isinstance(values, Tensor):
        data = values.buffer(op)
        return data.astype(as_dtype(dtype).np) if dtype else data.copy()
    if isinstance(values, TracedTensor):
        raise TypeError(f"{op}: expected data, got a traced tensor")
    if isinstance(values, np.ndarray) or np.isscalar(values) and not isinstance(values, (bool, int, float, str)):
        arr = np.asarray(values)
        dt = as_dtype(dtype) if dtype is not None else as_dtype(arr.dtype)
        return np.array(arr, dtype=dt.np, order="C", copy=True)
    if isinstance(values, (list, tuple)) and _holds_arrays(values):
        # a list of numpy arrays (as TF.js takes a list of typed arrays): numpy nests them
        try:
            arr = np.array(values)
        except ValueError:
            raise ValueError(f"{op}: nested values are ragged (arrays of different shapes)") \
                from None
        return to_array(arr, dtype, op)
    if isinstance(values, str) or any(isinstance(v, str) for v in _flat_python(values)):
        raise TypeError(f"{op}: string tensors are not supported; kiln supports float32, int32 "
                        "and bool")
    shape = _infer_shape(values, op)
    flat = list(_flat_python(values))
    for v in flat:
        if not isinstance(v, (bool, int, float, np.generic)):
            raise TypeError(f"{op}: cannot make a tensor from {type(v).__name__} "
                            f"value {v!r}")
    if dtype is None:
        dt = as_dtype("bool") if flat and all(isinstance(v, (bool, np.bool_)) for v in flat) \
            else as_dtype("float32")
    else:
        dt = as_dtype(dtype)
    arr = np.array(flat, dtype=np.float64 if dt.value != "bool" else np.bool_)
    if dt.value == "int32":
        with np.errstate(invalid="ignore"):
            arr = np.trunc(arr)
    return np.array(arr.astype(dt.np).reshape(shape), order="C")


def tensor(values, shape=None, dtype=None) -> Tensor:
    """tf.tensor(values, shape?, dtype?)"""
    arr = to_array(values, dtype, "tensor")
    if shape is not None:
        shape = [int(d) for d in shape]
        if math.prod(shape) != arr.size:
            if arr.size == 1 and not isinstance(values, (list, tuple, np.ndarray)):
                raise ValueError(f"tensor: based on the provided shape, {shape}, the tensor "
                                 f"should have {math.prod(shape)} values but has {arr.size}")
            raise ValueError(f"tensor: based on the provided shape, {shape}, the tensor should "
                             f"have {math.prod(shape)} values but has {arr.size}")
        arr = arr.reshape(shape)
    return Tensor(arr)


def scalar(value, dtype=None) -> Tensor:
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim):
        raise ValueError("scalar: the value must be a single number or boolean, not a list")
    return tensor(value, None, dtype)


def _ranked(rank):
    def make(values, shape=None, dtype=None) -> Tensor:
        t = tensor(values, shape, dtype)
        if t.rank != rank:
            raise ValueError(f"tensor{rank}d: requires values of rank {rank}, got rank {t.rank} "
                             f"(shape {t.shape})" + ("" if shape else "; pass `shape` to reshape "
                                                     "flat values"))
        return t
    make.__name__ = f"tensor{rank}d"
    make.__doc__ = f"tf.tensor{rank}d(values, shape?, dtype?): a rank-{rank} tensor."
    return make


tensor2d, tensor3d, tensor4d, tensor5d, tensor6d = (_ranked(r) for r in range(2, 7))
_tensor1d = _ranked(1)


def tensor1d(values, dtype=None) -> Tensor:
    """tf.tensor1d(values, dtype?): a rank-1 tensor (TF.js takes no shape here)."""
    return _tensor1d(values, None, dtype)


def convert(x, name: str, op: str, dtype=None):
    """An op argument as a Tensor or TracedTensor (Python data is converted, TF.js-style)."""
    if is_tensor(x):
        if isinstance(x, Tensor) and x.isDisposed:
            raise DisposedError(f"{op}: argument '{name}' is {x.describe()}, which is disposed "
                                "and cannot be used")
        return x
    try:
        return Tensor(to_array(x, dtype, op))
    except (TypeError, ValueError) as e:
        raise type(e)(f"{op}: argument '{name}' {str(e).split(': ', 1)[-1]}") from None
