"""Stream stages over several streams or over time: chaining (concatenate, repeat), zipping,
and prefetching ahead with a background asyncio task."""
from __future__ import annotations

import asyncio

from kiln.frontend.data.iterators import ArrayIterator
from kiln.frontend.data.lazy_iterator import LazyIterator, done, item
from kiln.frontend.data.structure import deep_map, dispose_all, leaves


def iterator_from_items(items, clone: bool = True) -> LazyIterator:
    return ArrayIterator(items, clone)


class ChainedIterator(LazyIterator):
    """The elements of each stream produced by `iterators` (a stream of streams), in order.

    With stop_on_empty (used by repeat), a stream that ends without producing anything ends
    the chain: repeating an empty dataset forever yields nothing instead of spinning."""

    def __init__(self, iterators: LazyIterator, stop_on_empty: bool = False):
        self.upstream = iterators
        self.iterator: LazyIterator | None = None
        self.produced = False
        self.stop_on_empty = stop_on_empty

    def summary(self):
        return f"{self.upstream.summary()} -> Chained"

    async def _next(self):
        while True:
            if self.iterator is None:
                result = await self.upstream.next()
                if result["done"]:
                    return done()
                self.iterator = result["value"]
                self.produced = False
            result = await self.iterator.next()
            if not result["done"]:
                self.produced = True
                return result
            await self.iterator.aclose()
            self.iterator = None
            if self.stop_on_empty and not self.produced:
                return done()

    async def aclose(self):
        if self.iterator is not None:
            await self.iterator.aclose()
        await super().aclose()


class ZipIterator(LazyIterator):
    """Elements made of one element of each stream at the leaves of a nested structure
    (list, tuple or dict of LazyIterators). Ends when the shortest stream ends (TF.js's
    zip uses ZipMismatchMode.SHORTEST); the other streams' elements of that round are
    disposed."""

    def __init__(self, iterators):
        self.iterators = iterators
        self.streams = leaves(iterators)
        self.count = 0

    def summary(self):
        return f"Zip of {len(self.streams)} streams"

    async def _next(self):
        results = [await stream.next() for stream in self.streams]
        if any(r["done"] for r in results):
            for r in results:
                if not r["done"]:
                    dispose_all(r["value"])
            return done()
        self.count += 1
        values = iter([r["value"] for r in results])
        return item(deep_map(self.iterators, lambda _stream, _path: next(values)))

    async def aclose(self):
        for stream in self.streams:
            await stream.aclose()


class PrefetchIterator(LazyIterator):
    """Reads up to `bufferSize` elements ahead of the consumer in a background task, so
    upstream work (parsing, slow generators, mapAsync) overlaps with the consumer's work.
    Errors raised upstream surface from next() in order."""

    def __init__(self, upstream: LazyIterator, bufferSize: int):
        self.upstream = upstream
        self.bufferSize = bufferSize
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.finished = False

    def summary(self):
        return f"{self.upstream.summary()} -> Prefetch"

    async def _fill(self):
        try:
            while True:
                result = await self.upstream.next()
                await self.queue.put(result)
                if result["done"]:
                    return
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # handed to the consumer, raised there
            await self.queue.put(e)

    async def _next(self):
        if self.finished:
            return done()
        if self.task is None:
            self.queue = asyncio.Queue(maxsize=self.bufferSize)
            self.task = asyncio.ensure_future(self._fill())
        result = await self.queue.get()
        if isinstance(result, BaseException):
            self.finished = True
            raise result
        if result["done"]:
            self.finished = True
        return result

    async def aclose(self):
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        if self.queue is not None:      # elements read ahead but never consumed
            while not self.queue.empty():
                result = self.queue.get_nowait()
                if isinstance(result, dict) and not result["done"]:
                    dispose_all(result["value"])
        self.finished = True
        await super().aclose()
