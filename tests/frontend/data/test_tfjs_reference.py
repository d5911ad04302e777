"""kiln's tf.data against what TensorFlow.js 4.22 itself produced for the same pipelines
(tests/fixtures/tfjs_data/data.json, written by tests/fixtures/make_tfjs_data_fixtures.js)."""
import asyncio
import math

import pytest

import kiln as tf
from tests.frontend.data.tfjs_reference import DATA, FOLDER, assert_matches, decode_number


def run(coro):
    return asyncio.run(coro)


async def to_list(ds):
    """toArray, and release the tensors afterwards (the comparison reads them first)."""
    return await ds.toArray()


SHUFFLE = {k: v for k, v in DATA["shuffle"].items() if "orders" in v}


@pytest.mark.parametrize("name", sorted(SHUFFLE))
def test_shuffle_order_matches_tfjs(name):
    case = SHUFFLE[name]
    ds = tf.data.array(list(range(case["n"]))).shuffle(
        case["bufferSize"], case["seed"], case["reshuffleEachIteration"])
    for expected in case["orders"]:
        assert run(ds.toArray()) == expected


def test_shuffle_in_pipelines_matches_tfjs():
    a5 = tf.data.array(list(range(5)))
    assert run(a5.shuffle(5, "s").repeat(2).toArray()) == \
        DATA["shuffle"]["shuffle_then_repeat"]["elements"]
    assert run(a5.repeat(2).shuffle(3, "r").toArray()) == \
        DATA["shuffle"]["repeat_then_shuffle"]["elements"]
    batches = run(tf.data.array(list(range(10))).shuffle(4, "b").batch(3).toArray())
    assert_matches(batches, DATA["shuffle"]["shuffle_then_batch"]["elements"])


BATCH_PIPELINES = {
    "numbers_by4": lambda: tf.data.array(list(range(10))).batch(4),
    "numbers_by4_no_small": lambda: tf.data.array(list(range(10))).batch(4, False),
    "bools_by2": lambda: tf.data.array([True, False, False]).batch(2),
    "dicts_by3": lambda: tf.data.array([{"a": i, "b": [i, 2 * i]} for i in range(5)]).batch(3),
    "nested_arrays_by3": lambda: tf.data.array(
        [[[i, i + 1], [i + 2, i + 3]] for i in range(4)]).batch(3),
    "tensors_by2": lambda: tf.data.array([tf.tensor1d([i, -i]) for i in range(3)]).batch(2),
    "int_tensors_by2": lambda: tf.data.array(
        [tf.tensor([i, 2 * i], None, "int32") for i in range(3)]).batch(2),
    "xs_ys_by2": lambda: tf.data.array(
        [{"xs": tf.tensor2d([[i, i + 0.5]]), "ys": i} for i in range(3)]).batch(2),
}


@pytest.mark.parametrize("name", sorted(BATCH_PIPELINES))
def test_batch_matches_tfjs(name):
    assert_matches(run(BATCH_PIPELINES[name]().toArray()), DATA["batch"][name])


def _a():
    return tf.data.array(list(range(10)))


COMPOSITIONS = {
    "repeat2_take7_skip2": lambda: _a().repeat(2).take(7).skip(2),
    "filter_even_map_square": lambda: _a().filter(lambda x: x % 2 == 0).map(lambda x: x * x),
    "concatenate": lambda: tf.data.array([1, 2]).concatenate(tf.data.array([3, 4, 5])),
    "take_more_than_size": lambda: _a().take(20),
    "skip_more_than_size": lambda: _a().skip(20),
    "take0": lambda: _a().take(0),
    "skip0_take3": lambda: _a().skip(0).take(3),
    "repeat0": lambda: _a().repeat(0),
    "zip_list": lambda: tf.data.zip([_a().take(3), _a().map(lambda x: -x)]),
    "zip_dict": lambda: tf.data.zip({"x": tf.data.array([{"a": 1}, {"a": 2}, {"a": 3}]),
                                     "y": tf.data.array([{"b": 4}, {"b": 5}])}),
    "zip_nested": lambda: tf.data.zip({"p": _a().take(2),
                                       "q": [_a().skip(5), {"r": _a().map(lambda x: 10 * x)}]}),
    "map_batch_filter": lambda: _a().map(lambda x: x + 1).batch(3)
                                     .filter(lambda t: t.shape[0] == 3),
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_composition_matches_tfjs(name):
    assert_matches(run(COMPOSITIONS[name]().toArray()), DATA["composition"][name])


def test_sizes_match_tfjs():
    a = _a()

    def gen():
        yield 1
    g = tf.data.generator(gen)
    sizes = {
        "array": a.size, "batch4": a.batch(4).size, "batch4_no_small": a.batch(4, False).size,
        "repeat3": a.repeat(3).size, "repeat_forever": a.repeat().size,
        "repeat_negative": a.repeat(-1).size, "repeat0": a.repeat(0).size,
        "take3": a.take(3).size, "take20": a.take(20).size, "skip3": a.skip(3).size,
        "skip20": a.skip(20).size, "filter": a.filter(lambda x: True).size,
        "map": a.map(lambda x: x).size, "concatenate": a.concatenate(a.take(2)).size,
        "concatenate_unknown": a.concatenate(g).size,
        "concatenate_infinite": a.concatenate(a.repeat()).size,
        "shuffle": a.shuffle(3).size, "prefetch": a.prefetch(2).size, "generator": g.size,
        "generator_repeat": g.repeat(2).size, "zip": tf.data.zip([a, a.take(4)]).size,
        "repeat_forever_take5": a.repeat().take(5).size,
        "repeat_forever_batch2": a.repeat().batch(2).size,
        "repeat_forever_filter": a.repeat().filter(lambda x: True).size,
    }
    expected = {k: decode_number(v) for k, v in DATA["size"].items()}
    assert sizes == expected
    assert a.repeat().size == math.inf


@pytest.mark.parametrize("name", sorted(DATA["csv"]))
def test_csv_matches_tfjs(name):
    case = DATA["csv"][name]
    ds = tf.data.csv("file://" + str(FOLDER / case["file"]), case["config"])
    if "batchSize" in case:
        ds = ds.batch(case["batchSize"])
    else:
        assert run(ds.columnNames()) == case["columnNames"]
    assert_matches(run(ds.toArray()), case["elements"])
