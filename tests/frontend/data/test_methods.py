"""Dataset methods against hand-computed expectations, and their errors."""
import asyncio
import gc
import math

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.data.alea import Alea


def run(coro):
    return asyncio.run(coro)


def ten():
    return tf.data.array(list(range(10)))


def values(batches):
    return [b.arraySync() for b in batches]


# ---- batch ------------------------------------------------------------------------------
def test_batch_of_ten_numbers_by_four():
    small = run(ten().batch(4).toArray())
    assert [b.shape for b in small] == [[4], [4], [2]]
    assert values(small) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(b.dtype == "float32" for b in small)
    full = run(ten().batch(4, False).toArray())
    assert [b.shape for b in full] == [[4], [4]]
    assert ten().batch(4).size == 3 and ten().batch(4, False).size == 2


def test_batch_nested_dicts_and_lists_leaf_wise():
    rows = [{"xs": {"a": i, "b": [i, -i]}, "ys": [tf.scalar(i), tf.tensor([i, i])]}
            for i in range(3)]
    (batch,) = run(tf.data.array(rows).batch(3).toArray())
    assert batch["xs"]["a"].arraySync() == [0, 1, 2]
    assert batch["xs"]["b"].arraySync() == [[0, 0], [1, -1], [2, -2]]
    ys0, ys1 = batch["ys"]
    assert ys0.shape == [3] and ys0.arraySync() == [0, 1, 2]
    assert ys1.shape == [3, 2] and ys1.arraySync() == [[0, 0], [1, 1], [2, 2]]


def test_batch_of_missing_values_gives_nan():
    (batch,) = run(tf.data.array([{"a": 1}, {"a": None}]).batch(2).toArray())
    a = batch["a"].arraySync()
    assert a[0] == 1 and math.isnan(a[1])


def test_batch_errors():
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"batchSize needs to be positive, but it is {bad}"):
            ten().batch(bad)
    with pytest.raises(TypeError, match="batch: batchSize must be an integer, got 2.5"):
        ten().batch(2.5)
    mixed = tf.data.array([{"a": 1, "b": 2}, {"a": 1, "c": 2}]).batch(2)
    with pytest.raises(ValueError, match=r"differ in structure at the top level: element 0 is "
                                         r"a dict with keys \['a', 'b'\], element 1 is a dict "
                                         r"with keys \['a', 'c'\]"):
        run(mixed.toArray())
    shapes = tf.data.array([{"x": tf.zeros([2])}, {"x": tf.zeros([3])}]).batch(2)
    with pytest.raises(ValueError, match=r"the tensors at 'x' differ: element 0 is "
                                         r"float32\[2\], element 1 is float32\[3\]"):
        run(shapes.toArray())
    with pytest.raises(TypeError, match="cannot batch the values at 'name'.*string"):
        run(tf.data.array([{"name": "a"}, {"name": "b"}]).batch(2).toArray())


# ---- shuffle ----------------------------------------------------------------------------
def test_alea_matches_seedrandom_published_values():
    # seedrandom's test/prngtest.js: alea(1) -> double, then quick, then int32
    r = Alea(1)
    assert r.double() == 0.5260470956849501
    assert r.quick() == 0.47771977609954774
    assert r.int32() == -1625913352


def test_shuffle_with_a_seed_is_a_reproducible_permutation():
    a = run(ten().shuffle(4, "seed").toArray())
    b = run(ten().shuffle(4, "seed").toArray())
    assert sorted(a) == list(range(10)) and a == b and a != list(range(10))
    assert run(ten().shuffle(4, "other").toArray()) != a
    assert run(ten().shuffle(10, 42).toArray()) == run(ten().shuffle(10, "42").toArray())


def test_shuffle_reshuffles_each_iteration_unless_told_not_to():
    ds = ten().shuffle(10, "s")
    first, second = run(ds.toArray()), run(ds.toArray())
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    fixed = ten().shuffle(10, "s", False)
    orders = [run(fixed.toArray()) for _ in range(3)]
    assert orders[0] == orders[1] == orders[2]


def test_shuffle_window_bounds_how_far_an_element_moves_forward():
    # With a window of 3, the element output at position p was read among the first p + 3.
    order = run(tf.data.array(list(range(50))).shuffle(3, "w").toArray())
    assert sorted(order) == list(range(50))
    assert all(v < p + 3 for p, v in enumerate(order))
    assert run(ten().shuffle(1, "w").toArray()) == list(range(10))


def test_unseeded_shuffles_differ():
    ds = tf.data.array(list(range(30)))
    assert run(ds.shuffle(30).toArray()) != run(ds.shuffle(30).toArray())


def test_shuffle_errors():
    with pytest.raises(ValueError, match=r"requires bufferSize to be specified.*dataset size "
                                         r"\(10 elements\)"):
        ten().shuffle(None)
    with pytest.raises(ValueError, match="bufferSize must be at least 1, got 0"):
        ten().shuffle(0)


# ---- map, mapAsync, filter ---------------------------------------------------------------
def test_map_and_filter():
    ds = ten().filter(lambda x: x % 3 == 0).map(lambda x: {"v": x, "sq": x * x})
    assert run(ds.toArray()) == [{"v": v, "sq": v * v} for v in (0, 3, 6, 9)]
    assert ds.size is None and ten().map(lambda x: x).size == 10


