"""Wrapper layers: timeDistributed and bidirectional (tfjs-layers/src/layers/wrappers.ts).

timeDistributed applies its layer to every time step: the steps are folded into the batch
([batch * time, ...]), so a wrapped dense is one matMul; its weights are named under the
wrapper ('time_distributed_TimeDistributed1/kernel'), as TF.js names them.

bidirectional runs a copy of a recurrent layer forward and another backward (both made from
the layer's config; the given layer itself is not used, as in TF.js), named 'forward_<name>'
and 'backward_<name>', and merges their outputs: 'concat' (default), 'sum', 'mul', 'ave', or
null (the two outputs as a list). With returnSequences the backward output is reversed back
into input order before merging; returnState appends the forward then the backward states.
"""
from __future__ import annotations

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import Layer, _flat
from kiln.frontend.engine.naming import name_scope
from kiln.frontend.ops import math as m, shape as s
from kiln.frontend.serialization import deserialize, registerClass


class Wrapper(Layer):
    ARGS = {"layer": REQUIRED}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        layer = self.args["layer"]
        if isinstance(layer, dict):
            layer = deserialize(layer, "layer")
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.className} layer {self.name!r}: `layer` must be a layer, got "
                            f"{type(layer).__name__}")
        self.layer = layer

    @property
    def trainable(self) -> bool:
        return self.layer.trainable if getattr(self, "layer", None) is not None else False

    @trainable.setter
    def trainable(self, value) -> None:
        if getattr(self, "layer", None) is not None:
            self.layer.trainable = value

    @property
    def trainableWeights(self):
        return self.layer.trainableWeights

    @property
    def nonTrainableWeights(self):
        return self.layer.nonTrainableWeights

    @property
    def losses(self):
        return self.layer.losses

    def dispose(self):
        result = super().dispose()
        inner = self.layer.dispose() if self.layer.built and not self.layer._disposed else {}
        return {**result, "numDisposedVariables": result["numDisposedVariables"]
                + inner.get("numDisposedVariables", 0)}

    def getConfig(self):
        return {"layer": {"className": self.layer.getClassName(),
                          "config": self.layer.getConfig()},
                **super().getConfig()}

    @staticmethod
    def fromConfig(cls, config):
        config = dict(config)
        config["layer"] = deserialize(config["layer"], "layer")
        return cls(config)


@registerClass
class TimeDistributed(Wrapper):
    className = "TimeDistributed"

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.supportsMasking = True

    def build(self, inputShape):
        shape = list(inputShape)
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed layer expects an input shape >= 3D, but received "
                             f"input shape {shape}")
        if not self.layer.built:
            self.layer.build([shape[0]] + shape[2:])
            self.layer.built = True
        self.built = True

    def computeOutputShape(self, inputShape):
        shape = list(inputShape)
        child = list(self.layer.computeOutputShape([shape[0]] + shape[2:]))
        return [child[0], shape[1]] + child[1:]

    def call(self, inputs, kwargs):
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        batch, steps = x.shape[0], x.shape[1]
        folded = s.reshape(x, [batch * steps] + x.shape[2:])
        inner_kwargs = {k: v for k, v in kwargs.items() if k != "mask"}
        y = self.layer.call(folded, inner_kwargs)
        y = y[0] if isinstance(y, (list, tuple)) else y
        return s.reshape(y, [batch, steps] + y.shape[1:])


MERGE_MODES = ("sum", "mul", "concat", "ave", None)


