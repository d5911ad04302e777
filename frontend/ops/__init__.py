"""The tf.* tensor ops. `PUBLIC` maps each public name to its function."""
from types import SimpleNamespace

from kiln.frontend.ops import (conv, convert, creation, image, linalg, math, methods, nn, random,
                               reduction, shape)
from kiln.frontend.ops.errors import public

_EXPORTS = {
    convert: ["tensor", "scalar", "tensor1d", "tensor2d", "tensor3d", "tensor4d", "tensor5d",
              "tensor6d"],
    creation: ["zeros", "ones", "fill", "zerosLike", "onesLike", "eye", "range", "linspace",
               "oneHot", "variable"],
    random: ["randomUniform", "randomNormal", "truncatedNormal"],
    math: methods.METHOD_SOURCES[math] + ["addN", "where"],
    reduction: methods.METHOD_SOURCES[reduction] + ["moments"],
    linalg: ["matMul", "dot", "outerProduct", "transpose"],
    shape: methods.METHOD_SOURCES[shape] + ["concat", "stack"],
    nn: ["softmax", "logSoftmax"],
    conv: ["conv1d", "conv2d", "conv3d", "depthwiseConv2d", "separableConv2d", "conv2dTranspose",
           "conv3dTranspose", "maxPool", "avgPool", "maxPool3d", "avgPool3d"],
}

# Every public op reports errors under its own name; the module attribute is replaced, so
# ops calling each other by module-global name and the Tensor methods get the wrapper too.
for _module, _names in _EXPORTS.items():
    for _name in _names:
        setattr(_module, _name, public(_name, getattr(_module, _name)))

methods.install()

PUBLIC = {name: getattr(module, name) for module, names in _EXPORTS.items() for name in names}
PUBLIC["image"] = SimpleNamespace(resizeBilinear=image.resizeBilinear,
                                  resizeNearestNeighbor=image.resizeNearestNeighbor)
