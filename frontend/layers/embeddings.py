"""Embedding: integer indices -> dense vectors."""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.layers._common import get_constraint, get_initializer, get_regularizer, serialize
from kiln.frontend.engine.layer import Layer
from kiln.frontend.ops import math as m, shape as s
from kiln.frontend.serialization import registerClass


@registerClass
class Embedding(Layer):
    className = "Embedding"
    ARGS = {"inputDim": REQUIRED, "outputDim": REQUIRED, "embeddingsInitializer": "randomUniform",
            "embeddingsRegularizer": None, "activityRegularizer": None,
            "embeddingsConstraint": None, "maskZero": False, "inputLength": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = f"Embedding layer {self.name!r}"
        self.inputDim, self.outputDim = int(a["inputDim"]), int(a["outputDim"])
        self.inputLength = a["inputLength"]
        if self.batchInputShape is None:
            length = self.inputLength
            if length is None:
                self.batchInputShape = [a["batchSize"], None]
            else:
                self.batchInputShape = [a["batchSize"]] + (
                    list(length) if isinstance(length, (list, tuple)) else [int(length)])
        self.embeddingsInitializer = get_initializer(a["embeddingsInitializer"], owner)
        self.embeddingsRegularizer = get_regularizer(a["embeddingsRegularizer"], owner)
        self.activityRegularizer = get_regularizer(a["activityRegularizer"], owner)
        self.embeddingsConstraint = get_constraint(a["embeddingsConstraint"], owner)
        self.maskZero = bool(a["maskZero"])
        self.supportsMasking = self.maskZero
        self.embeddings = None

    def build(self, inputShape):
        self.embeddings = self.addWeight("embeddings", [self.inputDim, self.outputDim], self.dtype,
                                         self.embeddingsInitializer, self.embeddingsRegularizer,
                                         True, self.embeddingsConstraint)
        self.built = True

    def computeMask(self, inputs, mask=None):
        if not self.maskZero:
            return None
        return m.notEqual(inputs, 0)

    def computeOutputShape(self, inputShape):
        return list(inputShape) + [self.outputDim]

    def computeOutputDType(self, input_dtypes):
        return "float32"

    def call(self, inputs, kwargs):
        indices = m.cast(inputs, "int32") if inputs.dtype != "int32" else inputs
        return s.gather(self.embeddings.read(), indices)

    def getConfig(self):
        return {"inputDim": self.inputDim, "outputDim": self.outputDim,
                "embeddingsInitializer": serialize(self.embeddingsInitializer),
                "embeddingsRegularizer": serialize(self.embeddingsRegularizer),
                "activityRegularizer": serialize(self.activityRegularizer),
                "embeddingsConstraint": serialize(self.embeddingsConstraint),
                "maskZero": self.maskZero, "inputLength": self.inputLength,
                **super().getConfig()}
