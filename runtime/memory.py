"""Tensor memory accounting and scopes: tf.memory, tf.tidy, tf.keep, tf.dispose.

Every live Tensor is counted once (its bytes included) from creation until it is disposed or
garbage collected, whichever comes first. `tidy(fn)` disposes every tensor created while fn
runs, except the tensors fn returns and those passed to `keep`; nested tidies hand their
results to the enclosing scope.
"""
from __future__ import annotations

import inspect
import threading

_lock = threading.RLock()
_count = 0
_bytes = 0
_local = threading.local()


def _scopes() -> list:
    scopes = getattr(_local, "scopes", None)
    if scopes is None:
        scopes = _local.scopes = []
    return scopes


def track(tensor, nbytes: int) -> None:
    global _count, _bytes
    with _lock:
        _count += 1
        _bytes += nbytes
    scopes = _scopes()
    if scopes and tensor.scoped:
        scopes[-1].append(tensor)


def untrack(nbytes: int) -> None:
    global _count, _bytes
    with _lock:
        _count -= 1
        _bytes -= nbytes


def memory() -> dict:
    """{'numTensors', 'numDataBuffers', 'numBytes', 'unreliable'} as in TF.js."""
    with _lock:
        return {"numTensors": _count, "numDataBuffers": _count, "numBytes": _bytes,
                "unreliable": False}


def tidy(name_or_fn, fn=None):
    """Run fn (TF.js also accepts a name first); dispose what it created but did not return."""
    if fn is None:
        fn = name_or_fn
    if not callable(fn):
        raise TypeError("tidy: the argument must be a function")
    scopes = _scopes()
    scopes.append([])
    try:
        result = fn()
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("tidy: the function must not be async (it returned an awaitable)")
    except BaseException:
        # as TF.js's engine, a throwing function still ends its scope
        for t in scopes.pop():
            if not getattr(t, "_kept", False):
                t.dispose()
        raise
    created = scopes.pop()
    keep_ids = {id(t) for t in _tensors_in(result)}
    for t in created:
        if id(t) in keep_ids or getattr(t, "_kept", False):
            if scopes and id(t) in keep_ids and not t._kept:
                scopes[-1].append(t)
            continue
        t.dispose()
    return result


def keep(tensor):
    tensor._kept = True
    return tensor


def dispose(container) -> None:
    """Dispose a tensor, or every tensor in a (nested) list, tuple or dict."""
    for t in _tensors_in(container):
        t.dispose()


def _tensors_in(x):
    from kiln.runtime.tensor import Tensor

    if isinstance(x, Tensor):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _tensors_in(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _tensors_in(v)
