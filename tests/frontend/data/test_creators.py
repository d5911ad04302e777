"""tf.data creators: array, generator (sync, async, TF.js-style), func, zip."""
import asyncio
import math

import numpy as np
import pytest

import kiln as tf


def run(coro):
    return asyncio.run(coro)


# ---- array ------------------------------------------------------------------------------
def test_array_of_numbers_lists_and_dicts():
    assert run(tf.data.array([4, 5, 6]).toArray()) == [4, 5, 6]
    assert run(tf.data.array([[1, 2], [3]]).toArray()) == [[1, 2], [3]]
    items = [{"item": 1}, {"item": 2}]
    ds = tf.data.array(items)
    assert ds.size == 2
    first = run(ds.toArray())
    assert first == items
    first[0]["item"] = 99                      # elements are copies of the items
    assert run(ds.toArray()) == [{"item": 1}, {"item": 2}]


def test_array_of_tensors_clones_them_per_iteration():
    t = tf.tensor([1, 2])
    ds = tf.data.array([t])
    for _ in range(2):
        (element,) = run(ds.toArray())
        assert element is not t
        assert element.arraySync() == [1, 2]
        element.dispose()
    assert not t.isDisposed and t.arraySync() == [1, 2]


def test_array_of_numpy_rows_keeps_their_kind():
    batch = run(tf.data.array(np.arange(6, dtype=np.int64).reshape(3, 2)).batch(3).toArray())
    assert batch[0].dtype == "int32" and batch[0].arraySync() == [[0, 1], [2, 3], [4, 5]]


def test_array_rejects_non_lists():
    with pytest.raises(TypeError, match="array: items must be a list, got int"):
        tf.data.array(5)
    with pytest.raises(TypeError, match="got dict"):
        tf.data.array({"a": 1})


# ---- generator --------------------------------------------------------------------------
def test_generator_from_a_generator_function_restarts_each_iteration():
    calls = []

    def gen():
        calls.append(1)
        yield from range(3)
    ds = tf.data.generator(gen)
    assert ds.size is None
    assert run(ds.toArray()) == [0, 1, 2]
    assert run(ds.toArray()) == [0, 1, 2]
    assert len(calls) == 2


def test_generator_from_an_async_generator_function():
    async def agen():
        for i in range(4):
            await asyncio.sleep(0)
            yield {"x": i}
    assert run(tf.data.generator(agen).toArray()) == [{"x": i} for i in range(4)]


def test_generator_accepts_tfjs_style_iterators_and_async_factories():
    def make_iterator():                      # the TF.js docs' makeIterator example
        state = {"i": 0}

        def next_():
            if state["i"] < 3:
                state["i"] += 1
                return {"value": state["i"] - 1, "done": False}
            return {"value": state["i"], "done": True}
        return type("It", (), {"next": staticmethod(next_)})()
    assert run(tf.data.generator(make_iterator).toArray()) == [0, 1, 2]

    async def async_factory():
        return iter([7, 8])
    assert run(tf.data.generator(async_factory).toArray()) == [7, 8]
    assert run(tf.data.generator(lambda: [1, 2, 3]).toArray()) == [1, 2, 3]


def test_generator_errors():
    def gen():
        yield 1
    with pytest.raises(TypeError, match="pass the generator function itself"):
        tf.data.generator(gen())
    with pytest.raises(TypeError, match="expected a function"):
        tf.data.generator(42)
    with pytest.raises(TypeError, match="must return an iterator.*got int"):
        run(tf.data.generator(lambda: 5).toArray())

    def broken():
        yield 1
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError, match="disk on fire") as info:
        run(tf.data.generator(broken).toArray())
    assert "Error thrown while iterating through a dataset" in info.value.__notes__


