"""Noise layers: gaussianNoise, gaussianDropout, alphaDropout.

Regularizers that are active only when called with `training: True`; at inference they
return their input unchanged. Inside a compiled function (a training step, an eager apply)
each run draws fresh random numbers unless a `seed` is given.

Porting notes: TF.js's classes take no `seed`; kiln also accepts the `seed` Keras 3 writes
(and serializes it only when set). TF.js's AlphaDropout drops `noiseShape` from its config;
kiln keeps it when set, so a saved layer reloads with the same option. TF.js 4.22's
AlphaDropout sets dropped units to -alpha' (`(kept - 1) * alphaP`) instead of alpha', so its
output does not keep the mean and variance; kiln uses Keras's `alphaP * (1 - kept)`.
"""
from __future__ import annotations

import math

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import Layer
from kiln.frontend.ops import math as m, random
from kiln.frontend.serialization import registerClass

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _number(value, name, owner, lo=0.0, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    if value < lo or hi is not None and value > hi:
        bounds = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{owner}: {name} must be {bounds}, got {value}")
    return float(value)


class _Noise(Layer):
    ARGS = {"seed": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.seed = self.args["seed"]
        self.supportsMasking = True

    def _owner(self):
        return f"{self.getClassName()} layer {self.name!r}"

    def call(self, inputs, kwargs):
        if not kwargs.get("training"):
            return inputs
        x = m.cast(inputs, "float32") if inputs.dtype != "float32" else inputs
        return self.noised(x)

    def noised(self, x):
        raise NotImplementedError

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        extra = {"seed": self.seed} if self.seed is not None else {}
        return {**extra, **super().getConfig()}


@registerClass
class GaussianNoise(_Noise):
    """Adds zero-centred normal noise of standard deviation `stddev` during training."""

    className = "GaussianNoise"
    ARGS = {"stddev": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.stddev = _number(self.args["stddev"], "stddev", self._owner())

    def noised(self, x):
        return m.add(x, random.randomNormal(x.shape, 0.0, self.stddev, "float32", self.seed))

    def getConfig(self):
        return {"stddev": self.stddev, **super().getConfig()}


@registerClass
class GaussianDropout(_Noise):
    """Multiplies by normal noise of mean 1 and standard deviation sqrt(rate / (1 - rate))
    during training (a no-op unless 0 < rate < 1)."""

    className = "GaussianDropout"
    ARGS = {"rate": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.rate = _number(self.args["rate"], "rate", self._owner(), 0.0, 1.0)

    def noised(self, x):
        if not 0 < self.rate < 1:
            return x
        stddev = math.sqrt(self.rate / (1 - self.rate))
        return m.mul(x, random.randomNormal(x.shape, 1.0, stddev, "float32", self.seed))

    def getConfig(self):
        return {"rate": self.rate, **super().getConfig()}


@registerClass
class AlphaDropout(_Noise):
    """Dropout for self-normalizing (SELU) networks: dropped units are set to SELU's negative
    saturation value and an affine correction keeps the mean and variance of the inputs.
    `noiseShape` (None entries take the input's size) shares the keep/drop choice across
    axes of size 1."""

    className = "AlphaDropout"
    ARGS = {"rate": REQUIRED, "noiseShape": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.rate = _number(self.args["rate"], "rate", self._owner(), 0.0, 1.0)
        shape = self.args["noiseShape"]
        self.noiseShape = None if shape is None else [None if d is None else int(d)
                                                      for d in shape]

    def _noise_shape(self, x):
        if self.noiseShape is None:
            return x.shape
        if len(self.noiseShape) != x.rank:
            raise ValueError(f"{self._owner()}: noiseShape {self.noiseShape} must have one "
                             f"entry per axis of the input shape {x.shape}")
        shape = [d if n is None else n for n, d in zip(self.noiseShape, x.shape)]
        if any(n not in (1, d) for n, d in zip(shape, x.shape)):
            raise ValueError(f"{self._owner()}: noiseShape {self.noiseShape} does not "
                             f"broadcast to the input shape {x.shape} (each entry must be "
                             "the input's size, 1, or null)")
        return shape

    def noised(self, x):
        if not 0 < self.rate < 1:
            return x
        alpha_p = -SELU_ALPHA * SELU_SCALE
        keep = m.cast(m.greaterEqual(
            random.randomUniform(self._noise_shape(x), 0, 1, "float32", self.seed), self.rate),
            "float32")
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        dropped = m.add(m.mul(x, keep), m.mul(m.sub(1.0, keep), alpha_p))
        return m.add(m.mul(dropped, a), b)

    def getConfig(self):
        extra = {"noiseShape": self.noiseShape} if self.noiseShape is not None else {}
        return {"rate": self.rate, **extra, **super().getConfig()}
