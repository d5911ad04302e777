"""Preprocessing layers TF.js 4.x has: rescaling, centerCrop, categoryEncoding.
(resizing lives with the image layers.)

Porting notes (where kiln departs from TF.js 4.22):
  * CenterCrop: TF.js crops with cropAndResize on normalized boxes and forces a column offset
    of 1 whenever (inputWidth - width) // 2 == 0 but the widths differ (10 -> 9 starts at
    column 1); kiln starts at (inputWidth - width) // 2, as Keras does. A target larger than
    the input (TF.js resizes bilinearly instead) is an error in kiln for now.
  * TF.js's CenterCrop and CategoryEncoding change the input shape list in place in
    computeOutputShape (corrupting an Input layer placed right before them); kiln does not.
  * CategoryEncoding: TF.js checks that the tokens lie in [0, numTokens) on every call;
    kiln checks concrete inputs passed to apply(); inside a compiled model (predict) a token
    outside the range adds nothing to the output.
"""
from __future__ import annotations

import numpy as np

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import check_choice
from kiln.frontend.ops import creation, math as m, reduction, shape as s
from kiln.frontend.serialization import registerClass
from kiln.runtime.tensor import Tensor


@registerClass
class Rescaling(Layer):
    """output = input * scale + offset (as float32)."""

    className = "Rescaling"
    ARGS = {"scale": REQUIRED, "offset": 0}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        owner = f"Rescaling layer {self.name!r}"
        for key in ("scale", "offset"):
            value = self.args[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{owner}: {key} must be a number, got {value!r}")
        self.scale = self.args["scale"]
        self.offset = self.args["offset"]

    def call(self, inputs, kwargs):
        x = m.cast(inputs, "float32") if inputs.dtype != "float32" else inputs
        return m.add(m.mul(x, float(self.scale)), float(self.offset))

    def computeOutputShape(self, inputShape):
        return inputShape

    def computeOutputDType(self, input_dtypes):
        return "float32"

    def getConfig(self):
        return {"scale": self.scale, "offset": self.offset, **super().getConfig()}


@registerClass
class CenterCrop(Layer):
    """Crops the central `height` x `width` window of images shaped [..., H, W, C] (rank 3 or
    4, channels last); the window starts at ((H - height) // 2, (W - width) // 2)."""

    className = "CenterCrop"
    ARGS = {"height": REQUIRED, "width": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        for key in ("height", "width"):
            value = self.args[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"CenterCrop layer {self.name!r}: {key} must be a positive "
                                 f"integer, got {value!r}")
        self.height = self.args["height"]
        self.width = self.args["width"]
        self.inputSpec = [InputSpec(minNDim=3, maxNDim=4)]

    def _check(self, shape):
        height, width = shape[-3], shape[-2]
        if height is not None and height < self.height or width is not None and width < self.width:
            raise ValueError(f"CenterCrop layer {self.name!r}: the crop {self.height}x{self.width} "
                             f"is larger than the input images ({height}x{width}, input shape "
                             f"{list(shape)}); upsizing is not supported")

    def computeOutputShape(self, inputShape):
        self._check(inputShape)
        out = list(inputShape)
        out[-3], out[-2] = self.height, self.width
        return out

    def call(self, inputs, kwargs):
        shape = inputs.shape
        self._check(shape)
        begin = [0] * inputs.rank
        begin[-3] = (shape[-3] - self.height) // 2
        begin[-2] = (shape[-2] - self.width) // 2
        size = self.computeOutputShape(shape)
        return s.slice(inputs, begin, size)

    def getConfig(self):
        return {"height": self.height, "width": self.width, **super().getConfig()}


ENCODING_MODES = ("oneHot", "multiHot", "count")


@registerClass
class CategoryEncoding(Layer):
    """Encodes integer tokens in [0, numTokens) (float inputs are truncated to integers):
      oneHot:   each token becomes a one-hot vector ([N] or [N, 1] -> [N, numTokens]);
      multiHot: each sample becomes a 0/1 vector of the tokens it contains ([N, k] ->
                [N, numTokens]; a rank-1 input counts as one sample);
      count:    like multiHot with the number of occurrences (or, with the call option
                `countWeights`, a tensor shaped like the input, the sum of their weights).
    The output is float32; after the optional expansion the encoded input must have rank <= 2.
    `sparse` (written by Keras) must be false."""

    className = "CategoryEncoding"
    ARGS = {"numTokens": REQUIRED, "outputMode": "multiHot", "sparse": False}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        owner = f"CategoryEncoding layer {self.name!r}"
        tokens = self.args["numTokens"]
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise ValueError(f"{owner}: numTokens must be a positive integer, got {tokens!r}")
        self.numTokens = tokens
        self.outputMode = check_choice(self.args["outputMode"], ENCODING_MODES, "outputMode",
                                       owner)
        if self.args["sparse"]:
            raise ValueError(f"{owner}: sparse outputs are not supported")

    def _owner(self):
        return f"CategoryEncoding layer {self.name!r}"

    def _encoded_rank(self, shape) -> int:
        rank = max(len(shape), 1)
        if self.outputMode == "oneHot" and (not shape or shape[-1] != 1):
            rank += 1
        if rank > 2:
            raise ValueError(f"{self._owner()}: when outputMode is not 'int', the maximum "
                             f"output rank is 2; outputMode {self.outputMode!r} and input shape "
                             f"{list(shape)} would give rank {rank}")
        return rank

    def computeOutputShape(self, inputShape):
        shape = list(_first_shape(inputShape))
        self._encoded_rank(shape)
        if self.outputMode == "oneHot" and (not shape or shape[-1] != 1):
            return shape + [self.numTokens]
        return (shape[:-1] if shape else []) + [self.numTokens]

    def computeOutputDType(self, input_dtypes):
        return "float32"

    def apply(self, inputs, kwargs=None):
        weights = (kwargs or {}).get("countWeights")
        if weights is not None and self.outputMode != "count":
            raise ValueError(f"{self._owner()}: countWeights is only used when outputMode is "
                             f"'count' (outputMode is {self.outputMode!r})")
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if isinstance(first, (Tensor, np.ndarray)):
            self._check_tokens(first)
        if weights is not None:
            kwargs = {k: v for k, v in kwargs.items() if k != "countWeights"}
            kwargs["hasCountWeights"] = True
            return super().apply([first, weights], kwargs)
        return super().apply(inputs, kwargs)

    def _check_tokens(self, x):
        data = x.buffer(self.name) if isinstance(x, Tensor) else np.asarray(x)
        if data.size == 0:
            return
        tokens = data.astype(np.int32)          # truncation toward zero, like the cast
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.numTokens:
            raise ValueError(f"{self._owner()}: input values must be in [0, numTokens) = "
                             f"[0, {self.numTokens}); got values from {low} to {high}")

    def build(self, inputShape):
        self._encoded_rank(list(_first_shape(inputShape)))
        self.built = True

    def call(self, inputs, kwargs):
        weights = None
        if kwargs.get("hasCountWeights"):
            inputs, weights = inputs
        x = inputs
        if x.dtype != "int32":
            x = m.cast(x, "int32")
        if x.rank == 0:
            x = s.reshape(x, [1])
        if self.outputMode == "oneHot" and x.shape[-1] != 1:
            x = s.expandDims(x, -1)
        tokens = creation.range(0, self.numTokens, 1, "int32")
        hits = m.equal(s.expandDims(x, -1), tokens)                     # [..., k, numTokens]
        if self.outputMode == "count":
            counts = m.cast(hits, "float32")
            if weights is not None:
                w = m.cast(weights, "float32")
                w = s.reshape(w, list(x.shape) + [1])
                counts = m.mul(counts, w)
            return reduction.sum(counts, -2)
        return m.cast(reduction.any(hits, -2), "float32")

    def getConfig(self):
        return {"numTokens": self.numTokens, "outputMode": self.outputMode,
                **super().getConfig()}


def _first_shape(shape):
    """The first input's shape, given one shape or a list of shapes."""
    if shape and isinstance(shape[0], (list, tuple)):
        return shape[0]
    return shape
