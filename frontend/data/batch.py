"""Turning a list of elements (rows) into one batched element (columns): Dataset.batch's pivot.

TF.js's rule (deepBatchConcat): walk the structure of the first row; where the value can be
made a tensor, stack the values of all rows along a new axis 0; where it is a dict, recurse.

    numbers / bools            -> a rank-1 tensor (float32 / bool, tf.tensor's rules)
    nested lists of numbers    -> tf.tensor(rows): rank + 1
    Tensors                    -> tf.stack(rows)
    numpy arrays or scalars    -> one tensor of their kind (int -> int32, float -> float32)
    dicts                      -> a dict of batched values, key by key
    lists/tuples that hold Tensors or dicts -> batched position by position

The last rule is a kiln addition: TF.js batches every array as one tensor and fails on an
array of Tensors, so an element such as [xs, ys] of Tensors could not be batched there.
A None leaf (an empty, optional CSV field) becomes NaN, as TF.js's undefined does in a
Float32Array.
"""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.data.structure import join_path, where
from kiln.frontend.ops.convert import tensor
from kiln.frontend.ops.shape import stack
from kiln.runtime.tensor import Tensor

_NUMBER = (bool, int, float, np.bool_, np.integer, np.floating)


def deep_batch(rows: list):
    """One batched element from a non-empty list of equally structured elements."""
    if not rows:
        raise ValueError("batch: can't make a batch of zero elements")
    return _batch(rows, "")


def _batch(rows: list, path: str):
    first = rows[0]
    if isinstance(first, dict):
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or list(row) != list(first):
                raise ValueError(
                    f"batch: the elements differ in structure {where(path)}: element 0 is a "
                    f"dict with keys {list(first)}, element {i} is {_describe(row)}")
        return {k: _batch([row[k] for row in rows], join_path(path, k)) for k in first}
    if isinstance(first, (list, tuple)) and not _is_numeric(first):
        for i, row in enumerate(rows):
            if not isinstance(row, (list, tuple)) or len(row) != len(first):
                raise ValueError(
                    f"batch: the elements differ in structure {where(path)}: element 0 is a "
                    f"list of {len(first)} items, element {i} is {_describe(row)}")
        columns = [_batch([row[j] for row in rows], join_path(path, j))
                   for j in range(len(first))]
        return type(first)(columns)
    return _concat(rows, path)


def _concat(rows: list, path: str) -> Tensor:
    """Stack leaf values of all rows along a new axis 0."""
    if isinstance(rows[0], Tensor):
        return _stack_tensors(rows, path)
    for i, row in enumerate(rows):
        if isinstance(row, (Tensor, dict)):
            raise ValueError(f"batch: the elements differ in structure {where(path)}: element 0 "
                             f"is {_describe(rows[0])}, element {i} is {_describe(row)}")
    try:
        if any(isinstance(r, (np.ndarray, np.generic)) for r in rows):
            return tensor(np.stack([np.asarray(r) for r in rows]))
        return tensor(_none_to_nan(rows))
    except (TypeError, ValueError) as e:
        raise type(e)(f"batch: cannot batch the values {where(path)}: "
                      f"{str(e).split(': ', 1)[-1]}") from None


def _stack_tensors(rows: list, path: str) -> Tensor:
    first = rows[0]
    for i, row in enumerate(rows):
        if not isinstance(row, Tensor):
            raise ValueError(f"batch: the elements differ in structure {where(path)}: element 0 "
                             f"is a Tensor, element {i} is {_describe(row)}")
        if row.shape != first.shape or row.dtype != first.dtype:
            raise ValueError(f"batch: the tensors {where(path)} differ: element 0 is "
                             f"{first.dtype}{first.shape}, element {i} is {row.dtype}{row.shape}")
    return stack(rows)


def _is_numeric(x) -> bool:
    """A (nested) list holding only numbers, bools and None: batched as one tensor."""
    if isinstance(x, (list, tuple)):
        return all(_is_numeric(v) for v in x)
    return x is None or isinstance(x, _NUMBER)


def _none_to_nan(x):
    if x is None:
        return math.nan
    if isinstance(x, (list, tuple)):
        return [_none_to_nan(v) for v in x]
    return x


def _describe(x) -> str:
    if isinstance(x, Tensor):
        return f"a Tensor {x.dtype}{x.shape}"
    if isinstance(x, dict):
        return f"a dict with keys {list(x)}"
    if isinstance(x, (list, tuple)):
        return f"a list of {len(x)} items"
    return f"{type(x).__name__} {x!r}"
