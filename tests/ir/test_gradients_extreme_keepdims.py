"""max/min gradients with keepDims: the gradient is shared among the maximal elements."""
import numpy as np

import kiln as tf


def test_max_and_min_with_keep_dims():
    x = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.0]], np.float32)
    weights = np.array([[2.0], [5.0]], np.float32)
    for reduce, pick in ((tf.max, np.max), (tf.min, np.min)):
        got = tf.grad(lambda t: tf.sum(tf.mul(reduce(t, -1, True), tf.tensor(weights))))(
            tf.tensor(x)).dataSync().reshape(2, 3)
        hit = (x == pick(x, 1, keepdims=True)).astype(np.float32)
        expected = hit / hit.sum(1, keepdims=True) * weights
        np.testing.assert_allclose(got, expected, rtol=1e-6)