@registerClass
class Bidirectional(Wrapper):
    className = "Bidirectional"
    ARGS = {"mergeMode": "concat"}

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        merge_given = "mergeMode" in given
        super().__init__(config, **kwargs)
        owner = f"Bidirectional layer {self.name!r}"
        # TF.js: an explicit null merge mode returns both outputs; absent means 'concat'
        self.mergeMode = given["mergeMode"] if merge_given else "concat"
        if self.mergeMode not in MERGE_MODES:
            from kiln.frontend.engine.config import suggestion
            raise ValueError(f"{owner}: mergeMode must be one of 'sum', 'mul', 'concat', 'ave' or "
                             f"null, got {self.mergeMode!r}"
                             f"{suggestion(str(self.mergeMode), MERGE_MODES[:-1])}")
        if self.args["weights"] is not None:
            raise NotImplementedError(f"{owner}: weights support is not implemented for "
                                      "Bidirectional layer yet.")
        config = self.layer.getConfig()
        forward = {**config, "name": "forward_" + config["name"]}
        backward = {**config, "name": "backward_" + config["name"],
                    "goBackwards": not config.get("goBackwards", False)}
        cls = type(self.layer)
        self.forwardLayer = cls.fromConfig(cls, forward)
        self.backwardLayer = cls.fromConfig(cls, backward)
        self.stateful = getattr(self.layer, "stateful", False)
        self.returnSequences = getattr(self.layer, "returnSequences", False)
        self.returnState = getattr(self.layer, "returnState", False)
        self.supportsMasking = True
        self._own_trainable = True
        self.inputSpec = self.layer.inputSpec

    @property
    def trainable(self) -> bool:
        return getattr(self, "_own_trainable", True)

    @trainable.setter
    def trainable(self, value) -> None:
        self._own_trainable = bool(value)
        for layer in (getattr(self, "forwardLayer", None), getattr(self, "backwardLayer", None)):
            if layer is not None:
                layer.trainable = value

    @property
    def trainableWeights(self):
        return self.forwardLayer.trainableWeights + self.backwardLayer.trainableWeights

    @property
    def nonTrainableWeights(self):
        return self.forwardLayer.nonTrainableWeights + self.backwardLayer.nonTrainableWeights

    @property
    def losses(self):
        return self.forwardLayer.losses + self.backwardLayer.losses

    def dispose(self):
        result = Layer.dispose(self)
        count = 0
        for layer in (self.forwardLayer, self.backwardLayer):
            if layer.built and not layer._disposed:
                count += layer.dispose()["numDisposedVariables"]
        return {**result, "numDisposedVariables": result["numDisposedVariables"] + count}

    def getWeights(self, trainableOnly=False):
        return self.forwardLayer.getWeights(trainableOnly) + \
            self.backwardLayer.getWeights(trainableOnly)

    def setWeights(self, weights) -> None:
        half = len(weights) // 2
        self.forwardLayer.setWeights(weights[:half])
        self.backwardLayer.setWeights(weights[half:])

    def build(self, inputShape):
        with name_scope(self.forwardLayer.name):
            self.forwardLayer.build(inputShape)
            self.forwardLayer.built = True
        with name_scope(self.backwardLayer.name):
            self.backwardLayer.build(inputShape)
            self.backwardLayer.built = True
        self.built = True

    def resetStates(self, states=None):
        self.forwardLayer.resetStates()
        self.backwardLayer.resetStates()

    def apply(self, inputs, kwargs=None):
        kwargs = dict(kwargs or {})
        initial = kwargs.pop("initialState", None)
        if initial is not None:
            initial = _flat(initial)
            if len(initial) % 2:
                raise ValueError("When passing `initialState` to a Bidrectional RNN, the state "
                                 "should be an Array containing the states of the underlying "
                                 "RNNs.")
            inputs = _flat(inputs) + initial
        return super().apply(inputs, kwargs)

    def assertInputCompatibility(self, inputs) -> None:
        self.forwardLayer.assertInputCompatibility(_flat(inputs)[0])

    def computeOutputShape(self, inputShape):
        shape = inputShape[0] if inputShape and isinstance(inputShape[0], (list, tuple)) \
            else inputShape
        shapes = self.forwardLayer.computeOutputShape(shape)
        if not (shapes and isinstance(shapes[0], (list, tuple))):
            shapes = [shapes]
        output, states = list(shapes[0]), [list(x) for x in shapes[1:]]
        if self.mergeMode == "concat":
            output[-1] *= 2
            outputs = [output]
        elif self.mergeMode is None:
            outputs = [output, list(output)]
        else:
            outputs = [output]
        if self.returnState:
            return outputs + states + [list(x) for x in states]
        return outputs[0] if len(outputs) == 1 else outputs

    def computeMask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        both = self.mergeMode is None
        if self.returnSequences:
            output_mask = [mask, mask] if both else mask
        else:
            output_mask = [None, None] if both else None
        if self.returnState:
            n = len(self.forwardLayer.stateSizes)
            head = output_mask if isinstance(output_mask, list) else [output_mask]
            return head + [None] * (2 * n)
        return output_mask

    def call(self, inputs, kwargs):
        flat = _flat(inputs)
        x, initial = flat[0], flat[1:]
        kwargs = dict(kwargs)
        if initial:
            half = len(initial) // 2
            y = self.forwardLayer.call([x] + initial[:half], kwargs)
            y_rev = self.backwardLayer.call([x] + initial[half:], kwargs)
        else:
            y = self.forwardLayer.call(x, kwargs)
            y_rev = self.backwardLayer.call(x, kwargs)
        states = []
        if self.returnState:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.returnSequences:
            y_rev = s.reverse(y_rev, 1)
        if self.mergeMode == "concat":
            output = [s.concat([y, y_rev], -1)]
        elif self.mergeMode == "sum":
            output = [m.add(y, y_rev)]
        elif self.mergeMode == "ave":
            output = [m.mul(m.add(y, y_rev), 0.5)]
        elif self.mergeMode == "mul":
            output = [m.mul(y, y_rev)]
        else:
            output = [y, y_rev]
        if self.returnState:
            return output + states
        return output[0] if len(output) == 1 else output

    def getConfig(self):
        return {"mergeMode": self.mergeMode, **super().getConfig()}

    @staticmethod
    def fromConfig(cls, config):
        config = dict(config)
        config["layer"] = deserialize(config["layer"], "layer")
        if config.get("numConstants") is not None:
            raise NotImplementedError("Deserialization of a Bidirectional layer with "
                                      "numConstants present is not supported yet.")
        config.pop("numConstants", None)
        return cls(config)
