"""tf.* ops on SymbolicTensors: each call becomes an OpLayer node in the functional graph.

    x = tf.input({'shape': [4]})
    y = tf.add(tf.layers.dense({'units': 4}).apply(x), x)     # an 'add' OpLayer
    model = tf.model({'inputs': x, 'outputs': y})

The layer remembers the op and its non-symbolic arguments; when the model runs, it calls the
op again on the traced values, so the op is compiled into the model's graph like any layer.
"""
from __future__ import annotations

from kiln.frontend.engine.layer import Layer
from kiln.frontend.engine.naming import get_uid
from kiln.frontend.engine.symbolic import SymbolicTensor
from kiln.frontend.ops import dispatch, methods


class OpLayer(Layer):
    className = "TFOpLambda"

    def __init__(self, op_name: str, fn, args, kwargs):
        super().__init__({"name": get_uid(f"{op_name}_")})
        self.op_name = op_name
        self.fn = fn
        self._template_args = args
        self._template_kwargs = kwargs
        self.structure = None
        self.built = True

    def call(self, inputs, kwargs):
        values = iter(inputs if isinstance(inputs, list) else [inputs])

        def fill(x):
            if isinstance(x, SymbolicTensor):
                return next(values)
            if isinstance(x, (list, tuple)) and any(isinstance(e, SymbolicTensor) for e in x):
                return type(x)(fill(e) for e in x)
            return x

        args = [fill(a) for a in self._template_args]
        kw = {k: fill(v) for k, v in self._template_kwargs.items()}
        result = self.fn(*args, **kw)
        flat: list = []
        self.structure = dispatch._flatten(result, flat)   # ops may return lists or dicts
        return flat[0] if self.structure is None else flat

    def getConfig(self):
        raise NotImplementedError(f"layer {self.name!r} applies tf.{self.op_name} directly to "
                                  "symbolic tensors and cannot be serialized; wrap the op in a "
                                  "custom layer registered with tf.serialization.registerClass")


def _symbolic_inputs(args, kwargs):
    found = []

    def scan(x):
        if isinstance(x, SymbolicTensor):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            for e in x:
                scan(e)
    for a in list(args) + list(kwargs.values()):
        scan(a)
    return found


def apply_op_symbolically(name, fn, args, kwargs):
    inputs = _symbolic_inputs(args, kwargs)
    layer = OpLayer(name, fn, args, kwargs)
    out = layer.apply(inputs if len(inputs) > 1 else inputs[0])
    if layer.structure is None:
        return out
    return dispatch._unflatten(layer.structure, iter(out if isinstance(out, list) else [out]))


dispatch.set_symbolic_hook(apply_op_symbolically)
# x.add(y), x + y, ... on symbolic tensors too (each becomes an op layer).
methods.install([SymbolicTensor], exclude=methods.SYMBOLIC_EXCLUDED)
