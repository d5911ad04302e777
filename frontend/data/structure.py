"""Nested element structures: what tf.data elements are made of, and the walks over them.

An element is a leaf (a Tensor, a Python number or bool, a string, None, a numpy array) or a
structure: a dict, list or tuple of elements (TF.js's TensorContainer; dicts play the role of
JavaScript objects). These helpers find the tensors in an element (to dispose what a stage
consumed), clone an element (so a source can be iterated again), and map over structures.
"""
from __future__ import annotations

from kiln.runtime.tensor import Tensor


def is_structure(x) -> bool:
    """True for the containers tf.data recurses into: dict, list, tuple (TF.js's isIterable)."""
    return isinstance(x, (dict, list, tuple))


def tensors_in(x) -> list:
    """Every Tensor in a nested element, in traversal order."""
    found: list = []
    _collect(x, found)
    return found


def _collect(x, found: list) -> None:
    if isinstance(x, Tensor):
        found.append(x)
    elif isinstance(x, dict):
        for v in x.values():
            _collect(v, found)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _collect(v, found)


def dispose_all(x) -> None:
    """Dispose every Tensor in a nested element."""
    for t in tensors_in(x):
        t.dispose()


def dispose_except(consumed, produced) -> None:
    """Dispose the tensors of `consumed` that do not appear in `produced`.

    A stage that turns an element into a new one owns its input: tensors it passed through
    survive, the others are released (TF.js's MapIterator does the same)."""
    keep = {id(t) for t in tensors_in(produced)}
    for t in tensors_in(consumed):
        if id(t) not in keep:
            t.dispose()


def deep_clone(x):
    """A copy of an element: new containers, cloned Tensors, other leaves shared."""
    if isinstance(x, Tensor):
        return x.clone()
    if isinstance(x, dict):
        return {k: deep_clone(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(deep_clone(v) for v in x)
    return x


def deep_map(x, leaf_fn):
    """The structure of `x` with each non-container leaf replaced by leaf_fn(leaf, path)."""
    return _map(x, leaf_fn, "")


def _map(x, leaf_fn, path: str):
    if isinstance(x, dict):
        return {k: _map(v, leaf_fn, join_path(path, k)) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_map(v, leaf_fn, join_path(path, i)) for i, v in enumerate(x))
    return leaf_fn(x, path)


def leaves(x) -> list:
    """The non-container leaves of `x` in traversal order."""
    out: list = []
    deep_map(x, lambda leaf, _path: out.append(leaf))
    return out


def join_path(path: str, key) -> str:
    """A readable location inside an element, for error messages: `xs.a`, `[0]`, `ys[1]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def where(path: str) -> str:
    return f"at {path!r}" if path else "at the top level"
