"""Dataset: a lazily evaluated, re-iterable collection of elements (TF.js's tf.data.Dataset),
and the creators tf.data.array and tf.data.zip.

A Dataset is a recipe: `await ds.iterator()` starts a new stream (a LazyIterator) that runs
the whole chain of transformations again. Iterate with `async for element in ds`, or with
`it = await ds.iterator()` and `await it.next()` -> {'value', 'done'}.

`ds.size` is the number of elements when it can be known without iterating, `math.inf` for
an endless dataset (TF.js's Infinity), and None when unknown (TF.js's null).

Tensors in elements belong to the consumer: dispose them (or let a stage such as batch or
forEachAsync do it). Deviations from TF.js, each doing what the option promises:
  * shuffle(..., reshuffleEachIteration=False) repeats one order on every iteration (TF.js
    draws a new order anyway); a seed of 0 is a seed (TF.js treats it as "no seed").
  * skip(None or negative) skips everything, as documented (TF.js's iterator skips nothing).
  * take(None or negative) keeps the size known (TF.js reports null).
  * zip's size is None when any input's size is unknown (TF.js computes min(n, null) = 0),
    and a dataset used at two leaves is iterated independently for each.
  * repeat() of a dataset that yields nothing ends instead of spinning forever.
  * batch() batches a list holding Tensors or dicts position by position (TF.js fails on
    it), so [xs, ys] elements batch like {xs, ys} ones.
  * map() awaits an async transform (as mapAsync); filter() awaits an async predicate
    (TF.js documents this but keeps every element, a pending promise being truthy).
"""
from __future__ import annotations

import math

import numpy as np

from kiln.frontend.data.alea import Alea
from kiln.frontend.data.combinators import ChainedIterator, PrefetchIterator, ZipIterator
from kiln.frontend.data.iterators import ArrayIterator, FunctionCallIterator
from kiln.frontend.data.lazy_iterator import LazyIterator
from kiln.frontend.data.shuffle import fresh_seed
from kiln.frontend.data.structure import deep_map, is_structure


