"""The one-in, one-out stream stages: sources (a list, a function, a Python iterator) and
transforms (take, skip, filter, map, row-major batch), as in TF.js's lazy_iterator.ts.

Ownership of tensors follows TF.js: a stage that drops an element (skip, filter) disposes its
tensors; map disposes the input tensors its transform did not pass through to the output.
"""
from __future__ import annotations

from kiln.frontend.data.lazy_iterator import LazyIterator, call_user_fn, done, item
from kiln.frontend.data.structure import deep_clone, dispose_all, dispose_except, tensors_in
from kiln.runtime.tensor import Tensor

_ITERATION_NOTE = "Error thrown while iterating through a dataset"


class ArrayIterator(LazyIterator):
    """The items of a list, each cloned (so disposing an element never harms the list)."""

    def __init__(self, items, clone: bool = True):
        self.items = items
        self.clone = clone
        self.trav = 0

    def summary(self):
        return f"Array of {len(self.items)} items"

    async def _next(self):
        if self.trav >= len(self.items):
            return done()
        value = self.items[self.trav]
        self.trav += 1
        return item(deep_clone(value) if self.clone else value)


class FunctionCallIterator(LazyIterator):
    """Calls f() for each element; f returns {'value', 'done'} (or an awaitable of one)."""

    def __init__(self, f, op: str = "func"):
        if not callable(f):
            raise TypeError(f"{op}: expected a function returning {{'value', 'done'}} "
                            f"results, got {type(f).__name__}")
        self.f = f
        self.op = op

    def summary(self):
        return "Function call"

    async def _next(self):
        try:
            result = await call_user_fn(lambda _: self.f(), None, use_tidy=False, op=self.op)
        except Exception as e:
            e.add_note(_ITERATION_NOTE)
            raise
        return _as_result(result, self.op)


def _as_result(result, op: str) -> dict:
    if not isinstance(result, dict) or "value" not in result and "done" not in result:
        raise TypeError(f"{op}: the function must return a dict {{'value': element, 'done': "
                        f"bool}}, got {type(result).__name__} {result!r:.80}")
    if result.get("done"):
        return done()
    return item(result.get("value"))


class PythonIterator(LazyIterator):
    """Elements of a Python iterator or async iterator (e.g. a generator's or an async
    generator's), ending at StopIteration / StopAsyncIteration."""

    def __init__(self, source, op: str = "generator"):
        self.source = source
        self.op = op
        self.exhausted = False
        self.is_async = hasattr(source, "__anext__")

    def summary(self):
        return f"Python {'async ' if self.is_async else ''}iterator"

    async def _next(self):
        if self.exhausted:
            return done()
        try:
            if self.is_async:
                value = await self.source.__anext__()
            else:
                value = next(self.source)
        except (StopIteration, StopAsyncIteration):
            self.exhausted = True
            return done()
        except Exception as e:
            e.add_note(_ITERATION_NOTE)
            raise
        return item(value)

    async def aclose(self):
        """Finish an abandoned generator now (its `finally` blocks run, files close)."""
        self.exhausted = True
        closer = getattr(self.source, "aclose" if self.is_async else "close", None)
        if closer is not None:
            result = closer()
            if self.is_async:
                await result


def iterator_from_python(obj, op: str = "generator") -> LazyIterator:
    """A LazyIterator over what a generator function returned: a (async) iterator, an
    iterable, or a TF.js-style object whose next() returns {'value', 'done'}."""
    if isinstance(obj, LazyIterator):
        return obj
    if hasattr(obj, "__anext__") or hasattr(obj, "__next__"):
        return PythonIterator(obj, op)
    if hasattr(obj, "__aiter__"):
        return PythonIterator(obj.__aiter__(), op)
    if callable(getattr(obj, "next", None)):
        return FunctionCallIterator(obj.next, op)
    if hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, dict, Tensor)):
        return PythonIterator(iter(obj), op)
    raise TypeError(f"{op}: the function must return an iterator (for example, be a generator "
                    f"function or an async generator function), got {type(obj).__name__}")


