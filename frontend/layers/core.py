"""Core layers: dense, activation, dropout, spatialDropout1d, flatten, reshape, permute,
repeatVector, masking."""
from __future__ import annotations

import math

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import InputSpec, Layer
from kiln.frontend.layers._common import (check_choice, get_activation, get_constraint,
                                          get_initializer, get_regularizer, serialize,
                                          serialize_activation)
from kiln.frontend.ops import linalg, math as m, random, reduction, shape as s
from kiln.frontend.serialization import registerClass


@registerClass
class Dense(Layer):
    """output = activation(input · kernel + bias) over the last axis."""

    className = "Dense"
    ARGS = {"units": REQUIRED, "activation": None, "useBias": True,
            "kernelInitializer": "glorotNormal", "biasInitializer": "zeros", "inputDim": None,
            "kernelConstraint": None, "biasConstraint": None, "kernelRegularizer": None,
            "biasRegularizer": None, "activityRegularizer": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        if self.batchInputShape is None and a["inputDim"] is not None:
            self.batchInputShape = [a["batchSize"], int(a["inputDim"])]
            self._config_dtype = self.dtype
        self.units = int(a["units"])
        if self.units <= 0:
            raise ValueError(f"Dense layer {self.name!r}: units must be positive, got {a['units']}")
        self.activation = get_activation(a["activation"], f"Dense layer {self.name!r}")
        self.useBias = bool(a["useBias"])
        owner = f"Dense layer {self.name!r}"
        self.kernelInitializer = get_initializer(a["kernelInitializer"], owner)
        self.biasInitializer = get_initializer(a["biasInitializer"], owner)
        self.kernelConstraint = get_constraint(a["kernelConstraint"], owner)
        self.biasConstraint = get_constraint(a["biasConstraint"], owner)
        self.kernelRegularizer = get_regularizer(a["kernelRegularizer"], owner)
        self.biasRegularizer = get_regularizer(a["biasRegularizer"], owner)
        self.activityRegularizer = get_regularizer(a["activityRegularizer"], owner)
        self.inputSpec = [InputSpec(minNDim=2)]
        self.supportsMasking = True
        self.kernel = self.bias = None

    def build(self, inputShape):
        last = inputShape[-1]
        if last is None:
            raise ValueError(f"Dense layer {self.name!r}: the last axis of the input must be "
                             f"known, got shape {inputShape}")
        self.kernel = self.addWeight("kernel", [last, self.units], None, self.kernelInitializer,
                                     self.kernelRegularizer, True, self.kernelConstraint)
        if self.useBias:
            self.bias = self.addWeight("bias", [self.units], None, self.biasInitializer,
                                       self.biasRegularizer, True, self.biasConstraint)
        self.inputSpec = [InputSpec(minNDim=2, axes={-1: last})]
        self.built = True

    def call(self, inputs, kwargs):
        x = inputs
        lead = x.shape[:-1]
        if x.rank > 2:
            x = s.reshape(x, [-1, x.shape[-1]])
        y = linalg.matMul(x, self.kernel.read())
        if self.bias is not None:
            y = m.add(y, self.bias.read())
        y = self.activation(y)
        return s.reshape(y, lead + [self.units]) if inputs.rank > 2 else y

    def computeOutputShape(self, inputShape):
        return list(inputShape[:-1]) + [self.units]

    def getConfig(self):
        return {"units": self.units, "activation": serialize_activation(self.activation),
                "useBias": self.useBias,
                "kernelInitializer": serialize(self.kernelInitializer),
                "biasInitializer": serialize(self.biasInitializer),
                "kernelRegularizer": serialize(self.kernelRegularizer),
                "biasRegularizer": serialize(self.biasRegularizer),
                "activityRegularizer": serialize(self.activityRegularizer),
                "kernelConstraint": serialize(self.kernelConstraint),
                "biasConstraint": serialize(self.biasConstraint),
                **super().getConfig()}


@registerClass
class Activation(Layer):
    className = "Activation"
    ARGS = {"activation": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.activation = get_activation(self.args["activation"], f"Activation layer {self.name!r}")
        self.supportsMasking = True

    def call(self, inputs, kwargs):
        return self.activation(inputs)

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        return {"activation": serialize_activation(self.activation), **super().getConfig()}


def dropout(x, rate: float, noise_shape=None, seed=None):
    """x * keep / (1 - rate) with keep ~ Bernoulli(1 - rate), broadcast over noise_shape."""
    if rate <= 0:
        return x
    if rate >= 1:
        return m.mul(x, 0.0)
    shape = noise_shape or x.shape
    keep = m.greaterEqual(random.randomUniform(shape, 0, 1, "float32", seed), rate)
    return m.mul(m.mul(x, m.cast(keep, "float32")), 1.0 / (1.0 - rate))


@registerClass
class Dropout(Layer):
    """Zeros a fraction `rate` of the inputs during training (scaling the rest); identity
    at inference."""

    className = "Dropout"
    ARGS = {"rate": REQUIRED, "noiseShape": None, "seed": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.rate = max(0.0, min(1.0, float(self.args["rate"])))
        self.noiseShape = self.args["noiseShape"]
        self.seed = self.args["seed"]
        self.supportsMasking = True

    def _noise_shape(self, x):
        if self.noiseShape is None:
            return None
        return [d if n is None else n for n, d in zip(self.noiseShape, x.shape)]

    def call(self, inputs, kwargs):
        if not kwargs.get("training"):
            return inputs
        return dropout(inputs, self.rate, self._noise_shape(inputs), self.seed)

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        return {"rate": self.rate, "noiseShape": self.noiseShape, "seed": self.seed,
                **super().getConfig()}


@registerClass
class SpatialDropout1D(Dropout):
    """Dropout of whole channels of a [batch, steps, channels] input."""

    className = "SpatialDropout1D"
    ARGS = {"noiseShape": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.inputSpec = [InputSpec(ndim=3)]

    def _noise_shape(self, x):
        return [x.shape[0], 1, x.shape[2]]

    def getConfig(self):
        config = super().getConfig()
        config.pop("noiseShape", None)
        return config


@registerClass
class Flatten(Layer):
    className = "Flatten"
    ARGS = {"dataFormat": "channelsLast"}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.dataFormat = check_choice(self.args["dataFormat"], ("channelsLast", "channelsFirst"),
                                       "dataFormat", f"Flatten layer {self.name!r}")
        self.inputSpec = [InputSpec(minNDim=3)]

    def computeOutputShape(self, inputShape):
        rest = inputShape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Flatten layer {self.name!r}: the shape of the input "
                             f"({inputShape}) is not fully defined; pass an inputShape")
        return [inputShape[0], math.prod(rest)]

    def call(self, inputs, kwargs):
        x = inputs
        if self.dataFormat == "channelsFirst" and x.rank > 1:
            x = linalg.transpose(x, [0] + list(range(2, x.rank)) + [1])
        return s.reshape(x, [x.shape[0], -1])

    def getConfig(self):
        return {"dataFormat": self.dataFormat, **super().getConfig()}


@registerClass
class Reshape(Layer):
    className = "Reshape"
    ARGS = {"targetShape": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.targetShape = [int(d) if d is not None else -1 for d in self.args["targetShape"]]
        if sum(1 for d in self.targetShape if d == -1) > 1:
            raise ValueError(f"Reshape layer {self.name!r}: can only specify one unknown "
                             f"dimension, got {self.args['targetShape']}")

    def _resolve(self, input_shape):
        rest = input_shape[1:]
        target = list(self.targetShape)
        if any(d is None for d in rest):
            return [None if d == -1 else d for d in target]
        size = math.prod(rest)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or size % known:
                raise ValueError(f"Reshape layer {self.name!r}: total size of the new array "
                                 f"must be unchanged, input shape {input_shape}, target "
                                 f"{self.targetShape}")
            target[target.index(-1)] = size // known
        elif known != size:
            raise ValueError(f"Reshape layer {self.name!r}: total size of the new array must be "
                             f"unchanged, input shape {input_shape} ({size} elements per sample),"
                             f" target shape {self.targetShape} ({known})")
        return target

    def computeOutputShape(self, inputShape):
        return [inputShape[0]] + self._resolve(inputShape)

    def call(self, inputs, kwargs):
        return s.reshape(inputs, [inputs.shape[0]] + self._resolve(inputs.shape))

    def getConfig(self):
        return {"targetShape": self.args["targetShape"], **super().getConfig()}


@registerClass
class Permute(Layer):
    """Permutes the non-batch axes; `dims` are 1-based as in Keras."""

    className = "Permute"
    ARGS = {"dims": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.dims = [int(d) for d in self.args["dims"]]
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute layer {self.name!r}: dims {self.dims} must be a "
                             f"permutation of 1..{len(self.dims)}")
        self.inputSpec = [InputSpec(ndim=len(self.dims) + 1)]

    def computeOutputShape(self, inputShape):
        return [inputShape[0]] + [inputShape[d] for d in self.dims]

    def call(self, inputs, kwargs):
        return linalg.transpose(inputs, [0] + self.dims)

    def getConfig(self):
        return {"dims": self.dims, **super().getConfig()}


@registerClass
class RepeatVector(Layer):
    className = "RepeatVector"
    ARGS = {"n": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.n = int(self.args["n"])
        self.inputSpec = [InputSpec(ndim=2)]

    def computeOutputShape(self, inputShape):
        return [inputShape[0], self.n, inputShape[1]]

    def call(self, inputs, kwargs):
        return s.tile(s.expandDims(inputs, 1), [1, self.n, 1])

    def getConfig(self):
        return {"n": self.n, **super().getConfig()}


@registerClass
class Masking(Layer):
    """Masks timesteps whose features all equal maskValue (zeroing them) for later layers."""

    className = "Masking"
    ARGS = {"maskValue": 0.0}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.maskValue = float(self.args["maskValue"])
        self.supportsMasking = True

    def computeMask(self, inputs, mask=None):
        return reduction.any(m.notEqual(inputs, self.maskValue), -1)

    def call(self, inputs, kwargs):
        keep = reduction.any(m.notEqual(inputs, self.maskValue), -1, True)
        return m.mul(inputs, m.cast(keep, inputs.dtype))

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        return {"maskValue": self.maskValue, **super().getConfig()}