def _count(value, op: str, name: str = "count", allow_none: bool = True):
    """An integer count argument (None passes through when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or \
            (isinstance(value, float) and not value.is_integer()):
        raise TypeError(f"{op}: {name} must be an integer, got {value!r}")
    return int(value)


class Dataset:
    """The base of every dataset. A subclass implements `async def iterator(self)`."""

    size = None
    MAX_BUFFER_SIZE = 10000

    async def iterator(self) -> LazyIterator:
        raise NotImplementedError(f"{type(self).__name__} must implement async iterator()")

    def __aiter__(self):
        return self._elements()

    async def _elements(self):
        it = await self.iterator()
        try:
            async for value in it:
                yield value
        finally:
            await it.aclose()

    def __repr__(self):
        return f"<{type(self).__name__} size={self.size}>"

    # ---- transformations ---------------------------------------------------------------
    def batch(self, batchSize, smallLastBatch: bool = True) -> "Dataset":
        """Groups consecutive elements into one element whose leaves are stacked tensors
        (numbers -> tensor1d, Tensors -> stacked along a new axis 0, dicts key by key)."""
        batchSize = _count(batchSize, "batch", "batchSize", allow_none=False)
        if batchSize <= 0:
            raise ValueError(f"batch: batchSize needs to be positive, but it is {batchSize}")
        base = self
        if self.size is None or self.size == math.inf:
            size = self.size
        elif smallLastBatch:
            size = math.ceil(self.size / batchSize)
        else:
            size = self.size // batchSize

        async def make():
            return (await base.iterator()).columnMajorBatch(batchSize, smallLastBatch)
        return datasetFromIteratorFn(make, size)

    def concatenate(self, dataset: "Dataset") -> "Dataset":
        """The elements of this dataset, then those of `dataset`."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate: expected a Dataset, got {type(dataset).__name__}")
        base = self
        if self.size == math.inf or dataset.size == math.inf:
            size = math.inf
        elif self.size is not None and dataset.size is not None:
            size = self.size + dataset.size
        else:
            size = None

        async def make():
            return (await base.iterator()).concatenate(await dataset.iterator())
        return datasetFromIteratorFn(make, size)

    def filter(self, predicate) -> "Dataset":
        """The elements for which predicate(element) is true (plain or async predicate)."""
        if not callable(predicate):
            raise TypeError(f"filter: expected a predicate function, got "
                            f"{type(predicate).__name__}")
        base = self
        size = math.inf if self.size == math.inf else None

        async def make():
            return (await base.iterator()).filter(predicate)
        return datasetFromIteratorFn(make, size)

    async def forEachAsync(self, f) -> None:
        """Calls f (plain or async) on each element; the element's tensors are disposed
        afterwards unless f returns them."""
        await self._consume(lambda it: it.forEachAsync(f))

    def map(self, transform) -> "Dataset":
        """transform(element) per element, inside tf.tidy; input tensors not passed
        through are disposed. An async transform is awaited (as mapAsync)."""
        if not callable(transform):
            raise TypeError(f"map: expected a transform function, got "
                            f"{type(transform).__name__}")
        base = self

        async def make():
            return (await base.iterator()).map(transform, use_tidy=True)
        return datasetFromIteratorFn(make, self.size)

    def mapAsync(self, transform) -> "Dataset":
        """An async transform per element; it must dispose its own intermediate tensors."""
        if not callable(transform):
            raise TypeError(f"mapAsync: expected a transform function, got "
                            f"{type(transform).__name__}")
        base = self

        async def make():
            return (await base.iterator()).mapAsync(transform)
        return datasetFromIteratorFn(make, self.size)

    def prefetch(self, bufferSize) -> "Dataset":
        """Reads up to bufferSize elements ahead in a background asyncio task."""
        if bufferSize is None:
            raise ValueError("prefetch: Dataset.prefetch() requires bufferSize to be specified")
        bufferSize = _count(bufferSize, "prefetch", "bufferSize")
        if bufferSize < 1:
            raise ValueError(f"prefetch: bufferSize must be at least 1, got {bufferSize}")
        base = self

        async def make():
            return PrefetchIterator(await base.iterator(), bufferSize)
        return datasetFromIteratorFn(make, self.size)

    def repeat(self, count=None) -> "Dataset":
        """This dataset `count` times over; None or negative repeats forever."""
        count = _count(count, "repeat")
        base = self
        if self.size is not None and count is not None and count > 0:
            size = self.size * count
        elif count == 0:
            size = 0
        elif self.size is not None and (count is None or count < 0):
            size = math.inf
        else:
            size = None

        async def make():
            async def fresh():
                return {"value": await base.iterator(), "done": False}
            streams = FunctionCallIterator(fresh, "repeat").take(count)
            return ChainedIterator(streams, stop_on_empty=True)
        return datasetFromIteratorFn(make, size)

    def skip(self, count) -> "Dataset":
        """All but the first `count` elements; None or negative skips the whole dataset."""
        count = _count(count, "skip")
        base = self
        if self.size is not None and count is not None and 0 <= count <= self.size:
            size = self.size - count
        elif self.size is not None:
            size = 0
        else:
            size = None

        async def make():
            return (await base.iterator()).skip(count)
        return datasetFromIteratorFn(make, size)

    def shuffle(self, bufferSize, seed=None, reshuffleEachIteration: bool = True) -> "Dataset":
        """Pseudorandom order by sampling from a sliding buffer of bufferSize elements
        (seedrandom's Alea, as TF.js: a string or number seed reproduces TF.js's order)."""
        if bufferSize is None or (isinstance(bufferSize, (int, float)) and bufferSize < 0):
            hint = "" if self.size is None else (
                "  If your data fits in main memory, consider setting bufferSize to the "
                f"dataset size ({self.size} elements)")
            raise ValueError("shuffle: Dataset.shuffle() requires bufferSize to be "
                             "specified." + hint)
        bufferSize = _count(bufferSize, "shuffle", "bufferSize")
        if bufferSize < 1:
            raise ValueError(f"shuffle: bufferSize must be at least 1, got {bufferSize}")
        base = self
        random = Alea(seed if seed is not None else fresh_seed())
        fixed_seed = None if reshuffleEachIteration else random.int32()

        async def make():
            seed2 = random.int32() + random.int32() if reshuffleEachIteration else fixed_seed
            return (await base.iterator()).shuffle(bufferSize, str(seed2))
        return datasetFromIteratorFn(make, self.size)

    def take(self, count) -> "Dataset":
        """At most the first `count` elements; None or negative keeps them all."""
        count = _count(count, "take")
        base = self
        if count is None or count < 0:
            size = self.size
        elif self.size is not None:
            size = min(self.size, count)
        else:
            size = None

        async def make():
            return (await base.iterator()).take(count)
        return datasetFromIteratorFn(make, size)

    # ---- collecting --------------------------------------------------------------------
    async def toArray(self) -> list:
        """Every element, in a list (the dataset must be finite)."""
        if self.size == math.inf:
            raise ValueError("toArray: can not convert infinite data stream to array")
        return await self._consume(lambda it: it.toArray())

    async def toArrayForTest(self) -> list:
        """toArray through a 100-element prefetch (reorders when upstream work happens)."""
        if self.size == math.inf:
            raise ValueError("toArrayForTest: can not convert infinite data stream to array")
        return await self._consume(lambda it: it.toArrayForTest())

    async def _consume(self, consume):
        """Run consume(iterator) on a new iterator, then stop any work still feeding it."""
        it = await self.iterator()
        try:
            return await consume(it)
        finally:
            await it.aclose()


