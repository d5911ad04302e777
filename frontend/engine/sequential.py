"""Sequential: a linear stack of layers (tf.sequential), built as a functional graph as soon
as the first layer's input shape is known."""
from __future__ import annotations

from kiln.frontend.engine.functional import LayersModel
from kiln.frontend.engine.input_layer import InputLayer, input as make_input
from kiln.frontend.engine.layer import Layer, _flat
from kiln.frontend.engine.naming import get_uid
from kiln.frontend.serialization import registerClass


@registerClass
class Sequential(LayersModel):
    className = "Sequential"
    ARGS = {"layers": None}

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        layers = given.pop("layers", None)
        super().__init__(given)
        self._stack: list[Layer] = []
        self.inputs, self.outputs = [], []
        for layer in layers or []:
            self.add(layer)

    def _default_name(self) -> str:
        return get_uid("sequential_")

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer: Layer) -> None:
        """Append a layer; the first one needs inputShape or batchInputShape."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._stack or self.outputs:
                raise ValueError("Sequential.add: an InputLayer can only be the first layer")
            self.inputs = self.outputs = [layer.inboundNodes[0].outputTensors[0]]
            self._input_layer = layer
            # As in TF.js, an explicitly added InputLayer is one of the model's layers, so
            # getConfig() writes it (the next layer's config has no input shape of its own).
            self._stack.append(layer)
            self._rebuild()
            return
        if not self.outputs:
            if layer.inboundNodes and isinstance(layer, LayersModel):
                self.inputs = list(layer.inputs)
                self.outputs = list(layer.outputs)
            elif layer.batchInputShape is None:
                raise ValueError(f"the first layer in a Sequential model must get an "
                                 f"`inputShape` or `batchInputShape` argument (layer "
                                 f"{layer.name!r} has neither)")
            else:
                x = make_input(batchShape=layer.batchInputShape, dtype=layer.dtype,
                               name=f"{layer.name}_input")
                self.inputs = [x]
                self.outputs = [layer.apply(x)]
        else:
            out = layer.apply(self.outputs[0])
            if len(_flat(out)) != 1:
                raise ValueError("all layers in a Sequential model should have a single output "
                                 f"tensor; layer {layer.name!r} has {len(_flat(out))}")
            self.outputs = [out]
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in "
                             f"model {self.name!r}; layer names must be unique")
        self._stack.append(layer)
        self._rebuild()

    def pop(self) -> None:
        if not self._stack:
            raise ValueError("Sequential.pop: there are no layers in the model")
        self._stack.pop()
        if not self._stack:
            self.inputs, self.outputs = [], []
            self.built = False
            return
        self.outputs = [self._stack[-1].inboundNodes[-1].outputTensors[0]]
        self._rebuild()

    def _rebuild(self) -> None:
        self._init_graph(self.inputs, self.outputs)

    @staticmethod
    def fromConfig(cls, config):
        from kiln.frontend.engine.container_config import sequential_from_config
        return sequential_from_config(cls, config)

    def getConfig(self) -> dict:
        return {"name": self.name, "layers": [
            {"className": layer.getClassName(), "config": layer.getConfig()}
            for layer in self._stack]}