def test_map_of_tensors_disposes_inputs_and_intermediates(steady_memory):
    gc.collect()      # tensors of earlier tests still in reference cycles would be freed mid-test
    before = tf.memory()["numTensors"]
    ds = tf.data.array([tf.tensor([1, 2]), tf.tensor([3, 4])])
    out = run(ds.map(lambda t: t.mul(2).add(1)).toArray())
    assert values(out) == [[3, 5], [7, 9]]
    tf.dispose(out)
    assert tf.memory()["numTensors"] == before + 2        # only the array's own tensors


def test_filter_with_a_tensor_predicate_and_an_async_predicate():
    ds = tf.data.array([tf.scalar(v) for v in (1, 5, 2, 7)])
    kept = run(ds.filter(lambda t: t.greater(2)).toArray())
    assert [t.arraySync() for t in kept] == [5, 7]

    async def is_odd(x):
        await asyncio.sleep(0)
        return x % 2 == 1
    assert run(ten().filter(is_odd).toArray()) == [1, 3, 5, 7, 9]


def test_map_async():
    async def slow_square(x):
        await asyncio.sleep(0)
        return x * x
    assert run(ten().take(4).mapAsync(slow_square).toArray()) == [0, 1, 4, 9]
    assert run(ten().take(2).map(slow_square).toArray()) == [0, 1]     # awaited, as mapAsync


def test_non_functions_are_rejected():
    for method in ("map", "mapAsync", "filter"):
        with pytest.raises(TypeError, match=f"{method}: expected a .*function, got int"):
            getattr(ten(), method)(3)


# ---- repeat, take, skip, concatenate -----------------------------------------------------
def test_repeat_take_skip():
    a = tf.data.array([1, 2, 3])
    assert run(a.repeat(3).toArray()) == [1, 2, 3] * 3
    assert run(a.repeat().take(7).toArray()) == [1, 2, 3, 1, 2, 3, 1]
    assert run(a.repeat(-1).skip(4).take(3).toArray()) == [2, 3, 1]
    assert run(a.skip(1).repeat(2).toArray()) == [2, 3, 2, 3]
    assert run(a.take(-1).toArray()) == [1, 2, 3] and a.take(None).size == 3
    assert run(a.skip(-1).toArray()) == [] and a.skip(None).size == 0
    assert run(tf.data.array([]).repeat().take(5).toArray()) == []   # no endless spin


def test_take_skip_repeat_reject_non_integers():
    with pytest.raises(TypeError, match="take: count must be an integer, got '3'"):
        ten().take("3")
    with pytest.raises(TypeError, match="repeat: count must be an integer, got 1.5"):
        ten().repeat(1.5)


def test_concatenate():
    a, b = tf.data.array([1, 2]), tf.data.array([3])
    c = a.concatenate(b).concatenate(a)
    assert c.size == 5 and run(c.toArray()) == [1, 2, 3, 1, 2]
    with pytest.raises(TypeError, match="concatenate: expected a Dataset, got list"):
        a.concatenate([3])


# ---- prefetch, forEachAsync, iteration ---------------------------------------------------
def test_prefetch_passes_elements_through_in_order():
    ds = ten().map(lambda x: x + 1).prefetch(3)
    assert ds.size == 10
    assert run(ds.toArray()) == list(range(1, 11))
    assert run(ten().batch(3).toArrayForTest())[-1].arraySync() == [9]
    with pytest.raises(ValueError, match="requires bufferSize"):
        ten().prefetch(None)
    with pytest.raises(ValueError, match="bufferSize must be at least 1"):
        ten().prefetch(0)


def test_prefetch_reraises_upstream_errors_in_order():
    def gen():
        yield 1
        yield 2
        raise KeyError("bad row")
    got = []

    async def consume():
        async for x in tf.data.generator(gen).prefetch(5):
            got.append(x)
    with pytest.raises(KeyError, match="bad row"):
        run(consume())
    assert got == [1, 2]


def test_for_each_async_with_plain_and_async_functions():
    seen = []
    run(ten().take(3).forEachAsync(seen.append))

    async def record(x):
        await asyncio.sleep(0)
        seen.append(-x)
    run(ten().take(2).forEachAsync(record))
    assert seen == [0, 1, 2, 0, -1]


def test_for_each_async_disposes_elements(steady_memory):
    before = tf.memory()["numTensors"]
    ds = tf.data.generator(lambda: (tf.tensor([i]) for i in range(5)))
    shapes = []
    run(ds.forEachAsync(lambda t: shapes.append(t.shape)))
    assert shapes == [[1]] * 5 and tf.memory()["numTensors"] == before


def test_iterator_protocol():
    async def main():
        it = await ten().take(2).iterator()
        results = [await it.next() for _ in range(4)]
        collected = [x async for x in tf.data.array([5, 6])]
        return results, collected
    results, collected = run(main())
    assert results == [{"value": 0, "done": False}, {"value": 1, "done": False},
                       {"value": None, "done": True}, {"value": None, "done": True}]
    assert collected == [5, 6]


def test_concurrent_next_calls_are_served_in_order():
    async def main():
        it = await ten().map(lambda x: x * 10).iterator()
        return await asyncio.gather(*(it.next() for _ in range(4)))
    assert [r["value"] for r in run(main())] == [0, 10, 20, 30]


def test_numpy_scalars_from_map_batch_with_their_kind():
    ds = ten().take(4).map(lambda x: np.int32(x))
    (batch,) = run(ds.batch(4).toArray())
    assert batch.dtype == "int32" and batch.arraySync() == [0, 1, 2, 3]