class _FunctionDataset(Dataset):
    def __init__(self, iteratorFn, size):
        self._iteratorFn = iteratorFn
        self.size = size

    async def iterator(self) -> LazyIterator:
        return await self._iteratorFn()


def datasetFromIteratorFn(iteratorFn, size=None) -> Dataset:
    """A Dataset whose iterator() awaits iteratorFn() (an async function -> LazyIterator)."""
    return _FunctionDataset(iteratorFn, size)


def array(items) -> Dataset:
    """tf.data.array(items): a dataset of the items of a list (numbers, lists, dicts, Tensors
    or nested structures of them). Tensors are cloned per iteration, so the list's own
    tensors stay alive however the elements are consumed. A numpy array gives its rows."""
    if isinstance(items, np.ndarray) and items.ndim:
        items = list(items)
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"array: items must be a list, got {type(items).__name__}")
    items = list(items)

    async def make():
        return ArrayIterator(items)
    return datasetFromIteratorFn(make, len(items))


def zip(datasets) -> Dataset:
    """tf.data.zip(datasets): elements shaped like `datasets` (a list, tuple or dict of
    Datasets, nested as deep as you like) with one element of each dataset at its leaves.
    Ends with the shortest dataset."""
    if not is_structure(datasets):
        raise TypeError(f"zip: the argument must be a list or dict of Datasets, got "
                        f"{type(datasets).__name__}")

    def check(leaf, path):
        if not isinstance(leaf, Dataset):
            raise TypeError(f"zip: leaves of the structure passed to zip() must be Datasets, "
                            f"not primitives; found {type(leaf).__name__} {leaf!r:.60} at "
                            f"{path or 'the top level'!r}")
        return leaf

    found: list = []
    deep_map(datasets, lambda leaf, path: found.append(check(leaf, path)))
    if not found:
        raise ValueError("zip: the structure passed to zip() holds no Datasets")
    sizes = [ds.size for ds in found]
    size = None if any(s is None for s in sizes) else min(sizes)

    async def make():
        streams = iter([await ds.iterator() for ds in found])   # one stream per leaf
        return ZipIterator(deep_map(datasets, lambda _ds, _path: next(streams)))
    return datasetFromIteratorFn(make, size)


