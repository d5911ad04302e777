"""Tensor.print() / toString() in TensorFlow.js's exact layout (tfjs-core tensor_format.ts).

The expected strings are written by hand from TF.js's rules:
  * a 'Tensor' line, then the values indented by 4 spaces;
  * each number is parseFloat(value.toFixed(7)) in JavaScript's spelling (1, 0.5, 1e-7, NaN,
    Infinity); a scalar prints its full-precision value instead (value.toString());
  * for rank >= 2 every value is right-padded to the widest value of its column (the last
    axis); rank 1 is not padded;
  * an axis longer than 20 shows its first and last 3 entries around '...';
  * rows of a matrix end with ',', blocks of rank k are separated by k - 1 blank lines;
  * verbose adds dtype, rank, shape ('[2,2]', no spaces) and 'values:' lines.
"""
from __future__ import annotations

import numpy as np
import pytest

import kiln as tf


def lines(*rows):
    return "\n".join(rows)


CASES = [
    ("vector", tf.tensor([1, 2, 3]), lines("Tensor", "    [1, 2, 3]")),
    ("matrix columns are padded",
     tf.tensor([[1, 2.5], [3, 40]]),
     lines("Tensor",
           "    [[1, 2.5],",
           "     [3, 40 ]]")),
    ("seven decimals",
     tf.tensor([0.1, 1 / 3, -2 / 3, 1e-8, 1e-7, 1.5e-6, 123456789]),
     lines("Tensor", "    [0.1, 0.3333333, -0.6666667, 0, 1e-7, 0.0000015, 123456792]")),
    ("special values", tf.tensor([np.nan, np.inf, -np.inf, -0.0]),
     lines("Tensor", "    [NaN, Infinity, -Infinity, 0]")),
    ("float scalar prints every digit", tf.scalar(0.1),
     lines("Tensor", "    0.10000000149011612")),
    ("int scalar", tf.scalar(-5, "int32"), lines("Tensor", "    -5")),
    ("bool scalar", tf.scalar(False), lines("Tensor", "    false")),
    ("int32 matrix",
     tf.tensor([[-1, 20], [300, 4]], None, "int32"),
     lines("Tensor",
           "    [[-1 , 20],",
           "     [300, 4 ]]")),
    ("bool matrix",
     tf.tensor([[True, False], [False, True]]),
     lines("Tensor",
           "    [[true , false],",
           "     [false, true ]]")),
    ("rank 3 blocks are separated by a blank line",
     tf.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]),
     lines("Tensor",
           "    [[[1, 2],",
           "      [3, 4]],",
           "",
           "     [[5, 6],",
           "      [7, 8]]]")),
    ("rank 4 blocks are separated by two blank lines",
     tf.tensor([[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[9, 10], [11, 12]], [[13, 14], [15, 16]]]]),
     lines("Tensor",
           "    [[[[1 , 2 ],",
           "       [3 , 4 ]],",
           "",
           "      [[5 , 6 ],",
           "       [7 , 8 ]]],",
           "",
           "",
           "     [[[9 , 10],",
           "       [11, 12]],",
           "",
           "      [[13, 14],",
           "       [15, 16]]]]")),
    # TF.js's quirk, kept: a block of one line gets both the first line's '[' + ',' and the
    # last line's ' ' + ']', so a one-row matrix prints as ' [[1, 2],]'
    ("a single row", tf.tensor([[1, 2]]), lines("Tensor", "     [[1, 2],]")),
    ("single rows inside blocks",
     tf.tensor([[[[1]], [[2]]], [[[3]], [[4]]]]),
     lines("Tensor",
           "    [[ [[1],],",
           "",
           "       [[2],]],",
           "",
           "",
           "     [ [[3],],",
           "",
           "       [[4],]]]")),
    ("long vector is elided", tf.range(0, 25),
     lines("Tensor", "    [0, 1, 2, ..., 22, 23, 24]")),
    ("a vector of exactly 20 is not elided", tf.range(0, 20),
     lines("Tensor", "    [" + ", ".join(str(i) for i in range(20)) + "]")),
    ("long column is elided and padded",
     tf.reshape(tf.range(0, 25), [25, 1]),
     lines("Tensor",
           "    [[0 ],",
           "     [1 ],",
           "     [2 ],",
           "     ...,",
           "     [22],",
           "     [23],",
           "     [24]]")),
    ("long rows are elided",
     tf.reshape(tf.range(0, 42), [2, 21]),
     lines("Tensor",
           "    [[0 , 1 , 2 , ..., 18, 19, 20],",
           "     [21, 22, 23, ..., 39, 40, 41]]")),
    ("empty vector", tf.zeros([0]), lines("Tensor", "    []")),
    ("empty matrix with no rows", tf.zeros([0, 3]), lines("Tensor", "     []")),
    ("empty rows", tf.zeros([2, 0]),
     lines("Tensor",
           "    [[],",
           "     []]")),
    ("empty blocks", tf.zeros([2, 0, 3]),
     lines("Tensor",
           "    [ [],",
           "",
           "      []]")),
]


@pytest.mark.parametrize("name,tensor,expected", CASES, ids=[c[0] for c in CASES])
def test_toString(name, tensor, expected):
    assert tensor.toString() == expected


def test_verbose_header():
    t = tf.tensor([[1, 2.5], [3, 40]])
    assert t.toString(True) == lines(
        "Tensor",
        "  dtype: float32",
        "  rank: 2",
        "  shape: [2,2]",
        "  values:",
        "    [[1, 2.5],",
        "     [3, 40 ]]")
    s = tf.scalar(3, "int32")
    assert s.toString(True) == lines("Tensor", "  dtype: int32", "  rank: 0", "  shape: []",
                                     "  values:", "    3")


def test_print_writes_toString_to_stdout(capsys):
    t = tf.tensor([[1, 2.5], [3, 40]])
    t.print()
    assert capsys.readouterr().out == t.toString() + "\n"
    t.print(True)
    assert capsys.readouterr().out == t.toString(True) + "\n"


def test_str_and_repr_use_the_tfjs_format():
    t = tf.tensor([1, 2])
    assert str(t) == t.toString()
    assert repr(t) == t.toString()
