"""Convolution layers: conv1d, conv2d, conv3d, conv2dTranspose, conv3dTranspose,
separableConv2d (depthwiseConv2d is in convolutional_depthwise.py).

Options, defaults, weight names and getConfig keys are TF.js's (tfjs-layers
src/layers/convolutional.ts). Where TF.js throws "not implemented" or ignores an option,
kiln implements what the option promises, as Keras does:
  * padding 'causal' (Conv1D only, as Keras): the input is padded dilation*(kernel-1) on the left,
    so output t sees inputs <= t (TF.js throws at predict);
  * Conv1D with dataFormat 'channelsFirst' returns channels-first output (TF.js forgets to
    transpose back) and keeps dataFormat in its config only in that case (TF.js never writes it);
  * transposed convolutions honour dilationRate (TF.js drops it); it is written to the config
    only when it is not 1, where TF.js's config has no such key;
  * SeparableConv2D's pointwise kernel uses pointwiseInitializer (TF.js uses the
    depthwiseInitializer for both), and its config keeps depthMultiplier (TF.js loses it).
Strides > 1 together with dilation > 1 is computed (TF.js and Keras refuse it).
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import (get_activation, get_constraint, get_initializer,
                                          get_regularizer, serialize, serialize_activation)
from kiln.frontend.layers.convolutional_utils import (DataFormatOnlyWhenChannelsFirst,
                                                      assemble_shape, channel_axis,
                                                      check_data_format, check_padding,
                                                      from_channels_last, normalize_tuple,
                                                      spatial_shape, to_channels_last)
from kiln.frontend.ops import conv as conv_ops, math as m, shape as s
from kiln.frontend.ops.conv_util import conv_output_length, deconv_output_length, resolve_pads
from kiln.frontend.serialization import registerClass


class BaseConv(Layer):
    """Options every convolution shares; subclasses set RANK and create the kernels."""

    RANK = 2
    PADDINGS = ("valid", "same")
    ARGS = {"kernelSize": REQUIRED, "strides": 1, "padding": "valid",
            "dataFormat": "channelsLast", "dilationRate": 1, "activation": None, "useBias": True,
            "kernelInitializer": "glorotNormal", "biasInitializer": "zeros",
            "kernelConstraint": None, "biasConstraint": None, "kernelRegularizer": None,
            "biasRegularizer": None, "activityRegularizer": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        self.owner = owner = f"{self.className} layer {self.name!r}"
        self.rank = rank = self.RANK
        self.kernelSize = list(normalize_tuple(a["kernelSize"], rank, "kernelSize", owner))
        self.strides = list(normalize_tuple(a["strides"], rank, "strides", owner))
        self.padding = check_padding(a["padding"], owner, self.PADDINGS)
        self.dataFormat = check_data_format(a["dataFormat"], owner)
        self.dilationRate = list(normalize_tuple(a["dilationRate"], rank, "dilationRate", owner))
        self.activation = get_activation(a["activation"], owner)
        self.useBias = bool(a["useBias"])
        self.biasInitializer = get_initializer(a["biasInitializer"], owner)
        self.biasConstraint = get_constraint(a["biasConstraint"], owner)
        self.biasRegularizer = get_regularizer(a["biasRegularizer"], owner)
        self.activityRegularizer = get_regularizer(a["activityRegularizer"], owner)
        self.inputSpec = [InputSpec(ndim=rank + 2)]
        self.bias = None

    def _input_channels(self, inputShape) -> int:
        inputShape = list(inputShape)
        if len(inputShape) != self.rank + 2:
            raise ValueError(f"{self.owner}: expected an input of rank {self.rank + 2}, got "
                             f"shape {inputShape}")
        axis = channel_axis(len(inputShape), self.dataFormat)
        if inputShape[axis] is None:
            raise ValueError(f"{self.owner}: the channel dimension of the input must be known, "
                             f"got shape {inputShape}")
        return int(inputShape[axis])

    def _add_bias(self, units: int) -> None:
        if self.useBias:
            self.bias = self.addWeight("bias", [units], None, self.biasInitializer,
                                       self.biasRegularizer, True, self.biasConstraint)

    def _finish(self, y):
        """Bias and activation on a channels-last result, then back to the layer's format."""
        if self.bias is not None:
            y = m.add(y, self.bias.read())
        return from_channels_last(self.activation(y), self.dataFormat)

    def _pads(self, x):
        return resolve_pads(self.className, self.padding, x.shape[1:-1], self.kernelSize,
                            self.strides, self.dilationRate)

    def _spec(self, channels: int) -> None:
        axis = channel_axis(self.rank + 2, self.dataFormat)
        self.inputSpec = [InputSpec(ndim=self.rank + 2, axes={axis: channels})]

    def getConfig(self):
        return {"kernelSize": self.kernelSize, "strides": self.strides, "padding": self.padding,
                "dataFormat": self.dataFormat, "dilationRate": self.dilationRate,
                "activation": serialize_activation(self.activation), "useBias": self.useBias,
                "biasInitializer": serialize(self.biasInitializer),
                "biasRegularizer": serialize(self.biasRegularizer),
                "activityRegularizer": serialize(self.activityRegularizer),
                "biasConstraint": serialize(self.biasConstraint), **super().getConfig()}


