"""The IR builder: nodes are interned (equal op, operands and attributes give one node),
shape rules run at construction, finish keeps only live nodes, rebuild merges and drops."""
from __future__ import annotations

import numpy as np
import pytest

from kiln.ir import Builder, Graph, ShapeError, TensorType, bool_, float32, int32, rebuild, verify


def f32(*shape):
    return TensorType(shape, float32)


def test_equal_nodes_are_one_object():
    b = Builder()
    x = b.input(f32(2, 3), "x")
    y = b.input(f32(3), "y")
    assert b.add(x, y) is b.add(x, y)
    assert b.relu(b.add(x, y)) is b.relu(b.add(x, y))
    assert b.sum(x, axes=(1,)) is b.sum(x, axes=[1])            # lists freeze to tuples
    assert b.sum(x, axes=(1,)) is b.sum(x, axes=(1,), keepDims=False)   # defaults filled
    assert b.constant(2.0) is b.constant(2.0)
    assert b.constant(np.array([1, 2], np.int32)) is b.constant([1, 2], "int32")


def test_different_operands_attributes_or_dtypes_are_different_nodes():
    b = Builder()
    x = b.input(f32(2, 3), "x")
    y = b.input(f32(3), "y")
    assert b.add(x, y) is not b.add(y, x)
    assert b.sum(x, axes=(1,)) is not b.sum(x, axes=(1,), keepDims=True)
    assert b.constant(2.0) is not b.constant(2, "int32")
    assert b.leakyRelu(x) is not b.leakyRelu(x, alpha=0.3)


def test_boundary_nodes_are_never_merged():
    b = Builder()
    assert b.input(f32(2), "x") is not b.input(f32(2), "x")
    assert b.param(f32(2), "w") is not b.param(f32(2), "w")


def test_node_records_op_inputs_attrs_and_types():
    b = Builder()
    x = b.input(f32(2, 3), "x")
    s = b.sum(x, axes=(0,), keepDims=True)
    node = s.node
    assert node.op == "sum" and node.inputs == (x,) and dict(node.attrs) == {"axes": (0,), "keepDims": True}
    assert s.type == f32(1, 3) and s.shape == (1, 3) and s.dtype is float32
    with pytest.raises(TypeError, match="immutable"):
        node.attrs["axes"] = (1,)


def test_finish_keeps_only_what_the_outputs_need():
    b = Builder("g")
    x = b.input(f32(4), "x")
    unused = b.exp(x)
    y = b.relu(x)
    g = b.finish([y])
    assert [n.op for n in g.nodes] == ["input", "relu"]
    assert unused.node not in g.nodes
    assert g.inputs == [x] and g.outputs == [y] and g.name == "g"
    verify(g)


def test_finish_keeps_unused_inputs_and_update_sources():
    b = Builder()
    x = b.input(f32(2), "x")
    unused_input = b.input(f32(3), "z")
    w = b.param(f32(2), "w")
    g = b.finish([x], updates=[(w, b.add(w, x))])
    assert unused_input in g.inputs
    assert [n.op for n in g.nodes] == ["input", "input", "param", "add"]
    assert g.params == [w]
    verify(g)


def test_finish_rejects_bad_updates_and_foreign_values():
    b = Builder()
    x = b.input(f32(2), "x")
    w = b.param(f32(3), "w")
    with pytest.raises(ShapeError, match="'w'.*f32\\[2\\].*f32\\[3\\]"):
        b.finish([x], updates=[(w, x)])
    with pytest.raises(ShapeError, match="param"):
        b.finish([x], updates=[(x, x)])
    other = Builder().input(f32(2), "y")
    with pytest.raises(ShapeError, match="this builder"):
        b.finish([other])


def test_rebuild_merges_equal_nodes_and_drops_dead_ones():
    b = Builder()
    x = b.input(f32(3), "x")
    out = b.add(b.exp(x), b.exp(x))
    g = b.finish([out])
    # rewrite exp(x) -> relu(x): the rebuilt graph still has one relu feeding add twice
    g2, vmap = rebuild(g, lambda bb, node, ins: (bb.relu(*ins),) if node.op == "exp" else None)
    assert [n.op for n in g2.nodes] == ["input", "relu", "add"]
    add = g2.nodes[-1]
    assert add.inputs[0] is add.inputs[1]
    assert vmap[out] is g2.outputs[0]
    verify(g2)


def test_operands_must_be_values_of_this_builder():
    b = Builder()
    foreign = Builder().input(f32(2), "x")
    with pytest.raises(ShapeError, match="add: operand 1 belongs to another graph"):
        b.add(b.input(f32(2), "y"), foreign)
    with pytest.raises(TypeError, match="relu: operand 0 is ndarray"):
        b.relu(np.ones(2))


def test_unknown_ops_and_attributes():
    b = Builder()
    x = b.input(f32(2), "x")
    with pytest.raises(AttributeError, match="no op 'frobnicate'"):
        b.frobnicate(x)
    with pytest.raises(ShapeError, match=r"sum: unknown attribute\(s\) \['axis'\]"):
        b.sum(x, axis=0)
    with pytest.raises(ShapeError, match="sum: missing required attribute 'axes'"):
        b.sum(x)
    with pytest.raises(ShapeError, match=r"add: expects 2 operand\(s\), got 1"):
        b.add(x)
