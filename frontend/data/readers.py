"""The tf.data creators that read from functions and files: func, generator, csv."""
from __future__ import annotations

import inspect

from kiln.frontend.data.csv_dataset import CSVDataset
from kiln.frontend.data.dataset import Dataset, datasetFromIteratorFn
from kiln.frontend.data.iterators import FunctionCallIterator, iterator_from_python


def func(f) -> Dataset:
    """tf.data.func(f): each element is f()'s {'value': element, 'done': bool} (f may be
    async). As in TF.js, every iteration of the dataset shares one stream of calls, so a
    second pass continues where the first stopped; the size is unknown (None)."""
    stream = FunctionCallIterator(f, "func")

    async def make():
        return stream
    return datasetFromIteratorFn(make)


def generator(generator) -> Dataset:
    """tf.data.generator(fn): fn() starts a new stream for each iteration. fn is a generator
    function, an async generator function, or any function (plain or async) returning an
    iterator, an async iterator, an iterable, or a TF.js-style object whose next() returns
    {'value', 'done'}. The size is unknown (None)."""
    if inspect.isgenerator(generator) or inspect.isasyncgen(generator):
        raise TypeError("generator: pass the generator function itself, not a generator "
                        "object: a Dataset starts a new generator for every iteration, and a "
                        "generator object can be iterated only once")
    if not callable(generator):
        raise TypeError(f"generator: expected a function returning an iterator, got "
                        f"{type(generator).__name__}")

    async def make():
        source = generator()
        if inspect.isawaitable(source):
            source = await source
        return iterator_from_python(source, "generator")
    return datasetFromIteratorFn(make)


def csv(source, csvConfig=None, **kwargs) -> CSVDataset:
    """tf.data.csv(source, {hasHeader, columnNames, columnConfigs, configuredColumnsOnly,
    delimiter, delimWhitespace}): source is a path, a file:// URL or an http(s) URL."""
    return CSVDataset(source, csvConfig, **kwargs)
