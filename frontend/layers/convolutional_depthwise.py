"""DepthwiseConv2D: one (or depthMultiplier) filters per input channel, no mixing of channels.

TF.js (tfjs-layers src/layers/convolutional_depthwise.ts) ignores dilationRate here (its call
passes none, its computeOutputShape leaves it out) and serializes depthwiseConstraint from the
depthwise regularizer; kiln applies the dilation and writes the constraint, as Keras does.
"""
from __future__ import annotations

from kiln.frontend.layers._common import (get_constraint, get_initializer, get_regularizer,
                                          serialize)
from kiln.frontend.layers.convolutional import BaseConv, depthwise
from kiln.frontend.layers.convolutional_utils import (assemble_shape, normalize_tuple,
                                                      spatial_shape, to_channels_last)
from kiln.frontend.ops.conv_util import conv_output_length
from kiln.frontend.serialization import registerClass


@registerClass
class DepthwiseConv2D(BaseConv):
    """Weights: depthwise_kernel [kh, kw, channels, depthMultiplier], bias
    [channels * depthMultiplier]; output channel c * depthMultiplier + j."""

    className = "DepthwiseConv2D"
    RANK = 2
    ARGS = {"depthMultiplier": 1, "depthwiseInitializer": "glorotNormal",
            "depthwiseConstraint": None, "depthwiseRegularizer": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        self.depthMultiplier = normalize_tuple(a["depthMultiplier"], 1, "depthMultiplier",
                                               self.owner)[0]
        self.depthwiseInitializer = get_initializer(a["depthwiseInitializer"], self.owner)
        self.depthwiseConstraint = get_constraint(a["depthwiseConstraint"], self.owner)
        self.depthwiseRegularizer = get_regularizer(a["depthwiseRegularizer"], self.owner)
        self.depthwiseKernel = None

    def build(self, inputShape):
        channels = self._input_channels(inputShape)
        self.depthwiseKernel = self.addWeight(
            "depthwise_kernel", self.kernelSize + [channels, self.depthMultiplier], None,
            self.depthwiseInitializer, self.depthwiseRegularizer, True, self.depthwiseConstraint)
        self._add_bias(channels * self.depthMultiplier)
        self._spec(channels)
        self.built = True

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        y = depthwise(x, self.depthwiseKernel.read(), self.strides, self._pads(x),
                      self.dilationRate)
        return self._finish(y)

    def computeOutputShape(self, inputShape):
        channels = inputShape[1 if self.dataFormat == "channelsFirst" else 3]
        spatial = [conv_output_length(n, k, self.padding, st, d) for n, k, st, d in
                   zip(spatial_shape(inputShape, self.dataFormat), self.kernelSize, self.strides,
                       self.dilationRate)]
        out = None if channels is None else channels * self.depthMultiplier
        return assemble_shape(inputShape[0], spatial, out, self.dataFormat)

    def getConfig(self):
        return {**super().getConfig(), "depthMultiplier": self.depthMultiplier,
                "depthwiseInitializer": serialize(self.depthwiseInitializer),
                "depthwiseRegularizer": serialize(self.depthwiseRegularizer),
                "depthwiseConstraint": serialize(self.depthwiseConstraint)}