# ---- func -------------------------------------------------------------------------------
def test_func_shares_one_stream_across_iterations():
    state = {"i": -1}

    def f():
        state["i"] += 1
        return {"value": state["i"], "done": False} if state["i"] < 5 else \
            {"value": None, "done": True}
    ds = tf.data.func(f)
    assert ds.size is None
    assert run(ds.take(3).toArray()) == [0, 1, 2]
    assert run(ds.toArray()) == [3, 4]            # the TF.js example continues where it was


def test_func_async_and_bad_results():
    state = {"i": 0}

    async def f():
        state["i"] += 1
        return {"value": state["i"], "done": state["i"] > 2}
    assert run(tf.data.func(f).toArray()) == [1, 2]
    with pytest.raises(TypeError, match=r"func: the function must return a dict \{'value'"):
        run(tf.data.func(lambda: 3).toArray())
    with pytest.raises(TypeError, match="func: expected a function"):
        tf.data.func([1, 2])


# ---- zip --------------------------------------------------------------------------------
def test_zip_of_a_list_and_of_a_dict():
    a = tf.data.array([{"a": 1}, {"a": 2}, {"a": 3}])
    b = tf.data.array([{"b": 4}, {"b": 5}, {"b": 6}])
    assert run(tf.data.zip([a, b]).toArray()) == \
        [[{"a": 1}, {"b": 4}], [{"a": 2}, {"b": 5}], [{"a": 3}, {"b": 6}]]
    merged = tf.data.zip([a, b]).map(lambda x: {"a": x[0]["a"], "b": x[1]["b"]})
    assert run(merged.toArray()) == [{"a": 1, "b": 4}, {"a": 2, "b": 5}, {"a": 3, "b": 6}]
    assert run(tf.data.zip({"c": a, "d": b}).toArray())[1] == {"c": {"a": 2}, "d": {"b": 5}}


def test_zip_ends_with_the_shortest_and_knows_its_size():
    z = tf.data.zip({"x": tf.data.array([1, 2, 3]), "y": tf.data.array([4, 5])})
    assert z.size == 2
    assert run(z.toArray()) == [{"x": 1, "y": 4}, {"x": 2, "y": 5}]
    endless = tf.data.zip([tf.data.array([1]).repeat(), tf.data.array([1, 2, 3])])
    assert endless.size == 3
    unknown = tf.data.zip([tf.data.array([1]), tf.data.generator(lambda: iter([1]))])
    assert unknown.size is None


def test_zip_of_the_same_dataset_twice_iterates_it_independently():
    a = tf.data.array([1, 2])
    assert run(tf.data.zip((a, a)).toArray()) == [(1, 1), (2, 2)]


def test_zip_then_batch_gives_xs_ys_tensors():
    xs = tf.data.array([[1, 2], [3, 4], [5, 6]])
    ys = tf.data.array([0, 1, 0])
    (batch,) = run(tf.data.zip({"xs": xs, "ys": ys}).batch(3).toArray())
    assert batch["xs"].shape == [3, 2] and batch["xs"].arraySync() == [[1, 2], [3, 4], [5, 6]]
    assert batch["ys"].dtype == "float32" and batch["ys"].arraySync() == [0, 1, 0]


def test_zip_errors_name_the_problem():
    with pytest.raises(TypeError, match="zip: the argument must be a list or dict of Datasets"):
        tf.data.zip(tf.data.array([1]))
    with pytest.raises(TypeError, match=r"must be Datasets, not primitives; found int 3 at "
                                        r"'b\[1\]'"):
        tf.data.zip({"a": tf.data.array([1]), "b": [tf.data.array([2]), 3]})
    with pytest.raises(ValueError, match="holds no Datasets"):
        tf.data.zip({})


def test_zip_of_infinite_datasets_has_infinite_size():
    z = tf.data.zip([tf.data.array([1]).repeat(), tf.data.array([2]).repeat()])
    assert z.size == math.inf
    assert run(z.take(2).toArray()) == [[1, 2], [1, 2]]
    with pytest.raises(ValueError, match="infinite data stream"):
        run(z.toArray())
