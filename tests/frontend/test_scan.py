"""scan (frontend/ops/control.py): a Python step function traced into one IR loop, eagerly and
inside compiled functions."""
import numpy as np
import pytest

import kiln as tf
from kiln.frontend.ops.control import scan
from kiln.frontend.trace import current_tracer


def running(reverse=False):
    xs = tf.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    w = tf.variable(tf.tensor([1.0, 2.0, 3.0]))

    def step(carries, slices):
        (total,), (x,) = carries, slices
        return [tf.add(total, tf.mul(x, w))], [tf.mul(total, 2.0)]     # w: an invariant
    return scan(step, [tf.zeros([3])], [xs], reverse=reverse)


@pytest.mark.parametrize("reverse", [False, True])
def test_eager_scan(reverse):
    (final,), (outs,) = running(reverse)
    weighted = np.arange(12, dtype=np.float32).reshape(4, 3) * [1, 2, 3]
    order = weighted[::-1] if reverse else weighted
    before = np.concatenate([np.zeros((1, 3)), np.cumsum(order, 0)[:-1]]) * 2
    np.testing.assert_allclose(final.arraySync(), weighted.sum(0))
    np.testing.assert_allclose(outs.arraySync(), before[::-1] if reverse else before)


def test_scan_in_a_gradient():
    """d/dw of sum(final) through the loop's gradient rule."""
    xs = tf.tensor(np.arange(6, dtype=np.float32).reshape(3, 2))

    def f(w):
        (final,), _ = scan(lambda c, s: ([tf.mul(tf.add(c[0], s[0]), w)], []), [tf.ones([2])],
                           [xs])
        return tf.sum(final)
    w0 = np.array([0.5, 2.0], np.float32)
    got = tf.grad(f)(tf.tensor(w0)).arraySync()

    def value(w):
        c = np.ones(2)
        for x in np.arange(6).reshape(3, 2):
            c = (c + x) * w
        return c.sum()
    numeric = [(value(w0 + e) - value(w0 - e)) / 2e-4 for e in np.eye(2) * 1e-4]
    np.testing.assert_allclose(got, numeric, rtol=1e-3)


def test_scan_errors():
    xs = tf.zeros([3, 2])
    with pytest.raises(ValueError, match="needs at least one sequence"):
        scan(lambda c, s: (c, []), [tf.zeros([2])], [])
    with pytest.raises(ValueError, match="for carry 0"):
        scan(lambda c, s: ([tf.zeros([3])], []), [tf.zeros([2])], [xs])
    with pytest.raises(ValueError, match="random ops inside a loop body"):
        scan(lambda c, s: ([tf.add(c[0], tf.randomUniform([2]))], []), [tf.zeros([2])], [xs])
    state = tf.variable(tf.zeros([2]))

    def updates_a_variable(carries, slices):
        current_tracer().add_update(state, carries[0])      # what layer.addUpdate records
        return carries, []
    with pytest.raises(ValueError, match="cannot update variables"):
        scan(updates_a_variable, [tf.zeros([2])], [xs])
