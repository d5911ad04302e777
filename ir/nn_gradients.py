"""Gradient rules of the convolution, pooling and resize ops (kiln.ir.ops.nn).

conv is linear in each operand, and its two backprop ops are its adjoints, so every rule is
another op of the family with the same window attributes:

  conv(x, w)                 dx = convBackpropInput(g, w)      dw = convBackpropFilter(x, g)
  convBackpropInput(dy, w)   d dy = conv(g, w)                  dw = convBackpropFilter(g, dy)
  convBackpropFilter(x, dy)  dx = convBackpropInput(dy, g)      d dy = conv(x, g)
  pool max / avg             maxPoolGrad(x, g) / avgPoolGrad(g)
  avgPoolGrad(dy)            d dy = pool avg(g)
  resize(x) / resizeGrad(dy) resizeGrad(g) / resize(g)

maxPoolGrad routes dy by the argmax of x, which is piecewise constant in x (no gradient); its
gradient with respect to dy would gather g at each window's argmax, an op kiln does not have,
so differentiating it (a second derivative of max pooling) raises NotImplementedError.
"""
from __future__ import annotations

from kiln.ir.registry import set_grad


def _window(node):
    return {k: node.attrs[k] for k in ("strides", "dilations", "pads", "groups")}


def _conv(b, node, grads):
    x, w = node.inputs
    (g,) = grads
    attrs = _window(node)
    return [b.convBackpropInput(g, w, inputShape=x.shape, **attrs),
            b.convBackpropFilter(x, g, filterShape=w.shape, **attrs)]


def _conv_backprop_input(b, node, grads):
    dy, w = node.inputs
    (g,) = grads
    attrs = _window(node)
    return [b.conv(g, w, **attrs), b.convBackpropFilter(g, dy, filterShape=w.shape, **attrs)]


def _conv_backprop_filter(b, node, grads):
    x, dy = node.inputs
    (g,) = grads
    attrs = _window(node)
    return [b.convBackpropInput(dy, g, inputShape=x.shape, **attrs), b.conv(x, g, **attrs)]


def _pool_attrs(node):
    return {k: node.attrs[k] for k in ("window", "strides", "pads")}


def _pool(b, node, grads):
    (x,), (g,) = node.inputs, grads
    if node.attrs["mode"] == "max":
        return [b.maxPoolGrad(x, g, **_pool_attrs(node))]
    return [b.avgPoolGrad(g, inputShape=x.shape, **_pool_attrs(node))]


def _avg_pool_grad(b, node, grads):
    return [b.pool(grads[0], mode="avg", **_pool_attrs(node))]


def _max_pool_grad(b, node, grads):
    raise NotImplementedError("maxPoolGrad: the second derivative of max pooling (the gradient "
                              "of maxPoolGrad with respect to dy) is not implemented")


def _resize_attrs(node):
    return {k: node.attrs[k] for k in ("method", "alignCorners", "halfPixelCenters")}


def _resize(b, node, grads):
    return [b.resizeGrad(grads[0], inputShape=node.inputs[0].shape, **_resize_attrs(node))]


def _resize_grad(b, node, grads):
    return [b.resize(grads[0], size=node.inputs[0].shape[1:3], **_resize_attrs(node))]


RULES = {
    "conv": _conv,
    "convBackpropInput": _conv_backprop_input,
    "convBackpropFilter": _conv_backprop_filter,
    "pool": _pool,
    "avgPoolGrad": _avg_pool_grad,
    "maxPoolGrad": _max_pool_grad,
    "resize": _resize,
    "resizeGrad": _resize_grad,
}

for _name, _rule in RULES.items():
    set_grad(_name, _rule)
