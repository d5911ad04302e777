"""Gradient rules of conv, its backprops, pooling and resize, against central finite
differences of the numpy references (tests/ir/test_gradients.py's check_gradient)."""
import numpy as np
import pytest

from kiln.ir import Builder, TensorType, float32, grad_graph
from tests.ir.test_gradients import check_gradient, rand

WINDOW = {"strides": (2, 1), "dilations": (1, 2), "pads": ((1, 0), (1, 1)), "groups": 1}
GROUPED = {"strides": (1, 1), "dilations": (1, 1), "pads": ((1, 1), (0, 1)), "groups": 2}


@pytest.mark.parametrize("attrs, xs, ws", [(WINDOW, (2, 5, 4, 2), (2, 2, 2, 3)),
                                           (GROUPED, (1, 4, 3, 4), (3, 2, 2, 4))])
def test_conv_family(attrs, xs, ws):
    x, w = rand(xs, seed=1), rand(ws, seed=2)
    check_gradient(lambda b, v: b.conv(v[0], v[1], **attrs), [x, w])
    b = Builder()
    b_shape = b.conv(b.input(TensorType(xs, float32)), b.input(TensorType(ws, float32)),
                     **attrs).shape
    dy = rand(b_shape, seed=3)
    check_gradient(lambda b, v: b.convBackpropInput(v[0], v[1], inputShape=xs, **attrs), [dy, w])
    check_gradient(lambda b, v: b.convBackpropFilter(v[0], v[1], filterShape=ws, **attrs),
                   [x, dy])


def _distinct(shape, seed):
    """Well separated values, so a finite-difference step never changes a max's winner."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1).astype(np.float32)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool(mode):
    attrs = {"window": (3, 2), "strides": (2, 1), "pads": ((1, 1), (0, 1))}
    check_gradient(lambda b, v: b.pool(v[0], mode=mode, **attrs), [_distinct((2, 5, 4, 2), 4)])


def test_avg_pool_grad():
    attrs = {"window": (2, 2), "strides": (1, 2), "pads": ((1, 0), (0, 1))}
    check_gradient(lambda b, v: b.avgPoolGrad(v[0], inputShape=(1, 4, 4, 2), **attrs),
                   [rand((1, 4, 2, 2), seed=5)])


@pytest.mark.parametrize("method, align, half", [("bilinear", False, False),
                                                 ("bilinear", True, False),
                                                 ("bilinear", False, True),
                                                 ("nearest", False, True)])
def test_resize_and_its_gradient(method, align, half):
    attrs = {"method": method, "alignCorners": align, "halfPixelCenters": half}
    check_gradient(lambda b, v: b.resize(v[0], size=(5, 3), **attrs), [rand((1, 3, 4, 2), seed=6)])
    check_gradient(lambda b, v: b.resizeGrad(v[0], inputShape=(1, 3, 4, 2), **attrs),
                   [rand((1, 5, 3, 2), seed=7)])


def test_second_derivative_of_max_pooling_is_a_clear_error():
    b = Builder()
    x = b.input(TensorType((1, 4, 4, 1), float32))
    dy = b.input(TensorType((1, 2, 2, 1), float32))
    dx = b.maxPoolGrad(x, dy, window=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0)))
    with pytest.raises(NotImplementedError, match="maxPoolGrad"):
        grad_graph(b, [b.sum(dx, axes=(0, 1, 2, 3))], [dy])
