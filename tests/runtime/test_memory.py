"""Memory accounting and scopes: tf.memory, tf.tidy (nested, with returned structures),
tf.keep, tf.dispose, and errors on disposed tensors."""
from __future__ import annotations

import numpy as np
import pytest

import kiln as tf
from tests.helpers import raises


@pytest.fixture
def baseline(steady_memory):
    return tf.memory()


def count():
    return tf.memory()["numTensors"]


def nbytes():
    return tf.memory()["numBytes"]


def test_memory_reports_tfjs_fields(baseline):
    info = tf.memory()
    assert {"numTensors", "numBytes", "numDataBuffers"} <= set(info)


@pytest.mark.parametrize("dtype,itemsize", [("float32", 4), ("int32", 4), ("bool", 1)])
def test_creation_and_dispose_update_the_counts(baseline, dtype, itemsize):
    n, b = count(), nbytes()
    x = tf.zeros([3, 5], dtype)
    assert count() == n + 1 and nbytes() == b + 15 * itemsize
    y = x.add(x) if dtype != "bool" else x.logicalNot()
    assert count() == n + 2
    x.dispose()
    assert count() == n + 1 and x.isDisposed and not y.isDisposed
    x.dispose()                                     # a second dispose is harmless
    assert count() == n + 1
    y.dispose()
    assert count() == n and nbytes() == b


def test_ops_count_only_their_results(baseline):
    x = tf.ones([4, 4])
    n = count()
    s = tf.softmax(x)            # a composite op: intermediates live inside compiled code
    y = tf.moments(x)            # two results
    assert count() == n + 3
    tf.dispose([s, y])
    assert count() == n


def test_tidy_disposes_intermediates_and_keeps_the_result(baseline):
    n = count()
    kept = []

    def fn():
        a = tf.ones([2, 2])
        b = a.add(1)
        kept.extend([a, b])
        return b.mul(2)

    out = tf.tidy(fn)
    assert kept[0].isDisposed and kept[1].isDisposed
    assert not out.isDisposed
    np.testing.assert_array_equal(out.dataSync(), [4, 4, 4, 4])
    assert count() == n + 1
    out.dispose()
    assert count() == n


def test_tidy_keeps_tensors_in_returned_lists_and_dicts(baseline):
    n = count()
    inner = []

    def fn():
        a, b, c, d = tf.ones([1]), tf.zeros([1]), tf.ones([2]), tf.ones([3])
        inner.append(d)
        return {"pair": [a, (b, 5)], "single": c, "text": "x"}

    out = tf.tidy(fn)
    assert inner[0].isDisposed
    for t in (out["pair"][0], out["pair"][1][0], out["single"]):
        assert not t.isDisposed
    assert out["text"] == "x" and out["pair"][1][1] == 5
    assert count() == n + 3
    tf.dispose(out)
    assert count() == n


def test_tidy_accepts_a_name_first(baseline):
    n = count()
    out = tf.tidy("scope", lambda: tf.ones([2]).add(1))
    assert count() == n + 1
    out.dispose()


def test_tidy_returning_nothing_disposes_everything(baseline):
    n = count()
    made = []
    tf.tidy(lambda: made.append(tf.ones([3])))
    assert made[0].isDisposed and count() == n


def test_nested_tidy_hands_results_to_the_outer_scope(baseline):
    n = count()
    seen = {}

    def inner():
        t = tf.ones([2])
        seen["inner_tmp"] = t.add(1)
        return t.add(2)

    def outer():
        r = tf.tidy(inner)
        seen["inner_result"] = r
        assert not r.isDisposed and seen["inner_tmp"].isDisposed
        return r.add(3)

    out = tf.tidy(outer)
    assert seen["inner_result"].isDisposed          # not returned by the outer function
    np.testing.assert_array_equal(out.dataSync(), [6, 6])
    assert count() == n + 1
    out.dispose()
    assert count() == n


def test_keep_survives_every_tidy(baseline):
    n = count()
    held = {}

    def fn():
        held["k"] = tf.keep(tf.ones([2]).mul(5))
        tf.tidy(lambda: held.setdefault("k2", tf.keep(tf.ones([1]))))
        return None

    tf.tidy(fn)
    assert not held["k"].isDisposed and not held["k2"].isDisposed
    np.testing.assert_array_equal(held["k"].dataSync(), [5, 5])
    assert count() == n + 2
    tf.dispose([held["k"], held["k2"]])
    assert count() == n


def test_tidy_disposes_its_tensors_when_the_function_raises(baseline):
    n = count()
    made = []

    def fn():
        made.append(tf.ones([2]))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tf.tidy(fn)
    assert made[0].isDisposed          # as TF.js's engine.tidy, which ends the scope on throw
    assert count() == n


def test_tidy_rejects_non_functions_and_async_functions():
    with raises(TypeError, "tidy"):
        tf.tidy(5)

    async def coro():
        return tf.ones([1])

    with raises(TypeError, "tidy", "async"):
        tf.tidy(coro)


def test_dispose_tensor_list_and_dict(baseline):
    n = count()
    a, b, c, d = (tf.ones([i + 1]) for i in range(4))
    tf.dispose(a)
    assert a.isDisposed
    tf.dispose([b, [c, "not a tensor", 3]])
    assert b.isDisposed and c.isDisposed
    tf.dispose({"x": d, "y": None})
    assert d.isDisposed
    assert count() == n


def test_tidy_never_disposes_variables(baseline):
    # TF.js: "Variables do not get cleaned up when inside a tidy()"
    n = count()
    made = {}

    def fn():
        made["v"] = tf.variable(tf.zeros([2]))
        made["t"] = tf.ones([3])

    tf.tidy(fn)
    assert not made["v"].isDisposed and made["t"].isDisposed
    assert count() == n + 1
    made["v"].dispose()
    assert count() == n


def test_variables_are_counted_and_disposable(baseline):
    n = count()
    v = tf.variable(tf.zeros([4]))
    assert count() == n + 1
    v.dispose()
    assert v.isDisposed and count() == n


def test_using_a_disposed_tensor_names_it():
    x = tf.tensor([[1, 2], [3, 4]])
    x.dispose()
    for use in (x.dataSync, x.arraySync, x.toString, x.clone, lambda: np.asarray(x),
                lambda: x.add(1), lambda: x + 1, lambda: tf.sum(x)):
        with raises(tf.DisposedError, f"tensor #{x.id}", "float32[2, 2]", "disposed"):
            use()
    v = tf.variable(tf.ones([2]), True, "weights")
    v.dispose()
    with raises(tf.DisposedError, "'weights'", "disposed"):
        v.add(1)
    with raises(tf.DisposedError, "'weights'", "disposed"):
        v.assign(tf.ones([2]))


def test_count_returns_to_baseline_after_many_ops(baseline):
    n, b = count(), nbytes()

    def work():
        x = tf.randomNormal([8, 8], 0, 1, "float32", 1)
        y = tf.matMul(x, x).relu().sum(1)
        z = tf.concat([y, y]).reshape([4, 4])
        return [tf.softmax(z), tf.unstack(z)]

    tf.dispose(tf.tidy(work))
    assert count() == n and nbytes() == b
