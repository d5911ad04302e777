"""Shape and dtype rules of the IR ops: results, and errors that name the op and the shapes."""
from __future__ import annotations

import pytest

from kiln.ir import Builder, ShapeError, TensorType, bool_, float32, int32


@pytest.fixture
def b():
    return Builder()


def inp(b, shape, dtype=float32):
    return b.input(TensorType(tuple(shape), dtype))


def test_broadcasting_rule(b):
    assert b.add(inp(b, [2, 1, 3]), inp(b, [4, 1])).shape == (2, 4, 3)
    assert b.add(inp(b, [0, 3]), inp(b, [1, 3])).shape == (0, 3)
    assert b.select(inp(b, [3], bool_), inp(b, [2, 1]), inp(b, [])).shape == (2, 3)
    with pytest.raises(ShapeError, match=r"add: operands could not be broadcast together with "
                                         r"shapes \[2, 3\] and \[4\]"):
        b.add(inp(b, [2, 3]), inp(b, [4]))


def test_dtype_rules(b):
    assert b.less(inp(b, [2]), inp(b, [2])).dtype is bool_
    assert b.cast(inp(b, [2]), dtype="int32").dtype is int32
    with pytest.raises(ShapeError, match="add: operands must have one dtype, got float32, int32"):
        b.add(inp(b, [2]), inp(b, [2], int32))
    with pytest.raises(ShapeError, match="exp: operand 0 has dtype int32; expected float32"):
        b.exp(inp(b, [2], int32))
    with pytest.raises(ShapeError, match="logicalAnd: operand 1 has dtype float32; expected bool"):
        b.logicalAnd(inp(b, [2], bool_), inp(b, [2]))
    with pytest.raises(ShapeError, match="select: operand 0 has dtype float32; expected bool"):
        b.select(inp(b, [2]), inp(b, [2]), inp(b, [2]))


def test_matmul_rule(b):
    assert b.matMul(inp(b, [5, 2, 3]), inp(b, [3, 4])).shape == (5, 2, 4)
    assert b.matMul(inp(b, [3, 2]), inp(b, [4, 3]), transposeA=True, transposeB=True).shape == (2, 4)
    with pytest.raises(ShapeError, match=r"matMul: inner dimensions must agree: \[2, 3\] and "
                                         r"\[4, 5\] give 3 != 4"):
        b.matMul(inp(b, [2, 3]), inp(b, [4, 5]))
    with pytest.raises(ShapeError, match=r"matMul: operands must have rank >= 2, got \[3\]"):
        b.matMul(inp(b, [3]), inp(b, [3, 1]))
    with pytest.raises(ShapeError, match=r"matMul: the batch dimensions of \[2, 1, 1\] and "
                                         r"\[3, 1, 1\]"):
        b.matMul(inp(b, [2, 1, 1]), inp(b, [3, 1, 1]))


def test_reduction_rules(b):
    x = inp(b, [2, 3, 4])
    assert b.sum(x, axes=(0, 2)).shape == (3,)
    assert b.max(x, axes=(1,), keepDims=True).shape == (2, 1, 4)
    assert b.argMax(x, axis=2).type == TensorType((2, 3), int32)
    with pytest.raises(ShapeError, match="sum: axis 3 is out of range for a rank-3 operand"):
        b.sum(x, axes=(3,))
    with pytest.raises(ShapeError, match=r"sum: repeated axis in \[1, 1\]"):
        b.sum(x, axes=(1, 1))
    with pytest.raises(ShapeError, match=r"max: cannot reduce an empty axis of shape \[0, 2\]"):
        b.max(inp(b, [0, 2]), axes=(0,))
    with pytest.raises(ShapeError, match="all: operand 0 has dtype float32; expected bool"):
        b.all(x, axes=(0,))


def test_movement_rules(b):
    x = inp(b, [2, 3])
    assert b.reshape(x, shape=(3, 2)).shape == (3, 2)
    assert b.transpose(x, perm=(1, 0)).shape == (3, 2)
    assert b.slice(x, begin=(1, 2), end=(-1, -1), strides=(-1, -1)).shape == (2, 3)
    assert b.pad(x, paddings=((1, 0), (2, 2))).shape == (3, 7)
    assert b.concat(x, inp(b, [2, 5]), axis=1).shape == (2, 8)
    assert b.tile(x, reps=(2, 0)).shape == (4, 0)
    assert b.gather(x, inp(b, [4, 1], int32), axis=1).shape == (2, 4, 1)
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape \[2, 3\] \(6 elements\) into "
                                         r"\[4\] \(4 elements\)"):
        b.reshape(x, shape=(4,))
    with pytest.raises(ShapeError, match=r"transpose: perm \[0, 0\] is not a permutation"):
        b.transpose(x, perm=(0, 0))
    with pytest.raises(ShapeError, match=r"slice: axis 1 range \[1:5:1\] is outside size 3"):
        b.slice(x, begin=(0, 1), end=(2, 5), strides=(1, 1))
    with pytest.raises(ShapeError, match="slice: stride of axis 0 is zero"):
        b.slice(x, begin=(0, 0), end=(1, 1), strides=(0, 1))
    with pytest.raises(ShapeError, match=r"pad: paddings \[\[1, 1\]\] must be 2"):
        b.pad(x, paddings=((1, 1),))
    with pytest.raises(ShapeError, match=r"concat: operand 1 has shape \[3, 3\], incompatible "
                                         r"with \[2, 3\] along axis 1"):
        b.concat(x, inp(b, [3, 3]), axis=1)
    with pytest.raises(ShapeError, match=r"tile: reps \[2\] must be 2 non-negative integers"):
        b.tile(x, reps=(2,))
    with pytest.raises(ShapeError, match="gather: operand 1 has dtype float32; expected int32"):
        b.gather(x, inp(b, [2]), axis=0)
    with pytest.raises(ShapeError, match=r"broadcastTo: cannot broadcast \[2, 3\] to \[2, 2\]"):
        b.broadcastTo(x, shape=(2, 2))


def test_source_rules(b):
    assert b.iota(shape=(2, 3), axis=1).type == TensorType((2, 3), int32)
    with pytest.raises(ShapeError, match=r"iota: axis 2 out of range for shape \[2, 3\]"):
        b.iota(shape=(2, 3), axis=2)
    with pytest.raises(ShapeError, match=r"iota: shape \[-1\] must hold non-negative integers"):
        b.iota(shape=(-1,), axis=0)
    with pytest.raises(ShapeError, match="randomNormal: the seed operand must be an int32 scalar"):
        b.randomNormal(inp(b, [2], int32), shape=(3,))
