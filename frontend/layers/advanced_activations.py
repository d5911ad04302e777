"""Activation layers with parameters: reLU, leakyReLU, prelu, elu, thresholdedReLU, softmax."""
from __future__ import annotations

from kiln.frontend.engine.layer import Layer
from kiln.frontend.layers._common import get_constraint, get_initializer, get_regularizer, serialize
from kiln.frontend.ops import math as m, nn
from kiln.frontend.serialization import registerClass


class _Elementwise(Layer):
    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.supportsMasking = True

    def computeOutputShape(self, inputShape):
        return inputShape


@registerClass
class ReLU(_Elementwise):
    className = "ReLU"
    ARGS = {"maxValue": None}

    def call(self, inputs, kwargs):
        y = m.relu(inputs)
        max_value = self.args["maxValue"]
        return y if max_value is None else m.clipByValue(y, 0, max_value)

    def getConfig(self):
        return {"maxValue": self.args["maxValue"], **super().getConfig()}


@registerClass
class LeakyReLU(_Elementwise):
    className = "LeakyReLU"
    ARGS = {"alpha": 0.3}

    def call(self, inputs, kwargs):
        return m.leakyRelu(inputs, self.args["alpha"])

    def getConfig(self):
        return {"alpha": self.args["alpha"], **super().getConfig()}


@registerClass
class ELU(_Elementwise):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (TF.js accepts only alpha = 1; kiln any)."""

    className = "ELU"
    ARGS = {"alpha": 1.0}

    def call(self, inputs, kwargs):
        alpha = float(self.args["alpha"])
        if alpha == 1.0:
            return m.elu(inputs)
        return m.where(m.greater(inputs, 0.0), inputs, m.mul(m.expm1(inputs), alpha))

    def getConfig(self):
        return {"alpha": self.args["alpha"], **super().getConfig()}


@registerClass
class ThresholdedReLU(_Elementwise):
    className = "ThresholdedReLU"
    ARGS = {"theta": 1.0}

    def call(self, inputs, kwargs):
        return m.mul(inputs, m.cast(m.greater(inputs, float(self.args["theta"])), "float32"))

    def getConfig(self):
        return {"theta": self.args["theta"], **super().getConfig()}


@registerClass
class Softmax(_Elementwise):
    """Softmax over `axis` (default 1, as TF.js; Keras uses -1)."""

    className = "Softmax"
    ARGS = {"axis": 1}

    def call(self, inputs, kwargs):
        return nn.softmax(inputs, int(self.args["axis"]))

    def getConfig(self):
        return {"axis": self.args["axis"], **super().getConfig()}


@registerClass
class PReLU(Layer):
    """x for x > 0, alpha * x otherwise, with a learned alpha per element (or shared axes)."""

    className = "PReLU"
    ARGS = {"alphaInitializer": "zeros", "alphaRegularizer": None, "alphaConstraint": None,
            "sharedAxes": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = f"PReLU layer {self.name!r}"
        self.alphaInitializer = get_initializer(a["alphaInitializer"], owner)
        self.alphaRegularizer = get_regularizer(a["alphaRegularizer"], owner)
        self.alphaConstraint = get_constraint(a["alphaConstraint"], owner)
        shared = a["sharedAxes"]
        self.sharedAxes = None if shared is None else (
            [int(shared)] if isinstance(shared, int) else [int(x) for x in shared])
        self.supportsMasking = True

    def build(self, inputShape):
        shape = list(inputShape[1:])
        for axis in self.sharedAxes or []:
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU layer {self.name!r}: the input shape {inputShape} must be "
                             "fully defined (or share the unknown axes)")
        self.alpha = self.addWeight("alpha", shape, "float32", self.alphaInitializer,
                                    self.alphaRegularizer, True, self.alphaConstraint)
        self.built = True

    def call(self, inputs, kwargs):
        return m.prelu(inputs, self.alpha.read())

    def computeOutputShape(self, inputShape):
        return inputShape

    def getConfig(self):
        return {"alphaInitializer": serialize(self.alphaInitializer),
                "alphaRegularizer": serialize(self.alphaRegularizer),
                "alphaConstraint": serialize(self.alphaConstraint),
                "sharedAxes": self.sharedAxes, **super().getConfig()}
