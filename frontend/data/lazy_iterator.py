"""LazyIterator: an asynchronous, read-once stream of elements (TF.js's LazyIterator).

`await it.next()` resolves to `{'value': element, 'done': False}`, and to
`{'value': None, 'done': True}` once the stream is exhausted (and on every later call).
`async for element in it` works too. The chaining methods (map, filter, take, ...) build new
iterators over this one; Dataset uses them to build a fresh pipeline for each iteration.

Every stage's `next()` is serialized (concurrent callers are served one after another, in
call order, as TF.js's promise chains do) and gives the event loop a turn when the stream
has been busy for more than YIELD_INTERVAL seconds, so a long epoch over synchronous data
never starves other asyncio tasks.
"""
from __future__ import annotations

import asyncio
import inspect
import time

from kiln.frontend.data.structure import dispose_except, tensors_in
from kiln.runtime.memory import tidy

YIELD_INTERVAL = 0.005   # seconds of uninterrupted stream work before yielding to the loop
_last_yield = time.monotonic()


def done() -> dict:
    return {"value": None, "done": True}


def item(value) -> dict:
    return {"value": value, "done": False}


async def cooperate() -> None:
    """Yield to the event loop if the data pipeline has held it for YIELD_INTERVAL."""
    global _last_yield
    now = time.monotonic()
    if now - _last_yield >= YIELD_INTERVAL:
        await asyncio.sleep(0)
        _last_yield = time.monotonic()


async def call_user_fn(fn, value, use_tidy: bool, op: str):
    """fn(value); a sync fn runs inside tf.tidy when use_tidy, an async one is awaited.

    tidy cannot span an await, so an async function's intermediate tensors are its own to
    dispose (TF.js's mapAsync contract)."""
    pending = []

    def run():
        result = fn(value)
        if inspect.isawaitable(result):
            pending.append(result)
            return None
        return result

    if not callable(fn):
        raise TypeError(f"{op}: expected a function, got {type(fn).__name__}")
    result = tidy(run) if use_tidy else run()
    if pending:
        result = await pending[0]
    return result


class LazyIterator:
    """The base of every stream. Subclasses implement `_next()` (and `summary()`)."""

    upstream: "LazyIterator | None" = None

    def summary(self) -> str:
        return type(self).__name__

    async def _next(self) -> dict:
        raise NotImplementedError

    async def next(self) -> dict:
        """The next {'value', 'done'} result of the stream."""
        lock = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__["_lock"] = asyncio.Lock()
        async with lock:
            result = await self._next()
        await cooperate()
        return result

    async def aclose(self) -> None:
        """Stop background work (prefetching) feeding this stream. Safe to call twice."""
        if self.upstream is not None:
            await self.upstream.aclose()

    # ---- Python's async iteration protocol ---------------------------------------------
    def __aiter__(self):
        return self

    async def __anext__(self):
        result = await self.next()
        if result["done"]:
            raise StopAsyncIteration
        return result["value"]

    # ---- draining ----------------------------------------------------------------------
    async def toArray(self) -> list:
        """All remaining elements (the stream must be finite)."""
        out = []
        async for value in self:
            out.append(value)
        return out

    async def toArrayForTest(self) -> list:
        """toArray through a 100-element prefetch, which reorders when work happens."""
        stream = self.prefetch(100)
        try:
            return await stream.toArray()
        finally:
            await stream.aclose()

    async def resolveFully(self) -> None:
        async for _ in self:
            pass

    async def forEachAsync(self, f) -> None:
        """Call f (plain or async) on each element, then dispose the element's tensors."""
        async for value in self:
            consumed = tensors_in(value)
            result = await call_user_fn(f, value, use_tidy=False, op="forEachAsync")
            dispose_except(consumed, result)

    # ---- chaining ----------------------------------------------------------------------
    def filter(self, predicate) -> "LazyIterator":
        from kiln.frontend.data.iterators import FilterIterator
        return FilterIterator(self, predicate)

    def map(self, transform, use_tidy: bool = False) -> "LazyIterator":
        from kiln.frontend.data.iterators import MapIterator
        return MapIterator(self, transform, use_tidy)

    def mapAsync(self, transform) -> "LazyIterator":
        from kiln.frontend.data.iterators import MapIterator
        return MapIterator(self, transform, use_tidy=False)

    def rowMajorBatch(self, batchSize: int, smallLastBatch: bool = True) -> "LazyIterator":
        from kiln.frontend.data.iterators import RowMajorBatchIterator
        return RowMajorBatchIterator(self, batchSize, smallLastBatch)

    def columnMajorBatch(self, batchSize: int, smallLastBatch: bool = True) -> "LazyIterator":
        """Batches as one element whose leaves are stacked tensors (see batch.deep_batch)."""
        from kiln.frontend.data.batch import deep_batch
        return self.rowMajorBatch(batchSize, smallLastBatch).map(deep_batch, use_tidy=True)

    def concatenate(self, iterator: "LazyIterator") -> "LazyIterator":
        from kiln.frontend.data.combinators import ChainedIterator, iterator_from_items
        return ChainedIterator(iterator_from_items([self, iterator], clone=False))

    def take(self, count) -> "LazyIterator":
        """At most `count` elements; None or negative: the whole stream."""
        from kiln.frontend.data.iterators import TakeIterator
        if count is None or count < 0:
            return self
        return TakeIterator(self, count)

    def skip(self, count) -> "LazyIterator":
        """All but the first `count` elements; None or negative skips everything."""
        from kiln.frontend.data.iterators import SkipIterator
        return SkipIterator(self, count)

    def prefetch(self, bufferSize: int) -> "LazyIterator":
        from kiln.frontend.data.combinators import PrefetchIterator
        return PrefetchIterator(self, bufferSize)

    def shuffle(self, windowSize: int, seed=None) -> "LazyIterator":
        from kiln.frontend.data.shuffle import ShuffleIterator
        return ShuffleIterator(self, windowSize, seed)

    def serial(self) -> "LazyIterator":
        """Every LazyIterator here already serves next() calls one at a time."""
        return self

    def __repr__(self):
        return f"<LazyIterator {self.summary()}>"