class Conv(BaseConv):
    """A convolution with `filters` outputs that reduces over all input channels."""

    ARGS = {"filters": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        filters = a["filters"]
        if isinstance(filters, bool) or not isinstance(filters, (int, float)) or filters < 1 \
                or int(filters) != filters:
            raise ValueError(f"{self.owner}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernelInitializer = get_initializer(a["kernelInitializer"] or "glorotNormal",
                                                 self.owner)
        self.kernelConstraint = get_constraint(a["kernelConstraint"], self.owner)
        self.kernelRegularizer = get_regularizer(a["kernelRegularizer"], self.owner)
        self.kernel = None

    def _kernel_shape(self, channels: int) -> list[int]:
        return self.kernelSize + [channels, self.filters]

    def build(self, inputShape):
        channels = self._input_channels(inputShape)
        self.kernel = self.addWeight("kernel", self._kernel_shape(channels), None,
                                     self.kernelInitializer, self.kernelRegularizer, True,
                                     self.kernelConstraint)
        self._add_bias(self.filters)
        self._spec(channels)
        self.built = True

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        y = conv_ops.conv(x, self.kernel.read(), self.strides, self._pads(x), self.dilationRate)
        return self._finish(y)

    def computeOutputShape(self, inputShape):
        spatial = [conv_output_length(n, k, self.padding, st, d) for n, k, st, d in
                   zip(spatial_shape(inputShape, self.dataFormat), self.kernelSize, self.strides,
                       self.dilationRate)]
        return assemble_shape(inputShape[0], spatial, self.filters, self.dataFormat)

    def getConfig(self):
        return {"filters": self.filters,
                "kernelInitializer": serialize(self.kernelInitializer),
                "kernelRegularizer": serialize(self.kernelRegularizer),
                "kernelConstraint": serialize(self.kernelConstraint), **super().getConfig()}


@registerClass
class Conv1D(DataFormatOnlyWhenChannelsFirst, Conv):
    """1-D convolution over [batch, steps, channels]; padding 'valid', 'same' or 'causal'."""

    className = "Conv1D"
    RANK = 1
    PADDINGS = ("valid", "same", "causal")


@registerClass
class Conv2D(Conv):
    """2-D convolution over [batch, rows, cols, channels] (or channelsFirst)."""

    className = "Conv2D"
    RANK = 2


@registerClass
class Conv3D(Conv):
    """3-D convolution over [batch, depth, rows, cols, channels] (or channelsFirst)."""

    className = "Conv3D"
    RANK = 3


class ConvTranspose(Conv):
    """The transposed convolution (the gradient of a convolution with respect to its input):
    kernel [k..., filters, inputChannels]; each spatial size becomes in * stride ('same') or
    in * stride + max(k_eff - stride, 0) ('valid')."""

    def _kernel_shape(self, channels: int) -> list[int]:
        return self.kernelSize + [self.filters, channels]

    def _out_spatial(self, spatial):
        return [deconv_output_length(n, k, self.padding, st, d) for n, k, st, d in
                zip(spatial, self.kernelSize, self.strides, self.dilationRate)]

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        out = self._out_spatial(x.shape[1:-1])
        pads = resolve_pads(self.className, self.padding, out, self.kernelSize, self.strides,
                            self.dilationRate)
        y = conv_ops.conv_transpose(x, self.kernel.read(), [x.shape[0], *out, self.filters],
                                    self.strides, pads, self.dilationRate)
        return self._finish(y)

    def computeOutputShape(self, inputShape):
        spatial = self._out_spatial(spatial_shape(inputShape, self.dataFormat))
        return assemble_shape(inputShape[0], spatial, self.filters, self.dataFormat)

    def getConfig(self):
        config = super().getConfig()
        if all(d == 1 for d in self.dilationRate):
            del config["dilationRate"]
        return config


@registerClass
class Conv2DTranspose(ConvTranspose):
    className = "Conv2DTranspose"
    RANK = 2


@registerClass
class Conv3DTranspose(ConvTranspose):
    className = "Conv3DTranspose"
    RANK = 3


@registerClass
class SeparableConv2D(Conv):
    """A depthwise convolution (depthMultiplier outputs per input channel) followed by a 1x1
    convolution to `filters` channels. Weights: depthwise_kernel [kh, kw, in, multiplier],
    pointwise_kernel [1, 1, in * multiplier, filters], bias [filters]."""

    className = "SeparableConv2D"
    RANK = 2
    ARGS = {"depthMultiplier": 1, "depthwiseInitializer": "glorotUniform",
            "pointwiseInitializer": "glorotUniform", "depthwiseRegularizer": None,
            "pointwiseRegularizer": None, "depthwiseConstraint": None,
            "pointwiseConstraint": None, "kernelInitializer": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        if any(a[k] is not None for k in ("kernelInitializer", "kernelRegularizer",
                                          "kernelConstraint")):
            raise ValueError(f"{self.owner}: fields kernelInitializer, kernelRegularizer and "
                             "kernelConstraint are invalid for SeparableConv2D; use "
                             "depthwiseInitializer, depthwiseRegularizer, depthwiseConstraint, "
                             "pointwiseInitializer, pointwiseRegularizer and pointwiseConstraint")
        self.depthMultiplier = int(normalize_tuple(a["depthMultiplier"], 1, "depthMultiplier",
                                                   self.owner)[0])
        for part in ("depthwise", "pointwise"):
            setattr(self, f"{part}Initializer", get_initializer(a[f"{part}Initializer"],
                                                                self.owner))
            setattr(self, f"{part}Regularizer", get_regularizer(a[f"{part}Regularizer"],
                                                                self.owner))
            setattr(self, f"{part}Constraint", get_constraint(a[f"{part}Constraint"], self.owner))
        self.depthwiseKernel = self.pointwiseKernel = None

    def build(self, inputShape):
        channels = self._input_channels(inputShape)
        self.depthwiseKernel = self.addWeight(
            "depthwise_kernel", self.kernelSize + [channels, self.depthMultiplier], "float32",
            self.depthwiseInitializer, self.depthwiseRegularizer, True, self.depthwiseConstraint)
        self.pointwiseKernel = self.addWeight(
            "pointwise_kernel", [1, 1, channels * self.depthMultiplier, self.filters], "float32",
            self.pointwiseInitializer, self.pointwiseRegularizer, True, self.pointwiseConstraint)
        self._add_bias(self.filters)
        self._spec(channels)
        self.built = True

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        y = depthwise(x, self.depthwiseKernel.read(), self.strides, self._pads(x),
                      self.dilationRate)
        y = conv_ops.conv(y, self.pointwiseKernel.read(), (1, 1), ((0, 0), (0, 0)))
        return self._finish(y)

    def getConfig(self):
        config = super().getConfig()
        for key in ("kernelInitializer", "kernelRegularizer", "kernelConstraint"):
            del config[key]
        config["depthMultiplier"] = self.depthMultiplier
        for key in ("Initializer", "Regularizer", "Constraint"):
            for part in ("depthwise", "pointwise"):
                config[part + key] = serialize(getattr(self, part + key))
        return config


def depthwise(x, kernel, strides, pads, dilations):
    """Depthwise conv of channels-last x with kernel [k..., channels, multiplier]: a grouped
    conv with one group per channel (output channel c * multiplier + j)."""
    k_shape = kernel.shape
    flat = s.reshape(kernel, k_shape[:-2] + [1, k_shape[-2] * k_shape[-1]])
    return conv_ops.conv(x, flat, strides, pads, dilations, groups=x.shape[-1])
