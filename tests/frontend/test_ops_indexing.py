"""Indexing ops against numpy: slice, stridedSlice (every mask, negative strides), gather
(axis, batchDims, out-of-range indices give 0), tile, pad, reverse, cumsum."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kiln as tf
from tests.helpers import arrays, assert_tensor, floats, ints, raises, shapes

DTYPES = st.sampled_from(["float32", "int32", "bool"])


def kiln_dtype(x):
    return "bool" if x.dtype == bool else x.dtype.name


@st.composite
def any_array(draw, min_rank=0, max_rank=4, min_side=0, max_side=5):
    dtype = draw(DTYPES, label="dtype")
    return draw(arrays(dtype, draw(shapes(min_rank, max_rank, min_side, max_side))), label="x")


# ---- slice ---------------------------------------------------------------------------------
@settings(max_examples=40)
@given(x=any_array(min_rank=1), data=st.data())
def test_slice(x, data):
    begin, size = [], []
    for d in x.shape:
        b = data.draw(st.integers(0, d))
        begin.append(b)
        size.append(data.draw(st.sampled_from([-1, data.draw(st.integers(0, d - b))])))
    # TF.js lets begin and size be shorter than the rank: the rest is the whole axis
    keep = data.draw(st.integers(0, x.ndim), label="given")
    out = tf.slice(tf.tensor(x), begin[:keep], size[:keep])
    index = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin[:keep], size[:keep]))
    assert_tensor(out, x[index], kiln_dtype(x))


def test_slice_with_a_single_begin_number():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_tensor(tf.slice(tf.tensor(x), 1), x[1:])
    assert_tensor(tf.slice(tf.tensor(x), [0, 1], [-1, 2]), x[:, 1:3])


def test_slice_errors_name_the_shape():
    x = tf.ones([2, 3])
    with raises(ValueError, "slice", "[2, 3]"):
        tf.slice(x, [0, 2], [1, 2])
    with raises(ValueError, "slice", "[2, 3]"):
        tf.slice(x, [-1, 0], [1, 1])
    with raises(ValueError, "slice", "[2, 3]"):
        tf.slice(x, [0, 0, 0])


# ---- stridedSlice ---------------------------------------------------------------------------
@st.composite
def strided_spec(draw, rank):
    """(begin, end, strides, masks, numpy index): a TF stridedSlice specification and the
    Python index with the same meaning."""
    n = draw(st.integers(0, rank + 2))
    ellipsis_at = draw(st.one_of(st.none(), st.integers(0, max(n - 1, 0)))) if n else None
    begin, end, strides, index = [], [], [], []
    masks = dict(beginMask=0, endMask=0, ellipsisMask=0, newAxisMask=0, shrinkAxisMask=0)
    real = 0
    budget = rank
    for i in range(n):
        if i == ellipsis_at:
            masks["ellipsisMask"] |= 1 << i
            begin.append(0), end.append(0), strides.append(1), index.append(Ellipsis)
            continue
        kind = draw(st.sampled_from(["slice", "slice", "new", "shrink"]))
        if kind != "new" and real >= budget:
            kind = "new"
        if kind == "new":
            masks["newAxisMask"] |= 1 << i
            begin.append(0), end.append(0), strides.append(1), index.append(None)
            continue
        real += 1
        if kind == "shrink":
            masks["shrinkAxisMask"] |= 1 << i
            b = draw(st.integers(-6, 6))
            begin.append(b), end.append(b + 1), strides.append(1), index.append(("shrink", b))
            continue
        b, e = draw(st.integers(-7, 7)), draw(st.integers(-7, 7))
        s = draw(st.sampled_from([1, 2, 3, -1, -2, -3]))
        use_b, use_e = draw(st.booleans()), draw(st.booleans())
        if not use_b:
            masks["beginMask"] |= 1 << i
        if not use_e:
            masks["endMask"] |= 1 << i
        begin.append(b), end.append(e), strides.append(s)
        index.append(slice(b if use_b else None, e if use_e else None, s))
    return begin, end, strides, masks, index


def numpy_index(x, index):
    """Apply a spec index to x; None if a shrink index is out of range (an error in TF)."""
    # resolve which array axis each shrink entry hits, to check its range
    n_real = sum(1 for k in index if k is not None and k is not Ellipsis)
    axis, result = 0, []
    for k in index:
        if k is Ellipsis:
            axis += x.ndim - n_real
            result.append(k)
        elif k is None:
            result.append(k)
        elif isinstance(k, tuple):
            if not -x.shape[axis] <= k[1] < x.shape[axis]:
                return None
            result.append(k[1])
            axis += 1
        else:
            result.append(k)
            axis += 1
    return x[tuple(result)]


@settings(max_examples=60)
@given(x=any_array(max_rank=4, max_side=5), data=st.data())
def test_stridedSlice_matches_python_indexing(x, data):
    begin, end, strides, masks, index = data.draw(strided_spec(x.ndim), label="spec")
    expected = numpy_index(x, index)
    if expected is None:
        with raises(ValueError, "stridedSlice", "out of range"):
            tf.stridedSlice(tf.tensor(x), begin, end, strides, **masks)
        return
    out = tf.stridedSlice(tf.tensor(x), begin, end, strides, **masks)
    assert_tensor(out, expected, kiln_dtype(x))


def test_stridedSlice_examples_from_tfjs():
    x = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    t = tf.tensor(x)
    assert_tensor(tf.stridedSlice(t, [0, -1], [2, 0], [1, -1]), x[0:2, -1:0:-1])
    assert_tensor(tf.stridedSlice(t, [1, 0], [2, 2], [1, 1], 1, 2, 0, 0, 1), x[1, :])
    y = np.ones([2, 3, 4], np.float32)
    assert_tensor(tf.stridedSlice(tf.tensor(y), [0, 1], [1, 2], [1, 1], 0, 0, 1), y[..., 1:2])
    assert_tensor(tf.stridedSlice(t, [0, 0, 0], [1, 2, 3], [1, 1, 1], 0, 0, 0, 2, 0),
                  x[0:1, None, 0:3])


def test_stridedSlice_errors():
    x = tf.ones([2, 3])
    with raises(ValueError, "stridedSlice", "stride", "zero"):
        tf.stridedSlice(x, [0], [1], [0])
    with raises(ValueError, "stridedSlice", "ellipsis"):
        tf.stridedSlice(x, [0, 0], [1, 1], [1, 1], 0, 0, 3)
    with raises(ValueError, "stridedSlice", "rank-2"):
        tf.stridedSlice(x, [0, 0, 0], [1, 1, 1])


# ---- gather ------------------------------------------------------------------------------
@settings(max_examples=40)
@given(x=any_array(min_rank=1, max_rank=3), data=st.data())
def test_gather(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    n = x.shape[axis]
    idx_shape = data.draw(shapes(0, 2, 0, 4), label="indices shape")
    indices = data.draw(arrays("int32", idx_shape, st.integers(-2, n + 1)), label="indices")
    out = tf.gather(tf.tensor(x), tf.tensor(indices), axis)
    valid = (indices >= 0) & (indices < n)
    taken = np.take(x, np.where(valid, indices, 0), axis=axis) if n else \
        np.zeros(x.shape[:axis % x.ndim] + indices.shape + x.shape[axis % x.ndim + 1:], x.dtype)
    # out-of-range indices give zeros (the documented kiln / TF GPU behaviour)
    mask = valid.reshape((1,) * (axis % x.ndim) + valid.shape + (1,) * (x.ndim - axis % x.ndim - 1))
    expected = np.where(mask, taken, np.zeros((), x.dtype))
    assert_tensor(out, expected, kiln_dtype(x))


@settings(max_examples=30)
@given(data=st.data())
def test_gather_with_batch_dims(data):
    batch = data.draw(shapes(1, 2, 1, 3), label="batch")
    bd = len(batch)
    mid = data.draw(shapes(0, 1, 1, 3), label="mid")
    n = data.draw(st.integers(1, 4), label="n")
    rest = data.draw(shapes(0, 1, 1, 3), label="rest")
    x = data.draw(arrays("float32", batch + mid + (n,) + rest), label="x")
    axis = bd + len(mid)
    idx = data.draw(arrays("int32", batch + data.draw(shapes(0, 2, 0, 3)),
                           st.integers(-1, n)), label="indices")
    out = tf.gather(tf.tensor(x), tf.tensor(idx), axis, bd)
    # reference: loop over the batch positions, gather within each
    inner_rank = idx.ndim - bd
    expected = np.zeros(batch + mid + idx.shape[bd:] + rest, np.float32)
    for pos in np.ndindex(*batch):
        sub, sub_idx = x[pos], idx[pos]
        valid = (sub_idx >= 0) & (sub_idx < n)
        taken = np.take(sub, np.where(valid, sub_idx, 0), axis=len(mid))
        mask = valid.reshape((1,) * len(mid) + sub_idx.shape + (1,) * len(rest))
        expected[pos] = np.where(mask, taken, 0)
    assert inner_rank >= 0
    assert_tensor(out, expected)


def test_gather_tfjs_example_with_batch_dims():
    x = tf.tensor([[1, 2, 3], [4, 5, 6]])
    out = tf.gather(x, tf.tensor([[0, 2], [1, 1]], None, "int32"), 1, 1)
    assert_tensor(out, np.array([[1, 3], [5, 5]], np.float32))


def test_gather_errors():
    x = tf.ones([2, 3])
    with raises(ValueError, "gather", "axis", "2"):
        tf.gather(x, tf.tensor([0], None, "int32"), 2)
    with raises(ValueError, "gather", "batchDims"):
        tf.gather(x, tf.tensor([[0]], None, "int32"), 0, 1)


# ---- tile, pad, reverse --------------------------------------------------------------------
@settings(max_examples=30)
@given(x=any_array(max_rank=3, max_side=3), data=st.data())
def test_tile(x, data):
    reps = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim), label="reps")
    assert_tensor(tf.tile(tf.tensor(x), reps), np.tile(x, reps) if reps else x, kiln_dtype(x))


def test_tile_errors():
    with raises(ValueError, "tile", "[2]", "[2, 3]"):
        tf.tile(tf.ones([2, 3]), [2])
    with raises(ValueError, "tile", "-1"):
        tf.tile(tf.ones([2]), [-1])


@settings(max_examples=30)
@given(x=any_array(max_rank=3, max_side=3), data=st.data())
def test_pad(x, data):
    pads = [data.draw(st.tuples(st.integers(0, 3), st.integers(0, 3))) for _ in range(x.ndim)]
    value = {"float32": data.draw(floats()), "int32": data.draw(ints()),
             "bool": data.draw(st.booleans())}[kiln_dtype(x)]
    out = tf.pad(tf.tensor(x), [list(p) for p in pads], value)
    expected = np.pad(x, pads, constant_values=value) if x.ndim else x
    assert_tensor(out, expected, kiln_dtype(x))


def test_pad_errors():
    with raises(ValueError, "pad", "[2, 3]"):
        tf.pad(tf.ones([2, 3]), [[1, 1]])
    with raises(ValueError, "pad", "-1"):
        tf.pad(tf.ones([2]), [[-1, 0]])


@settings(max_examples=30)
@given(x=any_array(max_rank=4), data=st.data())
def test_reverse(x, data):
    axis = data.draw(st.one_of(
        st.none(),
        st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1) if x.ndim else st.none(),
        st.lists(st.integers(0, max(x.ndim - 1, 0)), unique=True, max_size=x.ndim)),
        label="axis")
    expected = np.flip(x, axis=None if axis is None else axis) if x.ndim else x
    assert_tensor(tf.reverse(tf.tensor(x), axis), expected, kiln_dtype(x))


def test_reverse_rejects_bad_axes():
    with raises(ValueError, "reverse", "axis", "2"):
        tf.reverse(tf.ones([2, 3]), 2)


# ---- cumsum ------------------------------------------------------------------------------
def np_cumsum(x, axis, exclusive, reverse):
    y = np.flip(x, axis) if reverse else x
    c = np.cumsum(y, axis=axis, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    if exclusive:
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis)), np.delete(c, -1, axis)], axis) \
            if c.shape[axis] else c
    return np.flip(c, axis) if reverse else c


@settings(max_examples=40)
@given(data=st.data())
def test_cumsum(data):
    shape = data.draw(shapes(1, 4, 0, 5), label="shape")
    dtype = data.draw(st.sampled_from(["float32", "int32", "bool"]), label="dtype")
    x = data.draw(arrays(dtype, shape), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    exclusive, reverse = data.draw(st.booleans()), data.draw(st.booleans())
    out = tf.cumsum(tf.tensor(x), axis, exclusive, reverse)
    expected = np_cumsum(x.astype(np.int32) if dtype == "bool" else x, axis % len(shape),
                         exclusive, reverse)
    out_dtype = "float32" if dtype == "float32" else "int32"
    assert_tensor(out, expected.astype(out_dtype), out_dtype, rtol=1e-5, atol=1e-5)


def test_cumsum_tfjs_example():
    assert_tensor(tf.cumsum(tf.tensor([1, 2, 3]), 0, True, True), np.array([5, 3, 0], np.float32))
    with raises(ValueError, "cumsum", "rank"):
        tf.cumsum(tf.scalar(1))
