"""tf.data: lazy, asynchronous input pipelines (TensorFlow.js's tfjs-data).

    ds = tf.data.array([1, 2, 3, 4, 5]).map(lambda x: x * 2).shuffle(5, 'seed').batch(2)
    async for batch in ds:          # inside async code; asyncio.run(...) in a script
        batch.print()

Creators: array, generator, func, zip, csv. Dataset methods: batch, concatenate, filter,
forEachAsync, map, mapAsync, prefetch, repeat, shuffle, skip, take, toArray, iterator, size.
"""
from kiln.frontend.data.csv_dataset import CSVDataset
from kiln.frontend.data.dataset import Dataset, array, datasetFromIteratorFn, zip
from kiln.frontend.data.lazy_iterator import LazyIterator
from kiln.frontend.data.readers import csv, func, generator
from kiln.frontend.data.sources import TextLineDataset

PUBLIC = {
    "array": array,
    "zip": zip,
    "generator": generator,
    "func": func,
    "csv": csv,
    "Dataset": Dataset,
    "CSVDataset": CSVDataset,
    "TextLineDataset": TextLineDataset,
    "LazyIterator": LazyIterator,
    "datasetFromIteratorFn": datasetFromIteratorFn,
}

__all__ = list(PUBLIC)
