"""Pooling layers: maxPooling1d/2d/3d, averagePooling1d/2d/3d, globalMaxPooling1d/2d,
globalAveragePooling1d/2d (TF.js src/layers/pooling.ts).

Windows never include padding: 'same' max pooling ignores it and 'same' average pooling divides
by the number of real inputs in each window (TensorFlow's rule). TF.js accepts padding
'causal' for pooling and computes it as 'valid'; kiln does the same. 1-D pooling layers also
accept dataFormat (TF.js's have none; Keras's do).
"""
from __future__ import annotations

from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers.convolutional_utils import (DataFormatOnlyWhenChannelsFirst,
                                                      assemble_shape, check_data_format,
                                                      check_padding, from_channels_last,
                                                      normalize_tuple, spatial_shape,
                                                      to_channels_last)
from kiln.frontend.ops import conv as conv_ops, reduction
from kiln.frontend.ops.conv_util import conv_output_length, resolve_pads
from kiln.frontend.serialization import registerClass


class Pooling(Layer):
    """poolSize (default 2 per axis), strides (default poolSize), padding, dataFormat."""

    RANK = 2
    MODE = "max"
    ARGS = {"poolSize": None, "strides": None, "padding": "valid", "dataFormat": "channelsLast"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        self.owner = owner = f"{self.className} layer {self.name!r}"
        rank = self.RANK
        pool = a["poolSize"] if a["poolSize"] is not None else 2
        self.poolSize = list(normalize_tuple(pool, rank, "poolSize", owner))
        strides = a["strides"] if a["strides"] is not None else self.poolSize
        self.strides = list(normalize_tuple(strides, rank, "strides", owner))
        self.padding = check_padding(a["padding"], owner)
        self.dataFormat = check_data_format(a["dataFormat"], owner)
        self.inputSpec = [InputSpec(ndim=rank + 2)]

    @property
    def _mode_padding(self) -> str:
        return "valid" if self.padding == "causal" else self.padding

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        pads = resolve_pads(self.className, self._mode_padding, x.shape[1:-1], self.poolSize,
                            self.strides, (1,) * self.RANK)
        y = conv_ops.pool(x, self.MODE, self.poolSize, self.strides, pads)
        return from_channels_last(y, self.dataFormat)

    def computeOutputShape(self, inputShape):
        channels = inputShape[1 if self.dataFormat == "channelsFirst" else -1]
        spatial = [conv_output_length(n, k, self._mode_padding, st) for n, k, st in
                   zip(spatial_shape(inputShape, self.dataFormat), self.poolSize, self.strides)]
        return assemble_shape(inputShape[0], spatial, channels, self.dataFormat)

    def getConfig(self):
        return {"poolSize": self.poolSize, "padding": self.padding, "strides": self.strides,
                "dataFormat": self.dataFormat, **super().getConfig()}


class Pooling1D(DataFormatOnlyWhenChannelsFirst, Pooling):
    """Over [batch, steps, channels]. TF.js's 1-D pooling has no dataFormat option; kiln also
    accepts 'channelsFirst' (as Keras) and writes dataFormat to the config only then."""

    RANK = 1


@registerClass
class MaxPooling1D(Pooling1D):
    className = "MaxPooling1D"


@registerClass
class AveragePooling1D(Pooling1D):
    className = "AveragePooling1D"
    MODE = "avg"


@registerClass
class MaxPooling2D(Pooling):
    className = "MaxPooling2D"


@registerClass
class AveragePooling2D(Pooling):
    className = "AveragePooling2D"
    MODE = "avg"


@registerClass
class MaxPooling3D(Pooling):
    className = "MaxPooling3D"
    RANK = 3


@registerClass
class AveragePooling3D(Pooling):
    className = "AveragePooling3D"
    RANK = 3
    MODE = "avg"


class GlobalPooling(Layer):
    """Max or mean over every spatial axis: [batch, spatial..., channels] -> [batch, channels]."""

    RANK = 2
    REDUCE = "max"
    ARGS = {"dataFormat": "channelsLast"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        owner = f"{self.className} layer {self.name!r}"
        self.dataFormat = check_data_format(self.args["dataFormat"], owner)
        self.inputSpec = [InputSpec(ndim=self.RANK + 2)]

    def call(self, inputs, kwargs):
        start = 2 if self.dataFormat == "channelsFirst" else 1
        axes = list(range(start, start + self.RANK))
        return getattr(reduction, self.REDUCE)(inputs, axes)

    def computeOutputShape(self, inputShape):
        return [inputShape[0], inputShape[1 if self.dataFormat == "channelsFirst" else -1]]

    def getConfig(self):
        return {"dataFormat": self.dataFormat, **super().getConfig()}


class GlobalPooling1D(DataFormatOnlyWhenChannelsFirst, GlobalPooling):
    """Over [batch, steps, channels]; dataFormat as for Pooling1D."""

    RANK = 1


@registerClass
class GlobalAveragePooling1D(GlobalPooling1D):
    className = "GlobalAveragePooling1D"
    REDUCE = "mean"


@registerClass
class GlobalMaxPooling1D(GlobalPooling1D):
    className = "GlobalMaxPooling1D"


@registerClass
class GlobalAveragePooling2D(GlobalPooling):
    className = "GlobalAveragePooling2D"
    REDUCE = "mean"


@registerClass
class GlobalMaxPooling2D(GlobalPooling):
    className = "GlobalMaxPooling2D"
