"""InputLayer and tf.input: the entry points of a model graph."""
from __future__ import annotations

from kiln.frontend.engine.layer import Layer
from kiln.frontend.engine.naming import get_uid
from kiln.frontend.engine.symbolic import Node, SymbolicTensor
from kiln.frontend.serialization import registerClass


@registerClass
class InputLayer(Layer):
    className = "InputLayer"
    ARGS = {"sparse": False}

    def __init__(self, config=None, **kwargs):
        given = dict(config or {}, **kwargs)
        if given.get("name") is None:
            given["name"] = get_uid("input")
        super().__init__(given)
        if self.batchInputShape is None:
            raise ValueError("an InputLayer needs `inputShape` or `batchInputShape`")
        if self.args["sparse"]:
            raise ValueError("sparse input layers are not supported")
        self.built = True
        output = SymbolicTensor(self.dtype, self.batchInputShape, self, [], {}, self.name)
        Node(self, inboundLayers=[], nodeIndices=[], tensorIndices=[], inputTensors=[output],
             outputTensors=[output], inputShapes=[self.batchInputShape],
             outputShapes=self.batchInputShape)

    def apply(self, inputs, kwargs=None):
        raise ValueError(f"cannot call apply() on InputLayer {self.name!r}; it has no inputs")

    def getConfig(self):
        return {"batchInputShape": self.batchInputShape, "dtype": self.dtype,
                "sparse": False, "name": self.name}


def input(config=None, **kwargs) -> SymbolicTensor:
    """tf.input({'shape': [...]} | {'batchShape': [...]}, 'name', 'dtype')."""
    from kiln.frontend.engine.config import parse_args

    args = parse_args("input", {"shape": None, "batchShape": None, "name": None, "dtype": None,
                                "sparse": False}, config, kwargs)
    if args["shape"] is None and args["batchShape"] is None:
        raise ValueError("input: please provide `shape` or `batchShape` (the shape of one "
                         "sample, or of a whole batch)")
    if args["shape"] is not None and args["batchShape"] is not None:
        raise ValueError("input: provide only one of `shape` and `batchShape`")
    batch_shape = args["batchShape"] or [None] + list(args["shape"])
    layer = InputLayer({"batchInputShape": list(batch_shape), "name": args["name"],
                        "dtype": args["dtype"], "sparse": args["sparse"]})
    return layer.inboundNodes[0].outputTensors[0]
