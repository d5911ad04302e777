"""Spatial reshaping layers: cropping2D, upSampling2d, zeroPadding2d (TF.js
src/layers/convolutional.ts and padding.ts).

UpSampling2D resizes with TF.js's rules: `tf.image.resizeNearestNeighbor` /
`tf.image.resizeBilinear` with alignCorners and halfPixelCenters false. For 'bilinear' that is
TensorFlow 1's legacy sampling (source pixel = output pixel / size), which differs from Keras's
half-pixel-centered upsampling; kiln matches TF.js because it loads TF.js models.
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import check_choice
from kiln.frontend.layers.convolutional_utils import (assemble_shape, check_data_format,
                                                      from_channels_last, normalize_tuple,
                                                      spatial_shape, to_channels_last)
from kiln.frontend.ops import image, shape as s
from kiln.frontend.serialization import registerClass


def _pairs(value, name: str, owner: str) -> list[list[int]]:
    """number | [rows, cols] | [[top, bottom], [left, right]] -> [[top, bottom], [left, right]]."""
    def count(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or v < 0:
            raise ValueError(f"{owner}: {name} must hold non-negative integers, got {value!r}")
        return int(v)

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = count(value)
        return [[n, n], [n, n]]
    items = list(value) if isinstance(value, (list, tuple)) else None
    if items is None or len(items) != 2:
        raise ValueError(f"{owner}: {name} must be a number, a list of 2 numbers or a list of 2 "
                         f"[before, after] lists, got {value!r}")
    result = []
    for item in items:
        if isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise ValueError(f"{owner}: each entry of {name} must be a [before, after] pair, "
                                 f"got {value!r}")
            result.append([count(item[0]), count(item[1])])
        else:
            result.append([count(item), count(item)])
    return result


class _Spatial2D(Layer):
    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.owner = f"{self.className} layer {self.name!r}"
        self.dataFormat = check_data_format(self.args["dataFormat"], self.owner)
        self.inputSpec = [InputSpec(ndim=4)]

    def _channels(self, shape):
        return shape[1 if self.dataFormat == "channelsFirst" else 3]


@registerClass
class Cropping2D(_Spatial2D):
    """Removes rows and columns at the edges: cropping [[top, bottom], [left, right]]."""

    className = "Cropping2D"
    ARGS = {"cropping": REQUIRED, "dataFormat": "channelsLast"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.cropping = _pairs(self.args["cropping"], "cropping", self.owner)

    def _out_spatial(self, spatial):
        out = []
        for n, (lo, hi) in zip(spatial, self.cropping):
            if n is not None and lo + hi > n:
                raise ValueError(f"{self.owner}: cropping {self.cropping} removes more than the "
                                 f"input's spatial size {spatial}")
            out.append(None if n is None else n - lo - hi)
        return out

    def computeOutputShape(self, inputShape):
        spatial = self._out_spatial(spatial_shape(inputShape, self.dataFormat))
        return assemble_shape(inputShape[0], spatial, self._channels(inputShape), self.dataFormat)

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        out = self._out_spatial(x.shape[1:3])
        begin = [0, self.cropping[0][0], self.cropping[1][0], 0]
        y = s.slice(x, begin, [x.shape[0], out[0], out[1], x.shape[3]])
        return from_channels_last(y, self.dataFormat)

    def getConfig(self):
        return {"cropping": self.cropping, "dataFormat": self.dataFormat, **super().getConfig()}


@registerClass
class UpSampling2D(_Spatial2D):
    """Repeats (nearest) or interpolates (bilinear) rows by size[0] and columns by size[1]."""

    className = "UpSampling2D"
    ARGS = {"size": None, "dataFormat": "channelsLast", "interpolation": "nearest"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        size = self.args["size"] if self.args["size"] is not None else [2, 2]
        self.size = list(normalize_tuple(size, 2, "size", self.owner))
        self.interpolation = check_choice(self.args["interpolation"], ("nearest", "bilinear"),
                                          "interpolation", self.owner)

    def computeOutputShape(self, inputShape):
        spatial = [None if n is None else n * f
                   for n, f in zip(spatial_shape(inputShape, self.dataFormat), self.size)]
        return assemble_shape(inputShape[0], spatial, self._channels(inputShape), self.dataFormat)

    def call(self, inputs, kwargs):
        x = to_channels_last(inputs, self.dataFormat)
        size = [x.shape[1] * self.size[0], x.shape[2] * self.size[1]]
        y = image.resize(x, size, self.interpolation, False, False, op=self.owner)
        return from_channels_last(y, self.dataFormat)

    def getConfig(self):
        return {"size": self.size, "dataFormat": self.dataFormat,
                "interpolation": self.interpolation, **super().getConfig()}


@registerClass
class ZeroPadding2D(_Spatial2D):
    """Adds rows and columns of zeros: padding [[top, bottom], [left, right]] (default 1)."""

    className = "ZeroPadding2D"
    ARGS = {"padding": None, "dataFormat": "channelsLast"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        padding = self.args["padding"] if self.args["padding"] is not None else 1
        self.padding = _pairs(padding, "padding", self.owner)

    def computeOutputShape(self, inputShape):
        spatial = [None if n is None else n + lo + hi
                   for n, (lo, hi) in zip(spatial_shape(inputShape, self.dataFormat), self.padding)]
        return assemble_shape(inputShape[0], spatial, self._channels(inputShape), self.dataFormat)

    def call(self, inputs, kwargs):
        if self.dataFormat == "channelsFirst":
            pads = [[0, 0], [0, 0], *self.padding]
        else:
            pads = [[0, 0], *self.padding, [0, 0]]
        return s.pad(inputs, pads)

    def getConfig(self):
        return {"padding": self.padding, "dataFormat": self.dataFormat, **super().getConfig()}