class TakeIterator(LazyIterator):
    def __init__(self, upstream: LazyIterator, maxCount: int):
        self.upstream = upstream
        self.maxCount = maxCount
        self.count = 0

    def summary(self):
        return f"{self.upstream.summary()} -> Take"

    async def _next(self):
        if self.count >= self.maxCount:
            return done()
        self.count += 1
        return await self.upstream.next()


class SkipIterator(LazyIterator):
    """Drops (and disposes) the first `maxCount` elements; None or negative drops all."""

    def __init__(self, upstream: LazyIterator, maxCount):
        self.upstream = upstream
        self.maxCount = maxCount
        self.count = 0

    def summary(self):
        return f"{self.upstream.summary()} -> Skip"

    async def _next(self):
        skip_all = self.maxCount is None or self.maxCount < 0
        while skip_all or self.count < self.maxCount:
            self.count += 1
            skipped = await self.upstream.next()
            if skipped["done"]:
                return skipped
            dispose_all(skipped["value"])
        return await self.upstream.next()


class FilterIterator(LazyIterator):
    """Elements for which predicate(element) is truthy; a plain predicate runs in tf.tidy
    (a returned scalar Tensor is read, then released); an async one is awaited."""

    def __init__(self, upstream: LazyIterator, predicate):
        if not callable(predicate):
            raise TypeError(f"filter: expected a predicate function, got "
                            f"{type(predicate).__name__}")
        self.upstream = upstream
        self.predicate = predicate

    def summary(self):
        return f"{self.upstream.summary()} -> Filter"

    def _truth(self, value):
        result = self.predicate(value)
        if isinstance(result, Tensor):
            return bool(result)
        return result

    async def _next(self):
        while True:
            result = await self.upstream.next()
            if result["done"]:
                return result
            verdict = await call_user_fn(self._truth, result["value"], use_tidy=True,
                                         op="filter")
            if isinstance(verdict, Tensor):         # from an async predicate
                tensor, verdict = verdict, bool(verdict)
                tensor.dispose()
            if verdict:
                return result
            dispose_all(result["value"])


class MapIterator(LazyIterator):
    """transform(element) for each element. With use_tidy (Dataset.map) a plain transform
    runs in tf.tidy; an async transform is awaited (Dataset.mapAsync). Input tensors not
    passed through to the output are disposed."""

    def __init__(self, upstream: LazyIterator, transform, use_tidy: bool):
        if not callable(transform):
            raise TypeError(f"map: expected a transform function, got "
                            f"{type(transform).__name__}")
        self.upstream = upstream
        self.transform = transform
        self.use_tidy = use_tidy

    def summary(self):
        return f"{self.upstream.summary()} -> Map"

    async def _next(self):
        result = await self.upstream.next()
        if result["done"]:
            return done()
        consumed = tensors_in(result["value"])
        mapped = await call_user_fn(self.transform, result["value"], self.use_tidy, op="map")
        dispose_except(consumed, mapped)
        return item(mapped)


class RowMajorBatchIterator(LazyIterator):
    """Lists of `batchSize` consecutive elements (the last one shorter if smallLastBatch)."""

    def __init__(self, upstream: LazyIterator, batchSize: int, smallLastBatch: bool = True):
        self.upstream = upstream
        self.batchSize = batchSize
        self.smallLastBatch = smallLastBatch

    def summary(self):
        return f"{self.upstream.summary()} -> RowMajorBatch"

    async def _next(self):
        batch = []
        while len(batch) < self.batchSize:
            result = await self.upstream.next()
            if result["done"]:
                if self.smallLastBatch and batch:
                    return item(batch)
                for row in batch:       # a dropped partial batch releases its tensors
                    dispose_all(row)
                return done()
            batch.append(result["value"])
        return item(batch)
